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

from collections.abc import Iterator
from typing import Any

from ..constants import RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK
from ..encodings import (
    decode_intset_strings,
    decode_listpack_strings,
    encode_intset,
    encode_listpack,
)
from ..encodings.intset_ops import is_validate
from ..errors import RdbCorruptError, RdbEncodeError
from ..policy import EncodingPolicy
from ..primitives import (
    check_unique,
    decode_blob,
    load_blob,
    load_string,
    load_strings,
    save_string,
    save_strings,
)


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


def save_set_intset(members: list[bytes] | IntsetMembers, fexp: Any, version: int, policy: EncodingPolicy,
                    compress: bool) -> bytes:
    if type(members) is IntsetMembers:  # written back as it is, as rdbSaveObject does
        return save_string(bytes(members.blob), compress)
    return save_string(encode_intset(int(m) for m in members), compress)


class IntsetMembers:
    """A set intset kept as its bytes, for a server that holds small sets as Redis does:
    a load that asks for it (``packed_listpacks``) gets no per-member objects, and a save
    writes the bytes back as they are (an encoding wider than the members need
    included). Everywhere else it is a set value like any other: it iterates as the
    members' decimal text, ascending.

    ``blob`` (bytes or a bytearray the receiver may keep) passed
    :func:`~rdbtools.encodings.intset_ops.is_validate` (deep checks); ``count`` is its
    member count.
    """

    __slots__ = ("blob", "count")

    def __init__(self, blob: bytes | bytearray, count: int) -> None:
        self.blob = blob
        self.count = count

    def members(self) -> list[bytes]:
        return decode_intset_strings(self.blob)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.members())

    def __getitem__(self, i: int) -> bytes:
        return self.members()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IntsetMembers):
            return self.members() == other.members()
        return isinstance(other, list) and self.members() == other

    __hash__ = None  # type: ignore[assignment]  # mutable content, as the list it stands for

    def __repr__(self) -> str:
        return f"IntsetMembers({self.members()!r})"


def load_set_intset_packed(buf: bytes, pos: int, max_len: int) -> tuple[IntsetMembers, None, int]:
    """load_set_intset for ``packed_listpacks``: the same checks, the bytes kept."""
    start = pos
    blob, pos = load_string(buf, pos, max_len)
    is_ = bytearray(blob)
    return IntsetMembers(is_, decode_blob(is_validate, is_, start, buf, pos)), None, pos


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


def set_type(members: list[bytes] | IntsetMembers, fexp: Any, version: int, policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a set as (rdbSaveObjectType)."""
    if isinstance(members, IntsetMembers):
        return RDB_TYPE_SET_INTSET  # validated when made; kept as the intset it is
    if len(set(members)) != len(members):
        raise RdbEncodeError("duplicate set member")
    enc = policy.set_encoding(members, version)
    if enc == "intset":
        return RDB_TYPE_SET_INTSET
    if enc == "listpack":
        return RDB_TYPE_SET_LISTPACK
    return RDB_TYPE_SET


__all__ = [
    "IntsetMembers",
    "load_set",
    "load_set_intset",
    "load_set_listpack",
    "load_set_intset_packed",
    "save_set",
    "save_set_intset",
    "save_set_listpack",
    "set_type",
]
