"""Lua scripting and functions, compared with a real redis-server 7.0 (same commands,
same raw replies), plus persistence (RDB, DUMP/RESTORE payloads), propagation and
busy scripts."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.engine.conftest import start_ours, start_real
from tests.engine.differential import run

pytestmark = pytest.mark.differential

LIB = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)\n"
LIB_FLAGS = ("#!lua name=flagged\n"
             "redis.register_function{function_name='ro', callback=function(keys, args) "
             "return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}\n"
             "redis.register_function{function_name='rw', callback=function(keys, args) "
             "return redis.call('set', keys[1], args[1]) end}\n")

CASES: dict[str, list[list[object]]] = {
    "conversions": [
        ["EVAL", "return 1", "0"], ["EVAL", "return 3.99", "0"], ["EVAL", "return -3.99", "0"],
        ["EVAL", "return 'hello'", "0"], ["EVAL", "return true", "0"], ["EVAL", "return false", "0"],
        ["EVAL", "return nil", "0"], ["EVAL", "return {1, 2, 3, 'x', nil, 4}", "0"],
        ["EVAL", "return {1, {ok='fine'}, {err='bad'}, true, false, 3.99, -3.99}", "0"],
        ["EVAL", "return {ok='status'}", "0"], ["EVAL", "return {err='MYERR thing'}", "0"],
        ["EVAL", "return {err='boom\\nx'}", "0"], ["EVAL", "return {ok='a\\r\\nb'}", "0"],
        ["EVAL", "return redis.status_reply('OK2')", "0"], ["EVAL", "return redis.error_reply('x y')", "0"],
        ["EVAL", "return redis.error_reply('-FOO bar')", "0"], ["EVAL", "return redis.error_reply(1)", "0"],
        ["EVAL", "return {1e20, -1e20, 0/0, 1/0, 2^53+1, -0.5}", "0"], ["EVAL", "return {{1, {2, {3}}}, {}}", "0"],
        ["EVAL", "return {double=3.5}", "0"], ["EVAL", "return {big_number='123456789012345678901234567890'}", "0"],
        ["EVAL", "return {map={a=1}}", "0"], ["EVAL", "return {set={a=true}}", "0"],
        ["EVAL", "return {verbatim_string={format='txt', string='hi'}}", "0"],
        ["EVAL", "return function() end", "0"], ["EVAL", "return KEYS", "2", "k1", "k2", "a1"],
        ["EVAL", "return ARGV", "2", "k1", "k2", "a1", "a2"], ["EVAL", "return #KEYS + #ARGV", "0"],
        ["SET", "s", "v"], ["RPUSH", "l", "a", "b"], ["HSET", "h", "f", "v"], ["ZADD", "z", "1.5", "m"],
        ["EVAL", "return redis.call('get', KEYS[1])", "1", "s"], ["EVAL", "return redis.call('get', 'nokey')", "0"],
        ["EVAL", "return type(redis.call('get', 'nokey'))", "0"], ["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
        ["EVAL", "return redis.call('set', 'k', 'v')", "0"], ["EVAL", "return redis.call('set', 'k', 'v').ok", "0"],
        ["EVAL", "return redis.call('incr', 'counter')", "0"], ["EVAL", "return redis.call('incrbyfloat', 'fl', 1.5)", "0"],
        ["EVAL", "return redis.call('hgetall', 'h')", "0"], ["EVAL", "return redis.call('zscore', 'z', 'm')", "0"],
        ["EVAL", "return redis.call('exists', 'nokey', 's')", "0"], ["EVAL", "return redis.call('blpop', 'empty', 0)", "0"],
        ["EVAL", "return redis.call('set', 'n', 0.1)", "0"], ["GET", "n"], ["EVAL", "return redis.call('set', 'n', 3)", "0"],
        ["GET", "n"], ["EVAL", "return redis.call('mget', 's', 'nokey', 's')", "0"],
        ["EVAL", "redis.call('select', 1); redis.call('set', 'indb1', 'x'); return redis.call('dbsize')", "0"],
        ["DBSIZE"], ["EVAL", "return redis.sha1hex('')", "0"], ["EVAL", "return redis.sha1hex(123)", "0"],
        ["EVAL", "return redis.REDIS_VERSION", "0"], ["EVAL", "return redis.REDIS_VERSION_NUM", "0"],
        ["EVAL", "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", "0"],
        ["EVAL", "redis.log(redis.LOG_WARNING, 'from', 'a script'); return 1", "0"],
        ["EVAL", "return redis.replicate_commands()", "0"], ["EVAL", "redis.set_repl(redis.REPL_ALL); return 1", "0"],
        ["EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", "0"],
        ["EVAL", "return redis.acl_check_cmd('get', 'x')", "0"], ["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
        ["EVAL", "return tostring(math.random() >= 0)", "0"], ["EVAL", "return string.format('%5.2f', 3.14159)", "0"],
        ["EVAL", "return table.concat({'a', 'b'}, '-')", "0"], ["EVAL", "return ('abc'):upper()", "0"],
        ["EVAL", "return _VERSION", "0"], ["EVAL", "return type(_G)", "0"],
    ],
    "errors": [
        ["EVAL", "return redis.call('nosuch')", "0"], ["EVAL", "redis.call('set', 'a')", "0"],
        ["EVAL", "return redis.pcall('nosuch')", "0"], ["EVAL", "return redis.pcall('incr', 'x', 'y')", "0"],
        ["SET", "str", "abc"], ["EVAL", "return redis.call('incr', 'str')", "0"],
        ["EVAL", "return redis.call('lpush', 'str', 'x')", "0"], ["EVAL", "return redis.pcall('lpush', 'str', 'x')", "0"],
        ["EVAL", "local ok, e = pcall(redis.call, 'nosuch'); return {tostring(ok), type(e), e}", "0"],
        ["EVAL", "error('boom')", "0"], ["EVAL", "error({err='MY thing'})", "0"], ["EVAL", "error()", "0"],
        ["EVAL", "error(42)", "0"], ["EVAL", "\n\nlocal x = nil\nreturn x.y", "0"],
        ["EVAL", "return redis.call()", "0"], ["EVAL", "return redis.call({})", "0"],
        ["EVAL", "return redis.call('get', nil)", "0"], ["EVAL", "return redis.call('get', true)", "0"],
        ["EVAL", "return redis.sha1hex()", "0"], ["EVAL", "redis.log(1)", "0"], ["EVAL", "redis.log('x', 'y')", "0"],
        ["EVAL", "redis.log(9, 'y')", "0"], ["EVAL", "redis.setresp(4)", "0"], ["EVAL", "redis.setresp()", "0"],
        ["EVAL", "redis.set_repl(42)", "0"], ["EVAL", "redis.set_repl()", "0"],
        ["EVAL", "return 1 +", "0"], ["EVAL", "return 1", "-1"], ["EVAL", "return 1", "2", "a"],
        ["EVAL", "return 1", "x"], ["EVAL", "return 1"], ["EVALSHA", "abc", "0"],
        ["EVALSHA", "a" * 40, "0"], ["EVALSHA", "a" * 40, "x"], ["EVALSHA", "ab", "x"],
        ["EVAL", "return redis.call('eval', 'return 1', 0)", "0"], ["EVAL", "return redis.call('multi')", "0"],
        ["EVAL", "return redis.call('config', 'get')", "0"],
        ["EVAL", "return redis.call('config')", "0"], ["EVAL", "return redis.call('object', 'nosuch')", "0"],
        ["EVAL", "return redis.pcall('function', 'load', 'x')", "0"],
    ],
    "sandbox": [
        ["EVAL", "x = 1", "0"], ["EVAL", "return y", "0"], ["EVAL", "return os", "0"],
        ["EVAL", "return loadfile", "0"], ["EVAL", "return dofile", "0"], ["EVAL", "return io", "0"],
        ["EVAL", "return print", "0"], ["EVAL", "return require", "0"], ["EVAL", "return setfenv", "0"],
        ["EVAL", "return getfenv", "0"], ["EVAL", "return debug", "0"], ["EVAL", "return newproxy", "0"],
        ["EVAL", "return package", "0"], ["EVAL", "return module", "0"], ["EVAL", "return python", "0"],
        ["EVAL", "string.foo = 1", "0"], ["EVAL", "math.random = nil", "0"], ["EVAL", "redis.call = nil", "0"],
        ["EVAL", "cjson.encode = nil", "0"], ["EVAL", "_G.x = 1", "0"], ["EVAL", "rawset(_G, 'x', 1)", "0"],
        ["EVAL", "setmetatable(_G, nil)", "0"], ["EVAL", "local t = getmetatable('').__index; t.x = 1", "0"],
        ["EVAL", "local t = {}; t.x = 1; return t.x", "0"], ["EVAL", "KEYS = 1", "0"],
        ["EVAL", "return loadstring('return 7')()", "0"], ["EVAL", "return loadstring('x = 1')()", "0"],
        ["EVAL", "local n = 0; for k in pairs(string) do n = n + 1 end; return n > 10", "0"],
        ["EVAL", "return rawget(string, 'len') ~= nil", "0"], ["EVAL", "return type(rawget(_G, 'redis'))", "0"],
        ["EVAL", "local t = {}; for k, v in pairs({a=1}) do t[#t+1] = k end; return t", "0"],
        ["EVAL", "return {pcall(error, 'x')}", "0"], ["EVAL", "return {xpcall(function() error({err='E'}) end, "
                                                              "function(e) return type(e) end)}", "0"],
        ["EVAL", "return coroutine.wrap(function() coroutine.yield(5) end)()", "0"],
        ["EVAL", "local ok, e = pcall(function() redis.call('incr', 'str') end); return e", "0"],
    ],
    "libraries": [
        ["EVAL", "return cjson.encode({1, 2, {a=1}})", "0"], ["EVAL", "return cjson.encode('a/b\"c\\n')", "0"],
        ["EVAL", "return cjson.encode({})", "0"], ["EVAL", "return cjson.encode({1.5, 1e20, -0.25, true, false})", "0"],
        ["EVAL", "return cjson.encode({[1]=1, [20]=2})", "0"], ["EVAL", "return cjson.encode(function() end)", "0"],
        ["EVAL", "return cjson.encode({a={b={c='d'}}})", "0"],
        ["EVAL", "local t = cjson.decode('[1,2,null,{\"a\":true}]'); return {t[1], t[3] == cjson.null, t[4].a}", "0"],
        ["EVAL", "return cjson.decode('{\"x\":\"\\\\u00e9\"}').x", "0"], ["EVAL", "return cjson.decode('[1,')", "0"],
        ["EVAL", "return type(cjson.null)", "0"], ["EVAL", "return cjson.decode('[1 2]')", "0"],
        ["EVAL", "return cjson.decode('{\"a\" 1}')", "0"], ["EVAL", "return cjson.decode('{1:2}')", "0"],
        ["EVAL", "return cjson.decode('\"\\\\q\"')", "0"], ["EVAL", "return cjson.decode('nul')", "0"],
        ["EVAL", "return cjson.decode('[1,]')", "0"], ["EVAL", "return cjson.decode('')", "0"],
        ["EVAL", "return cjson.decode('{\"a\":[1,{\"b\":null}]}').a[1]", "0"],
        ["EVAL", "return cjson.decode('\"abc')", "0"], ["EVAL", "return cjson.decode(' 12.5e1 ')", "0"],
        ["EVAL", "return cjson.decode()", "0"], ["EVAL", "return cjson.encode()", "0"],
        ["EVAL", "return cjson.encode({a=1, b={1, 2}, c='x'})", "0"],
        ["EVAL", "return cjson.encode({[1]=1, [2]=2, x=3})", "0"], ["EVAL", "return cjson.encode({1/0})", "0"],
        ["EVAL", "return bit.band()", "0"], ["EVAL", "return bit.band('x')", "0"],
        ["EVAL", "return {bit.band('12', 4), bit.tobit(1.5), bit.tobit(2.5), bit.tohex(1, 3)}", "0"],
        ["EVAL", "return cmsgpack.unpack('')", "0"], ["EVAL", "return cmsgpack.pack()", "0"],
        ["EVAL", "return {cmsgpack.unpack(cmsgpack.pack({a={b=1}}))}", "0"],
        ["EVAL", "return math.random(0)", "0"], ["EVAL", "math.randomseed(7); return math.random(1000)", "0"],
        ["EVAL", "math.randomseed(7); return {math.random(5, 10), math.random(5, 10), math.random(5, 10)}", "0"],
        ["EVAL", "return {bit.band(0xff, 0x0f), bit.bor(1, 2), bit.bxor(3, 1), bit.bnot(0), bit.lshift(1, 31)}", "0"],
        ["EVAL", "return {bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.tobit(2^32 + 5)}", "0"],
        ["EVAL", "return {bit.tohex(255), bit.tohex(-1, -4), bit.bswap(1)}", "0"],
        ["EVAL", "return cmsgpack.pack({1, 2, 3})", "0"], ["EVAL", "return cmsgpack.pack({a=1}, 'x', -1, 1.5, 300, true)", "0"],
        ["EVAL", "return cmsgpack.pack(65536, -40000, 2^40, 0.1, string.rep('x', 40))", "0"],
        ["EVAL", "return {cmsgpack.unpack(cmsgpack.pack({1, {2, 'x'}}, 'y', -7))}", "0"],
        ["EVAL", "return struct.pack('>I2', 258)", "0"], ["EVAL", "return {struct.unpack('<i4', struct.pack('<i4', -2))}", "0"],
        ["EVAL", "return struct.size('>i4i2b')", "0"], ["EVAL", "return {struct.unpack('c2 B', 'abz')}", "0"],
        ["EVAL", "return {math.floor(2.5), math.huge > 0, string.rep('ab', 3)}", "0"],
    ],
    "script_commands": [
        ["SCRIPT", "LOAD", "return 'loaded'"], ["EVALSHA", hashlib.sha1(b"return 'loaded'").hexdigest(), "0"],
        ["EVALSHA", hashlib.sha1(b"return 'loaded'").hexdigest().upper(), "0"],
        ["SCRIPT", "EXISTS", hashlib.sha1(b"return 'loaded'").hexdigest(), "0" * 40,
         hashlib.sha1(b"return 'loaded'").hexdigest().upper()],
        ["SCRIPT", "LOAD", "return +"], ["SCRIPT", "FLUSH"],
        ["SCRIPT", "EXISTS", hashlib.sha1(b"return 'loaded'").hexdigest()], ["SCRIPT", "FLUSH", "SYNC"],
        ["SCRIPT", "FLUSH", "ASYNC"], ["SCRIPT", "FLUSH", "BAD"], ["SCRIPT", "FLUSH", "SYNC", "X"],
        ["SCRIPT", "KILL"], ["SCRIPT", "HELP"], ["SCRIPT", "NOSUCH"], ["SCRIPT", "LOAD"], ["SCRIPT"],
        ["SCRIPT", "EXISTS"], ["EVAL", "return 1", "0"],
        ["EVALSHA", hashlib.sha1(b"return 1").hexdigest(), "0"], ["FUNCTION", "KILL"],
    ],
    "flags": [
        ["EVAL", "#!lua\nreturn redis.call('set', 'k', 'v')", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"],
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')", "0"],
        ["EVAL", "#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 1", "0"],
        ["EVAL", "#!lua flags=\nreturn 2", "0"], ["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
        ["EVAL", "#!lua flags=no-writes,\nreturn 1", "0"], ["EVAL", "#!lua bogus=1\nreturn 1", "0"],
        ["EVAL", "#!python\nreturn 1", "0"], ["EVAL", "#!lua", "0"], ["EVAL", "#!lua\n\nerror('line3')", "0"],
        ["EVAL_RO", "return redis.call('get', 'k')", "0"], ["EVAL_RO", "return redis.call('set', 'k', 'v')", "0"],
        ["EVAL_RO", "#!lua\nreturn 1", "0"], ["EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"],
        ["SCRIPT", "LOAD", "return redis.call('get', 'k')"],
        ["EVALSHA_RO", hashlib.sha1(b"return redis.call('get', 'k')").hexdigest(), "0"],
        ["EVALSHA_RO", "b" * 40, "0"],
    ],
    "functions": [
        ["FUNCTION", "LOAD", LIB], ["FUNCTION", "LOAD", LIB], ["FCALL", "myfunc", "1", "k", "a"],
        ["FCALL", "myfunc", "0"], ["FCALL", "nosuch", "0"], ["FCALL", "myfunc", "x"], ["FCALL", "myfunc", "5", "a"],
        ["FCALL", "myfunc", "-1"], ["FCALL_RO", "myfunc", "1", "k", "a"], ["FUNCTION", "LIST"],
        ["FUNCTION", "LIST", "WITHCODE"], ["FUNCTION", "LIST", "LIBRARYNAME", "my*"], ["FUNCTION", "LIST", "LIBRARYNAME", "x*"],
        ["FUNCTION", "LIST", "LIBRARYNAME"], ["FUNCTION", "LIST", "BOGUS"], ["FUNCTION", "LOAD", "REPLACE", LIB],
        ["FUNCTION", "LOAD", "BOGUS", LIB], ["FUNCTION", "LOAD", "REPLACE"], ["FUNCTION", "LOAD"],
        ["FUNCTION", "STATS"], ["FUNCTION", "DELETE", "mylib"], ["FUNCTION", "DELETE", "mylib"],
        ["FUNCTION", "LOAD", LIB_FLAGS], ["FUNCTION", "LIST", "LIBRARYNAME", "flagged"],
        ["FCALL", "rw", "1", "fk", "fv"], ["FCALL", "ro", "1", "fk"], ["FCALL_RO", "ro", "1", "fk"],
        ["FCALL_RO", "rw", "1", "fk", "x"], ["FUNCTION", "FLUSH", "BAD"], ["FUNCTION", "FLUSH", "SYNC", "x"],
        ["FUNCTION", "FLUSH"], ["FUNCTION", "LIST"], ["FUNCTION", "HELP"], ["FUNCTION", "NOSUCH"],
        ["FUNCTION", "LOAD", "return 1"], ["FUNCTION", "LOAD", "#!lua"], ["FUNCTION", "LOAD", "#!lua\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=a name=b\nreturn 1"], ["FUNCTION", "LOAD", "#!lua foo=bar\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=bad-name\nreturn 1"], ["FUNCTION", "LOAD", "#!nosuch name=x\nreturn 1"],
        ["FUNCTION", "LOAD", "#!lua name=empty\nreturn 1"], ["FUNCTION", "LOAD", "#!lua name=syn\nreturn +"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nerror('at load')"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.call('ping')"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nreturn string.len('x')"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('f', 1)"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function(1)"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('bad-name', function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function{function_name='f', callback=function() end, foo=1}"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function{callback=function() end}"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nredis.register_function('f', function() end)\n"
                             "redis.register_function('f', function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=rt\nlocal f = function() return redis.call('nosuch') end\n"
                             "redis.register_function('callerr', f)"],
        ["FCALL", "callerr", "0"],
        ["FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('callerr', function() end)"],
        ["FUNCTION", "LOAD", "#!LUA name=upper\nredis.register_function('up', function() return redis.setresp end)"],
        ["FCALL", "up", "0"], ["FUNCTION", "RESTORE", "garbage"], ["FUNCTION", "RESTORE", "x", "BAD"],
        ["FUNCTION", "RESTORE", "x", "FLUSH", "y"], ["FUNCTION", "DUMP", "x"], ["FUNCTION", "STATS"],
    ],
    "library_api_kept": [  # a function that kept the library API calls it after FUNCTION LOAD
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nlocal lib = redis\n"
         "lib.register_function('f1', function() lib.redis = redis; lib.math = math; return {ok='OK'} end)\n"
         "lib.register_function('f2', function() lib.register_function('f1', function() return 1 end) end)\n"],
        ["FCALL", "f1", "0"], ["FCALL", "f2", "0"],
        ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.math.random()"],
        ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.redis.call('ping')"],
    ],
    "stream_block": [  # xreadCommand refuses BLOCK from a script even where it would not block
        ["DEL", "s"], ["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        ["EVAL", "return redis.pcall('xread', 'STREAMS', 's', '$')", "1", "s"],
        ["EVAL", "return redis.pcall('xread', 'BLOCK', 0, 'STREAMS', 's', '$')", "1", "s"],
        ["EVAL", "return redis.pcall('XREADGROUP', 'group', 'g', 'c', 'BLOCK', 0, 'STREAMS', 's', '>')", "1", "s"],
        ["EVAL", "return redis.pcall('xreadgroup', 'group', 'g', 'c', 'STREAMS', 's', '>')", "1", "s"],
    ],
    "cjson_settings": [  # json_config_t: set by one script, kept for the next
        ["EVAL", "return {cjson.encode_sparse_array(true, 0, 3)}", "0"],
        ["EVAL", "return cjson.encode({[1]=1, [20]=2})", "0"],
        ["EVAL", "return {cjson.encode_sparse_array(false, 2, 10)}", "0"],
        ["EVAL", "return cjson.encode({[1]=1, [20]=2})", "0"],
        ["EVAL", "cjson.encode_sparse_array(true); return cjson.encode({[1]=1, [20]=2})", "0"],
        ["EVAL", "return cjson.encode_max_depth(1)", "0"], ["EVAL", "return cjson.encode({{1}})", "0"],
        ["EVAL", "return cjson.encode_max_depth(1000)", "0"],
        ["EVAL", "return cjson.decode_max_depth(1)", "0"], ["EVAL", "return cjson.decode('[[1]]')", "0"],
        ["EVAL", "return cjson.decode_max_depth(1000)", "0"],
        ["EVAL", "return cjson.encode_invalid_numbers('null')", "0"],
        ["EVAL", "return cjson.encode({1/0, 0/0, [1/0]=1})", "0"],
        ["EVAL", "return cjson.encode_invalid_numbers(true)", "0"], ["EVAL", "return cjson.encode({1/0, -1/0, 0/0})", "0"],
        ["EVAL", "return cjson.encode_invalid_numbers(false)", "0"],
        ["EVAL", "return cjson.decode_invalid_numbers(false)", "0"],
        ["EVAL", "return cjson.decode('[0x10]')", "0"], ["EVAL", "return cjson.decode('[nan]')", "0"],
        ["EVAL", "return cjson.decode('[-01]')", "0"], ["EVAL", "return cjson.decode_invalid_numbers('on')", "0"],
        ["EVAL", "return cjson.decode('[0x10]')", "0"],
        ["EVAL", "return cjson.encode_number_precision(3)", "0"], ["EVAL", "return cjson.encode({3.14159})", "0"],
        ["EVAL", "return cjson.encode_number_precision(15)", "0"], ["EVAL", "return cjson.encode_number_precision('x')", "0"],
        ["EVAL", "return cjson.encode_max_depth(1, 2)", "0"], ["EVAL", "return cjson.encode_keep_buffer('maybe')", "0"],
        ["EVAL", "return cjson.encode_keep_buffer({})", "0"], ["EVAL", "return cjson.encode_keep_buffer(false)", "0"],
        ["EVAL", "return cjson.encode_keep_buffer()", "0"],
    ],
    "transactions": [
        ["MULTI"], ["EVAL", "return redis.call('incr', 'tx')", "0"], ["EVAL", "return redis.call('incr', 'tx')", "0"],
        ["EXEC"], ["EVAL", "return redis.call('exec')", "0"],
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(pair, name):
    ours, real = pair
    for x in (ours, real):
        x.execute_command("SCRIPT", "FLUSH")
        x.execute_command("FUNCTION", "FLUSH")
    for argv in CASES[name]:
        a = _unordered(argv, run(ours, argv))
        b = _unordered(argv, run(real, argv))
        assert a == b, f"{argv!r}: ours {a!r} real {b!r}"


def _unordered(argv: list[object], res: tuple[str, object]) -> object:
    """FUNCTION LIST: Redis lists a library's functions in (seeded) hash order."""
    if argv[:2] != ["FUNCTION", "LIST"] or res[0] != "ok":
        return res
    return repr(sorted(repr(sorted(repr(f) for f in _entries(lib))) for lib in res[1]))  # type: ignore[union-attr]


def _entries(lib: object) -> list[object]:
    items = list(lib.items()) if isinstance(lib, dict) else list(zip(lib[::2], lib[1::2]))  # type: ignore[index]
    out: list[object] = []
    for k, v in items:
        out += sorted(v, key=repr) if k == b"functions" else [(k, v)]
    return out


RESP3_CASES = [
    ["EVAL", "redis.setresp(3); return redis.call('hgetall', 'h')", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('smembers', 'one')", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('zscore', 'z', 'm')", "0"],
    ["EVAL", "redis.setresp(3); local r = redis.call('zscore', 'z', 'm'); return type(r) .. tostring(r.double)", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('get', 'nokey')", "0"],
    ["EVAL", "redis.setresp(3); return type(redis.call('get', 'nokey'))", "0"],
    ["EVAL", "redis.setresp(3); return {true, false}", "0"], ["EVAL", "return {true, false}", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('hgetall', 'nokey')", "0"],
    ["EVAL", "redis.setresp(3); local m = redis.call('hgetall', 'h'); return m.map.f", "0"],
    ["EVAL", "redis.setresp(3); return redis.call('info', 'keyspace') ~= nil", "0"],
    ["EVAL", "return {double=0.5}", "0"], ["EVAL", "return {double=1/0}", "0"],
    ["EVAL", "return {big_number='12345'}", "0"], ["EVAL", "return {map={x={1, 2}}}", "0"],
    ["EVAL", "return {set={x=true}}", "0"], ["EVAL", "return {verbatim_string={format='mkd', string='# x'}}", "0"],
    ["EVAL", "return nil", "0"], ["EVAL", "return redis.call('get', 'nokey')", "0"],
]


def test_resp3(pair):
    ours, real = pair
    for x in (ours, real):
        x.execute_command("HSET", "h", "f", "v")
        x.execute_command("SADD", "one", "m")
        x.execute_command("ZADD", "z", "2.5", "m")
    for argv in RESP3_CASES:
        assert run(ours, argv) == run(real, argv), argv


def test_function_dump_restore_cross_load(ours, real):
    a, b = ours.client(), real.client()
    try:
        for x in (a, b):
            x.function_flush()
        a.function_load(LIB)
        payload = a.function_dump()
        assert payload == (b.function_load(LIB) and b.function_dump())  # byte-identical
        b.function_flush()
        assert b.function_restore(payload)
        assert b.fcall("myfunc", 1, "k", "v") == [b"k", b"v"]
        b.function_load(LIB_FLAGS)
        with pytest.raises(redis.ResponseError, match="Library mylib already exists"):
            a.function_restore(b.function_dump())
        assert a.function_restore(b.function_dump(), "REPLACE")
        assert a.fcall("rw", 1, "x", "y") == b"OK"
        corrupt = payload[:-1] + bytes([payload[-1] ^ 1])
        for x in (a, b):
            with pytest.raises(redis.ResponseError) as ei:
                x.function_restore(corrupt)
            assert str(ei.value) == "DUMP payload version or checksum are wrong"
        assert a.function_restore(payload, "FLUSH")
        assert [lib[b"library_name"] for lib in _libs(a)] == [b"mylib"]
    finally:
        for x in (a, b):
            x.function_flush()
            x.close()


def _libs(client):
    out = []
    for lib in client.execute_command("FUNCTION", "LIST"):
        out.append(dict(zip(lib[::2], lib[1::2])) if isinstance(lib, list) else lib)
    return out


def test_redis_py_register_script(r):
    incr = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert incr(keys=["cnt"], args=[5]) == 5
    r.script_flush()
    assert incr(keys=["cnt"], args=[2]) == 7  # NOSCRIPT → redis-py falls back to SCRIPT LOAD
    pipe = r.pipeline()
    incr(keys=["cnt"], args=[1], client=pipe)
    assert pipe.execute() == [8]


def test_save_restart_keeps_functions(tmp_path: Path) -> None:
    srv = start_ours(tmp_path)
    try:
        c = srv.client()
        c.function_load(LIB)
        c.set("k", "v")
        c.save()
    finally:
        srv.stop()
    srv = start_ours(tmp_path)
    try:
        c = srv.client()
        assert c.fcall("myfunc", 1, "a", "b") == [b"a", b"b"]
        assert c.get("k") == b"v"
    finally:
        srv.stop()
    # the RDB we wrote loads in real Redis with its library
    real = start_real(tmp_path)
    try:
        assert real.client().fcall("myfunc", 1, "x", "y") == [b"x", b"y"]
    finally:
        real.stop()


def test_functions_from_real_rdb(tmp_path: Path) -> None:
    real = start_real(tmp_path)
    try:
        c = real.client()
        c.function_load(LIB_FLAGS)
        c.save()
    finally:
        real.stop()
    srv = start_ours(tmp_path)
    try:
        c = srv.client()
        c.set("k", "1")
        assert c.fcall("ro", 1, "k") == b"1"
        assert c.execute_command("FUNCTION", "LIST", "LIBRARYNAME", "flagged")
    finally:
        srv.stop()


def test_aof_propagation_and_reload(tmp_path: Path) -> None:
    """Scripts are logged as their effects (MULTI/EXEC when several), FUNCTION LOAD as sent;
    a restart replays both."""
    srv = start_ours(tmp_path, "--appendonly", "yes", "--appendfsync", "always")
    try:
        c = srv.client()
        c.eval("redis.call('set', 'a', '1'); redis.call('incr', 'a'); return 1", 0)
        c.eval("return redis.call('set', 'b', 'x')", 0)
        c.eval("return redis.call('get', 'b')", 0)
        c.eval("redis.set_repl(redis.REPL_NONE); redis.call('set', 'hidden', '1')", 0)
        c.function_load(LIB_FLAGS)
        c.fcall("rw", 1, "c", "fromfunc")
    finally:
        srv.stop()
    text = b"".join(p.read_bytes() for p in sorted((tmp_path / "appendonlydir").glob("*.incr.aof")))
    assert b"EVAL" not in text.upper().replace(b"EVALSHA", b"")
    assert text.count(b"MULTI") == 1
    assert b"FUNCTION" in text and b"hidden" not in text
    srv = start_ours(tmp_path, "--appendonly", "yes")
    try:
        c = srv.client()
        assert c.mget("a", "b", "c", "hidden") == [b"2", b"x", b"fromfunc", None]
        assert c.fcall("ro", 1, "c") == b"fromfunc"
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", ["eval", "function"])
def test_busy_script_and_kill(tmp_path: Path, kind: str) -> None:
    srv = start_ours(tmp_path, "--busy-reply-threshold", "100")
    try:
        runner, other = srv.client(socket_timeout=20), srv.client(socket_timeout=20)
        other.ping()
        if kind == "function":
            runner.function_load("#!lua name=busy\nredis.register_function('spin', function() "
                                 "local i = 0 while true do i = i + 1 end end)")
        result: dict[str, object] = {}

        def go() -> None:
            try:
                if kind == "eval":
                    runner.eval("local i = 0 while true do i = i + 1 end", 0)
                else:
                    runner.fcall("spin", 0)
            except redis.ResponseError as exc:
                result["err"] = str(exc)

        t = threading.Thread(target=go)
        t.start()
        time.sleep(0.4)
        with pytest.raises(redis.ResponseError) as ei:
            other.get("x")
        killer = "SCRIPT KILL" if kind == "eval" else "FUNCTION KILL"
        assert str(ei.value) == f"BUSY Redis is busy running a script. You can only call {killer} or SHUTDOWN NOSAVE."
        if kind == "function":
            stats = other.execute_command("FUNCTION", "STATS")
            assert "spin" in repr(stats)
        wrong = "FUNCTION KILL" if kind == "eval" else "SCRIPT KILL"
        with pytest.raises(redis.ResponseError, match="BUSY|busy"):
            other.execute_command(*wrong.split())
        assert other.execute_command(*killer.split()) == b"OK"
        t.join(10)
        assert not t.is_alive()
        assert str(result["err"]).startswith("Script killed by user with SCRIPT KILL...")
        assert other.ping()
        with pytest.raises(redis.ResponseError, match="NOTBUSY No scripts in execution right now."):
            other.script_kill()
    finally:
        srv.stop()


def test_busy_matches_real_redis_text(tmp_path: Path) -> None:
    """The kill error a busy EVAL's caller sees, against real Redis."""
    outs = []
    for start in (start_ours, start_real):
        srv = start(tmp_path / start.__name__, "--busy-reply-threshold", "100")
        try:
            a, b = srv.client(socket_timeout=20), srv.client(socket_timeout=20)
            b.ping()
            res: list[object] = []
            spin = ["EVAL", "local i = 0\nwhile true do i = i + 1 end", "0"]
            t = threading.Thread(target=_spin, args=(a, spin, res))
            t.start()
            time.sleep(0.4)
            busy = run(b, ["SET", "x", "1"])
            b.script_kill()
            t.join(10)
            outs.append((busy, res[0]))
        finally:
            srv.stop()
    assert outs[0] == outs[1]


def _spin(client: redis.Redis, argv: list[object], out: list[object]) -> None:
    out.append(run(client, argv)[1])


@pytest.fixture(autouse=True)
def _mkdirs(tmp_path: Path) -> None:
    for name in ("start_ours", "start_real"):
        (tmp_path / name).mkdir(exist_ok=True)


def test_used_memory_lua_stays_bounded(ours, real):
    """The suite's "EVAL does not leak in the Lua stack": after thousands of scripts
    used_memory_lua stays near a fresh state's (a GC step every 50 runs, as
    luaCallFunction does), on both servers."""
    for srv in (ours, real):
        r = srv.client(socket_timeout=30)
        r.script_flush()
        r.set("x", 0)
        pipe = r.pipeline(transaction=False)
        for _ in range(5000):
            pipe.eval("return redis.call('incr', KEYS[1])", 1, "x")
        pipe.execute()
        assert r.get("x") == b"5000"
        used = r.info("memory")["used_memory_lua"]
        assert used < 100 * 1024, (srv, used)


def _error_stats(r: redis.Redis) -> tuple[object, ...]:
    info = r.info("errorstats")
    cmds = {k: (v["rejected_calls"], v["failed_calls"]) for k, v in r.info("commandstats").items()
            if k in ("cmdstat_eval", "cmdstat_set", "cmdstat_select", "cmdstat_fcall")}
    return info, r.info("stats")["total_error_replies"], cmds


@pytest.mark.parametrize("script", [
    "return redis.call('set', 'x', 'y')", "return redis.pcall('set', 'x', 'y')",
    "local t = redis.pcall('set', 'x', 'y'); return t['err']",
    "return redis.call('select', 99)", "return redis.pcall('select', 99)",
    "local t = redis.pcall('select', 99); return t['err']", "return redis.error_reply('MY err')",
    "error('boom')", "return redis.call('nosuchcommand')",
])
def test_script_errors_counted_once(ours, real, script):
    """An error a script's redis.call/pcall met is counted where it happened; the script
    returning or raising it is a failed EVAL, not a second error reply (as 7.0.15's
    "Consistent eval error reporting")."""
    out = []
    for srv in (ours, real):
        r = srv.client(socket_timeout=10)
        r.config_set("maxmemory", 1 if "'set'" in script else 0)
        r.config_resetstat()
        try:
            reply: object = r.eval(script, 1, "x")
        except redis.ResponseError as exc:
            reply = ("error", str(exc))
        r.config_set("maxmemory", 0)
        out.append((reply, _error_stats(r)))
    assert out[0] == out[1]
