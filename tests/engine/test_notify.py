"""Keyspace notifications against real Redis 7.0: the same commands go to both servers
while a client subscribed to ``__key*__:*`` listens; the messages it receives, in
order, must be the same (event names, channels, keys, and which commands fire none).
CONFIG SET/GET of ``notify-keyspace-events`` is compared the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc
from tests.engine.test_pubsub import Raw

# One sequence per family; each starts from an empty database 9 (db 0 is MOVE/COPY's target).
FAMILIES: dict[str, list[tuple[bytes | str | int, ...]]] = {
    "strings": [
        ("set", "s", "1"), ("set", "s", "2", "ex", 100), ("set", "s", "3", "keepttl"), ("set", "s", "4", "get"),
        ("set", "s", "5", "nx"), ("set", "t", "1", "xx"), ("setnx", "s", "1"), ("setnx", "n", "1"),
        ("setex", "s", 100, "v"), ("psetex", "p", 100000, "v"), ("getex", "s", "ex", 50), ("getex", "s", "persist"),
        ("getex", "s"), ("getex", "s", "px", 0), ("getex", "zz", "ex", 5), ("getdel", "n"), ("getdel", "n"),
        ("getset", "g", "1"), ("mset", "a", "1", "b", "2"), ("msetnx", "a", "1", "c", "2"),
        ("msetnx", "c", "1", "d", "2"), ("incr", "i"), ("decrby", "i", 5), ("incrby", "i", 2), ("decr", "i"),
        ("incrbyfloat", "f", "1.5"), ("append", "ap", "x"), ("append", "ap", "y"), ("setrange", "sr", 2, "ab"),
        ("setrange", "sr2", 0, ""), ("setrange", "sr", 0, ""), ("incr", "a"), ("set", "x", "1", "pxat", 1),
        ("get", "nokey"), ("strlen", "a"),
    ],
    "keys": [
        ("set", "k1", "v"), ("set", "k2", "v"), ("del", "k1", "k2", "k3"), ("set", "k", "v"), ("unlink", "k"),
        ("set", "e", "v"), ("expire", "e", 100), ("pexpire", "e", 100000), ("expireat", "e", 4000000000),
        ("pexpireat", "e", 4000000000000), ("expire", "e", 100, "nx"), ("ttl", "e"), ("persist", "e"),
        ("persist", "e"), ("expire", "e", -1), ("set", "e", "v"), ("pexpireat", "e", 1), ("expire", "nokey", 10),
        ("set", "r", "v"), ("rename", "r", "r2"), ("rename", "r2", "r2"), ("set", "r", "v"), ("renamenx", "r", "r2"),
        ("renamenx", "r", "r3"), ("move", "r3", 0), ("set", "c", "v"), ("copy", "c", "c2"), ("copy", "c", "c3", "db", 0),
        ("copy", "c", "c2"), ("copy", "c", "c2", "replace"), ("touch", "c"), ("type", "c"), ("exists", "c"),
        ("lpush", "l", "3", "1", "2"), ("sort", "l", "store", "sorted"), ("sort", "nokey", "store", "sorted"),
        ("sort", "l"), ("del", "l", "c", "c2", "e"), ("swapdb", 9, 8), ("swapdb", 9, 8),
    ],
    "lists": [
        ("lpush", "l", "a", "b"), ("rpush", "l", "c"), ("lpushx", "l", "d"), ("rpushx", "l", "e"), ("lpushx", "no", "x"),
        ("linsert", "l", "before", "a", "z"), ("linsert", "l", "after", "missing", "z"), ("lset", "l", 0, "q"),
        ("lpop", "l"), ("rpop", "l", 2), ("lrem", "l", 0, "z"), ("lrem", "l", 0, "nope"), ("ltrim", "l", 0, 0),
        ("rpush", "l", "1", "2", "3"), ("rpoplpush", "l", "l2"), ("lmove", "l", "l2", "left", "right"),
        ("lmove", "l2", "l2", "right", "left"), ("lmpop", 2, "x", "l", "left", "count", 5), ("lpop", "l2"),
        ("blpop", "l2", 1), ("brpoplpush", "nokey", "l3", "0.01"), ("ltrim", "nokey", 0, 1), ("rpush", "m", "1"),
        ("ltrim", "m", 5, 10), ("rpush", "m", "1"), ("rpop", "m"), ("lpop", "m"),
    ],
    "hashes": [
        ("hset", "h", "a", "1", "b", "2"), ("hset", "h", "a", "7"), ("hset", "h2", "a", "1"), ("hmset", "h", "c", "3"), ("hsetnx", "h", "a", "9"), ("hsetnx", "h", "z", "9"),
        ("hincrby", "h", "a", 5), ("hincrbyfloat", "h", "b", "0.5"), ("hdel", "h", "nope"), ("hdel", "h", "a", "b"),
        ("hdel", "h", "c", "z"), ("hget", "h", "a"),
    ],
    "sets": [
        ("sadd", "s", "a", "b", "c"), ("sadd", "s", "a"), ("srem", "s", "x"), ("srem", "s", "a"),
        ("sadd", "t", "b", "x"), ("smove", "s", "t", "b"), ("smove", "s", "t", "nope"), ("smove", "s", "s", "c"),
        ("sinterstore", "d", "s", "t"), ("sunionstore", "d", "s", "t"), ("sdiffstore", "d", "s", "t"),
        ("sdiffstore", "d", "s", "s"), ("sinterstore", "d", "s", "nokey"), ("sadd", "p", "1", "2", "3"),
        ("spop", "p"), ("spop", "p", 1), ("spop", "p", 5), ("spop", "p"), ("srandmember", "s"), ("smove", "s", "q", "c"),
    ],
    "zsets": [
        ("zadd", "z", 1, "a", 2, "b", 3, "c"), ("zadd", "z", 1, "a"), ("zadd", "z", "incr", 1, "a"),
        ("zincrby", "z", 2, "b"), ("zadd", "z", "nx", 5, "a"), ("zrem", "z", "x"), ("zrem", "z", "a"),
        ("zadd", "z", 1, "d", 2, "e", 3, "f", 4, "g"), ("zremrangebyscore", "z", 0, 1), ("zremrangebyrank", "z", 0, 0),
        ("zremrangebylex", "z", "-", "+"), ("zadd", "z", 1, "a", 2, "b", 3, "c", 4, "d"), ("zpopmin", "z"),
        ("zpopmax", "z", 2), ("zmpop", 1, "z", "min"), ("zadd", "y", 1, "q"), ("zunionstore", "u", 2, "z", "y"),
        ("zinterstore", "u", 2, "z", "y"), ("zdiffstore", "u", 1, "y"), ("zrangestore", "u", "y", 0, -1),
        ("zrangestore", "u", "y", 5, 9), ("bzpopmin", "y", 1), ("zadd", "z2", 1, "a"), ("zrem", "z2", "a"),
    ],
    "streams": [
        ("xgroup", "create", "st", "g", "$", "mkstream"), ("xgroup", "createconsumer", "st", "g", "bob"),
        ("xadd", "st", "1-1", "f", "v"), ("xadd", "st", "2-1", "f", "v"), ("xreadgroup", "group", "g", "alice",
                                                                            "streams", "st", ">"),
        ("xclaim", "st", "g", "mike", 0, "1-1", "force"), ("xgroup", "delconsumer", "st", "g", "lee"),
        ("xautoclaim", "st", "g", "bob", 0, "1-1"), ("xgroup", "delconsumer", "st", "g", "bob"),
        ("xgroup", "setid", "st", "g", "0"), ("xdel", "st", "1-1"), ("xdel", "st", "9-9"), ("xtrim", "st", "maxlen", 0),
        ("xsetid", "st", "5-5"), ("xgroup", "destroy", "st", "g"), ("xadd", "no", "nomkstream", "*", "f", "v"),
        ("xadd", "st", "maxlen", 0, "*", "f", "v"), ("xack", "st", "g", "1-1"),
    ],
    "other": [
        ("geoadd", "geo", 13.36, 38.11, "a", 15.08, 37.50, "b"), ("geoadd", "geo", "nx", 13.36, 38.11, "a"),
        ("geosearchstore", "gs", "geo", "fromlonlat", 15, 37, "byradius", 200, "km", "asc"),
        ("georadius", "geo", 15, 37, 200, "km", "store", "gr"), ("georadius", "geo", 15, 37, 1, "km", "store", "gr"),
        ("setbit", "b", 7, 1), ("setbit", "b", 7, 1), ("bitfield", "bf", "set", "u8", 0, 1, "get", "u8", 0),
        ("bitfield", "bf", "get", "u8", 0), ("bitop", "or", "bo", "b", "bf"), ("bitop", "and", "bo", "nokey"),
        ("pfadd", "hll", "a"), ("pfadd", "hll", "a"), ("pfadd", "hll2"), ("pfcount", "hll"),
        ("pfmerge", "hm", "hll", "hll2"), ("set", "ex", "v", "px", 1), ("debug", "sleep", "0.01"), ("get", "ex"),
        ("set", "ex2", "v", "px", 1), ("debug", "sleep", "0.01"), ("exists", "ex2"),
    ],
}


def _messages(raw: bytes) -> list[object]:
    p = ReplyParser()
    p.feed(raw)
    out = []
    while (r := p.gets()) is not NEED_DATA:
        out.append(r)
    return out


def _run(srv: ServerProc, flags: str, seq: list[tuple[bytes | str | int, ...]], resp: int = 2) -> list[object]:
    """The messages a ``__key*__:*`` subscriber receives while ``seq`` runs in db 9."""
    cmd = srv.client(socket_timeout=10, db=9)
    cmd.flushall()
    cmd.config_set("notify-keyspace-events", flags)
    sub = Raw(srv.port)
    try:
        if resp == 3:
            sub.send("hello", 3)
            sub.read()
        sub.send("psubscribe", "__key*__:*")
        assert sub.read()
        for argv in seq:
            try:
                cmd.execute_command(*argv)
            except redis.ResponseError:
                pass
        return _messages(sub.read(0.2))
    finally:
        sub.close()
        cmd.config_set("notify-keyspace-events", "")
        cmd.close()


def _same(ours: ServerProc, real: ServerProc, flags: str, seq: list[tuple[bytes | str | int, ...]],
          resp: int = 2) -> None:
    got, want = _run(ours, flags, seq, resp), _run(real, flags, seq, resp)
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        assert g == w, f"message {i}: ours {g!r} real {w!r}\nreal before: {want[max(0, i - 3):i]!r}"
    assert len(got) == len(want), f"ours {got[len(want):]!r} real {want[len(got):]!r}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_events_per_family(ours: ServerProc, real: ServerProc, family: str) -> None:
    _same(ours, real, "KEA", FAMILIES[family])


def test_new_and_keymiss_events(ours: ServerProc, real: ServerProc) -> None:
    seq = [a for fam in ("strings", "keys", "lists", "hashes") for a in FAMILIES[fam]]
    _same(ours, real, "Enm", seq)


def test_resp3_pushes_and_class_masks(ours: ServerProc, real: ServerProc) -> None:
    _same(ours, real, "Kl$", FAMILIES["strings"] + FAMILIES["lists"], resp=3)


@pytest.fixture
def both(ours: ServerProc, real: ServerProc) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    a, b = ours.client(socket_timeout=10), real.client(socket_timeout=10)
    yield a, b
    for x in (a, b):
        x.config_set("notify-keyspace-events", "")
        x.close()


@pytest.mark.parametrize("flags", ["", "gKE", "$lshzxeKE", "KA", "EA", "AKEm", "An", "A$", "nK", "KEg$lshzxetdnm",
                                   "m", "Kx", "ABC", "k", " ", "K E"])
def test_config_get_set(both: tuple[redis.Redis, redis.Redis], flags: str) -> None:
    replies = []
    for x in both:
        try:
            x.config_set("notify-keyspace-events", flags)
            replies.append(x.config_get("notify-keyspace-events"))
        except redis.ResponseError as e:
            replies.append(str(e))
    assert replies[0] == replies[1]


def test_flags_survive_config_rewrite_shape(ours: ServerProc) -> None:
    """A start-up directive is parsed as CONFIG SET parses it."""
    x = ours.client()
    try:
        x.config_set("notify-keyspace-events", "Elg")
        assert x.config_get("notify-keyspace-events") == {"notify-keyspace-events": "glE"}
    finally:
        x.config_set("notify-keyspace-events", "")
        x.close()


def test_nothing_sent_when_off(ours: ServerProc) -> None:
    assert _run(ours, "", FAMILIES["strings"] + FAMILIES["keys"]) == []
    assert _run(ours, "KE", FAMILIES["strings"]) == []  # channel kinds but no class
