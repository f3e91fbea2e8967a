"""``rdbkit sync``'s driver: follow a master as a replica and write what it does into a target.

One loop, one thread, blocking sockets with ``select`` on the master's link:

1. The handshake and the master's answer are :class:`aof.replstream.MasterStream`'s
   (sans-IO): ``PSYNC ? -1`` the first time, ``PSYNC <replid> <offset+1>`` when a
   state says how far the target got (after a broken link, or from ``--state``).
2. A full sync's records are RESTOREd into the target (:class:`~cli.remote.restore.
   RestoreTarget`: absolute TTLs, ``REPLACE``, routed by slot in a cluster).
3. The command stream is gathered into rounds, one per read from the master, and
   applied by :class:`~cli.remote.applier.Applier` (one script per node and
   round, ending with that node's marker). ``PING`` and ``REPLCONF`` from the master
   are not applied; ``SELECT`` sets the db of what follows; a ``MULTI``/``EXEC``
   block is held until its ``EXEC`` arrives.
4. Every second: ``REPLCONF ACK <offset>`` to the master and the state file, both
   with the offset of the last round every node acknowledged (never more), and
   every ``report`` seconds a lag line on stderr (the master's
   ``master_repl_offset`` beside it).

Offsets: the stream's first byte after ``+FULLRESYNC <replid> <offset>`` is
``offset + 1``, as for a replica; a command's end in the stream plus that base is the
replication offset once it is applied.
"""

from __future__ import annotations

import json
import select
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aof.handshake import FullSync, ReplicationError
from aof.replies import encode_command
from aof.replstream import Continue, FullResync, Loaded, MasterStream
from aof.resp import ReplyError
from cli.remote.applier import Applier, ApplyError
from cli.remote.connection import Connection, ConnectionFailed, RemoteError
from cli.remote.restore import RestoreTarget
from cli.remote.router import RouteError, Router, server_info
from rdbtools.io import atomic_output
from rdbtools.model import FunctionLibrary, Record

READ_SIZE = 256 * 1024  # bytes of stream per round at most
MAX_ROUND = 20_000  # commands
RECONNECT_DELAY = 1.0


class SyncRefused(RemoteError):
    """A command the target cannot apply as the source did (the sync stops before it)."""


@dataclass
class SyncState:
    """The ``--state`` file: the last offset every node acknowledged, and whose it is
    (the source, and the target's masters: any node of the same cluster will do)."""

    source: str
    replid: str | None = None
    offset: int | None = None  # None: no complete full sync yet
    sync_id: str = ""
    targets: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: str) -> SyncState | None:
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            return cls(str(d["source"]), d.get("replid"), d.get("offset"), str(d.get("sync_id", "")),
                       [str(t) for t in d.get("targets", [])])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RemoteError(f"{path}: not a sync state file ({exc})") from None

    def save(self, path: str) -> None:
        data = {"source": self.source, "replid": self.replid, "offset": self.offset, "sync_id": self.sync_id,
                "targets": self.targets}
        with atomic_output(path) as out:
            out.write(json.dumps(data).encode() + b"\n")


@dataclass
class _Link:
    """One connection to the master and where its stream stands."""

    sock: socket.socket
    stream: MasterStream
    base: int = 0  # the replication offset the stream's first byte follows
    safe: int = 0  # stream bytes handled (applied, queued, or not to be applied)
    pending: list[list[bytes]] | None = None  # a MULTI block waiting for its EXEC
    restore: RestoreTarget | None = None  # during a full sync
    getack: bool = False  # the master asked for an ACK (REPLCONF GETACK)


class Sync:
    def __init__(self, source: tuple[str, int], target: tuple[str, int], *, password: bytes | None = None,
                 user: bytes | None = None, target_password: bytes | None = None,
                 target_user: bytes | None = None, state_path: str | None = None,
                 db_map: dict[int, int] | None = None, dbs: frozenset[int] | None = None,
                 split_transactions: bool = False, skip_refused: bool = False, report: float = 5.0,
                 until_synced: bool = False, flush_target: bool = False, timeout: float = 60.0, log: Callable[[str], None] = print) -> None:
        self.source = source
        self.peer = f"{source[0]}:{source[1]}"
        self._auth = (password, user)
        self.timeout = timeout
        self.state_path = state_path
        self.report_every = report
        self.skip_refused = skip_refused
        self.until_synced = until_synced  # stop (cleanly) once the target has caught up
        self.flush_target = flush_target  # FLUSHALL the target's masters before a full sync
        self.log = log
        self.stopping = False
        try:
            self.router = Router(*target, password=target_password, user=target_user)
        except (RouteError, ConnectionFailed) as exc:
            raise RemoteError(f"target: {exc}") from None
        self.db_map = db_map or {}
        self.dbs = dbs
        self.state = (SyncState.load(state_path) if state_path else None) or SyncState(self.peer)
        masters = [f"{h}:{p}" for h, p in self.router.masters()]
        if self.state.offset is not None:
            if self.state.source != self.peer:
                raise RemoteError(f"{state_path} follows {self.state.source}, not {self.peer}")
            if self.state.targets and not set(self.state.targets) & set(masters):
                raise RemoteError(f"{state_path} was written for {', '.join(self.state.targets)}, not "
                                  f"{target[0]}:{target[1]}: another target needs a full sync (a new --state)")
        self._masters = masters
        self.applier = Applier(self.router, self.state.sync_id or uuid.uuid4().hex, db_map=self.db_map,
                               dbs=dbs, split_transactions=split_transactions)
        self.applier.probe()
        if self.state.offset is not None:
            self.applier.resume(self.state.offset)
        self.acked = self.state.offset  # what the target holds, as a replication offset
        self._saved = self.acked
        self.full_syncs = self.partial_syncs = 0
        self.restored = 0

    # -- the link ---------------------------------------------------------------------
    def _connect(self) -> tuple[socket.socket, MasterStream]:
        st = self.state
        psync = (st.replid.encode(), self.acked + 1) if st.replid and self.acked is not None else None
        sync = FullSync(password=self._auth[0], user=self._auth[1], rdb_only=False, psync=psync)
        try:
            sock = socket.create_connection(self.source, timeout=self.timeout)
        except OSError as exc:
            raise ReplicationError(f"cannot connect to {self.peer}: {exc.strerror or exc}", "connect") from None
        try:
            _send(sock, sync.start(), self.peer, "connect")
        except ReplicationError:
            sock.close()
            raise
        return sock, MasterStream(sync)

    def run(self) -> None:
        """Follow the master until :attr:`stopping` (a signal handler sets it). A link
        that breaks is made again (PSYNC from the acknowledged offset); a master that
        refuses us (AUTH, or no answer at the first try) ends the run."""
        self._rate = (time.monotonic(), self.applier.stats.applied)
        first = True
        while not self.stopping:
            try:
                sock, stream = self._connect()
            except ReplicationError:
                if first:
                    raise
                self._sleep(RECONNECT_DELAY)
                continue
            first = False
            try:
                self._follow(sock, stream)
            except ReplicationError as exc:
                if exc.step in ("ping", "auth"):
                    raise
                self.log(f"sync: link to {self.peer} lost ({exc}); resuming from offset {self.acked}")
                self._sleep(RECONNECT_DELAY)
            finally:
                sock.close()

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(0.05)

    def _follow(self, sock: socket.socket, stream: MasterStream) -> None:
        link = _Link(sock, stream)
        next_tick = next_report = heard = time.monotonic()
        while not self.stopping:
            ready, _, _ = select.select([sock], [], [], 0.1)
            if not ready and time.monotonic() - heard > self.timeout:
                raise ReplicationError(f"{self.peer} sent nothing for {self.timeout:g} s", stream.step)
            link.getack = False
            if ready:
                heard = time.monotonic()
                self._receive(link)
            if stream.phase != "stream":
                continue
            self._round(link.base + link.safe)
            now = time.monotonic()
            if link.getack or now >= next_tick:
                _send(sock, encode_command([b"REPLCONF", b"ACK", b"%d" % (self.acked or 0)]), self.peer, "stream")
                self._save()
                next_tick = now + (0.2 if self.until_synced else 1.0)
                if self.until_synced and (self.acked or 0) >= (self.source_offset() or -1):
                    self.log(f"sync: caught up with {self.peer} at offset {self.acked}")
                    self.stopping = True
            if self.report_every and now >= next_report:
                self._report()
                next_report = now + self.report_every

    def _receive(self, link: _Link) -> None:
        try:
            data = link.sock.recv(READ_SIZE)
        except OSError as exc:
            raise ReplicationError(f"{self.peer}: {exc.strerror or exc}", link.stream.step) from None
        if not data:
            link.stream.feed_eof()
            raise ReplicationError(f"{self.peer} closed the connection", link.stream.step)
        send, events = link.stream.feed(data)
        link.stream.unapplied.clear()  # kept for a replica that proxies the bytes; we re-encode
        if send:
            _send(link.sock, send, self.peer, link.stream.step)
        for ev in events:
            if ev.__class__ is tuple:
                self._command(link, *ev)
            elif ev.__class__ is Record:
                assert link.restore is not None
                if self.dbs is None or ev.db in self.dbs:
                    link.restore.add(ev)
            else:
                self._event(link, ev)

    def _command(self, link: _Link, start: int, end: int, argv: list[bytes]) -> None:
        """One command of the stream (``end``: its end, counted from the stream's start)."""
        name = argv[0].lower() if argv else b""
        if link.pending is not None:  # inside MULTI: held until EXEC
            if name == b"exec":
                self._refused(self.applier.add_transaction(link.pending, link.base + end), link.base + link.safe)
                link.pending = None
                link.safe = end
            else:
                link.pending.append(argv)
            return
        if name == b"multi":
            link.pending = []
            return
        if name == b"select":
            self.applier.select(_db_number(argv))
        elif name == b"replconf":
            link.getack = link.getack or (len(argv) > 1 and argv[1].lower() == b"getack")
        elif name != b"ping":
            self._refused(self.applier.add(argv, link.base + end), link.base + link.safe)
        link.safe = end
        if self.applier.queued >= MAX_ROUND:
            self._round(link.base + link.safe)

    def _event(self, link: _Link, ev: object) -> None:
        """What the master says besides commands and records."""
        if isinstance(ev, FullResync):
            link.restore = self._full_sync(ev)
            link.base = ev.offset or 0
        elif isinstance(ev, FunctionLibrary):
            for addr in self.router.masters():
                r = self.router.conn(addr).call(b"FUNCTION", b"LOAD", b"REPLACE", ev.code)
                if isinstance(r, ReplyError):
                    self.log(f"sync: {addr[0]}:{addr[1]} refused a function library: {r}")
        elif isinstance(ev, Loaded):
            assert link.restore is not None
            self._restored(link.restore)
            link.restore = None
            self.acked = link.base
            self._save()
        elif isinstance(ev, Continue):
            self.partial_syncs += 1
            link.base = self.acked or 0
            if ev.replid:
                self.state.replid = ev.replid
            self.log(f"sync: partial resync from {self.peer} at offset {link.base + 1}")

    def _refused(self, got: Any, before: int) -> None:
        if got is None:
            return
        offset = before  # the round so far is applied first
        if self.skip_refused:
            self.applier.stats.refused += 1
            self.log(f"sync: refused (skipped): {got.why}")
            return
        self._round(offset)
        self._save()
        raise SyncRefused(f"refused at offset {offset + 1}: {got.why}; nothing after it was applied "
                          f"(--skip-refused goes on without it)")

    def _round(self, offset: int) -> None:
        try:
            self.applier.flush()
        except (ConnectionFailed, RouteError) as exc:
            raise ApplyError(f"target: {exc}") from None
        self.acked = offset

    def _full_sync(self, ev: FullResync) -> RestoreTarget:
        self.full_syncs += 1
        if self.flush_target:
            for addr in self.router.masters():
                r = self.router.conn(addr).call(b"FLUSHALL")
                if isinstance(r, ReplyError):
                    raise ApplyError(f"{addr[0]}:{addr[1]}: FLUSHALL failed: {r}")
        elif self.state.offset is not None:
            self.log(f"sync: {self.peer} could not continue from offset {self.state.offset + 1}: full resync "
                     f"(keys deleted on it meanwhile stay on the target; --flush-target empties it first)")
        self.state = SyncState(self.peer, ev.replid, None, uuid.uuid4().hex, self._masters)
        old = self.applier
        self.applier = Applier(self.router, self.state.sync_id, db_map=self.db_map, dbs=self.dbs,
                               split_transactions=old.split_transactions)
        self.applier.stats = old.stats
        self.acked = None
        self._save(force=True)
        self.log(f"sync: full sync from {self.peer} (replid {ev.replid}, offset {ev.offset})")
        return RestoreTarget(*self.router.entry, replace=True, db_map=self.db_map, router=self.router)

    def _restored(self, restore: RestoreTarget) -> None:
        restore.flush()
        st = restore.stats
        self.restored += st.restored
        for db, key, why in st.failed:
            self.log(f"sync: restore of db {db} key {key!r} failed: {why}")
        self.log(f"sync: full sync applied: {st.restored} keys ({st.expired} already expired, "
                 f"{st.failures} failed); following the stream")

    # -- state and reports --------------------------------------------------------------
    def _save(self, force: bool = False) -> None:
        if not self.state_path or (self.acked == self._saved and not force):
            return
        self.state.offset = self.acked
        self.state.save(self.state_path)
        self._saved = self.acked

    def source_offset(self) -> int | None:
        """The master's ``master_repl_offset`` now (a connection of its own), or None."""
        try:
            c = Connection(*self.source, password=self._auth[0], user=self._auth[1], timeout=5)
            try:
                return int(server_info(c, "replication").get("master_repl_offset", "0"))
            finally:
                c.close()
        except (RemoteError, ValueError):
            return None

    def _report(self) -> None:
        now, applied = time.monotonic(), self.applier.stats.applied
        t0, a0 = self._rate
        self._rate = (now, applied)
        rate = (applied - a0) / (now - t0) if now > t0 else 0.0
        master = self.source_offset()
        lag = ("source offset unknown" if master is None
               else f"source at {master} (lag {max(master - (self.acked or 0), 0)} bytes)")
        s = self.applier.stats
        self.log(f"sync: applied offset {self.acked}, {lag}; {rate:.0f} commands/s; "
                 f"{s.applied} applied, {s.errors} errors, {s.refused} refused")

    def close(self, clean: bool = True) -> None:
        """The state saved; after a clean stop (every round answered) the markers are
        dropped too, after a failure they stay for the next run's :meth:`Applier.resume`."""
        try:
            if self.acked is not None:
                self._save()
                if clean:
                    self.applier.drop_markers()
        finally:
            self.router.close()


def _send(sock: socket.socket, data: bytes, peer: str, step: str) -> None:
    try:
        sock.sendall(data)
    except OSError as exc:
        raise ReplicationError(f"{peer}: {exc.strerror or exc}", step) from None


def _db_number(argv: list[bytes]) -> int:
    try:
        return int(argv[1])
    except (IndexError, ValueError):
        raise ReplicationError(f"bad SELECT in the master's stream: {argv[1:2]!r}", "stream") from None


__all__ = ["Sync", "SyncRefused", "SyncState"]
