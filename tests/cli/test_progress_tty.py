"""Progress bars on a terminal, none when piped: ``check`` (``--digest`` too), ``fetch``,
``split``, ``merge``, ``compact`` and ``restore`` on a large input, their stderr a pseudo-terminal,
then a pipe."""

from __future__ import annotations

import os
import pty
import random
import subprocess
import sys
from pathlib import Path

import pytest

from rdbtools.encoder import encode_bytes
from rdbtools.model import Record
from tests.conftest import ROOT


def _big_rdb(path: Path) -> None:
    rnd = random.Random(3)  # incompressible values: past the 8 MB a bar needs
    path.write_bytes(encode_bytes([Record(0, b"k:%d" % i, "string", rnd.randbytes(300)) for i in range(32_000)]))


def _stderr_of(argv: list[str], tty: bool) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if not tty:
        res = subprocess.run(argv, capture_output=True, env=env, timeout=120)
        return res.stderr.decode()
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not data:
                break
            chunks.append(data)
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_check_digest_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    big = tmp_path / "big.rdb"
    _big_rdb(big)
    argv = [sys.executable, "-m", "cli", "check", "-q", "--digest", str(big)]
    on_tty = _stderr_of(argv, tty=True)
    assert f"checking {big}" in on_tty and "%" in on_tty, on_tty[-500:]
    assert "checking" not in _stderr_of(argv, tty=False)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_fetch_shows_progress_on_a_terminal(tmp_path: Path, diskless: str) -> None:
    """A full sync of a ~10 MB dataset: a bar with the size the master announced (disk-based,
    ``$<len>``), the bytes so far when it announced none (diskless, ``$EOF:``)."""
    from tests.support.servers import start_real

    srv = start_real(tmp_path, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0")
    try:
        c = srv.client()
        p = c.pipeline(transaction=False)
        rnd = random.Random(4)
        for i in range(35_000):
            p.set(b"k:%d" % i, rnd.randbytes(300))
        p.execute()
        argv = [sys.executable, "-m", "cli", "fetch", "-p", str(srv.port), "-o", str(tmp_path / "snap.rdb")]
        on_tty = _stderr_of(argv, tty=True)
        assert f"fetching 127.0.0.1:{srv.port}" in on_tty and "MB" in on_tty, on_tty[-400:]
        assert ("%" in on_tty) == (diskless == "no")
        assert "fetching" not in _stderr_of(argv, tty=False)
    finally:
        srv.stop()


def _big_aof(path: Path) -> None:
    from aof.replies import encode_command

    rnd = random.Random(5)  # ~10 MB of SETs: past the size a bar needs
    path.write_bytes(b"".join(encode_command([b"SET", b"k:%d" % i, rnd.randbytes(300)]) for i in range(32_000)))


@pytest.mark.parametrize("verb", ["split", "merge", "compact"])
def test_split_merge_and_compact_show_progress_on_a_terminal_only(tmp_path: Path, verb: str) -> None:
    if verb == "split":
        src = tmp_path / "big.rdb"
        _big_rdb(src)
        argv = [sys.executable, "-m", "cli", "split", str(src), "--count", "3"]
        label = f"splitting {src}"
    elif verb == "merge":
        src = tmp_path / "big.rdb"
        _big_rdb(src)
        argv = [sys.executable, "-m", "cli", "merge", str(src)]
        label = f"merging {src}"
    else:
        src = tmp_path / "big.aof"
        _big_aof(src)
        argv = [sys.executable, "-m", "cli", "compact", str(src)]
        label = f"replaying {src}"
    suffix = ".rdb" if verb == "merge" else ""
    on_tty = _stderr_of([*argv, "-o", str(tmp_path / f"tty{suffix}")], tty=True)
    assert label in on_tty and "%" in on_tty, on_tty[-500:]
    assert label not in _stderr_of([*argv, "-o", str(tmp_path / f"piped{suffix}")], tty=False)


def test_restore_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    from tests.support.servers import start_real

    big = tmp_path / "big.rdb"
    _big_rdb(big)
    srv = start_real(tmp_path)
    try:
        argv = [sys.executable, "-m", "cli", "restore", str(big), "-p", str(srv.port), "--replace"]
        on_tty = _stderr_of(argv, tty=True)
        assert f"restoring {big}" in on_tty and "%" in on_tty, on_tty[-500:]
        assert "restoring" not in _stderr_of(argv, tty=False)
        assert srv.client().dbsize() == 32_000
    finally:
        srv.stop()
