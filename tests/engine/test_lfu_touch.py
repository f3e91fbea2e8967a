"""How many times a command touches a key: the LFU counter (``lfu-log-factor 0`` makes each
touch count one) and the keyspace hits/misses it counts, beside real Redis 7.0.

Each lookup Redis makes is a touch: ``lookupKeyWrite`` in setGenericCommand (once: setKey
is told the key exists), a second one for SET's GET option (``getGenericCommand``, a read
that also counts a hit) and for a BZPOP* served at once (the blocking check, then
genericZpopCommand's own). dbOverwrite keeps the old value's LFU word (INCR, INCRBYFLOAT,
SPOP's new set), RENAME and MOVE carry the value with its word (dbAdd of the same object),
COPY's source is a read (a hit) and its copy a new object. ``maxmemory`` is set so that no
shared integer objects are used (their counter is shared by every key holding them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import start_ours, start_real

SETUP = {
    "str": [["SET", "k", "100000"]],
    "hash": [["HSET", "k", "f", "1", "g", "2"]],
    "list": [["RPUSH", "k", "a", "b", "c"]],
    "set": [["SADD", "k", *(f"m{i}" for i in range(10))]],
    "zset": [["ZADD", "k", "1", "a", "2", "b"]],
    "ttl": [["SET", "k", "100000", "EX", "1000"], ["SET", "k2", "x"], ["SELECT", "1"], ["SET", "k", "y"], ["SELECT", "0"]],
}
CASES = [
    ("str", ["INCR", "k"]), ("str", ["DECRBY", "k", "3"]), ("str", ["INCRBYFLOAT", "k", "1.5"]),
    ("str", ["SET", "k", "7"]), ("str", ["SET", "k", "7", "GET"]), ("str", ["SET", "k", "7", "XX"]),
    ("str", ["SET", "k2", "7", "XX"]), ("str", ["SET", "k", "7", "NX"]),
    ("ttl", ["SET", "k", "7", "KEEPTTL"]), ("str", ["SET", "k", "7", "EX", "100"]),
    ("str", ["SETEX", "k", "100", "1"]), ("str", ["PSETEX", "k", "100000", "1"]), ("str", ["GETSET", "k", "5"]),
    ("str", ["SETNX", "k", "1"]), ("str", ["APPEND", "k", "x"]), ("str", ["GETEX", "k", "EX", "100"]),
    ("str", ["GET", "k"]), ("str", ["GET", "nokey"]), ("str", ["MSET", "k", "1", "k2", "2"]),
    ("str", ["RENAME", "k", "k2"]), ("ttl", ["RENAME", "k", "k2"]), ("str", ["RENAMENX", "k", "k2"]),
    ("str", ["MOVE", "k", "1"]), ("ttl", ["MOVE", "k", "1"]), ("str", ["COPY", "k", "k2"]),
    ("str", ["COPY", "k", "k2", "DB", "1"]), ("str", ["COPY", "nokey", "k2"]),
    ("hash", ["HSET", "k", "f", "3"]), ("hash", ["HINCRBY", "k", "f", "1"]),
    ("list", ["LPUSH", "k", "x"]), ("list", ["BLPOP", "k", "0"]), ("list", ["LMOVE", "k", "k", "LEFT", "RIGHT"]),
    ("list", ["BLMOVE", "k", "k2", "LEFT", "RIGHT", "0"]), ("list", ["BRPOPLPUSH", "k", "k", "0"]),
    ("list", ["BLMPOP", "0", "1", "k", "LEFT"]), ("list", ["LMPOP", "1", "k", "LEFT"]),
    ("set", ["SPOP", "k"]), ("set", ["SPOP", "k", "2"]), ("set", ["SPOP", "k", "9"]),
    ("zset", ["ZPOPMIN", "k"]), ("zset", ["BZPOPMIN", "k", "0"]), ("zset", ["BZPOPMAX", "k", "0"]),
    ("zset", ["BZMPOP", "0", "1", "k", "MIN"]), ("zset", ["ZINCRBY", "k", "1", "a"]),
]


def observe(start, tmp: Path) -> list[tuple]:
    srv = start(tmp)
    try:
        c = srv.client()
        c.config_set("maxmemory", "1gb")
        c.config_set("maxmemory-policy", "allkeys-lfu")
        c.config_set("lfu-log-factor", "0")
        out = []
        for setup, cmd in CASES:
            c.flushall()
            for s in SETUP[setup]:
                c.execute_command(*s)
            before = c.info("stats")
            try:
                reply = c.execute_command(*cmd)
            except Exception as exc:  # noqa: BLE001 - the error text is compared too
                reply = str(exc)
            if cmd[0] == "SPOP":  # random members: how many
                reply = len(reply) if isinstance(reply, list) else 1
            after = c.info("stats")
            freqs = []
            for db in (0, 1):
                c.execute_command("SELECT", db)
                freqs += [c.execute_command("OBJECT", "FREQ", k) if c.exists(k) else None for k in ("k", "k2")]
            c.execute_command("SELECT", 0)
            # INFO and EXISTS themselves count: the same on both sides
            out.append((setup, cmd, reply, freqs, after["keyspace_hits"] - before["keyspace_hits"],
                        after["keyspace_misses"] - before["keyspace_misses"]))
        return out
    finally:
        srv.stop()


@pytest.mark.differential
def test_lfu_touches_as_redis(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours = observe(start_ours, tmp_path / "a")
    real = observe(start_real, tmp_path / "b")
    assert [o for o, r in zip(ours, real, strict=True) if o != r] == []
