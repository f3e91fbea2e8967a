"""rdbtools._speedups (C) against the pure-Python codecs it accelerates (docs/style.md rule 10).

Differential tests: for valid blobs made by our encoders, for mutated blobs and
for the real DUMP payloads in fixtures/dump, the C functions return exactly
what the Python ones return (same values, same types) or raise BadEncoding
where they do, with the same ``offset``.

The Python references are imported directly: the pure codec modules
``rdbtools.encodings.listpack``/``ziplist``/``intset`` and the ``_py`` pairing functions
of ``rdbtools.objects.hashes``/``zsets`` (rdbtools._accel), whatever ``RDBKIT_PUREPYTHON`` says.
"""

from __future__ import annotations

import glob
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rdbtools import lzf as rlzf
from rdbtools.encodings import intset as IS
from rdbtools.encodings import listpack as LP
from rdbtools.encodings import ziplist as ZL
from rdbtools.errors import BadEncoding
from rdbtools.numbers import INT64_MAX, INT64_MIN
from rdbtools.objects import hashes as HASHES
from rdbtools.objects import zsets as ZSETS
from rdbtools.primitives import load_len, load_string

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")
LZF_BINDING = pytest.importorskip("lzf", reason="python-neo-lzf is a dependency")

ROOT = Path(__file__).resolve().parents[2]


PY: dict[str, Callable[..., Any]] = {
    "decode_listpack": LP.decode_listpack,
    "decode_listpack_strings": LP.decode_listpack_strings,
    "decode_ziplist": ZL.decode_ziplist,
    "decode_ziplist_strings": ZL.decode_ziplist_strings,
    "decode_intset": IS.decode_intset,
    "decode_intset_strings": IS.decode_intset_strings,
    "zset_pairs": ZSETS._zset_pairs_py,
    "hash_pairs": HASHES._pairs_py,
}
LP_FUNCS = ("decode_listpack", "decode_listpack_strings")
ZL_FUNCS = ("decode_ziplist", "decode_ziplist_strings")
IS_FUNCS = ("decode_intset", "decode_intset_strings")

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_references_are_pure_python() -> None:
    for name, fn in PY.items():
        assert type(fn).__name__ == "function", name
        assert callable(getattr(C, name))


# --------------------------------------------------------------------------- comparing


def _norm(value: Any) -> Any:
    """Type-exact, NaN-safe form of a decoder result (1 != 1.0 != b"1" here)."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_norm(v) for v in value])
    if isinstance(value, float):
        return ("float", struct.pack("<d", value) if not math.isnan(value) else "nan")
    return (type(value).__name__, value)


def _outcome(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", _norm(fn(*args))
    except BadEncoding as exc:
        return "BadEncoding", exc.offset


def same(name: str, *args: Any) -> tuple[str, Any]:
    """Run the C and the Python ``name`` on ``args``; they must agree. Returns the outcome."""
    want = _outcome(PY[name], *args)
    got = _outcome(getattr(C, name), *args)
    assert got == want, f"{name}: C {got!r} != Python {want!r}"
    return want


# --------------------------------------------------------------------------- strategies

# Integers around every listpack/ziplist/intset width boundary.
_EDGES = sorted(
    {
        e + d
        for e in (0, 12, 13, 127, 128, 4095, 4096, 32767, 32768, 1 << 23, 1 << 31, 1 << 63)
        for d in (-1, 0, 1)
    }
    | {-e - d for e in (0, 128, 4096, 32768, 1 << 23, 1 << 31, 1 << 63) for d in (-1, 0, 1)}
)
INTS = st.one_of(
    st.integers(-200, 200),
    st.sampled_from([e for e in _EDGES if INT64_MIN <= e <= INT64_MAX]),
    st.integers(INT64_MIN, INT64_MAX),
)
# String lengths around every string-form and backlen boundary.
_LONG = st.sampled_from([62, 63, 64, 125, 126, 127, 128, 253, 4093, 4095, 4096, 16383, 16384])
TEXTS = st.one_of(
    st.binary(max_size=24),
    INTS.map(lambda v: b"%d" % v),  # canonical ints: the encoders store them as ints
    st.sampled_from([b"", b"-0", b"007", b"+5", b" 1", b"1e3", b"3.14", b"inf", b"nan"]),
    _LONG.map(lambda n: b"x" * n),
)
ITEMS = st.lists(st.one_of(TEXTS, INTS), max_size=40)


_BYTES = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xC0, 0xE0, 0xF0, 0xF4, 0xF5, 0xFE, 0xFF]


@st.composite
def mutated(draw: st.DrawFn, blob: bytes, header: str) -> bytes:
    """``blob`` with one to three random edits; optionally its size field fixed up again."""
    b = bytearray(blob)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "random"]))
        i = draw(st.integers(0, max(len(b) - 1, 0)))
        if kind == "flip" and b:
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and b:
            b[i] = draw(st.sampled_from(_BYTES) | st.integers(0, 255))
        elif kind == "truncate":
            del b[i:]
        elif kind == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "delete":
            del b[i : i + draw(st.integers(1, 6))]
        else:
            b = bytearray(draw(st.binary(max_size=40)))
    if draw(st.booleans()) and len(b) >= 4:
        # Keep the size field right so the damage is found deeper inside.
        if header in ("listpack", "ziplist"):
            b[0:4] = struct.pack("<I", len(b))
        elif header == "intset":
            width = draw(st.sampled_from([2, 4, 8]))
            b[0:4] = struct.pack("<I", width)
            if len(b) >= 8:
                b[4:8] = struct.pack("<I", (len(b) - 8) // width)
    return bytes(b)


# --------------------------------------------------------------------------- valid blobs


@FUZZ
@given(ITEMS)
def test_listpack_valid(items: list[Any]) -> None:
    blob = LP.encode_listpack(items)
    for name in LP_FUNCS:
        assert same(name, blob)[0] == "ok"


@FUZZ
@given(ITEMS)
def test_ziplist_valid(items: list[Any]) -> None:
    blob = ZL.encode_ziplist(items)
    for name in ZL_FUNCS:
        assert same(name, blob)[0] == "ok"


@FUZZ
@given(st.lists(INTS, min_size=1, max_size=600))
def test_intset_valid(values: list[int]) -> None:
    blob = IS.encode_intset(values)
    for name in IS_FUNCS:
        assert same(name, blob)[0] == "ok"


@FUZZ
@given(ITEMS, st.sampled_from(["bytes", "bytearray", "memoryview", "slice", "strided"]))
def test_buffer_kinds(items: list[Any], kind: str) -> None:
    lp, zl = LP.encode_listpack(items), ZL.encode_ziplist(items)
    ints = [v for v in items if isinstance(v, int)] or [0]
    ins = IS.encode_intset(ints)
    for blob, names in ((lp, LP_FUNCS), (zl, ZL_FUNCS), (ins, IS_FUNCS)):
        if kind == "bytearray":
            arg: Any = bytearray(blob)
        elif kind == "memoryview":
            arg = memoryview(blob)
        elif kind == "slice":  # a view that does not start at its buffer's start
            arg = memoryview(b"\xaa" * 3 + blob + b"\xbb")[3:-1]
        elif kind == "strided":  # non-contiguous: read through a copy
            doubled = bytes(x for c in blob for x in (c, 0))
            arg = memoryview(doubled)[::2]
        else:
            arg = blob
        for name in names:
            if kind == "strided" and name.startswith("decode_intset"):
                continue  # struct.unpack_from needs a contiguous buffer
            want = same(name, arg)
            assert want == same(name, blob)


def test_unknown_counts() -> None:
    """65535 entries or more: the header count says "unknown" and is not checked."""
    items = [b"%d" % (i % 300) for i in range(65536)]
    for name in LP_FUNCS:
        assert same(name, LP.encode_listpack(items))[0] == "ok"
    for name in ZL_FUNCS:
        assert same(name, ZL.encode_ziplist(items))[0] == "ok"


# --------------------------------------------------------------------------- malformed blobs


@FUZZ
@given(st.data(), ITEMS)
def test_listpack_mutations(data: st.DataObject, items: list[Any]) -> None:
    blob = data.draw(mutated(LP.encode_listpack(items), "listpack"))
    for name in LP_FUNCS:
        same(name, blob)


@FUZZ
@given(st.data(), ITEMS)
def test_ziplist_mutations(data: st.DataObject, items: list[Any]) -> None:
    blob = data.draw(mutated(ZL.encode_ziplist(items), "ziplist"))
    for name in ZL_FUNCS:
        same(name, blob)


@FUZZ
@given(st.data(), st.lists(INTS, min_size=1, max_size=40))
def test_intset_mutations(data: st.DataObject, values: list[int]) -> None:
    blob = data.draw(mutated(IS.encode_intset(values), "intset"))
    for name in IS_FUNCS:
        same(name, blob)


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes(blob: bytes) -> None:
    for name in LP_FUNCS + ZL_FUNCS + IS_FUNCS:
        same(name, blob)


@pytest.mark.parametrize(
    "blob",
    [
        # A 2-byte backlen (255 = 01 ff) whose last byte is the 0xFF end marker.
        struct.pack("<IH", 263, 1) + b"\xe0\xfd" + b"x" * 253 + b"\x01\xff",
        # 32-bit string length pointing far past the end.
        struct.pack("<IH", 13, 1) + b"\xf0\xff\xff\xff\xff\x00\xff",
        # 12-bit string, short and long forms, running past the end.
        struct.pack("<IH", 10, 1) + b"\xe0\x05\xff",
        struct.pack("<IH", 10, 1) + b"\xe1\x05\xff",
        # Integers cut off right before / at the end marker.
        struct.pack("<IH", 9, 1) + b"\xf1\x01\xff",
        struct.pack("<IH", 10, 1) + b"\xf1\x01\x00\xff",
        struct.pack("<IH", 9, 1) + b"\xc1\x01\xff",
        struct.pack("<IH", 8, 1) + b"\x81\xff",
        struct.pack("<IH", 9, 1) + b"\x05\x02\xff",
        struct.pack("<IH", 8, 1) + b"\x05\xff",
        struct.pack("<IH", 8, 0) + b"\xf5\xff",
        struct.pack("<IH", 9, 0) + b"\x01\x01\xff",
    ],
)
def test_listpack_edge_cases(blob: bytes) -> None:
    for name in LP_FUNCS:
        assert same(name, blob)[0] == "BadEncoding"


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xc0\x01",  # int16 cut off at the end marker
        b"\x00\xc0",
        b"\x00\xf0\x01\x02",
        b"\x00\xe0" + b"\x01" * 7,
        b"\x00\xfe",  # int8 without its byte
        b"\x00\x40",  # 14-bit length without its second byte
        b"\x00\x80\x00\x00",  # 32-bit length cut off
        b"\xfe\x00\x00",  # 5-byte prevlen cut off
        b"\xfe\x00\x00\x00\x00",
        b"\x00\x05ab",  # string past the end
        b"\x00\xc5",  # invalid encoding byte
        b"\x00\xf1\x03\xf2",  # prevlen mismatch
        b"\x00\xf1\xfe\x02\x00\x00\x00\xf2",  # 5-byte prevlen holding a small size
    ],
)
def test_ziplist_edge_cases(body: bytes) -> None:
    n = 10 + len(body) + 1
    blob = struct.pack("<IIH", n, 10, 1) + body + b"\xff"
    for name in ZL_FUNCS:
        same(name, blob)


def test_edge_ints() -> None:
    items = [INT64_MIN, INT64_MAX, -1, 0, 12, 13, -128, 127, -4096, 4095] + _EDGES[:10]
    items = [v for v in items if INT64_MIN <= v <= INT64_MAX]
    for name in LP_FUNCS:
        same(name, LP.encode_listpack(items))
    for name in ZL_FUNCS:
        same(name, ZL.encode_ziplist(items))
    for name in IS_FUNCS:
        same(name, IS.encode_intset(items))


def test_same_message() -> None:
    """Spot check that the C messages are the Python ones, word for word."""
    blob = struct.pack("<IH", 263, 1) + b"\xe0\xfd" + b"x" * 253 + b"\x01\xff"
    for c_fn, py_fn, arg in (
        (C.decode_listpack, LP.decode_listpack, blob),
        (C.decode_listpack, LP.decode_listpack, blob[:-3] + b"\x02\xff\xff"),
        (C.decode_ziplist, ZL.decode_ziplist, struct.pack("<IIH", 12, 10, 1) + b"\x00\xff"),
        (C.decode_intset, IS.decode_intset, struct.pack("<II", 2, 3) + b"\x00" * 6),
        (C.decode_intset, IS.decode_intset, struct.pack("<II", 2, 4) + b"\x00" * 6),
        (C.zset_pairs, ZSETS._zset_pairs, [b"m", b"1.5x"]),
    ):
        with pytest.raises(BadEncoding) as want:
            py_fn(arg)
        with pytest.raises(BadEncoding) as got:
            c_fn(arg)
        assert (str(got.value), got.value.offset) == (str(want.value), want.value.offset)


def test_bad_arguments() -> None:
    for name in ("decode_listpack", "decode_ziplist", "decode_intset"):
        with pytest.raises(TypeError):
            getattr(C, name)("not bytes")
        with pytest.raises(TypeError):
            getattr(C, name)()
    assert C.decode_listpack(blob=LP.encode_listpack([b"a"])) == [b"a"]
    assert C.hash_pairs([b"f", b"v"], "hash ziplist") == [(b"f", b"v")]


# --------------------------------------------------------------------------- pairs

SCORE_TEXT = st.one_of(
    st.floats(allow_nan=True).map(lambda f: repr(f).encode()),  # 7.2+: shortest round trip
    st.floats(allow_nan=True).map(lambda f: b"%.17g" % f),  # Redis <= 7.0
    st.from_regex(rb"\A[+-]?[0-9]{0,25}(\.[0-9]{0,25})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.sampled_from(
        [
            b"1",
            b"-0",
            b"+5",
            b" 12 ",
            b"1_000",
            b"1e3",
            b"inf",
            b"-INF",
            b"nan",
            b"Infinity",
            b"0x10",
            b"",
            b"abc",
            b"1.5.2",
            b"\xff",
            b"1e999",
            b"--1",
        ]
    ),
    st.binary(max_size=8),
)


@FUZZ
@given(st.lists(st.one_of(TEXTS, INTS, SCORE_TEXT), max_size=20))
def test_zset_pairs(items: list[Any]) -> None:
    same("zset_pairs", items)
    same("zset_pairs", tuple(items))


@FUZZ
@given(st.lists(st.tuples(st.one_of(TEXTS, INTS), st.one_of(SCORE_TEXT, INTS)), max_size=20))
def test_zset_pairs_from_blobs(pairs: list[tuple[Any, Any]]) -> None:
    flat = [x for p in pairs for x in p]
    assume(all(not isinstance(x, bytes) or len(x) < 4096 for x in flat))
    items = C.decode_listpack(LP.encode_listpack(flat))
    same("zset_pairs", items)
    same("zset_pairs", C.decode_ziplist_strings(ZL.encode_ziplist(flat)))


@FUZZ
@given(
    st.lists(st.one_of(TEXTS, INTS), max_size=20),
    st.sampled_from(["hash listpack", "hash ziplist"]),
)
def test_hash_pairs(items: list[Any], what: str) -> None:
    same("hash_pairs", items, what)
    same("hash_pairs", tuple(items), what)


# --------------------------------------------------------------------------- LZF


def lzf_same(data: bytes, n: int) -> tuple[str, Any]:
    """C and Python LZF decoding of ``data`` into ``n`` bytes: the same bytes or the same
    BadEncoding message; and the python-neo-lzf binding accepts exactly what they accept."""
    outcomes = []
    for fn in (rlzf._decompress_py, C.lzf_decompress):
        try:
            outcomes.append(("ok", fn(data, n)))
        except BadEncoding as exc:
            outcomes.append(("BadEncoding", (str(exc), exc.offset)))
    assert outcomes[1] == outcomes[0], f"C {outcomes[1]!r} != Python {outcomes[0]!r}"
    if n > 0:
        try:
            theirs = LZF_BINDING.decompress(bytes(data), n)
        except ValueError:
            theirs = None
        assert (theirs is not None and len(theirs) == n) == (outcomes[0][0] == "ok")
        assert theirs == outcomes[0][1] or outcomes[0][0] != "ok"
    return outcomes[0]


LZF_RAW = st.one_of(
    st.binary(min_size=1, max_size=300),
    st.binary(min_size=1, max_size=12).flatmap(lambda b: st.integers(2, 60).map(lambda k: b * k)),
)


@FUZZ
@given(LZF_RAW, st.sampled_from([0, 0, 0, -1, 1, -3, 5]), st.data())
def test_lzf_streams(raw: bytes, dlen: int, data: st.DataObject) -> None:
    comp = LZF_BINDING.compress(raw)
    if comp is None:
        return
    if data.draw(st.booleans()):
        comp = data.draw(mutated(comp, "none"))
    kind = data.draw(st.sampled_from([bytes, bytearray, memoryview]))
    lzf_same(kind(comp), max(0, len(raw) + dlen))


@FUZZ
@given(st.binary(max_size=40), st.integers(0, 120))
def test_lzf_random_bytes(data: bytes, n: int) -> None:
    lzf_same(data, n)


def test_lzf_every_error() -> None:
    back = b"\x00a" + b"\x20\x00"  # "a", then 3 bytes from 1 back: "aaaa"
    assert lzf_same(back, 4) == ("ok", b"aaaa")
    for data, n, why in [
        (b"\x05abc", 10, "literal run past the end"),
        (b"\x02abc", 2, "literal run past the end"),
        (b"\x00a\xe0", 12, "truncated back-reference"),
        (b"\x00a\x20", 12, "truncated back-reference"),
        (b"\x00a\x20\x01", 4, "back-reference before the start"),
        (back, 3, "output longer than declared"),
        (back, 5, "decompressed to 4 bytes, expected 5"),
        (b"a", 0, "data for an empty string"),
        (b"", -1, "negative length -1"),
    ]:
        assert lzf_same(data, n) == ("BadEncoding", ("invalid LZF data: " + why, None))
    assert lzf_same(b"", 0) == ("ok", b"")


# --------------------------------------------------------------------------- real payloads


PAYLOADS = sorted(glob.glob(str(ROOT / "fixtures" / "dump" / "*" / "*.bin")))  # real servers' DUMPs
MAX_LEN = 1 << 30


def _blobs(payload: bytes) -> list[tuple[str, bytes]]:
    """(kind, blob) for every compact blob inside one DUMP payload."""
    t = payload[0]
    body = payload[1:-10]  # type byte + value + 2-byte version + 8-byte CRC
    if t in (16, 17, 20, 23):
        return [("listpack", load_string(body, 0, MAX_LEN)[0])]
    if t == 25:  # minExpire ms8, then the listpack
        return [("listpack", load_string(body, 8, MAX_LEN)[0])]
    if t in (10, 12, 13):
        return [("ziplist", load_string(body, 0, MAX_LEN)[0])]
    if t == 11:
        return [("intset", load_string(body, 0, MAX_LEN)[0])]
    if t in (14, 18):
        count, pos = load_len(body, 0)
        out = []
        for _ in range(count):
            container = 2
            if t == 18:
                container, pos = load_len(body, pos)
            data, pos = load_string(body, pos, MAX_LEN)
            if t == 14:
                out.append(("ziplist", data))
            elif container == 2:
                out.append(("listpack", data))
        return out
    return []


@pytest.mark.parametrize("path", [pytest.param(p, id="/".join(Path(p).parts[-2:])) for p in PAYLOADS])
def test_real_payloads(path: str) -> None:
    with open(path, "rb") as f:
        payload = f.read()
    t = payload[0]
    for kind, blob in _blobs(payload):
        names = {"listpack": LP_FUNCS, "ziplist": ZL_FUNCS, "intset": IS_FUNCS}[kind]
        for name in names:
            assert same(name, blob)[0] == "ok", (path, name)
        if t in (12, 17):
            items = C.decode_listpack(blob) if kind == "listpack" else C.decode_ziplist(blob)
            assert same("zset_pairs", items)[0] == "ok"
            same("zset_pairs", PY[names[1]](blob))
        if t in (13, 16):
            assert same("hash_pairs", PY[names[1]](blob), "hash " + kind)[0] == "ok"


def test_corpus_was_found() -> None:
    kinds = {k for p in PAYLOADS for k, _ in _blobs(Path(p).read_bytes())}
    assert kinds == {"listpack", "ziplist", "intset"}


# --------------------------------------------------------------------------- INCR's text sum
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.integers(INT64_MIN, INT64_MAX).map(lambda v: b"%d" % v),
                      st.sampled_from([b"", b"-", b"-0", b"007", b"+5", b" 1", b"1 ", b"9223372036854775808",
                                       b"-9223372036854775809", b"12a", b"0"]),
                      st.binary(max_size=22)),
       incr=st.one_of(st.integers(INT64_MIN, INT64_MAX), st.sampled_from([1, -1, INT64_MAX, INT64_MIN])),
       as_bytearray=st.booleans())
def test_ll_incr_text_matches_python(text: bytes, incr: int, as_bytearray: bool) -> None:
    from rdbtools.numbers import incr_text_py

    t = bytearray(text) if as_bytearray else text
    want = incr_text_py(t, incr)
    assert C.ll_incr_text(t, incr) == want
    if want is not None:
        assert want == b"%d" % (int(text) + incr)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.integers(INT64_MIN - 10, INT64_MAX + 10).map(lambda v: b"%d" % v),
                      st.sampled_from([b"", b"-", b"-0", b"0", b"007", b"+5", b" 1", b"1 ", b"12a", b"9" * 21]),
                      st.binary(max_size=22), st.from_regex(rb"-?[0-9]{1,21}", fullmatch=True)),
       as_bytearray=st.booleans())
def test_string2ll_matches_python(text: bytes, as_bytearray: bool) -> None:
    from rdbtools.numbers import string2ll_py

    t = bytearray(text) if as_bytearray else text
    assert C.string2ll(t) == string2ll_py(t)
