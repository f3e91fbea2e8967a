"""One sandboxed Lua 5.1 state (lupa) and the RESP → Lua conversion of ``redis.call``.

Redis runs EVAL scripts in one ``lua_State`` (``lctx.lua``, rebuilt by SCRIPT FLUSH)
and function libraries in another (the LUA engine of ``function_lua.c``); both
expose the same ``redis`` API. :class:`LuaState` is one of them: it creates the
runtime, installs the bundled libraries (:mod:`engine.scripting.libs`) and the
sandbox (:mod:`engine.scripting.prelude`), and binds the Python callbacks of its
host (:class:`engine.scripting.eval.Scripting`).

Lua strings cross as ``bytes`` (``encoding=None``). No Python object is reachable
from a script: the callbacks become Lua C functions in the prelude
(``python.as_function``), lupa's Python-object metatable loses ``__index`` and
``__newindex``, and the attribute filter refuses everything anyway.
"""

from __future__ import annotations

import math
from typing import Any

from lupa import lua51

from engine.scripting.cmsgpack import LUAI_MAXCSTACK
from engine.scripting.errors import LuaTableError, LuaWhereError, unwrap_error
from engine.scripting.eval import FRESH_LUA_MEMORY, sha1hex
from engine.scripting.libs import LuaLibs
from engine.scripting.prelude import CHUNK_NAME, PRELUDE
from engine.scripting.sandbox import SANDBOX

REDIS_VERSION = b"7.0.15"
REDIS_VERSION_NUM = (7 << 16) | (0 << 8) | 15


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("access denied")


def lua_tonumber(v: Any) -> float | None:
    """lua_tonumber's conversions: numbers, and strings that read as numbers."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, bytes):
        s = v.strip()
        try:
            return float(int(s, 16)) if s[:2].lower() in (b"0x",) else float(s)
        except ValueError:
            return None
    return None


def _checkint(v: Any, i: int, fn: str = "random") -> int:
    n = lua_tonumber(v)
    if n is None:
        got = "no value" if v is None else "string" if isinstance(v, bytes) else "table"
        raise LuaWhereError(f"bad argument #{i} to '{fn}' (number expected, got {got})")
    return int(n)


def _type_name(v: Any) -> str:
    """lua_typename of a value handed over by lupa."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, bytes):
        return "string"
    return str(lua51.lua_type(v) or "userdata")


def _lua_int(v: Any, narg: int) -> int:
    """luaL_checkint: lua_Number -> lua_Integer (truncation; out of range gives INT64_MIN)
    -> int (its low 32 bits)."""
    x = lua_tonumber(v)
    if x is None:
        raise LuaWhereError(f"bad argument #{narg} to 'unpack' (number expected, got {_type_name(v)})")
    x = float(x)
    if x != x or not -(2.0 ** 63) <= x < 2.0 ** 63:
        return 0
    u = int(x) & 0xFFFFFFFF
    return u - (1 << 32) if u & 0x80000000 else u


def _global_index_error(*args: Any) -> None:
    """luaProtectedTableError, the ``__index`` of the globals' metatable: a C function,
    so even ``return getmetatable(_G).__index(_G, k)`` reports the caller's line."""
    if len(args) != 2:
        raise LuaWhereError("Wrong number of arguments to luaProtectedTableError")
    k = args[1]
    if isinstance(k, (int, float)) and not isinstance(k, bool):
        k = b"%.14g" % k
    if not isinstance(k, bytes):
        raise LuaWhereError("Second argument to luaProtectedTableError must be a string or number")
    raise LuaWhereError(b"Script attempted to access nonexistent global variable '" + k.split(b"\0")[0] + b"'")


def lua_argv(state: Any, args: tuple[Any, ...]) -> list[bytes]:
    """luaArgsToRedisArgv: strings as they are, numbers as %.17g, anything else refused."""
    if not args:
        raise state.fail(b"Please specify at least one argument for this redis lib call")
    argv: list[bytes] = []
    for a in args:
        if a.__class__ is bytes:
            argv.append(a)
        elif a.__class__ is float or a.__class__ is int:
            argv.append(b"%.17g" % a)
        else:
            raise state.fail(b"Lua redis lib command arguments must be strings or integers")
    return argv


class LuaState:
    """A Lua runtime with the Redis API; ``mode`` is ``"eval"`` or ``"function"``."""

    def __init__(self, host: Any, mode: str) -> None:
        rt = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                              register_builtins=False, attribute_filter=_deny_attributes)
        self.rt = rt
        self.mode = mode
        lua_globals = rt.globals()
        sandbox = lua_globals.loadstring(SANDBOX.encode(), CHUNK_NAME)(lua_globals.debug)
        self._raw_unpack = lua_globals.unpack
        self.libs = LuaLibs(rt, self.guard)
        libtables = self.libs.install()
        g = self.guard
        py = rt.table_from({
            b"call": lambda *argv: host.lua_call(self, argv, True),
            b"pcall": lambda *argv: host.lua_call(self, argv, False),
            b"unwrap": unwrap_error,
            b"sha1hex": self._sha1hex,
            b"log": g(self._log),
            b"setresp": self._setresp,
            b"set_repl": self._set_repl,
            b"acl_check_cmd": self._acl_check_cmd,
            b"random": g(self._random),
            b"randomseed": g(self._randomseed),
            b"unpack": g(self._unpack),
            b"global_index_error": g(_global_index_error),
            b"wrap_resumer": self._wrap_resumer,
            b"interrupt": host.lua_interrupt,
            b"libs": libtables,
            b"sandbox": sandbox,
            b"version": REDIS_VERSION,
            b"version_num": REDIS_VERSION_NUM,
        })
        loader = lua_globals.loadstring(PRELUDE.encode(), CHUNK_NAME)
        self.api = loader(py, mode.encode())
        self._caller_where = self.api.caller_where
        del loader  # the prelude's main chunk: garbage once it has run
        lua_globals.collectgarbage(b"collect")
        self._base_memory = int(self.api.memory())
        self._table = rt.table
        self._table_from = rt.table_from
        self.host = host

    def guard(self, f: Any) -> Any:
        """``f`` as a C library function raises: a LuaWhereError gets the position of the
        line that called it (luaL_where(L, 1)), taken while the call is still on the Lua
        stack, so a call from pcall or from C gets none."""

        def call(*args: Any) -> Any:
            try:
                return f(*args)
            except LuaWhereError as exc:
                if exc.where:
                    exc.message = bytes(self._caller_where()) + exc.message
                    exc.where = False
                raise

        return call

    # -- the redis.* functions that can raise (C functions in Redis) ------------------
    def fail(self, msg: bytes) -> LuaTableError:
        """luaPushError + luaError."""
        return LuaTableError(self.error_table(msg))

    def _sha1hex(self, *args: Any) -> bytes:
        if len(args) != 1:
            raise self.fail(b"wrong number of arguments")
        s = args[0]
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            s = b"%.14g" % s
        return sha1hex(s if isinstance(s, bytes) else b"")

    def _log(self, *args: Any) -> None:
        if len(args) < 2:
            raise self.fail(b"redis.log() requires two arguments or more.")
        level = lua_tonumber(args[0])
        if level is None:
            raise self.fail(b"First argument must be a number (log level).")
        if not 0 <= int(level) <= 3:
            raise self.fail(b"Invalid debug level.")
        parts = [a if isinstance(a, bytes) else b"%.14g" % a for a in args[1:]
                 if isinstance(a, bytes) or (isinstance(a, (int, float)) and not isinstance(a, bool))]
        self.host.lua_log(int(level), b" ".join(parts))

    def _setresp(self, *args: Any) -> None:
        if len(args) != 1:
            raise self.fail(b"redis.setresp() requires one argument.")
        resp = int(lua_tonumber(args[0]) or 0)
        if resp not in (2, 3):
            raise self.fail(b"RESP version must be 2 or 3.")
        self.api.state[b"resp"] = resp
        self.host.lua_setresp(resp)

    def _set_repl(self, *args: Any) -> None:
        if len(args) != 1:
            raise self.fail(b"redis.set_repl() requires two arguments.")
        flags = int(lua_tonumber(args[0]) or 0)
        if flags & ~3:
            raise self.fail(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        self.host.lua_set_repl(flags)

    def _acl_check_cmd(self, *args: Any) -> bool:
        argv = lua_argv(self, args)
        allowed = self.host.lua_acl_check(argv)
        if allowed is None:
            raise self.fail(b"Invalid command passed to redis.acl_check_cmd()")
        return allowed

    def _random(self, *args: Any) -> float:
        """redis_math_random: math.random on redisLrand48."""
        r = self.host.rand.random()
        if not args:
            return r
        if len(args) == 1:
            u = _checkint(args[0], 1)
            if u < 1:
                raise LuaWhereError("bad argument #1 to 'random' (interval is empty)")
            return float(math.floor(r * u) + 1)
        if len(args) == 2:
            lo, hi = _checkint(args[0], 1), _checkint(args[1], 2)
            if lo > hi:
                raise LuaWhereError("bad argument #2 to 'random' (interval is empty)")
            return float(math.floor(r * (hi - lo + 1)) + lo)
        raise LuaWhereError("wrong number of arguments")

    def _randomseed(self, *args: Any) -> None:
        self.host.rand.seed(_checkint(args[0] if args else None, 1, "randomseed"))

    def _wrap_resumer(self, resume: Any) -> Any:
        """luaB_auxwrap for a coroutine (``resume`` resumes it): its error is raised
        again, a string (or number) one with the caller's position put in front."""

        def call(*args: Any) -> Any:
            r = resume(*args)
            if not isinstance(r, tuple):
                r = (r,)
            if r[0]:
                return r[1:]
            err = r[1] if len(r) > 1 else None
            if isinstance(err, LuaTableError):
                raise err
            if isinstance(err, LuaWhereError):
                raise LuaWhereError(err.message)
            if isinstance(err, (int, float)) and not isinstance(err, bool):
                err = b"%.14g" % err
            if isinstance(err, bytes):
                raise LuaWhereError(err)
            raise LuaTableError(err)  # any other error value, as it is

        return self.guard(call)

    def _unpack(self, *args: Any) -> Any:
        """luaB_unpack with the range checked before anything is pushed: stock 5.1.5
        computes ``e - i + 1`` in an ``int`` and, for a range of 2^31 or more, pushes
        values until it crashes (CVE-2025-46817). The limit is lua_checkstack's: the
        results and the arguments must fit in LUAI_MAXCSTACK slots."""
        n = len(args)
        t = args[0] if n else None
        if lua51.lua_type(t) != "table":
            got = "no value" if not n else _type_name(t)
            raise LuaWhereError(f"bad argument #1 to 'unpack' (table expected, got {got})")
        i = 1 if n < 2 or args[1] is None else _lua_int(args[1], 2)
        e = len(t) if n < 3 or args[2] is None else _lua_int(args[2], 3)
        if i > e:
            return ()
        if e - i + 1 + n > LUAI_MAXCSTACK:
            raise LuaWhereError("too many results to unpack")
        r = self._raw_unpack(*args)
        return r if isinstance(r, tuple) else (r,)

    def memory(self) -> int:
        """``used_memory_lua``: what the scripts hold above a fresh state, plus what a
        fresh Redis 7.0 Lua state weighs — our prelude and libraries are Lua code (about
        100 KB) where Redis's are C, and counting them would read as a leak."""
        return int(self.api.memory()) - self._base_memory + FRESH_LUA_MEMORY

    def table_of(self, items: list[bytes]) -> Any:
        return self._table_from(items)

    # -- RESP -> Lua (redisProtocolToLuaType) --------------------------------------
    def from_reply(self, data: bytes) -> Any:
        value, _ = self._parse(data, 0)
        return value

    def _parse(self, b: bytes, p: int) -> tuple[Any, int]:
        t = b[p]
        nl = b.index(b"\r\n", p)
        line = b[p + 1:nl]
        p = nl + 2
        if t == 36:  # $
            n = int(line)
            if n < 0:
                return False, p
            return b[p:p + n], p + n + 2
        if t == 58:  # :
            return float(int(line)), p
        if t == 43:  # +
            tbl = self._table()
            tbl[b"ok"] = line
            return tbl, p
        if t == 45:  # -
            return self.error_table(b"-" + line, True), p
        if t == 42 or t == 62:  # * and > (push)
            n = int(line)
            if n < 0:
                return False, p
            items = []
            for _ in range(n):
                v, p = self._parse(b, p)
                items.append(v)
            return self._table_from(items), p
        if t == 37:  # % map
            m = self._table()
            for _ in range(int(line)):
                k, p = self._parse(b, p)
                v, p = self._parse(b, p)
                if k is not None:
                    m[k] = v
            tbl = self._table()
            tbl[b"map"] = m
            return tbl, p
        if t == 126:  # ~ set
            s = self._table()
            for _ in range(int(line)):
                k, p = self._parse(b, p)
                if k is not None:
                    s[k] = True
            tbl = self._table()
            tbl[b"set"] = s
            return tbl, p
        if t == 95:  # _
            return None, p
        if t == 35:  # #
            return line == b"t", p
        if t == 44:  # ,
            tbl = self._table()
            tbl[b"double"] = float(line)
            return tbl, p
        if t == 40:  # (
            tbl = self._table()
            tbl[b"big_number"] = line
            return tbl, p
        if t == 61:  # = verbatim
            n = int(line)
            body = b[p:p + n]
            inner = self._table()
            inner[b"string"] = body[4:]
            inner[b"format"] = body[:3]
            tbl = self._table()
            tbl[b"verbatim_string"] = inner
            return tbl, p + n + 2
        if t == 124:  # | attribute: skipped, then the value itself
            for _ in range(2 * int(line)):
                _, p = self._parse(b, p)
            return self._parse(b, p)
        raise ValueError(f"unexpected reply type {chr(t)!r}")

    def error_table(self, err: bytes, ignore_stats: bool = False) -> Any:
        """luaPushErrorBuff: ``-CODE msg`` or ``msg`` → ``{err = "CODE msg"}``."""
        if err[:1] == b"-":
            code, sep, msg = err[1:].partition(b" ")
            if not sep:
                code, msg = b"ERR", err[1:]
        else:
            code, msg = b"ERR", err
        tbl = self._table()
        tbl[b"err"] = code + b" " + msg.strip(b"\r\n")
        if ignore_stats:
            tbl[b"ignore_error_stats_update"] = True
        return tbl


__all__ = ["LuaState", "LuaTableError", "lua_argv", "lua_tonumber", "unwrap_error", "REDIS_VERSION", "REDIS_VERSION_NUM"]
