"""LZ4 inputs are recognised by content, not by name: a plain RDB named ``*.lz4`` is read
as what it is, and a damaged or cut LZ4 frame is corrupt input (exit 3, one line naming
the file) for every reading verb — never a traceback."""

from __future__ import annotations

from pathlib import Path

import lz4.frame
import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("verb", [["check"], ["dump"], ["report"], ["diff", "-q", str(RDB)]])
def test_plain_rdb_named_lz4_is_read(tmp_path: Path, verb: list[str]) -> None:
    f = tmp_path / "plain.rdb.lz4"
    f.write_bytes(RDB.read_bytes())
    res = run(*verb, str(f))
    assert res.exit_code == ExitStatus.OK, res.output


@pytest.mark.parametrize("verb", [["check"], ["dump"], ["report"], ["diff", "-q", str(RDB)]])
@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_damaged_lz4_frame_is_corrupt_input(tmp_path: Path, verb: list[str], damage: str) -> None:
    whole = lz4.frame.compress(RDB.read_bytes())
    data = whole[: len(whole) // 2] if damage == "cut" else whole[:4] + b"\xff" * 40
    f = tmp_path / "bad.rdb.lz4"
    f.write_bytes(data)
    res = run(*verb, str(f))
    assert res.exit_code == ExitStatus.CORRUPT_INPUT, res.output
    assert "Traceback" not in res.output and "LZ4" in res.stderr and "bad.rdb.lz4" in res.stderr


def test_lz4_output_by_name_reads_back(tmp_path: Path) -> None:
    out = tmp_path / "copy.rdb.lz4"
    assert run("convert", str(RDB), str(out)).exit_code == ExitStatus.OK
    assert out.read_bytes()[:4] == b"\x04\x22\x4d\x18"
    assert run("diff", "-q", str(RDB), str(out)).exit_code == ExitStatus.OK
