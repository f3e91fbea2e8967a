"""The server on Redis 7.4's files: it starts on every 7.4.1 AOF directory of the corpus and
serves the manifest's keyspace, field TTLs included; SAVE, BGREWRITEAOF (both base forms) and
a restart keep the field TTLs (SAVE writes RDB 12 then: RDB 10 cannot hold them); a replica
gets them by full sync and by the stream (HPEXPIREAT, the master's HDELs)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import redis

from tests.engine.conftest import start_ours
from tests.engine.test_aof_server import wait_rewrite
from tests.engine.test_replication import FAST, in_sync
from tests.support.manifest import FIXTURES, load_manifest, manifest_keys

DIRS = sorted((FIXTURES / "aof" / "redis-7.4.1").glob("*/appendonlydir"))


def served(c: redis.Redis, dbs: set[int]) -> dict:
    """The hashes (fields, field TTLs) and the other keys' types of ``dbs``."""
    out = {}
    for db in sorted(dbs):
        c.execute_command("SELECT", db)
        for key in c.keys("*"):
            t = c.type(key).decode()
            if t != "hash":
                out[(db, key)] = (t, None, None)
                continue
            pairs = sorted(c.hgetall(key).items())
            times = c.execute_command("HPEXPIRETIME", key, "FIELDS", len(pairs), *[f for f, _ in pairs])
            fexp = {f: at for (f, _), at in zip(pairs, times, strict=True) if at != -1}
            out[(db, key)] = (t, pairs, fexp or None)
    c.execute_command("SELECT", 0)
    return out


def manifest_view(directory: Path) -> dict:
    keys = manifest_keys(load_manifest(directory.with_name(directory.name + ".json")))
    return {k: (e["type"], e["value"], e["field_expires"]) if e["type"] == "hash" else (e["type"], None, None)
            for k, e in keys.items()}


@pytest.mark.parametrize("src", DIRS, ids=lambda p: p.parent.name)
def test_server_starts_on_74_aof_and_serves_the_manifest(src: Path, tmp_path: Path) -> None:
    shutil.copytree(src, tmp_path / "appendonlydir")
    want = manifest_view(src)
    assert any(v[2] for v in want.values())  # field TTLs are part of what is compared
    srv = start_ours(tmp_path, "--appendonly", "yes", loaded=True)
    try:
        c = srv.client()
        assert served(c, {db for db, _ in want}) == want
        assert c.object("encoding", "hfe:small:d49801d1") == b"listpackex"
        if src.parent.name != "aof-preamble":
            return
        for preamble in ("yes", "no"):  # the rewrite keeps them, in both base forms
            c.config_set("aof-use-rdb-preamble", preamble)
            c.execute_command("BGREWRITEAOF")
            wait_rewrite(c)
        assert c.save()
    finally:
        srv.stop()
    assert (tmp_path / "dump.rdb").read_bytes()[:9] == b"REDIS0012"
    for args in (("--appendonly", "yes"), ("--appendonly", "no")):  # the AOF, then dump.rdb
        srv = start_ours(tmp_path, *args, loaded=True)
        try:
            assert served(srv.client(), {db for db, _ in want}) == want, args
        finally:
            srv.stop()


def test_replica_keeps_field_ttls(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "r").mkdir()
    master = start_ours(tmp_path / "m", *FAST)
    replica = None
    try:
        m = master.client()
        m.hset("h", mapping={"a": 1, "b": 2, "c": 3})
        m.execute_command("HPEXPIRE", "h", 500_000, "FIELDS", 1, "a")  # in the full sync's RDB 12
        replica = start_ours(tmp_path / "r", "--replicaof", "127.0.0.1", str(master.port), *FAST)
        r = replica.client()
        in_sync(m, r)
        m.execute_command("HEXPIRE", "h", 900, "FIELDS", 1, "b")  # streamed as HPEXPIREAT
        m.execute_command("HPEXPIRE", "h", 1, "FIELDS", 1, "c")
        m.execute_command("HPEXPIREAT", "h", 1, "FIELDS", 1, "zz")
        in_sync(m, r)
        want = m.execute_command("HPEXPIRETIME", "h", "FIELDS", 2, "a", "b")
        assert r.execute_command("HPEXPIRETIME", "h", "FIELDS", 2, "a", "b") == want
        assert r.object("encoding", "h") == b"listpackex"
        time.sleep(0.05)
        assert m.hget("h", "c") is None  # reclaimed on the master: its HDEL reaches the replica
        in_sync(m, r)
        assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


OTHER_DIRS = sorted(p for p in (FIXTURES / "aof").glob("*/*/appendonly*")
                    if p.parent.parent.name != "redis-7.4.1" and p.suffix != ".json")


@pytest.mark.parametrize("src", OTHER_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_server_starts_on_every_other_aof_dir_and_serves_the_manifest(src: Path, tmp_path: Path) -> None:
    """Redis 6.2 to unstable and Valkey: the same directory a server of theirs left, served
    as its manifest says (field TTLs where the writer had them)."""
    if src.is_dir():
        shutil.copytree(src, tmp_path / "appendonlydir")
    else:  # Redis 6.2's single file: adopted as the base of a new directory, as 7.0 does
        shutil.copyfile(src, tmp_path / "appendonly.aof")
    want = manifest_view(src)
    srv = start_ours(tmp_path, "--appendonly", "yes", loaded=True)
    try:
        assert served(srv.client(), {db for db, _ in want}) == want
    finally:
        srv.stop()
