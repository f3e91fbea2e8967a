"""client-output-buffer-limit for the normal, pubsub and replica classes, side by side
with real Redis 7.0: who is disconnected and when (hard limit, soft limit after its
seconds, the defaults), the log line, CLIENT LIST's obl/oll/omem for a subscriber
that does not read, CONFIG SET/GET/REWRITE of the directive, and a replica that stops
reading (dropped, then able to resync) or that reads its RDB late (not dropped: the
RDB transfer does not count).

Peers that never read use a small receive buffer; the kernel still absorbs a few MB
per connection before the server has to queue, so floods are sized past that.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from aof.replies import encode_command
from tests.engine.conftest import ServerProc, free_port, start_ours, start_real
from tests.support.servers import OURS, ours_env, require_server

KERNEL_SLACK = 8 * 1024 * 1024  # what the socket buffers may absorb before the server queues
# freeClientAsync (when output is added) and freeClient (clientsCron) log the client's info
CLOSED = {"async": re.compile(r"Client (id=(\d+) addr=\S+ laddr=\S+ .*?) scheduled to be closed ASAP "
                              r"for overcoming of output buffer limits\."),
          "cron": re.compile(r"Client (id=(\d+) addr=\S+ laddr=\S+ .*?) closed "
                             r"for overcoming of output buffer limits\.")}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProc]]:
    procs: dict[str, ServerProc] = {}
    try:
        for name, start in (("ours", start_ours), ("real", start_real)):
            d = tmp_path_factory.mktemp(f"obuf-{name}")
            procs[name] = start(d, "--logfile", str(d / "log"), "--repl-diskless-sync-delay", "0")
            procs[name].logpath = d / "log"  # type: ignore[attr-defined]
        yield procs
    finally:
        for p in procs.values():
            p.stop()


@pytest.fixture(params=["ours", "real"])
def srv(request: pytest.FixtureRequest, both: dict[str, ServerProc]) -> Iterator[ServerProc]:
    s = both[request.param]
    s.name = request.param  # type: ignore[attr-defined]
    c = s.client()
    c.flushall()
    default = c.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    yield s
    c.config_set("client-output-buffer-limit", default)
    c.config_set("repl-backlog-size", "1mb")
    c.close()


def slow_reader(port: int) -> socket.socket:
    """A connection with a small receive window, for a peer that stops reading."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.settimeout(5)
    return s


def request(s: socket.socket, *argv: bytes | str | int) -> bytes:
    s.sendall(encode_command(list(argv)))
    return s.recv(65536)


def subscriber(port: int, channel: str = "ch") -> tuple[socket.socket, int]:
    s = slow_reader(port)
    cid = int(request(s, "CLIENT", "ID")[1:-2])
    assert request(s, "SUBSCRIBE", channel).startswith(b"*3\r\n$9\r\nsubscribe\r\n")
    return s, cid


def publish(r: redis.Redis, total: int, size: int, channel: str = "ch") -> int:
    """PUBLISH ``total`` bytes of ``size``-byte messages, pipelined; returns how many."""
    n = total // size
    msg = b"m" * size
    for i in range(0, n, 200):
        p = r.pipeline(transaction=False)
        for _ in range(min(200, n - i)):
            p.publish(channel, msg)
        p.execute()
    return n


def client_ids(r: redis.Redis) -> dict[int, dict[str, str]]:
    out = {}
    for line in r.execute_command("CLIENT", "LIST").decode().splitlines():
        f = dict(w.split("=", 1) for w in line.split(" ") if "=" in w)
        out[int(f["id"])] = f
    return out


def wait_gone(r: redis.Redis, cid: int, timeout: float = 10.0) -> float:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cid not in client_ids(r):
            return time.time()
        time.sleep(0.05)
    raise AssertionError(f"client {cid} still connected after {timeout}s")


def drain(s: socket.socket) -> bytes:
    """Everything the server sent before closing the connection."""
    out = bytearray()
    s.settimeout(5)
    try:
        while True:
            data = s.recv(1 << 20)
            if not data:
                break
            out += data
    except ConnectionResetError:
        pass
    return bytes(out)


def logged_close(p: ServerProc, cid: int, how: str = "async") -> str:
    """The client info Redis logs for a client closed for its output buffer."""
    deadline = time.time() + 5
    while time.time() < deadline:
        for m in CLOSED[how].finditer(p.logpath.read_text()):  # type: ignore[attr-defined]
            if int(m.group(2)) == cid:
                return m.group(1)
        time.sleep(0.05)
    raise AssertionError(f"no output-buffer close logged for client {cid}")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# -- pubsub ----------------------------------------------------------------------------------------

def test_pubsub_hard_limit_drops_flooded_subscriber(srv: ServerProc) -> None:
    r = srv.client()
    r.config_set("client-output-buffer-limit", "pubsub 1mb 0 0")
    sub, cid = subscriber(srv.port)
    before = rss_kb(srv.proc.pid)
    n = publish(r, KERNEL_SLACK + 32 * 1024 * 1024, 8192)
    wait_gone(r, cid)
    grown = rss_kb(srv.proc.pid) - before
    assert grown < 16 * 1024, f"RSS grew {grown} kB while a subscriber was flooded"
    info = logged_close(srv, cid)
    assert " flags=P " in info and " sub=1 " in info and " cmd=subscribe " in info
    got = drain(sub)  # what left before the close, in order; nothing after it
    frame = b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$8192\r\n" + b"m" * 8192 + b"\r\n"
    assert got == (frame * n)[:len(got)] and len(got) < len(frame) * n
    r.close()


def test_pubsub_soft_limit_after_its_seconds(srv: ServerProc) -> None:
    r = srv.client()
    r.config_set("client-output-buffer-limit", "pubsub 0 256kb 2")
    sub, cid = subscriber(srv.port)
    t0 = time.time()
    publish(r, KERNEL_SLACK, 4096)  # over the soft limit, from now on, without more writes
    while time.time() < t0 + 1.8:
        assert cid in client_ids(r), "dropped before its soft-limit seconds"
        time.sleep(0.1)
    gone = wait_gone(r, cid, timeout=6)
    assert gone - t0 > 2.0
    assert " flags=P " in logged_close(srv, cid, how="cron")  # by the cron: nothing was written
    sub.close()
    r.close()


def test_default_pubsub_limit_without_a_normal_limit(srv: ServerProc) -> None:
    r = srv.client()
    cobl = r.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    assert cobl == "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    sub, cid = subscriber(srv.port)
    publish(r, KERNEL_SLACK + 40 * 1024 * 1024, 65536)
    wait_gone(r, cid)
    logged_close(srv, cid)
    sub.close()
    r.close()


def test_client_list_omem_of_a_subscriber_that_does_not_read(srv: ServerProc) -> None:
    r = srv.client()
    sub, cid = subscriber(srv.port)
    publish(r, KERNEL_SLACK, 1024)  # the socket is full: what follows is queued by the server
    time.sleep(0.2)
    a = client_ids(r)[cid]
    publish(r, 100 * 1024, 1024)
    b = client_ids(r)[cid]
    assert int(b["omem"]) > int(a["omem"]) > 0 and int(b["oll"]) > 0
    assert int(b["tot-mem"]) > int(b["omem"])
    time.sleep(0.3)  # the cron samples the largest output buffer
    assert r.info("clients")["client_recent_max_output_buffer"] >= int(b["omem"])
    if srv.name == "ours":  # type: ignore[attr-defined]
        frame = len(b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1024\r\n\r\n") + 1024
        assert int(b["omem"]) - int(a["omem"]) == 100 * frame  # exactly what was queued
        assert int(b["obl"]) == 16384 and int(b["oll"]) == -(-int(b["omem"]) // 16384)
    sub.close()
    r.close()


# -- normal clients ----------------------------------------------------------------------------------

def test_normal_limit_drops_a_pipelining_client_that_does_not_read(srv: ServerProc) -> None:
    r = srv.client()
    r.set("big", b"v" * 100_000)
    r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    s = slow_reader(srv.port)
    cid = int(request(s, "CLIENT", "ID")[1:-2])
    s.sendall(encode_command([b"GET", b"big"]) * 200)
    wait_gone(r, cid)
    info = logged_close(srv, cid)
    assert " flags=N " in info and " cmd=get " in info
    s.close()
    assert r.ping()
    r.close()


def test_replies_past_the_hard_limit_are_never_sent(srv: ServerProc) -> None:
    """Redis builds replies before sending any: a reply, a pipeline's replies or an EXEC's
    that take a client past its hard limit close it with nothing sent — and the
    transaction's commands all ran (the obuf-limits unit)."""
    r = srv.client()
    r.config_set("client-output-buffer-limit", "normal 100000 0 0")
    r.rpush("mylist", *[b"x" * 1000] * 150)
    r.set("bigkey", b"x" * 10_000)
    got = []
    for script in ([b"LRANGE mylist 0 -1\r\n"],
                   [b"".join(b"SET %d %d\r\nGET %d\r\nDEL %d\r\nGET bigkey\r\n" % (i, i, i, i) for i in range(15))],
                   [b"MULTI\r\n", b"SET k2 v2\r\nGET k2\r\nLRANGE mylist 0 -1\r\nSET k3 v3\r\n", b"EXEC\r\n"]):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        for part in script[:-1]:
            s.sendall(part)
            time.sleep(0.05)
        s.sendall(script[-1])
        data = drain(s)
        got.append(data)
        s.close()
    assert got == [b"", b"", b"+OK\r\n" + b"+QUEUED\r\n" * 4]  # no EXEC reply
    assert r.mget("k2", "k3") == [b"v2", b"v3"]
    r.delete("k2", "k3", "mylist", "bigkey")
    r.close()


def test_huge_replies_stop_at_the_hard_limit(srv: ServerProc) -> None:
    """HRANDFIELD/SRANDMEMBER/ZRANDMEMBER with a huge negative count, KEYS of a large
    keyspace: stopped once past the hard limit, the client closed with nothing sent."""
    r = srv.client()
    r.hset("h", "a", "b")
    r.sadd("s", "a")
    r.zadd("z", {"a": 1})
    r.mset({b"k" * 100 + b"%d" % i: 1 for i in range(1000)})
    got = []
    for limit, argv in ((1_000_000, [b"HRANDFIELD", b"h", b"-999999999"]),
                        (1_000_000, [b"HRANDFIELD", b"h", b"-999999999", b"WITHVALUES"]),
                        (1_000_000, [b"SRANDMEMBER", b"s", b"-999999999"]),
                        (1_000_000, [b"ZRANDMEMBER", b"z", b"-999999999", b"WITHSCORES"]),
                        (100_000, [b"KEYS", b"*"])):
        r.config_set("client-output-buffer-limit", f"normal {limit} 0 0")
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(encode_command(argv))
        got.append(drain(s))
        s.close()
    assert got == [b""] * 5
    assert r.execute_command("HRANDFIELD", "h", -3) == [b"a"] * 3  # below the limit
    r.flushall()
    r.close()


# -- CONFIG ------------------------------------------------------------------------------------------

CONFIG_VALUES = [
    "normal 1mb 512kb 10", "pubsub 1gb 1k 0 replica 2MB 1KB 5", "normal  0 0 0", " normal 0 0 0",
    "normal 0 0 0 ", "", "master 1 1 1", "normal 1 2", "normal -1 0 0", "normal 1 0 -1",
    "normal 1 0 99999999999", "normal 1 0 +5", "normal 1.5mb 0 0", "normal 18446744073709551616 0 0",
    "NORMAL 1Mb 2kB 3", "normal 1 1 1 normal 2 2 2", "slave 1 1 1 pubsub x 1 1", "normal 0x10 0 0",
    "normal 1 0 1s", "normal 1 0 2147483648", "normal 1 0 4294967297", "normal 99999999999999999999mb 0 0",
    "normal  0 0", "normal b kb 0", "normal 5 5 -0", "normal +5 0 0", "normal 5 0 \t7", '"normal 1 1 1"',
    "replica 1 2 3", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
]


def test_config_set_get_as_redis(both: dict[str, ServerProc]) -> None:
    a, b = both["ours"].client(), both["real"].client()
    try:
        for v in CONFIG_VALUES:
            got = []
            for c in (a, b):
                try:
                    reply = c.execute_command("CONFIG", "SET", "client-output-buffer-limit", v)
                except redis.ResponseError as exc:
                    reply = str(exc)
                got.append((reply, c.execute_command("CONFIG", "GET", "client-output-buffer-limit")))
            assert got[0] == got[1], v
        for argv in (["client-output-buffer-limit", "normal", "1", "1", "1"], ["client-output-buffer-limit"]):
            errs = []
            for c in (a, b):
                with pytest.raises(redis.ResponseError) as exc:
                    c.execute_command("CONFIG", "SET", *argv)
                errs.append(str(exc.value))
            assert errs[0] == errs[1]
    finally:
        for c in (a, b):
            c.config_set("client-output-buffer-limit", "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60")
            c.close()


def test_config_file_command_line_and_rewrite_as_redis(tmp_path: Path) -> None:
    """The directive in a file (one class a line), on the command line (several classes in
    one argument), then CONFIG REWRITE: old lines reused in order, new ones appended."""
    got = []
    for name in ("ours", "real"):
        d = tmp_path / name
        d.mkdir()
        port = free_port()
        conf = d / "redis.conf"
        conf.write_text(f"port {port}\nbind 127.0.0.1\nsave \"\"\n"
                        "client-output-buffer-limit normal 1mb 1k 3\n# between\n"
                        "client-output-buffer-limit pubsub 0 0 0\n")
        opts = [str(conf), "--client-output-buffer-limit", "replica 3mb 2000 7 pubsub 4gb 1 9"]
        if name == "real":
            srv = ServerProc([require_server("7.0"), *opts], port, d)
        else:
            srv = ServerProc([*OURS, *opts], port, d, ours_env())
        try:
            c = srv.client()
            first = c.config_get("client-output-buffer-limit")
            c.config_set("client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 61")
            c.config_rewrite()
            lines = [ln for ln in conf.read_text().splitlines()
                     if ln.startswith("client-output") or ln == "# between"]
            got.append((first, lines))
            c.close()
        finally:
            srv.stop()
    assert got[0] == got[1]


# -- replicas ----------------------------------------------------------------------------------------

def raw_replica(port: int, capa: tuple[str, ...]) -> socket.socket:
    s = slow_reader(port)
    assert request(s, "REPLCONF", "listening-port", 0) == b"+OK\r\n"
    assert request(s, "REPLCONF", *capa) == b"+OK\r\n"
    s.sendall(encode_command([b"PSYNC", b"?", b"-1"]))
    return s


def replica_id(r: redis.Redis) -> int:
    deadline = time.time() + 5
    while time.time() < deadline:
        ids = [cid for cid, f in client_ids(r).items() if "S" in f["flags"]]
        if ids:
            return ids[0]
        time.sleep(0.02)
    raise AssertionError("no replica connected")


def test_replica_that_stops_reading_is_dropped_and_can_resync(srv: ServerProc) -> None:
    r = srv.client()
    r.config_set("client-output-buffer-limit", "replica 1mb 0 0")
    rep = raw_replica(srv.port, ("capa", "psync2"))  # disk-based: a small RDB, then the stream
    cid = replica_id(r)
    value = b"x" * 100_000
    for i in range(0, 150, 10):  # 15 MB of stream it never reads
        p = r.pipeline(transaction=False)
        for j in range(i, i + 10):
            p.set(f"k{j}", value)
        p.execute()
    wait_gone(r, cid)
    assert " flags=S " in logged_close(srv, cid)
    assert r.info("replication")["connected_slaves"] == 0
    rep.close()
    again = slow_reader(srv.port)  # the replica comes back: a new sync starts
    assert request(again, "PSYNC", "?", "-1").startswith(b"+FULLRESYNC ")
    again.close()
    r.close()


def test_rdb_transfer_does_not_count_against_the_replica_limit(srv: ServerProc) -> None:
    r = srv.client()
    # an earlier test's replica may have left a transfer child behind (a sync it dropped):
    # a new diskless sync waits for it, so start once it is gone
    deadline = time.time() + 60
    while time.time() < deadline and (r.info("persistence")["rdb_bgsave_in_progress"]
                                      or r.info("replication")["connected_slaves"]):
        time.sleep(0.1)
    for i in range(0, 2500, 250):  # a 12 MB RDB (random values: LZF cannot shrink them)
        p = r.pipeline(transaction=False)
        for j in range(i, i + 250):
            p.set(f"key:{j}", os.urandom(5000))
        p.execute()
    r.config_set("repl-backlog-size", "16kb")
    r.config_set("client-output-buffer-limit", "replica 1mb 0 0")
    r.config_set("repl-diskless-sync-delay", "0")  # 7.0 waits 5 s for more replicas otherwise
    rep = raw_replica(srv.port, ("capa", "eof", "capa", "psync2"))  # diskless
    cid = replica_id(r)
    time.sleep(0.5)  # the RDB fills the socket and the server's buffers
    for i in range(20):
        r.set(f"during{i}", i)  # stream held for the replica meanwhile (small)
    got = bytearray()
    rep.settimeout(30)  # a loaded 2-core machine: the fork and the 12 MB pipe can stall
    rdb_end = 0  # where the stream starts, once the RDB's end mark is in
    deadline = time.time() + 60
    while not (rdb_end and b"after" in got[rdb_end:]) and time.time() < deadline:
        try:
            data = rep.recv(1 << 20)
        except TimeoutError:
            if not rdb_end:
                raise
            # an ACK that came before the master saw its transfer child exit is ignored (the
            # replica is not online yet): ACK again, as a replica does every second
            rep.sendall(encode_command([b"REPLCONF", b"ACK", b"0"]))
            continue
        assert data, "the replica was disconnected during its RDB transfer"
        got += data
        m = re.search(rb"\$EOF:([0-9a-f]{40})\r\n", got[:200])
        if not rdb_end and m:
            at = got.find(m.group(1), max(m.end(), len(got) - len(data) - 40))
            if at > 0:
                rdb_end = at + 40  # the stream starts on the first ACK
                rep.sendall(encode_command([b"REPLCONF", b"ACK", b"0"]))
                r.set("after", 1)
                rep.settimeout(1)
    stream = bytes(got[rdb_end:])
    assert rdb_end and b"during19" in stream and b"after" in stream
    assert cid in client_ids(r)
    rep.close()
    r.close()


def test_config_rewrite_formats_as_redis(tmp_path: Path) -> None:
    """CONFIG REWRITE writes each kind of option as rewriteConfig does: string options
    quoted (sdscatrepr), memory sizes in kb/mb/gb, ``save`` a line per pair, a line at its
    default kept where the file had one; the lines are compared as sets (Redis appends
    new ones in its config dict's order)."""
    got = []
    for name in ("ours", "real"):
        d = tmp_path / name
        d.mkdir()
        port = free_port()
        conf = d / "redis.conf"
        conf.write_text(f"port {port}\nhz 10\nmaxmemory 100mb\nlogfile \"\"\n")
        if name == "real":
            srv = ServerProc([require_server("7.0"), str(conf)], port, d)
        else:
            srv = ServerProc([*OURS, str(conf)], port, d, ours_env())
        try:
            c = srv.client()
            for k, v in (("notify-keyspace-events", "KEA"), ("maxmemory", "3000000"), ("hz", "10"),
                         ("hll-sparse-max-bytes", "4096"), ("masteruser", "a user"),
                         ("latency-tracking-info-percentiles", "50 99.9"), ("save", "100 10 20 30"),
                         ("oom-score-adj-values", "0 200 801"), ("maxmemory-policy", "allkeys-lru")):
                c.config_set(k, v)
            c.config_rewrite()
            lines = {ln for ln in conf.read_text().splitlines()
                     if ln and not ln.startswith(("#", "port ", "dir ", "user "))}
            got.append(lines)
            c.close()
        finally:
            srv.stop()
    assert 'notify-keyspace-events "AKE"' in got[1]
    assert got[0] == got[1]


def test_scripts_replies_are_not_limited(srv: ServerProc) -> None:
    """A script's own calls have no connection: no output limit applies to them."""
    r = srv.client()
    r.mset({b"k" * 100 + b"%d" % i: 1 for i in range(1000)})
    r.config_set("client-output-buffer-limit", "normal 100000 0 0")
    assert r.eval("return #redis.call('KEYS', '*')", 0) == 1000
    assert r.eval("return #redis.call('SRANDMEMBER', KEYS[1], -20000)", 1, "s") == 0
    r.sadd("s", "a")
    assert r.eval("return #redis.call('SRANDMEMBER', KEYS[1], -20000)", 1, "s") == 20000
    r.flushall()
    r.close()
