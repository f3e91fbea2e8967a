"""Apply a master's command stream to a server or a cluster, exactly once per node.

Commands are gathered into *rounds*: what arrived since the last round, split by
the master that owns each command's keys (:mod:`cli.remote.placement`; a single
server takes everything, ``SELECT`` included). Each node's share of a round is sent
as one transaction that ends by writing the round's stream offset into a marker
key on that node::

    MULTI, <commands in stream order>, SET rdbkit-sync:{tag} "<sync id> <offset>", EXEC

Redis runs a transaction whole or not at all, and a connection that drops before
``EXEC`` discards it, so after any crash each node's marker says exactly which
commands it holds. A resumed sync (``PSYNC`` from the offset its state file names,
which every node had reached) skips, per node, the commands at or below that node's
marker: nothing is applied twice, not even an ``INCR`` (:meth:`Applier.resume`).
The marker key of a node hashes to the lowest slot it serves; a clean stop deletes
the markers (:meth:`Applier.drop_markers`).

A transaction refused before ``EXEC`` (``EXECABORT``: a redirection during
resharding, a command the target rejects when queued) is replayed command by
command, redirections followed (:meth:`~cli.remote.router.Router.follow`): the
exactly-once guarantee is kept for every round but those. A target that cannot
take writes at all (``CLUSTERDOWN``, ``LOADING``, ``OOM``, ``READONLY`` ...) stops
the sync with its state at the last round every node took.

Why in ``cli``: it is ``rdbkit sync``'s (:mod:`cli.remote.sync`) writer, on the
shared routing client (:mod:`cli.remote.router`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from aof.resp import ReplyError
from aof.slots import SLOTS, key_hash_slot
from cli.remote.connection import RemoteError
from cli.remote.placement import (
    ANY,
    EVERY,
    Part,
    Refused,
    command_name,
    key_slots,
    place,
    place_transaction,
)
from cli.remote.router import Addr, Router, is_redirect

MARKER_PREFIX = b"rdbkit-sync:"
ERRORS_KEPT = 10
_FATAL = ("CLUSTERDOWN", "LOADING", "OOM", "READONLY", "MASTERDOWN", "NOAUTH", "NOPERM", "MISCONF",
          "BUSY ", "NOREPLICAS")


class ApplyError(RemoteError):
    """The target cannot take the stream (it stays where the last whole round left it)."""


@dataclass
class ApplyStats:
    applied: int = 0  # commands the target acknowledged
    skipped: int = 0  # not applied: a db not followed, or already on the node (resume)
    refused: int = 0
    errors: int = 0  # commands the target answered with an error (a replica would log them)
    replayed: int = 0  # node shares of a round refused at EXEC and sent again one by one
    first_errors: list[str] = field(default_factory=list)

    def error(self, argv: list[bytes], why: object) -> None:
        self.errors += 1
        if len(self.first_errors) < ERRORS_KEPT:
            self.first_errors.append(f"{command_name(argv)}: {why}")


@functools.cache
def marker_key(slot: int) -> bytes:
    """A key of ``slot``: the prefix and a hash tag found by counting (some ten
    thousand CRC-16s, once per slot)."""
    i = 0
    while key_hash_slot(b"%d" % i) != slot:
        i += 1
    return MARKER_PREFIX + b"{%d}" % i


class Applier:
    def __init__(self, router: Router, sync_id: str, *, db_map: dict[int, int] | None = None,
                 dbs: frozenset[int] | None = None, split_transactions: bool = False) -> None:
        self.router = router
        self.sync_id = sync_id.encode()
        self.db_map = db_map or {}
        self.dbs = dbs  # source dbs followed (None: all)
        self.split_transactions = split_transactions
        self.db = 0  # the source's current db (its SELECTs)
        self.stats = ApplyStats()
        self._round: dict[Addr, list[tuple[int | None, list[bytes]]]] = {}  # (target db, argv)
        self._queued = 0
        self._skip: dict[Addr, int] = {}  # resume: each node's commands up to here are in it
        self._markers: dict[Addr, bytes] = {}
        self._markers_version = router.version

    @property
    def queued(self) -> int:
        return self._queued

    # -- the stream -----------------------------------------------------------------
    def select(self, db: int) -> None:
        self.db = db

    def add(self, argv: list[bytes], offset: int) -> Refused | None:
        """Queue one command of the stream (``offset``: its end in the stream)."""
        parts = self._parts([argv], lambda: place(argv))
        if isinstance(parts, Refused):
            return parts
        self._queue(parts, offset)
        return None

    def add_transaction(self, commands: list[list[bytes]], offset: int) -> Refused | None:
        """Queue a MULTI/EXEC block, whole (each node's round is a transaction itself)."""
        if not commands:
            return None
        parts = self._parts(commands, lambda: place_transaction(commands, self.split_transactions))
        if isinstance(parts, Refused):
            return parts
        self._queue(parts, offset)
        return None

    def _parts(self, commands: list[list[bytes]], placed: Callable[[], list[Part] | Refused]) -> list[Part] | Refused:
        """Where the commands go in the current db: nowhere when it is not followed,
        all to the one server, or where ``placed`` says in a cluster (db 0 only)."""
        db = self.db
        if self.dbs is not None and db not in self.dbs:
            self.stats.skipped += len(commands)
            return []
        if not self.router.cluster:
            return [(0, c) for c in commands]
        target_db = self.db_map.get(db, db)
        if target_db != 0:
            return Refused(f"{command_name(commands[0])} in db {db}: a cluster has only db 0 "
                           f"(--db-map {db}:0 sends db {db} there; --db 0 follows db 0 alone)")
        return placed()

    def _queue(self, parts: list[Part], offset: int) -> None:
        db = None if self.router.cluster else self.db_map.get(self.db, self.db)
        router = self.router
        for slot, argv in parts:
            if slot == EVERY:
                addrs = router.masters()
            elif slot == ANY:
                addrs = router.masters()[:1]
            else:
                addrs = [router.owner(slot)]
            for addr in addrs:
                if offset <= self._skip.get(addr, -1):
                    self.stats.skipped += 1
                    continue
                self._round.setdefault(addr, []).append((db, argv))
                self._queued += 1

    # -- rounds -----------------------------------------------------------------------
    def flush(self, offset: int) -> None:
        """Send the round; return when every node has taken its share. ``offset`` is the
        stream offset the round reaches (written into the markers)."""
        if not self._round:
            return
        value = self.sync_id + b" %d" % offset
        batches: dict[Addr, list[list[bytes]]] = {}
        for addr, cmds in self._round.items():
            batches[addr] = [[b"MULTI"], *_selecting(cmds), [b"SET", self.marker(addr), value], [b"EXEC"]]
        rounds, self._round, self._queued = self._round, {}, 0
        replies = self.router.exchange(batches)
        for addr, rs in replies.items():
            cmds = rounds[addr]
            result = rs[-1]
            if isinstance(result, list):
                self._results(batches[addr], rs)
                self.stats.applied += len(cmds)
                continue
            self._fatal(addr, rs)
            self._one_by_one(addr, cmds, value)
        for addr in list(self._skip):
            if self._skip[addr] < offset:
                del self._skip[addr]

    def _results(self, batch: list[list[bytes]], rs: list[object]) -> None:
        results = rs[-1]
        assert isinstance(results, list)
        for argv, r in zip(batch[1:-1], results):
            if isinstance(r, ReplyError):
                self.stats.error(argv, r)

    def _fatal(self, addr: Addr, rs: list[object]) -> None:
        for r in rs:
            if isinstance(r, ReplyError) and r.startswith(_FATAL):
                raise ApplyError(f"{addr[0]}:{addr[1]} cannot take writes: {r}")

    def _one_by_one(self, addr: Addr, cmds: list[tuple[int | None, list[bytes]]], value: bytes) -> None:
        """After EXECABORT: the node's share again, without MULTI, redirections followed."""
        self.stats.replayed += 1
        conn = self.router.conn(addr)
        conn.call(b"SELECT", b"0")
        batch = _selecting(cmds)
        rs = conn.pipeline(batch)
        self._fatal(addr, rs)
        for argv, r in zip(batch, rs):
            if is_redirect(r):
                r = self.router.follow(argv, r, _slot_of(argv))
            if isinstance(r, ReplyError):
                self.stats.error(argv, r)
            elif argv[0] != b"SELECT":
                self.stats.applied += 1
        conn.call(b"SET", self.marker(addr), value)

    # -- markers ------------------------------------------------------------------------
    def marker(self, addr: Addr) -> bytes:
        if self._markers_version != self.router.version:  # slots moved: markers follow
            self._markers.clear()
            self._markers_version = self.router.version
        key = self._markers.get(addr)
        if key is None:
            slots = self.router.slots
            slot = next((s for s in range(SLOTS) if slots[s] == addr), 0) if self.router.cluster else 0
            key = self._markers[addr] = marker_key(slot)
        return key

    def resume(self, offset: int) -> None:
        """Read each master's marker: a node whose marker is past ``offset`` (the state
        file's, reached by every node) already holds the commands up to its marker."""
        for addr in self.router.masters():
            r = self.router.conn(addr).call(b"GET", self.marker(addr))
            if not isinstance(r, bytes | bytearray):
                continue
            sid, _, off = bytes(r).partition(b" ")
            if sid == self.sync_id and off.isdigit() and int(off) > offset:
                self._skip[addr] = int(off)

    def drop_markers(self) -> None:
        for addr in self.router.masters():
            self.router.conn(addr).call(b"DEL", self.marker(addr))


def _selecting(cmds: list[tuple[int | None, list[bytes]]]) -> list[list[bytes]]:
    """The commands, each preceded by a SELECT where its db changes (a connection
    starts and ends in db 0, where the marker lives)."""
    out: list[list[bytes]] = []
    cur = 0
    for db, argv in cmds:
        if db is not None and db != cur:
            out.append([b"SELECT", b"%d" % db])
            cur = db
        out.append(argv)
    if cur != 0:
        out.append([b"SELECT", b"0"])
    return out


def _slot_of(argv: list[bytes]) -> int:
    keys = key_slots(argv)
    return keys[0][1] if keys else 0


__all__ = ["ApplyError", "ApplyStats", "Applier", "MARKER_PREFIX", "marker_key"]
