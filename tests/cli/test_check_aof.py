"""``rdbkit check`` on AOFs: transcript like redis-check-aof, exit codes, ``--fix`` dialogue,
backups; RDB files keep their own behaviour."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from tests.support.manifest import FIXTURES

AOF = FIXTURES / "aof"
RAW62 = AOF / "redis-6.2.5" / "aof-raw" / "appendonly.aof"
PRE62 = AOF / "redis-6.2.5" / "aof-preamble" / "appendonly.aof"
DIR70 = AOF / "redis-7.0.15" / "aof-preamble" / "appendonlydir"


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["check", *args], input=input, catch_exceptions=False)


def test_valid_single_preamble_and_multipart() -> None:
    res = run(str(RAW62))
    assert res.exit_code == 0
    assert res.output.splitlines()[0] == "Start checking Old-Style AOF"
    assert res.output.splitlines()[-1] == f"AOF {RAW62} is valid"
    res = run(str(PRE62))
    assert res.exit_code == 0 and "RDB preamble is OK, proceeding with AOF tail..." in res.output
    for target in (DIR70, DIR70 / "appendonly.aof.manifest"):
        res = run(str(target))
        assert res.exit_code == 0
        assert res.output.splitlines()[-1] == "All AOF files and manifest are valid"
        assert "Start to check BASE AOF (RDB format)." in res.output
    assert run("-q", str(DIR70)).output == "All AOF files and manifest are valid\n"


def _broken(tmp: Path) -> Path:
    p = tmp / "appendonly.aof"
    data = RAW62.read_bytes()
    p.write_bytes(data[:-10])
    return p


def test_not_valid_then_fix_dialogue(tmp_path: Path) -> None:
    p = _broken(tmp_path)
    size = p.stat().st_size
    res = run(str(p))
    assert res.exit_code == ExitStatus.CORRUPT_INPUT
    assert "AOF analyzed: filename=" in res.output and f"size={size}" in res.output
    assert res.output.splitlines()[-1] == f"AOF {p} is not valid. Use the --fix option to try fixing it."
    # answering no leaves the file alone
    res = run("--fix", str(p), input="n\n")
    assert res.exit_code == ExitStatus.ERROR and "Continue? [y/N]: " in res.output
    assert res.output.splitlines()[-1].endswith("Aborting...")
    assert p.stat().st_size == size and not list(tmp_path.glob("*.bak*"))
    # yes: a backup, then the cut
    res = run("--fix", str(p), input="y\n")
    assert res.exit_code == 0, res.output
    assert f"This will shrink the AOF {p} from {size} bytes" in res.output
    assert f"Successfully truncated AOF {p}" in res.output
    backup = tmp_path / "appendonly.aof.bak"
    assert backup.read_bytes() == RAW62.read_bytes()[:-10]
    assert run(str(p)).exit_code == 0
    if shutil.which("redis-check-aof"):
        out = subprocess.run(["redis-check-aof", str(p)], capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.splitlines()[-1] == f"AOF {p} is valid"


def test_fix_yes_no_prompt_multipart(tmp_path: Path) -> None:
    d = tmp_path / "appendonlydir"
    shutil.copytree(DIR70, d)
    incr = d / "appendonly.aof.2.incr.aof"
    incr.write_bytes(incr.read_bytes() + b"*3\r\n$3\r\nSET\r\n$1\r\nk")
    res = run("--fix", "--yes", str(d))
    assert res.exit_code == 0 and "Continue?" not in res.output
    assert "Successfully truncated AOF appendonly.aof.2.incr.aof" in res.output
    assert res.output.splitlines()[-1] == "All AOF files and manifest are valid"
    assert incr.read_bytes() == (DIR70 / incr.name).read_bytes()
    assert (d / "appendonly.aof.2.incr.aof.bak").exists()


def test_fix_refused_for_rdb_and_unfixable_aof(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["check", "--fix", str(FIXTURES / "rdb/redis-7.0/dump.rdb")])
    assert res.exit_code == ExitStatus.USAGE and "AOF files only" in res.output
    d = tmp_path / "appendonlydir"
    shutil.copytree(DIR70, d)
    (d / "appendonly.aof.manifest").write_text("file x seq 1 type q\n")
    res = run("--fix", "--yes", str(d))
    assert res.exit_code == ExitStatus.CORRUPT_INPUT
    assert "Unknown AOF file type" in res.output and "line 1" in res.output


def test_rdb_still_checked_as_rdb() -> None:
    res = run(str(FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"))
    assert res.exit_code == 0 and "RDB looks OK" in res.output


def test_subprocess_smoke(tmp_path: Path) -> None:
    p = _broken(tmp_path)
    out = subprocess.run([sys.executable, "-m", "cli", "check", str(p)], capture_output=True)
    assert out.returncode == ExitStatus.CORRUPT_INPUT and b"Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "cli", "check", "--fix", str(p)],
                         input=b"y\n", capture_output=True)
    assert out.returncode == 0 and b"Successfully truncated" in out.stdout
