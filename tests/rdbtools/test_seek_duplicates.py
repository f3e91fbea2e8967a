"""``DumpSource``'s duplicate-key check in bounded memory (``rdbtools.keycheck``): past a number of keys the
digest table is drained to sorted runs on disk, and a key read twice across runs is
refused when the pass ends — named, with both offsets, by a second pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbtools import keycheck, seek
from rdbtools.decoder import Filter
from rdbtools.encoder import encode_bytes
from rdbtools.errors import DuplicateKey
from rdbtools.model import Record
from rdbtools.seek import DumpSource
from rdbtools.spill import SortedRuns


@pytest.fixture
def small_table(monkeypatch):
    """A drain every few keys: the check crosses runs as it does past a million keys."""
    monkeypatch.setattr(keycheck, "KEYS_IN_MEMORY", 7)
    monkeypatch.setattr(seek, "_CHUNK", 4096)  # many reads, whichever decoder path
    drains = []
    real = SortedRuns.add_sorted
    monkeypatch.setattr(SortedRuns, "add_sorted", lambda self, data: (drains.append(len(data)), real(self, data)))
    return drains


def _rdb(tmp_path: Path, dup: bool) -> tuple[Path, list[Record]]:
    recs = [Record(i % 2, b"key:%d" % i, "string", b"v%d" % i) for i in range(20_000)]
    if dup:
        recs.append(Record(1, b"key:3", "list", [b"again"]))  # key:3 is in db 1, far back
    recs.sort(key=lambda r: r.db)
    path = tmp_path / "dump.rdb"
    path.write_bytes(encode_bytes(recs, target_version=10, aux=None))
    return path, recs


def test_no_duplicate_passes_with_the_table_drained(tmp_path, small_table) -> None:
    path, recs = _rdb(tmp_path, dup=False)
    with DumpSource(path) as src:
        assert [r.key for r in src.records()] == [r.key for r in recs]
    assert len(small_table) >= 5  # drained again and again


@pytest.mark.parametrize("flt", [None, Filter(dbs={0})], ids=["all", "filtered out"])
def test_a_key_read_twice_across_runs_is_refused_naming_both(tmp_path, small_table, flt) -> None:
    path, recs = _rdb(tmp_path, dup=True)
    with DumpSource(path) as whole:
        offsets = {}
        with pytest.raises(DuplicateKey) as info:
            for r in whole.records():
                offsets.setdefault(r.key, r.offset)
    err = info.value
    assert (err.key, err.db, err.source) == (b"key:3", 1, str(path))
    assert f"first at offset {offsets[b'key:3']}" in str(err) and err.offset > offsets[b"key:3"]
    with DumpSource(path, filter=flt) as src, pytest.raises(DuplicateKey):
        list(src.records())
    with DumpSource(path, check_duplicates=False) as src:
        assert len(list(src.records())) == len(recs)


def test_stdin_duplicate_is_refused_without_a_name(tmp_path, small_table, monkeypatch) -> None:
    import io
    import sys

    path, _ = _rdb(tmp_path, dup=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(path.read_bytes())))
    with DumpSource("-") as src, pytest.raises(DuplicateKey, match="stdin cannot be read again"):
        list(src.records())
