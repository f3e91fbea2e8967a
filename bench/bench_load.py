"""Start-up load of a dump of small hashes: our server beside a real redis-server 7.0.

Run: ``python bench/bench_load.py [--keys 200000] [--root PATH ...] [--dump FILE]``
(``--dump bench/data/mixed-1m-rdb10.rdb``: the 1M-key mixed dataset of ``bench/dataset.py``).

Real Redis makes the dump (``HSET hash:<i>`` of 5-10 fields each, small strings and
integers, as DEBUG POPULATE makes strings), then each server starts on a copy of it and
this prints, per server: the time from exec until PING answers and INFO says
``loading:0``, the CPU seconds the process used by then (from /proc, less sensitive to a
shared machine than wall time), its RSS after the load, and its RSS again after a pass
that reads every key (``DEBUG DIGEST``), so the figure is not a lazy-loading artefact,
and then the time and CPU seconds of a SAVE of what it loaded.
``--root`` (repeatable) measures our server from another checkout too (e.g. a worktree of
main), so before/after figures come from the same run beside the same real Redis.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_server import cpu_seconds  # noqa: E402
from realredis import free_port, real_redis, server_binary  # noqa: E402


def make_dump(keys: int, where: Path) -> Path:
    """The dump real Redis writes for ``keys`` small hashes (seeded: the same every run)."""
    rng = random.Random(7)
    with real_redis("7.0", str(where)) as (port, d):
        c = redis.Redis(port=port)
        p = c.pipeline(transaction=False)
        for i in range(keys):
            n = rng.randint(5, 10)
            fields = []
            for j in range(n):
                v = str(rng.randint(0, 100000)) if rng.random() < 0.5 else "value:%d:%d" % (i, j)
                fields += [f"field:{j}", v]
            p.execute_command("HSET", f"hash:{i}", *fields)
            if i % 1000 == 999:
                p.execute()
        p.execute()
        c.save()
        c.close()
        return d / "dump.rdb"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_server(argv: list[str], port: int, env: dict[str, str] | None, cwd: Path | None) -> dict[str, float]:
    """Start ``argv`` in ``cwd``, wait for PONG and loading:0; the figures, then stop it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = redis.Redis(port=port, socket_timeout=600)
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited with {proc.returncode}")
            try:
                if c.ping() and c.info("persistence")["loading"] == 0:
                    break
            except (redis.ConnectionError, redis.BusyLoadingError):
                pass
            time.sleep(0.01)
        load_s = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid)
        rss = rss_bytes(proc.pid)
        keys = c.dbsize()
        c.execute_command("DEBUG", "DIGEST")
        rss_read = rss_bytes(proc.pid)
        used = c.info("memory")["used_memory"]
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        c.save()
        save_s, save_cpu = time.perf_counter() - t0, cpu_seconds(proc.pid) - cpu0
        c.close()
        return {"load_s": load_s, "cpu_s": cpu, "rss": rss, "rss_read": rss_read, "used": used, "keys": keys,
                "save_s": save_s, "save_cpu": save_cpu}
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def byte_compile(root: Path) -> None:
    """Compile a checkout's modules first, as an installed package has them: a stale or
    missing ``__pycache__`` (a fresh checkout, or a shell with PYTHONDONTWRITEBYTECODE)
    would add ~0.4 s of compiling to our start-up and nothing to Redis's."""
    pkgs = [str(root / p) for p in ("rdbtools", "aof", "engine", "cli") if (root / p).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *pkgs], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--root", action="append", default=[], help="another checkout of ours to measure too")
    ap.add_argument("--dump", type=Path, help="load this dump instead (e.g. bench/data/mixed-1m-rdb10.rdb "
                    "from bench/dataset.py)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        t0 = time.perf_counter()
        if args.dump:
            dump = args.dump
            print(f"dump {dump}: {dump.stat().st_size / 1e6:.1f} MB")
        else:
            dump = make_dump(args.keys, tmp / "make")
            print(f"dump of {args.keys:,} small hashes by redis-server 7.0: {dump.stat().st_size / 1e6:.1f} MB "
                  f"(made in {time.perf_counter() - t0:.0f} s)")
        rows: list[tuple[str, dict[str, float]]] = []
        runs = [("redis-server 7.0", None)] + [(f"ours ({r})", Path(r).resolve()) for r in [str(ROOT), *args.root]]
        runs += [(f"{label}, empty", root) for label, root in runs[:2]]  # what the process holds anyway
        for label, root in runs:
            if root is not None:
                byte_compile(root)
            d = tmp / f"run{len(rows)}"
            d.mkdir()
            if not label.endswith("empty"):
                shutil.copy(dump, d / "dump.rdb")
            port = free_port()
            common = ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(d), "--dbfilename", "dump.rdb",
                      "--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]
            if root is None:
                argv = [server_binary("7.0"), *common]
                env = None
            else:
                argv = [sys.executable, "-m", "engine", *common, "--loglevel", "warning"]
                env = dict(os.environ, PYTHONPATH=str(root))
            rows.append((label, run_server(argv, port, env, root)))  # -m engine: from root
        real = rows[0][1]
        print(f"\n  {'server':<40}{'load s':>8}{'cpu s':>8}{'RSS MB':>9}{'after read':>12}{'used_memory MB':>16}"
              f"{'SAVE s':>8}{'cpu s':>8}")
        for label, r in rows:
            print(f"  {label[-40:]:<40}{r['load_s']:>8.2f}{r['cpu_s']:>8.2f}{r['rss'] / 1e6:>9.1f}"
                  f"{r['rss_read'] / 1e6:>12.1f}{r['used'] / 1e6:>16.1f}{r['save_s']:>8.2f}{r['save_cpu']:>8.2f}")
        for label, r in rows[1:]:
            if label.endswith("empty"):
                continue
            print(f"  {label[-40:]:<40} vs redis: load {r['load_s'] / real['load_s']:.1f}x, "
                  f"cpu {r['cpu_s'] / real['cpu_s']:.1f}x, RSS {r['rss_read'] / real['rss_read']:.2f}x, "
                  f"used_memory {r['used'] / real['used']:.2f}x, SAVE {r['save_s'] / real['save_s']:.1f}x "
                  f"(cpu {r['save_cpu'] / max(real['save_cpu'], 0.01):.1f}x); keys {int(r['keys']):,}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
