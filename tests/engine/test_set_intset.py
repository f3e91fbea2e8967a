"""Small integer sets held as intset bytes, against real redis-server 7.0.15.

Redis keeps an intset at the widest encoding a member ever needed (SREM never narrows
it), keeps a RESTOREd or loaded intset as the bytes it came in, and replies from an
intset in ascending order. t_set.c decides the encoding of every result: SPOP with a
count near the set's size keeps the remaining members in a new set made by
setTypeCreate (a hashtable that loses its strings can come back as an intset), SDIFF's
second algorithm adds the whole first set before removing (a hashtable on the way stays
one). Every reply byte (order and RESP3 type included), OBJECT ENCODING, DUMP payload,
MEMORY USAGE and DEBUG DIGEST-VALUE must equal real Redis's through such sequences;
mutated intset payloads are refused as real Redis refuses them under
``sanitize-dump-payload yes``; SAVE writes the bytes as they are.
"""

from __future__ import annotations

import random
import socket
import struct

import pytest
import redis

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from rdbtools.crc64 import crc64
from rdbtools.encodings.intset import encode_intset
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


def _payload(blob: bytes) -> bytes:
    p = b"\x0b" + save_string(blob, compress=False) + (10).to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


def _intset(width: int, vals: list[int]) -> bytes:
    code = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack(f"<II{len(vals)}{code}", width, len(vals), *vals)


class Raw:
    """One connection; each command's exact reply bytes (RESP2, or RESP3 after HELLO 3)."""

    def __init__(self, srv: ServerProc, resp: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        self.parser = ReplyParser()
        self.buf = b""
        if resp == 3:
            self.call("HELLO", "3")

    def call(self, *argv: bytes | str | int) -> bytes:
        self.sock.sendall(encode_command([a if isinstance(a, bytes) else str(a).encode() for a in argv]))
        start = self.parser.offset
        while self.parser.gets() is NEED_DATA:
            chunk = self.sock.recv(65536)
            assert chunk, "connection closed"
            self.buf += chunk
            self.parser.feed(chunk)
        return self.buf[start:self.parser.offset]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):
    ours = start_ours(tmp_path_factory.mktemp("ours"))
    real = start_real(tmp_path_factory.mktemp("real"))
    yield ours, real
    ours.stop()
    real.stop()


WIDE = str(-(2**40))
# Deterministic steps: every reply compared byte for byte (intsets reply ascending).
STEPS = [
    ["SADD", "s", "5", "1", "300"], ["DUMP", "s"], ["SADD", "s", "70000"], ["DUMP", "s"],
    ["SADD", "s", WIDE], ["DUMP", "s"], ["SREM", "s", WIDE], ["DUMP", "s"], ["SREM", "s", "70000", "x", "-0"],
    ["DUMP", "s"], ["MEMORY", "USAGE", "s"], ["SMEMBERS", "s"], ["SISMEMBER", "s", "05"],
    ["SMISMEMBER", "s", "5", "1", "+1", "6"], ["SCARD", "s"], ["SSCAN", "s", "0", "MATCH", "*0*"],
    ["SADD", "t", "300", "-7", "5", "9"], ["SINTER", "s", "t"], ["SINTER", "t", "s", "t"],
    ["SINTERCARD", "2", "s", "t", "LIMIT", "1"], ["SUNION", "t", "s"], ["SDIFF", "t", "s"],
    ["SINTERSTORE", "d", "s", "t"], ["DUMP", "d"], ["SUNIONSTORE", "d", "t", "s"], ["DUMP", "d"],
    ["SDIFFSTORE", "d", "t", "s"], ["DUMP", "d"], ["SRANDMEMBER", "t", "10"], ["SPOP", "d", "5"],
    ["EXISTS", "d"], ["SMOVE", "s", "t", "1"], ["SMOVE", "t", "n", "-7"], ["DUMP", "n"], ["DUMP", "t"],
    ["SMOVE", "t", "h", "9"], ["SMOVE", "s", "t", "1"], ["COPY", "t", "t2"], ["DUMP", "t2"],
    ["SADD", "t", "a"], ["OBJECT", "ENCODING", "t"], ["SMEMBERS", "t2"], ["SORT", "t2"],
    ["SADD", "u", "a", "1", "2"], ["SADD", "v", "1", "2"], ["SINTERSTORE", "w", "u", "v"], ["DUMP", "w"],
    ["SUNIONSTORE", "w", "v", "u"], ["OBJECT", "ENCODING", "w"],
    # SDIFF's second algorithm (N*M/2 > total): the first set goes in whole, a hashtable
    ["SADD", "f", "1", "2", "a"], *[["SADD", f"o{i}", m] for i, m in enumerate("axyzw")],
    ["SDIFFSTORE", "df", "f", "o0", "o1", "o2", "o3", "o4"], ["OBJECT", "ENCODING", "df"],
    ["SDIFFSTORE", "d1", "f", "o0"], ["OBJECT", "ENCODING", "d1"], ["DUMP", "d1"],
    # a hashtable of integers: SUNION and a whole-set SPOP reply through an intset, ascending
    ["SADD", "hx", "a", *map(str, range(30, 0, -3))], ["SREM", "hx", "a"], ["SUNION", "hx"],
    ["SPOP", "hx", "100"], ["EXISTS", "hx"],
    # set-max-intset-entries lowered at run time: an existing intset stays one
    ["CONFIG", "SET", "set-max-intset-entries", "2"], ["SADD", "s", "400"], ["OBJECT", "ENCODING", "s"],
    ["SADD", "big", "1", "2", "3"], ["OBJECT", "ENCODING", "big"], ["SUNIONSTORE", "x", "v"],
    ["OBJECT", "ENCODING", "x"],
    # a restored intset past the limit is converted at load
    ["CONFIG", "SET", "set-max-intset-entries", "4"], ["RESTORE", "r6", "0", _payload(encode_intset(range(6)))],
    ["OBJECT", "ENCODING", "r6"], ["SCARD", "r6"], ["CONFIG", "SET", "set-max-intset-entries", "512"],
    ["DEBUG", "DIGEST-VALUE", "s", "t", "t2", "n", "w", "d1", "df", "r6"],
]


@pytest.mark.parametrize("resp", [2, 3])
def test_intset_replies_bytes_and_encodings(servers: tuple[ServerProc, ServerProc], resp: int) -> None:
    conns = [Raw(srv, resp) for srv in servers]
    try:
        for c in conns:
            c.call("FLUSHALL")
        for argv in STEPS:
            a, b = (c.call(*argv) for c in conns)
            assert a == b, (argv, a, b)
    finally:
        for c in conns:
            c.close()


def test_spop_keeps_the_rest_in_a_new_set(servers: tuple[ServerProc, ServerProc]) -> None:
    """SPOP count with few members staying: the stayers go into setTypeCreate's new set
    (a hashtable whose stayers are all integers becomes an intset), the rest replies in
    the old set's order (an intset's: ascending)."""
    for srv in servers:
        c = srv.client()
        c.flushall()
        seen = set()
        for _ in range(60):  # 'a' stays 1 time in 7: both outcomes, but for 1e-4
            c.sadd("h", "a", *range(1, 7))
            popped = c.spop("h", 6)
            (left,) = c.smembers("h")
            seen.add(left == b"a")
            assert c.object("encoding", "h") == (b"hashtable" if left == b"a" else b"intset")
            assert left not in popped and len(popped) == 6
            c.delete("h")
            c.sadd("i", *range(10))
            raw = c.execute_command("SPOP", "i", "9")
            assert raw == sorted(raw, key=int)  # case 3: the old intset iterated
            assert c.object("encoding", "i") == b"intset" and c.scard("i") == 1
            c.delete("i")
        assert seen == {True, False}


def test_restored_wide_intset_kept_as_its_bytes(servers: tuple[ServerProc, ServerProc]) -> None:
    """An intset wider than its members need (as after SREM of the big one) is kept, and
    grows at that width; the same when it comes from an RDB file (DEBUG RELOAD)."""
    payload = _payload(_intset(8, [-3, 1, 2]))
    for reload in (False, True):
        got = []
        for srv in servers:
            c = srv.client()
            c.flushall()
            c.restore("s", 0, payload)
            if reload:
                c.save()
                c.execute_command("DEBUG", "RELOAD", "NOSAVE")
            got.append([c.dump("s"), c.memory_usage("s"), c.sadd("s", "7"), c.dump("s"),
                        c.execute_command("DEBUG", "DIGEST-VALUE", "s"), c.object("encoding", "s")])
        assert got[0] == got[1]
        assert got[0][0] == payload


SET_COMMANDS = [["DUMP", "s"], ["MEMORY", "USAGE", "s"], ["SMEMBERS", "s"], ["SCARD", "s"],
                ["SISMEMBER", "s", "12"], ["SADD", "s", "4"], ["SREM", "s", "-300"], ["DUMP", "s"],
                ["SADD", "s", "x"], ["SREM", "s", "x"], ["SSCAN", "s", "0"], ["SRANDMEMBER", "s", "-3"],
                ["SINTER", "s", "o"], ["SUNION", "s", "o"], ["SDIFF", "s", "o"], ["SMOVE", "s", "o", "4"],
                ["OBJECT", "ENCODING", "s"], ["DEBUG", "DIGEST-VALUE", "s"], ["COPY", "s", "s2"],
                ["SORT", "s2"], ["SPOP", "s"], ["DEL", "s", "s2"]]


def test_mutated_intset_payloads(servers: tuple[ServerProc, ServerProc]) -> None:
    """Seeded byte mutations of an intset (CRC recomputed): refused exactly when real
    Redis with sanitize-dump-payload yes refuses them; an accepted one serves every set
    command on the key as real Redis does (and never crashes our server)."""
    rng = random.Random(12)
    base = _intset(4, [-300, 0, 12, 70000])
    clients = [srv.client() for srv in servers]
    for c in clients:
        c.flushall()
        c.config_set("sanitize-dump-payload", "yes")
    accepted = 0
    for _ in range(300):
        blob = bytearray(base)
        for _ in range(rng.choice((1, 1, 2, 3))):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        if rng.random() < 0.2:
            del blob[rng.randrange(len(blob))]
        payload = _payload(bytes(blob))
        res = [run(c, [b"RESTORE", b"s", b"0", payload, b"REPLACE"]) for c in clients]
        assert res[0] == res[1], (bytes(blob).hex(), res)
        if res[0][0] != "ok":
            continue
        accepted += 1
        for c in clients:
            c.sadd("o", "12", "y")
        for argv in SET_COMMANDS:
            bargv = [a.encode() for a in argv]
            a, b = (normalise(bargv, run(c, bargv), True) for c in clients)
            assert a == b, (bytes(blob).hex(), argv, a, b)
    for c in clients:
        c.config_set("sanitize-dump-payload", "no")
        assert c.ping()
    assert accepted > 0


def test_real_redis_loads_our_save(tmp_path) -> None:
    """SAVE writes an intset's bytes as they are: real Redis loading our file DUMPs the
    very payloads we had, with the same digest."""
    def fill(c: redis.Redis) -> None:
        c.restore("wide", 0, _payload(_intset(8, [-3, 1, 2])))
        c.sadd("grown", 1, 2, 2**33)
        c.srem("grown", 2**33)
        c.sadd("small", *range(-20, 20, 3))
        c.sadd("big", *range(600))
        c.sadd("mixed", 1, "a")

    with loaded_by_real(tmp_path, fill, ("wide", "grown", "small")) as (r, want, digest):
        for k, payload in want.items():
            assert r.dump(k) == payload
        assert r.object("encoding", "big") == b"hashtable"
        assert r.execute_command("DEBUG", "DIGEST") == digest


def test_full_sync_from_real_master_keeps_the_bytes(tmp_path) -> None:
    """Our replica of a real master: the payload's intsets arrive as they are."""
    def fill(m: redis.Redis) -> None:
        m.restore("wide", 0, _payload(_intset(4, [1, 2])))
        m.sadd("plain", 5, -70000)

    with replica_of_real(tmp_path, fill) as (m, r):
        for k in ("wide", "plain"):
            assert r.dump(k) == m.dump(k)
            assert r.memory_usage(k) == m.memory_usage(k)


def test_debug_object_serializedlength(servers: tuple[ServerProc, ServerProc]) -> None:
    """DEBUG OBJECT's serializedlength (rdbSavedObjectLen) of intsets: the blob as saved,
    LZF-compressed when that pays."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.sadd("tiny", 1)
        c.sadd("small", 1, -2, 300)
        c.sadd("wide", *range(0, 40000, 1000))
        c.restore("odd", 0, _payload(_intset(8, [-3, 1, 2])))
        got.append([c.execute_command("DEBUG", "OBJECT", k).split(b"serializedlength:")[1].split()[0]
                    for k in ("tiny", "small", "wide", "odd")])
    assert got[0] == got[1]
