"""AOF round trips, differential against real Redis 7.0 (issue 5's first acceptance item).

Hypothesis generates sequences of write commands (every type, relative and
absolute expiries, MULTI/EXEC blocks, SELECT, BGREWRITEAOF in the middle). The
same sequence goes to our server and to a real redis-server 7.0, both with
``appendonly yes``; then:

1. live state: ``DEBUG DIGEST`` equal (the digest construction itself is
   checked against real Redis in tests/rdbtools/test_digest.py);
2. ours killed with SIGKILL and restarted on its own directory: same digest and
   the very same absolute expiry of every key (relative TTLs were logged as
   absolute times);
3. real Redis started on a copy of *our* directory: same digest;
4. ours started on a copy of *real Redis's* directory: same digest.

Each fsync policy runs, with and without the RDB preamble.
"""

from __future__ import annotations

import shutil
import signal
import time
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import ServerProc, start_ours, start_real

KEYS = [f"k{i}" for i in range(6)]
NUMS = ["n0", "n1"]
key = st.sampled_from(KEYS)
val = st.sampled_from(["a", "bb", "12", "-3", "x" * 50, "3.5"])
small = st.integers(1, 5)
secs = st.integers(200, 100_000)  # long enough never to expire during a test
msecs = st.integers(200_000, 100_000_000)
past = st.integers(1, 10_000)  # absolute times in 1970: the key goes at once
member = st.sampled_from(["m1", "m2", "m3", "7", "8"])

CMD = st.one_of(
    st.tuples(st.just("SET"), key, val),
    st.tuples(st.just("SET"), key, val, st.just("EX"), secs),
    st.tuples(st.just("SET"), key, val, st.just("PX"), msecs),
    st.tuples(st.just("SET"), key, val, st.sampled_from(["NX", "XX", "KEEPTTL", "GET"])),
    st.tuples(st.just("SETEX"), key, secs, val),
    st.tuples(st.just("PSETEX"), key, msecs, val),
    st.tuples(st.just("GETEX"), key, st.just("EX"), secs),
    st.tuples(st.just("GETEX"), key, st.just("PX"), msecs),
    st.tuples(st.just("GETEX"), key, st.sampled_from(["EXAT", "PXAT"]), past),
    st.tuples(st.just("GETEX"), key, st.just("PERSIST")),
    st.tuples(st.just("GETDEL"), key),
    st.tuples(st.sampled_from(["INCR", "DECR"]), st.sampled_from(NUMS)),
    st.tuples(st.just("INCRBYFLOAT"), st.sampled_from(NUMS), st.sampled_from(["1.5", "-0.25", "10"])),
    st.tuples(st.just("APPEND"), key, val),
    st.tuples(st.sampled_from(["RPUSH", "LPUSH"]), key, val, val),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), key),
    st.tuples(st.just("LMOVE"), key, key, st.sampled_from(["LEFT", "RIGHT"]), st.sampled_from(["LEFT", "RIGHT"])),
    st.tuples(st.just("LTRIM"), key, st.integers(-3, 3), st.integers(-3, 3)),
    st.tuples(st.just("HSET"), key, member, val),
    st.tuples(st.just("HDEL"), key, member),
    st.tuples(st.just("HINCRBYFLOAT"), key, member, st.sampled_from(["1.5", "2"])),
    st.tuples(st.just("SADD"), key, member, member),
    st.tuples(st.just("SREM"), key, member),
    st.tuples(st.just("SMOVE"), key, key, member),
    st.tuples(st.just("SUNIONSTORE"), key, key, key),
    st.tuples(st.just("ZADD"), key, st.sampled_from(["1", "2.5", "-inf", "7"]), member),
    st.tuples(st.just("ZINCRBY"), key, st.sampled_from(["1", "0.5"]), member),
    st.tuples(st.sampled_from(["ZPOPMIN", "ZPOPMAX"]), key),
    st.tuples(st.just("ZUNIONSTORE"), key, st.just("2"), key, key),
    st.tuples(st.sampled_from(["DEL", "UNLINK"]), key),
    st.tuples(st.just("RENAME"), key, key),
    st.tuples(st.just("COPY"), key, key, st.just("REPLACE")),
    st.tuples(st.just("MOVE"), key, st.just("1")),
    st.tuples(st.just("EXPIRE"), key, secs),
    st.tuples(st.just("PEXPIRE"), key, msecs),
    st.tuples(st.just("EXPIRE"), key, secs, st.sampled_from(["NX", "XX", "GT", "LT"])),
    st.tuples(st.sampled_from(["PEXPIREAT", "EXPIREAT"]), key, past),
    st.tuples(st.just("PERSIST"), key),
    st.tuples(st.just("SELECT"), st.sampled_from(["0", "1"])),
)
STEP = st.one_of(
    CMD.map(lambda c: ("cmd", c)),
    st.lists(CMD, min_size=1, max_size=4).map(lambda cs: ("multi", cs)),
    st.just(("rewrite", None)),
    st.just(("flushdb", None)),
)


def _norm(v: Any) -> Any:
    if isinstance(v, list):
        return [_norm(x) for x in v]
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, Exception):
        return f"ERR:{v}"
    return v


def _call(c: redis.Redis, args: tuple) -> Any:
    try:
        return _norm(c.execute_command(*args))
    except redis.ResponseError as exc:
        return f"ERR:{exc}"


def _apply(c: redis.Redis, step: tuple) -> Any:
    kind, body = step
    if kind == "cmd":
        return _call(c, body)
    if kind == "multi":
        out = [_call(c, ("MULTI",))]
        out += [_call(c, cmd) for cmd in body]
        out.append(_call(c, ("EXEC",)))
        return out
    if kind == "rewrite":
        r = _call(c, ("BGREWRITEAOF",))
        return "rewrite" if "rewriting" in str(r) or "ERR" in str(r) else r
    return _call(c, ("FLUSHDB",))


def _wait_rewrites(c: redis.Redis) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        info = c.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.05)
    raise AssertionError("rewrite did not finish")


def _state(srv: ServerProc) -> tuple[str, dict[tuple[int, str], int]]:
    c = srv.client(socket_timeout=30)
    digest = _norm(c.execute_command("DEBUG", "DIGEST"))
    deadlines = {}
    for db in (0, 1):
        c.execute_command("SELECT", db)
        for k in c.scan_iter(count=100):
            deadlines[(db, _norm(k))] = int(c.execute_command("PEXPIRETIME", k))
    c.close()
    return digest, deadlines


def _aof_args(policy: str, preamble: str) -> tuple[str, ...]:
    return ("--appendonly", "yes", "--appendfsync", policy, "--aof-use-rdb-preamble", preamble,
            "--aof-timestamp-enabled", "no")


@pytest.mark.parametrize(("policy", "preamble"), [("always", "yes"), ("everysec", "no"), ("no", "yes")])
def test_aof_round_trip_against_real_redis(tmp_path_factory: pytest.TempPathFactory, policy: str,
                                           preamble: str) -> None:
    @settings(max_examples=4, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(STEP, min_size=5, max_size=40))
    def run(steps: list[tuple]) -> None:
        base = tmp_path_factory.mktemp("aofrt")
        d_ours, d_real = base / "ours", base / "real"
        d_ours.mkdir()
        d_real.mkdir()
        args = _aof_args(policy, preamble)
        ours = start_ours(d_ours, *args)
        real = start_real(d_real, *args)
        servers = [ours, real]
        try:
            a = ours.client(single_connection_client=True, socket_timeout=30)
            b = real.client(single_connection_client=True, socket_timeout=30)
            for step in steps:
                ra, rb = _apply(a, step), _apply(b, step)
                assert ra == rb, f"{step}: ours {ra!r} real {rb!r}"
            for c in (a, b):
                _wait_rewrites(c)
            a.close()
            b.close()
            live_ours, live_real = _state(ours), _state(real)
            assert live_ours[0] == live_real[0], "live datasets differ"
            # 2. kill -9 ours and restart on the same directory
            ours.proc.send_signal(signal.SIGKILL)
            ours.proc.wait()
            ours = start_ours(d_ours, *args, loaded=True)
            servers[0] = ours
            assert _state(ours) == live_ours, "our AOF did not restore our dataset"
            real.stop()
            # 3. real Redis on a copy of our directory, 4. ours on a copy of real Redis's
            ours.stop()
            shutil.copytree(d_ours, base / "ours-copy")
            shutil.copytree(d_real, base / "real-copy")
            x = start_real(base / "ours-copy", *args, loaded=True)  # DEBUG runs while loading
            servers.append(x)
            assert _state(x)[0] == live_ours[0], "real Redis loads our AOF to a different dataset"
            y = start_ours(base / "real-copy", *args, loaded=True)
            servers.append(y)
            assert _state(y)[0] == live_real[0], "we load real Redis's AOF to a different dataset"
        finally:
            for s in servers:
                s.stop()

    run()
