"""redis-cli's ordinary use against our server (Debian redis-tools), compared with real Redis."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.engine.conftest import ServerProc

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
pytestmark = pytest.mark.skipif(not os.path.exists(REDIS_CLI), reason="redis-cli not installed")


def cli(port: int, *args: str, stdin: bytes | None = None) -> bytes:
    p = subprocess.run([REDIS_CLI, "-p", str(port), *args], input=stdin, capture_output=True, timeout=30)
    return p.stdout + p.stderr


@pytest.fixture
def both(ours: ServerProc, real: ServerProc):
    for s in (ours, real):
        cli(s.port, "flushall")
    return ours, real


def test_basic_commands(both) -> None:
    ours, real = both
    script = [("set", "foo", "bar"), ("get", "foo"), ("incr", "n"), ("incrbyfloat", "n", "1.5"),
              ("rpush", "l", "a", "b", "c"), ("lrange", "l", "0", "-1"), ("hset", "h", "f", "v"),
              ("hgetall", "h"), ("zadd", "z", "1", "a", "2", "b"), ("zrange", "z", "0", "-1", "withscores"),
              ("sadd", "s", "1", "2"), ("smembers", "s"), ("type", "z"), ("ttl", "foo"), ("nosuch", "x"),
              ("get",), ("object", "encoding", "l"), ("exists", "foo", "nope"), ("dbsize",), ("ping",)]
    for argv in script:
        assert cli(ours.port, *argv) == cli(real.port, *argv), argv


def test_resp3_and_raw_modes(both) -> None:
    ours, real = both
    for s in (ours, real):
        cli(s.port, "hset", "h", "a", "1", "b", "2")
        cli(s.port, "zadd", "z", "1.5", "m")
    for argv in (("-3", "hgetall", "h"), ("-3", "zscore", "z", "m"), ("-3", "zrange", "z", "0", "-1", "withscores"),
                 ("--raw", "hgetall", "h"), ("--no-raw", "zscore", "z", "m"), ("-3", "get", "nope"),
                 ("--csv", "hgetall", "h"), ("-r", "3", "ping")):
        assert cli(ours.port, *argv) == cli(real.port, *argv), argv


def test_stdin_script(both) -> None:
    ours, real = both
    script = b"SET a 1\nINCR a\nGET a\nLPUSH q x y\nLRANGE q 0 -1\nMULTI\nINCR a\nEXEC\n"
    assert cli(ours.port, stdin=script) == cli(real.port, stdin=script)


def test_pipe_mass_insert(both) -> None:
    ours, real = both
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$3\r\nval\r\n" % (len(b"key:%d" % i), i) for i in range(5000))
    out = cli(ours.port, "--pipe", stdin=data)
    assert b"errors: 0, replies: 5000" in out, out
    assert cli(ours.port, "dbsize") == b"5000\n"


def test_scan_and_bigkeys(both) -> None:
    ours, real = both
    for s in (ours, real):
        cli(s.port, "--pipe", stdin=b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk:%d\r\n$1\r\nv\r\n" % (len(b"k:%d" % i), i) for i in range(300)))
        cli(s.port, "rpush", "biglist", *[str(i) for i in range(50)])
    a = sorted(cli(ours.port, "--scan", "--pattern", "k:1*").split())
    b = sorted(cli(real.port, "--scan", "--pattern", "k:1*").split())
    assert a == b and len(a) == 111
    summary_a = cli(ours.port, "--bigkeys").split(b"-------- summary -------")[1]
    summary_b = cli(real.port, "--bigkeys").split(b"-------- summary -------")[1]
    # which of several equally big strings is "biggest" depends on scan order
    def stable(x: bytes) -> list[bytes]:
        return [ln for ln in x.splitlines() if not ln.startswith(b"Biggest string")]
    assert stable(summary_a) == stable(summary_b)
    assert b"Sampled 301 keys" in summary_a


def test_info_and_config(both) -> None:
    ours, _ = both
    out = cli(ours.port, "info", "server")
    assert b"redis_version:7.0.15" in out
    assert cli(ours.port, "config", "set", "slowlog-max-len", "64") == b"OK\n"
    assert cli(ours.port, "config", "get", "slowlog-max-len") == b"slowlog-max-len\n64\n"
    assert b"calls=" in cli(ours.port, "info", "commandstats")
