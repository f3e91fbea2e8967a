"""The request path in C (engine._fastpath: the read, the pipelined loop) against the
pure-Python one.

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


def _session(port: int, steps: list) -> list[bytes]:
    """One connection; each step is bytes to send as one write (then a pause, so the
    server reads it alone) or an int: read until that many more replies arrived, or
    until the server closed the connection. Returns each reply's exact bytes (and
    b"<closed>")."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    parser, buf, out, start = ReplyParser(), b"", [], 0
    try:
        for step in steps:
            if isinstance(step, bytes):
                sock.sendall(step)
                time.sleep(0.05)
                continue
            want = len(out) + step
            while len(out) < want:
                if parser.gets() is NEED_DATA:
                    chunk = sock.recv(65536)
                    if not chunk:
                        out.append(b"<closed>")
                        return out
                    buf += chunk
                    parser.feed(chunk)
                    continue
                out.append(buf[start:parser.offset])
                start = parser.offset
        return out
    finally:
        sock.close()


def _cmd(*args: object) -> bytes:
    return encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args])


def _pipeline(port: int, cmds: list[list]) -> list[bytes]:
    """Every command in one write; each reply's exact bytes."""
    out = _session(port, [b"".join(_cmd(*c) for c in cmds), len(cmds)])
    assert out[-1:] != [b"<closed>"], "connection closed"
    return out


BATCH = [
    ["SET", "a", "1"], ["GET", "a"], ["INCR", "a"], ["INCRBY", "a", "5"], ["LPUSH", "l", "1", "2", "3"],
    ["LPOP", "l"], ["RPOP", "l", "2"], ["SADD", "s", "x", "y", "1"], ["SISMEMBER", "s", "y"], ["SREM", "s", "x"],
    ["HSET", "h", "f", "v", "g", "w"], ["HSET", "h", "f", "v2"], ["HSET", "h", "q", "1"], ["HGET", "h", "g"], ["HGET", "h", "nope"], ["ZADD", "z", "1", "m", "2", "n"], ["ZPOPMIN", "z"],
    ["GET", "nosuch"], ["SET", "str", "abc"], ["HSET", "str", "f", "v"], ["HGET", "str", "f"], ["INCR", "str"], ["LPUSH", "a", "x"], ["FOO", "bar"], ["GET"],
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


def test_c_read_path_equals_python(tmp_path) -> None:
    """engine._fastpath.received takes a whole read of canonical commands or leaves all
    of it to Client._received: reads split inside a command, inline commands, protocol
    errors, MULTI, CLIENT REPLY, replies past the static buffer, a client unblocked by
    the batch, a non-fast command mid-batch, AOF group commit (appendfsync always)."""
    servers = [_start(tmp_path / "c", False), _start(tmp_path / "py", True)]
    big = b"v" * 40000
    sessions = [
        [_cmd("SET", "k", "1") + _cmd("INCR", "k")[:9], 1, _cmd("INCR", "k")[9:] + _cmd("GET", "k"), 2],
        [b"PING\r\n" + _cmd("ECHO", "x"), 2, _cmd("GET", "k") + b"SET k2 inline\r\n", 2],
        [_cmd("SET", "big", big) + _cmd("GET", "big") + _cmd("STRLEN", "big"), 3],
        [_cmd("MULTI") + _cmd("INCR", "k") + _cmd("INCR", "k") + _cmd("EXEC") + _cmd("GET", "k"), 5],
        [_cmd("CLIENT", "REPLY", "OFF") + _cmd("INCR", "k") + _cmd("INCR", "k"), _cmd("CLIENT", "REPLY", "ON"), 1,
         _cmd("GET", "k"), 1],
        [_cmd("SET", "a", "1") + _cmd("CONFIG", "GET", "maxclients") + _cmd("INCR", "a") + _cmd("OBJECT", "ENCODING", "a")
         + _cmd("DBSIZE") + _cmd("INCR", "a"), 6],
        [_cmd("SET", "p", "1") + b"*2\r\n$3\r\nGET\r\n$x\r\n", 3],
        [_cmd("GET", "p") + b"*1\r\n$4\r\nPING\r\r\n", 2, _cmd("PING"), 1],  # a payload's CRLF is not checked
        [_cmd("GET", "p") + b"*abc\r\n", 3],
        [_cmd("INCR", "k")[:1], _cmd("INCR", "k")[1:], 1],
    ]
    try:
        results: list[list] = [[], []]
        for k, srv in enumerate(servers):
            got = results[k]
            c = srv.client()
            before = c.info("stats")["total_net_input_bytes"]
            for steps in sessions:
                got.append(_session(srv.port, steps))
            sent = sum(len(s) for steps in sessions for s in steps if isinstance(s, bytes))
            assert c.info("stats")["total_net_input_bytes"] - before == sent + len(_cmd("INFO", "stats"))
            # a client blocked on a list, released by a batch of the C path
            blocker = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            blocker.sendall(_cmd("BLPOP", "q", "0"))
            time.sleep(0.1)
            got.append(_session(srv.port, [_cmd("SET", "x", "1") + _cmd("RPUSH", "q", "a", "b") + _cmd("LLEN", "q"), 3]))
            blocker.settimeout(20)
            got.append(blocker.recv(1000))
            blocker.close()
            # a run of one command, its stats read mid-batch: INFO and LATENCY HISTOGRAM see every call
            run = _session(srv.port, [b"".join([_cmd("INCR", "ctr")] * 20 + [_cmd("INFO", "commandstats")]
                                               + [_cmd("INCR", "ctr")] * 5 + [_cmd("LATENCY", "HISTOGRAM", "incr")]), 27])
            info_calls = int(re.search(rb"cmdstat_incr:calls=(\d+)", run[20]).group(1))
            hist_calls = int(re.search(rb"calls\r\n:(\d+)", run[26]).group(1))
            assert hist_calls == info_calls + 5
            got.append(info_calls)
            c.config_set("appendonly", "yes")
            c.config_set("appendfsync", "always")
            while c.info("persistence")["aof_rewrite_in_progress"] or c.info("persistence")["aof_rewrite_scheduled"]:
                time.sleep(0.05)
            got.append(_session(srv.port, [_cmd("INCR", "w") + _cmd("INCR", "w") + _cmd("GET", "w"), 3]))
            got.append(_pipeline(srv.port, BATCH))
            got.append(c.execute_command("DEBUG", "DIGEST"))
            c.close()
        assert results[0] == results[1]
        assert results[0][0] == [b"+OK\r\n", b":2\r\n", b"$1\r\n2\r\n"]  # SET, then an INCR split across reads
        assert results[0][2][1] == b"$40000\r\n" + big + b"\r\n"
        assert results[0][6][-1] == b"<closed>" and results[0][8][-1] == b"<closed>"
        assert results[0][7] == [b"$1\r\n1\r\n", b"+PONG\r\n", b"+PONG\r\n"]
        assert results[0][11] == b"*2\r\n$1\r\nq\r\n$1\r\na\r\n"
    finally:
        for s in servers:
            s.stop()
