"""A replica whose master link is down, with ``replica-serve-stale-data no``, answers as
7.0.15's processCommand does: commands without the ``stale`` flag (PING among them) get
-MASTERDOWN, flagged ones (ECHO, INFO, COMMAND ...) are served."""

from __future__ import annotations

from pathlib import Path

import redis

from tests.support.servers import free_port, start_ours, start_real

CMDS = [["PING"], ["ECHO", "x"], ["GET", "k"], ["SET", "k", "v"], ["COMMAND", "INFO", "ping", "echo", "wait"], ["DBSIZE"],
        ["CLIENT", "GETNAME"], ["CONFIG", "GET", "replica-serve-stale-data"], ["HELLO", "2"], ["TIME"]]


def _run(start, tmp: Path) -> list[object]:
    dead = free_port()  # nobody listens: the link stays down
    srv = start(tmp, "--replicaof", "127.0.0.1", str(dead), "--replica-serve-stale-data", "no")
    out: list[object] = []
    try:
        c = srv.client()
        c.response_callbacks.clear()  # the raw replies
        for argv in CMDS:
            try:
                r = c.execute_command(*argv)
                out.append(r if argv[0] not in ("TIME", "HELLO") else type(r).__name__)
            except redis.ResponseError as exc:
                out.append(("err", type(exc).__name__, str(exc)))
    finally:
        srv.stop()
    return out


def test_stale_replica_like_redis(tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "r").mkdir()
    a, b = _run(start_ours, tmp_path / "o"), _run(start_real, tmp_path / "r")
    assert b[0][0] == "err" and "Link with MASTER is down" in b[0][2]  # PING is not a stale command
    assert a == b
