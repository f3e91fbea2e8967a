"""``check``, ``report``, ``keys``: the duplicate-key check keeps its digests on disk past
a number of keys (rdbtools.keycheck) and still refuses a key read twice, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from rdbtools import keycheck
from rdbtools.encoder import encode_bytes
from rdbtools.model import Record
from rdbtools.spill import SortedRuns


@pytest.fixture
def drains(monkeypatch) -> list[int]:
    monkeypatch.setattr(keycheck, "KEYS_IN_MEMORY", 7)
    out: list[int] = []
    real = SortedRuns.add_sorted
    monkeypatch.setattr(SortedRuns, "add_sorted", lambda self, data: (out.append(len(data)), real(self, data)))
    return out


def _rdb(tmp_path: Path, dup: bool) -> Path:
    recs = [Record(i % 2, b"key:%d" % i, "string", b"v%d" % i) for i in range(20_000)]
    if dup:
        recs.append(Record(1, b"key:3", "list", [b"again"]))
    recs.sort(key=lambda r: r.db)
    path = tmp_path / ("dup.rdb" if dup else "ok.rdb")
    path.write_bytes(encode_bytes(recs, target_version=10, aux=None))
    return path


@pytest.mark.parametrize("verb", [["check"], ["report", "--summary"], ["keys"]])
def test_duplicate_check_drains_and_still_refuses(tmp_path: Path, drains: list[int], verb: list[str]) -> None:
    ok = CliRunner().invoke(cli, [*verb, str(_rdb(tmp_path, dup=False))])
    assert ok.exit_code == 0, ok.output
    assert drains  # the table was emptied to disk (every 2048 keys past the limit)
    bad = CliRunner().invoke(cli, [*verb, str(_rdb(tmp_path, dup=True))])
    assert bad.exit_code == 3
    assert "duplicated key" in bad.output and "key:3" in bad.output
