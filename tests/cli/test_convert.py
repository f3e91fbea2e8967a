"""``rdbkit convert``: RDB ⇄ JSONL, RDB → older RDB (strict and --lossy), lz4, stdin/stdout, filters."""

from __future__ import annotations

import json
import subprocess
import sys

import lz4.frame
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools import FunctionLibrary, Header, Record, read_all
from rdbtools.jsonl import record_to_json
from tests.support.manifest import FIXTURES

RDB70 = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
RDB74 = FIXTURES / "rdb" / "corpus-redis-7.4.1" / "dump.rdb"


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def records(data_or_path) -> list[Record]:
    return [e for e in read_all(data_or_path) if type(e) is Record]


def jsonl(res_or_text) -> list[dict]:
    text = res_or_text if isinstance(res_or_text, str) else res_or_text.stdout
    return [json.loads(line) for line in text.splitlines()]


def test_rdb_to_jsonl_is_the_dump_contract(tmp_path):
    out = tmp_path / "out.jsonl"
    res = run("convert", str(RDB70), str(out))
    assert res.exit_code == 0, res.output
    assert out.read_text() == run("dump", str(RDB70)).stdout
    assert res.stderr == ""


def test_jsonl_to_rdb_and_back_and_the_version_is_announced(tmp_path):
    src = tmp_path / "src.jsonl"
    src.write_text(run("dump", str(RDB70)).stdout)
    rdb = tmp_path / "back.rdb"
    res = run("convert", str(src), str(rdb), "--rdb-version", "10")
    assert res.exit_code == 0 and res.stderr == ""
    assert run("dump", str(rdb)).stdout == src.read_text()
    res = run("convert", str(src), str(tmp_path / "default.rdb"))  # what Redis 7.0 loads
    assert res.exit_code == 0
    assert "writing RDB version 10" in res.stderr and "--rdb-version" in res.stderr
    assert read_all(tmp_path / "default.rdb")[0] == Header(10)
    res = run("convert", str(rdb), str(tmp_path / "same.rdb"))  # the input's own: nothing said
    assert res.exit_code == 0 and res.stderr == "" and read_all(tmp_path / "same.rdb")[0] == Header(10)
    res = run("convert", str(src), str(tmp_path / "v12.rdb"), "--rdb-version", "12")
    assert res.exit_code == 0 and read_all(tmp_path / "v12.rdb")[0] == Header(12)
    same = [(r.key, r.value) for r in records(tmp_path / "v12.rdb") if r.type != "stream"]
    assert same == [(r.key, r.value) for r in records(rdb) if r.type != "stream"]
    res = run("convert", str(src), str(tmp_path / "v7.rdb"), "--rdb-version", "7", "--lossy")
    assert res.exit_code == 0 and read_all(tmp_path / "v7.rdb")[0].version == 7
    dropped = [line for line in res.stderr.splitlines() if "lossy:" in line]
    assert dropped and all("stream" in line or "key" in line for line in dropped)


def test_rdb_to_older_rdb_strict_fails_with_file_offset_and_key(tmp_path):
    out = tmp_path / "v9.rdb"
    res = run("convert", str(RDB74), str(out), "--rdb-version", "9")
    assert res.exit_code == ExitStatus.ERROR
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rdbkit: {RDB74}:")
    assert "at offset" in lines[0] and "RDB 10" in lines[0]  # the first thing 9 cannot hold: a library
    assert not out.exists() and not list(tmp_path.iterdir())
    # without the functions the first problem is a hash with field TTLs: the key is named
    res = run("convert", str(RDB74), str(out), "--rdb-version", "11", "--type", "hash")
    assert res.exit_code == ExitStatus.ERROR and "key b'hfe:" in res.stderr and "RDB 12" in res.stderr


def test_rdb_74_to_9_lossy_reports_every_drop(tmp_path):
    out = tmp_path / "v9.rdb"
    res = run("convert", str(RDB74), str(out), "--rdb-version", "9", "--lossy")
    assert res.exit_code == 0, res.stderr
    src_events = read_all(RDB74)
    libs = [e for e in src_events if type(e) is FunctionLibrary]
    ttl_keys = [r.key for r in records(RDB74) if r.field_expires]
    drops = [line for line in res.stderr.splitlines() if line.startswith("rdbkit: lossy:")]
    assert len(drops) == len(libs) + len(ttl_keys) and len(libs) == 2 and len(ttl_keys) > 3
    for key in ttl_keys:
        assert any(repr(key) in line and "field TTLs dropped" in line for line in drops)
    assert f"{len(drops)} item(s) dropped" in res.stderr
    assert read_all(out)[0].version == 9
    want = [record_to_json(r) for r in records(RDB74)]
    got = jsonl(run("dump", str(out)))
    assert [(o["db"], o["key"]) for o in got] == [(o["db"], o["key"]) for o in want]
    for w, g in zip(want, got):
        if w["type"] == "hash":  # the hashes keep their fields, without TTLs
            w["value"] = [pair[:2] for pair in w["value"]]
        if w["type"] == "stream":  # RDB 9 streams lack 7.x metadata; entries and groups stay
            assert g["value"]["entries"] == w["value"]["entries"]
            assert [x["name"] for x in g["value"]["groups"]] == [x["name"] for x in w["value"]["groups"]]
            continue
        assert g == w


def test_lz4_and_stdin_stdout(tmp_path):
    raw = RDB70.read_bytes()
    res = run("convert", "-", "-", "--to", "rdb", "--rdb-version", "10", input=raw)
    assert res.exit_code == 0
    assert records(res.stdout_bytes) == records(RDB70)
    packed = tmp_path / "in.rdb.lz4"
    packed.write_bytes(lz4.frame.compress(raw))
    out = tmp_path / "out.jsonl.lz4"
    assert run("convert", str(packed), str(out)).exit_code == 0
    text = lz4.frame.decompress(out.read_bytes()).decode()
    assert text == run("dump", str(RDB70)).stdout
    back = tmp_path / "back.rdb.lz4"
    assert run("convert", str(out), str(back), "--rdb-version", "10").exit_code == 0
    back_records = records(lz4.frame.decompress(back.read_bytes()))
    assert [record_to_json(r) for r in back_records] == [record_to_json(r) for r in records(RDB70)]
    res = run("convert", "-", "-", "--to", "jsonl", input=text.encode())  # JSONL sniffed on stdin
    assert res.stdout == text


def test_filters(tmp_path):
    out = tmp_path / "f.jsonl"
    assert run("convert", str(RDB70), str(out), "--db", "0", "--type", "hash", "--key", "hash:*").exit_code == 0
    objs = jsonl(out.read_text())
    assert objs and all(o["db"] == 0 and o["type"] == "hash" and o["key"].startswith("hash:") for o in objs)
    src = tmp_path / "all.jsonl"
    run("convert", str(RDB70), str(src))
    res = run("convert", str(src), "-", "--to", "jsonl", "--db", "1", "--key-regex", "^s")
    objs = jsonl(res)
    assert objs and all(o["db"] == 1 and o["key"].startswith("s") for o in objs)


def test_usage_and_input_errors(tmp_path):
    res = run("convert", str(RDB70), str(tmp_path / "out.bin"))
    assert res.exit_code == 2 and "--to" in res.output
    res = run("convert", str(RDB70), str(tmp_path / "o.jsonl"), "--rdb-version", "9")
    assert res.exit_code == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"db":0,"key":"a","type":"string","expire_ms":null,"value":"x"}\n{"db": oops}\n')
    res = run("convert", str(bad), str(tmp_path / "o.rdb"), "--rdb-version", "12")
    assert res.exit_code == 3 and f"{bad}: invalid JSONL record on line 2" in res.stderr
    assert "at offset 64" in res.stderr
    corrupt = tmp_path / "corrupt.rdb"
    data = bytearray(RDB70.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    res = run("convert", str(corrupt), str(tmp_path / "o2.rdb"), "--rdb-version", "10")
    assert res.exit_code == 3 and str(corrupt) in res.stderr and "offset" in res.stderr
    assert not (tmp_path / "o2.rdb").exists() and not (tmp_path / "o.rdb").exists()
    res = run("convert", str(tmp_path / "missing.rdb"), str(tmp_path / "o3.rdb"))
    assert res.exit_code == ExitStatus.ERROR and "missing.rdb" in res.stderr


def test_subprocess_smoke(tmp_path):
    out = tmp_path / "o.rdb"
    proc = subprocess.run([sys.executable, "-m", "cli", "convert", str(RDB70), str(out), "--rdb-version", "10"],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert records(out) == records(RDB70)


def test_module_values_compression_and_checksum_switches(tmp_path):
    legacy = FIXTURES / "rdb" / "legacy" / "rdb-v8-zset2-module.rdb"
    out = tmp_path / "m.rdb"
    assert run("convert", str(legacy), str(out), "--rdb-version", "9").exit_code == 0
    assert any(r.type == "module" for r in records(out))
    res = run("convert", str(legacy), str(out), "--rdb-version", "9", "--no-modules")
    assert res.exit_code == ExitStatus.ERROR and "module" in res.stderr and "key b'" in res.stderr
    res = run("convert", str(legacy), str(out), "--rdb-version", "9", "--no-modules", "--lossy")
    assert res.exit_code == 0 and not any(r.type == "module" for r in records(out))
    plain = tmp_path / "plain.rdb"
    assert run("convert", str(RDB70), str(plain), "--rdb-version", "10", "--no-compression",
               "--no-checksum").exit_code == 0
    data = plain.read_bytes()
    assert data.endswith(b"\xff" + bytes(8)) and len(data) > (RDB70.stat().st_size * 1.2)
    assert records(plain) == records(RDB70)


def test_nan_scores_survive_dump_and_convert(tmp_path):
    """A NaN score is "nan"/"-nan" in the dump (never "-inf") and JSONL -> RDB writes the
    listpack back (order and signs kept)."""
    from rdbtools.encoder import encode_bytes

    z = Record(0, b"z", "zset", [(b"a", 1.0), (b"m", float("nan")), (b"n", -float("nan")), (b"x", 5.0)])
    src = tmp_path / "src.rdb"
    src.write_bytes(encode_bytes([z], target_version=10))
    text = run("dump", str(src)).stdout
    assert jsonl(text)[0]["value"] == [["a", 1.0], ["m", "nan"], ["n", "-nan"], ["x", 5.0]]
    (tmp_path / "z.jsonl").write_text(text)
    res = run("convert", str(tmp_path / "z.jsonl"), str(tmp_path / "back.rdb"), "--rdb-version", "10")
    assert res.exit_code == 0, res.output
    assert run("dump", str(tmp_path / "back.rdb")).stdout == text
    back = records(tmp_path / "back.rdb")[0]
    assert (back.encoding, back.type_byte) == ("listpack", 17)
