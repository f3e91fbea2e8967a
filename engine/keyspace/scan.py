"""SCAN cursors with Redis's guarantee: an element present for the whole
iteration is returned at least once, and a full iteration ends at cursor 0.

Redis walks hash-table buckets in reverse-binary order so resizes never skip a
bucket. Our containers are Python dicts/sets with no exposed buckets, so the
cursor is a position in a fixed total order instead: the element's 64-bit hash
(stable for the life of the process). A call returns the next ``count``
elements whose hash is ≥ the cursor (elements sharing a hash are returned
together) and the hash of the following element as the next cursor. Since an
element's hash never changes, any element present throughout is passed exactly
once, whatever is added or removed meanwhile.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Iterable

from engine.errors import CommandError

MASK = (1 << 64) - 1


def parse_cursor(b: bytes) -> int:
    """strtoul as parseScanCursorOrReply uses it (sign allowed, wraps modulo 2^64)."""
    s = b
    if not s or s[:1].isspace():
        raise CommandError("invalid cursor")
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if not s.isdigit():
        raise CommandError("invalid cursor")
    v = int(s)
    if v > MASK:
        raise CommandError("invalid cursor")
    return (-v) & MASK if neg else v


def _h(x: bytes) -> int:
    return hash(x) & MASK


def scan_items(items: Iterable[bytes], cursor: int, count: int) -> tuple[int, list[bytes]]:
    """One step over an arbitrary collection (O(N) per call; used for HSCAN/SSCAN/ZSCAN)."""
    cand = [x for x in items if _h(x) >= cursor]
    if not cand:
        return 0, []
    if len(cand) <= count:
        return 0, cand
    picked = heapq.nsmallest(count + 1, cand, key=_h)
    last = _h(picked[count - 1])
    out = [x for x in picked[:count]]
    # include every element sharing the last hash (collisions)
    if _h(picked[count]) == last:
        out = [x for x in cand if _h(x) <= last]
        rest = [x for x in cand if _h(x) > last]
        if not rest:
            return 0, out
        return min(_h(x) for x in rest), out
    return _h(picked[count]), out


class KeyspaceScanIndex:
    """A sorted snapshot of a database's keys by hash, rebuilt when a scan starts."""

    __slots__ = ("keys", "hashes")

    def __init__(self, keys: Iterable[bytes]) -> None:
        pairs = sorted((_h(k), k) for k in keys)
        self.hashes = [p[0] for p in pairs]
        self.keys = [p[1] for p in pairs]

    def step(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        hashes = self.hashes
        n = len(hashes)
        i = bisect_left(hashes, cursor)
        j = min(i + count, n)
        while j < n and j > i and hashes[j] == hashes[j - 1]:
            j += 1
        out = self.keys[i:j]
        return (hashes[j] if j < n else 0), out
