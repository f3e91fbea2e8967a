"""rdbtools.dedup against a plain reference: first/last keep what a dict would, error
names the key and both offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rdbtools.dedup import DuplicateKeyError, dedup, last_positions
from rdbtools.model import Aux, Record

_rows = st.lists(st.tuples(st.integers(0, 2), st.sampled_from([b"a", b"b", b"c", b"d"])), max_size=30)


def _records(rows: list[tuple[int, bytes]]) -> list:
    recs: list = [Aux(b"redis-ver", b"7.0.15")]
    for i, (db, key) in enumerate(rows):
        recs.append(Record(db, key, "string", b"%d" % i, offset=100 + i))
    return recs


@given(_rows)
def test_first_and_last_keep_what_a_dict_would(rows: list[tuple[int, bytes]]) -> None:
    recs = _records(rows)
    first: dict = {}
    last: dict = {}
    for r in recs[1:]:
        first.setdefault((r.db, r.key), r.value)
        last[(r.db, r.key)] = r.value
    got_first = [e for e in dedup(recs, "first") if type(e) is Record]
    got_last = [e for e in dedup(recs, "last", last_positions(recs)) if type(e) is Record]
    assert {(r.db, r.key): r.value for r in got_first} == first and len(got_first) == len(first)
    assert {(r.db, r.key): r.value for r in got_last} == last and len(got_last) == len(last)
    assert type(next(iter(dedup(recs, "first")))) is Aux  # other events pass through


@given(_rows)
def test_error_names_both_offsets(rows: list[tuple[int, bytes]]) -> None:
    recs = _records(rows)
    if len(set(rows)) == len(rows):
        assert list(dedup(recs, "error")) == recs
        return
    with pytest.raises(DuplicateKeyError) as info:
        list(dedup(recs, "error", reread=lambda: recs))
    e = info.value
    offsets = [r.offset for r in recs[1:] if (r.db, r.key) == (e.db, e.key)]
    assert (e.first, e.second) == (offsets[0], offsets[1])
