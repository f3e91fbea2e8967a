"""listpack: the compact sequence behind RDB types 16-21, 25 and quicklist-2 nodes.

Wire form (docs/formats.md §3.4; mirrors Redis's ``listpack.c``)::

    <total_bytes u32 LE> <num_elements u16 LE> entry* <0xFF>
    entry = <encoding byte [+ length bytes]> <data> <backlen>

First byte of an entry:

    0xxxxxxx          uint 0..127, no data
    10llllll          string, 6-bit length
    110xxxxx x        13-bit two's complement int
    1110llll l        string, 12-bit length
    0xF0 u32 LE       string, 32-bit length
    0xF1/F2/F3/F4     int16/int24/int32/int64 LE
    0xF5..0xFE        invalid;  0xFF  end of listpack

``backlen`` is the size of encoding+data written so it can be read right to
left: 7 bits per byte, the high bit set on every byte but the leftmost (see
``_encode_backlen``). ``num_elements`` 65535 means "count unknown".

Decoding validates everything Redis's ``lpValidateIntegrity`` (deep) checks:
header size equals the blob size, one terminating 0xFF with nothing after it,
every entry inside the blob, every backlen equal to its entry's size, the
header count equal to the entry count unless it is 65535, and no invalid
encoding bytes. Errors are ``BadEncoding`` with ``offset`` relative to the blob
start; the caller adds the blob's absolute offset.

Encoding mirrors ``lpAppend``/``lpEncodeGetType``: a bytes item that is the
canonical text of an int64 (``string2ll``) is stored as the smallest integer
form, anything else as the smallest string form; ints are stored as integers.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from rdbtools.errors import BadEncoding, RdbEncodeError
from rdbtools.numbers import INT64_MAX, INT64_MIN, string2ll

# Encoding bytes, named as in listpack.c.
LP_ENCODING_7BIT_UINT = 0x00
LP_ENCODING_6BIT_STR = 0x80
LP_ENCODING_13BIT_INT = 0xC0
LP_ENCODING_12BIT_STR = 0xE0
LP_ENCODING_32BIT_STR = 0xF0
LP_ENCODING_16BIT_INT = 0xF1
LP_ENCODING_24BIT_INT = 0xF2
LP_ENCODING_32BIT_INT = 0xF3
LP_ENCODING_64BIT_INT = 0xF4
LP_EOF = 0xFF
LP_HDR_SIZE = 6
LP_HDR_NUMELE_UNKNOWN = 0xFFFF

_HDR = struct.Struct("<IH")
_unpack_hdr = _HDR.unpack_from
_pack_hdr = _HDR.pack
_unpack_u32 = struct.Struct("<I").unpack_from
_unpack_i16 = struct.Struct("<h").unpack_from
_unpack_i32 = struct.Struct("<i").unpack_from
_unpack_i64 = struct.Struct("<q").unpack_from
_pack_u32 = struct.Struct("<I").pack
_pack_i16 = struct.Struct("<h").pack
_pack_i32 = struct.Struct("<i").pack
_pack_i64 = struct.Struct("<q").pack

_SMALL_INT = tuple(range(128))
_SMALL_TEXT = tuple(b"%d" % i for i in range(128))
# Decimal text of every 13-bit entry, indexed by its raw 13 bits (two's complement).
_INT13_TEXT = tuple(b"%d" % (u - 8192 if u >= 4096 else u) for u in range(8192))
# Whole entries (encoding + backlen) for the 7-bit uints, the commonest case.
_SMALL_ENTRY = tuple(bytes((i, 1)) for i in range(128))


def _encode_backlen(size: int) -> bytes:
    """Backlen bytes for an entry of ``size`` bytes (lpEncodeBacklen thresholds)."""
    if size <= 127:
        return bytes((size,))
    if size < 16383:
        return bytes((size >> 7, (size & 127) | 128))
    if size < 2097151:
        return bytes((size >> 14, ((size >> 7) & 127) | 128, (size & 127) | 128))
    if size < 268435455:
        return bytes(
            (size >> 21, ((size >> 14) & 127) | 128, ((size >> 7) & 127) | 128, (size & 127) | 128)
        )
    return bytes(
        (
            size >> 28,
            ((size >> 21) & 127) | 128,
            ((size >> 14) & 127) | 128,
            ((size >> 7) & 127) | 128,
            (size & 127) | 128,
        )
    )


def _bad_backlen(buf: bytes, pos: int, size: int, index: int, end: int) -> BadEncoding:
    """Error for entry ``index`` at ``pos`` whose backlen does not follow ``size`` bytes."""
    q = pos + size
    if q >= end:
        return BadEncoding(
            f"listpack entry {index} at offset {pos} needs {size} bytes plus backlen "
            f"but only {end - pos} remain before the end marker",
            offset=pos,
        )
    want = _encode_backlen(size)
    found = buf[q : q + len(want)]
    return BadEncoding(
        f"listpack entry {index} at offset {pos}: backlen {found.hex()} does not match "
        f"entry size {size} (expected {want.hex()})",
        offset=q,
    )


def _bad_byte(pos: int, b0: int, index: int, end: int) -> BadEncoding:
    """Error for a 0xF5..0xFF first byte where entry ``index`` should start."""
    if b0 == LP_EOF:
        return BadEncoding(
            f"listpack end marker at offset {pos}, {end - pos} bytes before the end "
            f"(after {index} entries)",
            offset=pos,
        )
    return BadEncoding(
        f"listpack entry {index} at offset {pos}: invalid encoding byte 0x{b0:02x} "
        f"(0xf5..0xfe are not defined)",
        offset=pos,
    )


def _check_header(buf: bytes) -> tuple[int, int]:
    n = len(buf)
    if n < LP_HDR_SIZE + 1:
        raise BadEncoding(f"listpack of {n} bytes is shorter than the 7-byte minimum", offset=0)
    total, count = _unpack_hdr(buf, 0)
    if total != n:
        raise BadEncoding(f"listpack header says {total} bytes but the blob has {n}", offset=0)
    if buf[n - 1] != LP_EOF:
        raise BadEncoding(
            f"listpack does not end with 0xff (last byte is 0x{buf[n - 1]:02x})", offset=n - 1
        )
    return n - 1, count


def _decode(blob: bytes | bytearray | memoryview, text: bool) -> list[Any]:
    buf = blob if type(blob) is bytes else bytes(blob)
    end, count = _check_header(buf)
    small = _SMALL_TEXT if text else _SMALL_INT
    out: list[Any] = []
    append = out.append
    unpack_u32 = _unpack_u32
    int13_text = _INT13_TEXT
    pos = LP_HDR_SIZE
    try:
        while pos < end:
            b0 = buf[pos]
            if b0 < 0x80:  # 7-bit uint
                if buf[pos + 1] != 1:
                    raise _bad_backlen(buf, pos, 1, len(out), end)
                append(small[b0])
                pos += 2
            elif b0 < 0xC0:  # 6-bit string; a 1-byte backlen never equals the 0xFF marker
                size = b0 - 0x7F  # 1 + (b0 & 0x3F)
                q = pos + size
                if buf[q] != size:
                    raise _bad_backlen(buf, pos, size, len(out), end)
                append(buf[pos + 1 : q])
                pos = q + 1
            elif b0 < 0xE0:  # 13-bit int
                if buf[pos + 2] != 2:
                    raise _bad_backlen(buf, pos, 2, len(out), end)
                if text:
                    append(int13_text[((b0 & 0x1F) << 8) | buf[pos + 1]])
                else:
                    v = ((b0 & 0x1F) << 8) | buf[pos + 1]
                    append(v - 8192 if v >= 4096 else v)
                pos += 3
            elif b0 < 0xF0 or b0 == LP_ENCODING_32BIT_STR:  # 12-bit / 32-bit string
                if b0 < 0xF0:
                    d = pos + 2
                    q = d + (((b0 & 0x0F) << 8) | buf[pos + 1])
                else:
                    d = pos + 5
                    q = d + unpack_u32(buf, pos + 1)[0]
                    if q >= end:
                        raise _bad_backlen(buf, pos, q - pos, len(out), end)
                size = q - pos
                if size <= 127:
                    if buf[q] != size:
                        raise _bad_backlen(buf, pos, size, len(out), end)
                    nxt = q + 1
                else:
                    want = _encode_backlen(size)
                    nxt = q + len(want)
                    if buf[q:nxt] != want:
                        raise _bad_backlen(buf, pos, size, len(out), end)
                append(buf[d:q])
                pos = nxt
            elif b0 <= LP_ENCODING_64BIT_INT:  # 16/24/32/64-bit int
                if b0 == LP_ENCODING_16BIT_INT:
                    v = _unpack_i16(buf, pos + 1)[0]
                    size = 3
                elif b0 == LP_ENCODING_24BIT_INT:
                    v = buf[pos + 1] | (buf[pos + 2] << 8) | (buf[pos + 3] << 16)
                    if v >= 0x800000:
                        v -= 0x1000000
                    size = 4
                elif b0 == LP_ENCODING_32BIT_INT:
                    v = _unpack_i32(buf, pos + 1)[0]
                    size = 5
                else:
                    v = _unpack_i64(buf, pos + 1)[0]
                    size = 9
                if buf[pos + size] != size:
                    raise _bad_backlen(buf, pos, size, len(out), end)
                append(b"%d" % v if text else v)
                pos += size + 1
            else:
                raise _bad_byte(pos, b0, len(out), end)
    except (IndexError, struct.error) as exc:
        raise BadEncoding(
            f"listpack entry {len(out)} at offset {pos} runs past the end of the blob",
            offset=pos,
        ) from exc
    if pos != end:
        # Only a multi-byte backlen that swallowed the 0xFF marker gets here.
        raise BadEncoding(
            f"listpack entry {len(out) - 1} overlaps the end marker at offset {end}", offset=end
        )
    if count != LP_HDR_NUMELE_UNKNOWN and count != len(out):
        raise BadEncoding(
            f"listpack header counts {count} entries but {len(out)} were found", offset=4
        )
    return out


def decode_listpack(blob: bytes | bytearray | memoryview) -> list[bytes | int]:
    """Entries of a listpack: strings as bytes, integer entries as int."""
    return _decode(blob, False)


def decode_listpack_strings(blob: bytes | bytearray | memoryview) -> list[bytes]:
    """Entries of a listpack as bytes, integers as their decimal text (lists, sets, hashes)."""
    return _decode(blob, True)


def _encode_int(v: int) -> bytes:
    """Entry (encoding + data + backlen) for ``v``, smallest form as lpEncodeGetType."""
    if 0 <= v <= 127:
        return _SMALL_ENTRY[v]
    if -4096 <= v <= 4095:
        u = v & 0x1FFF
        return bytes((LP_ENCODING_13BIT_INT | (u >> 8), u & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + _pack_i16(v) + b"\x03"
    if -8388608 <= v <= 8388607:
        u = v & 0xFFFFFF
        return bytes((LP_ENCODING_24BIT_INT, u & 0xFF, (u >> 8) & 0xFF, u >> 16, 4))
    if -2147483648 <= v <= 2147483647:
        return b"\xf3" + _pack_i32(v) + b"\x05"
    if INT64_MIN <= v <= INT64_MAX:
        return b"\xf4" + _pack_i64(v) + b"\x09"
    raise RdbEncodeError(f"integer {v} does not fit a listpack int64 entry")


def _encode_str(s: bytes) -> bytes:
    n = len(s)
    if n < 64:
        size = n + 1
        head = bytes((LP_ENCODING_6BIT_STR | n,))
    elif n < 4096:
        size = n + 2
        head = bytes((LP_ENCODING_12BIT_STR | (n >> 8), n & 0xFF))
    else:
        if n > 0xFFFFFFFF:
            raise RdbEncodeError(f"string of {n} bytes does not fit a listpack entry")
        size = n + 5
        head = b"\xf0" + _pack_u32(n)
    if size <= 127:
        return head + s + bytes((size,))
    return head + s + _encode_backlen(size)


def encode_listpack(items: Iterable[bytes | int]) -> bytes:
    """A listpack holding ``items`` in order, byte-identical to Redis's lpAppend."""
    parts: list[bytes] = []
    append = parts.append
    encode_int = _encode_int
    encode_str = _encode_str
    to_int = string2ll
    for item in items:
        if isinstance(item, int):
            append(encode_int(item))
            continue
        if type(item) is not bytes:
            item = bytes(item)
        v = to_int(item)
        append(encode_str(item) if v is None else encode_int(v))
    body = b"".join(parts)
    total = LP_HDR_SIZE + len(body) + 1
    if total > 0xFFFFFFFF:
        raise RdbEncodeError(f"listpack of {total} bytes exceeds the 32-bit size field")
    count = len(parts)
    header = _pack_hdr(total, count if count < LP_HDR_NUMELE_UNKNOWN else LP_HDR_NUMELE_UNKNOWN)
    return header + body + b"\xff"


def lp_backlen_size(size: int) -> int:
    """Bytes of the backlen that follows an entry of ``size`` bytes (encoding + data)."""
    if size <= 127:
        return 1
    if size < 16383:
        return 2
    if size < 2097151:
        return 3
    if size < 268435455:
        return 4
    return 5


def lp_int_entry_size(v: int) -> int:
    """Bytes of a listpack integer entry, backlen included (lpEncodeGetType)."""
    if 0 <= v <= 127:
        return 2
    if -4096 <= v <= 4095:
        return 3
    if -32768 <= v <= 32767:
        return 4
    if -8388608 <= v <= 8388607:
        return 5
    if -2147483648 <= v <= 2147483647:
        return 6
    return 10


def lp_entry_size(item: bytes) -> int:
    """Bytes a listpack entry for ``item`` takes, backlen included; canonical integers
    are stored as integers, as ``encode_listpack`` does."""
    if len(item) <= 20:
        v = string2ll(item)
        if v is not None:
            return lp_int_entry_size(v)
    n = len(item)
    size = n + (1 if n < 64 else 2 if n < 4096 else 5)
    return size + lp_backlen_size(size)


def lp_entries_size_py(items: list[bytes], start: int, step: int) -> int:
    """The bytes ``items[start::step]`` take as listpack entries (backlens included)."""
    return sum(lp_entry_size(x) for x in items[start::step])


__all__ = [
    "lp_backlen_size",
    "lp_entries_size_py",
    "lp_entry_size",
    "lp_int_entry_size",
    "LP_ENCODING_12BIT_STR",
    "LP_ENCODING_13BIT_INT",
    "LP_ENCODING_16BIT_INT",
    "LP_ENCODING_24BIT_INT",
    "LP_ENCODING_32BIT_INT",
    "LP_ENCODING_32BIT_STR",
    "LP_ENCODING_64BIT_INT",
    "LP_ENCODING_6BIT_STR",
    "LP_ENCODING_7BIT_UINT",
    "LP_EOF",
    "LP_HDR_NUMELE_UNKNOWN",
    "LP_HDR_SIZE",
    "decode_listpack",
    "decode_listpack_strings",
    "encode_listpack",
]
