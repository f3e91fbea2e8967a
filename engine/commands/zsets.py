"""Sorted set commands (t_zset.c semantics) over ZSetValue: a listpack or a skip list."""

from __future__ import annotations

import random

from aof.replies import (
    EMPTY_ARRAY,
    NULL3,
    NULL_BULK,
    ONE,
    ZERO,
    array,
    array_header,
    bulk,
    bulks,
    double,
    format_double,
    integer,
    pair,
)
from engine.commands.arguments import (
    LONG_MAX,
    get_double,
    get_range_long,
)
from engine.commands.keys import parse_scan_options, scan_reply
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.obuf import random_picks
from engine.execution.registry import command
from engine.keyspace.scan import parse_cursor, scan_items
from engine.notify import NOTIFY_GENERIC, NOTIFY_ZSET, notify
from engine.types import ZSetValue
from engine.types.strings import parse_double
from rdbtools.encodings import decode_listpack_strings
from rdbtools.encodings.listpack_zset import zl_score
from rdbtools.glob import glob_matcher

G = "sorted_set"
NAN_ERR = "resulting score is not a number (NaN)"


def _zset(db, key: bytes, read: bool = False):
    v = db.read(key) if read else db.get(key)
    if v is not None and v.__class__ is not ZSetValue:
        raise WrongTypeError()
    return v


def _limits(c) -> tuple[int, int]:
    cfg = c.server.config
    return cfg.zset_max_listpack_entries, cfg.zset_max_listpack_value


def _pairs_reply(items: list[tuple[bytes, float]], withscores: bool, resp: int) -> bytes:
    if not withscores:
        return bulks([m for m, _ in items])
    if resp == 3:  # [member, score] pairs, scores as doubles
        two = array_header(2)
        parts = [array_header(len(items))]
        ap = parts.append
        for m, s in items:
            ap(two)
            ap(bulk(m))
            ap(double(s, 3))
        return b"".join(parts)
    flat = []  # member, score text, member, score text ...
    ap = flat.append
    for m, s in items:
        ap(m)
        ap(format_double(s))
    return bulks(flat)


# -- ZADD / ZINCRBY ----------------------------------------------------------------

def _zadd(c, argv, incr: bool) -> bytes:
    nx = xx = gt = lt = ch = False
    j = 2
    while j < len(argv):
        o = argv[j].lower()
        if o == b"nx":
            nx = True
        elif o == b"xx":
            xx = True
        elif o == b"ch":
            ch = True
        elif o == b"incr":
            incr = True
        elif o == b"gt":
            gt = True
        elif o == b"lt":
            lt = True
        else:
            break
        j += 1
    elements = len(argv) - j
    if elements % 2 or not elements:
        raise SyntaxErr()
    elements //= 2
    if nx and xx:
        raise CommandError("XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError("GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise CommandError("INCR option supports a single increment-element pair")
    scores = [get_double(argv[j + 2 * i]) for i in range(elements)]
    db = c.db
    key = argv[1]
    z = db.get(key)
    if z is not None and z.__class__ is not ZSetValue:
        raise WrongTypeError()
    added = updated = processed = 0
    score = 0.0
    if z is None:
        if xx:
            return (NULL3 if c.resp == 3 else NULL_BULK) if incr else ZERO
        me, mv = _limits(c)
        z = ZSetValue(lp=not (me == 0 or mv < len(argv[j + 1])))
        db.add(key, z)
    me, mv = _limits(c)
    get = z.score
    try:
        for i in range(elements):
            score = scores[i]
            m = argv[j + 1 + 2 * i]
            cur = get(m)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score += cur
                    if score != score:
                        raise CommandError(NAN_ERR)
                if (lt and score >= cur) or (gt and score <= cur):
                    continue
                if score != cur:
                    z.set_score(m, cur, score)
                    updated += 1
                processed += 1
            else:
                if xx:
                    continue
                z.insert(m, score, me, mv)
                added += 1
                processed += 1
    finally:
        c.server.dirty += added + updated
        if added or updated:
            notify(db, NOTIFY_ZSET, b"zincr" if incr else b"zadd", key)
    if incr:
        if processed:
            return double(score, c.resp)
        return NULL3 if c.resp == 3 else NULL_BULK
    return integer(added + updated if ch else added)


@command("zadd", -4, "write denyoom fast", 1, 1, 1, group=G, since="1.2.0")
def zadd_cmd(c, argv):
    score = parse_double(argv[2]) if len(argv) == 4 else None
    if score is None:  # options, several pairs, or a bad score: zaddGenericCommand's order of checks
        return _zadd(c, argv, False)
    # ZADD key score member (no option is a number): the hot path, inlined
    db = c.db
    key = argv[1]
    m = argv[3]
    z = db.get(key)
    if z is None:
        cfg = c.server.config
        z = ZSetValue(lp=not (cfg.zset_max_listpack_entries == 0 or cfg.zset_max_listpack_value < len(m)))
        db.add(key, z)
    elif z.__class__ is not ZSetValue:
        raise WrongTypeError()
    lp = z.lp  # ZSetValue.score, inlined
    cur = zl_score(lp, m) if lp is not None else z.dict.get(m)
    if cur is None:
        z.insert(m, score, *_limits(c))
    elif cur != score:
        z.set_score(m, cur, score)
    else:
        return ZERO
    c.server.dirty += 1
    if db.ks.config.notify_keyspace_events:  # notify()'s own first check, without the call
        notify(db, NOTIFY_ZSET, b"zadd", key)
    return ONE if cur is None else ZERO


@command("zincrby", 4, "write denyoom fast", 1, 1, 1, group=G, since="1.2.0")
def zincrby_cmd(c, argv):
    return _zadd(c, argv, True)


@command("zrem", -3, "write fast", 1, 1, 1, group=G, since="1.2.0")
def zrem_cmd(c, argv):
    z = _zset(c.db, argv[1])
    if z is None:
        return ZERO
    n = 0
    for m in argv[2:]:
        if z.remove(m):
            n += 1
            if not len(z):
                c.db.delete(argv[1])
                break
    if n:
        _removed_events(c.db, argv[1], z, b"zrem")
    c.server.dirty += n
    return integer(n)


def _removed_events(db, key: bytes, z: ZSetValue, event: bytes) -> None:
    """The event of a removal, then ``del`` when it emptied (and so deleted) the key."""
    notify(db, NOTIFY_ZSET, event, key)
    if not len(z):
        notify(db, NOTIFY_GENERIC, b"del", key)


@command("zcard", 2, "readonly fast", 1, 1, 1, group=G, since="1.2.0")
def zcard_cmd(c, argv):
    z = _zset(c.db, argv[1], True)
    return ZERO if z is None else integer(len(z))


@command("zscore", 3, "readonly fast", 1, 1, 1, group=G, since="1.2.0")
def zscore_cmd(c, argv):
    z = _zset(c.db, argv[1], True)
    if z is None:
        s = None
    else:  # ZSetValue.score, inlined: a hot path
        lp = z.lp
        s = zl_score(lp, argv[2]) if lp is not None else z.dict.get(argv[2])
    if s is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return double(s, c.resp)


@command("zmscore", -3, "readonly fast", 1, 1, 1, group=G, since="6.2.0")
def zmscore_cmd(c, argv):
    z = _zset(c.db, argv[1], True)
    nb = NULL3 if c.resp == 3 else NULL_BULK
    parts = [array_header(len(argv) - 2)]
    for m in argv[2:]:
        s = None if z is None else z.score(m)
        parts.append(nb if s is None else double(s, c.resp))
    return b"".join(parts)


def _rank(c, argv, reverse: bool) -> bytes:
    z = _zset(c.db, argv[1], True)
    r = None if z is None else z.rank(argv[2], reverse)
    if r is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return integer(r)


@command("zrank", 3, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def zrank_cmd(c, argv):
    return _rank(c, argv, False)


@command("zrevrank", 3, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def zrevrank_cmd(c, argv):
    return _rank(c, argv, True)


def _store_zset(c, dst: bytes, z: ZSetValue, event: bytes) -> bytes:
    db = c.db
    if len(z):
        db.set(dst, z)
        c.server.dirty += 1
        notify(db, NOTIFY_ZSET, event, dst)
        return integer(len(z))
    if db.delete(dst):
        c.server.dirty += 1
        notify(db, NOTIFY_GENERIC, b"del", dst)
    return ZERO


def _numkeys(a: list[bytes], idx: int) -> list[int]:
    n = int(a[idx])
    return list(range(idx + 1, idx + 1 + n))


def _remove_items(c, key: bytes, z: ZSetValue, items, event: bytes) -> bytes:
    for m, _ in items:
        z.remove(m)
    if not len(z):
        c.db.delete(key)
    if items:
        _removed_events(c.db, key, z, event)
    c.server.dirty += len(items)
    return integer(len(items))


# -- scan / random -------------------------------------------------------------------

def _score_text(s: float) -> bytes:
    """d2string: integral values below 2^52 as integers, else %.17g."""
    if s == s and s not in (float("inf"), float("-inf")) and -4503599627370495 < s < 4503599627370496 and s == int(s):
        if s == 0 and str(s).startswith("-"):
            return b"-0"
        return b"%d" % int(s)
    return format_double(s)


@command("zscan", -3, "readonly", 1, 1, 1, group=G, since="2.8.0")
def zscan_cmd(c, argv):
    cursor = parse_cursor(argv[2])
    count, pat, _ = parse_scan_options(argv, 3, False)
    z = _zset(c.db, argv[1], True)
    if z is None:
        return scan_reply(0, [])
    if z.lp is not None:  # the whole listpack at once, its entries' texts as they are
        nxt, flat = 0, decode_listpack_strings(z.lp)
    else:
        d = z.dict
        nxt, members = scan_items(d, cursor, count)
        flat = [x for m in members for x in (m, _score_text(d[m]))]
    m_ = glob_matcher(pat) if pat is not None else None
    out = []
    for i in range(0, len(flat), 2):
        m = flat[i]
        if m_ is not None and not m_(m):
            continue
        out += [m, flat[i + 1]]
    return scan_reply(nxt, out)


@command("zrandmember", -2, "readonly", 1, 1, 1, group=G, since="6.2.0")
def zrandmember_cmd(c, argv):
    if len(argv) >= 3:
        count = get_range_long(argv[2], -LONG_MAX, LONG_MAX)
        withscores = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
            raise SyntaxErr()
        if len(argv) == 4:
            withscores = True
            if count < -LONG_MAX // 2 or count > LONG_MAX // 2:
                raise CommandError("value is out of range")
        z = _zset(c.db, argv[1], True)
        if z is None or count == 0:
            return EMPTY_ARRAY
        members = z.members()
        d = z.scores()
        if count < 0:
            if not withscores:
                return random_picks(c, members, -count, bulk)
            if c.resp == 3:
                return random_picks(c, members, -count, lambda m: pair(bulk(m), double(d[m], 3)))
            return random_picks(c, members, -count, lambda m: bulk(m) + double(d[m], 2), 2)
        if count >= len(members):
            picks = [m for m, _ in z.items()]
        else:
            picks = random.sample(members, count)
        if not withscores:
            return bulks(picks)
        if c.resp == 3:
            return array([pair(bulk(m), double(d[m], 3)) for m in picks])
        return array([x for m in picks for x in (bulk(m), double(d[m], 2))])
    z = _zset(c.db, argv[1], True)
    if z is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(random.choice(z.members()))
