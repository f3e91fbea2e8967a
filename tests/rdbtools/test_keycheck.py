"""``rdbtools.keycheck._repeats``: the digests met in two sorted runs, found range by range."""

from __future__ import annotations

import random
import tempfile
from array import array

import pytest

from rdbtools import keycheck


def _runs(values: list[list[int]]) -> list:
    files = []
    for run in values:
        f = tempfile.TemporaryFile()
        f.write(array("Q", sorted(run)).tobytes())
        files.append(f)
    return files


@pytest.mark.parametrize("slice_", [1, 7, 1 << 17])
def test_repeats_across_runs_at_every_range_edge(monkeypatch, slice_: int) -> None:
    monkeypatch.setattr(keycheck, "_SLICE", slice_)
    monkeypatch.setattr(keycheck, "_BLOCK", 64)  # blocks of 8 digests: cursors refill often
    rnd = random.Random(slice_)
    values = list({rnd.getrandbits(64) for _ in range(3000)} - {0, 1, 1 << 63, (1 << 64) - 1})
    edges = [0, 1, (1 << 63), (1 << 64) - 1]  # the smallest, largest and a middle digest
    runs = [values[:1000] + edges[:2], values[1000:2000] + edges[2:], values[2000:]]
    files = _runs(runs)
    total = sum(map(len, runs))
    try:
        assert keycheck._repeats(files, total) == set()
        dup = [values[5], values[2500], 0, (1 << 64) - 1]
        files += _runs([dup])
        assert keycheck._repeats(files, total + len(dup)) == set(dup)
    finally:
        for f in files:
            f.close()
