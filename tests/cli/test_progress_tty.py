"""Progress bars on a terminal, none when piped: ``check`` (``--digest`` too) on a large
file, its stderr a pseudo-terminal, then a pipe."""

from __future__ import annotations

import os
import pty
import random
import subprocess
import sys
from pathlib import Path

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
