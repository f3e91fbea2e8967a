"""Fixtures: our server and a real redis-server 7.0 on free loopback ports.

Both run as subprocesses started once per session and killed by PID. Tests that
need the real server are skipped only when ``/usr/bin/redis-server`` is missing
(CI installs it: ``apt-get install -y redis-server``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
COMMON_ARGS = ["--save", "", "--appendonly", "no", "--enable-debug-command", "yes"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


class ServerProc:
    def __init__(self, argv: list[str], port: int, cwd: str, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.argv = argv
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_port(port, self.proc)

    def client(self, **kw: object) -> redis.Redis:
        # redis-py 8 times out after 5 s by default: too short for a DEBUG DIGEST of a big
        # dataset on a loaded 2-core CI machine
        kw.setdefault("socket_timeout", 60)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_ours(tmp: Path, *extra: str) -> ServerProc:
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, "-m", "engine", "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(tmp), "--loglevel", "warning", *COMMON_ARGS, *extra]
    return ServerProc(argv, port, str(tmp), env)


def start_real(tmp: Path, *extra: str) -> ServerProc:
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
            "--loglevel", "warning", *COMMON_ARGS, *extra]
    return ServerProc(argv, port, str(tmp))


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = start_ours(tmp_path_factory.mktemp("ours"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = start_real(tmp_path_factory.mktemp("real"))
    yield srv
    srv.stop()


@pytest.fixture
def r(ours: ServerProc) -> Iterator[redis.Redis]:
    c = ours.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request: pytest.FixtureRequest, ours: ServerProc,
         real: ServerProc) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """Clients of both servers speaking RESP2, then RESP3 (HELLO 3)."""
    proto = request.param
    a = ours.client(socket_timeout=10, protocol=proto)
    b = real.client(socket_timeout=10, protocol=proto)
    for x in (a, b):
        x.flushall()
        x.config_set("hash-max-listpack-entries", 512)
        x.config_set("zset-max-listpack-entries", 128)
        x.config_set("set-max-intset-entries", 512)
        x.response_callbacks.clear()  # compare raw replies, not redis-py's parsed forms
    yield a, b
    a.close()
    b.close()
