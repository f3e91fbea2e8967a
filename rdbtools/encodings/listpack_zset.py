"""In-place operations on a sorted set's listpack: what a small zset does to its bytes.

A small sorted set is the listpack the RDB file holds (docs/formats.md §3.4):
``member score member score ...`` ordered by score, then member bytes. These functions
read and change such a listpack (a ``bytearray``) as Redis 7.0's ``t_zset.c`` does with
its ``zzl*`` functions, so the bytes after any sequence of them equal Redis's: a score is
written as ``zzlInsertAt`` writes it (an integer entry when ``double2ll`` takes it, else
the ``d2string`` text, ``%.17g``), members and texts go through the one listpack entry
encoder, and the header is kept as ``lpInsert``/``lpDelete`` keep it (the helpers of
:mod:`rdbtools.encodings.listpack_ops`). A score entry reads as ``zzlGetScore`` reads it:
an integer, or the text parsed as a double (``float()``, which the C twin matches).

The listpack passed in must be valid (made here, or checked as a load checks it:
:func:`~rdbtools.encodings.listpack_ops.lp_validate_pairs`, plus scores that parse);
the C twins still check every entry against the end marker and raise ``BadEncoding``
rather than read out of bounds.

These are the pure-Python references; ``rdbtools._speedups`` has C twins with the same
results and bytes (tests/rdbtools/test_listpack_zset.py holds them together).
"""

from __future__ import annotations

from collections.abc import Iterable

from rdbtools._accel import c_module
from rdbtools.numbers import double2ll, g17

from .listpack import LP_EOF, LP_HDR_SIZE, _encode_int, decode_listpack_strings, encode_listpack
from .listpack_ops import _encode, _entry, _find_field, _set_header, _walk


def score_entry(score: float) -> bytes:
    """The score entry zzlInsertAt writes: lpAppendInteger of double2ll's integer, else
    lpAppend of d2string's text (a NaN keeps its sign's text, as a restored one has)."""
    iv = double2ll(score)
    return _encode_int(iv) if iv is not None else _encode(g17(score))


def zl_score_py(lp: bytearray | bytes, member: bytes) -> float | None:
    """zzlFind: the score of ``member``, None when absent."""
    pos = _find_field(lp, member)
    if pos < 0:
        return None
    return float(_entry(lp, _walk(lp, pos))[0])


def zl_insert_py(lp: bytearray, member: bytes, score: float) -> None:
    """zzlInsert of a member not yet there: before the first element scoring more (or
    as much with a greater member), else at the tail; comparisons as zzlInsert's (a NaN
    score compares false, so it is stepped over)."""
    pos = LP_HDR_SIZE
    while lp[pos] != LP_EOF:
        m, spos = _entry(lp, pos)
        text, nxt = _entry(lp, spos)
        s = float(text)
        if s > score or (s == score and m > member):
            break
        pos = nxt
    lp[pos:pos] = _encode(member) + score_entry(score)
    _set_header(lp, 1)
    _set_header(lp, 1)


def zl_delete_py(lp: bytearray, member: bytes) -> float | None:
    """zzlDelete of ``member``'s pair: its score, None when absent."""
    pos = _find_field(lp, member)
    if pos < 0:
        return None
    text, end = _entry(lp, _walk(lp, pos))
    del lp[pos:end]
    _set_header(lp, -2)
    return float(text)


def zl_rank_py(lp: bytearray | bytes, member: bytes) -> int:
    """zsetRank's walk on a listpack: the 0-based position of ``member``, -1 when absent."""
    pos = _find_field(lp, member)
    if pos < 0:
        return -1
    rank = 0
    p = LP_HDR_SIZE
    while p != pos:
        p = _walk(lp, _walk(lp, p))
        rank += 1
    return rank


def zl_pairs_py(lp: bytearray | bytes) -> list[tuple[bytes, float]]:
    """Every (member, score) in the listpack's order."""
    items = decode_listpack_strings(lp)
    return [(items[i], float(items[i + 1])) for i in range(0, len(items), 2)]


def zl_slice_py(lp: bytearray | bytes, start: int, count: int) -> list[tuple[bytes, float]]:
    """The pairs of ranks ``start`` .. ``start + count - 1`` (``count`` < 0: to the end)."""
    pairs = zl_pairs_py(lp)
    return pairs[start:] if count < 0 else pairs[start:start + count]


def zl_score_range_py(lp: bytearray | bytes, lo: float, loex: bool, hi: float, hiex: bool,
                      reverse: bool, offset: int, limit: int) -> list[tuple[bytes, float]]:
    """genericZrangebyscoreCommand on a listpack: zzlIsInRange (the tail past the minimum,
    the head within the maximum), zzlFirstInRange / zzlLastInRange (the first element
    past the minimum — from the far end when ``reverse`` — must be in range), then
    ``offset`` skipped and up to ``limit`` (< 0: all) taken while in range. A NaN score
    compares false, as there."""
    ps = zl_pairs_py(lp)
    n = len(ps)

    def gte(s: float) -> bool:
        return s > lo if loex else s >= lo

    def lte(s: float) -> bool:
        return s < hi if hiex else s <= hi

    if not n or not gte(ps[-1][1]) or not lte(ps[0][1]):
        return []
    if reverse:
        i = n - 1
        while i >= 0 and not lte(ps[i][1]):
            i -= 1
        if i < 0 or not gte(ps[i][1]) or offset > i:
            return []
        i -= offset
        end = -1 if limit < 0 else max(i - limit, -1)
        j = i
        while j > end and gte(ps[j][1]):
            j -= 1
        return ps[j + 1:i + 1][::-1]
    i = 0
    while i < n and not gte(ps[i][1]):
        i += 1
    if i == n or not lte(ps[i][1]) or offset >= n - i:
        return []
    i += offset
    end = n if limit < 0 else min(i + limit, n)
    j = i
    while j < end and lte(ps[j][1]):
        j += 1
    return ps[i:j]


def zl_from_pairs(pairs: Iterable[tuple[bytes, float]]) -> bytearray:
    """zsetConvert to a listpack: zzlInsertAt(zl, NULL, ...) of each pair in the order
    given (a skip list's, or a loaded listpack's)."""
    flat: list[bytes | int] = []
    append = flat.append
    for m, s in pairs:
        append(m)
        iv = double2ll(s)
        append(iv if iv is not None else g17(s))
    return bytearray(encode_listpack(flat))


zl_score = zl_score_py
zl_insert = zl_insert_py
zl_delete = zl_delete_py
zl_pairs = zl_pairs_py
zl_rank = zl_rank_py
zl_slice = zl_slice_py
zl_score_range = zl_score_range_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and bytes
    zl_score, zl_insert, zl_delete, zl_pairs = _c.zl_score, _c.zl_insert, _c.zl_delete, _c.zl_pairs
    zl_rank, zl_slice, zl_score_range = _c.zl_rank, _c.zl_slice, _c.zl_score_range

__all__ = [
    "score_entry",
    "zl_delete",
    "zl_delete_py",
    "zl_from_pairs",
    "zl_insert",
    "zl_insert_py",
    "zl_pairs",
    "zl_pairs_py",
    "zl_rank",
    "zl_rank_py",
    "zl_score",
    "zl_score_py",
    "zl_score_range",
    "zl_score_range_py",
    "zl_slice",
    "zl_slice_py",
]
