"""Protocol garbage: Redis's error text then a disconnect; other clients unaffected;
memory stays bounded (query buffer and output buffer limits)."""

from __future__ import annotations

import socket
import time

import pytest

from tests.engine.conftest import ServerProc, start_ours

GARBAGE = [
    b"*abc\r\n",
    b"*1\r\nfoo\r\n",
    b"*1\r\n$-5\r\n",
    b"*1\r\n$abc\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$600000000\r\n",
    b'SET "a b\r\n',
    b"SET 'a\r\n",
    b"PING\r\n*abc\r\n",
    b"*1\r\n$4\r\nPING\r\n*x\r\n",
    b"x" * 70000,
    b"*" + b"1" * 70000,
    b"*1\r\n$" + b"1" * 70000,
]


def exchange(port: int, payload: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send ``payload``; return everything received and whether the server closed."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    try:
        s.sendall(payload)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return out, False
            if not chunk:
                return out, True
            out += chunk
    finally:
        s.close()


@pytest.mark.differential
@pytest.mark.parametrize("payload", GARBAGE, ids=lambda p: repr(p[:24]))
def test_garbage_same_as_redis(ours: ServerProc, real: ServerProc, payload: bytes) -> None:
    a = exchange(ours.port, payload, timeout=2.0)
    b = exchange(real.port, payload, timeout=2.0)
    assert a == b
    assert a[1], "the connection must be closed after a protocol error"


def test_unauthenticated_limits(tmp_path) -> None:
    srv = start_ours(tmp_path, "--requirepass", "pw")
    try:
        out, closed = exchange(srv.port, b"*11\r\n" + b"$1\r\na\r\n" * 11)
        assert out == b"-ERR Protocol error: unauthenticated multibulk length\r\n" and closed
        out, closed = exchange(srv.port, b"*1\r\n$20000\r\n")
        assert out == b"-ERR Protocol error: unauthenticated bulk length\r\n" and closed
        out, closed = exchange(srv.port, b"*1\r\n$3\r\nGET\r\n", timeout=1.0)
        assert out == b"-ERR wrong number of arguments for 'get' command\r\n"
        out, closed = exchange(srv.port, b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n", timeout=1.0)
        assert out == b"-NOAUTH Authentication required.\r\n"
        # after AUTH the limits lift for the rest of the same pipeline
        big = b"*12\r\n$4\r\nMSET\r\n" + b"$1\r\nk\r\n$1\r\nv\r\n" * 5 + b"$1\r\nx\r\n"
        out, _ = exchange(srv.port, b"AUTH pw\r\n" + big, timeout=1.0)
        assert out.startswith(b"+OK\r\n")
        assert b"Protocol error" not in out
    finally:
        srv.stop()


def test_other_clients_unaffected_and_memory_bounded(tmp_path) -> None:
    srv = start_ours(tmp_path, "--client-query-buffer-limit", "1mb")
    try:
        good = srv.client()
        good.set("k", "v")
        rss0 = int(good.info("memory")["used_memory_rss"])
        # 64 MiB with no newline, and a declared 100 MB bulk that never completes
        for payload_head in (b"", b"*1\r\n$100000000\r\n"):
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.settimeout(10)
            closed = False
            try:
                s.sendall(payload_head)
                chunk = b"y" * 65536
                for _ in range(1024):
                    s.sendall(chunk)
                    assert good.get("k") == b"v"
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if not closed:
                try:
                    closed = s.recv(100) == b""
                except ConnectionResetError:
                    closed = True
            s.close()
            assert closed
        assert good.get("k") == b"v"
        rss1 = int(good.info("memory")["used_memory_rss"])
        assert rss1 - rss0 < 32 * 1024 * 1024, (rss0, rss1)
    finally:
        srv.stop()


def test_slow_reader_memory_bounded(tmp_path) -> None:
    srv = start_ours(tmp_path)
    try:
        good = srv.client()
        good.set("big", b"x" * (1024 * 1024))
        rss0 = int(good.info("memory")["used_memory_rss"])
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        req = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 100
        s.setblocking(False)
        sent = 0
        deadline = time.time() + 5
        while sent < 2000 and time.time() < deadline:  # up to 2 GB of replies requested
            try:
                s.send(req)
                sent += 100
            except BlockingIOError:
                time.sleep(0.01)
        time.sleep(0.5)
        assert good.ping()
        rss1 = int(good.info("memory")["used_memory_rss"])
        assert rss1 - rss0 < 200 * 1024 * 1024, (rss0, rss1)
        s.close()
    finally:
        srv.stop()


def test_output_buffer_limit_disconnects(tmp_path) -> None:
    srv = start_ours(tmp_path, "--client-output-buffer-limit", "normal", "2mb", "0", "0")
    try:
        good = srv.client()
        good.set("big", b"x" * (1024 * 1024))
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * 20)
        time.sleep(1.0)
        clients = good.client_list()
        assert len(clients) == 1, clients
        s.close()
    finally:
        srv.stop()
