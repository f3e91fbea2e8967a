"""The sparse HyperLogLog update in C (rdbtools._speedups.hll_sparse_set) against the
pure-Python reference (engine.types.hyperloglog._sparse_set_py): same return codes,
same bytes, over random PFADD sequences (with promotions to dense), and over damaged
sparse values. The C module is imported directly, whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.types import hyperloglog as H

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")


def _c_set(s: bytearray, index: int, count: int, max_bytes: int) -> int:
    r = C.hll_sparse_set(s, index, count, max_bytes)
    return H._promote(s, index, count) if r == 2 else r


def _apply(fn, s: bytearray, ops: list[tuple[int, int]], max_bytes: int) -> list[int]:
    out = []
    for index, count in ops:
        if s[4] == H.HLL_SPARSE:
            out.append(fn(s, index, count, max_bytes))
        else:
            out.append(H.dense_set(s, index, count))
    return out


ops_st = st.lists(st.tuples(st.integers(0, H.HLL_REGISTERS - 1), st.integers(1, 40)), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops_st, max_bytes=st.sampled_from([40, 300, 3000]), cluster=st.booleans())
def test_sequences_match(ops: list[tuple[int, int]], max_bytes: int, cluster: bool) -> None:
    if cluster:  # neighbouring registers: splits and merges of VAL runs
        ops = [(i % 64, c % 6 + 1) for i, c in ops]
    a, b = H.new_hll(), H.new_hll()
    ra = _apply(H._sparse_set_py, a, ops, max_bytes)
    rb = _apply(_c_set, b, ops, max_bytes)
    assert ra == rb
    assert a == b


def test_pfadd_elements_match() -> None:
    a, b = H.new_hll(), H.new_hll()
    ops = [H.pat_len(b"ele:%d" % i) for i in range(3000)]
    assert _apply(H._sparse_set_py, a, ops, 3000) == _apply(_c_set, b, ops, 3000)
    assert a == b and a[4] == H.HLL_DENSE  # promoted on the way, at the same step


@settings(max_examples=300, deadline=None)
@given(body=st.binary(min_size=0, max_size=40), index=st.integers(0, H.HLL_REGISTERS - 1),
       count=st.integers(1, 33))
def test_damaged_values_match(body: bytes, index: int, count: int) -> None:
    base = bytes(H.new_hll()[:H.HLL_HDR_SIZE])
    a, b = bytearray(base + body), bytearray(base + body)
    ra = H._sparse_set_py(a, index, count, 3000)
    rb = C.hll_sparse_set(b, index, count, 3000)
    if rb == 2:  # the caller promotes: the reference did the same
        rb = H._promote(b, index, count)
    assert ra == rb
    assert a == b
