"""``rdbkit compact``: every AOF fixture compacted in each format reads back (replayed by us)
as the fixture's final keyspace; a compacted directory loads in real redis-server 7.0."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.replay import replay
from tests.engine.test_replay import AOF_INPUTS, expected_keyspace, final_keyspace
from tests.support.manifest import FIXTURES
from tests.support.servers import start_real


def compact(*args: str):
    return CliRunner().invoke(cli, ["compact", *args], catch_exceptions=False)


@pytest.mark.parametrize("fmt", ["aof", "preamble", "multipart"])
@pytest.mark.parametrize("fixture", AOF_INPUTS, ids=lambda p: str(p.relative_to(FIXTURES / "aof")))
def test_compact_reads_back_as_manifest(fixture: Path, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / ("out" if fmt == "multipart" else "out.aof")
    res = compact(str(fixture), "-o", str(out), "--format", fmt)  # nothing lossy: field TTLs kept
    assert res.exit_code == 0, res.output
    assert "size: " in res.output and "keys: " in res.output
    if fmt == "multipart":
        assert sorted(p.name for p in out.iterdir()) == [
            "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
        assert not list(tmp_path.glob(".*tmp"))
    want = expected_keyspace(fixture, set())
    if fmt == "preamble":  # Redis 7.0's RDB, or 7.4's where field TTLs need it
        has_ttls = any(v["field_expires"] for v in want[0].values())
        assert out.read_bytes().startswith(b"REDIS0012" if has_ttls else b"REDIS0010")
    r = replay(out)  # our output holds nothing the engine cannot serve
    assert not r.skipped and r.errors == 0
    got = final_keyspace(r.records(), set())
    assert got == want


def test_compact_refuses_unsupported_without_lossy(tmp_path: Path) -> None:
    from aof.replies import encode_command

    raw = tmp_path / "in.aof"  # Redis 8's HGETEX is not served
    raw.write_bytes(encode_command([b"SET", b"a", b"1"])
                    + encode_command([b"HGETEX", b"h", b"EX", b"100", b"FIELDS", b"1", b"f"]))
    res = compact(str(raw), "-o", str(tmp_path / "o.aof"))
    assert res.exit_code != 0
    assert "not supported" in res.output and "--lossy" in res.output
    assert not (tmp_path / "o.aof").exists()


def _redis_keyspace(port: int) -> tuple[dict, dict]:
    import redis

    r = redis.Redis(port=port)
    keys: dict = {}
    for db in range(16):
        r.execute_command("SELECT", db)
        for key in r.keys("*"):
            t = r.type(key).decode()
            if t == "stream":  # compared with XINFO in tests/engine/test_streams.py
                continue
            if t == "string":
                v = r.get(key)
            elif t == "list":
                v = r.lrange(key, 0, -1)
            elif t == "set":
                v = sorted(r.smembers(key))
            elif t == "hash":
                v = sorted(r.hgetall(key).items())
            else:
                v = [(m, float(s)) for m, s in r.zrange(key, 0, -1, withscores=True)]
            exp = r.execute_command("PEXPIRETIME", key)
            keys[(db, key)] = {"type": t, "value": v, "expire_ms": None if exp < 0 else exp,
                               "field_expires": None}  # Redis 7.0 has none
    libs = {}
    for lib in r.execute_command("FUNCTION", "LIST", "WITHCODE"):
        d = lib if isinstance(lib, dict) else dict(zip(lib[::2], lib[1::2]))
        d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
        libs[d["library_name"]] = d["library_code"]
    r.close()
    return keys, libs


@pytest.mark.parametrize("base", ["rdb", "aof"])
def test_compacted_directory_loads_in_real_redis(base: str, tmp_path: Path) -> None:
    fixture = FIXTURES / "aof" / "redis-7.0.15" / "aof-raw" / "appendonlydir"
    out = tmp_path / "appendonlydir"
    res = compact(str(fixture), "-o", str(out), "--format", "multipart", "--base-format", base, "--lossy")
    assert res.exit_code == 0, res.output
    with start_real(tmp_path, "--appendonly", "yes", "--appenddirname", "appendonlydir",
                    loaded=True) as srv:
        got = _redis_keyspace(srv.port)
    src = replay(fixture, unsupported="skip")
    assert got == final_keyspace(src.records(), set())  # what our replay of the input holds
    assert got == expected_keyspace(fixture, src.lossy_keys)  # = the fixture, streams aside
    shutil.rmtree(out)


def test_convert_aof_in_and_out(tmp_path: Path) -> None:
    fixture = FIXTURES / "aof" / "redis-7.0.15" / "aof-preamble" / "appendonlydir" / "appendonly.aof.manifest"
    run = CliRunner().invoke
    res = run(cli, ["convert", str(fixture), str(tmp_path / "a.rdb")], catch_exceptions=False)
    assert res.exit_code == 0, res.output  # streams replay: nothing needs --lossy
    res = run(cli, ["convert", str(tmp_path / "a.rdb"), str(tmp_path / "b.aof")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    src = replay(fixture.parent, unsupported="skip")
    r = replay(tmp_path / "b.aof")
    assert final_keyspace(r.records(), set()) == expected_keyspace(fixture.parent, src.lossy_keys)


def test_default_format_is_the_smaller_one(tmp_path: Path) -> None:
    """No --format: a multi-part input gives a directory; a single file the smaller of an
    RDB preamble and the command stream — the preamble for a real dataset, the commands
    for a tiny one (an RDB's header and aux fields outweigh one short SET)."""
    from aof.replies import encode_command

    big = tmp_path / "big.aof"
    big.write_bytes(b"".join(encode_command([b"SET", b"key:%d" % i, b"value-%d" % (i % 97) * 3])
                             for i in range(3000)))
    res = compact(str(big), "-o", str(tmp_path / "big.out"))
    assert res.exit_code == 0, res.output
    pre = (tmp_path / "big.out").read_bytes()
    assert pre.startswith(b"REDIS") and "(preamble)" in res.output
    assert compact(str(big), "-o", str(tmp_path / "big.cmds"), "--format", "aof").exit_code == 0
    assert len(pre) < (tmp_path / "big.cmds").stat().st_size
    tiny = tmp_path / "tiny.aof"
    tiny.write_bytes(encode_command([b"SET", b"a", b"1"]))
    res = compact(str(tiny), "-o", str(tmp_path / "tiny.out"))
    assert res.exit_code == 0 and "(aof)" in res.output, res.output
    assert (tmp_path / "tiny.out").read_bytes().endswith(encode_command([b"SET", b"a", b"1"]))
    multi = FIXTURES / "aof" / "redis-7.0.15"
    src = next(p for p in sorted(multi.rglob("*.manifest")))
    res = compact(str(src.parent), "-o", str(tmp_path / "dir.out"), "--lossy")
    assert res.exit_code == 0 and "(multipart)" in res.output, res.output
    assert (tmp_path / "dir.out").is_dir()
