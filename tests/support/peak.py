"""The peak RSS of one command, measured apart from the test process.

A child's ``ru_maxrss`` (``wait4``, ``RUSAGE_CHILDREN``) is not its own peak when a big
process started it: Linux keeps the high-water mark of the memory the child shared with
its parent before ``exec`` (a pytest worker that ran many tests is hundreds of MB).
So the command runs under a small Python launcher, whose own child starts from a few MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def run_peak(argv: list[str], timeout: float = 600) -> tuple[int, int, str]:
    """Run ``argv`` (stdout discarded); its exit code, its peak RSS in KiB and its stderr."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", _LAUNCHER, *argv], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=timeout)
    code, kib = out.stdout.split()
    return int(code), int(kib), out.stderr


def rdbkit_peak_kib(*args: str) -> int:
    """``rdbkit ARGS`` must exit 0; its peak RSS in KiB."""
    code, kib, err = run_peak([sys.executable, "-m", "cli", *args], timeout=300)
    assert code == 0, err
    return kib
