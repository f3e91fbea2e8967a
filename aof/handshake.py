"""The replica's side of the handshake and of a full sync, sans-IO (docs/formats.md §8.1–8.3).

What ``redis-cli --rdb`` and a fresh replica do: ``PING``, ``AUTH`` when a
password is given, ``REPLCONF capa eof capa psync2``, ``REPLCONF rdb-only 1``
(7.0+: the master ends the connection after the snapshot instead of streaming
commands; an older master's error is ignored), then ``PSYNC ? -1`` — or plain
``SYNC`` when the master refuses PSYNC. The master answers ``+FULLRESYNC <replid>
<offset>`` (after any number of keep-alive newlines), then the payload framed
either as ``$<size>\\r\\n`` + exactly that many bytes (disk-based) or as
``$EOF:<40-char mark>\\r\\n`` + bytes + the same mark (diskless): the end is when
the last 40 bytes received equal the mark, as the replica checks it.

:meth:`FullSync.feed` returns the bytes to send next and the payload chunks
decoded so far; a driver loops ``send / recv / feed`` until ``done``. Errors
carry what the master said and the step we were at.

A full replica (the engine's master link, reading through :mod:`aof.replstream`)
also announces its ``listening-port``/``ip-address`` and, when it has a cached
master, asks ``PSYNC <replid> <offset+1>``: a ``+CONTINUE [<new replid>]`` then
ends the handshake with no payload (``partial``), the bytes after it being the
stream.

Why in ``aof``: this is the replication protocol, not the server. Two drivers own
the sockets — the engine's replica link and ``rdbkit fetch``
(:mod:`cli.remote.snapshot`) — and with dependencies pointing cli → engine → aof,
the one place both can import is here. Like the rest of the package it imports no
socket or event loop (docs/style.md rule 1).
"""

from __future__ import annotations

from aof.errors import AofError
from aof.replies import encode_command

MARK_LEN = 40
_MAX_LINE = 64 * 1024


class ReplicationError(AofError):
    """The master refused, aborted or broke the sync; ``step`` says where we were
    (``ping``, ``auth``, ``psync``, ``header``, ``payload``, ``stream``, ``connect``)."""

    def __init__(self, message: str, step: str) -> None:
        super().__init__(f"{message} (during {step})")
        self.step = step


def _command(*args: bytes) -> bytes:
    return encode_command(list(args))


class FullSync:
    """State machine: handshake steps, then the payload, then ``done``."""

    def __init__(self, password: bytes | None = None, user: bytes | None = None, rdb_only: bool = True,
                 *, listening_port: int | None = None, ip_address: bytes | None = None,
                 psync: tuple[bytes, int] | None = None, failover: bool = False) -> None:
        steps: list[tuple[str, bytes]] = [("ping", _command(b"PING"))]
        if password is not None:
            auth = (b"AUTH", user, password) if user else (b"AUTH", password)
            steps.append(("auth", _command(*auth)))
        if listening_port is not None:
            steps.append(("port", _command(b"REPLCONF", b"listening-port", b"%d" % listening_port)))
        if ip_address:
            steps.append(("ip", _command(b"REPLCONF", b"ip-address", ip_address)))
        steps.append(("capa", _command(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")))
        if rdb_only:
            steps.append(("rdb-only", _command(b"REPLCONF", b"rdb-only", b"1")))
        # a replica with a cached master asks to continue: PSYNC <replid> <offset + 1>; a
        # master handing over to its replica (FAILOVER) adds FAILOVER: the replica promotes
        # itself and answers as the new master
        self.psync = psync
        self.failover = failover
        want = (psync[0], b"%d" % psync[1]) if psync is not None else (b"?", b"-1")
        steps.append(("psync", _command(b"PSYNC", *want, *((b"FAILOVER",) if failover else ()))))
        self.partial = False  # +CONTINUE: no payload, the command stream follows at once
        self.continue_replid: str | None = None  # the id +CONTINUE named (None: unchanged)
        self._steps = steps
        self._i = 0
        self._buf = bytearray()
        self.phase = "handshake"  # → "header" → "payload" → "done"
        self.replid: str | None = None
        self.offset: int | None = None
        self.size: int | None = None  # payload size when disk-based; None with an EOF mark
        self.mark: bytes | None = None
        self.received = 0  # payload bytes delivered
        self._tail = b""  # held back: could be the start of the EOF mark
        self.trailing = b""  # bytes after the payload (a full replica's command stream)

    @property
    def step(self) -> str:
        return self._steps[self._i][0] if self.phase == "handshake" else self.phase

    @property
    def done(self) -> bool:
        return self.phase == "done"

    def start(self) -> bytes:
        return self._steps[0][1]

    def feed(self, data: bytes) -> tuple[bytes, list[bytes]]:
        """Take bytes from the master; return (bytes to send now, payload chunks)."""
        send = b""
        chunks: list[bytes] = []
        if self.phase == "payload":
            self._payload(data, chunks)
            return send, chunks
        self._buf += data
        while self.phase in ("handshake", "header"):
            line = self._line()
            if line is None:
                return send, chunks
            if not line:
                continue  # keep-alive newline while the master prepares the snapshot
            if self.phase == "handshake":
                send += self._reply(line)
            else:
                self._header(line)
        rest = bytes(self._buf)
        self._buf.clear()
        if rest:
            self._payload(rest, chunks)
        return send, chunks

    def feed_eof(self) -> None:
        if self.phase != "done":
            got = f"{self.received + len(self._tail)} payload bytes" if self.phase == "payload" else "no payload"
            want = f" of {self.size}" if self.size is not None else ""
            raise ReplicationError(f"connection closed by the master after {got}{want}", self.step)

    # -- internals ------------------------------------------------------------
    def _line(self) -> bytes | None:
        buf = self._buf
        i = buf.find(b"\n")
        if i < 0:
            if len(buf) > _MAX_LINE:
                raise ReplicationError(f"reply line longer than {_MAX_LINE} bytes", self.step)
            return None
        line = bytes(buf[:i]).rstrip(b"\r")
        del buf[:i + 1]
        return line

    def _reply(self, line: bytes) -> bytes:
        name = self._steps[self._i][0]
        text = line.decode("utf-8", "replace")
        if name == "ping":
            if line[:1] == b"-" and not line.startswith((b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")):
                raise ReplicationError(f"master replied {text}", name)
        elif name == "auth":
            if line[:1] == b"-":
                raise ReplicationError(f"authentication failed: {text[1:]}", name)
        elif name == "psync":
            if line.startswith(b"+FULLRESYNC"):
                parts = line.split()
                if len(parts) == 3:
                    self.replid = parts[1].decode("ascii", "replace")
                    off = parts[2]
                    self.offset = int(off) if off.lstrip(b"-").isdigit() and len(off) < 20 else None
                self.phase = "header"
                return b""
            if line.startswith(b"+CONTINUE"):
                if self.psync is None:
                    raise ReplicationError("master offered a partial resync to a fresh replica", name)
                parts = line.split()
                if len(parts) >= 2:
                    rid = parts[1].decode("ascii", "replace")
                    if len(rid) != MARK_LEN:
                        raise ReplicationError(f"bad replication id in {text[:80]!r}", name)
                    self.continue_replid = rid
                self.partial = True
                self.phase = "done"
                return b""
            if line.startswith((b"-NOMASTERLINK", b"-LOADING")):
                raise ReplicationError(f"master cannot serve a sync now: {text[1:]}", name)
            if line[:1] == b"-" and self.failover:
                raise ReplicationError(f"failover target rejected PSYNC: {text[1:]}", name)
            if line[:1] == b"-":  # a master without PSYNC: legacy SYNC, payload follows directly
                self._steps.append(("sync", _command(b"SYNC")))
                self._i += 1
                self.phase = "header"
                return self._steps[self._i][1]
            raise ReplicationError(f"unexpected reply {text!r}", name)
        # port / ip / capa / rdb-only: errors are ignored (older masters), like a replica does
        self._i += 1
        return self._steps[self._i][1]

    def _header(self, line: bytes) -> None:
        if line[:1] == b"-":
            raise ReplicationError(f"master aborted the transfer: {line[1:].decode('utf-8', 'replace')}", "header")
        if line[:1] != b"$":
            raise ReplicationError(f"bad payload header {line[:80]!r}", "header")
        if line.startswith(b"$EOF:") and len(line) == 5 + MARK_LEN:
            self.mark = line[5:]
        else:
            try:
                size = int(line[1:])
            except ValueError:
                raise ReplicationError(f"bad payload size {line[:80]!r}", "header") from None
            if size < 0:
                raise ReplicationError(f"bad payload size {size}", "header")
            self.size = size
        self.phase = "payload"
        if self.size == 0:
            self.phase = "done"

    def _payload(self, data: bytes, chunks: list[bytes]) -> None:
        if self.phase == "done":
            self.trailing += data
            return
        if self.size is not None:
            room = self.size - self.received
            take = data[:room]
            if take:
                chunks.append(take)
                self.received += len(take)
            if self.received == self.size:
                self.phase = "done"
                self.trailing += data[room:]
            return
        mark = self.mark
        assert mark is not None
        data = self._tail + data
        if len(data) >= MARK_LEN and data[-MARK_LEN:] == mark:
            body = data[:-MARK_LEN]
            self._tail = b""
            self.phase = "done"
        else:
            body = data[:-MARK_LEN] if len(data) > MARK_LEN else b""
            self._tail = data[len(body):]
        if body:
            chunks.append(body)
            self.received += len(body)
