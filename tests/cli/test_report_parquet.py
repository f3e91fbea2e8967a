"""``rdbkit report FILE... -o keys.parquet``: the per-key report as Apache Parquet, read
back with pyarrow and held to the CSV report of the same files (db, type, key, size,
encoding, counts, expiry, source), several files read in parallel (--jobs)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.support.manifest import FIXTURES

pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is a test extra (pip install -e '.[test]')")

FILES = [str(FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"), str(FIXTURES / "rdb" / "redis-6.2" / "dump.rdb")]


def _iso(ts: object) -> str:
    if ts is None:
        return ""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"  # type: ignore[attr-defined]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_parquet_rows_equal_the_csv_report(tmp_path: Path, jobs: str) -> None:
    out = tmp_path / "keys.parquet"
    res = CliRunner().invoke(cli, ["report", *FILES, "-o", str(out), "--jobs", jobs])
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    assert table.schema.names == ["db", "key", "type", "encoding", "size_in_bytes", "num_elements",
                                  "len_largest_element", "expiry", "idle", "freq", "source"]
    got = [[r["db"], r["type"], r["key"].decode("utf-8", "backslashreplace"), r["size_in_bytes"],
            r["encoding"], r["num_elements"], r["len_largest_element"], _iso(r["expiry"]), r["source"]]
           for r in table.to_pylist()]
    text = CliRunner().invoke(cli, ["report", *FILES]).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][-1] == "source"
    want = [[int(r[0]), r[1], r[2], int(r[3]), r[4], int(r[5]), int(r[6]), r[7], r[8]] for r in rows[1:]]
    assert got == want and len(got) > 100


def test_parquet_refuses_the_text_summary(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["report", FILES[0], "-o", str(tmp_path / "k.parquet"), "--top", "5"])
    assert res.exit_code == 2 and not (tmp_path / "k.parquet").exists()
