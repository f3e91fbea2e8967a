"""The Lua side of the scripting runtime: the sandbox and the Lua → RESP conversion.

Redis embeds a patched Lua 5.1 whose tables can be made read-only
(``lua_enablereadonlytable``); it locks the global table and every library
table reachable from it (``luaSetTableProtectionRecursively``), and gives the
global table an ``__index`` that raises for unknown names (``luaSetErrorMetatable``).
Stock Lua 5.1 (lupa) has no read-only tables, so the same behaviour is built
from proxies: the real global table is emptied and given metatable hooks, every
library (and the string metatable, as the CVE-2025-46818 fix locks it) is
replaced by an empty proxy whose ``__index`` is the library and whose
``__newindex`` raises ``Attempt to modify a readonly table``; ``rawset``,
``setmetatable``, ``next``, ``pairs``, ``ipairs`` and ``rawget`` know the proxies,
and ``getmetatable(_G)`` is a read-only copy of the ``luaSetErrorMetatable`` table.
Every function of the API is a Python callable turned into a Lua C function, so
no Python object is left for a script to reach; ``loadstring``/``load`` compile
text only and ``unpack`` checks its range (:mod:`engine.scripting.sandbox`).

Frames of this chunk (source ``=?redis``) stand for Redis's C code: the error
handler skips them so ``@user_script:<line>`` points at the user's line, as
``__redis__err__handler`` does in ``scriptingInit``.

The chunk is run once per Lua state with a table of Python callbacks and returns
the API the Python side drives (``run``, ``compile``, ``load_library``...).
"""

from __future__ import annotations

CHUNK_NAME = b"=?redis"

PRELUDE = r"""
local py, mode = ...
local G = _G
local type, error, tostring, tonumber, select, unpack = type, error, tostring, tonumber, select, unpack
local rawget, rawset, rawequal, setmetatable, getmetatable = rawget, rawset, rawequal, setmetatable, getmetatable
local next, pairs, ipairs, pcall, xpcall = next, pairs, ipairs, pcall, xpcall
local loadstring, setfenv = loadstring, setfenv
local sfmt, ssub, sgsub, sbyte = string.format, string.sub, string.gsub, string.byte
local concat, maxn = table.concat, table.maxn
local collectgarbage = collectgarbage
local floor, ceil, huge = math.floor, math.ceil, math.huge
local dbg = debug
local INTERNAL = '=?redis'
local RO_MSG = 'Attempt to modify a readonly table'
local unwrap = py.unwrap
local sb = py.sandbox  -- loadstring/load/unpack as Redis's patched Lua has them (sandbox.py)
local argerror, got = sb.argerror, sb.got

-- proxy -> backing table, for every read-only view handed to scripts
local RO = setmetatable({}, {__mode = 'k'})
local function ro_newindex() error(RO_MSG, 2) end
local function protect(backing)
  local p = setmetatable({}, {__index = backing, __newindex = ro_newindex, __metatable = false})
  RO[p] = backing
  return p
end

-- state of the current run, read by the Python side through api.state
local S = {resp = 2, caller_resp = 2, repl = 3}

------------------------------------------------------------------ errors
-- luaPushErrorBuff: "-CODE msg" or "msg" (code ERR) -> {err = "CODE msg"}
local function err_table(s)
  local code, msg
  if ssub(s, 1, 1) == '-' then
    local sp = s:find(' ', 1, true)
    if sp then code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1)
    else code, msg = 'ERR', ssub(s, 2) end
  else
    code, msg = 'ERR', s
  end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end

local function raise(s) error(err_table(s)) end

-- __redis__err__handler, with this chunk's frames taken for C code
local function handler(err)
  local lvl = 2
  local i = dbg.getinfo(lvl, 'nSl')
  if i and i.what == 'C' then
    local j = dbg.getinfo(lvl + 1, 'nSl')
    if j and j.source == INTERNAL then lvl = lvl + 1; i = j end
  end
  local wrapped = false
  while i and i.source == INTERNAL do
    wrapped = true
    lvl = lvl + 1
    i = dbg.getinfo(lvl, 'nSl')
  end
  if i and i.what == 'C' and not wrapped then
    i = dbg.getinfo(lvl + 1, 'nSl')
  end
  if type(err) == 'userdata' then
    local v, where = unwrap(err)
    if v ~= nil then
      err = v
      if where and i then err = i.short_src .. ':' .. tostring(i.currentline) .. ': ' .. tostring(v) end
    end
  end
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end

------------------------------------------------------------------ Lua -> RESP
local NULL2, NULL3 = '$-1\r\n', '_\r\n'
local INT64_MIN = '-9223372036854775808'

local function toint(n)
  -- (long long)lua_Number as x86-64 truncates; out of range and NaN give INT64_MIN
  if n ~= n or n >= 9223372036854775807 or n < -9223372036854775808 then return INT64_MIN end
  if n >= 0 then n = floor(n) else n = ceil(n) end
  return sfmt('%d', n)
end

local function oneline(s)
  return (sgsub(s, '[\r\n]', ' '))
end

local function cstr(s)  -- sdsnew(lua_tostring(...)): stops at the first NUL
  local z = s:find('\0', 1, true)
  if z then return ssub(s, 1, z - 1) end
  return s
end

local function double_reply(d, out)
  local cr = S.caller_resp
  local txt
  if d == huge then txt = 'inf' elseif d == -huge then txt = '-inf' else txt = sfmt('%.17g', d) end
  if cr == 2 then out[#out + 1] = '$' .. #txt .. '\r\n' .. txt .. '\r\n'
  else out[#out + 1] = ',' .. txt .. '\r\n' end
end

local function error_reply_text(msg)
  -- addReplyErrorFormat("-%s"): trailing newlines trimmed, inner ones become spaces
  msg = cstr(msg):gsub('[\r\n]+$', '')
  msg = oneline(msg)
  local s = '-' .. msg
  return s .. '\r\n'
end

-- luaReplyToRedisReply recurses on the Lua stack and refuses a level once
-- lua_checkstack(lua, 4) fails (LUAI_MAXCSTACK slots): ``top`` is lua_gettop()
-- there (the error handler and the value: 2 at the top level), so a deep or
-- self-referencing table ends in a nested "reached lua stack limit" error.
local MAXCSTACK = 8000
local STACK_LIMIT = '-ERR reached lua stack limit\r\n'
local to_resp
to_resp = function(v, out, top)
  local t = type(v)
  local cr = S.caller_resp
  if top + 4 > MAXCSTACK then out[#out + 1] = STACK_LIMIT; return end
  if t == 'string' then
    out[#out + 1] = '$' .. #v .. '\r\n'
    out[#out + 1] = v
    out[#out + 1] = '\r\n'
  elseif t == 'number' then
    out[#out + 1] = ':' .. toint(v) .. '\r\n'
  elseif t == 'boolean' then
    if S.resp == 2 then
      if v then out[#out + 1] = ':1\r\n' else out[#out + 1] = (cr == 2) and NULL2 or NULL3 end
    elseif cr == 2 then out[#out + 1] = v and ':1\r\n' or ':0\r\n'
    else out[#out + 1] = v and '#t\r\n' or '#f\r\n' end
  elseif t == 'table' then
    local e = rawget(v, 'err')
    if type(e) == 'string' then out[#out + 1] = error_reply_text(e); return end
    local ok = rawget(v, 'ok')
    if type(ok) == 'string' then out[#out + 1] = '+' .. oneline(cstr(ok)) .. '\r\n'; return end
    local d = rawget(v, 'double')
    if type(d) == 'number' then double_reply(d, out); return end
    local b = rawget(v, 'big_number')
    if type(b) == 'string' then
      b = oneline(b)
      if cr == 2 then out[#out + 1] = '$' .. #b .. '\r\n' .. b .. '\r\n'
      else out[#out + 1] = '(' .. b .. '\r\n' end
      return
    end
    local vs = rawget(v, 'verbatim_string')
    if type(vs) == 'table' then
      local f, s = rawget(vs, 'format'), rawget(vs, 'string')
      if type(f) == 'string' and type(s) == 'string' then
        if cr == 2 then out[#out + 1] = '$' .. #s .. '\r\n' .. s .. '\r\n'
        else
          f = ssub(cstr(f) .. '   ', 1, 3)
          out[#out + 1] = '=' .. (#s + 4) .. '\r\n' .. f .. ':' .. s .. '\r\n'
        end
        return
      end
    end
    local m = rawget(v, 'map')
    if type(m) == 'table' then
      local hdr = #out + 1
      out[hdr] = ''
      local n = 0
      for k, x in next, m do to_resp(k, out, top + 4); to_resp(x, out, top + 3); n = n + 1 end
      out[hdr] = (cr == 2) and ('*' .. (2 * n) .. '\r\n') or ('%' .. n .. '\r\n')
      return
    end
    local st = rawget(v, 'set')
    if type(st) == 'table' then
      local hdr = #out + 1
      out[hdr] = ''
      local n = 0
      for k in next, st do to_resp(k, out, top + 3); n = n + 1 end
      out[hdr] = (cr == 2) and ('*' .. n .. '\r\n') or ('~' .. n .. '\r\n')
      return
    end
    local hdr = #out + 1
    out[hdr] = ''
    local j = 1
    while true do
      local x = rawget(v, j)
      if x == nil then break end
      to_resp(x, out, top + 1)
      j = j + 1
    end
    out[hdr] = '*' .. (j - 1) .. '\r\n'
  else
    out[#out + 1] = (cr == 2) and NULL2 or NULL3
  end
end

local function reply_of(v)
  local out = {}
  to_resp(v, out, 2)
  return concat(out)
end

-- luaExtractErrorInformation + the "script: %s, on %s:%s." suffix of luaCallFunction
local function failure_of(err, funcname)
  if type(err) ~= 'table' then
    local msg = 'execution failure'
    if type(err) == 'string' or type(err) == 'number' then msg = ssub(tostring(err), 1, 100) end
    return error_reply_text('ERR Error running script ' .. funcname .. ', ' .. msg)
  end
  local msg = err.err
  if type(msg) ~= 'string' and type(msg) ~= 'number' then msg = '(null)' end
  local s = cstr(tostring(msg))
  local src, line = err.source, err.line
  if (type(src) == 'string' or type(src) == 'number') and (type(line) == 'string' or type(line) == 'number') then
    s = s .. ' script: ' .. funcname .. ', on ' .. tostring(src) .. ':' .. tostring(line) .. '.'
  end
  return '-' .. oneline(s) .. '\r\n'
end

------------------------------------------------------------------ redis.*
-- Every API function a script sees is a Python callable made a Lua C function
-- (python.as_function): like Redis's C functions they keep the caller's frame on
-- ``return redis.call(...)`` (a Lua wrapper would be tail-called away), type()
-- says "function", and no Python object is left for a script to index.
-- redis.call raises a Python exception carrying the error table.
local cf = python.as_function
local redis_call, redis_pcall = cf(py.call), cf(py.pcall)

-- luaRedisPcall: a table error carrying an "err" string becomes that string
local function script_pcall(f, ...)
  local r = {pcall(f, ...)}
  if r[1] then return unpack(r, 1, maxn(r)) end
  local e = r[2]
  if type(e) == 'userdata' then
    local v, where = unwrap(e)
    if v ~= nil then
      e = v
      if where then
        local i = dbg.getinfo(2, 'Sl')
        if i then e = i.short_src .. ':' .. tostring(i.currentline) .. ': ' .. tostring(v) end
      end
    end
  end
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end

local function error_reply(...)
  local n = select('#', ...)
  local s = select(n > 0 and n or 1, ...)
  if n ~= 1 or type(s) ~= 'string' then return err_table('wrong number or type of arguments') end
  if ssub(s, 1, 1) ~= '-' then s = '-' .. s end
  return err_table(s)
end

local function status_reply(...)
  local n = select('#', ...)
  local s = select(n > 0 and n or 1, ...)
  if n ~= 1 or type(s) ~= 'string' then return err_table('wrong number or type of arguments') end
  return {ok = s}
end

-- The API functions that can raise are Python callables (C functions to Lua), so an
-- error they raise on ``return f(...)`` still points at the user's line.
local sha1hex, redis_log, setresp, set_repl = cf(py.sha1hex), cf(py.log), cf(py.setresp), cf(py.set_repl)
local acl_check_cmd, math_random, math_randomseed = cf(py.acl_check_cmd), cf(py.random), cf(py.randomseed)

------------------------------------------------------------------ the sandbox
local rnext, rpairs, ripairs = next, pairs, ipairs

-- Each replacement checks its arguments as the C function does (luaL_checktype,
-- luaL_checkany) so the error names the caller's line, then refuses read-only tables.
local function s_rawset(...)
  local n = select('#', ...)
  local t, k, v = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(n, 1, t), 'rawset') end
  if n < 2 then argerror(2, 'value expected', 'rawset') end
  if n < 3 then argerror(3, 'value expected', 'rawset') end
  if RO[t] or rawequal(t, G) then error(RO_MSG, 0) end
  return rawset(t, k, v)
end
local function s_setmetatable(...)
  local n = select('#', ...)
  local t, m = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(n, 1, t), 'setmetatable') end
  if n < 2 or (m ~= nil and type(m) ~= 'table') then argerror(2, 'nil or table expected', 'setmetatable') end
  if RO[t] or rawequal(t, G) then error(RO_MSG, 0) end
  local cur = dbg.getmetatable(t)
  if cur and rawget(cur, '__metatable') ~= nil then error('cannot change a protected metatable', 2) end
  return setmetatable(t, m)
end
local BACK  -- the backing table of the globals (set below)
local function backing(t)
  if rawequal(t, G) then return BACK end
  return RO[t] or t
end
-- library tables have no metatable in Redis; the globals' is the read-only
-- luaSetErrorMetatable one (GLOBALS_MT, set below)
local function s_getmetatable(...)
  local t = ...
  if select('#', ...) < 1 then argerror(1, 'value expected', 'getmetatable') end
  if type(t) == 'userdata' or RO[t] then return nil end
  return getmetatable(t)
end
local function s_xpcall(...)
  local f, h = ...
  if select('#', ...) < 2 then argerror(2, 'value expected', 'xpcall') end
  return xpcall(f, function(e)
    if type(e) == 'userdata' then local v = unwrap(e); if v ~= nil then e = v end end
    return h(e)
  end)
end
local function s_next(...)
  local t, k = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(select('#', ...), 1, t), 'next') end
  return rnext(backing(t), k)
end
local function s_pairs(...)
  local t = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(select('#', ...), 1, t), 'pairs') end
  local b = backing(t)
  if b ~= t then return rnext, b, nil end
  return rpairs(t)
end
local function s_ipairs(...)
  local t = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(select('#', ...), 1, t), 'ipairs') end
  return ripairs(backing(t))
end
local function s_rawget(...)
  local n = select('#', ...)
  local t, k = ...
  if type(t) ~= 'table' then argerror(1, 'table expected, got ' .. got(n, 1, t), 'rawget') end
  if n < 2 then argerror(2, 'value expected', 'rawget') end
  return rawget(backing(t), k)
end

------------------------------------------------------------------ coroutines
-- A Lua hook set by debug.sethook is registered per thread: a new coroutine
-- inherits the C side of it but finds no Lua function, so it would run unhooked
-- (and unkillable). Every coroutine a script makes therefore starts with a
-- prologue that installs the hook its creator had, and records itself in
-- RUNNING (cleared by each run), where a C function raising inside a coroutine
-- finds the line that called it.
local hook  -- the count hook (set below)
local HOOK_COUNT = 100000
local cocreate, coresume, costatus = coroutine.create, coroutine.resume, coroutine.status
local corunning = coroutine.running
local RUNNING = {}
local WRAPS = setmetatable({}, {__mode = 'k'})  -- coroutine.wrap's functions -> their coroutines
local function pack(...) return {n = select('#', ...), ...} end
local function body(f)
  local h, mask, count = dbg.gethook()
  return function(...)
    if h then dbg.sethook(h, mask, count) end
    RUNNING[#RUNNING + 1] = corunning()
    return f(...)
  end
end
local function lua_function(f) return type(f) == 'function' and dbg.getinfo(f, 'S').what ~= 'C' end

local co_lib = {}
for k, v in rpairs(coroutine) do co_lib[k] = v end
co_lib.create = function(...)
  local f = ...
  if not lua_function(f) then argerror(1, 'Lua function expected', 'create') end
  return cocreate(body(f))
end
-- the function coroutine.wrap returns is a C function (luaB_auxwrap) in Redis: a
-- Python callable here, so a string error is prefixed with its caller's line even
-- on ``return co()``, as auxwrap does
local wrap_resumer = py.wrap_resumer
co_lib.wrap = function(...)
  local f = ...
  if not lua_function(f) then argerror(1, 'Lua function expected', 'wrap') end
  local co = cocreate(body(f))
  local w = cf(wrap_resumer(function(...) return coresume(co, ...) end))
  WRAPS[w] = co
  return w
end
-- a Python callable's error comes back as the Lua value Redis would give (its
-- table or its message), never as a Python object
co_lib.resume = function(...)
  local co = ...
  if type(co) ~= 'thread' then argerror(1, 'coroutine expected', 'resume') end
  local r = pack(coresume(...))
  if not r[1] and type(r[2]) == 'userdata' then
    local v = unwrap(r[2])
    if v ~= nil then r[2] = v end
  end
  return unpack(r, 1, r.n)
end

-- luaL_where(L, 1) of a C function, asked from Python while that function runs.
-- Python calls back on the main thread: there level 2 is the C function and level
-- 3 its caller, unless the call came from a coroutine: then it is the coroutine
-- that is active but not itself resuming another (in resume, or in a wrap function
-- whose coroutine still runs), with the C function at level 0.
local function caller_where()
  local i
  for j = #RUNNING, 1, -1 do
    local co = RUNNING[j]
    if costatus(co) == 'normal' then
      local top = dbg.getinfo(co, 0, 'f')
      local target = top and WRAPS[top.func]
      local resuming = top and (top.func == coresume or (target and costatus(target) == 'normal'))
      if top and not resuming then i = dbg.getinfo(co, 1, 'Sl'); break end
    end
  end
  if i == nil then i = dbg.getinfo(3, 'Sl') end
  if i and i.currentline > 0 then return i.short_src .. ':' .. i.currentline .. ': ' end
  return ''
end

local math_lib = {}
for k, v in rpairs(math) do math_lib[k] = v end
math_lib.random = math_random
math_lib.randomseed = math_randomseed

local string_p = protect(string)
local smt = getmetatable('')
smt.__index = string_p
smt.__metatable = protect({__index = string_p})

local libs = py.libs  -- cjson, bit, cmsgpack, struct built on the Python side (or nil)

local redis_api = {
  call = redis_call, pcall = redis_pcall, sha1hex = sha1hex,
  error_reply = error_reply, status_reply = status_reply,
  log = redis_log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  setresp = setresp, set_repl = set_repl,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  acl_check_cmd = acl_check_cmd,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num,
}
if mode == 'function' then
  redis_api.breakpoint, redis_api.debug, redis_api.replicate_commands = nil, nil, nil
end

BACK = {
  xpcall = s_xpcall, tostring = tostring, setmetatable = s_setmetatable, next = s_next,
  assert = assert, tonumber = tonumber, rawequal = rawequal, collectgarbage = collectgarbage,
  getmetatable = s_getmetatable, rawset = s_rawset, pcall = script_pcall, type = type,
  select = select, unpack = cf(py.unpack), gcinfo = gcinfo, pairs = s_pairs, rawget = s_rawget,
  loadstring = sb.loadstring, ipairs = s_ipairs, _VERSION = _VERSION, load = sb.load, error = error,
  coroutine = protect(co_lib), string = string_p, math = protect(math_lib),
  table = protect(table), redis = protect(redis_api), _G = G,
}
for name, lib in rpairs(libs) do BACK[name] = protect(lib) end
if mode == 'eval' then
  -- the helper scriptingInit leaves in the EVAL globals (a plain Lua function there too)
  BACK.__redis__err__handler = function(err)
    local i = dbg.getinfo(2, 'nSl')
    if i and i.what == 'C' then i = dbg.getinfo(3, 'nSl') end
    if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
    if i then err['source'] = i.source; err['line'] = i.currentline end
    return err
  end
end

local function missing(t, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function with_missing(tbl)
  return setmetatable(tbl, {__index = missing})
end

-- FUNCTION LOAD runs the library code with only this API visible (LIBRARY_API_NAME)
local registered
local library_redis = {
  register_function = function(...)
    -- a library's function keeping the API past FUNCTION LOAD (luaRegisterFunction)
    if not registered then raise('redis.register_function can only be called on FUNCTION LOAD command') end
    return registered(...)
  end,
  log = redis_log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num,
}
local library_api = with_missing({redis = protect(with_missing(library_redis))})
local current = BACK

-- luaProtectedTableError, the __index of the globals' metatable
local GLOBALS_MT = protect({__index = cf(py.global_index_error)})

-- empty the real globals, then route reads and writes through the hooks
local names = {}
for k in rpairs(G) do names[#names + 1] = k end
for _, k in ipairs(names) do rawset(G, k, nil) end
setmetatable(G, {
  __index = function(t, k)
    local v = rawget(current, k)
    if v == nil then
      if k == 'debug' then
        -- lupa fetches debug.traceback from C when Python calls into Lua; scripts never see it
        local caller = dbg.getinfo(2, 'S')
        if caller == nil or caller.what == 'C' then return dbg end
      end
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro_newindex,
  __metatable = GLOBALS_MT,
})

-- Python objects (the API callables) keep only __call and __tostring: no script
-- can reach a Python attribute, whatever lupa's attribute filter lets through
do
  local pmt = dbg.getmetatable(py.unwrap)
  pmt.__index, pmt.__newindex = nil, nil
end

------------------------------------------------------------------ running
local py_interrupt = py.interrupt
local KILLED = {kill = 'ERR Script killed by user with SCRIPT KILL...', load = 'ERR FUNCTION LOAD timeout'}
local killed = false  -- the error to raise at every line of user code once killed
local armed = false  -- a run or a library load wants the count hook
hook = function()
  if not armed then return end
  if not killed then
    if dbg.gethook() ~= hook or select(2, dbg.gethook()) ~= '' then
      dbg.sethook(hook, '', HOOK_COUNT)  -- a coroutine left in line mode by an earlier kill
    end
    local r = py_interrupt()
    if not r then return end
    killed = KILLED[r]
    -- from now on every line raises, so pcall cannot keep the script alive
    dbg.sethook(hook, 'l')
  end
  local i = dbg.getinfo(2, 'S')
  if i and i.source ~= INTERNAL and i.what ~= 'C' then error({err = killed}) end
end

local api = {}
api.state = S

-- The count hook stays installed on the main thread for the state's whole life
-- (``armed`` says whether it acts): a coroutine's prologue copies its creator's
-- hook, so even one made in a run without a hook (busy-reply-threshold 0) and
-- resumed in a later run reaches SCRIPT/FUNCTION KILL.
dbg.sethook(hook, '', HOOK_COUNT)
local function disarm()
  armed = false
  if killed then dbg.sethook(hook, '', HOOK_COUNT) end
end

-- luaCreateFunction: compile the body (shebang line already blanked by the caller)
local compile = sb.compile
function api.compile(body, chunkname)
  local f, err = compile(body, chunkname)
  if not f then return nil, err end
  return f, false
end

-- luaCallFunction: returns the reply bytes
local gc_count = 0
function api.run(f, keys, args, funcname, is_eval, caller_resp, with_hook)
  S.resp, S.caller_resp, S.repl = 2, caller_resp, 3
  killed = false
  RUNNING = {}
  if is_eval then BACK.KEYS = keys; BACK.ARGV = args end
  armed = with_hook
  local ok, r
  if is_eval then ok, r = xpcall(f, handler)
  else ok, r = xpcall(function() return f(keys, args) end, handler) end
  disarm()
  -- luaCallFunction: a GC step of 50 every 50 runs, so garbage never waits for a full cycle
  gc_count = gc_count + 1
  if gc_count == 50 then collectgarbage('step', 50); gc_count = 0 end
  -- an error a redis.call already counted (ignore_error_stats_update) is not counted
  -- again as the script's reply (ERR_REPLY_FLAG_NO_STATS_UPDATE)
  local counted = type(r) == 'table' and rawget(r, 'ignore_error_stats_update') == true
  if ok then
    return reply_of(r), counted and type(rawget(r, 'err')) == 'string'
  end
  return failure_of(r, funcname), counted
end

-- luaEngineCreate: run library code that registers functions through ``register``
function api.load_library(body, register, timeout_hook)
  local f, err = compile(body, '@user_function')
  if not f then return false, 'Error compiling function: ' .. tostring(err) end
  registered = function(...)
    local ok, e = register(...)
    if not ok then error(err_table(e)) end
  end
  current = library_api
  killed = false
  RUNNING = {}
  armed = timeout_hook
  local ok, e = pcall(f)
  disarm()
  current = BACK
  registered = nil
  if ok then return true, false end
  local msg
  if type(e) == 'userdata' then local v = unwrap(e); if v ~= nil then e = v end end
  if type(e) == 'table' then msg = e.err else msg = 'ERR ' .. tostring(e) end
  return false, 'Error registering functions: ' .. tostring(msg)
end

-- redis.register_function argument parsing (luaRegisterFunctionReadArgs)
local FLAGS = {['no-writes'] = 1, ['allow-oom'] = 2, ['allow-stale'] = 4, ['no-cluster'] = 8,
               ['allow-cross-slot-keys'] = 16}
function api.register_args(...)
  local n = select('#', ...)
  if n < 1 or n > 2 then return nil, 'wrong number of arguments to redis.register_function' end
  local a, b = ...
  if n == 2 then
    if type(a) ~= 'string' and type(a) ~= 'number' then return nil, 'first argument to redis.register_function must be a string' end
    if type(b) ~= 'function' then return nil, 'second argument to redis.register_function must be a function' end
    return tostring(a), b, nil, 0
  end
  if type(a) ~= 'table' then
    return nil, 'calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).'
  end
  local name, cb, desc, flags = nil, nil, nil, 0
  for k, v in rnext, a do
    if type(k) ~= 'string' and type(k) ~= 'number' then return nil, 'named argument key given to redis.register_function is not a string' end
    local key = tostring(k):lower()
    if key == 'function_name' then
      if type(v) ~= 'string' and type(v) ~= 'number' then return nil, 'function_name argument given to redis.register_function must be a string' end
      name = tostring(v)
    elseif key == 'description' then
      if type(v) ~= 'string' and type(v) ~= 'number' then return nil, 'description argument given to redis.register_function must be a string' end
      desc = tostring(v)
    elseif key == 'callback' then
      if type(v) ~= 'function' then return nil, 'callback argument given to redis.register_function must be a function' end
      cb = v
    elseif key == 'flags' then
      if type(v) ~= 'table' then return nil, 'flags argument to redis.register_function must be a table representing function flags' end
      local j = 1
      while true do
        local fl = v[j]
        if fl == nil then break end
        if type(fl) ~= 'string' and type(fl) ~= 'number' then return nil, 'unknown flag given' end
        local bit_ = FLAGS[tostring(fl):lower()]
        if not bit_ then return nil, 'unknown flag given' end
        if flags % (2 * bit_) < bit_ then flags = flags + bit_ end
        j = j + 1
      end
    else
      return nil, 'unknown argument given to redis.register_function'
    end
  end
  if not name then return nil, 'redis.register_function must get a function name argument' end
  if not cb then return nil, 'redis.register_function must get a callback argument' end
  return name, cb, desc, flags
end

function api.memory() return collectgarbage('count') * 1024 end
api.caller_where = caller_where
function api.table_of(...) return {...} end
function api.new_table() return {} end

return api
"""

__all__ = ["CHUNK_NAME", "PRELUDE"]
