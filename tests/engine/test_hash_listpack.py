"""Small hashes held as listpack bytes, against real redis-server 7.0.15.

Redis keeps a RESTOREd or loaded hash listpack as the bytes it came in (deep-validated,
never re-encoded) and changes it in place: a listpack whose entries are not in their
smallest form (a "5" stored as a string, a 12-bit string header for 2 bytes), or whose
count says "unknown", stays so, and DUMP gives those very bytes back. Every reply,
OBJECT ENCODING, DEBUG DIGEST-VALUE and DUMP payload must equal real Redis's for such
values, after RESTORE and after a load of an RDB file, through writes that keep the
listpack and writes that convert it. Mutated listpack payloads are refused as real
Redis refuses them under ``sanitize-dump-payload yes``, and one that is accepted serves
every hash command as real Redis does.
"""

from __future__ import annotations

import random
import struct

import pytest
import redis

from rdbtools.crc64 import crc64
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.primitives import save_string
from tests.engine.conftest import (
    ServerProc,
    loaded_by_real,
    replica_of_real,
    start_ours,
    start_real,
)
from tests.engine.differential import normalise, run

pytestmark = pytest.mark.differential


def _payload(lp: bytes) -> bytes:
    p = b"\x10" + save_string(lp, compress=False) + (10).to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


def _entry_str(s: bytes, twelve: bool = False) -> bytes:
    """A string entry in the 6-bit form, or the 12-bit one (never Redis's choice for < 64)."""
    if twelve:
        return bytes((0xE0 | len(s) >> 8, len(s) & 0xFF)) + s + bytes((len(s) + 2,))
    return bytes((0x80 | len(s),)) + s + bytes((len(s) + 1,))


def _lp(entries: list[bytes], count: int | None = None) -> bytes:
    body = b"".join(entries)
    n = 6 + len(body) + 1
    c = len(entries) if count is None else count
    return struct.pack("<IH", n, c) + body + b"\xff"


ODD_LISTPACKS = {
    # "5" and "300" kept as strings where Redis would write integers
    "strings-for-ints": _lp([_entry_str(b"5"), _entry_str(b"x"), _entry_str(b"300"), _entry_str(b"-1")]),
    # a 12-bit string header for short strings
    "twelve-bit": _lp([_entry_str(b"ab", True), _entry_str(b"v", True), _entry_str(b"c"), _entry_str(b"d")]),
    # the count unknown (65535): lpLength stores it at load (hashTypeLength)
    "unknown-count": encode_listpack([b"a", b"1", b"b", b"2"])[:4] + b"\xff\xff" + encode_listpack([b"a", b"1", b"b", b"2"])[6:],
}

STEPS = [
    ["DUMP", "h"], ["OBJECT", "ENCODING", "h"], ["HLEN", "h"], ["DUMP", "h"], ["HGETALL", "h"],
    ["HGET", "h", "5"], ["HGET", "h", "ab"], ["HEXISTS", "h", "300"], ["HSTRLEN", "h", "a"],
    ["DEBUG", "DIGEST-VALUE", "h"], ["HSET", "h", "5", "77"], ["DUMP", "h"],
    ["HINCRBY", "h", "300", "1"], ["HINCRBY", "h", "-1", "5"], ["DUMP", "h"], ["HDEL", "h", "ab", "a"],
    ["DUMP", "h"], ["HSET", "h", "new", "v", "5", "s"], ["DUMP", "h"], ["HSCAN", "h", "0", "COUNT", "1"],
    ["COPY", "h", "h2"], ["DUMP", "h2"], ["HMGET", "h", "5", "new", "zz"], ["DEBUG", "DIGEST-VALUE", "h", "h2"],
    ["HSET", "h", "long", "x" * 100], ["OBJECT", "ENCODING", "h"], ["HGETALL", "h"],
    ["DEBUG", "DIGEST-VALUE", "h"],  # (a hashtable's DUMP follows its dict order: not compared)
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):
    ours = start_ours(tmp_path_factory.mktemp("ours"))
    real = start_real(tmp_path_factory.mktemp("real"))
    yield ours, real
    ours.stop()
    real.stop()


def _steps(c: redis.Redis) -> list:
    out = []
    for argv in STEPS:
        bargv = [a.encode() if isinstance(a, str) else a for a in argv]
        res = run(c, bargv)
        out.append(normalise(bargv, res, run(c, [b"OBJECT", b"ENCODING", b"h"])[1] != b"listpack"))
    return out


@pytest.mark.parametrize("name", sorted(ODD_LISTPACKS))
def test_restored_listpack_kept_as_its_bytes(servers: tuple[ServerProc, ServerProc], name: str) -> None:
    payload = _payload(ODD_LISTPACKS[name])
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        assert c.restore("h", 0, payload) in (b"OK", True)
        got.append(_steps(c))
    assert got[0] == got[1]
    assert got[0][0] == ("ok", payload if name != "unknown-count" else got[1][0][1])


@pytest.mark.parametrize("name", sorted(ODD_LISTPACKS))
def test_loaded_listpack_kept_as_its_bytes(servers: tuple[ServerProc, ServerProc], name: str) -> None:
    """The same listpack in an RDB file loaded at start-up (DEBUG RELOAD NOSAVE)."""
    payload = _payload(ODD_LISTPACKS[name])
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.config_set("hash-max-listpack-entries", 128)
        c.restore("h", 0, payload)
        c.save()  # the file holds our bytes: written back as they are
        c.execute_command("DEBUG", "RELOAD", "NOSAVE")
        got.append(_steps(c))
    assert got[0] == got[1]


def test_load_past_the_entries_limit_converts(servers: tuple[ServerProc, ServerProc]) -> None:
    payload = _payload(encode_listpack([x for i in range(6) for x in (b"f%d" % i, b"%d" % i)]))
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.config_set("hash-max-listpack-entries", 4)
        try:
            c.restore("h", 0, payload)
            got.append([c.object("encoding", "h"), c.hlen("h"), c.execute_command("DEBUG", "DIGEST-VALUE", "h")])
        finally:
            c.config_set("hash-max-listpack-entries", 128)
    assert got[0] == got[1] and got[0][0] == b"hashtable"


HASH_COMMANDS = [["HGETALL", "h"], ["HLEN", "h"], ["HGET", "h", "f1"], ["HSET", "h", "f1", "n"],
                 ["HSET", "h", "g", "1"], ["HDEL", "h", "f0"], ["HINCRBY", "h", "g", "2"], ["HKEYS", "h"],
                 ["HVALS", "h"], ["HSCAN", "h", "0"], ["HRANDFIELD", "h", "-3"], ["DUMP", "h"],
                 ["OBJECT", "ENCODING", "h"], ["DEBUG", "DIGEST-VALUE", "h"], ["COPY", "h", "h2"],
                 ["HGETALL", "h2"], ["SORT", "l", "BY", "h->f1", "GET", "h->*"], ["DEL", "h", "h2"]]


def test_mutated_listpack_payloads(servers: tuple[ServerProc, ServerProc]) -> None:
    """Seeded byte mutations of a hash listpack (CRC recomputed): refused exactly when
    real Redis with sanitize-dump-payload yes refuses them; an accepted one serves every
    hash command on the key as real Redis does (and never crashes our server)."""
    rng = random.Random(12)
    base = encode_listpack([b"f0", b"v", b"f1", b"12", b"f2", b"-300", b"f3", b"x" * 70])
    clients = [srv.client() for srv in servers]
    for c in clients:
        c.flushall()
        c.config_set("sanitize-dump-payload", "yes")
        c.rpush("l", "f0", "f1", "f2")
    accepted = 0
    for _ in range(300):
        lp = bytearray(base)
        for _ in range(rng.choice((1, 1, 2, 3))):
            lp[rng.randrange(len(lp))] = rng.randrange(256)
        payload = _payload(bytes(lp))
        res = [run(c, [b"RESTORE", b"h", b"0", payload, b"REPLACE"]) for c in clients]
        assert res[0] == res[1], (bytes(lp).hex(), res)
        if res[0][0] != "ok":
            continue
        accepted += 1
        for argv in HASH_COMMANDS:
            bargv = [a.encode() for a in argv]
            a, b = (normalise(bargv, run(c, bargv), True) for c in clients)
            assert a == b, (bytes(lp).hex(), argv, a, b)
    for c in clients:
        c.config_set("sanitize-dump-payload", "no")
        assert c.ping()
    assert accepted > 0  # some mutations are valid listpacks (a changed letter)


def test_full_sync_from_real_master_keeps_the_bytes(tmp_path) -> None:
    """Our replica of a real master: the payload's hash listpacks arrive as they are."""
    def fill(m: redis.Redis) -> None:
        for name, lp in ODD_LISTPACKS.items():
            m.restore(name, 0, _payload(lp))

    with replica_of_real(tmp_path, fill) as (m, r):
        for name in ODD_LISTPACKS:
            assert r.dump(name) == m.dump(name)
            assert r.execute_command("DEBUG", "DIGEST-VALUE", name) == m.execute_command("DEBUG", "DIGEST-VALUE", name)


def test_debug_object_serializedlength(servers: tuple[ServerProc, ServerProc]) -> None:
    """DEBUG OBJECT's serializedlength (rdbSavedObjectLen) of hashes of both encodings."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.hset("small", mapping={"a": "1", "b": "x" * 30, "c": "-70000"})
        c.hset("big", mapping={f"f{i}": "v" * (i % 50) for i in range(200)})
        c.restore("odd", 0, _payload(ODD_LISTPACKS["twelve-bit"]))
        got.append([c.execute_command("DEBUG", "OBJECT", k).split(b"serializedlength:")[1].split()[0]
                    for k in ("small", "big", "odd")])
    assert got[0] == got[1]


def test_memory_usage_is_the_listpacks_allocation(servers: tuple[ServerProc, ServerProc]) -> None:
    """MEMORY USAGE of a listpack hash: the robj, the listpack's jemalloc size, the key and
    its dictEntry, exactly as 7.0.15 reports (after deletes, and for restored bytes)."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.hset("h1", mapping={"a": "1"})
        c.hset("h2", mapping={f"field:{i}": f"value:{i}" for i in range(8)})
        c.hset("h3", mapping={f"f{i}": "x" * (i * 7) for i in range(9)})
        c.hdel("h3", "f0", "f2", "f4", "f6")
        c.hset("h4", mapping={f"n{i}": i * 1000 for i in range(100)})
        for name, lp in ODD_LISTPACKS.items():
            c.restore(name, 0, _payload(lp))
        # integers kept as strings: 40 bytes more than the smallest forms would take
        c.restore("wide", 0, _payload(_lp([_entry_str(b"%d" % x) for i in range(10)
                                            for x in (i, 1_000_000 + i)])))
        got.append([c.memory_usage(k, samples=0) for k in ("h1", "h2", "h3", "h4", "wide", *ODD_LISTPACKS)])
    assert got[0] == got[1]


def test_real_redis_loads_our_save(tmp_path) -> None:
    """SAVE writes a listpack hash's bytes as they are: real Redis loading our file holds
    (and DUMPs) exactly the payloads we were given, with the same digest."""
    def fill(c: redis.Redis) -> list[str]:
        c.hset("plain", mapping={"a": "1", "b": "-20000", "c": "x" * 40})
        c.hset("big", mapping={f"f{i}": i for i in range(300)})
        return ["plain"]

    real_loads_our_save(tmp_path, {k: _payload(lp) for k, lp in ODD_LISTPACKS.items()}, fill)


def real_loads_our_save(tmp_path, payloads: dict[str, bytes], fill) -> None:
    """RESTORE ``payloads`` in our server, ``fill`` it (returns more keys to compare),
    SAVE; real Redis loading the file DUMPs every key as we did, the given payloads as
    they were given (RESTORE stores an "unknown-count" one's count), with our digest."""
    def restore_and_fill(c: redis.Redis) -> list[str]:
        for name, payload in payloads.items():
            c.restore(name, 0, payload)
        return fill(c)

    with loaded_by_real(tmp_path, restore_and_fill, tuple(payloads)) as (r, want, digest):
        for k, payload in want.items():
            assert r.dump(k) == payload
        for k, payload in payloads.items():
            if k != "unknown-count":
                assert want[k] == payload
        assert r.execute_command("DEBUG", "DIGEST") == digest
