"""The decoder gives the same events whatever the chunking, and stops after the trailer."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import NEED_DATA, End, Filter, RdbDecoder, Record, read_all
from tests.conftest import fixture_rdbs

FILES = fixture_rdbs()
IDS = [f"{p.parent.name}/{p.name}" for p in FILES]


def events_with_splits(data: bytes, cuts: list[int]) -> tuple[list, RdbDecoder]:
    dec = RdbDecoder()
    out = []
    prev = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        dec.feed(data[prev:cut])
        prev = cut
        while True:
            ev = dec.next_event()
            if ev is NEED_DATA or ev is None:
                break
            out.append(ev)
    dec.feed_eof()
    while (ev := dec.next_event()) not in (None, NEED_DATA):
        out.append(ev)
    return out, dec


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_whole_vs_random_chunks(path):
    data = path.read_bytes()
    whole = read_all(data)
    rnd = random.Random(len(data))
    cuts = [rnd.randrange(len(data)) for _ in range(200)]
    split, dec = events_with_splits(data, cuts)
    assert split == whole
    assert dec.done and dec.offset == len(data)
    assert isinstance(whole[-1], End)


def test_byte_by_byte_one_file():
    path = min(FILES, key=lambda p: p.stat().st_size)
    data = path.read_bytes()
    events, dec = events_with_splits(data, list(range(1, len(data))))
    assert events == read_all(data)


def test_trailing_data_is_left_unconsumed():
    data = FILES[0].read_bytes()
    dec = RdbDecoder()
    dec.feed(data + b"*1\r\n$4\r\nPING\r\n")
    events = []
    while (ev := dec.next_event()) not in (None, NEED_DATA):
        events.append(ev)
    assert isinstance(events[-1], End)
    assert dec.trailing_data == b"*1\r\n$4\r\nPING\r\n"
    assert dec.offset == len(data)


@settings(max_examples=40)
@given(st.data())
def test_hypothesis_split_points(data):
    path = data.draw(st.sampled_from(FILES[:12]))
    raw = path.read_bytes()
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    events, _ = events_with_splits(raw, cuts)
    assert events == read_all(raw)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_skip_and_load_end_at_the_same_offsets(path):
    """Filtering everything out walks the skip paths; every non-key event must line up."""
    data = path.read_bytes()
    loaded = read_all(data)
    skipped = read_all(data, filter=Filter(types=frozenset({"no-such-type"})))
    assert [e for e in loaded if type(e) is not Record] == skipped
    assert skipped[-1].offset == loaded[-1].offset


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_filters_select_exactly(path):
    data = path.read_bytes()
    records = [e for e in read_all(data) if type(e) is Record]
    dbs = {r.db for r in records}
    for db in dbs:
        got = [e for e in read_all(data, filter=Filter(dbs={db})) if type(e) is Record]
        assert got == [r for r in records if r.db == db]
    for t in {r.type for r in records}:
        got = [e for e in read_all(data, filter=Filter(types={t})) if type(e) is Record]
        assert got == [r for r in records if r.type == t]
    got = [e for e in read_all(data, filter=Filter(key="str:*")) if type(e) is Record]
    assert got == [r for r in records if r.key.startswith(b"str:")]
