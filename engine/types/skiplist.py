"""The skip list of a large sorted set: nodes ordered by (score, member), a span per
forward link (the number of level-0 nodes it jumps), which gives O(log N) rank lookups
and rank-based access — the structure ``t_zset.c`` uses — and the lex range bounds.

A node's levels are one list, ``lv``: the forward link of level ``i`` at ``2*i`` and its
span at ``2*i + 1`` (``zskiplistLevel``'s pair, flattened): one list object a node
rather than two, which is most of a large zset's memory after the members themselves.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

MAX_LEVEL = 32
P = 0.25


class Node:
    __slots__ = ("member", "score", "backward", "lv")

    def __init__(self, level: int, score: float, member: bytes) -> None:
        self.member = member
        self.score = score
        self.backward: Node | None = None
        self.lv: list = [None, 0] * level  # forward link, span; for each level


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

    def __del__(self) -> None:
        """zslFree: the nodes link both ways (``backward``), a cycle reference counts
        cannot free. Broken here, a dropped sorted set is freed at once, node by node as
        Redis frees it, rather than at the next cyclic collection — which a replay or a
        load holds off, and which never reaches what ``gc.freeze`` kept."""
        x = self.header.lv[0]
        while x is not None:
            x.backward = None
            x = x.lv[0]

    def insert(self, score: float, member: bytes, _rand=random.random, pos: int = -1) -> Node:
        """zslInsert; with ``pos`` >= 0 the node goes after the first ``pos`` nodes instead
        (the order a listpack holding a NaN score keeps: see ``listpack_pos``)."""
        header = self.header
        top = self.level
        update: list[Node] = [header] * MAX_LEVEL
        rank = [0] * MAX_LEVEL
        x = header
        r = 0
        if pos < 0:
            for i in range(top - 1, -1, -1):
                j = 2 * i
                lv = x.lv
                nxt = lv[j]
                while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                    r += lv[j + 1]
                    x = nxt
                    lv = x.lv
                    nxt = lv[j]
                update[i] = x
                rank[i] = r
        else:
            self._path_to(pos, update, rank)
        level = 1  # zslRandomLevel
        while _rand() < P and level < MAX_LEVEL:
            level += 1
        if level > top:
            hlv = header.lv
            for i in range(top, level):
                hlv[2 * i + 1] = self.length  # rank[i] = 0, update[i] = header already
            self.level = level
        node = Node(level, score, member)
        nlv = node.lv
        r0 = rank[0]
        for i in range(level):
            j = 2 * i
            ulv = update[i].lv
            nlv[j] = ulv[j]
            ulv[j] = node
            d = r0 - rank[i]
            nlv[j + 1] = ulv[j + 1] - d
            ulv[j + 1] = d + 1
        for i in range(level, top):
            update[i].lv[2 * i + 1] += 1
        node.backward = None if update[0] is header else update[0]
        nxt = nlv[0]
        if nxt is not None:
            nxt.backward = node
        else:
            self.tail = node
        self.length += 1
        return node

    def _path_to(self, pos: int, update: list[Node], rank: list[int]) -> None:
        """The last node at each level among the first ``pos`` (by spans, not scores)."""
        x = self.header
        r = 0
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            lv = x.lv
            nxt = lv[j]
            while nxt is not None and r + lv[j + 1] <= pos:
                r += lv[j + 1]
                x = nxt
                lv = x.lv
                nxt = lv[j]
            update[i] = x
            rank[i] = r

    def listpack_pos(self, score: float, member: bytes) -> int:
        """zzlInsert's place: before the first node scoring more (or as much with a greater
        member), walking every node — NaN scores compare false and are stepped over."""
        n = 0
        x = self.header.lv[0]
        while x is not None and not (x.score > score or (x.score == score and x.member > member)):
            n += 1
            x = x.lv[0]
        return n

    def find_by_walk(self, member: bytes) -> int:
        """1-based rank of ``member`` found by walking (zsetRank on a listpack); 0 if absent."""
        n = 0
        x = self.header.lv[0]
        while x is not None:
            n += 1
            if x.member == member:
                return n
            x = x.lv[0]
        return 0

    def delete(self, score: float, member: bytes, walk: bool = False) -> bool:
        """zslDelete; with ``walk`` (or a NaN score) the node is found by its member, as
        zzlFind does: comparisons mislead the search once a NaN is in the list."""
        update: list[Node] = [self.header] * MAX_LEVEL
        x = self.header
        if walk or score != score:
            r = self.find_by_walk(member)
            if not r:
                return False
            self._path_to(r - 1, update, [0] * MAX_LEVEL)
            x = update[0]
        else:
            for i in range(self.level - 1, -1, -1):
                j = 2 * i
                nxt = x.lv[j]
                while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member < member)):
                    x = nxt
                    nxt = x.lv[j]
                update[i] = x
        x = x.lv[0]
        if x is None or x.member != member or (x.score != score and score == score):
            return False
        xlv = x.lv
        for i in range(self.level):
            j = 2 * i
            ulv = update[i].lv
            if ulv[j] is x:
                ulv[j + 1] += xlv[j + 1] - 1
                ulv[j] = xlv[j]
            else:
                ulv[j + 1] -= 1
        if xlv[0] is not None:
            xlv[0].backward = x.backward
        else:
            self.tail = x.backward
        hlv = self.header.lv
        while self.level > 1 and hlv[2 * self.level - 2] is None:
            self.level -= 1
        self.length -= 1
        return True

    def rank(self, score: float, member: bytes) -> int:
        """1-based rank of an element that is present (0 if absent)."""
        if score != score:
            return self.find_by_walk(member)
        r = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            lv = x.lv
            nxt = lv[j]
            while nxt is not None and (nxt.score < score or (nxt.score == score and nxt.member <= member)):
                r += lv[j + 1]
                x = nxt
                lv = x.lv
                nxt = lv[j]
            if x is not self.header and x.member == member:
                return r
        return 0

    def by_rank(self, rank: int) -> Node | None:
        """Node at 1-based ``rank``."""
        traversed = 0
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            lv = x.lv
            nxt = lv[j]
            while nxt is not None and traversed + lv[j + 1] <= rank:
                traversed += lv[j + 1]
                x = nxt
                lv = x.lv
                nxt = lv[j]
            if traversed == rank:
                return x
        return None

    # score ranges: (min, minex, max, maxex)
    def first_in_score_range(self, lo: float, loex: bool, hi: float, hiex: bool) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            nxt = x.lv[j]
            while nxt is not None and (nxt.score <= lo if loex else nxt.score < lo):
                x = nxt
                nxt = x.lv[j]
        x = x.lv[0]
        if x is None:
            return None
        if (x.score >= hi) if hiex else (x.score > hi):
            return None
        return x

    def last_in_score_range(self, lo: float, loex: bool, hi: float, hiex: bool) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            nxt = x.lv[j]
            while nxt is not None and (nxt.score < hi if hiex else nxt.score <= hi):
                x = nxt
                nxt = x.lv[j]
        if x is self.header:
            return None
        if (x.score <= lo) if loex else (x.score < lo):
            return None
        return x

    # lex ranges: bounds are (value, exclusive) with value None=-inf sentinel handled by caller
    def first_in_lex_range(self, lo: LexBound, hi: LexBound) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            nxt = x.lv[j]
            while nxt is not None and not lex_gte_min(nxt.member, lo):
                x = nxt
                nxt = x.lv[j]
        x = x.lv[0]
        if x is None or not lex_lte_max(x.member, hi):
            return None
        return x

    def last_in_lex_range(self, lo: LexBound, hi: LexBound) -> Node | None:
        x = self.header
        for i in range(self.level - 1, -1, -1):
            j = 2 * i
            nxt = x.lv[j]
            while nxt is not None and lex_lte_max(nxt.member, hi):
                x = nxt
                nxt = x.lv[j]
        if x is self.header or not lex_gte_min(x.member, lo):
            return None
        return x

    def __iter__(self) -> Iterator[Node]:
        x = self.header.lv[0]
        while x is not None:
            yield x
            x = x.lv[0]


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
