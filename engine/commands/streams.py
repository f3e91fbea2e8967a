"""Stream commands (t_stream.c, Redis 7.0): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM,
XSETID.

XREAD/XREADGROUP (synchronous and blocking) live in :mod:`engine.commands.streams_read`,
consumer-group administration and claiming in :mod:`engine.commands.streams_groups`,
XINFO in :mod:`engine.commands.streams_info`. Shared pieces (ID parsing with Redis's
``string2ull`` quirks, entry replies, ``streamReplyWithRange``) are here.

Propagation follows 7.0: XADD logs the ID it generated and rewrites ``~`` trims
to their exact effect (``MAXLEN = <len>`` / ``MINID = <first id>``); XREADGROUP
logs XCLAIM/XGROUP SETID/XGROUP CREATECONSUMER, never itself.
"""

from __future__ import annotations

from bisect import bisect_left

from aof.replies import (
    EMPTY_ARRAY,
    ZERO,
    array,
    bulk,
    bulks,
    integer,
    null,
    null_array,
    pair,
)
from engine.commands.arguments import get_int
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.registry import command
from engine.notify import NOTIFY_STREAM, notify
from engine.types.streams import (
    MAX_ID,
    NACK,
    SCG_INVALID_ENTRIES_READ,
    STREAM_LISTPACK_MAX_SIZE,
    U64,
    StreamValue,
    id_bytes,
    mstime,
    s64,
)
from engine.types.strings import parse_int

G = "stream"
XREAD_BLOCKED_DEFAULT_COUNT = 1000
INVALID_ID = "Invalid stream ID specified as stream command argument"


# -- helpers ------------------------------------------------------------------------

def cstr(b: bytes) -> str:
    """A ``%s`` of an sds in an error text: up to the first NUL byte."""
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def lookup(db, key: bytes, read: bool = True) -> StreamValue | None:
    v = db.read(key) if read else db.get(key)
    if v is not None and v.__class__ is not StreamValue:
        raise WrongTypeError()
    return v


def _strtoull(s: bytes) -> int | None:
    i = 0
    n = len(s)
    while i < n and s[i] in b" \t\n\v\f\r":
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    digits = s[i:]
    if not digits or not digits.isdigit():
        return None
    v = int(digits)
    if v > U64:
        return None
    return (-v) & U64 if neg else v


def string2ull(s: bytes) -> int | None:
    """util.c string2ull: string2ll first (negatives refused), then strtoull's leniency."""
    v = parse_int(s)
    if v is not None:
        return v if v >= 0 else None
    return _strtoull(s)


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False,
             allow_seq_star: bool = False) -> tuple[int, bool]:
    """streamGenericParseIDOrReply: (id, seq_given); raises the invalid-ID error."""
    if len(arg) > 127:
        raise CommandError(INVALID_ID)
    buf = arg.split(b"\0", 1)[0]
    if buf == b"-":
        if strict:
            raise CommandError(INVALID_ID)
        return 0, True
    if buf == b"+":
        if strict:
            raise CommandError(INVALID_ID)
        return MAX_ID, True
    ms_s, dash, seq_s = buf.partition(b"-")
    ms = string2ull(ms_s)
    if ms is None:
        raise CommandError(INVALID_ID)
    if dash:
        if allow_seq_star and seq_s == b"*":
            return ms << 64, False
        seq = string2ull(seq_s)
        if seq is None:
            raise CommandError(INVALID_ID)
    else:
        seq = missing_seq
    return (ms << 64) | seq, True


def parse_strict(arg: bytes) -> int:
    return parse_id(arg, 0, True)[0]


def try_parse_strict(arg: bytes) -> int | None:
    try:
        return parse_id(arg, 0, True)[0]
    except CommandError:
        return None


def parse_interval(arg: bytes, missing_seq: int) -> tuple[int, bool]:
    """streamParseIntervalIDOrReply: '(' makes the bound exclusive (strict parse then)."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, True)[0], True
    return parse_id(arg, missing_seq)[0], False


def parse_range(start_arg: bytes, end_arg: bytes) -> tuple[int, int]:
    start, ex = parse_interval(start_arg, 0)
    if ex:
        if start == MAX_ID:
            raise CommandError("invalid start ID for the interval")
        start += 1
    end, ex = parse_interval(end_arg, U64)
    if ex:
        if end == 0:
            raise CommandError("invalid end ID for the interval")
        end -= 1
    return start, end


def entry_reply(i: int, fv: list[bytes]) -> bytes:
    """One entry: ``[id, [field, value, ...]]``."""
    return pair(bulk(id_bytes(i)), bulks(fv))


def entries_reply(s: StreamValue, ids: list[int]) -> bytes:
    ents = s.entries
    return array([entry_reply(i, ents[i]) for i in ids])


def xclaim_argv(key: bytes, gname: bytes, group, idarg: bytes, nack: NACK) -> list[bytes]:
    """streamPropagateXCLAIM: an idempotent XCLAIM recreating the PEL entry."""
    return [b"XCLAIM", key, gname, nack.consumer.name if nack.consumer else b"", b"0", idarg,
            b"TIME", b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", id_bytes(group.last_id)]


def setid_argv(key: bytes, gname: bytes, group) -> list[bytes]:
    """streamPropagateGroupID."""
    return [b"XGROUP", b"SETID", key, gname, id_bytes(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


def reply_with_range(s: StreamValue, start: int, end: int, count: int, group=None,
                     consumer=None, noack: bool = False, prop: list | None = None,
                     key: bytes = b"", gname: bytes = b"") -> bytes:
    """streamReplyWithRange (forward) with optional group bookkeeping and propagation."""
    ids = s.range_ids(start, end, count)
    if group is None:
        return entries_reply(s, ids)
    ents = s.entries
    out = []
    propagate_last_id = False
    for i in ids:
        if i > group.last_id:
            if group.entries_read != SCG_INVALID_ENTRIES_READ and not s.range_has_tombstones(i, None):
                group.entries_read = s64(group.entries_read + 1)
            elif s.entries_added:
                group.entries_read = s.estimate_distance(i)
            group.last_id = i
            if noack:
                propagate_last_id = True
        out.append(entry_reply(i, ents[i]))
        if not noack:
            nack = group.pel.get(i)
            if nack is None:
                nack = NACK(consumer)
                group.pel_add(i, nack)
                consumer.add(i, nack)
            else:
                if nack.consumer is not None:
                    nack.consumer.remove(i)
                nack.consumer = consumer
                nack.delivery_time = mstime()
                nack.delivery_count = 1
                consumer.add(i, nack)
            if prop is not None:
                prop.append(xclaim_argv(key, gname, group, id_bytes(i), nack))
    if prop is not None and propagate_last_id:
        prop.append(setid_argv(key, gname, group))
    return array(out)


def reply_from_consumer_pel(s: StreamValue, start: int, count: int, consumer, resp: int) -> bytes:
    """streamReplyWithRangeFromConsumerPEL: the consumer's own history from ``start``."""
    pids = consumer.pel_ids
    j = bisect_left(pids, start)
    sel = pids[j:j + count] if count else pids[j:]
    out = []
    ents = s.entries
    now = mstime()
    for i in sel:
        fv = ents.get(i)
        if fv is None:
            out.append(pair(bulk(id_bytes(i)), null_array(resp)))
        else:
            out.append(entry_reply(i, fv))
            nack = consumer.pel[i]
            nack.delivery_time = now
            nack.delivery_count += 1
    return array(out)


def propagating(c) -> bool:
    return bool(c.server.propagator.targets)


# -- XADD / XTRIM ---------------------------------------------------------------------

class TrimArgs:
    __slots__ = ("id", "id_given", "seq_given", "no_mkstream", "maxlen", "minid", "approx",
                 "limit", "arg_idx", "strategy")

    def __init__(self) -> None:
        self.id = 0
        self.id_given = False
        self.seq_given = True
        self.no_mkstream = False
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.arg_idx = 0
        self.strategy = 0  # 0 none, 1 maxlen, 2 minid


_BOTH = "syntax error, MAXLEN and MINID options at the same time are not compatible"


def parse_add_trim(c, argv: list[bytes], xadd: bool) -> tuple[TrimArgs, int]:
    """streamParseAddOrTrimArgsOrReply: returns the parsed args and the ID's position."""
    a = TrimArgs()
    i = 2
    n = len(argv)
    limit_given = False
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        lo = opt.lower()
        if xadd and opt == b"*":
            break
        if lo == b"maxlen" and more:
            if a.strategy:
                raise CommandError(_BOTH)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.maxlen = get_int(argv[i + 1])
            if a.maxlen < 0:
                raise CommandError("The MAXLEN argument must be >= 0.")
            i += 1
            a.strategy = 1
            a.arg_idx = i
        elif lo == b"minid" and more:
            if a.strategy:
                raise CommandError(_BOTH)
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            a.minid = parse_strict(argv[i + 1])
            i += 1
            a.strategy = 2
            a.arg_idx = i
        elif lo == b"limit" and more:
            a.limit = get_int(argv[i + 1])
            if a.limit < 0:
                raise CommandError("The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.no_mkstream = True
        elif xadd:
            a.id, a.seq_given = parse_id(opt, 0, True, allow_seq_star=True)
            a.id_given = True
            break
        else:
            raise SyntaxErr()
        i += 1
    if a.limit and not a.strategy:
        raise CommandError("syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not a.strategy:
        raise CommandError("syntax error, XTRIM must be called with a trimming strategy")
    if c.server.loading:
        a.limit = 0  # mustObeyClient: the logged argument is already exact
    elif limit_given:
        if not a.approx:
            raise CommandError("syntax error, LIMIT cannot be used without the special ~ option")
    elif a.approx:
        lim = 100 * c.server.config.stream_node_max_entries
        if lim <= 0:
            lim = 10000
        if lim > 1000000:
            lim = 1000000
        a.limit = lim
    else:
        a.limit = 0
    return a, i


def _trim(s: StreamValue, a: TrimArgs) -> int:
    if a.strategy == 1:
        return s.trim(a.maxlen, None, a.approx, a.limit)
    if a.strategy == 2:
        return s.trim(None, a.minid, a.approx, a.limit)
    return 0


def _rewrite_trim(s: StreamValue, a: TrimArgs, out: list[bytes]) -> None:
    """streamRewriteApproxSpecifier + streamRewriteTrimArgument."""
    out[a.arg_idx - 1] = b"="
    if a.strategy == 1:
        out[a.arg_idx] = b"%d" % len(s.ids)
    else:
        out[a.arg_idx] = id_bytes(s.first_entry_with_tombstones())


@command("xadd", -5, "write denyoom fast", 1, 1, 1, group=G, since="5.0.0")
def xadd_cmd(c, argv):
    a, idpos = parse_add_trim(c, argv, True)
    field_pos = idpos + 1
    nf = len(argv) - field_pos
    if nf < 2 or nf % 2 == 1:
        raise CommandError("wrong number of arguments for 'xadd' command")
    if a.id_given and a.seq_given and a.id == 0:
        raise CommandError("The ID specified in XADD must be greater than 0-0")
    db = c.db
    key = argv[1]
    s = lookup(db, key, False)
    if s is None:
        if a.no_mkstream:
            return null(c.resp)
        s = StreamValue()
        db.add(key, s)
    if s.last_id == MAX_ID:
        raise CommandError("The stream has exhausted the last possible ID, unable to add more items")
    last = s.last_id
    if a.id_given:
        if a.seq_given:
            new = a.id
        elif (last >> 64) == (a.id >> 64):
            if (last & U64) == U64:
                raise CommandError("The ID specified in XADD is equal or smaller than the target stream top item")
            new = last + 1
        else:
            new = a.id
    else:
        now = mstime()
        new = now << 64 if now > (last >> 64) else last + 1
    if new <= last:
        raise CommandError("The ID specified in XADD is equal or smaller than the target stream top item")
    fv = argv[field_pos:]
    if sum(len(x) for x in fv) > STREAM_LISTPACK_MAX_SIZE:
        raise CommandError("Elements are too large to be stored")
    cfg = c.server.config
    s.append(new, fv, cfg.stream_node_max_bytes, cfg.stream_node_max_entries)
    s.wake += 1
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xadd", argv[1])
    idb = id_bytes(new)
    rewritten = None
    if a.strategy:
        if _trim(s, a):
            notify(c.db, NOTIFY_STREAM, b"xtrim", argv[1])
        if a.approx and propagating(c):
            rewritten = list(argv)
            _rewrite_trim(s, a, rewritten)
    if (not a.id_given or not a.seq_given) and propagating(c):
        if rewritten is None:
            rewritten = list(argv)
        rewritten[idpos] = idb
    if rewritten is not None:
        c.rewritten = [rewritten]
    return bulk(idb)


@command("xtrim", -4, "write", 1, 1, 1, group=G, since="5.0.0")
def xtrim_cmd(c, argv):
    a, _ = parse_add_trim(c, argv, False)
    s = lookup(c.db, argv[1], False)
    if s is None:
        return ZERO
    deleted = _trim(s, a)
    if deleted:
        notify(c.db, NOTIFY_STREAM, b"xtrim", argv[1])
        if a.approx and propagating(c):
            rewritten = list(argv)
            _rewrite_trim(s, a, rewritten)
            c.rewritten = [rewritten]
        c.server.dirty += deleted
    return integer(deleted)


# -- reading -------------------------------------------------------------------------

@command("xlen", 2, "readonly fast", 1, 1, 1, group=G, since="5.0.0")
def xlen_cmd(c, argv):
    s = lookup(c.db, argv[1])
    return ZERO if s is None else integer(len(s.ids))


def _xrange(c, argv, rev: bool) -> bytes:
    start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start, end = parse_range(start_arg, end_arg)
    count = -1
    j = 4
    n = len(argv)
    while j < n:
        if argv[j].lower() == b"count" and n - j - 1 >= 1:
            count = get_int(argv[j + 1])
            if count < 0:
                count = 0
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    s = lookup(c.db, argv[1])
    if s is None:
        return EMPTY_ARRAY
    if count == 0:
        return null_array(c.resp)
    ids = s.range_ids(start, end, max(count, 0), rev)
    return entries_reply(s, ids)


@command("xrange", -4, "readonly", 1, 1, 1, group=G, since="5.0.0")
def xrange_cmd(c, argv):
    return _xrange(c, argv, False)


@command("xrevrange", -4, "readonly", 1, 1, 1, group=G, since="5.0.0")
def xrevrange_cmd(c, argv):
    return _xrange(c, argv, True)


# -- deleting / metadata -------------------------------------------------------------

@command("xdel", -3, "write fast", 1, 1, 1, group=G, since="5.0.0")
def xdel_cmd(c, argv):
    s = lookup(c.db, argv[1], False)
    if s is None:
        return ZERO
    ids = [parse_strict(a) for a in argv[2:]]
    deleted = 0
    first_entry = False
    for i in ids:
        if s.delete(i):
            if i == s.first_id:
                first_entry = True
            if i > s.max_deleted:
                s.max_deleted = i
            deleted += 1
    if deleted:
        if not s.ids:
            s.first_id = 0
        elif first_entry:
            s.first_id = s.ids[0]
        notify(c.db, NOTIFY_STREAM, b"xdel", argv[1])
        c.server.dirty += deleted
    return integer(deleted)


@command("xsetid", -3, "write denyoom fast", 1, 1, 1, group=G, since="5.0.0")
def xsetid_cmd(c, argv):
    new = parse_strict(argv[2])
    entries_added = -1
    max_xdel = 0
    i = 3
    n = len(argv)
    while i < n:
        more = n - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = get_int(argv[i + 1])
            if entries_added < 0:
                raise CommandError("entries_added must be positive")
            i += 2
        elif opt == b"maxdeletedid" and more:
            max_xdel = parse_strict(argv[i + 1])
            if new < max_xdel:
                raise CommandError("The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
            i += 2
        else:
            raise SyntaxErr()
    s = lookup(c.db, argv[1], False)
    if s is None:
        raise CommandError("no such key")
    if s.ids:
        if new < s.ids[-1]:
            raise CommandError("The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and len(s.ids) > entries_added:
            raise CommandError("The entries_added specified in XSETID is smaller than the target stream length")
    s.last_id = new
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted = max_xdel
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xsetid", argv[1])
    return b"+OK\r\n"


# the rest of the family registers through this module (engine/commands/__init__ imports it)
from engine.commands import streams_groups, streams_info, streams_read  # noqa: E402, F401

__all__ = ["entries_reply", "entry_reply", "lookup", "parse_id", "parse_range", "parse_strict",
           "reply_with_range", "setid_argv", "string2ull", "try_parse_strict", "xclaim_argv"]
