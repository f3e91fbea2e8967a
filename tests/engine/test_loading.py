"""Loading dir/dbfilename at start: the same files loaded by a real redis-server 7.0 and by
ours must give the same keys, types, OBJECT ENCODINGs, values and TTL presence."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from rdbtools import iter_records
from tests.engine.conftest import ROOT, start_ours, start_real

CORPUS = ROOT / "fixtures" / "rdb"
REAL_LOADABLE = [p for p in [CORPUS / "corpus-redis-7.0.15" / "dump.rdb", CORPUS / "corpus-redis-7.0.15" / "dump-lfu.rdb",
                             CORPUS / "corpus-redis-6.2.5" / "dump.rdb"] if p.exists()]
NEWER = sorted(p for d in ("corpus-redis-7.2.6", "corpus-redis-7.4.1", "corpus-redis-unstable",
                             "corpus-valkey-8.0.1", "corpus-valkey-unstable")
               for p in (CORPUS / d).glob("dump*.rdb"))


def snapshot(c: redis.Redis) -> dict[tuple[int, bytes], tuple]:
    out = {}
    for db in range(16):
        c.execute_command("SELECT", db)
        for k in c.execute_command("KEYS", "*"):
            t = c.execute_command("TYPE", k)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "stream":
                continue
            enc = c.execute_command("OBJECT", "ENCODING", k)
            if t == "string":
                val = c.execute_command("GET", k)
            elif t == "list":
                val = c.execute_command("LRANGE", k, 0, -1)
            elif t == "set":
                val = sorted(c.execute_command("SMEMBERS", k))
            elif t == "hash":
                raw = c.execute_command("HGETALL", k)
                val = sorted(raw.items()) if isinstance(raw, dict) else sorted(zip(raw[::2], raw[1::2]))
            else:
                val = c.execute_command("ZRANGE", k, 0, -1, "WITHSCORES")
            ttl = c.execute_command("PTTL", k)
            out[(db, k)] = (t, enc, val, ttl > 0)
    c.execute_command("SELECT", 0)
    return out


@pytest.mark.differential
@pytest.mark.parametrize("path", REAL_LOADABLE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_load_same_as_redis(tmp_path: Path, path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(path, tmp_path / "a" / "dump.rdb")
    shutil.copy(path, tmp_path / "b" / "dump.rdb")
    ours = start_ours(tmp_path / "a")
    real = start_real(tmp_path / "b")
    try:
        a, b = ours.client(), real.client()
        a.response_callbacks.clear()
        b.response_callbacks.clear()
        sa, sb = snapshot(a), snapshot(b)
        assert sa.keys() == sb.keys()
        diffs = [(k, sa[k], sb[k]) for k in sa if sa[k] != sb[k]]
        assert not diffs, diffs[:5]
        assert len(sa) > 10
    finally:
        ours.stop()
        real.stop()


@pytest.mark.parametrize("path", NEWER, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_load_newer_versions(tmp_path: Path, path: Path) -> None:
    """Files real 7.0 cannot read (RDB 11/12, Valkey's) load too; every served key arrives,
    hashes with their field TTLs."""
    shutil.copy(path, tmp_path / "dump.rdb")
    import time as _t

    now = int(_t.time() * 1000)
    expect = sum(1 for r in iter_records(path)
                 if r.type in ("string", "list", "set", "zset", "hash", "stream")
                 and (r.expire_ms is None or r.expire_ms > now))
    ttls = [r for r in iter_records(path) if r.type == "hash" and r.field_expires
            and (r.expire_ms is None or r.expire_ms > now)]
    ours = start_ours(tmp_path)
    try:
        c = ours.client()
        total = sum(int(v["keys"]) for k, v in c.info("keyspace").items())
        assert total == expect
        for r in ttls:  # hash field TTLs (7.4+): served as the file holds them
            c.execute_command("SELECT", r.db)
            fields = sorted(r.field_expires)
            got = c.execute_command("HPEXPIRETIME", r.key, "FIELDS", len(fields), *fields)
            want = [r.field_expires[f] if r.field_expires[f] > now else -2 for f in fields]
            assert got == want, r.key
    finally:
        ours.stop()


def test_save_bgsave_reload_and_real_redis_reads_it(tmp_path: Path) -> None:
    """SAVE/BGSAVE write dir/dbfilename; our server and real Redis 7.0 load the file alike."""
    ours = start_ours(tmp_path)
    try:
        c = ours.client()
        c.set("s", "v")
        c.set("i", 42)
        c.rpush("l", "a", "b")
        c.hset("h", mapping={"f": "v"})
        c.sadd("set", 1, 2, 3)
        c.zadd("z", {"m": 1.5})
        c.set("ttl", "x", ex=1000)
        c.select(3)
        c.set("in3", "yes")
        c.select(0)
        assert c.save() is True
        first = (tmp_path / "dump.rdb").read_bytes()
        c.set("after", "1")
        assert c.bgsave() is True
        import time as _t

        for _ in range(100):
            if c.info("persistence")["rdb_bgsave_in_progress"] == 0:
                break
            _t.sleep(0.05)
        assert (tmp_path / "dump.rdb").read_bytes() != first
        c.response_callbacks.clear()
        before = snapshot(c)
    finally:
        ours.stop()
    again = start_ours(tmp_path)
    (tmp_path / "r").mkdir()
    shutil.copy(tmp_path / "dump.rdb", tmp_path / "r" / "dump.rdb")
    real = start_real(tmp_path / "r")
    try:
        for srv in (again, real):
            c = srv.client()
            c.response_callbacks.clear()
            assert snapshot(c) == before
    finally:
        again.stop()
        real.stop()
