"""Sorted sets: type bytes 3, 5, 12, 17 (docs/formats.md §1.6, §2.3, §3.2).

Wire forms::

    RDB_TYPE_ZSET          len n, n × (str member, string-double score)   (written ≤ 3.2)
    RDB_TYPE_ZSET_2        len n, n × (str member, 8-byte LE double)      (4.0+)
    RDB_TYPE_ZSET_ZIPLIST  str ziplist: member, score, member, score ...  (≤ 6.2)
    RDB_TYPE_ZSET_LISTPACK str listpack: member, score, ...               (7.0+)

The skiplist forms are written from the tail, highest score first, as
rdbSaveObject walks them; the compact forms in score order (zslInsert: score,
then member bytes), scores as integers where ``double2ll`` takes them, else as
the era's text. Loading gives ``(member, score)`` pairs; a NaN score is refused
in the skiplist forms ("Zset with NAN score") but kept in a listpack, as 7.0
keeps it, and such a zset is always written compact in its given order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._accel import c_module
from ..constants import (
    RDB_TYPE_ZSET,
    RDB_TYPE_ZSET_2,
    RDB_TYPE_ZSET_LISTPACK,
    RDB_TYPE_ZSET_ZIPLIST,
)
from ..encodings import decode_listpack, decode_ziplist_strings, encode_listpack, encode_ziplist
from ..encodings.listpack_ops import lp_validate_pairs
from ..errors import BadEncoding, RdbCorruptError, RdbEncodeError
from ..numbers import g17
from ..policy import EncodingPolicy, fpconv_dtoa, string_double, zset_score_entry
from ..primitives import (
    Short,
    check_unique,
    decode_blob,
    load_binary_double,
    load_blob,
    load_len,
    load_string,
    load_string_double,
    save_binary_double,
    save_len,
    save_string,
    skip_string,
)

_LL_HALF = float((2**63 - 1) // 2)  # double2ll's range


def _zset_pairs(items: Sequence[bytes | int]) -> list[tuple[bytes, float]]:
    if len(items) & 1:
        raise BadEncoding("zset blob has an odd number of entries")
    out = []
    for i in range(0, len(items), 2):
        m = items[i]
        s = items[i + 1]
        try:
            score = float(s)
        except ValueError:
            raise BadEncoding(f"zset score {s!r} is not a number") from None
        out.append((m if type(m) is bytes else b"%d" % m, score))  # type: ignore[str-format]  # not bytes: an int (isinstance is slower here)
    return out


def _zkey(p: tuple[bytes, float]) -> tuple[float, bytes]:
    return p[1], p[0]


# ----------------------------------------------------------------------------- skiplist forms


def _load_skiplist(
    buf: bytes, pos: int, max_len: int, load_score: Callable[[bytes, int], tuple[float, int]]
) -> tuple[list[tuple[bytes, float]], None, int]:
    n, pos = load_len(buf, pos)
    zpairs = []
    for _ in range(n):
        m, pos = load_string(buf, pos, max_len)
        s, pos = load_score(buf, pos)
        if s != s:
            raise RdbCorruptError("zset score is NaN", offset=pos)
        zpairs.append((m, s))
    check_unique([m for m, _ in zpairs], "zset member")
    return zpairs, None, pos


def _skip_skiplist(buf: bytes, pos: int, max_len: int, binary: bool) -> int:
    n, pos = load_len(buf, pos)
    for _ in range(n):
        pos = skip_string(buf, pos, max_len)
        if binary:
            pos += 8
        else:
            b = buf[pos]
            pos += 1 if b >= 253 else 1 + b
    if pos > len(buf):
        raise Short(pos)
    return pos


def load_zset(buf: bytes, pos: int, max_len: int) -> tuple[list[tuple[bytes, float]], None, int]:
    return _load_skiplist(buf, pos, max_len, load_string_double)


def skip_zset(buf: bytes, pos: int, max_len: int) -> int:
    return _skip_skiplist(buf, pos, max_len, False)


def _save_skiplist(
    pairs: list[tuple[bytes, float]], compress: bool, save_score: Callable[[float], bytes]
) -> bytes:
    # from the skiplist's tail: highest score first, as rdbSaveObject walks it
    out = [save_len(len(pairs))]
    for m, s in reversed(sorted(pairs, key=_zkey)):
        out.append(save_string(m, compress))
        out.append(save_score(float(s)))
    return b"".join(out)


def save_zset(pairs: list[tuple[bytes, float]], fexp: Any, version: int, policy: EncodingPolicy,
              compress: bool) -> bytes:
    return _save_skiplist(pairs, compress, string_double)


def load_zset_2(buf: bytes, pos: int, max_len: int) -> tuple[list[tuple[bytes, float]], None, int]:
    return _load_skiplist(buf, pos, max_len, load_binary_double)


def skip_zset_2(buf: bytes, pos: int, max_len: int) -> int:
    return _skip_skiplist(buf, pos, max_len, True)


def save_zset_2(pairs: list[tuple[bytes, float]], fexp: Any, version: int, policy: EncodingPolicy,
                compress: bool) -> bytes:
    return _save_skiplist(pairs, compress, save_binary_double)


# ----------------------------------------------------------------------------- compact forms


def _load_compact(
    decode: Callable[[bytes], Sequence[bytes | int]], buf: bytes, pos: int, max_len: int
) -> tuple[list[tuple[bytes, float]], int]:
    start = pos
    items, pos = load_blob(decode, buf, pos, max_len)
    pairs = decode_blob(_zset_pairs, items, start)
    check_unique([m for m, _ in pairs], "zset member")
    return pairs, pos


def _compact_entries(pairs: list[tuple[bytes, float]], version: int) -> list[bytes | int]:
    """member, score, ... in score order (a zset holding a NaN keeps its given order)."""
    ordered = list(pairs) if any(s != s for _, s in pairs) else sorted(pairs, key=_zkey)
    flat: list[bytes | int] = []
    append = flat.append
    if version >= 10:  # zset_score_entry, inlined: double2ll first, else the era's text
        text = fpconv_dtoa if version >= 11 else g17
        for m, s in ordered:
            append(m)
            if -_LL_HALF <= s <= _LL_HALF and int(s) == s:
                append(int(s))
            else:
                append(text(float(s)))
    else:
        for m, s in ordered:
            append(m)
            append(g17(s) if s != s else zset_score_entry(float(s), version))
    return flat


def load_zset_ziplist(buf: bytes, pos: int, max_len: int) -> tuple[list[tuple[bytes, float]], None, int]:
    pairs, pos = _load_compact(decode_ziplist_strings, buf, pos, max_len)
    return pairs, None, pos


def save_zset_ziplist(pairs: list[tuple[bytes, float]], fexp: Any, version: int,
                      policy: EncodingPolicy, compress: bool) -> bytes:
    return save_string(encode_ziplist(_compact_entries(pairs, version)), compress)


def load_zset_listpack(buf: bytes, pos: int, max_len: int) -> tuple[list[tuple[bytes, float]], None, int]:
    pairs, pos = _load_compact(decode_listpack, buf, pos, max_len)
    return pairs, None, pos


def save_zset_listpack(pairs: list[tuple[bytes, float]] | ListpackZset, fexp: Any, version: int,
                       policy: EncodingPolicy, compress: bool) -> bytes:
    if isinstance(pairs, ListpackZset):  # written back as it is, as rdbSaveObject does
        return save_string(bytes(pairs.blob), compress)
    return save_string(encode_listpack(_compact_entries(pairs, version)), compress)


class ListpackZset:
    """A zset listpack kept as its bytes, for a server that holds small sorted sets as
    Redis does: a load that asks for it (``packed_listpacks``) gets no per-member
    objects, and a save writes the bytes back as they are. Everywhere else it is a zset
    value like any other: it iterates as the ``(member, score)`` pairs, in order.

    ``blob`` (bytes or a bytearray the receiver may keep) passed
    :func:`~rdbtools.encodings.listpack_ops.lp_validate_pairs` (deep checks, unique
    members, as lpPairsValidateIntegrityAndDups) and every score parses; ``entries`` is
    its entry count, twice the pairs.
    """

    __slots__ = ("blob", "entries")

    def __init__(self, blob: bytes | bytearray, entries: int) -> None:
        self.blob = blob
        self.entries = entries

    def pairs(self) -> list[tuple[bytes, float]]:
        return _zset_pairs(decode_listpack(self.blob))

    def __len__(self) -> int:
        return self.entries >> 1

    def __iter__(self) -> Iterator[tuple[bytes, float]]:
        return iter(self.pairs())

    def __getitem__(self, i: int) -> tuple[bytes, float]:
        return self.pairs()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListpackZset):
            return self.pairs() == other.pairs()
        return isinstance(other, list) and self.pairs() == other

    __hash__ = None  # type: ignore[assignment]  # mutable content, as the list it stands for

    def __repr__(self) -> str:
        return f"ListpackZset({self.pairs()!r})"


def load_zset_ziplist_packed(buf: bytes, pos: int, max_len: int) -> tuple[ListpackZset, None, int]:
    """load_zset_ziplist for ``packed_listpacks``: the same checks, then the ziplist
    converted once into the listpack Redis makes of it (ziplistPairsConvertAndValidate-
    Integrity: every entry appended as it is, lpAppend choosing its form)."""
    start = pos
    items, pos = load_blob(decode_ziplist_strings, buf, pos, max_len)
    pairs = decode_blob(_zset_pairs, items, start)
    check_unique([m for m, _ in pairs], "zset member")
    return ListpackZset(bytearray(encode_listpack(items)), len(items)), None, pos


def load_zset_listpack_packed(buf: bytes, pos: int, max_len: int) -> tuple[ListpackZset, None, int]:
    """load_zset_listpack for ``packed_listpacks``: the same checks, the bytes kept."""
    start = pos
    blob, pos = load_string(buf, pos, max_len)
    lp = bytearray(blob)
    entries = decode_blob(lp_validate_pairs, lp, start, buf, pos)
    decode_blob(_zset_pairs, decode_listpack(lp), start)  # every score parses
    return ListpackZset(lp, entries), None, pos


def zset_type(pairs: list[tuple[bytes, float]] | ListpackZset, fexp: Any, version: int,
              policy: EncodingPolicy) -> int:
    """The type byte Redis of RDB ``version`` writes a zset as (rdbSaveObjectType)."""
    if isinstance(pairs, ListpackZset):
        if version >= 10:
            return RDB_TYPE_ZSET_LISTPACK  # validated when made; kept as the listpack it is
        pairs = pairs.pairs()
    if len({m for m, _ in pairs}) != len(pairs):
        raise RdbEncodeError("duplicate zset member")
    enc = policy.zset_encoding(pairs, version)
    if enc == "skiplist":
        if any(s != s for _, s in pairs):  # the skiplist forms cannot hold a NaN
            enc = "listpack" if version >= 10 else "ziplist"
        else:
            return RDB_TYPE_ZSET_2 if version >= 8 else RDB_TYPE_ZSET
    return RDB_TYPE_ZSET_LISTPACK if enc == "listpack" else RDB_TYPE_ZSET_ZIPLIST


_zset_pairs_py = _zset_pairs  # the reference of the C version
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and errors
    _zset_pairs = _c.zset_pairs

__all__ = [
    "ListpackZset",
    "load_zset_listpack_packed",
    "load_zset_ziplist_packed",
    "load_zset",
    "load_zset_2",
    "load_zset_listpack",
    "load_zset_ziplist",
    "save_zset",
    "save_zset_2",
    "save_zset_listpack",
    "save_zset_ziplist",
    "skip_zset",
    "skip_zset_2",
    "zset_type",
]
