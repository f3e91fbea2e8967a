"""ziplist: the compact sequence of RDB ≤ 9 (types 10, 12, 13 and quicklist-1 nodes).

Wire form (docs/formats.md §3.2; mirrors Redis's ``ziplist.c``)::

    <zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> entry* <0xFF>
    entry = <prevlen> <encoding [+ length bytes]> <data>

``prevlen`` is the whole size of the previous entry (prevlen + encoding +
data; 0 for the first): one byte if < 254, else 0xFE + u32 LE. Redis may keep
the 5-byte form for a small value after a cascade update, so both are read.

Encoding byte (Redis folds 0x80..0xBF onto 0x80, and so do we):

    00pppppp                   string, 6-bit length
    01pppppp qqqqqqqq          string, 14-bit length, big endian
    10xxxxxx + u32 BE          string, 32-bit length
    0xC0 / 0xD0 / 0xE0         int16 / int32 / int64 LE
    0xF0                       int24 LE            (RDB 6+)
    0xFE                       int8                (RDB 6+)
    0xF1..0xFD                 immediate 0..12     (RDB 6+)

Decoding validates what ``ziplistValidateIntegrity`` (deep) checks: zlbytes
equals the blob size, the blob ends with 0xFF right after the last entry,
entries stay inside the blob, each prevlen equals the previous entry's size,
zltail is the offset of the last entry (≤ size-1 when empty) and zllen equals
the entry count unless it is 65535. ``BadEncoding.offset`` is relative to the
blob start.

Encoding mirrors ``ziplistPush``/``zipTryEncoding``: bytes of 1..31 chars that
are the canonical text of an int64 become the smallest of imm, int8, int16,
int24, int32, int64; other bytes the smallest string form; ints are stored as
integers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from rdbtools.errors import BadEncoding, RdbEncodeError
from rdbtools.numbers import INT64_MAX, INT64_MIN, string2ll

# Encoding bytes, named as in ziplist.c.
ZIP_STR_06B = 0x00
ZIP_STR_14B = 0x40
ZIP_STR_32B = 0x80
ZIP_INT_16B = 0xC0
ZIP_INT_32B = 0xD0
ZIP_INT_64B = 0xE0
ZIP_INT_24B = 0xF0
ZIP_INT_8B = 0xFE
ZIP_INT_IMM_MIN = 0xF1
ZIP_INT_IMM_MAX = 0xFD
ZIP_END = 0xFF
ZIP_BIG_PREVLEN = 0xFE
ZIPLIST_HEADER_SIZE = 10
ZIPLIST_LEN_UNKNOWN = 0xFFFF

_HDR = struct.Struct("<IIH")
_unpack_hdr = _HDR.unpack_from
_pack_hdr = _HDR.pack
_unpack_u32 = struct.Struct("<I").unpack_from
_unpack_u32be = struct.Struct(">I").unpack_from
_unpack_i16 = struct.Struct("<h").unpack_from
_unpack_i32 = struct.Struct("<i").unpack_from
_unpack_i64 = struct.Struct("<q").unpack_from
_pack_u32 = struct.Struct("<I").pack
_pack_u32be = struct.Struct(">I").pack
_pack_i16 = struct.Struct("<h").pack
_pack_i32 = struct.Struct("<i").pack
_pack_i64 = struct.Struct("<q").pack

_IMM_INT = tuple(range(13))
_IMM_TEXT = tuple(b"%d" % i for i in range(13))
# int8 entries indexed by their raw byte
_INT8_INT = tuple(u - 256 if u >= 128 else u for u in range(256))
_INT8_TEXT = tuple(b"%d" % v for v in _INT8_INT)


def _decode(blob: bytes | bytearray | memoryview, text: bool) -> list[Any]:
    buf = blob if type(blob) is bytes else bytes(blob)
    n = len(buf)
    if n < ZIPLIST_HEADER_SIZE + 1:
        raise BadEncoding(f"ziplist of {n} bytes is shorter than the 11-byte minimum", offset=0)
    zlbytes, zltail, zllen = _unpack_hdr(buf, 0)
    if zlbytes != n:
        raise BadEncoding(f"ziplist header says {zlbytes} bytes but the blob has {n}", offset=0)
    end = n - 1
    if buf[end] != ZIP_END:
        raise BadEncoding(
            f"ziplist does not end with 0xff (last byte is 0x{buf[end]:02x})", offset=end
        )
    if zltail > end:
        raise BadEncoding(f"ziplist tail offset {zltail} is past the end marker at {end}", offset=4)
    imm = _IMM_TEXT if text else _IMM_INT
    int8 = _INT8_TEXT if text else _INT8_INT
    out: list[Any] = []
    append = out.append
    prev_size = 0
    pos = ZIPLIST_HEADER_SIZE
    try:
        while True:
            b = buf[pos]
            if b == ZIP_END:
                break
            if b < ZIP_BIG_PREVLEN:
                h = pos + 1
            else:
                b = _unpack_u32(buf, pos + 1)[0]
                h = pos + 5
            if b != prev_size:
                raise _bad_prevlen(pos, b, prev_size, len(out))
            e = buf[h]
            if e < 0xC0:  # strings
                if e < 0x40:
                    d = h + 1
                    q = d + e
                elif e < 0x80:
                    d = h + 2
                    q = d + (((e & 0x3F) << 8) | buf[h + 1])
                else:
                    d = h + 5
                    q = d + _unpack_u32be(buf, h + 1)[0]
                if q > end:
                    raise _past_end(pos, q, end, len(out))
                append(buf[d:q])
            else:
                if ZIP_INT_IMM_MIN <= e <= ZIP_INT_IMM_MAX:
                    q = h + 1
                    append(imm[(e & 0x0F) - 1])
                    prev_size = q - pos
                    pos = q
                    continue
                if e == ZIP_INT_8B:
                    q = h + 2
                    if q > end:
                        raise _past_end(pos, q, end, len(out))
                    append(int8[buf[h + 1]])
                    prev_size = q - pos
                    pos = q
                    continue
                if e == ZIP_INT_16B:
                    q = h + 3
                    v = _unpack_i16(buf, h + 1)[0]
                elif e == ZIP_INT_24B:
                    q = h + 4
                    v = buf[h + 1] | (buf[h + 2] << 8) | (buf[h + 3] << 16)
                    if v >= 0x800000:
                        v -= 0x1000000
                elif e == ZIP_INT_32B:
                    q = h + 5
                    v = _unpack_i32(buf, h + 1)[0]
                elif e == ZIP_INT_64B:
                    q = h + 9
                    v = _unpack_i64(buf, h + 1)[0]
                else:
                    raise _bad_byte(pos, h, e, len(out))
                if q > end:
                    raise _past_end(pos, q, end, len(out))
                append(b"%d" % v if text else v)
            prev_size = q - pos
            pos = q
    except (IndexError, struct.error) as exc:
        raise BadEncoding(
            f"ziplist entry {len(out)} at offset {pos} runs past the end of the blob", offset=pos
        ) from exc
    if pos != end:
        raise BadEncoding(
            f"ziplist end marker at offset {pos}, {end - pos} bytes before the end "
            f"(after {len(out)} entries)",
            offset=pos,
        )
    last = end - prev_size  # start of the last entry
    if out and zltail != last:
        raise BadEncoding(
            f"ziplist tail offset {zltail} does not point at the last entry (offset {last})",
            offset=4,
        )
    if zllen != ZIPLIST_LEN_UNKNOWN and zllen != len(out):
        raise BadEncoding(
            f"ziplist header counts {zllen} entries but {len(out)} were found", offset=8
        )
    return out


def _bad_prevlen(pos: int, prevlen: int, prev_size: int, index: int) -> BadEncoding:
    return BadEncoding(
        f"ziplist entry {index} at offset {pos}: prevlen {prevlen} does not match "
        f"the previous entry's size {prev_size}",
        offset=pos,
    )


def _bad_byte(pos: int, h: int, e: int, index: int) -> BadEncoding:
    return BadEncoding(
        f"ziplist entry {index} at offset {pos}: invalid encoding byte 0x{e:02x}", offset=h
    )


def _past_end(pos: int, q: int, end: int, index: int) -> BadEncoding:
    return BadEncoding(
        f"ziplist entry {index} at offset {pos} needs {q - pos} bytes "
        f"but only {end - pos} remain before the end marker",
        offset=pos,
    )


def decode_ziplist(blob: bytes | bytearray | memoryview) -> list[bytes | int]:
    """Entries of a ziplist: strings as bytes, integer entries as int."""
    return _decode(blob, False)


def decode_ziplist_strings(blob: bytes | bytearray | memoryview) -> list[bytes]:
    """Entries of a ziplist as bytes, integers as their decimal text."""
    return _decode(blob, True)


def _encode_int(v: int) -> bytes:
    """Encoding + data for ``v`` (zipTryEncoding order: imm, 8, 16, 24, 32, 64 bits)."""
    if 0 <= v <= 12:
        return bytes((ZIP_INT_IMM_MIN + v,))
    if -128 <= v <= 127:
        return bytes((ZIP_INT_8B, v & 0xFF))
    if -32768 <= v <= 32767:
        return b"\xc0" + _pack_i16(v)
    if -8388608 <= v <= 8388607:
        u = v & 0xFFFFFF
        return bytes((ZIP_INT_24B, u & 0xFF, (u >> 8) & 0xFF, u >> 16))
    if -2147483648 <= v <= 2147483647:
        return b"\xd0" + _pack_i32(v)
    if INT64_MIN <= v <= INT64_MAX:
        return b"\xe0" + _pack_i64(v)
    raise RdbEncodeError(f"integer {v} does not fit a ziplist int64 entry")


def _encode_str(s: bytes) -> bytes:
    n = len(s)
    if n <= 0x3F:
        return bytes((n,)) + s
    if n <= 0x3FFF:
        return bytes((ZIP_STR_14B | (n >> 8), n & 0xFF)) + s
    if n > 0xFFFFFFFF:
        raise RdbEncodeError(f"string of {n} bytes does not fit a ziplist entry")
    return b"\x80" + _pack_u32be(n) + s


def encode_ziplist(items: Iterable[bytes | int]) -> bytes:
    """A ziplist holding ``items`` in order, byte-identical to Redis's ziplistPush."""
    parts: list[bytes] = []
    append = parts.append
    prev_size = 0
    offset = ZIPLIST_HEADER_SIZE
    tail = ZIPLIST_HEADER_SIZE
    for item in items:
        if isinstance(item, int):
            body = _encode_int(item)
        else:
            if type(item) is not bytes:
                item = bytes(item)
            v = string2ll(item) if 0 < len(item) < 32 else None
            body = _encode_str(item) if v is None else _encode_int(v)
        if prev_size < ZIP_BIG_PREVLEN:
            prevlen = bytes((prev_size,))
        else:
            prevlen = b"\xfe" + _pack_u32(prev_size)
        append(prevlen)
        append(body)
        tail = offset
        prev_size = len(prevlen) + len(body)
        offset += prev_size
    total = offset + 1
    if total > 0xFFFFFFFF:
        raise RdbEncodeError(f"ziplist of {total} bytes exceeds the 32-bit size field")
    count = len(parts) // 2
    zllen = count if count < ZIPLIST_LEN_UNKNOWN else ZIPLIST_LEN_UNKNOWN
    return _pack_hdr(total, tail, zllen) + b"".join(parts) + b"\xff"

__all__ = [
    "ZIPLIST_HEADER_SIZE",
    "ZIPLIST_LEN_UNKNOWN",
    "ZIP_BIG_PREVLEN",
    "ZIP_END",
    "ZIP_INT_16B",
    "ZIP_INT_24B",
    "ZIP_INT_32B",
    "ZIP_INT_64B",
    "ZIP_INT_8B",
    "ZIP_INT_IMM_MAX",
    "ZIP_INT_IMM_MIN",
    "ZIP_STR_06B",
    "ZIP_STR_14B",
    "ZIP_STR_32B",
    "decode_ziplist",
    "decode_ziplist_strings",
    "encode_ziplist",
]
