"""The C request scanner (aof/_respfast.c) against the pure-Python parser paths.

Three parsers read the same bytes, fed the same way: the C fast path (the
default when the extension is built), the pure-Python split-based fast path,
and the byte-exact state machine alone. After every ``feed`` + ``parse`` they
must agree on the commands returned, the error raised (message, offset and the
commands completed before it), ``offset`` and ``buffered_bytes``. Inputs are
canonical pipelines, mutated ones, odd limits, unauthenticated clients, strict
(AOF) mode and random splits. Also: the ``bulk_array`` reply encoder against
the Python encoders of aof/replies.py, and ``RDBKIT_PUREPYTHON=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aof import resp
from aof.errors import RespProtocolError
from aof.replies import encode_command
from aof.resp import RequestParser, RespLimits
from rdbtools._accel import use_c

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

try:
    from aof import _respfast
except ImportError:  # pragma: no cover - the extension is optional
    _respfast = None  # type: ignore[assignment]

needs_c = pytest.mark.skipif(_respfast is None, reason="aof._respfast is not built")

MODES = ("c", "python", "state-machine")


class _StateMachineOnly(RequestParser):
    """The state machine does everything: the fast path takes nothing."""

    __slots__ = ()

    def _fast(self, data: bytes, pos: int, out: list[list[bytes]], spans: list[int] | None) -> tuple[int, bool]:
        return pos, False


def make(mode: str, limits: RespLimits | None, **kw: Any) -> RequestParser:
    if mode == "state-machine":
        return _StateMachineOnly(limits, **kw)
    p = RequestParser(limits, **kw)
    if mode == "c":
        p._scan = _respfast.scan_requests if _respfast is not None else None
    else:
        p._scan = None
    return p


Trace = list[tuple[str, object, int, int]]


def trace(
    mode: str,
    parts: list[bytes],
    limits: RespLimits | None = None,
    *,
    auth_after: int | None = None,
    offsets: bool = False,
    **kw: Any,
) -> Trace:
    """Every observable result of feeding ``parts`` to one parser, call by call.

    ``auth_after``: the parser starts unauthenticated and becomes authenticated once
    that many commands have been returned (as a server does after AUTH)."""
    p = make(mode, limits, authenticated=auth_after is None, **kw)
    parse = p.parse_offsets if offsets else p.parse
    got: Trace = []
    seen = 0
    for part in parts:
        p.feed(part)
        while True:
            try:
                cmds = parse()
            except RespProtocolError as exc:
                got.append(("error", (exc.message, exc.offset, exc.commands), p.offset, p.buffered_bytes))
                try:  # a dead parser raises the same error again, with no commands
                    parse()
                except RespProtocolError as again:
                    got.append(("again", (again.message, again.offset, again.commands), 0, 0))
                return got
            got.append(("ok", cmds, p.offset, p.buffered_bytes))
            seen += len(cmds)
            if auth_after is not None and seen >= auth_after:
                p.authenticated = True
            if not cmds:
                break
    return got


def assert_same(parts: list[bytes], limits: RespLimits | None = None, **kw: Any) -> Trace:
    ref = trace("state-machine", parts, limits, **kw)
    for mode in ("python", "c"):
        assert trace(mode, parts, limits, **kw) == ref, mode
    return ref


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:], strict=False)]


# --- strategies -------------------------------------------------------------------------------
args = st.one_of(
    st.sampled_from([b"SET", b"GET", b"PING", b"ECHO", b"", b"x", b"\r\n", b"a\r\nb", b"$3\r\n"]),
    st.binary(max_size=40),
)
argvs = st.lists(args, min_size=1, max_size=8)


@st.composite
def items(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        return encode_command(draw(argvs))
    if kind == 6:
        return draw(st.sampled_from([b"PING\r\n", b"ECHO 'a b'\r\n", b"\r\n", b"*0\r\n", b"*-1\r\n"]))
    if kind == 7:  # lenient forms the state machine accepts and the scanners must leave to it
        return draw(st.sampled_from([
            b"*1\rX$4\r\nPING\r\n", b"*1\r\n$4\rXPING\r\n", b"*1\r\n$4\r\nPINGxx",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\n\n", b"*1\r\n$4\r\nPING\r\x00",
        ]))
    if kind == 8:  # errors: signs, leading zeros, huge or bad counts and lengths
        return draw(st.sampled_from([
            b"*01\r\n$4\r\nPING\r\n", b"*+1\r\n$4\r\nPING\r\n", b"*1\r\n$04\r\nPING\r\n",
            b"*1\r\n$-4\r\nPING\r\n", b"*1\r\n$+4\r\nPING\r\n", b"*1\r\nX4\r\nPING\r\n",
            b"*99999999999999999999\r\n", b"*1\r\n$99999999999999999999\r\n",
            b"*1\r\n$1000\r\n", b"*20\r\n", b"*3000000000\r\n", b"*1\r\n$x\r\n",
            b"*\r\n", b"*1\r\n$\r\n\r\n", b"'unbalanced\r\n", b"*1\x00\r\n",
        ]))
    return draw(st.binary(max_size=30))


streams = st.lists(items(), max_size=25).map(b"".join)

MUTATION_BYTES = b"\r\n*$\x00\"'\\ 0123456789-+xa"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(streams))
    for _ in range(draw(st.integers(0, 4))):
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


limits = st.sampled_from([
    None,
    RespLimits(proto_max_bulk_len=8, inline_max=64, max_multibulk=4),
    RespLimits(proto_max_bulk_len=0, max_multibulk=1),
    RespLimits(proto_max_bulk_len=2**70, max_multibulk=2**70),  # beyond a C long long
    RespLimits(unauth_max_multibulk=2, unauth_max_bulk=3),
])
cuts = st.lists(st.integers(0, 1 << 12), max_size=8)


# --- differential properties -------------------------------------------------------------------
@needs_c
@FAST
@given(data=streams, cuts=cuts, lim=limits)
def test_streams_agree(data: bytes, cuts: list[int], lim: RespLimits | None) -> None:
    assert_same([data], lim)
    assert_same(split_at(data, cuts), lim)


@needs_c
@FAST
@given(data=mutated(), cuts=cuts, lim=limits, offsets=st.booleans())
def test_mutated_streams_agree(data: bytes, cuts: list[int], lim: RespLimits | None, offsets: bool) -> None:
    assert_same(split_at(data, cuts), lim, offsets=offsets)


@needs_c
@FAST
@given(data=mutated(), cuts=cuts, lim=limits, n=st.integers(0, 3))
def test_unauthenticated_then_authenticated_agree(
    data: bytes, cuts: list[int], lim: RespLimits | None, n: int
) -> None:
    assert_same(split_at(data, cuts), lim, auth_after=n)


@needs_c
@FAST
@given(data=mutated(), cuts=cuts)
def test_strict_mode_agrees(data: bytes, cuts: list[int]) -> None:
    assert_same(split_at(data, cuts), strict=True)
    assert_same(split_at(b"#TS:1\r\n" + data, cuts), strict=True, offsets=True)


@needs_c
@FAST
@given(data=st.binary(max_size=200), cuts=cuts, lim=limits)
def test_garbage_agrees(data: bytes, cuts: list[int], lim: RespLimits | None) -> None:
    assert_same(split_at(data, cuts), lim)


@needs_c
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=streams)
def test_bytewise_feeding_agrees(data: bytes) -> None:
    assert_same([data[i : i + 1] for i in range(len(data))])


@needs_c
def test_large_pipeline_and_big_arguments_agree() -> None:
    cmds = []
    for i in range(3000):
        cmds.append([b"SET", b"key:%d" % i, b"v" * (i % 50)])
        if i % 500 == 0:
            cmds.append([b"SET", b"big", b"B" * 100_000])  # beyond the Python fast path's window
        if i % 700 == 0:
            cmds.append([b"MSET", *[b"f%d" % j for j in range(2000)]])  # argc > 1024
    data = b"".join(map(encode_command, cmds))
    ref = assert_same([data])
    assert [c for kind, batch, _, _ in ref if kind == "ok" for c in batch] == cmds  # type: ignore[union-attr]
    assert_same(split_at(data, list(range(0, len(data), 16384))))
    assert_same(split_at(data, list(range(0, len(data), 7919))), offsets=True)
    # over proto-max-bulk-len: the state machine's "invalid bulk length", after the rest
    assert_same([data], RespLimits(proto_max_bulk_len=99_999))


@needs_c
def test_partial_command_is_left_to_the_state_machine() -> None:
    p = RequestParser()
    data = encode_command([b"SET", b"k", b"v" * 1000])
    p.feed(encode_command([b"PING"]) + data[:500])
    assert p.parse() == [[b"PING"]]
    assert p.offset == 14 and p.buffered_bytes == 500
    assert p._argv == [b"SET", b"k"]  # the state machine holds the partial command
    p.feed(data[500:])
    assert p.parse() == [[b"SET", b"k", b"v" * 1000]]
    assert p.buffered_bytes == 0 and p.offset == 14 + len(data)


# --- the scanner itself ------------------------------------------------------------------------
@needs_c
def test_scan_requests_contract() -> None:
    scan = _respfast.scan_requests
    ping = b"*1\r\n$4\r\nPING\r\n"
    out: list[list[bytes]] = []
    spans: list[int] = []
    data = b"xx" + ping * 2 + ping[:5]
    assert scan(data, 2, 10, 100, out, spans, 1000) == 2 + 2 * len(ping)
    assert out == [[b"PING"], [b"PING"]]
    assert spans == [1002, 1002 + len(ping), 1002 + len(ping), 1002 + 2 * len(ping)]
    out.clear()
    assert scan(data, 0, 10, 100, out, None, 0) == 0 and out == []  # not at a '*'
    assert scan(ping, 0, 0, 100, out, None, 0) == 0  # count over the limit
    assert scan(ping, 0, 10, 3, out, None, 0) == 0  # bulk over the limit
    assert scan(b"*1\r\n$0\r\n\r\n", 0, 1, 0, out, None, 0) == 10 and out == [[b""]]
    assert scan(ping, len(ping), 1, 4, out, None, 0) == len(ping)
    with pytest.raises(ValueError):
        scan(ping, len(ping) + 1, 1, 4, out, None, 0)
    with pytest.raises(TypeError):
        scan(bytearray(ping), 0, 1, 4, out, None, 0)


# --- bulk_array against the Python reply encoders -----------------------------------------------
@needs_c
@FAST
@given(
    values=st.lists(st.one_of(st.binary(max_size=30), st.none(), st.binary(max_size=3).map(bytearray))),
    resp3=st.booleans(),
)
def test_bulk_array_matches_python(values: list[Any], resp3: bool) -> None:
    from aof import replies

    r = 3 if resp3 else 2
    null = replies.NULL3 if resp3 else replies.NULL_BULK
    c_bulks = _respfast.bulk_array
    assert c_bulks(values, replies.NULL_BULK, 42) == replies._bulks_py(values)
    assert c_bulks(tuple(values), null, 42) == replies._bulks_resp_py(values, r)
    plain = [v for v in values if v is not None]
    assert c_bulks(plain, None, 126 if resp3 else 42) == replies._set_of_bulks_py(plain, r)
    if len(plain) < len(values):
        assert c_bulks(values, None, 42) is NotImplemented
    # and what the server uses (C or, under RDBKIT_PUREPYTHON, Python)
    assert replies.bulks(values) == replies._bulks_py(values)
    assert replies.bulks_resp(values, r) == replies._bulks_resp_py(values, r)
    assert replies.set_of_bulks(plain, r) == replies._set_of_bulks_py(plain, r)


@needs_c
def test_bulk_array_leaves_other_types_to_python() -> None:
    from aof import replies

    assert _respfast.bulk_array([b"a", "str"], b"$-1\r\n", 42) is NotImplemented
    assert replies.bulks([b"a", memoryview(b"mv")]) == b"*2\r\n$1\r\na\r\n$2\r\nmv\r\n"
    with pytest.raises(TypeError):
        replies.bulks([b"a", 5])  # as the Python encoder
    with pytest.raises(TypeError):
        replies.set_of_bulks([None], 2)  # as the Python encoder
    big = [b"x" * 70000, b"", b"y" * 12345]
    assert replies.bulks(big) == replies._bulks_py(big)


@needs_c
@FAST
@given(n=st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(), st.booleans()),
       b=st.one_of(st.binary(max_size=300), st.binary(max_size=5).map(bytearray)))
def test_scalar_replies_match_python(n: int, b: bytes) -> None:
    """integer(), integer_text() and bulk(): the C encoder's bytes are the formats'."""
    from aof import replies

    assert _respfast.integer(n) == replies._integer_py(n) == b":%d\r\n" % n
    assert _respfast.integer_text(b"%d" % n) == replies._integer_text_py(b"%d" % n) == b":%d\r\n" % n
    assert _respfast.bulk(b) == replies._bulk_py(b) == b"$%d\r\n%s\r\n" % (len(b), b)
    assert replies.integer(n) == replies._integer_py(n) and replies.bulk(b) == replies._bulk_py(b)


@needs_c
def test_scalar_replies_leave_other_types_to_the_formats() -> None:
    from aof import replies

    assert _respfast.bulk(memoryview(b"mv")) == replies._bulk_py(memoryview(b"mv"))  # type: ignore[arg-type]
    for f in (_respfast.integer, replies._integer_py):
        with pytest.raises(TypeError):
            f("5")
    for f in (_respfast.bulk, replies._bulk_py):
        with pytest.raises(TypeError):
            f(5)


@needs_c
@FAST
@given(items=st.lists(st.one_of(st.binary(max_size=40), st.integers(-(2**63), 2**63 - 1).map(b"%d".__mod__),
                                st.sampled_from([b"007", b"-0", b"x" * 300])), max_size=60),
       fill=st.sampled_from([-2, -1, 1, 3, 8]), compress=st.booleans(), plain=st.booleans(), data=st.data())
def test_quicklist_bulks_match_python(items: list[bytes], fill: int, compress: bool, plain: bool,
                                      data: st.DataObject) -> None:
    """LRANGE's reply written from the nodes equals the elements' bulk array; a range
    touching a compressed node is left to Python."""
    from aof import replies
    from rdbtools.encodings import quicklist_ops as Q

    nodes: list[Any] = []
    Q.ql_push_py(nodes, items, False, fill)
    if plain and nodes:  # a plain node (an element of 1 GB or more in Redis) in the middle
        k = data.draw(st.integers(0, len(nodes)))
        nodes.insert(k, b"plain element")
        items = [x for n in nodes[:k] for x in Q.node_items(n)] + [b"plain element"] + \
            [x for n in nodes[k + 1:] for x in Q.node_items(n)]
    squeezed = -1
    if compress and len(nodes) > 2 and nodes[1].__class__ is bytearray and len(nodes[1]) >= 48:
        packed = Q.compress_node(nodes[1])
        if packed is not None:
            nodes[1] = packed
            squeezed = 1
    start = data.draw(st.integers(0, len(items)))
    stop = data.draw(st.integers(start, len(items)))
    want = replies._bulks_py(items[start:stop])
    assert replies._quicklist_bulks_py(nodes, start, stop) == want
    assert replies.quicklist_bulks(nodes, start, stop) == want
    got = _respfast.quicklist_bulks(nodes, start, stop)
    if squeezed >= 0:
        first = Q.node_count(nodes[0])
        touches = start < first + Q.node_count(nodes[1]) and stop > first
        assert (got is NotImplemented) == touches
    if got is not NotImplemented:
        assert got == want
    assert _respfast.quicklist_bulks(nodes, 0, len(items) + 1) is NotImplemented  # past the end


@needs_c
def test_quicklist_bulks_past_the_scratch_buffer() -> None:
    """A reply larger than the 64 KiB the C encoder writes in place before it grows."""
    from aof import replies
    from rdbtools.encodings import quicklist_ops as Q

    items = [b"%d" % i * 20 for i in range(3000)] + [b"-9223372036854775808"] * 10
    nodes: list[Any] = []
    Q.ql_push_py(nodes, items, False, -2)
    for start, stop in ((0, len(items)), (5, len(items) - 3), (2990, 3010)):
        assert _respfast.quicklist_bulks(nodes, start, stop) == replies._bulks_py(items[start:stop])


def test_purepython_env_disables_the_c_paths() -> None:
    code = (
        "from aof.resp import RequestParser; from aof import replies; "
        "print(RequestParser()._scan is None, replies.bulks is replies._bulks_py)"
    )
    env = dict(os.environ, RDBKIT_PUREPYTHON="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True"]
    if _respfast is not None:
        env["RDBKIT_PUREPYTHON"] = "0"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["False", "False"]


def test_default_follows_the_environment() -> None:
    pure = not use_c()
    assert (RequestParser()._scan is None) == (pure or _respfast is None)
    assert (resp._scan_requests is None) == (pure or _respfast is None)
