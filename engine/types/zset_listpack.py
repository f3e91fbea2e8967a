"""Range walks over a listpack sorted set's pairs, as t_zset.c's ``zzl*`` functions walk.

A small sorted set is its listpack bytes (:class:`engine.types.zsets.ZSetValue`); a range
command reads its ``(member, score)`` pairs (``zl_pairs``, one pass in C) and walks them
here. The walks are Redis's rather than a search: ``zzlIsInRange`` looks at the tail
and head first, ``zzlFirstInRange`` stops at the first element past the minimum, the
delete-by-range functions test every element — which only matters once a restored
listpack holds a NaN score, where comparisons lie, and then gives Redis's answer.
"""

from __future__ import annotations

from engine.types.skiplist import LexBound, lex_gte_min, lex_lte_max

Pairs = list[tuple[bytes, float]]
ScoreRange = tuple[float, bool, float, bool]


def _gte(s: float, r: ScoreRange) -> bool:
    """zslValueGteMin."""
    return s > r[0] if r[1] else s >= r[0]


def _lte(s: float, r: ScoreRange) -> bool:
    """zslValueLteMax."""
    return s < r[2] if r[3] else s <= r[2]


def _first_score(ps: Pairs, r: ScoreRange) -> int:
    """zzlFirstInRange (after zzlIsInRange): the index of the first element in range, -1."""
    if not ps or not _gte(ps[-1][1], r) or not _lte(ps[0][1], r):
        return -1
    for i, (_, s) in enumerate(ps):
        if _gte(s, r):
            return i if _lte(s, r) else -1
    return -1


def _last_score(ps: Pairs, r: ScoreRange) -> int:
    """zzlLastInRange: the index of the last element in range, -1."""
    if not ps or not _gte(ps[-1][1], r) or not _lte(ps[0][1], r):
        return -1
    for i in range(len(ps) - 1, -1, -1):
        s = ps[i][1]
        if _lte(s, r):
            return i if _gte(s, r) else -1
    return -1


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
    while ``inside(pair)`` holds (genericZrangeby*Command's listpack loop)."""
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


def score_range(ps: Pairs, r: ScoreRange, reverse: bool, offset: int, limit: int) -> Pairs:
    if reverse:
        return _walk(ps, _last_score(ps, r), True, offset, limit, lambda p: _gte(p[1], r))
    return _walk(ps, _first_score(ps, r), False, offset, limit, lambda p: _lte(p[1], r))


def lex_range(ps: Pairs, lo: LexBound, hi: LexBound, reverse: bool, offset: int, limit: int) -> Pairs:
    if reverse:
        return _walk(ps, _last_lex(ps, lo, hi), True, offset, limit, lambda p: lex_gte_min(p[0], lo))
    return _walk(ps, _first_lex(ps, lo, hi), False, offset, limit, lambda p: lex_lte_max(p[0], hi))


__all__ = ["lex_range", "score_range"]
