"""Glob matching (rdbtools.glob) beside real redis-server 7.0, in the same run.

(a) Adversarial patterns on long subjects: the CVE-2022-36021 bomb (``a*`` x20
    then ``b``), a long literal run after a ``*`` (retried at every offset: the
    len(pattern) * len(subject) worst case of skipLongerMatches), and ``*?``
    chains. Our matcher in-process, C and pure Python; Redis doing the same
    match as ``KEYS`` over a db holding only the subject (its CPU seconds from
    /proc, so the reply and the round trip barely count).
(b) ``KEYS`` over N keys (``DEBUG POPULATE N``: ``key:0`` ..) with plain patterns
    (literal, ``prefix*``, ``*suffix``, a class) and over N/100 keys of forty
    ``a``s with the bomb: wall seconds and server CPU seconds for real Redis, ours
    with the C matcher and ours with ``RDBKIT_PUREPYTHON=1``.

``--root DIR`` runs "ours" from another checkout (say an export of the commit
before this change) for a before/after comparison; a command that does not
answer within ``--timeout`` seconds is reported as a timeout and that server is
killed. Run: ``python bench/bench_glob.py [--keys N] [--root DIR] [--timeout S]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis  # noqa: E402
from realredis import free_port, real_redis  # noqa: E402

from rdbtools import glob as rglob  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")

BOMB = b"a*" * 20 + b"b"
ADVERSARIAL = {  # name: (pattern, subject length); subjects are runs of 'a'
    "bomb a*x20 b": (BOMB, 100_000),
    "* a*200 b": (b"*" + b"a" * 200 + b"b", 20_000),
    "*? x100 b": (b"*?" * 100 + b"b", 20_000),
    "*[a-z] x50 b": (b"*[a-z]" * 50 + b"b", 20_000),
}
PLAIN = {"literal": b"key:123456", "prefix*": b"key:12*", "*suffix": b"*99",
         "class+?": b"key:[1-3]?5*", "*:1*2*3": b"*:1*2*3"}
ON_AS = {"bomb (no match)": BOMB, "a*x20 :1* (match)": b"a*" * 20 + b":1*"}
ROUNDS = 5  # KEYS calls per cell in (b), averaged: /proc counts CPU in 10 ms ticks
PURE_STEP_LIMIT = 5_000_000  # pure Python does ~1-2M matcher steps a second


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@contextlib.contextmanager
def our_server(root: Path, pure: bool) -> Iterator[tuple[int, int]]:
    """Our server from ``root``; yields (port, pid)."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("RDBKIT_PUREPYTHON", None)
    if pure:
        env["RDBKIT_PUREPYTHON"] = "1"
    with tempfile.TemporaryDirectory(prefix="glob-ours-") as d:
        proc = subprocess.Popen([sys.executable, "-m", "engine", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--dir", d, "--loglevel", "warning",
                                 "--enable-debug-command", "yes"],
                                cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    redis.Redis(port=port, socket_timeout=1).ping()
                    break
                except redis.ConnectionError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise RuntimeError("our server did not start") from None
                    time.sleep(0.1)
            yield port, proc.pid
        finally:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[int, int]]:
    with real_redis("7.0", None, "--enable-debug-command", "yes") as (port, _d):
        pid = int(redis.Redis(port=port).info("server")["process_id"])
        yield port, pid


class Timeout(Exception):
    pass


def timed(c: redis.Redis, pid: int, *argv: object) -> tuple[float, float, object]:
    """Wall and server CPU seconds of one command, and its reply."""
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    try:
        reply = c.execute_command(*argv)
    except redis.TimeoutError:
        raise Timeout from None
    return time.perf_counter() - t0, cpu_seconds(pid) - cpu0, reply


def cpu_per_call(c: redis.Redis, pid: int, *argv: object) -> float:
    """Server CPU seconds per call, over enough calls (at least 0.3 s of wall) to beat the tick."""
    calls, cpu, t0 = 0, 0.0, time.perf_counter()
    while calls < 3 or time.perf_counter() - t0 < 0.3:
        cpu += timed(c, pid, *argv)[1]
        calls += 1
    return cpu / calls


def load(c: redis.Redis, keys: int) -> None:
    c.flushall()
    c.execute_command("DEBUG", "POPULATE", keys, "key")
    bomb_keys = [b"a" * 40 + b":%d" % i for i in range(max(1, keys // 100))]
    c.select(1)
    for i in range(0, len(bomb_keys), 10_000):
        c.mset({k: 1 for k in bomb_keys[i:i + 10_000]})
    c.select(0)


def part_a(servers: dict[str, tuple[int, int]], timeout: float) -> None:
    print("(a) one match of a pattern bomb on a run of 'a's: seconds in-process (C, pure Python),\n"
          "    server CPU seconds per KEYS over a db holding only that subject (Redis, ours with C)")
    print(f"{'pattern':<16}{'subject':>9}{'C':>11}{'python':>11}{'redis cpu':>11}{'ours-C cpu':>12}")
    for name, (pat, n) in ADVERSARIAL.items():
        s = b"a" * n
        have_c = rglob.glob_match is not rglob._glob_match_py
        c_s = _best(rglob.glob_match, pat, s) if have_c else float("nan")
        py_s = _best(rglob._glob_match_py, pat, s, rounds=1) if len(pat) * n <= PURE_STEP_LIMIT else float("nan")
        cells = []
        for label in ("redis", "ours-C"):
            if label not in servers:  # gone: it timed out before
                cells.append("-")
                continue
            port, pid = servers[label]
            c = redis.Redis(port=port, socket_timeout=timeout)
            c.select(2)
            c.flushdb()
            c.set(s, 1)
            try:
                cells.append(f"{cpu_per_call(c, pid, 'KEYS', pat):.5f}")
            except Timeout:
                cells.append("timeout")
                del servers[label]  # still busy with that KEYS
                continue
            c.flushdb()
        print(f"{name:<16}{n:>9}{c_s:>11.5f}{py_s:>11.4f}{cells[0]:>11}{cells[1]:>12}", flush=True)


def _best(fn: Callable[[bytes, bytes], bool], pat: bytes, s: bytes, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn(pat, s)
        best = min(best, time.perf_counter() - t)
    return best


def part_b(labels: list[str], starts: dict[str, Callable[[], contextlib.AbstractContextManager]],
           keys: int, timeout: float) -> None:
    print(f"\n(b) KEYS over {keys:,} keys (db 0) and {max(1, keys // 100):,} keys of forty 'a's (db 1): "
          f"wall / server CPU seconds, mean of {ROUNDS} (replies)")
    cases = [(0, name, p) for name, p in PLAIN.items()] + [(1, name, p) for name, p in ON_AS.items()]
    results: dict[str, list[str]] = {}
    for label in labels:
        with starts[label]() as (port, pid):
            c = redis.Redis(port=port, socket_timeout=timeout)
            t = time.perf_counter()
            load(c, keys)
            print(f"  loaded {label} in {time.perf_counter() - t:.1f}s", flush=True)
            cells = []
            for db, _name, pat in cases:
                c.select(db)
                try:
                    runs = [timed(c, pid, "KEYS", pat) for _ in range(ROUNDS)]
                    wall = sum(r[0] for r in runs) / ROUNDS
                    cpu = sum(r[1] for r in runs) / ROUNDS
                    cells.append(f"{wall:.3f}/{cpu:.3f} ({len(runs[0][2])})")  # type: ignore[arg-type]
                except Timeout:
                    cells.append(f"timeout >{timeout:.0f}s")
                    break
            results[label] = cells + ["-"] * (len(cases) - len(cells))
    print(f"{'pattern':<26}" + "".join(f"{label:>26}" for label in labels))
    for i, (db, name, _pat) in enumerate(cases):
        print(f"{f'db{db} {name}':<26}" + "".join(f"{results[label][i]:>26}" for label in labels))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout to run 'ours' from")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--no-pure", action="store_true", help="skip the RDBKIT_PUREPYTHON=1 server")
    args = ap.parse_args()
    starts: dict[str, Callable[[], contextlib.AbstractContextManager]] = {
        "redis": redis_server,
        "ours-C": lambda: our_server(args.root, False),
        "ours-pure": lambda: our_server(args.root, True),
    }
    print(f"ours from {args.root}\n")
    with redis_server() as r, our_server(args.root, False) as o:
        part_a({"redis": r, "ours-C": o}, args.timeout)
    labels = ["redis", "ours-C"] + ([] if args.no_pure else ["ours-pure"])
    part_b(labels, starts, args.keys, args.timeout)


if __name__ == "__main__":
    main()
