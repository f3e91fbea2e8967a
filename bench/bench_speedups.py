"""Micro-benchmark: rdbtools._speedups (C) against the pure-Python codecs (run by hand).

    python bench/bench_speedups.py [iterations]
    python bench/bench_speedups.py --files [FILE.rdb ...]

For each decoder, on small realistic blobs (what keys of a typical RDB hold),
prints the best-of-5 time per call of the Python and the C function and the
speed-up. The Python side is the pure codec modules themselves
(rdbtools.encodings.listpack, ... and the ``_py`` functions of rdbtools.objects.hashes and zsets).

``--files`` measures the decoder's fast path on whole files (default: the
1M-key benchmark files of ``bench/dataset.py``), in one process: the full
parse with ``scan_keys`` on and off (``rdbtools.decoder._scan_keys``), JSONL lines with
the C and the Python ``record_to_line``, and ``redis-check-rdb`` on the same
file for scale. Best of 3, CPU seconds (the machine may be shared) and wall.
"""

from __future__ import annotations

import os
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

try:
    from rdbtools import _speedups as C  # noqa: E402
except ImportError:
    sys.exit("rdbtools._speedups is not built: run `pip install -e .` first")


from rdbtools import decoder  # noqa: E402
from rdbtools import lzf as rlzf  # noqa: E402
from rdbtools.encodings import intset as IS  # noqa: E402
from rdbtools.encodings import listpack as LP  # noqa: E402
from rdbtools.encodings import ziplist as ZL  # noqa: E402
from rdbtools.objects import hashes as HASHES  # noqa: E402
from rdbtools.objects import zsets as ZSETS  # noqa: E402


def _best(fn: Callable[[Any], object], arg: Any, n: int) -> float:
    return min(timeit.repeat(lambda: fn(arg), number=n, repeat=5)) / n


def _row(
    label: str, py: Callable[[Any], object], c: Callable[[Any], object], arg: Any, n: int
) -> None:
    assert py(arg) == c(arg), label
    tp = _best(py, arg, n)
    tc = _best(c, arg, n)
    print(f"{label:<48} {tp * 1e6:8.2f} µs {tc * 1e6:8.2f} µs {tp / tc:7.1f}x")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    words = [b"word-%02d" % i for i in range(30)]
    small = [b"%d" % i for i in range(30)]
    mixed = [b"%d" % (i * 977 - 9000) for i in range(30)]
    # zset of 15 members: integral scores as int entries, the others as text
    zset = [
        x
        for i in range(15)
        for x in (b"member:%d" % i, b"%d" % i if i % 2 else b"%.1f" % (i + 0.5))
    ]
    hash_ = [x for i in range(15) for x in (b"field:%d" % i, b"value-%d" % i)]
    print(f"{n} calls per round, best of 5; time per call")
    print(f"{'':<48} {'Python':>11} {'C':>11} {'speed-up':>8}")
    for label, items in (
        ("30 short words", words),
        ("30 small ints", small),
        ("30 ints -9000..19000", mixed),
    ):
        lp = LP.encode_listpack(items)
        _row(f"decode_listpack: {label}", LP.decode_listpack, C.decode_listpack, lp, n)
        _row(
            f"decode_listpack_strings: {label}",
            LP.decode_listpack_strings,
            C.decode_listpack_strings,
            lp,
            n,
        )
    for label, items in (("30 short words", words), ("30 small ints", small)):
        zl = ZL.encode_ziplist(items)
        _row(f"decode_ziplist: {label}", ZL.decode_ziplist, C.decode_ziplist, zl, n)
        _row(
            f"decode_ziplist_strings: {label}",
            ZL.decode_ziplist_strings,
            C.decode_ziplist_strings,
            zl,
            n,
        )
    ins = IS.encode_intset(range(0, 1024, 2))
    _row("decode_intset: 512 int16", IS.decode_intset, C.decode_intset, ins, n // 10)

    def py_intset_strings(blob: bytes) -> list[bytes]:
        return [b"%d" % v for v in IS.decode_intset(blob)]

    _row(
        "decode_intset_strings: 512 int16", py_intset_strings, C.decode_intset_strings, ins, n // 10
    )
    zitems = LP.decode_listpack(LP.encode_listpack(zset))
    _row("zset_pairs: 15 members (int + text scores)", ZSETS._zset_pairs_py, C.zset_pairs, zitems, n)
    hitems = LP.decode_listpack_strings(LP.encode_listpack(hash_))
    _row(
        "hash_pairs: 15 fields",
        lambda x: HASHES._pairs_py(x, "hash listpack"),
        C.hash_pairs,
        hitems,
        n,
    )

    def py_zset(blob: bytes) -> object:
        return ZSETS._zset_pairs_py(LP.decode_listpack(blob))

    def c_zset(blob: bytes) -> object:
        return C.zset_pairs(C.decode_listpack(blob))

    _row(
        "zset listpack blob -> pairs (decode + pairs)", py_zset, c_zset, LP.encode_listpack(zset), n
    )
    # LZF: ours (C and Python) and, for scale, the python-neo-lzf binding's decoder
    import lzf as binding

    for label, raw in (
        ("LZF 200 B of words", b" ".join(words[i % 30] for i in range(25))),
        ("LZF 4 KiB of words", b" ".join(words[(i * 7) % 30] for i in range(512))),
    ):
        comp, size = binding.compress(raw), len(raw)
        _row(
            f"lzf_decompress: {label}",
            lambda c, size=size: rlzf._decompress_py(c, size),
            lambda c, size=size: C.lzf_decompress(c, size),
            comp,
            n // 10,
        )
        tb = _best(lambda c, size=size: binding.decompress(c, size), comp, n // 10)
        print(f"{'  python-neo-lzf decompress (C)':<48} {'':>11} {tb * 1e6:8.2f} µs")


def _clock(fn: Callable[[], object], repeat: int = 3) -> tuple[float, float]:
    """Best (CPU seconds, wall seconds) of ``repeat`` runs."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        c, w = time.process_time(), time.perf_counter()
        fn()
        best = min(best, (time.process_time() - c, time.perf_counter() - w))
    return best


def files(paths: list[Path]) -> None:
    import shutil
    import subprocess

    from rdbtools import iter_events, iter_records, jsonl

    def parse(path: Path, fast: bool) -> Callable[[], object]:
        def run() -> None:
            saved = decoder._scan_keys
            decoder._scan_keys = C.scan_keys if fast else None
            try:
                for _ in iter_events(path):
                    pass
            finally:
                decoder._scan_keys = saved

        return run

    def dump(path: Path, fast: bool) -> Callable[[], object]:
        def run() -> None:
            saved = decoder._scan_keys
            decoder._scan_keys = C.scan_keys if fast else None
            try:
                if fast:  # what `rdbkit dump` would do with records_to_jsonl
                    batch: list = []
                    to_jsonl = jsonl.records_to_jsonl
                    for rec in iter_records(path):
                        batch.append(rec)
                        if len(batch) >= 256:
                            to_jsonl(batch)
                            batch = []
                    to_jsonl(batch)
                else:  # before: Python lines, joined and encoded per 4096
                    line = jsonl._record_to_line_py
                    lines: list[str] = []
                    for rec in iter_records(path):
                        lines.append(line(rec))
                        if len(lines) >= 4096:
                            "\n".join(lines).encode("utf-8")
                            lines = []
                    "\n".join(lines).encode("utf-8")
            finally:
                decoder._scan_keys = saved

        return run

    print(f"{'':<52} {'CPU s':>7} {'wall s':>7}")
    for path in paths:
        if not path.exists():
            print(f"{path}: missing (python bench/dataset.py)")
            continue
        for label, fn in (
            ("parse, Python path", parse(path, False)),
            ("parse, scan_keys", parse(path, True)),
            ("parse + JSONL, Python", dump(path, False)),
            ("parse + JSONL, C (records_to_jsonl)", dump(path, True)),
        ):
            cpu, wall = _clock(fn)
            print(f"{path.name + ': ' + label:<52} {cpu:7.2f} {wall:7.2f}", flush=True)
        tool = shutil.which("redis-check-rdb")
        if tool:

            def check(cmd: list[str] = [tool, str(path)]) -> None:  # noqa: B006 - bound now
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

            c0 = os.times()
            wall = _clock(check)[1]
            c1 = os.times()
            cpu = (
                c1.children_user + c1.children_system - c0.children_user - c0.children_system
            ) / 3
            print(f"{path.name + ': redis-check-rdb (mean CPU)':<52} {cpu:7.2f} {wall:7.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--files":
        data = ROOT / "bench" / "data"
        names = sys.argv[2:] or [str(data / "mixed-1m-rdb10.rdb"), str(data / "mixed-1m-rdb9.rdb")]
        files([Path(n) for n in names])
    else:
        main()
