"""Lua-side replacements for the base functions Redis's patched Lua changes.

Redis 7.0 builds its own Lua 5.1, and scripts see the result of those patches.
lupa ships a stock Lua 5.1.5, so the differences that matter for safety are
rebuilt here, in Lua, before any script runs:

* no bytecode. Redis's ``f_parser`` always runs the text parser, so a chunk
  starting with ``"\\27"`` (a ``string.dump`` result, or hand-made bytecode that
  reads the VM's heap, CVE-2015-4335) fails with ``unexpected symbol near
  'char(27)'``. Stock Lua would undump it. :data:`SANDBOX`'s ``compile``,
  ``loadstring`` and ``load`` hand the parser ``"\\1"`` in place of that first
  byte, which fails at the same token, and put ``char(27)`` back in the message.
  They also pass the chunk name as a live Lua string, which keeps it out of the
  parser's unanchored-name window (CVE-2025-49844).
* argument errors. A C library function reports ``bad argument #n to 'f'`` at its
  caller's line (``luaL_argerror``); a Lua replacement raises the same text at
  level 2 (the name is the one the caller used, ``?`` when called from C).

The chunk is compiled under the prelude's internal chunk name, so the error
handler treats its frames as C code. It is run once per Lua state with the debug
library and returns a table of the replacements.
"""

from __future__ import annotations

SANDBOX = r"""
local dbg = ...
local type, select, tostring, tonumber, error = type, select, tostring, tonumber, error
local loadstring, load = loadstring, load
local sbyte, ssub = string.byte, string.sub

-- luaL_argerror as seen from the sandbox function two levels up
local function argerror(narg, extramsg, fname)
  local ar = dbg.getinfo(2, 'n')
  local name = ar and ar.name
  if not name then
    local caller = dbg.getinfo(3, 'S')
    name = (caller and caller.what == 'C') and '?' or fname
  end
  error('bad argument #' .. narg .. " to '" .. name .. "' (" .. extramsg .. ')', 3)
end

local function got(n, narg, v)
  if n < narg then return 'no value' end
  return type(v)
end

-- the caller's position, as luaL_where(L, 1) gives it from a C function
local function where(level)
  local ar = dbg.getinfo(level + 1, 'Sl')
  if ar and ar.currentline > 0 then return ar.short_src .. ':' .. ar.currentline .. ': ' end
  return ''
end

local NEAR1, NEAR27 = "near 'char(1)'", "near 'char(27)'"
local function unbinary(msg)
  if type(msg) == 'string' and ssub(msg, -#NEAR1) == NEAR1 then
    return ssub(msg, 1, -#NEAR1 - 1) .. NEAR27
  end
  return msg
end

-- compile source text only; name must be a Lua string (anchored by the caller)
local function compile(body, name)
  if sbyte(body, 1) == 27 then
    local _, err = loadstring('\1' .. ssub(body, 2), name)
    return nil, unbinary(err)
  end
  return loadstring(body, name)
end

local function s_loadstring(...)
  local n = select('#', ...)
  local s, name = ...
  local ts = type(s)
  if ts == 'number' then s = tostring(s)
  elseif ts ~= 'string' then argerror(1, 'string expected, got ' .. got(n, 1, s), 'loadstring') end
  if name == nil then name = s
  else
    local tn = type(name)
    if tn == 'number' then name = tostring(name)
    elseif tn ~= 'string' then argerror(2, 'string expected, got ' .. tn, 'loadstring') end
  end
  local f, err = compile(s, name)
  return f, err
end

local INTERNAL_WHERE = '^%?redis:%d+: '
local function s_load(...)
  local n = select('#', ...)
  local reader, name = ...
  if type(reader) ~= 'function' then argerror(1, 'function expected, got ' .. got(n, 1, reader), 'load') end
  if name == nil then name = '=(load)'
  else
    local tn = type(name)
    if tn == 'number' then name = tostring(name)
    elseif tn ~= 'string' then argerror(2, 'string expected, got ' .. tn, 'load') end
  end
  -- only the first piece decides text or binary (luaZ_lookahead in lua_load)
  local first, binary = true, false
  local f, err = load(function()
    local piece = reader()
    if first then
      first = false
      if type(piece) == 'string' and sbyte(piece, 1) == 27 then
        binary = true
        piece = '\1' .. ssub(piece, 2)
      end
    end
    return piece
  end, name)
  if f then return f end
  if binary then err = unbinary(err) end
  -- luaL_error inside load (a reader returning a non-string) points at load's caller
  local w = where(2)
  local function rewhere(s) return (s:gsub(INTERNAL_WHERE, function() return w end, 1)) end
  if type(err) == 'string' then err = rewhere(err)
  elseif type(err) == 'table' and type(err.err) == 'string' then
    err.err = 'ERR ' .. rewhere(ssub(err.err, 5))
  end
  return nil, err
end

return {compile = compile, loadstring = s_loadstring, load = s_load, argerror = argerror, got = got}
"""

__all__ = ["SANDBOX"]
