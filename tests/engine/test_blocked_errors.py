"""Error statistics of blocked commands as 7.0.15 keeps them: a blocked command served
with an error (XGROUP DESTROY under a blocked XREADGROUP) counts in errorstats and is a
failed call (updateStatsOnUnblock); CLIENT UNBLOCK … ERROR counts the error only."""

from __future__ import annotations

import threading
import time

import redis


def _wait_blocked(c: redis.Redis, n: int) -> None:
    deadline = time.monotonic() + 10
    while c.info("clients")["blocked_clients"] != n:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _stats(c: redis.Redis) -> tuple[object, ...]:
    cmds = {k: (v["calls"], v["rejected_calls"], v["failed_calls"]) for k, v in c.info("commandstats").items()
            if k in ("cmdstat_xreadgroup", "cmdstat_blpop")}
    return c.info("errorstats"), c.info("stats")["total_error_replies"], cmds


def _run(srv) -> list[object]:
    c = srv.client(socket_timeout=10)
    blocker = srv.client(socket_timeout=10)
    blocker.ping()  # connected (and its handshake counted) before the stats are reset
    out: list[object] = []
    c.flushall()
    c.config_resetstat()
    c.xgroup_create("mystream", "mygroup", "$", mkstream=True)
    got: list[object] = []

    def read(argv: tuple[str, ...]) -> None:
        try:
            got.append(blocker.execute_command(*argv))
        except redis.ResponseError as exc:
            got.append(("err", str(exc)))

    t = threading.Thread(target=read, args=(("XREADGROUP", "GROUP", "mygroup", "Alice", "BLOCK", "0",
                                             "STREAMS", "mystream", ">"),))
    t.start()
    _wait_blocked(c, 1)
    c.xgroup_destroy("mystream", "mygroup")
    t.join(10)
    out += [got.pop(), _stats(c)]
    c.config_resetstat()
    t = threading.Thread(target=read, args=(("BLPOP", "l", "0"),))
    t.start()
    _wait_blocked(c, 1)
    bid = next(x["id"] for x in c.client_list() if x["cmd"] == "blpop")
    c.client_unblock(bid, error=True)
    t.join(10)
    out += [got.pop(), _stats(c)]
    return out


def test_blocked_error_stats_like_redis(ours, real) -> None:
    a, b = _run(ours), _run(real)
    assert b[1][1] == 1  # the test measures something
    assert a == b
