"""``rdbkit dump`` and ``rdbkit check`` through click's runner and one real subprocess each."""

from __future__ import annotations

import json
import subprocess
import sys

import lz4.frame
import pytest
from click.testing import CliRunner

from cli.main import cli
from rdbtools import Record, read_all
from rdbtools.jsonl import record_to_json
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
LEGACY = FIXTURES / "rdb" / "legacy" / "rdb-v1-types0-4.rdb"


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_dump_jsonl_is_the_contract():
    res = run("dump", str(RDB))
    assert res.exit_code == 0
    lines = [json.loads(x) for x in res.output.splitlines()]
    records = [e for e in read_all(RDB) if type(e) is Record]
    assert lines == [record_to_json(r) for r in records]
    for obj in lines:
        assert set(obj) >= {"db", "key", "type", "expire_ms", "value"}


def test_dump_json_array_and_filters():
    res = run("dump", str(RDB), "--format", "json", "--db", "1", "--type", "list")
    arr = json.loads(res.output)
    assert arr and all(o["db"] == 1 and o["type"] == "list" for o in arr)
    res = run("dump", str(RDB), "--key", "zset:*")
    keys = [json.loads(x)["key"] for x in res.output.splitlines()]
    assert keys and all(k.startswith("zset:") for k in keys)


def test_dump_reads_stdin_and_lz4(tmp_path):
    raw = RDB.read_bytes()
    plain = run("dump", str(RDB)).output
    assert run("dump", "-", input=raw).output == plain
    packed = tmp_path / "dump.rdb.lz4"
    packed.write_bytes(lz4.frame.compress(raw))
    assert run("dump", str(packed)).output == plain


def test_binary_keys_are_base64():
    lines = [json.loads(x) for x in run("dump", str(RDB)).output.splitlines()]
    assert any(isinstance(o["key"], dict) and "base64" in o["key"] for o in lines) or any(
        isinstance(o["value"], dict) and "base64" in o["value"] for o in lines
    )


def test_check_reports_version_aux_and_counts():
    res = run("check", str(RDB))
    assert res.exit_code == 0
    assert "RDB version 10" in res.output and "redis-ver = 7.0" in res.output
    assert "db 0:" in res.output and "OK" in res.output


def test_check_digest_is_what_a_loading_server_shows():
    # 07326958... is what real Redis 7.0 prints for DEBUG DIGEST after loading this file
    # (tests/rdbtools/test_digest.py checks the construction against a live server)
    res = run("check", "--digest", str(RDB))
    assert res.exit_code == 0
    assert "digest: 07326958f6611af7a53ab5106114767e0aaefff8" in res.output
    assert "digest:" not in run("check", str(RDB)).output


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: d[:-1] + bytes([d[-1] ^ 1]),  # wrong checksum
        lambda d: d[:20] + b"\xee" + d[21:],  # unknown type/opcode or checksum
        lambda d: b"REDIS0099" + d[9:],  # unsupported version
        lambda d: d[:-9],  # cut before EOF
    ],
)
def test_bad_files_fail_with_one_line_and_offset(tmp_path, mutate):
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(mutate(RDB.read_bytes()))
    for verb in ("check", "dump"):
        res = CliRunner().invoke(cli, [verb, str(bad)])
        assert res.exit_code == 3, res.output
        assert "Traceback" not in res.output
        assert "bad.rdb" in res.output and "offset" in res.output


def test_subprocess_smoke(tmp_path):
    out = subprocess.run([sys.executable, "-m", "cli", "dump", str(LEGACY)], capture_output=True,
                         check=True)
    assert out.stdout.count(b"\n") == len([e for e in read_all(LEGACY) if type(e) is Record])
    bad = tmp_path / "x.rdb"
    bad.write_bytes(b"REDIS0009\xfe")
    res = subprocess.run([sys.executable, "-m", "cli", "check", str(bad)], capture_output=True)
    assert res.returncode == 3
    assert b"Traceback" not in res.stderr and b"offset 10" in res.stderr
