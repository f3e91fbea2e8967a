"""MONITOR's feed and CLIENT LIST/INFO lines as Redis 7.0.15 produces them, compared with
real redis-server 7.0: the order MONITOR shows script calls and MULTI/EXEC in, the
redacted AUTH/HELLO arguments, and the fields of the caller's own CLIENT INFO line
(``cmd=`` the command being run, ``qbuf=`` the bytes of its request).
"""

from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from aof.replies import encode_command
from tests.engine.conftest import ServerProc


def _resp(*argv: str) -> bytes:
    return encode_command([a.encode() for a in argv])


def _read_until(s: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


FUNCTION = ("#!lua name=montest\n"
            "redis.register_function('montest', function() return redis.call('set', 'foo', 'bar') end)")

# pipelines sent one after the other (a transaction in one: ECHO inside it would be queued)
SCRIPT: list[list[tuple[str, ...]]] = [
    [("FUNCTION", "LOAD", "REPLACE", FUNCTION)],
    [("EVAL", "redis.call('set',KEYS[1],ARGV[1])", "1", "foo", "bar")],
    [("FCALL", "montest", "0")], [("FCALL", "nosuch", "0")], [("EVALSHA", "abc", "0")],
    [("MULTI",), ("SET", "foo", "bar"), ("EXEC",)],
    [("MULTI",), ("NOSUCHCMD", "x"), ("EXEC",)],
    [("SELECT", "1")], [("GET", "x")], [("CONFIG", "GET", "maxmemory")], [("CLIENT", "LIST")],
    [("AUTH", "pw")], [("AUTH", "user", "pw")], [("HELLO", "2", "AUTH", "user", "pw")],
    [("SELECT", "0")],
]


def _monitor_feed(srv: ServerProc) -> list[str]:
    """The MONITOR lines one client's commands produce, timestamps and ports masked."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as mon, \
            socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
        mon.sendall(_resp("MONITOR"))
        _read_until(mon, b"+OK\r\n")
        for cmds in SCRIPT:  # one at a time: the feed order is the execution order
            c.sendall(b"".join(_resp(*cmd) for cmd in cmds) + _resp("ECHO", "end"))
            _read_until(c, b"$3\r\nend\r\n")
        c.sendall(_resp("ECHO", "last"))
        feed = _read_until(mon, b'"ECHO" "last"\r\n').decode()
    lines = [ln for ln in feed.split("\r\n") if ln and '"ECHO"' not in ln]
    return [re.sub(r"^\+\d+\.\d+ \[(\d+) ([a-z]+)?[^\]]*\]", r"[\1 \2]", ln) for ln in lines]


def test_monitor_feed_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """Scripts first, then their calls; MULTI, the queued commands, EXEC; no admin commands."""
    assert _monitor_feed(ours) == _monitor_feed(real)


_SAME_FIELDS = ("flags", "db", "sub", "psub", "ssub", "multi", "qbuf", "multi-mem", "obl", "oll",
                "omem", "events", "cmd", "user", "redir", "resp")


def _info_fields(srv: ServerProc, *cmds: tuple[str, ...]) -> list[dict[str, str]]:
    """The fields that must match; replies of earlier commands of the same pipeline are not
    in ``obl`` here (engine/README.md, Known differences), so a pipeline leaves it out."""
    same = _SAME_FIELDS if len(cmds) == 1 else tuple(f for f in _SAME_FIELDS if f != "obl")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(b"".join(_resp(*c) for c in cmds))
        time.sleep(0.2)
        data = _read_until(s, b"\r\n").decode()
    out = []
    for reply in re.findall(r"id=[^\r]*", data):
        fields = dict(f.split("=", 1) for f in reply.strip().split(" "))
        out.append({k: fields[k] for k in same} | {"order": " ".join(fields)})
    return out


@pytest.mark.parametrize("cmds", [
    (("CLIENT", "INFO"),),
    (("CLIENT", "LIST", "TYPE", "normal"),),
    (("SET", "a", "b"), ("CLIENT", "INFO")),
], ids=["info", "list", "pipelined"])
def test_own_client_line_like_redis(cmds: tuple[tuple[str, ...], ...], ours: ServerProc,
                                    real: ServerProc) -> None:
    """The caller's line while its command runs: cmd=client|info, qbuf= its request's bytes."""
    assert _info_fields(ours, *cmds) == _info_fields(real, *cmds)


def _slowlog_args(srv: ServerProc) -> list[list[bytes]]:
    r = srv.client()
    try:
        r.config_set("slowlog-log-slower-than", 0)
        r.slowlog_reset()
        for argv in (("ACL", "SETUSER", "slow log user", "+get"), ("CONFIG", "SET", "masterauth", ""),
                     ("ACL", "SETUSER", "slowlog-user", "+get", ">pw"), ("CONFIG", "SET", "requirepass", "",
                                                                         "maxmemory", "0"),
                     ("CONFIG", "SET", "nosuch", "x", "masteruser", "u"), ("ACL", "DELUSER", "slowlog-user")):
            try:
                r.execute_command(*argv)
            except redis.ResponseError:
                pass
        r.config_set("slowlog-log-slower-than", -1)
        return [e[3] for e in r.execute_command("SLOWLOG", "GET", "20")]
    finally:
        r.config_set("slowlog-log-slower-than", 10000)


def test_slowlog_redacts_sensitive_arguments_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """ACL SETUSER's user and rules, CONFIG SET's values of sensitive configs (masterauth,
    masteruser, requirepass), even when the command fails: "(redacted)" in the slow log."""
    a, b = _slowlog_args(ours), _slowlog_args(real)
    assert [b"ACL", b"SETUSER", b"(redacted)", b"(redacted)"] in [[x.upper() if i < 2 else x for i, x in
                                                                 enumerate(e)] for e in b]
    assert a == b
