"""Everything a replica reads from its master, sans-IO (docs/formats.md §8.1–8.4).

One object per connection: the handshake (:class:`~aof.handshake.FullSync`),
then either a full sync's RDB payload, decoded as it arrives by
:class:`rdbtools.RdbDecoder`, or a ``+CONTINUE``; then the command stream, parsed by
:class:`aof.resp.RequestParser` with each command's absolute end offset, so the
replica can count the bytes it *processed* (its replication offset). The bytes
after the RDB trailer are handed over explicitly (``trailing`` → the parser).

:meth:`MasterStream.feed` returns the bytes to send and a list of events:

* :class:`FullResync` — the master's id and offset for the snapshot that follows;
* rdbtools events (``Record``, ``FunctionLibrary``, ``Aux`` ...) of the payload;
* :class:`Loaded` — the payload ended with a valid trailer (swap the dataset in now);
* :class:`Continue` — a partial resync was accepted;
* ``(start, end, argv)`` tuples — commands of the stream, offsets counted from the
  first stream byte (0).

Whatever the bytes, errors are :class:`~aof.handshake.ReplicationError` (RDB and
protocol errors are wrapped), with the step they happened at.

Why in ``aof``: it is the rest of the protocol :mod:`aof.handshake` begins (payload,
then command stream), built only from the sans-IO decoders of ``rdbtools`` and
``aof.resp`` and owning no socket. The engine's replica link is its driver; keeping
the whole master-stream protocol in one package below the engine (cli → engine →
aof → rdbtools) lets it be fuzzed without a server and reused without importing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aof.errors import RespProtocolError
from aof.handshake import FullSync, ReplicationError
from aof.resp import RequestParser, RespLimits
from rdbtools.decoder import RdbDecoder
from rdbtools.errors import RdbError


@dataclass(frozen=True, slots=True)
class FullResync:
    replid: str | None  # None after a legacy SYNC
    offset: int | None


@dataclass(frozen=True, slots=True)
class Continue:
    replid: str | None  # the id +CONTINUE named, None when the master kept ours


@dataclass(frozen=True, slots=True)
class Loaded:
    size: int  # payload bytes


class MasterStream:
    def __init__(self, sync: FullSync, limits: RespLimits | None = None,
                 packed_listpacks: bool = False,
                 rdb_sink: Callable[[], Callable[..., bool] | None] | None = None) -> None:
        self.sync = sync
        self.packed_listpacks = packed_listpacks  # the payload's hash listpacks kept as bytes
        # called as the payload starts: what its decoder offers keys to (iter_events(sink=))
        self.rdb_sink = rdb_sink
        self.limits = limits if limits is not None else RespLimits()
        self.decoder: RdbDecoder | None = None
        self.parser: RequestParser | None = None
        self.phase = "handshake"  # → "payload" → "stream"
        self.unapplied = bytearray()  # stream bytes not yet handed out by take()

    @property
    def step(self) -> str:
        return self.sync.step if self.phase != "stream" else "stream"

    def start(self) -> bytes:
        return self.sync.start()

    def feed(self, data: bytes) -> tuple[bytes, list[Any]]:
        events: list[Any] = []
        if self.phase == "stream":
            self._commands(data, events)
            return b"", events
        sync = self.sync
        send, chunks = sync.feed(data)
        if self.phase == "handshake":
            if sync.partial:
                events.append(Continue(sync.continue_replid))
                self._begin_stream(events)
                return send, events
            if sync.phase in ("payload", "done"):
                events.append(FullResync(sync.replid, sync.offset))
                self.phase = "payload"
                sink = self.rdb_sink() if self.rdb_sink is not None else None
                self.decoder = RdbDecoder(packed_listpacks=self.packed_listpacks, sink=sink)
        if self.phase == "payload":
            dec = self.decoder
            assert dec is not None
            try:
                for chunk in chunks:
                    dec.feed(chunk)
                    self._drain(events)
                if sync.done:
                    dec.feed_eof()
                    self._drain(events)
                    if not dec.done:
                        raise ReplicationError("the RDB payload ended before its end marker", "payload")
                    if dec.trailing_data:
                        raise ReplicationError(f"{len(dec.trailing_data)} bytes after the RDB trailer",
                                               "payload")
                    events.append(Loaded(sync.received))
                    self._begin_stream(events)
            except RdbError as exc:
                raise ReplicationError(f"bad RDB payload from the master: {exc}", "payload") from None
        return send, events

    def feed_eof(self) -> None:
        """The master closed the connection (the driver reconnects later)."""
        if self.phase != "stream":
            self.sync.feed_eof()

    # -- internals ------------------------------------------------------------
    def _drain(self, events: list[Any]) -> None:
        dec = self.decoder
        assert dec is not None
        while True:
            batch = dec.next_events()
            if not batch:
                return
            events += batch

    def _begin_stream(self, events: list[Any]) -> None:
        self.phase = "stream"
        self.parser = RequestParser(self.limits)
        rest = self.sync.trailing
        self.sync.trailing = b""
        if rest:
            self._commands(rest, events)

    def _commands(self, data: bytes, events: list[Any]) -> None:
        parser = self.parser
        assert parser is not None
        self.unapplied += data
        parser.feed(data)
        try:
            events += parser.parse_offsets()
        except RespProtocolError as exc:
            raise ReplicationError(f"protocol error in the master's stream: {exc.message}", "stream") from None

    def take(self, n: int) -> bytes:
        """The next ``n`` stream bytes, in arrival order (what a replica proxies once applied)."""
        buf = self.unapplied
        data = bytes(buf[:n])
        del buf[:n]
        return data

    @property
    def buffered(self) -> int:
        """Stream bytes received but not yet part of a complete command."""
        return self.parser.buffered_bytes if self.parser is not None else 0

    @property
    def parsed(self) -> int:
        """Stream bytes consumed by the parser (complete commands and ignored empty lines)."""
        return self.parser.offset if self.parser is not None else 0
