"""lazyfreed_objects as Redis 7.0.15 counts it: a value freed "in background" only when
its free effort passes LAZYFREE_THRESHOLD (lazyfreeGetFreeEffort), every key of an
asynchronous flush — compared with a real redis-server after each step."""

from __future__ import annotations

import time

import redis


def _freed(r: redis.Redis) -> int:
    deadline = time.monotonic() + 10
    while r.info("memory")["lazyfree_pending_objects"] and time.monotonic() < deadline:
        time.sleep(0.01)
    return int(r.info("memory")["lazyfreed_objects"])


def _steps(r: redis.Redis) -> list[int]:
    out = []
    # the shared server's settings as an earlier test may have left them (the stateful
    # differential test lowers the encodings' limits: a 500-member intset would be a
    # hashtable worth freeing in the background)
    for name, default in (("lazyfree-lazy-user-flush", "no"), ("lazyfree-lazy-user-del", "no"),
                          ("set-max-intset-entries", "512"), ("hash-max-listpack-entries", "128"),
                          ("hash-max-listpack-value", "64"), ("zset-max-listpack-entries", "128"),
                          ("zset-max-listpack-value", "64"), ("list-max-listpack-size", "-2")):
        r.config_set(name, default)
    r.flushall()
    _freed(r)  # what an earlier test left to the background thread is freed before the reset
    r.config_set("stream-node-max-entries", 5)
    r.config_resetstat()
    out.append(_freed(r))
    r.sadd("big", *[f"m{i}" for i in range(100)])  # hashtable, effort 100
    r.sadd("small", *[f"m{i}" for i in range(10)])  # listpack-sized: one allocation
    r.sadd("ints", *range(500))  # intset: one allocation
    r.unlink("big", "small", "ints")
    out.append(_freed(r))
    r.rpush("list", *range(20000))  # quicklist nodes
    r.rpush("shortlist", *range(100))
    r.unlink("list", "shortlist")
    out.append(_freed(r))
    r.zadd("z", {f"m{i}": i for i in range(200)})  # skiplist
    r.hset("h", mapping={f"f{i}": i for i in range(600)})  # hashtable
    r.delete("z")  # DEL frees synchronously
    out.append(_freed(r))
    r.config_set("lazyfree-lazy-user-del", "yes")
    r.delete("h")
    r.config_set("lazyfree-lazy-user-del", "no")
    out.append(_freed(r))
    for j in range(1000):
        r.xadd("stream", {"foo" if j % 10 else "bar": j})
    r.xgroup_create("stream", "g", "0")
    r.xreadgroup("g", "alice", {"stream": ">"}, count=2)
    r.unlink("stream")
    out.append(_freed(r))
    r.xadd("s2", {"a": "b"})
    r.xgroup_create("s2", "g", "$")
    r.unlink("s2")
    out.append(_freed(r))
    r.mset({f"k{i}": i for i in range(7)})
    r.flushdb(asynchronous=True)
    out.append(_freed(r))
    r.mset({f"k{i}": i for i in range(3)})
    r.flushall()  # SYNC by default
    out.append(_freed(r))
    r.config_resetstat()
    out.append(_freed(r))
    return out


def test_lazyfreed_objects_as_real(ours, real):
    a = _steps(ours.client(socket_timeout=30))
    b = _steps(real.client(socket_timeout=30))
    assert a == b
    assert b[1] == 1 and b[-1] == 0  # the test measures something
