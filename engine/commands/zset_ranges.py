"""Sorted-set range commands: ZRANGE family, ZRANGESTORE, ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*."""

from __future__ import annotations

from aof.replies import (
    EMPTY_ARRAY,
    ZERO,
    integer,
)
from engine.commands.arguments import (
    get_int,
)
from engine.commands.zsets import (
    G,
    _limits,
    _pairs_reply,
    _remove_items,
    _store_zset,
    _zset,
)
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.types import ZSetValue
from engine.types.skiplist import LexBound, lex_gte_min, lex_lte_max
from engine.types.strings import parse_range_double
from engine.types.zset_listpack import lex_range as zl_lex_range
from rdbtools.encodings.listpack_zset import zl_score_range

ScoreRange = tuple[float, bool, float, bool]


def parse_score_range(bmin: bytes, bmax: bytes) -> ScoreRange:
    def one(b: bytes) -> tuple[float, bool]:
        ex = b[:1] == b"("
        v = parse_range_double(b[1:] if ex else b)
        if v is None:
            raise CommandError("min or max is not a float")
        return v, ex

    lo, loex = one(bmin)
    hi, hiex = one(bmax)
    return lo, loex, hi, hiex


def parse_lex_range(bmin: bytes, bmax: bytes) -> tuple[LexBound, LexBound]:
    def one(b: bytes) -> LexBound:
        if b == b"+":
            return (1, b"", False)
        if b == b"-":
            return (-1, b"", False)
        if b[:1] == b"(":
            return (0, b[1:], True)
        if b[:1] == b"[":
            return (0, b[1:], False)
        raise CommandError("min or max not valid string range item")

    return one(bmin), one(bmax)


def _score_empty(r: ScoreRange) -> bool:
    lo, loex, hi, hiex = r
    return lo > hi or (lo == hi and (loex or hiex))


def _lex_empty(lo: LexBound, hi: LexBound) -> bool:
    if lo[0] == 1 or hi[0] == -1:
        return True
    if lo[0] == -1 or hi[0] == 1:
        return False
    if lo[1] > hi[1]:
        return True
    return lo[1] == hi[1] and (lo[2] or hi[2])


def rank_range(z: ZSetValue, start: int, end: int, reverse: bool) -> list[tuple[bytes, float]]:
    llen = len(z)
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return []
    if end >= llen:
        end = llen - 1
    return z.range_by_rank(start, end, reverse)


def score_range(z: ZSetValue, r: ScoreRange, reverse: bool, offset: int = 0, limit: int = -1) -> list[tuple[bytes, float]]:
    out: list[tuple[bytes, float]] = []
    lo, loex, hi, hiex = r
    if _score_empty(r) or (offset > 0 and offset >= len(z)) or offset < 0:
        return out
    if z.lp is not None:
        return zl_score_range(z.lp, lo, loex, hi, hiex, reverse, offset, limit)
    zsl = z.zsl
    node = zsl.last_in_score_range(*r) if reverse else zsl.first_in_score_range(*r)
    while node is not None and offset:
        node = node.backward if reverse else node.lv[0]
        offset -= 1
    while node is not None and limit != 0:
        s = node.score
        if reverse:
            if (s <= lo) if loex else (s < lo):
                break
        else:
            if (s >= hi) if hiex else (s > hi):
                break
        out.append((node.member, s))
        limit -= 1
        node = node.backward if reverse else node.lv[0]
    return out


def lex_range(z: ZSetValue, lo: LexBound, hi: LexBound, reverse: bool, offset: int = 0, limit: int = -1) -> list[tuple[bytes, float]]:
    out: list[tuple[bytes, float]] = []
    if _lex_empty(lo, hi) or (offset > 0 and offset >= len(z)) or offset < 0:
        return out
    if z.lp is not None:
        return zl_lex_range(z.pairs(), lo, hi, reverse, offset, limit)
    zsl = z.zsl
    node = zsl.last_in_lex_range(lo, hi) if reverse else zsl.first_in_lex_range(lo, hi)
    while node is not None and offset:
        node = node.backward if reverse else node.lv[0]
        offset -= 1
    while node is not None and limit != 0:
        if reverse:
            if not lex_gte_min(node.member, lo):
                break
        elif not lex_lte_max(node.member, hi):
            break
        out.append((node.member, node.score))
        limit -= 1
        node = node.backward if reverse else node.lv[0]
    return out


def _zrange_generic(c, argv, start: int, store: bool, rangetype: str | None, reverse: bool | None):
    key = argv[start]
    minidx, maxidx = start + 1, start + 2
    withscores = False
    offset, limit = 0, -1
    j = start + 3
    n = len(argv)
    while j < n:
        left = n - j - 1
        o = argv[j].lower()
        if not store and o == b"withscores":
            withscores = True
        elif o == b"limit" and left >= 2:
            offset = get_int(argv[j + 1])
            limit = get_int(argv[j + 2])
            j += 2
        elif reverse is None and o == b"rev":
            reverse = True
        elif rangetype is None and o == b"bylex":
            rangetype = "lex"
        elif rangetype is None and o == b"byscore":
            rangetype = "score"
        else:
            raise SyntaxErr()
        j += 1
    reverse = bool(reverse)
    rangetype = rangetype or "rank"
    if limit != -1 and rangetype == "rank":
        raise CommandError("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and rangetype == "lex":
        raise CommandError("syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and rangetype in ("score", "lex"):
        minidx, maxidx = maxidx, minidx
    if rangetype == "rank":
        rs, re_ = get_int(argv[minidx]), get_int(argv[maxidx])
    elif rangetype == "score":
        sr = parse_score_range(argv[minidx], argv[maxidx])
    else:
        lr = parse_lex_range(argv[minidx], argv[maxidx])
    z = c.db.read(key)
    if z is None:
        return None, withscores, 0
    if z.__class__ is not ZSetValue:
        raise WrongTypeError()
    if rangetype == "rank":
        items = rank_range(z, rs, re_, reverse)
        hint = len(items)
    elif rangetype == "score":
        items = score_range(z, sr, reverse, offset, limit)
        hint = -1
    else:
        items = lex_range(z, lr[0], lr[1], reverse, offset, limit)
        hint = -1
    return items, withscores, hint


@command("zrange", -4, "readonly", 1, 1, 1, group=G, since="1.2.0")
def zrange_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, None, None)
    if items is None:
        return EMPTY_ARRAY
    return _pairs_reply(items, ws, c.resp)


@command("zrevrange", -4, "readonly", 1, 1, 1, group=G, since="1.2.0")
def zrevrange_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, "rank", True)
    return EMPTY_ARRAY if items is None else _pairs_reply(items, ws, c.resp)


@command("zrangebyscore", -4, "readonly", 1, 1, 1, group=G, since="1.0.5")
def zrangebyscore_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, "score", False)
    return EMPTY_ARRAY if items is None else _pairs_reply(items, ws, c.resp)


@command("zrevrangebyscore", -4, "readonly", 1, 1, 1, group=G, since="2.2.0")
def zrevrangebyscore_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, "score", True)
    return EMPTY_ARRAY if items is None else _pairs_reply(items, ws, c.resp)


@command("zrangebylex", -4, "readonly", 1, 1, 1, group=G, since="2.8.9")
def zrangebylex_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, "lex", False)
    return EMPTY_ARRAY if items is None else _pairs_reply(items, ws, c.resp)


@command("zrevrangebylex", -4, "readonly", 1, 1, 1, group=G, since="2.8.9")
def zrevrangebylex_cmd(c, argv):
    items, ws, _ = _zrange_generic(c, argv, 1, False, "lex", True)
    return EMPTY_ARRAY if items is None else _pairs_reply(items, ws, c.resp)




@command("zrangestore", -5, "write denyoom", 1, 2, 1, group=G, since="6.2.0", modified=lambda a: [1])
def zrangestore_cmd(c, argv):
    items, _, hint = _zrange_generic(c, argv, 2, True, None, None)
    me, mv = _limits(c)
    z = ZSetValue(lp=not ((hint if items is not None else -1) > me))
    for m, s in items or []:
        z.insert(m, s, me, mv)
    z.to_listpack(me, mv)  # zsetConvertToListpackIfNeeded
    return _store_zset(c, argv[1], z, b"zrangestore")


@command("zcount", 4, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def zcount_cmd(c, argv):
    r = parse_score_range(argv[2], argv[3])
    z = _zset(c.db, argv[1], True)
    if z is None or _score_empty(r):
        return ZERO
    if z.lp is not None:
        return integer(len(zl_score_range(z.lp, *r, False, 0, -1)))
    first = z.zsl.first_in_score_range(*r)
    if first is None:
        return ZERO
    last = z.zsl.last_in_score_range(*r)
    return integer(z.zsl.rank(last.score, last.member) - z.zsl.rank(first.score, first.member) + 1)  # type: ignore[union-attr]


@command("zlexcount", 4, "readonly fast", 1, 1, 1, group=G, since="2.8.9")
def zlexcount_cmd(c, argv):
    lo, hi = parse_lex_range(argv[2], argv[3])
    z = _zset(c.db, argv[1], True)
    if z is None or _lex_empty(lo, hi):
        return ZERO
    if z.lp is not None:
        return integer(len(zl_lex_range(z.pairs(), lo, hi, False, 0, -1)))
    first = z.zsl.first_in_lex_range(lo, hi)
    if first is None:
        return ZERO
    last = z.zsl.last_in_lex_range(lo, hi)
    return integer(z.zsl.rank(last.score, last.member) - z.zsl.rank(first.score, first.member) + 1)  # type: ignore[union-attr]




@command("zremrangebyrank", 4, "write", 1, 1, 1, group=G, since="2.0.0")
def zremrangebyrank_cmd(c, argv):
    start, end = get_int(argv[2]), get_int(argv[3])
    z = _zset(c.db, argv[1])
    if z is None:
        return ZERO
    return _remove_items(c, argv[1], z, rank_range(z, start, end, False), b"zremrangebyrank")


@command("zremrangebyscore", 4, "write", 1, 1, 1, group=G, since="1.2.0")
def zremrangebyscore_cmd(c, argv):
    r = parse_score_range(argv[2], argv[3])
    z = _zset(c.db, argv[1])
    if z is None:
        return ZERO
    return _remove_items(c, argv[1], z, score_range(z, r, False), b"zremrangebyscore")


@command("zremrangebylex", 4, "write", 1, 1, 1, group=G, since="2.8.9")
def zremrangebylex_cmd(c, argv):
    lo, hi = parse_lex_range(argv[2], argv[3])
    z = _zset(c.db, argv[1])
    if z is None:
        return ZERO
    return _remove_items(c, argv[1], z, lex_range(z, lo, hi, False), b"zremrangebylex")
