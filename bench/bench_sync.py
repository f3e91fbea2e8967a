"""``rdbkit sync``: a live copy's throughput and lag, beside ``redis-cli --cluster import``.

Run: ``python bench/bench_sync.py [--keys N] [--requests M]``. A real redis-server 7.0
source and three real 7.0 masters made a cluster by ``redis-cli --cluster create``, all
on loopback. Two measures:

1. *The same data copied once.* The source holds ``--keys`` keys (``DEBUG POPULATE``,
   plus a list, a hash, a set and a zset per 100 of them); ``rdbkit sync --until-synced``
   copies them into the empty cluster (a full sync, RESTOREd), then, after a FLUSHALL,
   ``redis-cli --cluster import --cluster-copy --cluster-replace`` does (SCAN + MIGRATE).
   Wall seconds and the copier's CPU seconds of each.
2. *Following a write load.* ``rdbkit sync`` follows the source while ``redis-benchmark
   -t set,lpush,sadd,hset,incr,zadd -r 1000 -n M -P 16`` writes into it: commands applied
   a second, the largest lag seen (source ``master_repl_offset`` minus what the sync
   acknowledged, sampled every 0.1 s), how long the sync takes to catch up after the load
   ends, and its CPU seconds. ``redis-cli --cluster import`` has no equivalent (it copies
   once and does not follow writes).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.realredis import free_port, process_cpu, redis_cli, server_binary, tool_binary  # noqa: E402

cpu, cli = process_cpu, redis_cli


def start(d: str, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", "--appendonly", "no",
            "--enable-debug-command", "yes", *extra]
    proc = subprocess.Popen([server_binary("7.0"), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while cli("-p", str(port), "ping").strip() != "PONG":
        time.sleep(0.05)
    return proc, port


def replication(port: int) -> tuple[int, int | None]:
    """(master_repl_offset, the offset the replica acknowledged once online)."""
    info = dict(ln.split(":", 1) for ln in cli("-p", str(port), "info", "replication").splitlines() if ":" in ln)
    slave = dict(kv.split("=", 1) for kv in info.get("slave0", "").split(",") if "=" in kv)
    acked = int(slave["offset"]) if slave.get("state") == "online" else None
    return int(info["master_repl_offset"]), acked


def rdbkit_sync(src: int, dst: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", "sync", f"127.0.0.1:{src}", f"127.0.0.1:{dst}",
                             "--report", "0", *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True)


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def copy_once(src: int, ports: list[int], keys: int) -> None:
    cli("-p", str(src), "debug", "populate", str(keys), "key", "100")
    cmds = []
    for i in range(keys // 100):
        cmds += [f"RPUSH list:{i} {' '.join(str(j) for j in range(20))}",
                 f"HSET hash:{i} {' '.join(f'f{j} {j}' for j in range(20))}",
                 f"SADD set:{i} {' '.join(f'm{j}' for j in range(20))}",
                 f"ZADD zset:{i} {' '.join(f'{j} m{j}' for j in range(20))}"]
    cli("-p", str(src), data="\n".join(cmds) + "\n")
    total = int(cli("-p", str(src), "dbsize"))
    c0, t0 = children_cpu(), time.time()
    proc = rdbkit_sync(src, ports[0], "--until-synced")
    proc.communicate()
    assert proc.returncode == 0
    wall, used = time.time() - t0, children_cpu() - c0
    got = sum(int(cli("-p", str(p), "dbsize")) for p in ports)
    print(f"copy {total} keys: rdbkit sync --until-synced      {wall:6.2f} s wall, {used:6.2f} s CPU ({got} keys)")
    for p in ports:
        cli("-p", str(p), "flushall")
    subprocess.run([tool_binary("redis-cli"), "-p", str(src), "config", "set", "protected-mode", "no"],
                   capture_output=True)
    c0, t0 = children_cpu(), time.time()
    subprocess.run([tool_binary("redis-cli"), "--cluster", "import", f"127.0.0.1:{ports[0]}", "--cluster-from",
                    f"127.0.0.1:{src}", "--cluster-copy", "--cluster-replace"], capture_output=True)
    wall, used = time.time() - t0, children_cpu() - c0
    got = sum(int(cli("-p", str(p), "dbsize")) for p in ports)
    print(f"copy {total} keys: redis-cli --cluster import      {wall:6.2f} s wall, {used:6.2f} s CPU ({got} keys)")
    for p in ports + [src]:
        cli("-p", str(p), "flushall")


def follow_load(src: int, ports: list[int], requests: int) -> None:
    proc = rdbkit_sync(src, ports[0])
    try:
        while replication(src)[1] is None:
            time.sleep(0.05)
        c0, a0 = cpu(proc.pid), replication(src)[1] or 0
        bench = subprocess.Popen([tool_binary("redis-benchmark"), "-p", str(src), "-t", "set,lpush,sadd,hset,incr,zadd",
                                  "-r", "1000", "-n", str(requests), "-P", "16", "-q"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0, worst = time.time(), 0
        while bench.poll() is None:
            master, acked = replication(src)
            worst = max(worst, master - (acked or 0))
            time.sleep(0.1)
        t_load = time.time()
        master, acked = replication(src)
        while acked != master:
            worst = max(worst, master - (acked or 0))
            time.sleep(0.02)
            master, acked = replication(src)
        t_end = time.time()
        used = cpu(proc.pid) - c0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate()
    m = re.search(r"(\d+) commands applied", err)
    n = int(m.group(1)) if m else 0  # what the source propagated (SADD of a member it has: nothing)
    print(f"follow redis-benchmark -n {requests} -P 16 ({t_load - t0:.2f} s of load): {n} commands, "
          f"{n / (t_end - t0):,.0f} commands/s applied, caught up {t_end - t_load:.2f} s after the load, "
          f"largest lag {worst / 1e6:.1f} MB; rdbkit sync {used:.2f} s CPU, {used / max(n, 1) * 1e6:.1f} us a "
          f"command ({(master - a0) / 1e6:.1f} MB of stream)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=50_000, help="redis-benchmark -n (six tests: 6x commands)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-sync-")
    procs: list[subprocess.Popen] = []
    try:
        dirs = [os.path.join(tmp, n) for n in ("src", "a", "b", "c")]
        for d in dirs:
            os.mkdir(d)
        src_proc, src = start(dirs[0], "--repl-diskless-sync-delay", "0", "--repl-backlog-size", "256mb")
        procs.append(src_proc)
        ports = []
        for d in dirs[1:]:
            p, port = start(d, "--cluster-enabled", "yes", "--cluster-port", str(free_port()))
            procs.append(p)
            ports.append(port)
        cli("--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-yes")
        while not all("cluster_state:ok" in cli("-p", str(p), "cluster", "info") for p in ports):
            time.sleep(0.1)
        copy_once(src, ports, a.keys)
        follow_load(src, ports, a.requests)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
