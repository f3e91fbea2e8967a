"""What the values of a large keyspace cost: the memory ``rdbkit compact`` and an AOF load
peak at (issue 12: a peak within 1.5x of what Redis needs for the same dataset).

A sorted set dropped while the cyclic collector is held off (a replay pauses it, and
what a collection keeps is frozen, out of its reach for good) must be freed by its
reference counts, as Redis's zslFree frees it node by node.

A hash Redis holds as a hashtable only because one field or value is longer than
``hash-max-listpack-value`` (most such hashes have a few fields) is kept as listpack
bytes rather than a dict of one object per field and value: a third of the memory. It
still is a hashtable to every client — OBJECT ENCODING, HSCAN, MEMORY USAGE, DUMP and
SAVE (RDB_TYPE_HASH, which real Redis loads as a hashtable) — compared with real
redis-server 7.0.15 here.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import pytest
import redis

from engine.types.hashes import HashValue
from engine.types.zsets import ZSetValue
from tests.engine import test_hash_listpack as _hash_tests
from tests.engine.conftest import ServerProc, loaded_by_real
from tests.engine.differential import normalise, run


def _skiplist_zset(n: int) -> ZSetValue:
    z = ZSetValue(lp=False)
    for i in range(n):
        z.insert(b"m%d" % i, float(i % 17), 0, 0)
    return z


@contextlib.contextmanager
def _collector_held() -> Iterator[None]:
    """The cyclic collector off, as a replay holds it (nothing pending when it starts)."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def test_dropped_skiplist_leaves_no_cyclic_garbage() -> None:
    with _collector_held():
        z = _skiplist_zset(300)
        assert z.encoding() == "skiplist" and len(z) == 300
        del z
        assert gc.collect() == 0  # nothing left for the collector: freed when dropped


def test_converted_skiplist_leaves_no_cyclic_garbage() -> None:
    with _collector_held():
        z = _skiplist_zset(50)
        z.to_listpack(128, 64)  # zsetConvertToListpackIfNeeded drops the skip list
        assert z.encoding() == "listpack" and len(z) == 50
        assert gc.collect() == 0


def _long_valued(n: int) -> HashValue:
    """A hash of ``n`` short fields, the first with a value past the listpack limit."""
    h = HashValue()
    for i in range(n):
        f, v = b"f%d" % i, (b"x" * 100 if i == 0 else b"%d" % i)
        h.try_conversion([f, v], 64)
        h.set_field(f, v, 128, 64)
    return h


def test_long_valued_hash_keeps_no_object_per_field() -> None:
    h = _long_valued(10)
    assert h.encoding() == "hashtable"
    assert h.ht is None and h.lp is not None  # the pairs as listpack bytes, no dict
    assert h.items() == [(b"f0", b"x" * 100)] + [(b"f%d" % i, b"%d" % i) for i in range(1, 10)]
    assert h.delete(b"f0") and len(h) == 9 and h.encoding() == "hashtable"  # one way
    h.set_field(b"f1", b"y" * 200, 128, 64)
    assert h.get(b"f1") == b"y" * 200
    assert h.copy().encoding() == "hashtable" and h.copy().items() == h.items()


def test_long_valued_hash_past_the_entries_limit_is_a_dict() -> None:
    h = _long_valued(129)
    assert h.encoding() == "hashtable" and h.ht is not None and len(h) == 129


def test_long_valued_hash_of_many_bytes_is_a_dict() -> None:
    h = HashValue()
    for i in range(3):
        h.try_conversion([b"f%d" % i, b"v" * 5000], 64)
        h.set_field(b"f%d" % i, b"v" * 5000, 128, 64)
    assert h.encoding() == "hashtable" and h.ht is not None and len(h) == 3


def test_long_valued_hash_given_field_ttls_is_a_dict() -> None:
    """hashTypeSetExInit: only a listpack becomes a listpackex; a hashtable keeps its TTLs
    beside the dict."""
    h = _long_valued(5)
    h.init_ttls()
    assert h.fx == {} and h.ht is not None and h.encoding() == "hashtable"


STEPS = [
    ["HSET", "h", "a", "1", "b", "2"], ["OBJECT", "ENCODING", "h"],
    ["HSET", "h", "long", "L" * 100], ["OBJECT", "ENCODING", "h"], ["HGETALL", "h"], ["HLEN", "h"],
    ["HGET", "h", "long"], ["HSTRLEN", "h", "long"], ["HEXISTS", "h", "a"], ["HMGET", "h", "a", "zz", "long"],
    ["HINCRBY", "h", "a", "5"], ["HINCRBYFLOAT", "h", "b", "0.5"], ["HSETNX", "h", "a", "9"],
    ["HSETNX", "h", "c", "3"], ["HDEL", "h", "long"], ["OBJECT", "ENCODING", "h"], ["HKEYS", "h"],
    ["HVALS", "h"], ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "MATCH", "a*"], ["DEBUG", "DIGEST-VALUE", "h"],
    ["MEMORY", "USAGE", "h"], ["COPY", "h", "h2"], ["OBJECT", "ENCODING", "h2"], ["HSET", "h2", "d", "4"],
    ["DEBUG", "DIGEST-VALUE", "h", "h2"], ["RENAME", "h2", "h3"], ["OBJECT", "ENCODING", "h3"],
    ["HSET", "m", *[x for i in range(40) for x in (f"k{i}", "v" * (i * 3))]], ["OBJECT", "ENCODING", "m"],
    ["HSCAN", "m", "0", "COUNT", "1000"], ["HRANDFIELD", "m", "-5"], ["HDEL", "m", "k39", "k38", "k0"],
    ["HLEN", "m"], ["DEBUG", "DIGEST-VALUE", "m"],
    ["HSET", "m", *[x for i in range(40, 140) for x in (f"k{i}", "w")]], ["OBJECT", "ENCODING", "m"],
    ["HLEN", "m"], ["DEBUG", "DIGEST-VALUE", "m"], ["DEBUG", "DIGEST"],
]


servers = _hash_tests.servers  # a pair of servers, ours and real, a fixture of this module too


def _steps(c: redis.Redis) -> list:
    c.flushall()
    out = []
    for argv in STEPS:
        bargv = [a.encode() if isinstance(a, str) else a for a in argv]
        kind, v = run(c, bargv)
        if bargv[:2] == [b"MEMORY", b"USAGE"]:  # an estimate: within 10% (as MEMORY USAGE is held)
            out.append(("memory", round(v / 40)))
            continue
        out.append(normalise(bargv, (kind, v), True))
    return out


@pytest.mark.differential
def test_long_valued_hash_replies_as_redis(servers: tuple[ServerProc, ServerProc]) -> None:
    ours, real = servers
    assert _steps(ours.client()) == _steps(real.client())


@pytest.mark.differential
def test_long_valued_hash_restored_and_saved_as_a_hashtable(servers: tuple[ServerProc, ServerProc],
                                                            tmp_path) -> None:
    """DUMP and SAVE write RDB_TYPE_HASH: real Redis restores and loads a hashtable."""
    ours, real = servers
    c, r = ours.client(), real.client()
    for x in (c, r):
        x.flushall()
    c.hset("h", mapping={"a": "1", "long": "L" * 100})
    payload = c.dump("h")
    assert payload[0] == 4  # RDB_TYPE_HASH
    r.restore("h", 0, payload)
    assert r.object("encoding", "h") == b"hashtable"
    assert r.execute_command("DEBUG", "DIGEST") == c.execute_command("DEBUG", "DIGEST")

    def fill(x: redis.Redis) -> list[str]:
        x.hset("h", mapping={"a": "1", "long": "L" * 100})
        x.hset("g", mapping={f"f{i}": "v" * i for i in range(100)})
        return ["h", "g"]

    with loaded_by_real(tmp_path, fill, ()) as (rr, want, digest):
        assert rr.execute_command("DEBUG", "DIGEST") == digest
        assert rr.object("encoding", "h") == rr.object("encoding", "g") == b"hashtable"


def test_replay_holds_a_small_batch_of_input_at_a_time(tmp_path) -> None:
    """What a replay allocates beyond the keyspace it builds — the commands read and
    parsed but not yet run — stays a small batch (a few hundred kB), however large the
    file: with the reader's 1 MiB default it was several MB, left as holes among the
    keyspace's allocations at the peak."""
    import tracemalloc

    from engine.replay import replay
    from tests.support.noisy_aof import write_noisy_aof

    path = tmp_path / "noisy.aof"
    write_noisy_aof(path, 40_000, 3_000)
    assert path.stat().st_size > 2 << 20
    tracemalloc.start()
    try:
        result = replay(str(path))
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.commands > 40_000
    assert peak - current < 1_500_000


def test_loaded_long_valued_hash_is_kept_as_listpack_bytes() -> None:
    """rdbLoadObject of RDB_TYPE_HASH (a file's or a RESTORE payload's hashtable): a
    hashtable still, its pairs as listpack bytes while few; many, as the dict."""
    from engine.config import Config
    from engine.materialize import record_to_value
    from rdbtools.model import Record

    cfg = Config()
    pairs = [(b"a", b"1"), (b"long", b"L" * 100), (b"b", b"2")]
    h = record_to_value(Record(0, b"h", "hash", pairs, encoding="hashtable"), cfg)
    assert h.encoding() == "hashtable" and h.ht is None and h.items() == pairs
    many = [(b"f%d" % i, b"v" * 70) for i in range(cfg.hash_max_listpack_entries + 1)]
    h = record_to_value(Record(0, b"h", "hash", many, encoding="hashtable"), cfg)
    assert h.encoding() == "hashtable" and h.ht is not None and h.items() == many
    short = [(b"a", b"1"), (b"b", b"2")]
    assert record_to_value(Record(0, b"h", "hash", short, encoding="hashtable"), cfg).encoding() == "listpack"
