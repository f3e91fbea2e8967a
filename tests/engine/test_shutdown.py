"""SHUTDOWN and SIGTERM as Redis 7.0 runs them, compared with real redis-server 7.0.

A shutdown whose final save fails is refused: the SHUTDOWN client gets
``-ERR Errors trying to SHUTDOWN. Check logs.``, the server keeps serving with
its data, and a later SHUTDOWN (once the path is writable again) exits and the
restart has the data. SIGTERM likewise keeps the server running. NOSAVE skips
the save, FORCE exits in spite of the error. With a lagging replica, SHUTDOWN
waits (``shutdown-timeout``) with writes paused; SHUTDOWN ABORT cancels it.
(A final AOF write that fails: test_aof_server.py.)
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from aof.replies import encode_command
from tests.engine.conftest import ServerProc, start_ours, start_real

SHUTDOWN_ERR = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
Starter = Callable[..., ServerProc]
BOTH = pytest.mark.parametrize("start", [start_real, start_ours], ids=["real", "ours"])


def send(port: int, *argv: bytes | str, timeout: float = 10.0) -> bytes:
    """One command on a fresh connection: the reply bytes, or b"" when the server closed it."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(encode_command([a if isinstance(a, bytes) else a.encode() for a in argv]))
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()


def exited(srv: ServerProc, timeout: float = 10.0) -> int:
    return srv.proc.wait(timeout)


def alive(srv: ServerProc) -> bool:
    time.sleep(0.3)  # a signal is handled from the cron
    return srv.proc.poll() is None


@BOTH
def test_failed_save_refuses_shutdown_then_succeeds(start: Starter, tmp_path: Path) -> None:
    srv = start(tmp_path, "--save", "3600 1")
    try:
        c = srv.client()
        c.set("k", "v")
        (tmp_path / "dump.rdb").mkdir()  # the final save cannot rename onto it
        assert send(srv.port, "SHUTDOWN") == SHUTDOWN_ERR
        assert alive(srv) and c.get("k") == b"v"
        os.kill(srv.proc.pid, signal.SIGTERM)  # logs the same error, keeps running
        assert alive(srv) and c.get("k") == b"v"
        assert send(srv.port, "SHUTDOWN", "SAVE") == SHUTDOWN_ERR
        c.set("k2", "v2")  # a failed final save does not deny writes (no MISCONF)
        (tmp_path / "dump.rdb").rmdir()
        os.kill(srv.proc.pid, signal.SIGTERM)
        assert exited(srv) == 0
    finally:
        srv.stop()
    srv = start(tmp_path)
    try:
        assert srv.client().mget("k", "k2") == [b"v", b"v2"]
    finally:
        srv.stop()


@BOTH
def test_force_exits(start: Starter, tmp_path: Path) -> None:
    srv = start(tmp_path, "--save", "3600 1")
    try:
        srv.client().set("k", "v")
        (tmp_path / "dump.rdb").mkdir()
        assert send(srv.port, "SHUTDOWN", "NOSAVE", "SAVE") == b"-ERR syntax error\r\n"
        assert send(srv.port, "SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"
        assert send(srv.port, "SHUTDOWN", "FORCE") == b""
        assert exited(srv) == 0
    finally:
        srv.stop()
    assert (tmp_path / "dump.rdb").is_dir()  # FORCE exited without a file


@BOTH
def test_shutdown_on_sigterm_config(start: Starter, tmp_path: Path) -> None:
    srv = start(tmp_path, "--save", "3600 1", "--shutdown-on-sigterm", "now force")
    try:
        c = srv.client()
        assert c.config_get("shutdown-on-sigterm") == {"shutdown-on-sigterm": "now force"}
        with pytest.raises(redis.ResponseError, match="SAVE and NOSAVE can't be used simultaneously"):
            c.config_set("shutdown-on-sigint", "save nosave")
        c.config_set("shutdown-on-sigint", "force save")
        assert c.config_get("shutdown-on-sigint") == {"shutdown-on-sigint": "save force"}
        c.set("k", "v")
        (tmp_path / "dump.rdb").mkdir()
        os.kill(srv.proc.pid, signal.SIGTERM)  # FORCE: exits in spite of the failed save
        assert exited(srv) == 0
    finally:
        srv.stop()


FAST_REPL = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1")


def with_replica(start: Starter, tmp_path: Path, timeout: int) -> tuple[ServerProc, ServerProc]:
    """A master (``start``) with ``shutdown-timeout`` and a real replica whose link is up."""
    (tmp_path / "m").mkdir()
    (tmp_path / "r").mkdir()
    master = start(tmp_path / "m", "--shutdown-timeout", str(timeout), "--save", "3600 1", *FAST_REPL)
    replica = start_real(tmp_path / "r", "--replicaof", "127.0.0.1", str(master.port))
    deadline = time.time() + 15
    while master.client().info("replication").get("connected_slaves") != 1 or \
            replica.client().info("replication").get("master_link_status") != "up":
        if time.time() > deadline:
            master.stop()
            replica.stop()
            raise AssertionError("the replica did not connect")
        time.sleep(0.05)
    return master, replica


@BOTH
def test_waits_for_a_lagging_replica_then_abort(start: Starter, tmp_path: Path) -> None:
    """shutdown-timeout: SHUTDOWN blocks while a replica lags, writes are paused, INFO says
    how long is left; SHUTDOWN ABORT answers the waiting client with the error and lets the
    paused write run; the next SHUTDOWN (NOSAVE) exits once the replica caught up."""
    master, replica = with_replica(start, tmp_path, 30)
    try:
        m = master.client()
        m.set("a", "1")
        os.kill(replica.proc.pid, signal.SIGSTOP)  # it stops acknowledging
        try:
            m.set("b", "2")
            waiting = socket.create_connection(("127.0.0.1", master.port), timeout=10)
            waiting.sendall(encode_command([b"SHUTDOWN"]))
            time.sleep(0.5)
            assert master.proc.poll() is None
            info = m.info("server")
            assert 0 < info["shutdown_in_milliseconds"] <= 30_000
            assert m.get("a") == b"1"  # reads are served
            writer = socket.create_connection(("127.0.0.1", master.port), timeout=10)
            writer.sendall(encode_command([b"SET", b"c", b"3"]))
            writer.settimeout(0.5)
            with pytest.raises(TimeoutError):
                writer.recv(100)  # paused until the shutdown ends
            assert send(master.port, "SHUTDOWN", "ABORT") == b"+OK\r\n"
            assert waiting.recv(100) == SHUTDOWN_ERR
            writer.settimeout(10)
            assert writer.recv(100) == b"+OK\r\n"
            assert "shutdown_in_milliseconds" not in m.info("server")
            waiting.close()
            writer.close()
            waiting = socket.create_connection(("127.0.0.1", master.port), timeout=10)
            waiting.sendall(encode_command([b"SHUTDOWN", b"NOSAVE"]))
            time.sleep(0.5)
            assert master.proc.poll() is None
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
        assert exited(master) == 0  # the replica caught up and acknowledged
        assert waiting.recv(100) == b""
        assert not (tmp_path / "m" / "dump.rdb").exists()  # NOSAVE, in spite of the save point
        assert replica.client().mget("a", "b", "c") == [b"1", b"2", b"3"]
    finally:
        master.stop()
        replica.stop()


@BOTH
def test_shutdown_timeout_ends_the_wait(start: Starter, tmp_path: Path) -> None:
    master, replica = with_replica(start, tmp_path, 1)
    try:
        m = master.client()
        os.kill(replica.proc.pid, signal.SIGSTOP)
        try:
            m.set("b", "2")
            t0 = time.time()
            assert send(master.port, "SHUTDOWN", "NOSAVE") == b""  # after shutdown-timeout
            assert exited(master) == 0
            assert 0.5 < time.time() - t0 < 5
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
    finally:
        master.stop()
        replica.stop()


@BOTH
def test_initial_aof_still_being_written_refuses_shutdown(start: Starter, tmp_path: Path) -> None:
    """CONFIG SET appendonly yes starts the first rewrite (AOF_WAIT_REWRITE): until it is done
    the data exists only in memory, so SHUTDOWN is refused unless FORCE."""
    srv = start(tmp_path, "--rdb-key-save-delay", "300000")  # 0.3 s a key: a slow rewrite
    try:
        c = srv.client()
        c.mset({f"k{i}": i for i in range(10)})
        c.config_set("appendonly", "yes")
        assert c.info("persistence")["aof_rewrite_in_progress"] == 1
        assert send(srv.port, "SHUTDOWN") == SHUTDOWN_ERR
        assert alive(srv) and c.dbsize() == 10
        assert send(srv.port, "SHUTDOWN", "FORCE") == b""
        assert exited(srv) == 0
    finally:
        srv.stop()


def _abort_held_sigterm(start: Starter, tmp_path: Path) -> list[bytes]:
    srv = start(tmp_path)
    try:
        got = [send(srv.port, "DEBUG", "PAUSE-CRON", "1")]
        os.kill(srv.pid, signal.SIGTERM)
        time.sleep(0.2)  # the cron that would act on it is paused
        got += [send(srv.port, "SHUTDOWN", "ABORT"), send(srv.port, "DEBUG", "PAUSE-CRON", "0")]
        time.sleep(0.3)
        got.append(send(srv.port, "PING"))
        return got
    finally:
        srv.stop()


def test_shutdown_abort_cancels_a_sigterm_the_cron_holds(tmp_path: Path) -> None:
    """A signal is acted on by serverCron: with DEBUG PAUSE-CRON it waits, and SHUTDOWN
    ABORT cancels it."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    assert _abort_held_sigterm(start_ours, tmp_path / "ours") == _abort_held_sigterm(start_real, tmp_path / "real")



def _second_sigint(start: Starter, tmp_path: Path) -> tuple[bool, bool, int | None]:
    srv = start(tmp_path, "--save", "3600 1", "--rdb-key-save-delay", "100000")
    try:
        srv.client().mset({str(i): i for i in range(20)})
        temp = tmp_path / f"temp-{srv.pid}.rdb"
        os.kill(srv.pid, signal.SIGINT)  # a final save of 2 s (20 keys, 100 ms each)
        deadline = time.monotonic() + 5
        while not temp.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        written = temp.exists()
        os.kill(srv.pid, signal.SIGINT)
        time.sleep(0.5)  # well before the save would end
        return written, temp.exists(), srv.proc.poll()
    finally:
        srv.stop()


def test_second_sigint_during_the_final_save_exits_at_once(tmp_path: Path) -> None:
    """sigShutdownHandler: a SIGINT while the final save runs exits at once, and the
    save's temp file goes."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    assert _second_sigint(start_ours, tmp_path / "ours") == _second_sigint(start_real, tmp_path / "real")
