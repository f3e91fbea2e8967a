"""In-place operations on an intset: what a small integer set does to its bytes.

A server keeps a small all-integer set as the intset the RDB file holds
(docs/formats.md §3.3): ``<encoding u32> <length u32> <length × int, ascending>``. These
functions read and change such an intset (a ``bytearray``) the way Redis 7.0's
``intset.c`` does, so the bytes after any sequence of them equal what Redis would hold:
``intsetAdd`` widens the encoding when a member needs it (the new member, outside the
old range, goes first or last), ``intsetRemove`` never narrows it.

Members come and go as the request's bytes: only text that ``string2ll`` accepts
(canonical int64) can be in an intset, so anything else is simply absent (and
:func:`is_add_py` answers -1: the caller converts the set to a hashtable).

These are the pure-Python references; ``rdbtools._speedups`` has C twins with the same
results, bytes and errors (tests/rdbtools/test_intset_ops.py holds the two together).
A damaged header raises ``BadEncoding`` in both rather than read out of bounds.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from rdbtools._accel import c_module
from rdbtools.errors import BadEncoding
from rdbtools.numbers import string2ll

from .intset import INTSET_HEADER_SIZE, decode_intset

EMPTY_INTSET = b"\x02\x00\x00\x00\x00\x00\x00\x00"
"""intsetNew: int16 encoding, no members."""

_ONE = {2: struct.Struct("<h"), 4: struct.Struct("<i"), 8: struct.Struct("<q")}
_CODE = {2: "h", 4: "i", 8: "q"}


def _value_encoding(v: int) -> int:
    """_intsetValueEncoding: the narrowest width that holds ``v``."""
    if v < -2147483648 or v > 2147483647:
        return 8
    if v < -32768 or v > 32767:
        return 4
    return 2


def _head(is_: bytearray | bytes) -> tuple[int, int]:
    """(width, length), checked against the intset's size."""
    n = len(is_)
    if n >= INTSET_HEADER_SIZE:
        width = int.from_bytes(is_[0:4], "little")
        length = int.from_bytes(is_[4:8], "little")
        if width in _ONE and INTSET_HEADER_SIZE + length * width == n:
            return width, length
    raise BadEncoding(f"intset header does not match its {n} bytes", offset=0)


def _at(is_: bytearray | bytes, w: int, i: int) -> int:
    v: int = _ONE[w].unpack_from(is_, INTSET_HEADER_SIZE + i * w)[0]
    return v


def _search(is_: bytearray | bytes, w: int, n: int, v: int) -> tuple[bool, int]:
    """intsetSearch: (found, its index or where ``v`` would go)."""
    if n == 0:
        return False, 0
    if v > _at(is_, w, n - 1):
        return False, n
    if v < _at(is_, w, 0):
        return False, 0
    lo, hi = 0, n - 1
    while hi >= lo:
        mid = (lo + hi) >> 1
        cur = _at(is_, w, mid)
        if v > cur:
            lo = mid + 1
        elif v < cur:
            hi = mid - 1
        else:
            return True, mid
    return False, lo


def _set_length(is_: bytearray, n: int) -> None:
    is_[4:8] = n.to_bytes(4, "little")


def is_find_py(is_: bytearray | bytes, member: bytes) -> bool:
    """setTypeIsMember on an intset (intsetFind of string2ll(member))."""
    w, n = _head(is_)
    v = string2ll(member)
    return v is not None and _value_encoding(v) <= w and _search(is_, w, n, v)[0]


def is_add_py(is_: bytearray, member: bytes) -> int:
    """intsetAdd of string2ll(member): 1 added, 0 already there, -1 not an integer
    (nothing changed)."""
    w, n = _head(is_)
    v = string2ll(member)
    if v is None:
        return -1
    enc = _value_encoding(v)
    if enc > w:  # intsetUpgradeAndAdd: every member widened, v first or last
        old = struct.unpack_from(f"<{n}{_CODE[w]}", is_, INTSET_HEADER_SIZE)
        vals = (v, *old) if v < 0 else (*old, v)
        is_[:] = struct.pack(f"<II{n + 1}{_CODE[enc]}", enc, n + 1, *vals)
        return 1
    found, pos = _search(is_, w, n, v)
    if found:
        return 0
    at = INTSET_HEADER_SIZE + pos * w
    is_[at:at] = _ONE[w].pack(v)
    _set_length(is_, n + 1)
    return 1


def is_add_all_py(is_: bytearray, members: Sequence[bytes], start: int,
                  max_entries: int) -> int | tuple[int, int]:
    """setTypeAdd of ``members[start:]`` while the set stays an intset (``max_entries``
    capped at 1G as setTypeAdd caps it): the count added; or, when the set must become a
    hashtable, ``(added, stop)``: it stopped before a member that is not an integer, or
    after the add that took the length past ``max_entries``, and the caller converts and
    goes on from ``members[stop]``."""
    max_entries = min(max_entries, 1 << 30)
    i, n, added = max(start, 0), len(members), 0
    while i < n:
        r = is_add_py(is_, members[i])
        if r < 0:
            return added, i
        i += 1
        added += r
        if r > 0 and _head(is_)[1] > max_entries:
            return added, i
    return added


def is_remove_py(is_: bytearray, member: bytes) -> bool:
    """intsetRemove of string2ll(member): True when it was there (the encoding stays)."""
    w, n = _head(is_)
    v = string2ll(member)
    if v is None or _value_encoding(v) > w:
        return False
    found, pos = _search(is_, w, n, v)
    if not found:
        return False
    at = INTSET_HEADER_SIZE + pos * w
    del is_[at:at + w]
    _set_length(is_, n - 1)
    return True


def is_get_py(is_: bytearray | bytes, i: int) -> bytes:
    """intsetGet: member ``i`` (ascending order) as its decimal text."""
    w, n = _head(is_)
    if not 0 <= i < n:
        raise IndexError("intset index out of range")
    return b"%d" % _at(is_, w, i)


def is_pop_py(is_: bytearray, i: int) -> bytes:
    """Member ``i`` removed and returned (SPOP's intsetRemove of a random member)."""
    w, n = _head(is_)
    if not 0 <= i < n:
        raise IndexError("intset index out of range")
    v = _at(is_, w, i)
    at = INTSET_HEADER_SIZE + i * w
    del is_[at:at + w]
    _set_length(is_, n - 1)
    return b"%d" % v


def is_validate_py(blob: bytes | bytearray | memoryview) -> int:
    """intsetValidateIntegrity with deep checks (known encoding, size, not empty, strictly
    ascending): the member count, or the decoder's ``BadEncoding``."""
    return len(decode_intset(blob))


def _is_validate_c(blob: bytes | bytearray | memoryview) -> int:
    """is_validate_py, the common case in C (is_check): a refused blob goes through the
    reference for its precise error."""
    n: int = _c.is_check(blob)  # type: ignore[union-attr]  # chosen only when _c is loaded
    return n if n >= 0 else is_validate_py(blob)


is_find = is_find_py
is_add = is_add_py
is_add_all = is_add_all_py
is_remove = is_remove_py
is_get = is_get_py
is_pop = is_pop_py
is_validate = is_validate_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and bytes
    is_find, is_add, is_remove, is_get, is_pop = _c.is_find, _c.is_add, _c.is_remove, _c.is_get, _c.is_pop
    is_add_all = _c.is_add_all
    is_validate = _is_validate_c

__all__ = [
    "EMPTY_INTSET",
    "is_add",
    "is_add_all",
    "is_add_all_py",
    "is_add_py",
    "is_find",
    "is_find_py",
    "is_get",
    "is_get_py",
    "is_pop",
    "is_pop_py",
    "is_remove",
    "is_remove_py",
    "is_validate",
    "is_validate_py",
]
