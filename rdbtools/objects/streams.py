"""Streams: type bytes 15, 19, 21 — listpack nodes, metadata, consumer groups (docs/formats.md §4).

Value layout (RDB_TYPE_STREAM_LISTPACKS, _2, _3 — v1, v2, v3)::

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
Deleted entries stay in the node with flag 1; they are not data and are dropped
(``stream_nodes.py`` reads the nodes, keeping each one's layout in ``Stream.nodes``).

``save_stream`` is the mirror: it rebuilds the nodes as ``streamAppendItem``
would when the live entries are XADDed in order (a new node when the node is
full by ``stream-node-max-bytes``/``-entries``, the master entry taking the
node's first entry's fields, SAMEFIELDS when an entry repeats them), and
writes groups, PELs and consumers in rax order (sorted), as ``rdbSaveObject``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._accel import c_module
from ..constants import (
    RDB_TYPE_STREAM_LISTPACKS,
    RDB_TYPE_STREAM_LISTPACKS_2,
    RDB_TYPE_STREAM_LISTPACKS_3,
    STREAM_ITEM_FLAG_SAMEFIELDS,
)
from ..encodings import encode_listpack
from ..encodings.listpack import lp_entry_size, lp_int_entry_size
from ..errors import RdbCorruptError, RdbEncodeError
from ..model import PendingEntry, Stream, StreamConsumer, StreamGroup, StreamID, StreamNodeLayout
from ..policy import EncodingPolicy
from ..primitives import (
    Short,
    load_len,
    load_ms,
    load_string,
    save_len,
    save_ms,
    save_string,
    skip_string,
)
from .stream_nodes import Entry, load_nodes

if TYPE_CHECKING:
    from .table import Load, Save, Skip

_id_be = struct.Struct(">QQ").unpack_from
_pack_id_be = struct.Struct(">QQ").pack
_U64_MAX = (1 << 64) - 1


def _text_id(sid: StreamID) -> str:
    return f"{sid[0]}-{sid[1]}"


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
    entries: list[Entry] = []
    layouts: list[StreamNodeLayout] = []
    # then length, last id [v2+: first id, max deleted id, entries added]
    meta, pos = load_nodes(buf, pos, nodes, max_len, entries, layouts, 3 if version < 2 else 8)
    length = meta[0]
    last_id = (meta[1], meta[2])
    first_id = max_deleted = None
    entries_added = None
    if version >= 2:
        first_id = (meta[3], meta[4])
        max_deleted = (meta[5], meta[6])
        entries_added = meta[7]
    if length != len(entries):
        raise RdbCorruptError(
            f"stream length {length} does not match its {len(entries)} entries", offset=pos
        )
    # The consumer-group rules of rdbLoadObject (7.0, with sanitize-dump-payload yes as
    # redis-check-rdb runs it), each at the offset where Redis finds it; the quoted
    # text is Redis's message.
    ngroups, pos = load_len(buf, pos)
    groups = []
    names: set[bytes] = set()
    for _ in range(ngroups):
        name, pos = load_string(buf, pos, max_len)
        glast, pos = _load_id(buf, pos)
        entries_read = None
        if version >= 2:
            er, pos = load_len(buf, pos)
            entries_read = None if er == _U64_MAX else er
        if name in names:
            raise RdbCorruptError(
                f"stream has two consumer groups named {name!r} ('Duplicated consumer group"
                " name')", offset=pos)
        names.add(name)
        npel, pos = load_len(buf, pos)
        pel: dict[StreamID, list[Any]] = {}  # [delivery time, count, consumer]
        for _ in range(npel):
            eid, pos = _load_raw_id(buf, pos)
            dtime, pos = load_ms(buf, pos)
            dcount, pos = load_len(buf, pos)
            if eid in pel:
                raise RdbCorruptError(
                    f"stream group {name!r} lists PEL entry {_text_id(eid)} twice ('Duplicated"
                    " global PEL entry loading stream consumer group')", offset=pos)
            pel[eid] = [dtime, dcount, None]
        nconsumers, pos = load_len(buf, pos)
        consumers = []
        cnames: set[bytes] = set()
        for _ in range(nconsumers):
            cname, pos = load_string(buf, pos, max_len)
            if cname in cnames:
                raise RdbCorruptError(
                    f"stream group {name!r} has two consumers named {cname!r} ('Duplicate"
                    " stream consumer detected.')", offset=pos)
            cnames.add(cname)
            seen, pos = load_ms(buf, pos)
            active = None
            if version >= 3:
                active, pos = load_ms(buf, pos)
            ncpel, pos = load_len(buf, pos)
            cids = []
            for _ in range(ncpel):
                eid, pos = _load_raw_id(buf, pos)
                slot = pel.get(eid)
                if slot is None:
                    raise RdbCorruptError(
                        f"stream consumer {cname!r} of group {name!r} owns PEL entry"
                        f" {_text_id(eid)} that the group's PEL lacks ('Consumer entry not"
                        " found in group global PEL')", offset=pos)
                if slot[2] is not None:
                    raise RdbCorruptError(
                        f"stream PEL entry {_text_id(eid)} of group {name!r} is owned twice, by"
                        f" {slot[2]!r} and {cname!r} ('Stream consumer PEL entry already has a"
                        " consumer assigned')", offset=pos)
                slot[2] = cname
                cids.append(eid)
            consumers.append(StreamConsumer(cname, seen, active, tuple(cids)))
        for eid, d in pel.items():
            if d[2] is None:
                raise RdbCorruptError(
                    f"stream PEL entry {_text_id(eid)} of group {name!r} has no consumer"
                    " ('Stream CG PEL entry without consumer')", offset=pos)
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
        nodes=tuple(layouts),
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


# ----------------------------------------------------------------------------- encoding


def _delta(a: int, b: int) -> int:
    """``a - b`` as the int64 Redis stores (uint64 subtraction, then a signed view)."""
    d = (a - b) & _U64_MAX
    return d - (1 << 64) if d >= 1 << 63 else d


def _encode_stream_nodes_py(
    entries: Iterable[tuple[StreamID, Sequence[tuple[bytes, bytes]]]],
    policy: EncodingPolicy,
    version: int,
) -> list[tuple[StreamID, bytes]]:
    """Node listpacks for live ``entries`` as XADD in order builds them (streamAppendItem).

    ``policy`` supplies ``stream_node_full`` (the version's new-node rule);
    returns ``[(master_id, listpack), ...]``. The reference of the C twin
    (``rdbtools/csrc/streamlp.c``), which :func:`encode_stream_nodes` calls when built.
    """
    nodes: list[tuple[StreamID, list[bytes | int]]] = []
    items: list[bytes | int] | None = None
    master: StreamID = (0, 0)
    mfields: tuple[bytes, ...] = ()
    body = 0  # bytes of every entry of the node but the leading count
    count = 0
    for sid, fv in entries:
        fields = tuple(f for f, _ in fv)
        if items is not None:
            lp_bytes = 7 + lp_int_entry_size(count) + body
            new_bytes = sum(len(f) + len(v) for f, v in fv)
            if policy.stream_node_full(lp_bytes, count, new_bytes, version):
                items = None
        if items is None:
            master = sid
            mfields = fields
            count = 0
            items = [0, 0, len(fields), *fields, 0]
            body = lp_int_entry_size(0) + lp_int_entry_size(len(fields)) + lp_int_entry_size(0)
            body += sum(lp_entry_size(f) for f in fields)
            nodes.append((master, items))
            same = True
        else:
            same = fields == mfields
        ms = _delta(sid[0], master[0])
        seq = _delta(sid[1], master[1])
        n = len(fv)
        if same:
            flags, lp_count = STREAM_ITEM_FLAG_SAMEFIELDS, n + 3
            entry: list[bytes | int] = [flags, ms, seq, *(v for _, v in fv), lp_count]
            body += sum(lp_entry_size(v) for _, v in fv)
        else:
            flags, lp_count = 0, 2 * n + 4
            entry = [flags, ms, seq, n]
            for f, v in fv:
                entry.append(f)
                entry.append(v)
            entry.append(lp_count)
            body += lp_int_entry_size(n) + sum(lp_entry_size(f) + lp_entry_size(v) for f, v in fv)
        body += lp_int_entry_size(flags) + lp_int_entry_size(ms) + lp_int_entry_size(seq) + lp_int_entry_size(lp_count)
        items.extend(entry)
        count += 1
        items[0] = count
    return [(m, encode_listpack(its)) for m, its in nodes]


def _encode_stream_nodes_c(
    entries: Iterable[tuple[StreamID, Sequence[tuple[bytes, bytes]]]],
    policy: EncodingPolicy,
    version: int,
) -> list[tuple[StreamID, bytes]]:
    if not isinstance(entries, list | tuple):
        entries = list(entries)
    nodes: list[tuple[StreamID, bytes]] = _stream_nodes(
        entries, policy.stream_node_max_bytes, policy.stream_node_max_entries, version)
    return nodes


_stream_nodes: Any = None  # the C twin, when built
encode_stream_nodes = _encode_stream_nodes_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results
    _stream_nodes = _c.stream_nodes
    encode_stream_nodes = _encode_stream_nodes_c


def split_id(i: int) -> StreamID:
    """A stream id kept as one int ``ms << 64 | seq`` (how a live stream keeps them)."""
    return (i >> 64, i & _U64_MAX)


def live_entries(ids: Sequence[int], entries: Mapping[int, Sequence[bytes]]
                 ) -> tuple[tuple[StreamID, tuple[tuple[bytes, bytes], ...]], ...]:
    """:attr:`Stream.entries` of a live stream that keeps its ids as ints (ascending) and
    each entry as a flat ``[field, value, ...]`` list."""
    out = []
    for i in ids:
        fv = entries[i]
        out.append((split_id(i), tuple(zip(fv[0::2], fv[1::2]))))
    return tuple(out)


def _save_id(sid: StreamID) -> bytes:
    return save_len(sid[0]) + save_len(sid[1])


def save_stream(stream: Stream, version: int, policy: EncodingPolicy, compress: bool = True) -> bytes:
    """The value of a stream of ``version`` 1, 2 or 3 (types 15, 19, 21).

    Fields the older layouts lack are left out; fields a v1 source lacks are
    derived as Redis's loader does (first id = first live entry or 0-0, max
    deleted id 0-0, entries added = length); an unknown ``entries_read`` is
    written as u64 max (Redis's SCG_INVALID_ENTRIES_READ) and a missing
    ``active_time`` as the consumer's ``seen_time``.
    """
    out: list[bytes] = []
    append = out.append
    rdb_version = (9, 10, 11)[version - 1]
    nodes = encode_stream_nodes(stream.entries, policy, rdb_version)
    append(save_len(len(nodes)))
    for master, lp in nodes:
        append(save_string(_pack_id_be(*master), compress))
        append(save_string(lp, compress))
    entries = stream.entries
    append(save_len(len(entries)))
    append(_save_id(stream.last_id))
    if version >= 2:
        first = stream.first_id
        if first is None:
            first = entries[0][0] if entries else (0, 0)
        append(_save_id(first))
        append(_save_id(stream.max_deleted_id or (0, 0)))
        added = stream.entries_added
        append(save_len(len(entries) if added is None else added))
    groups = sorted(stream.groups, key=lambda g: g.name)
    append(save_len(len(groups)))
    for g in groups:
        append(save_string(g.name, compress))
        append(_save_id(g.last_id))
        if version >= 2:
            append(save_len(_U64_MAX if g.entries_read is None else g.entries_read))
        pel = sorted(g.pending, key=lambda p: p.id)
        append(save_len(len(pel)))
        for p in pel:
            append(_pack_id_be(*p.id))
            append(save_ms(p.delivery_time))
            append(save_len(p.delivery_count))
        consumers = sorted(g.consumers, key=lambda c: c.name)
        append(save_len(len(consumers)))
        for c in consumers:
            append(save_string(c.name, compress))
            append(save_ms(c.seen_time))
            if version >= 3:
                append(save_ms(c.seen_time if c.active_time is None else c.active_time))
            ids = sorted(c.pending)
            append(save_len(len(ids)))
            append(b"".join(_pack_id_be(*i) for i in ids))
    return b"".join(out)


# ----------------------------------------------------------------------------- the table's rows


def _layout(version: int) -> tuple[Load, Skip, Save]:
    """The row functions of one layout (1, 2, 3): the table's load/skip/save shapes."""

    def load(buf: bytes, pos: int, max_len: int) -> tuple[Stream, None, int]:
        value, pos = load_stream(version, buf, pos, max_len)
        return value, None, pos

    def skip(buf: bytes, pos: int, max_len: int) -> int:
        return skip_stream(version, buf, pos, max_len)

    def save(value: Stream, fexp: Mapping[bytes, int] | None, rdb_version: int,
             policy: EncodingPolicy, compress: bool) -> bytes:
        return save_stream(value, version, policy, compress)

    return load, skip, save


load_stream_listpacks, skip_stream_listpacks, save_stream_listpacks = _layout(1)
load_stream_listpacks_2, skip_stream_listpacks_2, save_stream_listpacks_2 = _layout(2)
load_stream_listpacks_3, skip_stream_listpacks_3, save_stream_listpacks_3 = _layout(3)


def stream_type(value: object, fexp: Mapping[bytes, int] | None, version: int,
                policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a stream as (rdbSaveObjectType)."""
    if not isinstance(value, Stream):
        raise RdbEncodeError("a stream value must be a Stream")
    if version < 9:
        raise RdbEncodeError(f"streams need RDB 9 (Redis 5.0); the target is RDB {version}")
    if version >= 11:
        return RDB_TYPE_STREAM_LISTPACKS_3
    return RDB_TYPE_STREAM_LISTPACKS_2 if version == 10 else RDB_TYPE_STREAM_LISTPACKS


__all__ = [
    "encode_stream_nodes",
    "live_entries",
    "split_id",
    "load_stream",
    "load_stream_listpacks",
    "load_stream_listpacks_2",
    "load_stream_listpacks_3",
    "save_stream",
    "save_stream_listpacks",
    "save_stream_listpacks_2",
    "save_stream_listpacks_3",
    "skip_stream",
    "skip_stream_listpacks",
    "skip_stream_listpacks_2",
    "skip_stream_listpacks_3",
    "stream_type",
]
