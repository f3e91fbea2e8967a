"""A real ``redis-server`` (Debian's 7.0) for differential protocol tests.

Started on 127.0.0.1 on a free port in a temporary directory, with persistence
off; tests talk to it with raw sockets so that garbage reaches the server
unchanged. Skipped when no ``redis-server`` binary is installed.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PASSWORD = "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RealRedis:
    port: int
    proc: subprocess.Popen[bytes]

    def connect(self, timeout: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def raw(
        self, data: bytes, *, settle: float = 0.3, chunk: int = 0, half_close: bool = False
    ) -> tuple[bytes, bool]:
        """Send ``data`` (optionally in ``chunk``-sized writes), return (reply bytes, closed).

        Reads until the server closes the connection or stays silent for ``settle``
        seconds (a server waiting for more input never closes). With ``half_close``
        our side sends EOF after the data, so Redis answers what it parsed and then
        closes: no waiting for silence (``closed`` is then always True).
        """
        with self.connect() as s:
            if chunk:
                for i in range(0, len(data), chunk):
                    s.sendall(data[i : i + chunk])
                    time.sleep(0.002)
            else:
                s.sendall(data)
            if half_close:
                s.shutdown(socket.SHUT_WR)
                settle = 10.0
            s.settimeout(settle)
            out = b""
            while True:
                try:
                    got = s.recv(65536)
                except TimeoutError:
                    return out, False
                except ConnectionResetError:
                    return out, True
                if not got:
                    return out, True
                out += got

    def call(self, *argv: bytes) -> bytes:
        """One well-formed command; returns the raw reply (read until it parses)."""
        from aof.resp import NEED_DATA, ReplyParser, encode_command

        with self.connect() as s:
            s.sendall(encode_command(list(argv)))
            parser = ReplyParser()
            raw = b""
            while True:
                got = s.recv(65536)
                assert got, "server closed the connection"
                raw += got
                parser.feed(got)
                if parser.gets() is not NEED_DATA:
                    return raw


def _start(tmp: Path, *extra: str) -> RealRedis:
    if not Path(REDIS_SERVER).exists():
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--dir", str(tmp),
            "--enable-debug-command", "yes",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp,
    )
    server = RealRedis(port, proc)
    deadline = time.monotonic() + 10
    while True:
        try:
            with server.connect(timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64):
                    return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip("redis-server did not start")
        time.sleep(0.05)


def _stop(server: RealRedis) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def real_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRedis]:
    server = _start(tmp_path_factory.mktemp("redis"))
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def real_redis_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRedis]:
    """A server with ``requirepass``: the unauthenticated limits apply."""
    server = _start(tmp_path_factory.mktemp("redis-auth"), "--requirepass", PASSWORD)
    yield server
    _stop(server)
