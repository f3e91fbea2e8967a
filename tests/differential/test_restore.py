"""``rdbkit restore`` into real servers: a single 7.0 / 6.2 (SELECT per db, RDB 10 / 9
payloads) and a real three-master Redis 7.0 cluster (routing by slot, ASK and MOVED
redirections followed). Equality is Redis's own DEBUG DIGEST / DIGEST-VALUE."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aof.slots import key_hash_slot
from cli.exitcodes import ExitStatus
from cli.main import cli
from cli.remote import RestoreTarget
from rdbtools.digest import dataset_digest, value_digest
from rdbtools.io import iter_records
from rdbtools.model import Record
from tests.differential.conftest import Server, _free_port, run_server, server_binary

ROOT = Path(__file__).resolve().parents[2]
DUMP = ROOT / "fixtures/rdb/redis-7.0/dump.rdb"


def _live(path: Path, db: int | None = None) -> list[Record]:
    now = int(time.time() * 1000)
    return [r for r in iter_records(str(path)) if (r.expire_ms is None or r.expire_ms > now)
            and (db is None or r.db == db)]


def _restore(port: int, *extra: str):
    return CliRunner().invoke(cli, ["restore", str(DUMP), "-p", str(port), *extra], catch_exceptions=False)


@pytest.mark.parametrize("version", ["7.0", "6.2"])
def test_restore_into_one_server(tmp_path: Path, version: str) -> None:
    if server_binary(version) is None:
        pytest.skip(f"redis-server {version} is not installed")
    debug = ["--enable-debug-command", "yes"] if version == "7.0" else []
    with run_server(version, tmp_path, "none.rdb", *debug) as srv:
        res = _restore(srv.port)
        assert res.exit_code == 0, res.output
        assert f"RDB {10 if version == '7.0' else 9} payloads" in res.output
        assert srv("DEBUG", "DIGEST").decode() == dataset_digest(_live(DUMP))
        # again: every key exists now → reported, an error status; --replace overwrites
        res = _restore(srv.port, "--type", "string")
        assert res.exit_code == ExitStatus.ERROR and "target key name is busy" in res.output
        res = _restore(srv.port, "--replace")
        assert res.exit_code == 0, res.output
        assert srv("DEBUG", "DIGEST").decode() == dataset_digest(_live(DUMP))
        ttl_keys = [r for r in _live(DUMP) if r.expire_ms and r.db == 0]
        if ttl_keys:
            srv("SELECT", 0)
            left = int(srv("PTTL", ttl_keys[0].key))  # absolute deadline kept (ABSTTL)
            assert abs(time.time() * 1000 + left - ttl_keys[0].expire_ms) < 2000


def test_restore_with_db_map(tmp_path: Path) -> None:
    """--db-map SRC:DST puts a db's keys into another db of the target (the key's value
    the same); a malformed map is a usage error."""
    from dataclasses import replace

    assert CliRunner().invoke(cli, ["restore", str(DUMP), "--db-map", "1-0"]).exit_code == ExitStatus.USAGE
    with run_server("7.0", tmp_path, "none.rdb", "--enable-debug-command", "yes") as srv:
        res = _restore(srv.port, "--db", "1", "--db-map", "1:5")
        assert res.exit_code == 0, res.output
        moved = [replace(r, db=5) for r in _live(DUMP, db=1)]
        assert moved and srv("DEBUG", "DIGEST").decode() == dataset_digest(moved)


class Cluster:
    def __init__(self, nodes: list[Server]) -> None:
        self.nodes = nodes
        self.by_port = {n.port: n for n in nodes}

    def node_for(self, key: bytes) -> Server:
        slot = key_hash_slot(key)
        for n in self.nodes:
            for rng in n("CLUSTER", "SLOTS"):
                if rng[0] <= slot <= rng[1]:
                    return self.by_port[int(rng[2][1])]
        raise AssertionError(f"slot {slot} unserved")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if server_binary("7.0") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server 7.0 / redis-cli not installed")
    stack = []
    nodes = []
    try:
        for i in range(3):
            d = tmp_path / f"n{i}"
            d.mkdir()
            cm = run_server("7.0", d, "dump.rdb", "--cluster-enabled", "yes", "--cluster-config-file",
                            str(d / "nodes.conf"), "--enable-debug-command", "yes",
                            "--cluster-port", str(_free_port()))
            nodes.append(cm.__enter__())
            stack.append(cm)
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.time() + 30
        while not all(b"cluster_state:ok" in n("CLUSTER", "INFO") for n in nodes):
            assert time.time() < deadline, "cluster did not become ok"
            time.sleep(0.1)
        yield Cluster(nodes)
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)


def test_restore_into_a_cluster(cluster: Cluster) -> None:
    entry = cluster.nodes[0]
    res = _restore(entry.port)
    assert res.exit_code == ExitStatus.ERROR and "has only db 0" in res.output  # the fixture spans several dbs
    res = _restore(entry.port, "--db", "1")  # db 1 alone: still not merged into db 0 unasked
    assert res.exit_code == ExitStatus.ERROR and "--db-map 1:0" in res.output
    assert sum(int(n("DBSIZE")) for n in cluster.nodes) == 0
    res = _restore(entry.port, "--db", "0")
    assert res.exit_code == 0, res.output
    assert "cluster of 3 masters" in res.output
    records = _live(DUMP, db=0)
    per_node: dict[int, int] = {}
    for rec in records:
        node = cluster.node_for(rec.key)
        per_node[node.port] = per_node.get(node.port, 0) + 1
        got = node("DEBUG", "DIGEST-VALUE", rec.key)[0].decode()
        assert got == value_digest(rec.type, rec.value, rec.expire_ms is not None).hex(), rec.key
    assert len(per_node) == 3
    assert sum(int(n("DBSIZE")) for n in cluster.nodes) == len(records)


def test_restore_follows_ask_and_moved(cluster: Cluster) -> None:
    a, b, _ = cluster.nodes
    ids = {n.port: n("CLUSTER", "MYID").decode() for n in cluster.nodes}
    keys = [f"k{i}".encode() for i in range(2000)]
    ask_key = next(k for k in keys if cluster.node_for(k) is a)
    slot = key_hash_slot(ask_key)
    b("CLUSTER", "SETSLOT", slot, "IMPORTING", ids[a.port])
    a("CLUSTER", "SETSLOT", slot, "MIGRATING", ids[b.port])  # new keys of this slot: ASK b
    t = RestoreTarget("127.0.0.1", a.port)
    moved_key = next(k for k in keys if cluster.node_for(k) is a and key_hash_slot(k) != slot)
    mslot = key_hash_slot(moved_key)
    for n in cluster.nodes:  # the slot map t read is now stale for mslot: MOVED
        n("CLUSTER", "SETSLOT", mslot, "NODE", ids[b.port])
    t.add(Record(0, ask_key, "string", b"via-ask"))
    t.add(Record(0, moved_key, "list", [b"via", b"moved"]))
    stats = t.finish()
    assert stats.failed == [] and stats.restored == 2 and stats.redirects >= 2
    b("SELECT", 0)
    assert b("ASKING") == b"OK" and b("GET", ask_key) == b"via-ask"
    assert b("LRANGE", moved_key, 0, -1) == [b"via", b"moved"]
