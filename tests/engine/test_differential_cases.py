"""Hand-picked command sequences, replayed on both servers: replies must be identical."""

from __future__ import annotations

import pytest

from tests.engine.differential import normalise, run

pytestmark = pytest.mark.differential

_V_PAYLOAD = b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce"  # DUMP of the string "v" (7.0.15)

CASES: dict[str, list[list[object]]] = {
    "strings": [
        ["SET", "k", "v"], ["GET", "k"], ["SET", "k", "v2", "NX"], ["SET", "k", "v3", "XX", "GET"],
        ["SET", "n", "10"], ["INCR", "n"], ["INCRBY", "n", "-20"], ["DECR", "n"], ["DECRBY", "n", "5"],
        ["INCRBY", "n", "abc"], ["INCR", "k"], ["DECRBY", "n", "-9223372036854775808"],
        ["SET", "big", "9223372036854775807"], ["INCR", "big"], ["INCRBYFLOAT", "f", "10.5"],
        ["INCRBYFLOAT", "f", "0.1"], ["INCRBYFLOAT", "f", "5.0e3"], ["INCRBYFLOAT", "f", "abc"],
        ["INCRBYFLOAT", "f", "inf"], ["APPEND", "a", "hello"], ["APPEND", "a", " world"], ["STRLEN", "a"],
        ["GETRANGE", "a", "0", "4"], ["GETRANGE", "a", "-5", "-1"], ["GETRANGE", "a", "5", "2"],
        ["SETRANGE", "a", "6", "WORLD"], ["GET", "a"], ["SETRANGE", "s2", "5", "x"], ["GET", "s2"],
        ["SETRANGE", "s2", "-1", "x"], ["SETRANGE", "s3", "0", ""], ["MSET", "m1", "1", "m2", "2"],
        ["MGET", "m1", "m2", "nope", "a"], ["MSETNX", "m1", "x", "m3", "y"], ["MSETNX", "m4", "x", "m5", "y"],
        ["MSET", "m1"], ["GETDEL", "m1"], ["GETDEL", "m1"], ["GETSET", "m2", "new"], ["GETEX", "m2"],
        ["GETEX", "m2", "PERSIST"], ["GETEX", "m2", "EX", "0"], ["GETEX", "m2", "EX", "100", "PX", "10"],
        ["SETEX", "e", "0", "v"], ["SETEX", "e", "-5", "v"], ["PSETEX", "e", "abc", "v"], ["SET", "k", "v", "EX", "10", "PX", "5"],
        ["SET", "k", "v", "KEEPTTL", "EX", "5"], ["SET", "k", "v", "BOGUS"], ["SET", "k", "v", "EX"],
        ["SET", "k", "v", "NX", "XX"], ["SETNX", "k", "z"], ["SETNX", "newk", "z"], ["STRLEN", "nope"],
        ["LCS", "a", "k"], ["SET", "l1", "ohmytext"], ["SET", "l2", "mynewtext"], ["LCS", "l1", "l2"],
        ["LCS", "l1", "l2", "LEN"], ["LCS", "l1", "l2", "IDX"], ["LCS", "l1", "l2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        ["LCS", "l1", "l2", "LEN", "IDX"], ["SUBSTR", "a", "0", "2"],
        # MSET over keys with and without a TTL (db.set_pairs' two paths), a repeated key
        ["SET", "t1", "1", "EX", "100"], ["MSET", "t1", "2", "t2", "3", "t2", "4"], ["TTL", "t1"],
        ["MGET", "t1", "t2"], ["MSET", "t2", "5", "t3", "6"], ["MGET", "t2", "t3"], ["TTL", "t3"],
        ["MSET", "r1", "1", "r1", "22", "r2", "x", "r1", "333", "r2", "y", "r2", "z"], ["MGET", "r1", "r2"],
        ["OBJECT", "ENCODING", "r1"], ["MSETNX", "r3", "1", "r3", "2"], ["GET", "r3"],
        ["SET", "z0", "-0"], ["INCR", "z0"], ["SET", "neg", "-9223372036854775808"], ["DECR", "neg"], ["INCR", "neg"], ["INCRBY", "neg", "-1"],
    ],
    "encodings": [
        ["SET", "i", "123"], ["OBJECT", "ENCODING", "i"], ["SET", "e", "hello"], ["OBJECT", "ENCODING", "e"],
        ["SET", "r", "x" * 45], ["OBJECT", "ENCODING", "r"], ["SET", "x44", "x" * 44], ["OBJECT", "ENCODING", "x44"],
        ["APPEND", "i", "4"], ["OBJECT", "ENCODING", "i"], ["INCR", "i"], ["OBJECT", "ENCODING", "i"],
        ["INCRBYFLOAT", "fl", "3"], ["OBJECT", "ENCODING", "fl"], ["SET", "neg", "-0"], ["OBJECT", "ENCODING", "neg"],
        ["SET", "lead", "007"], ["OBJECT", "ENCODING", "lead"], ["OBJECT", "REFCOUNT", "i"], ["SET", "small", "5"],
        ["OBJECT", "REFCOUNT", "small"], ["OBJECT", "ENCODING", "nokey"], ["OBJECT", "FREQ", "i"],
        ["OBJECT", "IDLETIME", "nokey"], ["OBJECT", "nosuch", "i"], ["OBJECT", "ENCODING"],
        ["RPUSH", "list", "a"], ["OBJECT", "ENCODING", "list"], ["SADD", "iset", "1", "2"], ["OBJECT", "ENCODING", "iset"],
        ["SADD", "iset", "a"], ["OBJECT", "ENCODING", "iset"], ["HSET", "h", "f", "v"], ["OBJECT", "ENCODING", "h"],
        ["HSET", "h", "long", "v" * 65], ["OBJECT", "ENCODING", "h"], ["ZADD", "z", "1", "a"], ["OBJECT", "ENCODING", "z"],
        ["ZADD", "z", "2", "b" * 65], ["OBJECT", "ENCODING", "z"], ["SETBIT", "bits", "7", "1"], ["OBJECT", "ENCODING", "bits"],
        ["SETRANGE", "sr", "0", "12"], ["OBJECT", "ENCODING", "sr"], ["APPEND", "ap", "12"], ["OBJECT", "ENCODING", "ap"],
    ],
    "cluster_disabled": [  # a server without cluster-enabled: the commands exist and refuse
        ["CLUSTER", "INFO"], ["CLUSTER", "KEYSLOT", "foo"], ["CLUSTER", "HELP"], ["CLUSTER", "NOSUCH"],
        ["CLUSTER"], ["CLUSTER", "ADDSLOTS"], ["CLUSTER", "MYID", "x"], ["READONLY"], ["READWRITE"], ["ASKING"],
        ["READONLY", "x"], ["EVAL", "return redis.pcall('cluster', 'reset', 'hard')", "0"],
        ["EVAL", "return redis.pcall('cluster', 'info')", "0"], ["EVAL", "return redis.pcall('asking')", "0"],
        ["COMMAND", "INFO", "cluster|reset", "cluster|shards", "readonly", "asking"],
    ],
    "keys": [
        ["SET", "a", "1"], ["SET", "b", "2"], ["RPUSH", "l", "x"], ["EXISTS", "a", "b", "a", "zz"], ["TYPE", "l"], ["TYPE", "zz"],
        ["RENAME", "a", "c"], ["RENAME", "zz", "c"], ["RENAMENX", "c", "b"], ["RENAMENX", "c", "d"], ["RENAME", "d", "d"],
        ["COPY", "d", "e"], ["COPY", "d", "e"], ["COPY", "d", "e", "REPLACE"], ["COPY", "d", "d"], ["COPY", "d", "x", "DB", "1"],
        ["COPY", "d", "x", "DB", "99"], ["COPY", "d", "x", "FOO"], ["MOVE", "d", "1"], ["MOVE", "e", "0"], ["MOVE", "e", "x"],
        ["DEL", "b", "e", "nope"], ["UNLINK", "l"], ["DBSIZE"], ["TOUCH", "x", "nope"], ["EXPIRE", "x", "100"], ["TTL", "x"],
        ["EXPIRE", "x", "100", "NX"], ["EXPIRE", "x", "200", "GT"], ["TTL", "x"], ["EXPIRE", "x", "50", "GT"],
        ["EXPIRE", "x", "50", "LT"], ["TTL", "x"], ["EXPIRE", "x", "1", "NX", "XX"], ["EXPIRE", "x", "1", "GT", "LT"],
        ["EXPIRE", "x", "1", "FOO"], ["EXPIRE", "x", "abc"], ["PERSIST", "x"], ["PERSIST", "x"], ["TTL", "x"], ["PTTL", "nope"],
        ["EXPIRE", "x", "100", "XX"], ["EXPIREAT", "x", "99999999999"], ["EXPIRETIME", "x"], ["PEXPIRETIME", "x"],
        ["PEXPIREAT", "x", "99999999999000"], ["PEXPIRETIME", "x"], ["EXPIRE", "x", "-1"], ["EXISTS", "x"],
        ["EXPIRE", "x", "9223372036854775807"], ["SET", "y", "1"], ["PEXPIRE", "y", "9223372036854775807"],
        ["EXPIRETIME", "nope"], ["EXPIRETIME", "y"], ["SELECT", "1"], ["KEYS", "*"], ["SELECT", "99"], ["SELECT", "x"],
        ["SWAPDB", "0", "1"], ["SWAPDB", "0", "x"], ["SWAPDB", "0", "77"], ["KEYS", "*"], ["FLUSHDB", "ASYNC"], ["DBSIZE"],
        ["MSET", "h?llo", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5", "h[a]llo", "6"],
        ["KEYS", "h?llo"], ["KEYS", "h*llo"], ["KEYS", "h[ae]llo"], ["KEYS", "h[^e]llo"], ["KEYS", "h[a-b]llo"],
        ["KEYS", "h\\?llo"], ["KEYS", "h[]llo"], ["KEYS", "h[^]llo"], ["KEYS", "h[a"], ["KEYS", "nomatch*"],
        ["RANDOMKEY"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "x"], ["SCAN", "0", "TYPE"], ["SCAN", "0", "BOGUS", "1"],
        ["FLUSHALL", "SYNC", "ASYNC"], ["FLUSHALL"], ["RANDOMKEY"], ["DBSIZE"],
    ],
    "bits": [
        ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"], ["SETBIT", "b", "100", "1"], ["GETBIT", "b", "100"],
        ["GETBIT", "b", "1000"], ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "x", "1"],
        ["SET", "s", "foobar"], ["BITCOUNT", "s"], ["BITCOUNT", "s", "0", "0"], ["BITCOUNT", "s", "1", "1"],
        ["BITCOUNT", "s", "1", "1", "BYTE"], ["BITCOUNT", "s", "5", "30", "BIT"], ["BITCOUNT", "s", "-3", "-1", "BIT"],
        ["BITCOUNT", "s", "0"], ["BITCOUNT", "s", "0", "1", "FOO"], ["BITCOUNT", "nope"], ["BITCOUNT", "s", "-1", "-3"],
        ["SET", "p", "\xff\xf0\x00"], ["BITPOS", "p", "0"], ["BITPOS", "p", "1"], ["BITPOS", "p", "1", "2"],
        ["BITPOS", "p", "0", "0", "1"], ["BITPOS", "p", "1", "7", "15", "BIT"], ["BITPOS", "p", "0", "2", "-1", "BYTE"],
        ["BITPOS", "nope", "0"], ["BITPOS", "nope", "1"], ["BITPOS", "p", "2"], ["SET", "ones", "\xff\xff"],
        ["BITPOS", "ones", "0"], ["BITPOS", "ones", "0", "0", "-1"], ["BITPOS", "ones", "0", "1"],
        ["SET", "x1", "abc"], ["SET", "x2", "a"], ["BITOP", "AND", "d", "x1", "x2"], ["GET", "d"],
        ["BITOP", "OR", "d", "x1", "x2", "nope"], ["GET", "d"], ["BITOP", "XOR", "d", "x1", "x2"], ["GET", "d"],
        ["BITOP", "NOT", "d", "x1"], ["GET", "d"], ["BITOP", "NOT", "d", "x1", "x2"], ["BITOP", "FOO", "d", "x1"],
        ["BITOP", "AND", "d", "nope1", "nope2"], ["EXISTS", "d"], ["RPUSH", "lst", "a"], ["BITOP", "AND", "d", "lst"],
        ["GETBIT", "lst", "0"],
    ],
    "lists": [
        ["RPUSH", "l", "a", "b", "c", "d", "e"], ["LPUSH", "l", "z"], ["LRANGE", "l", "0", "-1"], ["LRANGE", "l", "-3", "100"],
        ["LRANGE", "l", "5", "2"], ["LINDEX", "l", "2"], ["LINDEX", "l", "-1"], ["LINDEX", "l", "99"], ["LINDEX", "nope", "x"],
        ["LINDEX", "l", "x"], ["LSET", "l", "1", "A"], ["LSET", "l", "99", "A"], ["LSET", "nope", "0", "A"], ["LLEN", "l"],
        ["LPOP", "l"], ["RPOP", "l", "2"], ["LPOP", "l", "0"], ["LPOP", "nope"], ["LPOP", "nope", "2"], ["LPOP", "l", "-1"],
        ["LPOP", "l", "1", "2"], ["RPUSH", "l", "a", "b", "a", "c", "a"], ["LREM", "l", "2", "a"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "-1", "a"], ["LREM", "l", "0", "zz"], ["LINSERT", "l", "BEFORE", "c", "X"], ["LINSERT", "l", "AFTER", "c", "Y"],
        ["LINSERT", "l", "AFTER", "nope", "Y"], ["LINSERT", "l", "MIDDLE", "c", "Y"], ["LRANGE", "l", "0", "-1"],
        ["RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c"], ["LPOS", "p", "c"], ["LPOS", "p", "c", "RANK", "2"],
        ["LPOS", "p", "c", "RANK", "-1"], ["LPOS", "p", "c", "COUNT", "2"], ["LPOS", "p", "c", "COUNT", "0"],
        ["LPOS", "p", "c", "RANK", "0"], ["LPOS", "p", "c", "MAXLEN", "3"], ["LPOS", "p", "x"], ["LPOS", "p", "x", "COUNT", "1"],
        ["LPOS", "nope", "x", "COUNT", "1"], ["LPOS", "p", "c", "COUNT", "-1"], ["LTRIM", "p", "1", "-2"], ["LRANGE", "p", "0", "-1"],
        ["LTRIM", "p", "5", "1"], ["EXISTS", "p"], ["LMOVE", "l", "m", "LEFT", "RIGHT"], ["LMOVE", "l", "m", "RIGHT", "LEFT"],
        ["LRANGE", "m", "0", "-1"], ["LMOVE", "l", "m", "UP", "LEFT"], ["RPOPLPUSH", "m", "m"], ["LRANGE", "m", "0", "-1"],
        ["LMPOP", "2", "nope", "m", "LEFT", "COUNT", "2"], ["LMPOP", "0", "m", "LEFT"], ["LMPOP", "1", "m"], ["LMPOP", "1", "nope", "RIGHT"],
        ["SET", "str", "x"], ["LPUSH", "str", "a"], ["LRANGE", "str", "0", "1"], ["LPUSHX", "nope", "a"], ["RPUSHX", "m", "q"],
        ["BLPOP", "nope", "m", "0.01"], ["BRPOP", "m", "x"], ["BRPOP", "m", "-1"], ["BLMOVE", "m", "n", "LEFT", "LEFT", "0.01"],
        ["BLMPOP", "0.01", "1", "nope", "LEFT"],
    ],
    "hashes": [
        ["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3"], ["HSET", "h", "x"], ["HGET", "h", "a"], ["HGET", "h", "nope"],
        ["HMSET", "h", "c", "3"], ["HMGET", "h", "a", "nope", "c"], ["HGETALL", "h"], ["HKEYS", "h"], ["HVALS", "h"], ["HLEN", "h"],
        ["HEXISTS", "h", "a"], ["HSTRLEN", "h", "a"], ["HSETNX", "h", "a", "9"], ["HSETNX", "h", "d", "9"], ["HDEL", "h", "a", "nope"],
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-10"], ["HINCRBY", "h", "c", "x"], ["HSET", "h", "s", "abc"],
        ["HINCRBY", "h", "s", "1"], ["HINCRBYFLOAT", "h", "fl", "1.5"], ["HINCRBYFLOAT", "h", "fl", "0.1"], ["HINCRBYFLOAT", "h", "s", "1"],
        ["HINCRBYFLOAT", "h", "fl", "inf"], ["HSET", "h", "max", "9223372036854775807"], ["HINCRBY", "h", "max", "1"],
        ["HGETALL", "nope"], ["HSCAN", "h", "0"], ["HSCAN", "h", "0", "MATCH", "f*"], ["HSCAN", "h", "0", "TYPE", "x"],
        ["HRANDFIELD", "nope"], ["HRANDFIELD", "nope", "3"], ["HRANDFIELD", "h", "0"], ["HRANDFIELD", "h", "1", "FOO"],
        ["HDEL", "h", "b", "c", "d", "n", "s", "fl", "max"], ["EXISTS", "h"], ["SET", "str", "x"], ["HGET", "str", "a"], ["HSET", "str", "a", "b"],
    ],
    "hset_one_field": [  # engine/_bodies.h's common cases and the cases it leaves to hset_cmd, hget_cmd
        ["CONFIG", "SET", "hash-max-listpack-entries", "3"], ["CONFIG", "SET", "hash-max-listpack-value", "8"],
        ["HSET", "h", "a", "1"], ["HSET", "h", "a", "12345678"], ["OBJECT", "ENCODING", "h"], ["HSET", "h", "b", "x"],
        ["HSET", "h", "b", "x"], ["HSET", "h", "-7", "-5"], ["OBJECT", "ENCODING", "h"], ["HGETALL", "h"],
        ["HSET", "h", "d", "y"], ["OBJECT", "ENCODING", "h"], ["HSET", "h", "d", "z"], ["HGET", "h", "d"],
        ["HGET", "h", "nope"], ["HGET", "h", "-7"], ["HGET", "nokey", "f"],
        ["HSET", "w", "a", "1"], ["HSET", "w", "a", "123456789"], ["OBJECT", "ENCODING", "w"], ["HSET", "w", "a", "2"],
        ["HSET", "w", "b", "3"], ["OBJECT", "ENCODING", "w"], ["HGETALL", "w"], ["HGET", "w", "a"], ["HGET", "w", "c"],
        ["HSET", "w", "ffffffffff", "3"],
        ["HSET", "t", "f", "v"], ["EXPIRE", "t", "100"], ["HSET", "t", "f", "w"], ["TTL", "t"], ["HGET", "t", "f"],
        ["SET", "s", "v"], ["HSET", "s", "f", "v"], ["HSET", "s", "f"], ["HSET", "s"],
        ["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], ["HSET", "q", "f", "v"], ["HSET", "q", "f", "w"],
        ["HGET", "q", "f"], ["CONFIG", "SET", "maxmemory-policy", "noeviction"],
        ["CONFIG", "SET", "hash-max-listpack-value", "64"],
    ],
    "sets": [
        ["SADD", "s", "1", "2", "3"], ["SADD", "s", "2", "4"], ["SMEMBERS", "s"], ["SISMEMBER", "s", "2"], ["SMISMEMBER", "s", "1", "9"],
        ["SCARD", "s"], ["SREM", "s", "1", "9"], ["SADD", "t", "3", "4", "5", "x"], ["SINTER", "s", "t"], ["SUNION", "s", "t"],
        ["SDIFF", "t", "s"], ["SINTERSTORE", "d", "s", "t"], ["OBJECT", "ENCODING", "d"], ["SUNIONSTORE", "d", "s", "t"],
        ["OBJECT", "ENCODING", "d"], ["SDIFFSTORE", "d", "s", "s"], ["EXISTS", "d"], ["SINTERCARD", "2", "s", "t"],
        ["SINTERCARD", "2", "s", "t", "LIMIT", "1"], ["SINTERCARD", "0", "s"], ["SINTERCARD", "3", "s", "t"],
        ["SINTERCARD", "1", "s", "LIMIT", "-1"], ["SINTER", "s", "nope"], ["SMOVE", "s", "t", "2"], ["SMOVE", "s", "t", "99"],
        ["SMOVE", "nope", "t", "2"], ["SMOVE", "t", "t", "2"], ["SPOP", "nope"], ["SPOP", "nope", "2"], ["SPOP", "s", "0"],
        ["SPOP", "s", "-1"], ["SRANDMEMBER", "nope"], ["SRANDMEMBER", "nope", "2"], ["SRANDMEMBER", "s", "0"], ["SSCAN", "s", "0"],
        ["SSCAN", "t", "0", "MATCH", "x"], ["SET", "str", "1"], ["SADD", "str", "a"], ["SUNION", "s", "str"], ["SINTER", "nope", "str"],
        ["SINTER", "str", "nope"], ["SPOP", "s", "1", "2"],
    ],
    "zsets": [
        ["ZADD", "z", "1", "a", "2", "b", "3", "c"], ["ZADD", "z", "NX", "5", "a", "4", "d"], ["ZADD", "z", "XX", "CH", "10", "a", "1", "e"],
        ["ZADD", "z", "GT", "CH", "5", "b", "1", "c"], ["ZADD", "z", "LT", "CH", "1", "b"], ["ZADD", "z", "INCR", "2", "b"],
        ["ZADD", "z", "INCR", "GT", "-1", "b"], ["ZADD", "z", "NX", "XX", "1", "a"], ["ZADD", "z", "GT", "LT", "1", "a"],
        ["ZADD", "z", "INCR", "1", "a", "2", "b"], ["ZADD", "z", "1"], ["ZADD", "z", "x", "a"], ["ZADD", "z", "nan", "a"],
        ["ZINCRBY", "z", "1.5", "a"], ["ZINCRBY", "z", "x", "a"], ["ZSCORE", "z", "a"], ["ZSCORE", "z", "nope"], ["ZMSCORE", "z", "a", "nope"],
        ["ZMSCORE", "nope", "a"], ["ZCARD", "z"], ["ZRANK", "z", "c"], ["ZREVRANK", "z", "c"], ["ZRANK", "z", "nope"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZRANGE", "z", "1", "2"], ["ZRANGE", "z", "0", "-1", "REV"],
        ["ZRANGE", "z", "(1", "5", "BYSCORE", "WITHSCORES"], ["ZRANGE", "z", "5", "(1", "BYSCORE", "REV"], ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
        ["ZRANGE", "z", "0", "1", "LIMIT", "1", "2"], ["ZRANGE", "z", "a", "b", "BYSCORE"], ["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", "0", "2"], ["ZREVRANGEBYSCORE", "z", "+inf", "-inf"],
        ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"], ["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "-1"],
        ["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"], ["ZRANGEBYLEX", "lex", "[b", "(d"], ["ZREVRANGEBYLEX", "lex", "+", "-"],
        ["ZRANGEBYLEX", "lex", "b", "d"], ["ZLEXCOUNT", "lex", "-", "+"], ["ZLEXCOUNT", "lex", "(a", "[c"], ["ZCOUNT", "z", "1", "3"],
        ["ZCOUNT", "z", "(1", "(3"], ["ZCOUNT", "z", "x", "3"], ["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
        ["ZRANGESTORE", "dst", "z", "0", "1"], ["ZRANGE", "dst", "0", "-1", "WITHSCORES"], ["ZRANGESTORE", "dst", "nope", "0", "1"],
        ["EXISTS", "dst"], ["ZREMRANGEBYRANK", "lex", "0", "0"], ["ZREMRANGEBYLEX", "lex", "[c", "+"], ["ZRANGE", "lex", "0", "-1"],
        ["ZREMRANGEBYSCORE", "z", "-inf", "(2"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"],
        ["ZPOPMIN", "nope"], ["ZPOPMIN", "z", "0"], ["ZPOPMIN", "z", "-1"], ["ZADD", "u1", "1", "a", "2", "b"], ["ZADD", "u2", "3", "b", "4", "c"],
        ["SADD", "uset", "b", "x"], ["ZUNION", "2", "u1", "u2", "WITHSCORES"], ["ZINTER", "2", "u1", "u2", "WITHSCORES"],
        ["ZDIFF", "2", "u1", "u2", "WITHSCORES"], ["ZUNION", "3", "u1", "u2", "uset", "WEIGHTS", "1", "2", "3", "AGGREGATE", "MAX", "WITHSCORES"],
        ["ZUNIONSTORE", "out", "2", "u1", "u2", "AGGREGATE", "MIN"], ["ZRANGE", "out", "0", "-1", "WITHSCORES"], ["OBJECT", "ENCODING", "out"],
        ["ZINTERSTORE", "out", "2", "u1", "nope"], ["EXISTS", "out"], ["ZDIFFSTORE", "out", "1", "u1"], ["ZINTERCARD", "2", "u1", "u2"],
        ["ZINTERCARD", "2", "u1", "u2", "LIMIT", "-1"], ["ZINTERCARD", "0", "u1"], ["ZINTERCARD", "5", "u1"],
        ["ZINTERCARD", "x", "u1"], ["ZINTERCARD", "-1", "u1"], ["ZINTERCARD", "1", "u1", "foo"], ["ZUNION", "0", "u1"], ["ZUNION", "3", "u1"], ["ZUNIONSTORE", "o", "1", "u1", "WEIGHTS", "x"],
        ["ZDIFF", "1", "u1", "WEIGHTS", "2"], ["ZMPOP", "2", "nope", "u1", "MIN", "COUNT", "5"], ["ZMPOP", "1", "u2", "MAX"],
        ["ZMPOP", "1", "u2", "FOO"], ["BZPOPMIN", "nope", "u2", "0.01"], ["BZMPOP", "0.01", "1", "nope", "MIN"], ["ZSCAN", "u2", "0"],
        ["ZADD", "fl", "0.1", "a", "1e20", "b", "-inf", "c"], ["ZRANGE", "fl", "0", "-1", "WITHSCORES"], ["ZSCAN", "fl", "0"],
        ["ZRANDMEMBER", "nope"], ["ZRANDMEMBER", "fl", "0"], ["SET", "str", "x"], ["ZADD", "str", "1", "a"], ["ZUNION", "1", "str"],
    ],
    "transactions": [
        ["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["LPUSH", "a", "x"], ["EXEC"], ["EXEC"], ["DISCARD"], ["MULTI"], ["MULTI"],
        ["SET", "b"], ["EXEC"], ["MULTI"], ["NOSUCH"], ["DISCARD"], ["WATCH", "a"], ["UNWATCH"],
    ],
    "server": [
        ["PING"], ["PING", "x"], ["PING", "x", "y"], ["ECHO", "hi"], ["ECHO"], ["NOSUCHCMD", "a", "b"], ["GET"], ["CONFIG", "GET", "maxmemory"],
        ["CONFIG", "SET", "nosuch", "1"], ["CONFIG", "SET", "hz", "abc"], ["CONFIG", "SET", "maxmemory-policy", "foo"], ["CONFIG", "FOO"],
        ["CONFIG", "SET", "protected-mode", "maybe"], ["CONFIG", "SET", "hz"], ["CONFIG", "SET", "databases", "3"],
        ["CONFIG", "SET", "proto-max-bulk-len", "5"], ["CONFIG", "SET", "hz", "5", "hz", "6"], ["CONFIG", "GET", "hash-max-*-entries"],
        ["CLIENT", "SETNAME", "bad name"], ["CLIENT", "NOPE"], ["AUTH", "x"], ["AUTH", "a", "b", "c"], ["AUTH", "default", "x"],
        ["HELLO", "4"], ["HELLO", "x"], ["HELLO", "2", "FOO"], ["SLOWLOG", "FOO"], ["SLOWLOG", "GET", "-2"], ["DEBUG", "SLEEP", "0"],
        ["WAIT", "0", "0"], ["COMMAND", "GETKEYS", "GET", "a"], ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
        ["COMMAND", "GETKEYS", "NOSUCH"], ["SET", "obj", "hello"], ["DEBUG", "OBJECT", "nope"],
    ],
    "server_misc": [  # LOLWUT's default art, MODULE without modules, RESTORE-ASKING
        ["LOLWUT"], ["LOLWUT", "foo", "bar"], ["LOLWUT", "VERSION"], ["LOLWUT", "VERSION", "x"],
        ["LOLWUT", "VERSION", "7"], ["LOLWUT", "version", "4"], ["LOLWUT", "VERSION", "-1"],
        ["LOLWUT", "VERSION", "59"], ["LOLWUT", "VERSION", "4294967303"], ["LOLWUT", "VERSION", "99999999999999999999"],
        ["LOLWUT", "VERSION", "5", "x"], ["LOLWUT", "VERSION", "5", "1", "y"], ["LOLWUT", "VERSION", "5", "1", "1", "z"],
        ["LOLWUT", "VERSION", "6", "x"], ["LOLWUT", "VERSION", "6", "1", "y"], ["LOLWUT", "VERSION", "4.9", "x"],
        ["MODULE"], ["MODULE", "HELP"], ["MODULE", "help", "x"], ["MODULE", "LIST"], ["MODULE", "LIST", "x"],
        ["MODULE", "NOSUCH"], ["MODULE", "LOAD", "/nonexistent/m.so"], ["MODULE", "LOADEX", "/nonexistent/m.so"],
        ["MODULE", "UNLOAD", "nosuch"], ["MODULE", "UNLOAD"], ["MODULE", "LOAD"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch"], ["EVAL", "return redis.call('lolwut')", "0"],
        ["EVAL", "return redis.pcall('module', 'list')", "0"], ["EVAL", "return redis.pcall('failover')", "0"],
        ["MULTI"], ["LOLWUT"], ["MODULE", "LIST"], ["FAILOVER", "ABORT"], ["EXEC"],
        ["SET", "src", "v"], ["RESTORE-ASKING", "k", "0", "bad"], ["RESTORE-ASKING", "k"], ["RESTORE-ASKING", "src", "0", "x"],
        ["RESTORE-ASKING", "k", "-1", "x"], ["RESTORE-ASKING", "k", "0", "x", "FOO"],
        ["RESTORE-ASKING", "k", "0", _V_PAYLOAD], ["RESTORE-ASKING", "k", "0", _V_PAYLOAD],
        ["RESTORE-ASKING", "k", "0", _V_PAYLOAD, "REPLACE"], ["RESTORE-ASKING", "k2", "100000", _V_PAYLOAD, "ABSTTL"],
        ["GET", "k"], ["OBJECT", "ENCODING", "k"],
        ["COMMAND", "INFO", "lolwut", "restore-asking", "module|help", "module|list", "module|load",
         "module|loadex", "module|unload", "replicaof", "psync"],
        ["COMMAND", "DOCS", "lolwut"], ["COMMAND", "DOCS", "restore-asking"],
        ["COMMAND", "DOCS", "module|help"], ["COMMAND", "DOCS", "module|list"], ["COMMAND", "DOCS", "module|load"],
        ["COMMAND", "DOCS", "module|loadex"], ["COMMAND", "DOCS", "module|unload"],
    ],
    "failover_refused": [  # a master without replicas: FAILOVER's argument checks and refusals
        ["FAILOVER"], ["FAILOVER", "ABORT"], ["FAILOVER", "abort", "x"], ["FAILOVER", "TIMEOUT", "0"],
        ["FAILOVER", "TIMEOUT", "-5"], ["FAILOVER", "TIMEOUT", "x"], ["FAILOVER", "TIMEOUT"], ["FAILOVER", "TO", "h"],
        ["FAILOVER", "TO", "h", "x"], ["FAILOVER", "TO", "h", "1", "TO", "h", "2"], ["FAILOVER", "FORCE", "FORCE"],
        ["FAILOVER", "TIMEOUT", "5", "TIMEOUT", "6"], ["FAILOVER", "FORCE"], ["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"],
        ["FAILOVER", "BOGUS"], ["PSYNC", "abc", "1", "FAILOVER"],
        ["COMMAND", "INFO", "failover"], ["COMMAND", "DOCS", "failover"],
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(pair, name):
    ours, real = pair
    mismatches = []
    for argv in CASES[name]:
        a = normalise(argv, run(ours, argv), unordered_hash=True)
        b = normalise(argv, run(real, argv), unordered_hash=True)
        if a != b:
            mismatches.append((argv, a, b))
    assert not mismatches, "\n".join(f"{m[0]}:\n  ours={m[1]!r}\n  real={m[2]!r}" for m in mismatches)


def test_dump_restore_roundtrip_with_redis(pair):
    """Payloads cross both ways: ours → real Redis and real Redis → ours, values and encodings intact."""
    ours, real = pair
    setup = [["SET", "s", "hello"], ["SET", "i", "12345"], ["RPUSH", "l", "a", "b", "1"],
             ["HSET", "h", "f", "v", "g", "w"], ["SADD", "is", "1", "2", "3"], ["SADD", "hs", "a", "b"],
             ["ZADD", "z", "1.5", "a", "2", "b"], ["HSET", "big", *[x for i in range(600) for x in (f"f{i}", "v")]],
             ["ZADD", "bigz", *[x for i in range(200) for x in (str(i), f"m{i}")]]]
    for argv in setup:
        run(ours, argv)
        run(real, argv)
    reads = {"s": ["GET"], "i": ["GET"], "l": ["LRANGE", 0, -1], "h": ["HGETALL"], "is": ["SMEMBERS"],
             "hs": ["SMEMBERS"], "z": ["ZRANGE", 0, -1, "WITHSCORES"], "big": ["HLEN"], "bigz": ["ZCARD"]}
    for key, read in reads.items():
        for src, dst in ((ours, real), (real, ours)):
            kind, payload = run(src, ["DUMP", key])
            assert kind == "ok" and payload
            assert run(dst, ["RESTORE", key + "-copy", 0, payload]) == ("ok", b"OK")
            want = run(src, [read[0], key, *read[1:]])
            got = run(dst, [read[0], key + "-copy", *read[1:]])
            norm = (lambda v: sorted(v[1]) if isinstance(v[1], list) else v) if read[0] in ("SMEMBERS", "HGETALL") else (lambda v: v)
            assert norm(got) == norm(want), key
            assert run(dst, ["OBJECT", "ENCODING", key + "-copy"]) == run(src, ["OBJECT", "ENCODING", key])
            run(dst, ["DEL", key + "-copy"])
    errors = [["RESTORE", "s", 0, "x"], ["RESTORE", "new", 0, "garbage-payload"], ["RESTORE", "new", -1, "x"],
              ["RESTORE", "new", 0, "x", "FOO"], ["RESTORE", "new", 0, "x", "IDLETIME", "-1"],
              ["RESTORE", "new", 0, "x", "FREQ", "300"], ["DUMP", "nope"]]
    for argv in errors:
        assert run(ours, argv) == run(real, argv), argv
