"""XINFO STREAM [FULL [COUNT n]] / GROUPS / CONSUMERS (xinfoCommand, Redis 7.0)."""

from __future__ import annotations

from aof.replies import array, array_header, bulk, integer, map_header, null
from engine.commands.arguments import get_int
from engine.commands.streams import MAX_ID, cstr, entry_reply, lookup
from engine.commands.streams_groups import _help, _subcommand_syntax
from engine.errors import CommandError
from engine.execution.registry import container, subcommand
from engine.types.streams import SCG_INVALID_ENTRIES_READ, StreamValue, id_bytes, mstime, s64

XINFO = container("xinfo", -2, group="stream", since="5.0.0")

_XINFO_HELP = [
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
]


def _kv(name: bytes, value: bytes) -> bytes:
    return bulk(name) + value


def _stream(c, argv) -> StreamValue:
    s = lookup(c.db, argv[2])
    if s is None:
        raise CommandError("no such key")
    return s


def _entries_read(g, resp: int) -> bytes:
    return null(resp) if g.entries_read == SCG_INVALID_ENTRIES_READ else integer(g.entries_read)


def _lag(s: StreamValue, g, resp: int) -> bytes:
    lag = s.lag(g)
    return null(resp) if lag is None else integer(lag)


@subcommand(XINFO, "stream", -3, "readonly", 2, 2, 1, since="5.0.0")
def xinfo_stream(c, argv):
    s = _stream(c, argv)
    resp = c.resp
    opts = argv[3:]
    full = bool(opts)
    count = 10
    if opts:
        if len(opts) not in (1, 3) or opts[0].lower() != b"full":
            raise _subcommand_syntax(argv)
        if len(opts) == 3:
            if opts[1].lower() != b"count":
                raise _subcommand_syntax(argv)
            count = get_int(opts[2])
            if count < 0:
                count = 10
    out = [map_header(9 if full else 10, resp),
           _kv(b"length", integer(len(s.ids))),
           _kv(b"radix-tree-keys", integer(len(s.nodes))),
           _kv(b"radix-tree-nodes", integer(s.rax_nodes())),
           _kv(b"last-generated-id", bulk(id_bytes(s.last_id))),
           _kv(b"max-deleted-entry-id", bulk(id_bytes(s.max_deleted))),
           _kv(b"entries-added", integer(s64(s.entries_added))),  # addReplyLongLong of a uint64_t
           _kv(b"recorded-first-entry-id", bulk(id_bytes(s.first_id)))]
    if not full:
        out.append(_kv(b"groups", integer(len(s.groups))))
        ids = s.ids
        out.append(bulk(b"first-entry") + (entry_reply(ids[0], s.entries[ids[0]]) if ids else null(resp)))
        out.append(bulk(b"last-entry") + (entry_reply(ids[-1], s.entries[ids[-1]]) if ids else null(resp)))
        return b"".join(out)
    ids = s.range_ids(0, MAX_ID, count)
    out.append(bulk(b"entries") + array([entry_reply(i, s.entries[i]) for i in ids]))
    out.append(bulk(b"groups") + array_header(len(s.groups)))
    for name, g in sorted(s.groups.items()):
        out.append(map_header(7, resp))
        out.append(_kv(b"name", bulk(name)))
        out.append(_kv(b"last-delivered-id", bulk(id_bytes(g.last_id))))
        out.append(_kv(b"entries-read", _entries_read(g, resp)))
        out.append(_kv(b"lag", _lag(s, g, resp)))
        out.append(_kv(b"pel-count", integer(len(g.pel_ids))))
        pel = g.pel_ids[:count] if count else g.pel_ids
        out.append(bulk(b"pending") + array_header(len(pel)))
        for i in pel:
            nack = g.pel[i]
            cn = nack.consumer.name if nack.consumer is not None else b""
            out.append(array([bulk(id_bytes(i)), bulk(cn), integer(nack.delivery_time),
                              integer(nack.delivery_count)]))
        out.append(bulk(b"consumers") + array_header(len(g.consumers)))
        for cname, cons in sorted(g.consumers.items()):
            out.append(map_header(4, resp))
            out.append(_kv(b"name", bulk(cname)))
            out.append(_kv(b"seen-time", integer(cons.seen_time)))
            out.append(_kv(b"pel-count", integer(len(cons.pel_ids))))
            cpel = cons.pel_ids[:count] if count else cons.pel_ids
            out.append(bulk(b"pending") + array_header(len(cpel)))
            for i in cpel:
                nack = cons.pel[i]
                out.append(array([bulk(id_bytes(i)), integer(nack.delivery_time), integer(nack.delivery_count)]))
    return b"".join(out)


@subcommand(XINFO, "groups", 3, "readonly", 2, 2, 1, since="5.0.0")
def xinfo_groups(c, argv):
    s = _stream(c, argv)
    resp = c.resp
    out = [array_header(len(s.groups))]
    for name, g in sorted(s.groups.items()):
        out.append(map_header(6, resp))
        out.append(_kv(b"name", bulk(name)))
        out.append(_kv(b"consumers", integer(len(g.consumers))))
        out.append(_kv(b"pending", integer(len(g.pel_ids))))
        out.append(_kv(b"last-delivered-id", bulk(id_bytes(g.last_id))))
        out.append(_kv(b"entries-read", _entries_read(g, resp)))
        out.append(_kv(b"lag", _lag(s, g, resp)))
    return b"".join(out)


@subcommand(XINFO, "consumers", 4, "readonly", 2, 2, 1, since="5.0.0")
def xinfo_consumers(c, argv):
    s = _stream(c, argv)
    g = s.groups.get(argv[3])
    if g is None:
        raise CommandError(f"No such consumer group '{cstr(argv[3])}' for key name '{cstr(argv[2])}'",
                           "NOGROUP")
    resp = c.resp
    now = mstime()
    out = [array_header(len(g.consumers))]
    for cname, cons in sorted(g.consumers.items()):
        out.append(map_header(3, resp))
        out.append(_kv(b"name", bulk(cname)))
        out.append(_kv(b"pending", integer(len(cons.pel_ids))))
        out.append(_kv(b"idle", integer(max(0, now - cons.seen_time))))
    return b"".join(out)


@subcommand(XINFO, "help", 2, "loading stale", since="5.0.0")
def xinfo_help(c, argv):
    return _help(argv, _XINFO_HELP, c.resp)


__all__ = ["XINFO"]
