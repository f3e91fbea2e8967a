"""A stream value's node listpacks read back: live entries and each node's layout.

A node is ``str node_key[16: ms BE, seq BE]`` and ``str listpack``; the listpack starts
with the master entry ``count deleted nfields f1..fN 0`` and then holds entries
``flags ms_delta seq_delta [nfields f v ...| v ...] lp_count`` (docs/formats.md §4).
Deleted entries (flag 1) stay in the node; they are not data and are dropped from the
entries, but counted in the node's :class:`~rdbtools.model.StreamNodeLayout`, which is
what a server that keeps the file's nodes (as ``rdbLoadObject`` does) needs of them.

:func:`load_nodes` and :func:`live_form` are the C twins (``rdbtools/csrc/streamread.c``)
when built; ``_load_nodes_py`` and ``live_form_py`` define the results and errors.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from .._accel import c_module
from ..constants import STREAM_ITEM_FLAG_DELETED, STREAM_ITEM_FLAG_SAMEFIELDS
from ..encodings import decode_listpack
from ..errors import BadEncoding, RdbCorruptError
from ..model import StreamID, StreamNodeLayout
from ..primitives import load_len, load_string

_id_be = struct.Struct(">QQ").unpack_from
_U64_MAX = (1 << 64) - 1


def _as_int(v: bytes | int) -> int:
    return v if type(v) is int else int(v)


def _as_bytes(v: bytes | int) -> bytes:
    return v if type(v) is bytes else b"%d" % v  # type: ignore[str-format]  # not bytes: an int (isinstance is slower here)


Entry = tuple[StreamID, tuple[tuple[bytes, bytes], ...]]
"""One live stream entry: ``(id, ((field, value), ...))``, as :class:`Stream` holds it."""


def decode_stream_node(master: StreamID, items: Sequence[bytes | int], size: int
                       ) -> tuple[list[Entry], StreamNodeLayout]:
    """Live entries of one node listpack of ``size`` bytes: ``[(id, ((field, value), ...)),
    ...]``, and the node's layout (the checks of streamValidateListpackIntegrity)."""
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
        last = master
        while i < n:
            flags = _as_int(items[i])
            # Deltas are int64 added in uint64 arithmetic (streamDecodeID wraps).
            last = ((mms + _as_int(items[i + 1])) & _U64_MAX, (mseq + _as_int(items[i + 2])) & _U64_MAX)
            i += 3
            if flags & STREAM_ITEM_FLAG_SAMEFIELDS:
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
                texts = [_as_bytes(x) for x in flat]
                fields = tuple(zip(texts[0::2], texts[1::2], strict=True))
                i += 1 + 2 * nf
                expect = 2 * nf + 4
            if _as_int(items[i]) != expect:
                raise BadEncoding("stream entry lp-count does not match its size")
            i += 1
            total += 1
            if not flags & STREAM_ITEM_FLAG_DELETED:
                out.append((last, fields))
        if total != count + deleted or len(out) != count:
            raise BadEncoding("stream node entry counts do not match its master entry")
        return out, StreamNodeLayout(master, mfields, count, deleted, size, last)
    except (IndexError, ValueError, TypeError) as exc:
        raise BadEncoding(f"stream node listpack is malformed ({exc})") from None


def _load_nodes_py(buf: bytes, pos: int, nodes: int, max_len: int, entries: list[Entry],
                   layouts: list[StreamNodeLayout], nmeta: int) -> tuple[list[int], int]:
    """Read ``nodes`` nodes (key, listpack) at ``pos`` into ``entries`` and ``layouts``
    (which may hold the stream's first nodes already), then the ``nmeta`` lengths that
    follow them (the stream's metadata): ``(those lengths, the position after them)``.
    The reference of the C twin (``rdbtools/csrc/streamread.c``), which reads the nodes
    it accepts and leaves the rest, from the first it does not, to this function."""
    last_master: StreamID | None = layouts[-1].master if layouts else None
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
            node_entries, layout = decode_stream_node(master, items, len(blob))
        except BadEncoding as exc:
            exc.offset = lp_start
            raise
        entries.extend(node_entries)
        layouts.append(layout)
    meta = []
    for _ in range(nmeta):
        v, pos = load_len(buf, pos)
        meta.append(v)
    return meta, pos


def _load_nodes_c(buf: bytes, pos: int, nodes: int, max_len: int, entries: list[Entry],
                  layouts: list[StreamNodeLayout], nmeta: int) -> tuple[list[int], int]:
    pos, done, meta = _stream_load_nodes(buf, pos, nodes, max_len, entries, layouts, StreamNodeLayout, nmeta)
    if meta is None:
        return _load_nodes_py(buf, pos, nodes - done, max_len, entries, layouts, nmeta)
    return meta, pos


def live_form_py(entries: Sequence[Entry]) -> tuple[list[int], dict[int, list[bytes]]]:
    """The inverse of :func:`live_entries`: a live stream's ids (``ms << 64 | seq``, in
    the entries' order) and its dict id → flat ``[field, value, ...]``. The reference of
    the C twin ``live_form`` (``rdbtools/csrc/streamread.c``)."""
    ids = []
    flat = {}
    for (ms, seq), fv in entries:
        i = ms << 64 | seq
        ids.append(i)
        flat[i] = [x for pair in fv for x in pair]
    return ids, flat


_stream_load_nodes: Any = None  # the C twins, when built
load_nodes = _load_nodes_py
live_form = live_form_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results
    _stream_load_nodes = _c.stream_load_nodes
    load_nodes = _load_nodes_c
    live_form = _c.live_form

__all__ = ["Entry", "decode_stream_node", "live_form", "live_form_py", "load_nodes"]
