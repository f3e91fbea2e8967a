"""Move records into a live server or a Redis Cluster with pipelined RESTOREs.

The target is asked what it is (``INFO``): its version picks the RDB version of
the DUMP payloads (``rdbtools.dump``), and ``cluster_enabled`` whether keys are
routed by hash slot (``CLUSTER SLOTS``) to their masters. Each key becomes
``RESTORE key <ttl> <payload> [REPLACE] [ABSTTL] [IDLETIME s | FREQ n]`` with its
absolute expiry, so TTLs survive however long the copy takes; keys already
expired are skipped. Redirections are followed as a cluster client must:
``MOVED`` refreshes the slot map and resends, ``ASK`` resends once to the named
node after ``ASKING``, ``TRYAGAIN`` waits and resends. A key that exists is
reported (``BUSYKEY``) unless ``replace``; any other refusal is reported with the
key and the server's words, and the copy goes on.

Why in ``cli``: the routing client (slot map, redirections) and this driver serve
``rdbkit restore`` alone; the server never restores into another server. What a
server will also need — hash slots — is below both, in :mod:`aof.slots`; the
payloads come from :mod:`rdbtools.dump`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

from aof.resp import ReplyError
from aof.slots import SLOTS, key_hash_slot
from cli.remote.connection import Connection, ConnectionFailed, RemoteError
from rdbtools.dump import dump_value
from rdbtools.errors import RdbEncodeError
from rdbtools.model import Record

_REDIRECT = re.compile(rb"^(MOVED|ASK) (\d+) (\S*):(\d+)$")
MAX_REDIRECTS = 16


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


def _info(conn: Connection) -> dict[str, str]:
    r = conn.call(b"INFO")
    if isinstance(r, ReplyError):
        raise RestoreError(f"{conn.peer}: INFO failed: {r}")
    out = {}
    for line in bytes(r).decode("utf-8", "replace").splitlines():  # type: ignore[arg-type]
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


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
                 rdb_version: int | None = None, db_map: dict[int, int] | None = None) -> None:
        self._auth = {"password": password, "user": user, "timeout": timeout}
        self.db_map = db_map or {}  # source db -> target db (--db-map)
        self.replace = replace
        self.batch = batch
        self.stats = RestoreStats()
        self._conns: dict[tuple[str, int], Connection] = {}
        first = self._conn(host, port)
        info = _info(first)
        self.stats.rdb_version = rdb_version or rdb_version_for(info)
        self.cluster = info.get("cluster_enabled") == "1"
        self.stats.cluster = self.cluster
        self._entry = (host, port)
        self._slots: list[tuple[str, int] | None] = [None] * SLOTS
        if self.cluster:
            self._refresh()
        self._queues: dict[tuple[str, int], list[tuple[Record, list[bytes]]]] = {}
        self._selected: dict[tuple[str, int], int] = {}

    # -- connections and topology ----------------------------------------------
    def _conn(self, host: str, port: int) -> Connection:
        c = self._conns.get((host, port))
        if c is None:
            c = self._conns[(host, port)] = Connection(host, port, **self._auth)  # type: ignore[arg-type]
        return c

    def _refresh(self) -> None:
        """Slot → master from CLUSTER SLOTS (asked of any node that answers)."""
        last: Exception | None = None
        for addr in [self._entry, *self._conns]:
            try:
                r = self._conn(*addr).call(b"CLUSTER", b"SLOTS")
            except ConnectionFailed as exc:
                last = exc
                continue
            if isinstance(r, ReplyError):
                last = RestoreError(f"{addr[0]}:{addr[1]}: CLUSTER SLOTS failed: {r}")
                continue
            for rng in r:  # type: ignore[union-attr]
                start, end, master = rng[0], rng[1], rng[2]
                host = bytes(master[0]).decode() or addr[0]
                for s in range(start, end + 1):
                    self._slots[s] = (host, int(master[1]))
            self.stats.nodes = len({a for a in self._slots if a is not None})
            return
        raise RestoreError(f"cannot read the cluster's slot map: {last}")

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
        if self.cluster:
            if db != 0:  # never merged into db 0 unasked
                raise RestoreError(f"a cluster has only db 0, but key {rec.key!r} is in db {db}: "
                                   f"map it with --db-map {db}:0, or leave its db out with --db")
            addr = self._slots[key_hash_slot(rec.key)]
            if addr is None:
                raise RestoreError(f"slot {key_hash_slot(rec.key)} (key {rec.key!r}) is not served by the cluster")
        else:
            addr = self._entry
        q = self._queues.setdefault(addr, [])
        q.append((rec, argv))
        if len(q) >= self.batch:
            self._send(addr)

    def finish(self) -> RestoreStats:
        for addr in list(self._queues):
            self._send(addr)
        for c in self._conns.values():
            c.close()
        return self.stats

    # -- sending ------------------------------------------------------------------
    def _send(self, addr: tuple[str, int]) -> None:
        items = self._queues.pop(addr, [])
        if not items:
            return
        cmds: list[list[bytes]] = []
        owners: list[Record | None] = []
        for rec, argv in items:
            if not self.cluster and self._selected.get(addr, 0) != rec.db:
                cmds.append([b"SELECT", b"%d" % rec.db])
                owners.append(None)
                self._selected[addr] = rec.db
            cmds.append(argv)
            owners.append(rec)
        replies = self._conn(*addr).pipeline(cmds)
        retry: list[tuple[Record, list[bytes], bytes]] = []
        for rec, argv, r in zip(owners, cmds, replies):
            if rec is None:
                if isinstance(r, ReplyError):
                    raise RestoreError(f"{addr[0]}:{addr[1]}: SELECT failed: {r}")
                continue
            self._outcome(rec, argv, r, retry)
        for rec, argv, err in retry:
            self._redirect(rec, argv, err)

    def _outcome(self, rec: Record, argv: list[bytes], r: object, retry: list) -> None:
        if not isinstance(r, ReplyError):
            self.stats.restored += 1
            return
        text = str(r).encode("utf-8", "surrogateescape")
        if text.startswith(b"BUSYKEY"):
            self.stats.busy += 1
            self.stats.fail(rec, "target key name is busy (use --replace)")
        elif text.startswith((b"MOVED", b"ASK", b"TRYAGAIN")):
            retry.append((rec, argv, text))
        else:
            self.stats.fail(rec, str(r))

    def _redirect(self, rec: Record, argv: list[bytes], err: bytes) -> None:
        for _ in range(MAX_REDIRECTS):
            self.stats.redirects += 1
            m = _REDIRECT.match(err)
            if err.startswith(b"TRYAGAIN") or m is None:
                time.sleep(0.05)
                addr = self._slots[key_hash_slot(rec.key)] or self._entry
                r = self._conn(*addr).call(*argv)
            elif m.group(1) == b"MOVED":
                self._refresh()
                addr = (m.group(3).decode() or self._entry[0], int(m.group(4)))
                r = self._conn(*addr).call(*argv)
            else:  # ASK: this one command, on that node, after ASKING
                addr = (m.group(3).decode() or self._entry[0], int(m.group(4)))
                r = self._conn(*addr).pipeline([[b"ASKING"], argv])[1]
            retry: list = []
            self._outcome(rec, argv, r, retry)
            if not retry:
                return
            err = retry[0][2]
        self.stats.fail(rec, f"still redirected after {MAX_REDIRECTS} tries: {err.decode()}")


__all__ = ["RestoreError", "RestoreStats", "RestoreTarget", "rdb_version_for"]
