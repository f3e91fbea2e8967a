"""``rdbkit diff`` compares what an RDB holds besides keys: function libraries always
(a --lossy copy that dropped libraries is not "equal"), aux fields with ``--aux``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.encoder import encode_bytes
from rdbtools.model import Aux, FunctionLibrary, Record

KEYS = [Record(0, b"k%d" % i, "string", b"v") for i in range(3)]


def _lib(name: str, body: str = "return 1") -> FunctionLibrary:
    return FunctionLibrary(f"#!lua name={name}\nredis.register_function('{name}_f', function() {body} end)".encode())


def _rdb(path: Path, *events: object, **kw: object) -> str:
    path.write_bytes(encode_bytes([*events, *KEYS], **kw))
    return str(path)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_libraries_missing_or_changed_make_the_dumps_different(tmp_path: Path) -> None:
    both = _rdb(tmp_path / "both.rdb", _lib("one"), _lib("two"))
    same = _rdb(tmp_path / "same.rdb", _lib("one"), _lib("two"))
    fewer = _rdb(tmp_path / "fewer.rdb", _lib("one"))
    edited = _rdb(tmp_path / "edited.rdb", _lib("one", "return 2"), _lib("two"))
    assert run("diff", both, same).exit_code == ExitStatus.OK
    res = run("diff", both, fewer)
    assert res.exit_code == ExitStatus.DIFFERENT, res.output
    assert 'function library: "two": only in A' in res.output
    assert "no key differences; 1 function libraries differ" in res.output
    res = run("diff", edited, both, "--format", "jsonl")
    assert res.exit_code == ExitStatus.DIFFERENT
    (obj,) = [json.loads(line) for line in res.output.splitlines()]
    assert obj["diff"] == "function" and obj["name"] == "one" and "return 2" in obj["a"]


def test_aux_fields_compared_only_when_asked(tmp_path: Path) -> None:
    a = _rdb(tmp_path / "a.rdb", Aux(b"redis-ver", b"7.0.15"), aux="passthrough")
    b = _rdb(tmp_path / "b.rdb", Aux(b"redis-ver", b"6.2.14"), aux="passthrough")
    assert run("diff", a, b).exit_code == ExitStatus.OK
    res = run("diff", a, b, "--aux")
    assert res.exit_code == ExitStatus.DIFFERENT, res.output
    assert 'aux: "redis-ver": "7.0.15" -> "6.2.14"' in res.output
