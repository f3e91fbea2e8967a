"""RESP codec: request parser vs a real redis-server, feeding regimes, round trips, fuzz."""

from __future__ import annotations

import importlib
import math
import random
import re
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import aof
from aof import replies
from aof.errors import AofError, AofTruncatedError, ManifestError, RespProtocolError
from aof.replies import (
    encode_array,
    encode_bignum,
    encode_bool,
    encode_bulk,
    encode_bulk_array,
    encode_command,
    encode_double,
    encode_error,
    encode_int,
    encode_map,
    encode_null,
    encode_push,
    encode_set,
    encode_simple,
    encode_verbatim,
)
from aof.resp import NEED_DATA, Push, ReplyError, ReplyParser, RequestParser, RespLimits, split_args

from .conftest import PASSWORD, RealRedis

FAST = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SLOW = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

Outcome = tuple[list[list[bytes]], str | None, int | None]


# --- drivers: the three feeding regimes ------------------------------------------------------
def run_parser(
    parts: list[bytes], *, parser: RequestParser | None = None, auth_cmd: bool = False
) -> tuple[Outcome, RequestParser]:
    """Feed ``parts`` one by one, draining ``parse()`` after each, like a server."""
    p = parser if parser is not None else RequestParser()
    cmds: list[list[bytes]] = []
    for part in parts:
        p.feed(part)
        try:
            while got := p.parse():
                cmds.extend(got)
                if auth_cmd and any(c[0].upper() == b"AUTH" for c in got):
                    p.authenticated = True
        except RespProtocolError as exc:
            cmds.extend(exc.commands)
            return (cmds, exc.message, exc.offset), p
    return (cmds, None, None), p


def whole(data: bytes, **kw: object) -> Outcome:
    return run_parser([data], **kw)[0]  # type: ignore[arg-type]


def bytewise(data: bytes, **kw: object) -> Outcome:
    return run_parser([data[i : i + 1] for i in range(len(data))], **kw)[0]  # type: ignore[arg-type]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


def slow_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Disable the split-based fast path: the byte-exact state machine does everything."""
    monkeypatch.setattr(RequestParser, "_fast", lambda self, data, pos, out, spans: (pos, False))


# --- expected replies of a real server for PING/ECHO streams -------------------------------
def expected_reply(cmds: list[list[bytes]], error: str | None) -> bytes | None:
    out = []
    for argv in cmds:
        name = argv[0].upper()
        if name == b"PING" and len(argv) == 1:
            out.append(b"+PONG\r\n")
        elif name in (b"PING", b"ECHO") and len(argv) == 2:
            out.append(encode_bulk(argv[1]))
        else:
            return None  # some other reply: compared by count only
    if error is not None:
        out.append(encode_error(error))
    return b"".join(out)


def count_replies(raw: bytes) -> int:
    p = ReplyParser()
    p.feed(raw)
    n = 0
    while p.gets() is not NEED_DATA:
        n += 1
    return n


def check_against_redis(real: RealRedis, data: bytes, *, chunk: int = 0) -> None:
    cmds, error, _ = whole(data)
    # after a protocol error Redis closes by itself; otherwise we send EOF to end the exchange
    raw, closed = real.raw(data, chunk=chunk, half_close=error is None)
    assert closed, (data, raw, error)
    want = expected_reply(cmds, error)
    if want is not None:
        assert raw == want, (data, cmds, error)
    else:
        assert count_replies(raw) == len(cmds) + (error is not None)
        if error is not None:
            assert raw.endswith(encode_error(error))


# --- protocol errors, byte for byte against redis-server 7.0 --------------------------------
ERROR_CASES = [
    b"*abc\r\n",
    b"*-0\r\n",
    b"*01\r\n",
    b"*+1\r\n",
    b"* 1\r\n",
    b"*1 \r\n",
    b"*2147483648\r\n",
    b"*99999999999999999999\r\n",
    b"*1\r\n$-1\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n$+4\r\nPING\r\n",
    b"*1\r\n$536870913\r\n",
    b"*1\r\nX\r\n",
    b"*1\r\n\r\n\r\n",  # got '\r': Redis prints a space in its place
    b"*1\r\n\n\r\n",
    b"*1\r\n\x80\r\n",
    b"*2\r\n$4\r\nECHO\r\n:1\r\n",
    b'ECHO "a"b\r\n',
    b"ECHO 'a'b\r\n",
    b"ECHO 'a\r\n",
    b'ECHO "a\r\n',
    b"ECHO 'a\\'\r\n",
    b'ECHO "\\"\r\n',
    b'ECHO a"b\r\n',
    b"PING\r\n*-0\r\n",
    b"PING\r\nPING\r\n*1\r\nx\r\n",
    b"*1\r\n$4\r\nPING\r\n*1\r\n$1x\r\n",
    b"*2\r\n$4\r\nECHO\r\n$2\r\nab\r\n*3\r\n$3\r\nSET\r\n$-5\r\n",
]

BIG_CASES = [
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
    b"A" * 70000,
    b"PING\r\n" + b"A" * 70000,
    b"*1\r\n$\x004\r\n" + b"x" * 70000,  # the NUL hides the CR: a count line that never ends
    b"ECHO a\x00b\n" + b"x" * 70000,
]

HANG_CASES = [
    b"*1\x00\r\n$4\r\nPING\r\n",
    b"ECHO a\x00b\nPING\r\n",
    b"*1\r\n$\x004\r\nPING\r\n",
    b"*1\r\n$4\r\nPIN",
    b"*2\r\n$4\r\nECHO\r\n",
    b"*1\r",
    b"*1\r\n$4\r",
    b"PING",
]

OK_CASES = [
    b"PING\r\n",
    b"PING\n",
    b"*1\rX$4\r\nPING\r\n",  # the byte after CR is not checked
    b"*1\r\n$4\rXPINGxyPING\r\n",  # neither are the two after a payload
    b"*-5\r\nPING\r\n",
    b"*0\r\nPING\r\n",
    b"*-1\r\n*0\r\n",
    b"\r\n\n  \r\n\t\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n",
    b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
    b'ECHO "a b"\r\n',
    b"ECHO 'c\\'d'\r\n",
    b'ECHO "\\x41\\x4g\\n\\r\\t\\b\\a\\\\\\"\\q"\r\n',
    b"ECHO a\x0bb\r\n",
    b"\x0b\x0cECHO \x0b x\r\n",
    b'ECHO ab"c d"\r\n',
    b"ECHO ''\r\n",
    b'ECHO ""\r\n',
    b"ECHO \xff\xfe\r\n",
    b"ECHO a\rb\r\n",
    b"PING \r\r\n",
    b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
]


@pytest.mark.differential
@pytest.mark.parametrize("data", ERROR_CASES + OK_CASES, ids=repr)
def test_small_cases_match_redis(real_redis: RealRedis, data: bytes) -> None:
    check_against_redis(real_redis, data)


@pytest.mark.differential
@pytest.mark.parametrize("data", BIG_CASES, ids=lambda d: repr(d[:12]))
def test_too_big_lines_match_redis(real_redis: RealRedis, data: bytes) -> None:
    check_against_redis(real_redis, data, chunk=8192)
    cmds, error, _ = run_parser([data[i : i + 8192] for i in range(0, len(data), 8192)])[0]
    assert error is not None and error.startswith("ERR Protocol error: too big")


@pytest.mark.differential
@pytest.mark.parametrize("data", HANG_CASES, ids=repr)
def test_incomplete_input_waits_like_redis(real_redis: RealRedis, data: bytes) -> None:
    raw, closed = real_redis.raw(data, settle=0.2)
    (cmds, error, _), p = run_parser([data])
    assert not closed and error is None
    assert raw == expected_reply(cmds, None)
    assert p.buffered_bytes > 0


def test_error_texts_exact() -> None:
    def err(data: bytes, **kw: object) -> str | None:
        return whole(data, **kw)[1]

    base = "ERR Protocol error: "
    assert err(b"*x\r\n") == base + "invalid multibulk length"
    assert err(b"*1\r\nx\r\n") == base + "expected '$', got 'x'"
    assert err(b"*1\r\n$x\r\n") == base + "invalid bulk length"
    assert err(b"ECHO 'x\r\n") == base + "unbalanced quotes in request"
    assert err(b"*" + b"1" * 65537) == base + "too big mbulk count string"
    assert err(b"*1\r\n$" + b"1" * 65537) == base + "too big bulk count string"
    assert err(b"x" * 65537) == base + "too big inline request"
    assert err(b"x" * 65536) is None  # the limit is "more than 64 KiB"
    p = RequestParser(authenticated=False)
    assert run_parser([b"*11\r\n"], parser=p)[0][1] == base + "unauthenticated multibulk length"
    p = RequestParser(authenticated=False)
    assert run_parser([b"*1\r\n$16385\r\n"], parser=p)[0][1] == (
        base + "unauthenticated bulk length"
    )
    assert encode_error(err(b"*1\r\n\x80\r\n") or "") == (
        b"-ERR Protocol error: expected '$', got '\x80'\r\n"
    )


@pytest.mark.differential
def test_unauthenticated_limits_match_redis(real_redis_auth: RealRedis) -> None:
    cases = [
        b"*11\r\n",
        b"*1\r\n$16385\r\n",
        b"*10\r\n$4\r\nECHO\r\n",  # 10 is allowed
        b"*2\r\n$4\r\nECHO\r\n$16384\r\n",  # 16384 is allowed: waits for the payload
    ]
    for data in cases:
        raw, closed = real_redis_auth.raw(data)
        (cmds, error, _), _p = run_parser([data], parser=RequestParser(authenticated=False))
        assert closed == (error is not None), data
        if error is not None:
            assert raw == encode_error(error)
    # AUTH lifts the limits for the rest of the same pipeline, as in Redis
    big = encode_command([b"ECHO", b"x" * 20000])
    data = encode_command([b"AUTH", PASSWORD.encode()]) + big
    raw, closed = real_redis_auth.raw(data, half_close=True)
    (cmds, error, _), _p = run_parser(
        [data], parser=RequestParser(authenticated=False), auth_cmd=True
    )
    assert error is None
    assert cmds[1] == [b"ECHO", b"x" * 20000]
    assert raw == b"+OK\r\n" + encode_bulk(b"x" * 20000)


# --- inline splitting vs sdssplitargs --------------------------------------------------------
INLINE_ARGS = [
    b'"a b" \'c\\\'d\'',
    b'"\\x00\\xff\\xAb" x',
    b"'a\\\\b' '\\n'",
    b'"\\\\x41"',
    b"a\x0bb \x0c c",
    b"''  \"\"",
    b'q"x y"',
    b"\xc3\xa9 \xff",
]


@pytest.mark.differential
@pytest.mark.parametrize("args", INLINE_ARGS, ids=repr)
def test_inline_arguments_match_redis(real_redis: RealRedis, args: bytes) -> None:
    key = b"inline:%d" % random.randrange(1 << 30)
    ours = split_args(b"RPUSH " + key + b" " + args)
    assert ours is not None
    raw, _ = real_redis.raw(b"RPUSH " + key + b" " + args + b"\r\n", half_close=True)
    assert raw == encode_int(len(ours) - 2)
    lrange = real_redis.call(b"LRANGE", key, b"0", b"-1")
    parser = ReplyParser()
    parser.feed(lrange)
    assert parser.gets() == ours[2:]
    real_redis.call(b"DEL", key)


inline_token = st.one_of(
    st.binary(min_size=1, max_size=8).filter(
        lambda b: not any(c in b for c in b" \t\r\n\x00\"'\x0b\x0c")
    ),
    st.lists(
        st.sampled_from([b"a", b" ", b"\\n", b"\\x4", b"\\x41", b"\\\\", b'\\"', b"'", b"\t"]),
        max_size=6,
    ).map(lambda parts: b'"' + b"".join(parts) + b'"'),
    st.lists(st.sampled_from([b"a", b" ", b"\\'", b"\\", b'"', b"\\n"]), max_size=6).map(
        lambda parts: b"'" + b"".join(parts) + b"'"
    ),
)


@pytest.mark.differential
@SLOW
@given(tokens=st.lists(inline_token, min_size=1, max_size=5), sep=st.sampled_from([b" ", b"  \t"]))
def test_inline_split_fuzz_vs_redis(real_redis: RealRedis, tokens: list[bytes], sep: bytes) -> None:
    line = b"RPUSH fuzz:inline " + sep.join(tokens)
    ours = split_args(line)
    raw, closed = real_redis.raw(line + b"\r\n", half_close=True)
    if ours is None:
        assert raw == b"-ERR Protocol error: unbalanced quotes in request\r\n"
        return
    assert raw.startswith(b":")
    lrange = real_redis.call(b"LRANGE", b"fuzz:inline", b"0", b"-1")
    real_redis.call(b"DEL", b"fuzz:inline")
    parser = ReplyParser()
    parser.feed(lrange)
    assert parser.gets() == ours[2:]


# --- streams for the regime and fuzz tests ---------------------------------------------------
payload = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"", b"\r\n", b"a\r\nb", b"*1\r\n$4\r\nPING", b"$3", b"\x00", b"x" * 1500]),
)


@st.composite
def stream_items(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 4:
        return encode_command([b"ECHO", draw(payload)])
    if kind == 5:
        return encode_command([b"PING"])
    if kind == 6:
        return encode_command([b"RPUSH", b"k", *draw(st.lists(payload, max_size=4))])
    if kind == 7:
        return b"ECHO " + draw(inline_token) + draw(st.sampled_from([b"\r\n", b"\n"]))
    return draw(st.sampled_from([b"\r\n", b"\n", b"*0\r\n", b"*-1\r\n", b"PING\r\n"]))


streams = st.lists(stream_items(), max_size=12).map(b"".join)

MUTATION_BYTES = b"\r\n*$\x00\"'\\ 019-xa\x0b"


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(streams))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 2))
        at = draw(st.integers(0, len(data)))
        b = draw(st.sampled_from(MUTATION_BYTES))
        if op == 0 and at < len(data):
            data[at] = b
        elif op == 1 and at < len(data):
            del data[at]
        else:
            data.insert(at, b)
    return bytes(data)


@FAST
@given(data=streams, cuts=st.lists(st.integers(0, 1 << 16), max_size=8))
def test_three_regimes_agree_on_valid_streams(data: bytes, cuts: list[int]) -> None:
    a = whole(data)
    assert bytewise(data) == a
    assert run_parser(split_at(data, cuts))[0] == a


@FAST
@given(data=mutated_streams(), cuts=st.lists(st.integers(0, 1 << 16), max_size=8))
def test_three_regimes_agree_on_mutated_streams(data: bytes, cuts: list[int]) -> None:
    a = whole(data)
    assert bytewise(data) == a
    assert run_parser(split_at(data, cuts))[0] == a


@FAST
@given(data=streams)
def test_trailing_incomplete_bytes_stay_unconsumed(data: bytes) -> None:
    tail = b"*2\r\n$4\r\nECHO\r\n$5\r\nab"
    assume(whole(data)[1] is None)
    (cmds, error, _), p = run_parser([data + tail])
    assert error is None
    assert p.offset == len(data)
    assert p.buffered_bytes == len(tail)
    assert (cmds, error, None) == whole(data)
    p.feed(b"cde\r\n")
    assert p.parse() == [[b"ECHO", b"abcde"]]
    assert p.buffered_bytes == 0 and p.offset == len(data + tail) + 5


@pytest.mark.differential
@SLOW
@given(data=st.one_of(streams, mutated_streams()))
def test_fuzz_streams_vs_redis(real_redis: RealRedis, data: bytes) -> None:
    (_, error, _), p = run_parser([data])
    if error is None and p.buffered_bytes:
        return  # ends inside a command: the server would wait, nothing to compare quickly
    check_against_redis(real_redis, data)


# --- fast path == state machine on large pipelines -------------------------------------------
def big_stream(seed: int) -> tuple[bytes, list[list[bytes]]]:
    rnd = random.Random(seed)
    parts, cmds = [], []
    for i in range(6000):
        r = rnd.random()
        if r < 0.6:
            argv = [b"SET", b"key:%d" % i, b"v" * rnd.randrange(0, 40)]
        elif r < 0.7:
            argv = [b"MSET"] + [b"f%d" % j for j in range(rnd.randrange(2, 40))]
        elif r < 0.8:
            argv = [b"SET", b"crlf", b"a\r\nb" * rnd.randrange(1, 4)]
        elif r < 0.85:
            argv = [b"SET", b"big", bytes(rnd.randrange(256) for _ in range(rnd.randrange(1000, 3000)))]
        elif r < 0.87:
            argv = [b"SET", b"huge", b"h" * rnd.randrange(20000, 70000)]
        elif r < 0.92:
            argv = [b"GET", b"key:%d" % i]
        elif r < 0.95:
            parts.append(b"PING\r\n")
            cmds.append([b"PING"])
            continue
        else:
            parts.append(b"*0\r\n")
            continue
        parts.append(encode_command(argv))
        cmds.append(argv)
    return b"".join(parts), cmds


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_equals_state_machine(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    data, want = big_stream(seed)
    rnd = random.Random(seed)
    p = RequestParser()
    p.feed(data)
    spans = p.parse_offsets()
    assert [argv for _, _, argv in spans] == want
    assert spans[-1][1] == len(data) and p.offset == len(data)
    for start, end, argv in spans:
        assert data[start:end] in (encode_command(argv), b" ".join(argv) + b"\r\n")
    chunked = split_at(data, [rnd.randrange(len(data)) for _ in range(300)])
    assert run_parser(chunked)[0] == (want, None, None)
    p = RequestParser()
    got = []
    for part in chunked:
        p.feed(part)
        got.extend(p.parse_offsets())
    assert got == spans
    slow_only(monkeypatch)
    assert run_parser(chunked)[0] == (want, None, None)
    p = RequestParser()
    p.feed(data)
    assert p.parse_offsets() == spans


def test_large_payload_is_not_rejoined() -> None:
    """A 32 MiB argument arriving in 16 KiB reads must parse in linear time."""
    value = b"z" * (32 << 20)
    data = encode_command([b"SET", b"k", value])
    p = RequestParser()
    t0 = time.perf_counter()
    got = []
    for i in range(0, len(data), 16384):
        p.feed(data[i : i + 16384])
        got.extend(p.parse())
    assert time.perf_counter() - t0 < 5
    assert got == [[b"SET", b"k", value]]
    assert p.buffered_bytes == 0


def test_dribbled_bytes_cost_constant_time() -> None:
    """A client sending a long line one byte per read must not make us re-copy it."""
    for head, tail in [
        (b"ECHO ", b"\r\n"),
        (b"*1\r\n$", b"\r\n"),
        (b"*", b"\r\n"),
    ]:
        p = RequestParser()
        t0 = time.perf_counter()
        p.feed(head)
        p.parse()
        for _ in range(60000):
            p.feed(b"1")
            assert p.parse() == []
        assert time.perf_counter() - t0 < 5
        p.feed(tail)
        with pytest.raises(RespProtocolError) if head != b"ECHO " else nullcontext():
            p.parse()
    p = RequestParser()
    p.feed(b"ECHO \x00")  # a NUL hides every later line end, as strchr does in Redis
    for _ in range(20000):
        p.feed(b"\n")
        assert p.parse() == []
    p.feed(b"x" * 50000)
    with pytest.raises(RespProtocolError, match="too big inline request"):
        p.parse()


def test_declared_sizes_checked_before_waiting() -> None:
    lim = RespLimits(proto_max_bulk_len=100, max_multibulk=5)
    for data, text in [
        (b"*1\r\n$101\r\n", "invalid bulk length"),
        (b"*6\r\n", "invalid multibulk length"),
    ]:
        (_, error, offset), _p = run_parser([data], parser=RequestParser(lim))
        assert error == "ERR Protocol error: " + text
        assert offset is not None
    p = RequestParser(lim)
    p.feed(encode_command([b"a" * 100]))
    assert p.parse() == [[b"a" * 100]]


def test_error_carries_earlier_commands_and_is_sticky() -> None:
    p = RequestParser()
    p.feed(b"PING\r\n*1\r\n$4\r\nECHO\r\n*x\r\nPING\r\n")
    with pytest.raises(RespProtocolError) as info:
        p.parse()
    assert info.value.commands == [[b"PING"], [b"ECHO"]]
    assert info.value.offset == 20
    assert isinstance(info.value, AofError)
    p.feed(b"PING\r\n")
    with pytest.raises(RespProtocolError) as again:
        p.parse()
    assert again.value.commands == [] and again.value.message == info.value.message
    p = RequestParser()
    p.feed(b"PING\r\n*1\r\n$4\r\nECHO\r\n*x\r\n")
    with pytest.raises(RespProtocolError) as info:
        p.parse_offsets()
    assert info.value.commands == [(0, 6, [b"PING"]), (6, 20, [b"ECHO"])]  # type: ignore[comparison-overlap]


def test_unauthenticated_parse_returns_one_command_at_a_time() -> None:
    p = RequestParser(authenticated=False)
    p.feed(b"PING\r\nPING\r\n")
    assert p.parse() == [[b"PING"]]
    assert p.parse() == [[b"PING"]]
    assert p.parse() == []


# --- strict (AOF) mode -----------------------------------------------------------------------
def test_strict_mode_for_aof() -> None:
    good = b"#TS:1700000000\r\n" + encode_command([b"SET", b"a", b"1"]) + b"#x\n"
    good += encode_command([b"DEL", b"a"])
    p = RequestParser(strict=True)
    p.feed(good)
    spans = p.parse_offsets()
    assert [a for _, _, a in spans] == [[b"SET", b"a", b"1"], [b"DEL", b"a"]]
    assert spans[0][0] == 16 and p.offset == len(good)
    for bad, text in [
        (b"PING\r\n", "expected '*', got 'P'"),
        (b"*1\rX$4\r\nPING\r\n", "expected CRLF"),
        (b"*1\r\n$4\r\nPINGxx", "expected CRLF"),
        (b"*0\r\n", "invalid multibulk length"),
    ]:
        p = RequestParser(strict=True)
        p.feed(bad)
        with pytest.raises(RespProtocolError, match=re.escape("Protocol error: " + text)):
            p.parse()
    p = RequestParser(strict=True)
    p.feed(good + encode_command([b"SET", b"b", b"2"])[:-3])
    p.parse()
    assert p.offset == len(good)  # truncation point for a torn AOF tail


# --- round trips -----------------------------------------------------------------------------
argv_items = st.one_of(
    st.binary(max_size=30), st.text(max_size=10), st.integers(-(2**63), 2**63 - 1)
)


def as_bytes(a: bytes | str | int) -> bytes:
    if isinstance(a, bytes):
        return a
    return a.encode() if isinstance(a, str) else b"%d" % a


@FAST
@given(cmds=st.lists(st.lists(argv_items, min_size=1, max_size=6), max_size=10))
def test_encode_command_round_trip(cmds: list[list[bytes | str | int]]) -> None:
    data = b"".join(encode_command(c) for c in cmds)
    want = [[as_bytes(a) for a in c] for c in cmds]
    assert whole(data) == (want, None, None)
    assert bytewise(data) == (want, None, None)
    p = RequestParser(strict=True)
    p.feed(data)
    assert [a for _, _, a in p.parse_offsets()] == want


def test_encode_command_types() -> None:
    assert encode_command([b"SET", "k\xe9", 12, bytearray(b"v")]) == (
        b"*4\r\n$3\r\nSET\r\n$3\r\nk\xc3\xa9\r\n$2\r\n12\r\n$1\r\nv\r\n"
    )
    with pytest.raises(TypeError):
        encode_command([b"SET", True])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        encode_command([b"SET", 1.5])  # type: ignore[list-item]


# --- reply encoders and the reply parser -----------------------------------------------------
def test_reply_encoders() -> None:
    assert encode_simple("OK") == b"+OK\r\n"
    with pytest.raises(ValueError):
        encode_simple("a\r\nb")
    assert encode_error("ERR x\r\ny") == b"-ERR x  y\r\n"
    assert encode_error("-WRONGTYPE t") == b"-WRONGTYPE t\r\n"
    assert encode_int(-5) == b":-5\r\n"
    assert encode_bulk(None) == b"$-1\r\n" and encode_bulk(None, True) == b"_\r\n"
    assert encode_null() == b"$-1\r\n" and encode_null(array=True) == b"*-1\r\n"
    assert encode_null(True) == b"_\r\n"
    assert encode_array(None) == b"*-1\r\n" and encode_array(None, True) == b"_\r\n"
    assert encode_array([encode_int(1), encode_bulk(b"a")]) == b"*2\r\n:1\r\n$1\r\na\r\n"
    assert encode_bulk_array([b"a", None]) == b"*2\r\n$1\r\na\r\n$-1\r\n"
    assert encode_bool(True) == b":1\r\n" and encode_bool(False, True) == b"#f\r\n"
    assert encode_map([(encode_bulk(b"k"), encode_int(1))]) == b"*2\r\n$1\r\nk\r\n:1\r\n"
    assert encode_map([(encode_bulk(b"k"), encode_int(1))], True) == b"%1\r\n$1\r\nk\r\n:1\r\n"
    assert encode_set([encode_int(1)], True) == b"~1\r\n:1\r\n"
    assert encode_set([encode_int(1)]) == b"*1\r\n:1\r\n"
    assert encode_push([encode_int(1)], True) == b">1\r\n:1\r\n"
    assert encode_verbatim(b"hi", resp3=True) == b"=6\r\ntxt:hi\r\n"
    assert encode_verbatim(b"hi") == b"$2\r\nhi\r\n"
    assert encode_bignum(10**30, True) == b"(" + b"1" + b"0" * 30 + b"\r\n"
    assert encode_bignum(-7) == b"$2\r\n-7\r\n"
    assert encode_double(1.1) == b"$18\r\n1.1000000000000001\r\n"
    assert encode_double(2e20, True) == b",2e+20\r\n"
    assert encode_double(math.inf) == b"$3\r\ninf\r\n"
    assert encode_double(-math.inf, True) == b",-inf\r\n"
    assert encode_double(math.nan, True) == b",nan\r\n"


@pytest.mark.differential
def test_doubles_match_redis(real_redis: RealRedis) -> None:
    values = [1.1, 2e20, 0.1, 3.0, -2.5, 1e-300, 123456789.125, math.inf, -math.inf]
    for i, v in enumerate(values):
        member = b"m%d" % i
        real_redis.call(b"ZADD", b"dbl", repr(v).encode(), member)
        assert real_redis.call(b"ZSCORE", b"dbl", member) == encode_double(v)
        raw, _ = real_redis.raw(b"HELLO 3\r\nZSCORE dbl " + member + b"\r\n", half_close=True)
        assert raw.endswith(encode_double(v, resp3=True))
    real_redis.call(b"DEL", b"dbl")


REAL_RESP3 = {
    b"string": b"Hello World",
    b"integer": 12345,
    b"double": 3.141,
    b"bignum": 1234567999999999999999999999999999999,
    b"null": None,
    b"array": [0, 1, 2],
    b"set": [0, 1, 2],
    b"map": {0: False, 1: True, 2: False},
    b"attrib": b"Some real reply following the attribute",
    b"verbatim": b"This is a verbatim\nstring",
    b"true": True,
    b"false": False,
}


def parse_all(data: bytes, parser: Callable[[], object] = ReplyParser, step: int = 0) -> list:
    p = parser()
    out = []
    for part in [data[i : i + step] for i in range(0, len(data), step)] if step else [data]:
        p.feed(part)  # type: ignore[attr-defined]
        while (r := p.gets()) is not NEED_DATA:  # type: ignore[attr-defined]
            out.append(r)
    return out


@pytest.mark.differential
def test_reply_parser_on_real_resp3(real_redis: RealRedis) -> None:
    names = list(REAL_RESP3) + [b"push"]
    data = b"HELLO 3\r\n" + b"".join(b"DEBUG PROTOCOL " + n + b"\r\n" for n in names)
    raw, _ = real_redis.raw(data, half_close=True)
    for step in (0, 1, 7):
        replies = parse_all(raw, step=step)
        assert isinstance(replies[0], dict) and replies[0][b"proto"] == 3
        assert replies[1:-2] == list(REAL_RESP3.values())
        assert replies[-2] == Push([b"server-cpu-usage", 42])
        assert isinstance(replies[-2], Push)
        assert replies[-1] == b"Some real reply following the push reply"


reply_values = st.recursive(
    st.one_of(
        st.binary(max_size=20).map(lambda b: ("bulk", b)),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: ("int", i)),
        st.none().map(lambda _: ("null", None)),
        st.booleans().map(lambda b: ("bool", b)),
        st.floats(allow_nan=False).map(lambda f: ("double", f)),
        st.integers(-(10**40), 10**40).map(lambda i: ("bignum", i)),
        st.text(alphabet="abc XYZ", min_size=1, max_size=10).map(lambda s: ("error", s)),
        st.binary(max_size=10).filter(lambda b: b"\r" not in b and b"\n" not in b).map(
            lambda b: ("simple", b)
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: ("array", xs)),
        st.lists(inner, max_size=4).map(lambda xs: ("set", xs)),
        st.lists(inner, max_size=4).map(lambda xs: ("push", xs)),
        st.lists(st.tuples(st.binary(max_size=5), inner), max_size=3).map(lambda kv: ("map", kv)),
    ),
    max_leaves=12,
)


def encode_value(v: tuple, resp3: bool) -> tuple[bytes, object]:
    """Encode a tagged value; return (wire bytes, what the parser must produce)."""
    kind, x = v
    if kind == "bulk":
        return encode_bulk(x, resp3), x
    if kind == "int":
        return encode_int(x), x
    if kind == "null":
        return encode_null(resp3), None
    if kind == "bool":
        return encode_bool(x, resp3), x if resp3 else int(x)
    if kind == "double":
        wire = encode_double(x, resp3)
        return wire, float(x) if resp3 else replies.format_double(x)
    if kind == "bignum":
        return encode_bignum(x, resp3), x if resp3 else b"%d" % x
    if kind == "error":
        return encode_error("ERR " + x), ReplyError("ERR " + x)
    if kind == "simple":
        return encode_simple(x), x
    if kind == "map":
        pairs = [(encode_bulk(k), encode_value(val, resp3)) for k, val in x]
        wire = encode_map([(k, w) for k, (w, _) in pairs], resp3)
        if resp3:
            return wire, dict((k[k.index(b"\n") + 1 : -2], e) for k, (_, e) in pairs)
        return wire, [y for k, (_, e) in pairs for y in (k[k.index(b"\n") + 1 : -2], e)]
    enc = [encode_value(i, resp3) for i in x]
    items = [w for w, _ in enc]
    want = [e for _, e in enc]
    if kind == "array":
        return encode_array(items, resp3), want
    if kind == "set":
        return encode_set(items, resp3), want
    return encode_push(items, resp3), Push(want) if resp3 else want


@FAST
@given(values=st.lists(reply_values, min_size=1, max_size=4), resp3=st.booleans())
def test_reply_round_trip(values: list[tuple], resp3: bool) -> None:
    enc = [encode_value(v, resp3) for v in values]
    data = b"".join(w for w, _ in enc)
    want = [e for _, e in enc]
    assert parse_all(data) == want
    assert parse_all(data, step=1) == want
    for got, w in zip(parse_all(data), want, strict=True):
        assert type(got) is type(w)


def test_reply_parser_details() -> None:
    assert parse_all(b"%1\r\n*1\r\n:1\r\n:2\r\n") == [[([1], 2)]]  # unhashable key: pairs
    assert parse_all(b"|1\r\n+a\r\n+b\r\n:5\r\n*1\r\n|0\r\n:6\r\n") == [5, [6]]
    assert parse_all(b"!5\r\nERR x\r\n") == [ReplyError("ERR x")]
    assert parse_all(b"*-1\r\n$-1\r\n*0\r\n%0\r\n") == [None, None, [], {}]
    assert parse_all(b",-nan\r\n,1e5\r\n")[1] == 1e5
    for bad in [b"?x\r\n", b":1.5\r\n", b"$-2\r\n", b"$1\r\nab\r\n", b"#x\r\n", b"_x\r\n",
                b"=2\r\nab\r\n", b",1_0\r\n", b":+1\r\n", b"%-1\r\n"]:
        with pytest.raises(RespProtocolError):
            parse_all(bad)
    deep = b"*1\r\n" * 200 + b":1\r\n"
    with pytest.raises(RespProtocolError, match="nested"):
        parse_all(deep)
    p = ReplyParser()
    t0 = time.perf_counter()
    for _ in range(50000):
        p.feed(b"x")
        assert p.gets() is NEED_DATA
    p.feed(b"\r\n")
    assert time.perf_counter() - t0 < 5
    with pytest.raises(RespProtocolError):
        p.gets()  # "xxx…" is not a reply type
    p = ReplyParser()
    p.feed(b"*2\r\n$3\r\nab")
    assert p.gets() is NEED_DATA and p.offset == 4  # the array header is consumed
    p.feed(b"c\r\n:1\r\n")
    assert p.gets() == [b"abc", 1] and p.offset == 17


@FAST
@given(data=st.binary(max_size=200))
def test_reply_parser_fuzz(data: bytes) -> None:
    p = ReplyParser(RespLimits(proto_max_bulk_len=1000, max_multibulk=1000, max_nesting=8))
    for part in (data[: len(data) // 2], data[len(data) // 2 :]):
        p.feed(part)
        try:
            while p.gets() is not NEED_DATA:
                pass
        except RespProtocolError:
            return


def test_hiredis_parser_agrees_on_common_replies() -> None:
    pytest.importorskip("hiredis")
    from aof._resp_hiredis import HiredisReplyParser

    corpus = (
        b"+OK\r\n-ERR bad\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n*0\r\n"
        b"*3\r\n$1\r\na\r\n:1\r\n*1\r\n-ERR in\r\n_\r\n#t\r\n,1.5\r\n,inf\r\n"
        b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n~2\r\n:1\r\n:2\r\n=6\r\ntxt:hi\r\n>2\r\n$1\r\nm\r\n:1\r\n"
    )
    corpus += b"".join(encode_command(c) for c in big_stream(3)[1][:3000])
    for step in (0, 1, 4096):
        if step == 1:
            sample = corpus[:3000]
            assert parse_all(sample, HiredisReplyParser, 1) == parse_all(sample, step=1)
            continue
        ours = parse_all(corpus, step=step)
        theirs = parse_all(corpus, HiredisReplyParser, step=step)
        assert theirs == ours
        assert [type(x) for x in theirs] == [type(x) for x in ours]
    with pytest.raises(RespProtocolError):
        parse_all(b"?\r\n", HiredisReplyParser)


def test_purepython_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        monkeypatch.setenv("RDBKIT_PUREPYTHON", "1")
        mod = importlib.reload(aof)
        assert mod.FastReplyParser is mod.ReplyParser and not mod.HAS_HIREDIS
        monkeypatch.delenv("RDBKIT_PUREPYTHON")
        mod = importlib.reload(aof)
        if "hiredis" in sys.modules:
            assert mod.HAS_HIREDIS and mod.FastReplyParser is not mod.ReplyParser
    finally:
        importlib.reload(aof)


# --- request parser fuzz: only commands or RespProtocolError, bounded memory -----------------
FUZZ_LIMITS = RespLimits(proto_max_bulk_len=64, inline_max=128, max_multibulk=16)
garbage = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from([b"*", b"$", b"1", b"3", b"-", b"\r", b"\n", b"\r\n", b"\x00", b"\"",
                              b"'", b"\\", b" ", b"a", b"x41"]), max_size=120).map(b"".join),
    mutated_streams(),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=garbage, cuts=st.lists(st.integers(0, 1 << 16), max_size=6), auth=st.booleans())
def test_request_parser_fuzz(data: bytes, cuts: list[int], auth: bool) -> None:
    for lim in (FUZZ_LIMITS, RespLimits()):
        p = RequestParser(lim, authenticated=auth)
        for part in split_at(data, cuts):
            p.feed(part)
            try:
                while cmds := p.parse():
                    assert all(type(a) is bytes for c in cmds for a in c)
            except RespProtocolError as exc:
                assert exc.message.startswith("ERR Protocol error: ")
                assert exc.offset is not None and 0 <= exc.offset <= len(data)
                break
            # never more than one incomplete line or payload (plus the last read) is held
            held = p._nbuf
            assert held <= max(lim.inline_max, lim.proto_max_bulk_len + 2) + len(part)
            assert p.offset + p.buffered_bytes <= len(data)


def test_errors_render_source_and_offset() -> None:
    e = RespProtocolError("ERR Protocol error: invalid bulk length", offset=7)
    e.source = "127.0.0.1:5555"
    assert str(e) == "127.0.0.1:5555: ERR Protocol error: invalid bulk length (at offset 7)"
    t = AofTruncatedError("short read", valid_up_to=10, offset=12, source="appendonly.aof")
    assert t.valid_up_to == 10 and "appendonly.aof" in str(t) and "12" in str(t)
    m = ManifestError("Invalid AOF manifest file format", line_no=3)
    assert str(m).endswith("(line 3)")
