"""One rule for a 0-byte input in every verb: it is no RDB, so it is corrupt (exit 3, a
one-line error naming the file), never an empty dataset. The exceptions are the readings
where empty is a valid form: an AOF (redis-check-aof: "is empty") and a file named as a
JSONL dump (``rdbkit dump`` of an empty dataset writes 0 bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"


def run(*args: object, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def _refused(res, name: str) -> None:
    assert res.exit_code == ExitStatus.CORRUPT_INPUT, res.output
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit)
    err = res.stderr.strip().splitlines()
    assert err and name in err[-1] and "empty file (0 bytes)" in res.stderr, res.stderr


@pytest.mark.parametrize("name", ["dump.rdb", "data", "dump.rdb.lz4"])
@pytest.mark.parametrize("verb", [
    ["dump", "@"], ["dump", "--format", "json", "@"], ["check", "@"], ["report", "@"],
    ["report", "--summary", "@"],
    ["diff", "@", RDB], ["diff", RDB, "@"], ["convert", "@", "OUT.jsonl"],
    ["convert", "@", "OUT.rdb"],
])
def test_zero_byte_file_is_corrupt_in_every_verb(tmp_path: Path, verb: list, name: str) -> None:
    empty = tmp_path / name
    if name.endswith(".lz4"):
        import lz4.frame

        empty.write_bytes(lz4.frame.compress(b""))
    else:
        empty.write_bytes(b"")
    args = [str(empty) if a == "@" else str(tmp_path / a) if a == "OUT.jsonl" or a == "OUT.rdb"
            else a for a in verb]
    res = run(*args)
    _refused(res, str(empty))
    assert not (tmp_path / "OUT.jsonl").exists() and not (tmp_path / "OUT.rdb").exists()


def test_zero_bytes_on_stdin_is_corrupt() -> None:
    for verb in (["dump", "-"], ["report", "-"], ["diff", "-", RDB], ["convert", "--to", "jsonl", "-", "-"]):
        res = run(*verb, input=b"")
        _refused(res, "<stdin>")


def test_empty_jsonl_dump_and_empty_aof_stay_valid(tmp_path: Path) -> None:
    """Where empty is a real form, it stays valid: a dump of an empty dataset, an AOF."""
    empty_rdb = tmp_path / "empty.rdb"
    res = run("convert", tmp_path / "none.jsonl", empty_rdb)  # no such file
    assert res.exit_code != 0
    jl = tmp_path / "empty.jsonl"
    jl.write_bytes(b"")
    res = run("convert", jl, empty_rdb)
    assert res.exit_code == 0, res.output
    assert run("dump", empty_rdb).stdout_bytes == b""
    assert run("diff", jl, empty_rdb).exit_code == 0
    assert run("report", "--summary", jl).exit_code == 0
    aof = tmp_path / "appendonly.aof"
    aof.write_bytes(b"")
    res = run("check", aof)
    assert res.exit_code == 0 and res.stdout.splitlines()[-1] == f"AOF {aof} is empty"
