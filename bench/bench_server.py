"""redis-benchmark against our server and a real redis-server 7.0, in the same run.

Run: ``python bench/bench_server.py [--quick] [--no-memory] [--rounds R] [--interleave]``.
For pipeline 1 and 16, 50 clients, every default redis-benchmark test (SET GET INCR LPUSH
RPUSH LPOP RPOP SADD HSET SPOP ZADD ZPOPMIN LRANGE_100/300/500/600 MSET): prints ops/s for
real Redis, for ours, and the ratio against issue 12's targets (≥ 70% at -P 1, ≥ 40% at
-P 16). Then the memory figure: bytes per key
after loading a 1M-key dump (made by the real server with DEBUG POPULATE) — our RSS
growth beside Redis's ``used_memory`` growth for the same file.

On a shared machine the load changes while the suite runs, and a ratio only means
something when both servers met the same load: ``--interleave`` runs each command
against Redis then ours back to back (instead of the whole suite against one, then
the other) and also prints each server's CPU time per request (from /proc; less
sensitive to the load than ops/s); ``--rounds R`` repeats everything R times and adds
the median ratio per command. ``--tests`` picks commands (redis-benchmark ``-t`` names,
plus ``hget``: HGET of the field the ``hset`` test writes, run after it; ``sadd_int`` and
``sismember_int``: SADD of members already there and SISMEMBER on a 5-integer set). ``--root`` runs
our server from another checkout (e.g. a worktree of main: before/after figures).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realredis import free_port, real_redis, tool_binary  # noqa: E402

TESTS = "set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,lrange_500,lrange_600,mset"
# tests redis-benchmark has no -t name for: the command line it runs instead
CUSTOM = {"hget": ["HGET", "myhash", "element:000000000000"],
          # a small integer set (an intset): members found by the C search, none added
          "sadd_int": ["SADD", "myintset", "1", "2", "3", "40000", "-7"],
          "sismember_int": ["SISMEMBER", "myintset", "40000"]}
TARGET = {1: 0.70, 16: 0.40}


@contextlib.contextmanager
def our_server(workdir: str, *args: str, root: Path = ROOT) -> Iterator[int]:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "engine", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--dir", workdir, "--loglevel", "warning", *args],
                            env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cli = tool_binary("redis-cli")
        deadline = time.time() + 300
        while time.time() < deadline:
            r = subprocess.run([cli, "-p", str(port), "ping"], capture_output=True)
            if r.stdout.strip() == b"PONG":
                break
            if proc.poll() is not None:
                raise RuntimeError("our server exited")
            time.sleep(0.1)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def benchmark(port: int, pipeline: int, n: int, tests: str = TESTS) -> dict[str, float]:
    what = CUSTOM.get(tests, ["-t", tests])
    out = subprocess.run([tool_binary("redis-benchmark"), "-p", str(port), "-c", "50",
                          "-n", str(n), "-P", str(pipeline), "--csv", *what],
                         capture_output=True, text=True, timeout=900).stdout
    res: dict[str, float] = {}
    for row in csv.reader(io.StringIO(out)):
        if len(row) >= 2 and row[0] != "test":
            name = tests.upper() if tests in CUSTOM else row[0].split(" ")[0].upper()
            if row[0].startswith("LPUSH (needed"):
                continue
            if row[0].startswith("LRANGE_100"):
                name = "LRANGE_100"
            if name == "MSET":
                name = "MSET"
            res[name] = float(row[1])
    return res


def info_field(port: int, field: str) -> int:
    out = subprocess.run([tool_binary("redis-cli"), "-p", str(port), "info", "memory"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise KeyError(field)


def memory_per_key(keys: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    try:
        cli = tool_binary("redis-cli")
        with real_redis("7.0", str(tmp / "real"), "--enable-debug-command", "yes") as (port, d):
            base = info_field(port, "used_memory")
            subprocess.run([cli, "-p", str(port), "debug", "populate", str(keys)], check=True, capture_output=True)
            subprocess.run([cli, "-p", str(port), "save"], check=True, capture_output=True)
            real_bytes = (info_field(port, "used_memory") - base) / keys
            dump = d / "dump.rdb"
            (tmp / "ours").mkdir()
            (tmp / "empty").mkdir()
            shutil.copy(dump, tmp / "ours" / "dump.rdb")
        with our_server(str(tmp / "empty")) as port:
            rss_empty = info_field(port, "used_memory_rss")
        t0 = time.time()
        with our_server(str(tmp / "ours")) as port:
            load_s = time.time() - t0
            rss_full = info_field(port, "used_memory_rss")
        ours_bytes = (rss_full - rss_empty) / keys
        print(f"\nmemory after loading a {keys:,}-key dump (DEBUG POPULATE strings):")
        print(f"  real redis 7.0 used_memory growth : {real_bytes:8.1f} bytes/key")
        print(f"  ours (RSS growth)                 : {ours_bytes:8.1f} bytes/key  "
              f"({ours_bytes / real_bytes:.1f}x; load took {load_s:.1f}s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def server_pid(port: int) -> int | None:
    out = subprocess.run([tool_binary("redis-cli"), "-p", str(port), "info", "server"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("process_id:"):
            return int(line.split(":", 1)[1])
    return None


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process (Linux /proc), 0.0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Cpu = dict[str, float]  # command → server CPU µs per request (interleaved runs only)


def measure(rport: int, oport: int, p: int, n: int, tests: str, interleave: bool
            ) -> tuple[dict[str, float], dict[str, float], Cpu, Cpu]:
    if not interleave:
        return benchmark(rport, p, n, tests), benchmark(oport, p, n, tests), {}, {}
    theirs: dict[str, float] = {}
    ours: dict[str, float] = {}
    cpu: tuple[Cpu, Cpu] = ({}, {})
    pids = server_pid(rport), server_pid(oport)
    for t in tests.split(","):
        for k, (port, res) in enumerate(((rport, theirs), (oport, ours))):
            c0 = cpu_seconds(pids[k])
            got = benchmark(port, p, n, t)
            used = cpu_seconds(pids[k]) - c0
            res.update(got)
            for name in got:  # LRANGE_100 also counts its LPUSH fill: an upper bound
                cpu[k][name] = used * 1e6 / n if pids[k] else 0.0
    return theirs, ours, cpu[0], cpu[1]


def print_table(p: int, n: int, theirs: dict[str, float], ours: dict[str, float], title: str = "",
                cpu: tuple[Cpu, Cpu] = ({}, {})) -> None:
    print(f"\nredis-benchmark -c 50 -n {n} -P {p}   (target: ours >= {TARGET[p]:.0%} of Redis){title}")
    extra = f"{'cpu us/req redis':>18}{'ours':>7}" if cpu[0] else ""
    print(f"  {'command':<12}{'redis 7.0':>12}{'ours':>12}{'ratio':>8}      {extra}")
    for name in theirs:
        a, b = theirs[name], ours.get(name, 0.0)
        ratio = b / a if a else 0.0
        mark = "ok" if ratio >= TARGET[p] else "BELOW"
        tail = f"{cpu[0].get(name, 0):>18.2f}{cpu[1].get(name, 0):>7.2f}" if cpu[0] else ""
        print(f"  {name:<12}{a:>12,.0f}{b:>12,.0f}{ratio:>8.0%}  {mark:<5}{tail}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller -n (a rough figure in ~30 s)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 1M-key memory figure")
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=1, help="repeat the measurement; adds median ratios")
    ap.add_argument("--interleave", action="store_true",
                    help="run each command against Redis then ours back to back")
    ap.add_argument("--tests", default=TESTS, help=f"redis-benchmark -t list (default {TESTS})")
    ap.add_argument("--pipelines", default="1,16", help="comma-separated -P values (1 and/or 16)")
    ap.add_argument("--root", type=Path, default=ROOT, help="the checkout our server runs from")
    args = ap.parse_args()
    sizes = {1: 5000, 16: 40000} if args.quick else {1: 50000, 16: 300000}
    sizes = {p: sizes[p] for p in map(int, args.pipelines.split(","))}
    tmp = tempfile.mkdtemp(prefix="bench-server-")
    ratios: dict[int, dict[str, list[float]]] = {p: {} for p in sizes}
    try:
        with real_redis("7.0", os.path.join(tmp, "real")) as (rport, _), our_server(tmp, root=args.root.resolve()) as oport:
            for r in range(args.rounds):
                for p, n in sizes.items():
                    theirs, ours, rcpu, ocpu = measure(rport, oport, p, n, args.tests, args.interleave)
                    title = f"   round {r + 1}/{args.rounds}" if args.rounds > 1 else ""
                    print_table(p, n, theirs, ours, title, (rcpu, ocpu))
                    for name, a in theirs.items():
                        ratios[p].setdefault(name, []).append(ours.get(name, 0.0) / a if a else 0.0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.rounds > 1:
        for p, per in ratios.items():
            print(f"\n-P {p}: median ratio over {args.rounds} rounds (target {TARGET[p]:.0%})")
            for name, rs in per.items():
                med = statistics.median(rs)
                mark = "ok" if med >= TARGET[p] else "BELOW"
                print(f"  {name:<12}{med:>8.0%}  {mark}   ({', '.join(f'{x:.0%}' for x in rs)})")
    if not args.no_memory:
        memory_per_key(args.keys)


if __name__ == "__main__":
    main()
