"""Sorted-set pops: ZPOPMIN/MAX, ZMPOP and the blocking BZPOPMIN/MAX, BZMPOP."""

from __future__ import annotations

from aof.replies import (
    EMPTY_ARRAY,
    NULL3,
    NULL_ARRAY,
    array,
    bulk,
    double,
    pair,
)
from engine import propagate as P
from engine.commands.arguments import (
    get_int,
    get_positive,
    get_timeout_ms,
)
from engine.commands.zsets import (
    G,
    _numkeys,
    _remove_items,
    _zset,
)
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.types import ZSetValue


def _pop_items(c, key: bytes, z: ZSetValue, count: int, maxside: bool) -> list[tuple[bytes, float]]:
    n = min(count, len(z))
    items = z.range_by_rank(0, n - 1, maxside)
    _remove_items(c, key, z, items, b"zpopmax" if maxside else b"zpopmin")
    return items


def _flat_pairs(items: list[tuple[bytes, float]], resp: int) -> list[bytes]:
    out = []
    for m, s in items:
        out.append(bulk(m))
        out.append(double(s, resp))
    return out


def _zpop(c, argv, maxside: bool) -> bytes:
    if len(argv) > 3:
        raise SyntaxErr()
    count = get_positive(argv[2]) if len(argv) == 3 else -1
    nested = c.resp > 2 and count != -1
    z = _zset(c.db, argv[1])
    if z is None or count == 0:
        return EMPTY_ARRAY
    items = _pop_items(c, argv[1], z, 1 if count == -1 else count, maxside)
    if nested:
        return array([pair(bulk(m), double(s, 3)) for m, s in items])
    return array(_flat_pairs(items, c.resp))


@command("zpopmin", -2, "write fast", 1, 1, 1, group=G, since="5.0.0")
def zpopmin_cmd(c, argv):
    return _zpop(c, argv, False)


@command("zpopmax", -2, "write fast", 1, 1, 1, group=G, since="5.0.0")
def zpopmax_cmd(c, argv):
    return _zpop(c, argv, True)


def _serve_zpop(c, keys: list[bytes], maxside: bool, count: int, mpop: bool,
                served: bool = False, again: bool = False) -> bytes | None:
    """Pop from the first non-empty zset of ``keys``; None when all are empty.

    Logged as ``ZPOP{MIN,MAX} key [min(count, size)]`` (blockingGenericZpopCommand,
    ZMPOP's rewrite, serveClientsBlockedOnSortedSetKey); ``served``: a blocked client
    is being served, outside any command, so the op is queued directly. ``again``: the
    key found is looked up a second time (blockingGenericZpopCommand's check, then
    genericZpopCommand's own lookup)."""
    db = c.db
    for key in keys:
        z = db.get(key)
        if z is None:
            continue
        if z.__class__ is not ZSetValue:
            raise WrongTypeError()
        n = len(z)
        if not n:
            continue
        if again:
            db.get(key)
        prop = c.server.propagator
        if prop.targets:
            op = [P.ZPOPMAX if maxside else P.ZPOPMIN, key]
            if count != -1:
                op.append(b"%d" % (count if count < n else n))
            if served:
                prop.add(db.id, op)
            else:
                c.rewritten = [op]
        items = _pop_items(c, key, z, 1 if count == -1 else count, maxside)
        if mpop:
            resp = 3 if c.resp > 2 else 2
            return pair(bulk(key), array([pair(bulk(m), double(s, resp)) for m, s in items]))
        return array([bulk(key), *_flat_pairs(items, c.resp)])
    return None


def _bzpop(c, keys: list[bytes], maxside: bool, timeout_ms: int, count: int, mpop: bool, name: str):
    r = _serve_zpop(c, keys, maxside, count, mpop, again=True)
    if r is not None:
        return r
    null = NULL3 if c.resp == 3 else NULL_ARRAY
    if c.in_exec:
        return null

    def serve(cl, db, key):
        z = db.get(key)
        if z is None or z.__class__ is not ZSetValue or not len(z):
            return None
        return _serve_zpop(cl, [key], maxside, count, mpop, True)

    c.server.blocking.block(c, keys, timeout_ms, serve, null, name)
    return None


@command("bzpopmin", -3, "write noscript blocking fast", 1, -2, 1, group=G, since="5.0.0")
def bzpopmin_cmd(c, argv):
    t = get_timeout_ms(argv[-1])
    return _bzpop(c, argv[1:-1], False, t, -1, False, "bzpopmin")


@command("bzpopmax", -3, "write noscript blocking fast", 1, -2, 1, group=G, since="5.0.0")
def bzpopmax_cmd(c, argv):
    t = get_timeout_ms(argv[-1])
    return _bzpop(c, argv[1:-1], True, t, -1, False, "bzpopmax")


def _zmpop_args(argv: list[bytes], idx: int) -> tuple[list[bytes], bool, int]:
    numkeys = get_int(argv[idx], "numkeys should be greater than 0")
    if numkeys < 1:
        raise CommandError("numkeys should be greater than 0")
    where_idx = idx + numkeys + 1
    if where_idx >= len(argv):
        raise SyntaxErr()
    w = argv[where_idx].lower()
    if w == b"min":
        maxside = False
    elif w == b"max":
        maxside = True
    else:
        raise SyntaxErr()
    count = -1
    j = where_idx + 1
    while j < len(argv):
        if count == -1 and argv[j].lower() == b"count" and len(argv) - 1 - j > 0:
            j += 1
            count = get_int(argv[j], "count should be greater than 0")
            if count < 1:
                raise CommandError("count should be greater than 0")
        else:
            raise SyntaxErr()
        j += 1
    if count == -1:
        count = 1
    return argv[idx + 1:where_idx], maxside, count




@command("zmpop", -4, "write", group=G, since="7.0.0", keys=lambda a: _numkeys(a, 1))
def zmpop_cmd(c, argv):
    keys, maxside, count = _zmpop_args(argv, 1)
    r = _serve_zpop(c, keys, maxside, count, True)
    return r if r is not None else (NULL3 if c.resp == 3 else NULL_ARRAY)


@command("bzmpop", -5, "write blocking", group=G, since="7.0.0", keys=lambda a: _numkeys(a, 2))
def bzmpop_cmd(c, argv):
    keys, maxside, count = _zmpop_args(argv, 2)
    t = get_timeout_ms(argv[1])
    return _bzpop(c, keys, maxside, t, count, True, "bzmpop")
