"""Hash field expiration (Redis 7.4) in the engine: HEXPIRE & co, HTTL & co, HPERSIST and the
field expiry semantics of the other hash commands.

No Redis 7.4 server runs here, so the expected replies are 7.4.1's t_hash.c rules (cited per
test) applied to an in-process server whose clock the test moves; what is propagated is
captured as the AOF and replicas receive it.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.config import config_from_argv
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.keyspace.expire import active_expire_cycle
from engine.server.app import Server

T0 = 1_800_000_000_000  # the test clock's start (ms)


class Side:
    """An in-process server with a settable clock, one client, its propagation captured."""

    def __init__(self, *args: str) -> None:
        self.now = T0
        self.srv = Server(config_from_argv(["--save", "", "--notify-keyspace-events", "KEA", *args]),
                          clock=lambda: self.now)
        self.srv.active_expire_enabled = False
        self.units: list[list[tuple[int, list[bytes]]]] = []
        self.srv.propagator.targets.append(self.units.append)
        self.c = Client(self.srv)
        self.events: list[tuple[bytes, bytes]] = []
        self.srv.keyspace.publish = lambda ch, msg: self.events.append((ch, msg)) or 0

    def __call__(self, *argv: Any) -> bytes:
        return execute(self.c, [a if isinstance(a, bytes) else str(a).encode() for a in argv])

    def ops(self) -> list[list[bytes]]:
        """Everything propagated since the last call (MULTI/EXEC wrappers kept)."""
        out = [argv for unit in self.units for _, argv in unit]
        self.units.clear()
        return out


def arr(*codes: int) -> bytes:
    return b"*%d\r\n" % len(codes) + b"".join(b":%d\r\n" % x for x in codes)


@pytest.fixture
def s() -> Side:
    return Side("--enable-debug-command", "yes")


def test_reply_codes_flags_and_errors(s: Side) -> None:
    """hexpireGenericCommand / hashTypeSetExpiryListpack: -2 no field, 0 condition not met,
    1 set, 2 deleted (time past); NX/XX/GT/LT; a field without TTL is 'infinite' for GT/LT."""
    assert s("HEXPIRE", "h", 100, "FIELDS", 2, "a", "b") == arr(-2, -2)  # no key
    s("HSET", "h", "a", 1, "b", 2, "c", 3)
    assert s("OBJECT", "ENCODING", "h") == b"$8\r\nlistpack\r\n"
    assert s("HEXPIRE", "h", 100, "XX", "FIELDS", 1, "a") == arr(0)
    assert s("HEXPIRE", "h", 100, "GT", "FIELDS", 1, "a") == arr(0)
    assert s("HEXPIRE", "h", 100, "FIELDS", 3, "a", "nope", "b") == arr(1, -2, 1)
    assert s("OBJECT", "ENCODING", "h") == b"$10\r\nlistpackex\r\n"
    assert s("HEXPIRE", "h", 50, "NX", "FIELDS", 2, "a", "c") == arr(0, 1)
    assert s("HEXPIRE", "h", 200, "GT", "FIELDS", 1, "a") == arr(1)
    assert s("HEXPIRE", "h", 300, "LT", "FIELDS", 1, "a") == arr(0)
    assert s("HPEXPIRE", "h", 1500, "LT", "FIELDS", 1, "a") == arr(1)
    assert s("HPTTL", "h", "FIELDS", 4, "a", "b", "c", "x") == arr(1500, 100_000, 50_000, -2)
    assert s("HTTL", "h", "FIELDS", 1, "a") == arr(2)  # seconds rounded up
    assert s("HEXPIRETIME", "h", "FIELDS", 1, "b") == arr(T0 // 1000 + 100)
    assert s("HPEXPIRETIME", "h", "FIELDS", 1, "b") == arr(T0 + 100_000)
    assert s("HPEXPIREAT", "h", T0 - 1, "FIELDS", 1, "c") == arr(2)  # past: deleted
    assert s("HGETALL", "h") == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert s("HPERSIST", "h", "FIELDS", 3, "a", "a", "zz") == arr(1, -1, -2)
    assert s("OBJECT", "ENCODING", "h") == b"$10\r\nlistpackex\r\n"  # stays one
    errors = {
        ("HEXPIRE", "h", 10, "FIELDS", 2, "a"): b"The `numfields` parameter must match the number of arguments",
        ("HEXPIRE", "h", 10, "FIELDS", 0, "a"): b"Parameter `numFields` should be greater than 0",
        ("HEXPIRE", "h", 10, "NX", "XX", 1, "a"): b"Mandatory argument FIELDS is missing or not at the right position",
        ("HEXPIRE", "h", -1, "FIELDS", 1, "a"): b"invalid expire time, must be >= 0",
        ("HEXPIRE", "h", 2**46, "FIELDS", 1, "a"): b"invalid expire time in 'hexpire' command",
        ("HPEXPIREAT", "h", 2**46, "FIELDS", 1, "a"): b"invalid expire time in 'hpexpireat' command",
        ("HEXPIRE", "h", "x", "FIELDS", 1, "a"): b"value is not an integer or out of range",
        ("HTTL", "h", "FIELDS", "x", "a"): b"Number of fields must be a positive integer",
        ("HPERSIST", "h", "FIELD", 1, "a"): b"Mandatory argument FIELDS is missing or not at the right position",
    }
    for argv, text in errors.items():
        assert s(*argv) == b"-ERR " + text + b"\r\n", argv
    assert s("HPEXPIREAT", "h", 2**46 - 1, "FIELDS", 1, "b") == arr(1)  # HFE_MAX_ABS_TIME_MSEC
    s("SET", "str", "x")
    assert s("HTTL", "str", "FIELDS", 1, "a").startswith(b"-WRONGTYPE")


def test_propagated_as_hpexpireat_and_hdel(s: Side) -> None:
    """HEXPIRE & co go out as HPEXPIREAT <abs ms> [cond] FIELDS over the fields set; a past
    time as an HDEL per field; nothing when no field was set."""
    s("HSET", "h", "a", 1, "b", 2, "c", 3)
    s.ops()
    s("HEXPIRE", "h", 10, "NX", "FIELDS", 3, "a", "zz", "b")
    assert s.ops() == [[b"HPEXPIREAT", b"h", b"%d" % (T0 + 10_000), b"NX", b"FIELDS", b"2", b"a", b"b"]]
    s("HEXPIRE", "h", 10, "NX", "FIELDS", 1, "a")
    assert s.ops() == []
    s("HPEXPIREAT", "h", T0 - 5, "FIELDS", 2, "b", "c")
    assert s.ops() == [[b"MULTI"], [b"HDEL", b"h", b"b"], [b"HDEL", b"h", b"c"], [b"EXEC"]]
    s("HPERSIST", "h", "FIELDS", 1, "a")
    assert s.ops() == [[b"HPERSIST", b"h", b"FIELDS", b"1", b"a"]]
    s("HPEXPIREAT", "h", T0 - 5, "FIELDS", 1, "a")  # the last field: the key goes too
    assert s("EXISTS", "h") == b":0\r\n" and s.ops() == [[b"HDEL", b"h", b"a"]]


def test_lazy_expiry_of_each_command(s: Side) -> None:
    """hashTypeGetValue(HFE_LAZY_EXPIRE): HGET & co reclaim the field (HDEL propagated,
    hexpired notified); HGETALL/HKEYS/HVALS/HSCAN skip it; HLEN counts it until then."""
    s("HSET", "h", "a", 1, "b", 2, "c", 3)
    s("HPEXPIRE", "h", 100, "FIELDS", 2, "a", "b")
    s.ops()
    s.events.clear()
    s.now += 101
    assert s("HLEN", "h") == b":3\r\n"  # hashTypeLength(o, 0)
    assert s("HGETALL", "h") == b"*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    assert s("HKEYS", "h") == b"*1\r\n$1\r\nc\r\n" and s("HSCAN", "h", 0).endswith(b"$1\r\nc\r\n$1\r\n3\r\n")
    assert s.ops() == [] and s("HLEN", "h") == b":3\r\n"
    assert s("HTTL", "h", "FIELDS", 1, "a") == arr(-2)
    assert s("HGET", "h", "a") == b"$-1\r\n"
    assert s.ops() == [[b"HDEL", b"h", b"a"]] and s("HLEN", "h") == b":2\r\n"
    assert (b"__keyspace@0__:h", b"hexpired") in s.events
    assert s("HEXISTS", "h", "b") == b":0\r\n" and s.ops() == [[b"HDEL", b"h", b"b"]]
    s("HPEXPIRE", "h", 1, "FIELDS", 1, "c")
    s.now += 2
    s.ops()
    assert s("HMGET", "h", "c", "x") == b"*2\r\n$-1\r\n$-1\r\n"
    assert s("EXISTS", "h") == b":0\r\n"  # the last field took the hash with it
    assert s.ops() == [[b"HDEL", b"h", b"c"]]


def test_writes_keep_or_clear_the_ttl(s: Side) -> None:
    """HSET/HSETNX over a field drop its TTL; HINCRBY/HINCRBYFLOAT keep it (HASH_SET_KEEP_TTL);
    HSETNX and HINCRBY see an expired field as absent."""
    s("HSET", "h", "a", 1, "n", 5, "f", "1.5", "x", 0)
    s("HPEXPIRE", "h", 1000, "FIELDS", 4, "a", "n", "f", "x")
    s("HSET", "h", "a", 2)
    assert s("HINCRBY", "h", "n", 1) == b":6\r\n"
    assert s("HINCRBYFLOAT", "h", "f", 1) == b"$3\r\n2.5\r\n"
    assert s("HPTTL", "h", "FIELDS", 4, "a", "n", "f", "x") == arr(-1, 1000, 1000, 1000)
    s.now += 1001
    assert s("HSETNX", "h", "n", 9) == b":1\r\n"
    assert s("HPTTL", "h", "FIELDS", 1, "n") == arr(-1)
    assert s("HINCRBY", "h", "x", 3) == b":3\r\n"  # expired: counts from 0


def test_active_expiry_reclaims_fields_and_the_key(s: Side) -> None:
    s("HSET", "h", "a", 1, "b", 2)
    s("HSET", "big", *[x for i in range(600) for x in (f"f{i}", i)])
    s("HPEXPIRE", "h", 10, "FIELDS", 2, "a", "b")
    s("HPEXPIRE", "big", 10, "FIELDS", 1, "f7")
    assert s("OBJECT", "ENCODING", "big") == b"$9\r\nhashtable\r\n"
    s.ops()
    s.now += 11
    active_expire_cycle(s.srv.keyspace, 10)
    assert s("EXISTS", "h") == b":0\r\n" and s("HLEN", "big") == b":599\r\n"
    assert sorted(s.ops()) == [[b"HDEL", b"big", b"f7"], [b"HDEL", b"h", b"a"], [b"HDEL", b"h", b"b"]]
    assert b"\r\nexpired_subkeys:3\r\n" in s("INFO", "stats")


def test_key_commands_and_dump_restore_keep_field_ttls(s: Side) -> None:
    s("HSET", "h", "a", 1, "b", 2)
    s("HPEXPIRE", "h", 5000, "FIELDS", 1, "a")
    s("COPY", "h", "h2")
    s("RENAME", "h2", "h3")
    s("MOVE", "h3", 1)
    payload = s("DUMP", "h").split(b"\r\n", 1)[1][:-2]
    assert payload[-10:-8] == b"\x0c\x00"  # RDB 12, what 7.4 dumps
    s("RESTORE", "h4", 0, payload)
    assert s("OBJECT", "ENCODING", "h4") == b"$10\r\nlistpackex\r\n"
    s.now += 1000
    for key in ("h", "h4"):
        assert s("HPTTL", key, "FIELDS", 2, "a", "b") == arr(4000, -1)
    s("SELECT", 1)
    assert s("HPTTL", "h3", "FIELDS", 2, "a", "b") == arr(4000, -1)
    s.now += 4001  # the copies expire on their own
    active_expire_cycle(s.srv.keyspace, 10)
    assert s("HLEN", "h3") == b":1\r\n"


def test_hrandfield_and_sort_reclaim_expired_fields(s: Side) -> None:
    """hrandfieldCommand: hashTypeExpireIfNeeded first (every expired field, the key with
    the last); SORT … GET h->f: hashTypeGetValueObject(HFE_LAZY_EXPIRE)."""
    s("HSET", "h", "a", 1, "b", 2, "c", 3)
    s("HPEXPIRE", "h", 10, "FIELDS", 2, "a", "b")
    s("HSET", "w_x", "f", 7)
    s("HPEXPIRE", "w_x", 10, "FIELDS", 1, "f")
    s("RPUSH", "l", "x")
    s.ops()
    s.now += 11
    assert s("HRANDFIELD", "h", -5) == b"*5\r\n" + b"$1\r\nc\r\n" * 5
    assert s.ops() == [[b"MULTI"], [b"HDEL", b"h", b"b"], [b"HDEL", b"h", b"a"], [b"EXEC"]]  # listpackex order
    assert s("SORT", "l", "BY", "nosort", "GET", "w_*->f") == b"*1\r\n$-1\r\n"
    assert s("EXISTS", "w_x") == b":0\r\n"


def test_listpackex_order(s: Side) -> None:
    """listpackExAddInternal/listpackExUpdateExpiry: a field given a TTL moves before the
    first with no TTL or one not earlier; losing its TTL (HSET, HPERSIST) sends it last;
    HINCRBY keeps its place. Replies list the fields in that order, as 7.4's do."""
    s("HSET", "o", "a", 1, "b", 2, "c", 3, "d", 4, "e", 5)
    s("HPEXPIRE", "o", 100_000, "FIELDS", 1, "c")
    s("HPEXPIRE", "o", 50_000, "FIELDS", 1, "e")
    s("HPEXPIRE", "o", 100_000, "FIELDS", 1, "a")
    s("HSET", "o", "f", 6, "e", 55)
    s("HINCRBY", "o", "c", 1)
    s("HPERSIST", "o", "FIELDS", 1, "a")
    s("HSET", "o", "b", 22)
    assert s("HKEYS", "o") == b"*6\r\n" + b"".join(b"$1\r\n%c\r\n" % f for f in b"cbdfea")


def test_digest_marks_fields_with_ttl(s: Side) -> None:
    """xorObjectDigest (7.4): a field with a TTL xors SHA1("!!hexpire!!") into its element
    digest; HPERSIST gives back the plain hash's digest."""
    import hashlib

    def sha(b: bytes) -> int:
        return int.from_bytes(hashlib.sha1(b).digest(), "big")

    def mix(d: int, b: bytes) -> int:
        return sha((d ^ sha(b)).to_bytes(20, "big"))

    def want(ttl_fields: set[bytes]) -> bytes:
        d = mix(0, (4).to_bytes(4, "big"))  # OBJ_HASH
        for f, v in ((b"a", b"1"), (b"b", b"2")):
            e = mix(mix(0, f), v)
            if f in ttl_fields:
                e ^= sha(b"!!hexpire!!")
            d ^= sha(e.to_bytes(20, "big"))
        return b"*1\r\n+%s\r\n" % d.to_bytes(20, "big").hex().encode()

    s("HSET", "d", "a", 1, "b", 2)
    s("HPEXPIRE", "d", 10_000, "FIELDS", 1, "a")
    assert s("DEBUG", "DIGEST-VALUE", "d") == want({b"a"})
    s("HPERSIST", "d", "FIELDS", 1, "a")
    assert s("DEBUG", "DIGEST-VALUE", "d") == want(set())
