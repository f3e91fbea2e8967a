"""``runs=True``: the reader's plain commands as CommandRun items, the same commands expanded.

The AOF loader takes the commands between SELECT/MULTI/EXEC and annotations as runs of
bare argvs. Expanded (``aof.commands.expand_runs``) they must be exactly the Command
items a reader without runs yields — argv, db, offsets, ts, file — whatever the feeding,
the truncation point, the C scanner or the pure-Python parser.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aof.commands import Command, CommandRun, expand_runs
from aof.errors import AofError, AofFormatError, AofTruncatedError
from aof.reader import AofDecoder, AofReader
from aof.replies import encode_command as enc
from tests.aof.test_reader import IDS, SAMPLE, SOURCES, _preamble_sample, decode_with_splits

MIXED = (
    SAMPLE
    + enc([b"SET", b"a", b"1"]) + enc([b"INCR", b"n"]) + enc([b"exec"])  # EXEC outside MULTI
    + enc([b"sElEcT", b"4"]) + enc([b"HSET", b"h", b"f", b"v"])
    + b"#TS:1700000009\r\n" + enc([b"DEL", b"a"]) + enc([b"DEL", b"b"])
    + enc([b"SET", b"c", b"3"])
    + enc([b"Multi"]) + enc([b"SELECT", b"7"]) + enc([b"SET", b"d", b"4"]) + enc([b"EXEC"])
    + enc([b"SET", b"e", b"5"])
)


def _runs_and_plain(data: bytes, cuts: list[int]) -> tuple[list, list, AofDecoder, AofDecoder]:
    with_runs, d1 = decode_with_splits(data, cuts, runs=True)
    plain, d2 = decode_with_splits(data, cuts)
    return with_runs, plain, d1, d2


@pytest.mark.parametrize("data", [MIXED, _preamble_sample() + MIXED], ids=["resp", "preamble"])
def test_runs_expand_to_the_same_commands(data: bytes, resp_scan: str) -> None:
    with_runs, plain, d1, d2 = _runs_and_plain(data, [])
    assert list(expand_runs(with_runs)) == plain
    assert [c.file for c in expand_runs(with_runs) if type(c) is Command] == [
        c.file for c in plain if type(c) is Command]
    runs = [x for x in with_runs if type(x) is CommandRun]
    assert runs and max(map(len, runs)) >= 2  # the point: several commands in one item
    for r in runs:  # no run holds a command the reader tracks
        assert not {a[0].lower() for a in r.argvs} & {b"select", b"multi", b"exec"}
        assert r.offset == r.command(0).offset and r.end == r.command(len(r) - 1).end
        assert [r.offset_of(i) for i in range(len(r))] == [c.offset for c in r.commands()]
    assert (d1.offset, d1.valid_up_to, d1.db, d1.in_multi) == (d2.offset, d2.valid_up_to, d2.db,
                                                                d2.in_multi)
    # one byte at a time: no run spans a feed, the commands are the same
    bytewise, _ = decode_with_splits(data, list(range(1, len(data))), runs=True)
    assert list(expand_runs(bytewise)) == plain


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(MIXED)), max_size=20))
def test_runs_random_splits(cuts: list[int]) -> None:
    with_runs, plain, d1, d2 = _runs_and_plain(MIXED, cuts)
    assert list(expand_runs(with_runs)) == plain
    assert d1.offset == d2.offset == len(MIXED)


def test_runs_truncation_at_every_offset(resp_scan: str) -> None:
    for cut in range(len(MIXED) + 1):
        part = MIXED[:cut]
        plain = AofReader(part)
        want = list(plain)
        runs = AofReader(part, runs=True)
        assert list(expand_runs(runs)) == want, cut
        assert runs.truncation == plain.truncation, cut
        if plain.truncation is not None:
            with pytest.raises(AofTruncatedError) as ei:
                list(AofReader(part, load_truncated=False, runs=True))
            assert ei.value.valid_up_to == plain.truncation.valid_up_to


@pytest.mark.parametrize(("good", "bad"), [
    (enc([b"SET", b"a", b"1"]) + enc([b"SET", b"b", b"2"]), b"xyz\r\n"),
    (enc([b"PING"]) + enc([b"PING"]), b"*1\r\n+PONG\r\n"),
])
def test_runs_bad_format_same_error(good: bytes, bad: bytes, resp_scan: str) -> None:
    got: list = []
    with pytest.raises(AofFormatError) as ei:
        for x in AofReader(good + bad, runs=True):
            got.append(x)
    with pytest.raises(AofFormatError) as plain:
        list(AofReader(good + bad))
    assert ei.value.offset == plain.value.offset and str(ei.value) == str(plain.value)
    assert list(expand_runs(got)) == list(AofReader(good))


@pytest.mark.parametrize("src", SOURCES, ids=IDS)
def test_runs_every_fixture(src: Path) -> None:
    plain = AofReader(src, annotations=True)
    runs = AofReader(src, annotations=True, runs=True)
    assert list(expand_runs(runs)) == list(plain)
    assert runs.truncation == plain.truncation


def _outcome(data: bytes, runs: bool) -> tuple[list, object]:
    items: list = []
    try:
        for x in AofReader(data, runs=runs):
            items.append(x)
    except AofError as exc:
        return list(expand_runs(items)), (type(exc), str(exc), exc.offset)
    return list(expand_runs(items)), None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(MIXED) - 1), st.binary(min_size=0, max_size=3)),
                min_size=1, max_size=4))
def test_runs_on_damaged_input(edits: list[tuple[int, bytes]]) -> None:
    """Any damage: the same commands before it and the same error (text and offset)."""
    data = bytearray(MIXED)
    for pos, new in edits:
        data[pos : pos + 1] = new
    assert _outcome(bytes(data), True) == _outcome(bytes(data), False)
