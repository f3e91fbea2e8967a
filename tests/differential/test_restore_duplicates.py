"""``rdbkit restore`` of a dump holding a key twice, into a real redis-server 7.0: a live
server cannot be undone, so the input is checked before anything is sent (a first pass
in bounded memory: here with the digest table drained every few keys, so the repeat is
found only when that pass ends) and nothing reaches the server; what the restore keeps
of failed keys does not grow with them either."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from cli.remote import RestoreTarget
from cli.remote import restore as remote_restore
from rdbtools import keycheck
from rdbtools.encoder import encode_bytes
from rdbtools.io import iter_records
from rdbtools.model import Record
from tests.differential.conftest import run_server


def _dump(tmp_path: Path, n: int, dup: bool) -> Path:
    recs = [Record(0, b"key:%d" % i, "string", b"v%d" % i) for i in range(n)]
    if dup:
        recs.append(Record(0, b"key:3", "string", b"again"))
    path = tmp_path / ("dup.rdb" if dup else "ok.rdb")
    path.write_bytes(encode_bytes(recs, target_version=10))
    return path


@pytest.mark.parametrize("drained", [False, True])
def test_a_key_read_twice_sends_nothing(tmp_path: Path, monkeypatch, drained: bool) -> None:
    if drained:
        monkeypatch.setattr(keycheck, "KEYS_IN_MEMORY", 7)
    bad = _dump(tmp_path, 5000, dup=True)
    with run_server("7.0", tmp_path) as srv:
        for args, inp in (([str(bad)], None), (["-"], bad.read_bytes())):
            res = CliRunner().invoke(cli, ["restore", *args, "-p", str(srv.port), "--batch", "1",
                                           "--tmpdir", str(tmp_path)], input=inp)
            assert res.exit_code == 3, res.output
            assert "duplicated key" in res.output and "key:3" in res.output
            assert srv("DBSIZE") == 0  # not one key sent
        res = CliRunner().invoke(cli, ["restore", str(_dump(tmp_path, 5000, dup=False)), "-p", str(srv.port)])
        assert res.exit_code == 0, res.output
        assert srv("DBSIZE") == 5000
        srv("FLUSHALL")  # a JSONL dump, read by the same input layer
        assert CliRunner().invoke(cli, ["convert", str(tmp_path / "ok.rdb"), str(tmp_path / "ok.jsonl")]).exit_code == 0
        res = CliRunner().invoke(cli, ["restore", str(tmp_path / "ok.jsonl"), "-p", str(srv.port)])
        assert res.exit_code == 0, res.output
        assert srv("DBSIZE") == 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dup.rdb", "ok.jsonl", "ok.rdb"]


def test_failures_are_counted_not_kept(tmp_path: Path, monkeypatch) -> None:
    """Restoring twice without --replace fails every key (BUSYKEY): the report names the
    first few and counts the rest, in memory that does not grow with them."""
    path = _dump(tmp_path, 300, dup=False)
    with run_server("7.0", tmp_path) as srv:
        assert CliRunner().invoke(cli, ["restore", str(path), "-p", str(srv.port)]).exit_code == 0
        target = RestoreTarget("127.0.0.1", srv.port, batch=16)
        for rec in iter_records(str(path)):
            target.add(rec)
        stats = target.finish()
        assert stats.failures == 300 and len(stats.failed) == remote_restore.FAILURES_KEPT
        res = CliRunner().invoke(cli, ["restore", str(path), "-p", str(srv.port)])
        assert res.exit_code == ExitStatus.ERROR and "300 failed" in res.output and "... and 290 more" in res.output
