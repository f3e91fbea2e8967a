"""Replication info across restarts (docs/durability.md P-5; docs/formats.md §1.8 / §8.5).

Redis 7.0 writes ``repl-stream-db``/``repl-id``/``repl-offset`` into SAVE/BGSAVE/shutdown
RDBs (``rdbPopulateSaveInfo``: a master with a backlog, a replica with a master link or a
cached one). At start (``loadDataFromDisk``) a replica caches itself as its master from
them, so its first PSYNC continues; a master keeps them as ``replid2`` with a backlog at
that offset, so its replicas continue. Checked for ours↔ours and ours↔redis-server 7.0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from rdbtools import Aux, read_all

from .conftest import ROOT, ServerProc, start_ours, start_real
from .test_replication import FAST, digest, in_sync, info, wait_until, write_everything

SAVES = ["--save", "3600 1"]


def restart(old: ServerProc) -> ServerProc:
    """The same command line (port, dir, replicaof) again, once the old process is gone."""
    old.proc.wait(15)
    env = None
    if old.argv[0] == sys.executable:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return ServerProc(old.argv, old.port, str(Path(old.argv[old.argv.index("--dir") + 1])), env)


def shutdown(c: redis.Redis, *args: str) -> None:
    try:
        c.execute_command("SHUTDOWN", *args)
    except redis.ConnectionError:
        pass


def save_and_kill(p: ServerProc, c: redis.Redis) -> None:
    """SAVE then SIGKILL: the same file as a SHUTDOWN save, without the exit's wait."""
    c.save()
    os.kill(p.proc.pid, signal.SIGKILL)


def aux_of(path: Path) -> dict[bytes, bytes]:
    return {e.key: e.value for e in read_all(path) if type(e) is Aux}


def pair_up(tmp: Path, master_kind: str, replica_kind: str, *extra: str) -> tuple[ServerProc, ServerProc]:
    start = {"ours": start_ours, "real": start_real}
    (tmp / "m").mkdir()
    (tmp / "r").mkdir()
    m = start[master_kind](tmp / "m", *FAST, *SAVES, *extra)
    r = start[replica_kind](tmp / "r", *FAST, *SAVES, "--replicaof", "127.0.0.1", str(m.port))
    return m, r


@pytest.mark.parametrize("kinds", [("ours", "ours"), ("ours", "real"), ("real", "ours")],
                         ids=["ours-ours", "ours-master-real-replica", "real-master-ours-replica"])
def test_replica_restart_partial_resync(tmp_path: Path, kinds: tuple[str, str]) -> None:
    """P-5: a replica shut down with save points comes back with PSYNC <replid> <offset+1>."""
    # no master PING between reading the replica's offset and its save (a 1 s period
    # moved the offset by a PING's 14 bytes on a loaded machine)
    m, r = pair_up(tmp_path, *kinds, "--repl-ping-replica-period", "60")
    try:
        mc, rc = m.client(socket_timeout=10), r.client(socket_timeout=10)
        write_everything(mc, "a")
        mc.execute_command("SELECT", 0)
        # the stream ends in db 5: the restarted replica must keep applying there
        p = mc.pipeline(transaction=False)
        p.execute_command("SELECT", 5)
        p.set("in5", "x")
        p.execute()
        in_sync(mc, rc)
        before = info(mc, "stats")
        rinfo = info(rc)
        if kinds == ("ours", "ours"):
            shutdown(rc)  # the shutdown save of a replica
        else:
            save_and_kill(r, rc) if kinds[1] == "ours" else shutdown(rc)
        aux = aux_of(tmp_path / "r" / "dump.rdb")
        assert aux[b"repl-id"] == info(mc)["master_replid"].encode()
        assert int(aux[b"repl-offset"]) == rinfo["slave_repl_offset"]
        assert aux[b"repl-stream-db"] == b"5"
        # writes while the replica is down, in the stream's current db (no SELECT follows)
        mc.execute_command("SET", "later", "1")
        mc.execute_command("SELECT", 0)
        write_everything(mc, "b")
        r = restart(r)
        rc = r.client(socket_timeout=10)
        in_sync(mc, rc)
        after = info(mc, "stats")
        assert after["sync_partial_ok"] == before["sync_partial_ok"] + 1
        assert after["sync_full"] == before["sync_full"]
        assert digest(rc) == digest(mc)
        assert rc.execute_command("SELECT", 5) and rc.get("later") == b"1"
    finally:
        m.stop()
        r.stop()


@pytest.mark.parametrize("kinds", [("ours", "ours"), ("ours", "real"), ("real", "ours")],
                         ids=["ours-ours", "ours-master-real-replica", "real-master-ours-replica"])
def test_master_restart_partial_resync(tmp_path: Path, kinds: tuple[str, str]) -> None:
    """A master restarted from its RDB keeps the old id as replid2 with a backlog at its offset:
    the replica continues (+CONTINUE <new id>) and gets the DELs of keys that expired meanwhile."""
    m, r = pair_up(tmp_path, *kinds)
    try:
        mc, rc = m.client(socket_timeout=10), r.client(socket_timeout=10)
        write_everything(mc, "a")
        mc.execute_command("SELECT", 0)
        mc.set("short", "x", px=300)
        in_sync(mc, rc)
        old = info(mc)
        if kinds[0] == "real":
            shutdown(mc)
        else:
            save_and_kill(m, mc)
        aux = aux_of(tmp_path / "m" / "dump.rdb")
        assert aux[b"repl-id"] == old["master_replid"].encode()
        offset = int(aux[b"repl-offset"])
        # Redis 7.0's SHUTDOWN sends the replicas a last PING + REPLCONF GETACK before saving
        assert offset == old["master_repl_offset"] or kinds[0] == "real" and offset > old["master_repl_offset"]
        import time

        time.sleep(0.4)  # "short" expires in the file: the restarted master DELs it
        m = restart(m)
        mc = m.client(socket_timeout=10)
        new = info(mc)
        assert new["master_replid2"] == old["master_replid"]
        assert new["second_repl_offset"] == offset + 1
        assert new["master_replid"] != old["master_replid"]
        write_everything(mc, "b")
        in_sync(mc, rc)
        stats = info(mc, "stats")
        assert stats["sync_partial_ok"] == 1
        assert stats["sync_full"] == 0
        assert info(rc)["master_replid"] == new["master_replid"]
        assert info(rc)["master_replid2"] == old["master_replid"]
        wait_until(lambda: rc.exists("short") == 0 and digest(rc) == digest(mc), what="the DEL")
        assert rc.execute_command("DEBUG", "OBJECT", "s:b")  # the stream after the restart arrived
    finally:
        m.stop()
        r.stop()


def test_master_without_backlog_writes_no_repl_info(tmp_path: Path) -> None:
    """rdbPopulateSaveInfo returns NULL for a master that never had replicas; such a file
    starts no backlog (a replica of it syncs in full)."""
    s = start_ours(tmp_path)
    try:
        c = s.client()
        c.set("k", "v")
        c.save()
        aux = aux_of(tmp_path / "dump.rdb")
        assert b"repl-id" not in aux and b"aof-base" in aux
        assert info(c)["repl_backlog_active"] == 0
    finally:
        s.stop()


def test_our_rdb_repl_aux_checked_and_loaded_by_redis(tmp_path: Path) -> None:
    """Our SAVE's repl fields pass ``rdbkit check`` and real Redis 7.0 loads the file, taking
    the old id as replid2 (so it would serve partial resyncs of our replicas)."""
    m, r = pair_up(tmp_path, "ours", "ours")
    try:
        mc, rc = m.client(socket_timeout=10), r.client(socket_timeout=10)
        write_everything(mc, "a")
        mc.execute_command("SELECT", 0)
        in_sync(mc, rc)
        mc.execute_command("BGSAVE")
        wait_until(lambda: info(mc, "persistence")["rdb_bgsave_in_progress"] == 0
                   and info(mc, "persistence")["rdb_last_bgsave_status"] == "ok", what="BGSAVE")
        old = info(mc)
        path = tmp_path / "m" / "dump.rdb"
        aux = aux_of(path)
        keys = [k for k, _ in ((e.key, e.value) for e in read_all(path) if type(e) is Aux)]
        assert keys[-4:] == [b"repl-stream-db", b"repl-id", b"repl-offset", b"aof-base"]
        # the offset at the fork (a PING may have been fed since)
        assert old["master_repl_offset"] - 14 <= int(aux[b"repl-offset"]) <= old["master_repl_offset"]
        res = subprocess.run([sys.executable, "-m", "cli", "check", str(path)], cwd=ROOT,
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 0, res.stdout + res.stderr
        d = digest(mc)
    finally:
        m.stop()
        r.stop()
    # the stop saved again, after waiting for the replica (its GETACK moved the offset)
    aux = aux_of(path)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "dump.rdb").write_bytes(path.read_bytes())
    x = start_real(tmp_path / "x")
    try:
        xc = x.client()
        assert digest(xc) == d
        xi = info(xc)
        assert xi["master_replid2"] == old["master_replid"]
        assert xi["second_repl_offset"] == int(aux[b"repl-offset"]) + 1
        assert xi["repl_backlog_active"] == 1
    finally:
        x.stop()


def test_master_restart_too_many_expired_means_full_sync(tmp_path: Path) -> None:
    """psync2-master-restart: when the DELs of keys expired in the file overflow the new
    backlog, the replica's offset is no longer covered and it syncs in full."""
    m, r = pair_up(tmp_path, "ours", "ours", "--repl-backlog-size", "16kb")
    try:
        mc, rc = m.client(socket_timeout=10), r.client(socket_timeout=10)
        p = mc.pipeline(transaction=False)
        for i in range(2000):
            p.set(f"gone:{i:05d}", "x", px=300)
        p.set("stays", "y")
        p.execute()
        in_sync(mc, rc)
        save_and_kill(m, mc)
        import time

        time.sleep(0.4)
        m = restart(m)
        mc = m.client(socket_timeout=10)
        assert info(mc)["master_replid2"] != "0" * 40
        in_sync(mc, rc)
        stats = info(mc, "stats")
        assert stats["sync_full"] == 1 and stats["sync_partial_ok"] == 0
        assert rc.dbsize() == 1 and digest(rc) == digest(mc)
    finally:
        m.stop()
        r.stop()
