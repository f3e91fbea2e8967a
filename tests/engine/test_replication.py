"""Master–replica replication against real redis-server 7.0, in both roles, and ours with ours.

Each scenario writes every data type (plus expiries, MULTI/EXEC and rewritten
commands) on the master, waits until the replica processed the master's whole
stream, and compares ``DEBUG DIGEST`` (ours matches Redis's construction). Links
are killed from either side to check partial resynchronisation (``sync_partial_ok``),
and ``REPLICAOF NO ONE`` promotes a replica keeping its history as ``replid2``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from .conftest import ServerProc, start_ours, start_real

FAST = ["--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"]


def info(c: redis.Redis, section: str = "replication") -> dict[str, object]:
    return c.info(section)  # type: ignore[no-any-return]


def wait_until(pred, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred():
                return
        except (redis.ConnectionError, redis.ResponseError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def in_sync(master: redis.Redis, replica: redis.Redis) -> None:
    """The replica's link is up and it processed everything the master sent."""

    def ok() -> bool:
        m = info(master)
        r = info(replica)
        return (r.get("master_link_status") == "up"
                and r.get("slave_repl_offset") == m["master_repl_offset"])

    wait_until(ok, what="the replica to catch up")


def digest(c: redis.Redis) -> bytes:
    return c.execute_command("DEBUG", "DIGEST")  # type: ignore[no-any-return]


def write_everything(c: redis.Redis, tag: str) -> None:
    far = int(time.time() * 1000) + 3_600_000
    p = c.pipeline(transaction=False)
    p.set(f"s:{tag}", "v" * 50)
    p.set(f"n:{tag}", 10)
    p.incrbyfloat(f"n:{tag}", 1.5)
    p.set(f"ex:{tag}", "x", ex=500)
    p.set(f"px:{tag}", "x", px=900_000)
    p.execute_command("SETEX", f"setex:{tag}", 800, "y")
    p.set(f"ttl:{tag}", "z")
    p.expire(f"ttl:{tag}", 1000)
    p.set(f"at:{tag}", "z")
    p.pexpireat(f"at:{tag}", far)
    p.rpush(f"l:{tag}", *[f"e{i}" for i in range(20)])
    p.rpush(f"big:{tag}", *[str(i) * 20 for i in range(300)])
    p.lpop(f"l:{tag}")
    p.hset(f"h:{tag}", mapping={f"f{i}": i for i in range(10)})
    p.hincrbyfloat(f"h:{tag}", "f1", 0.25)
    p.sadd(f"set:{tag}", *range(30))
    p.sadd(f"strset:{tag}", *[f"m{i}" for i in range(30)])
    p.spop(f"strset:{tag}", 3)
    p.zadd(f"z:{tag}", {f"m{i}": i / 3 for i in range(40)})
    p.zincrby(f"z:{tag}", 2.5, "m1")
    p.zpopmin(f"z:{tag}")
    p.setbit(f"bits:{tag}", 77, 1)
    p.xadd(f"st:{tag}", {"a": "1"}, id="1-1")
    p.xadd(f"st:{tag}", {"b": "2"}, id="2-1")
    p.execute()
    with c.pipeline(transaction=True) as t:
        t.incr(f"ctr:{tag}")
        t.rpush(f"tx:{tag}", "a", "b")
        t.hset(f"txh:{tag}", "k", "v")
        t.execute()
    c.execute_command("SELECT", 3)
    c.set(f"db3:{tag}", "three")
    c.execute_command("SELECT", 0)
    c.delete(f"s:{tag}")
    c.set(f"s:{tag}", "again")


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


def _stop(*procs: ServerProc) -> None:
    for p in procs:
        p.stop()


@pytest.fixture
def servers() -> Iterator[list[ServerProc]]:
    started: list[ServerProc] = []
    yield started
    _stop(*reversed(started))


def _dirs(tmp: Path, *names: str) -> list[Path]:
    out = []
    for n in names:
        d = tmp / n
        d.mkdir()
        out.append(d)
    return out


# -- (1) a real replica of our master -----------------------------------------------------------------
@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_real_replica_of_our_master(tmp: Path, servers: list[ServerProc], diskless: str) -> None:
    dm, dr = _dirs(tmp, "m", "r")
    ours = start_ours(dm, *FAST, "--repl-diskless-sync", diskless)
    servers.append(ours)
    m = ours.client(socket_timeout=10)
    write_everything(m, "before")
    real = start_real(dr)
    servers.append(real)
    r = real.client(socket_timeout=10)
    r.replicaof("127.0.0.1", ours.port)
    in_sync(m, r)
    write_everything(m, "after")
    assert m.execute_command("WAIT", 1, 5000) == 1  # REPLCONF GETACK → the real replica's ACK
    in_sync(m, r)
    assert digest(r) == digest(m)
    assert info(m, "stats")["sync_full"] == 1
    rep = info(m)
    assert rep["connected_slaves"] == 1 and rep["slave0"]["state"] == "online"
    assert rep["repl_backlog_active"] == 1
    role = m.execute_command("ROLE")
    assert role[0] == b"master" and role[2][0][1] == str(real.port).encode()

    # the link dies; the replica comes back with PSYNC and gets the backlog
    partial = info(m, "stats")["sync_partial_ok"]
    assert m.client_kill_filter(_type="replica") == 1
    write_everything(m, "during")
    wait_until(lambda: info(m, "stats")["sync_partial_ok"] == partial + 1, what="a partial resync")
    in_sync(m, r)
    assert digest(r) == digest(m)
    assert info(m, "stats")["sync_full"] == 1


# -- (2) our replica of a real master -----------------------------------------------------------------
def test_our_replica_of_real_master(tmp: Path, servers: list[ServerProc]) -> None:
    dm, dr = _dirs(tmp, "m", "r")
    real = start_real(dm, "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")
    servers.append(real)
    m = real.client(socket_timeout=10)
    write_everything(m, "before")
    ours = start_ours(dr, "--replicaof", "127.0.0.1", str(real.port))
    servers.append(ours)
    r = ours.client(socket_timeout=10)
    in_sync(m, r)
    write_everything(m, "after")
    in_sync(m, r)
    assert digest(r) == digest(m)
    assert info(m, "stats")["sync_full"] == 1
    assert r.get("s:before") == b"again"
    with pytest.raises(redis.ReadOnlyError, match="You can't write against a read only replica"):
        r.set("x", 1)
    with pytest.raises(redis.ResponseError, match="read only replica"):  # queued → EXECABORT
        with r.pipeline(transaction=True) as t:
            t.set("x", 1)
            t.execute()
    role = r.execute_command("ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", real.port, b"connected"]
    assert any(c["flags"] == "M" for c in r.client_list())

    # our side drops the link: PSYNC <replid> <offset+1> continues
    ok = info(m, "stats")["sync_partial_ok"]
    assert r.client_kill_filter(_type="master") == 1
    write_everything(m, "gap1")
    wait_until(lambda: info(m, "stats")["sync_partial_ok"] == ok + 1, what="a partial resync")
    in_sync(m, r)
    # the master drops it
    assert m.client_kill_filter(_type="replica") == 1
    write_everything(m, "gap2")
    wait_until(lambda: info(m, "stats")["sync_partial_ok"] == ok + 2, what="a second partial resync")
    in_sync(m, r)
    assert digest(r) == digest(m)
    assert info(m, "stats")["sync_full"] == 1

    # promotion keeps the history as replid2
    before = info(r)
    r.replicaof("NO", "ONE")
    after = info(r)
    assert after["role"] == "master"
    assert after["master_replid2"] == before["master_replid"] != after["master_replid"]
    assert after["second_repl_offset"] == before["master_repl_offset"] + 1
    r.set("x", 1)
    assert r.get("x") == b"1"


# -- (3) our replica of our master, and a replica of that replica -------------------------------------
def test_our_replica_of_our_master_chained(tmp: Path, servers: list[ServerProc]) -> None:
    dm, dr, dc = _dirs(tmp, "m", "r", "c")
    a = start_ours(dm, *FAST)
    servers.append(a)
    m = a.client(socket_timeout=10)
    write_everything(m, "before")
    b = start_ours(dr, *FAST, "--replicaof", "127.0.0.1", str(a.port))
    servers.append(b)
    r = b.client(socket_timeout=10)
    in_sync(m, r)
    c = start_ours(dc, "--replicaof", "127.0.0.1", str(b.port))
    servers.append(c)
    s = c.client(socket_timeout=10)
    write_everything(m, "after")
    assert m.execute_command("WAIT", 1, 5000) == 1
    in_sync(m, r)
    in_sync(r, s)
    assert digest(m) == digest(r) == digest(s)
    assert info(s)["master_replid"] == info(m)["master_replid"]

    # expired keys: the replicas keep them until the master's DEL, but reads say nil
    m.set("short", "v", px=300)
    in_sync(m, r)
    time.sleep(0.4)
    assert r.get("short") is None and r.exists("short") == 0
    m.get("short")  # the master expires it lazily and propagates DEL
    in_sync(m, r)
    in_sync(r, s)
    assert digest(m) == digest(r) == digest(s)

    ok = info(m, "stats")["sync_partial_ok"]
    assert r.client_kill_filter(_type="master") == 1
    write_everything(m, "gap")
    wait_until(lambda: info(m, "stats")["sync_partial_ok"] == ok + 1, what="a partial resync")
    in_sync(m, r)
    in_sync(r, s)
    assert digest(m) == digest(r) == digest(s)

    # WAIT counts acks; a replica refuses WAIT
    assert m.execute_command("WAIT", 1, 0) == 1
    t0 = time.time()
    assert m.execute_command("WAIT", 2, 300) == 1  # times out with the count acked so far
    assert time.time() - t0 >= 0.25
    with pytest.raises(redis.ResponseError, match="WAIT cannot be used with replica instances"):
        r.execute_command("WAIT", 1, 10)

    # the chain's middle is promoted: its replica continues with it partially
    ok_b = info(r, "stats")["sync_partial_ok"]
    r.replicaof("NO", "ONE")
    r.set("promoted", "yes")
    wait_until(lambda: s.get("promoted") == b"yes", what="the sub-replica to follow its promoted master")
    assert info(r, "stats")["sync_partial_ok"] == ok_b + 1
    assert digest(r) == digest(s)
