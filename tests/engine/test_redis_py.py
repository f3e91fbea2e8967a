"""redis-py's ordinary high-level use against our server."""

from __future__ import annotations

import redis

from tests.engine.conftest import ServerProc


def test_high_level_api(ours: ServerProc) -> None:
    r = ours.client(decode_responses=True)
    r.flushall()
    assert r.set("user:1", "alice", ex=60) is True
    assert r.get("user:1") == "alice" and 0 < r.ttl("user:1") <= 60
    assert r.mset({"a": 1, "b": 2}) and r.mget("a", "b", "zz") == ["1", "2", None]
    assert r.incrby("a", 5) == 6 and r.incrbyfloat("a", 0.5) == 6.5
    r.hset("h", mapping={"name": "x", "n": 1})
    assert r.hgetall("h") == {"name": "x", "n": "1"} and r.hincrby("h", "n", 2) == 3
    r.rpush("l", *range(10))
    assert r.lrange("l", 0, 2) == ["0", "1", "2"] and r.llen("l") == 10
    assert r.lpop("l", 2) == ["0", "1"]
    r.sadd("s", "x", "y")
    assert r.smembers("s") == {"x", "y"} and r.sismember("s", "x")
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert r.zrangebyscore("z", "(1", "+inf") == ["b", "c"] and r.zrank("z", "c") == 2
    assert sorted(r.scan_iter(match="*")) == sorted(["user:1", "a", "b", "h", "l", "s", "z"])
    assert sorted(r.zscan_iter("z")) == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    assert r.type("z") == "zset" and r.exists("a", "b", "nope") == 2
    assert r.object("encoding", "l") == "quicklist"
    with r.pipeline(transaction=False) as p:
        p.incr("cnt").incr("cnt").get("cnt")
        assert p.execute() == [1, 2, "2"]
    info = r.info()
    assert info["redis_version"] == "7.0.15" and info["db0"]["keys"] == 8
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert r.dbsize() == 8 and r.randomkey() is not None
    assert r.memory_usage("h") > 0 and r.time()[0] > 0
    r.copy("h", "h2")
    assert r.hgetall("h2") == r.hgetall("h")
    payload = r.dump("z")
    r.restore("z2", 0, payload)
    assert r.zrange("z2", 0, -1) == ["a", "b", "c"]


def test_errors_map_to_redis_py_exceptions(ours: ServerProc) -> None:
    r = ours.client()
    r.flushall()
    r.set("s", "x")
    try:
        r.lpush("s", "a")
    except redis.ResponseError as exc:
        assert str(exc).startswith("WRONGTYPE")
    else:  # pragma: no cover
        raise AssertionError("no error")
    try:
        r.incr("s")
    except redis.ResponseError as exc:
        assert str(exc) == "value is not an integer or out of range"
