"""``rdbkit check`` on empty and near-empty AOFs, side by side with redis-check-aof 7.0.

A 0-byte ``appendonly.aof`` is what Redis <= 6.2 creates at start with ``appendonly
yes``, and what ``--fix`` leaves of a file whose first command is damaged: the tool calls
it empty and valid. For each small file below, our verdict, exit status (the tool's 1 is
our 3, corrupt input), transcript and the bytes ``--fix`` leaves must be the tool's. (A
damaged RDB preamble is described in our words, not redis-check-rdb's: there the verdict
line, status and fix are compared. ``*0``/``*-1`` records, which the tool passes and the
server refuses, are left out: we side with the server.)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli

CHECK_AOF = shutil.which("redis-check-aof") or "/usr/bin/redis-check-aof"

NEAR_EMPTY = [
    b"", b"\n", b"\r\n", b" ", b"x", b"*", b"*1", b"*1\r", b"*1\r\n", b"*1\r\n$", b"*1\r\n$4\r\n",
    b"*1\r\n$4\r\nPI", b"*1\r\n$4\r\nPING", b"*1\r\n$4\r\nPING\r", b"*1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n*", b"#", b"#TS:1\r\n", b"#\r\n*", b"$", b"\0",
    b"*2\r\n$6\r\nSELECT\r\n", b"*1\r\n$5\r\nMULTI\r\n", b"REDIS", b"REDIS0010",
]


def _tool(path: Path, *args: str) -> tuple[int, list[str]]:
    res = subprocess.run([CHECK_AOF, *args, str(path)], capture_output=True, input=b"y\n",
                         timeout=30)
    return res.returncode, res.stdout.decode("utf-8", "surrogateescape").splitlines()


def _ours(path: Path, *args: str) -> tuple[int, list[str]]:
    res = CliRunner().invoke(cli, ["check", *args, str(path)], input="y\n")
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.stdout.splitlines()


def _as_ours(code: int) -> int:
    return {0: 0, 1: ExitStatus.CORRUPT_INPUT}[code]


def _same(data: bytes, ours: tuple[int, list[str]], tool: tuple[int, list[str]]) -> None:
    code, lines = tool
    if len(data) >= 8 and data.startswith(b"REDIS"):  # the RDB part's words differ
        assert (ours[0], ours[1][:1], ours[1][-1:]) == (_as_ours(code), lines[:1], lines[-1:])
    else:
        assert ours == (_as_ours(code), lines)


@pytest.mark.differential
@pytest.mark.parametrize("data", NEAR_EMPTY, ids=repr)
def test_near_empty_aof_like_redis_check_aof(tmp_path: Path, data: bytes) -> None:
    if not Path(CHECK_AOF).exists():
        pytest.skip("no redis-check-aof")
    p = tmp_path / "appendonly.aof"
    p.write_bytes(data)
    _same(data, _ours(p), _tool(p))
    # --fix: the same dialogue, exit status and bytes left behind
    tool = _tool(p, "--fix")
    fixed = p.read_bytes()
    p.write_bytes(data)
    _same(data, _ours(p, "--fix", "--no-backup"), tool)
    assert p.read_bytes() == fixed
    # and what is left checks as the tool says (a fixed file is never flagged)
    _same(fixed, _ours(p), _tool(p))


MULTI_PART = [
    (b"", b""), (b"", b"*"), (b"", b"\n"), (b"", b"*1\r\n$4\r\nPI"), (b"\n", b""),
    (b"*1\r\n$4\r\nPING\r\n", b"*1\r\n$4\r\nPING\r\n*"), (b"#", b"\r\n"),
]


@pytest.mark.differential
@pytest.mark.parametrize(("base", "incr"), MULTI_PART, ids=repr)
def test_near_empty_multipart_like_redis_check_aof(tmp_path: Path, base: bytes, incr: bytes) -> None:
    """The same through a manifest (Redis 7 names: base .rdb, an incr .aof)."""
    if not Path(CHECK_AOF).exists():
        pytest.skip("no redis-check-aof")
    d = tmp_path / "appendonlydir"
    d.mkdir()
    manifest = d / "appendonly.aof.manifest"
    manifest.write_text("file appendonly.aof.1.base.rdb seq 1 type b\n"
                        "file appendonly.aof.1.incr.aof seq 1 type i\n")
    files = {d / "appendonly.aof.1.base.rdb": base, d / "appendonly.aof.1.incr.aof": incr}
    for p, data in files.items():
        p.write_bytes(data)
    code, lines = _tool(manifest)
    assert _ours(manifest) == (_as_ours(code), lines)
    code, lines = _tool(manifest, "--fix")
    fixed = {p: p.read_bytes() for p in files}
    for p, data in files.items():
        p.write_bytes(data)
    assert _ours(manifest, "--fix", "--no-backup") == (_as_ours(code), lines)
    assert {p: p.read_bytes() for p in files} == fixed


def test_empty_aof_in_any_name_with_aof_flag(tmp_path: Path) -> None:
    """What ``--fix`` truncated to nothing stays a valid (empty) AOF when read as one."""
    p = tmp_path / "journal"
    p.write_bytes(b"*1\r\n$4\r\nPI")
    res = CliRunner().invoke(cli, ["check", "--fix", "--yes", "--no-backup", str(p)])
    assert res.exit_code == 0 and p.read_bytes() == b""
    res = CliRunner().invoke(cli, ["check", "--aof", str(p)])
    assert res.exit_code == 0 and res.stdout.splitlines()[-1] == f"AOF {p} is empty"
    # without the flag or an .aof name, a 0-byte file is no RDB: corrupt
    res = CliRunner().invoke(cli, ["check", str(p)])
    assert res.exit_code == ExitStatus.CORRUPT_INPUT
    assert "empty file" in res.output and str(p) in res.output
