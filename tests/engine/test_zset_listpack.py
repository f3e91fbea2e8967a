"""Small sorted sets held as listpack bytes, against real redis-server 7.0.15.

Redis keeps a RESTOREd or loaded zset listpack as the bytes it came in (deep-validated
as pairs without a repeated member, never re-encoded, never re-sorted) and changes it in
place with its ``zzl*`` walks: a score kept as text ("1", "0.1"), a member integer kept
as a string, a 12-bit string header, a count saying "unknown", or even pairs out of
order stay so, and DUMP gives those very bytes back. Every reply, OBJECT ENCODING, DEBUG
DIGEST-VALUE and DUMP payload must equal real Redis's for such values, after RESTORE
and after a load of an RDB file, through writes that keep the listpack and writes that
convert it. Mutated payloads are refused as real Redis refuses them under
``sanitize-dump-payload yes``, and one that is accepted serves every zset command as
real Redis does.
"""

from __future__ import annotations

import random

import pytest
import redis

from rdbtools.crc64 import crc64
from rdbtools.encodings.listpack import encode_listpack
from rdbtools.encodings.ziplist import encode_ziplist
from rdbtools.primitives import save_string
from tests.engine import test_hash_listpack as _hash_tests
from tests.engine.conftest import ServerProc
from tests.engine.differential import normalise, run
from tests.engine.test_hash_listpack import _entry_str, _lp, real_loads_our_save

pytestmark = pytest.mark.differential


def _payload(lp: bytes) -> bytes:
    p = b"\x11" + save_string(lp, compress=False) + (10).to_bytes(2, "little")
    return p + crc64(p).to_bytes(8, "little")


_CANON = encode_listpack([b"a", 1, b"b", b"2.5", b"c", 3])
ODD_LISTPACKS = {
    # a member "5" and the scores "1" / "7" kept as strings where Redis writes integers
    "strings-for-ints": _lp([_entry_str(b"5"), _entry_str(b"1"), _entry_str(b"x"), _entry_str(b"2.5"),
                             _entry_str(b"-1"), _entry_str(b"7")]),
    # scores in a shorter text than %.17g's ("0.1", "1e2")
    "short-texts": _lp([_entry_str(b"ab"), _entry_str(b"0.1"), _entry_str(b"5"), _entry_str(b"1e2"),
                        _entry_str(b"c"), _entry_str(b"inf")]),
    # a 12-bit string header for short strings
    "twelve-bit": _lp([_entry_str(b"ab", True), _entry_str(b"1", True), _entry_str(b"c"), _entry_str(b"2")]),
    # the count unknown (65535)
    "unknown-count": _CANON[:4] + b"\xff\xff" + _CANON[6:],
    # pairs out of score order: Redis 7.0 does not check the order, and walks them as they are
    "unsorted": encode_listpack([b"m", 5, b"ab", 1, b"5", b"2.5", b"z", 0]),
}

STEPS = [
    ["DUMP", "z"], ["OBJECT", "ENCODING", "z"], ["ZCARD", "z"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["ZSCORE", "z", "5"], ["ZSCORE", "z", "ab"], ["ZMSCORE", "z", "x", "c", "nope"], ["ZRANK", "z", "c"],
    ["ZREVRANK", "z", "5"], ["ZRANGEBYSCORE", "z", "1", "(100", "WITHSCORES"],
    ["ZREVRANGEBYSCORE", "z", "+inf", "0", "LIMIT", "1", "2"], ["ZRANGEBYLEX", "z", "[a", "+"],
    ["ZCOUNT", "z", "0", "3"], ["ZLEXCOUNT", "z", "-", "[c"], ["DEBUG", "DIGEST-VALUE", "z"],
    ["ZSCAN", "z", "0"], ["ZADD", "z", "9", "5"], ["DUMP", "z"], ["ZINCRBY", "z", "1", "x"], ["DUMP", "z"],
    ["ZADD", "z", "2", "new"], ["DUMP", "z"], ["ZREM", "z", "ab", "nope"], ["DUMP", "z"],
    ["COPY", "z", "z2"], ["DUMP", "z2"], ["ZPOPMIN", "z"], ["DUMP", "z"], ["ZPOPMAX", "z2", "2"], ["DUMP", "z2"],
    ["ZREMRANGEBYSCORE", "z", "(2", "+inf"], ["DUMP", "z"], ["ZRANGESTORE", "z3", "z2", "0", "-1"], ["DUMP", "z3"],
    ["DEBUG", "DIGEST-VALUE", "z", "z2", "z3"], ["ZADD", "z", "1", "m" * 100], ["OBJECT", "ENCODING", "z"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["DEBUG", "DIGEST-VALUE", "z"],
]


servers = _hash_tests.servers  # the same pair of servers, a fixture of this module too


def _steps(c: redis.Redis) -> list:
    out = []
    for argv in STEPS:
        bargv = [a.encode() if isinstance(a, str) else a for a in argv]
        out.append(normalise(bargv, run(c, bargv), False))
    return out


@pytest.mark.parametrize("name", sorted(ODD_LISTPACKS))
def test_restored_listpack_kept_as_its_bytes(servers: tuple[ServerProc, ServerProc], name: str) -> None:
    payload = _payload(ODD_LISTPACKS[name])
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        assert c.restore("z", 0, payload) in (b"OK", True)
        got.append(_steps(c))
    for i, (a, b) in enumerate(zip(*got)):
        assert a == b, (STEPS[i], a, b)
    assert got[0][0] == ("ok", payload if name != "unknown-count" else got[1][0][1])


@pytest.mark.parametrize("name", sorted(ODD_LISTPACKS))
def test_loaded_listpack_kept_as_its_bytes(servers: tuple[ServerProc, ServerProc], name: str) -> None:
    """The same listpack in an RDB file loaded at start-up (DEBUG RELOAD NOSAVE)."""
    payload = _payload(ODD_LISTPACKS[name])
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.restore("z", 0, payload)
        c.save()  # the file holds our bytes: written back as they are
        c.execute_command("DEBUG", "RELOAD", "NOSAVE")
        got.append(_steps(c))
    for i, (a, b) in enumerate(zip(*got)):
        assert a == b, (STEPS[i], a, b)


def test_load_past_the_entries_limit_converts(servers: tuple[ServerProc, ServerProc]) -> None:
    payload = _payload(encode_listpack([x for i in range(6) for x in (b"m%d" % i, i)]))
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.config_set("zset-max-listpack-entries", 4)
        try:
            c.restore("z", 0, payload)
            got.append([c.object("encoding", "z"), c.zcard("z"), c.execute_command("DEBUG", "DIGEST-VALUE", "z")])
        finally:
            c.config_set("zset-max-listpack-entries", 128)
    assert got[0] == got[1] and got[0][0] == b"skiplist"


def test_conversions_and_bytes_after_writes(servers: tuple[ServerProc, ServerProc]) -> None:
    """Scores of every spelling written as zzlInsertAt writes them (integers, %.17g text,
    -0, inf, huge), conversions by count and by member length (CONFIG SET at runtime),
    and back to a listpack after a store: DUMP and OBJECT ENCODING as real Redis's."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        out = []
        c.zadd("s", {"a": 1, "b": 0.1, "c": -0.0, "d": float("inf"), "e": 1e300, "f": -(2**62),
                     "g": 2**62 + 2**20, "h": 4611686018427387904, "i": -1.5e-7, "12": 3, "-7": 3})
        c.zincrby("s", 2.5, "a")
        out += [c.dump("s"), c.object("encoding", "s")]
        c.config_set("zset-max-listpack-entries", 12)
        c.zadd("s", {"j": 5})
        out += [c.object("encoding", "s"), c.dump("s")]
        c.zadd("s", {"k": 6})
        out += [c.object("encoding", "s"), c.zrange("s", 0, -1, withscores=True)]
        c.zunionstore("u", ["s"], aggregate="max")
        c.zrangestore("r", "s", 0, 3)
        c.config_set("zset-max-listpack-value", 3)
        c.zadd("t", {"abc": 1})
        c.zadd("t", {"abcd": 2})
        out += [c.object("encoding", k) for k in ("u", "r", "t")] + [c.dump("r")]
        c.config_set("zset-max-listpack-entries", 128)
        c.config_set("zset-max-listpack-value", 64)
        out.append(c.execute_command("DEBUG", "DIGEST"))
        got.append(out)
    for i, (a, b) in enumerate(zip(*got)):
        assert a == b, (i, a, b)


ZSET_COMMANDS = [["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZCARD", "z"], ["ZSCORE", "z", "m1"],
                 ["ZADD", "z", "7", "m1"], ["ZADD", "z", "1.5", "n"], ["ZREM", "z", "m0"], ["ZINCRBY", "z", "2", "n"],
                 ["ZRANK", "z", "m2"], ["ZRANGEBYSCORE", "z", "-inf", "+inf"], ["ZRANGEBYLEX", "z", "-", "+"],
                 ["ZCOUNT", "z", "1", "10"], ["ZSCAN", "z", "0"], ["ZRANDMEMBER", "z", "-3"], ["DUMP", "z"],
                 ["OBJECT", "ENCODING", "z"], ["DEBUG", "DIGEST-VALUE", "z"], ["COPY", "z", "z2"],
                 ["ZUNIONSTORE", "u", "2", "z", "z2"], ["ZRANGE", "u", "0", "-1", "WITHSCORES"],
                 ["SORT", "z", "ALPHA"], ["ZPOPMAX", "z"], ["ZREMRANGEBYRANK", "z", "0", "0"], ["DEL", "z", "z2", "u"]]


def test_mutated_listpack_payloads(servers: tuple[ServerProc, ServerProc]) -> None:
    """Seeded byte mutations of a zset listpack (CRC recomputed): refused exactly when
    real Redis with sanitize-dump-payload yes refuses them; an accepted one serves every
    zset command on the key as real Redis does (and never crashes our server)."""
    rng = random.Random(17)
    base = encode_listpack([b"m0", 1, b"m1", b"2.5", b"m2", 300, b"m3", b"1e-5", b"m" * 70, 100000])
    clients = [srv.client() for srv in servers]
    for c in clients:
        c.flushall()
        c.config_set("sanitize-dump-payload", "yes")
    accepted = 0
    for _ in range(300):
        lp = bytearray(base)
        for _ in range(rng.choice((1, 1, 2, 3))):
            lp[rng.randrange(len(lp))] = rng.randrange(256)
        payload = _payload(bytes(lp))
        res = [run(c, [b"RESTORE", b"z", b"0", payload, b"REPLACE"]) for c in clients]
        if res[1][0] == "ok" and res[0][0] != "ok":
            # a score that is no number: refused by us (never kept to mislead a later
            # command), taken by Redis (strtod reads what it can)
            assert not _scores_parse(bytes(lp)), (bytes(lp).hex(), res)
            run(clients[1], [b"DEL", b"z"])
            continue
        assert res[0] == res[1], (bytes(lp).hex(), res)
        if res[0][0] != "ok":
            continue
        accepted += 1
        for argv in ZSET_COMMANDS:
            bargv = [a.encode() for a in argv]
            a, b = (normalise(bargv, run(c, bargv), argv[0] in ("ZRANDMEMBER", "SORT")) for c in clients)
            if argv[0] == "ZRANDMEMBER":
                continue  # random picks: compared by kind only
            assert a == b, (bytes(lp).hex(), argv, a, b)
    for c in clients:
        c.config_set("sanitize-dump-payload", "no")
        assert c.ping()
    assert accepted > 0


def _scores_parse(lp: bytes) -> bool:
    from rdbtools.encodings import decode_listpack_strings

    try:
        items = decode_listpack_strings(lp)
        for s in items[1::2]:
            float(s)
    except ValueError:
        return False
    return True


def test_memory_usage_is_the_listpacks_allocation(servers: tuple[ServerProc, ServerProc]) -> None:
    """MEMORY USAGE of a listpack zset: the robj, the listpack's jemalloc size, the key
    and its dictEntry, exactly as 7.0.15 reports (after deletes, and for restored bytes)."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.zadd("z1", {"a": 1})
        c.zadd("z2", {f"member:{i}": i / 3 for i in range(30)})
        c.zadd("z3", {f"m{i}": i * 1000 for i in range(20)})
        c.zrem("z3", "m0", "m2", "m4", "m6")
        for name, lp in ODD_LISTPACKS.items():
            c.restore(name, 0, _payload(lp))
        got.append([c.memory_usage(k, samples=0) for k in ("z1", "z2", "z3", *ODD_LISTPACKS)])
    assert got[0] == got[1]


def test_real_redis_loads_our_save(tmp_path) -> None:
    """SAVE writes a listpack zset's bytes as they are: real Redis loading our file holds
    (and DUMPs) exactly the payloads we were given, with the same digest."""
    def fill(c: redis.Redis) -> list[str]:
        c.zadd("plain", {"a": 1, "b": -20000.5, "c": 0.1})
        c.zadd("big", {f"m{i}": i for i in range(300)})
        return ["plain"]

    real_loads_our_save(tmp_path, {k: _payload(lp) for k, lp in ODD_LISTPACKS.items()}, fill)


def test_debug_object_serializedlength(servers: tuple[ServerProc, ServerProc]) -> None:
    """DEBUG OBJECT's serializedlength (rdbSavedObjectLen) of zsets of both encodings."""
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.zadd("small", {"a": 1, "b": 0.1, "c": -70000})
        c.zadd("big", {f"m{i}": i / 7 for i in range(200)})
        c.restore("odd", 0, _payload(ODD_LISTPACKS["short-texts"]))
        got.append([c.execute_command("DEBUG", "OBJECT", k).split(b"serializedlength:")[1].split()[0]
                    for k in ("small", "big", "odd")])
    assert got[0] == got[1]


def test_full_sync_from_real_master_keeps_the_bytes(tmp_path) -> None:
    """Our replica of a real master: the payload's zset listpacks arrive as they are."""
    from tests.engine.conftest import replica_of_real

    def fill(m) -> None:
        for name, lp in ODD_LISTPACKS.items():
            m.restore(name, 0, _payload(lp))

    with replica_of_real(tmp_path, fill) as (m, r):
        for name in ODD_LISTPACKS:
            assert r.dump(name) == m.dump(name)
            assert r.execute_command("DEBUG", "DIGEST-VALUE", name) == m.execute_command("DEBUG", "DIGEST-VALUE", name)


def test_ziplist_converted_once(servers: tuple[ServerProc, ServerProc]) -> None:
    """A zset ziplist (an RDB 9 payload, as 6.2 wrote) becomes the listpack Redis makes of
    it: each entry appended as it is ("-0", "1.0" and "0.1" stay texts), in its order."""
    zl = encode_ziplist([b"a", b"-0", b"b", b"0.1", b"c", b"1.0", b"5", 7, b"d", b"1e2"])
    p = b"\x0c" + save_string(zl, compress=False) + (9).to_bytes(2, "little")
    payload = p + crc64(p).to_bytes(8, "little")
    got = []
    for srv in servers:
        c = srv.client()
        c.flushall()
        c.restore("z", 0, payload)
        got.append([c.dump("z"), c.object("encoding", "z"), c.zrange("z", 0, -1, withscores=True),
                    c.execute_command("DEBUG", "DIGEST-VALUE", "z"), c.memory_usage("z", samples=0)])
    assert got[0] == got[1]
