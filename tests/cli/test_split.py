"""``rdbkit split``: one RDB per cluster master (nodes.conf) or slot range; every key in
the file of its hash slot's shard, db 0 only, loadable by real Redis 7.0."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aof.slots import key_hash_slot
from cli.commands.split import shards_by_count
from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.io import iter_records
from tests.support.manifest import FIXTURES
from tests.support.servers import start_real

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
NODES_CONF = """\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922 [5461->-a1]
c3 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383
d4 127.0.0.1:7003@17003 slave a1 0 0 1 connected
vars currentEpoch 3 lastVoteEpoch 0
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_count_matches_redis_cli_allocation() -> None:
    assert [r for _, (r,) in shards_by_count(3)] == [(0, 5460), (5461, 10922), (10923, 16383)]


@pytest.mark.parametrize("how", [["--nodes", "NODES"], ["--ranges", "0-8191,8192-16383"], ["--count", "3"]])
def test_every_key_in_its_slots_file(tmp_path: Path, how: list[str]) -> None:
    conf = tmp_path / "nodes.conf"
    conf.write_text(NODES_CONF)
    how = [str(conf) if x == "NODES" else x for x in how]
    out = tmp_path / "out"
    res = run("split", str(RDB), "-o", str(out), *how)
    assert res.exit_code == ExitStatus.ERROR and "--db-map" in res.stderr  # the fixture has other dbs
    assert not out.exists() or not list(out.iterdir())
    res = run("split", str(RDB), "-o", str(out), *how, "--db", "0")
    assert res.exit_code == 0, res.output
    files = sorted(out.iterdir())
    if how[0] == "--nodes":
        assert [f.name for f in files] == ["127.0.0.1-7000.rdb", "127.0.0.1-7001.rdb", "127.0.0.1-7002.rdb"]
    got = {}
    for f in files:
        lo, hi = ((0, 5460), (5461, 10922), (10923, 16383))[int(f.stem[-1]) - 0] if how[0] == "--nodes" else \
            tuple(int(x) for x in f.stem.split("-")[1:])
        for rec in iter_records(str(f)):
            assert rec.db == 0 and lo <= key_hash_slot(rec.key) <= hi, (f.name, rec.key)
            got[rec.key] = rec.value
    assert got == {r.key: r.value for r in iter_records(str(RDB)) if r.db == 0}


def test_split_files_load_in_real_redis(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("split", str(RDB), "-o", str(out), "--count", "2", "--db", "0").exit_code == 0
    for f in sorted(out.iterdir()):
        srv = start_real(out, "--dbfilename", f.name, loaded=True)
        try:
            c = srv.client()
            assert c.dbsize() == sum(1 for _ in iter_records(str(f)))
        finally:
            srv.stop()
