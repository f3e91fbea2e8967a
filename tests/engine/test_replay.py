"""engine.replay: AOFs replayed through the engine's dispatch equal the fixtures' final keyspace."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from aof.replies import encode_command
from engine.replay import Replay, ReplayError, ReplayUnsupported, replay
from rdbtools.model import FunctionLibrary, Record
from tests.support.manifest import FIXTURES, load_manifest, manifest_keys

AOF_INPUTS = sorted(
    p for p in (FIXTURES / "aof").glob("*/*/appendonly*") if not p.name.endswith(".json")
)


def record_view(rec: Record) -> dict:
    v = rec.value
    if rec.type in ("set", "hash"):
        v = sorted(v)
    elif rec.type == "zset":
        v = [(m, float(s)) for m, s in v]
    elif rec.type == "list":
        v = list(v)
    return {"type": rec.type, "value": v, "expire_ms": rec.expire_ms,
            "field_expires": rec.field_expires or None}


def final_keyspace(items, lossy: set) -> tuple[dict, dict]:
    """``({(db, key): view}, {library name: code})`` of replay output, lossy keys left out."""
    keys, libs = {}, {}
    for it in items:
        if type(it) is Record and (it.db, it.key) not in lossy and it.type != "stream":
            keys[(it.db, it.key)] = record_view(it)
        elif type(it) is FunctionLibrary:
            libs[it.name] = it.code
    return keys, libs


def expected_keyspace(fixture: Path, lossy: set) -> tuple[dict, dict]:
    """The fixture manifest's keys, hash field TTLs included (streams replay, and are compared
    with real Redis's XINFO in tests/engine/test_streams.py), and function libraries."""
    manifest = load_manifest(fixture.with_name(fixture.name + ".json"))
    keys = {}
    for k, e in manifest_keys(manifest).items():
        if e["type"] == "stream":
            assert k not in lossy, k
            continue
        if k not in lossy:
            keys[k] = {"type": e["type"], "value": e["value"], "expire_ms": e["expire_ms"],
                       "field_expires": e["field_expires"]}
    libs = {f["library_name"].encode("latin-1"): f["library_code"].encode("latin-1")
            for f in manifest.get("functions") or []}
    return keys, libs


@pytest.mark.parametrize("fixture", AOF_INPUTS, ids=lambda p: str(p.relative_to(FIXTURES / "aof")))
def test_fixture_replay_equals_manifest(fixture: Path) -> None:
    r = replay(fixture)  # every command of the fixtures is served (7.4's field TTLs too)
    now = int(time.time() * 1000)
    assert r.errors == 0 and not r.lossy_keys
    got = final_keyspace(r.records(now), r.lossy_keys)
    assert got == expected_keyspace(fixture, r.lossy_keys)
    assert got[0]  # something was compared


def test_unsupported_is_an_error_by_default(tmp_path: Path) -> None:
    raw = tmp_path / "t.aof"  # Redis 8's HGETEX is not served
    raw.write_bytes(encode_command([b"SET", b"a", b"1"])
                    + encode_command([b"HGETEX", b"h", b"EX", b"100", b"FIELDS", b"1", b"f"]))
    with pytest.raises(ReplayUnsupported) as ei:
        replay(raw)
    assert ei.value.offset is not None and "not supported" in str(ei.value)


def _aof(tmp_path: Path, *cmds: list[bytes], tail: bytes = b"") -> Path:
    p = tmp_path / "t.aof"
    p.write_bytes(b"".join(encode_command(c) for c in cmds) + tail)
    return p


def _keys(r: Replay, now_ms: int | None = None) -> dict:
    return {(x.db, x.key): (x.value, x.expire_ms) for x in r.records(now_ms) if type(x) is Record}


def test_unknown_command_names_file_and_offset(tmp_path: Path) -> None:
    p = _aof(tmp_path, [b"SET", b"a", b"1"], [b"NOSUCHCMD", b"x"])
    with pytest.raises(ReplayError) as ei:
        replay(p)
    assert "Unknown command 'NOSUCHCMD' reading the append only file" in str(ei.value)
    assert ei.value.offset == len(encode_command([b"SET", b"a", b"1"]))
    assert not isinstance(ei.value, ReplayUnsupported)


def test_select_multi_exec_and_truncated_multi(tmp_path: Path) -> None:
    p = _aof(
        tmp_path,
        [b"SET", b"a", b"1"],
        [b"SELECT", b"3"],
        [b"MULTI"], [b"INCR", b"n"], [b"RPUSH", b"l", b"x", b"y"], [b"EXEC"],
        [b"SELECT", b"0"], [b"INCRBY", b"a", b"41"],
        [b"MULTI"], [b"SET", b"never", b"1"],  # no EXEC: truncated tail, never applied
    )
    r = replay(p)
    assert _keys(r) == {(0, b"a"): (b"42", None), (3, b"n"): (b"1", None), (3, b"l"): ([b"x", b"y"], None)}
    assert r.truncation is not None


def test_nothing_expires_during_replay_expired_dropped_at_end(tmp_path: Path) -> None:
    past = b"%d" % 1000
    far = 4_000_000_000_000
    p = _aof(
        tmp_path,
        [b"SET", b"k", b"v"], [b"PEXPIREAT", b"k", past], [b"APPEND", b"k", b"w"],  # as Redis loads it
        [b"SET", b"gone", b"v"], [b"PEXPIREAT", b"gone", past],
        [b"SET", b"t", b"v"], [b"PEXPIREAT", b"t", b"%d" % far],
        [b"SET", b"p", b"v"], [b"PEXPIREAT", b"p", past], [b"PERSIST", b"p"],
    )
    r = replay(p)
    assert _keys(r, now_ms=2000) == {(0, b"t"): (b"v", far), (0, b"p"): (b"v", None)}
    # k was appended to while alive, keeping its deadline: visible only before it
    assert _keys(r, now_ms=500)[(0, b"k")] == (b"vw", 1000)


def test_functions_tracked(tmp_path: Path) -> None:
    lib = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)\n"
    lib2 = b"#!lua name=other\nredis.register_function('g', function() return 1 end)\n"
    p = _aof(tmp_path, [b"FUNCTION", b"LOAD", lib], [b"FUNCTION", b"LOAD", lib2],
             [b"FUNCTION", b"LOAD", b"REPLACE", lib], [b"FUNCTION", b"DELETE", b"other"])
    r = replay(p)
    assert [x for x in r.records() if type(x) is FunctionLibrary] == [FunctionLibrary(lib)]
