"""Redis's partial quicksort (pqsort.c, from NetBSD's qsort): orders only the slots
``lrange..rrange`` of a list.

GEORADIUS/GEOSEARCH with COUNT sort their matches with it. It is not stable, so
which of several points at the same distance come first — and in what order — is
this algorithm's: a reply equal to Redis's byte for byte needs the same pivots, the
same swaps and the same skipped partitions. The comparator returns <0, 0 or >0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Cmp = Callable[[Any, Any], int]


def _med3(a: list[Any], i: int, j: int, k: int, cmp: Cmp) -> int:
    if cmp(a[i], a[j]) < 0:
        return j if cmp(a[j], a[k]) < 0 else (k if cmp(a[i], a[k]) < 0 else i)
    return j if cmp(a[j], a[k]) > 0 else (i if cmp(a[i], a[k]) < 0 else k)


def _vecswap(a: list[Any], i: int, j: int, n: int) -> None:
    for t in range(n):
        a[i + t], a[j + t] = a[j + t], a[i + t]


def _skip(lo: int, n: int, lrange: int, rrange: int) -> bool:
    """No wanted slot in ``lo..lo+n-1``: the partition is left unsorted."""
    return (lrange < lo and rrange < lo) or (lrange >= lo + n and rrange >= lo + n)


def pqsort(a: list[Any], cmp: Cmp, lrange: int, rrange: int) -> None:
    """Sort ``a`` in place enough that slots lrange..rrange hold what a full sort puts
    there (mirrors pqsort/_pqsort, on list indexes instead of byte pointers)."""
    _pqsort(a, 0, len(a), cmp, lrange, rrange)


def _pqsort(a: list[Any], base: int, n: int, cmp: Cmp, lrange: int, rrange: int) -> None:
    while True:
        if n < 7:
            for pm in range(base + 1, base + n):
                pl = pm
                while pl > base and cmp(a[pl - 1], a[pl]) > 0:
                    a[pl], a[pl - 1] = a[pl - 1], a[pl]
                    pl -= 1
            return
        pm = base + n // 2
        if n > 7:
            pl = base
            pn = base + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(a, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(a, pm - d, pm, pm + d, cmp)
                pn = _med3(a, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(a, pl, pm, pn, cmp)
        a[base], a[pm] = a[pm], a[base]
        pa = pb = base + 1
        pc = pd = base + n - 1
        while True:
            while pb <= pc:
                r = cmp(a[pb], a[base])
                if r > 0:
                    break
                if r == 0:
                    a[pa], a[pb] = a[pb], a[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(a[pc], a[base])
                if r < 0:
                    break
                if r == 0:
                    a[pc], a[pd] = a[pd], a[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            a[pb], a[pc] = a[pc], a[pb]
            pb += 1
            pc -= 1
        pn = base + n
        r = min(pa - base, pb - pa)
        _vecswap(a, base, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(a, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not _skip(base, r, lrange, rrange):
            _pqsort(a, base, r, cmp, lrange, rrange)
        r = pd - pc
        if r > 1:
            base = pn - r
            n = r
            if not _skip(base, n, lrange, rrange):
                continue
        return
