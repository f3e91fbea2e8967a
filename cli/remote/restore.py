"""Move records into a live server or a Redis Cluster with pipelined RESTOREs.

The target (a server or a cluster, :class:`~cli.remote.router.Router`) is asked
what it is: its version picks the RDB version of the DUMP payloads
(``rdbtools.dump``), and a cluster gets each key on its slot's master, redirections
followed. Each key becomes
``RESTORE key <ttl> <payload> [REPLACE] [ABSTTL] [IDLETIME s | FREQ n]`` with its
absolute expiry, so TTLs survive however long the copy takes; keys already
expired are skipped. A key that exists is reported (``BUSYKEY``) unless
``replace``; any other refusal is reported with the key and the server's words,
and the copy goes on.

Why in ``cli``: ``rdbkit restore`` and ``rdbkit sync`` (its full-sync part) are the
users; the server never restores into another server. What a server also needs —
hash slots — is below both, in :mod:`aof.slots`; the payloads come from
:mod:`rdbtools.dump`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from aof.resp import ReplyError
from aof.slots import key_hash_slot
from cli.remote.connection import RemoteError
from cli.remote.router import Addr, RouteError, Router, is_redirect
from rdbtools.dump import dump_value
from rdbtools.errors import RdbEncodeError
from rdbtools.model import Record


class RestoreError(RemoteError):
    pass


def rdb_version_for(info: dict[str, str]) -> int:
    """The newest RDB version the server at ``info`` accepts in RESTORE."""
    if "valkey_version" in info or info.get("server_name") == "valkey":
        return 11
    parts = [int(x) for x in re.findall(r"\d+", info.get("redis_version", "7.0.0"))[:2]] + [0, 0]
    major, minor = parts[0], parts[1]
    if (major, minor) >= (7, 4):
        return 12
    if (major, minor) >= (7, 2):
        return 11
    if major >= 7:
        return 10
    if major >= 5:
        return 9
    if major == 4:
        return 8
    if (major, minor) >= (3, 2):
        return 7
    return 6


FAILURES_KEPT = 10  # failed keys named in the report; the others are counted


@dataclass
class RestoreStats:
    restored: int = 0
    expired: int = 0
    busy: int = 0
    failed: list[tuple[int, bytes, str]] = field(default_factory=list)  # (db, key, why): the first ones
    failures: int = 0  # every failed key (a second restore without --replace fails them all)
    redirects: int = 0
    rdb_version: int = 0
    cluster: bool = False
    nodes: int = 1

    def fail(self, rec: Record, why: str) -> None:
        self.failures += 1
        if len(self.failed) < FAILURES_KEPT:
            self.failed.append((rec.db, rec.key, why))


class RestoreTarget:
    def __init__(self, host: str, port: int, *, password: bytes | None = None, user: bytes | None = None,
                 replace: bool = False, batch: int = 256, timeout: float = 30.0,
                 rdb_version: int | None = None, db_map: dict[int, int] | None = None,
                 router: Router | None = None) -> None:
        self.db_map = db_map or {}  # source db -> target db (--db-map)
        self.replace = replace
        self.batch = batch
        self.stats = RestoreStats()
        try:
            self.router = router or Router(host, port, password=password, user=user, timeout=timeout)
        except RouteError as exc:
            raise RestoreError(str(exc)) from None
        self.stats.rdb_version = rdb_version or rdb_version_for(self.router.info)
        self.cluster = self.router.cluster
        self.stats.cluster = self.cluster
        self.stats.nodes = len(self.router.masters())
        self._queues: dict[Addr, list[tuple[Record, list[bytes]]]] = {}
        self._selected: dict[Addr, int] = {}

    # -- queueing -----------------------------------------------------------------
    def add(self, rec: Record, now_ms: int | None = None) -> None:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        if rec.expire_ms is not None and rec.expire_ms <= now:
            self.stats.expired += 1
            return
        try:
            payload = dump_value(rec, self.stats.rdb_version)
        except RdbEncodeError as exc:
            self.stats.fail(rec, str(exc))
            return
        argv = [b"RESTORE", rec.key, b"%d" % (rec.expire_ms or 0), payload]
        if self.replace:
            argv.append(b"REPLACE")
        if rec.expire_ms:
            argv.append(b"ABSTTL")
        if rec.idle is not None:
            argv += [b"IDLETIME", b"%d" % rec.idle]
        elif rec.freq is not None:
            argv += [b"FREQ", b"%d" % rec.freq]
        db = self.db_map.get(rec.db, rec.db)
        if db != rec.db:
            rec = replace(rec, db=db)
        if self.cluster and db != 0:  # never merged into db 0 unasked
            raise RestoreError(f"a cluster has only db 0, but key {rec.key!r} is in db {db}: "
                               f"map it with --db-map {db}:0, or leave its db out with --db")
        try:
            addr = self.router.owner(key_hash_slot(rec.key))
        except RouteError as exc:
            raise RestoreError(f"{exc} (key {rec.key!r})") from None
        q = self._queues.setdefault(addr, [])
        q.append((rec, argv))
        if len(q) >= self.batch:
            self.flush(addr)

    def flush(self, only: Addr | None = None) -> None:
        """Send what is queued (for one node, or for all of them side by side)."""
        addrs = [only] if only is not None else list(self._queues)
        batches: dict[Addr, list[list[bytes]]] = {}
        owners: dict[Addr, list[Record | None]] = {}
        for addr in addrs:
            cmds, recs = batches.setdefault(addr, []), owners.setdefault(addr, [])
            for rec, argv in self._queues.pop(addr, []):
                if not self.cluster and self._selected.get(addr, 0) != rec.db:
                    cmds.append([b"SELECT", b"%d" % rec.db])
                    recs.append(None)
                    self._selected[addr] = rec.db
                cmds.append(argv)
                recs.append(rec)
        try:
            replies = self.router.exchange(batches)
            for addr, rs in replies.items():
                for rec, argv, r in zip(owners[addr], batches[addr], rs):
                    if rec is None:
                        if isinstance(r, ReplyError):
                            raise RestoreError(f"{addr[0]}:{addr[1]}: SELECT failed: {r}")
                        continue
                    if is_redirect(r):
                        r = self.router.follow(argv, r, key_hash_slot(rec.key))
                    self._outcome(rec, r)
        except RouteError as exc:
            raise RestoreError(str(exc)) from None
        self.stats.redirects = self.router.redirects

    def finish(self) -> RestoreStats:
        self.flush()
        self.router.close()
        return self.stats

    def _outcome(self, rec: Record, r: object) -> None:
        if not isinstance(r, ReplyError):
            self.stats.restored += 1
        elif r.startswith("BUSYKEY"):
            self.stats.busy += 1
            self.stats.fail(rec, "target key name is busy (use --replace)")
        else:
            self.stats.fail(rec, str(r))


__all__ = ["RestoreError", "RestoreStats", "RestoreTarget", "rdb_version_for"]
