"""Hostile clients against one server, a well-behaved client beside them (issue 9's soak).

Everything a careless or malicious client can do to a Redis server at once, for a
bounded time, on loopback only:

* slow readers: pub/sub subscribers that never read while a publisher floods, and a
  normal client that pipelines big GETs without reading (output-buffer limits);
* pattern bombs: KEYS, SCAN MATCH and PSUBSCRIBE with ``a*a*...b`` on long subjects
  (CVE-2022-36021);
* busy scripts: ``while true do end`` while new connections keep arriving, killed with
  SCRIPT KILL from one of them;
* RESTORE of mutated DUMP payloads (checksums recomputed, so the value parser sees them);
* huge declared sizes and allocations: ``*2147483647`` / ``$536870912`` headers held
  open, SETRANGE and SETBIT past ``proto-max-bulk-len``, SRANDMEMBER with INT64_MIN,
  Lua ``string.rep`` to 2 GiB, bytecode and deep tables.

Meanwhile a well-behaved client issues PING and GET (its latency is recorded; a -BUSY
reply is an answer) and a writer INCRs a counter and SETs one key per acknowledged write.
The server must stay up, the well-behaved client's p99 latency stays bounded, the
server's RSS stays within what its configured limits allow, and after a final
``kill -9`` every acknowledged write is found again when the server restarts from its
AOF. CI runs it for ~15 s; ``RDBKIT_SOAK=1`` for 5 minutes with more clients.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import socket
import threading
import time
from pathlib import Path

import redis

from rdbtools.crc64 import crc64
from tests.engine.conftest import start_ours

SOAK = bool(os.environ.get("RDBKIT_SOAK"))
DURATION = 300.0 if SOAK else 15.0
SUBSCRIBERS = 8 if SOAK else 3
MB = 1024 * 1024

# the limits the server runs with; RSS may grow by what they allow, not more
LIMITS = {
    "maxmemory": 64 * MB,
    "client-output-buffer-limit": "normal 8mb 4mb 2 replica 64mb 16mb 60 pubsub 8mb 2mb 2",
    "client-query-buffer-limit": 16 * MB,
    "proto-max-bulk-len": 8 * MB,
}
# slack for Python's own overhead (allocator fragmentation, buffers in flight, the
# interpreter's free lists) on top of what the limits allow
RSS_SLACK = 192 * MB


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _cmd(*args: bytes | str | int) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


class Soak:
    def __init__(self, port: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.acked: list[int] = []
        self.errors: list[str] = []
        self.actions: dict[str, int] = {}
        self.threads: list[threading.Thread] = []

    def spawn(self, name: str, fn, pause: float = 0.0) -> None:
        """Run ``fn`` again and again (``pause`` seconds apart) until the soak ends."""
        def run() -> None:
            while not self.stop.is_set():
                try:
                    fn()
                    self.actions[name] = self.actions.get(name, 0) + 1
                except (OSError, redis.RedisError):
                    time.sleep(0.05)  # dropped by a limit, refused, timed out: try again
                if pause:
                    self.stop.wait(pause)
        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self.threads.append(t)

    def sock(self, rcvbuf: int | None = None) -> socket.socket:
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        s.connect(("127.0.0.1", self.port))
        return s

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    # -- the well-behaved ------------------------------------------------------------
    def polite(self) -> None:
        c = self.client()
        try:
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    c.ping()
                    c.get("counter")
                except redis.ResponseError as exc:  # -BUSY while a script runs is an answer
                    if not str(exc).startswith("BUSY"):
                        raise
                self.latencies.append(time.perf_counter() - t0)
                time.sleep(0.005)
        finally:
            c.close()

    def writer(self) -> None:
        c = self.client()
        try:
            while not self.stop.is_set():
                try:
                    n = c.incr("counter")
                    c.set(f"w:{n}", n)
                except redis.ResponseError as exc:  # BUSY / OOM: not acknowledged
                    if not str(exc).startswith(("BUSY", "OOM")):
                        raise
                    time.sleep(0.01)
                    continue
                self.acked.append(n)
        finally:
            c.close()

    # -- the hostile -----------------------------------------------------------------
    def slow_subscriber(self) -> None:
        s = self.sock(rcvbuf=4096)
        try:
            s.sendall(_cmd("SUBSCRIBE", "flood") + _cmd("PSUBSCRIBE", "fl*"))
            self.stop.wait(random.uniform(1, 4))  # never reads
        finally:
            s.close()

    def publisher(self) -> None:
        s = self.sock()
        try:
            msg = b"x" * 65536
            batch = _cmd("PUBLISH", "flood", msg) * 32
            while not self.stop.is_set():
                s.sendall(batch)
                s.recv(1 << 20)
        finally:
            s.close()

    def slow_big_reader(self) -> None:
        s = self.sock(rcvbuf=4096)
        try:
            s.sendall(_cmd("SET", "big", b"y" * (1 * MB)))
            s.sendall(_cmd("GET", "big") * 200)  # 200 MB of replies, never read
            self.stop.wait(random.uniform(1, 3))
        finally:
            s.close()

    def pattern_bomb(self) -> None:
        c = self.client()
        try:
            c.set(b"a" * 60, 1)
            bomb = "a*" * 30 + "b"
            c.keys(bomb)
            c.scan(0, match=bomb, count=1000)
            p = c.pubsub()
            p.psubscribe(bomb)
            c.publish(b"a" * 60, "hi")
            p.close()
        finally:
            c.close()

    def busy_script(self) -> None:
        c = self.client()
        killer = threading.Thread(target=self._kill_script, daemon=True)
        killer.start()
        try:
            c.eval("local i = 0 while true do i = i + 1 end", 0)
        except redis.ResponseError:
            pass  # killed: "ERR Error running script ... Script killed by user"
        finally:
            killer.join(10)
            c.close()

    def _kill_script(self) -> None:
        time.sleep(0.4)
        for _ in range(50):  # each a new connection arriving while the script is busy
            k = self.client()
            try:
                k.script_kill()
                return
            except redis.ResponseError as exc:
                if "NOTBUSY" in str(exc):
                    time.sleep(0.05)
                    continue
                raise
            finally:
                k.close()

    def hostile_scripts(self) -> None:
        c = self.client()
        try:
            for body in ("return loadstring(string.dump(function() return 7 end))()",
                         "return string.rep('x', 2^31)",
                         "local t = {} for i = 1, 100000 do t = {t} end return t",
                         "local t = {} t[1] = t return t",
                         "return cjson.decode(string.rep('[', 100000))",
                         "return unpack({}, 1, 1e8)",
                         "x = 1"):
                try:
                    c.eval(body, 0)
                except redis.ResponseError:
                    pass
        finally:
            c.close()

    def huge_headers(self) -> None:
        s = self.sock()
        t = self.sock()
        try:
            s.sendall(b"*2147483647\r\n$536870912\r\n" + b"z" * 1000)
            t.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n" + b"z" * 65536)
            self.stop.wait(random.uniform(0.5, 2))
        finally:
            s.close()
            t.close()

    def huge_allocations(self) -> None:
        c = self.client()
        try:
            c.sadd("someset", "a", "b")
            for args in (("SETRANGE", "hs", 536870911, "x"), ("SETBIT", "hb", 4294967295, 1),
                         ("SRANDMEMBER", "someset", -9223372036854775808),
                         ("LPOS", "nolist", "x", "COUNT", 2**62),
                         ("XAUTOCLAIM", "nostream", "g", "c", 0, 0, "COUNT", 2**62)):
                try:
                    c.execute_command(*args)
                except redis.ResponseError:
                    pass
        finally:
            c.close()

    def mutated_restore(self) -> None:
        c = self.client()
        try:
            c.delete("src:h", "src:z", "src:l", "src:s", "src:x")
            c.hset("src:h", mapping={f"f{i}": i for i in range(20)})
            c.zadd("src:z", {f"m{i}": i / 3 for i in range(20)})
            c.rpush("src:l", *range(30))
            c.sadd("src:s", *range(15))
            c.xadd("src:x", {"a": 1})
            for k in ("src:h", "src:z", "src:l", "src:s", "src:x"):
                payload = bytearray(c.dump(k))
                for _ in range(3):
                    i = random.randrange(1, len(payload) - 10)
                    payload[i] = random.randrange(256)
                body = bytes(payload[:-8])
                fixed = body + crc64(body).to_bytes(8, "little")
                try:
                    c.restore("victim", 0, fixed, replace=True)
                    c.execute_command("DEBUG", "DIGEST-VALUE", "victim")
                    c.dump("victim")
                except redis.ResponseError:
                    pass
        finally:
            c.close()


def _well_behaved(port: int, seconds: float, out: multiprocessing.Queue) -> None:
    """The polite reader and the writer, in a process of their own: what they measure is
    the server's latency, not the hostile threads' share of the test process's GIL."""
    soak = Soak(port)
    threads = [threading.Thread(target=fn, daemon=True) for fn in (soak.polite, soak.writer)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    soak.stop.set()
    for t in threads:
        t.join(30)
    out.put((soak.latencies, soak.acked))


def test_hostile_clients_soak(tmp_path: Path) -> None:
    args = ["--appendonly", "yes", "--appendfsync", "everysec", "--busy-reply-threshold", "100",
            "--sanitize-dump-payload", "yes"]
    for k, v in LIMITS.items():
        args += [f"--{k}", str(v)]
    srv = start_ours(tmp_path, *args)
    pid = srv.proc.pid
    base_rss = _rss(pid)
    soak = Soak(srv.port)
    peak = base_rss
    ctx = multiprocessing.get_context("fork")  # forked before any thread starts here
    results: multiprocessing.Queue = ctx.Queue()
    polite = ctx.Process(target=_well_behaved, args=(srv.port, DURATION, results), daemon=True)
    polite.start()
    try:
        for _ in range(SUBSCRIBERS):
            soak.spawn("slow_subscriber", soak.slow_subscriber)
        soak.spawn("publisher", soak.publisher)
        soak.spawn("slow_big_reader", soak.slow_big_reader)
        soak.spawn("pattern_bomb", soak.pattern_bomb)
        # a script keeps everyone else waiting (-BUSY) until it is killed: one every 2 s
        soak.spawn("busy_script", soak.busy_script, pause=2.0)
        soak.spawn("hostile_scripts", soak.hostile_scripts, pause=0.5)
        soak.spawn("huge_headers", soak.huge_headers)
        soak.spawn("huge_allocations", soak.huge_allocations)
        soak.spawn("mutated_restore", soak.mutated_restore)
        while polite.is_alive() and results.empty():
            assert srv.proc.poll() is None, "the server died under hostile clients"
            peak = max(peak, _rss(pid))
            time.sleep(0.1)
        latencies, acked = results.get(timeout=60)
        polite.join(10)
        soak.stop.set()
        for t in soak.threads:
            t.join(20)
        assert srv.proc.poll() is None, "the server died under hostile clients"
        # kill -9: every acknowledged write must come back from the AOF
        os.kill(pid, signal.SIGKILL)
        srv.proc.wait()
    finally:
        soak.stop.set()
        if polite.is_alive():
            polite.kill()
        if srv.proc.poll() is None:
            os.kill(pid, signal.SIGKILL)
            srv.proc.wait()

    lat = sorted(latencies)
    assert len(lat) > 100, f"the well-behaved client was barely served: {len(lat)} replies"
    p99 = lat[int(len(lat) * 0.99)]
    print(f"\nsoak {DURATION:.0f}s: {len(lat)} PING+GET, p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms; RSS {base_rss // MB} -> peak "
          f"{peak // MB} MB; {len(acked)} acknowledged writes; actions {soak.actions}")
    allowed = LIMITS["maxmemory"] + 8 * MB * (SUBSCRIBERS + 2) + 2 * LIMITS["client-query-buffer-limit"]
    assert peak - base_rss < allowed + RSS_SLACK, \
        f"RSS grew by {(peak - base_rss) // MB} MB, limits allow {(allowed + RSS_SLACK) // MB} MB"
    assert p99 < 1.0, f"the well-behaved client's p99 latency is {p99 * 1000:.0f} ms"
    assert len(acked) > 100, f"only {len(acked)} writes were acknowledged"
    for name in ("slow_subscriber", "pattern_bomb", "busy_script", "mutated_restore"):
        assert soak.actions.get(name, 0) > 0, f"{name} never completed a round"

    again = start_ours(tmp_path, "--appendonly", "yes")
    try:
        c = again.client(socket_timeout=30)
        counter = int(c.get("counter") or 0)
        assert counter >= acked[-1], f"counter {counter} < {acked[-1]} acknowledged"
        pipe = c.pipeline(transaction=False)
        for n in acked:
            pipe.get(f"w:{n}")
        got = pipe.execute()
        missing = [n for n, v in zip(acked, got) if v != str(n).encode()]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. w:{missing[:5]}"
        c.close()
    finally:
        again.stop()
