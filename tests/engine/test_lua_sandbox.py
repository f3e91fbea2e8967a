"""Escapes from the Lua sandbox, each run on our server and on real Redis 7.0 (the
oracle): the same script, as EVAL and as a function (FUNCTION LOAD + FCALL, as
scripting.tcl's ``run_script`` wraps it), must give the same raw reply, and the
server must stay up. Replies are read token by token from a socket, so a reply
nested 8000 levels deep compares like any other.

Covers bytecode (``string.dump`` + ``loadstring``/``load``, bytecode as the script
body), the global/library/metatable protections (scripting.tcl's "Try trick"
tests among them), the Python side of our runtime, removed globals, ``unpack``
ranges (CVE-2025-46817), recursion and the nesting limits of the reply conversion,
cjson and cmsgpack. Scripts that loop are killed through the count hook, also
from inside coroutines.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from aof.replies import encode_command
from tests.engine.conftest import ServerProc

pytestmark = pytest.mark.differential

DUMP = "string.dump(function() return 7 end)"
# each must end in an error reply, with Redis's text
ESCAPES = {
    # bytecode: Redis's parser never undumps, so "\27" is an unexpected symbol
    "loadstring_dump": f"return loadstring({DUMP})()",
    "loadstring_dump_message": f"local f, e = loadstring({DUMP}); error(e)",
    "loadstring_dump_named": f"local f, e = loadstring({DUMP}, '=chunk'); error(e)",
    "loadstring_handmade": "local f, e = loadstring('\\27Lua\\81' .. string.rep('\\0', 40)); error(e)",
    "loadstring_escape_only": "local f, e = loadstring('\\27'); error(e)",
    "load_dump_in_two_pieces": (f"local s = {DUMP}; local n = 0; local f, e = load(function() n = n + 1 "
                                "if n == 1 then return s:sub(1, 1) elseif n == 2 then return s:sub(2) end end) "
                                "error(e .. ' after ' .. n)"),
    "load_dump_one_piece": f"local s = {DUMP}; local n = 0; return load(function() n = n + 1 if n == 1 then return s end end)()",
    "load_escape_piece_named": ("local n = 0; local f, e = load(function() n = n + 1 if n == 1 then return '\\27' end end, "
                                "'=x'); error(e .. ' after ' .. n)"),
    "load_reader_not_string": "local f, e = load(function() return {} end); error(e)",
    # scripting.tcl: "Try trick global protection 1-4", "readonly table", removed globals
    "trick_global_1": "setmetatable(_G, {})",
    "trick_global_2": "local g = getmetatable(_G)\ng.__index = {}",
    "trick_global_3": "redis = function() return 1 end",
    "trick_global_4": "_G = {}",
    "trick_redis_table": "redis.call = function() return 1 end",
    "trick_json_table": "cjson.encode = function() return 1 end",
    "trick_cmsgpack_table": "cmsgpack.pack = function() return 1 end",
    "trick_bit_table": "bit.lshift = function() return 1 end",
    "trick_struct_table": "struct.pack = nil",
    "trick_string_table": "string.upper = function() return 'x' end",
    "trick_math_table": "math.random = function() return 4 end",
    "trick_coroutine_table": "coroutine.create = nil",
    "trick_table_table": "table.insert = nil",
    "loadfile": "loadfile('some file')",
    "dofile": "dofile('some file')",
    "print": "print('some data')",
    "undeclared_read": "return a",
    "undeclared_write": "a = 10",
    # metatables of the globals and of strings (CVE-2022-24735, CVE-2025-46818)
    "globals_mt_newindex": "getmetatable(_G).__newindex = rawset; x = 1",
    "globals_mt_rawset": "rawset(getmetatable(_G), '__index', nil)",
    "globals_mt_index_direct": "return getmetatable(_G).__index(_G, 'nothing')",
    "globals_setmetatable_nil": "setmetatable(_G, nil)",
    "string_mt_index": "getmetatable('').__index = {upper = function() return 'pwned' end}",
    "string_mt_index_field": "getmetatable('').__index.upper = function() return 'pwned' end",
    "string_mt_rawset": "rawset(getmetatable(''), '__index', {})",
    "string_mt_add": "getmetatable('').__add = function() return 1 end",
    "string_mt_setmetatable": "setmetatable(getmetatable(''), {})",
    "string_table_rawset": "rawset(string, 'upper', function() return 'pwned' end)",
    # _G, rawset, setfenv/getfenv, debug
    "globals_field": "_G.x = 1",
    "globals_rawset": "rawset(_G, 'x', 1)",
    "globals_rawset_redis": "rawset(_G, 'redis', {})",
    "redis_rawset": "rawset(redis, 'call', 1)",
    "setfenv": "setfenv(1, {})",
    "setfenv_function": "setfenv(redis.call, {})",
    "getfenv": "getfenv(0).x = 1",
    "debug": "return debug.getinfo(1)",
    "debug_sethook": "debug.sethook()",
    "debug_registry": "return debug.getregistry()",
    # coroutines do not get around the protections
    "coroutine_global_write": "coroutine.wrap(function() x = 1 end)()",
    "coroutine_debug": "return coroutine.wrap(function() return debug end)()",
    "coroutine_rawset": "local ok, e = coroutine.resume(coroutine.create(function() rawset(_G, 'x', 1) end)); error(e)",
    "coroutine_string_mt": "local ok, e = coroutine.resume(coroutine.create(function() getmetatable('').__index = {} end)); error(e)",
    # the Python side of our runtime is not reachable
    "python": "return python",
    "python_eval": "return python.eval('1')",
    "python_builtins": "return python.builtins.open",
    "redis_call_attribute": "return redis.call.__self__",
    "redis_call_globals": "return redis.call.__globals__",
    "redis_call_setattr": "redis.call.x = 1",
    "cjson_attribute": "return cjson.decode.__self__",
    "cmsgpack_attribute": "return cmsgpack.pack.__func__",
    "math_random_attribute": "return math.random.__globals__",
    # libraries Redis does not load
    "package_loadlib": "return package.loadlib('libc.so.6', 'system')",
    "require": "return require('os')",
    "io_open": "return io.open('/etc/passwd')",
    "os_execute": "return os.execute('id')",
    "os_getenv": "return os.getenv('HOME')",
    "newproxy": "return newproxy(true)",
    # unpack ranges (CVE-2025-46817), recursion
    "unpack_1e8": "return unpack({}, 1, 1e8)",
    "unpack_int_range": "return unpack({}, -2^31, 2^31 - 1)",
    "unpack_half_range": "return unpack({}, 0, 2^31 - 1)",
    "unpack_negative_range": "return unpack({}, -2^31, 0)",
    "unpack_just_over": "local t = {unpack({}, 1, 7999)}",
    "deep_recursion": "local function f(n) return 1 + f(n + 1) end return f(1)",
    "deep_recursion_tail": "local function f(n) if n == 0 then return 0 end return 1 + f(n - 1) end return f(1e6)",
    # nesting limits of the bundled libraries
    "cjson_decode_deep": "return cjson.decode(string.rep('[', 100000))",
    "cjson_decode_1001": "return cjson.decode(string.rep('[', 1001) .. string.rep(']', 1001))",
    "cjson_decode_objects": "return cjson.decode(string.rep('{\"a\":', 1001) .. '1' .. string.rep('}', 1001))",
    "cjson_encode_deep": "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "cjson_encode_cycle": "local t = {} t.a = t return cjson.encode(t)",
    "cmsgpack_unpack_arrays": "return cmsgpack.unpack(string.rep('\\145', 100000) .. '\\1')",
    "cmsgpack_unpack_4000": "return type(cmsgpack.unpack(string.rep('\\145', 4000) .. '\\1'))",
    "cmsgpack_unpack_maps": "return type(cmsgpack.unpack(string.rep('\\129\\1', 4000) .. '\\1'))",
    "cmsgpack_unpack_values": "return #{cmsgpack.unpack(string.rep('\\1', 8000))}",
    "cmsgpack_unpack_limit": "return #{cmsgpack.unpack_limit(string.rep('\\1', 8000), 7999)}",
    "cmsgpack_nil_key": "return cmsgpack.unpack('\\129\\192\\1')",
}
# compared with Redis, whatever the reply
PROBES = {
    "globals_mt_type": "return {type(getmetatable(_G)), type(getmetatable(_G).__index), type(getmetatable(_G).__newindex)}",
    "globals_mt_index_pcall": "return {pcall(getmetatable(_G).__index, _G, 'zz')}",
    "library_metatables": "return {type(getmetatable(string)), type(getmetatable(redis)), type(getmetatable(cjson))}",
    "string_mt": "return {type(getmetatable('')), getmetatable('').__index == string, ('abc'):upper()}",
    "api_types": ("return {type(redis.call), type(redis.pcall), type(cjson.decode), type(cjson.encode), "
                  "type(cmsgpack.unpack), type(bit.band), type(struct.pack), type(math.random), type(unpack)}"),
    "api_tostring": "return {tostring(redis.call):sub(1, 10), tostring(cjson.decode):sub(1, 10)}",
    "coroutine_error_table": ("local co = coroutine.create(function() redis.call('nosuch') end) "
                              "local ok, e = coroutine.resume(co) return {tostring(ok), type(e), e.err}"),
    "coroutine_error_where": ("local co = coroutine.create(function() local x = cjson.decode('[') end) "
                              "return {coroutine.resume(co)}"),
    "coroutine_yield": ("local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) return c * 2 end) "
                        "local _, x = coroutine.resume(co, 1, 2) local _, y = coroutine.resume(co, 10) "
                        "return {x, y, coroutine.status(co)}"),
    "loadstring_text": "return loadstring('return 1 + 1')()",
    "load_text_pieces": "local p = {'return ', '7'} local i = 0 return load(function() i = i + 1 return p[i] end)()",
    "load_empty_first_piece": ("local n = 0 local f, e = load(function() n = n + 1 if n == 1 then return '' "
                               "elseif n == 2 then return '\\27' end end, 'chunk') return {tostring(f), e, n}"),
    "string_rep_2_31": "return #string.rep('x', 2^31)",
    "unpack_boundary": "return #{unpack({}, 1, 7998)}",
    "unpack_top_of_int": "return {unpack({1, 2, 3}, 2^31 - 2, 2^31 - 1)}",
    "unpack_fractions": "return {unpack({'a', 'b', 'c'}, 1.7, '2.2')}",
    "cmsgpack_unpack_3999": "return type(cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1'))",
    "cmsgpack_unpack_extra_args": "return #{cmsgpack.unpack(string.rep('\\1', 7998), 5)}",
    "cjson_decode_1000": "return type(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))",
    "keys_table_writable": "KEYS[1] = 'x' return KEYS[1]",
    # deep or self-referencing results end in Redis's nested "reached lua stack limit"
    "return_deep_array": "local t = {} local c = t for i = 1, 100000 do c[1] = {} c = c[1] end return t",
    "return_cycle": "local t = {} t[1] = t return t",
    "return_cycle_map": "local t = {map = {}} t.map.k = t return t",
    "return_cycle_map_key": "local t = {map = {}} t.map[t] = 1 return t",
    "return_cycle_set": "local t = {set = {}} t.set[t] = true return t",
}
FUNCTION_WRAP = "#!lua name=test\nredis.register_function('test', function(KEYS, ARGV)\n %s \nend)"


class RawConn:
    """One connection; every reply as a flat list of RESP tokens (no nesting limit)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def _fill(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill(len(self.buf) + 1)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def call(self, *argv: object) -> list[bytes]:
        self.sock.sendall(encode_command([a if isinstance(a, bytes) else str(a).encode() for a in argv]))
        tokens: list[bytes] = []
        pending = 1
        while pending:
            pending -= 1
            line = self._line()
            tokens.append(line)
            if line[:1] in (b"$", b"=") and line != b"$-1":
                n = int(line[1:])
                self._fill(n + 2)
                tokens.append(self.buf[:n])
                self.buf = self.buf[n + 2:]
            elif line[:1] in (b"*", b"~", b">") and line != b"*-1":
                pending += int(line[1:])
            elif line[:1] == b"%":
                pending += 2 * int(line[1:])
        return tokens


@pytest.fixture
def conns(ours: ServerProc, real: ServerProc) -> Iterator[tuple[RawConn, RawConn]]:
    a, b = RawConn(ours.port), RawConn(real.port)
    for c in (a, b):
        c.call("SCRIPT", "FLUSH")
        c.call("FUNCTION", "FLUSH")
    yield a, b
    for c in (a, b):
        assert c.call("PING") == [b"+PONG"]  # still up
        c.close()


def run_script(c: RawConn, mode: str, script: str) -> list[bytes]:
    """EVAL, or scripting.tcl's function wrapping of the same text."""
    if mode == "eval":
        return c.call("EVAL", script, "0")
    loaded = c.call("FUNCTION", "LOAD", "REPLACE", FUNCTION_WRAP % script)
    if loaded[0][:1] == b"-":
        return loaded
    return c.call("FCALL", "test", "0")


@pytest.mark.parametrize("mode", ["eval", "function"])
def test_escape_attempts_fail_as_in_redis(conns: tuple[RawConn, RawConn], mode: str) -> None:
    ours, real = conns
    for name, script in ESCAPES.items():
        a, b = run_script(ours, mode, script), run_script(real, mode, script)
        assert a == b, f"{name}: ours {a[:4]!r} real {b[:4]!r}"
        assert a[0][:1] == b"-", f"{name} did not fail: {a[:4]!r}"


@pytest.mark.parametrize("mode", ["eval", "function"])
def test_sandbox_probes_match_redis(conns: tuple[RawConn, RawConn], mode: str) -> None:
    ours, real = conns
    for name, script in PROBES.items():
        a, b = run_script(ours, mode, script), run_script(real, mode, script)
        if name == "api_tostring":  # addresses differ; the "function: " prefix must not
            a, b = [t for t in a if t[:1] != b"$"], [t for t in b if t[:1] != b"$"]
        assert a == b, f"{name}: ours {a[:6]!r} ... {a[-3:]!r} real {b[:6]!r} ... {b[-3:]!r}"
        if name.startswith("return_"):
            assert b"-ERR reached lua stack limit" in a


def test_bytecode_bodies_refused(conns: tuple[RawConn, RawConn]) -> None:
    """Bytecode as the script itself: EVAL, SCRIPT LOAD and FUNCTION LOAD bodies."""
    ours, real = conns
    dump = real.call("EVAL", f"return {DUMP}", "0")[1]
    assert dump[:1] == b"\x1b"
    for argv in (["EVAL", dump, "0"], ["EVAL", b"\x1b", "0"], ["EVAL", b"#!lua\n" + dump, "0"],
                 ["SCRIPT", "LOAD", dump], ["FUNCTION", "LOAD", b"#!lua name=bc\n" + dump],
                 ["FUNCTION", "LOAD", b"#!lua name=bc\n\x1bLua"]):
        a, b = ours.call(*argv), real.call(*argv)
        assert a == b, f"{argv[:2]!r}: ours {a!r} real {b!r}"
        assert a[0][:1] == b"-"


@pytest.mark.parametrize("mode", ["eval", "function"])
def test_one_script_cannot_change_the_next(conns: tuple[RawConn, RawConn], mode: str) -> None:
    """A script tries (under pcall, so it completes) every write it can think of; the
    next script must see the pristine environment, as on Redis."""
    tamper = ("local evil = function() return 'pwned' end "
              "pcall(function() getmetatable('').__index = {upper = evil} end) "
              "pcall(rawset, getmetatable(''), '__index', {upper = evil}) "
              "pcall(function() string.upper = evil end) "
              "pcall(rawset, string, 'upper', evil) "
              "pcall(setmetatable, _G, {__index = function() return 'pwned' end}) "
              "pcall(function() getmetatable(_G).__index = function() return 'pwned' end end) "
              "pcall(rawset, _G, 'undefined_global', 'pwned') "
              "pcall(function() redis.call = evil end) "
              "pcall(rawset, redis, 'call', evil) "
              "pcall(function() cjson.encode = evil end) "
              "return 'tampered'")
    check = ("return {('abc'):upper(), string.upper('x'), redis.call('ping').ok, cjson.encode({1}), "
             "tostring(pcall(function() return undefined_global end))}")
    ours, real = conns
    for c in (ours, real):
        run_script(c, mode, tamper)
    assert run_script(ours, mode, check) == run_script(real, mode, check)
    assert run_script(ours, "eval", check)[1:3] == [b"$3", b"ABC"]


def _kill_spinning(port: int, argv: list[object], kill: str) -> list[bytes]:
    """Run ``argv`` (a script that never ends) and kill it from another client."""
    runner, other = RawConn(port), RawConn(port)
    assert other.call("PING") == [b"+PONG"]  # accepted before the loop is blocked
    result: list[list[bytes]] = []
    t = threading.Thread(target=lambda: result.append(runner.call(*argv)))
    t.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.15)
            reply = other.call(*kill.split())
            if reply == [b"+OK"]:
                break
        t.join(10)
        assert not t.is_alive(), "the script was not killed"
        assert other.call("PING") == [b"+PONG"]
        return result[0]
    finally:
        runner.close()
        other.close()


# Each would run for seconds to minutes: a script that cannot be killed finishes by
# itself instead (and the test fails) rather than blocking the shared servers.
SPINS = [
    "coroutine.wrap(function() for i = 1, 3e8 do end end)()",
    "local co = coroutine.create(function() for i = 1, 3e8 do end end) local ok, e = coroutine.resume(co) return e",
    "for j = 1, 100 do pcall(function() for i = 1, 3e7 do end end) end",
    "local co = coroutine.wrap(function() for i = 1, 3e7 do pcall(coroutine.yield) end end) co()",
]


@pytest.mark.parametrize("script", SPINS, ids=range(len(SPINS)))
def test_spinning_coroutines_are_killable(ours: ServerProc, real: ServerProc, script: str) -> None:
    replies = []
    for srv in (ours, real):
        c = RawConn(srv.port)
        c.call("CONFIG", "SET", "busy-reply-threshold", "100")
        try:
            replies.append(_kill_spinning(srv.port, ["EVAL", script, "0"], "SCRIPT KILL"))
        finally:
            c.call("CONFIG", "SET", "busy-reply-threshold", "5000")
            c.close()
    assert replies[0] == replies[1]
    assert replies[0][0].startswith(b"-ERR Script killed by user with SCRIPT KILL...")


def test_coroutine_made_while_no_hook_was_set_is_killable(ours: ServerProc) -> None:
    """A coroutine kept in a library's upvalue, made while busy-reply-threshold was 0,
    still reaches the kill check when it spins in a later FCALL. (Redis hooks only the
    main thread per call, so there such a coroutine cannot be killed: ours only.)"""
    c = RawConn(ours.port)
    lib = ("#!lua name=co\nlocal co\n"
           "redis.register_function('make', function() co = coroutine.wrap(function() "
           "for i = 1, 3e8 do end end) return 1 end)\n"
           "redis.register_function('spin', function() co() end)")
    try:
        assert c.call("FUNCTION", "LOAD", "REPLACE", lib) == [b"$2", b"co"]
        c.call("CONFIG", "SET", "busy-reply-threshold", "0")
        assert c.call("FCALL", "make", "0") == [b":1"]
        c.call("CONFIG", "SET", "busy-reply-threshold", "100")
        reply = _kill_spinning(ours.port, ["FCALL", "spin", "0"], "FUNCTION KILL")
        assert reply[0].startswith(b"-ERR Script killed by user with SCRIPT KILL...")
    finally:
        c.call("CONFIG", "SET", "busy-reply-threshold", "5000")
        c.call("FUNCTION", "FLUSH")
        c.close()
