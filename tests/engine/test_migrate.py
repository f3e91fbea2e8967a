"""MIGRATE as Redis 7.0.15 serves it, compared with real redis-server 7.0: ours migrates
into the real server's db 9 and the real server into ours, with the same commands; the
replies, what each side holds afterwards and the cached connection count must agree.
"""

from __future__ import annotations

from typing import Any

import redis

from tests.engine.conftest import ServerProc


def _scenario(src: ServerProc, dst: ServerProc) -> list[Any]:
    a = src.client(socket_timeout=10)
    b = dst.client(socket_timeout=10, db=9)
    a.flushall()
    b.flushdb()

    def run(*argv: Any) -> Any:
        try:
            return a.execute_command("MIGRATE", "127.0.0.1", dst.port, *argv)
        except redis.ResponseError as exc:
            return ("err", str(exc))

    a.set("key", "v")
    a.rpush("list", 1, 2, 3)
    a.set("ttl", "x", px=100000)
    a.hset("h", mapping={"a": 1})
    a.zadd("z", {"m": 1.5})
    out = [run("key", 9, 5000), run("list", 9, 5000, "COPY"), run("list", 9, 5000, "COPY"),
           run("list", 9, 5000, "COPY", "REPLACE"), run("ttl", 9, 5000), run("nokey", 9, 5000),
           run("x", 9, 5000, "KEYS", "a"), run("", 9, 5000, "KEYS", "nokey", "h", "z"),
           run("list", 9, 5000, "AUTH", "pw"), run("list", 9, 5000, "AUTH2", "u", "pw"),
           run("list", "x", 500), run("list", 9, "x"), run("list", 9, 500, "AUTH"),
           run("list", 9, 500, "bogus"), run("", 9, 500, "KEYS")]
    out.append(a.info("stats")["migrate_cached_sockets"])
    out += [sorted(a.keys()), sorted(b.keys()), b.lrange("list", 0, -1), b.zscore("z", "m"),
            90000 < b.pttl("ttl") <= 100000, b.ttl("key")]
    b.flushdb()
    return out


def test_migrate_like_redis(ours: ServerProc, real: ServerProc) -> None:
    assert _scenario(ours, real) == _scenario(real, ours)


def test_migrate_refused_connection_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """Nothing listens on the target port: Redis's connect succeeds and its write fails."""
    got = []
    for srv in (ours, real):
        c = srv.client(socket_timeout=10)
        c.set("k", "v")
        try:
            got.append(c.execute_command("MIGRATE", "127.0.0.1", 1, "k", 0, 500))
        except redis.ResponseError as exc:
            got.append(str(exc))
        got.append(c.exists("k"))
    assert got[:2] == got[2:]


def test_migrate_command_entry(ours: ServerProc, real: ServerProc) -> None:
    """COMMAND INFO marks MIGRATE movablekeys; GETKEYS finds the KEYS form's keys."""
    for argv in (("COMMAND", "INFO", "migrate"),
                 ("COMMAND", "GETKEYSANDFLAGS", "migrate", "h", "1", "", "0", "5", "KEYS", "a", "b"),
                 ("COMMAND", "GETKEYSANDFLAGS", "migrate", "h", "1", "k", "0", "5", "COPY")):
        got = []
        for srv in (ours, real):
            c = srv.client()
            c.response_callbacks.clear()
            got.append(c.execute_command(*argv))
        assert got[0] == got[1]
