"""One input layer for the verbs: ``dump``, ``convert`` and ``diff`` read an RDB, a JSONL
dump and the JSON array ``dump --format json`` writes, told apart by content (not by the
file's name); ``convert`` also takes an AOF directory, as ``check`` and ``compact`` do."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_dump_and_diff_read_their_own_outputs(tmp_path: Path) -> None:
    as_jsonl = run("dump", str(RDB)).stdout
    arr = tmp_path / "a.json"
    assert run("dump", "--format", "json", str(RDB), "-o", str(arr)).exit_code == 0
    assert len(json.loads(arr.read_text())) == len(as_jsonl.splitlines())
    jl = tmp_path / "a.jsonl"
    jl.write_text(as_jsonl)
    odd = tmp_path / "named.rdb"  # a JSON array under an RDB's name: read as what it is
    odd.write_bytes(arr.read_bytes())
    for src in (arr, jl, odd):
        res = run("dump", str(src))
        assert res.exit_code == 0, res.output
        assert res.stdout == as_jsonl
        assert run("diff", "-q", str(src), str(RDB)).exit_code == ExitStatus.OK


def test_convert_json_array_both_ways(tmp_path: Path) -> None:
    arr = tmp_path / "a.json"
    assert run("convert", str(RDB), str(arr)).exit_code == 0  # .json: the array form
    assert arr.read_text().startswith("[")
    back = tmp_path / "back.rdb"
    res = run("convert", str(arr), str(back))
    assert res.exit_code == 0, res.output
    assert run("dump", str(back)).stdout == run("dump", str(RDB)).stdout  # the keys (JSON holds no libraries)


def test_json_array_on_one_line_is_refused_in_one_line(tmp_path: Path) -> None:
    arr = tmp_path / "a.json"
    run("dump", "--format", "json", str(RDB), "-o", str(arr))
    one = tmp_path / "one.json"
    one.write_text(json.dumps(json.loads(arr.read_text())))
    res = run("dump", str(one))
    assert res.exit_code == ExitStatus.CORRUPT_INPUT
    assert "more than one element on a line" in res.stderr and "Traceback" not in res.output


def test_convert_takes_an_aof_directory(tmp_path: Path) -> None:
    src = next(p for p in sorted((FIXTURES / "aof" / "redis-7.0.15").rglob("*.manifest")))
    out = tmp_path / "o.jsonl"
    res = run("convert", str(src.parent), str(out), "--lossy")
    assert res.exit_code == 0, res.output
    assert out.read_text().count("\n") > 0
