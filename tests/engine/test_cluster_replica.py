"""A cluster node as a replica, where Redis Cluster's own suite (tests/cluster) relies on
the replication side: how long the replica has been without its master (the
cluster-replica-validity-factor check of clusterHandleSlaveFailover) and the keys a
replica keeps when it loads its file at start (rdbLoad's iAmMaster()).

Each behaviour is checked on real redis-server 7.0.15 and on ours, the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.engine.test_cluster import (
    CLUSTER_ARGS,
    cluster_nodes,
    distinct_ports,
    info,
    nodes,
    wait_for,
)
from tests.support.servers import ServerProc, ours_argv, ours_env, real_argv

# the real server's runs, the oracle, cost ~15 s more: RDBKIT_SOAK=1 adds them
KINDS = ["real", "ours"] if os.environ.get("RDBKIT_SOAK") else ["ours"]


def start(kind: str, d: Path, port: int, *extra: str) -> ServerProc:
    d.mkdir(exist_ok=True)
    if kind == "ours":
        return ServerProc(ours_argv(port, d, *extra), port, d, ours_env())
    return ServerProc(real_argv(port, d, *extra), port, d)


@pytest.mark.parametrize("kind", KINDS)
def test_link_killed_before_a_blocking_command_counts_as_down(kind: str, tmp_path: Path) -> None:
    """CLIENT KILL of the master link frees it at once (replicationCacheMaster sets
    repl_down_since): a DEBUG SLEEP queued behind it in the same MULTI is time without the
    master, as the cluster suite's 06-slave-stop-cond counts on."""
    mport, rport = distinct_ports(2)
    with start(kind, tmp_path / "m", mport, "--repl-diskless-sync-delay", "0") as m, \
            start(kind, tmp_path / "r", rport, "--replicaof", "127.0.0.1", str(mport)) as r:
        rc = r.client()
        wait_for("the link up", lambda: rc.info("replication")["master_link_status"] == "up")
        m.client().execute_command("CLIENT", "PAUSE", 60000)  # no resync until the test ends
        tx = rc.pipeline(transaction=True)
        tx.execute_command("CLIENT", "KILL", f"127.0.0.1:{mport}")
        tx.execute_command("DEBUG", "SLEEP", 2)
        assert tx.execute() == [b"OK", b"OK"]
        repl = rc.info("replication")
        assert repl["master_link_status"] == "down" and repl["master_link_down_since_seconds"] >= 2
        m.stop(kill=True)  # paused: no graceful shutdown


def cluster_id(p: ServerProc) -> str:
    return p.client().execute_command("CLUSTER", "MYID").decode()


@contextmanager
def master_and_replica(kind: str, tmp: Path, *extra: str) -> Iterator[tuple[ServerProc, ServerProc, list[int]]]:
    """Two cluster nodes: ``a`` serving every slot, ``b`` its replica, in sync; yields them
    and their ports (a, a's bus, b, b's bus)."""
    with nodes(tmp, kind, kind, extra=("--repl-diskless-sync-delay", "0", *extra)) as (a, b):
        ports = [a.port, int(cluster_nodes(a.client())[cluster_id(a)][1].split("@")[1]),
                 b.port, int(cluster_nodes(b.client())[cluster_id(b)][1].split("@")[1])]
        ca, cb_ = a.client(), b.client()
        ida = cluster_id(a)
        ca.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        cb_.execute_command("CLUSTER", "MEET", "127.0.0.1", a.port, ports[1])
        wait_for("the meeting", lambda: ida in cluster_nodes(cb_), timeout=15)
        cb_.execute_command("CLUSTER", "REPLICATE", ida)
        wait_for("the replica in sync", lambda: info(cb_)["cluster_state"] == info(ca)["cluster_state"] == "ok"
                 and cb_.info("replication")["master_link_status"] == "up", timeout=15)
        yield a, b, ports


def _in_slots(c: redis.Redis, port: int) -> bool:
    return any(node[1] == port for entry in c.execute_command("CLUSTER", "SLOTS") for node in entry[2:])


@pytest.mark.parametrize("kind", KINDS)
def test_cluster_replica_full_sync_hidden_and_expired_keys_kept_at_load(kind: str, tmp_path: Path) -> None:
    """A replica in a full sync has no offset (the cached master goes at +FULLRESYNC,
    replicationDiscardCachedMaster) and says so in its pings: its master leaves it out of
    CLUSTER SLOTS (isReplicaAvailable) while it loads (INFO loading:1), then lists it again.

    Restarted, a node that nodes.conf says is a replica keeps the keys already expired in
    the file it loads (iAmMaster() is the node's own role in cluster mode): they go when
    its master's DELs come. A master drops them."""
    with master_and_replica(kind, tmp_path) as (a, b, ports):
        ca, cb_ = a.client(), b.client()
        ca.set("{t}x", 1)
        wait_for("the replica listed", lambda: _in_slots(ca, b.port))
        ca.config_set("repl-backlog-size", 100)
        cb_.config_set("key-load-delay", 4000)
        cb_.config_set("loading-process-events-interval-bytes", 1024)
        tx = ca.pipeline(transaction=True)
        tx.execute_command("CLIENT", "KILL", "TYPE", "replica")
        for j in range(400):
            tx.set(f"{{t}}{j}", "A" * 1024)
        tx.execute()
        wait_for("the replica hidden", lambda: not _in_slots(ca, b.port))
        assert cb_.info("persistence")["loading"] == 1
        wait_for("the sync done", lambda: cb_.info("replication")["master_link_status"] == "up", timeout=15)
        wait_for("the replica listed again", lambda: _in_slots(ca, b.port))
        cb_.config_set("key-load-delay", 0)
        ca.flushall()
        ca.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        for i in range(5):
            ca.set(f"{{t}}k{i}", "v", px=800)
        ca.set("{t}kept", "v")
        wait_for("the keys on the replica", lambda: cb_.dbsize() == 6)
        cb_.save()
        replid = cb_.info("replication")["master_replid"]
        for x in (b, a):
            x.stop()
    time.sleep(1)  # every volatile key expired
    with start(kind, b.dir, ports[2], *CLUSTER_ARGS, "--cluster-port", str(ports[3])) as b2:
        c2 = b2.client()
        assert "slave" in cluster_nodes(c2)[cluster_id(b2)][2]
        assert c2.dbsize() == 6
        # and it takes the file's replication id as its own (a PSYNC, or an async load, can follow)
        assert c2.info("replication")["master_replid"] == replid
    with start(kind, b.dir, ports[2], "--appendonly", "no") as b3:  # no cluster: a master
        assert b3.client().dbsize() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_swapdb_full_sync_loads_async_and_keeps_the_data_if_it_fails(kind: str, tmp_path: Path) -> None:
    """repl-diskless-load swapdb with the master's own replication id (a restarted
    replica's file gave it): the replica goes on serving its data while it loads (INFO
    async_loading:1, readSyncBulkPayload's asyncLoading) and keeps it when the master
    goes away mid-sync."""
    mport, rport = distinct_ports(2)
    rargs = ("--replicaof", "127.0.0.1", str(mport), "--repl-diskless-load", "swapdb",
             "--loading-process-events-interval-bytes", "1024")  # INFO answered while loading
    # uncompressed: the slowed-down payload comes in many pieces, not all at the end
    with start(kind, tmp_path / "m", mport, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
               "--repl-backlog-size", "1024", "--rdbcompression", "no") as m:
        cm = m.client()
        with start(kind, tmp_path / "r", rport, *rargs) as r:
            cm.set("old", 1)
            wait_for("the replica in sync", lambda: r.client().get("old") == b"1")
            r.client().save()
        cm.delete("old")
        cm.config_set("rdb-key-save-delay", 10000)
        for j in range(300):
            cm.set(str(j), "A" * 1024)  # past the backlog: a full sync, slowed down
        with start(kind, tmp_path / "r", rport, *rargs) as r:
            cr = r.client()
            wait_for("the async load", lambda: cr.info("persistence")["async_loading"] == 1)
            assert cr.info("persistence")["loading"] == 0 and cr.get("old") == b"1"
            m.stop(kill=True)
            wait_for("the load given up", lambda: cr.info("persistence")["async_loading"] == 0)
            assert cr.get("old") == b"1" and cr.dbsize() == 1
