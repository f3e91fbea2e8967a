"""Sorted sets: a dict member→score plus a skip list ordered by (score, member).

The skip list keeps a span per forward link (the number of level-0 nodes it
jumps), which gives O(log N) rank lookups and rank-based access, the same
structure ``t_zset.c`` uses. ``lp`` records whether Redis 7.0 would hold the
set as a listpack (reported by OBJECT ENCODING; element order is identical).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

MAX_LEVEL = 32
P = 0.25


class Node:
    __slots__ = ("member", "score", "backward", "forward", "span")

    def __init__(self, level: int, score: float, member: bytes) -> None:
        self.member = member
        self.score = score
        self.backward: Node | None = None
        self.forward: list[Node | None] = [None] * level
        self.span: list[int] = [0] * level


def _random_level(rand=random.random) -> int:
    level = 1
    while rand() < P and level < MAX_LEVEL:
        level += 1
    return level


class SkipList:
    __slots__ = ("header", "tail", "length", "level")

    def __init__(self) -> None:
        self.header = Node(MAX_LEVEL, 0.0, b"")
        self.tail: Node | None = None
        self.length = 0
        self.level = 1

    def insert(self, score: float, member: bytes, _rand=random.random) -> Node:
        header = self.header
        top = self.level
        update: list[Node] = [header] * MAX_LEVEL
        rank = [0] * MAX_LEVEL
        x = header
        r = 0
        for i in range(top - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                r += x.span[i]
                x = nxt
                nxt = x.forward[i]
            update[i] = x
            rank[i] = r
        level = 1  # zslRandomLevel
        while _rand() < P and level < MAX_LEVEL:
            level += 1
        if level > top:
            hspan = header.span
            for i in range(top, level):
                hspan[i] = self.length  # rank[i] = 0, update[i] = header already
            self.level = level
        node = Node(level, score, member)
        nf = node.forward
        ns = node.span
        r0 = rank[0]
        for i in range(level):
            u = update[i]
            uf = u.forward
            nf[i] = uf[i]
            uf[i] = node
            d = r0 - rank[i]
            us = u.span
            ns[i] = us[i] - d
            us[i] = d + 1
        for i in range(level, top):
            update[i].span[i] += 1
        node.backward = None if update[0] is header else update[0]
        nxt = nf[0]
        if nxt is not None:
            nxt.backward = node
        else:
            self.tail = node
        self.length += 1
        return node

    def delete(self, score: float, member: bytes) -> bool:
        update: list[Node] = [self.header] * MAX_LEVEL
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                x = nxt
                nxt = x.forward[i]
            update[i] = x
        x = x.forward[0]  # type: ignore[assignment]
        if x is None or x.score != score or x.member != member:
            return False
        for i in range(self.level):
            u = update[i]
            if u.forward[i] is x:
                u.span[i] += x.span[i] - 1
                u.forward[i] = x.forward[i]
            else:
                u.span[i] -= 1
        if x.forward[0] is not None:
            x.forward[0].backward = x.backward
        else:
            self.tail = x.backward
        while self.level > 1 and self.header.forward[self.level - 1] is None:
            self.level -= 1
        self.length -= 1
        return True

    def rank(self, score: float, member: bytes) -> int:
        """1-based rank of an element that is present (0 if absent)."""
        r = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member <= member)):
                r += x.span[i]
                x = nxt
                nxt = x.forward[i]
            if x is not self.header and x.member == member:
                return r
        return 0

    def by_rank(self, rank: int) -> Node | None:
        """Node at 1-based ``rank``."""
        traversed = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and traversed + x.span[i] <= rank:
                traversed += x.span[i]
                x = nxt
                nxt = x.forward[i]
            if traversed == rank:
                return x
        return None

    # score ranges: (min, minex, max, maxex)
    def first_in_score_range(self, lo: float, loex: bool, hi: float, hiex: bool) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score <= lo if loex else nxt.score < lo):
                x = nxt
                nxt = x.forward[i]
        x = x.forward[0]  # type: ignore[assignment]
        if x is None:
            return None
        if (x.score >= hi) if hiex else (x.score > hi):
            return None
        return x

    def last_in_score_range(self, lo: float, loex: bool, hi: float, hiex: bool) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and (nxt.score < hi if hiex else nxt.score <= hi):
                x = nxt
                nxt = x.forward[i]
        if x is self.header:
            return None
        if (x.score <= lo) if loex else (x.score < lo):
            return None
        return x

    # lex ranges: bounds are (value, exclusive) with value None=-inf sentinel handled by caller
    def first_in_lex_range(self, lo: LexBound, hi: LexBound) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and not lex_gte_min(nxt.member, lo):
                x = nxt
                nxt = x.forward[i]
        x = x.forward[0]  # type: ignore[assignment]
        if x is None or not lex_lte_max(x.member, hi):
            return None
        return x

    def last_in_lex_range(self, lo: LexBound, hi: LexBound) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            nxt = x.forward[i]
            while nxt is not None and lex_lte_max(nxt.member, hi):
                x = nxt
                nxt = x.forward[i]
        if x is self.header or not lex_gte_min(x.member, lo):
            return None
        return x

    def __iter__(self) -> Iterator[Node]:
        x = self.header.forward[0]
        while x is not None:
            yield x
            x = x.forward[0]


# A lex bound: (kind, value, exclusive); kind -1 = "-", +1 = "+", 0 = a value.
LexBound = tuple[int, bytes, bool]


def lex_gte_min(member: bytes, lo: LexBound) -> bool:
    kind, v, ex = lo
    if kind == -1:
        return True
    if kind == 1:
        return False
    return member > v if ex else member >= v


def lex_lte_max(member: bytes, hi: LexBound) -> bool:
    kind, v, ex = hi
    if kind == 1:
        return True
    if kind == -1:
        return False
    return member < v if ex else member <= v


class ZSetValue:
    __slots__ = ("dict", "zsl", "lp")

    def __init__(self, lp: bool = True) -> None:
        self.dict: dict[bytes, float] = {}
        self.zsl = SkipList()
        self.lp = lp

    def encoding(self) -> str:
        return "listpack" if self.lp else "skiplist"

    def __len__(self) -> int:
        return len(self.dict)

    def score(self, member: bytes) -> float | None:
        return self.dict.get(member)

    def insert(self, member: bytes, score: float, max_entries: int, max_value: int) -> None:
        """Add a new member (zsetAdd's insert path, with its listpack conversion check)."""
        if self.lp and (len(self.dict) + 1 > max_entries or len(member) > max_value):
            self.lp = False
        self.dict[member] = score
        self.zsl.insert(score, member)

    def set_score(self, member: bytes, old: float, new: float) -> None:
        if old == new:
            return
        self.zsl.delete(old, member)
        self.zsl.insert(new, member)
        self.dict[member] = new

    def remove(self, member: bytes) -> bool:
        score = self.dict.pop(member, None)
        if score is None:
            return False
        self.zsl.delete(score, member)
        return True

    def rank(self, member: bytes, reverse: bool = False) -> int | None:
        score = self.dict.get(member)
        if score is None:
            return None
        r = self.zsl.rank(score, member)
        return (len(self.dict) - r) if reverse else (r - 1)

    def range_by_rank(self, start: int, end: int, reverse: bool = False) -> list[tuple[bytes, float]]:
        """Elements with 0-based ranks start..end inclusive (already clamped)."""
        out: list[tuple[bytes, float]] = []
        if start > end:
            return out
        n = end - start + 1
        if reverse:
            node = self.zsl.by_rank(len(self.dict) - start)
            while node is not None and n:
                out.append((node.member, node.score))
                node = node.backward
                n -= 1
        else:
            node = self.zsl.by_rank(start + 1)
            while node is not None and n:
                out.append((node.member, node.score))
                node = node.forward[0]
                n -= 1
        return out

    def items(self) -> Iterator[tuple[bytes, float]]:
        for node in self.zsl:
            yield node.member, node.score

    def copy_value(self) -> ZSetValue:
        z = ZSetValue(self.lp)
        for m, s in self.items():
            z.dict[m] = s
            z.zsl.insert(s, m)
        return z
