"""Sorted-set algebra: ZUNION/ZINTER/ZDIFF(STORE), ZINTERCARD (sets count as score 1)."""

from __future__ import annotations

from aof.replies import (
    ZERO,
    integer,
)
from engine.commands.arguments import (
    get_double,
    get_int,
)
from engine.commands.zsets import (
    G,
    _limits,
    _numkeys,
    _pairs_reply,
    _store_zset,
)
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.types import SetValue, ZSetValue


def _src_items(v) -> dict[bytes, float]:
    if v is None:
        return {}
    if v.__class__ is ZSetValue:
        return v.scores()
    return dict.fromkeys(v, 1.0)


def _zsetop(c, argv, numidx: int, op: str, dst: bytes | None, card_only: bool = False):
    name = argv[0].decode("utf-8", "replace").lower()
    setnum = get_int(argv[numidx])
    if setnum < 1:
        raise CommandError(f"at least 1 input key is needed for '{name}' command")
    if setnum > len(argv) - (numidx + 1):
        raise SyntaxErr()
    db = c.db
    srcs = []
    j = numidx + 1
    for _ in range(setnum):
        v = db.read(argv[j])
        if v is not None and v.__class__ is not ZSetValue and v.__class__ is not SetValue:
            raise WrongTypeError()
        srcs.append(v)
        j += 1
    weights = [1.0] * setnum
    aggregate = "sum"
    withscores = False
    limit = 0
    while j < len(argv):
        remaining = len(argv) - j
        o = argv[j].lower()
        if op != "diff" and not card_only and remaining >= setnum + 1 and o == b"weights":
            j += 1
            for i in range(setnum):
                weights[i] = get_double(argv[j], "weight value is not a float")
                j += 1
        elif op != "diff" and not card_only and remaining >= 2 and o == b"aggregate":
            a = argv[j + 1].lower()
            if a not in (b"sum", b"min", b"max"):
                raise SyntaxErr()
            aggregate = a.decode()
            j += 2
        elif remaining >= 1 and dst is None and not card_only and o == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and o == b"limit":
            limit = get_int(argv[j + 1], "LIMIT can't be negative")
            if limit < 0:
                raise CommandError("LIMIT can't be negative")
            j += 2
        else:
            raise SyntaxErr()
    maps = [_src_items(v) for v in srcs]
    result: dict[bytes, float] = {}

    def agg(a: float, b: float) -> float:
        if aggregate == "sum":
            r = a + b
            return 0.0 if r != r else r
        if aggregate == "min":
            return b if b < a else a
        return b if b > a else a

    if op == "inter":
        order = sorted(range(setnum), key=lambda i: len(maps[i]))
        first = order[0]
        if maps[first]:
            count = 0
            for m, s0 in _iter_src(srcs[first]):
                score = weights[first] * s0
                if score != score:
                    score = 0.0
                ok = True
                for i in order[1:]:
                    v = maps[i].get(m)
                    if v is None:
                        ok = False
                        break
                    score = agg(score, v * weights[i])
                if ok:
                    if card_only:
                        count += 1
                        if limit and count >= limit:
                            break
                    else:
                        result[m] = score
            if card_only:
                return integer(count)
        elif card_only:
            return ZERO
    elif op == "union":
        order = sorted(range(setnum), key=lambda i: len(maps[i]))
        for i in order:
            for m, s0 in _iter_src(srcs[i]):
                score = weights[i] * s0
                if score != score:
                    score = 0.0
                if m in result:
                    result[m] = agg(result[m], score)
                else:
                    result[m] = score
    else:  # diff
        if maps[0]:
            others = maps[1:]
            for m, s0 in _iter_src(srcs[0]):
                if not any(m in o for o in others):
                    result[m] = s0
    me, mv = _limits(c)
    z = ZSetValue(lp=False)
    zd = z.dict
    zsl = z.zsl
    for m, s in result.items():
        zd[m] = s  # type: ignore[index]
        zsl.insert(s, m)  # type: ignore[union-attr]
    if dst is not None:
        if len(z):
            z.to_listpack(me, mv)  # zsetConvertToListpackIfNeeded
        return _store_zset(c, dst, z, b"z%sstore" % op.encode())
    return _pairs_reply(list(z.items()), withscores, c.resp)


def _iter_src(v):
    if v is None:
        return iter(())
    if v.__class__ is ZSetValue:
        return v.items()
    return ((m, 1.0) for m in v.ordered())


@command("zunionstore", -4, "write denyoom", 1, 1, 1, group=G, since="2.0.0", keys=lambda a: [1] + _numkeys(a, 2),
          modified=lambda a: [1])
def zunionstore_cmd(c, argv):
    return _zsetop(c, argv, 2, "union", argv[1])


@command("zinterstore", -4, "write denyoom", 1, 1, 1, group=G, since="2.0.0", keys=lambda a: [1] + _numkeys(a, 2),
          modified=lambda a: [1])
def zinterstore_cmd(c, argv):
    return _zsetop(c, argv, 2, "inter", argv[1])


@command("zdiffstore", -4, "write denyoom", 1, 1, 1, group=G, since="6.2.0", keys=lambda a: [1] + _numkeys(a, 2),
          modified=lambda a: [1])
def zdiffstore_cmd(c, argv):
    return _zsetop(c, argv, 2, "diff", argv[1])


@command("zunion", -3, "readonly", group=G, since="6.2.0", keys=lambda a: _numkeys(a, 1))
def zunion_cmd(c, argv):
    return _zsetop(c, argv, 1, "union", None)


@command("zinter", -3, "readonly", group=G, since="6.2.0", keys=lambda a: _numkeys(a, 1))
def zinter_cmd(c, argv):
    return _zsetop(c, argv, 1, "inter", None)


@command("zdiff", -3, "readonly", group=G, since="6.2.0", keys=lambda a: _numkeys(a, 1))
def zdiff_cmd(c, argv):
    return _zsetop(c, argv, 1, "diff", None)


@command("zintercard", -3, "readonly", group=G, since="7.0.0", keys=lambda a: _numkeys(a, 1))
def zintercard_cmd(c, argv):
    return _zsetop(c, argv, 1, "inter", None, card_only=True)  # zunionInterDiffGenericCommand
