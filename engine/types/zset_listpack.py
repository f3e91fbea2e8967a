"""Lex range walks over a listpack sorted set's pairs, as t_zset.c's ``zzl*`` functions
walk (score ranges and rank slices are walked on the bytes themselves, in C:
``rdbtools.encodings.listpack_zset.zl_score_range`` / ``zl_slice``).

A small sorted set is its listpack bytes (:class:`engine.types.zsets.ZSetValue`); a lex
range command reads its ``(member, score)`` pairs (``zl_pairs``, one pass in C) and walks
them here. The walks are Redis's rather than a search: ``zzlIsInRange`` looks at the tail
and head first, ``zzlFirstInRange`` stops at the first element past the minimum, the
delete-by-range functions test every element — which only matters once a restored
listpack holds a NaN score, where comparisons lie, and then gives Redis's answer.
"""

from __future__ import annotations

from engine.types.skiplist import LexBound, lex_gte_min, lex_lte_max

Pairs = list[tuple[bytes, float]]


def _first_lex(ps: Pairs, lo: LexBound, hi: LexBound) -> int:
    """zzlFirstInLexRange (after zzlIsInLexRange)."""
    if not ps or not lex_gte_min(ps[-1][0], lo) or not lex_lte_max(ps[0][0], hi):
        return -1
    for i, (m, _) in enumerate(ps):
        if lex_gte_min(m, lo):
            return i if lex_lte_max(m, hi) else -1
    return -1


def _last_lex(ps: Pairs, lo: LexBound, hi: LexBound) -> int:
    """zzlLastInLexRange."""
    if not ps or not lex_gte_min(ps[-1][0], lo) or not lex_lte_max(ps[0][0], hi):
        return -1
    for i in range(len(ps) - 1, -1, -1):
        m = ps[i][0]
        if lex_lte_max(m, hi):
            return i if lex_gte_min(m, lo) else -1
    return -1


def _walk(ps: Pairs, i: int, reverse: bool, offset: int, limit: int, inside) -> Pairs:
    """From index ``i``: skip ``offset`` elements, then take up to ``limit`` (-1: all)
    while ``inside(pair)`` holds (genericZrangebylexCommand's listpack loop)."""
    out: Pairs = []
    if i < 0:
        return out
    step = -1 if reverse else 1
    i += step * offset
    n = len(ps)
    while 0 <= i < n and limit != 0:
        p = ps[i]
        if not inside(p):
            break
        out.append(p)
        limit -= 1
        i += step
    return out


def lex_range(ps: Pairs, lo: LexBound, hi: LexBound, reverse: bool, offset: int, limit: int) -> Pairs:
    if reverse:
        return _walk(ps, _last_lex(ps, lo, hi), True, offset, limit, lambda p: lex_gte_min(p[0], lo))
    return _walk(ps, _first_lex(ps, lo, hi), False, offset, limit, lambda p: lex_lte_max(p[0], hi))


__all__ = ["lex_range"]
