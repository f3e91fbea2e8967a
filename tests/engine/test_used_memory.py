"""``used_memory`` and its split beside real Redis 7.0 after loading the same file.

Redis reports what jemalloc holds; our figure is a model (engine/keyspace/memory.py)
built from the per-key MEMORY USAGE figures. After both servers load one dump made by
real 7.0.15 — a mixed dataset of every type, and a strings-only one as DEBUG POPULATE
makes it — the totals must agree within 5% and the overhead (dict entries, robj
headers, bucket arrays) within 2%. (Loaded, not made by commands: a server that ran the
commands holds what they left behind too — preallocated stream nodes, grown strings.)
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import redis

from tests.support.servers import start_ours, start_real

KEYS = 40_000


def _mixed(c: redis.Redis, n: int) -> None:
    """Every type at the bench dataset's proportions (bench/dataset.py), smaller."""
    rnd = random.Random(5)
    words = [b"w%05d" % i for i in range(2000)]
    p = c.pipeline(transaction=False)
    for i in range(n):
        key = b"k:%d" % i
        r = rnd.random()
        if r < 0.62:
            kind = rnd.random()
            if kind < 0.25:
                p.set(key, rnd.randint(-10**9, 10**12))
            elif kind < 0.6:
                p.set(key, b" ".join(rnd.choice(words) for _ in range(rnd.randint(1, 6))))
            else:
                p.set(key, rnd.randbytes(rnd.randint(100, 600)))
        elif r < 0.72:
            p.rpush(key, *[rnd.choice(words) for _ in range(rnd.randint(1, 30))])
        elif r < 0.82:
            p.hset(key, mapping={b"f%d" % j: rnd.choice(words) for j in range(rnd.randint(1, 20))})
        elif r < 0.86:
            p.sadd(key, *[rnd.randint(0, 100000) for _ in range(rnd.randint(1, 30))])
        elif r < 0.90:
            p.sadd(key, *[rnd.choice(words) for _ in range(rnd.randint(1, 30))])
        elif r < 0.98:
            p.zadd(key, {rnd.choice(words): rnd.random() * 1000 for _ in range(rnd.randint(1, 30))})
        else:
            for j in range(rnd.randint(1, 10)):
                p.xadd(key, {"field": rnd.choice(words), "n": j})
        if rnd.random() < 0.10:
            p.pexpireat(key, 4_102_444_800_000 + i)
        if i % 2000 == 1999:
            p.execute()
    p.execute()


def _memory(c: redis.Redis) -> dict:
    return c.info("memory")


@pytest.mark.parametrize("dataset", ["mixed", "strings"])
def test_used_memory_within_5_percent_of_real_after_loading_the_same_file(tmp_path: Path, dataset: str) -> None:
    (tmp_path / "make").mkdir()
    maker = start_real(tmp_path / "make", "--enable-debug-command", "yes")
    try:
        c = maker.client()
        if dataset == "mixed":
            _mixed(c, KEYS)
        else:
            c.execute_command("DEBUG", "POPULATE", KEYS * 2)
        c.save()
        c.close()
    finally:
        maker.stop()
    figures = {}
    for kind, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / kind).mkdir()
        shutil.copy(tmp_path / "make" / "dump.rdb", tmp_path / kind / "dump.rdb")
        srv = start(tmp_path / kind, loaded=True)
        try:
            figures[kind] = _memory(srv.client())
        finally:
            srv.stop()
    got, want = figures["ours"], figures["real"]
    for field, tol in (("used_memory", 0.05), ("used_memory_overhead", 0.02)):
        assert abs(got[field] - want[field]) <= tol * want[field], (field, got[field], want[field])


def test_memory_usage_of_a_stream_made_by_xadd_and_of_its_restored_copy(tmp_path: Path) -> None:
    """A stream's newest node: preallocated when XADD made it, exact once restored or copied
    (then XADD to it grows it at its size, until a new node is preallocated)."""
    figures = {}
    for kind, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / kind).mkdir()
        srv = start(tmp_path / kind)
        try:
            c = srv.client()
            for j in range(5):
                c.xadd("s", {"field": "value-%d" % j, "n": j})
            c.restore("r", 0, c.dump("s"))
            c.copy("s", "c")
            c.xadd("r", {"field": "more", "n": 9})
            c.xadd("big", {"f": "x" * 100}, maxlen=None)
            c.config_set("stream-node-max-entries", 2)
            for j in range(5):
                c.xadd("nodes", {"f": j}, id=f"1700000000000-{j + 1}")
            c.restore("nodes2", 0, c.dump("nodes"))
            figures[kind] = {k: c.memory_usage(k, samples=0) for k in ("s", "r", "c", "big", "nodes", "nodes2")}
        finally:
            srv.stop()
    assert figures["ours"] == figures["real"]
