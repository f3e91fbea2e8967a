"""The set-listpack operations in C (rdbtools._speedups.lps_*, and lp_entries_size) against
the pure-Python references (rdbtools.encodings.listpack_set, docs/style.md rule 10): the same results
and the same bytes over random SADD/SREM/SISMEMBER sequences, and those bytes equal the
listpack Redis's encoder writes for the members in insertion order (lpAppend's
choices: canonical integer text as integers, compared as text). A damaged listpack
raises BadEncoding in C rather than read past its end. The C module is imported
directly, whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools.encodings import listpack_set as OPS
from rdbtools.encodings.listpack import decode_listpack_strings, encode_listpack
from rdbtools.errors import BadEncoding

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

member = st.one_of(
    st.sampled_from([b"a", b"b", b"1", b"01", b"-5", b"5000", b"-0", b"", b"9223372036854775808",
                     b"-9223372036854775808", b"127", b"128", b"-4096"]),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: b"%d" % i),
    st.binary(max_size=8),
    st.sampled_from([b"s" * 63, b"t" * 64, b"L" * 130, b"N" * 4100]),
)
op = st.tuples(st.sampled_from(["add", "rem", "has"]), member)


def _apply(lp: bytearray, ops, find, add, remove) -> list:
    out = []
    for kind, m in ops:
        out.append((add if kind == "add" else remove if kind == "rem" else find)(lp, m))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.lists(member, max_size=10, unique=True), ops=st.lists(op, max_size=60))
def test_sequences_match_and_equal_redis_encoding(start, ops) -> None:
    a, b = OPS.lps_build_py(start), C.lps_build(start)
    assert a == b
    ra = _apply(a, ops, OPS.lps_find_py, OPS.lps_add_py, OPS.lps_remove_py)
    rb = _apply(b, ops, C.lps_find, C.lps_add, C.lps_remove)
    assert ra == rb
    assert a == b
    model = dict.fromkeys(start)  # insertion order is the listpack's order
    expect = []
    for kind, m in ops:
        if kind == "add":
            expect.append(m not in model)
            model.setdefault(m)
        elif kind == "rem":
            expect.append(model.pop(m, 0) is None)
        else:
            expect.append(m in model)
    assert ra == expect
    assert bytes(a) == encode_listpack(list(model))
    assert decode_listpack_strings(a) == list(model)


def test_build_counts_past_the_16_bit_header() -> None:
    members = [b"m%d" % i for i in range(70000)]
    assert C.lps_build(members) == OPS.lps_build_py(members)


@settings(max_examples=200, deadline=None)
@given(start=st.lists(member, min_size=1, max_size=6, unique=True), cut=st.integers(1, 40), m=member)
def test_damaged_listpack_raises_not_overreads(start, cut, m) -> None:
    lp = C.lps_build(start)
    body = lp[: max(7, len(lp) - cut)]
    body[-1:] = b"\xff"
    body[0:4] = len(body).to_bytes(4, "little")
    for fn in (C.lps_find, C.lps_add, C.lps_remove):
        try:
            fn(bytearray(body), m)
        except BadEncoding:
            pass


def test_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        C.lps_find(b"\x07\x00\x00\x00\x00\x00\xff", b"a")  # bytes, not a bytearray
    with pytest.raises(TypeError):
        C.lps_add(bytearray(encode_listpack([])), "a")
    with pytest.raises(BadEncoding):
        C.lps_find(bytearray(b"\x08\x00\x00\x00\x00\x00\xff"), b"a")  # total says 8, it is 7
    with pytest.raises(TypeError):
        C.lps_build([b"a", 1])


@settings(max_examples=200, deadline=None)
@given(items=st.lists(member, max_size=30), start=st.integers(0, 3), step=st.integers(1, 3))
def test_entries_size_matches_the_encoder(items, start, step) -> None:
    """lp_entries_size (what a stream node's accounting sums) is the size of the entries
    encode_listpack writes, in C and in Python."""
    from rdbtools.encodings.listpack import lp_entries_size_py

    want = len(encode_listpack(items[start::step])) - 7  # header and end marker
    assert C.lp_entries_size(items, start, step) == lp_entries_size_py(items, start, step) == want
