"""Mutated real files: only our errors, with offsets inside the file, never a hang or a blow-up."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import (
    ChecksumMismatch,
    LimitExceeded,
    RdbError,
    RdbTruncatedError,
    read_all,
)
from rdbtools.crc64 import crc64
from tests.conftest import fixture_rdbs

FILES = [p for p in fixture_rdbs() if p.stat().st_size < 400_000]
DATA = {p: p.read_bytes() for p in FILES}


def _checksummed(p) -> bool:
    d = DATA[p]
    return int(d[5:9]) >= 5 and d[-8:] != bytes(8)


def decode_or_error(data: bytes) -> RdbError | None:
    try:
        read_all(data)
    except RdbError as exc:
        assert exc.offset is not None and 0 <= exc.offset <= len(data), exc
        assert "offset" in str(exc)
        return exc
    return None


files = st.sampled_from(FILES)


@given(files, st.data())
def test_truncation_is_reported_as_truncated(path, data):
    raw = DATA[path]
    cut = data.draw(st.integers(0, len(raw) - 1))
    err = decode_or_error(raw[:cut])
    assert isinstance(err, RdbTruncatedError)


@given(st.sampled_from([p for p in FILES if _checksummed(p)]), st.data())
def test_any_flip_in_a_checksummed_file_is_caught(path, data):
    raw = bytearray(DATA[path])
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    assert decode_or_error(bytes(raw)) is not None


@given(files, st.data())
def test_mutations_give_records_or_our_errors(path, data):
    raw = bytearray(DATA[path])
    # Zero the checksum so mutations reach the structure parsers instead of the CRC.
    if int(raw[5:9]) >= 5:
        raw[-8:] = bytes(8)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "splice", "delete", "insert", "big"]))
        i = data.draw(st.integers(9, len(raw) - 1))
        if op == "flip":
            raw[i] ^= data.draw(st.integers(1, 255))
        elif op == "splice":
            j = data.draw(st.integers(9, len(raw) - 1))
            n = data.draw(st.integers(1, 64))
            raw[i : i + n] = raw[j : j + n]
        elif op == "delete":
            del raw[i : i + data.draw(st.integers(1, 16))]
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
        else:  # a huge length where a length may be expected
            raw[i:i] = data.draw(st.sampled_from([b"\x81" + (1 << 60).to_bytes(8, "big"),
                                                  b"\x80\xff\xff\xff\xf0", b"\xc3\x01\xbf\xff"]))
        if len(raw) <= 10:
            break
    decode_or_error(bytes(raw))


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_random_bytes_after_a_header(blob):
    decode_or_error(b"REDIS0011" + blob)
    decode_or_error(b"REDIS0009\xfe\x00" + blob)


def _file(body: bytes, version: int = 11) -> bytes:
    data = b"REDIS%04d" % version + body + b"\xff"
    return data + crc64(data).to_bytes(8, "little")


HUGE = [
    # string key with a 2^60 length
    (b"\xfe\x00\x00\x81" + (1 << 60).to_bytes(8, "big") + b"k", LimitExceeded),
    # string value declaring 4 GiB - 16 with 3 bytes present: truncated, nothing allocated
    (b"\xfe\x00\x00\x01k\x80\xff\xff\xff\xf0abc", RdbTruncatedError),
    # LZF string claiming 1 GiB from 4 bytes
    (b"\xfe\x00\x00\x01k\xc3\x04\x80\x40\x00\x00\x00abcd", RdbError),
    # a list of 2^60 elements with one present
    (b"\xfe\x00\x01\x01k\x81" + (1 << 60).to_bytes(8, "big") + b"\x01a", RdbTruncatedError),
    # a set of 2^32 members
    (b"\xfe\x00\x02\x01k\x80\xff\xff\xff\xff\x01a", RdbTruncatedError),
    # a stream with 2^40 nodes
    (b"\xfe\x00\x15\x01k\x81" + (1 << 40).to_bytes(8, "big"), RdbTruncatedError),
]


@pytest.mark.parametrize(("body", "error"), HUGE)
def test_huge_declared_sizes_allocate_nothing(body, error):
    data = _file(body)[:-9]  # drop EOF + checksum so the structure itself is what ends
    tracemalloc.start()
    try:
        with pytest.raises(error):
            read_all(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_wrong_checksum_names_both_values():
    data = bytearray(_file(b"\xfe\x00\x00\x01k\x01v"))
    data[-1] ^= 1
    with pytest.raises(ChecksumMismatch) as info:
        read_all(bytes(data))
    assert "checksum" in str(info.value) and info.value.offset == len(data) - 8


def test_zero_checksum_means_not_computed():
    data = _file(b"\xfe\x00\x00\x01k\x01v")[:-8] + bytes(8)
    end = read_all(data)[-1]
    assert end.checksum == 0 and not end.verified


def test_unknown_type_names_the_byte_and_offset():
    with pytest.raises(RdbError) as info:
        read_all(_file(b"\xfe\x00\x1f\x01k\x01v"))
    assert info.value.offset == 11 and "31" in str(info.value)


def test_bytes_after_the_trailer_are_corruption():
    data = _file(b"\xfe\x00\x00\x01k\x01v", version=9)
    with pytest.raises(RdbError) as info:
        read_all(data + b"x")
    assert info.value.offset == len(data)
    # a version digit flipped to 1 leaves the 8 checksum bytes over: caught the same way
    with pytest.raises(RdbError):
        read_all(b"REDIS0001" + data[9:])
