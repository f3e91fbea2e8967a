"""SAVE's one-pass key loop writes the file the record path writes, byte for byte.

``iter_dataset_rdb`` (each database's keys written by rdbtools.snapshot, C or Python)
against the reference: every key as a Record through the encoder (``iter_dataset``),
for a dataset holding every type and encoding the engine keeps (strings of each form,
listpack/hashtable hashes, hashes with field TTLs, intset/listpack/hashtable sets, listpack and
skip-list sorted sets, quicklists with plain and compressed nodes, streams with and without
groups, over several nodes, entries deleted),
keys with deadlines (one already past), keys in two databases, under no-eviction, LRU
and LFU policies (IDLE/FREQ opcodes), as SAVE and as an AOF preamble. That the file
loads in real Redis 7.0 with the same digest, from SAVE and from a BGSAVE child: the last
test.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from aof.rewriter import encode_rdb_base
from engine.config import config_from_argv
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.materialize import rdb_version
from engine.persistence import aof_rewrite, dataset
from engine.persistence.dataset import db_sizes, encoding_policy, iter_dataset, rdb_chunks
from engine.server.app import Server
from rdbtools import snapshot
from rdbtools.encoder import RdbEncoder, default_aux
from tests.support.servers import start_ours, start_real

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")


ARGS = ("--list-compress-depth", "1", "--list-max-listpack-size", "4", "--stream-node-max-entries", "3")


def commands(field_ttls: bool) -> list[list[Any]]:
    """Every type and encoding the engine keeps (a hash field TTL makes the file RDB 12)."""
    out: list[list[Any]] = [["SET", f"s:{i}", i * 1000003 if i % 3 else "v" * (i * 3)] for i in range(40)]
    out += [
        ["SET", "long", "abc" * 100], ["APPEND", "raw", "x" * 30], ["SETRANGE", "raw", 5, "yy"],
        ["HSET", "h:small", "f1", "v1", "f2", 22],
        ["HSET", "h:big", *[x for i in range(200) for x in (f"f{i}", f"v{i}")]],
        ["HSET", "h:huge", *[x for i in range(600) for x in (f"f{i}", f"v{i}")]],  # a hash table
        ["HSET", "h:shrunk", "f", "v" * 100], ["HSET", "h:shrunk", "f", "v"],  # a small hash table
        ["SADD", "set:shrunk", *range(600)], ["SREM", "set:shrunk", *range(3, 600)],  # 3 integers
        ["HSET", "h:ttl", "a", 1, "b", 2, "c", 3],
        ["SADD", "set:int", 1, 2, 3, -7], ["SADD", "set:lp", "a", "b", "c", 17],
        ["SADD", "set:lpints", "x", 1, 2],
        ["SREM", "set:lpints", "x"],  # a listpack of integers: written as an intset, as before
        ["SADD", "set:ht", *[f"member-{i}" for i in range(200)]],
        ["ZADD", "z:small", 1, "a", 2.5, "b"], ["ZADD", "z:big", *[x for i in range(300) for x in (i / 3, f"m{i}")]],
        ["RPUSH", "l:small", "a", "b", 3], ["RPUSH", "l:long", *[f"item-{i % 7}-" * 5 for i in range(60)]],
        ["XADD", "st", "1-1", "f", "v"], ["XADD", "st", "2-1", "f", "w", "g", "x"],
        ["XGROUP", "CREATE", "st", "grp", "0"],
        *[["XADD", "st2", f"{i}-{i % 3}", "f", i * 7, *(["g", "x" * i] if i % 4 else [])] for i in range(1, 12)],
        ["XDEL", "st2", "1-1", "5-2"],  # a stream without groups: the first and max deleted ids moved
        ["XREADGROUP", "GROUP", "grp", "alice", "COUNT", 1, "STREAMS", "st", ">"],
        ["PEXPIRE", "s:1", 10_000_000], ["PEXPIRE", "h:small", 10_000_000],
        ["SELECT", 3], ["SET", "in3", "yes"], ["LPUSH", "l3", "a"], ["SELECT", 0],
    ]
    if field_ttls:
        out.append(["HPEXPIRE", "h:ttl", 500000, "FIELDS", 1, "a"])
    return out


def populated(policy: str) -> Server:
    srv = Server(config_from_argv(["--save", "", "--maxmemory-policy", policy, *ARGS, "--enable-debug-command", "yes"]))
    srv.active_expire_enabled = False
    c = Client(srv)
    for argv in [*commands(True), ["SET", "gone", "x", "PX", 1]]:
        reply = execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in argv])
        assert reply is None or not reply.startswith(b"-"), (argv, reply)
    db0 = srv.keyspace.dbs[0]
    db0.expires[b"gone"] = 1  # already past: left out by both
    db0.lru[b"s:3"] = db0.lru.get(b"s:3", 0) - 5000 if not srv.keyspace.lfu else (1 << 8) | 200
    return srv


def reference(srv: Server, version: int, aof_base: bool = False) -> bytes:
    enc = RdbEncoder(version, encoding_policy(srv.config), aux=default_aux(version, 0, aof_base=aof_base),
                     db_sizes=db_sizes(srv.keyspace), compress=srv.config.rdbcompression or aof_base)
    return b"".join(enc.encode(iter_dataset(srv)))


def saved(srv: Server) -> bytes:
    enc, chunks = rdb_chunks(srv)
    data = b"".join(chunks)
    assert enc.keys_written == sum(len(db.data) for db in srv.keyspace.dbs) - 1  # "gone" left out
    return data


@pytest.mark.parametrize("loop", ["c", "python"])
@pytest.mark.parametrize("policy", ["noeviction", "allkeys-lru", "allkeys-lfu"])
def test_save_writes_the_record_paths_bytes(monkeypatch: pytest.MonkeyPatch, policy: str, loop: str) -> None:
    monkeypatch.setattr(snapshot, "_snapshot_keys", C.snapshot_keys)
    monkeypatch.setattr(dataset, "key_runs", snapshot._key_runs_c if loop == "c" else snapshot._key_runs_py)
    monkeypatch.setattr(dataset, "default_aux", lambda v, ctime: default_aux(v, 0))  # ctime of the aux fields
    srv = populated(policy)
    version = rdb_version(srv.keyspace)
    assert version == 12  # the hash field TTL
    assert saved(srv) == reference(srv, version)
    h = srv.keyspace.dbs[0].data[b"h:ttl"]
    h.fx = None  # and RDB 10, where a set's listpack is written as its members
    srv.keyspace.dbs[0].hexpires.clear()
    version = rdb_version(srv.keyspace)
    assert version == 10
    assert saved(srv) == reference(srv, version)
    enc_types = {v.encoding() for db in srv.keyspace.dbs for v in db.data.values() if hasattr(v, "encoding")}
    assert {"listpack", "hashtable", "intset", "skiplist", "quicklist", "stream"} <= enc_types
    sets = srv.keyspace.dbs[0].data
    assert sets[b"set:lp"].lp is not None and sets[b"set:lpints"].lp is not None and sets[b"set:ht"].ht
    # the AOF rewrite's RDB preamble is the same writer
    monkeypatch.setattr(aof_rewrite, "encode_rdb_base", lambda items, **kw: encode_rdb_base(items, **kw | {"ctime": 0}))
    assert b"".join(aof_rewrite.base_chunks(srv, True, False)) == reference(srv, version, aof_base=True)


def test_field_ttls_dropped_out_of_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hash whose every field expired is left out, its opcodes with it."""
    monkeypatch.setattr(dataset, "default_aux", lambda v, ctime: default_aux(v, 0))
    srv = populated("allkeys-lru")
    h = srv.keyspace.dbs[0].data[b"h:ttl"]
    h.fx = {f: 1 for f in h.fx or {}} | {b"a": 1, b"b": 1, b"c": 1}
    srv.keyspace.dbs[0].expires[b"h:ttl"] = 2**45
    data = saved_without_count(srv)
    assert b"h:ttl" not in data
    assert data == reference(srv, rdb_version(srv.keyspace))


def saved_without_count(srv: Server) -> bytes:
    return b"".join(rdb_chunks(srv)[1])


@pytest.mark.parametrize("how", ["SAVE", "BGSAVE"])
def test_real_redis_loads_what_we_save(tmp_path: Path, how: str) -> None:
    """The file of a SAVE (or of a BGSAVE's child) under an LFU policy loads in real Redis
    7.0 with our DEBUG DIGEST."""
    (tmp_path / "ours").mkdir()
    ours = start_ours(tmp_path / "ours", "--maxmemory-policy", "allkeys-lfu", *ARGS)
    try:
        c = ours.client()
        for argv in commands(False):
            c.execute_command(*argv)
        digest = c.execute_command("DEBUG", "DIGEST")
        if how == "SAVE":
            assert c.save()
        else:
            c.bgsave()
            deadline = time.monotonic() + 30
            while c.info("persistence")["rdb_bgsave_in_progress"] or c.lastsave() == 0:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert c.info("persistence")["rdb_last_bgsave_status"] == "ok"
    finally:
        ours.stop()
    (tmp_path / "real").mkdir()
    shutil.copy(tmp_path / "ours" / "dump.rdb", tmp_path / "real" / "dump.rdb")
    real = start_real(tmp_path / "real", loaded=True)
    try:
        r = real.client()
        assert r.dbsize() == 58 and r.execute_command("DEBUG", "DIGEST") == digest  # db 3 too
    finally:
        real.stop()
