"""Fuzz: mutated real AOFs and manifests give commands or our errors, never anything else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aof.check import check_bytes
from aof.commands import Command
from aof.errors import AofError, AofTruncatedError, ManifestError
from aof.manifest import load_manifest
from aof.reader import Annotation, AofReader
from tests.support.manifest import FIXTURES

pytestmark = pytest.mark.fuzz

AOF = FIXTURES / "aof"
SEEDS = [
    (AOF / "redis-6.2.5/aof-raw/appendonly.aof").read_bytes()[:6000],
    (AOF / "redis-6.2.5/aof-preamble/appendonly.aof").read_bytes(),
    (AOF / "redis-7.0.15/aof-raw/appendonlydir/appendonly.aof.1.incr.aof").read_bytes()[:6000],
    (AOF / "redis-7.4.1/aof-preamble/appendonlydir/appendonly.aof.2.incr.aof").read_bytes(),
]


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.sampled_from(b"*$#\r\n0123456789-\x00\xff"))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 20))]
        elif kind == "cut":
            del data[pos:]
    return bytes(data)


@settings()
@given(mutated(), st.booleans())
def test_mutated_aofs_only_yield_items_or_our_errors(data: bytes, load_truncated: bool) -> None:
    reader = AofReader(data, load_truncated=load_truncated, annotations=True)
    last_end = 0
    try:
        for item in reader:
            if type(item) is Command:
                assert item.argv and all(type(a) is bytes for a in item.argv)
                assert last_end <= item.offset < item.end <= len(data)
                last_end = item.end
            elif type(item) is Annotation:
                assert item.text.startswith(b"#")
    except AofError as exc:
        assert exc.offset is None or 0 <= exc.offset <= len(data)
        if isinstance(exc, AofTruncatedError):
            assert 0 <= exc.valid_up_to <= len(data) and not load_truncated
        return
    if reader.truncation is not None:
        assert reader.truncation.valid_up_to <= last_end or reader.truncation.valid_up_to == 0 \
            or reader.truncation.valid_up_to <= len(data)


@settings()
@given(mutated())
def test_check_never_raises(data: bytes) -> None:
    rep = check_bytes(data)
    f = rep.files[0]
    assert 0 <= f.ok_up_to <= f.size == len(data)
    list(rep.lines())


@given(st.binary(max_size=300) | st.lists(
    st.sampled_from([b"file", b"seq", b"type", b"a.aof", b"1", b"2", b"-3", b"b", b"h", b"i", b"x",
                     b'"q', b"'", b"#", b"\n", b" ", b"\t", b"\\x41", b"\x00", b"FILE"]),
    max_size=40).map(b" ".join))
def test_manifest_parser_only_raises_manifest_errors(data: bytes) -> None:
    try:
        am = load_manifest(data)
    except ManifestError as exc:
        assert exc.message
        return
    seqs = [i.seq for i in am.incrs]
    assert seqs == sorted(set(seqs))
