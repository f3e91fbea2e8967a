"""Streams in RDB: listpack nodes, metadata, consumer groups (formats.md §4).

Value layout (types 15, 19, 21 — v1, v2, v3)::

    len nodes; nodes × (str node_key[16: ms BE, seq BE], str listpack)
    len length; len last.ms; len last.seq
    [v2+] len first.ms, len first.seq, len max_deleted.ms, len max_deleted.seq, len entries_added
    len ngroups; per group:
        str name; len last.ms; len last.seq; [v2+] len entries_read
        len pel; pel × (16 raw bytes id, ms8 delivery_time, len delivery_count)
        len nconsumers; per consumer:
            str name; ms8 seen_time; [v3] ms8 active_time
            len pel; pel × 16 raw bytes id

Each node listpack starts with the master entry ``count deleted nfields f1..fN 0``
and then entries ``flags ms_delta seq_delta [nfields f v ...| v ...] lp_count``.
Deleted entries stay in the node with flag 1; they are not data and are dropped.
"""

from __future__ import annotations

import struct

from ..errors import BadEncoding, RdbCorruptError
from ..model import PendingEntry, Stream, StreamConsumer, StreamGroup, StreamID
from ..primitives import Short, load_len, load_ms, load_string, skip_string
from .listpack import decode_listpack

_id_be = struct.Struct(">QQ").unpack_from
_STREAM_FLAG_DELETED = 1
_STREAM_FLAG_SAMEFIELDS = 2
_U64_MAX = (1 << 64) - 1


def _as_int(v: bytes | int) -> int:
    return v if type(v) is int else int(v)


def _as_bytes(v: bytes | int) -> bytes:
    return v if type(v) is bytes else b"%d" % v


def decode_stream_node(master: StreamID, items: list[bytes | int]) -> list:
    """Live entries of one node listpack: ``[(id, ((field, value), ...)), ...]``."""
    try:
        count = _as_int(items[0])
        deleted = _as_int(items[1])
        nmaster = _as_int(items[2])
        mfields = tuple(_as_bytes(f) for f in items[3 : 3 + nmaster])
        if len(mfields) != nmaster or _as_int(items[3 + nmaster]) != 0:
            raise BadEncoding("stream master entry is malformed")
        i = 4 + nmaster
        n = len(items)
        out = []
        total = 0
        mms, mseq = master
        while i < n:
            flags = _as_int(items[i])
            ms = mms + _as_int(items[i + 1])
            seq = mseq + _as_int(items[i + 2])
            i += 3
            if flags & _STREAM_FLAG_SAMEFIELDS:
                vals = items[i : i + nmaster]
                if len(vals) != nmaster:
                    raise BadEncoding("stream entry shorter than its master fields")
                fields = tuple(zip(mfields, map(_as_bytes, vals), strict=True))
                i += nmaster
                expect = nmaster + 3
            else:
                nf = _as_int(items[i])
                flat = items[i + 1 : i + 1 + 2 * nf]
                if nf < 0 or len(flat) != 2 * nf:
                    raise BadEncoding("stream entry field count past the node end")
                flat = [_as_bytes(x) for x in flat]
                fields = tuple(zip(flat[0::2], flat[1::2], strict=True))
                i += 1 + 2 * nf
                expect = 2 * nf + 4
            if _as_int(items[i]) != expect:
                raise BadEncoding("stream entry lp-count does not match its size")
            i += 1
            total += 1
            if not flags & _STREAM_FLAG_DELETED:
                if ms < 0 or seq < 0 or ms > _U64_MAX or seq > _U64_MAX:
                    raise BadEncoding("stream entry id out of range")
                out.append(((ms, seq), fields))
        if total != count + deleted or len(out) != count:
            raise BadEncoding("stream node entry counts do not match its master entry")
        return out
    except (IndexError, ValueError, TypeError) as exc:
        raise BadEncoding(f"stream node listpack is malformed ({exc})") from None


def _load_id(buf: bytes, pos: int) -> tuple[StreamID, int]:
    ms, pos = load_len(buf, pos)
    seq, pos = load_len(buf, pos)
    return (ms, seq), pos


def _load_raw_id(buf: bytes, pos: int) -> tuple[StreamID, int]:
    if pos + 16 > len(buf):
        raise Short(pos + 16)
    return _id_be(buf, pos), pos + 16


def load_stream(version: int, buf: bytes, pos: int, max_len: int) -> tuple[Stream, int]:
    """Decode a stream value; ``version`` is 1, 2 or 3 (types 15, 19, 21)."""
    nodes, pos = load_len(buf, pos)
    entries: list = []
    last_master: StreamID | None = None
    for _ in range(nodes):
        start = pos
        node_key, pos = load_string(buf, pos, max_len)
        if len(node_key) != 16:
            raise RdbCorruptError("stream node key is not 16 bytes", offset=start)
        lp_start = pos
        blob, pos = load_string(buf, pos, max_len)
        master = _id_be(node_key, 0)
        if last_master is not None and master <= last_master:
            raise RdbCorruptError("stream node keys are not increasing", offset=start)
        last_master = master
        try:
            items = decode_listpack(blob)
            if not items:
                raise BadEncoding("empty stream node listpack")
            entries.extend(decode_stream_node(master, items))
        except BadEncoding as exc:
            exc.offset = lp_start
            raise
    length, pos = load_len(buf, pos)
    last_id, pos = _load_id(buf, pos)
    first_id = max_deleted = None
    entries_added = None
    if version >= 2:
        first_id, pos = _load_id(buf, pos)
        max_deleted, pos = _load_id(buf, pos)
        entries_added, pos = load_len(buf, pos)
    if length != len(entries):
        raise RdbCorruptError(
            f"stream length {length} does not match its {len(entries)} entries", offset=pos
        )
    ngroups, pos = load_len(buf, pos)
    groups = []
    for _ in range(ngroups):
        name, pos = load_string(buf, pos, max_len)
        glast, pos = _load_id(buf, pos)
        entries_read = None
        if version >= 2:
            er, pos = load_len(buf, pos)
            entries_read = None if er == _U64_MAX else er
        npel, pos = load_len(buf, pos)
        pel: dict[StreamID, list] = {}
        for _ in range(npel):
            eid, pos = _load_raw_id(buf, pos)
            dtime, pos = load_ms(buf, pos)
            dcount, pos = load_len(buf, pos)
            if eid in pel:
                raise RdbCorruptError("duplicate id in a stream group PEL", offset=pos)
            pel[eid] = [dtime, dcount, None]
        nconsumers, pos = load_len(buf, pos)
        consumers = []
        for _ in range(nconsumers):
            cname, pos = load_string(buf, pos, max_len)
            seen, pos = load_ms(buf, pos)
            active = None
            if version >= 3:
                active, pos = load_ms(buf, pos)
            ncpel, pos = load_len(buf, pos)
            cids = []
            for _ in range(ncpel):
                eid, pos = _load_raw_id(buf, pos)
                slot = pel.get(eid)
                if slot is None or slot[2] is not None:
                    raise RdbCorruptError(
                        "consumer PEL entry missing from the group PEL", offset=pos
                    )
                slot[2] = cname
                cids.append(eid)
            consumers.append(StreamConsumer(cname, seen, active, tuple(cids)))
        pending = tuple(PendingEntry(eid, d[0], d[1], d[2]) for eid, d in pel.items())
        groups.append(StreamGroup(name, glast, entries_read, pending, tuple(consumers)))
    value = Stream(
        entries=tuple(entries),
        length=length,
        last_id=last_id,
        first_id=first_id,
        max_deleted_id=max_deleted,
        entries_added=entries_added,
        groups=tuple(groups),
    )
    return value, pos


def skip_stream(version: int, buf: bytes, pos: int, max_len: int) -> int:
    """Position after a stream value, without decoding its listpacks."""
    nodes, pos = load_len(buf, pos)
    for _ in range(nodes):
        pos = skip_string(buf, pos, max_len)
        pos = skip_string(buf, pos, max_len)
    _, pos = load_len(buf, pos)
    _, pos = _load_id(buf, pos)
    if version >= 2:
        _, pos = _load_id(buf, pos)
        _, pos = _load_id(buf, pos)
        _, pos = load_len(buf, pos)
    ngroups, pos = load_len(buf, pos)
    for _ in range(ngroups):
        pos = skip_string(buf, pos, max_len)
        _, pos = _load_id(buf, pos)
        if version >= 2:
            _, pos = load_len(buf, pos)
        npel, pos = load_len(buf, pos)
        for _ in range(npel):
            pos += 24
            _, pos = load_len(buf, pos)
        nconsumers, pos = load_len(buf, pos)
        for _ in range(nconsumers):
            pos = skip_string(buf, pos, max_len)
            pos += 16 if version >= 3 else 8
            ncpel, pos = load_len(buf, pos)
            pos += 16 * ncpel
    if pos > len(buf):
        raise Short(pos)
    return pos


__all__ = ["decode_stream_node", "load_stream", "skip_stream"]
