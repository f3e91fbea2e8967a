"""The libraries Redis bundles with its Lua (cjson, bit, cmsgpack, struct).

Stock Lua 5.1 from lupa has none of them, so each is rebuilt here: the parts that
walk Lua values (``cjson.encode``) are Lua, the byte-level codecs are Python
helpers wrapped by small Lua functions (so ``type(bit.band)`` is ``"function"``
as in Redis). Behaviour follows the versions Redis 7.0 vendors under
``deps/lua/src``: lua-cjson 2.1.0 (``%.14g`` numbers, ``\\/`` escaped, sparse
array refusal), LuaBitOp 1.0.2 (32-bit results, round-to-nearest argument
normalisation), lua-cmsgpack 0.4.0 (smallest integer/float encodings, tables
with keys 1..n as arrays) and Roberto Ierusalimschy's struct 0.2.
"""

from __future__ import annotations

import math
import re
import struct as _struct
from typing import Any

from lupa import lua51

from engine.scripting.cmsgpack import (
    LUAI_MAXCSTACK,
    MsgpackBadFormat,
    MsgpackEOF,
    MsgpackStackOverflow,
    MsgpackTableIndex,
    decode_stream,
)
from engine.scripting.errors import LuaWhereError

_lua_type = lua51.lua_type

LIBS_LUA = r"""
local py = ...
-- python.as_function: a Python callable as a Lua C function (type "function", no
-- Python object for a script to index); the prelude does the same for its API
local cf = python.as_function
local type, error, tostring, select, pcall, next, rawget = type, error, tostring, select, pcall, next, rawget
local sfmt, sbyte, schar, sgsub, concat = string.format, string.byte, string.char, string.gsub, table.concat
local huge, floor = math.huge, math.floor
local unpack, ipairs = unpack, ipairs
local NULL = newproxy(false)

------------------------------------------------------------------ cjson
local ESC = {['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\b'] = '\\b', ['\f'] = '\\f',
             ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t'}
for i = 0, 31 do
  local c = schar(i)
  if not ESC[c] then ESC[c] = sfmt('\\u%04x', i) end
end
local function esc(s) return '"' .. sgsub(s, '[%c"\\/]', function(c) return ESC[c] or c end) .. '"' end

-- the encoder's settings (json_config_t), read from Python once per cjson.encode call
local MAXDEPTH, CONVERT, RATIO, SAFE, INVALID, NUMFMT = 1000, false, 2, 10, 0, '%.14g'

local function num(n)  -- json_append_number
  if n ~= n or n == huge or n == -huge then
    if INVALID == 0 then error('Cannot serialise number: must not be NaN or Inf', 0) end
    if INVALID == 2 then return 'null' end
    if n ~= n then return 'nan' end
  end
  return sfmt(NUMFMT, n)
end

local enc
enc = function(v, depth, out)
  local t = type(v)
  if t == 'string' then out[#out + 1] = esc(v)
  elseif t == 'number' then out[#out + 1] = num(v)
  elseif t == 'boolean' then out[#out + 1] = v and 'true' or 'false'
  elseif t == 'nil' or v == NULL then out[#out + 1] = 'null'
  elseif t == 'table' then
    depth = depth + 1
    if depth > MAXDEPTH then error('Cannot serialise, excessive nesting (' .. depth .. ')', 0) end
    local max, items, array = 0, 0, true
    for k in next, v do
      if type(k) == 'number' and k > 0 and floor(k) == k then
        if k > max then max = k end
        items = items + 1
      else
        array = false
        break
      end
    end
    if array and RATIO > 0 and max > items * RATIO and max > SAFE then
      if not CONVERT then error('Cannot serialise table: excessively sparse array', 0) end
      array = false
    end
    if array and max > 0 then
      out[#out + 1] = '['
      for i = 1, max do
        if i > 1 then out[#out + 1] = ',' end
        enc(rawget(v, i), depth, out)
      end
      out[#out + 1] = ']'
    else
      out[#out + 1] = '{'
      local first = true
      for k, x in next, v do
        if not first then out[#out + 1] = ',' end
        first = false
        local kt = type(k)
        if kt == 'string' then out[#out + 1] = esc(k)
        elseif kt == 'number' then out[#out + 1] = '"' .. num(k) .. '"'
        else error('Cannot serialise table: table key must be a number or string', 0) end
        out[#out + 1] = ':'
        enc(x, depth, out)
      end
      out[#out + 1] = '}'
    end
  else
    error('Cannot serialise ' .. t .. ': type not supported', 0)
  end
end

local cjson = {null = NULL, _NAME = 'cjson', _VERSION = '2.1.0'}
-- the encoder returns its status; the Python trampoline raises (a C function to Lua)
cjson.encode = cf(py.cfunc(function(...)
  if select('#', ...) ~= 1 then return false, "bad argument #1 to 'encode' (expected 1 argument)" end
  local v = ...
  local out = {}
  local prec
  MAXDEPTH, CONVERT, RATIO, SAFE, INVALID, prec = py.json_settings()
  NUMFMT = '%.' .. prec .. 'g'
  local ok, err = pcall(enc, v, 0, out)
  if not ok then return false, err end
  return true, concat(out)
end))
cjson.decode = cf(py.json_decode)
for _, name in ipairs({'encode_sparse_array', 'encode_max_depth', 'decode_max_depth',
                       'encode_number_precision', 'encode_keep_buffer', 'encode_invalid_numbers',
                       'decode_invalid_numbers'}) do
  cjson[name] = cf(py.json_config[name])
end

------------------------------------------------------------------ bit
local bit = {}
for _, name in ipairs({'tobit', 'tohex', 'bnot', 'band', 'bor', 'bxor', 'lshift', 'rshift',
                       'arshift', 'rol', 'ror', 'bswap'}) do
  bit[name] = cf(py.bit[name])
end

------------------------------------------------------------------ cmsgpack
local cmsgpack = {_NAME = 'cmsgpack', _VERSION = 'lua-cmsgpack 0.4.0',
                  _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo',
                  _DESCRIPTION = 'MessagePack C implementation for Lua',
                  pack = cf(py.msgpack.pack), unpack = cf(py.msgpack.unpack),
                  unpack_one = cf(py.msgpack.unpack_one), unpack_limit = cf(py.msgpack.unpack_limit)}

------------------------------------------------------------------ struct
local struct = {pack = cf(py.struct.pack), unpack = cf(py.struct.unpack), size = cf(py.struct.size)}

return {cjson = cjson, bit = bit, cmsgpack = cmsgpack, struct = struct}, NULL
"""


class LuaLibs:
    """Python halves of the bundled libraries, bound to one LuaRuntime."""

    def __init__(self, rt: Any, guard: Any) -> None:
        self.rt = rt
        self.guard = guard  # gives a raised LuaWhereError its caller's position
        self.null: Any = None  # cjson.null, set once the Lua half exists
        self.json = JsonConfig()

    def install(self) -> Any:
        """Run the Lua half; returns the table of library tables."""
        rt = self.rt
        g = self.guard
        helpers = rt.table_from({
            b"cfunc": self.cfunc,
            b"json_decode": g(self.json_decode),
            b"json_settings": self.json.settings,
            b"json_config": rt.table_from({name.encode(): g(self.json.option_function(name))
                                           for name in _JSON_OPTIONS}),
            b"bit": rt.table_from({k.encode(): g(_bit_op(k)) for k in _BIT_OPS}),
            b"msgpack": rt.table_from({b"pack": g(self.mp_pack), b"unpack": g(self.mp_unpack),
                                       b"unpack_one": g(self.mp_unpack_one),
                                       b"unpack_limit": g(self.mp_unpack_limit)}),
            b"struct": rt.table_from({b"pack": g(self.st_pack), b"unpack": g(self.st_unpack),
                                      b"size": g(self.st_size)}),
        })
        loader = rt.globals().loadstring(LIBS_LUA.encode(), b"=?redis")
        libs, self.null = loader(helpers)
        return libs

    def cfunc(self, f: Any) -> Any:
        """A Lua function returning (ok, value) as a C function that raises."""

        def call(*args: Any) -> Any:
            ok, value = f(*args)
            if not ok:
                raise LuaWhereError(value)
            return value

        return self.guard(call)

    # -- cjson.decode ----------------------------------------------------------
    def json_decode(self, *args: Any) -> Any:
        if len(args) != 1:
            raise LuaWhereError("bad argument #1 to 'decode' (expected 1 argument)")
        s = args[0]
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            s = _num_text(s)
        if not isinstance(s, bytes):
            raise LuaWhereError(f"bad argument #1 to 'decode' (string expected, got {_tname(s)})")
        return _JsonDecoder(self, s).decode()

    # -- cmsgpack ---------------------------------------------------------------
    def mp_pack(self, *args: Any) -> bytes:
        if not args:
            raise LuaWhereError("bad argument #0 to 'pack' (MessagePack pack needs input.)")
        out = bytearray()
        for a in args:
            _mp_encode(a, out, 0)
        return bytes(out)

    def mp_unpack(self, *args: Any) -> Any:
        return self._mp_unpack(args, "unpack", 0, 0, len(args))

    def mp_unpack_one(self, *args: Any) -> Any:
        offset = int(args[1] or 0) if len(args) > 1 else 0
        return self._mp_unpack(args, "unpack_one", 1, offset, 1)

    def mp_unpack_limit(self, *args: Any) -> Any:
        limit = int(args[1] or 0) if len(args) > 1 else 0
        offset = int(args[2] or 0) if len(args) > 2 else 0
        return self._mp_unpack(args, "unpack_limit", limit, offset, 1)

    def _mp_unpack(self, args: tuple[Any, ...], fn: str, limit: int, offset: int, base: int) -> Any:
        """mp_unpack_full: ``base`` is the C function's stack top (its arguments)."""
        s = args[0] if args else None
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            s = _num_text(s)
        if not isinstance(s, bytes):
            got = "no value" if not args else _tname(s) if s is not None else "nil"
            raise LuaWhereError(f"bad argument #1 to '{fn}' (string expected, got {got})")
        if offset < 0 or limit < 0:
            raise LuaWhereError(f"Invalid request to unpack with offset of {offset} and limit of {len(s)}.")
        if offset > len(s):
            raise LuaWhereError(f"Start offset {offset} greater than input length {len(s)}.")
        decode_all = not limit and not offset
        try:
            values, pos = decode_stream(s, offset, 0 if decode_all else limit, base, self.rt.table)
        except MsgpackEOF:
            raise LuaWhereError("Missing bytes in input.") from None
        except MsgpackBadFormat:
            raise LuaWhereError("Bad data format in input.") from None
        except MsgpackStackOverflow as exc:
            raise LuaWhereError(str(exc)) from None
        except MsgpackTableIndex as exc:
            raise LuaWhereError(str(exc), where=False) from None
        if decode_all:
            return tuple(values)
        if base + len(values) + 1 > LUAI_MAXCSTACK:
            raise LuaWhereError("stack overflow (in function mp_unpack_full)")
        return (pos, *values)

    # -- struct -------------------------------------------------------------------
    def st_pack(self, fmt: Any = None, *args: Any) -> bytes:
        try:
            return _struct_pack(_fmt_arg(fmt, "pack"), list(args))
        except _StructError as exc:
            raise LuaWhereError(str(exc)) from None

    def st_unpack(self, fmt: Any = None, data: Any = None, pos: Any = None) -> Any:
        try:
            if not isinstance(data, bytes):
                raise _StructError("bad argument #2 to 'unpack' (string expected, got "
                                   + _tname(data) + ")")
            start = 1 if pos is None else int(pos)
            if start < 1:
                raise _StructError("bad argument #3 to 'unpack' (offset must be 1 or greater)")
            values, nxt = _struct_unpack(_fmt_arg(fmt, "unpack"), data, start - 1)
        except _StructError as exc:
            raise LuaWhereError(str(exc)) from None
        return (*values, nxt + 1)

    def st_size(self, fmt: Any = None) -> int:
        try:
            return _struct_size(_fmt_arg(fmt, "size"))
        except _StructError as exc:
            raise LuaWhereError(str(exc)) from None


# ----------------------------------------------------------------------------- cjson

_INT_MAX = 2**31 - 1
_ON_OFF = ("off", "on")
# name -> the settings it reads and writes: (attribute, kind, bounds or options)
_JSON_OPTIONS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "encode_sparse_array": (("sparse_convert", "enum", _ON_OFF), ("sparse_ratio", "int", (0, _INT_MAX)),
                            ("sparse_safe", "int", (0, _INT_MAX))),
    "encode_max_depth": (("encode_max_depth", "int", (1, _INT_MAX)),),
    "decode_max_depth": (("decode_max_depth", "int", (1, _INT_MAX)),),
    "encode_number_precision": (("precision", "int", (1, 14)),),
    "encode_keep_buffer": (("keep_buffer", "enum", _ON_OFF),),
    "encode_invalid_numbers": (("encode_invalid_numbers", "enum", ("off", "on", "null")),),
    "decode_invalid_numbers": (("decode_invalid_numbers", "enum", _ON_OFF),),
}


class JsonConfig:
    """lua-cjson's json_config_t: one per Lua state, so a setting a script changes stays
    for the scripts after it (until SCRIPT FLUSH makes a new state), as in Redis."""

    def __init__(self) -> None:
        self.sparse_convert = 0
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.precision = 14
        self.keep_buffer = 1
        self.encode_invalid_numbers = 0
        self.decode_invalid_numbers = 1

    def settings(self) -> tuple[int, bool, int, int, int, int]:
        """What the Lua encoder reads at the start of each cjson.encode."""
        return (self.encode_max_depth, bool(self.sparse_convert), self.sparse_ratio, self.sparse_safe,
                self.encode_invalid_numbers, self.precision)

    def option_function(self, name: str) -> Any:
        """cjson.<name>(...): json_arg_init + json_integer_option / json_enum_option per
        argument; returns the settings after the change."""
        specs = _JSON_OPTIONS[name]

        def option(*args: Any) -> Any:
            if len(args) > len(specs):
                raise LuaWhereError(f"bad argument #{len(specs) + 1} to '{name}' (found too many arguments)")
            out = []
            for i, (attr, kind, arg) in enumerate(specs):
                v = args[i] if i < len(args) else None
                if kind == "int":
                    if v is not None:
                        n = _lua_integer(v, name, i + 1)
                        lo, hi = arg
                        if not lo <= n <= hi:  # luaL_argcheck names argument 1 for all three
                            raise LuaWhereError(f"bad argument #1 to '{name}' (expected integer between "
                                                f"{lo} and {hi})")
                        setattr(self, attr, n)
                    out.append(getattr(self, attr))
                    continue
                if v is not None:
                    if isinstance(v, bool):
                        setattr(self, attr, int(v))
                    else:
                        text = _num_text(v) if isinstance(v, (int, float)) else v
                        if not isinstance(text, bytes):
                            raise LuaWhereError(f"bad argument #{i + 1} to '{name}' (string expected, "
                                                f"got {_tname(v)})")
                        opt = text.decode("latin-1")
                        if opt not in arg:
                            raise LuaWhereError(f"bad argument #{i + 1} to '{name}' (invalid option '{opt}')")
                        setattr(self, attr, arg.index(opt))
                setting = getattr(self, attr)
                out.append(bool(setting) if setting in (0, 1) else arg[setting].encode())
            return tuple(out) if len(out) > 1 else out[0]

        return option


def _lua_integer(v: Any, fn: str, i: int) -> int:
    """luaL_checkinteger: a number, or a string that converts to one (truncated)."""
    if isinstance(v, bool) or not isinstance(v, (int, float, bytes)):
        raise LuaWhereError(f"bad argument #{i} to '{fn}' (number expected, got {_tname(v)})")
    if isinstance(v, bytes):
        try:
            v = float(v.strip())
        except ValueError:
            raise LuaWhereError(f"bad argument #{i} to '{fn}' (number expected, got string)") from None
    if v != v or v in (float("inf"), float("-inf")):
        return -2**63  # lua_number2integer of a NaN/Inf (out of range: refused)
    return int(v)


def _invalid_number(s: bytes, p: int) -> bool:
    """json_is_invalid_number: what strtod takes but strict JSON does not (leading
    '+' or zeros, hex, inf, nan)."""
    if s[p:p + 1] == b"+":
        return True
    if s[p:p + 1] == b"-":
        p += 1
    if s[p:p + 1] == b"0":
        nxt = s[p + 1:p + 2]
        return nxt in (b"x", b"X") or nxt.isdigit()
    if p < len(s) and s[p] <= 57:
        return False
    return s[p:p + 3].lower() in (b"inf", b"nan")



_T_NAMES = ("T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER",
            "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END")
(T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER, T_BOOLEAN, T_NULL, T_COLON,
 T_COMMA, T_END) = range(11)
T_ERROR = -1
_PUNCT = {ord("{"): T_OBJ_BEGIN, ord("}"): T_OBJ_END, ord("["): T_ARR_BEGIN, ord("]"): T_ARR_END,
          ord(":"): T_COLON, ord(","): T_COMMA}
# what strtod() accepts (decode_invalid_numbers is on by default: hex, inf, nan too)
_NUMBER = re.compile(rb"[-+]?(?:0[xX][0-9a-fA-F]+|(?i:inf(?:inity)?|nan)|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("f"): b"\f",
            ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}


class _JsonDecoder:
    """lua-cjson's json_decode: its tokens, its errors ("Expected %s but found %s at character %d")."""

    def __init__(self, libs: LuaLibs, s: bytes) -> None:
        self.libs = libs
        self.s = s
        self.pos = 0
        self.depth = 0

    def decode(self) -> Any:
        v = self.value(self.token())
        tok = self.token()
        if tok[0] != T_END:
            self.fail("the end", tok)
        return v

    def fail(self, expected: str, tok: tuple[int, Any, int]) -> None:
        found = tok[1] if tok[0] == T_ERROR else _T_NAMES[tok[0]]
        raise LuaWhereError(f"Expected {expected} but found {found} at character {tok[2] + 1}")

    def token(self) -> tuple[int, Any, int]:
        s, p = self.s, self.pos
        n = len(s)
        while p < n and s[p] in b" \t\n\r":
            p += 1
        self.pos = p
        if p >= n:
            return (T_END, None, n)
        ch = s[p]
        t = _PUNCT.get(ch)
        if t is not None:
            self.pos = p + 1
            return (t, None, p)
        if ch == 34:
            return self.string(p)
        if s.startswith(b"true", p):
            self.pos = p + 4
            return (T_BOOLEAN, True, p)
        if s.startswith(b"false", p):
            self.pos = p + 5
            return (T_BOOLEAN, False, p)
        if s.startswith(b"null", p):
            self.pos = p + 4
            return (T_NULL, None, p)
        if ch == 45 or 48 <= ch <= 57 or s[p:p + 3].lower() in (b"inf", b"nan"):
            if not self.libs.json.decode_invalid_numbers:
                if ch != 45 and not 48 <= ch <= 57:
                    return (T_ERROR, "invalid token", p)
                if _invalid_number(s, p):
                    return (T_ERROR, "invalid number", p)
            m = _NUMBER.match(s, p)
            if m is None or (ch != 45 and m.group(0)[:1] in b"+"):
                return (T_ERROR, "invalid number", p)
            text = m.group(0)
            self.pos = m.end()
            try:
                v = float(int(text, 16)) if b"x" in text.lower() else float(text)
            except ValueError:
                return (T_ERROR, "invalid number", p)
            return (T_NUMBER, v, p)
        return (T_ERROR, "invalid token", p)

    def string(self, start: int) -> tuple[int, Any, int]:
        s = self.s
        n = len(s)
        p = start + 1
        out = bytearray()
        while True:
            if p >= n:
                return (T_ERROR, "unexpected end of string", n)
            ch = s[p]
            if ch == 34:
                self.pos = p + 1
                return (T_STRING, bytes(out), start)
            if ch != 92:
                out.append(ch)
                p += 1
                continue
            if p + 1 >= n:
                return (T_ERROR, "invalid escape code", p)
            esc = s[p + 1]
            if esc == ord("u"):
                cp, q = self.unicode(p)
                if cp is None:
                    return (T_ERROR, "invalid unicode escape code", p)
                p = q
                out += chr(cp).encode("utf-8", "surrogatepass")
                continue
            rep = _ESCAPES.get(esc)
            if rep is None:
                return (T_ERROR, "invalid escape code", p)
            out += rep
            p += 2

    def unicode(self, p: int) -> tuple[int | None, int]:
        s = self.s
        h = s[p + 2:p + 6]
        if len(h) < 4 or not all(c in b"0123456789abcdefABCDEF" for c in h):
            return None, p
        cp = int(h, 16)
        p += 6
        if 0xD800 <= cp <= 0xDBFF:  # a high surrogate needs its low half
            if s[p:p + 2] != b"\\u":
                return None, p
            h2 = s[p + 2:p + 6]
            if len(h2) < 4 or not all(c in b"0123456789abcdefABCDEF" for c in h2):
                return None, p
            low = int(h2, 16)
            if not 0xDC00 <= low <= 0xDFFF:
                return None, p
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
            p += 6
        elif 0xDC00 <= cp <= 0xDFFF:
            return None, p
        return cp, p

    def value(self, tok: tuple[int, Any, int]) -> Any:
        """json_process_value with the object/array contexts unrolled onto an explicit
        stack, so nesting costs no Python recursion; ``decode_max_depth`` (1000)
        stops it as json_decode_descend does."""
        new_table = self.libs.rt.table
        frames: list[list[Any]] = []  # [table, is_object, key or next index]
        while True:
            t = tok[0]
            if t == T_OBJ_BEGIN or t == T_ARR_BEGIN:
                self.depth += 1
                if self.depth > self.libs.json.decode_max_depth:
                    raise LuaWhereError(f"Found too many nested data structures ({self.depth}) at "
                                        f"character {tok[2] + 1}")
                table = new_table()
                tok = self.token()
                if t == T_OBJ_BEGIN and tok[0] != T_OBJ_END:
                    frames.append([table, True, self.key(tok)])
                    tok = self.token()
                    continue
                if t == T_ARR_BEGIN and tok[0] != T_ARR_END:
                    frames.append([table, False, 1])
                    continue
                self.depth -= 1
                value = table
            elif t == T_STRING or t == T_NUMBER or t == T_BOOLEAN:
                value = tok[1]
            elif t == T_NULL:
                value = self.libs.null
            else:
                self.fail("value", tok)
            while frames:  # store the value, then the container's next token
                f = frames[-1]
                f[0][f[2]] = value
                tok = self.token()
                if f[1]:
                    if tok[0] == T_COMMA:
                        f[2] = self.key(self.token())
                        tok = self.token()
                        break
                    if tok[0] != T_OBJ_END:
                        self.fail("comma or object end", tok)
                else:
                    if tok[0] == T_COMMA:
                        f[2] += 1
                        tok = self.token()
                        break
                    if tok[0] != T_ARR_END:
                        self.fail("comma or array end", tok)
                frames.pop()
                self.depth -= 1
                value = f[0]
            else:
                return value

    def key(self, tok: tuple[int, Any, int]) -> Any:
        """An object member's key and its colon."""
        if tok[0] != T_STRING:
            self.fail("object key string", tok)
        colon = self.token()
        if colon[0] != T_COLON:
            self.fail("colon", colon)
        return tok[1]


# ----------------------------------------------------------------------------- bit

_BIT_OPS = ("tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift",
            "rol", "ror", "bswap")


def _u32(x: Any, name: str, i: int) -> int:
    """LuaBitOp's barg: the number plus 2^52+2^51, low 32 bits (round to nearest even)."""
    orig = x
    if isinstance(x, bytes):
        try:
            x = float(x)
        except ValueError:
            x = None
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise _StructError(f"bad argument #{i} to '{name}' (number expected, got {_tname(orig)})")
    if x != x or x in (math.inf, -math.inf):
        return 0
    return int(round(x)) & 0xFFFFFFFF


def _s32(u: int) -> int:
    u &= 0xFFFFFFFF
    return u - (1 << 32) if u & 0x80000000 else u


def _bit_op(op: str) -> Any:
    def f(*args: Any) -> Any:
        ok, v = _bit(op, *args)
        if not ok:
            raise LuaWhereError(v)
        return v

    return f


def _num_text(x: float) -> bytes:
    """lua_tostring of a number (LUA_NUMBER_FMT %.14g)."""
    return b"%.14g" % x


def _bit(op: str, *args: Any) -> tuple[bool, Any]:
    try:
        if op in ("tobit", "bnot", "bswap"):
            x = _u32(args[0] if args else None, op, 1)
            if op == "tobit":
                return True, _s32(x)
            if op == "bnot":
                return True, _s32(~x)
            return True, _s32(int.from_bytes(x.to_bytes(4, "little"), "big"))
        if op == "tohex":
            x = _u32(args[0] if args else None, op, 1)
            n = 8 if len(args) < 2 or args[1] is None else _s32(_u32(args[1], op, 2))
            digits = "0123456789abcdef"
            if n < 0:
                n = -n
                digits = digits.upper()
            n = min(n, 8)
            out = "".join(digits[(x >> (4 * i)) & 15] for i in range(n - 1, -1, -1))
            return True, out.encode()
        if op in ("band", "bor", "bxor"):
            acc = _u32(args[0] if args else None, op, 1)
            for i, a in enumerate(args[1:], 2):
                v = _u32(a, op, i)
                acc = acc & v if op == "band" else acc | v if op == "bor" else acc ^ v
            return True, _s32(acc)
        x = _u32(args[0] if args else None, op, 1)
        n = _u32(args[1] if len(args) > 1 else None, op, 2) & 31
        if op == "lshift":
            return True, _s32(x << n)
        if op == "rshift":
            return True, _s32(x >> n)
        if op == "arshift":
            return True, _s32(_s32(x) >> n)
        if op == "rol":
            return True, _s32((x << n) | (x >> (32 - n)))
        return True, _s32((x >> n) | (x << (32 - n)))
    except _StructError as exc:
        return False, str(exc).encode()


# ----------------------------------------------------------------------------- cmsgpack

def _mp_encode(v: Any, out: bytearray, depth: int) -> None:
    t = _lua_type(v)
    if isinstance(v, bytes):
        n = len(v)
        if n < 32:
            out.append(0xA0 | n)
        elif n <= 0xFF:
            out += bytes((0xD9, n))
        elif n <= 0xFFFF:
            out += b"\xda" + n.to_bytes(2, "big")
        else:
            out += b"\xdb" + n.to_bytes(4, "big")
        out += v
    elif isinstance(v, bool):
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, (int, float)):
        _mp_number(v, out)
    elif t == "table" and depth < 16:
        _mp_table(v, out, depth)
    else:
        out.append(0xC0)


def _mp_number(x: float, out: bytearray) -> None:
    if isinstance(x, float) and (x != x or x in (math.inf, -math.inf) or x != int(x)
                                 or not -(2 ** 63) <= x < 2 ** 63):
        f = _struct.unpack(">f", _struct.pack(">f", x))[0] if abs(x) < 3.5e38 or x != x else None
        if f is not None and (f == x or x != x):
            out += b"\xca" + _struct.pack(">f", x)
        else:
            out += b"\xcb" + _struct.pack(">d", x)
        return
    n = int(x)
    if n >= 0:
        if n <= 127:
            out.append(n)
        elif n <= 0xFF:
            out += bytes((0xCC, n))
        elif n <= 0xFFFF:
            out += b"\xcd" + n.to_bytes(2, "big")
        elif n <= 0xFFFFFFFF:
            out += b"\xce" + n.to_bytes(4, "big")
        else:
            out += b"\xcf" + n.to_bytes(8, "big")
    elif n >= -32:
        out.append(n & 0xFF)
    elif n >= -128:
        out += b"\xd0" + n.to_bytes(1, "big", signed=True)
    elif n >= -32768:
        out += b"\xd1" + n.to_bytes(2, "big", signed=True)
    elif n >= -2147483648:
        out += b"\xd2" + n.to_bytes(4, "big", signed=True)
    else:
        out += b"\xd3" + n.to_bytes(8, "big", signed=True)


def _mp_table(t: Any, out: bytearray, depth: int) -> None:
    items = list(t.items())
    count = mx = 0
    array = True
    for k, _ in items:
        if isinstance(k, (int, float)) and not isinstance(k, bool) and k > 0 and k == int(k):
            mx = max(mx, int(k))
            count += 1
        else:
            array = False
            break
    if array and mx == count:
        n = len(t)
        _mp_header(out, n, 0x90, 0xDC, 0xDD)
        for i in range(1, n + 1):
            _mp_encode(t[i], out, depth + 1)
        return
    _mp_header(out, len(items), 0x80, 0xDE, 0xDF)
    for k, v in items:
        _mp_encode(k, out, depth + 1)
        _mp_encode(v, out, depth + 1)


def _mp_header(out: bytearray, n: int, fix: int, c16: int, c32: int) -> None:
    if n <= 15:
        out.append(fix | n)
    elif n <= 0xFFFF:
        out += bytes((c16,)) + n.to_bytes(2, "big")
    else:
        out += bytes((c32,)) + n.to_bytes(4, "big")


# ----------------------------------------------------------------------------- struct


class _StructError(Exception):
    pass


def _tname(v: Any) -> str:
    if v is None:
        return "no value"
    if isinstance(v, bytes):
        return "string"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return str(_lua_type(v) or "userdata")


def _fmt_arg(fmt: Any, fn: str) -> bytes:
    if isinstance(fmt, (int, float)) and not isinstance(fmt, bool):
        return str(fmt).encode()
    if not isinstance(fmt, bytes):
        raise _StructError(f"bad argument #1 to '{fn}' (string expected, got {_tname(fmt)})")
    return fmt


def _items(fmt: bytes, fn: str) -> list[tuple[str, int, str]]:
    """(endianness, size, option) for each option of a struct format (struct.c's optsize)."""
    out: list[tuple[str, int, str]] = []
    endian = "<"
    maxalign = 1
    i = 0
    n = len(fmt)
    while i < n:
        ch = chr(fmt[i])
        i += 1
        j = i
        while j < n and 48 <= fmt[j] <= 57:
            j += 1
        num = int(fmt[i:j]) if j > i else None
        if ch in "<>=":
            endian = {"<": "<", ">": ">", "=": "<"}[ch]
            continue
        if ch == "!":
            maxalign = num if num is not None else 8
            i = j
            continue
        if ch == " ":
            continue
        if ch in "bB":
            size = 1
        elif ch in "hH":
            size = 2
        elif ch in "lLT":
            size = 8
        elif ch in "iI":
            size = num if num is not None else 4
            i = j
            if size > 8 or size < 1:
                raise _StructError(f"integral size {size} is larger than limit of 8")
        elif ch == "f":
            size = 4
        elif ch == "d":
            size = 8
        elif ch == "c":
            size = num if num is not None else 1
            i = j
        elif ch in "sx":
            size = 1 if ch == "x" else 0
        else:
            raise _StructError(f"bad argument #1 to '{fn}' (invalid format option '{ch}')")
        out.append((endian, size, ch + ("" if maxalign == 1 else f"!{maxalign}")))
    return out


def _align(pos: int, size: int, opt: str) -> int:
    if "!" not in opt or opt[0] in "cs":
        return 0
    maxalign = int(opt.split("!")[1])
    a = min(size, maxalign)
    if a <= 1 or a & (a - 1):
        return 0
    return (a - (pos & (a - 1))) & (a - 1)


def _struct_pack(fmt: bytes, args: list[Any]) -> bytes:
    out = bytearray()
    ai = 0
    for endian, size, opt in _items(fmt, "pack"):
        out += b"\0" * _align(len(out), size, opt)
        ch = opt[0]
        if ch == "x":
            out += b"\0"
            continue
        arg = args[ai] if ai < len(args) else None
        ai += 1
        if ch in "bBhHlLTiI":
            if isinstance(arg, bytes):
                try:
                    arg = float(arg)
                except ValueError:
                    arg = None
            if not isinstance(arg, (int, float)) or isinstance(arg, bool):
                raise _StructError(f"bad argument #{ai + 1} to 'pack' (number expected, got {_tname(arg)})")
            v = int(arg) & ((1 << (8 * size)) - 1)
            out += v.to_bytes(size, "little" if endian == "<" else "big")
        elif ch in "fd":
            if not isinstance(arg, (int, float)) or isinstance(arg, bool):
                raise _StructError(f"bad argument #{ai + 1} to 'pack' (number expected, got {_tname(arg)})")
            out += _struct.pack(endian + ch, float(arg))
        else:
            if isinstance(arg, (int, float)) and not isinstance(arg, bool):
                arg = str(arg).encode()
            if not isinstance(arg, bytes):
                raise _StructError(f"bad argument #{ai + 1} to 'pack' (string expected, got {_tname(arg)})")
            if ch == "c":
                if size == 0:
                    size = len(arg)
                if len(arg) < size:
                    raise _StructError(f"bad argument #{ai + 1} to 'pack' (string too short)")
                out += arg[:size]
            else:  # 's': zero-terminated
                if b"\0" in arg:
                    raise _StructError(f"bad argument #{ai + 1} to 'pack' (string contains zeros)")
                out += arg + b"\0"
    return bytes(out)


def _struct_unpack(fmt: bytes, data: bytes, pos: int) -> tuple[list[Any], int]:
    values: list[Any] = []
    prev: Any = None
    for endian, size, opt in _items(fmt, "unpack"):
        pos += _align(pos, size, opt)
        ch = opt[0]
        if ch == "x":
            pos += 1
            continue
        if ch in "bBhHlLTiI":
            if pos + size > len(data):
                raise _StructError("bad argument #2 to 'unpack' (data string too short)")
            v = int.from_bytes(data[pos:pos + size], "little" if endian == "<" else "big",
                               signed=ch in "bhliT" and ch != "T")
            values.append(float(v) if abs(v) >= 2 ** 53 else v)
            pos += size
        elif ch in "fd":
            if pos + size > len(data):
                raise _StructError("bad argument #2 to 'unpack' (data string too short)")
            values.append(_struct.unpack_from(endian + ch, data, pos)[0])
            pos += size
        elif ch == "c":
            if size == 0:
                if not values or not isinstance(prev, (int, float)):
                    raise _StructError("bad argument #1 to 'unpack' (format 'c0' needs a previous size)")
                size = int(values.pop())
            if pos + size > len(data):
                raise _StructError("bad argument #2 to 'unpack' (data string too short)")
            values.append(data[pos:pos + size])
            pos += size
        else:
            end = data.find(b"\0", pos)
            if end < 0:
                raise _StructError("bad argument #2 to 'unpack' (unfinished string in data)")
            values.append(data[pos:end])
            pos = end + 1
        prev = values[-1] if values else None
    return values, pos


def _struct_size(fmt: bytes) -> int:
    pos = 0
    for _, size, opt in _items(fmt, "size"):
        if opt[0] == "s" or (opt[0] == "c" and size == 0):
            raise _StructError("bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)")
        pos += _align(pos, size, opt) + (1 if opt[0] == "x" else size)
    return pos


__all__ = ["LIBS_LUA", "LuaLibs"]
