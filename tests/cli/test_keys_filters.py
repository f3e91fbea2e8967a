"""``rdbkit keys`` and the filters every verb takes: --not-key, --expiry, --encoding,
--min-size/--max-size, each held to a reference computed from the decoded records (the
memory figures are report's estimates), on an RDB and on its JSONL dump alike."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from rdbtools.glob import glob_match
from rdbtools.io import iter_records
from rdbtools.memory import estimate
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
RECORDS = list(iter_records(str(RDB)))
SOME_TTL = sorted(r.expire_ms for r in RECORDS if r.expire_ms is not None)[len(
    [r for r in RECORDS if r.expire_ms is not None]) // 2]

CASES = {
    "--not-key=*:*": lambda r: not glob_match(b"*:*", r.key),
    "--expiry=none": lambda r: r.expire_ms is None,
    "--expiry=any": lambda r: r.expire_ms is not None,
    f"--expiry=before:{SOME_TTL}": lambda r: r.expire_ms is not None and r.expire_ms < SOME_TTL,
    f"--expiry=after:{SOME_TTL}": lambda r: r.expire_ms is not None and r.expire_ms > SOME_TTL,
    "--encoding=listpack": lambda r: estimate(r).encoding == "listpack",
    "--min-size=1k": lambda r: estimate(r).total >= 1024,
    "--max-size=200": lambda r: estimate(r).total <= 200,
}


@pytest.fixture(scope="module")
def jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keys") / "d.jsonl"
    assert CliRunner().invoke(cli, ["dump", str(RDB), "-o", str(out)]).exit_code == 0
    return out


@pytest.mark.parametrize("opt", list(CASES))
def test_filter_against_reference(opt: str, jsonl: Path) -> None:
    want = [b"%d\t%s" % (r.db, r.key) for r in RECORDS if CASES[opt](r)]
    assert want and len(want) < len(RECORDS), opt  # the case selects something, not all
    for src in (RDB, jsonl):
        res = CliRunner().invoke(cli, ["keys", "--with-db", opt, str(src)])
        assert res.exit_code == 0, res.output
        assert res.stdout_bytes.splitlines() == want, (opt, src.name)


def test_keys_lists_every_key_in_file_order() -> None:
    res = CliRunner().invoke(cli, ["keys", str(RDB)])
    assert res.stdout_bytes.splitlines() == [r.key for r in RECORDS]


@pytest.mark.parametrize("bad", ["--expiry=soon", "--expiry=before:yesterday", "--min-size=lots"])
def test_bad_filter_values_are_usage_errors(bad: str) -> None:
    res = CliRunner().invoke(cli, ["keys", bad, str(RDB)])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
