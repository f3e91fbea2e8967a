"""A list as Redis 7.0 keeps it: a quicklist whose nodes are listpacks.

A server holds a list as ``nodes``, a Python list of quicklist nodes in order
(docs/formats.md §10.3), each one of:

* a ``bytearray``: a listpack node (QUICKLIST_NODE_CONTAINER_PACKED) holding exactly
  the bytes Redis's node would hold;
* ``bytes``: a plain node (QUICKLIST_NODE_CONTAINER_PLAIN), one element of
  ``packed_threshold`` bytes or more, as it is;
* a tuple ``(lzf, sz, count)``: a listpack node compressed as
  ``__quicklistCompressNode`` does (``list-compress-depth``), its LZF bytes, its
  listpack's size and its entry count.

The node-level functions (``lpl_*``) change one listpack node in place the way
``listpack.c`` does (the entries encoded by :mod:`rdbtools.encodings.listpack`, the
one codec for files and memory; the header's total and count kept as ``lpInsert`` /
``lpDeleteRange`` keep them). The quicklist-level ones (``ql_*``) are the hot list
operations over ``nodes``: push and pop at either end (``quicklistPush``, with
``_quicklistNodeAllowInsert``'s fill rule), read by index and by range.

These are the pure-Python references; ``rdbtools._speedups`` has C twins with the same
results and bytes (rdbtools/csrc/quicklist.c; tests/rdbtools/test_quicklist_ops.py
holds the two together).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rdbtools._accel import c_module
from rdbtools.errors import BadEncoding
from rdbtools.lzf import compress as lzf_compress
from rdbtools.lzf import decompress as lzf_decompress

from .listpack import LP_EOF, LP_HDR_SIZE, decode_listpack_strings, encode_listpack
from .listpack_ops import _encode, _entry, _set_header, _validate_with

# quicklist.c: optimization_level[] for fill -1..-5, SIZE_SAFETY_LIMIT,
# SIZE_ESTIMATE_OVERHEAD, MIN_COMPRESS_BYTES, MIN_COMPRESS_IMPROVE, packed_threshold
NODE_LEVELS = (4096, 8192, 16384, 32768, 65536)
SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
MIN_COMPRESS_BYTES = 48
MIN_COMPRESS_IMPROVE = 8
PACKED_THRESHOLD = 1 << 30
FILL_MAX = (1 << 15) - 1
COMPRESS_MAX = (1 << 16) - 1


# ----------------------------------------------------------------------------- one node


def _last(lp: bytearray | bytes) -> int:
    """Offset of the last entry (lpLast): its backlen read right to left."""
    p = len(lp) - 2
    size = 0
    shift = 0
    while True:
        b = lp[p]
        size |= (b & 127) << shift
        if not b & 128:
            break
        p -= 1
        shift += 7
    start = p - size
    if start < LP_HDR_SIZE:
        raise BadEncoding(f"listpack backlen at offset {p} points before the header", offset=p)
    return start


def _seek(lp: bytearray | bytes, i: int) -> int:
    """Offset of entry ``i`` (0-based; the end marker's offset when ``i`` is the count)."""
    pos = LP_HDR_SIZE
    for _ in range(i):
        if lp[pos] == LP_EOF:
            raise BadEncoding(f"listpack has no entry {i}", offset=pos)
        pos = _entry(lp, pos)[1]
    return pos


def lpl_count(lp: bytearray | bytes) -> int:
    """lpLength of a node (the header's count; a walk when it says "unknown")."""
    count = lp[4] | lp[5] << 8
    return count if count != 0xFFFF else len(decode_listpack_strings(lp))


def lpl_push_py(lp: bytearray, item: bytes, head: bool) -> None:
    """lpPrepend / lpAppend."""
    pos = LP_HDR_SIZE if head else len(lp) - 1
    lp[pos:pos] = _encode(item)
    _set_header(lp, 1)


def lpl_pop_py(lp: bytearray, head: bool) -> bytes:
    """The first or last entry, deleted (lpDelete)."""
    pos = LP_HDR_SIZE if head else _last(lp)
    text, nxt = _entry(lp, pos)
    del lp[pos:nxt]
    _set_header(lp, -1)
    return text


def lpl_get_py(lp: bytearray | bytes, i: int) -> bytes:
    """Entry ``i`` as text (lpSeek + lpGet)."""
    return _entry(lp, _seek(lp, i))[0]


def lpl_replace_py(lp: bytearray, i: int, item: bytes) -> None:
    """lpReplace of entry ``i``."""
    pos = _seek(lp, i)
    lp[pos : _entry(lp, pos)[1]] = _encode(item)
    _set_header(lp, 0)


def lpl_insert_py(lp: bytearray, i: int, item: bytes) -> None:
    """lpInsertString before entry ``i`` (after the last one when ``i`` is the count)."""
    pos = _seek(lp, i)
    lp[pos:pos] = _encode(item)
    _set_header(lp, 1)


def lpl_delete_py(lp: bytearray, start: int, n: int) -> None:
    """lpDeleteRange: ``n`` entries from entry ``start``."""
    pos = _seek(lp, start)
    end = pos
    for _ in range(n):
        end = _entry(lp, end)[1]
    del lp[pos:end]
    _set_header(lp, -n)


def lpl_validate_py(blob: bytes | bytearray | memoryview) -> int:
    """lpValidateIntegrity with deep checks; the entry count (BadEncoding otherwise)."""
    return len(decode_listpack_strings(blob))


# ----------------------------------------------------------------------------- nodes


def node_count(node: Any) -> int:
    if node.__class__ is bytearray:
        return lpl_count(node)
    if node.__class__ is bytes:
        return 1
    return int(node[2])


def node_size(node: Any) -> int:
    """node->sz: the listpack's (or plain element's) bytes, compressed or not."""
    return len(node) if node.__class__ is not tuple else node[1]


def node_items(node: Any) -> list[bytes]:
    if node.__class__ is bytearray:
        return decode_listpack_strings(node)
    if node.__class__ is bytes:
        return [node]
    return decode_listpack_strings(lzf_decompress(node[0], node[1]))


def compress_node(lp: bytearray) -> tuple[bytes, int, int] | None:
    """__quicklistCompressNode: the node's compressed form, or None when it is smaller
    than MIN_COMPRESS_BYTES or LZF does not save MIN_COMPRESS_IMPROVE bytes."""
    sz = len(lp)
    if sz < MIN_COMPRESS_BYTES:
        return None
    c = lzf_compress(bytes(lp))
    if c is None or len(c) + MIN_COMPRESS_IMPROVE >= sz:
        return None
    return (c, sz, lpl_count(lp))


def decompress_node(node: tuple[bytes, int, int]) -> bytearray:
    """__quicklistDecompressNode."""
    return bytearray(lzf_decompress(node[0], node[1]))


def allow_insert(node: object, fill: int, sz: int) -> bool:
    """_quicklistNodeAllowInsert for a listpack node, compressed or not (None: no node;
    a plain node never takes another element)."""
    if node is None or node.__class__ is bytes or sz >= PACKED_THRESHOLD:
        return False
    new_sz = node_size(node) + sz + SIZE_ESTIMATE_OVERHEAD
    if fill < 0:
        if -fill <= len(NODE_LEVELS) and new_sz <= NODE_LEVELS[-fill - 1]:
            return True
        if -fill <= len(NODE_LEVELS):
            return False  # a size limit that is not met
    if new_sz > SIZE_SAFETY_LIMIT:
        return False
    return node_count(node) < fill


def allow_merge(a: object, b: object, fill: int) -> bool:
    """_quicklistNodeAllowMerge (either may be None; plain nodes never merge)."""
    if a is None or b is None or a.__class__ is bytes or b.__class__ is bytes:
        return False
    merge_sz = node_size(a) + node_size(b) - 11
    if fill < 0 and -fill <= len(NODE_LEVELS):
        if merge_sz <= NODE_LEVELS[-fill - 1]:
            return True
        return False
    if merge_sz > SIZE_SAFETY_LIMIT:
        return False
    return node_count(a) + node_count(b) <= fill


def new_node(item: bytes) -> bytearray | bytes:
    """A node holding one element: a listpack, or a plain node for a large element."""
    if len(item) >= PACKED_THRESHOLD:
        return bytes(item)
    return bytearray(encode_listpack([item]))


# ----------------------------------------------------------------------------- the hot ops


def ql_push_py(nodes: list[Any], items: Sequence[bytes], head: bool, fill: int) -> int:
    """quicklistPush of each item at the head or the tail: into the end node when
    _quicklistNodeAllowInsert lets it, else into a new node. Returns the nodes made."""
    made = 0
    for item in items:
        end = (nodes[0] if head else nodes[-1]) if nodes else None
        if end.__class__ is bytearray and allow_insert(end, fill, len(item)):
            lpl_push_py(end, item, head)
        else:
            if head:
                nodes.insert(0, new_node(item))
            else:
                nodes.append(new_node(item))
            made += 1
    return made


def ql_pop_py(nodes: list[Any], head: bool) -> bytes | None:
    """quicklistPop of the head or tail element, its node dropped once empty; None when
    the end node is compressed (the caller decompresses it first)."""
    i = 0 if head else -1
    node = nodes[i]
    if node.__class__ is bytes:
        del nodes[i]
        return node
    if node.__class__ is not bytearray:
        return None
    v = lpl_pop_py(node, head)
    if node[LP_HDR_SIZE] == LP_EOF:
        del nodes[i]
    return v


def ql_locate_py(nodes: list[Any], index: int) -> tuple[int, int]:
    """(node number, offset in it) of element ``index`` (0 <= index < count)."""
    for n, node in enumerate(nodes):
        c = node_count(node)
        if index < c:
            return n, index
        index -= c
    raise IndexError("quicklist index out of range")


def ql_get_py(nodes: list[Any], index: int) -> bytes:
    """Element ``index`` (0 <= index < count)."""
    n, off = ql_locate_py(nodes, index)
    node = nodes[n]
    if node.__class__ is bytearray:
        return lpl_get_py(node, off)
    return node_items(node)[off]


def ql_range_py(nodes: list[Any], start: int, stop: int) -> list[bytes]:
    """Elements ``start`` to ``stop`` - 1 (0 <= start <= stop <= count), in order."""
    out: list[bytes] = []
    pos = 0
    for node in nodes:
        if pos >= stop:
            break
        c = node_count(node)
        if pos + c > start:
            items = node_items(node)
            out.extend(items[max(0, start - pos) : stop - pos])
        pos += c
    return out


ql_push = ql_push_py
ql_pop = ql_pop_py
ql_get = ql_get_py
ql_range = ql_range_py
ql_locate = ql_locate_py
lpl_push, lpl_pop, lpl_get = lpl_push_py, lpl_pop_py, lpl_get_py
lpl_replace, lpl_insert, lpl_delete = lpl_replace_py, lpl_insert_py, lpl_delete_py
lpl_validate = lpl_validate_py


if (_c := c_module("rdbtools._speedups")) is not None:  # same results and bytes
    ql_push, ql_pop, ql_get, ql_range = _c.ql_push, _c.ql_pop, _c.ql_get, _c.ql_range
    ql_locate = _c.ql_locate
    lpl_push, lpl_pop, lpl_get = _c.lpl_push, _c.lpl_pop, _c.lpl_get
    lpl_replace, lpl_insert, lpl_delete = _c.lpl_replace, _c.lpl_insert, _c.lpl_delete
    lpl_validate = _validate_with(_c.lpl_check, lpl_validate_py)  # type: ignore[assignment]

__all__ = [
    "COMPRESS_MAX",
    "FILL_MAX",
    "PACKED_THRESHOLD",
    "allow_insert",
    "allow_merge",
    "compress_node",
    "decompress_node",
    "lpl_count",
    "lpl_delete",
    "lpl_get",
    "lpl_insert",
    "lpl_pop",
    "lpl_push",
    "lpl_replace",
    "lpl_validate",
    "new_node",
    "node_count",
    "node_items",
    "node_size",
    "ql_get",
    "ql_locate",
    "ql_pop",
    "ql_push",
    "ql_range",
]
