"""WATCH as Redis 7.0 keeps it (multi.c): which changes make an EXEC fail.

* FLUSHDB / FLUSHALL / SWAPDB touch only the watched keys that exist in the database
  emptied (or in the one swapped in): watching a missing key survives a FLUSHALL.
* A watched key that expires — deleted by active expiry, or just past its deadline at
  EXEC — makes the EXEC fail; one that was already expired when WATCHed and is then
  deleted does not (no logical change).

Each scenario runs on both servers (one connection each, RESP2) and the transcripts
must be equal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import ServerProc, start_ours, start_real

Step = tuple[str, ...] | float  # a command, or seconds to sleep

SCENARIOS: dict[str, list[Step]] = {
    "flushall, missing key": [("DEL", "x"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",)],
    "flushall, existing key": [("SET", "x", "1"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",)],
    "flushdb, key in another db": [("SELECT", "1"), ("SET", "x", "1"), ("SELECT", "0"), ("WATCH", "x"),
                                   ("SELECT", "1"), ("FLUSHDB",), ("MULTI",), ("PING",), ("EXEC",)],
    "swapdb brings the key": [("SELECT", "1"), ("SET", "x", "1"), ("SELECT", "0"), ("WATCH", "x"),
                              ("SWAPDB", "0", "1"), ("MULTI",), ("PING",), ("EXEC",)],
    "swapdb, missing in both": [("WATCH", "x"), ("SWAPDB", "0", "1"), ("MULTI",), ("PING",), ("EXEC",)],
    "expired by active expiry": [("CONFIG", "SET", "hz", "100"), ("SET", "x", "1", "PX", "30"), ("WATCH", "x"),
                                 0.5, ("DBSIZE",), ("MULTI",), ("PING",), ("EXEC",)],
    "past its deadline at EXEC": [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "x", "1", "PX", "30"),
                                  ("WATCH", "x"), 0.1, ("MULTI",), ("PING",), ("EXEC",),
                                  ("DEBUG", "SET-ACTIVE-EXPIRE", "1")],
    "already expired at WATCH, then deleted": [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "x", "1", "PX", "10"),
                                               0.1, ("WATCH", "x"), ("GET", "x"), ("MULTI",), ("PING",),
                                               ("EXEC",), ("DEBUG", "SET-ACTIVE-EXPIRE", "1")],
    "already expired at WATCH, then set": [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "x", "1", "PX", "10"),
                                           0.1, ("WATCH", "x"), ("SET", "x", "2"), ("MULTI",), ("PING",),
                                           ("EXEC",), ("DEBUG", "SET-ACTIVE-EXPIRE", "1")],
    "smove of a member the destination holds": [("SADD", "src", "a", "b"), ("SADD", "dst", "a"), ("WATCH", "dst"),
                                                 ("SMOVE", "src", "dst", "a"), ("MULTI",), ("PING",), ("EXEC",)],
    "smove, source watched": [("SADD", "src", "a", "b"), ("SADD", "dst", "a"), ("WATCH", "src"),
                              ("SMOVE", "src", "dst", "a"), ("MULTI",), ("PING",), ("EXEC",)],
    "smove adds to the destination": [("SADD", "src", "a", "b"), ("WATCH", "dst"), ("SMOVE", "src", "dst", "a"),
                                      ("MULTI",), ("PING",), ("EXEC",)],
    "flushall, expired watched key": [("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "x", "1", "PX", "10"), 0.1,
                                      ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",),
                                      ("DEBUG", "SET-ACTIVE-EXPIRE", "1")],
}


def _play(srv: ServerProc, steps: list[Step]) -> list[Any]:
    c = srv.conn
    out: list[Any] = []
    c.send_command("FLUSHALL")
    c.read_response()
    for step in steps:
        if isinstance(step, float):
            time.sleep(step)
            continue
        c.send_command(*step)
        try:
            out.append(c.read_response())
        except Exception as exc:  # noqa: BLE001 - an error reply is part of the transcript
            out.append(("err", str(exc)))
    c.send_command("SELECT", "0")
    c.read_response()
    return out


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory):
    d = tmp_path_factory.mktemp("watch")
    starters: list[tuple[str, Callable[..., ServerProc]]] = [("real", start_real), ("ours", start_ours)]
    servers = {}
    for name, start in starters:
        (d / name).mkdir()
        servers[name] = start(Path(d / name))
    yield servers
    for s in servers.values():
        s.stop()


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_watch_like_redis(pair, name: str) -> None:
    real = _play(pair["real"], SCENARIOS[name])
    ours = _play(pair["ours"], SCENARIOS[name])
    assert ours == real
