"""``rdbkit convert`` of every AOF fixture (Redis 6.2 to 7.4, hash field TTLs included) gives
exactly its manifest's keyspace; an older RDB target refuses field TTLs unless ``--lossy``,
naming the key and the fields either way."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from engine.replay import replay
from rdbtools import iter_records, read_all
from tests.engine.test_replay import AOF_INPUTS, expected_keyspace, final_keyspace
from tests.support.manifest import FIXTURES

HFE_DIR = FIXTURES / "aof" / "redis-7.4.1" / "aof-raw" / "appendonlydir"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _zsets_in_range_order(keyspace: tuple[dict, dict]) -> tuple[dict, dict]:
    """An RDB holds a skiplist zset highest score first; the manifest is in ZRANGE order."""
    for v in keyspace[0].values():
        if v["type"] == "zset":
            v["value"] = sorted(v["value"], key=lambda ms: (ms[1], ms[0]))
    return keyspace


@pytest.mark.parametrize("fixture", AOF_INPUTS, ids=lambda p: str(p.relative_to(FIXTURES / "aof")))
def test_convert_gives_the_manifest_keyspace(fixture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.rdb"
    res = run("convert", str(fixture), str(out))
    assert res.exit_code == 0, res.stderr
    want = expected_keyspace(fixture, set())
    has_ttls = any(v["field_expires"] for v in want[0].values())
    assert out.read_bytes()[:9] == (b"REDIS0012" if has_ttls else b"REDIS0010")
    assert ("keeps hash field TTLs" in res.stderr) == has_ttls
    assert _zsets_in_range_order(final_keyspace(read_all(out), set())) == want
    cmds = tmp_path / "out.aof"  # the command stream: HPEXPIREAT after the fields
    assert run("convert", str(fixture), str(cmds)).exit_code == 0
    assert (b"HPEXPIREAT" in cmds.read_bytes()) == has_ttls
    assert final_keyspace(replay(cmds).records(), set()) == want


def test_older_target_refuses_field_ttls_naming_them(tmp_path: Path) -> None:
    out = tmp_path / "out.rdb"
    res = run("convert", str(HFE_DIR), str(out), "--rdb-version", "10")
    assert res.exit_code == 4 and not out.exists()
    assert "key b'hfe:" in res.stderr and "RDB 12" in res.stderr and "fields b'" in res.stderr
    res = run("convert", str(HFE_DIR), str(out), "--rdb-version", "10", "--lossy")
    assert res.exit_code == 0, res.stderr
    drops = [x for x in res.stderr.splitlines() if x.startswith("rdbkit: lossy:")]
    ttl_keys = {k for k, v in expected_keyspace(HFE_DIR, set())[0].items() if v["field_expires"]}
    assert len(drops) == len(ttl_keys) == 5
    assert "key b'hfe:all-fields:83dedf7b': field TTLs dropped" in res.stderr
    assert "fields b'a', b'b', b'c'" in res.stderr
    recs = list(iter_records(out))
    assert out.read_bytes()[:9] == b"REDIS0010" and not any(r.field_expires for r in recs)
