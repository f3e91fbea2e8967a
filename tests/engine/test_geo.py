"""GEO commands, differentially: the same commands to our server and to a real
redis-server 7.0.15, every reply compared byte for byte in RESP2 and RESP3.

Coordinates are printed from the decoded 52-bit geohash (``%.17Lf`` trimmed) and
distances with four decimals, so any difference in the float operations of the
encode/decode/haversine path, in the neighbour-box search (steps, exclusions,
duplicate boxes) or in the sort of equal distances (glibc's stable qsort, Redis's
pqsort for COUNT) shows up as different bytes. The table covers the poles' limits,
the antimeridian, zero and negative zero, points at the same place (ties), scores
no GEOADD writes (GEOPOS/GEOHASH of any zset) and every error text; a seeded random
part runs searches over a few hundred points.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import pytest

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc

pytestmark = pytest.mark.differential

Argv = list[bytes]


def _b(x: object) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode()


def cmd(*args: object) -> Argv:
    return [_b(a) for a in args]


class Raw:
    """One connection; commands pipelined, each reply returned as its exact bytes."""

    def __init__(self, srv: ServerProc, resp: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        self.parser = ReplyParser()
        self.buf = b""  # received bytes from absolute offset ``base`` on
        self.base = 0
        if resp == 3:
            self.run([cmd("HELLO", 3)])

    def run(self, argvs: list[Argv]) -> list[bytes]:
        self.sock.sendall(b"".join(encode_command(a) for a in argvs))
        out = []
        while len(out) < len(argvs):
            if self.parser.gets() is NEED_DATA:
                chunk = self.sock.recv(1 << 20)
                assert chunk, "connection closed"
                self.buf += chunk
                self.parser.feed(chunk)
                continue
            end = self.parser.offset - self.base
            out.append(self.buf[:end])
            self.buf = self.buf[end:]
            self.base += end
        return out

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def conns(request: pytest.FixtureRequest, ours: ServerProc, real: ServerProc) -> Iterator[tuple[Raw, Raw]]:
    a, b = Raw(ours, request.param), Raw(real, request.param)
    for x in (a, b):
        x.run([cmd("FLUSHALL"), cmd("CONFIG", "SET", "zset-max-listpack-entries", 128)])
    yield a, b
    a.close()
    b.close()


def compare(conns: tuple[Raw, Raw], argvs: list[Argv]) -> None:
    ours, real = conns
    got, want = ours.run(argvs), real.run(argvs)
    diffs = [f"{b' '.join(a)!r}\n  ours: {g!r}\n  real: {w!r}"
             for a, g, w in zip(argvs, got, want, strict=True) if g != w]
    assert not diffs, f"{len(diffs)} of {len(argvs)} replies differ:\n" + "\n".join(diffs[:15])


# Edges: the latitude limits (±85.05112878), the antimeridian, zero, -0, a point just
# inside each limit, and points sharing one place (equal distances: the sort's ties).
EDGE_POINTS = [
    (0, 0, "origin"), ("-0", "-0.0", "negzero"), (180, 0, "am-east"), (-180, 0, "am-west"),
    (179.9999999, 85.05112878, "ne-corner"), (-180, -85.05112878, "sw-corner"),
    (180, 85.05112878, "top-right"), (0, 85.05112877, "north"), (0, -85.05112877, "south"),
    (13.361389, 38.115556, "Palermo"), (15.087269, 37.502669, "Catania"),
    (15.087269, 37.502669, "Catania-twin"), (15.087269, 37.502669, "Catania-triplet"),
    (-73.9454966, 40.747533, "lic market"), (1e-300, -1e-300, "tiny"), (-179.5, 36, "p2"),
    (179.5, 36, "p1"), (2.2945, 48.8584, "eiffel"), (-0.1276, 51.5072, "london"),
    (139.6917, 35.6895, "tokyo"), (-122.4194, 37.7749, "sf"), (151.2093, -33.8688, "sydney"),
]


def _geoadd_all(key: str) -> Argv:
    args: list[object] = ["GEOADD", key]
    for lon, lat, name in EDGE_POINTS:
        args += [lon, lat, name]
    return cmd(*args)


def test_geoadd_geopos_geohash_geodist(conns: tuple[Raw, Raw]) -> None:
    names = [n for _, _, n in EDGE_POINTS]
    script = [
        _geoadd_all("g"), _geoadd_all("g"), cmd("ZRANGE", "g", 0, -1, "WITHSCORES"),
        cmd("GEOPOS", "g", *names, "missing"), cmd("GEOHASH", "g", *names, "missing"),
        cmd("GEOPOS", "nokey", "a"), cmd("GEOHASH", "nokey", "a", "b"),
        cmd("GEODIST", "g", "Palermo", "Catania"), cmd("GEODIST", "g", "Palermo", "Catania", "km"),
        cmd("GEODIST", "g", "Palermo", "Catania", "MI"), cmd("GEODIST", "g", "Palermo", "Catania", "ft"),
        cmd("GEODIST", "g", "Palermo", "Palermo"), cmd("GEODIST", "g", "am-east", "am-west"),
        cmd("GEODIST", "g", "top-right", "sw-corner"), cmd("GEODIST", "g", "origin", "top-right", "Km"),
        cmd("GEODIST", "g", "Palermo", "nobody"), cmd("GEODIST", "nokey", "a", "b"),
        cmd("GEODIST", "g", "a", "b", "parsec"), cmd("GEODIST", "g", "a", "b", "m", "extra"),
        cmd("GEODIST", "nokey", "a", "b", "parsec"),
        # options, errors, and what each one changes
        cmd("GEOADD", "g", "CH", 13.4, 38.2, "Palermo", 1, 2, "new1"),
        cmd("GEOADD", "g", "nx", 13.5, 38.2, "Palermo", 1, 3, "new2"),
        cmd("GEOADD", "g", "XX", 13.5, 38.2, "Palermo", 1, 4, "new3"),
        cmd("GEOADD", "g", "xx", "ch", 13.6, 38.2, "Palermo"),
        cmd("GEOADD", "g", "CH", "NX", 13.6, 38.2, "Palermo"),
        cmd("GEOADD", "g", "XX", "NX", 1, 2, "x"), cmd("GEOADD", "g", "ch", "xx", "foo", 1, 2, "x"),
        cmd("GEOADD", "g", 1, 2), cmd("GEOADD", "g", 1, 2, "a", 3), cmd("GEOADD", "g", "CH", 1, 2),
        cmd("GEOADD", "g", 1, 2, "ok", "foo", "bar", "bad"), cmd("GEOADD", "g", 181, 0, "x"),
        cmd("GEOADD", "g", 0, 85.05112879, "x"), cmd("GEOADD", "g", -180.0000001, -86, "x"),
        cmd("GEOADD", "g", "1e300", "-1e300", "x"), cmd("GEOADD", "g", "inf", 0, "x"),
        cmd("GEOADD", "g", "nan", 0, "x"), cmd("GEOADD", "g", 0, "0x10", "x"),
        cmd("GEOADD", "g", "INCR", 1, 2, "x"), cmd("GEOADD", "g", "GT", 1, 2, "x"),
        cmd("ZRANGE", "g", 0, -1, "WITHSCORES"),
        cmd("SET", "str", "v"), cmd("GEOADD", "str", 1, 2, "x"), cmd("GEOPOS", "str", "x"),
        cmd("GEOHASH", "str", "x"), cmd("GEODIST", "str", "a", "b"), cmd("GEODIST", "str", "a", "b", "km"),
        cmd("GEOPOS", "g"), cmd("GEOHASH", "g"), cmd("GEODIST", "g", "a"), cmd("GEOADD", "g", 1, 2),
        # scores GEOADD never writes: the (uint64_t) cast and clamping of the decoder
        cmd("ZADD", "z", -1, "neg", 0, "zero", "1e300", "huge", "-inf", "ninf", "+inf", "pinf",
            4503599627370496, "2p52", 9007199254740991, "2p53", "-4611686018427387904", "m2p62",
            "1.5", "frac", "18446744073709551615", "u64", "9223372036854775808", "2p63"),
        cmd("GEOPOS", "z", "neg", "zero", "huge", "ninf", "pinf", "2p52", "2p53", "m2p62", "frac", "u64", "2p63"),
        cmd("GEOHASH", "z", "neg", "zero", "huge", "ninf", "pinf", "2p52", "2p53", "m2p62", "frac", "u64", "2p63"),
        cmd("GEODIST", "z", "neg", "huge"), cmd("GEODIST", "z", "2p52", "zero", "ft"),
        cmd("GEORADIUSBYMEMBER", "z", "2p53", 20000, "km", "WITHCOORD", "WITHHASH", "WITHDIST"),
    ]
    compare(conns, script)


SEARCHES = [
    "GEORADIUS g 15 37 200 km", "GEORADIUS g 15 37 200 km ASC", "GEORADIUS g 15 37 200 KM desc",
    "GEORADIUS g 15 37 200 km WITHDIST", "GEORADIUS g 15 37 200 km WITHCOORD WITHDIST WITHHASH",
    "GEORADIUS g 15 37 200 km withhash", "GEORADIUS g 15 37 2000 mi COUNT 2",
    "GEORADIUS g 15 37 2000 mi COUNT 2 DESC", "GEORADIUS g 15 37 2000 mi COUNT 2 ANY",
    "GEORADIUS g 15 37 2000 mi COUNT 3 ANY DESC WITHDIST", "GEORADIUS g 15 37 20000 km COUNT 1000",
    "GEORADIUS g 0 0 50000 km WITHCOORD", "GEORADIUS g 0 0 0 m WITHCOORD", "GEORADIUS g 0 0 1 ft",
    "GEORADIUS g 180 0 500 km WITHDIST ASC", "GEORADIUS g -180 85.05112878 800 km WITHCOORD ASC",
    "GEORADIUS g 0 -85.05112878 8000 km WITHDIST DESC", "GEORADIUS g 15.087269 37.502669 0 km WITHDIST",
    "GEORADIUS g 15.087269 37.502669 1 m COUNT 2", "GEORADIUS g 15 37 200 km COUNT 2 COUNT 3",
    "GEORADIUS g 15 37 inf km", "GEORADIUS g 15 37 1e-300 km", "GEORADIUS g 15 37 -1 km",
    "GEORADIUS g 15 37 x km", "GEORADIUS g 15 37 1 parsec", "GEORADIUS g 15 37 1 km COUNT 0",
    "GEORADIUS g 15 37 1 km COUNT -3", "GEORADIUS g 15 37 1 km COUNT x", "GEORADIUS g 15 37 1 km COUNT",
    "GEORADIUS g 15 37 1 km ANY", "GEORADIUS g 15 37 1 km ANY COUNT 1", "GEORADIUS g 15 37 1 km FOO",
    "GEORADIUS g 15 37 200 km STORE", "GEORADIUS g 15 37 200 km STORE dst WITHDIST",
    "GEORADIUS g 15 37 200 km WITHHASH STOREDIST dst", "GEORADIUS g 200 37 1 km",
    "GEORADIUS g 15 x 1 km", "GEORADIUS g 15 37 1 km FROMMEMBER Palermo",
    "GEORADIUS_RO g 15 37 300 km WITHDIST ASC", "GEORADIUS_RO g 15 37 300 km STORE dst",
    "GEORADIUS_RO g 15 37 300 km STOREDIST dst",
    "GEORADIUSBYMEMBER g Palermo 300 km", "GEORADIUSBYMEMBER g Catania 1 m WITHDIST",
    "GEORADIUSBYMEMBER g Catania-twin 300 km COUNT 2 WITHDIST",
    "GEORADIUSBYMEMBER g Catania-twin 300 km COUNT 1 DESC WITHDIST",
    "GEORADIUSBYMEMBER g nobody 300 km", "GEORADIUSBYMEMBER g nobody x km",
    "GEORADIUSBYMEMBER g Palermo x km", "GEORADIUSBYMEMBER nokey nobody x parsec",
    "GEORADIUSBYMEMBER nokey nobody 1 km STORE dst", "GEORADIUSBYMEMBER_RO g am-east 1000 km WITHCOORD",
    "GEORADIUSBYMEMBER_RO g top-right 3000 km WITHCOORD WITHDIST",
    "GEOSEARCH g FROMLONLAT 15 37 BYBOX 400 400 km ASC", "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km",
    "GEOSEARCH g frommember Palermo bybox 400 20 km withcoord withdist withhash desc",
    "GEOSEARCH g FROMLONLAT 179 37 BYBOX 400 400 km ASC WITHDIST",
    "GEOSEARCH g FROMLONLAT -179 37 BYBOX 400 400 km ASC WITHDIST",
    "GEOSEARCH g FROMLONLAT 0 0 BYBOX 40000 40000 km COUNT 5",
    "GEOSEARCH g FROMLONLAT 0 0 BYBOX 0 0 km", "GEOSEARCH g FROMLONLAT 0 0 BYBOX -1 1 km",
    "GEOSEARCH g FROMLONLAT 0 0 BYBOX x 1 km", "GEOSEARCH g FROMLONLAT 0 0 BYBOX 1 y km",
    "GEOSEARCH g FROMLONLAT 0 0 BYBOX 1 1 yd", "GEOSEARCH g FROMLONLAT 0 0 BYBOX 1 1",
    "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 km BYBOX 1 1 km",
    "GEOSEARCH g FROMLONLAT 0 0 FROMMEMBER Palermo BYRADIUS 1 km",
    "GEOSEARCH g FROMMEMBER Palermo FROMLONLAT 0 0 BYRADIUS 1 km",
    "GEOSEARCH g FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 100 km WITHDIST",
    "GEOSEARCH g FROMLONLAT 0 0 FROMLONLAT 15 37 BYRADIUS 100 km BYRADIUS 200 km WITHDIST",
    "GEOSEARCH g BYBOX 3 3 km", "geosearch g fromlonlat 0 0", "GeoSearch g BYBOX 3 3 km ASC",
    "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 km STOREDIST", "GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 1 km STORE d",
    "GEOSEARCH g FROMMEMBER nobody BYRADIUS 1 km", "GEOSEARCH nokey FROMMEMBER nobody BYRADIUS 1 km",
    "GEOSEARCH nokey FROMLONLAT 0 0 BYRADIUS 1 km", "GEOSEARCH nokey FROMMEMBER m BYRADIUS x km",
    "GEOSEARCH nokey FROMMEMBER m", "GEOSEARCH g FROMLONLAT 0 200 BYRADIUS 1 km",
    "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 300 km ANY COUNT 2",
    "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 300 km COUNT 2 ANY ASC",
    "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 300 km ANY",
    "GEOSEARCH str FROMLONLAT 15 37 BYRADIUS 300 km", "GEORADIUS str 15 37 1 km",
    "GEORADIUSBYMEMBER str m 1 km", "GEOSEARCHSTORE dst str FROMLONLAT 15 37 BYRADIUS 300 km",
    "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 300 km", "ZRANGE dst 0 -1 WITHSCORES",
    "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 300 km STOREDIST", "ZRANGE dst 0 -1 WITHSCORES",
    "OBJECT ENCODING dst", "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 300 km STOREDIST WITHDIST",
    "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 300 km STORE x",
    "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYBOX 300 300 mi COUNT 2 DESC STOREDIST",
    "ZRANGE dst 0 -1 WITHSCORES", "GEOSEARCHSTORE dst g FROMLONLAT 15 37 BYRADIUS 1 m", "EXISTS dst",
    "GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 1 m", "SET dst v",
    "GEOSEARCHSTORE dst nokey FROMLONLAT 15 37 BYRADIUS 1 m", "EXISTS dst",
    "GEOSEARCHSTORE dst nokey FROMMEMBER m BYBOX 1 1 m", "GEOSEARCHSTORE dst nokey BYBOX 1 1 m",
    "GEORADIUS g 15 37 200 km STORE dst", "ZRANGE dst 0 -1 WITHSCORES",
    "GEORADIUS g 15 37 200 km STOREDIST dst2 STORE dst3", "ZRANGE dst3 0 -1 WITHSCORES", "EXISTS dst2",
    "GEORADIUS g 15 37 200 km STORE dst2 STOREDIST dst3 COUNT 1 DESC", "ZRANGE dst3 0 -1 WITHSCORES",
    "SET dst v EX 100", "GEORADIUSBYMEMBER g Palermo 200 km STOREDIST dst", "TTL dst", "TYPE dst",
    "GEORADIUSBYMEMBER g Palermo 1 m STORE dst", "GEORADIUS g 0 0 1 m STORE dst", "EXISTS dst",
    "GEORADIUS nokey 0 0 1 m STORE dst", "GEORADIUS nokey 0 0 x m STORE dst",
    "GEORADIUS g 15 37", "GEOSEARCHSTORE dst g", "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS",
]


def test_searches(conns: tuple[Raw, Raw]) -> None:
    compare(conns, [_geoadd_all("g"), cmd("SET", "str", "v")] + [s.split() for s in SEARCHES])
    # the same searches over a skiplist-encoded set (and its many equal places)
    big = ["GEOADD", "g"] + [x for i in range(300) for x in (15.087269, 37.502669, f"same{i}")]
    compare(conns, [cmd("DEL", "g"), cmd(*big), _geoadd_all("g"), cmd("OBJECT", "ENCODING", "g")]
            + [s.split() for s in SEARCHES])


def test_random_searches(conns: tuple[Raw, Raw]) -> None:
    """Seeded points clustered around a few centres (so boxes hold many candidates and
    near-equal distances), and searches of every kind around them."""
    rnd = random.Random(20240607)
    centres = [(15, 37), (179.9, 10), (-179.9, -10), (0, 84.9), (30, -84.9), (-73.9, 40.7)]
    args: list[object] = ["GEOADD", "r"]
    for i in range(600):
        cx, cy = rnd.choice(centres)
        lon = max(-180.0, min(180.0, cx + rnd.uniform(-3, 3)))
        lat = max(-85.05112878, min(85.05112878, cy + rnd.uniform(-2, 2)))
        args += [repr(lon), repr(lat), f"p{i}"]
    script = [cmd(*args)]
    units = ["m", "km", "mi", "ft"]
    for _ in range(120):
        cx, cy = rnd.choice(centres)
        lon = max(-180.0, min(180.0, cx + rnd.uniform(-2, 2)))
        lat = max(-85.05112878, min(85.05112878, cy + rnd.uniform(-1.5, 1.5)))
        unit = rnd.choice(units)
        scale = {"m": 1000, "km": 1, "mi": 0.621, "ft": 3281}[unit]
        opts = rnd.sample(["WITHCOORD", "WITHDIST", "WITHHASH", "ASC", "DESC"], rnd.randint(0, 3))
        if rnd.random() < 0.4:
            opts += ["COUNT", str(rnd.randint(1, 40))] + (["ANY"] if rnd.random() < 0.3 else [])
        src = ["FROMLONLAT", repr(lon), repr(lat)] if rnd.random() < 0.7 else ["FROMMEMBER", f"p{rnd.randrange(600)}"]
        if rnd.random() < 0.5:
            shape = ["BYRADIUS", f"{rnd.uniform(1, 400) * scale:.3f}", unit]
        else:
            shape = ["BYBOX", f"{rnd.uniform(1, 600) * scale:.3f}", f"{rnd.uniform(1, 600) * scale:.3f}", unit]
        script.append(cmd("GEOSEARCH", "r", *src, *shape, *opts))
        if shape[0] == "BYRADIUS":
            script.append(cmd("GEORADIUS", "r", repr(lon), repr(lat), shape[1], unit, *opts))
    compare(conns, script)


@pytest.mark.parametrize("store", [
    "GEOSEARCHSTORE dst src FROMLONLAT 13 38 BYRADIUS 100 km",
    "GEORADIUS src 13 38 100 km STORE dst", "GEORADIUSBYMEMBER src a 100 km STOREDIST dst",
    "GEORADIUS src 13 38 1 m STORE dst",  # nothing found: dst deleted
])
def test_watch_sees_only_the_destination_modified(ours: ServerProc, real: ServerProc, store: str) -> None:
    """A store writes its destination, not its source: a WATCH of the source survives it."""
    outcomes = []
    for srv in (ours, real):
        watcher, writer = Raw(srv, 2), Raw(srv, 2)
        try:
            writer.run([cmd("FLUSHALL"), cmd("GEOADD", "src", 13.36, 38.11, "a"), cmd("SET", "dst", "v")])
            got = []
            for watched in ("src", "dst"):
                watcher.run([cmd("WATCH", watched)])
                writer.run([cmd(*store.split())])
                got.append(watcher.run([cmd("MULTI"), cmd("PING"), cmd("EXEC")])[-1])
                writer.run([cmd("SET", "dst", "v")])
            outcomes.append(got)
        finally:
            watcher.close()
            writer.close()
    assert outcomes[0] == outcomes[1]


GEO_COMMANDS = ["geoadd", "geodist", "geohash", "geopos", "georadius", "georadius_ro",
                "georadiusbymember", "georadiusbymember_ro", "geosearch", "geosearchstore"]


def test_command_info_and_docs(conns: tuple[Raw, Raw]) -> None:
    ours, real = conns
    assert ours.run([cmd("COMMAND", "INFO", *GEO_COMMANDS)]) == real.run([cmd("COMMAND", "INFO", *GEO_COMMANDS)])
    compare(conns, [cmd("COMMAND", "GETKEYS", *s.split()) for s in (
        "GEORADIUS g 1 2 3 km STORE d", "GEORADIUS g 1 2 3 km STOREDIST d WITHDIST",
        "GEORADIUSBYMEMBER g m 3 km STORE d", "GEOSEARCHSTORE d g FROMLONLAT 1 2 BYRADIUS 1 km",
        "GEOADD g 1 2 m", "GEOSEARCH g FROMLONLAT 1 2 BYRADIUS 1 km")])
    parser = ReplyParser()
    docs = []
    for side in (ours, real):
        parser = ReplyParser()
        parser.feed(side.run([cmd("COMMAND", "DOCS", *GEO_COMMANDS)])[0])
        reply = parser.gets()
        pairs = reply if isinstance(reply, list) and reply and isinstance(reply[0], tuple) else \
            list(reply.items()) if isinstance(reply, dict) else list(zip(reply[::2], reply[1::2], strict=True))
        docs.append({name: {k: v for k, v in _pairs(doc) if k in (b"summary", b"since", b"group")}
                     for name, doc in pairs})
    assert docs[0] == docs[1]


def _pairs(doc: object) -> list[tuple[object, object]]:
    if isinstance(doc, dict):
        return list(doc.items())
    if isinstance(doc, list) and doc and isinstance(doc[0], tuple):
        return doc
    return list(zip(doc[::2], doc[1::2], strict=True))  # type: ignore[index]
