"""Helpers of the ``rdbkit sync`` tests (tests/cli/test_sync.py, test_sync_soak.py): a
three-master cluster made by ``redis-cli --cluster create``, the sync as a subprocess,
the source's view of its replica, a load, and the equality check.

Equality is the source's own view: every key's ``DEBUG DIGEST-VALUE`` (the value whatever
its encoding) and ``PTTL`` on its slot's master, and no key more.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aof.slots import key_hash_slot
from tests.engine.test_cluster import info as cluster_info
from tests.engine.test_cluster import nodes, wait_for
from tests.support.servers import ROOT, ServerProc, tool_binary

SOURCE_ARGS = ("--repl-diskless-sync-delay", "0", "--repl-backlog-size", "64mb")


class Cluster:
    def __init__(self, procs: list[ServerProc]) -> None:
        self.procs = procs
        self.owner: dict[int, ServerProc] = {}
        by_port = {p.port: p for p in procs}
        for start, end, master, *_ in procs[0]("CLUSTER", "SLOTS"):
            for s in range(start, end + 1):
                self.owner[s] = by_port[int(master[1])]

    def of(self, key: bytes) -> ServerProc:
        return self.owner[key_hash_slot(key)]

    def flush(self) -> None:
        for p in self.procs:
            p("FLUSHALL")
            p("FUNCTION", "FLUSH")


@contextmanager
def three_masters(tmp: Path, *kinds: str) -> Iterator[Cluster]:
    cli = tool_binary("redis-cli")
    assert cli, "redis-cli is installed with redis-server"
    with nodes(tmp, *kinds) as procs:
        out = subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{p.port}" for p in procs],
                              "--cluster-yes"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        for p in procs:
            wait_for("cluster_state:ok", lambda p=p: cluster_info(p.client())["cluster_state"] == "ok")
        yield Cluster(procs)


class SyncProc:
    """``python -m cli sync`` in the background, its stderr in a file."""

    def __init__(self, tmp: Path, src: ServerProc, target: ServerProc, *extra: str, state: bool = True) -> None:
        self.state = tmp / "sync.state"
        self.err = tmp / f"sync-{time.monotonic_ns()}.err"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "sync", f"127.0.0.1:{src.port}", f"127.0.0.1:{target.port}",
             *(("--state", str(self.state)) if state else ()), "--report", "1", *extra],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.err.open("wb"))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


def replication(src: ServerProc) -> dict[str, str]:
    text = src("INFO", "replication").decode()
    return dict(ln.split(":", 1) for ln in text.splitlines() if ":" in ln)


def stats(src: ServerProc) -> tuple[int, int]:
    text = src("INFO", "stats").decode()
    d = dict(ln.split(":", 1) for ln in text.splitlines() if ":" in ln)
    return int(d["sync_full"]), int(d["sync_partial_ok"])


def applied(src: ServerProc) -> int | None:
    """The offset the sync acknowledged (REPLCONF ACK), once it follows the stream."""
    rep = replication(src)
    fields = dict(kv.split("=", 1) for kv in rep.get("slave0", "").split(",") if "=" in kv)
    return int(fields["offset"]) if fields.get("state") == "online" else None


def caught_up(src: ServerProc, sync: SyncProc, timeout: float = 60) -> None:
    def done() -> bool:
        assert sync.proc.poll() is None, sync.stderr
        return applied(src) == int(replication(src)["master_repl_offset"])
    wait_for("the sync to apply everything", done, timeout)


def online(src: ServerProc, sync: SyncProc) -> None:
    def up() -> bool:
        assert sync.proc.poll() is None, sync.stderr
        return applied(src) is not None
    wait_for("the sync to follow the stream", up, 30)


def assert_equal(src: ServerProc, cluster: Cluster) -> int:
    keys: list[bytes] = []
    cursor = b"0"
    while True:
        cursor, batch = src("SCAN", cursor, "COUNT", 1000)
        keys += batch
        if cursor == b"0":
            break
    want = src.many([("DEBUG", "DIGEST-VALUE", k) for k in keys] + [("PTTL", k) for k in keys])
    by_node: dict[int, list[bytes]] = {}
    for k in keys:
        by_node.setdefault(cluster.of(k).port, []).append(k)
    got: dict[bytes, tuple[object, object]] = {}
    for p in cluster.procs:
        ks = by_node.get(p.port, [])
        rs = p.many([("DEBUG", "DIGEST-VALUE", k) for k in ks] + [("PTTL", k) for k in ks])
        got.update({k: (rs[i], rs[len(ks) + i]) for i, k in enumerate(ks)})
    for i, k in enumerate(keys):
        digest, pttl = got[k]
        assert digest == want[i], k
        src_ttl = want[len(keys) + i]
        assert (pttl == -1) == (src_ttl == -1), (k, pttl, src_ttl)
        assert abs(int(pttl) - int(src_ttl)) < 2000, (k, pttl, src_ttl)  # type: ignore[call-overload]
    assert sum(int(p("DBSIZE")) for p in cluster.procs) == len(keys)  # nothing more (no marker left)
    return len(keys)


def preload(src: ServerProc) -> None:
    cmds: list[tuple] = []
    for i in range(300):
        cmds += [("SET", f"s:{i}", f"v{i}" * (i % 7)), ("RPUSH", f"l:{i % 40}", i), ("HSET", f"h:{i % 30}", i, i),
                 ("SADD", f"set:{i % 20}", i), ("ZADD", f"z:{i % 20}", i, f"m{i}")]
        if i % 3 == 0:
            cmds.append(("PEXPIRE", f"s:{i}", 500_000 + i))
    cmds.append(("XADD", "stream", "*", "f", "v"))
    cmds.append(("FUNCTION", "LOAD", "#!lua name=pre\nredis.register_function('g', function() return 3 end)"))
    src.many(cmds)


def side_traffic(src: ServerProc, stop: threading.Event) -> None:
    """What redis-benchmark does not send: TTLs (SET EX, EXPIRE), cross-slot MSET and DEL,
    transactions on one slot."""
    c = src.client()
    rnd = random.Random(7)
    n = 0
    while not stop.is_set() or n < 200:
        i = rnd.randrange(1000)
        pipe = c.pipeline(transaction=False)
        pipe.set(f"ex:{i}", n, ex=rnd.randrange(100, 1000))
        pipe.expire(f"key:{i:012d}", rnd.randrange(100, 1000))
        pipe.mset({f"m:{i}": n, f"m:{i + 1}": n, f"m:{i + 2}": n})
        pipe.delete(f"ex:{(i + 500) % 1000}", f"m:{(i + 7) % 1000}")
        pipe.execute()
        tx = c.pipeline(transaction=True)
        tx.incr(f"{{t{i % 5}}}a")
        tx.lpush(f"{{t{i % 5}}}b", n)
        tx.execute()
        n += 1
    c.close()


def benchmark(src: ServerProc, n: int) -> subprocess.Popen:
    bench = tool_binary("redis-benchmark")
    assert bench, "redis-benchmark is installed with redis-server"
    return subprocess.Popen([bench, "-p", str(src.port), "-t", "set,lpush,sadd,hset,incr,zadd", "-r", "1000",
                             "-n", str(n), "-P", "16", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def under_load_killed_and_resumed(tmp: Path, src: ServerProc, cluster: Cluster, n: int) -> None:
    preload(src)
    sync = SyncProc(tmp, src, cluster.procs[0])
    try:
        online(src, sync)
        full, partial = stats(src)
        stop = threading.Event()
        side = threading.Thread(target=side_traffic, args=(src, stop))
        side.start()
        load = benchmark(src, n)
        # a crash while the target is behind: SIGKILL in the middle of the stream
        wait_for("the sync to lag behind", lambda: (applied(src) or 0) > 0 and
                 applied(src) != int(replication(src)["master_repl_offset"]), 30)
        sync.stop(signal.SIGKILL)
        assert load.wait(120) == 0
        stop.set()
        side.join()
        sync = SyncProc(tmp, src, cluster.procs[0])  # the same --state
        caught_up(src, sync)
        assert stats(src) == (full, partial + 1), sync.stderr  # a partial resync, no full one
        assert "partial resync" in sync.stderr
        assert sync.stop() == 0, sync.stderr
        last = sync.stderr.splitlines()[-1]  # every round in one script per master (none refused)
        assert ", 0 errors, 0 refused, 0 rounds replayed one by one" in last, last
        assert assert_equal(src, cluster) > 3000
        assert [p("FCALL", "g", 0) for p in cluster.procs] == [3, 3, 3]  # the full sync's library
    finally:
        sync.stop(signal.SIGKILL)
