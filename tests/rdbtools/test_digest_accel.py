"""digest.c against rdbtools/digest.py: the same dataset digest for every record type.

The Python construction is the reference (itself held to real Redis by test_digest.py);
the C one hashes with its own SHA-1, by the CPU's SHA extensions where it has them, so
that SHA-1 is held to hashlib too, on both block functions and around the block and
padding boundaries. The C module is imported directly, whatever RDBKIT_PUREPYTHON says.
"""

from __future__ import annotations

import hashlib
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import digest as D
from rdbtools._accel import use_c
from rdbtools.model import Record, Stream

_c = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")

_bytes = st.binary(max_size=80)
_score = st.floats(allow_nan=True) | st.sampled_from([math.inf, -math.inf, -math.nan, 0.0, -0.0, 1e300])


def _stream(entries: list[tuple[tuple[int, int], list[tuple[bytes, bytes]]]]) -> Stream:
    ents = tuple((eid, tuple(fields)) for eid, fields in sorted(entries))
    last = ents[-1][0] if ents else (0, 0)
    return Stream(entries=ents, length=len(ents), last_id=last, first_id=None, max_deleted_id=None,
                  entries_added=None, groups=())


_ids = st.tuples(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
_values = st.one_of(
    st.tuples(st.just("string"), _bytes | _bytes.map(bytearray) | _bytes.map(memoryview)),
    st.tuples(st.just("list"), st.lists(_bytes, max_size=20)),
    st.tuples(st.just("set"), st.lists(_bytes, max_size=20, unique=True)),
    st.tuples(st.just("zset"), st.lists(st.tuples(_bytes, _score | st.integers(-2**53, 2**53)), max_size=20)),
    st.tuples(st.just("hash"), st.lists(st.tuples(_bytes, _bytes | _bytes.map(bytearray)), max_size=20)),
    st.tuples(st.just("set"), st.lists(_bytes | _bytes.map(bytearray), max_size=9)),
    st.tuples(st.just("stream"), st.lists(st.tuples(_ids, st.lists(st.tuples(_bytes, _bytes), max_size=4)),
                                           max_size=6).map(_stream)),
    st.tuples(st.just("module"), st.none()),
)
_records = st.lists(st.tuples(st.integers(0, 3), _bytes, _values, st.none() | st.integers(0, 2**40)),
                    max_size=12)


def _digest(records: list[Record], add_key: object) -> str:
    dd = D.DatasetDigest(add_key)
    for rec in sorted(records, key=lambda r: r.db):
        dd.add(rec)
    return dd.hexdigest()


@settings(max_examples=300, deadline=None)
@given(_records)
def test_c_digest_equals_python(rows: list) -> None:
    records = [Record(db, key, t, v, expire_ms=exp) for db, key, (t, v), exp in rows]
    assert _digest(records, _c.digest_record) == _digest(records, D._add_py)
    for rec in records:  # one key at a time too: no state leaks between keys
        a, b = bytearray(20), bytearray(20)
        _c.digest_record(a, rec)
        D._add_py(b, rec)
        assert a == b, rec


def test_the_switch_picks_the_digest() -> None:
    assert D._add_key is (_c.digest_record if use_c() else D._add_py)


def test_c_digest_refuses_what_it_cannot_walk() -> None:
    with pytest.raises(ValueError, match="unknown record type"):
        _c.digest_record(bytearray(20), Record(0, b"k", "nosuchtype", b""))
    with pytest.raises(TypeError):
        _c.digest_record(bytearray(20), Record(0, b"k", "hash", [(b"only-field",)]))
    with pytest.raises(TypeError):
        _c.digest_record(bytearray(19), Record(0, b"k", "string", b"v"))


@pytest.mark.parametrize("portable", [False, True], ids=["cpu", "portable"])
def test_sha1_equals_hashlib(portable: bool) -> None:
    for n in [*range(0, 200), 447, 448, 1000, 4096, 65536 + 3]:
        data = os.urandom(n)
        assert _c.digest_sha1(data, portable) == hashlib.sha1(data).digest(), n
