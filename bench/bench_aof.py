"""AOF benchmark: rdbkit beside real redis-server 7.0, same run, same files.

The input is the seeded noisy AOF of the compact scale test (3M writes on 200k keys
over four dbs, ``tests/support/noisy_aof.py``), generated once into ``bench/data/``.

(a) ``rdbkit compact`` (replay + rewrite, ``--format multipart``: an RDB base, what
    Redis 7.0's ``BGREWRITEAOF`` writes with ``aof-use-rdb-preamble yes``) beside real
    Redis loading the same AOF at start (exec until INFO ``loading:0``, and the load
    time its log reports) plus its ``BGREWRITEAOF`` (until the rewrite is done); commands
    per second and the ratio. Our output is then loaded by real Redis and its ``DEBUG
    DIGEST`` compared with the input's.
(b) AOF load at start: ``rdbkit server --appendonly yes --dir D`` (D holding the
    same AOF as ``appendonly.aof``, adopted as the base of ``D/appendonlydir``) beside
    real Redis; digest compared.
(c) ``redis-benchmark -t set -c 50`` at ``-P 1`` and ``-P 16`` with ``appendonly yes`` and
    ``appendfsync everysec`` / ``always``: ops/s of real Redis, ours, ratio.

Wall clock is what the issue's ratios use; CPU seconds (ours, and real Redis's: its
process for the load, its rewrite child from INFO) are printed with their ratio too,
since a shared machine inflates wall time. Run: ``python bench/bench_aof.py [--quick] [--only a,b,c]
[--root PATH ...]`` (``--quick``: 300k writes on 20k keys and smaller redis-benchmark
runs; ``--root`` (repeatable, parts a and b) measures another checkout of ours too, e.g.
a worktree of the main branch for a before/after beside real Redis in the same run).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from realredis import free_port, tool_binary  # noqa: E402

from tests.support.aof_loading import (  # noqa: E402
    digest,
    place_single_file,
    real_redis_aof,
)
from tests.support.noisy_aof import noisy_aof_path, write_noisy_aof  # noqa: E402

_REPLAYED = re.compile(r"replayed (\d+) commands")


def ensure_input(writes: int, keys: int) -> tuple[Path, int]:
    """The noisy AOF (generated on first use) and its record count."""
    DATA.mkdir(exist_ok=True)
    path = noisy_aof_path(DATA, writes, keys)
    meta = path.with_suffix(".json")
    if not (path.exists() and meta.exists()):
        t = time.perf_counter()
        stats = write_noisy_aof(path, writes, keys)
        dt = time.perf_counter() - t
        meta.write_text(json.dumps({"commands": stats.commands, "writes": stats.writes,
                                    "size": stats.size, "generate_s": dt}))
        print(f"generated {path.name}: {stats.commands:,} records ({writes:,} writes on "
              f"{keys:,} keys), {stats.size / 1e6:.0f} MB in {dt:.1f}s", flush=True)
    info = json.loads(meta.read_text())
    print(f"input: {path.relative_to(ROOT)}: {info['commands']:,} records, {info['size'] / 1e6:.0f} MB "
          f"(generated in {info['generate_s']:.1f}s)\n", flush=True)
    return path, info["commands"]


def _env(root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def vm_hwm_mb(pid: int) -> float:
    """A live process's peak RSS (``VmHWM``), MB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def proc_cpu(pid: int) -> float:
    """A live process's CPU seconds so far (user + system, all threads)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PEAK_MB = 0.0  # peak RSS of the last run_ours child, MB


def run_ours(args: list[str], root: Path = ROOT) -> tuple[float, float, str]:
    """``rdbkit <args>`` (the checkout at ``root``) in a child: wall seconds, CPU seconds
    (user+sys), stderr (its peak RSS goes to ``PEAK_MB``)."""
    global PEAK_MB
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=root, env=_env(root),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    dt = time.perf_counter() - t
    PEAK_MB = usage.ru_maxrss / 1024
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: rdbkit {' '.join(args)}\n{err[-2000:]}")
    return dt, usage.ru_utime + usage.ru_stime, err


def bgrewriteaof(port: int) -> tuple[float, float]:
    """Seconds from BGREWRITEAOF until the rewrite is done (Redis's status must be ok), and
    the CPU seconds its child used."""
    import redis

    r = redis.Redis(port=port)
    cpu = r.info("cpu")
    before = cpu["used_cpu_user_children"] + cpu["used_cpu_sys_children"]
    t = time.perf_counter()
    r.bgrewriteaof()
    while True:
        info = r.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            break
        time.sleep(0.005)
    dt = time.perf_counter() - t
    if info["aof_last_bgrewrite_status"] != "ok":
        raise SystemExit("real Redis: BGREWRITEAOF failed")
    time.sleep(0.2)  # the child is reaped by the cron
    cpu = r.info("cpu")
    r.close()
    return dt, cpu["used_cpu_user_children"] + cpu["used_cpu_sys_children"] - before


@contextlib.contextmanager
def our_server(workdir: Path, *args: str, timeout: float = 1800,
               root: Path = ROOT) -> Iterator[tuple[int, float, float]]:
    """``rdbkit server`` (the checkout at ``root``) in ``workdir``; yields (port, seconds until INFO loading:0, CPU
    seconds used by then). Raises RuntimeError with the server's stderr if it cannot start."""
    import redis

    port = free_port()
    errlog = workdir / "ours.stderr"
    t0 = time.perf_counter()
    with open(errlog, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "server", "--port", str(port),
                                 "--bind", "127.0.0.1", "--save", "", "--dir", str(workdir),
                                 "--enable-debug-command", "local", *args],
                                cwd=root, env=_env(root), stdout=subprocess.DEVNULL, stderr=err)
    try:
        r = redis.Redis(port=port, socket_timeout=30)
        deadline = time.time() + timeout
        while True:
            try:
                if int(r.info("persistence").get("loading", 0)) == 0:
                    break
            except (redis.BusyLoadingError, redis.ConnectionError):
                pass
            if proc.poll() is not None or time.time() > deadline:
                tail = errlog.read_text(errors="replace")[-1500:]
                raise RuntimeError(f"our server did not start/load (exit {proc.poll()}): {tail}")
            time.sleep(0.01)
        ready = time.perf_counter() - t0
        cpu = proc_cpu(proc.pid)
        r.close()
        yield port, ready, cpu
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def _label(root: Path) -> str:
    return "" if root == ROOT else f" [{root}]"


def bench_compact(src: Path, records: int, tmp: Path, roots: list[Path]) -> bytes:
    print("(a) compact vs real Redis 7.0 load + BGREWRITEAOF", flush=True)
    place_single_file(src, tmp / "real-load")
    with real_redis_aof(tmp / "real-load") as srv:
        load_s, logged = srv.ready_s, srv.logged_load_s or float("nan")
        load_cpu = proc_cpu(srv.proc.pid)
        want = digest(srv.port)
        rewrite_s, rewrite_cpu = bgrewriteaof(srv.port)
        real_mb = vm_hwm_mb(srv.proc.pid)  # what Redis needed for the dataset (the rewrite forks)
    shutil.rmtree(tmp / "real-load")
    theirs = load_s + rewrite_s
    print(f"  real redis 7.0 load (exec -> loading:0)  {load_s:8.2f}s {records / load_s:12,.0f} cmd/s "
          f"(CPU {load_cpu:.1f}s; log: {logged:.2f}s)")
    print(f"  real redis 7.0 BGREWRITEAOF              {rewrite_s:8.2f}s (CPU {rewrite_cpu:.1f}s; peak RSS "
          f"{real_mb:.0f} MB)", flush=True)
    their_cpu = load_cpu + rewrite_cpu
    for root in roots:
        out = tmp / "compact" / "appendonlydir"
        out.parent.mkdir()
        ours, cpu, err = run_ours(["compact", str(src), "-o", str(out), "--format", "multipart"], root)
        m = _REPLAYED.search(err)
        if not m or int(m.group(1)) != records:
            raise SystemExit(f"compact replayed an unexpected number of commands:\n{err}")
        with real_redis_aof(out.parent) as srv:
            same = digest(srv.port) == want
        shutil.rmtree(out.parent)
        print(f"  rdbkit compact --format multipart        {ours:8.2f}s {records / ours:12,.0f} cmd/s "
              f"(CPU {cpu:.1f}s){_label(root)}")
        print(f"    ratio: compact is {ours / theirs:.1f}x Redis's load + rewrite time "
              f"({ours / load_s:.1f}x its load alone), {cpu / their_cpu:.1f}x its CPU seconds; "
              f"throughput {records / ours / (records / load_s):.0%} of Redis's load")
        print(f"    peak RSS: compact {PEAK_MB:.0f} MB, real Redis {real_mb:.0f} MB "
              f"({PEAK_MB / real_mb:.2f}x; target <= 1.5x)")
        print(f"    compact output loads in real Redis with the input's DEBUG DIGEST: "
              f"{'yes' if same else 'NO'}", flush=True)
    print()
    return want


def bench_load(src: Path, records: int, tmp: Path, want: bytes | None, roots: list[Path]) -> None:
    print("(b) AOF load at start: rdbkit server vs real Redis 7.0", flush=True)
    place_single_file(src, tmp / "real-b")
    with real_redis_aof(tmp / "real-b") as srv:
        theirs = srv.ready_s
        their_cpu = proc_cpu(srv.proc.pid)
        want = want or digest(srv.port)
    shutil.rmtree(tmp / "real-b")
    print(f"  real redis 7.0   {theirs:8.2f}s {records / theirs:12,.0f} cmd/s (CPU {their_cpu:.1f}s)",
          flush=True)
    for root in roots:
        d = tmp / "ours-b"
        place_single_file(src, d)
        try:
            with our_server(d, "--appendonly", "yes", root=root) as (port, ours, cpu):
                try:
                    got = digest(port)
                except Exception as exc:  # report, do not stop the bench
                    got = f"unavailable ({exc})".encode()
        except RuntimeError as exc:
            print(f"  SKIPPED: our server cannot load an AOF at start: {exc}{_label(root)}", flush=True)
            continue
        finally:
            shutil.rmtree(d, ignore_errors=True)
        print(f"  rdbkit server    {ours:8.2f}s {records / ours:12,.0f} cmd/s (CPU {cpu:.1f}s){_label(root)}")
        print(f"    ratio: ours takes {ours / theirs:.1f}x as long, {cpu / their_cpu:.1f}x the CPU seconds; "
              f"same DEBUG DIGEST: "
              f"{'yes' if got == want else 'NO (' + got.decode(errors='replace') + ')'}", flush=True)
    print()


def redis_benchmark(port: int, pipeline: int, n: int) -> float:
    out = subprocess.run([tool_binary("redis-benchmark"), "-p", str(port), "-t", "set", "-c", "50",
                          "-n", str(n), "-P", str(pipeline), "--csv"],
                         capture_output=True, text=True, timeout=1800).stdout
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] == "SET":
            return float(row[1])
    raise RuntimeError(f"redis-benchmark printed no SET row: {out[-500:]}")


def bench_set(tmp: Path, quick: bool) -> None:
    print("(c) redis-benchmark -t set -c 50 with appendonly yes", flush=True)
    sizes = {1: 5_000, 16: 40_000} if quick else {1: 50_000, 16: 300_000}
    rows = []
    for fsync in ("everysec", "always"):
        for p, n in sizes.items():
            if fsync == "always":
                n //= 5
            args = ("--appendonly", "yes", "--appendfsync", fsync)
            d = tmp / f"real-{fsync}-{p}"
            with real_redis_aof(d, "--appendfsync", fsync) as srv:
                theirs = redis_benchmark(srv.port, p, n)
            shutil.rmtree(d)
            d = tmp / f"ours-{fsync}-{p}"
            d.mkdir()
            try:
                with our_server(d, *args) as (port, _, _):
                    ours: float | None = redis_benchmark(port, p, n)
            except RuntimeError as exc:
                print(f"  SKIPPED ours ({fsync}, -P {p}): {exc}", flush=True)
                ours = None
            shutil.rmtree(d, ignore_errors=True)
            rows.append((fsync, p, n, theirs, ours))
            ratio = f"{ours / theirs:7.0%}" if ours else "      -"
            print(f"  appendfsync {fsync:<9} -P {p:<3} -n {n:<7} redis 7.0 {theirs:>10,.0f}  "
                  f"ours {ours or 0:>10,.0f}  {ratio}", flush=True)
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300k writes on 20k keys; short benchmarks")
    ap.add_argument("--writes", type=int, default=None)
    ap.add_argument("--keys", type=int, default=None)
    ap.add_argument("--only", default="a,b,c", help="comma-separated parts to run (a, b, c)")
    ap.add_argument("--root", action="append", default=[],
                    help="another checkout of ours to measure too (parts a and b)")
    args = ap.parse_args()
    writes = args.writes or (300_000 if args.quick else 3_000_000)
    keys = args.keys or (20_000 if args.quick else 200_000)
    parts = set(args.only.split(","))
    roots = [ROOT, *(Path(r).resolve() for r in args.root)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-aof-", dir=DATA if DATA.exists() else None))
    try:
        want = None
        if parts & {"a", "b"}:
            src, records = ensure_input(writes, keys)
            if "a" in parts:
                want = bench_compact(src, records, tmp, roots)
            if "b" in parts:
                bench_load(src, records, tmp, want, roots)
        if "c" in parts:
            bench_set(tmp, args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
