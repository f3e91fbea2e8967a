"""``rdbkit sync``: a real redis-server 7.0 followed into a three-master Redis Cluster.

Every server runs on loopback, started here: the source (diskless sync without delay,
a 64 MB backlog so a restarted sync can continue) and three real 7.0 masters made a
cluster by ``redis-cli --cluster create``. The sync runs as the CLI does, a
subprocess stopped by SIGTERM (a clean stop) or SIGKILL (a crash). Equality is the
source's own view: every key's ``DEBUG DIGEST-VALUE`` (the value whatever its
encoding) and ``PTTL`` on its slot's master, and no key more. ``RDBKIT_SOAK=1`` adds
a longer load into a cluster of our nodes and real ones, from a real source and from ours. ``rdbkit fetch --cluster`` (a
snapshot of every master) is tested here too, on the same cluster.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aof.slots import key_hash_slot
from tests.engine.test_cluster import info as cluster_info
from tests.engine.test_cluster import nodes, wait_for
from tests.support.servers import ROOT, ServerProc, start_ours, start_real, tool_binary

SOAK = bool(os.environ.get("RDBKIT_SOAK"))
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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with three_masters(tmp_path_factory.mktemp("cluster"), "real", "real", "real") as c:
        for p in c.procs:  # fetch --cluster: a full sync starts at once
            p("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        yield c


@pytest.fixture
def source(tmp_path: Path, cluster: Cluster) -> Iterator[ServerProc]:
    cluster.flush()
    d = tmp_path / "source"
    d.mkdir()
    with start_real(d, *SOURCE_ARGS) as src:
        yield src


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


def _under_load_killed_and_resumed(tmp: Path, src: ServerProc, cluster: Cluster, n: int) -> None:
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
    finally:
        sync.stop(signal.SIGKILL)


def test_sync_under_load_killed_and_resumed(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    _under_load_killed_and_resumed(tmp_path, source, cluster, 40_000 if SOAK else 5_000)


@pytest.mark.skipif(not SOAK, reason="RDBKIT_SOAK=1: a cluster of our nodes and real ones under a longer load")
@pytest.mark.parametrize("source_kind", ["real", "ours"])
def test_sync_into_ours_and_real_under_load(tmp_path: Path, source_kind: str) -> None:
    d = tmp_path / "source"
    d.mkdir()
    (tmp_path / "c").mkdir()
    start = start_real if source_kind == "real" else start_ours
    with three_masters(tmp_path / "c", "ours", "real", "ours") as c, start(d, *SOURCE_ARGS) as src:
        _under_load_killed_and_resumed(tmp_path, src, c, 100_000 if source_kind == "real" else 20_000)


def test_resume_applies_nothing_twice(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    """A state file a round behind the target (saved once a second, and the sync killed
    after a round it had not saved yet): each master's marker says what it holds, so the
    INCRs and RPUSHes sent again by the master are not applied twice."""
    sync = SyncProc(tmp_path, source, cluster.procs[0])
    try:
        caught_up(source, sync)
        wait_for("the state file", lambda: sync.state.exists() and json.loads(sync.state.read_text())["offset"]
                 is not None)
        before = sync.state.read_text()
        source.many([("INCR", f"c:{i % 50}") for i in range(500)] + [("RPUSH", f"r:{i % 20}", i) for i in range(200)])
        caught_up(source, sync)
        sync.stop(signal.SIGKILL)
        sync.state.write_text(before)
        sync = SyncProc(tmp_path, source, cluster.procs[0])
        caught_up(source, sync)
        assert sync.stop() == 0, sync.stderr
        assert "partial resync" in sync.stderr
        assert cluster.of(b"c:7")("GET", "c:7") == b"10"
        assert assert_equal(source, cluster) == 70
    finally:
        sync.stop(signal.SIGKILL)


def test_cross_slot_split_and_refused(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    sync = SyncProc(tmp_path, source, cluster.procs[0])
    try:
        online(source, sync)
        keys = ["a", "b", "c", "d"]
        assert len({key_hash_slot(k.encode()) for k in keys}) == 4
        source("MSET", *[x for k in keys for x in (k, k.upper())])
        source.many([("MULTI",), ("SET", "{t}x", 1), ("INCR", "{t}x"), ("EXEC",)])
        source("DEL", "a", "b")
        caught_up(source, sync)
        assert [cluster.of(k.encode())("GET", k) for k in keys] == [None, None, b"C", b"D"]
        assert cluster.of(b"{t}x")("GET", "{t}x") == b"2"
        source("RENAME", "c", "e")  # slots of c and e differ: no single master can do it
        assert sync.proc.wait(30) == 4
        assert "RENAME spans 2 hash slots (keys c, e) and cannot be split" in sync.stderr
        assert cluster.of(b"c")("GET", "c") == b"C"  # nothing of it applied
        source("SET", "after", "1")
        sync = SyncProc(tmp_path, source, cluster.procs[0], "--skip-refused")
        source.many([("SELECT", 2), ("SET", "in2", "x"), ("SELECT", 0)])
        caught_up(source, sync)
        assert "refused (skipped): RENAME spans" in sync.stderr
        assert "refused (skipped): SET in db 2: a cluster has only db 0 (--db-map 2:0" in sync.stderr
        assert cluster.of(b"after")("GET", "after") == b"1"
        assert sync.stop() == 0
        assert re.search(r"sync: applied offset \d+, source at \d+ \(lag \d+ bytes\); \d+ commands/s", sync.stderr)
    finally:
        sync.stop(signal.SIGKILL)


def test_into_one_server_with_dbs(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    """A single server takes every db (SELECT as the source sends it, --db-map applied),
    MULTI/EXEC included; the marker is gone after a clean stop. Both servers ask for AUTH.
    Its state file then refuses another target."""
    d = tmp_path / "target"
    d.mkdir()
    source("CONFIG", "SET", "requirepass", "s3cret")  # this connection stays authenticated
    with start_real(d, "--requirepass", "t4rget") as target:
        sync = SyncProc(tmp_path, source, target, "--db-map", "3:5", "-a", "s3cret", "--target-password", "t4rget")
        try:
            online(source, sync)
            source.many([("SET", "a", 1), ("SELECT", 3), ("SET", "b", 2), ("MULTI",), ("INCR", "c"), ("RPUSH", "l", 1),
                         ("EXEC",), ("SELECT", 0), ("INCR", "a")])
            caught_up(source, sync)
            assert sync.stop() == 0, sync.stderr
            assert "source at" in sync.stderr  # the lag report's own connection authenticated too
            other = SyncProc(tmp_path, source, cluster.procs[0], "-a", "s3cret")  # the same --state
            assert other.proc.wait(30) == 4
            assert (f"sync.state was written for 127.0.0.1:{target.port}, not 127.0.0.1:{cluster.procs[0].port}: "
                    "another target needs a full sync") in other.stderr
            assert target.many([("AUTH", "t4rget"), ("GET", "a"), ("DBSIZE",), ("SELECT", 5), ("MGET", "b", "c"), ("LRANGE", "l", 0, -1),
                                ("SELECT", 3), ("DBSIZE",)]) == [b"OK", b"2", 1, b"OK", [b"2", b"1"], [b"1"], b"OK", 0]
        finally:
            sync.stop(signal.SIGKILL)


def test_slots_moving_on_the_target(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    """ASK (a slot migrating to another master) and MOVED (a slot given away since the slot
    map was read) inside a round: the master refuses the round's transaction
    (EXECABORT) and its commands go again one by one, redirections followed. Then the
    source drops the link (CLIENT KILL): the sync, with no state file, comes back with
    PSYNC <replid> <applied offset + 1> and the master continues."""
    a, b = cluster.procs[0], cluster.procs[1]
    ids = {p.port: p("CLUSTER", "MYID").decode() for p in cluster.procs}
    marker_slot = max(s for s, p in cluster.owner.items() if p is a)  # where a's marker lives
    mine = [k for k in (f"k{i}".encode() for i in range(5000))
            if cluster.of(k) is a and key_hash_slot(k) != marker_slot]
    ask_key, moved_key = mine[0], next(k for k in mine if key_hash_slot(k) != key_hash_slot(mine[0]))
    ask_slot, moved_slot = key_hash_slot(ask_key), key_hash_slot(moved_key)
    sync = SyncProc(tmp_path, source, a, state=False)
    try:
        source("SET", "warm", "1")
        caught_up(source, sync)
        b("CLUSTER", "SETSLOT", ask_slot, "IMPORTING", ids[a.port])
        a("CLUSTER", "SETSLOT", ask_slot, "MIGRATING", ids[b.port])  # a new key of it: ASK b
        for p in cluster.procs:  # the sync's slot map is stale for moved_slot: MOVED
            p("CLUSTER", "SETSLOT", moved_slot, "NODE", ids[b.port])
        source.many([("SET", ask_key, 1), ("INCR", ask_key), ("RPUSH", moved_key, "x", "y"), ("SET", "warm", "2")])
        caught_up(source, sync)
        b("ASKING")
        assert b("GET", ask_key) == b"2"
        assert b("LRANGE", moved_key, 0, -1) == [b"x", b"y"]
        assert cluster.of(b"warm")("GET", "warm") == b"2"
        full, partial = stats(source)
        assert source("CLIENT", "KILL", "TYPE", "replica") == 1
        source.many([("INCR", ask_key), ("RPUSH", moved_key, "z")])  # and the next rounds
        caught_up(source, sync)
        assert stats(source) == (full, partial + 1), sync.stderr
        assert "link to" in sync.stderr and "partial resync" in sync.stderr
        assert sync.stop() == 0, sync.stderr
        b("ASKING")
        assert b("GET", ask_key) == b"3"
        assert b("LRANGE", moved_key, 0, -1) == [b"x", b"y", b"z"]
        last = sync.stderr.splitlines()[-1]
        m = re.search(r", 0 errors, 0 refused, (\d+) rounds replayed one by one, (\d+) redirects", last)
        assert m and int(m.group(1)) >= 2 and int(m.group(2)) >= 3, last  # ASK twice, MOVED once at least
    finally:
        sync.stop(signal.SIGKILL)
        b("DEL", moved_key)
        b("ASKING")
        b("DEL", ask_key)
        for p in (a, b):
            p("CLUSTER", "SETSLOT", ask_slot, "STABLE")
        for p in cluster.procs:
            p("CLUSTER", "SETSLOT", moved_slot, "NODE", ids[a.port])


def test_fetch_cluster(tmp_path: Path, cluster: Cluster) -> None:
    """One snapshot per master (named as ``rdbkit split`` names shards), or all merged."""
    from click.testing import CliRunner

    from cli.main import cli
    from rdbtools.io import iter_records

    cluster.flush()
    keys = [f"f{i}".encode() for i in range(300)]
    for k in keys:
        cluster.of(k)("SET", k, k)
    entry = cluster.procs[1]
    res = CliRunner().invoke(cli, ["fetch", "--cluster", "-p", str(entry.port), "-o", f"{tmp_path}/nodes/"])
    assert res.exit_code == 0, res.output
    for p in cluster.procs:
        got = {r.key: r.value for r in iter_records(str(tmp_path / "nodes" / f"127.0.0.1-{p.port}.rdb"))}
        assert got == {k: k for k in keys if cluster.of(k) is p}
    res = CliRunner().invoke(cli, ["fetch", "--cluster", "-p", str(entry.port), "-o", str(tmp_path / "all.rdb")])
    assert res.exit_code == 0, res.output
    assert sorted(r.key for r in iter_records(str(tmp_path / "all.rdb"))) == sorted(keys)
    assert sorted(os.listdir(tmp_path)) == ["all.rdb", "nodes"]  # nothing left behind


@pytest.mark.skipif(not SOAK, reason="RDBKIT_SOAK=1: the target resharded while the sync follows a load")
def test_sync_while_the_target_reshards(tmp_path: Path) -> None:
    """``redis-cli --cluster reshard`` moves 2,000 slots (and their keys, by MIGRATE)
    between two masters while the sync applies a redis-benchmark load: MOVED, ASK and
    "non local key" inside the scripts are followed, and the copy ends equal."""
    from tests.engine.test_cluster import _reshard

    d = tmp_path / "source"
    d.mkdir()
    (tmp_path / "c").mkdir()
    with three_masters(tmp_path / "c", "real", "real", "real") as c, start_real(d, *SOURCE_ARGS) as src:
        preload(src)
        sync = SyncProc(tmp_path, src, c.procs[0])
        try:
            online(src, sync)
            load = benchmark(src, 60_000)
            _reshard(c.procs, c.procs[0], c.procs[1], 2000)
            assert load.wait(300) == 0
            caught_up(src, sync, 120)
            assert sync.stop() == 0, sync.stderr
            assert assert_equal(src, Cluster(c.procs)) > 2000
            last = sync.stderr.splitlines()[-1]
            assert " 0 errors," in last and " 0 rounds replayed" not in last, last  # it did meet moving slots
        finally:
            sync.stop(signal.SIGKILL)
