"""Consumer groups (t_stream.c, Redis 7.0): XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

XCLAIM and XAUTOCLAIM are never logged as sent (``preventCommandPropagation``):
each claimed or dropped PEL entry is logged as the idempotent XCLAIM of
``streamPropagateXCLAIM``, a LASTID move alone as ``XGROUP SETID``.
"""

from __future__ import annotations

from bisect import bisect_left

from aof.replies import (
    EMPTY_ARRAY,
    OK,
    ONE,
    ZERO,
    Simple,
    array,
    bulk,
    bulks,
    encode,
    integer,
    null,
    null_array,
    pair,
)
from engine.commands.arguments import LONG_MAX, get_int, get_range_long
from engine.commands.streams import (
    cstr,
    entry_reply,
    lookup,
    parse_id,
    parse_range,
    parse_strict,
    propagating,
    setid_argv,
    try_parse_strict,
    xclaim_argv,
)
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command, container, subcommand
from engine.notify import NOTIFY_STREAM, notify
from engine.types.streams import (
    NACK,
    SCG_INVALID_ENTRIES_READ,
    Group,
    StreamValue,
    id_bytes,
    mstime,
)

G = "stream"


def _nogroup(key: bytes, gname: bytes) -> CommandError:
    return CommandError(f"No such key '{cstr(key)}' or consumer group '{cstr(gname)}'", "NOGROUP")


def _subcommand_syntax(argv: list[bytes]) -> CommandError:
    return CommandError(f"unknown subcommand or wrong number of arguments for "
                        f"'{cstr(argv[1])[:128]}'. Try {cstr(argv[0]).upper()} HELP.")


# -- XGROUP ---------------------------------------------------------------------------

XGROUP = container("xgroup", -2, group=G, since="5.0.0")

_XGROUP_HELP = [
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
]


def _help(argv: list[bytes], lines: list[str], resp: int) -> bytes:
    name = cstr(argv[0]).upper()
    out = [Simple(f"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")]
    out += [Simple(x) for x in lines]
    out += [Simple("HELP"), Simple("    Prints this help.")]
    return encode(out, resp)


def _xgroup_prelude(c, argv):
    """The common part of xgroupCommand: options, key lookup, existence checks."""
    opt = argv[1].lower()
    mkstream = False
    entries_read = SCG_INVALID_ENTRIES_READ
    create = opt == b"create"
    setid = opt == b"setid"
    i = 5
    n = len(argv)
    while i < n:
        a = argv[i].lower()
        if create and a == b"mkstream":
            mkstream = True
            i += 1
        elif (create or setid) and a == b"entriesread" and i + 1 < n:
            entries_read = get_int(argv[i + 1])
            if entries_read < 0 and entries_read != SCG_INVALID_ENTRIES_READ:
                raise CommandError("value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise _subcommand_syntax(argv)
    s = lookup(c.db, argv[2], False)
    gname = argv[3]
    cg = None
    if not mkstream:
        if s is None:
            raise CommandError("The XGROUP subcommand requires the key to exist. Note that for CREATE "
                               "you may want to use the MKSTREAM option to create an empty stream "
                               "automatically.")
        cg = s.groups.get(gname)
        if cg is None and opt in (b"setid", b"createconsumer", b"delconsumer"):
            raise CommandError(f"No such consumer group '{cstr(gname)}' for key name '{cstr(argv[2])}'",
                               "NOGROUP")
    return s, gname, cg, mkstream, entries_read


@subcommand(XGROUP, "create", -5, "write denyoom", 2, 2, 1, since="5.0.0")
def xgroup_create(c, argv):
    s, gname, _, mkstream, entries_read = _xgroup_prelude(c, argv)
    if len(argv) > 8:
        raise _subcommand_syntax(argv)
    if argv[4] == b"$":
        gid = s.last_id if s is not None else 0
    else:
        gid = parse_strict(argv[4])
    if s is None:
        s = StreamValue()
        c.db.add(argv[2], s)
    if gname in s.groups:
        raise CommandError("Consumer Group name already exists", "BUSYGROUP")
    s.groups[gname] = Group(gid, entries_read)
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xgroup-create", argv[2])
    return OK


@subcommand(XGROUP, "setid", -5, "write", 2, 2, 1, since="5.0.0")
def xgroup_setid(c, argv):
    s, gname, cg, _, entries_read = _xgroup_prelude(c, argv)
    if len(argv) not in (5, 7):
        raise _subcommand_syntax(argv)
    if argv[4] == b"$":
        gid = s.last_id
    else:
        gid = parse_id(argv[4])[0]
    cg.last_id = gid
    cg.entries_read = entries_read
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xgroup-setid", argv[2])
    return OK


@subcommand(XGROUP, "destroy", 4, "write", 2, 2, 1, since="5.0.0")
def xgroup_destroy(c, argv):
    s, gname, cg, _, _ = _xgroup_prelude(c, argv)
    if cg is None:
        return ZERO
    del s.groups[gname]
    s.wake += 1  # signalKeyAsReady: blocked XREADGROUP clients get NOGROUP
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xgroup-destroy", argv[2])
    return ONE


@subcommand(XGROUP, "createconsumer", 5, "write denyoom", 2, 2, 1, since="6.2.0")
def xgroup_createconsumer(c, argv):
    _, _, cg, _, _ = _xgroup_prelude(c, argv)
    created = cg.create_consumer(argv[4])
    if created is None:
        return ZERO
    c.server.dirty += 1
    notify(c.db, NOTIFY_STREAM, b"xgroup-createconsumer", argv[2])
    return ONE


@subcommand(XGROUP, "delconsumer", 5, "write", 2, 2, 1, since="5.0.0")
def xgroup_delconsumer(c, argv):
    _, _, cg, _, _ = _xgroup_prelude(c, argv)
    cons = cg.lookup_consumer(argv[4], refresh=False)
    pending = 0
    if cons is not None:
        pending = len(cons.pel)
        cg.delete_consumer(cons)
        c.server.dirty += 1
        notify(c.db, NOTIFY_STREAM, b"xgroup-delconsumer", argv[2])
    return integer(pending)


@subcommand(XGROUP, "help", 2, "loading stale", since="5.0.0")
def xgroup_help(c, argv):
    return _help(argv, _XGROUP_HELP, c.resp)


# -- XACK -------------------------------------------------------------------------------

@command("xack", -4, "write fast", 1, 1, 1, group=G, since="5.0.0")
def xack_cmd(c, argv):
    s = lookup(c.db, argv[1])
    grp = s.groups.get(argv[2]) if s is not None else None
    if grp is None:
        return ZERO
    ids = [parse_strict(a) for a in argv[3:]]
    acked = 0
    for i in ids:
        if grp.pel_remove(i) is not None:
            acked += 1
    if acked:
        c.server.dirty += acked
    return integer(acked)


# -- XPENDING -----------------------------------------------------------------------------

@command("xpending", -3, "readonly", 1, 1, 1, group=G, since="5.0.0")
def xpending_cmd(c, argv):
    n = len(argv)
    justinfo = n == 3
    if n != 3 and (n < 6 or n > 9):
        raise SyntaxErr()
    count = 0
    minidle = 0
    start = end = 0
    cname = None
    if n >= 6:
        sidx = 3
        if argv[3].lower() == b"idle":
            minidle = get_int(argv[4])
            if n < 8:
                raise SyntaxErr()
            sidx += 2
        count = get_int(argv[sidx + 2])
        if count < 0:
            count = 0
        start, end = parse_range(argv[sidx], argv[sidx + 1])
        if sidx + 3 < n:
            cname = argv[sidx + 3]
    s = lookup(c.db, argv[1])
    grp = s.groups.get(argv[2]) if s is not None else None
    if grp is None:
        raise _nogroup(argv[1], argv[2])
    resp = c.resp
    if justinfo:
        npel = len(grp.pel_ids)
        if not npel:
            return array([ZERO, null(resp), null(resp), null_array(resp)])
        rows = [(name, len(cons.pel)) for name, cons in sorted(grp.consumers.items()) if cons.pel]
        return array([integer(npel), bulk(id_bytes(grp.pel_ids[0])), bulk(id_bytes(grp.pel_ids[-1])),
                      array([pair(bulk(name), bulk(b"%d" % k)) for name, k in rows])])
    if cname is not None:
        cons = grp.lookup_consumer(cname, refresh=False)
        if cons is None:
            return EMPTY_ARRAY
        pids, pel = cons.pel_ids, cons.pel
    else:
        pids, pel = grp.pel_ids, grp.pel
    now = mstime()
    rows_b: list[bytes] = []
    j = bisect_left(pids, start)
    while count and j < len(pids) and pids[j] <= end:
        i = pids[j]
        j += 1
        nack = pel[i]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        elapsed = max(0, now - nack.delivery_time)
        cn = nack.consumer.name if nack.consumer is not None else b""
        rows_b.append(array([bulk(id_bytes(i)), bulk(cn), integer(elapsed), integer(nack.delivery_count)]))
    return array(rows_b)


# -- XCLAIM / XAUTOCLAIM ----------------------------------------------------------------------

def _claim_nack(grp: Group, i: int, nack: NACK, consumer) -> None:
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            nack.consumer.remove(i)
        consumer.add(i, nack)
        nack.consumer = consumer


@command("xclaim", -6, "write fast", 1, 1, 1, group=G, since="5.0.0")
def xclaim_cmd(c, argv):
    key, gname, cname = argv[1], argv[2], argv[3]
    s = lookup(c.db, key)
    grp = s.groups.get(gname) if s is not None else None
    if grp is None:
        raise _nogroup(key, gname)
    minidle = get_int(argv[4], "Invalid min-idle-time argument for XCLAIM")
    if minidle < 0:
        minidle = 0
    n = len(argv)
    ids: list[int] = []
    j = 5
    while j < n:
        i = try_parse_strict(argv[j])
        if i is None:
            break
        ids.append(i)
        j += 1
    last_id_arg = j - 1
    now = mstime()
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = 0
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - get_int(argv[j], "Invalid IDLE option argument for XCLAIM")
        elif opt == b"time" and more:
            j += 1
            deliverytime = get_int(argv[j], "Invalid TIME option argument for XCLAIM")
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = get_int(argv[j], "Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"lastid" and more:
            j += 1
            last_id = parse_strict(argv[j])
        else:
            raise CommandError(f"Unrecognized XCLAIM option '{cstr(argv[j])}'")
        j += 1
    prop = [] if propagating(c) else None
    srv = c.server
    propagate_last_id = False
    if last_id > grp.last_id:
        grp.last_id = last_id
        propagate_last_id = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer = None
    out: list[bytes] = []
    for k in range(5, last_id_arg + 1):
        i = ids[k - 5]
        nack = grp.pel.get(i)
        if i not in s.entries:
            if nack is not None:
                if prop is not None:
                    prop.append(xclaim_argv(key, gname, grp, argv[k], nack))
                propagate_last_id = False
                srv.dirty += 1
                grp.pel_remove(i)
            continue
        if force and nack is None:
            nack = NACK(None)
            grp.pel_add(i, nack)
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = grp.lookup_consumer(cname)
            if consumer is None:
                consumer = grp.create_consumer(cname)
                srv.dirty += 1
                notify(c.db, NOTIFY_STREAM, b"xgroup-createconsumer", argv[1])
        old = nack.consumer
        if old is not consumer and old is not None:
            old.remove(i)
        nack.delivery_time = deliverytime
        if retrycount >= 0:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        if old is not consumer:
            consumer.add(i, nack)
            nack.consumer = consumer
        out.append(bulk(id_bytes(i)) if justid else entry_reply(i, s.entries[i]))
        if prop is not None:
            prop.append(xclaim_argv(key, gname, grp, argv[k], nack))
        propagate_last_id = False
        srv.dirty += 1
    if propagate_last_id:
        if prop is not None:
            prop.append(setid_argv(key, gname, grp))
        srv.dirty += 1
    if prop is not None:
        c.rewritten = prop
    return array(out)


@command("xautoclaim", -6, "write fast", 1, 1, 1, group=G, since="6.2.0")
def xautoclaim_cmd(c, argv):
    key, gname, cname = argv[1], argv[2], argv[3]
    minidle = get_int(argv[4], "Invalid min-idle-time argument for XAUTOCLAIM")
    if minidle < 0:
        minidle = 0
    start, ex = _interval_start(argv[5])
    count = 100
    justid = False
    j = 6
    n = len(argv)
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            count = get_range_long(argv[j + 1], 1, LONG_MAX // 16, "COUNT must be > 0")
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise SyntaxErr()
        j += 1
    s = lookup(c.db, key)
    grp = s.groups.get(gname) if s is not None else None
    if grp is None:
        raise _nogroup(key, gname)
    prop = [] if propagating(c) else None
    srv = c.server
    attempts = count * 10
    now = mstime()
    consumer = None
    out: list[bytes] = []
    deleted: list[int] = []
    pids = grp.pel_ids
    pos = bisect_left(pids, start)
    while attempts and count and pos < len(pids):
        attempts -= 1
        i = pids[pos]
        nack = grp.pel[i]
        if i not in s.entries:
            if prop is not None:
                prop.append(xclaim_argv(key, gname, grp, id_bytes(i), nack))
            srv.dirty += 1
            grp.pel_remove(i)  # pos now points at the next entry
            deleted.append(i)
            count -= 1
            continue
        pos += 1
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = grp.lookup_consumer(cname)
            if consumer is None:
                consumer = grp.create_consumer(cname)
                srv.dirty += 1
                notify(c.db, NOTIFY_STREAM, b"xgroup-createconsumer", argv[1])
        _claim_nack(grp, i, nack, consumer)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        out.append(bulk(id_bytes(i)) if justid else entry_reply(i, s.entries[i]))
        count -= 1
        if prop is not None:
            prop.append(xclaim_argv(key, gname, grp, id_bytes(i), nack))
        srv.dirty += 1
    endid = pids[pos] if pos < len(pids) else 0
    del ex
    if prop is not None:
        c.rewritten = prop
    return array([bulk(id_bytes(endid)), array(out), bulks([id_bytes(i) for i in deleted])])


def _interval_start(arg: bytes) -> tuple[int, bool]:
    from engine.commands.streams import MAX_ID, parse_interval

    start, ex = parse_interval(arg, 0)
    if ex:
        if start == MAX_ID:
            raise CommandError("invalid start ID for the interval")
        start += 1
    return start, ex


__all__ = ["XGROUP"]
