"""The pipelined request loop in C (engine._fastpath) against the pure-Python one.

Two of our servers, one with the C accelerators and one under RDBKIT_PUREPYTHON=1 (so
dispatch.run_commands runs call() for every command), get the same pipelined batches:
fast commands, error replies, unknown commands and arity errors (left to the general
path), a WATCHed key changed mid-batch, every command over the slow-log threshold,
latency tracking off, AOF propagation on. Replies must be byte-identical, and so must
what the loop keeps beside them: INFO commandstats/errorstats counts, the latency
histograms' call counts, the slow log's entries, the AOF's bytes and the dataset's
digest.
"""

from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.support.servers import ServerProc, free_port, ours_argv, ours_env

pytest.importorskip("engine._fastpath", reason="C extension not built (pip install -e .)")


def _start(tmp, pure: bool) -> ServerProc:
    tmp.mkdir()
    env = ours_env()
    env.pop("RDBKIT_PUREPYTHON", None)
    if pure:
        env["RDBKIT_PUREPYTHON"] = "1"
    port = free_port()
    return ServerProc(ours_argv(port, tmp, "--appendonly", "no"), port, tmp, env)


def _pipeline(port: int, cmds: list[list]) -> list[bytes]:
    """Every command in one write; each reply's exact bytes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        sock.sendall(b"".join(encode_command([a if isinstance(a, bytes) else str(a).encode() for a in c])
                              for c in cmds))
        parser, buf, out, start = ReplyParser(), b"", [], 0
        while len(out) < len(cmds):
            if parser.gets() is NEED_DATA:
                chunk = sock.recv(65536)
                assert chunk, "connection closed"
                buf += chunk
                parser.feed(chunk)
                continue
            out.append(buf[start:parser.offset])
            start = parser.offset
        return out
    finally:
        sock.close()


BATCH = [
    ["SET", "a", "1"], ["GET", "a"], ["INCR", "a"], ["INCRBY", "a", "5"], ["LPUSH", "l", "1", "2", "3"],
    ["LPOP", "l"], ["RPOP", "l", "2"], ["SADD", "s", "x", "y", "1"], ["SISMEMBER", "s", "y"], ["SREM", "s", "x"],
    ["HSET", "h", "f", "v", "g", "w"], ["HGET", "h", "g"], ["ZADD", "z", "1", "m", "2", "n"], ["ZPOPMIN", "z"],
    ["GET", "nosuch"], ["SET", "str", "abc"], ["INCR", "str"], ["LPUSH", "a", "x"], ["FOO", "bar"], ["GET"],
    ["SET", "a"], ["MSET", "k1", "v1", "k2", "v2"], ["DEL", "k1"], ["EXPIRE", "k2", "1000"], ["TTL", "k2"],
    ["PING"], ["ECHO", "hi"], ["SELECT", "1"], ["SET", "b", "2"], ["SELECT", "0"], ["EXISTS", "a", "b", "k2"],
    ["LRANGE", "l", "0", "-1"], ["APPEND", "str", "def"], ["STRLEN", "str"], ["GETRANGE", "str", "1", "3"],
    ["SETRANGE", "str", "1", "Z"], ["HINCRBY", "h", "n", "3"], ["HINCRBY", "h", "f", "1"],
    ["OBJECT", "ENCODING", "h"], ["TYPE", "z"], ["ZSCORE", "z", "n"], ["SPOP", "s", "5"], ["SCARD", "s"],
] * 3


def _stats(c: redis.Redis) -> tuple:
    calls = sorted((k, v["calls"], v["rejected_calls"], v["failed_calls"])
                   for k, v in c.info("commandstats").items() if k != "cmdstat_info")  # the test polls INFO
    errors = sorted(c.info("errorstats").items())
    raw = _pipeline(c.connection_pool.connection_kwargs["port"], [["LATENCY", "HISTOGRAM"]])[0]
    hist_calls = sorted(x for x in re.findall(rb"\$\d+\r\n([a-z|]+)\r\n\*4\r\n\$5\r\ncalls\r\n:(\d+)", raw) if x[0] != b"info")
    slow = [entry[3] for entry in c.execute_command("SLOWLOG", "GET", "-1")]
    return calls, errors, hist_calls, slow, c.execute_command("DEBUG", "DIGEST")


def test_c_loop_equals_python_loop(tmp_path) -> None:
    servers = [_start(tmp_path / "c", False), _start(tmp_path / "py", True)]
    try:
        clients = [s.client() for s in servers]
        watchers = [s.client() for s in servers]
        phases: list[list[bytes]] = [[], []]
        for k, (srv, c, w) in enumerate(zip(servers, clients, watchers)):
            got = phases[k]
            c.config_set("slowlog-log-slower-than", 10**9)  # nothing logged by chance on a busy machine
            got += _pipeline(srv.port, BATCH)  # the C loop's common case (no AOF, nobody watching)
            p = w.pipeline()
            p.watch("a")
            p.multi()
            p.set("a", "watched")
            got += _pipeline(srv.port, [["SET", "a", "changed"], ["GET", "a"]])  # signals the WATCHer
            try:
                p.execute()
                got.append(b"exec ran")
            except redis.WatchError:
                got.append(b"exec aborted")
            c.config_set("slowlog-log-slower-than", 0)  # every command past the threshold
            got += _pipeline(srv.port, BATCH[:20])
            c.config_set("slowlog-log-slower-than", 10**9)
            c.config_set("latency-tracking", "no")
            got += _pipeline(srv.port, BATCH[:10])
            c.config_set("latency-tracking", "yes")
            c.config_set("appendonly", "yes")  # propagation: every write through after_call
            while c.info("persistence")["aof_rewrite_in_progress"] or c.info("persistence")["aof_rewrite_scheduled"]:
                time.sleep(0.05)
            got += _pipeline(srv.port, BATCH)
        assert phases[0] == phases[1]
        assert b"exec aborted" in phases[0]
        a, b = (_stats(c) for c in clients)
        for what, x, y in zip(("commandstats", "errorstats", "histograms", "slowlog", "digest"), a, b):
            assert x == y, (what, set(map(str, x)) ^ set(map(str, y)) if isinstance(x, list) else (x, y))
        assert a[3], "the slow log has entries"
        aofs = [sorted((s.dir / "appendonlydir").glob("*.incr.aof")) for s in servers]
        stamp = re.compile(rb"(PEXPIREAT\r\n\$\d+\r\n\S+\r\n\$\d+\r\n)\d+")  # the clock's, not the loop's
        assert ([stamp.sub(rb"\1T", p.read_bytes()) for p in aofs[0]]
                == [stamp.sub(rb"\1T", p.read_bytes()) for p in aofs[1]])
        assert b"LPUSH" in aofs[0][-1].read_bytes() or b"lpush" in aofs[0][-1].read_bytes()
    finally:
        for s in servers:
            s.stop()
