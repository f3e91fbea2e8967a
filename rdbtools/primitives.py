"""RDB building blocks, both directions: lengths, strings, doubles, times.

Wire forms (docs/formats.md §2):

* length: ``00vvvvvv`` (6 bit), ``01vvvvvv vvvvvvvv`` (14 bit BE), ``0x80`` + u32 BE,
  ``0x81`` + u64 BE; ``11xxxxxx`` marks a specially encoded string.
* string: a length then raw bytes, or ``0xC0``/``0xC1``/``0xC2`` + int8/16/32 LE,
  or ``0xC3`` + compressed len + original len + LZF data.
* doubles: binary (8 bytes LE) since RDB 8, or a length-prefixed decimal text
  with 253/254/255 meaning NaN/+inf/-inf (type 3 zsets).

Decoding functions take ``(buf, pos)`` and return ``(value, new_pos)``. They work on
a buffer that may hold only part of the input: running off its end raises
:class:`Short` (or ``IndexError`` from a plain index), which the decoder treats as
"need more data" and retries the whole top-level item once more bytes arrived.
Encoding functions return bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence, Sized
from typing import TypeVar

from . import lzf
from ._accel import c_module
from .errors import BadEncoding, LimitExceeded, RdbCorruptError
from .numbers import string2ll

_u64_be = struct.Struct(">Q").unpack_from
_u32_be = struct.Struct(">I").unpack_from
_i8 = struct.Struct("<b").unpack_from
_i16 = struct.Struct("<h").unpack_from
_i32 = struct.Struct("<i").unpack_from
_i64 = struct.Struct("<q").unpack_from
_f64 = struct.Struct("<d").unpack_from
_pack_f64 = struct.Struct("<d").pack
_pack_i64 = struct.Struct("<q").pack

# An LZF back-reference of 264 bytes costs 3 input bytes: nothing real expands more.
LZF_MAX_RATIO = 100


class Short(Exception):
    """Internal: the buffer ends before ``need`` (an absolute offset in the buffer)."""

    __slots__ = ("need",)

    def __init__(self, need: int) -> None:
        self.need = need


def load_len(buf: bytes, pos: int) -> tuple[int, int]:
    """Read a plain length (mirrors rdbLoadLenByRef); an encoded-string marker is corrupt."""
    b = buf[pos]
    kind = b >> 6
    if kind == 0:
        return b, pos + 1
    if kind == 1:
        return ((b & 0x3F) << 8) | buf[pos + 1], pos + 2
    if b == 0x80:
        if pos + 5 > len(buf):
            raise Short(pos + 5)
        return _u32_be(buf, pos + 1)[0], pos + 5
    if b == 0x81:
        if pos + 9 > len(buf):
            raise Short(pos + 9)
        return _u64_be(buf, pos + 1)[0], pos + 9
    if kind == 3:
        raise RdbCorruptError("encoded string where a length was expected", offset=pos)
    raise RdbCorruptError(f"unknown length encoding 0x{b:02x}", offset=pos)


def load_string(buf: bytes, pos: int, max_len: int) -> tuple[bytes, int]:
    """Read an RDB string in any of its encodings; integers come back as decimal text."""
    b = buf[pos]
    if b < 0x40:
        end = pos + 1 + b
        if end > len(buf):
            raise Short(end)
        return buf[pos + 1 : end], end
    if b < 0x80:
        n = ((b & 0x3F) << 8) | buf[pos + 1]
        pos += 2
    elif b < 0xC0:
        n, pos = load_len(buf, pos)
    else:
        return _load_special(buf, pos, b & 0x3F, max_len)
    if n > max_len:
        raise LimitExceeded(f"string length {n} exceeds the limit of {max_len}", offset=pos)
    end = pos + n
    if end > len(buf):
        raise Short(end)
    return buf[pos:end], end


def _load_special(buf: bytes, pos: int, enc: int, max_len: int) -> tuple[bytes, int]:
    if enc == 0:
        if pos + 2 > len(buf):
            raise Short(pos + 2)
        return b"%d" % _i8(buf, pos + 1)[0], pos + 2
    if enc == 1:
        if pos + 3 > len(buf):
            raise Short(pos + 3)
        return b"%d" % _i16(buf, pos + 1)[0], pos + 3
    if enc == 2:
        if pos + 5 > len(buf):
            raise Short(pos + 5)
        return b"%d" % _i32(buf, pos + 1)[0], pos + 5
    if enc == 3:
        start = pos
        clen, pos = load_len(buf, pos + 1)
        ulen, pos = load_len(buf, pos)
        if ulen > max_len:
            raise LimitExceeded(f"LZF string length {ulen} exceeds the limit of {max_len}", offset=start)
        if clen > ulen + 64 or ulen > clen * LZF_MAX_RATIO + 64:
            raise BadEncoding(
                f"invalid LZF lengths: compressed {clen}, original {ulen}", offset=start
            )
        end = pos + clen
        if end > len(buf):
            raise Short(end)
        try:
            return lzf.decompress(buf[pos:end], ulen), end
        except BadEncoding as exc:
            exc.offset = start
            raise
    raise RdbCorruptError(f"unknown RDB string encoding type {enc}", offset=pos)


def skip_string(buf: bytes, pos: int, max_len: int) -> int:
    """Position after an RDB string, without building it (LZF is not decompressed)."""
    b = buf[pos]
    if b < 0x40:
        end = pos + 1 + b
    elif b < 0x80:
        end = pos + 2 + (((b & 0x3F) << 8) | buf[pos + 1])
    elif b < 0xC0:
        n, pos = load_len(buf, pos)
        if n > max_len:
            raise LimitExceeded(f"string length {n} exceeds the limit of {max_len}", offset=pos)
        end = pos + n
    else:
        enc = b & 0x3F
        if enc == 0:
            end = pos + 2
        elif enc == 1:
            end = pos + 3
        elif enc == 2:
            end = pos + 5
        elif enc == 3:
            clen, p = load_len(buf, pos + 1)
            ulen, p = load_len(buf, p)
            if ulen > max_len:
                raise LimitExceeded(f"LZF string length {ulen} exceeds the limit", offset=pos)
            end = p + clen
        else:
            raise RdbCorruptError(f"unknown RDB string encoding type {enc}", offset=pos)
    if end > len(buf):
        raise Short(end)
    return end


def load_strings(buf: bytes, pos: int, max_len: int) -> tuple[list[bytes], int]:
    """A length ``n`` then ``n`` strings (plain lists and sets): ``(strings, end)``."""
    n, pos = load_len(buf, pos)
    items: list[bytes] = []
    append = items.append
    for _ in range(n):
        v, pos = load_string(buf, pos, max_len)
        append(v)
    return items, pos


def skip_strings(buf: bytes, pos: int, max_len: int, per: int = 1) -> int:
    """Position after a length ``n`` then ``n * per`` strings (plain lists, sets, hashes)."""
    n, pos = load_len(buf, pos)
    for _ in range(n * per):
        pos = skip_string(buf, pos, max_len)
    return pos


# ----------------------------------------------------------------------------- blobs in strings


_T = TypeVar("_T")
_B = TypeVar("_B", bound=Sized)


def load_blob(decode: Callable[[bytes], _T], buf: bytes, pos: int, max_len: int) -> tuple[_T, int]:
    """A compact blob (listpack, ziplist, intset, zipmap) stored as one RDB string:
    ``(decode(blob), end)``, a decoding error's offset mapped into ``buf`` (:func:`decode_blob`)."""
    start = pos
    blob, pos = load_string(buf, pos, max_len)
    return decode_blob(decode, blob, start, buf, pos), pos


def decode_blob(
    fn: Callable[[_B], _T], blob: _B, offset: int, buf: bytes | None = None, end: int | None = None
) -> _T:
    """Run a blob decoder; map a blob-relative error offset into the file.

    For a raw string the blob's bytes sit right before ``end``, so the offset is
    exact. Inside an LZF-compressed blob there is no file position for it: the
    error points at the string and the message names the decompressed offset.
    Without ``buf`` (a check over already-decoded items) the error points at ``offset``.
    """
    try:
        return fn(blob)
    except BadEncoding as exc:
        rel = exc.offset
        if rel is None or buf is None or end is None:
            exc.offset = offset
        elif buf[offset] < 0xC0:
            exc.offset = end - len(blob) + rel
        else:
            exc.offset = offset
            exc.message = f"{exc.message} (offset {rel} of the decompressed LZF string)"
            exc.args = (exc.message,)
        raise


def check_unique(values: Sequence[bytes], what: str) -> None:
    """Refuse a repeated member/field, as Redis's loader does (``what`` names it)."""
    if len(set(values)) != len(values):
        raise BadEncoding(f"duplicate {what}")


def load_binary_double(buf: bytes, pos: int) -> tuple[float, int]:
    if pos + 8 > len(buf):
        raise Short(pos + 8)
    return _f64(buf, pos)[0], pos + 8


def load_string_double(buf: bytes, pos: int) -> tuple[float, int]:
    """Type-3 zset scores: a length byte then decimal text; 253/254/255 are NaN/+inf/-inf."""
    n = buf[pos]
    if n == 253:
        return float("nan"), pos + 1
    if n == 254:
        return float("inf"), pos + 1
    if n == 255:
        return float("-inf"), pos + 1
    end = pos + 1 + n
    if end > len(buf):
        raise Short(end)
    text = buf[pos + 1 : end]
    try:
        return float(text), end
    except ValueError:
        raise RdbCorruptError(f"invalid double text {text!r}", offset=pos) from None


def load_ms(buf: bytes, pos: int) -> tuple[int, int]:
    if pos + 8 > len(buf):
        raise Short(pos + 8)
    return _i64(buf, pos)[0], pos + 8


def load_seconds(buf: bytes, pos: int) -> tuple[int, int]:
    if pos + 4 > len(buf):
        raise Short(pos + 4)
    return _i32(buf, pos)[0], pos + 4


def load_raw(buf: bytes, pos: int, n: int) -> tuple[bytes, int]:
    end = pos + n
    if end > len(buf):
        raise Short(end)
    return buf[pos:end], end


# ----------------------------------------------------------------------------- encoding


def save_len(n: int) -> bytes:
    """Smallest length form (rdbSaveLen): 6 bit, 14 bit, 32 bit, 64 bit."""
    if n < 0x40:
        return bytes((n,))
    if n < 0x4000:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def save_int_string(v: int) -> bytes | None:
    """INT8/16/32 string form of ``v`` if it fits (rdbEncodeInteger), else None."""
    if -128 <= v <= 127:
        return b"\xc0" + (v & 0xFF).to_bytes(1, "little")
    if -32768 <= v <= 32767:
        return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return None


def _save_string_py(s: bytes, compress: bool = True) -> bytes:
    """RDB string as Redis's rdbSaveRawString writes it: int form, then LZF, then raw
    (``rdbstr.c`` is its C twin, :data:`save_string` the chosen one)."""
    n = len(s)
    if n <= 11:
        v = string2ll(s)
        if v is not None:
            enc = save_int_string(v)
            if enc is not None:
                return enc
    if compress and n > 20:
        c = lzf.compress(s)
        if c is not None:
            return b"\xc3" + save_len(len(c)) + save_len(n) + c
    return save_len(n) + s


save_string: Callable[..., bytes] = _save_string_py
if (_c := c_module("rdbtools._speedups")) is not None:
    save_string = _c.save_string


def save_strings(items: list[bytes], compress: bool = True) -> bytes:
    """The mirror of :func:`load_strings`: the count, then each string."""
    return save_len(len(items)) + b"".join([save_string(i, compress) for i in items])


def save_raw_string(s: bytes) -> bytes:
    """Length-prefixed bytes with no int or LZF encoding attempted."""
    return save_len(len(s)) + s


def save_binary_double(v: float) -> bytes:
    return _pack_f64(v)


def save_string_double(v: float) -> bytes:
    """Type-3 zset score text (%.17g, as Redis ≤ 3.2 wrote it)."""
    if v != v:
        return b"\xfd"
    if v == float("inf"):
        return b"\xfe"
    if v == float("-inf"):
        return b"\xff"
    text = b"%.17g" % v
    return bytes((len(text),)) + text


def save_ms(ms: int) -> bytes:
    return _pack_i64(ms)


__all__ = [
    "Short",
    "check_unique",
    "decode_blob",
    "load_binary_double",
    "load_blob",
    "load_len",
    "load_ms",
    "load_raw",
    "load_seconds",
    "load_string",
    "load_string_double",
    "load_strings",
    "save_binary_double",
    "save_int_string",
    "save_len",
    "save_ms",
    "save_raw_string",
    "save_string",
    "save_string_double",
    "save_strings",
    "skip_string",
    "skip_strings",
]
