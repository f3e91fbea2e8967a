"""zipmap: the small-hash blob of RDB type 9, written only by Redis ≤ 2.4.

Wire form (docs/formats.md §3.1; mirrors Redis's ``zipmap.c``)::

    <zmlen u8> { <len> key <len> <free u8> value <free bytes> }* 0xFF
    len = one byte 0..253, or 0xFE + u32 LE;  0xFF is the end marker

``zmlen`` is the pair count when < 254; 254 means "count by walking". ``free``
is slack left after a value shrank; it is skipped.

Decoding validates what ``zipmapValidateIntegrity`` (deep) checks, plus that
0xFF sits only at the very end: every key, value and free run stays inside the
blob, the zipmap is not empty, and zmlen (unless 254) equals the pair count.
Duplicate fields are the hash loader's business. ``BadEncoding.offset`` is
relative to the blob start.

``encode_zipmap`` exists for round-trip tests and old targets (free = 0).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from rdbtools.errors import BadEncoding, RdbEncodeError

ZIPMAP_BIGLEN = 254
ZIPMAP_END = 255

_unpack_u32 = struct.Struct("<I").unpack_from
_pack_u32 = struct.Struct("<I").pack


def _bad_pair(start: int, index: int, what: str, size: int | None) -> BadEncoding:
    if size is None:
        return BadEncoding(f"zipmap pair {index} at offset {start}: {what}", offset=start)
    return BadEncoding(
        f"zipmap pair {index} at offset {start}: {what} ({size} bytes) runs past the end",
        offset=start,
    )


def decode_zipmap(blob: bytes | bytearray | memoryview) -> list[tuple[bytes, bytes]]:
    """(field, value) pairs of a zipmap, in stored order."""
    buf = blob if type(blob) is bytes else bytes(blob)
    n = len(buf)
    if n < 2:
        raise BadEncoding(f"zipmap of {n} bytes is shorter than the 2-byte minimum", offset=0)
    end = n - 1
    if buf[end] != ZIPMAP_END:
        raise BadEncoding(
            f"zipmap does not end with 0xff (last byte is 0x{buf[end]:02x})", offset=end
        )
    out: list[tuple[bytes, bytes]] = []
    append = out.append
    pos = start = 1
    try:
        while True:
            start = pos
            b = buf[pos]
            if b == ZIPMAP_END:
                break
            if b < ZIPMAP_BIGLEN:
                k = pos + 1
            else:
                b = _unpack_u32(buf, pos + 1)[0]
                k = pos + 5
            pos = k + b
            if pos >= end:
                raise _bad_pair(start, len(out), "key", b)
            vlen = buf[pos]
            if vlen < ZIPMAP_BIGLEN:
                pos += 1
            elif vlen == ZIPMAP_BIGLEN:
                vlen = _unpack_u32(buf, pos + 1)[0]
                pos += 5
            else:
                raise _bad_pair(start, len(out), "end marker 0xff as value length", None)
            v = pos + 1
            pos = v + vlen + buf[pos]  # value plus free bytes
            if pos > end:
                raise _bad_pair(start, len(out), "value plus free bytes", pos - v)
            append((buf[k : k + b], buf[v : v + vlen]))
    except (IndexError, struct.error) as exc:
        raise BadEncoding(
            f"zipmap pair {len(out)} at offset {start} runs past the end of the blob",
            offset=start,
        ) from exc
    if pos != end:
        raise BadEncoding(
            f"zipmap end marker at offset {pos}, {end - pos} bytes before the end", offset=pos
        )
    if not out:
        raise BadEncoding("zipmap is empty", offset=0)
    zmlen = buf[0]
    if zmlen != ZIPMAP_BIGLEN and zmlen != len(out):
        raise BadEncoding(f"zipmap header counts {zmlen} pairs but {len(out)} were found", offset=0)
    return out


def _encode_len(n: int) -> bytes:
    if n < ZIPMAP_BIGLEN:
        return bytes((n,))
    if n > 0xFFFFFFFF:
        raise RdbEncodeError(f"string of {n} bytes does not fit a zipmap entry")
    return b"\xfe" + _pack_u32(n)


def encode_zipmap(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """A zipmap of ``pairs`` in order, as zipmapSet builds it (no free bytes)."""
    parts: list[bytes] = []
    append = parts.append
    count = 0
    for field, value in pairs:
        field = bytes(field)
        value = bytes(value)
        append(_encode_len(len(field)))
        append(field)
        append(_encode_len(len(value)))
        append(b"\x00")
        append(value)
        count += 1
    if not count:
        raise RdbEncodeError("a zipmap cannot be empty")
    return bytes((min(count, ZIPMAP_BIGLEN),)) + b"".join(parts) + b"\xff"


__all__ = ["ZIPMAP_BIGLEN", "ZIPMAP_END", "decode_zipmap", "encode_zipmap"]
