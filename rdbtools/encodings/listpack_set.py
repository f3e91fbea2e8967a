"""In-place operations on a listpack of set members: a small set of strings.

Redis 7.2 keeps a small set that is not all-integer as a listpack (``setTypeAdd``'s
``OBJ_ENCODING_LISTPACK`` branch: ``lpFind`` with skip 0, then ``lpAppend``;
``lpDeleteRangeWithEntry`` to remove), converting it to a hashtable past 128 members or
a member over 64 bytes. Redis 7.0 has no such encoding and the server reports these
sets as ``hashtable`` as 7.0 does; it keeps them as the listpack anyway because a
Python ``set`` of ``bytes`` costs about seven times the bytes.

The listpack is a ``bytearray`` made by these functions (entries encoded by
:mod:`rdbtools.encodings.listpack`, the one codec; canonical integer text becomes an
integer entry and compares as its decimal text, as ``lpCompare`` does). Entries are read
and deleted by index with the quicklist node functions (``lpl_get``, ``lpl_delete``).

These are the pure-Python references; ``rdbtools._speedups`` has C twins with the same
results and bytes (rdbtools/csrc/lpset.c; tests/rdbtools/test_listpack_set.py holds the
two together).
"""

from __future__ import annotations

from collections.abc import Sequence

from rdbtools._accel import c_module

from .listpack import LP_EOF, LP_HDR_SIZE, encode_listpack
from .listpack_ops import _encode, _entry, _set_header


def _find(lp: bytearray | bytes, member: bytes) -> int:
    """lpFind(lp, lpFirst(lp), member, skip=0): the entry's offset, or -1."""
    pos = LP_HDR_SIZE
    while lp[pos] != LP_EOF:
        text, nxt = _entry(lp, pos)
        if text == member:
            return pos
        pos = nxt
    return -1


def lps_find_py(lp: bytearray | bytes, member: bytes) -> bool:
    """setTypeIsMember's listpack branch."""
    return _find(lp, member) >= 0


def lps_add_py(lp: bytearray, member: bytes) -> bool:
    """setTypeAdd's listpack branch without the conversion: lpAppend when absent.
    True when the member is new."""
    if _find(lp, member) >= 0:
        return False
    end = len(lp) - 1
    lp[end:end] = _encode(member)
    _set_header(lp, 1)
    return True


def lps_remove_py(lp: bytearray, member: bytes) -> bool:
    """setTypeRemove's listpack branch (lpDeleteRangeWithEntry of one entry)."""
    pos = _find(lp, member)
    if pos < 0:
        return False
    del lp[pos : _entry(lp, pos)[1]]
    _set_header(lp, -1)
    return True


def lps_build_py(members: Sequence[bytes]) -> bytearray:
    """A listpack of ``members`` in order (lpAppend of each; no duplicate check)."""
    return bytearray(encode_listpack(members))


lps_find = lps_find_py
lps_add = lps_add_py
lps_remove = lps_remove_py
lps_build = lps_build_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and bytes
    lps_find, lps_add, lps_remove, lps_build = _c.lps_find, _c.lps_add, _c.lps_remove, _c.lps_build

__all__ = [
    "lps_add",
    "lps_add_py",
    "lps_build",
    "lps_build_py",
    "lps_find",
    "lps_find_py",
    "lps_remove",
    "lps_remove_py",
]
