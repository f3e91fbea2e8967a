"""The intset operations in C (rdbtools._speedups.is_*) against the pure-Python references
(rdbtools.encodings.intset_ops, docs/style.md rule 10): the same results and the same
bytes over random SADD/SREM/SISMEMBER/SPOP sequences, and those bytes are what
Redis's intset.c holds: members ascending at the widest encoding any added member
needed (intsetAdd upgrades, intsetRemove never narrows). The validation accepts exactly
what the decoder accepts, on mutated blobs too. The C module is imported directly,
whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools.encodings import intset_ops as OPS
from rdbtools.encodings.intset import decode_intset, encode_intset
from rdbtools.errors import BadEncoding
from rdbtools.numbers import string2ll
from tests.rdbtools.test_listpack_ops import _decode

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

_edges = st.sampled_from([0, 1, -1, 32767, -32768, 32768, -32769, 2**31 - 1, -(2**31), 2**31,
                          -(2**31) - 1, 2**63 - 1, -(2**63)])
member = st.one_of(
    _edges.map(lambda i: b"%d" % i),
    st.integers(-40, 40).map(lambda i: b"%d" % i),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: b"%d" % i),
    st.sampled_from([b"", b"-0", b"007", b"+1", b"1 ", b"9223372036854775808", b"a", b"-",
                     b"-9223372036854775809", b"1" * 21]),
)
op = st.one_of(st.tuples(st.sampled_from(["add", "rem", "find"]), member),
               st.tuples(st.just("pop"), st.integers(0, 1000)),
               st.tuples(st.just("get"), st.integers(0, 1000)))


def _width(v: int) -> int:
    return 8 if not -(2**31) <= v < 2**31 else 4 if not -32768 <= v < 32768 else 2


def _apply(is_: bytearray, ops, impl) -> list:
    out = []
    for kind, x in ops:
        if kind in ("pop", "get"):
            n = (len(is_) - 8) // is_[0]
            out.append(getattr(impl, "is_" + kind)(is_, x % n) if n else None)
        else:
            fn = {"add": "is_add", "rem": "is_remove", "find": "is_find"}[kind]
            out.append(getattr(impl, fn)(is_, x))
    return out


class _Py:
    is_add, is_remove, is_find = OPS.is_add_py, OPS.is_remove_py, OPS.is_find_py
    is_get, is_pop = OPS.is_get_py, OPS.is_pop_py


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=80))
def test_sequences_match_and_equal_redis_bytes(ops) -> None:
    a, b = bytearray(OPS.EMPTY_INTSET), bytearray(OPS.EMPTY_INTSET)
    assert _apply(a, ops, _Py) == _apply(b, ops, C)
    assert a == b
    model: set[int] = set()
    width = 2
    for kind, x in ops:
        if kind in ("add", "rem"):
            v = string2ll(x)
            if v is not None and kind == "add" and v not in model:
                model.add(v)
                width = max(width, _width(v))
            elif v is not None and kind == "rem":
                model.discard(v)
        elif kind == "pop" and model:
            model.remove(sorted(model)[x % len(model)])
    vals = sorted(model)
    code = {2: "h", 4: "i", 8: "q"}[width]
    assert bytes(a) == struct.pack(f"<II{len(vals)}{code}", width, len(vals), *vals)
    if vals:
        assert OPS.is_validate_py(a) == C.is_check(bytes(b)) == len(vals)


@settings(max_examples=200, deadline=None)
@given(members=st.lists(member, max_size=12), start=st.integers(0, 3), mx=st.integers(0, 8))
def test_add_all_matches_one_by_one(members, start, mx) -> None:
    """is_add_all stops where setTypeAdd would convert: before a non-integer, or after
    the add that passes max_entries; C and Python agree on where and on the bytes."""
    a, b, want = bytearray(OPS.EMPTY_INTSET), bytearray(OPS.EMPTY_INTSET), bytearray(OPS.EMPTY_INTSET)
    i, added, stop = start, 0, None
    while i < len(members):
        r = OPS.is_add_py(want, members[i])
        if r < 0:
            stop = i
            break
        i += 1
        added += r
        if (len(want) - 8) // want[0] > mx:
            stop = i
            break
    expect = added if stop is None else (added, stop)
    assert OPS.is_add_all_py(a, members, start, mx) == C.is_add_all(b, members, start, mx) == expect
    assert a == b and bytes(a) == bytes(want)


def test_upgrade_puts_the_new_member_first_or_last() -> None:
    for impl in (_Py, C):
        is_ = bytearray(encode_intset([1, 2]))
        assert impl.is_add(is_, b"-100000") == 1
        assert decode_intset(is_) == [-100000, 1, 2] and is_[0] == 4
        assert impl.is_add(is_, b"%d" % 2**40) == 1 and is_[0] == 8
        assert impl.is_remove(is_, b"%d" % 2**40) is True and is_[0] == 8  # never narrowed
        assert impl.is_find(is_, b"-100000") is True
        assert impl.is_find(is_, b"%d" % 2**40) is False


@settings(max_examples=400, deadline=None)
@given(vals=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=8), data=st.data())
def test_validation_matches_reference(vals, data) -> None:
    blob = bytearray(encode_intset(vals))
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()) and len(blob) > 8:
        del blob[data.draw(st.integers(0, len(blob) - 1))]
    try:
        want = OPS.is_validate_py(blob)
    except BadEncoding:
        want = -1
    assert C.is_check(bytes(blob)) == want


def test_damaged_header_refused_without_reading_past_the_end() -> None:
    for impl in (_Py, C):
        for blob in (b"", b"\x02\x00\x00\x00", b"\x03\x00\x00\x00\x00\x00\x00\x00",
                     b"\x02\x00\x00\x00\x05\x00\x00\x00\x01\x00"):
            for fn, arg in ((impl.is_add, b"1"), (impl.is_find, b"1"), (impl.is_remove, b"1"),
                            (impl.is_get, 0)):
                with pytest.raises(BadEncoding, match="intset header does not match"):
                    fn(bytearray(blob), arg)
        with pytest.raises(IndexError):
            impl.is_get(bytearray(encode_intset([1])), 1)
        with pytest.raises(IndexError):
            impl.is_pop(bytearray(encode_intset([1])), -1)


# --------------------------------------------------------------------------- packed loads


def _rdb(blobs: list[bytes]) -> bytes:
    """An RDB 10 file of set intsets written byte for byte (the encoder writes an
    IntsetMembers as it is)."""
    from rdbtools.encoder import encode_bytes
    from rdbtools.model import Record
    from rdbtools.objects.sets import IntsetMembers

    recs = [Record(0, b"k%d" % i, "set", IntsetMembers(b, OPS.is_validate_py(b))) for i, b in enumerate(blobs)]
    return encode_bytes(recs, target_version=10)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vals=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6), data=st.data())
def test_packed_loads_keep_the_bytes_on_both_paths(vals, data) -> None:
    """packed_listpacks: the C scan and the Python path give the same IntsetMembers, whose
    bytes are the file's (a wider encoding than needed included) and whose members are
    what an ordinary decode gives; a damaged blob is refused on every path alike."""
    blobs = [encode_intset(vals), struct.pack("<II3q", 8, 3, -1, 0, 7)]
    raw = bytearray(_rdb(blobs))
    damaged = data.draw(st.booleans())
    if damaged:  # the whole file's checksum is off too, so drop it
        raw[data.draw(st.integers(20, len(raw) - 11))] = data.draw(st.integers(0, 255))
        raw[-8:] = bytes(8)
    plain, perr = _decode(bytes(raw), False, False)
    for fast in (False, True):
        recs, err = _decode(bytes(raw), True, fast)
        assert err == perr
        assert [r.value for r in recs] == [r.value for r in plain]
        if not damaged:
            assert err is None and len(recs) == len(blobs)
            for r, blob in zip(recs, blobs):
                assert bytes(r.value.blob) == blob and r.value.blob.__class__ is bytearray
