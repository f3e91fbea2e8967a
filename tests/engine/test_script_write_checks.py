"""The server-state checks a script's writes meet, as in Redis 7.0 (script.c).

With ``min-replicas-to-write 1`` and no replica: a read-only command and a script that
declares ``no-writes`` run; a shebang script without that flag is a write and is refused
up front (NOREPLICAS); a flagless EVAL runs until its first write command, which fails
inside the script (scriptVerifyWriteCommandAllow). The same scripts on a read-only
replica meet READONLY. Both servers get the same commands; replies are compared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.engine.conftest import ServerProc, start_ours, start_real

SCRIPTS = [
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"),
    ("EVAL", "return redis.call('get','x')", "1", "x"),
    ("EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"),
    ("EVAL", "return redis.call('set','x', 1)", "1", "x"),
    ("EVAL", "return redis.pcall('set','x', 1)", "1", "x"),
    ("EVAL", "redis.call('get','x') return redis.call('incr','y')", "2", "x", "y"),
    ("SET", "x", "2"),
    ("GET", "x"),
    ("MULTI",), ("GET", "x"), ("EXEC",),
    ("MULTI",), ("SET", "x", "3"), ("EXEC",),
]


def _replies(srv: ServerProc, setup: list[tuple[str, ...]]) -> list[Any]:
    c = srv.conn
    out: list[Any] = []
    for argv in [("SET", "x", "some value"), *setup, *SCRIPTS]:
        c.send_command(*argv)
        try:
            out.append(c.read_response())
        except Exception as exc:  # noqa: BLE001 - error replies are compared as text
            out.append(("err", str(exc)))
    return out


def test_min_replicas_to_write_and_scripts(tmp_path: Path) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            got[name] = _replies(srv, [("CONFIG", "SET", "min-replicas-to-write", "1")])
        finally:
            srv.stop()
    assert ("err", "NOREPLICAS Not enough good replicas to write.") in got["real"]
    assert got["ours"] == got["real"]


def test_scripts_on_a_read_only_replica(tmp_path: Path) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            # a master that is not there: the replica stays read-only and serves stale data
            got[name] = _replies(srv, [("REPLICAOF", "127.0.0.1", "1")])[1:]
        finally:
            srv.stop()
    assert got["ours"] == got["real"]
