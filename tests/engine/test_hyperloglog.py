"""HyperLogLog: replies and the stored bytes must be those of a real redis-server 7.0."""

from __future__ import annotations

import random
import struct

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.types import hyperloglog as H

pytestmark = pytest.mark.differential

Pair = tuple[redis.Redis, redis.Redis]


def both(pair: Pair, *cmd: object) -> object:
    """Run ``cmd`` on ours and on real Redis; the replies (or error texts) must match."""
    out = []
    for cl in pair:
        try:
            out.append(cl.execute_command(*cmd))
        except redis.ResponseError as exc:
            out.append(("error", str(exc)))
    assert out[0] == out[1], (cmd, out)
    return out[0]


def same_value(pair: Pair, key: str) -> bytes:
    a, b = pair[0].get(key), pair[1].get(key)
    assert a == b, (key, a and a[:40], b and b[:40])
    assert a is not None
    return a


def elements(n: int, prefix: str = "e", seed: int = 0) -> list[bytes]:
    rnd = random.Random(seed)
    return [f"{prefix}{rnd.getrandbits(48)}".encode() for _ in range(n)]


def sparse_of(ops: list[tuple[str, int, int]], card: bytes = b"\xff" * 8) -> bytes:
    """A sparse HLL with the given opcodes (kind z/Z/v, length, value)."""
    out = bytearray(b"HYLL\x01\x00\x00\x00" + card)
    for kind, n, v in ops:
        if kind == "z":
            out.append(n - 1)
        elif kind == "Z":
            out += bytes((((n - 1) >> 8) | 0x40, (n - 1) & 0xFF))
        else:
            out.append(((v - 1) << 2 | (n - 1)) | 0x80)
    return bytes(out)


def test_murmurhash64a_and_pattern() -> None:
    # MurmurHash64A of the empty string with seed 0 is 0; the seed and length feed h
    assert H.murmurhash64a(b"", 0) == 0
    assert H.murmurhash64a(b"abc") != H.murmurhash64a(b"abd")
    index, count = H.pat_len(b"hello")
    assert 0 <= index < H.HLL_REGISTERS and 1 <= count <= 51
    regs = [random.Random(3).randrange(64) for _ in range(H.HLL_REGISTERS)]
    dense = bytearray(b"HYLL" + bytes(12)) + H.encode_dense(regs)
    assert H.decode_dense(dense) == regs
    assert [H.dense_get(dense, i) for i in range(0, H.HLL_REGISTERS, 97)] == regs[::97]


def test_sparse_adds_byte_identical(pair: Pair) -> None:
    assert both(pair, "PFADD", "h") == 1
    assert same_value(pair, "h")[:5] == b"HYLL\x01"
    assert both(pair, "PFADD", "h") == 0
    assert both(pair, "PFCOUNT", "h") == 0
    for chunk in (elements(3), elements(20, "a"), elements(3), elements(200, "b")):
        both(pair, "PFADD", "h", *chunk)
        same_value(pair, "h")
        both(pair, "PFCOUNT", "h")
        same_value(pair, "h")  # the cached cardinality written back
        both(pair, "PFDEBUG", "ENCODING", "h")
        both(pair, "PFDEBUG", "DECODE", "h")
    both(pair, "OBJECT", "ENCODING", "h")
    both(pair, "STRLEN", "h")


def test_promotion_to_dense(pair: Pair) -> None:
    both(pair, "PFADD", "big", *elements(2500, "x"))
    v = same_value(pair, "big")
    assert v[4] == 0 and len(v) == H.HLL_DENSE_SIZE
    both(pair, "PFCOUNT", "big")
    same_value(pair, "big")
    # one element at a time across the promotion point
    both(pair, "PFADD", "step", *elements(1000, "y", seed=8))
    for e in elements(1200, "y", seed=7):
        both(pair, "PFADD", "step", e)
    same_value(pair, "step")
    assert both(pair, "PFDEBUG", "ENCODING", "step") == b"dense"
    both(pair, "PFCOUNT", "step")
    both(pair, "PFADD", "step", *elements(50, "z"))
    same_value(pair, "step")


def test_promotion_at_configured_size(pair: Pair) -> None:
    for cl in pair:
        cl.config_set("hll-sparse-max-bytes", 200)
    try:
        for e in elements(120, "s", seed=5):
            both(pair, "PFADD", "small", e)
            same_value(pair, "small")
        assert both(pair, "PFDEBUG", "ENCODING", "small") == b"dense"
    finally:
        for cl in pair:
            cl.config_set("hll-sparse-max-bytes", 3000)


def test_pfmerge_sparse_and_dense(pair: Pair) -> None:
    both(pair, "PFADD", "s1", *elements(40, "p"))
    both(pair, "PFADD", "s2", *elements(700, "q"))
    both(pair, "PFADD", "d1", *elements(3000, "r"))
    assert both(pair, "PFMERGE", "m1", "s1", "s2") == b"OK"
    same_value(pair, "m1")
    both(pair, "PFDEBUG", "ENCODING", "m1")
    both(pair, "PFMERGE", "m2", "s1", "d1", "nokey")
    same_value(pair, "m2")
    both(pair, "PFMERGE", "s1", "s2")  # into an existing sparse HLL
    same_value(pair, "s1")
    both(pair, "PFMERGE", "s2", "d1")  # sparse destination promoted by a dense source
    same_value(pair, "s2")
    both(pair, "PFMERGE", "empty")
    same_value(pair, "empty")
    for keys in (("s1", "s2"), ("s1", "d1", "nokey"), ("nokey", "nokey2"), ("m1", "m2", "d1")):
        both(pair, "PFCOUNT", *keys)
    both(pair, "PFCOUNT", "nokey")
    for k in ("s1", "s2", "m1", "m2", "empty"):
        both(pair, "PFCOUNT", k)
        same_value(pair, k)


def test_long_val_runs_and_value_promotion(pair: Pair) -> None:
    # VAL runs (lengths 1..4), short ZERO runs and a non-canonical short XZERO, as a
    # client could SET them: PFADD / PFMERGE must split and re-merge them as Redis does
    ops = [("v", 4, 3), ("v", 2, 3), ("z", 10, 0), ("Z", 5, 0), ("v", 1, 32), ("z", 64, 0),
           ("v", 3, 1)]
    used = sum(n for _, n, _ in ops)
    rest = H.HLL_REGISTERS - used
    ops += [("Z", rest - 100, 0), ("v", 4, 2), ("z", 64, 0), ("z", 32, 0)]
    blob = sparse_of(ops)
    for cl in pair:
        cl.set("crafted", blob)
        cl.set("crafted2", blob)
    both(pair, "PFCOUNT", "crafted")
    same_value(pair, "crafted")
    for i in range(0, 400, 3):
        both(pair, "PFADD", "crafted", *elements(2, f"c{i}"))
        same_value(pair, "crafted")
    # a dense HLL with registers above 32: merging it into a sparse one promotes it
    regs = [0] * H.HLL_REGISTERS
    regs[5] = 40
    regs[6] = 33
    regs[100] = 7
    dense = b"HYLL\x00\x00\x00\x00" + b"\xff" * 8 + H.encode_dense(regs)
    for cl in pair:
        cl.set("hi", dense)
    both(pair, "PFCOUNT", "hi")
    both(pair, "PFMERGE", "crafted2", "hi")
    same_value(pair, "crafted2")
    both(pair, "PFDEBUG", "ENCODING", "crafted2")
    both(pair, "PFCOUNT", "crafted2", "hi", "crafted")


def test_wrong_types_and_corruption(pair: Pair) -> None:
    both(pair, "RPUSH", "list", "a")
    both(pair, "SET", "str", "hello")
    both(pair, "SET", "num", "12345")
    both(pair, "SET", "badenc", b"HYLL\x02" + bytes(20))
    both(pair, "SET", "shortdense", b"HYLL\x00" + bytes(100))
    both(pair, "PFADD", "ok", "a", "b")
    for k in ("list", "str", "num", "badenc", "shortdense"):
        both(pair, "PFADD", k, "x")
        both(pair, "PFCOUNT", k)
        both(pair, "PFCOUNT", "ok", k)
        both(pair, "PFMERGE", "ok", k)
        both(pair, "PFMERGE", k, "ok")
        both(pair, "PFDEBUG", "ENCODING", k)
    # sparse opcodes not covering 16384 registers
    short = sparse_of([("Z", 1000, 0), ("v", 2, 5)])
    long_ = sparse_of([("Z", 16384, 0), ("v", 1, 3)])
    cached = sparse_of([("Z", 10, 0)], card=struct.pack("<Q", 42))
    for cl in pair:
        cl.set("short", short)
        cl.set("long", long_)
        cl.set("cached", cached)
    for k in ("short", "long", "cached"):
        both(pair, "PFCOUNT", k)  # a valid cached cardinality is trusted
        both(pair, "PFCOUNT", k, "ok")
        both(pair, "PFMERGE", "dest", k)
        both(pair, "PFDEBUG", "DECODE", k)
    both(pair, "PFADD", "short", *elements(30, "k"))  # registers past the end: corrupt
    same_value(pair, "short")
    both(pair, "PFADD", "long", *elements(30, "k"))  # every index is found
    same_value(pair, "long")
    both(pair, "PFCOUNT", "long")
    for sub in ("GETREG", "TODENSE"):
        both(pair, "PFDEBUG", sub, "cached")
    both(pair, "EXISTS", "dest")


def test_pfdebug(pair: Pair) -> None:
    both(pair, "PFADD", "h", *elements(30))
    both(pair, "PFDEBUG", "DECODE", "h")
    assert both(pair, "PFDEBUG", "ENCODING", "h") == b"sparse"
    both(pair, "PFDEBUG", "GETREG", "h")  # converts to dense
    same_value(pair, "h")
    both(pair, "PFADD", "h2", *elements(30))
    assert both(pair, "PFDEBUG", "TODENSE", "h2") == 1
    assert both(pair, "PFDEBUG", "TODENSE", "h2") == 0
    same_value(pair, "h2")
    both(pair, "PFDEBUG", "DECODE", "h2")
    both(pair, "PFDEBUG", "ENCODING", "h2")
    both(pair, "PFADD", "h2", *elements(30, "w"))
    same_value(pair, "h2")
    both(pair, "PFDEBUG", "NOSUCH", "h2")
    both(pair, "PFDEBUG", "GETREG", "nokey")
    both(pair, "PFDEBUG", "GETREG")
    both(pair, "PFADD")
    both(pair, "PFCOUNT")
    both(pair, "PFMERGE")


def test_pfcount_caches_and_invalidates_watch(pair: Pair) -> None:
    for cl in pair:
        cl.execute_command("PFADD", "w", "a", "b", "c")
        p = cl.pipeline(transaction=True)
        p.watch("w")
        p.execute_command("PFCOUNT", "w")  # refreshes the cache: a modification
        p.multi()
        p.execute_command("PING")
        with pytest.raises(redis.WatchError):
            p.execute()
    same_value(pair, "w")


def test_pfselftest(r: redis.Redis) -> None:
    assert r.execute_command("PFSELFTEST") == b"OK"


_ELEMENT = st.binary(min_size=0, max_size=12)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(_ELEMENT, max_size=60), min_size=1, max_size=6),
       merge=st.booleans())
def test_random_adds_identical(pair: Pair, batches: list[list[bytes]], merge: bool) -> None:
    for cl in pair:
        cl.delete("r1", "r2", "rm")
    for i, batch in enumerate(batches):
        key = "r1" if i % 2 == 0 else "r2"
        both(pair, "PFADD", key, *batch)
        same_value(pair, key)
        both(pair, "PFCOUNT", key)
    both(pair, "PFCOUNT", "r1", "r2")
    if merge:
        both(pair, "PFMERGE", "rm", "r1", "r2")
        same_value(pair, "rm")
        both(pair, "PFCOUNT", "rm")
