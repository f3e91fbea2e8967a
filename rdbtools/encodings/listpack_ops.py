"""In-place operations on a listpack of pairs: what a small hash does to its bytes.

A server keeps a small hash as the listpack the RDB file holds (docs/formats.md §3.4):
``field value field value ...``. These functions read and change such a listpack (a
``bytearray``) the way Redis 7.0's ``t_hash.c`` does through ``listpack.c``, so the
bytes after any sequence of them equal what Redis would hold: the entries are encoded
by :mod:`rdbtools.encodings.listpack` (the one codec for files and memory), the header's
total and count are kept as ``lpInsert``/``lpDeleteRangeWithEntry`` keep them (a count
of 65535 means "unknown" and stays so until :func:`lp_length_py` can store it again).

The listpack passed in must be valid (made here, or checked by
:func:`lp_validate_pairs` when it came from a file or a payload); the C twins still
check every entry against the end marker and raise ``BadEncoding`` rather than read
out of bounds.

These are the pure-Python references; ``rdbtools._speedups`` has C twins with the same
results and bytes (``rdbtools.encodings`` exports the chosen ones; tests/rdbtools/
test_listpack_ops.py holds the two together).
"""

from __future__ import annotations

from rdbtools._accel import c_module
from rdbtools.errors import BadEncoding
from rdbtools.numbers import string2ll

from .listpack import (
    LP_EOF,
    LP_HDR_NUMELE_UNKNOWN,
    LP_HDR_SIZE,
    _encode_int,
    _encode_str,
    decode_listpack_strings,
    lp_backlen_size,
)

_I16 = (1 << 15, 1 << 16)
_I24 = (1 << 23, 1 << 24)
_I32 = (1 << 31, 1 << 32)
_I64 = (1 << 63, 1 << 64)


def _signed(u: int, bounds: tuple[int, int]) -> int:
    return u - bounds[1] if u >= bounds[0] else u


def _entry(buf: bytearray | bytes, pos: int) -> tuple[bytes, int]:
    """The entry at ``pos`` as text (integers as their decimal form) and the offset
    of the next one (lpGet + lpSkip)."""
    b0 = buf[pos]
    if b0 < 0x80:
        return b"%d" % b0, pos + 2
    if b0 < 0xC0:
        size = b0 - 0x7F
        return bytes(buf[pos + 1 : pos + size]), pos + size + 1
    if b0 < 0xE0:
        return b"%d" % _signed(((b0 & 0x1F) << 8) | buf[pos + 1], (4096, 8192)), pos + 3
    if b0 < 0xF0:
        n = ((b0 & 0x0F) << 8) | buf[pos + 1]
        size = n + 2
    elif b0 == 0xF0:
        n = int.from_bytes(buf[pos + 1 : pos + 5], "little")
        size = n + 5
    elif b0 <= 0xF4:
        width = (2, 3, 4, 8)[b0 - 0xF1]
        u = int.from_bytes(buf[pos + 1 : pos + 1 + width], "little")
        v = _signed(u, (_I16, _I24, _I32, _I64)[b0 - 0xF1])
        return b"%d" % v, pos + width + 2
    else:
        raise BadEncoding(f"listpack entry at offset {pos}: encoding byte 0x{b0:02x}", offset=pos)
    return bytes(buf[pos + size - n : pos + size]), pos + size + lp_backlen_size(size)


def _walk(buf: bytearray | bytes, pos: int) -> int:
    """The offset after the entry at ``pos``, checked against the end marker."""
    nxt = _entry(buf, pos)[1]
    if nxt >= len(buf):
        raise BadEncoding(f"listpack entry at offset {pos} runs past the end", offset=pos)
    return nxt


def _encode(item: bytes) -> bytes:
    """lpEncodeGetType: canonical integer text as an integer entry, else a string."""
    v = string2ll(item) if len(item) <= 20 else None
    return _encode_str(item) if v is None else _encode_int(v)


def _find_field(lp: bytearray | bytes, field: bytes) -> int:
    """lpFind(lp, lpFirst(lp), field, skip=1): offset of the field entry equal to
    ``field`` (an integer entry compares as its decimal text), or -1."""
    pos = LP_HDR_SIZE
    while lp[pos] != LP_EOF:
        text, vpos = _entry(lp, pos)
        if text == field:
            return pos
        pos = _walk(lp, vpos) if lp[vpos] != LP_EOF else vpos
    return -1


def _set_header(lp: bytearray, delta: int) -> None:
    """lpSetTotalBytes and the count update of lpInsert/lpDeleteRangeWithEntry."""
    lp[0:4] = len(lp).to_bytes(4, "little")
    if delta:
        count = int.from_bytes(lp[4:6], "little")
        if count != LP_HDR_NUMELE_UNKNOWN:
            lp[4:6] = min(count + delta, LP_HDR_NUMELE_UNKNOWN).to_bytes(2, "little")


def lp_pairs_get_py(lp: bytearray | bytes, field: bytes) -> bytes | None:
    """hashTypeGetFromListpack: the value after ``field``, None when absent."""
    pos = _find_field(lp, field)
    if pos < 0:
        return None
    vpos = _walk(lp, pos)
    return _entry(lp, vpos)[0]


def lp_pairs_set_py(lp: bytearray, field: bytes, value: bytes) -> bool:
    """hashTypeSet's listpack branch: replace the value (lpReplace) or append the pair
    (two lpAppend). True when the field is new."""
    pos = _find_field(lp, field)
    if pos >= 0:
        vpos = _walk(lp, pos)
        lp[vpos : _walk(lp, vpos)] = _encode(value)
        _set_header(lp, 0)
        return False
    end = len(lp) - 1
    lp[end:end] = _encode(field) + _encode(value)
    _set_header(lp, 1)
    _set_header(lp, 1)
    return True


def lp_pairs_delete_py(lp: bytearray, field: bytes) -> bool:
    """hashTypeDelete's listpack branch: lpDeleteRangeWithEntry of the field and its
    value. True when the field was there."""
    pos = _find_field(lp, field)
    if pos < 0:
        return False
    end = _walk(lp, _walk(lp, pos))
    del lp[pos:end]
    _set_header(lp, -2)
    return True


def lp_length_py(lp: bytearray) -> int:
    """lpLength: the header's count, else a walk (whose result is stored in the header
    when it fits again)."""
    count = int.from_bytes(lp[4:6], "little")
    if count != LP_HDR_NUMELE_UNKNOWN:
        return count
    n = 0
    pos = LP_HDR_SIZE
    while lp[pos] != LP_EOF:
        pos = _walk(lp, pos)
        n += 1
    if n < LP_HDR_NUMELE_UNKNOWN:
        lp[4:6] = n.to_bytes(2, "little")
    return n


def lp_validate_pairs_py(blob: bytes | bytearray | memoryview) -> int:
    """lpPairsValidateIntegrityAndDups with deep checks: the whole listpack is valid,
    holds an even number of entries and no field twice. Returns the entry count;
    raises the decoder's ``BadEncoding`` otherwise."""
    items = decode_listpack_strings(blob)
    if len(items) & 1:
        raise BadEncoding("hash listpack has an odd number of entries")
    fields = items[0::2]
    if len(set(fields)) != len(fields):
        raise BadEncoding("duplicate hash field")
    return len(items)




def _validate_with(check: object, reference: object = lp_validate_pairs_py) -> object:
    """A validator that runs the C ``check`` (the entry count, or -1) for the common case;
    a refused blob goes through the pure-Python ``reference`` for its precise error."""

    def validate(blob: bytes | bytearray | memoryview) -> int:
        n: int = check(blob)  # type: ignore[operator]
        return n if n >= 0 else reference(blob)  # type: ignore[operator]

    return validate


lp_pairs_get = lp_pairs_get_py
lp_pairs_set = lp_pairs_set_py
lp_pairs_delete = lp_pairs_delete_py
lp_length = lp_length_py
lp_validate_pairs = lp_validate_pairs_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results and bytes
    lp_pairs_get, lp_pairs_set, lp_pairs_delete = _c.lp_pairs_get, _c.lp_pairs_set, _c.lp_pairs_delete
    lp_length = _c.lp_length
    lp_validate_pairs = _validate_with(_c.lp_pairs_check)  # type: ignore[assignment]

__all__ = [
    "lp_length",
    "lp_length_py",
    "lp_pairs_delete",
    "lp_pairs_get",
    "lp_pairs_set",
    "lp_validate_pairs",
    "lp_pairs_delete_py",
    "lp_pairs_get_py",
    "lp_pairs_set_py",
    "lp_validate_pairs_py",
]
