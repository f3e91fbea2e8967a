"""``rdbkit sync``: a real redis-server 7.0 followed into a three-master Redis Cluster.

Every server runs on loopback, started here: the source (diskless sync without delay,
a 64 MB backlog so a restarted sync can continue) and three real 7.0 masters made a
cluster by ``redis-cli --cluster create``, shared by the module. The sync runs as the
CLI does, a subprocess stopped by SIGTERM (a clean stop) or SIGKILL (a crash); the
helpers and the equality check are tests/support/syncing.py. ``rdbkit fetch --cluster``
(a snapshot of every master) is tested here too, on the same cluster. Longer runs:
tests/cli/test_sync_soak.py (RDBKIT_SOAK=1).
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from aof.slots import key_hash_slot
from tests.engine.test_cluster import wait_for
from tests.support.servers import ServerProc, start_real
from tests.support.syncing import (
    SOURCE_ARGS,
    Cluster,
    SyncProc,
    assert_equal,
    caught_up,
    online,
    stats,
    three_masters,
    under_load_killed_and_resumed,
)


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


def test_sync_under_load_killed_and_resumed(tmp_path: Path, source: ServerProc, cluster: Cluster) -> None:
    under_load_killed_and_resumed(tmp_path, source, cluster, 5_000)


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
        assert " 700 left out (dbs not followed, or held already)" in sync.stderr  # every one, by the markers
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
        source("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 7 end)")
        caught_up(source, sync)
        assert [cluster.of(k.encode())("GET", k) for k in keys] == [None, None, b"C", b"D"]
        assert [p("FCALL", "f", 0) for p in cluster.procs] == [7, 7, 7]  # keyless: every master
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
    MULTI/EXEC included; a command the target refuses is reported and the next one applied;
    what the target held before is gone (--flush-target), and so is the marker after a clean
    stop. Both servers ask for AUTH. Its state file then
    refuses another target."""
    d = tmp_path / "target"
    d.mkdir()
    source("CONFIG", "SET", "requirepass", "s3cret")  # this connection stays authenticated
    with start_real(d, "--requirepass", "t4rget") as target:
        target.many([("AUTH", "t4rget"), ("SET", "stale", 1), ("SELECT", 5), ("SET", "stale", 1), ("SELECT", 0)])
        sync = SyncProc(tmp_path, source, target, "--db-map", "3:5", "-a", "s3cret", "--target-password", "t4rget",
                        "--flush-target")
        try:
            online(source, sync)
            source.many([("SET", "a", 1), ("SELECT", 3), ("SET", "b", 2), ("MULTI",), ("INCR", "c"), ("RPUSH", "l", 1),
                         ("EXEC",), ("SELECT", 0), ("INCR", "a"), ("SET", "w", 1)])
            caught_up(source, sync)
            target.many([("AUTH", "t4rget"), ("DEL", "w"), ("RPUSH", "w", "x")])  # the target diverges
            source.many([("INCR", "w"), ("INCR", "a")])  # a replica would log the error and go on
            caught_up(source, sync)
            assert sync.stop() == 0, sync.stderr
            assert "source at" in sync.stderr  # the lag report's own connection authenticated too
            assert "1 errors" in sync.stderr and "\n  INCR: WRONGTYPE Operation against a key" in sync.stderr
            other = SyncProc(tmp_path, source, cluster.procs[0], "-a", "s3cret")  # the same --state
            assert other.proc.wait(30) == 4
            assert (f"sync.state was written for 127.0.0.1:{target.port}, not 127.0.0.1:{cluster.procs[0].port}: "
                    "another target needs a full sync") in other.stderr
            assert target.many([("AUTH", "t4rget"), ("GET", "a"), ("DBSIZE",), ("SELECT", 5), ("MGET", "b", "c"),
                                ("LRANGE", "l", 0, -1), ("SELECT", 3), ("DBSIZE",)]) == \
                [b"OK", b"3", 2, b"OK", [b"2", b"1"], [b"1"], b"OK", 0]
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
