"""``convert --on-duplicate``: a key that comes twice in the input.

A loading Redis refuses such a dump, so by default convert refuses the input, naming the
key and both positions, and writes nothing; ``first`` keeps the first record read,
``last`` the last one (what replaying the inputs in order leaves) — from a file, from
standard input (read twice through a temporary copy), from JSONL or an RDB.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.encoder import encode_bytes
from rdbtools.io import iter_records
from rdbtools.model import Record
from tests.conftest import ROOT


def _jsonl(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(json.dumps({"db": 0, "key": k, "type": "string", "value": v}) + "\n"
                            for k, v in values.items()))


def _values(rdb: Path) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for rec in iter_records(str(rdb)):
        assert rec.key not in out  # check's rule: every key once
        out[rec.key] = rec.value
    return out


@pytest.fixture
def doubled(tmp_path: Path) -> Path:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    _jsonl(a, {"one": "a1", "two": "a2", "three": "a3"})
    _jsonl(b, {"two": "b2", "four": "b4"})
    both = tmp_path / "both.jsonl"
    both.write_bytes(a.read_bytes() + b.read_bytes())
    return both


def test_refused_by_default_naming_the_key_and_both_positions(doubled: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.rdb"
    res = CliRunner().invoke(cli, ["convert", str(doubled), str(out)])
    assert res.exit_code == ExitStatus.CORRUPT_INPUT, res.output
    second = doubled.read_bytes().index(b'"two", "type": "string", "value": "b2"') - len(b'{"db": 0, "key": ')
    first = doubled.read_bytes().index(b'{"db": 0, "key": "two"')
    assert f"duplicate key b'two' in db 0: at offset {first} and at offset {second}" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize(("policy", "two"), [("first", b"a2"), ("last", b"b2")])
def test_first_or_last_keeps_one(doubled: Path, tmp_path: Path, policy: str, two: bytes) -> None:
    out = tmp_path / "out.rdb"
    res = CliRunner().invoke(cli, ["convert", str(doubled), str(out), "--on-duplicate", policy])
    assert res.exit_code == 0, res.output
    assert _values(out) == {b"one": b"a1", b"two": two, b"three": b"a3", b"four": b"b4"}


@pytest.mark.parametrize(("policy", "status", "two"), [("error", 3, None), ("first", 0, b"a2"), ("last", 0, b"b2")])
def test_from_standard_input(doubled: Path, tmp_path: Path, policy: str, status: int, two: bytes | None) -> None:
    out = tmp_path / "out.rdb"
    res = subprocess.run([sys.executable, "-m", "cli", "convert", "-", str(out), "--from", "jsonl",
                          "--on-duplicate", policy], input=doubled.read_bytes(), capture_output=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == status, res.stderr
    if two is None:
        assert b"duplicate key b'two' in db 0: again at offset" in res.stderr and not out.exists()
    else:
        assert _values(out)[b"two"] == two


def test_an_rdb_holding_a_key_twice(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(encode_bytes([Record(0, b"k", "string", b"old"), Record(0, b"x", "string", b"1"),
                                  Record(0, b"k", "string", b"new")]))
    res = CliRunner().invoke(cli, ["convert", str(bad), str(tmp_path / "o.rdb")])
    assert res.exit_code == ExitStatus.CORRUPT_INPUT and "duplicate key b'k' in db 0: at offset" in res.stderr
    res = CliRunner().invoke(cli, ["convert", str(bad), str(tmp_path / "o.rdb"), "--on-duplicate", "last"])
    assert res.exit_code == 0, res.output
    assert _values(tmp_path / "o.rdb") == {b"k": b"new", b"x": b"1"}
