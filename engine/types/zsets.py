"""Sorted sets: a listpack's bytes while small, else a dict member→score plus a skip
list ordered by (score, member), as Redis 7.0 holds them.

The listpack is changed in place by :mod:`rdbtools.encodings.listpack_zset` (C, with
the pure-Python reference under ``RDBKIT_PUREPYTHON``); its range walks are in
:mod:`engine.types.zset_listpack`. The skip list keeps a span per forward link (the
number of level-0 nodes it jumps), which gives O(log N) rank lookups and rank-based
access, the same structure ``t_zset.c`` uses (:mod:`engine.types.skiplist`).
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.types.skiplist import LexBound, SkipList, lex_gte_min, lex_lte_max
from rdbtools.encodings import encode_listpack
from rdbtools.encodings.listpack_ops import lp_length
from rdbtools.encodings.listpack_zset import (
    zl_delete,
    zl_from_pairs,
    zl_insert,
    zl_pairs,
    zl_rank,
    zl_score,
    zl_slice,
)

LISTPACK_MAX_SAFETY_SIZE = 1 << 30  # listpack.c: lpSafeToAdd's limit
_EMPTY = encode_listpack([])


class ZSetValue:
    """A sorted set: a listpack's bytes while small (``lp``, a ``bytearray`` holding
    exactly Redis's listpack: member, score, ... in order, scores as ``zzlInsertAt``
    writes them), or a dict member→score plus the skip list once converted (``dict``,
    ``zsl``), one way, as ``t_zset.c`` converts (``insert``: more than
    ``zset-max-listpack-entries`` members or a member longer than
    ``zset-max-listpack-value``; ``to_listpack``: zsetConvertToListpackIfNeeded after a
    store). Exactly one of ``lp`` and ``dict`` is set; callers go through the methods.

    ``nan`` counts NaN scores in a skip list (only a restored listpack brings them, which
    Redis keeps as they are; converting such a listpack keeps its order): while there are
    some, members are found by walking, as comparisons mislead the search."""

    __slots__ = ("lp", "dict", "zsl", "nan")

    def __init__(self, lp: bool = True) -> None:
        self.lp: bytearray | None = bytearray(_EMPTY) if lp else None
        self.dict: dict[bytes, float] | None = None if lp else {}
        self.zsl: SkipList | None = None if lp else SkipList()
        self.nan = 0

    @classmethod
    def from_listpack(cls, lp: bytearray) -> ZSetValue:
        """A set holding these (validated) listpack bytes as they are."""
        z = cls()
        z.lp = lp
        return z

    def encoding(self) -> str:
        return "listpack" if self.lp is not None else "skiplist"

    def __len__(self) -> int:
        lp = self.lp
        return lp_length(lp) >> 1 if lp is not None else len(self.dict)  # type: ignore[arg-type]

    def score(self, member: bytes) -> float | None:
        lp = self.lp
        return zl_score(lp, member) if lp is not None else self.dict.get(member)  # type: ignore[union-attr]

    def convert(self) -> None:
        """zsetConvert to a skip list: the listpack's pairs in its order."""
        lp = self.lp
        if lp is None:
            return
        pairs = zl_pairs(lp)
        self.lp = None
        self.dict = {}
        self.zsl = SkipList()
        self._fill_skiplist(pairs, True)

    def to_listpack(self, max_entries: int, max_value: int) -> None:
        """zsetConvertToListpackIfNeeded: a skip list that fits becomes a listpack,
        appended in the skip list's order."""
        d = self.dict
        if d is None or len(d) > max_entries or any(len(m) > max_value for m in d):
            return
        self.lp = zl_from_pairs(self.items())
        self.dict = self.zsl = None
        self.nan = 0

    def has_nan(self) -> bool:
        if self.lp is not None:
            return any(s != s for _, s in zl_pairs(self.lp))
        return bool(self.nan)

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """Add a new member (zsetAdd's insert path, with its listpack conversion check)."""
        lp = self.lp
        if lp is not None:
            if ((lp_length(lp) >> 1) + 1 > max_entries or len(member) > max_value
                    or len(lp) + len(member) > LISTPACK_MAX_SAFETY_SIZE):
                self.convert()
            else:
                zl_insert(lp, member, score)
                return
        self.dict[member] = score  # type: ignore[index]
        self.zsl.insert(score, member)  # type: ignore[union-attr]

    def set_score(self, member: bytes, old: float, new: float) -> None:
        if old == new:
            return
        lp = self.lp
        if lp is not None:  # zzlDelete then zzlInsert
            zl_delete(lp, member)
            zl_insert(lp, member, new)
            return
        self.zsl.delete(old, member, bool(self.nan))  # type: ignore[union-attr]
        if old != old and self.nan:
            self.nan -= 1
        self.zsl.insert(new, member)  # type: ignore[union-attr]
        self.dict[member] = new  # type: ignore[index]

    def remove(self, member: bytes) -> bool:
        lp = self.lp
        if lp is not None:
            return zl_delete(lp, member) is not None
        score = self.dict.pop(member, None)  # type: ignore[union-attr]
        if score is None:
            return False
        self.zsl.delete(score, member, bool(self.nan))  # type: ignore[union-attr]
        if score != score and self.nan:
            self.nan -= 1
        return True

    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        lp = self.lp
        if lp is not None:  # zsetRank's walk
            r = zl_rank(lp, member)
            if r < 0:
                return None
            return (lp_length(lp) >> 1) - 1 - r if reverse else r
        score = self.dict.get(member)  # type: ignore[union-attr]
        if score is None:
            return None
        zsl = self.zsl
        r = zsl.find_by_walk(member) if self.nan else zsl.rank(score, member)  # type: ignore[union-attr]
        return (len(self.dict) - r) if reverse else (r - 1)  # type: ignore[arg-type]

    def range_by_rank(self, start: int, end: int, reverse: bool = False) -> list[tuple[bytes, float]]:
        """Elements with 0-based ranks start..end inclusive (already clamped)."""
        if start > end:
            return []
        lp = self.lp
        if lp is not None:  # lpSeek to the first, then the walk
            if reverse:
                n = lp_length(lp) >> 1
                return zl_slice(lp, n - 1 - end, end - start + 1)[::-1]
            return zl_slice(lp, start, end - start + 1)
        out: list[tuple[bytes, float]] = []
        n = end - start + 1
        if reverse:
            node = self.zsl.by_rank(len(self.dict) - start)  # type: ignore[union-attr,arg-type]
            while node is not None and n:
                out.append((node.member, node.score))
                node = node.backward
                n -= 1
        else:
            node = self.zsl.by_rank(start + 1)  # type: ignore[union-attr]
            while node is not None and n:
                out.append((node.member, node.score))
                node = node.lv[0]
                n -= 1
        return out

    def pairs(self) -> list[tuple[bytes, float]]:
        """Every (member, score) in order."""
        if self.lp is not None:
            return zl_pairs(self.lp)
        return [(node.member, node.score) for node in self.zsl]  # type: ignore[union-attr]

    def items(self) -> Iterator[tuple[bytes, float]]:
        return iter(self.pairs())

    def members(self) -> list[bytes]:
        """The members: the listpack's order, or the dict's (a hashtable's, for SORT)."""
        if self.lp is not None:
            return [m for m, _ in zl_pairs(self.lp)]
        return list(self.dict)  # type: ignore[arg-type]

    def scores(self) -> dict[bytes, float]:
        """member → score (the dict itself for a skip list: do not change it)."""
        if self.lp is not None:
            return dict(zl_pairs(self.lp))
        return self.dict  # type: ignore[return-value]

    def copy_value(self) -> ZSetValue:
        """zsetDup: the same encoding, the same bytes."""
        if self.lp is not None:
            return ZSetValue.from_listpack(bytearray(self.lp))
        z = ZSetValue(False)
        z.fill(self.pairs())
        return z

    def fill(self, pairs: list[tuple[bytes, float]]) -> None:
        """Load ``pairs`` (an empty set; a repeated member keeps its first score). A
        listpack holding a NaN score keeps the given order, as Redis keeps the listpack;
        otherwise the pairs are ordered by score, then member."""
        seen: dict[bytes, float] = {}
        for m, s in pairs:
            if m not in seen:
                seen[m] = s
        unique = list(seen.items())
        if self.lp is not None:
            if not any(s != s for _, s in unique):
                unique.sort(key=_zkey)
            self.lp = zl_from_pairs(unique)
            return
        self._fill_skiplist(unique, False)

    def _fill_skiplist(self, unique: list[tuple[bytes, float]], from_listpack: bool) -> None:
        d = self.dict
        zsl = self.zsl
        nan = sum(1 for _, s in unique if s != s)
        self.nan = nan
        for i, (m, s) in enumerate(unique):
            d[m] = s  # type: ignore[index]
            if nan and from_listpack:
                zsl.insert(s, m, pos=i)  # type: ignore[union-attr]
            else:
                zsl.insert(s, m)  # type: ignore[union-attr]


def _zkey(p: tuple[bytes, float]) -> tuple[float, bytes]:
    return p[1], p[0]


__all__ = ["LexBound", "SkipList", "ZSetValue", "lex_gte_min", "lex_lte_max"]
