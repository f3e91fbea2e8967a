"""A sorted set's listpack operations in C (rdbtools._speedups.zl_*) against the
pure-Python references (rdbtools.encodings.listpack_zset, docs/style.md rule 10): the
same results and the same bytes over random ZADD/ZREM/ZSCORE sequences, and those bytes
equal the listpack Redis's zsetConvert would write for the resulting ordered pairs
(zl_from_pairs: zzlInsertAt's score entries through the one encoder). Scores of every
spelling: integers double2ll takes, ±2^62 edges, -0, inf, NaN, %.17g texts. Restored
listpacks with scores kept as text read the same in both. The C module is imported
directly, whatever RDBKIT_PUREPYTHON says."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools.encodings import listpack_zset as Z
from rdbtools.encodings.listpack import encode_listpack

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

member = st.one_of(
    st.sampled_from([b"a", b"b", b"1", b"01", b"-5", b"5000", b"", b"9223372036854775808"]),
    st.binary(max_size=6),
    st.integers(60, 70).map(lambda n: b"s" * n),
    st.sampled_from([b"L" * 130, b"N" * 4100]),
)
score = st.one_of(
    st.integers(-3, 3).map(float),
    st.sampled_from([0.1, -0.0, 1.5, 1e300, -1e-300, math.inf, -math.inf, 2.0**62, -(2.0**62),
                     2.0**62 + 2048, 4611686018427387904.0, 2.0**53 + 2, 9.2e18]),
    st.floats(allow_nan=False),
)
op = st.one_of(st.tuples(st.just("add"), member, score), st.tuples(st.just("rem"), member, st.just(0.0)),
               st.tuples(st.just("get"), member, st.just(0.0)))


def _apply(lp: bytearray, ops, score_, insert, delete) -> list:
    out = []
    for kind, m, s in ops:
        if kind == "add":
            old = score_(lp, m)
            if old is None:
                out.append(insert(lp, m, s))
            elif old != s:  # zsetAdd: zzlDelete then zzlInsert
                out.append((delete(lp, m), insert(lp, m, s)))
        elif kind == "rem":
            out.append(delete(lp, m))
        else:
            out.append(score_(lp, m))
    return out


def _same(a: list, b: list) -> bool:
    return repr(a) == repr(b)  # floats by their bits' text (-0.0, nan)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=60))
def test_sequences_match_and_equal_redis_encoding(ops) -> None:
    a, b = bytearray(encode_listpack([])), bytearray(encode_listpack([]))
    ra = _apply(a, ops, Z.zl_score_py, Z.zl_insert_py, Z.zl_delete_py)
    rb = _apply(b, ops, C.zl_score, C.zl_insert, C.zl_delete)
    assert _same(ra, rb)
    assert a == b
    assert _same(Z.zl_pairs_py(a), C.zl_pairs(a))
    for m in {m for _, m, _ in ops}:
        assert Z.zl_rank_py(a, m) == C.zl_rank(a, m)
    n = len(C.zl_pairs(a))
    for start, count in [(0, -1), (0, n), (1, 2), (n - 1, 5), (n + 1, 1), (2, 0)]:
        assert _same(Z.zl_slice_py(a, start, count), C.zl_slice(a, start, count))
    for lo, hi in [(-math.inf, math.inf), (0.0, 3.0), (1.5, 1.5), (2.0, -1.0), (-1e300, 0.1)]:
        for flags in [(False, False), (True, False), (False, True), (True, True)]:
            for reverse, offset, limit in [(False, 0, -1), (True, 0, -1), (False, 1, 2), (True, 2, 1),
                                           (False, 0, 0), (True, 7, -3)]:
                args = (lo, flags[0], hi, flags[1], reverse, offset, limit)
                assert _same(Z.zl_score_range_py(a, *args), C.zl_score_range(a, *args)), args
    model: dict[bytes, float] = {}
    for kind, m, s in ops:
        if kind == "add":
            model[m] = s
        elif kind == "rem":
            model.pop(m, None)
    ordered = sorted(model.items(), key=lambda p: (p[1], p[0]))
    assert a == Z.zl_from_pairs(ordered)
    assert [m for m, _ in C.zl_pairs(a)] == [m for m, _ in ordered]
    assert [C.zl_rank(a, m) for m, _ in ordered] == list(range(len(ordered)))


def _str(s: bytes) -> bytes:
    return bytes((0x80 | len(s),)) + s + bytes((len(s) + 1,))


def test_scores_kept_as_text_and_nan() -> None:
    """A restored listpack's scores: "1" as a string, "0.1", "-nan", "1e2", " 7" (float()
    reads it, as the reference does); inserts walk past a NaN as zzlInsert does."""
    body = b"".join(_str(x) for x in (b"a", b"1", b"n", b"-nan", b"b", b"0.1", b"c", b"1e2", b"d", b" 7"))
    lp = bytearray(struct.pack("<IH", 7 + len(body), 10) + body + b"\xff")
    assert _same(C.zl_pairs(lp), Z.zl_pairs_py(lp))
    for m, s in [(b"x", 0.5), (b"y", 200.0), (b"z", -1.0), (b"n2", math.nan)]:
        a, b = bytearray(lp), bytearray(lp)
        Z.zl_insert_py(a, m, s)
        C.zl_insert(b, m, s)
        assert a == b, (m, s)
    assert C.zl_score(lp, b"d") == Z.zl_score_py(lp, b"d") == 7.0
    for args in [(0.0, False, 200.0, False, False, 0, -1), (0.0, False, 200.0, False, True, 0, -1),
                 (-math.inf, False, math.inf, False, False, 1, 2)]:  # walks past the NaN as zzl* do
        assert _same(Z.zl_score_range_py(lp, *args), C.zl_score_range(lp, *args)), args
    assert math.isnan(C.zl_score(lp, b"n")) and math.copysign(1, C.zl_score(lp, b"n")) < 0
    a, b = bytearray(lp), bytearray(lp)
    assert _same(Z.zl_delete_py(a, b"n"), C.zl_delete(b, b"n")) and a == b


def test_unknown_count_stays_unknown() -> None:
    lp = bytearray(encode_listpack([b"a", 1]))
    lp[4:6] = b"\xff\xff"
    a, b = bytearray(lp), bytearray(lp)
    Z.zl_insert_py(a, b"b", 2.0)
    C.zl_insert(b, b"b", 2.0)
    assert a == b and a[4:6] == b"\xff\xff"


def test_damaged_listpack_raises() -> None:
    from rdbtools.errors import BadEncoding

    lp = bytearray(encode_listpack([b"a", 1, b"b", 2]))
    lp[-3] = 0xF9  # an undefined encoding byte where the last score starts
    with pytest.raises(BadEncoding):
        C.zl_insert(lp, b"c", 5.0)
    with pytest.raises(BadEncoding):
        C.zl_pairs(lp)


digits = st.text(alphabet="0123456789", min_size=0, max_size=25)
decimal_text = st.one_of(
    st.builds(lambda sign, a, b, e: f"{sign}{a}{b}{e}",
              st.sampled_from(["", "-", "+", " "]), digits,
              st.one_of(st.just(""), digits.map(lambda d: "." + d)),
              st.one_of(st.just(""), st.builds(lambda x, s, d: x + s + d, st.sampled_from("eE"),
                                               st.sampled_from(["", "+", "-"]),
                                               st.text(alphabet="0123456789", max_size=4)))),
    st.floats(allow_nan=False).map(lambda f: "%.17g" % f),
    # what ZADD of a random score leaves: 17 digits (their approximate readings miss by
    # an ulp or two now and then)
    st.tuples(st.integers(-10**17, 10**17), st.integers(0, 17)).map(lambda t: "%.17g" % (t[0] / 10**t[1])),
    st.floats(allow_nan=False).map(repr),
    st.sampled_from(["1e400", "-1e400", "1e-400", "4.9e-324", "2.4703282292062328e-324", "-0", "0e0",
                     "179769313486231580793728971405303415079934132710037826936173778980444968292764"
                     "750946649017977587207096330286416692887910943010482628046107472614022843.2",
                     "0.1000000000000000055511151231257827021181583404541015625", "1.", ".5", "-.5e1",
                     "1e5x", "--1", "1.2.3", "e5", "."]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(decimal_text, min_size=1, max_size=8), score)
def test_score_texts_read_alike(texts: list[str], new: float) -> None:
    """Scores kept as text in a restored listpack, of every decimal spelling: C (strtod for
    a plain decimal, then the general path) reads them as float() does, or refuses them
    alike; an insert walking past them puts the new pair where the reference does, also
    for a score equal or next to one of theirs."""
    good = []
    for t in texts:
        one = bytearray(encode_listpack([b"m", t.encode()]))
        try:
            Z.zl_pairs_py(one)
        except ValueError:
            with pytest.raises(ValueError):
                C.zl_pairs(one)
            continue
        good.append(t)
    items: list = []
    for i, t in enumerate(good):
        items += [b"m%d" % i, t.encode()]
    lp = bytearray(encode_listpack(items))
    want = Z.zl_pairs_py(lp)
    assert _same(C.zl_pairs(lp), want)
    # the new score anywhere, and right at or next to every score there (the walk of
    # zl_insert decides far-apart comparisons on an approximate reading of the text)
    near = [math.nextafter(s, d) for _, s in want for d in (-math.inf, math.inf)]
    for x in [new, *(s for _, s in want), *near]:
        a, b = bytearray(lp), bytearray(lp)
        Z.zl_insert_py(a, b"new", x)
        C.zl_insert(b, b"new", x)
        assert a == b, x
