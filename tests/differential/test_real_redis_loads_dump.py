"""DUMP/RESTORE payloads against real servers (7.0: RDB 10, 6.2: RDB 9).

* Our payloads RESTORE into the real server and read back equal; the server's
  own DUMP of the restored key is byte-identical to ours except for hashtable
  sets and hashes (their DUMP order is the server's dict order).
* Values the real server builds itself (RPUSH/SADD/ZADD/HSET/XADD, strings
  around the LZF threshold, scores of every shape, streams split into nodes by
  stream-node-max-bytes/-entries) DUMP to exactly the bytes ``dump_value``
  writes for the decoded value: our encoding choices are Redis's. The server's
  SAVE of those keys, decoded and re-encoded (aux passed through), is the same
  file byte for byte.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from rdbtools import encode_bytes, read_all
from rdbtools.dump import dump_value, restore_value
from rdbtools.errors import RdbEncodeError

from .conftest import Server

pytestmark = pytest.mark.differential

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dump"
PAYLOADS = sorted(p for p in FIXTURES.rglob("*.bin") if p.name != "functions.bin")


def _readback(srv: Server, key: bytes, type_name: str):
    if type_name == "string":
        return srv("GET", key)
    if type_name == "list":
        return srv("LRANGE", key, 0, -1)
    if type_name == "set":
        return sorted(srv("SMEMBERS", key))
    if type_name == "zset":
        flat = srv("ZRANGE", key, 0, -1, "WITHSCORES")
        return [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]
    if type_name == "hash":
        flat = srv("HGETALL", key)
        return sorted(zip(flat[0::2], flat[1::2]))
    if type_name == "stream":
        return [((int(i.split(b"-")[0]), int(i.split(b"-")[1])), tuple(zip(f[0::2], f[1::2])))
                for i, f in srv("XRANGE", key, "-", "+")]
    raise AssertionError(type_name)


def _logical(type_name: str, value):
    if type_name == "set":
        return sorted(value)
    if type_name == "zset":
        return sorted(value, key=lambda p: (p[1], p[0]))
    if type_name == "hash":
        return sorted(value)
    if type_name == "stream":
        return list(value.entries)
    return value


@pytest.mark.parametrize(("server", "version"), [("redis70", 10), ("redis62", 9)])
def test_our_payloads_restore_and_dump_back_identically(server: str, version: int, request) -> None:
    srv: Server = request.getfixturevalue(server)
    checked = identical = 0
    for path in PAYLOADS:
        src = restore_value(path.read_bytes(), max_version=80)
        if src.field_expires:
            with pytest.raises(RdbEncodeError):
                dump_value((src.type, src.value, src.field_expires), version)
            continue
        ours = dump_value((src.type, src.value), version)
        key = f"restored:{path.parent.name}:{path.name}".encode()
        assert srv("RESTORE", key, 0, ours, "REPLACE") == b"OK", path
        assert _readback(srv, key, src.type) == _logical(src.type, src.value), path
        theirs = srv("DUMP", key)
        checked += 1
        if ours[0] in (2, 4):  # hashtable set / hash: the server's dict order
            assert restore_value(theirs).value != [] and _logical(
                src.type, restore_value(theirs).value
            ) == _logical(src.type, src.value), path
        else:
            assert theirs == ours, path
            identical += 1
    assert checked > 150 and identical > 100


# ----------------------------------------------------------------------------- server-built values


def _build(srv: Server, rnd: random.Random) -> list[bytes]:
    """Keys of every type built by ordinary commands; returns their names."""
    cmds: list[tuple] = [("FLUSHALL",)]
    keys: list[bytes] = []

    def add(key: str, *command) -> None:
        k = key.encode()
        keys.append(k)
        cmds.append((command[0], k, *command[1:]))

    for i in range(400):  # strings around the LZF threshold and its 4-byte rule
        n = rnd.choice([21, 22, 24, 25, 26, 28, 30, 40, 60, 100, 200, rnd.randint(0, 400)])
        alphabet = bytes(rnd.sample(range(256), rnd.randint(1, 12)))
        add(f"s:{i}", "SET", bytes(rnd.choice(alphabet) for _ in range(n)))
    for i, v in enumerate([b"0", b"-1", b"127", b"128", b"-129", b"32767", b"32768", b"2147483647",
                           b"2147483648", b"-2147483649", b"9223372036854775807", b"007", b"+5",
                           b"-0", b"12345678901", b"123456789012", b" 1", b"1e3", b""]):
        add(f"n:{i}", "SET", v)
    for i in range(30):  # lists: single listpacks to many nodes, ints of every width
        n = rnd.choice([1, 5, 100, 300, 700, 1500])
        maxlen = rnd.choice([3, 20, 70, 300])
        items = [rnd.choice([str(rnd.randint(-10**12, 10**12)).encode(), rnd.randbytes(rnd.randint(0, maxlen))])
                 for _ in range(n)]
        add(f"l:{i}", "RPUSH", *items)
    add("l:big", "RPUSH", b"a", b"x" * 9000, b"b", rnd.randbytes(5000), b"c", b"y" * 20000)
    for i in range(20):  # sets: intsets of each width, small and large string sets
        if i % 2:
            bound = rnd.choice([100, 40000, 3_000_000_000, 2**62])
            members = {str(rnd.randint(-bound, bound)).encode() for _ in range(rnd.choice([3, 100, 600]))}
        else:
            members = {rnd.randbytes(rnd.randint(0, 70)) for _ in range(rnd.choice([3, 100, 200]))}
        add(f"set:{i}", "SADD", *members)
    specials = [0.0, -0.0, 1.0, -3.0, 0.1, 1e-5, 1.5e-7, 123.456, 1e20, 2.0**53, 2.0**62, 2.0**63,
                1e308, 5e-324, 1.7976931348623157e308, -2.5e-10, 4503599627370495.0,
                4503599627370496.0, math.inf, -math.inf, 1 / 3]
    for i in range(24):  # zsets: listpack/ziplist with every score shape, and skiplists
        n = rnd.choice([3, 20, 128, 129, 300])
        args: list = []
        for j in range(n):
            s = rnd.choice(specials) if rnd.random() < 0.4 else rnd.choice(
                [rnd.randint(-10**6, 10**6), rnd.uniform(-1e6, 1e6), rnd.random() * 10**rnd.randint(-12, 25)])
            args += [repr(float(s)).encode() if not math.isinf(s) else (b"inf" if s > 0 else b"-inf"),
                     b"m%d-" % j + rnd.randbytes(rnd.choice([1, 5, 70]))]
        add(f"z:{i}", "ZADD", *args)
    for i in range(12):  # hashes: listpack/ziplist and hashtable
        n = rnd.choice([1, 10, 512, 513])
        vlen = rnd.choice([5, 64, 65])
        args = []
        for j in range(n):
            args += [b"f%d" % j, rnd.randbytes(rnd.randint(0, vlen))]
        add(f"h:{i}", "HSET", *args)
    for i in range(8):  # streams: nodes by entries and by bytes, same and new fields
        k = f"x:{i}"
        ms = 1_700_000_000_000 + i
        for j in range(rnd.choice([1, 99, 100, 101, 250])):
            ms += rnd.choice([0, 1, 1000])
            fields = [b"a", rnd.randbytes(rnd.choice([1, 10, 200]))]
            if rnd.random() < 0.3:
                fields += [b"extra%d" % rnd.randint(0, 3), str(j).encode()]
            cmds.append(("XADD", k.encode(), f"{ms}-{j}", *fields))
        keys.append(k.encode())
        cmds.append(("XGROUP", "CREATE", k.encode(), "g1", "0"))
        cmds.append(("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 7, "STREAMS", k.encode(), ">"))
        cmds.append(("XGROUP", "CREATE", k.encode(), "g0", "$"))
    for reply in srv.many(cmds):
        assert not isinstance(reply, Exception), reply
    return keys


@pytest.mark.parametrize(("server", "version"), [("redis70", 10), ("redis62", 9)])
def test_server_dumps_equal_our_encoding_of_the_same_value(server: str, version: int, request) -> None:
    srv: Server = request.getfixturevalue(server)
    rnd = random.Random(20240607)
    keys = _build(srv, rnd)
    payloads = srv.many([("DUMP", k) for k in keys])
    mismatches = []
    for key, theirs in zip(keys, payloads):
        d = restore_value(theirs)
        assert d.rdb_version == version
        ours = dump_value((d.type, d.value), version)
        if ours != theirs:
            mismatches.append((key, d.type_byte, len(theirs), len(ours)))
    assert not mismatches, mismatches[:10]
    # and the whole file: SAVE, decode, re-encode with the file's own aux fields
    assert srv("SAVE") == b"OK"
    saved = (srv.dir / "dump.rdb").read_bytes()
    ours_file = encode_bytes(read_all(saved), target_version=version, aux="passthrough")
    assert ours_file == saved
