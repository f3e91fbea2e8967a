"""Set commands (t_set.c semantics) over :class:`~engine.types.SetValue`, an intset's
bytes or a set: encodings, conversions and the reply orders of intsets as Redis 7.0."""

from __future__ import annotations

import random

from aof.replies import (
    EMPTY_ARRAY,
    NULL3,
    NULL_BULK,
    ONE,
    ZERO,
    array_header,
    bulk,
    bulks,
    integer,
    set_of_bulks,
)
from engine import propagate as P
from engine.commands.arguments import LONG_MAX, get_int, get_positive, get_range_long
from engine.commands.keys import parse_scan_options, scan_reply
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.obuf import random_picks
from engine.execution.registry import TABLE, command
from engine.keyspace.scan import parse_cursor, scan_items
from engine.notify import NOTIFY_GENERIC, NOTIFY_SET, notify
from engine.types import SetValue
from engine.types.sets import LISTPACK_ENTRIES, LISTPACK_VALUE
from rdbtools._accel import c_module
from rdbtools.encodings.intset_ops import is_add_all
from rdbtools.encodings.listpack_ops import lp_length
from rdbtools.encodings.listpack_set import lps_add
from rdbtools.glob import glob_matcher

G = "set"
SPOP_MOVE_STRATEGY_MUL = 5  # t_set.c: past remaining * 5 <= count, SPOP keeps the rest instead


def _set(db, key: bytes, read: bool = False):
    v = db.read(key) if read else db.get(key)
    if v is not None and v.__class__ is not SetValue:
        raise WrongTypeError()
    return v


def _max_intset(c) -> int:
    """set-max-intset-entries, at most 1G (setTypeAdd's limit for intset internals)."""
    n = c.server.config.set_max_intset_entries
    return n if n < 1 << 30 else 1 << 30


@command("sadd", -3, "write denyoom fast", 1, 1, 1, group=G)
def sadd_cmd(c, argv):
    db = c.db
    key = argv[1]
    s = db.get(key)
    if s is None:
        s = SetValue.create_for(argv[2])
        db.add(key, s)
    elif s.__class__ is not SetValue:
        raise WrongTypeError()
    ht = s.ht
    if ht is not None:  # the hashtable inline: setTypeAdd's dictAddRaw
        added = 0
        for m in argv[2:]:
            if m not in ht:
                ht.add(m)
                added += 1
    elif s.is_ is not None:  # the intset in one C call while it stays one
        added = is_add_all(s.is_, argv, 2, c.server.config.set_max_intset_entries)
        if added.__class__ is not int:  # (added, stop): it converts, the rest goes there
            added, stop = added
            s.convert(argv[stop] if stop < len(argv) else None)
            added += s.add_all(argv, 0, stop)
    else:
        added = s.add_all(argv, 0, 2)
    if added:
        c.server.dirty += added
        notify(db, NOTIFY_SET, b"sadd", key)
    return integer(added)


_bodies = c_module("engine._fastpath")
if hasattr(_bodies, "configure_sets"):  # the common case in C (engine/_bodies.h), the rest by sadd_cmd
    _bodies.configure_sets(SetValue, sadd_cmd, ZERO, ONE, integer, is_add_all, lps_add, lp_length, LISTPACK_ENTRIES,
                           LISTPACK_VALUE)
    TABLE.commands["sadd"].proc = _bodies.sadd


@command("srem", -3, "write fast", 1, 1, 1, group=G)
def srem_cmd(c, argv):
    s = _set(c.db, argv[1])
    if s is None:
        return ZERO
    n = 0
    for m in argv[2:]:
        if s.remove(m):
            n += 1
            if not len(s):
                c.db.delete(argv[1])
                break
    if n:
        notify(c.db, NOTIFY_SET, b"srem", argv[1])
        if not len(s):
            notify(c.db, NOTIFY_GENERIC, b"del", argv[1])
    c.server.dirty += n
    return integer(n)


@command("smembers", 2, "readonly", 1, 1, 1, group=G)
def smembers_cmd(c, argv):
    s = _set(c.db, argv[1], True)
    if s is None:
        return set_of_bulks([], c.resp)
    return set_of_bulks(s.members(), c.resp)


@command("sismember", 3, "readonly fast", 1, 1, 1, group=G)
def sismember_cmd(c, argv):
    s = _set(c.db, argv[1], True)
    if s is None:
        return ZERO
    ht = s.ht
    return ONE if (argv[2] in ht if ht is not None else s.contains(argv[2])) else ZERO


@command("smismember", -3, "readonly fast", 1, 1, 1, group=G, since="6.2.0")
def smismember_cmd(c, argv):
    s = _set(c.db, argv[1], True)
    parts = [array_header(len(argv) - 2)]
    ap = parts.append
    for m in argv[2:]:
        ap(ONE if s is not None and s.contains(m) else ZERO)
    return b"".join(parts)


@command("scard", 2, "readonly fast", 1, 1, 1, group=G)
def scard_cmd(c, argv):
    s = _set(c.db, argv[1], True)
    return ZERO if s is None else integer(len(s))


@command("spop", -2, "write fast", 1, 1, 1, group=G)
def spop_cmd(c, argv):
    if len(argv) > 3:
        raise SyntaxErr()
    db = c.db
    key = argv[1]
    if len(argv) == 3:
        count = get_positive(argv[2])
        s = _set(db, key)
        if s is None or count == 0:
            return set_of_bulks([], c.resp)
        notify(db, NOTIFY_SET, b"spop", key)
        size = len(s)
        if count >= size:  # the whole set as SUNION of it replies it: in an intset's order if
            members = s.members() if s.is_ is not None else _union(c, [s]).members()  # it fits one
            db.delete(key)
            notify(db, NOTIFY_GENERIC, b"del", key)
            rw = [[P.DEL, key]]
        elif (size - count) * SPOP_MOVE_STRATEGY_MUL > count:  # random members, removed
            members = [s.pop_random() for _ in range(count)]
            rw = [[P.SREM, key, m] for m in members]  # one SREM per element (alsoPropagate)
        else:  # the members that stay move to a new set (setTypeCreate); the rest replies
            stay = [s.pop_random() for _ in range(size - count)]
            rest = SetValue.create_for(stay[0])
            rest.add_all(stay, _max_intset(c))
            members = s.members()
            db.replace(key, rest)
            rw = [[P.SREM, key, m] for m in members]
        c.server.dirty += len(members)
        if c.server.propagator.targets:
            c.rewritten = rw
        return set_of_bulks(members, c.resp)
    s = _set(db, key)
    if s is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    m = s.pop_random()
    notify(db, NOTIFY_SET, b"spop", key)
    if not len(s):
        db.delete(key)
        notify(db, NOTIFY_GENERIC, b"del", key)
    c.server.dirty += 1
    if c.server.propagator.targets:
        c.rewritten = [[P.SREM, key, m]]
    return bulk(m)


@command("srandmember", -2, "readonly", 1, 1, 1, group=G)
def srandmember_cmd(c, argv):
    if len(argv) > 3:
        raise SyntaxErr()
    if len(argv) == 3:
        count = get_range_long(argv[2], -LONG_MAX, LONG_MAX)
        s = _set(c.db, argv[1], True)
        if s is None or count == 0:
            return EMPTY_ARRAY
        if count == 1 or count == -1:
            return array_header(1) + bulk(s.random_member())
        members = s.members()
        if count < 0:
            return random_picks(c, members, -count, bulk)
        if count >= len(members):  # the whole set, in its order (an array in RESP3 too)
            return bulks(members)
        return bulks(random.sample(members, count))
    s = _set(c.db, argv[1], True)
    if s is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(s.random_member())


@command("smove", 4, "write fast", 1, 2, 1, group=G)
def smove_cmd(c, argv):
    db = c.db
    src = db.get(argv[1])
    dst = db.get(argv[2])
    m = argv[3]
    if src is None:
        return ZERO
    if src.__class__ is not SetValue or (dst is not None and dst.__class__ is not SetValue):
        raise WrongTypeError()
    if src is dst:
        return ONE if src.contains(m) else ZERO
    if not src.remove(m):
        return ZERO
    notify(db, NOTIFY_SET, b"srem", argv[1])
    if not len(src):
        db.delete(argv[1])
        notify(db, NOTIFY_GENERIC, b"del", argv[1])
    if dst is None:
        dst = SetValue.create_for(m)
        db.add(argv[2], dst)
    if dst.add_member(m, _max_intset(c)):
        notify(db, NOTIFY_SET, b"sadd", argv[2])
    else:
        c.modified = [argv[1]]  # the destination is unchanged: its WATCHers keep their EXEC
    c.server.dirty += 1
    return ONE


def _load_sets(c, keys: list[bytes]) -> list[SetValue | None]:
    out = []
    for k in keys:
        out.append(_set(c.db, k, True))
    return out


def _result_set(c, members) -> SetValue:
    """The result of SINTERSTORE/SUNION/SDIFF…: createIntsetObject, then setTypeAdd of
    each member in order."""
    s = SetValue()
    s.add_all(members, _max_intset(c))
    return s


def _store(c, dst: bytes, result: SetValue, event: bytes) -> bytes:
    db = c.db
    if len(result):
        db.set(dst, result)
        c.server.dirty += 1
        notify(db, NOTIFY_SET, event, dst)
        return integer(len(result))
    if db.delete(dst):
        c.server.dirty += 1
        notify(db, NOTIFY_GENERIC, b"del", dst)
    return ZERO


def _inter(sets: list[SetValue], limit: int = 0) -> list[bytes]:
    """sinterGenericCommand: the smallest set's members, in its order, that every other
    set holds."""
    sets = sorted(sets, key=len)
    first = sets[0]
    rest = [s for s in sets[1:] if s is not first]
    out = []
    for m in first.members():
        if all(s.contains(m) for s in rest):
            out.append(m)
            if limit and len(out) >= limit:
                break
    return out


@command("sinter", -2, "readonly", 1, -1, 1, group=G)
def sinter_cmd(c, argv):
    sets = _load_sets(c, argv[1:])
    if any(s is None for s in sets):
        return set_of_bulks([], c.resp)
    return set_of_bulks(_inter(sets), c.resp)  # type: ignore[arg-type]


@command("sinterstore", -3, "write denyoom", 1, -1, 1, group=G, modified=lambda a: [1])
def sinterstore_cmd(c, argv):
    sets = _load_sets(c, argv[2:])
    if any(s is None for s in sets):
        if c.db.delete(argv[1]):
            c.server.dirty += 1
            notify(c.db, NOTIFY_GENERIC, b"del", argv[1])
        return ZERO
    return _store(c, argv[1], _result_set(c, _inter(sets)), b"sinterstore")  # type: ignore[arg-type]


def _numkeys(a: list[bytes], idx: int) -> list[int]:
    n = int(a[idx])
    return list(range(idx + 1, idx + 1 + n))


@command("sintercard", -3, "readonly", group=G, since="7.0.0", keys=lambda a: _numkeys(a, 1))
def sintercard_cmd(c, argv):
    numkeys = get_int(argv[1], "numkeys should be greater than 0")
    if numkeys < 1:
        raise CommandError("numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise CommandError("Number of keys can't be greater than number of args")
    limit = 0
    j = 2 + numkeys
    while j < len(argv):
        if argv[j].lower() == b"limit" and len(argv) - 1 - j > 0:
            j += 1
            limit = get_int(argv[j], "LIMIT can't be negative")
            if limit < 0:
                raise CommandError("LIMIT can't be negative")
        else:
            raise SyntaxErr()
        j += 1
    sets = _load_sets(c, argv[2:2 + numkeys])
    if any(s is None for s in sets):
        return ZERO
    return integer(len(_inter(sets, limit)))  # type: ignore[arg-type]


def _union(c, sets: list[SetValue | None]) -> SetValue:
    """SET_OP_UNION: every member of every set added to an intset, in order."""
    res = SetValue()
    mx = _max_intset(c)
    for s in sets:
        if s is not None:
            res.add_all(s.members(), mx)
    return res


def _diff(c, sets: list[SetValue | None]) -> SetValue:
    """SET_OP_DIFF with sunionDiffGenericCommand's choice of algorithm, which decides
    the result's encoding: algorithm 2 adds the whole first set before removing (so may
    convert it to a hashtable on the way), algorithm 1 only adds what stays."""
    first = sets[0]
    if first is None or any(s is first for s in sets[1:]):
        return SetValue()
    present = [s for s in sets if s is not None]
    if len(first) * len(present) // 2 <= sum(map(len, present)):  # algorithm 1
        rest = present[1:]
        return _result_set(c, [m for m in first.members() if not any(s.contains(m) for s in rest)])
    res = _result_set(c, first.members())  # algorithm 2
    for s in present[1:]:
        for m in s.members():
            res.remove(m)
        if not len(res):
            break
    return res


@command("sunion", -2, "readonly", 1, -1, 1, group=G)
def sunion_cmd(c, argv):
    return set_of_bulks(_union(c, _load_sets(c, argv[1:])).members(), c.resp)


@command("sunionstore", -3, "write denyoom", 1, -1, 1, group=G, modified=lambda a: [1])
def sunionstore_cmd(c, argv):
    return _store(c, argv[1], _union(c, _load_sets(c, argv[2:])), b"sunionstore")


@command("sdiff", -2, "readonly", 1, -1, 1, group=G)
def sdiff_cmd(c, argv):
    return set_of_bulks(_diff(c, _load_sets(c, argv[1:])).members(), c.resp)


@command("sdiffstore", -3, "write denyoom", 1, -1, 1, group=G, modified=lambda a: [1])
def sdiffstore_cmd(c, argv):
    return _store(c, argv[1], _diff(c, _load_sets(c, argv[2:])), b"sdiffstore")


@command("sscan", -3, "readonly", 1, 1, 1, group=G, since="2.8.0")
def sscan_cmd(c, argv):
    cursor = parse_cursor(argv[2])
    count, pat, _ = parse_scan_options(argv, 3, False)
    s = _set(c.db, argv[1], True)
    if s is None:
        return scan_reply(0, [])
    if s.ht is None:  # an intset (or a listpack) answers everything at once, cursor 0
        nxt, items = 0, s.members()  # (scanGenericCommand)
    else:
        nxt, items = scan_items(s.ht, cursor, count)
    if pat is not None:
        m = glob_matcher(pat)
        items = [x for x in items if m(x)]
    return scan_reply(nxt, items)
