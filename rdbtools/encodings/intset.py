"""intset: the sorted integer array behind RDB type 11 (small all-integer sets).

Wire form (docs/formats.md §3.3; mirrors Redis's ``intset.c``)::

    <encoding u32 LE = 2|4|8> <length u32 LE> <length × signed int of that width, LE>

Members are strictly ascending and the set is never empty. Redis only ever
widens an intset, so a real blob may use a wider encoding than its members
need (after SREM of the big one); decoding accepts any of the three widths,
encoding picks the smallest that holds every member (``_intsetValueEncoding``).

Decoding validates what ``intsetValidateIntegrity`` (deep) checks: known
encoding, ``8 + length × width`` equals the blob size, non-empty, strictly
ascending. ``BadEncoding.offset`` is relative to the blob start.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from operator import lt

from rdbtools.errors import BadEncoding, RdbEncodeError
from rdbtools.numbers import INT64_MAX, INT64_MIN

INTSET_ENC_INT16 = 2
INTSET_ENC_INT32 = 4
INTSET_ENC_INT64 = 8
INTSET_HEADER_SIZE = 8

_HDR = struct.Struct("<II")
_unpack_hdr = _HDR.unpack_from
_pack_hdr = _HDR.pack
_CODE = {INTSET_ENC_INT16: "h", INTSET_ENC_INT32: "i", INTSET_ENC_INT64: "q"}


def decode_intset(blob: bytes | bytearray | memoryview) -> list[int]:
    """Members of an intset, ascending."""
    n = len(blob)
    if n < INTSET_HEADER_SIZE:
        raise BadEncoding(f"intset of {n} bytes is shorter than its 8-byte header", offset=0)
    width, length = _unpack_hdr(blob, 0)
    code = _CODE.get(width)
    if code is None:
        raise BadEncoding(f"intset encoding {width} is not 2, 4 or 8", offset=0)
    if INTSET_HEADER_SIZE + length * width != n:
        raise BadEncoding(
            f"intset of {length} × {width}-byte members needs "
            f"{INTSET_HEADER_SIZE + length * width} bytes but the blob has {n}",
            offset=4,
        )
    if length == 0:
        raise BadEncoding("intset is empty", offset=4)
    values = struct.unpack_from(f"<{length}{code}", blob, INTSET_HEADER_SIZE)
    if not all(map(lt, values, values[1:])):
        i = next(i for i in range(1, length) if values[i] <= values[i - 1])
        raise BadEncoding(
            f"intset member {i} ({values[i]}) is not greater than the one before ({values[i - 1]})",
            offset=INTSET_HEADER_SIZE + i * width,
        )
    return list(values)


def decode_intset_strings(blob: bytes | bytearray | memoryview) -> list[bytes]:
    """Members as decimal text, the form sets hold them in."""
    return [b"%d" % v for v in decode_intset(blob)]


def encode_intset(values: Iterable[int]) -> bytes:
    """An intset of ``values`` (sorted, duplicates dropped), smallest width holding all."""
    members = sorted(set(values))
    if not members:
        raise RdbEncodeError("an intset cannot be empty")
    lo, hi = members[0], members[-1]
    if lo < INT64_MIN or hi > INT64_MAX:
        raise RdbEncodeError(f"intset member out of int64 range ({lo}..{hi})")
    if lo < -2147483648 or hi > 2147483647:
        width = INTSET_ENC_INT64
    elif lo < -32768 or hi > 32767:
        width = INTSET_ENC_INT32
    else:
        width = INTSET_ENC_INT16
    n = len(members)
    return _pack_hdr(width, n) + struct.pack(f"<{n}{_CODE[width]}", *members)

__all__ = [
    "decode_intset_strings",
    "INTSET_ENC_INT16",
    "INTSET_ENC_INT32",
    "INTSET_ENC_INT64",
    "INTSET_HEADER_SIZE",
    "decode_intset",
    "encode_intset",
]
