"""Compact blob codecs: vectors, round trips, Redis's encoding choices, real bytes, fuzzing."""

from __future__ import annotations

import glob
import json
import os
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools import lzf
from rdbtools.encodings import (
    decode_intset,
    decode_listpack,
    decode_listpack_strings,
    decode_ziplist,
    decode_ziplist_strings,
    decode_zipmap,
    encode_intset,
    encode_listpack,
    encode_ziplist,
    encode_zipmap,
)
from rdbtools.errors import BadEncoding, RdbEncodeError
from rdbtools.numbers import INT64_MAX, INT64_MIN, string2ll
from tests.support.servers import ServerProc, server_binary, start_real

INT64 = st.integers(INT64_MIN, INT64_MAX)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROUND = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- vectors


def test_listpack_vector() -> None:
    want = bytes.fromhex("19000000 0600 8161 02 8162 02 01 01 02 01 c12c 02 f2701101 04 ff")
    items = [b"a", b"b", b"1", b"2", b"300", b"70000"]
    assert encode_listpack(items) == want
    assert decode_listpack(want) == [b"a", b"b", 1, 2, 300, 70000]
    assert decode_listpack_strings(want) == items


def test_listpack_empty() -> None:
    assert encode_listpack([]) == bytes.fromhex("07000000 0000 ff")
    assert decode_listpack(bytes.fromhex("07000000 0000 ff")) == []


def test_ziplist_vector() -> None:
    want = bytes.fromhex("0f000000 0c000000 0200 00f3 02f6 ff")
    assert encode_ziplist([b"2", b"5"]) == want
    assert decode_ziplist(want) == [2, 5]
    assert decode_ziplist_strings(want) == [b"2", b"5"]


def test_ziplist_empty() -> None:
    empty = bytes.fromhex("0b000000 0a000000 0000 ff")
    assert encode_ziplist([]) == empty
    assert decode_ziplist(empty) == []


def test_intset_vector() -> None:
    want = bytes.fromhex("02000000 03000000 0100 0200 0300")
    assert encode_intset({3, 1, 2}) == want
    assert decode_intset(want) == [1, 2, 3]


def test_zipmap_vector() -> None:
    blob = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff"
    assert decode_zipmap(blob) == [(b"foo", b"bar"), (b"hello", b"world")]
    assert encode_zipmap([(b"foo", b"bar"), (b"hello", b"world")]) == blob


def test_zipmap_free_bytes_and_big_lengths() -> None:
    big = b"k" * 300
    blob = b"\xfe" + b"\xfe" + struct.pack("<I", 300) + big + b"\x01\x03" + b"v" + b"..." + b"\xff"
    assert decode_zipmap(blob) == [(big, b"v")]
    assert decode_zipmap(encode_zipmap([(big, b"v" * 254)])) == [(big, b"v" * 254)]


def test_memoryview_and_bytearray_inputs() -> None:
    lp = encode_listpack([b"x", 5])
    assert decode_listpack(memoryview(lp)) == decode_listpack(bytearray(lp)) == [b"x", 5]
    iset = encode_intset([1, 70000])
    assert decode_intset(memoryview(iset)) == [1, 70000]


# --------------------------------------------------------------------------- round trips

# Bytes that look numeric but are not canonical int64 text stay strings.
NON_CANONICAL = st.sampled_from(
    [
        b"007",
        b"+5",
        b"-0",
        b" 1",
        b"1 ",
        b"1e3",
        b"3.14",
        b"-",
        b"",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"00",
        b"0x10",
        b"12345678901234567890123",
    ]
)
CANONICAL = INT64.map(lambda i: b"%d" % i)
LONG = st.integers(60, 5000).map(lambda n: b"x" * n) | st.just(b"y" * 4096)
ITEM = st.one_of(st.binary(max_size=70), CANONICAL, NON_CANONICAL, INT64, LONG)
ITEMS = st.lists(ITEM, max_size=40)


def _as_stored(item: bytes | int) -> bytes | int:
    """What a decoder returns for an item Redis stored (int if it became an int entry)."""
    if isinstance(item, int):
        return item
    v = string2ll(item)
    return item if v is None else v


def _as_text(item: bytes | int) -> bytes:
    return b"%d" % item if isinstance(item, int) else item


@ROUND
@given(ITEMS)
def test_listpack_round_trip(items: list[bytes | int]) -> None:
    blob = encode_listpack(items)
    assert decode_listpack(blob) == [_as_stored(i) for i in items]
    assert decode_listpack_strings(blob) == [_as_text(i) for i in items]
    assert encode_listpack(decode_listpack(blob)) == blob
    assert encode_listpack(decode_listpack_strings(blob)) == blob


@ROUND
@given(ITEMS)
def test_ziplist_round_trip(items: list[bytes | int]) -> None:
    blob = encode_ziplist(items)
    assert decode_ziplist(blob) == [_as_stored(i) for i in items]
    assert decode_ziplist_strings(blob) == [_as_text(i) for i in items]
    assert encode_ziplist(decode_ziplist(blob)) == blob


@ROUND
@given(st.lists(INT64, min_size=1, max_size=60))
def test_intset_round_trip(values: list[int]) -> None:
    blob = encode_intset(values)
    assert decode_intset(blob) == sorted(set(values))


@ROUND
@given(
    st.lists(
        st.tuples(st.binary(max_size=20) | LONG, st.binary(max_size=20) | LONG),
        min_size=1,
        max_size=20,
    )
)
def test_zipmap_round_trip(pairs: list[tuple[bytes, bytes]]) -> None:
    assert decode_zipmap(encode_zipmap(pairs)) == pairs


def test_many_entries_use_unknown_count() -> None:
    items = [b"a"] * 65535 + [b"b"]
    lp = encode_listpack(items)
    assert lp[4:6] == b"\xff\xff"
    assert len(decode_listpack(lp)) == 65536
    zl = encode_ziplist(items)
    assert zl[8:10] == b"\xff\xff"
    assert len(decode_ziplist(zl)) == 65536
    assert encode_listpack([b"a"] * 65534)[4:6] == b"\xfe\xff"


def test_ziplist_large_prevlen_and_long_strings() -> None:
    items = [b"a" * 300, b"1", b"b" * 20000, b"c" * 70, b"d"]
    zl = encode_ziplist(items)
    # entry 2 follows a 303-byte entry, so its prevlen takes the 5-byte form
    assert zl[10 + 303] == 0xFE
    assert decode_ziplist_strings(zl) == items


def test_ziplist_five_byte_prevlen_for_small_value_is_accepted() -> None:
    # Redis keeps the large prevlen form after a cascade update shrinks an entry.
    body = b"\x00\x01a" + b"\xfe" + struct.pack("<I", 3) + b"\x01b"
    blob = struct.pack("<IIH", 10 + len(body) + 1, 13, 2) + body + b"\xff"
    assert decode_ziplist(blob) == [b"a", b"b"]


def test_encoders_reject_unrepresentable() -> None:
    with pytest.raises(RdbEncodeError):
        encode_listpack([1 << 63])
    with pytest.raises(RdbEncodeError):
        encode_ziplist([-(1 << 63) - 1])
    with pytest.raises(RdbEncodeError):
        encode_intset([])
    with pytest.raises(RdbEncodeError):
        encode_intset([1 << 64])
    with pytest.raises(RdbEncodeError):
        encode_zipmap([])


# --------------------------------------------------------------------------- Redis's choices

# (value, listpack encoding+data bytes, ziplist encoding+data bytes)
BOUNDARIES = [
    (0, "00", "f1"),
    (12, "0c", "fd"),
    (13, "0d", "fe0d"),
    (127, "7f", "fe7f"),
    (128, "c080", "c08000"),
    (-1, "dfff", "feff"),
    (-128, "df80", "fe80"),
    (-129, "df7f", "c07fff"),
    (4095, "cfff", "c0ff0f"),
    (4096, "f10010", "c00010"),
    (-4096, "d000", "c000f0"),
    (-4097, "f1ffef", "c0ffef"),
    (32767, "f1ff7f", "c0ff7f"),
    (32768, "f2008000", "f0008000"),
    (-32768, "f10080", "c00080"),
    (-32769, "f2ff7fff", "f0ff7fff"),
    ((1 << 23) - 1, "f2ffff7f", "f0ffff7f"),
    (1 << 23, "f300008000", "d000008000"),
    (-(1 << 23), "f2000080", "f0000080"),
    (-(1 << 23) - 1, "f3ffff7fff", "d0ffff7fff"),
    ((1 << 31) - 1, "f3ffffff7f", "d0ffffff7f"),
    (1 << 31, "f40000008000000000", "e00000008000000000"),
    (-(1 << 31), "f300000080", "d000000080"),
    (-(1 << 31) - 1, "f4ffffff7fffffffff", "e0ffffff7fffffffff"),
    (INT64_MAX, "f4ffffffffffffff7f", "e0ffffffffffffff7f"),
    (INT64_MIN, "f40000000000000080", "e00000000000000080"),
]


@pytest.mark.parametrize(("value", "lp_hex", "zl_hex"), BOUNDARIES)
def test_int_width_boundaries(value: int, lp_hex: str, zl_hex: str) -> None:
    enc = bytes.fromhex(lp_hex)
    for item in (value, b"%d" % value):
        lp = encode_listpack([item])
        assert lp[6:-1] == enc + bytes((len(enc),))
        assert decode_listpack(lp) == [value]
        zl = encode_ziplist([item])
        assert zl[11:-1] == bytes.fromhex(zl_hex)
        assert decode_ziplist(zl) == [value]


def _lp_width(v: int) -> int:
    for lo, hi, width in (
        (0, 127, 1),
        (-4096, 4095, 2),
        (-(1 << 15), (1 << 15) - 1, 3),
        (-(1 << 23), (1 << 23) - 1, 4),
        (-(1 << 31), (1 << 31) - 1, 5),
    ):
        if lo <= v <= hi:
            return width
    return 9


def _zl_width(v: int) -> int:
    for lo, hi, width in (
        (0, 12, 1),
        (-128, 127, 2),
        (-(1 << 15), (1 << 15) - 1, 3),
        (-(1 << 23), (1 << 23) - 1, 4),
        (-(1 << 31), (1 << 31) - 1, 5),
    ):
        if lo <= v <= hi:
            return width
    return 9


NEAR_EDGES = (
    st.sampled_from([0, 12, 127, 4095, 1 << 15, 1 << 23, 1 << 31, 1 << 63])
    .flatmap(lambda e: st.integers(-e - 3, e + 3))
    .filter(lambda v: INT64_MIN <= v <= INT64_MAX)
)


@settings(max_examples=200, deadline=None)
@given(NEAR_EDGES | INT64)
def test_int_width_is_smallest(value: int) -> None:
    assert len(encode_listpack([b"%d" % value])) == 7 + _lp_width(value) + 1
    assert len(encode_ziplist([b"%d" % value])) == 11 + 1 + _zl_width(value)


@pytest.mark.parametrize(
    ("n", "lp_head", "zl_head"),
    [
        (0, "80", "00"),
        (63, "bf", "3f"),
        (64, "e040", "4040"),
        (4095, "efff", "4fff"),
        (4096, "f000100000", "5000"),
        (16383, "f0ff3f0000", "7fff"),
        (16384, "f000400000", "8000004000"),
    ],
)
def test_string_length_boundaries(n: int, lp_head: str, zl_head: str) -> None:
    s = b"s" * n
    lp = encode_listpack([s])
    head = bytes.fromhex(lp_head)
    assert lp[6 : 6 + len(head)] == head
    assert decode_listpack(lp) == [s]
    zl = encode_ziplist([s])
    head = bytes.fromhex(zl_head)
    assert zl[11 : 11 + len(head)] == head
    assert decode_ziplist(zl) == [s]


def _string_of_entry_size(size: int) -> bytes:
    """A string whose listpack entry (encoding + data) is exactly ``size`` bytes."""
    if size - 1 < 64:
        return b"z" * (size - 1)
    if size - 2 < 4096:
        return b"z" * (size - 2)
    return b"z" * (size - 5)


@pytest.mark.parametrize(
    ("size", "backlen"),
    [
        (127, "7f"),
        (128, "0180"),
        (16382, "7ffe"),
        (16383, "00ffff"),
        (2097150, "7ffffe"),
        (2097151, "00ffffff"),
    ],
)
def test_listpack_backlen_boundaries(size: int, backlen: str) -> None:
    s = _string_of_entry_size(size)
    lp = encode_listpack([s])
    assert len(lp) == 6 + size + len(backlen) // 2 + 1
    bl = bytes.fromhex(backlen)
    assert lp[-1 - len(bl) : -1] == bl
    assert decode_listpack(lp) == [s]


def test_ziplist_non_canonical_long_numbers_stay_strings() -> None:
    # 32+ chars never become ints in a ziplist (zipTryEncoding); nor does non-canonical text
    items = [b"0" * 32, b"1" + b"0" * 31, b"-0", b"+1", b"01"]
    zl = encode_ziplist(items)
    assert decode_ziplist(zl) == items


# --------------------------------------------------------------------------- rejection

_VALID_LP = encode_listpack([b"a", 1, 300, b"x" * 100])
_VALID_ZL = encode_ziplist([b"a", b"1", b"300", b"x" * 100])


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x07\x00\x00\x00\x00\x00",  # too short
        b"\x08\x00\x00\x00\x00\x00\xff",  # total_bytes != len
        b"\x07\x00\x00\x00\x00\x00\xfe",  # no end marker
        b"\x07\x00\x00\x00\x01\x00\xff",  # count mismatch
        b"\x09\x00\x00\x00\x01\x00\x05\x02\xff",  # backlen 2 for a 1-byte entry
        b"\x09\x00\x00\x00\x01\x00\xf5\x01\xff",  # invalid encoding
        b"\x09\x00\x00\x00\x01\x00\xff\x01\xff",  # end marker in the middle
        b"\x0a\x00\x00\x00\x01\x00\x85ab\xff",  # 6-bit string past the end
        b"\x0b\x00\x00\x00\x01\x00\xf0\xff\xff\xff\xff\xff",  # 4 GiB string declared
        b"\x0a\x00\x00\x00\x01\x00\x05\x01\x00\xff",  # bytes after the end marker
        _VALID_LP + b"\x00",
        _VALID_LP[:-2] + b"\xff",
    ],
)
def test_listpack_rejects(blob: bytes) -> None:
    with pytest.raises(BadEncoding):
        decode_listpack(blob)
    with pytest.raises(BadEncoding):
        decode_listpack_strings(blob)


def test_listpack_multibyte_backlen_cannot_swallow_end_marker() -> None:
    # A 12-bit string of 253 bytes: size 255, backlen 01 ff; drop the real last byte
    good = encode_listpack([b"q" * 253])
    assert good[-3:] == b"\x01\xff\xff"
    bad = struct.pack("<I", len(good) - 1) + good[4:-1]
    with pytest.raises(BadEncoding):
        decode_listpack(bad)


def test_listpack_error_carries_relative_offset() -> None:
    blob = bytearray(encode_listpack([b"ab", b"cd"]))
    blob[6 + 3] = 9  # first entry's backlen
    with pytest.raises(BadEncoding) as info:
        decode_listpack(bytes(blob))
    assert info.value.offset == 9
    assert "backlen" in str(info.value)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        struct.pack("<IIH", 12, 10, 0) + b"\xff",  # zlbytes != len
        struct.pack("<IIH", 11, 11, 0) + b"\xff",  # tail past the end
        struct.pack("<IIH", 11, 10, 1) + b"\xff",  # zllen mismatch
        struct.pack("<IIH", 14, 10, 1) + b"\x01\xf1\xff",  # prevlen 1 on first entry
        struct.pack("<IIH", 14, 11, 1) + b"\x00\xf1\xff",  # tail not at the last entry
        struct.pack("<IIH", 14, 10, 1) + b"\x00\xc5\xff",  # invalid int encoding
        struct.pack("<IIH", 15, 10, 1) + b"\x00\x05a\xff",  # string past the end
        struct.pack("<IIH", 18, 10, 1) + b"\x00\x80\xff\xff\xff\xffa\xff",  # 4 GiB string
        struct.pack("<IIH", 14, 10, 1) + b"\x00\xf1\xfe",  # no end marker
        struct.pack("<IIH", 15, 10, 1) + b"\x00\xf1\xff\xff",  # end marker too early
        _VALID_ZL[:-1] + b"\x00\xff",
    ],
)
def test_ziplist_rejects(blob: bytes) -> None:
    with pytest.raises(BadEncoding):
        decode_ziplist(blob)
    with pytest.raises(BadEncoding):
        decode_ziplist_strings(blob)


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x02\x00\x00\x00\x01\x00\x00",  # short header
        bytes.fromhex("03000000 01000000 0100 00"),  # bad encoding
        bytes.fromhex("02000000 00000000"),  # empty
        bytes.fromhex("02000000 02000000 0100"),  # length mismatch
        bytes.fromhex("02000000 02000000 0200 0100"),  # descending
        bytes.fromhex("02000000 02000000 0100 0100"),  # duplicate
        bytes.fromhex("02000000 ffffff7f 0100"),  # huge declared length
    ],
)
def test_intset_rejects(blob: bytes) -> None:
    with pytest.raises(BadEncoding):
        decode_intset(blob)


def test_intset_accepts_wide_encoding_of_small_members() -> None:
    # Redis never narrows an intset: int64 encoding holding small values is valid
    blob = struct.pack("<II2q", 8, 2, -1, 5)
    assert decode_intset(blob) == [-1, 5]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00\xff",  # empty zipmap
        b"\x01\x01a\x01\x00b",  # no end marker
        b"\x02\x01a\x01\x00b\xff",  # count mismatch
        b"\x01\x05a\x01\x00b\xff",  # key past the end
        b"\x01\x01a\x05\x00b\xff",  # value past the end
        b"\x01\x01a\x01\x09b\xff",  # free past the end
        b"\x01\x01a\xff\x00b\xff",  # end marker as value length
        b"\x01\xfe\xff\xff\xff\xffa\xff",  # 4 GiB key declared
        b"\x01\x01a\x01\x00b\xff\xff",  # end marker before the end
    ],
)
def test_zipmap_rejects(blob: bytes) -> None:
    with pytest.raises(BadEncoding):
        decode_zipmap(blob)


def test_zipmap_unknown_count() -> None:
    pairs = [(b"%d" % i, b"v") for i in range(300)]
    blob = encode_zipmap(pairs)
    assert blob[0] == 254
    assert decode_zipmap(blob) == pairs


# --------------------------------------------------------------------------- fuzzing

DECODERS = [
    decode_listpack,
    decode_listpack_strings,
    decode_ziplist,
    decode_ziplist_strings,
    decode_intset,
    decode_zipmap,
]

SMALL_ITEM = st.one_of(
    st.binary(max_size=12), CANONICAL, INT64, st.integers(60, 300).map(lambda n: b"w" * n)
)


@st.composite
def valid_blobs(draw: st.DrawFn) -> tuple[int, bytes]:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return kind, encode_listpack(draw(st.lists(SMALL_ITEM, max_size=12)))
    if kind == 1:
        return kind, encode_ziplist(draw(st.lists(SMALL_ITEM, max_size=12)))
    if kind == 2:
        return kind, encode_intset(draw(st.lists(INT64, min_size=1, max_size=12)))
    pairs = st.tuples(st.binary(max_size=8), st.binary(max_size=8))
    return kind, encode_zipmap(draw(st.lists(pairs, min_size=1, max_size=8)))


@st.composite
def mutated_blobs(draw: st.DrawFn) -> bytes:
    kind, blob = draw(valid_blobs())
    b = bytearray(blob)
    for _ in range(draw(st.integers(1, 4))):
        if not b:
            break
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "splice"]))
        i = draw(st.integers(0, len(b) - 1))
        if op == "flip":
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            b[i] = draw(
                st.sampled_from(
                    [
                        0x00,
                        0x3F,
                        0x40,
                        0x7F,
                        0x80,
                        0xBF,
                        0xC0,
                        0xDF,
                        0xE0,
                        0xEF,
                        0xF0,
                        0xF4,
                        0xF5,
                        0xFE,
                        0xFF,
                    ]
                )
            )
        elif op == "truncate":
            del b[i:]
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del b[i : i + draw(st.integers(1, 8))]
        else:
            _, other = draw(valid_blobs())
            j = draw(st.integers(0, len(other)))
            b[i:] = other[j:]
    if draw(st.booleans()) and len(b) >= 4 and kind in (0, 1):
        b[0:4] = struct.pack("<I", len(b))  # keep the size field honest: fuzz deeper
    return bytes(b)


def _only_list_or_bad_encoding(blob: bytes) -> None:
    for decode in DECODERS:
        try:
            result = decode(blob)
        except BadEncoding:
            continue
        assert isinstance(result, list)


@pytest.mark.fuzz
@FUZZ
@given(mutated_blobs())
def test_fuzz_mutations(blob: bytes) -> None:
    _only_list_or_bad_encoding(blob)


@pytest.mark.fuzz
@FUZZ
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(blob: bytes) -> None:
    _only_list_or_bad_encoding(blob)


@pytest.mark.fuzz
@FUZZ
@given(st.binary(max_size=40))
def test_fuzz_random_bodies_with_honest_headers(body: bytes) -> None:
    _only_list_or_bad_encoding(struct.pack("<IH", 7 + len(body), 65535) + body + b"\xff")
    n = 11 + len(body)
    _only_list_or_bad_encoding(struct.pack("<IIH", n, 10, 65535) + body + b"\xff")


def test_declared_lengths_never_allocate() -> None:
    blobs = [
        b"\x0b\x00\x00\x00\x01\x00\xf0\xf0\xff\xff\xff\xff",
        struct.pack("<IIH", 17, 10, 1) + b"\x00\x80\x7f\xff\xff\xff\xff",
        struct.pack("<II", 8, 0x7FFFFFFF) + b"\x01\x00",
        b"\x01\xfe\xf0\xff\xff\xff" + b"a\x01\x00b\xff",
    ]
    tracemalloc.start()
    try:
        for blob in blobs:
            _only_list_or_bad_encoding(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# --------------------------------------------------------------------------- real Redis bytes


DUMPS = Path(__file__).resolve().parents[2] / "fixtures" / "dump"  # DUMP payloads of real servers


def _payload_manifests() -> list[str]:
    return sorted(glob.glob(os.path.join(DUMPS, "**", "*.bin.json"), recursive=True))


_BLOB_TYPES = {11, 12, 13, 14, 16, 17, 18, 20, 25}


def _blob_payloads() -> list[tuple[str, dict, bytes]]:
    out = []
    for path in _payload_manifests():
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        if manifest.get("payload", {}).get("rdb_type") not in _BLOB_TYPES:
            continue
        with open(path[: -len(".json")], "rb") as f:
            out.append((path, manifest, f.read()))
    return out


_PAYLOADS = _blob_payloads()


def _load_len(buf: bytes, pos: int) -> tuple[int, int, bool]:
    b = buf[pos]
    kind = b >> 6
    if kind == 0:
        return b & 0x3F, pos + 1, False
    if kind == 1:
        return ((b & 0x3F) << 8) | buf[pos + 1], pos + 2, False
    if b == 0x80:
        return struct.unpack_from(">I", buf, pos + 1)[0], pos + 5, False
    if b == 0x81:
        return struct.unpack_from(">Q", buf, pos + 1)[0], pos + 9, False
    return b & 0x3F, pos + 1, True


def _load_str(buf: bytes, pos: int) -> tuple[bytes, int]:
    n, pos, special = _load_len(buf, pos)
    if not special:
        return buf[pos : pos + n], pos + n
    if n == 3:  # LZF
        clen, pos, _ = _load_len(buf, pos)
        ulen, pos, _ = _load_len(buf, pos)
        return lzf.decompress(buf[pos : pos + clen], ulen), pos + clen
    width = (1, 2, 4)[n]
    v = int.from_bytes(buf[pos : pos + width], "little", signed=True)
    return b"%d" % v, pos + width


def _b(s: str) -> bytes:
    return s.encode("latin-1")


def _check_listpack(blob: bytes) -> list[bytes]:
    """Decode a real listpack; re-encoding both decoded forms must give the same bytes."""
    assert encode_listpack(decode_listpack(blob)) == blob
    items = decode_listpack_strings(blob)
    assert encode_listpack(items) == blob
    return items


def _check_ziplist(blob: bytes) -> list[bytes]:
    assert encode_ziplist(decode_ziplist(blob)) == blob
    items = decode_ziplist_strings(blob)
    assert encode_ziplist(items) == blob
    return items


def _score(s: bytes | str) -> float:
    return float(s)


def test_dump_payload_fixtures_cover_every_blob_type() -> None:
    """fixtures/dump ships with the repository: the test below never runs on nothing."""
    assert {payload[0] for _, _, payload in _PAYLOADS} == _BLOB_TYPES


@pytest.mark.parametrize(
    ("manifest", "payload"),
    [pytest.param(m, p, id=os.path.relpath(path, DUMPS)) for path, m, p in _PAYLOADS],
)
def test_real_dump_payloads(manifest: dict, payload: bytes) -> None:
    rdb_type = payload[0]
    value = manifest["entry"]["value"]
    body = payload[1:-10]
    if rdb_type == 11:
        blob, end = _load_str(body, 0)
        ints = sorted(int(v) for v in value)
        assert decode_intset(blob) == ints
        assert encode_intset(ints) == blob
    elif rdb_type in (16, 17, 20, 12, 13):
        blob, end = _load_str(body, 0)
        items = _check_listpack(blob) if rdb_type in (16, 17, 20) else _check_ziplist(blob)
        if rdb_type in (16, 13):
            fields = items[0::2]
            assert dict(zip(fields, items[1::2], strict=True)) == {
                _b(f): _b(v) for f, v in value.items()
            }
            # The manifest's values (in the blob's field order), encoded by us, are Redis's bytes.
            by_field = {_b(f): _b(v) for f, v in value.items()}
            flat = [x for f in fields for x in (f, by_field[f])]
            enc = encode_listpack if rdb_type == 16 else encode_ziplist
            assert enc(flat) == blob
        elif rdb_type == 20:
            assert sorted(items) == sorted(_b(v) for v in value)
        else:
            assert items[0::2] == [_b(m) for m, _ in value]
            assert [_score(s) for s in items[1::2]] == [_score(s) for _, s in value]
    elif rdb_type in (14, 18):
        nodes, pos = _load_len(body, 0)[:2]
        elements: list[bytes] = []
        for _ in range(nodes):
            container = 2
            if rdb_type == 18:
                container, pos, _ = _load_len(body, pos)
            data, pos = _load_str(body, pos)
            if rdb_type == 14:
                elements += _check_ziplist(data)
            elif container == 2:
                elements += _check_listpack(data)
            else:
                assert container == 1
                elements.append(data)
        end = pos
        want = [_b(v) for v in value]
        assert elements == want
        if nodes == 1 and rdb_type == 18 and container == 2:
            assert encode_listpack(want) == _load_str(body, _load_len(body, 1)[1])[0]
    elif rdb_type == 25:
        blob, end = _load_str(body, 8)
        items = _check_listpack(blob)
        expires = manifest["entry"].get("field_expire_at_ms") or {}
        triplets = {items[i]: (items[i + 1], int(items[i + 2])) for i in range(0, len(items), 3)}
        assert triplets == {_b(f): (_b(v), expires.get(f, 0)) for f, v in value.items()}
    else:  # pragma: no cover
        pytest.fail(f"unexpected type {rdb_type}")
    assert end == len(body)


# --------------------------------------------------------------------------- live servers


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProc]]:
    """Real 7.0 and 6.2 (whichever are installed) with string compression off: DUMP then
    writes the listpacks and ziplists as they are."""
    started = {}
    try:
        for version in ("7.0", "6.2"):
            if server_binary(version) is not None:
                started[version] = start_real(tmp_path_factory.mktemp(f"redis{version}"),
                                              "--rdbcompression", "no", version=version)
        if not started:
            pytest.skip("no redis-server installed (apt-get install -y redis-server)")
        yield started
    finally:
        for srv in started.values():
            srv.stop()


LIVE_ITEM = st.one_of(
    st.binary(min_size=1, max_size=30),
    CANONICAL,
    NON_CANONICAL.filter(bool),
    st.sampled_from([b"%d" % v for v, _, _ in BOUNDARIES]),
    st.integers(64, 200).map(lambda n: b"m" * n),
)


@pytest.mark.differential
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(LIVE_ITEM, min_size=1, max_size=30),
    ints=st.lists(INT64, min_size=1, max_size=30),
)
def test_live_redis_dump_matches_encoders(
    servers: dict[str, ServerProc], items: list[bytes], ints: list[int]
) -> None:
    for label, srv in servers.items():
        srv(b"DEL", b"l", b"s")
        srv(b"RPUSH", b"l", *items)
        payload = srv(b"DUMP", b"l")
        assert isinstance(payload, bytes)
        body = payload[1:-10]
        if label == "6.2":
            assert payload[0] == 14 and body[0] == 1
            assert _load_str(body, 1)[0] == encode_ziplist(items)
        else:
            assert payload[0] == 18 and body[:2] == b"\x01\x02"
            assert _load_str(body, 2)[0] == encode_listpack(items)
        srv(b"SADD", b"s", *(b"%d" % v for v in ints))
        payload = srv(b"DUMP", b"s")
        assert isinstance(payload, bytes) and payload[0] == 11
        assert _load_str(payload[1:-10], 0)[0] == encode_intset(ints)
