"""The JSON contract round-trips, and the fast line writer equals json.dumps of the dict form."""

from __future__ import annotations

import json

import pytest

from rdbtools import Record, read_all
from rdbtools.jsonl import record_from_json, record_to_json, record_to_line
from tests.support.manifest import iter_fixture_rdbs

FILES = iter_fixture_rdbs()


def _canon(r: Record):
    return record_to_json(r)


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_round_trip_and_fast_writer(path):
    for r in read_all(path):
        if type(r) is not Record:
            continue
        obj = record_to_json(r)
        line = record_to_line(r)
        assert json.loads(line) == obj
        assert line == json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        back = record_from_json(json.loads(line))
        assert record_to_json(back) == obj


def test_nan_scores_are_faithful() -> None:
    """NaN scores are "nan"/"-nan" (never "-inf"), and a zset holding one keeps its order."""
    import math

    r = Record(0, b"z", "zset", [(b"b", 2.0), (b"m", -math.nan), (b"a", 1.0), (b"n", math.nan)])
    line = record_to_line(r)
    assert '["m","-nan"]' in line and '["n","nan"]' in line and "inf" not in line
    assert line == json.dumps(record_to_json(r), ensure_ascii=False, separators=(",", ":"))
    back = record_from_json(json.loads(line))
    assert [m for m, _ in back.value] == [b"b", b"m", b"a", b"n"]
    assert [math.copysign(1, s) for _, s in back.value if s != s] == [-1, 1]
