"""LRU/LFU access hints survive every way a dataset is saved and loaded, as in Redis 7.0.

Under an LRU (or LFU) ``maxmemory-policy`` Redis writes each key's idle time (or LFU
counter) into an RDB (``rdbSaveKeyValuePair``: the IDLE/FREQ opcodes) and restores it
on load (``objectSetLRUOrLFU``), whether the RDB is a file, a full sync's payload or an
AOF's preamble. Keys get a large idle time or counter at once with ``RESTORE …
IDLETIME``/``FREQ``; ``OBJECT IDLETIME``/``FREQ`` read it back after the load, on real
redis-server 7.0 and on ours side by side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from tests.engine.conftest import ServerProc, start_ours, start_real

IDLE = 5000  # seconds
FREQ = 100
FAST = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")


def policy(kind: str) -> tuple[str, ...]:
    return ("--maxmemory-policy", "allkeys-lru" if kind == "lru" else "allkeys-lfu")


def plant(c: redis.Redis, kind: str) -> None:
    """Keys with a known idle time (LRU) or LFU counter, plus one of each type."""
    c.set("src", "value")
    c.rpush("srclist", "a", "b")
    for name in ("src", "srclist"):
        payload = c.dump(name)
        hint = ["IDLETIME", IDLE] if kind == "lru" else ["FREQ", FREQ]
        c.execute_command("RESTORE", f"hinted:{name}", 0, payload, *hint)


def hints(c: redis.Redis, kind: str) -> dict[str, int]:
    sub = "IDLETIME" if kind == "lru" else "FREQ"
    return {k: int(c.execute_command("OBJECT", sub, k)) for k in ("hinted:src", "hinted:srclist")}


def check(got: dict[str, int], kind: str, what: str) -> None:
    for k, v in got.items():
        if kind == "lru":
            assert IDLE <= v < IDLE + 60, (what, k, v)  # not reset to 0 by the load
        else:  # not reset to LFU_INIT_VAL (5); a minute boundary may decay it by one
            assert FREQ - 2 < v <= FREQ, (what, k, v)


def wait_synced(replica: redis.Redis, keys: int) -> None:
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if replica.info("replication").get("master_link_status") == "up" and replica.dbsize() == keys:
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.05)
    raise AssertionError("the replica did not finish its full sync")


@pytest.mark.parametrize("kind", ["lru", "lfu"])
@pytest.mark.parametrize("master_kind", ["real", "ours"])
def test_hints_survive_a_full_sync(tmp_path: Path, kind: str, master_kind: str) -> None:
    """Our replica of a real master and of ours keeps the master's hints, as a real
    replica of the same master does."""
    start_master: Callable[..., ServerProc] = start_real if master_kind == "real" else start_ours
    (tmp_path / "m").mkdir()
    master = start_master(tmp_path / "m", *policy(kind), *FAST)
    procs = [master]
    try:
        mc = master.client()
        plant(mc, kind)
        n = mc.dbsize()
        replicas = {}
        for name, start in (("real", start_real), ("ours", start_ours)):
            d = tmp_path / name
            d.mkdir()
            r = start(d, *policy(kind), "--replicaof", "127.0.0.1", str(master.port))
            procs.append(r)
            replicas[name] = r.client()
            wait_synced(replicas[name], n)
        for name, rc in replicas.items():
            check(hints(rc, kind), kind, f"{name} replica of {master_kind} master")
    finally:
        for p in reversed(procs):
            p.stop()


@pytest.mark.parametrize("kind", ["lru", "lfu"])
def test_hints_survive_an_aof_preamble_start(tmp_path: Path, kind: str) -> None:
    """BGREWRITEAOF writes an RDB preamble with the hints; a restart loads them back —
    ours from its own AOF and from real Redis's, as real Redis does."""
    aof = ("--appendonly", "yes", "--aof-use-rdb-preamble", "yes", *policy(kind))
    for kind_dir, start in (("real", start_real), ("ours", start_ours)):
        d = tmp_path / kind_dir
        d.mkdir()
        srv = start(d, *aof)
        try:
            c = srv.client()
            plant(c, kind)
            c.bgrewriteaof()
            deadline = time.time() + 20
            while c.info("persistence")["aof_rewrite_in_progress"] or \
                    c.info("persistence")["aof_rewrite_scheduled"]:
                assert time.time() < deadline, "the rewrite did not finish"
                time.sleep(0.05)
        finally:
            srv.stop()
    for loader, start in (("real", start_real), ("ours", start_ours)):
        for written_by in ("real", "ours"):
            if loader == "real" and written_by == "ours":
                continue  # real Redis loading our preamble: test_aof_server covers the dataset
            srv = start(tmp_path / written_by, *aof)
            try:
                check(hints(srv.client(), kind), kind, f"{loader} loading the AOF of {written_by}")
            finally:
                srv.stop()
