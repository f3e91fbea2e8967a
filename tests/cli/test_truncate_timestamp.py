"""``rdbkit check --truncate-to-timestamp``: point-in-time cut of an AOF at a ``#TS``
annotation, byte-identical to real ``redis-check-aof --truncate-to-timestamp``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from aof.replies import encode_command
from cli.main import cli

CHECK_AOF = shutil.which("redis-check-aof") or "/usr/bin/redis-check-aof"


def _aof() -> bytes:
    out = []
    for ts, n in ((100, 3), (200, 2), (300, 4)):
        out.append(b"#TS:%d\r\n" % ts)
        out.append(b"".join(encode_command([b"SET", b"k%d" % ts, b"%d" % i]) for i in range(n)))
    out.insert(3, encode_command([b"MULTI"]) + encode_command([b"INCR", b"x"]) + encode_command([b"EXEC"]))
    return b"".join(out)


def run(*args: str):
    return CliRunner().invoke(cli, ["check", *args], catch_exceptions=False)


@pytest.mark.parametrize("ts", [99, 100, 150, 200, 250, 300, 1000])
def test_single_file_matches_redis_check_aof(tmp_path: Path, ts: int) -> None:
    ours, theirs = tmp_path / "ours.aof", tmp_path / "theirs.aof"
    ours.write_bytes(_aof())
    theirs.write_bytes(_aof())
    res = run("--truncate-to-timestamp", str(ts), str(ours))
    if Path(CHECK_AOF).exists():
        ref = subprocess.run([CHECK_AOF, "--truncate-to-timestamp", str(ts), str(theirs)],
                             capture_output=True, text=True)
        assert ours.read_bytes() == theirs.read_bytes()
        assert (res.exit_code == 0) == (ref.returncode == 0), (res.output, ref.stdout)
        ref_last = ref.stdout.strip().splitlines()[-1]
        assert res.output.strip().splitlines()[-1].split(" (")[0] == ref_last.replace(str(theirs), str(ours))
    if ts < 100:
        assert res.exit_code != 0 and "has nothing before timestamp" in res.output
    elif ts >= 300:
        assert "Truncate nothing" in res.output and len(ours.read_bytes()) == len(_aof())
        assert res.output.splitlines()[-1] == f"AOF {ours} is valid"
    else:
        assert "Successfully truncated" in res.output
        assert b"#TS:%d" % (ts // 100 * 100 + 100) not in ours.read_bytes()
        assert list(tmp_path.glob("ours.aof.*")), "a backup is kept"


def test_multipart_cut_only_in_the_last_file(tmp_path: Path) -> None:
    d = tmp_path / "appendonlydir"
    d.mkdir()
    (d / "appendonly.aof.1.base.aof").write_bytes(encode_command([b"SET", b"base", b"1"]))
    (d / "appendonly.aof.1.incr.aof").write_bytes(_aof())
    (d / "appendonly.aof.2.incr.aof").write_bytes(encode_command([b"SET", b"early", b"1"]) + b"#TS:400\r\n"
                                                      + encode_command([b"SET", b"late", b"1"]))
    (d / "appendonly.aof.manifest").write_bytes(
        b"file appendonly.aof.1.base.aof seq 1 type b\n"
        b"file appendonly.aof.1.incr.aof seq 1 type i\n"
        b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    res = run("--truncate-to-timestamp", "150", str(d))
    assert res.exit_code != 0 and "because it is not the last file" in res.output
    assert (d / "appendonly.aof.1.incr.aof").read_bytes() == _aof()
    res = run("--truncate-to-timestamp", "350", str(d / "appendonly.aof.manifest"))
    assert res.exit_code == 0 and "Successfully truncated AOF appendonly.aof.2.incr.aof" in res.output
    assert (d / "appendonly.aof.2.incr.aof").read_bytes() == encode_command([b"SET", b"early", b"1"])
    res = run("--truncate-to-timestamp", "350", str(d))
    assert res.exit_code == 0 and res.output.splitlines()[-1] == "All AOF files and manifest are valid"


def test_refused_on_rdb_and_with_fix(tmp_path: Path) -> None:
    p = tmp_path / "a.aof"
    p.write_bytes(_aof())
    assert run("--fix", "--truncate-to-timestamp", "150", str(p)).exit_code == 2
    bad = tmp_path / "b.aof"
    bad.write_bytes(b"#TS:abc\r\n" + encode_command([b"SET", b"a", b"1"]))
    res = run("--truncate-to-timestamp", "150", str(bad))
    assert res.exit_code != 0 and "Invalid timestamp annotation" in res.output
