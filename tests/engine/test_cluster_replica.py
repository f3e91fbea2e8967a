"""A cluster node as a replica, where Redis Cluster's own suite (tests/cluster) relies on
the replication side: how long the replica has been without its master (the
cluster-replica-validity-factor check of clusterHandleSlaveFailover) and the keys a
replica keeps when it loads its file at start (rdbLoad's iAmMaster()).

Each behaviour is checked on real redis-server 7.0.15 and on ours, the same way.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.test_cluster import CLUSTER_ARGS, cluster_nodes, distinct_ports, info, wait_for
from tests.support.servers import ServerProc, ours_argv, ours_env, real_argv

KINDS = ["real", "ours"]


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
    with start(kind, tmp_path / "m", mport) as m, \
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


@pytest.mark.parametrize("kind", KINDS)
def test_cluster_replica_keeps_expired_keys_loading_its_file(kind: str, tmp_path: Path) -> None:
    """A cluster node that nodes.conf says is a replica keeps the keys already expired in
    the file it loads at start (iAmMaster() is the node's own role in cluster mode): they
    go when its master's DELs come. A master drops them."""
    ports = distinct_ports(4)
    args = (*CLUSTER_ARGS, "--repl-diskless-sync-delay", "0")
    with start(kind, tmp_path / "a", ports[0], *args, "--cluster-port", str(ports[1])) as a, \
            start(kind, tmp_path / "b", ports[2], *args, "--cluster-port", str(ports[3])) as b:
        ca, cb_ = a.client(), b.client()
        ida = ca.execute_command("CLUSTER", "MYID").decode()
        ca.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
        cb_.execute_command("CLUSTER", "MEET", "127.0.0.1", a.port, ports[1])
        wait_for("the meeting", lambda: ida in cluster_nodes(cb_), timeout=15)
        cb_.execute_command("CLUSTER", "REPLICATE", ida)
        wait_for("the replica in sync", lambda: info(cb_)["cluster_state"] == info(ca)["cluster_state"] == "ok"
                 and cb_.info("replication")["master_link_status"] == "up", timeout=15)
        ca.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        for i in range(5):
            ca.set(f"{{t}}k{i}", "v", px=800)
        ca.set("{t}kept", "v")
        wait_for("the keys on the replica", lambda: cb_.dbsize() == 6)
        cb_.save()
        for x in (b, a):
            x.stop()
        time.sleep(1)  # every volatile key expired
        with start(kind, tmp_path / "b", ports[2], *args, "--cluster-port", str(ports[3])) as b2:
            assert "slave" in cluster_nodes(b2.client())[b2.client().execute_command("CLUSTER", "MYID").decode()][2]
            assert b2.client().dbsize() == 6
        with start(kind, tmp_path / "b", ports[2], "--appendonly", "no") as b3:  # no cluster: a master
            assert b3.client().dbsize() == 1


