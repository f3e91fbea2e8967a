"""Introspection commands as Redis 7.0.15 serves them, compared with real redis-server 7.0:
CLIENT REPLY ON/OFF/SKIP (what reaches the wire), CLIENT HELP, COMMAND GETKEYS /
GETKEYSANDFLAGS, COMMAND LIST FILTERBY and the MEMORY subcommands' reply shapes.

The CLIENT REPLY scenarios write a pipeline on a raw socket and compare the bytes that
come back, up to a final ``ECHO end``: a reply that should have been dropped shows.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import redis

from tests.engine.conftest import ServerProc


def _resp(*argv: str) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        b = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _wire(srv: ServerProc, cmds: list[tuple[str, ...]]) -> bytes:
    """The bytes the server answers a pipeline with, up to the reply of a final ECHO."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"".join(_resp(*c) for c in cmds) + _resp("ECHO", "end"))
        data = b""
        while not data.endswith(b"$3\r\nend\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


REPLY_PIPELINES = {
    "off then on": [("CLIENT", "REPLY", "OFF"), ("PING",), ("SET", "a", "b"), ("GET", "nokey"),
                    ("NOSUCH",), ("CLIENT", "REPLY", "ON"), ("GET", "a")],
    "skip": [("CLIENT", "REPLY", "SKIP"), ("PING", "x"), ("PING", "y"), ("CLIENT", "REPLY", "SKIP"),
             ("CLIENT", "REPLY", "SKIP"), ("PING", "z"), ("PING", "w")],
    "on unsets skip": [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING", "x")],
    "skip while off": [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"),
                       ("PING", "a"), ("PING", "b")],
    "skip an error": [("CLIENT", "REPLY", "SKIP"), ("INCR",), ("CLIENT", "REPLY", "SKIP"), ("NOSUCH",),
                      ("PING",)],
    "errors": [("CLIENT", "REPLY"), ("CLIENT", "REPLY", "maybe"), ("CLIENT", "REPLY", "on", "x"),
               ("CLIENT", "HELP")],
    "in multi": [("MULTI",), ("CLIENT", "REPLY", "SKIP"), ("PING", "q"), ("EXEC",), ("PING", "after")],
}


@pytest.mark.parametrize("name", list(REPLY_PIPELINES))
def test_client_reply_like_redis(name: str, ours: ServerProc, real: ServerProc) -> None:
    cmds = REPLY_PIPELINES[name]
    assert _wire(ours, cmds) == _wire(real, cmds)


def _raw(c: redis.Redis, *argv: Any) -> Any:
    try:
        return c.execute_command(*argv, NEVER_DECODE=True)
    except redis.ResponseError as exc:
        return ("err", str(exc))


CASES: list[tuple[Any, ...]] = [
    ("COMMAND", "INFO", "client|reply"),
    ("COMMAND", "DOCS", "client|reply"),
    ("COMMAND", "INFO", "lcs"),
    ("COMMAND", "LIST", "bad_arg"), ("COMMAND", "LIST", "FILTERBY", "bad_arg"),
    ("COMMAND", "LIST", "FILTERBY", "bad_arg", "x"), ("COMMAND", "LIST", "FILTERBY", "module", "x"),
    ("COMMAND", "LIST", "FILTERBY", "aclcat", "no_such_category"),
    ("COMMAND", "LIST", "FILTERBY", "pattern", "set"), ("COMMAND", "LIST", "FILTERBY", "PATTERN", "GE?"),
    ("COMMAND", "LIST", "FILTERBY", "pattern", "config|*re*"),
    ("COMMAND", "LIST", "FILTERBY", "pattern", "xyz", "FILTERBY", "pattern", "get"),
    ("COMMAND", "GETKEYS", "eval", "return 1", "0"), ("COMMAND", "GETKEYS", "lcs", "k1", "k2"),
    ("COMMAND", "GETKEYS", "nosuch", "a", "b"), ("COMMAND", "GETKEYS", "ping", "a"),
    ("COMMAND", "GETKEYS", "get", "a", "b"), ("COMMAND", "GETKEYS", "config", "nosuch", "x"),
    ("COMMAND", "GETKEYS", "memory", "usage", "k"),
    ("CLIENT", "KILL", "USER", "wrong_user"), ("CLIENT", "KILL", "USER", "default", "ID", "99999"),
    ("MEMORY", "DOCTOR"), ("MEMORY", "PURGE"), ("MEMORY", "HELP"), ("MEMORY", "STATS", "x"),
    ("MEMORY", "DOCTOR", "x"), ("MEMORY", "MALLOC-STATS", "x"), ("MEMORY", "NOSUCH"),
    ("COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1"), ("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "GET"),
    ("COMMAND", "GETKEYSANDFLAGS", "mset", "k1", "v1", "k2", "v2"),
    ("COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right"),
    ("COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "store", "k2"),
    ("COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "BY", "w*", "STORE", "a", "STORE", "b"),
    ("COMMAND", "GETKEYSANDFLAGS", "eval", "return 1", "2", "a", "b"),
    ("COMMAND", "GETKEYSANDFLAGS", "eval", "return 1", "x", "a"),
    ("COMMAND", "GETKEYSANDFLAGS", "zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"),
    ("COMMAND", "GETKEYSANDFLAGS", "xread", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
    ("COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "GET", "u8", "0"),
    ("COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"),
    ("COMMAND", "GETKEYSANDFLAGS", "georadius", "k", "1", "1", "1", "km", "STORE", "d"),
    ("COMMAND", "GETKEYSANDFLAGS", "blmpop", "0", "2", "a", "b", "LEFT"),
    ("COMMAND", "GETKEYSANDFLAGS", "ping"), ("COMMAND", "GETKEYSANDFLAGS", "get"),
    ("COMMAND", "INFO", "set", "get", "mset", "lmove", "sort", "georadius", "xread", "eval"),
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(a)[:60] for a in CASES])
def test_introspection_replies_like_redis(argv: tuple[Any, ...], pair: tuple[redis.Redis, redis.Redis]) -> None:
    a, b = pair
    ours, real = _raw(a, *argv), _raw(b, *argv)
    if argv[:2] == ("COMMAND", "LIST") and isinstance(real, list):
        ours, real = sorted(ours), sorted(real)  # Redis's dict order changes with its hash seed
    assert ours == real


@pytest.mark.parametrize("cat", ["scripting", "SCRIPTING", "transaction", "geo"])
def test_command_list_by_aclcat_like_redis(cat: str, pair: tuple[redis.Redis, redis.Redis]) -> None:
    """The names of every command of an ACL category, commands we do not serve aside."""
    a, b = pair
    ours = set(_raw(a, "COMMAND", "LIST", "FILTERBY", "aclcat", cat))
    real = set(_raw(b, "COMMAND", "LIST", "FILTERBY", "aclcat", cat))
    served = set(_raw(a, "COMMAND", "LIST"))
    assert ours == real & served


def test_no_touch_lookups_like_redis(pair: tuple[redis.Redis, redis.Redis]) -> None:
    """EXISTS, TYPE and the TTL family look keys up without touching them
    (LOOKUP_NOTOUCH: the LFU counter stays at 5) but count hits and misses."""
    got = []
    for c in pair:
        c.config_set("maxmemory-policy", "allkeys-lfu")
        try:
            c.config_resetstat()
            out = [_raw(c, "SET", "k", "v")]
            for cmd in ("EXISTS", "TYPE", "TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
                out += [_raw(c, cmd, "k"), _raw(c, cmd, "nokey")]
            out.append(_raw(c, "OBJECT", "FREQ", "k"))
            stats = _raw(c, "INFO", "stats")
            out += [ln for ln in stats.split(b"\r\n") if ln.startswith(b"keyspace_")]
        finally:
            c.config_set("maxmemory-policy", "noeviction")
        got.append(out)
    assert got[0] == got[1]


def test_memory_stats_shape_like_redis(pair: tuple[redis.Redis, redis.Redis]) -> None:
    """MEMORY STATS: Redis's fields in its order and reply types (the figures are the
    memory model's: total.allocated is INFO's used_memory, keys.count the keys)."""
    shapes = []
    for c in pair:
        c.set("k", "v")
        c.set("e", "v", ex=100)
        stats = _raw(c, "MEMORY", "STATS")
        if isinstance(stats, list):
            stats = dict(zip(stats[::2], stats[1::2], strict=True))
        shapes.append([(k, type(v).__name__) for k, v in stats.items()])
        assert stats[b"keys.count"] == 2
        if c is pair[0]:  # the model's figures agree with INFO (Redis's move between calls)
            used = [ln for ln in _raw(c, "INFO", "memory").split(b"\r\n") if ln.startswith(b"used_memory:")]
            assert used == [b"used_memory:%d" % stats[b"total.allocated"]]
    assert shapes[0] == shapes[1]
