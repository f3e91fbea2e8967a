"""RequestParser vs hiredis.Reader on a pipeline of 10,000 ``SET key:NNN value`` commands.

Run: ``python bench/bench_resp.py [--commands N] [--repeat R]``. Prints commands/s for
both parsers (best of R runs, whole buffer fed at once and in 16 KiB reads) and the
ratio. hiredis is the C reference; our parser is the authoritative pure-Python one.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aof.replies import encode_command  # noqa: E402
from aof.resp import RequestParser  # noqa: E402

try:
    import hiredis
except ImportError:  # pragma: no cover
    hiredis = None


def pipeline(n: int) -> bytes:
    return b"".join(encode_command([b"SET", b"key:%d" % i, b"value"]) for i in range(n))


def chunks(buf: bytes, size: int) -> list[bytes]:
    return [buf[i : i + size] for i in range(0, len(buf), size)] if size else [buf]


def ours(parts: list[bytes]) -> int:
    p = RequestParser()
    count = 0
    for part in parts:
        p.feed(part)
        count += len(p.parse())
    return count


def theirs(parts: list[bytes]) -> int:
    r = hiredis.Reader()
    gets = r.gets
    count = 0
    for part in parts:
        r.feed(part)
        out = []  # keep the replies alive, as the server keeps the parsed commands
        append = out.append
        while (x := gets()) is not False:
            append(x)
        count += len(out)
    return count


def best(
    fns: list[Callable[[list[bytes]], int]], parts: list[bytes], n: int, repeat: int
) -> list[float]:
    """Best time of each function; runs are interleaved so machine noise hits both."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, acc in zip(fns, times, strict=True):
            gc.collect()
            t0 = time.perf_counter()
            got = fn(parts)
            acc.append(time.perf_counter() - t0)
            assert got == n, (fn.__name__, got, n)
    return [min(acc) for acc in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--commands", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    buf = pipeline(args.commands)
    print(f"{args.commands} commands, {len(buf)} bytes")
    for label, size in (("whole buffer", 0), ("16 KiB reads", 16384)):
        parts = chunks(buf, size)
        fns = [ours] if hiredis is None else [ours, theirs]
        t_ours, *t_other = best(fns, parts, args.commands, args.repeat)
        line = f"{label:13s} RequestParser {args.commands / t_ours:12,.0f} cmd/s"
        if t_other:
            t_hr = t_other[0]
            line += f"   hiredis.Reader {args.commands / t_hr:12,.0f} cmd/s   ratio {t_ours / t_hr:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
