"""Crash tests (docs/durability.md D-1, D-5): kill -9 our server under write load, restart, check.

Two writer threads append unique, increasing numbers to their own list and
remember which appends were acknowledged. After ``SIGKILL`` at a random moment
and a restart on the same directory, every writer's list must be exactly
``0..m`` (no gap, no duplicate: the log replays in order and atomically) with
``m`` covering every acknowledged append (at most the one in flight beyond it).
Our rule is stricter than Redis's ``everysec``: the AOF write happens before the
reply in every policy, so a *process* crash loses nothing acknowledged in any
of them. The rewrite variant keeps BGREWRITEAOF running (on a preloaded
dataset, so kills land inside it) and also kills the rewrite child itself.

CI runs a few kills per case; ``RDBKIT_SOAK=1`` runs many.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.engine.conftest import ServerProc, start_ours

SOAK = bool(os.environ.get("RDBKIT_SOAK"))
KILLS = 40 if SOAK else 2
WRITERS = 2
PRELOAD = 20_000  # keys in the base, which every rewrite writes again


class Writers:
    """Writer threads appending ``0, 1, 2 ...`` to ``log:<w>``; ``acked[w]`` = count acknowledged."""

    def __init__(self, port: int, start: list[int]) -> None:
        self.port = port
        self.acked = list(start)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in range(WRITERS)]
        for t in self.threads:
            t.start()

    def _run(self, w: int) -> None:
        # no retry: redis-py 8 would reconnect with backoff for seconds after the kill (and
        # could send an append twice); a dead server ends the writer at once
        c = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10,
                        retry=Retry(NoBackoff(), 0))
        n = self.acked[w]
        try:
            while not self.stop.is_set():
                c.execute_command("RPUSH", f"log:{w}", n)
                n += 1
                self.acked[w] = n
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass  # the server died under us: the last append may or may not be in the log
        finally:
            c.close()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(15)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _verify(srv: ServerProc, acked: list[int], where: str) -> list[int]:
    c = srv.client(socket_timeout=30)
    got = []
    for w in range(WRITERS):
        items = [int(x) for x in c.lrange(f"log:{w}", 0, -1)]
        n = len(items)
        assert items == list(range(n)), f"{where}: log:{w} is not 0..{n - 1} (gap, duplicate or reorder)"
        assert n >= acked[w], f"{where}: log:{w} lost acknowledged appends: has {n}, {acked[w]} acknowledged"
        assert n <= acked[w] + 1, f"{where}: log:{w} has {n} entries but only {acked[w]} were sent"
        got.append(n)
    c.close()
    return got


def _wait_rewrite(c: redis.Redis, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = c.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            break
        time.sleep(0.1)
    assert c.info("persistence")["aof_last_bgrewrite_status"] == "ok"


def _start(tmp: Path, policy: str, *extra: str) -> ServerProc:
    return start_ours(tmp, "--appendonly", "yes", "--appendfsync", policy, *extra)


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_kill9_under_load_loses_no_acknowledged_write(tmp_path: Path, policy: str) -> None:
    rng = random.Random(f"kill9-{policy}")
    counts = [0] * WRITERS
    for i in range(KILLS):
        srv = _start(tmp_path, policy)
        counts = _verify(srv, counts, f"restart {i}")
        writers = Writers(srv.port, counts)
        time.sleep(rng.uniform(0.3, 1.5))
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()
        writers.join()
        counts = writers.acked
    srv = _start(tmp_path, policy)
    try:
        final = _verify(srv, counts, "final restart")
        assert sum(final) > 0
    finally:
        srv.stop()


def test_kill9_during_rewrite(tmp_path: Path) -> None:
    """Kills land while BGREWRITEAOF runs (parent, or the rewrite child); the dir stays loadable."""
    rng = random.Random("kill9-rewrite")
    srv = _start(tmp_path, "always", "--aof-use-rdb-preamble", "yes")
    c = srv.client(socket_timeout=30)
    c.execute_command("DEBUG", "POPULATE", PRELOAD, "bulk", 64)  # not logged, as in Redis:
    c.execute_command("BGREWRITEAOF")  # the rewrite puts it in the base
    _wait_rewrite(c)
    srv.stop()
    counts = [0] * WRITERS
    for i in range(KILLS * 2):
        srv = _start(tmp_path, "always", "--aof-use-rdb-preamble", "yes" if i % 2 else "no")
        c = srv.client(socket_timeout=30)
        assert c.dbsize() >= PRELOAD, f"restart {i}: preloaded keys missing"
        counts = _verify(srv, counts, f"restart {i}")
        c.config_set("rdb-key-save-delay", 50)  # 50 us a key: the rewrite takes a second or more
        writers = Writers(srv.port, counts)
        time.sleep(0.2)
        c.execute_command("BGREWRITEAOF")
        time.sleep(rng.uniform(0.05, 0.6))
        assert c.info("persistence")["aof_rewrite_in_progress"] == 1, f"restart {i}: the kill would miss the rewrite"
        if i % 2 == 0:
            kids = _children(srv.proc.pid)
            for k in kids:  # kill the rewrite child: the server must carry on serving writes
                os.kill(k, signal.SIGKILL)
            time.sleep(0.3)
            assert c.ping()
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()
        writers.join()
        c.close()
        counts = writers.acked
    srv = _start(tmp_path, "always")
    try:
        _verify(srv, counts, "final restart")
        c = srv.client(socket_timeout=30)
        assert c.dbsize() >= PRELOAD
        # a rewrite that completes leaves the same dataset behind
        before = c.execute_command("DEBUG", "DIGEST")
        c.execute_command("BGREWRITEAOF")
        _wait_rewrite(c)
        srv.stop()
        srv = _start(tmp_path, "always")
        assert srv.client(socket_timeout=60).execute_command("DEBUG", "DIGEST") == before
    finally:
        srv.stop()


def test_kill9_during_bgsave_keeps_the_old_dump_and_refuses_writes(tmp_path: Path) -> None:
    """docs/durability.md D-4: a killed BGSAVE child leaves dump.rdb as it was and, with save
    points and stop-writes-on-bgsave-error, writes get MISCONF (reads still work) until a
    save succeeds; a parent killed mid-BGSAVE restarts from the old dump, never a temp file."""
    srv = start_ours(tmp_path, "--save", "3600 1")
    try:
        c = srv.client(socket_timeout=30)
        c.execute_command("DEBUG", "POPULATE", 5000)
        c.save()
        before = (tmp_path / "dump.rdb").read_bytes()
        digest = c.execute_command("DEBUG", "DIGEST")
        c.set("extra", "1")
        c.config_set("rdb-key-save-delay", 2000)  # 2 ms per key: a 10 s BGSAVE
        c.bgsave()
        time.sleep(0.3)
        kids = _children(srv.proc.pid)
        assert kids, "no BGSAVE child"
        os.kill(kids[0], signal.SIGKILL)
        deadline = time.time() + 10
        while c.info("persistence")["rdb_last_bgsave_status"] != "err":
            assert time.time() < deadline
            time.sleep(0.05)
        with pytest.raises(redis.ResponseError, match="MISCONF Redis is configured to save RDB snapshots"):
            c.set("k", "v")
        assert c.get("extra") == b"1"  # reads are served
        assert (tmp_path / "dump.rdb").read_bytes() == before
        c.config_set("rdb-key-save-delay", 0)
        c.save()  # a good save clears the error
        assert c.set("k", "v")
        # the parent killed in the middle of a BGSAVE: the old dump is what loads
        c.set("after", "1")
        c.config_set("rdb-key-save-delay", 2000)
        saved = (tmp_path / "dump.rdb").read_bytes()
        c.bgsave()
        time.sleep(0.3)
        orphans = _children(srv.proc.pid)  # read before the parent dies (then they are reparented)
        assert orphans, "no BGSAVE child"
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()
        for k in orphans:  # a machine crash takes the child too; it never renames its file
            os.kill(k, signal.SIGKILL)
        time.sleep(0.2)
        assert (tmp_path / "dump.rdb").read_bytes() == saved
    finally:
        srv.stop()
    for f in tmp_path.glob("temp-*.rdb"):  # the orphaned child's file: never loaded
        f.unlink()
    srv = start_ours(tmp_path)
    try:
        c = srv.client()
        # the last good dump: taken by the SAVE that cleared the error (after "extra")
        assert c.get("extra") == b"1" and c.get("k") is None and c.get("after") is None
        c.delete("extra")
        assert c.execute_command("DEBUG", "DIGEST") == digest
    finally:
        srv.stop()
