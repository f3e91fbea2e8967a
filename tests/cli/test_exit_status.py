"""Exit statuses of ``rdbkit``: one meaning per number, as README's "Exit status" lists them.

A script tells "the dumps differ" (1) from "diff could not run" (a missing file, a
failing disk) only if errors have their own status; usage errors keep click's 2,
corrupt input 3, an interrupt 130 (128 + SIGINT, as a shell reports it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.exitcodes import ExitStatus
from cli.main import cli
from rdbtools.seek import DumpSource
from tests.support.manifest import FIXTURES

RDB = FIXTURES / "rdb" / "redis-7.0" / "dump.rdb"
RDB62 = FIXTURES / "rdb" / "redis-6.2" / "dump.rdb"


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_every_status_has_its_own_number() -> None:
    names = list(ExitStatus.__members__)  # aliases included: ERROR = 1 would show up here
    assert len({int(ExitStatus[n]) for n in names}) == len(names), ExitStatus.__members__
    assert (ExitStatus.OK, ExitStatus.DIFFERENT, ExitStatus.USAGE, ExitStatus.CORRUPT_INPUT,
            ExitStatus.INTERRUPTED, ExitStatus.PIPE_CLOSED) == (0, 1, 2, 3, 130, 141)  # in README.md


def test_diff_statuses_equal_different_missing_corrupt_usage(tmp_path: Path) -> None:
    assert run("diff", "-q", str(RDB), str(RDB)).exit_code == ExitStatus.OK
    assert run("diff", "-q", str(RDB), str(RDB62)).exit_code == ExitStatus.DIFFERENT
    missing = run("diff", "-q", str(RDB), str(tmp_path / "missing.rdb"))
    assert missing.exit_code == ExitStatus.ERROR != ExitStatus.DIFFERENT, missing.output
    assert "missing.rdb" in missing.stderr
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(RDB.read_bytes()[:200])
    assert run("diff", "-q", str(RDB), str(cut)).exit_code == ExitStatus.CORRUPT_INPUT
    assert run("diff", "-q", str(RDB)).exit_code == ExitStatus.USAGE  # a missing argument


def test_unwritable_output_is_an_error(tmp_path: Path) -> None:
    res = run("convert", str(RDB), str(tmp_path / "no-such-dir" / "o.rdb"))
    assert res.exit_code == ExitStatus.ERROR != ExitStatus.DIFFERENT, res.output
    assert "no-such-dir" in res.stderr and "Traceback" not in res.output


def test_refused_lossy_conversion_is_an_error(tmp_path: Path) -> None:
    legacy = FIXTURES / "rdb" / "legacy" / "rdb-v8-zset2-module.rdb"
    res = run("convert", str(legacy), str(tmp_path / "m.rdb"), "--rdb-version", "9", "--no-modules")
    assert res.exit_code == ExitStatus.ERROR != ExitStatus.DIFFERENT, res.output
    assert "--lossy" in res.stderr or "module" in res.stderr


def test_interrupt_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C during a verb: 130, not click's 1 (which ``diff`` uses for "different")."""
    def interrupted(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(DumpSource, "records", interrupted)
    res = run("dump", str(RDB), "-o", str(tmp_path / "o.jsonl"))
    assert res.exit_code == ExitStatus.INTERRUPTED, res.output
    assert "Traceback" not in res.output


def test_shell_sees_the_same_statuses(tmp_path: Path) -> None:
    """The installed command (not only click's test runner) exits with these numbers."""
    import subprocess
    import sys

    argv = [sys.executable, "-m", "cli", "diff", "-q", str(RDB)]
    assert subprocess.run([*argv, str(RDB62)], capture_output=True, timeout=60).returncode == 1
    res = subprocess.run([*argv, str(tmp_path / "missing.rdb")], capture_output=True, timeout=60)
    assert res.returncode == ExitStatus.ERROR != ExitStatus.DIFFERENT and b"Traceback" not in res.stderr


def test_server_verb_that_cannot_start_is_an_error(tmp_path: Path) -> None:
    """``rdbkit server`` over a dump it cannot load: 4 (``python -m engine`` keeps
    redis-server's 1; the rdbkit command speaks its own statuses)."""
    import subprocess
    import sys

    from tests.support.servers import free_port, ours_env

    cut = tmp_path / "dump.rdb"
    cut.write_bytes(RDB.read_bytes()[:200])
    res = subprocess.run([sys.executable, "-m", "cli", "server", "--port", str(free_port()),
                          "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", ""],
                         capture_output=True, timeout=60, env=ours_env(), stdin=subprocess.DEVNULL)
    assert res.returncode == ExitStatus.ERROR != ExitStatus.DIFFERENT, res.stderr
    assert b"Traceback" not in res.stderr


@pytest.mark.parametrize("args", [["--separator", ""], ["--prefix-depth", "0"], ["--top", "-5"],
                                  ["--top", "0"]])
def test_report_option_values_are_usage_errors(args: list[str]) -> None:
    res = run("report", str(RDB), *args)
    assert res.exit_code == ExitStatus.USAGE, res.output
    assert "Traceback" not in res.output and "Invalid value" in res.output


@pytest.mark.parametrize("verb", ["dump", "report", "diff"])
def test_closed_output_pipe_ends_quietly_with_141(tmp_path: Path, verb: str) -> None:
    """``rdbkit ... | head``: the reader goes away; the verb stops at once, says nothing
    and exits 141 (128 + SIGPIPE, what ``cat`` ends with there; click's 1 would read
    as "different" for diff). The output is far larger than the pipe's buffer."""
    import subprocess
    import sys

    from rdbtools.encoder import encode_bytes
    from rdbtools.model import Record

    big = tmp_path / "big.rdb"
    big.write_bytes(encode_bytes([Record(0, b"key:%d" % i, "string", b"v" * 40) for i in range(40_000)]))
    args = [verb, str(big)] + ([str(RDB62)] if verb == "diff" else [])
    script = (f"{sys.executable} -m cli {' '.join(args)} | head -c 1 >/dev/null; "
              'echo "status=${PIPESTATUS[0]}" >&2')
    res = subprocess.run(["bash", "-c", script], capture_output=True, timeout=120, text=True)
    assert "status=141" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "Error" not in res.stderr, res.stderr


def test_pypi_rdbtools_shadowing_ours_is_one_line(tmp_path: Path) -> None:
    """PyPI's rdbtools (redis-rdb-tools) has our codec package's import name: when it is the
    one Python finds, rdbkit says so in one line and exits 4 instead of an ImportError."""
    import os
    import site
    import subprocess
    import sys

    fake = tmp_path / "site" / "rdbtools"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("class RdbParser:  # redis-rdb-tools' entry point\n    pass\n")
    # -S: no site processing, so an editable install's import hook cannot put ours first;
    # the path is what two distributions in one site-packages would give: theirs found first
    path = [str(tmp_path / "site"), str(Path(__file__).resolve().parents[2]), *site.getsitepackages()]
    code = (f"import sys; sys.path[:0] = {path!r}; sys.argv = ['rdbkit', 'dump', {str(RDB)!r}]; "
            "from cli.main import main; main()")
    res = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         timeout=60, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert res.returncode == ExitStatus.ERROR, res.stderr
    assert "is not rdbkit's" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
