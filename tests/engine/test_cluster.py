"""Cluster mode (engine/cluster): our nodes and real redis-server 7.0.15 nodes in one
cluster over Redis Cluster's own bus.

Every node runs on loopback with free ports (the bus port given explicitly: a free port
plus 10,000 may not exist) and a 1 s ``cluster-node-timeout`` so the state settles
quickly (clusterUpdateState's rejoin delay is the node timeout, at least 0.5 s).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from engine.cluster.node import parse_config
from tests.support.servers import (
    ServerProc,
    free_port,
    ours_argv,
    ours_env,
    run_ours,
    start_ours,
    start_real,
    tool_binary,
)

CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-node-timeout", "1000")


def node(tmp: Path, kind: str, name: str) -> ServerProc:
    d = tmp / name
    d.mkdir()
    start = start_ours if kind == "ours" else start_real
    return start(d, *CLUSTER_ARGS, "--cluster-port", str(free_port()))


@contextmanager
def nodes(tmp: Path, *kinds: str) -> Iterator[list[ServerProc]]:
    with ExitStack() as stack:
        procs = []
        for i, kind in enumerate(kinds):
            p = node(tmp, kind, f"{kind}{i}")
            stack.callback(p.stop)
            procs.append(p)
        yield procs


def wait_for(what: str, check: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def reply(c: redis.Redis, *args: Any) -> Any:
    try:
        return c.execute_command(*args)
    except redis.ResponseError as exc:
        return ("error", str(exc))


def cluster_nodes(c: redis.Redis) -> dict[str, list[str]]:
    text = c.execute_command("CLUSTER", "NODES")
    text = text.decode() if isinstance(text, bytes) else text
    return {ln.split()[0]: ln.split() for ln in text.splitlines() if ln}


def info(c: redis.Redis) -> dict[str, str]:
    text = c.execute_command("CLUSTER", "INFO")
    text = text.decode() if isinstance(text, bytes) else text
    return dict(ln.split(":", 1) for ln in text.split("\r\n") if ln)


def test_single_node_replies_match_real(tmp_path: Path) -> None:
    """A fresh node, then one serving every slot: the same replies and errors as 7.0.15."""
    with nodes(tmp_path, "ours", "real") as (ours, real):
        a, b = ours.client(), real.client()
        ids = {a.execute_command("CLUSTER", "MYID"), b.execute_command("CLUSTER", "MYID")}

        def both(*args: Any) -> None:
            """The raw replies, byte for byte, but for the node ids and ports."""
            got = []
            for x in (ours, real):
                raw = x.call(*(str(v).encode() for v in args))
                got.append(re.sub(rb"[0-9a-f]{40}", b"ID", raw).replace(b":%d\r\n" % x.port, b":PORT\r\n"))
            assert got[0] == got[1], args

        assert len(ids) == 2 and all(re.fullmatch(rb"[0-9a-f]{40}", i) for i in ids)
        for args in [("CLUSTER", "INFO"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"), ("CLUSTER", "KEYSLOT", "foo"),
                     ("CLUSTER", "KEYSLOT", "{user1000}.following"), ("CLUSTER", "KEYSLOT", "foo{}{bar}"),
                     ("CLUSTER", "COUNTKEYSINSLOT", "16384"), ("CLUSTER", "COUNTKEYSINSLOT", "x"),
                     ("CLUSTER", "GETKEYSINSLOT", "1", "-1"), ("CLUSTER", "ADDSLOTS", "16384"),
                     ("CLUSTER", "ADDSLOTS", "x"), ("CLUSTER", "ADDSLOTS", "1", "1"), ("CLUSTER", "DELSLOTS", "5"),
                     ("CLUSTER", "ADDSLOTSRANGE", "5", "1"), ("CLUSTER", "ADDSLOTSRANGE", "1", "2", "3"),
                     ("CLUSTER", "SET-CONFIG-EPOCH", "-1"), ("CLUSTER", "FORGET", "nobody"),
                     ("CLUSTER", "MEET", "nowhere", "1"), ("CLUSTER", "MEET", "127.0.0.1", "x"),
                     ("CLUSTER", "MEET", "127.0.0.1", "1", "2", "3"), ("CLUSTER", "RESET", "x"),
                     ("CLUSTER", "BUMPEPOCH"), ("CLUSTER", "SET-CONFIG-EPOCH", "3"), ("CLUSTER", "BUMPEPOCH"),
                     ("SET", "foo", "bar"), ("GET", "foo"), ("SELECT", "1"), ("SELECT", "0"), ("SWAPDB", "0", "1"),
                     ("MOVE", "foo", "1"), ("COPY", "a", "b", "DB", "1"), ("CLUSTER", "ADDSLOTSRANGE", "0", "99"),
                     ("CLUSTER", "ADDSLOTS", "50"), ("CLUSTER", "ADDSLOTS", "100", "200", "100"),
                     ("CLUSTER", "ADDSLOTSRANGE", "100", "16383"), ("CLUSTER", "DELSLOTSRANGE", "0", "0"),
                     ("CLUSTER", "ADDSLOTS", "0"), ("CLUSTER", "SLOTS"), ("CLUSTER", "COUNTKEYSINSLOT", "12182"),
                     ("READONLY",), ("READWRITE",), ("ASKING",)]:
            both(*args)
        for x in (a, b):
            wait_for("cluster_state:ok", lambda x=x: info(x)["cluster_state"] == "ok")
        for args in [("CLUSTER", "INFO"), ("SET", "foo", "bar"), ("MSET", "a", "1", "b", "2"),
                     ("MSET", "{t}a", "1", "{t}b", "2"), ("CLUSTER", "COUNTKEYSINSLOT", "12182"),
                     ("CLUSTER", "GETKEYSINSLOT", "12182", "10"), ("CLUSTER", "FLUSHSLOTS"),
                     ("CLUSTER", "RESET"), ("EVAL", "return redis.call('get', KEYS[1])", "2", "a", "b")]:
            both(*args)
        lines = [cluster_nodes(x) for x in (a, b)]
        for mine, x in zip(lines, (ours, real)):
            (me,) = mine.values()
            assert me[1:] == [f":{x.port}@{me[1].split('@')[1]}", "myself,master", "-", "0", "0", "1", "connected",
                              "0-16383"]


def test_bus_port_past_65535_refuses_the_start(tmp_path: Path) -> None:
    """clusterInit: without cluster-port, port + 10000 must be a port."""
    out = run_ours("--port", "60000", "--dir", str(tmp_path), "--cluster-enabled", "yes", cwd=tmp_path, text=True)
    assert out.returncode == 1 and "Your Redis port number must be 55535 or less." in out.stdout + out.stderr
    assert not (tmp_path / "nodes.conf").exists()


def test_meet_with_a_real_node_both_ways_and_nodes_conf(tmp_path: Path) -> None:
    with nodes(tmp_path, "ours", "real") as (ours, real):
        a, b = ours.client(), real.client()
        ida, idb = (x.execute_command("CLUSTER", "MYID").decode() for x in (a, b))
        a.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 8000)
        b.execute_command("CLUSTER", "ADDSLOTSRANGE", 8001, 16383)
        cport_b = int(cluster_nodes(b)[idb][1].split("@")[1])
        assert a.execute_command("CLUSTER", "MEET", "127.0.0.1", real.port, cport_b) == b"OK"

        def joined() -> bool:
            na, nb = cluster_nodes(a), cluster_nodes(b)
            return (idb in na and ida in nb and na[idb][2] == "master" and nb[ida][2] == "master"
                    and na[idb][8:] == ["8001-16383"] and nb[ida][8:] == ["0-8000"])

        wait_for("each node listing the other with its slots", joined)
        for x in (a, b):
            wait_for("cluster_state:ok", lambda x=x: info(x)["cluster_state"] == "ok")
        na, nb = cluster_nodes(a), cluster_nodes(b)
        assert na[ida][1] == f"127.0.0.1:{ours.port}@{nb[ida][1].split('@')[1]}" == nb[ida][1]
        assert na[idb][1] == nb[idb][1] and na[idb][7] == nb[ida][7] == "connected"
        # equal config epochs (0) collided: the node with the smaller id took a new one
        assert {na[ida][6], nb[idb][6]} == {"0", "1"} and na[idb][6] == nb[idb][6] and nb[ida][6] == na[ida][6]
        assert info(a)["cluster_known_nodes"] == info(b)["cluster_known_nodes"] == "2"
        assert ours.call(b"SET", b"foo", b"x") == b"-MOVED 12182 127.0.0.1:%d\r\n" % real.port
        assert ours.call(b"SET", b"a", b"x") == b"-MOVED 15495 127.0.0.1:%d\r\n" % real.port
        assert real.call(b"SET", b"b", b"x") == b"-MOVED 3300 127.0.0.1:%d\r\n" % ours.port
        assert ours.call(b"SET", b"b", b"x") == b"+OK\r\n"
        # PUBLISH reaches the other node's subscribers over the bus, both ways
        for pub, sub in ((a, b), (b, a)):
            ps = sub.pubsub()
            ps.subscribe("news")
            wait_for("the subscription", lambda ps=ps: ps.get_message(timeout=0.1))
            assert pub.publish("news", "hello") == 0  # no subscriber on the publishing node
            msg = wait_for("the message", lambda ps=ps: ps.get_message(timeout=0.1))
            assert msg["data"] == b"hello"
            ps.close()
        # our nodes.conf is reloaded as Redis reloads it; Redis's own file parses too
        ours.stop()
        argv = ours_argv(ours.port, ours.dir, *CLUSTER_ARGS, "--cluster-port", na[ida][1].split("@")[1])
        again = ServerProc(argv, ours.port, ours.dir, ours_env())
        try:
            c = again.client()
            assert c.execute_command("CLUSTER", "MYID").decode() == ida
            wait_for("the real node reconnected", lambda: cluster_nodes(c).get(idb, [""] * 8)[7] == "connected")
            assert cluster_nodes(c)[idb][8:] == ["8001-16383"]
        finally:
            again.stop()
        text = (real.dir / "nodes.conf").read_text()
        parsed, vars_ = parse_config(text)
        assert {n.name for n in parsed} == {ida, idb} and set(vars_) == {"currentepoch", "lastvoteepoch"}


def _create_and_use(procs: list[ServerProc], tmp: Path) -> str:
    cli = tool_binary("redis-cli")
    assert cli, "redis-cli is installed with redis-server"
    addrs = [f"127.0.0.1:{p.port}" for p in procs]
    out = subprocess.run([cli, "--cluster", "create", *addrs, "--cluster-yes"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[OK] All 16384 slots covered." in out.stdout
    for p in procs:
        wait_for("cluster_state:ok", lambda p=p: info(p.client())["cluster_state"] == "ok")
    check = subprocess.run([cli, "--cluster", "check", addrs[0]], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "[ERR]" not in check.stdout and "[WARNING]" not in check.stdout, check.stdout
    assert "[OK] All nodes agree about slots configuration." in check.stdout
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p.port) for p in procs])
    try:
        for i in range(1000):
            rc.set(f"key:{i}", f"value:{i}")
        assert [rc.get(f"key:{i}") for i in range(1000)] == [f"value:{i}".encode() for i in range(1000)]
    finally:
        rc.close()
    counts = [p.client().dbsize() for p in procs]
    assert sum(counts) == 1000 and all(200 < n < 500 for n in counts)
    for p in procs:  # redis-cli -c follows MOVED from any node
        got = subprocess.run([cli, "-c", "-p", str(p.port), "GET", "key:7"], capture_output=True, text=True,
                             timeout=30)
        assert got.stdout.strip() == "value:7"
    return check.stdout


# the default run mixes two of ours with a real node; RDBKIT_SOAK=1 adds three of ours
MIXES = [("ours", "real", "ours")] + ([("ours", "ours", "ours")] if os.environ.get("RDBKIT_SOAK") else [])


@pytest.mark.parametrize("kinds", MIXES, ids="-".join)
def test_redis_cli_cluster_create_check_and_clients(tmp_path: Path, kinds: tuple[str, ...]) -> None:
    with nodes(tmp_path, *kinds) as procs:
        text = _create_and_use(procs, tmp_path)
        assert text.count("M: ") == 3
