"""COPY of every type and encoding against a real redis-server 7.0.

Each source is built by the same commands on both servers, copied (same db,
``DB``, ``REPLACE``), and the copy must hold what the source holds: the same
DEBUG DIGEST-VALUE on both servers, the same OBJECT ENCODING, the same stored
bytes for strings (HyperLogLog included) and the same XINFO STREAM FULL as the
source for streams (groups, consumers, PEL entries with their delivery times
and counts, as ``streamDup`` copies them). Then the copy is changed and the
source must not be (no shared state).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.engine.differential import run
from tests.engine.test_streams import check

pytestmark = pytest.mark.differential

Pair = tuple[redis.Redis, redis.Redis]

SETUP: dict[str, list[list[Any]]] = {
    "str:int": [["SET", "str:int", "12345"]],
    "str:embstr": [["SET", "str:embstr", "hello"]],
    "str:raw": [["SET", "str:raw", "x" * 100]],
    "str:appended": [["SET", "str:appended", "ab"], ["APPEND", "str:appended", "cd"]],
    "hll:sparse": [["PFADD", "hll:sparse", *[f"e{i}" for i in range(50)]]],
    "hll:dense": [["PFADD", "hll:dense", *[f"e{i}" for i in range(3000)]]],
    "list:small": [["RPUSH", "list:small", "a", "1", "b"]],
    "list:big": [["RPUSH", "list:big", *[f"item-{i}" * 3 for i in range(400)]]],
    "set:intset": [["SADD", "set:intset", "3", "1", "2", "-7"]],
    "set:hashtable": [["SADD", "set:hashtable", "a", "b", "c", "1"]],
    "hash:listpack": [["HSET", "hash:listpack", "f", "v", "g", "1"]],
    "hash:hashtable": [["HSET", "hash:hashtable", *[x for i in range(600) for x in (f"f{i}", f"v{i}")]]],
    "zset:listpack": [["ZADD", "zset:listpack", "1.5", "a", "2", "b", "-inf", "c"]],
    "zset:skiplist": [["ZADD", "zset:skiplist", *[x for i in range(200) for x in (str(i / 3), f"m{i}")]]],
    "stream:plain": [["XADD", "stream:plain", f"1-{i}", "f", f"v{i}"] for i in range(1, 6)]
    + [["XDEL", "stream:plain", "1-2"]],
    "stream:groups": [
        *[["XADD", "stream:groups", f"{i}-1", "a", str(i), "b", "x"] for i in range(1, 250)],
        ["XADD", "stream:groups", "300-1", "other", "fields"],
        ["XDEL", "stream:groups", "5-1", "249-1"],
        ["XGROUP", "CREATE", "stream:groups", "g1", "0"],
        ["XGROUP", "CREATE", "stream:groups", "g2", "100-1", "ENTRIESREAD", "50"],
        ["XGROUP", "CREATECONSUMER", "stream:groups", "g1", "idle-one"],
        ["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "stream:groups", ">"],
        ["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "stream:groups", ">"],
        ["XREADGROUP", "GROUP", "g2", "carol", "COUNT", "4", "STREAMS", "stream:groups", ">"],
        ["XACK", "stream:groups", "g1", "2-1"],
        ["XCLAIM", "stream:groups", "g1", "bob", "0", "3-1", "RETRYCOUNT", "7"],
    ],
    "stream:empty": [["XADD", "stream:empty", "5-5", "f", "v"], ["XDEL", "stream:empty", "5-5"],
                     ["XGROUP", "CREATE", "stream:empty", "g", "$"]],
}

# a change to the copy; the source must be unaffected
MUTATE: dict[str, list[list[Any]]] = {
    "str": [["APPEND", "{k}", "zz"]],
    "hll": [["PFADD", "{k}", *[f"new{i}" for i in range(20)]]],
    "list": [["LPUSH", "{k}", "new"], ["RPOP", "{k}"]],
    "set": [["SADD", "{k}", "new"], ["SREM", "{k}", "1"]],
    "hash": [["HSET", "{k}", "f", "changed"], ["HDEL", "{k}", "g"]],
    "zset": [["ZADD", "{k}", "9", "a"], ["ZREM", "{k}", "b"]],
    "stream": [["XADD", "{k}", "999-1", "n", "1"], ["XTRIM", "{k}", "MAXLEN", "1"],
               ["XGROUP", "CREATE", "{k}", "g9", "0"], ["XACK", "{k}", "g1", "1-1", "3-1", "4-1"],
               ["XGROUP", "DELCONSUMER", "{k}", "g1", "alice"], ["XGROUP", "SETID", "{k}", "g2", "0"]],
}


def _snapshot(r: redis.Redis, kind: str, k: str) -> tuple[Any, ...]:
    """What the value at ``k`` is, as seen through commands that do not change it."""
    out: list[Any] = [run(r, ["DEBUG", "DIGEST-VALUE", k]), run(r, ["OBJECT", "ENCODING", k]), run(r, ["TYPE", k])]
    if kind.startswith(("str", "hll")):
        out.append(run(r, ["GET", k]))
    if kind.startswith("stream"):
        out.append(run(r, ["XINFO", "STREAM", k, "FULL"]))
    return tuple(out)


@pytest.mark.parametrize("key", list(SETUP))
def test_copy_matches_real(pair: Pair, key: str) -> None:
    for r in pair:
        for argv in SETUP[key]:
            assert run(r, argv)[0] == "ok", argv
    for r in pair:
        src = _snapshot(r, key, key)
        assert run(r, ["COPY", key, key + ":c"]) == ("ok", 1)
        assert _snapshot(r, key, key + ":c") == src
        run(r, ["SET", "occupied", "x"])
        assert run(r, ["COPY", key, "occupied"]) == ("ok", 0)
        assert run(r, ["COPY", key, "occupied", "REPLACE"]) == ("ok", 1)
        assert _snapshot(r, key, "occupied") == src
        assert run(r, ["COPY", key, key, "DB", "1"]) == ("ok", 1)
        r.execute_command("SELECT", 1)
        try:
            assert _snapshot(r, key, key) == src
        finally:
            r.execute_command("SELECT", 0)
    # the copies compare equal across servers (digests; XINFO with clock values masked)
    cmds = [["DEBUG", "DIGEST-VALUE", key, key + ":c", "occupied"], ["OBJECT", "ENCODING", key + ":c"]]
    if key.startswith("stream"):
        cmds.append(["XINFO", "STREAM", key + ":c", "FULL"])
    check(pair, *cmds)
    # changing a copy leaves the source as it was
    for r in pair:
        src = _snapshot(r, key, key)
        for argv in MUTATE[key.split(":")[0]]:
            run(r, [a.replace("{k}", key + ":c") if isinstance(a, str) else a for a in argv])
        assert _snapshot(r, key, key) == src
        assert _snapshot(r, key, key + ":c") != src
    check(pair, ["DEBUG", "DIGEST-VALUE", key + ":c"])
