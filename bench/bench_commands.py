"""Command bodies alone: instructions (or CPU µs) per call of each redis-benchmark command.

Run: ``python bench/bench_commands.py [--n 20000] [--tests incr,lpush] [--callgrind] [--root DIR]``.

``bench_server.py`` measures the whole request path against a real Redis, which mixes
the parser, dispatch and the socket with the command's own work and swings with the
machine's load. This bench calls each command's handler (``cmd.proc(c, argv)``, what
``call()`` runs) N times on a server built in the process, with the arguments
redis-benchmark sends (no ``-r``) and the data its earlier tests leave (LPOP on the list
LPUSH grew, SPOP on the set SADD left a member in and SPOP emptied, LRANGE on 600
elements), so a change to a command body shows as its own figure. The ``set`` row
(set_cmd + Database.set) is the yardstick; ``noop`` is the loop's own cost.

Without ``--callgrind`` it prints CPU µs per call (best of 3). With ``--callgrind`` it
runs itself under ``valgrind --tool=callgrind`` and prints instructions per call, which a
busy machine does not change: each test's loop runs inside ``functools.reduce``, the only
code callgrind collects (``--toggle-collect``), with one profile dumped per loop.
``RDBKIT_PUREPYTHON=1`` measures the pure-Python fallbacks.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --root DIR: the engine of another checkout (e.g. an export of main: before/after figures)
ROOT = Path(sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else Path(__file__).parent.parent).resolve()
sys.path.insert(0, str(ROOT))

from engine.config import Config  # noqa: E402
from engine.execution.client import Client  # noqa: E402
from engine.execution.registry import TABLE  # noqa: E402
from engine.server.app import Server  # noqa: E402

R = b"__rand_int__"
# name → (the command line, the commands run before it, once, to leave redis-benchmark's data)
TESTS: dict[str, tuple[list[bytes], list[list[bytes]]]] = {
    "noop": ([b"noop"], []),
    "set": ([b"SET", b"key:" + R, b"xxx"], [[b"SET", b"key:" + R, b"xxx"]]),
    "get": ([b"GET", b"key:" + R], [[b"SET", b"key:" + R, b"xxx"]]),
    "incr": ([b"INCR", b"counter:" + R], [[b"INCR", b"counter:" + R]]),
    "lpush": ([b"LPUSH", b"mylist", b"xxx"], [[b"LPUSH", b"mylist"] + [b"xxx"] * 1000]),
    "rpush": ([b"RPUSH", b"mylist", b"xxx"], [[b"RPUSH", b"mylist"] + [b"xxx"] * 1000]),
    "lpop": ([b"LPOP", b"mylist"], []),  # the list is filled to hold N more
    "rpop": ([b"RPOP", b"mylist"], []),
    "sadd": ([b"SADD", b"myset", b"element:" + R], [[b"SADD", b"myset", b"element:" + R]]),
    "hset": ([b"HSET", b"myhash", b"element:" + R, b"xxx"], [[b"HSET", b"myhash", b"element:" + R, b"xxx"]]),
    "hget": ([b"HGET", b"myhash", b"element:" + R], [[b"HSET", b"myhash", b"element:" + R, b"xxx"]]),  # not one of redis-benchmark's
    "spop": ([b"SPOP", b"myset"], []),  # the set SADD left, emptied by the first SPOP
    "zadd": ([b"ZADD", b"myzset", b"0", b"element:" + R], [[b"ZADD", b"myzset", b"0", b"element:" + R]]),
    "zpopmin": ([b"ZPOPMIN", b"myzset"], []),
    "lrange_100": ([b"LRANGE", b"mylist", b"0", b"99"], [[b"LPUSH", b"mylist"] + [b"xxx"] * 600]),
    "lrange_600": ([b"LRANGE", b"mylist", b"0", b"599"], [[b"LPUSH", b"mylist"] + [b"xxx"] * 600]),
    "mset": ([b"MSET", *[b"key:" + R, b"xxx"] * 10], []),
}
DEFAULT = "noop,set,get,incr,lpush,rpush,lpop,rpop,hset,spop,zadd,zpopmin,lrange_100,mset"


def prepare(name: str, n: int) -> tuple[Callable[..., Any], Client, list[bytes]]:
    """A fresh server holding what the test's command finds when redis-benchmark runs it."""
    srv = Server(Config())
    c = Client(srv)
    argv, setup = TESTS[name]
    if name in ("lpop", "rpop"):
        setup = [[b"RPUSH", b"mylist"] + [b"xxx"] * 1000] * (n // 1000 + 2)
    for a in setup:
        TABLE.lookup[a[0].lower()].proc(c, a)
    if name == "noop":
        return (lambda c, argv: None), c, argv
    return TABLE.lookup[argv[0].lower()].proc, c, argv


def run_loop(proc: Callable[..., Any], c: Client, argv: list[bytes], n: int) -> None:
    # functools.reduce: the one C function callgrind collects inside (--toggle-collect)
    functools.reduce(lambda _, __: proc(c, argv), range(n), None)


def inner(names: list[str], n: int) -> None:
    for name in names:
        proc, c, argv = prepare(name, n)
        run_loop(proc, c, argv, n)


def cpu(names: list[str], n: int) -> None:
    for name in names:
        best = float("inf")
        for _ in range(3):
            proc, c, argv = prepare(name, n)
            t0 = time.process_time()
            run_loop(proc, c, argv, n)
            best = min(best, time.process_time() - t0)
        print(f"{name:<12} {best / n * 1e6:8.3f} µs/call")


def callgrind(names: list[str], n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                        "--toggle-collect=functools_reduce", "--dump-after=functools_reduce",
                        f"--callgrind-out-file={out}", sys.executable, __file__, "--inner",
                        "--n", str(n), "--tests", ",".join(names), "--root", str(ROOT)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dumps = sorted((f for f in os.listdir(tmp) if f.startswith("cg.out.")), key=lambda f: int(f.rsplit(".", 1)[1]))
        totals = []
        for f in dumps:
            text = Path(tmp, f).read_text()
            m = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            totals.append(int(m.group(1)) if m else 0)
    if len(totals) != len(names):
        sys.exit(f"expected {len(names)} profiles, callgrind wrote {len(totals)}")
    for name, total in zip(names, totals):
        print(f"{name:<12} {total / n:10.0f} instructions/call")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="calls per test")
    ap.add_argument("--tests", default=DEFAULT, help=f"comma-separated, of: {','.join(TESTS)}")
    ap.add_argument("--callgrind", action="store_true", help="instructions per call (valgrind)")
    ap.add_argument("--root", help="run the engine of another checkout")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    names = args.tests.split(",")
    unknown = [t for t in names if t not in TESTS]
    if unknown:
        sys.exit(f"unknown tests: {','.join(unknown)}")
    if args.inner:
        inner(names, args.n)
    elif args.callgrind:
        callgrind(names, args.n)
    else:
        cpu(names, args.n)


if __name__ == "__main__":
    main()
