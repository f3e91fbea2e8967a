"""BITFIELD and BITFIELD_RO, differentially: the same commands to our server and to a
real redis-server 7.0.15, every reply (and the string left behind) compared byte for
byte, in RESP2 and RESP3 (a FAIL'ed operation is a nil inside the array).

Random sequences mix the three operations, every width (with some invalid types),
plain and ``#N`` offsets (including ones whose product with the width wraps an
int64, as ``getBitOffsetFromArgument`` multiplies), values at and past each type's
limits and the three overflow modes, on a missing key, a short string, an integer
string and a list. Table cases pin the errors and the ``proto-max-bulk-len`` limit;
WATCH and COMMAND INFO/DOCS are compared too (what the AOF receives is in
``test_propagation.py``).
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc, start_ours, start_real

pytestmark = pytest.mark.differential

Argv = list[bytes]


def _b(x: object) -> bytes:
    return x if isinstance(x, bytes) else str(x).encode()


def cmd(*args: object) -> Argv:
    return [_b(a) for a in args]


class Conn:
    """A plain socket: each reply comes back as the exact bytes the server sent."""

    def __init__(self, srv: ServerProc, resp: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        self.parser = ReplyParser()
        self.pending = b""
        if resp == 3:
            self.call(cmd("HELLO", 3))

    def call(self, argv: Argv) -> bytes:
        self.sock.sendall(encode_command(argv))
        start = self.parser.offset
        while self.parser.gets() is NEED_DATA:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "connection closed"
            self.pending += chunk
            self.parser.feed(chunk)
        n = self.parser.offset - start
        reply, self.pending = self.pending[:n], self.pending[n:]
        return reply

    def close(self) -> None:
        self.sock.close()


Pair = tuple[Conn, Conn]


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def conns(request: pytest.FixtureRequest, ours: ServerProc, real: ServerProc) -> Iterator[Pair]:
    a, b = Conn(ours, request.param), Conn(real, request.param)
    for x in (a, b):
        x.call(cmd("FLUSHALL"))
    yield a, b
    a.close()
    b.close()


def same(conns: Pair, argv: Argv) -> bytes:
    ours, real = conns[0].call(argv), conns[1].call(argv)
    assert ours == real, (argv, ours, real)
    return ours


# -- random sequences --------------------------------------------------------------------------

def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy, odds: int = 40) -> st.SearchStrategy:
    """``good`` ``odds`` times out of ``odds + 1``: most operations must run for the later
    ones (and the overflow modes) to matter, as one bad argument fails the whole command."""
    # not at either end: Hypothesis favours the bounds of a range
    return st.integers(0, odds).flatmap(lambda i: bad if i == odds // 2 else good)


_WIDTH = _mostly(st.integers(1, 8), st.integers(1, 64), odds=1)
_TYPE = _mostly(
    st.one_of(_WIDTH.map(lambda n: b"i%d" % n), _WIDTH.filter(lambda n: n < 64).map(lambda n: b"u%d" % n)),
    st.sampled_from([b"u64", b"i65", b"i0", b"u0", b"x8", b"I8", b"U8", b"", b"i", b"i-1", b"i08", b"i 8",
                     b"u+8", b"i8\x00z", b"i99999999999999999999"]))
_OFFSET = _mostly(
    st.one_of(st.integers(0, 80).map(lambda n: b"%d" % n), st.integers(0, 12).map(lambda n: b"#%d" % n)),
    st.sampled_from([b"-1", b"#-1", b"x", b"", b"#", b"#x", b"1.5", b"+3", b"03", b"4294967295",
                     b"4294967296", b"#536870911", b"#4611686018427387905", b"#9223372036854775807",
                     b"9223372036854775808", b"#2305843009213693953"]))


def _edges() -> list[int]:
    """Each width's limits and their neighbours, as signed and unsigned values."""
    out = []
    for bits in (1, 2, 3, 7, 8, 15, 16, 31, 32, 62, 63, 64):
        for base in (1 << bits, 1 << (bits - 1)):
            out += [base - 2, base - 1, base, base + 1, -base - 1, -base, -base + 1]
    return [e for e in out if -(1 << 63) <= e < (1 << 63)]


_INT = st.one_of(st.integers(-300, 300), st.integers(-8, 8), st.sampled_from(_edges()),
                 st.integers(-(1 << 63), (1 << 63) - 1))
_VALUE = _mostly(_INT.map(lambda n: b"%d" % n),
                 st.sampled_from([b"x", b"", b"1.0", b"9223372036854775808", b" 1", b"-0"]))
_OVERFLOW = st.tuples(st.sampled_from([b"OVERFLOW", b"overflow"]),
                      _mostly(st.sampled_from([b"WRAP", b"sat", b"SAT", b"FAIL", b"fail", b"wrap"]),
                              st.sampled_from([b"SATURATE", b"", b"fail\x00x"])))
_SUBOP = _mostly(
    st.one_of(st.tuples(st.sampled_from([b"GET", b"get"]), _TYPE, _OFFSET),
              st.tuples(st.sampled_from([b"SET", b"set"]), _TYPE, _OFFSET, _VALUE),
              st.tuples(st.sampled_from([b"INCRBY", b"incrby"]), _TYPE, _OFFSET, _VALUE),
              _OVERFLOW),
    st.sampled_from([(b"GET", b"u8"), (b"SET", b"u8", b"0"), (b"OVERFLOW",), (b"NOSUCH", b"u8", b"0"),
                     (b"INCRBY",), (b"get\x00x", b"u8", b"0")]),
    odds=60)

# half the commands choose an overflow mode first, so that it meets the writes after it
_COMMAND = st.tuples(_mostly(st.sampled_from([b"BITFIELD", b"bitfield"]), st.just(b"bitfield_ro"), odds=4),
                     st.one_of(st.just([]), _OVERFLOW.map(lambda o: [o])),
                     st.lists(_SUBOP, max_size=5)).map(lambda t: (t[0], t[1] + t[2]))

_START = st.one_of(st.none(), st.binary(max_size=12), st.sampled_from([b"12345", b"-1", b"\xff" * 9]),
                   st.just("list"))


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=_START, commands=st.lists(_COMMAND, min_size=1, max_size=8))
def test_random_sequences(conns: Pair, start: bytes | str | None, commands: list) -> None:
    same(conns, cmd("DEL", "bf"))
    if start == "list":
        same(conns, cmd("RPUSH", "bf", "a"))
    elif start is not None:
        same(conns, cmd("SET", "bf", start))
    for name, subops in commands:
        argv = [name, b"bf"]
        for op in subops:
            argv += op
        same(conns, argv)
    same(conns, cmd("TYPE", "bf"))
    if start != "list":
        same(conns, cmd("GET", "bf"))
        same(conns, cmd("OBJECT", "ENCODING", "bf"))


# -- table cases -------------------------------------------------------------------------------

CASES: list[Argv] = [
    cmd("BITFIELD"), cmd("BITFIELD_RO"), cmd("BITFIELD", "k"), cmd("BITFIELD_RO", "k"),
    cmd("BITFIELD", "k", "GET", "u64", 0), cmd("BITFIELD", "k", "GET", "i65", 0),
    cmd("BITFIELD", "k", "GET", "u8", -1), cmd("BITFIELD", "k", "OVERFLOW", "nope", "GET", "u8", 0),
    cmd("BITFIELD", "k", "SET", "u8", 0, "x"), cmd("BITFIELD", "k", "INCRBY", "u8", 0, "1.5"),
    cmd("BITFIELD", "k", "FOO", "u8", 0), cmd("BITFIELD", "k", "GET", "u8"),
    cmd("BITFIELD", "k", "OVERFLOW"), cmd("BITFIELD", "k", "SET", "x8", 0, 1, "GET", "u64", 0),
    cmd("BITFIELD_RO", "k", "GET", "u8", 0, "SET", "u8", 0, 1),
    cmd("BITFIELD_RO", "k", "INCRBY", "u8", 0, "x"), cmd("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
    cmd("BITFIELD_RO", "k", "GET", "u8", 0, "GET", "i64", 3),
    cmd("BITFIELD", "k", "GET", "u8", 4294967288), cmd("BITFIELD", "k", "GET", "u8", 4294967296),
    cmd("BITFIELD", "k", "GET", "i64", "#67108863"), cmd("BITFIELD", "k", "GET", "i64", "#67108864"),
    cmd("BITFIELD", "k", "GET", "u4", "#4611686018427387905"), cmd("BITFIELD", "k", "GET", "u2", "#4611686018427387904"),
    cmd("EXISTS", "k"),
    cmd("SET", "s", "hello"), cmd("BITFIELD", "s", "GET", "i8", 0, "GET", "u4", 4, "GET", "i64", 30),
    cmd("BITFIELD", "s", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 200, "OVERFLOW", "SAT", "INCRBY", "u8", 0, 200),
    cmd("BITFIELD", "s", "INCRBY", "i64", 0, "9223372036854775807", "INCRBY", "i64", 0, 1),
    cmd("BITFIELD", "s", "SET", "u63", 1, "-1", "GET", "u63", 1, "GET", "i64", 0), cmd("GET", "s"),
    cmd("RPUSH", "l", "a"), cmd("BITFIELD", "l", "GET", "u8", 0), cmd("BITFIELD_RO", "l", "GET", "u8", 0),
    cmd("BITFIELD", "l", "SET", "u8", 0, 1), cmd("BITFIELD", "l"), cmd("BITFIELD", "l", "GET", "x8", 0),
    cmd("BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u8", 16, 256), cmd("GET", "n"),
    cmd("CONFIG", "SET", "proto-max-bulk-len", 1048576), cmd("BITFIELD", "k", "GET", "u8", 8388607),
    cmd("BITFIELD", "k", "GET", "u8", 8388608), cmd("BITFIELD", "k", "SET", "u8", "#1048576", 1),
    cmd("BITFIELD", "k", "SET", "u8", "#1048575", 1), cmd("STRLEN", "k"),
    cmd("CONFIG", "SET", "proto-max-bulk-len", 536870912), cmd("DEL", "k"),
    cmd("SETBIT", "k", 4294967296, 1), cmd("SETBIT", "k", "#1", 1),
]
# every overflow mode, both signs, both directions, SET and INCRBY, at 8 and 64 bits
for _mode in ("WRAP", "SAT", "FAIL"):
    for _t, _lo, _hi in (("u8", 0, 255), ("i8", -128, 127), ("u63", 0, (1 << 63) - 1),
                         ("i64", -(1 << 63), (1 << 63) - 1)):
        CASES += [cmd("DEL", "o"), cmd("BITFIELD", "o", "OVERFLOW", _mode, "SET", _t, 3, _hi, "INCRBY", _t, 3, 1,
                                       "INCRBY", _t, 3, 2, "SET", _t, 3, _lo, "INCRBY", _t, 3, -1),
                  cmd("BITFIELD", "o", "OVERFLOW", _mode, "SET", _t, 3, -1, "SET", _t, 3, -129,
                      "SET", _t, 3, 256, "INCRBY", _t, 3, -(1 << 63), "INCRBY", _t, 3, (1 << 63) - 1),
                  cmd("GET", "o")]


def test_cases(conns: Pair) -> None:
    try:
        for argv in CASES:
            same(conns, argv)
    finally:
        for c in conns:
            c.call(cmd("CONFIG", "SET", "proto-max-bulk-len", 536870912))


def test_watch(conns: Pair, ours: ServerProc, real: ServerProc) -> None:
    """EXEC fails only where BITFIELD changed something (signalModifiedKey on changes):
    not for GETs, a SET of the value already there, or a FAIL'ed write on a new key."""
    same(conns, cmd("SET", "w", "\x01"))
    others = [Conn(ours, 2), Conn(real, 2)]
    try:
        for change in (cmd("BITFIELD", "w", "GET", "u8", 0), cmd("BITFIELD", "w", "SET", "u8", 0, 1),
                       cmd("BITFIELD", "fresh", "OVERFLOW", "FAIL", "SET", "u8", 0, 999),
                       cmd("BITFIELD_RO", "w", "GET", "i4", 0), cmd("BITFIELD", "w", "SET", "u8", 0, 2),
                       cmd("BITFIELD", "w", "SET", "u8", 8, 0), cmd("BITFIELD", "w", "INCRBY", "u8", 0, 0)):
            key = change[1]
            same(conns, cmd("WATCH", key))
            assert others[0].call(change) == others[1].call(change)
            same(conns, cmd("MULTI"))
            same(conns, cmd("GET", key))
            same(conns, cmd("EXEC"))
    finally:
        for o in others:
            o.close()


def _pairs(reply: object) -> list[tuple[object, object]]:
    """A RESP3 map (a dict, or a list of pairs when a key is unhashable) or a RESP2 flat array."""
    if isinstance(reply, dict):
        return list(reply.items())
    assert isinstance(reply, list)
    if reply and isinstance(reply[0], tuple):
        return reply
    return list(zip(reply[::2], reply[1::2], strict=True))


def test_command_info_and_docs(conns: Pair) -> None:
    same(conns, cmd("COMMAND", "INFO", "bitfield", "bitfield_ro"))
    for name in ("bitfield", "bitfield_ro"):
        same(conns, cmd("COMMAND", "GETKEYS", name, "k", "GET", "u8", 0))
    docs = []
    for side in conns:
        parser = ReplyParser()
        parser.feed(side.call(cmd("COMMAND", "DOCS", "bitfield", "bitfield_ro")))
        docs.append({name: {k: v for k, v in _pairs(doc) if k in (b"summary", b"since", b"group")}
                     for name, doc in _pairs(parser.gets())})
    assert docs[0] == docs[1]
    assert len(docs[0]) == 2


def test_aof_offsets_past_proto_max_bulk_len(tmp_path: Path) -> None:
    """An AOF is obeyed (mustObeyClient): SETBIT/BITFIELD offsets a client may no longer
    send under a smaller proto-max-bulk-len still load, in ours as in real Redis."""
    aof = ("--appendonly", "yes", "--appendfsync", "always")
    (tmp_path / "w").mkdir()
    writer = start_real(tmp_path / "w", *aof, "--proto-max-bulk-len", "2mb")
    try:
        c = writer.client()
        c.setbit("sb", 9_000_000, 1)
        c.execute_command("BITFIELD", "bf", "SET", "u8", "#1200000", 7, "SET", "i4", 3, -1)
    finally:
        writer.stop()
    replies = []
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        shutil.copytree(tmp_path / "w", d)
        srv = start(d, *aof, "--proto-max-bulk-len", "1mb", loaded=True)
        try:
            c = srv.client()
            got = [c.strlen("sb"), c.strlen("bf"), c.getrange("sb", 1_124_990, -1),
                   c.getrange("bf", 0, 1), c.getrange("bf", 1_199_999, -1)]
            for argv in (("SETBIT", "sb", 9_000_000, 1), ("BITFIELD", "bf", "GET", "u8", "#1200000")):
                try:
                    got.append(c.execute_command(*argv))
                except redis.ResponseError as exc:
                    got.append(str(exc))
            replies.append(got)
        finally:
            srv.stop()
    assert replies[0] == replies[1]
    assert replies[0][0] == 1_125_001
