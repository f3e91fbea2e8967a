"""``rdbtools.spill``: the in-place run sort (C and its pure-Python twin) and the merge."""

from __future__ import annotations

import os
import random

import pytest

from rdbtools import spill
from rdbtools.spill import RECORD, SIZE, SortedRuns, _sort_py

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")
SORTS = [_sort_py, C.sort_runs]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("n", [0, 1, 2, 15, 17, 1000])
def test_sort_is_byte_order(sort, n: int) -> None:
    rnd = random.Random(n)
    for data in (os.urandom(SIZE * n),  # distinct records
                 bytes(rnd.choice(b"\x00\x01") for _ in range(SIZE * n)),  # few distinct
                 bytes(SIZE * n)):  # all equal: quicksort's quadratic case
        buf = bytearray(data)
        sort(buf)
        assert bytes(buf) == b"".join(sorted(data[i:i + SIZE] for i in range(0, len(data), SIZE)))


def test_c_sort_refuses_a_partial_record() -> None:
    with pytest.raises(ValueError, match="33 bytes"):
        C.sort_runs(bytearray(33))


@pytest.mark.parametrize("run_bytes", [SIZE, SIZE * 3, 1 << 20])
def test_runs_merge_to_one_sorted_sequence(run_bytes: int, tmp_path) -> None:
    rnd = random.Random(1)
    recs = [(rnd.getrandbits(64), rnd.getrandbits(64), rnd.randrange(-9, 9), -(1 << 63))
            for _ in range(500)]
    with SortedRuns(run_bytes, str(tmp_path)) as runs:
        for r in recs:
            runs.add(*r)
        assert runs.count == 500
        assert list(runs) == sorted(recs) == sorted(RECORD.unpack(RECORD.pack(*r)) for r in recs)
        # one run in memory, or never more than the fan-in open (collapsed)
        assert runs.spilled == 0 if run_bytes > SIZE * 500 else 0 < runs.spilled < spill._FAN_IN
    assert list(tmp_path.iterdir()) == []
