"""The slow log as 7.0 keeps it around EXEC and blocked commands.

EXEC itself is never logged (CMD_SKIP_SLOWLOG), the commands it ran are; a blocked
command is logged when another client's push serves it, as the command the client sent
(BLPOP, not the LPOP it is propagated as) — and not at all when it times out.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.engine.conftest import ServerProc, start_ours, start_real


def _names(c) -> list[list[bytes]]:
    return [e[3] for e in c.execute_command("SLOWLOG", "GET", "10")]


def _run(srv: ServerProc) -> list[object]:
    c = srv.client()
    out: list[object] = []
    c.config_set("slowlog-log-slower-than", "100000")
    c.execute_command("SLOWLOG", "RESET")
    p = c.pipeline(transaction=True)
    p.execute_command("DEBUG", "SLEEP", "0.15")
    p.execute()
    out.append(_names(c))
    c.config_set("slowlog-log-slower-than", "0")
    blocker = srv.client()
    t = threading.Thread(target=lambda: blocker.execute_command("BLPOP", "l", "0"))
    t.start()
    deadline = time.monotonic() + 10
    while c.info("clients")["blocked_clients"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    p = c.pipeline(transaction=True)
    p.execute_command("LPUSH", "l", "foo")
    p.execute_command("SLOWLOG", "RESET")
    p.execute()
    t.join(10)
    out.append([e for e in _names(c) if e[0].lower() != b"info"])
    c.execute_command("SLOWLOG", "RESET")
    blocker.execute_command("BLPOP", "l2", "0.1")  # times out
    out.append([e for e in _names(c) if e[0].lower() == b"blpop"])
    return out


def test_slowlog_exec_and_blocked_like_redis(tmp_path: Path) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            got[name] = _run(srv)
        finally:
            srv.stop()
    assert got["real"][0] == [[b"DEBUG", b"SLEEP", b"0.15"]]
    assert got["ours"] == got["real"]
