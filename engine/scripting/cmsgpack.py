"""``cmsgpack.unpack*`` as lua-cmsgpack 0.4.0 (Redis's ``deps/lua/src/lua_cmsgpack.c``) decodes.

The C decoder recurses into arrays and maps and pushes every value on the Lua
stack of the calling C function, so the only nesting limit is that stack:
``luaL_checkstack`` fails once a push would take it past ``LUAI_MAXCSTACK``
(8000 slots) and the script gets ``stack overflow (<where>)``. This decoder is a
loop over an explicit stack (no Python recursion, so any nesting depth is safe)
that keeps the same slot count, so it gives up at the same depth and with the
same message: ``mp_decode_to_lua_type`` needs one slot for its value,
``mp_decode_to_lua_array`` one more under the new table, an array element
sits two slots above its table's level, a map key one and a map value two.
"""

from __future__ import annotations

import math
import struct
from typing import Any

LUAI_MAXCSTACK = 8000
TOO_MANY = "too many return values at once; use unpack_one or unpack_limit instead."

_NUM = {0xCC: struct.Struct(">B"), 0xCD: struct.Struct(">H"), 0xCE: struct.Struct(">I"),
        0xCF: struct.Struct(">Q"), 0xD0: struct.Struct(">b"), 0xD1: struct.Struct(">h"),
        0xD2: struct.Struct(">i"), 0xD3: struct.Struct(">q"), 0xCA: struct.Struct(">f"),
        0xCB: struct.Struct(">d")}
_LEN = {0xD9: (1, 0), 0xC4: (1, 0), 0xDA: (2, 0), 0xC5: (2, 0), 0xDB: (4, 0), 0xC6: (4, 0),
        0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}  # header bytes, 0 str / 1 array / 2 map


class MsgpackEOF(Exception):
    """MP_CUR_ERROR_EOF: "Missing bytes in input."."""


class MsgpackBadFormat(Exception):
    """MP_CUR_ERROR_BADFMT: "Bad data format in input."."""


class MsgpackStackOverflow(Exception):
    """luaL_checkstack failed: the message is ``stack overflow (<where>)``."""

    def __init__(self, where: str) -> None:
        super().__init__(f"stack overflow ({where})")


class MsgpackTableIndex(Exception):
    """lua_settable with a nil or NaN map key (a runtime error without position)."""


def _need(s: bytes, p: int, n: int) -> None:
    if len(s) - p < n:
        raise MsgpackEOF


def decode_value(s: bytes, p: int, top: int, new_table: Any) -> tuple[Any, int]:
    """One value at ``s[p:]`` whose slot would be ``top + 1``; returns (value, next offset)."""
    frames: list[list[Any]] = []  # [table, is_map, remaining, next index | pending key, level, want_key]
    while True:
        _need(s, p, 1)
        if top + 1 > LUAI_MAXCSTACK:
            raise MsgpackStackOverflow(TOO_MANY)
        c = s[p]
        count = -1  # >= 0: a container header was read
        is_map = False
        if c <= 0x7F:
            value, p = c, p + 1
        elif c >= 0xE0:
            value, p = c - 256, p + 1
        elif c <= 0x8F:
            count, is_map, p = c & 0x0F, True, p + 1
        elif c <= 0x9F:
            count, p = c & 0x0F, p + 1
        elif c <= 0xBF:
            n = c & 0x1F
            _need(s, p, 1 + n)
            value, p = s[p + 1:p + 1 + n], p + 1 + n
        elif c == 0xC0:
            value, p = None, p + 1
        elif c == 0xC2 or c == 0xC3:
            value, p = c == 0xC3, p + 1
        elif c in _NUM:
            fmt = _NUM[c]
            _need(s, p, 1 + fmt.size)
            value, p = fmt.unpack_from(s, p + 1)[0], p + 1 + fmt.size
        elif c in _LEN:
            width, kind = _LEN[c]
            _need(s, p, 1 + width)
            n = int.from_bytes(s[p + 1:p + 1 + width], "big")
            p += 1 + width
            if kind == 0:
                _need(s, p, n)
                value, p = s[p:p + n], p + n
            else:
                count, is_map = n, kind == 2
        else:
            raise MsgpackBadFormat
        if count >= 0:
            table = new_table()
            if not is_map and top + 2 > LUAI_MAXCSTACK:
                raise MsgpackStackOverflow("in function mp_decode_to_lua_array")
            if count:
                frames.append([table, is_map, count, None if is_map else 1, top, True])
                top += 1 if is_map else 2
                continue
            value = table
        while frames:  # hand the finished value to its container
            f = frames[-1]
            table, is_map, level = f[0], f[1], f[4]
            if not is_map:
                table[f[3]] = value
                f[3] += 1
            elif f[5]:
                f[3], f[5] = value, False
                top = level + 2
                break
            else:
                key = f[3]
                if key is None:
                    raise MsgpackTableIndex("table index is nil")
                if isinstance(key, float) and math.isnan(key):
                    raise MsgpackTableIndex("table index is NaN")
                table[key] = value
                f[5] = True
            f[2] -= 1
            if f[2]:
                top = level + (1 if is_map else 2)
                break
            frames.pop()
            value = table
        else:
            return value, p


def decode_stream(s: bytes, offset: int, limit: int, base: int, new_table: Any) -> tuple[list[Any], int]:
    """mp_unpack_full's loop: up to ``limit`` values (0: all) from ``offset``; ``base`` is
    the C function's stack top. Returns the values and the next offset (-1 at the end)."""
    values: list[Any] = []
    p = offset
    while p < len(s) and (limit <= 0 or len(values) < limit):
        v, p = decode_value(s, p, base + len(values), new_table)
        values.append(v)
    return values, (-1 if p >= len(s) else p)


__all__ = ["LUAI_MAXCSTACK", "MsgpackBadFormat", "MsgpackEOF", "MsgpackStackOverflow",
           "MsgpackTableIndex", "decode_stream", "decode_value"]
