"""Lists: type bytes 1, 10, 14, 18 (docs/formats.md §1.6, §3.2, §3.5).

Wire forms, oldest first::

    RDB_TYPE_LIST              len n, n × str                        (linked list; written ≤ 3.0)
    RDB_TYPE_LIST_ZIPLIST      str ziplist                            (≤ 3.0)
    RDB_TYPE_LIST_QUICKLIST    len nodes, nodes × str ziplist         (3.2 – 6.2)
    RDB_TYPE_LIST_QUICKLIST_2  len nodes, nodes × (len container, str data)   (7.0+)
                               container QUICKLIST_NODE_CONTAINER_PACKED: data is a listpack;
                               QUICKLIST_NODE_CONTAINER_PLAIN: data is one element

Every form loads to the elements in order; :func:`list_type` picks the form the
target version's Redis writes (rdbSaveObjectType), the nodes cut as
``quicklistPush`` cuts them (:meth:`EncodingPolicy.list_nodes`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..constants import (
    QUICKLIST_NODE_CONTAINER_PACKED,
    QUICKLIST_NODE_CONTAINER_PLAIN,
    RDB_TYPE_LIST,
    RDB_TYPE_LIST_QUICKLIST,
    RDB_TYPE_LIST_QUICKLIST_2,
    RDB_TYPE_LIST_ZIPLIST,
)
from ..encodings import (
    decode_listpack_strings,
    decode_ziplist_strings,
    encode_listpack,
    encode_ziplist,
)
from ..encodings.quicklist_ops import lpl_validate, node_items
from ..errors import RdbCorruptError
from ..policy import EncodingPolicy
from ..primitives import (
    decode_blob,
    load_blob,
    load_len,
    load_string,
    load_strings,
    save_len,
    save_string,
    save_strings,
    skip_string,
)

_PACKED = bytes((QUICKLIST_NODE_CONTAINER_PACKED,))
_PLAIN = bytes((QUICKLIST_NODE_CONTAINER_PLAIN,))


def load_list(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    items, pos = load_strings(buf, pos, max_len)
    return items, None, pos


def save_list(items: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
              compress: bool) -> bytes:
    return save_strings(items, compress)


def load_list_ziplist(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    items, pos = load_blob(decode_ziplist_strings, buf, pos, max_len)
    return items, None, pos


def save_list_ziplist(items: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
                      compress: bool) -> bytes:
    return save_string(encode_ziplist(items), compress)


def load_list_quicklist(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    n, pos = load_len(buf, pos)
    out: list[bytes] = []
    for _ in range(n):
        items, pos = load_blob(decode_ziplist_strings, buf, pos, max_len)
        out.extend(items)
    return out, None, pos


def save_list_quicklist(items: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
                        compress: bool) -> bytes:
    nodes = policy.list_nodes(items, version)
    out = [save_len(len(nodes))]
    for _, elems in nodes:
        out.append(save_string(encode_ziplist(elems), compress))
    return b"".join(out)


def load_list_quicklist_2(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    n, pos = load_len(buf, pos)
    out: list[bytes] = []
    for _ in range(n):
        container, pos = load_len(buf, pos)
        start = pos
        data, pos = load_string(buf, pos, max_len)
        if container == QUICKLIST_NODE_CONTAINER_PACKED:
            items = decode_blob(decode_listpack_strings, data, start, buf, pos)
            if not items:
                continue  # empty nodes are skipped, as Redis does
            out.extend(items)
        elif container == QUICKLIST_NODE_CONTAINER_PLAIN:
            out.append(data)
        else:
            raise RdbCorruptError(f"quicklist node container {container} is invalid", offset=start)
    return out, None, pos


class QuicklistNodes:
    """A 7.0 list kept as its quicklist nodes, for a server that holds lists as Redis
    does: a load that asks for it (``packed_listpacks``) gets the nodes' bytes, not one
    object per element, and a save writes the nodes back as they are (rdbSaveObject).
    Everywhere else it is a list value like any other: it iterates as the elements.

    ``nodes`` are as :mod:`rdbtools.encodings.quicklist_ops` describes them (a validated
    listpack ``bytearray`` the receiver may keep, ``bytes`` for a plain node, a tuple
    ``(lzf, sz, count)`` for a node held compressed); ``count`` is the element count.
    """

    __slots__ = ("nodes", "count")

    def __init__(self, nodes: list[Any], count: int) -> None:
        self.nodes = nodes
        self.count = count

    def items(self) -> list[bytes]:
        return [x for node in self.nodes for x in node_items(node)]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.items())

    def __getitem__(self, i: int) -> bytes:
        return self.items()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, QuicklistNodes):
            return self.items() == other.items()
        return isinstance(other, list) and self.items() == other

    __hash__ = None  # type: ignore[assignment]  # mutable content, as the list it stands for

    def __repr__(self) -> str:
        return f"QuicklistNodes({self.items()!r})"


def load_list_quicklist_2_packed(buf: bytes, pos: int, max_len: int) -> tuple[QuicklistNodes, None, int]:
    """load_list_quicklist_2 for ``packed_listpacks``: the same checks (a listpack node
    validated deeply, empty ones skipped as Redis does), the nodes' bytes kept."""
    n, pos = load_len(buf, pos)
    nodes: list[Any] = []
    count = 0
    for _ in range(n):
        container, pos = load_len(buf, pos)
        start = pos
        data, pos = load_string(buf, pos, max_len)
        if container == QUICKLIST_NODE_CONTAINER_PACKED:
            lp = bytearray(data)
            k = decode_blob(lpl_validate, lp, start, buf, pos)
            if k:
                nodes.append(lp)
                count += k
        elif container == QUICKLIST_NODE_CONTAINER_PLAIN:
            nodes.append(bytes(data))
            count += 1
        else:
            raise RdbCorruptError(f"quicklist node container {container} is invalid", offset=start)
    return QuicklistNodes(nodes, count), None, pos


def load_list_quicklist_packed(buf: bytes, pos: int, max_len: int) -> tuple[QuicklistNodes, None, int]:
    """load_list_quicklist for ``packed_listpacks``: each ziplist node converted once to
    a listpack node of the same elements (rdbLoadObject, _ziplistEntryConvertAndValidate),
    empty ones skipped."""
    n, pos = load_len(buf, pos)
    nodes: list[Any] = []
    count = 0
    for _ in range(n):
        items, pos = load_blob(decode_ziplist_strings, buf, pos, max_len)
        if items:
            nodes.append(bytearray(encode_listpack(items)))
            count += len(items)
    return QuicklistNodes(nodes, count), None, pos


def _save_node(node: Any, compress: bool) -> bytes:
    if node.__class__ is bytes:
        return _PLAIN + save_string(node, compress)
    if node.__class__ is tuple:  # held compressed: its LZF block (rdbSaveLzfBlob)
        lzf, sz = node[0], node[1]
        return _PACKED + b"\xc3" + save_len(len(lzf)) + save_len(sz) + bytes(lzf)
    return _PACKED + save_string(bytes(node), compress)


def skip_list_quicklist_2(buf: bytes, pos: int, max_len: int) -> int:
    n, pos = load_len(buf, pos)
    for _ in range(n):
        _, pos = load_len(buf, pos)
        pos = skip_string(buf, pos, max_len)
    return pos


def save_quicklist_nodes(nodes: list[Any], compress: bool) -> bytes:
    """A quicklist-2 value from nodes kept as Redis keeps them, written back node by node
    as rdbSaveObject does (a plain node as bytes, a listpack as a bytearray, a node held
    compressed as ``(lzf, size)``); also what rdbtools/snapshot.py writes a live list with."""
    return save_len(len(nodes)) + b"".join([_save_node(nd, compress) for nd in nodes])


def save_list_quicklist_2(items: list[bytes] | QuicklistNodes, fexp: Any, version: int,
                          policy: EncodingPolicy, compress: bool) -> bytes:
    if isinstance(items, QuicklistNodes):
        return save_quicklist_nodes(items.nodes, compress)
    nodes = policy.list_nodes(items, version)
    out = [save_len(len(nodes))]
    for plain, elems in nodes:
        if plain:
            out.append(_PLAIN + save_string(elems[0], compress))
        else:
            out.append(_PACKED + save_string(encode_listpack(elems), compress))
    return b"".join(out)


def list_type(items: list[bytes], fexp: Any, version: int, policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a list as (rdbSaveObjectType)."""
    if version >= 10:
        return RDB_TYPE_LIST_QUICKLIST_2
    if version >= 7:
        return RDB_TYPE_LIST_QUICKLIST
    if policy.list_encoding(items, version) == "ziplist":
        return RDB_TYPE_LIST_ZIPLIST
    return RDB_TYPE_LIST


__all__ = [
    "QuicklistNodes",
    "load_list_quicklist_2_packed",
    "load_list_quicklist_packed",
    "list_type",
    "load_list",
    "load_list_quicklist",
    "load_list_quicklist_2",
    "load_list_ziplist",
    "save_list",
    "save_list_quicklist",
    "save_list_quicklist_2",
    "save_quicklist_nodes",
    "save_list_ziplist",
    "skip_list_quicklist_2",
]
