"""Micro-benchmark: listpack decode throughput (no assertions; run by hand).

    python bench/bench_encodings.py [iterations]

Decodes a listpack of 100 short strings and one of 100 small ints
``iterations`` times (default 200,000, in 5 rounds; the best round is
reported) with each decoder and prints MB/s of blob bytes and entries/s. Set RDBKIT_PUREPYTHON=1 to compare fallbacks
once accelerators exist.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rdbtools.encodings import (  # noqa: E402
    decode_intset,
    decode_listpack,
    decode_listpack_strings,
    decode_ziplist_strings,
    encode_intset,
    encode_listpack,
    encode_ziplist,
)


def _bench(name: str, fn: Callable[[bytes], object], blob: bytes, entries: int, n: int) -> None:
    """Run ``fn(blob)`` n times in 5 rounds; report the best round (the machine is shared)."""
    fn(blob)
    rounds = 5
    per_round = max(1, n // rounds)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn(blob)
        best = min(best, (time.perf_counter() - t0) / per_round)
    print(
        f"{name:<46} {len(blob):>5} B  {len(blob) / best / 1e6:7.1f} MB/s"
        f"  {entries / best / 1e6:6.2f} M entries/s  {best * 1e6:6.2f} µs/blob"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    strings = [b"member:%05d" % i for i in range(100)]
    small_ints = [b"%d" % i for i in range(100)]
    mixed_ints = [b"%d" % (i * 97 - 3000) for i in range(100)]
    lp_str = encode_listpack(strings)
    lp_int = encode_listpack(small_ints)
    lp_mix = encode_listpack(mixed_ints)
    print(f"{n} iterations per line")
    _bench("decode_listpack_strings: 100 short strings", decode_listpack_strings, lp_str, 100, n)
    _bench("decode_listpack_strings: 100 ints 0..99", decode_listpack_strings, lp_int, 100, n)
    _bench("decode_listpack_strings: 100 ints -3000..6603", decode_listpack_strings, lp_mix, 100, n)
    _bench("decode_listpack: 100 short strings", decode_listpack, lp_str, 100, n)
    _bench("decode_listpack: 100 ints 0..99", decode_listpack, lp_int, 100, n)
    _bench(
        "decode_ziplist_strings: 100 short strings",
        decode_ziplist_strings,
        encode_ziplist(strings),
        100,
        n,
    )
    _bench(
        "decode_ziplist_strings: 100 ints 0..99",
        decode_ziplist_strings,
        encode_ziplist(small_ints),
        100,
        n,
    )
    _bench("decode_intset: 100 int16", decode_intset, encode_intset(range(100)), 100, n)


if __name__ == "__main__":
    main()
