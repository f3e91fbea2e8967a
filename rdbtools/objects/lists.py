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


def skip_list_quicklist_2(buf: bytes, pos: int, max_len: int) -> int:
    n, pos = load_len(buf, pos)
    for _ in range(n):
        _, pos = load_len(buf, pos)
        pos = skip_string(buf, pos, max_len)
    return pos


def save_list_quicklist_2(items: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
                          compress: bool) -> bytes:
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
    "list_type",
    "load_list",
    "load_list_quicklist",
    "load_list_quicklist_2",
    "load_list_ziplist",
    "save_list",
    "save_list_quicklist",
    "save_list_quicklist_2",
    "save_list_ziplist",
    "skip_list_quicklist_2",
]
