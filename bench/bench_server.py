"""redis-benchmark against our server and a real redis-server 7.0, in the same run.

Run: ``python bench/bench_server.py [--quick] [--no-memory]``. For pipeline 1 and 16, 50
clients, the commands SET GET INCR LPUSH RPOP SADD HSET ZADD LRANGE_100 MSET: prints
ops/s for real Redis, for ours, and the ratio against the issue's targets (≥ 40% at
-P 1, ≥ 25% at -P 16). Then the memory figure: bytes per key after loading a 1M-key
dump (made by the real server with DEBUG POPULATE) — our RSS growth beside Redis's
``used_memory`` growth for the same file.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import signal
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

TESTS = "set,get,incr,lpush,rpop,sadd,hset,zadd,lrange_100,mset"
TARGET = {1: 0.40, 16: 0.25}


@contextlib.contextmanager
def our_server(workdir: str, *args: str) -> Iterator[int]:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "engine", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--dir", workdir, "--loglevel", "warning", *args],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def benchmark(port: int, pipeline: int, n: int) -> dict[str, float]:
    out = subprocess.run([tool_binary("redis-benchmark"), "-p", str(port), "-t", TESTS, "-c", "50",
                          "-n", str(n), "-P", str(pipeline), "--csv"],
                         capture_output=True, text=True, timeout=900).stdout
    res: dict[str, float] = {}
    for row in csv.reader(io.StringIO(out)):
        if len(row) >= 2 and row[0] != "test":
            name = row[0].split(" ")[0].upper()
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller -n (a rough figure in ~30 s)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 1M-key memory figure")
    ap.add_argument("--keys", type=int, default=1_000_000)
    args = ap.parse_args()
    sizes = {1: 5000, 16: 40000} if args.quick else {1: 50000, 16: 300000}
    tmp = tempfile.mkdtemp(prefix="bench-server-")
    results: dict[int, tuple[dict[str, float], dict[str, float]]] = {}
    try:
        with real_redis("7.0", os.path.join(tmp, "real")) as (rport, _), our_server(tmp) as oport:
            for p, n in sizes.items():
                theirs = benchmark(rport, p, n)
                ours = benchmark(oport, p, n)
                results[p] = (theirs, ours)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for p, (theirs, ours) in results.items():
        print(f"\nredis-benchmark -c 50 -n {sizes[p]} -P {p}   (target: ours >= {TARGET[p]:.0%} of Redis)")
        print(f"  {'command':<12}{'redis 7.0':>12}{'ours':>12}{'ratio':>8}  ")
        for name in theirs:
            a, b = theirs[name], ours.get(name, 0.0)
            ratio = b / a if a else 0.0
            mark = "ok" if ratio >= TARGET[p] else "BELOW"
            print(f"  {name:<12}{a:>12,.0f}{b:>12,.0f}{ratio:>8.0%}  {mark}")
    if not args.no_memory:
        memory_per_key(args.keys)


if __name__ == "__main__":
    main()
