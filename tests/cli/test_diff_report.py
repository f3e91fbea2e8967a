"""``rdbkit diff`` and ``rdbkit report`` through click's runner, plus one subprocess each."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys

import lz4.frame
import pytest
from click.testing import CliRunner

from cli.main import cli
from cli.output import Progress
from rdbtools.io import iter_records
from rdbtools.jsonl import record_to_json
from rdbtools.memory import estimate
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
RDB62 = FIXTURES / "rdb" / "redis-6.2" / "dump.rdb"


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


@pytest.fixture(scope="module")
def records():
    return list(iter_records(RDB))


@pytest.fixture()
def changed(tmp_path, records):
    """JSONL copy of the fixture with one string changed and one key dropped."""
    out = []
    for r in records:
        if r.key == b"str:len45":
            r = dataclasses.replace(r, value=b"z" * 45)
        elif r.key == b"db15:set":
            continue
        out.append(json.dumps(record_to_json(r)))
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


def test_diff_equal_exits_0(tmp_path):
    res = run("diff", RDB, RDB)
    assert res.exit_code == 0
    assert res.output.startswith("no differences (101 keys in A, 101 in B)")
    jl = tmp_path / "a.jsonl"
    jl.write_bytes(run("dump", RDB).stdout_bytes)
    assert run("diff", RDB, jl, "--format", "jsonl").output == ""
    assert run("diff", RDB, jl, "-q").exit_code == 0


def test_diff_different_exits_1_text_and_jsonl(changed, records):
    old = next(r.value for r in records if r.key == b"str:len45").decode()
    res = run("diff", RDB, changed)
    assert res.exit_code == 1
    lines = res.output.splitlines()
    assert f'value: db0 "str:len45" (string): "{old}" -> "{"z" * 45}"' in lines
    assert 'only in A: db15 "db15:set" (set, 3 members)' in lines
    assert lines[-1].startswith("2 keys differ: 1 only in A, 0 only in B, 1 changed")
    res = run("diff", RDB, changed, "--format", "jsonl")
    assert res.exit_code == 1
    objs = [json.loads(x) for x in res.output.splitlines()]
    assert objs[0] == {"diff": "value", "db": 0, "key": "str:len45", "type": "string",
                       "a": old, "b": "z" * 45}
    assert objs[1]["diff"] == "only_in_a" and objs[1]["value"] == ["1", "2", "3"]
    assert run("diff", RDB, changed, "-q").output == ""


def test_diff_filters(changed):
    assert run("diff", RDB, changed, "--db", "0", "--type", "set").exit_code == 0
    res = run("diff", RDB, changed, "--db", "15", "--format", "jsonl")
    assert res.exit_code == 1 and [json.loads(x)["key"] for x in res.output.splitlines()] == ["db15:set"]
    res = run("diff", RDB, changed, "--key", "str:*", "--format", "jsonl")
    assert [json.loads(x)["key"] for x in res.output.splitlines()] == ["str:len45"]
    res = run("diff", RDB, changed, "--key-regex", "^db1[0-9]:", "--format", "jsonl")
    assert [json.loads(x)["key"] for x in res.output.splitlines()] == ["db15:set"]


def test_diff_versions_stdin_and_lz4(tmp_path):
    res = run("diff", RDB, RDB62)  # two real servers' runs: random data differs
    assert res.exit_code == 1 and "only in A" in res.output
    packed = tmp_path / "a.rdb.lz4"
    packed.write_bytes(lz4.frame.compress(RDB.read_bytes()))
    assert run("diff", packed, "-", input=RDB.read_bytes()).exit_code == 0
    assert run("diff", "-", packed, input=RDB.read_bytes()).exit_code == 0
    res = run("diff", "-", "-", input=b"")
    assert res.exit_code == 2


def test_diff_corrupt_input_exits_3(tmp_path):
    data = bytearray(RDB.read_bytes())
    data[-3] ^= 0xFF  # checksum
    bad = tmp_path / "bad.rdb"
    bad.write_bytes(bytes(data))
    res = CliRunner().invoke(cli, ["diff", str(RDB), str(bad)])
    assert res.exit_code == 3
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rdbkit: {bad}: wrong RDB checksum")
    assert "at offset" in err[0]
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(RDB.read_bytes()[:5000])
    res = CliRunner().invoke(cli, ["diff", str(cut), str(RDB)])
    assert res.exit_code == 3 and str(cut) in res.stderr and "offset" in res.stderr
    junk = tmp_path / "junk.jsonl"
    junk.write_text('{"db": 0, "key": "k", "type": "nope", "value": 1}\n')
    res = CliRunner().invoke(cli, ["diff", str(RDB), str(junk)])
    assert res.exit_code == 3 and "line 1" in res.stderr and "offset 0" in res.stderr


def test_report_csv(records):
    res = run("report", RDB)
    assert res.exit_code == 0
    rows = list(csv.reader(io.StringIO(res.output)))
    assert rows[0] == ["database", "type", "key", "size_in_bytes", "encoding", "num_elements",
                       "len_largest_element", "expiry"]
    assert len(rows) == len(records) + 1
    by_key = {r[2]: r for r in rows[1:]}
    big = by_key["hash:large"]
    assert big[:2] == ["0", "hash"] and big[4] == "hashtable" and big[5] == "600"
    assert int(big[3]) == estimate(next(r for r in records if r.key == b"hash:large")).total
    assert by_key["str:ttl:pxat"][7] == "2100-01-01T00:00:00.123Z"
    assert by_key["str:int:127"][3:7] == ["56", "int", "3", "3"]


def test_report_jsonl_summary_and_filters(records):
    res = run("report", RDB, "--format", "jsonl", "--type", "zset")
    objs = [json.loads(x) for x in res.output.splitlines()]
    assert objs and all(o["type"] == "zset" for o in objs)
    assert {"db", "key", "size_in_bytes", "encoding", "num_elements", "len_largest_element",
            "expire_ms"} <= set(objs[0])
    res = run("report", RDB, "--summary", "--top", "3")
    out = res.output
    assert out.startswith(f"keys: {len(records)}, estimated memory: ")
    assert "top 3 keys by size:" in out and '"hash:large" (hash, hashtable, 600 elements)' in out
    assert "by db:" in out and "db15" in out and '"str:"' in out and "(no prefix)" in out
    assert "database,type" not in out
    res = run("report", RDB, "--top", "2", "--format", "jsonl", "--db", "1", "--separator", "-")
    lines = res.output.splitlines()
    summary = json.loads(lines[-1])["summary"]
    assert len(lines) == 6 and summary["keys"] == 5 and len(summary["top_keys"]) == 2
    assert set(summary["by_db"]) == {"1"}
    assert {p["prefix"] for p in summary["prefixes"]} == {"db1:hash-", "shared-", None}


def test_report_output_file_lz4_stdin_and_corrupt(tmp_path):
    out = tmp_path / "mem.csv"
    res = run("report", RDB, "-o", out, "--top", "1")
    assert res.output.startswith("keys: 101")
    assert out.read_text().startswith("database,type,key")
    plain = run("report", RDB).output
    assert run("report", "-", input=RDB.read_bytes()).output == plain
    packed = tmp_path / "d.rdb.lz4"
    packed.write_bytes(lz4.frame.compress(RDB.read_bytes()))
    assert run("report", packed).output == plain
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(RDB.read_bytes()[:3000])
    res = CliRunner().invoke(cli, ["report", str(cut)])
    assert res.exit_code == 3 and res.stderr.startswith(f"rdbkit: {cut}: ")


def test_progress_only_on_a_terminal_for_big_inputs():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    s = Tty()
    p = Progress(100 << 20, "reading", stream=s, interval=0)
    p.update(50 << 20)
    p.close()
    assert "reading [" in s.getvalue() and "50.0%" in s.getvalue()
    quiet = io.StringIO()  # not a terminal
    p = Progress(100 << 20, "reading", stream=quiet, interval=0)
    p.update(1)
    assert quiet.getvalue() == ""
    small = Tty()
    p = Progress(1 << 20, "reading", stream=small, interval=0)  # a small file
    p.update(1)
    assert small.getvalue() == ""


@pytest.mark.parametrize("verb", ["diff", "report"])
def test_subprocess_smoke(verb):
    args = [sys.executable, "-m", "cli", verb, str(RDB)] + ([str(RDB)] if verb == "diff" else [])
    proc = subprocess.run(args, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout and not proc.stderr
