"""Apply a master's command stream to a server or a cluster, exactly once per node.

Commands are gathered into *rounds*: what arrived since the last round, split by
the master that owns each command's keys (:mod:`cli.remote.placement`; a single
server takes everything, ``SELECT`` included). Each node's share of a round runs in
one script, which ends by writing the stream offset of its last command into a
marker key on that node::

    EVAL <APPLY> 1 rdbkit-sync:{tag} "<sync id> <offset>" <argc> <argv...> <argc> <argv...> ...

A script runs whole (nothing else runs on the node meanwhile, a dropped connection
cannot cut it), so after any crash each node's marker says exactly which commands
it holds. A resumed sync (``PSYNC`` from the offset its state file names, which
every node had reached) skips, per node, the commands at or below that node's
marker: nothing is applied twice, not even an ``INCR`` (:meth:`Applier.resume`).
``MULTI``/``EXEC`` cannot do this in a cluster: a transaction's keys must share one
slot (cluster.c's getNodeByQuery answers ``-CROSSSLOT`` at ``EXEC``), while a script
flagged ``allow-cross-slot-keys`` (Redis 7.0) may touch any key its node serves. The
commands run under ``redis.pcall``, so one refused command (``WRONGTYPE``) is
reported and the others still run, as on a replica. The marker key of a node hashes
to the highest slot it serves (resharding tools move a master's lowest slots first); a
clean stop deletes the markers
(:meth:`Applier.drop_markers`).

Where exactness ends (docs/sync.md): a command a script may not run (``FUNCTION
LOAD``, over 7,000 arguments) is sent on its own between two scripts; a script
refused whole (``MOVED`` for the marker's slot) is replayed command by command; a
command of a slot that left the node while the round was on its way (the script
gets "non local key") is sent again to the slot's new master with redirections
followed (:meth:`~cli.remote.router.Router.follow`), and that node's marker waits
for it. A target that cannot take writes at all (``CLUSTERDOWN``, ``LOADING``,
``OOM``, ``READONLY`` ...) stops the sync with its state at the last round every
node took.

Why in ``cli``: it is ``rdbkit sync``'s (:mod:`cli.remote.sync`) writer, on the
shared routing client (:mod:`cli.remote.router`).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from aof.resp import ReplyError
from aof.slots import SLOTS, key_hash_slot
from cli.remote.connection import RemoteError
from cli.remote.placement import (
    EVERY,
    Part,
    Refused,
    command_name,
    key_slots,
    place,
    place_transaction,
    scriptable,
)
from cli.remote.router import Addr, Router, is_redirect

MARKER_PREFIX = b"rdbkit-sync:"
# commands per script: a node runs nothing else meanwhile, its cluster bus included, and a
# node silent past cluster-node-timeout is voted down (1,000 plain writes: milliseconds on
# Redis, well under a second on ours)
MAX_SCRIPT = 1000
Entry = tuple[int | None, list[bytes], int, bool]  # (target db, argv, stream offset, scriptable)
Plan = tuple[list[Entry], bytes]  # the entries a command of a batch carries, and its marker value
# KEYS[1] the marker, ARGV[1] its value ('' leaves it alone), then each command as its
# argument count and arguments
APPLY = b"""#!lua flags=allow-cross-slot-keys
local a, errs, later = ARGV, {}, false
local i, n, k = 2, #ARGV, 0
while i <= n do
  local c = tonumber(a[i])
  k = k + 1
  local r = redis.pcall(unpack(a, i + 1, i + c))
  if type(r) == 'table' and r.err then
    errs[#errs + 1] = k
    errs[#errs + 1] = r.err
    if string.find(r.err, 'non local key', 1, true) or string.find(r.err, 'cluster is down', 1, true) then
      later = true
    end
  end
  i = i + c + 1
end
if not later and a[1] ~= '' then redis.call('SET', KEYS[1], a[1]) end
return errs
"""
_NON_LOCAL = "non local key"
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
    replayed: int = 0  # node shares refused whole, or holding moved slots, sent again one by one
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


class _DbRefusal:
    """A cluster cannot take the commands of db ``db`` (only db 0 exists there)."""

    def __init__(self, db: int) -> None:
        self.db = db

    def about(self, argv: list[bytes]) -> Refused:
        db = self.db
        return Refused(f"{command_name(argv)} in db {db}: a cluster has only db 0 "
                       f"(--db-map {db}:0 sends db {db} there; --db 0 follows db 0 alone)")


_SKIP = _DbRefusal(-1)


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
        self._round: dict[Addr, list[Entry]] = {}
        self.applied_to = -1  # the last command offset sent in a round
        self._queued = 0
        self._skip: dict[Addr, int] = {}  # resume: each node's commands up to here are in it
        self._markers: dict[Addr, bytes] = {}
        self._markers_version = router.version
        self._used: set[bytes] = set()  # marker keys of this run

    @property
    def queued(self) -> int:
        return self._queued

    # -- the stream -----------------------------------------------------------------
    def select(self, db: int) -> None:
        self.db = db

    def add(self, argv: list[bytes], offset: int) -> Refused | None:
        """Queue one command of the stream (``offset``: its end in the stream)."""
        refused = self._where()
        if refused is not None:
            return None if refused is _SKIP else refused.about(argv)
        if not self.router.cluster:
            self._queue([(0, argv)], offset)
            return None
        parts = place(argv)
        if isinstance(parts, Refused):
            return parts
        self._queue(parts, offset)
        return None

    def add_transaction(self, commands: list[list[bytes]], offset: int) -> Refused | None:
        """Queue a MULTI/EXEC block, whole: its commands reach their master in one round, so in
        one script."""
        if not commands:
            return None
        refused = self._where(len(commands))
        if refused is not None:
            return None if refused is _SKIP else refused.about(commands[0])
        if not self.router.cluster:
            self._queue([(0, c) for c in commands], offset)
            return None
        parts = place_transaction(commands, self.split_transactions)
        if isinstance(parts, Refused):
            return parts
        self._queue(parts, offset)
        return None

    def _where(self, n: int = 1) -> _DbRefusal | None:
        """None when the current db is applied; _SKIP when it is not followed (``--db``);
        a refusal when a cluster would need another db than 0."""
        db = self.db
        if self.dbs is not None and db not in self.dbs:
            self.stats.skipped += n
            return _SKIP
        if self.router.cluster and self.db_map.get(db, db) != 0:
            return _DbRefusal(db)
        return None

    def _queue(self, parts: list[Part], offset: int) -> None:
        router = self.router
        db = None if router.cluster else self.db_map.get(self.db, self.db)
        rnd, skip = self._round, self._skip
        for slot, argv in parts:
            if slot >= 0:
                addrs = [router.slots[slot] or router.owner(slot)] if router.cluster else [router.entry]
            elif slot == EVERY:
                addrs = router.masters()
            else:  # ANY
                addrs = router.masters()[:1]
            for addr in addrs:
                if skip and offset <= skip.get(addr, -1):
                    self.stats.skipped += 1
                    continue
                q = rnd.get(addr)
                if q is None:
                    q = rnd[addr] = []
                q.append((db, argv, offset, scriptable(argv)))
                self._queued += 1

    # -- rounds -----------------------------------------------------------------------
    def flush(self) -> None:
        """Send the round; return when every node has taken its share."""
        if not self._round:
            return
        batches: dict[Addr, list[list[bytes]]] = {}
        plans: dict[Addr, list[Plan]] = {}
        for addr, entries in self._round.items():
            batches[addr], plans[addr] = self._segments(addr, entries)
        self._round, self._queued = {}, 0
        replies = self.router.exchange(batches)
        for addr, rs in replies.items():
            self._fatal(addr, rs)
            for (seg, value), argv, r in zip(plans[addr], batches[addr], rs):
                if argv[0] == b"EVAL":
                    self._script_result(addr, seg, value, r)
                elif argv[0] != b"SELECT":
                    self._outcome(argv, r)
        self._skip = {a: off for a, off in self._skip.items() if off > self.applied_to}

    def _segments(self, addr: Addr, entries: list[Entry]) -> tuple[list[list[bytes]], list[Plan]]:
        """A node's share as scripts of at most MAX_SCRIPT commands, with the commands no
        script may run sent between them; each command of the batch beside the entries it
        carries and the marker value its script writes. A MULTI block's commands share one
        offset: a script is never cut inside one, and a script that ends inside one (a
        command no script may run comes next) leaves the marker alone, which must never
        claim part of a block."""
        groups: list[list[Entry]] = []  # runs of scriptable entries, or one entry a script may not run
        for e in entries:
            last = groups[-1] if groups else None
            if (e[3] and last is not None and last[-1][3]
                    and not (len(last) >= MAX_SCRIPT and e[2] != last[-1][2])):
                last.append(e)
            else:
                groups.append([e])
        batch: list[list[bytes]] = []
        plan: list[Plan] = []
        for i, g in enumerate(groups):
            closed = i + 1 == len(groups) or groups[i + 1][0][2] != g[-1][2]
            value = self.sync_id + b" %d" % g[-1][2] if closed else b""
            self.applied_to = max(self.applied_to, g[-1][2])
            if g[0][3]:
                batch.append(self._script(addr, g, value))
                plan.append((g, value))
            else:
                for argv in _selecting(g):
                    batch.append(argv)
                    plan.append((g, b""))
        return batch, plan

    def _script(self, addr: Addr, run: list[Entry], value: bytes) -> list[bytes]:
        args = [b"EVAL", APPLY, b"1", self.marker(addr), value]
        for argv in _selecting(run):
            args.append(b"%d" % len(argv))
            args += argv
        return args

    def _script_result(self, addr: Addr, run: list[Entry], value: bytes, r: object) -> None:
        if not isinstance(r, list):  # refused whole (a redirection for the marker's slot ...)
            if not is_redirect(r) and not (isinstance(r, ReplyError) and r.startswith("CROSSSLOT")):
                raise ApplyError(f"{addr[0]}:{addr[1]} refused a round: {r}")
            self._one_by_one(addr, run, value)
            return
        cmds = _selecting(run)
        moved: list[list[bytes]] = []
        failed = 0
        for k, why in zip(r[::2], r[1::2]):
            argv, text = cmds[int(k) - 1], bytes(why).decode("utf-8", "replace")
            failed += 1
            if _NON_LOCAL in text:
                moved.append(argv)
            elif text.startswith(_FATAL) or "cluster is down" in text:
                raise ApplyError(f"{addr[0]}:{addr[1]} cannot take writes: {text}")
            else:
                self.stats.error(argv, text)
        self.stats.applied += sum(1 for c in cmds if c[0] != b"SELECT") - failed
        if moved:  # their slot left this node while the round was on its way
            self.stats.replayed += 1
            self.router.refresh()
            for argv in moved:
                self._outcome(argv, self.router.conn(self.router.owner(_slot_of(argv))).call(*argv))
            if value:
                self._set_marker(addr, value)

    def _outcome(self, argv: list[bytes], r: object) -> None:
        if is_redirect(r):
            r = self.router.follow(argv, r, _slot_of(argv))
        if isinstance(r, ReplyError):
            self.stats.error(argv, r)
        else:
            self.stats.applied += 1

    def _fatal(self, addr: Addr, rs: list[object]) -> None:
        for r in rs:
            if isinstance(r, ReplyError) and r.startswith(_FATAL):
                raise ApplyError(f"{addr[0]}:{addr[1]} cannot take writes: {r}")

    def _one_by_one(self, addr: Addr, run: list[Entry], value: bytes) -> None:
        """A script its node refused whole: its commands again, without a script,
        redirections followed, then the marker."""
        self.stats.replayed += 1
        batch = _selecting(run)
        rs = self.router.conn(addr).pipeline(batch)
        self._fatal(addr, rs)
        for argv, r in zip(batch, rs):
            if argv[0] != b"SELECT":
                self._outcome(argv, r)
        if value:
            self._set_marker(addr, value)

    def _set_marker(self, addr: Addr, value: bytes) -> None:
        """The marker, outside a script: on ``addr`` itself, in a slot it serves now (asked
        of ``addr`` first: while slots move, another node's map may lag behind)."""
        r: object = None
        for attempt in range(5):
            key = self.marker(addr)
            r = self.router.conn(addr).call(b"SET", key, value)
            if not is_redirect(r):
                break
            time.sleep(0.05 * attempt)
            self.router.refresh(first=addr)
        if isinstance(r, ReplyError):  # the next round's script writes it again
            self.stats.error([b"SET", self.marker(addr)], f"the sync's marker not written: {r}")

    # -- markers ------------------------------------------------------------------------
    def marker(self, addr: Addr) -> bytes:
        if self._markers_version != self.router.version:  # slots moved: markers follow
            self._markers.clear()
            self._markers_version = self.router.version
        key = self._markers.get(addr)
        if key is None:
            slots = self.router.slots
            slot = next((s for s in range(SLOTS - 1, -1, -1) if slots[s] == addr), 0) if self.router.cluster else 0
            key = self._markers[addr] = marker_key(slot)
            self._used.add(key)
        return key

    def probe(self) -> None:
        """The target runs the scripts rounds are made of (Redis 7.0's script flags)."""
        for addr in self.router.masters():
            r = self.router.conn(addr).call(b"EVAL", b"#!lua flags=allow-cross-slot-keys\nreturn 1", b"0")
            if r != 1:
                raise ApplyError(f"{addr[0]}:{addr[1]} cannot run the Lua scripts rounds are applied with "
                                 f"(Redis 7.0 or later, with scripting): {r}")

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
        """Every marker this run may have written (the slot map may have moved some)."""
        keys = set(self._used) | {self.marker(addr) for addr in self.router.masters()}
        for key in keys:
            argv = [b"DEL", key]
            slot = key_hash_slot(key)
            self.router.follow(argv, self.router.conn(self.router.owner(slot)).call(*argv), slot)


def _selecting(entries: list[Entry]) -> list[list[bytes]]:
    """The commands, each preceded by a SELECT where its db changes (a connection
    starts and ends in db 0, where the marker lives)."""
    out: list[list[bytes]] = []
    cur = 0
    for db, argv, _, _ in entries:
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
