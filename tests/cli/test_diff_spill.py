"""``rdbkit diff --tmpdir``: runs spill there, the answer does not change, and nothing is
left behind — after a run, and after Ctrl-C (exit 130, quietly)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from tests.conftest import ROOT
from tests.rdbtools.test_diff_spill import make_pair, write_rdb
from tests.support.peak import run_peak


def run(*args: object, input: bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def test_spilled_diff_prints_what_the_in_memory_one_prints(tmp_path: Path) -> None:
    a, b = make_pair(200)
    fa, fb = write_rdb(tmp_path / "a.rdb", a), write_rdb(tmp_path / "b.rdb", b)
    work = tmp_path / "runs"
    work.mkdir()
    whole = run("diff", "--format", "jsonl", fa, fb)
    assert whole.exit_code == 1 and whole.output.count("\n") > 30
    spilled = run("diff", "--format", "jsonl", "--tmpdir", work, "--run-bytes", 64, fa, fb)
    assert (spilled.exit_code, spilled.output) == (1, whole.output)
    piped = run("diff", "--format", "jsonl", "--tmpdir", work, "--run-bytes", 64, fa, "-",
                input=fb.read_bytes())  # B from stdin: spooled, re-read by offset
    assert (piped.exit_code, piped.output) == (1, whole.output)
    assert list(work.iterdir()) == []
    missing = run("diff", "--tmpdir", tmp_path / "nope", fa, fb)
    assert missing.exit_code == 2 and "nope" in missing.output


def _files_in(pid: int, d: Path) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return [x for x in out if x.startswith(str(d) + "/")]


def test_interrupt_while_spilling_leaves_the_tmpdir_empty(tmp_path: Path) -> None:
    a, b = make_pair(6000)
    fa, fb = write_rdb(tmp_path / "a.rdb", a), write_rdb(tmp_path / "b.rdb", b)
    work = tmp_path / "runs"
    work.mkdir()
    # one record a run: the merge collapses runs again and again, seconds of spilling
    proc = subprocess.Popen([sys.executable, "-m", "cli", "diff", "--tmpdir", str(work),
                             "--run-bytes", "32", str(fa), str(fb)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not _files_in(proc.pid, work):
            assert proc.poll() is None and time.monotonic() < deadline, "never spilled"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert b"Traceback" not in err
    assert list(work.iterdir()) == []


SOAK = bool(os.environ.get("RDBKIT_SOAK"))


def test_peak_memory_does_not_grow_with_the_dumps(tmp_path: Path) -> None:
    """CI diffs 50K keys; ``RDBKIT_SOAK=1`` 3M (an in-memory index of 32 bytes a key
    plus its sorted copy would pass 100 MB there): peak RSS stays within 100 MB."""
    from rdbtools.encoder import write_events
    from rdbtools.model import Record

    n = 3_000_000 if SOAK else 50_000
    paths = []
    for name, changed in (("a.rdb", 0), ("b.rdb", 1)):
        path = tmp_path / name
        with open(path, "wb") as f:
            write_events((Record(0, b"key:%d" % i, "string", b"v%d" % (i + (changed and i % 97 == 0)))
                          for i in range(n)), f, target_version=10, aux=None)
        paths.append(path)
    code, kib, err = run_peak([sys.executable, "-m", "cli", "diff", "-q", "--tmpdir", str(tmp_path),
                               *map(str, paths)])
    assert code == 1, err
    assert kib / 1024 <= 100, f"peak RSS {kib / 1024:.0f} MB"
    assert sorted(tmp_path.iterdir()) == paths  # the runs left nothing beside the inputs
