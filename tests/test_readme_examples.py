"""Every shell example in README.md runs as written, or is listed here with the reason it is not.

The examples are the lines of README.md's fenced code blocks, run one by one with
bash in a scratch directory where ``rdbkit`` is this checkout's CLI. The files they
name are copies of fixtures (FILES), the hosts they name are servers this test
starts (HOSTS: real redis-server 7.0.15, plain and as a one-node cluster), and the
few values that only make sense for someone's own data are mapped in VALUES. A new
example in the README runs here without a change to this file as long as it names
files of FILES.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import lz4.frame
import pytest

from rdbtools.io import iter_records
from tests.support.manifest import FIXTURES
from tests.support.servers import ServerProc, free_port, start_real

Scratch = tuple[Path, dict[str, str], dict[str, ServerProc]]

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# README file name -> what stands in for it in the scratch directory
FILES: dict[str, Path | str] = {
    "dump.rdb": FIXTURES / "rdb" / "corpus-redis-7.0.15" / "dump-cluster.rdb",  # db 0 only: split, restore
    "a.rdb": FIXTURES / "rdb" / "redis-7.0" / "dump.rdb",
    "b.rdb": FIXTURES / "rdb" / "redis-6.2" / "dump.rdb",  # differs from a.rdb: diff exits 1
    "shard-1.rdb": FIXTURES / "rdb" / "corpus-redis-7.0.15" / "dump.rdb",
    "shard-2.rdb": FIXTURES / "rdb" / "corpus-redis-7.2.6" / "dump.rdb",
    "appendonlydir": FIXTURES / "aof" / "redis-7.0.15" / "aof-raw" / "appendonlydir",
    # made below: dump.rdb.lz4 (dump.rdb in an LZ4 frame), b.jsonl (b.rdb as JSONL), a
    # second #TS mark in appendonlydir, and these:
    "nodes.conf": "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460\n"
                  "b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922\n"
                  "c3 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383\n"
                  "vars currentEpoch 3 lastVoteEpoch 0\n",
    "redis.conf": "appendonly no\nsave \"\"\nmaxmemory 64mb\n",
}
# a point in time for --truncate-to-timestamp: after the fixture's #TS mark, before ours
TS_FIXTURE, TS_ADDED = 1795500118, 1795500300
VALUES = {"--truncate-to-timestamp 1764000000": f"--truncate-to-timestamp {TS_ADDED - 100}"}
# README host and port -> the server of this test (filled in by the fixture)
HOSTS = {"--host 10.0.0.5 -p 6379": "fetch", "--host 10.0.0.7 -p 7000": "restore"}
# `rdbkit sync SOURCE TARGET` addresses -> the same servers (the source is the one `fetch` reads)
ADDRS = {"10.0.0.5:6379": "fetch", "10.0.0.7:7000": "restore"}
SERVE_PORT = "--port 6380"  # `rdbkit server` examples: run, answered, stopped

NOT_RUN = {
    "python3 -m pip install -e '.[fast,scripting]' && mkdir -p data && rdbkit server --dir data":
        "installs from PyPI (network, and it would repoint the environment's rdbkit at this "
        "checkout); its server part runs as the `rdbkit server redis.conf ...` example",
    "bash scripts/test.sh": "the whole test suite, which this test is part of",
}
EXIT = {"rdbkit diff a.rdb b.rdb": 1}  # examples whose documented status is not 0
CREATES = {  # what an example must leave behind, beside its exit status
    "-o all.rdb": ["all.rdb"],
    "-o shards/": ["shards/127.0.0.1-7000.rdb", "shards/127.0.0.1-7001.rdb", "shards/127.0.0.1-7002.rdb"],
    "out.rdb --rdb-version 9": ["out.rdb"],
    "dump.jsonl.lz4": ["dump.jsonl.lz4"],
    "--html mem.html": ["mem.html"],
    "-o keys.parquet": ["keys.parquet"],
    "compact appendonlydir -o out": ["out"],
    "-o snap.rdb.lz4": ["snap.rdb.lz4"],
}


def examples() -> list[str]:
    text = README.read_text("utf-8")
    lines = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M):
        lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


def _ready(port: int, proc: subprocess.Popen, timeout: float = 15) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited with {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64)
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answered on port {port}")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    work = tmp_path_factory.mktemp("readme")
    for name, source in FILES.items():
        target = work / name
        if isinstance(source, str):
            target.write_text(source)
        elif source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    (work / "dump.rdb.lz4").write_bytes(lz4.frame.compress((work / "dump.rdb").read_bytes()))
    subprocess.run([sys.executable, "-m", "cli", "dump", str(work / "b.rdb"), "-o", str(work / "b.jsonl")],
                   cwd=ROOT, check=True)
    incr = work / "appendonlydir" / "appendonly.aof.1.incr.aof"
    assert f"#TS:{TS_FIXTURE}\r\n".encode() in incr.read_bytes()
    with incr.open("ab") as f:
        f.write(f"#TS:{TS_ADDED}\r\n*3\r\n$3\r\nSET\r\n$5\r\nlater\r\n$1\r\n1\r\n".encode())
    (work / "data").mkdir()
    bin_dir = work / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "rdbkit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
    shim.chmod(0o755)

    fetch_dir, plain_dir, cluster_dir = (tmp_path_factory.mktemp(n) for n in ("fetch", "plain", "cluster"))
    shutil.copyfile(work / "dump.rdb", fetch_dir / "dump.rdb")
    # a full sync waits repl-diskless-sync-delay (5 s) for more replicas by default
    servers = [start_real(fetch_dir, "--repl-diskless-sync-delay", "0"), start_real(plain_dir),
               start_real(cluster_dir, "--cluster-enabled", "yes",  # its bus port: port + 10000 may pass 65535
                          "--cluster-port", str(free_port()))]
    try:
        cluster = servers[2]
        assert cluster("CLUSTER", "ADDSLOTSRANGE", 0, 16383) == b"OK"
        deadline = time.monotonic() + 10
        while b"cluster_state:ok" not in cluster("CLUSTER", "INFO"):
            assert time.monotonic() < deadline, "the one-node cluster did not come up"
            time.sleep(0.05)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                   PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        yield work, env, {"fetch": servers[0], "restore": servers[1], "restore-cluster": cluster}
    finally:
        for s in servers:
            s.stop()


def _run(line: str, work: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def _serve(line: str, work: Path, env: dict[str, str]) -> None:
    """Start a `rdbkit server` example, check it answers PING, stop it (its process group)."""
    port = free_port()
    line = line.replace(SERVE_PORT, f"--port {port}")
    proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=work, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _ready(port, proc) == b"+PONG\r\n"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()[-2000:]


def test_every_example_is_run_or_excused() -> None:
    found = examples()
    assert len(found) > 20
    assert not [x for x in NOT_RUN if x not in found], "NOT_RUN names an example the README lost"


@pytest.mark.parametrize("line", [x for x in examples() if x not in NOT_RUN])
def test_readme_example_runs(line: str, scratch: Scratch) -> None:
    work, env, servers = scratch
    command = line
    for text, value in VALUES.items():
        command = command.replace(text, value)
    if command.startswith("rdbkit server"):
        assert SERVE_PORT in command, "a server example must name its port (so it can be mapped)"
        _serve(command, work, env)
        return
    targets = [name for text, name in HOSTS.items() if text in command]
    targets += [name for text, name in ADDRS.items() if text in command and name == "restore"]
    if targets == ["restore"]:  # "into a server or a Redis Cluster": both
        targets.append("restore-cluster")
    for name in targets or [""]:
        run = command
        for text in HOSTS:
            run = run.replace(text, f"--host 127.0.0.1 -p {servers[name].port}" if name else text)
        for text, role in ADDRS.items():
            if name:
                run = run.replace(text, f"127.0.0.1:{servers[role if role == 'fetch' else name].port}")
        res = _run(run, work, env)
        want = next((code for text, code in EXIT.items() if run.startswith(text)), 0)
        assert res.returncode == want, f"{run}\n{res.stdout[-1000:]}\n{res.stderr[-2000:]}"
        if name.startswith("restore"):
            keys = {r.key for r in iter_records(str(work / "dump.rdb")) if r.db == 0}
            assert servers[name]("DBSIZE") == len(keys), name
    for text, paths in CREATES.items():
        if text in command:
            for p in paths:
                assert (work / p).exists(), f"{line}: no {p}"
    if "-o snap.rdb.lz4" in command:  # an LZ4 frame of the server's snapshot
        snap = lz4.frame.decompress((work / "snap.rdb.lz4").read_bytes())
        (work / "snap.rdb").write_bytes(snap)
        assert {r.key for r in iter_records(str(work / "snap.rdb"))} == \
            {r.key for r in iter_records(str(work / "dump.rdb"))}

