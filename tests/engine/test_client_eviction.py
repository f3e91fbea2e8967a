"""Client eviction (``maxmemory-clients``) and clients' buffers in ``used_memory``,
compared with real redis-server 7.0 on servers of their own: a client whose query
buffer, MULTI queue or unread output takes the clients past the limit is dropped (the
largest first, never a CLIENT NO-EVICT one), the limit as a percentage of maxmemory,
lowering the limit evicts at once, and with ``maxmemory`` alone unread replies make keys
get evicted.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import redis

from tests.support.servers import ServerProc, start_ours, start_real

LIMIT = 3_000_000


def _gone(c: redis.Redis, name: str, wait: float = 5.0) -> bool:
    """Whether no client is named ``name`` (waiting up to ``wait`` s for it to go)."""
    deadline = time.monotonic() + wait
    while True:
        names = [x["name"] for x in c.client_list()]
        if name not in names or time.monotonic() > deadline:
            return name not in names
        time.sleep(0.02)


def _named(srv: ServerProc, name: str, *setup: bytes) -> socket.socket:
    s = srv.connect(timeout=10)
    s.sendall(b"CLIENT SETNAME %s\r\n" % name.encode() + b"".join(setup))
    time.sleep(0.05)
    return s


def _send(s: socket.socket, data: bytes) -> None:
    try:
        s.sendall(data)
    except OSError:
        pass  # evicted meanwhile


def _scenarios() -> list[tuple[str, Callable[[ServerProc, redis.Redis], object]]]:
    def query_buffer(srv: ServerProc, c: redis.Redis) -> object:
        s = _named(srv, "qb")
        _send(s, b"*1\r\n$%d\r\n" % LIMIT + b"v" * LIMIT)
        return _gone(c, "qb")

    def no_evict(srv: ServerProc, c: redis.Redis) -> object:
        s = _named(srv, "ne", b"CLIENT NO-EVICT on\r\n")
        _send(s, b"*1\r\n$%d\r\n" % (LIMIT + 1) + b"v" * (LIMIT // 2))
        time.sleep(0.3)
        flags = next(x["flags"] for x in c.client_list() if x["name"] == "ne")
        return _gone(c, "ne", 0.5), flags

    def small_query_buffer(srv: ServerProc, c: redis.Redis) -> object:
        s = _named(srv, "small")
        _send(s, b"*1\r\n$%d\r\n" % LIMIT + b"v" * (LIMIT // 3))
        return _gone(c, "small", 0.5)

    def multi_queue(srv: ServerProc, c: redis.Redis) -> object:
        s = _named(srv, "mq", b"MULTI\r\n")
        value = b"v" * (LIMIT // 4)
        for _ in range(5):
            _send(s, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%s\r\n" % (len(value), value))
            time.sleep(0.05)
        return _gone(c, "mq")

    def unread_output(srv: ServerProc, c: redis.Redis) -> object:
        c.setrange("big", 200_000, "v")
        s = _named(srv, "out")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        for _ in range(40):
            _send(s, b"GET big\r\n")
            time.sleep(0.01)
        return _gone(c, "out")

    def percentage(srv: ServerProc, c: redis.Redis) -> object:
        c.config_set("maxmemory", 6 * 1024 * 1024)
        c.config_set("maxmemory-clients", "7%")
        n = 6 * 1024 * 1024 * 7 // 100
        s = _named(srv, "half")
        _send(s, b"*1\r\n$%d\r\n" % n + b"v" * (n // 2))
        kept = not _gone(c, "half", 0.5)
        s2 = _named(srv, "full")
        _send(s2, b"*1\r\n$%d\r\n" % n + b"v" * n)
        return kept, _gone(c, "full")

    def lowered_limit(srv: ServerProc, c: redis.Redis) -> object:
        c.config_set("maxmemory-clients", 0)
        s = _named(srv, "low")
        _send(s, b"*1\r\n$%d\r\n" % LIMIT + b"v" * 1_000_000)
        time.sleep(0.3)
        kept = not _gone(c, "low", 0.2)
        c.config_set("maxmemory-clients", 500_000)
        return kept, _gone(c, "low", 0.2)

    def tracking_redirect(srv: ServerProc, c: redis.Redis) -> object:
        """Invalidations pushed to a redirect client that never reads: evicted before its
        tot-mem reaches the limit (and gone from CLIENT LIST at once)."""
        red = srv.connect(timeout=10)
        red.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        red.sendall(b"CLIENT SETNAME redirected\r\nCLIENT ID\r\n")
        time.sleep(0.1)
        rid = int(red.recv(100).split(b"\r\n")[1][1:])
        red.sendall(b"SUBSCRIBE __redis__:invalidate\r\n")
        rr = srv.client(decode_responses=True)
        rr.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", rid, "BCAST")
        sha = rr.script_load(f"redis.call('incr', '{'k' * 200 * 1024}')")
        c.execute_command("DEBUG", "PAUSE-CRON", 1)
        peak = 0
        try:
            for _ in range(500):
                mine = [x for x in c.client_list() if x["name"] == "redirected"]
                if not mine:
                    return "evicted", peak < LIMIT
                peak = max(peak, int(mine[0]["tot-mem"]))
                rr.evalsha(sha, 0)
            return "kept", peak < LIMIT
        finally:
            c.execute_command("DEBUG", "PAUSE-CRON", 0)
            rr.close()
            red.close()

    return [("query_buffer", query_buffer), ("no_evict", no_evict), ("small", small_query_buffer),
            ("multi", multi_queue), ("output", unread_output), ("percentage", percentage),
            ("lowered", lowered_limit), ("redirect", tracking_redirect)]


def _run(srv: ServerProc) -> list[object]:
    c = srv.client(decode_responses=True)
    c.client_setname("control")
    c.execute_command("CLIENT", "NO-EVICT", "on")
    got: list[object] = []
    for _name, scenario in _scenarios():
        c.config_set("maxmemory", 0)
        c.config_set("maxmemory-clients", LIMIT)
        c.config_resetstat()
        got.append((_name, scenario(srv, c), c.info("stats")["evicted_clients"]))
    c.close()
    return got


def _both(tmp_path: Path, run: Callable[[ServerProc], object]) -> tuple[object, object]:
    """``run`` on a fresh server of ours, then on a fresh real one."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    with start_ours(tmp_path / "ours") as ours:
        a = run(ours)
    with start_real(tmp_path / "real") as real:
        return a, run(real)


def test_client_eviction_like_redis(tmp_path: Path) -> None:
    a, b = _both(tmp_path, _run)
    assert a == b


def _unread_replies_evict_keys(srv: ServerProc) -> tuple[bool, int]:
    """maxmemory's "eviction due to output buffers of many MGET clients": unread replies
    count in used_memory, so keys are evicted; no client is."""
    c = srv.client(decode_responses=True)
    c.config_set("maxmemory", 11 * 1024 * 1024)
    c.config_set("maxmemory-policy", "allkeys-lru")
    for j in range(50):
        c.set(str(j), "x" * 100_000)
    readers = []
    for _ in range(20):
        s = srv.connect(timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        readers.append(s)
    deadline = time.monotonic() + 20
    while c.info("stats")["evicted_keys"] == 0 and time.monotonic() < deadline:
        for s in readers:
            _send(s, b"MGET 1\r\n")
    evicted = c.info("stats")["evicted_keys"] > 0
    clients = c.info("stats")["evicted_clients"]
    for s in readers:
        s.close()
    c.close()
    return evicted, clients


def test_unread_replies_count_for_key_eviction(tmp_path: Path) -> None:
    a, b = _both(tmp_path, _unread_replies_evict_keys)
    assert a == b == (True, 0)


def _replica_buffer(master: ServerProc, tmp: Path) -> tuple[bool, bool, bool, bool]:
    """maxmemory's "slave buffer are counted correctly": with the replica stopped, the
    stream it was not sent shows as mem_clients_slaves and mem_not_counted_for_evict,
    and used_memory less those stays put; killing the replica frees it."""
    c = master.client(decode_responses=True)
    for j in range(10):
        c.set(f"key:{j}", "x" * 100_000)
    c.config_set("client-output-buffer-limit", "replica 100000000 100000000 300")
    c.config_set("repl-backlog-size", 10 * 1024)
    c.config_set("repl-diskless-sync-delay", 0)
    replica = start_real(tmp, "--replicaof", "127.0.0.1", str(master.port))
    try:
        rc = replica.client(decode_responses=True)
        deadline = time.monotonic() + 20
        while rc.info("replication")["master_link_status"] != "up" and time.monotonic() < deadline:
            time.sleep(0.05)
        before = c.info("memory")
        os.kill(replica.pid, signal.SIGSTOP)
        try:
            pipe = c.pipeline(transaction=False)
            for _ in range(3_000):
                pipe.setrange("key:0", 0, "A" * 4_000)
            pipe.execute()
            after = c.info("memory")
            c.client_kill_filter(_type="replica")
            time.sleep(0.2)
            killed = c.info("memory")
        finally:
            os.kill(replica.pid, signal.SIGCONT)
    finally:
        replica.stop()

    def base(m: dict) -> int:
        return m["used_memory"] - m["mem_not_counted_for_evict"] - m["mem_clients_normal"]

    return (after["mem_clients_slaves"] > 2 * 1024 * 1024, after["mem_not_counted_for_evict"] > 2 * 1024 * 1024,
            abs(base(after) - base(before)) < 100_000, killed["mem_clients_slaves"] == 0)


def test_replica_buffer_counted_apart(tmp_path: Path) -> None:
    def run(srv: ServerProc) -> object:
        return _replica_buffer(srv, srv.dir.parent / f"replica-of-{srv.dir.name}")

    for d in ("replica-of-ours", "replica-of-real"):
        (tmp_path / d).mkdir()
    a, b = _both(tmp_path, run)
    assert a == b


def test_client_list_qbuf_of_a_partial_command_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """CLIENT LIST's qbuf counts what is not yet taken into the command's arguments: a
    big argument's bytes so far (its header already consumed), a small one's tail."""
    got = []
    for srv in (ours, real):
        c = srv.client(decode_responses=True)
        seen = []
        for name, data in (("big", b"*1\r\n$300000\r\n" + b"v" * 100_000),
                           ("small", b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nab")):
            s = _named(srv, name)
            s.sendall(data)
            time.sleep(0.2)
            seen.append(next(int(x["qbuf"]) for x in c.client_list() if x["name"] == name))
            s.close()
        got.append(seen)
        c.close()
    assert got[0] == got[1]
