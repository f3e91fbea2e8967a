"""XREAD and XREADGROUP (xreadCommand, serveClientsBlockedOnStreamKey; Redis 7.0).

XREADGROUP is never logged as sent: what it did to the group reaches the log as
XCLAIM / XGROUP SETID / XGROUP CREATECONSUMER (``streamPropagate*``), through
``Client.rewritten`` or, when a blocked reader is served later, straight into the
propagator's ops.
"""

from __future__ import annotations

from aof.replies import array_header, bulk, map_header, null_array
from engine.commands.arguments import get_int
from engine.commands.streams import (
    G,
    cstr,
    entries_reply,
    lookup,
    parse_strict,
    propagating,
    reply_from_consumer_pel,
    reply_with_range,
)
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command
from engine.notify import NOTIFY_STREAM, notify
from engine.types.streams import MAX_ID, StreamValue

XREAD_BLOCKED_DEFAULT_COUNT = 1000


def xread_keys(argv: list[bytes]) -> list[int]:
    """xreadGetKeys: the keys between STREAMS and the IDs."""
    for i in range(1, len(argv)):
        if argv[i].lower() == b"streams":
            rest = len(argv) - i - 1
            if rest % 2:
                return []
            return list(range(i + 1, i + 1 + rest // 2))
    return []


def _xread(c, argv, xreadgroup: bool):
    timeout = -1
    count = 0
    streams_arg = 0
    streams_count = 0
    noack = False
    gname = cname = None
    n = len(argv)
    i = 1
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            if c.script:  # xreadCommand: no BLOCK from scripts, even where it would not block
                raise CommandError(f"{cstr(argv[0])} command is not allowed with BLOCK option from scripts")
            i += 1
            timeout = get_int(argv[i], "timeout is not an integer or out of range")
            if timeout < 0:
                raise CommandError("timeout is negative")
        elif o == b"count" and more:
            i += 1
            count = get_int(argv[i])
            if count < 0:
                count = 0
        elif o == b"streams" and more:
            streams_arg = i + 1
            streams_count = n - streams_arg
            if streams_count % 2:
                raise CommandError("Unbalanced XREAD list of streams: for each stream key an ID or '$' "
                                   "must be specified.")
            streams_count //= 2
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError("The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            gname, cname = argv[i + 1], argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise CommandError("The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            noack = True
        else:
            raise SyntaxErr()
        i += 1
    if streams_arg == 0:
        raise SyntaxErr()
    if xreadgroup and gname is None:
        raise CommandError("Missing GROUP option for XREADGROUP")
    db = c.db
    keys = argv[streams_arg:streams_arg + streams_count]
    values: list[StreamValue | None] = []
    ids: list[int] = []
    groups: list = []
    for k in range(streams_count):
        key = keys[k]
        arg = argv[streams_arg + streams_count + k]
        s = lookup(db, key)
        values.append(s)
        if gname is not None:
            grp = s.groups.get(gname) if s is not None else None
            if grp is None:
                raise CommandError(f"No such key '{cstr(key)}' or consumer group '{cstr(gname)}' in "
                                   "XREADGROUP with GROUP option", "NOGROUP")
            groups.append(grp)
        if arg == b"$":
            if xreadgroup:
                raise CommandError("The $ ID is meaningless in the context of XREADGROUP: you want to read "
                                   "the history of this consumer by specifying a proper ID, or use the > ID "
                                   "to get new messages. The $ ID would just return an empty result set.")
            ids.append(s.last_id if s is not None else 0)
            continue
        if arg == b">":
            if not xreadgroup:
                raise CommandError("The > ID can be specified only when calling XREADGROUP using the "
                                   "GROUP <group> <consumer> option.")
            ids.append(MAX_ID)
            continue
        ids.append(parse_strict(arg))
    prop: list | None = [] if (xreadgroup and propagating(c)) else None
    resp = c.resp
    parts: list[bytes] = []
    served = 0
    for k in range(streams_count):
        s = values[k]
        if s is None:
            continue
        gt = ids[k]
        serve = history = False
        if groups:
            if gt != MAX_ID:
                serve = history = True
            elif s.ids and s.ids[-1] > groups[k].last_id:
                serve = True
                gt = groups[k].last_id
        elif s.ids and s.ids[-1] > gt:
            serve = True
        if not serve:
            continue
        start = gt + 1 if gt != MAX_ID else 0
        key = keys[k]
        served += 1
        parts.append((array_header(2) if resp == 2 else b"") + bulk(key))  # RESP2 [key, entries]
        if groups:
            grp = groups[k]
            cons = grp.lookup_consumer(cname)
            if cons is None:
                cons = grp.create_consumer(cname)
                c.server.dirty += 1
                notify(c.db, NOTIFY_STREAM, b"xgroup-createconsumer", key)
                if noack and prop is not None:
                    prop.append([b"XGROUP", b"CREATECONSUMER", key, gname, cname])
            if history:
                parts.append(reply_from_consumer_pel(s, start, count, cons, resp))
            else:
                parts.append(reply_with_range(s, start, MAX_ID, count, grp, cons, noack, prop, key, gname))
            c.server.dirty += 1
        else:
            parts.append(entries_reply(s, s.range_ids(start, MAX_ID, count)))
    if prop is not None:
        c.rewritten = prop  # preventCommandPropagation: only what the group reads produced
    if served:
        hdr = array_header(served) if resp == 2 else map_header(served, 3)
        return hdr + b"".join(parts)
    if timeout != -1:
        if c.in_exec:
            return null_array(resp)
        _block(c, keys, ids, timeout, count or XREAD_BLOCKED_DEFAULT_COUNT, gname, cname, noack)
        return None
    return null_array(resp)


def _block(c, keys, ids, timeout, count, gname, cname, noack) -> None:
    """blockForKeys(BLOCKED_STREAM) + serveClientsBlockedOnStreamKey as a serve function.

    Redis wakes stream readers only on XADD, XGROUP DESTROY, key creation, deletion
    or overwrite; the dispatcher here signals on any write to the key, so each key
    remembers the (value, wake counter) it last saw and spurious signals are ignored.
    """
    gts: dict[bytes, int] = {}
    seen: dict[bytes, tuple[object, int]] = {}
    db = c.db
    for k, gt in zip(keys, ids):
        if k not in gts:
            gts[k] = gt
            v = db.data.get(k)
            seen[k] = (v, v.wake if v.__class__ is StreamValue else -1)

    def serve(cl, db_, key):
        s = db_.peek(key)
        if s is None or s.__class__ is not StreamValue:
            if gname is not None:
                return b"-UNBLOCKED the stream key no longer exists\r\n"
            seen[key] = (s, -1)
            return None
        if seen.get(key) == (s, s.wake):
            return None
        seen[key] = (s, s.wake)
        grp = None
        gt = gts.get(key, 0)
        if gname is not None:
            grp = s.groups.get(gname)
            if grp is None:
                return b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
            gt = grp.last_id
        if s.last_id <= gt:
            return None
        start = gt + 1
        srv = cl.server
        prop: list | None = [] if srv.propagator.targets else None
        resp = cl.resp
        head = (array_header(1) + array_header(2) if resp == 2 else map_header(1, 3)) + bulk(key)
        if grp is not None:
            cons = grp.lookup_consumer(cname)
            if cons is None:
                cons = grp.create_consumer(cname)
                srv.dirty += 1
                notify(db_, NOTIFY_STREAM, b"xgroup-createconsumer", key)
                if noack and prop is not None:
                    prop.append([b"XGROUP", b"CREATECONSUMER", key, gname, cname])
            body = reply_with_range(s, start, MAX_ID, count, grp, cons, noack, prop, key, gname)
        else:
            body = entries_reply(s, s.range_ids(start, MAX_ID, count))
        if prop:
            ops = srv.propagator.ops
            for a in prop:
                ops.append((db_.id, a))
            srv.propagator.flush()
        return head + body

    c.server.blocking.block(c, list(gts), timeout, serve, null_array(c.resp),
                            "xreadgroup" if gname is not None else "xread", scan_all=True)


@command("xread", -4, "readonly blocking", group=G, since="5.0.0", keys=xread_keys)
def xread_cmd(c, argv):
    return _xread(c, argv, False)


@command("xreadgroup", -7, "write blocking", group=G, since="5.0.0", keys=xread_keys)
def xreadgroup_cmd(c, argv):
    return _xread(c, argv, True)



__all__ = ["xread_keys"]
