"""Sets: type bytes 2, 11, 20 (docs/formats.md §1.6, §3.3).

Wire forms::

    RDB_TYPE_SET           len n, n × str     (hash table)
    RDB_TYPE_SET_INTSET    str intset          (integers only)
    RDB_TYPE_SET_LISTPACK  str listpack, one member per entry   (7.2+)

Members load as bytes (intset integers as their decimal text). A repeated
member, or an empty listpack, is refused as Redis's loader refuses it;
:func:`set_type` picks the form by the target's thresholds
(:meth:`EncodingPolicy.set_encoding`).
"""

from __future__ import annotations

from typing import Any

from ..constants import RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK
from ..encodings import (
    decode_intset_strings,
    decode_listpack_strings,
    encode_intset,
    encode_listpack,
)
from ..errors import RdbCorruptError, RdbEncodeError
from ..policy import EncodingPolicy
from ..primitives import check_unique, load_blob, load_strings, save_string, save_strings


def load_set(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    items, pos = load_strings(buf, pos, max_len)
    check_unique(items, "set member")
    return items, None, pos


def save_set(members: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
             compress: bool) -> bytes:
    return save_strings(members, compress)


def load_set_intset(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    items, pos = load_blob(decode_intset_strings, buf, pos, max_len)
    return items, None, pos


def save_set_intset(members: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
                    compress: bool) -> bytes:
    return save_string(encode_intset(int(m) for m in members), compress)


def load_set_listpack(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], None, int]:
    start = pos
    items, pos = load_blob(decode_listpack_strings, buf, pos, max_len)
    check_unique(items, "set member")
    if not items:
        raise RdbCorruptError("empty set listpack", offset=start)
    return items, None, pos


def save_set_listpack(members: list[bytes], fexp: Any, version: int, policy: EncodingPolicy,
                      compress: bool) -> bytes:
    return save_string(encode_listpack(members), compress)


def set_type(members: list[bytes], fexp: Any, version: int, policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a set as (rdbSaveObjectType)."""
    if len(set(members)) != len(members):
        raise RdbEncodeError("duplicate set member")
    enc = policy.set_encoding(members, version)
    if enc == "intset":
        return RDB_TYPE_SET_INTSET
    if enc == "listpack":
        return RDB_TYPE_SET_LISTPACK
    return RDB_TYPE_SET


__all__ = [
    "load_set",
    "load_set_intset",
    "load_set_listpack",
    "save_set",
    "save_set_intset",
    "save_set_listpack",
    "set_type",
]
