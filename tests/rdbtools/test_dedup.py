"""rdbtools.dedup against a plain reference: first/last keep what a dict would, error
names the key and both offsets — in memory and with every structure spilled to disk
(one record a sorted run, a digest table of 3 keys)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdbtools import dedup as dedup_mod
from rdbtools import keycheck
from rdbtools.dedup import DuplicateKeyError, UnnamedDuplicateError, dedup, find_drops
from rdbtools.model import Aux, Record

_rows = st.lists(st.tuples(st.integers(0, 2), st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"])),
                 max_size=40)


@pytest.fixture(params=["memory", "spilled"])
def spill(request, monkeypatch) -> str:
    """Each test twice: as it runs, and with a run of one record and a table of 3 digests."""
    if request.param == "spilled":
        monkeypatch.setattr(dedup_mod, "RUN_BYTES", 32)
        monkeypatch.setattr(dedup_mod, "_DRAIN_EVERY", 1)
        monkeypatch.setattr(keycheck, "KEYS_IN_MEMORY", 3)
    return request.param


def _records(rows: list[tuple[int, bytes]]) -> list:
    recs: list = [Aux(b"redis-ver", b"7.0.15")]
    for i, (db, key) in enumerate(rows):
        recs.append(Record(db, key, "string", b"%d" % i, offset=100 + i))
    return recs


def _kept(recs: list, policy: str) -> list:
    with find_drops(recs, policy) as drops:
        return list(dedup(recs, policy, drops=drops))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the patch holds for all inputs
@given(rows=_rows)
def test_first_and_last_keep_what_a_dict_would(spill: str, rows: list[tuple[int, bytes]]) -> None:
    recs = _records(rows)
    first: dict = {}
    last: dict = {}
    for r in recs[1:]:
        first.setdefault((r.db, r.key), r.value)
        last[(r.db, r.key)] = r.value
    got_first = [e for e in _kept(recs, "first") if type(e) is Record]
    got_last = [e for e in _kept(recs, "last") if type(e) is Record]
    assert {(r.db, r.key): r.value for r in got_first} == first and len(got_first) == len(first)
    assert {(r.db, r.key): r.value for r in got_last} == last and len(got_last) == len(last)
    assert [r.offset for r in got_first] == sorted(r.offset for r in got_first)  # input order
    assert [r.offset for r in got_last] == sorted(r.offset for r in got_last)
    assert type(_kept(recs, "first")[0]) is Aux  # other events pass through


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the patch holds for all inputs
@given(rows=_rows)
def test_error_names_the_first_repeat_and_both_offsets(spill: str, rows: list[tuple[int, bytes]]) -> None:
    recs = _records(rows)
    if len(set(rows)) == len(rows):
        assert list(dedup(recs, "error", again=lambda: recs)) == recs
        return
    with pytest.raises(DuplicateKeyError) as info:
        list(dedup(recs, "error", again=lambda: recs))
    e = info.value
    seen: dict = {}
    for r in recs[1:]:  # the key whose second occurrence comes first
        if (r.db, r.key) in seen:
            assert (e.db, e.key, e.first, e.second) == (r.db, r.key, seen[(r.db, r.key)], r.offset)
            break
        seen[(r.db, r.key)] = r.offset


def test_error_without_a_second_read(spill: str) -> None:
    """Standard input: a repeat met in the table is named at its second position; one
    found across runs when the pass ends cannot be named."""
    recs = _records([(0, b"a"), (0, b"b"), (0, b"a")])
    with pytest.raises(DuplicateKeyError, match="again at offset 102"):
        list(dedup(recs, "error"))
    recs = _records([(0, b"a"), (0, b"b"), (0, b"c"), (0, b"d"), (0, b"e"), (0, b"a")])
    with pytest.raises(DuplicateKeyError if spill == "memory" else UnnamedDuplicateError):
        list(dedup(recs, "error"))
