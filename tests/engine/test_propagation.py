"""Propagation, differentially: what our server logs for a command sequence must be
what a real redis-server 7.0 writes to its AOF for the same sequence.

The real server runs with ``appendonly yes``/``appendfsync always`` (so a command's
record is in the INCR file by the time its reply arrives); a scenario's records are
the bytes the INCR file grew by, decoded with :mod:`aof.reader` (SELECTs dropped:
each record carries its db). Ours is an in-process :class:`engine.server.app.Server`
with a capturing propagation target, driven through the dispatcher as the
connection code does (commands, then blocked clients served). Absolute times
(``PXAT``, ``PEXPIREAT``, ``ABSTTL``) are compared within a tolerance. Active expiry
is off on both sides except in its own test.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aof.commands import Command as AofCommand
from aof.commands import is_select
from aof.multipart import AofDirectory
from aof.reader import AofReader
from engine.config import Config, config_from_argv
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.keyspace.expire import active_expire_cycle
from engine.materialize import dump_payload
from engine.server.app import Server
from tests.engine.conftest import ServerProc, start_real
from tests.engine.test_differential_stateful import (
    HASH_CMDS,
    KEY_CMDS,
    LIST_CMDS,
    SET_CMDS,
    STRING_CMDS,
    ZSET_CMDS,
    key,
    member,
)

pytestmark = pytest.mark.differential

Op = tuple[int, list[bytes]]
TOLERANCE_MS = 3000  # both sides run each step back to back: their clocks differ by far less
EXAMPLES = int(os.environ.get("RDBKIT_DIFF_EXAMPLES", "60"))
AOF_ARGS = ("--appendonly", "yes", "--appendfsync", "always", "--aof-timestamp-enabled", "no",
            "--aof-use-rdb-preamble", "yes", "--auto-aof-rewrite-percentage", "0")


# -- the two sides ---------------------------------------------------------------------------

class RealSide:
    """The real server, its INCR file and one raw connection per scenario client."""

    def __init__(self, proc: ServerProc, directory: Path) -> None:
        self.proc = proc
        self.dir = directory / "appendonlydir"
        self.admin = proc.client()
        self.admin.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        self.conns: list[redis.Connection] = []
        self.mark = 0

    def incr_path(self) -> str:
        d = AofDirectory.open(str(self.dir))
        return d.path(d.incrs[-1])

    def begin(self, nclients: int) -> None:
        self.close()
        self.admin.execute_command("FLUSHALL")  # from db 0: the AOF has db 0 selected after it
        self.conns = [redis.Connection(host="127.0.0.1", port=self.proc.port, socket_timeout=10)
                      for _ in range(nclients)]
        for cn in self.conns:
            cn.connect()
        self.mark = os.path.getsize(self.incr_path())

    def close(self) -> None:
        for cn in self.conns:
            cn.disconnect()
        self.conns = []

    def send(self, i: int, argv: list[bytes]) -> None:
        self.conns[i].send_command(*argv)

    def wait_blocked(self, n: int) -> None:
        """Until ``n`` clients are blocked (a sent blocking command reached the server)."""
        deadline = time.time() + 10
        while self.admin.info("clients")["blocked_clients"] < n and time.time() < deadline:
            time.sleep(0.002)

    def recv(self, i: int) -> Any:
        try:
            return self.conns[i].read_response()
        except redis.ResponseError as exc:
            return exc

    def ops(self) -> list[Op]:
        with open(self.incr_path(), "rb") as f:
            f.seek(self.mark)
            data = f.read()
        out: list[Op] = []
        for item in AofReader(data):
            if type(item) is AofCommand and not is_select(item.argv):
                out.append((item.db, list(item.argv)))
        return out


class OurSide:
    """An in-process server whose propagated units are captured."""

    def __init__(self, nclients: int) -> None:
        # no save points, as the real side (FLUSHALL would otherwise SAVE into the cwd)
        self.srv = Server(config_from_argv(["--enable-debug-command", "yes", "--save", ""]))
        self.srv.active_expire_enabled = False
        self.units: list[list[Op]] = []
        self.srv.propagator.targets.append(self.units.append)
        self.clients = [Client(self.srv) for _ in range(nclients)]

    def run(self, i: int, argv: list[bytes], expect_block: bool = False) -> bytes | None:
        """As the connection does: the command, then the blocked clients it made ready.
        A command that blocks unexpectedly times out at once (there is no event loop)."""
        c = self.clients[i]
        reply = execute(c, list(argv))
        if reply is None and not expect_block and c.blocked is not None:
            self.srv.blocking.unblock_with(c, c.blocked.timeout_reply)
        if self.srv.ready_keys:
            self.srv.handle_ready_keys()
        return reply

    def ops(self) -> list[Op]:
        return [op for unit in self.units for op in unit]


# -- scenarios ---------------------------------------------------------------------------------

def _b(x: object) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode()


def cmd(*args: object) -> list[bytes]:
    return [_b(a) for a in args]


class Sleep:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class Send:
    """Send without waiting for the reply (the command blocks on the real server)."""

    def __init__(self, client: int, argv: list[bytes]) -> None:
        self.client = client
        self.argv = argv


class Recv:
    def __init__(self, client: int) -> None:
        self.client = client


Step = Any  # list[bytes] (client 0), (client, argv), Sleep, Send, Recv


def run_steps(real: RealSide, steps: list[Step], nclients: int = 3) -> tuple[list[Op], list[Op]]:
    ours = OurSide(nclients)
    real.begin(nclients)
    blocked = 0
    try:
        for s in steps:
            if isinstance(s, Sleep):
                time.sleep(s.seconds)
            elif isinstance(s, Send):
                real.send(s.client, s.argv)
                blocked += 1
                real.wait_blocked(blocked)
                ours.run(s.client, s.argv, expect_block=True)
            elif isinstance(s, Recv):
                real.recv(s.client)
                blocked -= 1
            else:
                i, argv = s if isinstance(s, tuple) else (0, s)
                real.send(i, argv)
                real.recv(i)
                ours.run(i, argv)
        return real.ops(), ours.ops()
    finally:
        real.close()


def _is_time(a: bytes) -> bool:
    return a.isdigit() and len(a) >= 12


def same_op(a: Op, b: Op) -> bool:
    if a[0] != b[0] or len(a[1]) != len(b[1]):
        return False
    for x, y in zip(a[1], b[1], strict=True):
        if x == y:
            continue
        if _is_time(x) and _is_time(y) and abs(int(x) - int(y)) <= TOLERANCE_MS:
            continue
        return False
    return True


def assert_same_log(real_ops: list[Op], our_ops: list[Op], unordered: bool = False) -> None:
    if unordered:
        real_ops = sorted(real_ops, key=repr)
        our_ops = sorted(our_ops, key=repr)
    ok = len(real_ops) == len(our_ops) and all(same_op(a, b) for a, b in zip(real_ops, our_ops, strict=True))
    assert ok, "logs differ\nreal: " + "\n      ".join(map(repr, real_ops)) + \
        "\nours: " + "\n      ".join(map(repr, our_ops))


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealSide]:
    d = tmp_path_factory.mktemp("real-aof")
    proc = start_real(d, *AOF_ARGS)
    side = RealSide(proc, d)
    yield side
    side.close()
    proc.stop()


NOW_S = int(time.time())
NOW_MS = NOW_S * 1000
PAYLOAD = dump_payload(b"restored", Config())

SCENARIOS: dict[str, list[Step]] = {
    "set-expiries": [
        cmd("SET", "k1", "v", "EX", 100), cmd("set", "k2", "v", "px", 100000),
        cmd("SET", "k3", "v", "EXAT", NOW_S + 100), cmd("SET", "k4", "v", "PXAT", NOW_MS + 100000),
        cmd("SET", "k5", "v", "NX", "EX", 100), cmd("SET", "k5", "w", "XX", "GET", "PX", 5000),
        cmd("SET", "k5", "x", "GET"), cmd("SET", "k5", "get", "get", "KEEPTTL", "GET"),
        cmd("SET", "k6", "v", "KEEPTTL"), cmd("SETEX", "k7", 100, "v"), cmd("psetex", "k8", 100000, "v"),
        cmd("SETNX", "k9", "v"), cmd("SETNX", "k9", "w"), cmd("SET", "k9", "v", "NX"),
        cmd("SET", "k10", "v", "XX", "EX", 10), cmd("SET", "k9", "v", "EX", 0), cmd("SET", "k9", "v", "EX", "x"),
        cmd("MSET", "a", 1, "b", 2), cmd("MSETNX", "a", 1, "c", 3), cmd("MSETNX", "c", 3, "d", 4),
    ],
    "getex-getdel-getset": [
        cmd("SET", "k", "v"), cmd("GETEX", "k", "EX", 100), cmd("getex", "k", "px", 100000),
        cmd("GETEX", "k", "EXAT", NOW_S + 100), cmd("GETEX", "k", "PXAT", NOW_MS + 100000),
        cmd("GETEX", "k"), cmd("GETEX", "k", "PERSIST"), cmd("GETEX", "k", "PERSIST"),
        cmd("GETEX", "k", "PXAT", 1000), cmd("GETEX", "k", "EX", 100), cmd("SET", "k", "v"),
        cmd("GETEX", "k", "EXAT", 1), cmd("GETEX", "nokey", "EX", 100),
        cmd("SET", "k", "v"), cmd("GETSET", "k", "w"), cmd("getset", "new", "w"),
        cmd("GETDEL", "k"), cmd("GETDEL", "k"), cmd("getdel", "new"),
    ],
    "float-increments": [
        cmd("SET", "f", "10.5"), cmd("INCRBYFLOAT", "f", "0.1"), cmd("incrbyfloat", "g", 3),
        cmd("SET", "t", 1, "EX", 100), cmd("INCRBYFLOAT", "t", "1.5e3"), cmd("INCRBYFLOAT", "t", "x"),
        cmd("HINCRBYFLOAT", "h", "f", "1.5"), cmd("hincrbyfloat", "h", "f", "2e3"),
        cmd("HSET", "h", "g", "x"), cmd("HINCRBYFLOAT", "h", "g", 1), cmd("HINCRBYFLOAT", "h", "f", "-0.5"),
        cmd("INCR", "i"), cmd("INCRBY", "i", 5), cmd("DECR", "i"), cmd("HINCRBY", "h", "n", 2),
    ],
    "expire-family": [
        cmd("SET", "k", "v"), cmd("EXPIRE", "k", 100), cmd("pexpire", "k", 100000),
        cmd("EXPIREAT", "k", NOW_S + 100), cmd("pexpireat", "k", NOW_MS + 100000),
        cmd("PEXPIREAT", "k", NOW_MS + 200000, "gt"), cmd("EXPIRE", "k", 100, "NX"),
        cmd("EXPIRE", "k", 300, "XX"), cmd("EXPIRE", "k", 50, "LT"), cmd("EXPIRE", "k", 40, "GT"),
        cmd("EXPIRE", "k", 60, "GT"),
        cmd("EXPIRE", "missing", 100), cmd("PERSIST", "k"), cmd("PERSIST", "k"),
        cmd("EXPIRE", "k", -1), cmd("SET", "k", "v"), cmd("PEXPIRE", "k", 0),
        cmd("SET", "k", "v"), cmd("EXPIREAT", "k", 1), cmd("SET", "k", "v"), cmd("pexpireat", "k", 5),
        cmd("SET", "k", "v"), cmd("EXPIRE", "k", "x"), cmd("EXPIRE", "k", 10, "FOO"),
    ],
    "sets-spop": [
        cmd("SADD", "s", "a"), cmd("SADD", "s", "a"), cmd("SPOP", "s"), cmd("SPOP", "s"),
        cmd("SADD", "s", "a", "b", "c"), cmd("SPOP", "s", 0), cmd("SPOP", "s", 3), cmd("SPOP", "s", 1),
        cmd("SADD", "s", 1, 2), cmd("spop", "s", 10), cmd("SADD", "s", "x"), cmd("SRANDMEMBER", "s", 3),
        cmd("SRANDMEMBER", "s"), cmd("SPOP", "s", 1), cmd("SADD", "s", "y"), cmd("SPOP", "s", 2),
        cmd("SREM", "s", "nope"), cmd("SMOVE", "s", "t", "nope"),
    ],
    "lists-nonblocking-equivalents": [
        cmd("RPUSH", "l", "a", "b", "c", "d", "e", "f", "g"), cmd("BLPOP", "l", 0), cmd("brpop", "x", "l", 0),
        cmd("LMPOP", 2, "x", "l", "LEFT"), cmd("lmpop", 1, "l", "right", "COUNT", 2),
        cmd("BLMPOP", 0, 1, "l", "LEFT", "COUNT", 10), cmd("LMPOP", 1, "l", "LEFT"),
        cmd("RPUSH", "l", "a", "b", "c"), cmd("BLMOVE", "l", "m", "left", "RIGHT", 0),
        cmd("brpoplpush", "l", "m", 0), cmd("LMOVE", "m", "l", "LEFT", "left"), cmd("RPOPLPUSH", "m", "l"),
        cmd("LPOP", "l", 10), cmd("RPOP", "l"), cmd("LPOP", "m", 0), cmd("RPUSH", "m", "a"),
        cmd("BLMPOP", 0, 1, "m", "RIGHT"),
    ],
    "zsets-nonblocking-equivalents": [
        cmd("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e"), cmd("BZPOPMIN", "z", 0),
        cmd("bzpopmax", "x", "z", 0), cmd("ZMPOP", 1, "z", "MIN"), cmd("zmpop", 2, "x", "z", "max", "count", 1),
        cmd("BZMPOP", 0, 1, "z", "MIN", "COUNT", 5), cmd("ZADD", "z", 1, "a", 2, "b"),
        cmd("ZPOPMIN", "z", 10), cmd("ZPOPMAX", "z"), cmd("ZPOPMIN", "z", 0),
        cmd("ZADD", "z", 1, "a"), cmd("ZADD", "z", 1, "a"), cmd("ZADD", "z", "NX", 2, "a"),
        cmd("ZADD", "z", "INCR", 2, "a"), cmd("ZINCRBY", "z", "0.5", "a"),
    ],
    "transactions": [
        cmd("MULTI"), cmd("SET", "a", 1), cmd("EXEC"),
        cmd("MULTI"), cmd("SET", "a", 1), cmd("SET", "b", 2), cmd("EXEC"),
        cmd("MULTI"), cmd("GET", "a"), cmd("EXEC"),
        cmd("MULTI"), cmd("GET", "a"), cmd("INCR", "x"), cmd("SADD", "s", "m"), cmd("SADD", "s", "m"), cmd("EXEC"),
        cmd("MULTI"), cmd("EXPIRE", "a", 100), cmd("EXEC"),
        cmd("MULTI"), cmd("SET", "a", 1), cmd("SELECT", 1), cmd("SET", "a", 2), cmd("SELECT", 0), cmd("EXEC"),
        cmd("MULTI"), cmd("SELECT", 2), cmd("SET", "z", 1), cmd("EXEC"), cmd("SET", "y", 1), cmd("SELECT", 0),
        cmd("MULTI"), cmd("SET", "a", 1), cmd("NOSUCH"), cmd("EXEC"),
        cmd("MULTI"), cmd("SET", "a", 1), cmd("DISCARD"),
        cmd("MULTI"), cmd("SET", "a", 1, "EX", 100), cmd("INCRBYFLOAT", "f", 1), cmd("BLPOP", "nolist", 0),
        cmd("EXEC"),
        cmd("MULTI"), cmd("SET", "a", "x"), cmd("INCR", "a"), cmd("EXEC"),
        cmd("WATCH", "w"), (1, cmd("SET", "w", 1)), cmd("MULTI"), cmd("SET", "a", 1), cmd("EXEC"),
        # PUBLISH reaches replicas only: the AOF keeps the MULTI/EXEC its unit needed
        cmd("MULTI"), cmd("PUBLISH", "ch", "m"), cmd("SET", "p", 1), cmd("EXEC"), cmd("PUBLISH", "ch", "m"),
        cmd("MULTI"), cmd("PUBLISH", "ch", "m"), cmd("EXEC"),
    ],
    "databases": [
        cmd("SET", "a", 1, "EX", 100), cmd("MOVE", "a", 1), cmd("MOVE", "a", 1), cmd("SELECT", 1),
        cmd("COPY", "a", "b"), cmd("COPY", "a", "b"), cmd("COPY", "a", "b", "REPLACE"),
        cmd("COPY", "a", "c", "DB", 2), cmd("RENAME", "b", "r"), cmd("RENAMENX", "r", "a"),
        cmd("RENAMENX", "r", "n"), cmd("SWAPDB", 0, 1), cmd("swapdb", 3, 3), cmd("SELECT", 0),
        cmd("FLUSHDB"), cmd("FLUSHDB"), cmd("SELECT", 5), cmd("flushdb", "ASYNC"), cmd("FLUSHALL"),
        cmd("FLUSHALL", "SYNC"), cmd("SET", "x", 1), cmd("DEL", "x", "y"), cmd("DEL", "x"),
        cmd("SET", "x", 1), cmd("UNLINK", "x"),
    ],
    "restore": [
        cmd("RESTORE", "r", 0, PAYLOAD), cmd("RESTORE", "r2", 100000, PAYLOAD),
        cmd("RESTORE", "r3", NOW_MS + 100000, PAYLOAD, "ABSTTL"),
        cmd("RESTORE", "r", 100000, PAYLOAD, "REPLACE"), cmd("restore", "r4", 1, PAYLOAD, "absttl"),
        cmd("RESTORE", "r", 1, PAYLOAD, "ABSTTL", "REPLACE"), cmd("RESTORE", "r5", 0, PAYLOAD, "IDLETIME", 10),
        cmd("RESTORE", "r5", 0, PAYLOAD), cmd("RESTORE", "r6", 0, b"bad"),
        cmd("RESTORE-ASKING", "a1", 0, PAYLOAD), cmd("restore-asking", "a2", 100000, PAYLOAD),
        cmd("RESTORE-ASKING", "a1", 1, PAYLOAD, "ABSTTL", "REPLACE"),
    ],
    "lazy-expiry": [
        cmd("SET", "k", "v", "PX", 1), cmd("SET", "j", "v", "PX", 1), cmd("SET", "i", 5, "PX", 1),
        cmd("HSET", "h", "f", "v"), cmd("PEXPIRE", "h", 1), cmd("RPUSH", "l", "a"), cmd("PEXPIRE", "l", 1),
        cmd("SET", "m", "v", "PX", 1), cmd("SET", "n", "v", "PX", 1), cmd("SET", "o", "v", "PX", 1),
        cmd("SET", "p", "v", "PX", 1), cmd("SET", "q", "v", "PX", 1), cmd("SET", "t", "v", "PX", 1),
        cmd("SET", "u", "v", "PX", 1), cmd("SET", "dst", "v", "PX", 1), cmd("SET", "src", "v"),
        Sleep(0.05),
        cmd("SET", "k", "v2"), cmd("GET", "j"), cmd("INCR", "i"), cmd("HSET", "h", "g", "w"),
        cmd("LPUSH", "l", "b"), cmd("EXPIRE", "m", 100), cmd("DEL", "n"), cmd("EXISTS", "o"),
        cmd("KEYS", "*"), cmd("TTL", "p"), cmd("SET", "q", "v", "KEEPTTL"), cmd("MSET", "t", 1, "x", 2),
        cmd("RENAME", "src", "dst"), cmd("MULTI"), cmd("GET", "u"), cmd("SET", "y", 1), cmd("EXEC"),
    ],
    # TTLs of 10 ms, not 1: a loaded machine can stall a server for a millisecond inside
    # PEXPIRE, which then finds its own deadline passed and propagates a DEL instead
    "lazy-expiry-multi-key": [
        cmd("MSET", "a", 1, "b", 2, "c", 3), cmd("PEXPIRE", "a", 10), cmd("PEXPIRE", "b", 10),
        Sleep(0.05), cmd("MSET", "a", 1, "b", 2, "c", 4), cmd("PEXPIRE", "a", 10), cmd("PEXPIRE", "b", 10),
        Sleep(0.05), cmd("DEL", "a", "b", "c"), cmd("SADD", "s1", 1), cmd("SADD", "s2", 2),
        cmd("PEXPIRE", "s1", 10), Sleep(0.05), cmd("SUNIONSTORE", "d", "s1", "s2"),
    ],
    "lazy-expiry-reads": [
        *[cmd("SET", k, "v", "PX", 1) for k in ("a", "b", "c", "d", "e", "f", "g", "h")],
        cmd("SADD", "s", 1), cmd("PEXPIRE", "s", 1), Sleep(0.05),
        cmd("TYPE", "a"), cmd("TOUCH", "b", "zz"), cmd("OBJECT", "ENCODING", "c"), cmd("DUMP", "d"),
        cmd("STRLEN", "e"), cmd("SCARD", "s"), cmd("PTTL", "f"), cmd("MGET", "g", "h"), cmd("DBSIZE"),
    ],
    "lazy-expiry-other-db": [
        cmd("SELECT", 1), cmd("SET", "k", "old", "PX", 1), cmd("SET", "c", "old", "PX", 1), cmd("SELECT", 0),
        cmd("SET", "k", "v"), cmd("SET", "c", "v"), Sleep(0.05), cmd("MOVE", "k", 1),
        cmd("COPY", "c", "c", "DB", 1), cmd("SELECT", 1), cmd("GET", "k"),
    ],
    "lazyfree-options": [
        cmd("CONFIG", "SET", "lazyfree-lazy-user-del", "yes"), cmd("SET", "k", "v"), cmd("GETDEL", "k"),
        cmd("CONFIG", "SET", "lazyfree-lazy-expire", "yes"), cmd("SET", "k", "v"), cmd("EXPIRE", "k", -1),
        cmd("SET", "k", "v"), cmd("GETEX", "k", "PXAT", 1), cmd("SET", "k", "v", "PX", 1), Sleep(0.05),
        cmd("GET", "k"), cmd("SADD", "s", 1), cmd("SPOP", "s", 5), cmd("SET", "k", "v"), cmd("DEL", "k"),
        cmd("CONFIG", "SET", "lazyfree-lazy-user-del", "no"), cmd("CONFIG", "SET", "lazyfree-lazy-expire", "no"),
    ],
    "geo": [  # GEOADD is logged as the ZADD it ran; stores are logged as sent
        cmd("GEOADD", "g", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"),
        cmd("GEOADD", "g", "CH", "xx", 13.4, 38.1, "Palermo", 1, 2, "nope"),
        cmd("geoadd", "g", "NX", 13.4, 38.1, "Palermo"), cmd("GEOADD", "g", 200, 0, "bad"),
        cmd("GEORADIUS", "g", 15, 37, 200, "km"), cmd("GEORADIUS", "g", 15, 37, 200, "km", "STORE", "d1"),
        cmd("GEORADIUSBYMEMBER", "g", "Palermo", 300, "km", "STOREDIST", "d2", "ASC", "COUNT", 1),
        cmd("GEOSEARCHSTORE", "d3", "g", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km", "STOREDIST"),
        cmd("GEOSEARCHSTORE", "d3", "g", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "m"),
        cmd("GEOSEARCHSTORE", "d3", "g", "FROMLONLAT", 0, 0, "BYRADIUS", 1, "m"),
        cmd("GEORADIUS", "nokey", 0, 0, 1, "km", "STORE", "d1"), cmd("GEORADIUS", "nokey", 0, 0, 1, "km", "STORE", "d1"),
        cmd("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", 10, "km"),
        cmd("MULTI"), cmd("GEOADD", "g", 1, 1, "m1"), cmd("GEOADD", "g", "CH", 1, 1, "m1"), cmd("EXEC"),
    ],
    "no-change-no-log": [
        cmd("SET", "s", "v"), cmd("GET", "s"), cmd("SADD", "set", "a"), cmd("SADD", "set", "a"),
        cmd("SREM", "set", "z"), cmd("HSET", "h", "f", "v"), cmd("HSET", "h", "f", "v"), cmd("HSETNX", "h", "f", "w"),
        cmd("HDEL", "h", "z"), cmd("LPUSHX", "nol", "a"), cmd("LREM", "nol", 0, "a"), cmd("LTRIM", "nol", 0, 1),
        cmd("RPUSH", "l", "a"), cmd("LTRIM", "l", 0, -1), cmd("LINSERT", "l", "BEFORE", "z", "y"),
        cmd("ZADD", "z", "XX", 1, "a"), cmd("ZREM", "z", "a"), cmd("ZREMRANGEBYSCORE", "z", 0, 1),
        cmd("SETRANGE", "s", 0, ""), cmd("SETRANGE", "n", 0, ""), cmd("APPEND", "s", ""), cmd("SETBIT", "b", 0, 0),
        cmd("SETBIT", "b", 0, 0), cmd("BITOP", "AND", "dest", "nokey"), cmd("SINTERSTORE", "dest", "nokey"),
        cmd("ZUNIONSTORE", "dz", 1, "nokey"), cmd("LSET", "nol", 0, "x"), cmd("PERSIST", "s"), cmd("SET", "s", "v", "XX"),
        cmd("INCR", "s"), cmd("SET", "s", 1), cmd("INCRBY", "s", 0), cmd("DECRBY", "s", 0),
        cmd("MOVE", "nokey", 1), cmd("RENAME", "s", "s"), cmd("RENAMENX", "s", "s"), cmd("SMOVE", "set", "set", "a"),
    ],
    "sort-store": [  # SORT ... STORE is logged as sent (a set's order is forced to ALPHA)
        cmd("RPUSH", "l", 3, 1, 2), cmd("SORT", "l", "STORE", "d"), cmd("SORT", "l"), cmd("SORT_RO", "l"),
        cmd("SORT", "l", "LIMIT", 5, 1, "STORE", "d"), cmd("SORT", "l", "LIMIT", 5, 1, "STORE", "d"),
        cmd("SADD", "s", "c", "a", "b"), cmd("sort", "s", "by", "nosort", "store", "d2"),
        cmd("SORT", "l", "BY", "nosort", "STORE", "l"), cmd("SORT", "s", "GET", "#", "GET", "w_*", "STORE", "d2"),
        cmd("SET", "w_1", 5, "PX", 1), cmd("SET", "d3", "v", "PX", 1), Sleep(0.05), cmd("SORT", "l", "BY", "w_*"),
        cmd("SORT", "nokey", "STORE", "d3"), cmd("MULTI"), cmd("SORT", "l", "DESC", "STORE", "d"), cmd("EXEC"),
        cmd("EVAL", "return redis.call('sort', KEYS[1], 'by', 'x', 'store', KEYS[2])", 2, "s", "d4"),
    ],
    "bitfield": [  # logged as sent when something changed (or the string grew); reads, no-ops, FAILs not
        cmd("BITFIELD", "b", "SET", "u8", 0, 5), cmd("BITFIELD", "b", "SET", "u8", 0, 5),
        cmd("BITFIELD", "b", "GET", "u8", 0), cmd("BITFIELD", "b"), cmd("BITFIELD_RO", "b", "GET", "i4", 0),
        cmd("BITFIELD", "b", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 300), cmd("BITFIELD", "b", "INCRBY", "u8", 0, 0),
        cmd("BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u8", 16, 999), cmd("BITFIELD", "b", "SET", "u8", 24, 0),
        cmd("bitfield", "b", "incrby", "i8", "#0", 1, "GET", "u8", 0, "OVERFLOW", "SAT", "INCRBY", "u4", 0, 99),
        cmd("BITFIELD", "b", "SET", "u8", 0, "x"), cmd("BITFIELD_RO", "b", "SET", "u8", 0, 1),
        cmd("MULTI"), cmd("BITFIELD", "b", "SET", "u8", 0, 1), cmd("BITFIELD", "b", "GET", "u8", 0), cmd("EXEC"),
        cmd("SET", "s", "12345"), cmd("BITFIELD", "s", "SET", "u8", 0, 49),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(real: RealSide, name: str) -> None:
    real_ops, our_ops = run_steps(real, SCENARIOS[name])
    assert real_ops or name == "none"
    assert_same_log(real_ops, our_ops)


BLOCKED: dict[str, list[Step]] = {
    "blpop-served": [Send(1, cmd("BLPOP", "l", 0)), cmd("RPUSH", "l", "a", "b"), Recv(1)],
    "brpop-served-second-key": [Send(1, cmd("brpop", "x", "l", 0)), cmd("LPUSH", "l", "a"), Recv(1)],
    "blmpop-served-count": [Send(1, cmd("BLMPOP", 0, 2, "x", "l", "RIGHT", "COUNT", 5)),
                            cmd("RPUSH", "l", "a", "b", "c"), Recv(1)],
    "blmpop-served-nocount": [Send(1, cmd("BLMPOP", 0, 1, "l", "LEFT")), cmd("RPUSH", "l", "a", "b"), Recv(1)],
    "blmove-served": [Send(1, cmd("BLMOVE", "src", "dst", "LEFT", "RIGHT", 0)), cmd("RPUSH", "src", "a"), Recv(1)],
    "brpoplpush-served": [Send(1, cmd("BRPOPLPUSH", "src", "dst", 0)), cmd("RPUSH", "src", "a", "b"), Recv(1)],
    "blmove-chain": [Send(1, cmd("BLMOVE", "a", "b", "RIGHT", "LEFT", 0)), Send(2, cmd("BLPOP", "b", 0)),
                     cmd("LPUSH", "a", "x"), Recv(1), Recv(2)],
    "two-waiters": [Send(1, cmd("BLPOP", "l", 0)), Send(2, cmd("BRPOP", "l", 0)),
                    cmd("RPUSH", "l", "a", "b", "c"), Recv(1), Recv(2)],
    "served-after-exec": [Send(1, cmd("BLPOP", "l", 0)), cmd("MULTI"), cmd("RPUSH", "l", "a"),
                          cmd("SET", "k", "v"), cmd("EXEC"), Recv(1)],
    "bzpopmin-served": [Send(1, cmd("BZPOPMIN", "z", 0)), cmd("ZADD", "z", 1, "a", 2, "b"), Recv(1)],
    "bzpopmax-served": [Send(1, cmd("bzpopmax", "y", "z", 0)), cmd("ZADD", "z", 1, "a", 2, "b"), Recv(1)],
    "bzmpop-served-count": [Send(1, cmd("BZMPOP", 0, 1, "z", "MAX", "COUNT", 10)),
                            cmd("ZADD", "z", 1, "a", 2, "b"), Recv(1)],
    "bzmpop-served-nocount": [Send(1, cmd("BZMPOP", 0, 1, "z", "MIN")), cmd("ZADD", "z", 1, "a", 2, "b"), Recv(1)],
    "blmove-served-wrongtype-dst": [cmd("SET", "dst", "x"), Send(1, cmd("BLMOVE", "src", "dst", "LEFT", "RIGHT", 0)),
                                    cmd("RPUSH", "src", "a"), Recv(1), cmd("LPOP", "src")],
    "blpop-ready-key-expired": [Send(1, cmd("BLPOP", "l", 0)), cmd("MULTI"), cmd("RPUSH", "l", "a"),
                                cmd("PEXPIRE", "l", 1), cmd("DEBUG", "SLEEP", "0.01"), cmd("EXEC"),
                                cmd("RPUSH", "l", "b"), Recv(1)],
    "blpop-served-by-sort-store": [cmd("RPUSH", "l", "b", "a"), Send(1, cmd("BLPOP", "dst", 0)),
                                   cmd("SORT", "l", "ALPHA", "STORE", "dst"), Recv(1)],
    "blpop-in-other-db": [(1, cmd("SELECT", 3)), Send(1, cmd("BLPOP", "l", 0)), cmd("SELECT", 3),
                          cmd("RPUSH", "l", "a"), Recv(1)],
}


@pytest.mark.parametrize("name", list(BLOCKED))
def test_blocked_clients_served_later(real: RealSide, name: str) -> None:
    real_ops, our_ops = run_steps(real, BLOCKED[name])
    assert_same_log(real_ops, our_ops)


def test_random_members_logged_as_they_were_popped(real: RealSide) -> None:
    """SPOP picks at random on both sides: the shape must match (one SREM per popped
    member, in a MULTI/EXEC when more than one) and our SREMs name what we popped."""
    ours = OurSide(1)
    members = [b"%d" % i for i in range(1, 11)] + [b"m%d" % i for i in range(10)]
    for count in (1, 3, 15, 19):
        steps = [cmd("SADD", "s", *members), cmd("SPOP", "s", count)]
        real_ops, _ = run_steps(real, steps)
        ours = OurSide(1)
        ours.run(0, cmd("SADD", "s", *members))
        reply = ours.run(0, cmd("SPOP", "s", count))
        assert reply is not None
        our_ops = ours.ops()
        for ops in (real_ops, our_ops):
            body = ops[1:]
            if count > 1:
                assert body[0][1] == [b"MULTI"] and body[-1][1] == [b"EXEC"]
                body = body[1:-1]
            assert len(body) == count and all(op[1][:2] == [b"SREM", b"s"] for op in body)
        popped = sorted(op[1][2] for op in our_ops[1:] if op[1][0] == b"SREM")
        assert popped == sorted(reply.split(b"\r\n")[2::2][:count])


def test_scan_and_randomkey_expire_without_a_transaction(real: RealSide) -> None:
    """CMD_TOUCHES_ARBITRARY_KEYS: the DELs of keys SCAN/RANDOMKEY found expired are not
    wrapped when the command runs directly, and are when it runs inside MULTI."""
    setup = [cmd("SET", "a", 1, "PX", 1), cmd("SET", "b", 1, "PX", 1), cmd("SET", "c", 1, "PX", 1), Sleep(0.05)]
    for tail in ([cmd("SCAN", 0, "COUNT", 100)], [cmd("RANDOMKEY")],
                 [cmd("MULTI"), cmd("SCAN", 0, "COUNT", 100), cmd("EXEC")]):
        real_ops, our_ops = run_steps(real, setup + tail)
        assert_same_log(real_ops, our_ops, unordered=True)
        dels = [op for op in real_ops if op[1][0] == b"DEL"]
        assert len(dels) == 3
        assert (real_ops[3][1] == [b"MULTI"]) == (tail[0] == [b"MULTI"])


def test_active_expiry_logs_unwrapped_dels(real: RealSide) -> None:
    keys = [b"e%d" % i for i in range(5)]
    steps: list[Step] = [cmd("SET", k, "v", "PX", 1) for k in keys] + [cmd("SET", "keep", "v", "EX", 100)]
    ours = OurSide(1)
    real.begin(1)
    try:
        for argv in steps:
            real.send(0, argv)
            real.recv(0)
            ours.run(0, argv)
        time.sleep(0.05)
        real.admin.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        deadline = time.time() + 10
        while real.admin.dbsize() > 1 and time.time() < deadline:
            time.sleep(0.05)
        real.admin.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        active_expire_cycle(ours.srv.keyspace, 10)
        ours.srv.propagator.flush()  # what the cron does after the cycle: nothing left
        real_ops, our_ops = real.ops(), ours.ops()
    finally:
        real.close()
    assert_same_log(real_ops, our_ops, unordered=True)
    assert [op for op in our_ops if op[1][0] in (b"MULTI", b"EXEC")] == []
    assert [op[1][0] for op in our_ops[len(steps):]] == [b"DEL"] * len(keys)


def test_nothing_collected_without_a_target() -> None:
    srv = Server(Config())
    c = Client(srv)
    for argv in (cmd("SET", "k", "v", "EX", 100), cmd("SPOP", "nokey"), cmd("SADD", "s", "a"), cmd("SPOP", "s"),
                 cmd("FLUSHDB"), cmd("RPUSH", "l", "a"), cmd("LMPOP", 1, "l", "LEFT")):
        execute(c, argv)
        assert c.rewritten is None and srv.propagator.ops == []


def test_save_is_not_propagated(tmp_path: Path) -> None:
    """SAVE resets ``dirty``: a decrease is not a change (call() clamps it at 0)."""
    ours = OurSide(1)
    ours.srv.config.dir = str(tmp_path)  # type: ignore[attr-defined]
    ours.run(0, cmd("SET", "k", "v"))
    ours.run(0, cmd("SAVE"))
    assert [op[1][0] for op in ours.ops()] == [b"SET"]


# -- random sequences ---------------------------------------------------------------------------

def _c(name: str, *parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.tuples(st.just(name.encode()), *parts).map(list)


_future_s = st.integers(100, 10**6).map(lambda d: b"%d" % (NOW_S + d))
_future_ms = st.integers(100_000, 10**9).map(lambda d: b"%d" % (NOW_MS + d))
_past = st.sampled_from([b"1", b"1000", b"%d" % (NOW_S - 10)])
_ttl = st.sampled_from([b"100", b"1000", b"-1", b"0", b"x"])
_dir = st.sampled_from([b"LEFT", b"RIGHT", b"left", b"right"])
_count = st.sampled_from([b"1", b"2", b"5"])

EXPIRY_CMDS = st.one_of(
    _c("SET", key, member, st.sampled_from([b"EX", b"PX", b"ex"]), _ttl),
    _c("SET", key, member, st.sampled_from([b"EXAT"]), _future_s),
    _c("SET", key, member, st.sampled_from([b"PXAT"]), _future_ms),
    _c("SET", key, member, st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL"]),
       st.sampled_from([b"EX", b"GET"]), st.just(b"100")),
    _c("SETEX", key, _ttl, member), _c("PSETEX", key, st.sampled_from([b"100000", b"0"]), member),
    _c("GETEX", key, st.sampled_from([b"EX", b"PX"]), st.sampled_from([b"100", b"100000"])),
    _c("GETEX", key, st.sampled_from([b"EXAT", b"PXAT"]), st.one_of(_past, _future_s)),
    _c("GETEX", key, st.just(b"PERSIST")),
    _c("EXPIRE", key, _ttl), _c("PEXPIRE", key, st.sampled_from([b"100000", b"-5"])),
    _c("EXPIREAT", key, st.one_of(_past, _future_s)), _c("PEXPIREAT", key, st.one_of(_past, _future_ms)),
    _c("EXPIRE", key, st.just(b"500"), st.sampled_from([b"NX", b"XX"])),
    _c("PEXPIREAT", key, st.sampled_from([b"%d" % (NOW_MS + 10**7), b"%d" % (NOW_MS + 10**8)]),
       st.sampled_from([b"GT", b"LT", b"gt"])),
    _c("HINCRBYFLOAT", key, member, st.sampled_from([b"1.5", b"-2", b"1e2"])),
    _c("INCRBYFLOAT", key, st.sampled_from([b"0.1", b"3", b"-1.5e2"])),
    _c("LMPOP", st.just(b"2"), key, key, _dir, st.just(b"COUNT"), _count),
    _c("BLMPOP", st.just(b"0.01"), st.just(b"1"), key, _dir, st.just(b"COUNT"), _count),
    _c("ZMPOP", st.just(b"1"), key, st.sampled_from([b"MIN", b"MAX"]), st.just(b"COUNT"), _count),
    _c("BZMPOP", st.just(b"0.01"), st.just(b"2"), key, key, st.sampled_from([b"MIN", b"max"])),
    _c("BZPOPMIN", key, st.just(b"0.01")), _c("BZPOPMAX", key, key, st.just(b"0.01")),
    _c("BLMOVE", key, key, _dir, _dir, st.just(b"0.01")), _c("BRPOPLPUSH", key, key, st.just(b"0.01")),
    _c("GETDEL", key), _c("GETSET", key, member), _c("SELECT", st.sampled_from([b"0", b"1"])),
    _c("FLUSHDB"), _c("SPOP", key, st.just(b"1000")),
    _c("RESTORE", key, st.sampled_from([b"0", b"100000"]), st.just(PAYLOAD), st.sampled_from([b"REPLACE"])),
)


def _deterministic(argv: list[bytes]) -> bool:
    """SPOP picks members at random (it is checked on its own above), unless it pops all;
    a relative EXPIRE with GT/LT against an equally relative one depends on whether the
    clock ticked between the two (on each server)."""
    name = argv[0].upper()
    if name == b"SPOP":
        return argv[-1] == b"1000"
    if name in (b"EXPIRE", b"PEXPIRE") and len(argv) > 3:
        return argv[3].upper() not in (b"GT", b"LT")
    return True


ANY_CMD = st.one_of(STRING_CMDS, LIST_CMDS, HASH_CMDS, SET_CMDS, ZSET_CMDS, KEY_CMDS, EXPIRY_CMDS,
                    EXPIRY_CMDS).filter(_deterministic)
TRANSACTION = st.lists(ANY_CMD, min_size=1, max_size=4).map(lambda cs: [[b"MULTI"], *cs, [b"EXEC"]])
SEQUENCE = st.lists(st.one_of(ANY_CMD.map(lambda c: [c]), TRANSACTION), min_size=1, max_size=25).map(
    lambda groups: [c for g in groups for c in g])


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(SEQUENCE)
def test_random_write_sequences(real: RealSide, seq: list[list[bytes]]) -> None:
    real_ops, our_ops = run_steps(real, list(seq), nclients=1)
    assert_same_log(real_ops, our_ops)
