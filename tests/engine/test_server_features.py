"""Behaviour that a single-reply comparison cannot show: blocking, transactions with WATCH,
AUTH, MONITOR, SLOWLOG, CLIENT, active expiry, SCAN guarantees, shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis

from tests.engine.conftest import ServerProc, free_port, start_ours
from tests.support.servers import ours_env


def test_blpop_wakes_in_fifo_order(r: redis.Redis, ours: ServerProc) -> None:
    results: dict[str, object] = {}

    def waiter(name: str) -> None:
        c = ours.client()
        results[name] = c.blpop(["q1", "q2"], timeout=5)

    t1 = threading.Thread(target=waiter, args=("first",))
    t1.start()
    time.sleep(0.2)
    t2 = threading.Thread(target=waiter, args=("second",))
    t2.start()
    time.sleep(0.2)
    assert r.info("clients")["blocked_clients"] == 2
    r.rpush("q2", "a", "b")
    t1.join(5)
    t2.join(5)
    assert results == {"first": (b"q2", b"a"), "second": (b"q2", b"b")}
    assert r.exists("q2") == 0


def test_blocking_timeouts_and_blmove(r: redis.Redis, ours: ServerProc) -> None:
    t0 = time.time()
    assert r.brpop("nothing", timeout=0.2) is None
    assert 0.15 < time.time() - t0 < 2
    out: list[object] = []

    def mover() -> None:
        out.append(ours.client().blmove("src", "dst", 5, "LEFT", "RIGHT"))

    t = threading.Thread(target=mover)
    t.start()
    time.sleep(0.2)
    r.lpush("src", "x")
    t.join(5)
    assert out == [b"x"] and r.lrange("dst", 0, -1) == [b"x"]

    res: list[object] = []
    t = threading.Thread(target=lambda: res.append(ours.client().bzpopmin("zq", 5)))
    t.start()
    time.sleep(0.2)
    r.zadd("zq", {"m": 2.5})
    t.join(5)
    assert res == [(b"zq", b"m", 2.5)]


def test_blocked_client_pipeline_continues_after_unblock(ours: ServerProc, r: redis.Redis) -> None:
    s = socket.create_connection(("127.0.0.1", ours.port))
    s.settimeout(5)
    s.sendall(b"BLPOP bq 5\r\nPING\r\n")
    time.sleep(0.2)
    r.rpush("bq", "v")
    data = b""
    while not data.endswith(b"+PONG\r\n"):
        data += s.recv(1024)
    assert data == b"*2\r\n$2\r\nbq\r\n$1\r\nv\r\n+PONG\r\n"
    s.close()


def test_client_unblock(ours: ServerProc, r: redis.Redis) -> None:
    c = ours.client()
    cid = c.client_id()
    res: list[object] = []
    t = threading.Thread(target=lambda: res.append(c.blpop("never", 0)))
    t.start()
    time.sleep(0.2)
    assert r.client_unblock(cid) == 1
    t.join(5)
    assert res == [None]


def test_watch_multi_exec(r: redis.Redis, ours: ServerProc) -> None:
    other = ours.client()
    r.set("w", "1")
    with r.pipeline() as p:
        p.watch("w")
        other.set("w", "2")
        p.multi()
        p.set("w", "3")
        with pytest.raises(redis.WatchError):
            p.execute()
    with r.pipeline() as p:
        p.watch("w")
        other.setnx("w", "9")  # no change: must not abort
        p.multi()
        p.incr("w")
        assert p.execute() == [3]
    assert r.get("w") == b"3"
    # transaction through redis-py's default pipeline
    with r.pipeline() as p:
        p.set("a", 1).incr("a").lpush("a", "x")
        res = p.execute(raise_on_error=False)
    assert res[:2] == [True, 2] and isinstance(res[2], redis.ResponseError)


def test_requirepass_auth_and_hello(tmp_path) -> None:
    srv = start_ours(tmp_path, "--requirepass", "s3cret")
    try:
        anon = srv.client()
        with pytest.raises(redis.AuthenticationError):
            anon.get("x")
        with pytest.raises(redis.AuthenticationError):
            srv.client(password="wrong").ping()
        ok = srv.client(password="s3cret")
        assert ok.ping() is True
        r3 = srv.client(password="s3cret", protocol=3)
        r3.hset("h", mapping={"a": "1"})
        assert r3.hgetall("h") == {b"a": b"1"}
        info = r3.execute_command("HELLO", 3)
        assert info[b"proto"] == 3 and info[b"server"] == b"redis"
    finally:
        srv.stop()


def test_monitor_and_slowlog(r: redis.Redis, ours: ServerProc) -> None:
    m = ours.client()
    with m.monitor() as mon:
        r.set("mon-key", "v")
        for _ in range(10):
            cmd = mon.next_command()
            if cmd["command"] == "SET mon-key v":
                break
        else:
            pytest.fail("SET not seen by MONITOR")
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    r.get("slow")
    entries = r.slowlog_get()
    assert any(e["command"] == b"GET slow" for e in entries)
    assert r.slowlog_len() >= 1
    r.config_set("slowlog-log-slower-than", 10000)


def test_client_commands(r: redis.Redis, ours: ServerProc) -> None:
    r.client_setname("me")
    assert r.client_getname() == "me"
    other = ours.client()
    other.client_setname("victim")
    other.ping()
    names = {c["name"] for c in r.client_list()}
    assert {"me", "victim"} <= names
    assert "name=me" in r.execute_command("CLIENT", "INFO").decode()
    victim_id = next(c["id"] for c in r.client_list() if c["name"] == "victim")
    assert r.client_kill_filter(_id=victim_id) == 1
    assert "victim" not in {c["name"] for c in r.client_list()}


def test_active_expiry(r: redis.Redis) -> None:
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    for i in range(200):
        r.set(f"e{i}", "v", px=50)
    r.set("keep", "v")
    time.sleep(1.5)
    # the keys expired without being touched by any command
    assert r.info("stats")["expired_keys"] >= 150
    assert r.dbsize() < 60


def test_scan_guarantee_under_churn(r: redis.Redis) -> None:
    stable = {f"s{i}".encode() for i in range(500)}
    for k in stable:
        r.set(k, "v")
    seen: set[bytes] = set()
    cursor = 0
    i = 0
    while True:
        cursor, keys = r.scan(cursor, count=17)
        seen.update(keys)
        r.set(f"new{i}", "v")  # keys come and go during the scan
        r.delete(f"new{i - 3}")
        i += 1
        if cursor == 0:
            break
    assert stable <= seen
    # hashtable-encoded collections too
    r.hset("bigh", mapping={f"f{i}": "v" for i in range(1000)})
    fields = set()
    cursor = 0
    while True:
        cursor, chunk = r.hscan("bigh", cursor, count=50)
        fields.update(chunk)
        r.hdel("bigh", f"f{999 - i}")
        i += 1
        if cursor == 0:
            break
    assert {f"f{i}".encode() for i in range(500)} <= fields


def test_config_rewrite_and_file(tmp_path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text('# test\nhash-max-ziplist-entries 7\nmaxmemory 1mb\nsave ""\n')
    srv = start_ours(tmp_path, config=conf, common=False)
    try:
        c = srv.client()
        assert c.config_get("hash-max-listpack-entries") == {"hash-max-listpack-entries": "7"}
        assert c.config_get("maxmemory") == {"maxmemory": "1048576"}  # "mb" = 1024*1024
        c.config_set("slowlog-max-len", 99)
        assert c.config_rewrite() in (True, b"OK")
        text = conf.read_text()
        assert "# test" in text and "slowlog-max-len 99" in text and "hash-max-listpack-entries 7" in text
    finally:
        srv.stop()


def test_shutdown_paths(tmp_path) -> None:
    srv = start_ours(tmp_path)
    os.kill(srv.proc.pid, signal.SIGTERM)
    assert srv.proc.wait(10) == 0
    srv = start_ours(tmp_path)
    srv.client().shutdown()  # redis-py treats the closed connection as success
    assert srv.proc.wait(10) == 0


def test_bad_config_refused(tmp_path) -> None:
    with pytest.raises(RuntimeError):
        start_ours(tmp_path, "--no-such-directive", "1")
    with pytest.raises(RuntimeError):
        start_ours(tmp_path, "--tls-port", "6390")


def test_save_points_and_save_on_shutdown(tmp_path) -> None:
    # no --save '': the server keeps a save point, as redis-server does
    srv = start_ours(tmp_path, "--save", "1 1", common=False)
    try:
        c = srv.client()
        c.set("a", "1")
        deadline = time.time() + 10
        while not (tmp_path / "dump.rdb").exists() and time.time() < deadline:
            time.sleep(0.1)
        assert (tmp_path / "dump.rdb").exists(), "the save point did not trigger a BGSAVE"
        c.set("b", "2")
    finally:
        srv.stop()  # SIGTERM: saves the final snapshot
    srv = start_ours(tmp_path)
    try:
        assert srv.client().mget("a", "b") == [b"1", b"2"]
    finally:
        srv.stop()


def test_rdbkit_server_cli_verb(tmp_path) -> None:
    """``rdbkit server [--opt val]`` runs the same server (the click verb of cli/main.py)."""
    port = free_port()
    rdbkit = [sys.executable, "-c", "from cli.main import main; main()"]
    srv = ServerProc([*rdbkit, "server", "--port", str(port), "--save", "", "--dir", str(tmp_path),
                      "--loglevel", "warning"], port, tmp_path, ours_env())
    try:
        c = srv.client()
        assert c.ping() and c.config_get("port") == {"port": str(port)}
    finally:
        srv.stop()
    bad = subprocess.run([*rdbkit, "server", "--bogus", "1"],
                         env=ours_env(), capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "Bad directive" in bad.stderr
