"""A busy script or function (past ``busy-reply-threshold``) against real Redis 7.0.

The server keeps accepting connections while a script runs: clients that connect
during the script get ``-BUSY`` for ordinary commands, can authenticate, kill the
script (SCRIPT KILL / FUNCTION KILL) or stop the server (SHUTDOWN NOSAVE), and
continue as ordinary clients on the same connection once the script is over. Every
scenario sends the same raw RESP to both servers and compares the bytes that come
back.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc, start_ours, start_real

pytestmark = pytest.mark.differential

THRESHOLD = ("--busy-reply-threshold", "100")
SPIN = ["EVAL", "while true do end", "0"]
SPIN_LIB = ("#!lua name=spinlib\n"
            "redis.register_function('spin', function() while true do end end)\n")
Transcript = list[tuple[str, bytes]]


class Raw:
    """One connection speaking raw RESP; ``reply`` returns the exact bytes of replies."""

    def __init__(self, port: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, *argv: str | bytes) -> None:
        self.s.sendall(encode_command(list(argv)))

    def send_raw(self, data: bytes) -> None:
        self.s.sendall(data)

    def reply(self, n: int = 1) -> bytes:
        """The raw bytes of the next ``n`` replies (b"" when the server closed first)."""
        while True:
            p = ReplyParser()
            p.feed(self.buf)
            got = 0
            while got < n and p.gets() is not NEED_DATA:
                got += 1
            if got == n:
                out, self.buf = self.buf[:p.offset], self.buf[p.offset:]
                return out
            data = self.s.recv(65536)
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def call(self, *argv: str | bytes) -> bytes:
        self.send(*argv)
        return self.reply()

    def close(self) -> None:
        self.s.close()


def _until(conn: Raw, argv: list[str], expected: bytes) -> None:
    """Repeat ``argv`` until its reply contains ``expected``."""
    deadline = time.time() + 10
    while time.time() < deadline:
        if expected in conn.call(*argv):
            return
        time.sleep(0.02)
    raise AssertionError(f"{argv} never answered {expected!r}")


def wait_busy(probe: Raw) -> None:
    """Until the server answers an already connected client with -BUSY."""
    _until(probe, ["PING"], b"-BUSY")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProc, ServerProc]]:
    a = start_ours(tmp_path_factory.mktemp("busy_ours"), *THRESHOLD)
    b = start_real(tmp_path_factory.mktemp("busy_real"), *THRESHOLD)
    yield a, b
    a.stop()
    b.stop()


def both(servers: tuple[ServerProc, ServerProc], scenario: Callable[[int], Transcript]) -> Transcript:
    ours, real = (scenario(s.port) for s in servers)
    assert ours == real
    return ours


def _busy_eval(port: int, body: Callable[[Raw, Raw], Transcript], password: str = "") -> Transcript:
    """Start SPIN from a caller, wait until it is busy, run ``body(caller, probe)``."""
    caller, probe = Raw(port), Raw(port)
    try:
        for c in (caller, probe) if password else ():
            c.call("AUTH", password)
        probe.call("PING")
        caller.send(*SPIN)
        wait_busy(probe)
        return body(caller, probe)
    finally:
        caller.close()
        probe.close()


def test_new_connection_busy_then_script_kill(servers: tuple[ServerProc, ServerProc]) -> None:
    def body(caller: Raw, probe: Raw) -> Transcript:
        new, quitter = Raw(caller.s.getpeername()[1]), Raw(caller.s.getpeername()[1])
        t: Transcript = []
        for argv in (["PING"], ["GET", "x"], ["SET", "x", "1"], ["FUNCTION", "KILL"],
                     ["SHUTDOWN"], ["SHUTDOWN", "BOGUS"], ["SELECT", "1"]):
            t.append((" ".join(argv), new.call(*argv)))
        t.append(("QUIT", quitter.call("QUIT")))
        t.append(("after QUIT", quitter.reply()))
        new.send_raw(b"*1\r\n$4\r\nPI")  # half a command: the parser keeps it
        t.append(("SCRIPT KILL", probe.call("SCRIPT", "KILL")))
        t.append(("caller", caller.reply()))
        new.send_raw(b"NG\r\n")
        t.append(("PING after", new.reply()))
        t.append(("SET after", new.call("SET", "x", "1")))
        t.append(("GET after", new.call("GET", "x")))
        t.append(("caller PING", caller.call("PING")))
        t.append(("NOTBUSY", new.call("SCRIPT", "KILL")))
        new.call("DEL", "x")
        new.close()
        quitter.close()
        return t

    both(servers, lambda port: _busy_eval(port, body))


def test_kill_from_a_connection_made_during_the_script(servers: tuple[ServerProc, ServerProc]) -> None:
    """The connection that kills the script is itself new; it continues afterwards."""
    def body(caller: Raw, probe: Raw) -> Transcript:
        new = Raw(caller.s.getpeername()[1])
        t = [("PING", new.call("PING")), ("SCRIPT KILL", new.call("SCRIPT", "KILL")),
             ("caller", caller.reply()), ("PING after", new.call("PING")),
             ("probe", probe.call("PING"))]
        new.close()
        return t

    both(servers, lambda port: _busy_eval(port, body))


def test_function_kill_from_new_connection(servers: tuple[ServerProc, ServerProc]) -> None:
    def scenario(port: int) -> Transcript:
        caller, probe = Raw(port), Raw(port)
        t: Transcript = [("load", probe.call("FUNCTION", "LOAD", "REPLACE", SPIN_LIB))]
        caller.send("FCALL", "spin", "0")
        wait_busy(probe)
        new = Raw(port)
        t += [("GET", new.call("GET", "x")), ("SCRIPT KILL", new.call("SCRIPT", "KILL")),
              ("FUNCTION KILL", new.call("FUNCTION", "KILL")), ("caller", caller.reply()),
              ("PING after", new.call("PING")),
              ("delete", new.call("FUNCTION", "DELETE", "spinlib"))]
        for c in (caller, probe, new):
            c.close()
        return t

    both(servers, scenario)


def test_multi_with_a_busy_rejected_command(servers: tuple[ServerProc, ServerProc]) -> None:
    def body(caller: Raw, probe: Raw) -> Transcript:
        port = caller.s.getpeername()[1]
        new, later = Raw(port), Raw(port)
        t = [("MULTI", new.call("MULTI")), ("SET", new.call("SET", "x", "1")),
             ("EXEC", new.call("EXEC")), ("EXEC again", new.call("EXEC")),
             ("MULTI 2", later.call("MULTI")), ("INCR", later.call("INCR", "x")),
             ("WATCH", new.call("WATCH", "x")), ("UNWATCH", new.call("UNWATCH")),
             ("SCRIPT KILL", probe.call("SCRIPT", "KILL")), ("caller", caller.reply()),
             ("EXEC after", later.call("EXEC")), ("MULTI 3", new.call("MULTI")),
             ("INCR 3", new.call("INCR", "x")), ("EXEC 3", new.call("EXEC")),
             ("DEL", new.call("DEL", "x")), ("errorstats", new.call("INFO", "errorstats")),
             ("rejected", _counts(new.call("INFO", "commandstats")))]
        new.close()
        later.close()
        return t

    def scenario(port: int) -> Transcript:
        Raw(port).call("CONFIG", "RESETSTAT")
        return _busy_eval(port, body)

    both(servers, scenario)


def _counts(commandstats: bytes) -> bytes:
    """Calls, rejected and failed calls per command, by name (not the times; not PING,
    which ``wait_busy`` sends a varying number of times)."""
    found = re.findall(rb"cmdstat_([a-z|]+):calls=(\d+),.*?rejected_calls=(\d+),failed_calls=(\d+)",
                       commandstats)
    return b" ".join(b"%s=%s/%s/%s" % f for f in sorted(found) if f[0] != b"ping")


def test_auth_and_hello_during_the_script(servers: tuple[ServerProc, ServerProc]) -> None:
    def scenario(port: int) -> Transcript:
        admin = Raw(port)
        admin.call("CONFIG", "SET", "requirepass", "s3cret")
        try:
            def body(caller: Raw, probe: Raw) -> Transcript:
                a, b = Raw(port), Raw(port)
                t = [("NOAUTH", a.call("GET", "x")), ("WRONGPASS", a.call("AUTH", "nope")),
                     ("AUTH", a.call("AUTH", "s3cret")), ("BUSY", a.call("GET", "x")),
                     ("HELLO", re.sub(rb"id\r\n:\d+", b"id\r\n:ID",
                                      b.call("HELLO", "3", "AUTH", "default", "s3cret"))),
                     ("BUSY3", b.call("PING")), ("SCRIPT KILL", a.call("SCRIPT", "KILL")),
                     ("caller", caller.reply()), ("PING RESP3", b.call("PING")),
                     ("RESP3 reply", b.call("HGETALL", "nokey"))]
                a.close()
                b.close()
                return t

            return _busy_eval(port, body, password="s3cret")
        finally:
            admin.call("CONFIG", "SET", "requirepass", "")
            admin.close()

    both(servers, scenario)


def test_many_new_connections_are_all_answered(servers: tuple[ServerProc, ServerProc]) -> None:
    def body(caller: Raw, probe: Raw) -> Transcript:
        port = caller.s.getpeername()[1]
        conns = [Raw(port) for _ in range(50)]
        for c in conns:
            c.send("PING")
        t = [("busy", _tally([c.reply() for c in conns])),
             ("SCRIPT KILL", conns[-1].call("SCRIPT", "KILL")), ("caller", caller.reply()),
             ("after", _tally([c.call("PING") for c in conns]))]
        for c in conns:
            c.close()
        return t

    both(servers, lambda port: _busy_eval(port, body))


def test_maxclients_applies_to_connections_made_during_the_script(
        servers: tuple[ServerProc, ServerProc]) -> None:
    def body(caller: Raw, probe: Raw) -> Transcript:
        port = caller.s.getpeername()[1]
        fits, refused = Raw(port), Raw(port)
        t = [("fits", fits.call("PING")), ("refused", refused.reply()),
             ("SCRIPT KILL", fits.call("SCRIPT", "KILL")), ("caller", caller.reply()),
             ("PING after", fits.call("PING"))]
        fits.close()
        refused.close()
        return t

    def scenario(port: int) -> Transcript:
        admin = Raw(port)
        admin.call("CONFIG", "SET", "maxclients", "4")  # admin, caller, probe and one more
        try:
            return _busy_eval(port, body)
        finally:
            admin.call("CONFIG", "SET", "maxclients", "10000")
            admin.close()

    both(servers, scenario)


def _tally(replies: list[bytes]) -> bytes:
    """Each distinct reply with how many connections got it."""
    return b"".join(b"%d x %s" % (replies.count(r), r) for r in sorted(set(replies)))


def test_shutdown_nosave_from_new_connection_stops_a_writing_script(tmp_path: Path) -> None:
    """A script that wrote cannot be killed; SHUTDOWN NOSAVE stops the server without
    logging the script's partial effects (a script is atomic) and without serving the
    client blocked on a key the script pushed to."""
    args = (*THRESHOLD, "--appendonly", "yes", "--appendfsync", "always")
    outs = []
    for start in (start_ours, start_real):
        d = tmp_path / start.__name__
        d.mkdir()
        srv = start(d, *args)
        try:
            caller, probe, blocker = Raw(srv.port), Raw(srv.port), Raw(srv.port)
            t: Transcript = [("before", probe.call("SET", "before", "1"))]
            blocker.send("BLPOP", "list", "0")
            _until(probe, ["INFO", "clients"], b"blocked_clients:1")
            caller.send("EVAL", "redis.call('set', 'partial', '1') redis.call('rpush', 'list', 'x') "
                        "while true do end", "0")
            wait_busy(probe)
            new = Raw(srv.port)
            t += [("SCRIPT KILL", new.call("SCRIPT", "KILL")), ("SHUTDOWN", new.call("SHUTDOWN")),
                  ("SHUTDOWN NOSAVE", new.call("SHUTDOWN", "NOSAVE")), ("caller", caller.reply()),
                  ("probe", probe.reply()), ("BLPOP", blocker.reply())]
            assert srv.proc.wait(10) is not None
        finally:
            srv.stop()
        srv = start(d, *args)
        try:
            c = Raw(srv.port)
            _until(c, ["PING"], b"+PONG")  # Redis answers -LOADING meanwhile
            t += [("MGET", c.call("MGET", "before", "partial")), ("LLEN", c.call("LLEN", "list"))]
            c.close()
        finally:
            srv.stop()
        outs.append(t)
    assert outs[0] == outs[1]
