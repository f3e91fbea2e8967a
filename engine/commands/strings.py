"""String commands (t_string.c semantics): GET/SET family, counters, ranges, MGET/MSET, LCS."""

from __future__ import annotations

from fractions import Fraction

from aof.replies import (
    EMPTY_BULK,
    NULL3,
    NULL_BULK,
    OK,
    ONE,
    ZERO,
    bulk,
    bulks_resp,
    integer,
    integer_text,
)
from engine import propagate as P
from engine.commands.arguments import LONG_MAX, LONG_MIN, get_int
from engine.errors import CommandError, NotIntegerError, SyntaxErr, WrongTypeError
from engine.execution.registry import TABLE, command
from engine.notify import NOTIFY_GENERIC, NOTIFY_STRING, notify
from engine.types import EmbStr
from engine.types.strings import format_long_double, ld_add, parse_int, parse_long_double
from rdbtools._accel import c_module
from rdbtools.numbers import incr_text

S = "string"
_STR = (bytes, bytearray, EmbStr)

NX, XX, GET, KEEPTTL, PERSIST, EX, PX, EXAT, PXAT = (1 << i for i in range(9))
_EXPIRY = EX | PX | EXAT | PXAT


def _str_or_none(db, key):
    v = db.read(key)
    if v is None or v.__class__ in _STR:
        return v
    raise WrongTypeError()


def check_string_length(c, size: int, append: int) -> None:
    if size + append > c.server.config.proto_max_bulk_len:
        raise CommandError("string exceeds maximum allowed size (proto-max-bulk-len)")


def parse_extended(argv: list[bytes], start: int, is_set: bool) -> tuple[int, bytes | None]:
    """parseExtendedStringArgumentsOrReply: flags and the raw expire argument."""
    flags = 0
    expire = None
    n = len(argv)
    j = start
    while j < n:
        opt = argv[j].upper()
        has_next = j < n - 1
        if opt == b"NX" and not flags & XX and is_set:
            flags |= NX
        elif opt == b"XX" and not flags & NX and is_set:
            flags |= XX
        elif opt == b"GET" and is_set:
            flags |= GET
        elif opt == b"KEEPTTL" and not flags & (PERSIST | _EXPIRY) and is_set:
            flags |= KEEPTTL
        elif opt == b"PERSIST" and not is_set and not flags & (_EXPIRY | KEEPTTL):
            flags |= PERSIST
        elif opt == b"EX" and not flags & (KEEPTTL | PERSIST | EXAT | PX | PXAT) and has_next:
            flags |= EX
            expire = argv[j + 1]
            j += 1
        elif opt == b"PX" and not flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT) and has_next:
            flags |= PX
            expire = argv[j + 1]
            j += 1
        elif opt == b"EXAT" and not flags & (KEEPTTL | PERSIST | EX | PX | PXAT) and has_next:
            flags |= EXAT
            expire = argv[j + 1]
            j += 1
        elif opt == b"PXAT" and not flags & (KEEPTTL | PERSIST | EX | EXAT | PX) and has_next:
            flags |= PXAT
            expire = argv[j + 1]
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    return flags, expire


def expire_ms(c, raw: bytes, flags: int, cmdname: str) -> int:
    """getExpireMillisecondsOrReply: the absolute deadline in ms (EX/PX count from the
    keyspace's clock)."""
    v = get_int(raw)
    seconds = bool(flags & (EX | EXAT))
    if v <= 0 or (seconds and v > LONG_MAX // 1000):
        raise CommandError(f"invalid expire time in '{cmdname}' command")
    if seconds:
        v *= 1000
    if flags & (EX | PX):
        v += c.server.keyspace.now_ms()
    if v <= 0 or v > LONG_MAX:
        raise CommandError(f"invalid expire time in '{cmdname}' command")
    return v


def set_generic(c, key: bytes, val: bytes, flags: int, expire: bytes | None, cmdname: str,
                ok: bytes = OK, abort: bytes | None = None, argv: list[bytes] | None = None) -> bytes:
    """setGenericCommand. Propagated as ``SET key value PXAT <ms>`` when an expiry was
    given (every other option dropped), else as sent minus any GET option."""
    db = c.db
    when = expire_ms(c, expire, flags, cmdname) if expire is not None else 0
    reply = b""
    if flags & GET:  # getGenericCommand: a read (hits, misses), then the write lookup
        old = db.read(key)
        if old is None:
            reply = NULL3 if c.resp == 3 else NULL_BULK
        elif old.__class__ in _STR:
            reply = bulk(old)
        else:
            raise WrongTypeError()
    found = db.get(key) is not None
    if (flags & NX and found) or (flags & XX and not found):
        if flags & GET:
            return reply
        if abort is not None:
            return abort
        return NULL3 if c.resp == 3 else NULL_BULK
    db.set(key, val, keepttl=bool(flags & KEEPTTL), looked_up=True)
    c.server.dirty += 1
    notify(db, NOTIFY_STRING, b"set", key)
    if expire is not None:
        db.expires[key] = when
        notify(db, NOTIFY_GENERIC, b"expire", key)
        if c.server.propagator.targets:
            c.rewritten = [[P.SET, key, val, P.PXAT, b"%d" % when]]
    elif flags & GET and argv is not None and c.server.propagator.targets:
        c.rewritten = [[a for j, a in enumerate(argv) if j < 3 or a.lower() != b"get"]]
    return reply if flags & GET else ok


@command("get", 2, "readonly fast", 1, 1, 1, group=S)
def get_cmd(c, argv):
    v = c.db.read(argv[1])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    if v.__class__ in _STR:
        return bulk(v)
    raise WrongTypeError()


@command("set", -3, "write denyoom", 1, 1, 1, group=S)
def set_cmd(c, argv):
    if len(argv) == 3:  # fast path: plain SET
        db = c.db
        db.set(argv[1], argv[2])
        c.server.dirty += 1
        if db.ks.config.notify_keyspace_events:  # notify()'s own first check, without the call: hot
            notify(db, NOTIFY_STRING, b"set", argv[1])
        return OK
    flags, expire = parse_extended(argv, 3, True)
    return set_generic(c, argv[1], argv[2], flags, expire, "set", argv=argv)


@command("setnx", 3, "write denyoom fast", 1, 1, 1, group=S)
def setnx_cmd(c, argv):
    return set_generic(c, argv[1], argv[2], NX, None, "setnx", ONE, ZERO)


@command("setex", 4, "write denyoom", 1, 1, 1, group=S)
def setex_cmd(c, argv):
    return set_generic(c, argv[1], argv[3], EX, argv[2], "setex")


@command("psetex", 4, "write denyoom", 1, 1, 1, group=S)
def psetex_cmd(c, argv):
    return set_generic(c, argv[1], argv[3], PX, argv[2], "psetex")


@command("getex", -2, "write fast", 1, 1, 1, group=S)
def getex_cmd(c, argv):
    flags, expire = parse_extended(argv, 2, False)
    db = c.db
    key = argv[1]
    v = _str_or_none(db, key)
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    when = expire_ms(c, expire, flags, "getex") if expire is not None else 0
    reply = bulk(v)
    # never propagated as sent: as DEL/UNLINK, PEXPIREAT <ms> or PERSIST (getexCommand)
    srv = c.server
    if flags & (EXAT | PXAT) and when <= srv.keyspace.now_ms() and not srv.loading:
        db.delete(key)
        srv.dirty += 1
        notify(db, NOTIFY_GENERIC, b"del", key)
        if srv.propagator.targets:
            c.rewritten = [[P.del_name(srv.config.lazyfree_lazy_expire), key]]
    elif expire is not None:
        db.expires[key] = when
        srv.dirty += 1
        notify(db, NOTIFY_GENERIC, b"expire", key)
        if srv.propagator.targets:
            c.rewritten = [[P.PEXPIREAT, key, b"%d" % when]]
    elif flags & PERSIST:
        if db.persist(key):
            srv.dirty += 1
            notify(db, NOTIFY_GENERIC, b"persist", key)
            if srv.propagator.targets:
                c.rewritten = [[P.PERSIST, key]]
    return reply


@command("getdel", 2, "write fast", 1, 1, 1, group=S)
def getdel_cmd(c, argv):
    db = c.db
    v = _str_or_none(db, argv[1])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    db.delete(argv[1])
    srv = c.server
    srv.dirty += 1
    notify(db, NOTIFY_GENERIC, b"del", argv[1])
    if srv.propagator.targets:
        c.rewritten = [[P.del_name(srv.config.lazyfree_lazy_user_del), argv[1]]]
    return bulk(v)


@command("getset", 3, "write denyoom fast", 1, 1, 1, group=S)
def getset_cmd(c, argv):
    db = c.db
    v = _str_or_none(db, argv[1])
    db.set(argv[1], argv[2])
    notify(db, NOTIFY_STRING, b"set", argv[1])
    c.server.dirty += 1
    if c.server.propagator.targets:
        c.rewritten = [[P.SET, argv[1], argv[2]]]
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(v)


@command("mget", -2, "readonly fast", 1, -1, 1, group=S)
def mget_cmd(c, argv):
    read = c.db.read
    vals = []
    ap = vals.append
    for k in argv[1:]:
        v = read(k)
        ap(v if v is not None and v.__class__ in _STR else None)
    return bulks_resp(vals, c.resp)


def _msetter(nx: bool):
    """The handler of MSET or MSETNX (msetGenericCommand), made once per command so that
    an MSET is a single Python call before its keys are set."""
    reply = ONE if nx else OK

    def mset(c, argv):
        if len(argv) % 2 == 0:
            raise CommandError(f"wrong number of arguments for '{argv[0].decode('utf-8', 'replace').lower()}' command")
        db = c.db
        if nx:
            for j in range(1, len(argv), 2):
                if db.get(argv[j]) is not None:
                    return ZERO
        if db.ks.config.notify_keyspace_events:
            s = db.set
            for j in range(1, len(argv), 2):
                s(argv[j], argv[j + 1])
                notify(db, NOTIFY_STRING, b"set", argv[j])
        else:
            db.set_pairs(argv)
        c.server.dirty += (len(argv) - 1) // 2
        return reply

    return mset


mset_cmd = command("mset", -3, "write denyoom", 1, -1, 2, group=S)(_msetter(False))
msetnx_cmd = command("msetnx", -3, "write denyoom", 1, -1, 2, group=S)(_msetter(True))

_bodies = c_module("engine._fastpath")
if hasattr(_bodies, "configure_strings"):  # the common cases in C (engine/_bodies.h), the rest by these handlers
    _bodies.configure_strings(mset_cmd, msetnx_cmd, OK, ONE)
    TABLE.commands["mset"].proc = _bodies.mset
    TABLE.commands["msetnx"].proc = _bodies.msetnx


def _incr(c, key: bytes, incr: int) -> bytes:
    db = c.db
    old = db.get(key)
    if old is None:
        value = incr  # an int64 already: cannot overflow from 0
        db.add(key, b"%d" % value)
        reply = integer(value)
    else:
        if old.__class__ not in _STR:
            raise WrongTypeError()
        new = incr_text(old, incr)  # parse, add and format in one C call: the hot path
        if new is None:
            if parse_int(old) is None:
                raise NotIntegerError()
            raise CommandError("increment or decrement would overflow")
        db.data[key] = new  # db.replace less the access clock get() has just written
        reply = integer_text(new)
    c.server.dirty += 1
    if db.ks.config.notify_keyspace_events:  # notify()'s own first check, without the call: hot
        notify(db, NOTIFY_STRING, b"incrby", key)
    return reply


@command("incr", 2, "write denyoom fast", 1, 1, 1, group=S)
def incr_cmd(c, argv):
    return _incr(c, argv[1], 1)


@command("decr", 2, "write denyoom fast", 1, 1, 1, group=S)
def decr_cmd(c, argv):
    return _incr(c, argv[1], -1)


@command("incrby", 3, "write denyoom fast", 1, 1, 1, group=S)
def incrby_cmd(c, argv):
    return _incr(c, argv[1], get_int(argv[2]))


@command("decrby", 3, "write denyoom fast", 1, 1, 1, group=S)
def decrby_cmd(c, argv):
    incr = get_int(argv[2])
    if incr == LONG_MIN:
        raise CommandError("decrement would overflow")
    return _incr(c, argv[1], -incr)


if hasattr(_bodies, "configure_incr"):  # the common case in C (engine/_bodies.h), the rest by these handlers
    _bodies.configure_incr(incr_cmd, decr_cmd, incrby_cmd, decrby_cmd, incr_text, integer_text, parse_int)
    for _name in ("incr", "decr", "incrby", "decrby"):
        TABLE.commands[_name].proc = getattr(_bodies, _name)


@command("incrbyfloat", 3, "write denyoom fast", 1, 1, 1, group=S)
def incrbyfloat_cmd(c, argv):
    db = c.db
    key = argv[1]
    old = db.get(key)
    if old is not None and old.__class__ not in _STR:
        raise WrongTypeError()
    value = parse_long_double(old) if old is not None else Fraction(0)
    incr = parse_long_double(argv[2])
    if value is None or incr is None:
        raise CommandError("value is not a valid float")
    res = ld_add(value, incr)
    if isinstance(res, float):
        raise CommandError("increment would produce NaN or Infinity")
    new = EmbStr(format_long_double(res))
    if old is None:
        db.add(key, new)
    else:
        db.replace(key, new)
    c.server.dirty += 1
    notify(db, NOTIFY_STRING, b"incrbyfloat", key)
    if c.server.propagator.targets:  # the final value, so float formatting cannot drift
        c.rewritten = [[P.SET, key, bytes(new), P.KEEPTTL]]
    return bulk(new)


@command("append", 3, "write denyoom fast", 1, 1, 1, group=S)
def append_cmd(c, argv):
    db = c.db
    key = argv[1]
    old = db.get(key)
    if old is None:
        db.add(key, argv[2])
        total = len(argv[2])
    else:
        if old.__class__ not in _STR:
            raise WrongTypeError()
        check_string_length(c, len(old), len(argv[2]))
        if old.__class__ is not bytearray:
            old = bytearray(old)
            db.data[key] = old
        old += argv[2]
        total = len(old)
    c.server.dirty += 1
    notify(db, NOTIFY_STRING, b"append", key)
    return integer(total)


@command("strlen", 2, "readonly fast", 1, 1, 1, group=S)
def strlen_cmd(c, argv):
    v = _str_or_none(c.db, argv[1])
    return ZERO if v is None else integer(len(v))


@command("setrange", 4, "write denyoom", 1, 1, 1, group=S)
def setrange_cmd(c, argv):
    offset = get_int(argv[2])
    value = argv[3]
    if offset < 0:
        raise CommandError("offset is out of range")
    db = c.db
    key = argv[1]
    o = db.get(key)
    if o is None:
        if not value:
            return ZERO
        check_string_length(c, offset, len(value))
        if offset + len(value) > 44:
            # sdsnewlen: a raw string of the exact size (bytes), not one grown in place
            o = bytes(offset) + value
            db.add(key, o)
            c.server.dirty += 1
            notify(db, NOTIFY_STRING, b"setrange", key)
            return integer(len(o))
        o = bytearray(offset + len(value))  # raw even when short, as createObject makes it
        db.add(key, o)
    else:
        if o.__class__ not in _STR:
            raise WrongTypeError()
        if not value:
            return integer(len(o))
        check_string_length(c, offset, len(value))
        if o.__class__ is not bytearray:
            o = bytearray(o)
            db.data[key] = o
    end = offset + len(value)
    if len(o) < end:
        o.extend(bytes(end - len(o)))
    o[offset:end] = value
    c.server.dirty += 1
    notify(db, NOTIFY_STRING, b"setrange", key)
    return integer(len(o))


@command("getrange", 4, "readonly", 1, 1, 1, group=S)
def getrange_cmd(c, argv):
    start = get_int(argv[2])
    end = get_int(argv[3])
    v = _str_or_none(c.db, argv[1])
    if v is None:
        return EMPTY_BULK
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return EMPTY_BULK
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    end = max(end, 0)
    if end >= n:
        end = n - 1
    if start > end or n == 0:
        return EMPTY_BULK
    return bulk(v[start:end + 1])


@command("substr", 4, "readonly", 1, 1, 1, group=S)
def substr_cmd(c, argv):
    return getrange_cmd(c, argv)




@command("lcs", -3, "readonly", 1, 2, 1, group=S, since="7.0.0")
def lcs_cmd(c, argv):
    db = c.db
    a = db.read(argv[1])
    b = db.read(argv[2])
    if (a is not None and a.__class__ not in _STR) or (b is not None and b.__class__ not in _STR):
        raise CommandError("The specified keys must contain string values")
    a = bytes(a or b"")
    b = bytes(b or b"")
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - 1 - j
        if opt == b"idx":
            getidx = True
        elif opt == b"len":
            getlen = True
        elif opt == b"withmatchlen":
            withmatchlen = True
        elif opt == b"minmatchlen" and more:
            minmatchlen = get_int(argv[j + 1])
            if minmatchlen < 0:
                minmatchlen = 0
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    if getidx and getlen:
        raise CommandError("If you want both the length and indexes, please just use IDX.")
    if (len(a) + 1) * (len(b) + 1) * 4 > c.server.config.proto_max_bulk_len:
        raise CommandError("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    return _lcs(c, a, b, getlen, getidx, withmatchlen, minmatchlen)


def _lcs(c, a: bytes, b: bytes, getlen: bool, getidx: bool, withmatchlen: bool, minmatchlen: int) -> bytes:
    """The dynamic-programming LCS table, then a walk back emitting matched ranges as Redis does."""
    from aof.replies import Map, encode

    la, lb = len(a), len(b)
    dp = [[0] * (lb + 1) for _ in range(la + 1)]
    for i in range(1, la + 1):
        ai = a[i - 1]
        row, prev = dp[i], dp[i - 1]
        for j in range(1, lb + 1):
            if ai == b[j - 1]:
                row[j] = prev[j - 1] + 1
            else:
                left, up = row[j - 1], prev[j]
                row[j] = up if up > left else left
    total = dp[la][lb]
    if getlen:
        return integer(total)
    result = bytearray(total)
    matches: list[list[object]] = []
    idx = total
    unset = la
    a0, a1, b0, b1 = unset, 0, 0, 0
    i, j = la, lb
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a0 == unset:
                a0 = a1 = i - 1
                b0 = b1 = j - 1
            elif a0 == i and b0 == j:
                a0 -= 1
                b0 -= 1
            else:
                emit = True
            if a0 == 0 or b0 == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if dp[i - 1][j] > dp[i][j - 1]:
                i -= 1
            else:
                j -= 1
            if a0 != unset:
                emit = True
        if emit:
            mlen = a1 - a0 + 1
            if minmatchlen == 0 or mlen >= minmatchlen:
                m: list[object] = [[a0, a1], [b0, b1]]
                if withmatchlen:
                    m.append(mlen)
                matches.append(m)
            a0 = unset
    if getidx:
        return encode(Map([("matches", matches), ("len", total)]), c.resp)
    return bulk(bytes(result))
