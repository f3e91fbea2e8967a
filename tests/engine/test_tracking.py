"""Client-side caching (CLIENT TRACKING) against real Redis 7.0: each scenario drives a
few raw connections of one server — the tracking client, a writer, a redirection
target — and records every reply and invalidation message each one receives, as
bytes, in the order they arrive. Ours and real redis-server must record the same.

Client ids differ between the two servers, so a scenario records the redirection
target's id as ``<rid>``. A scenario that expects no message proves it by what comes
next: the following frame read must be the one announcing a later change.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from aof.replies import encode_command
from tests.engine.conftest import ServerProc


def _frame_end(buf: bytes, pos: int) -> int | None:
    """Where the RESP2/RESP3 value starting at ``pos`` ends, None while incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    kind, head = buf[pos:pos + 1], buf[pos + 1:nl]
    if kind in (b"$", b"=", b"!"):
        n = int(head)
        end = nl + 2 if n < 0 else nl + 2 + n + 2
        return end if len(buf) >= end else None
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(head)
        if n < 0:
            return nl + 2
        p: int | None = nl + 2
        for _ in range(2 * n if kind in (b"%", b"|") else n):
            p = _frame_end(buf, p)  # type: ignore[arg-type]
            if p is None:
                return None
        return _frame_end(buf, p) if kind == b"|" else p  # type: ignore[arg-type]
    return nl + 2


class Conn:
    """A raw connection that reads one reply (or push) at a time."""

    def __init__(self, port: int, log: list[bytes], name: str) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        self.log = log
        self.name = name.encode()
        self.rid = b""

    def send(self, *argv: bytes | str | int) -> None:
        self.s.sendall(encode_command(list(argv)))

    def frame(self) -> bytes:
        """The next value this connection receives, recorded in the scenario's log."""
        while True:
            end = _frame_end(self.buf, 0) if self.buf else None
            if end is not None:
                out, self.buf = self.buf[:end], self.buf[end:]
                self.log.append(self.name + b": " + (out.replace(b":" + self.rid + b"\r\n", b":<rid>\r\n")
                                                     if self.rid else out))
                return out
            data = self.s.recv(65536)
            assert data, "connection closed"
            self.buf += data

    def do(self, *argv: bytes | str | int) -> bytes:
        self.send(*argv)
        return self.frame()

    def until_pong(self) -> None:
        """PING, then every frame up to its PONG (the pushes that came first)."""
        self.send("PING")
        while self.frame() != b"+PONG\r\n":
            pass

    def hello3(self) -> None:
        """HELLO 3, recorded without the reply (it carries the client id)."""
        self.do("HELLO", "3")
        self.log[-1] = self.name + b": HELLO 3"

    def close(self) -> None:
        self.s.close()


def _run(srv: ServerProc, scenario: Callable[[Callable[[str], Conn]], None]) -> list[bytes]:
    log: list[bytes] = []
    conns: list[Conn] = []

    def connect(name: str) -> Conn:
        c = Conn(srv.port, log, name)
        conns.append(c)
        return c

    try:
        connect("setup").do("FLUSHALL")
        scenario(connect)
    finally:
        for c in conns:
            c.close()
    return log


def _redirect_target(connect: Callable[[str], Conn], *, subscribe: bool = True) -> tuple[Conn, bytes]:
    """A RESP2 connection subscribed to __redis__:invalidate, and its id."""
    t = connect("redir")
    rid = t.do("CLIENT", "ID")[1:-2]
    t.log[-1] = b"redir: <its id>"
    if subscribe:
        t.do("SUBSCRIBE", "__redis__:invalidate")
    return t, rid


def _flags_of(c: Conn) -> None:
    """CLIENT INFO's flags= and redir= fields (the rest differs between servers)."""
    line = c.do("CLIENT", "INFO").decode()
    fields = [f for f in line.split() if f.startswith(("flags=", "redir="))]
    c.log[-1] = c.name + b": " + " ".join(fields).replace("redir=" + c.rid.decode(), "redir=<rid>").encode()


def resp3_push(connect: Callable[[str], Conn]) -> None:
    """RESP3 push on the connection itself; its own change is told after its reply, and
    after a MULTI/EXEC reply, never inside it."""
    a, w = connect("a"), connect("w")
    a.hello3()
    a.do("CLIENT", "TRACKING", "on")
    w.do("MSET", "k", "1", "h", "2")
    a.do("GET", "k")
    a.do("MGET", "h", "nokey")
    w.do("SET", "k", "2")
    a.do("PING")  # the push first, then PONG
    a.frame()
    a.do("HGET", "nohash", "f")
    a.do("SET", "h", "3")  # its own key: OK, then the push
    a.frame()
    a.do("GET", "k")
    a.do("MULTI")
    a.do("INCR", "k")
    a.do("GET", "k")
    a.do("EXEC")
    a.frame()
    a.do("CLIENT", "TRACKINGINFO")
    a.do("CLIENT", "GETREDIR")
    a.do("CLIENT", "TRACKING", "off")
    a.do("CLIENT", "TRACKINGINFO")
    a.do("CLIENT", "GETREDIR")


def resp2_redirect(connect: Callable[[str], Conn]) -> None:
    """A RESP2 client redirecting to a subscriber: pub/sub messages on
    __redis__:invalidate; TRACKINGINFO/GETREDIR; a broken redirection."""
    t, rid = _redirect_target(connect)
    a, w = connect("a"), connect("w")
    a.rid = t.rid = rid
    a.do("CLIENT", "TRACKING", "on", "REDIRECT", rid)
    a.do("GET", "x")
    w.do("SET", "x", "1")
    t.frame()
    a.do("GET", "x")
    a.do("SET", "x", "2")  # RESP2 on its own: its reply only; the message goes to the target
    t.frame()
    a.do("CLIENT", "TRACKINGINFO")
    a.do("CLIENT", "GETREDIR")
    a.do("CLIENT", "TRACKING", "on", "REDIRECT", "999999")
    a.do("CLIENT", "TRACKING", "on", "REDIRECT", rid, "REDIRECT", rid)
    a.do("CLIENT", "TRACKING", "on", "REDIRECT", "nan")
    a.do("CLIENT", "TRACKING", "maybe")
    a.do("CLIENT", "TRACKING", "on", "PREFIX", "p")
    a.hello3()
    a.do("GET", "x")
    t.do("QUIT")
    time.sleep(0.1)
    w.do("SET", "x", "3")
    a.frame()  # tracking-redir-broken
    a.do("CLIENT", "TRACKINGINFO")
    _flags_of(a)


def bcast(connect: Callable[[str], Conn]) -> None:
    """BCAST with prefixes: one message per prefix, after a transaction; prefixes added;
    collisions; NOLOOP leaves out the client's own changes."""
    t, rid = _redirect_target(connect)
    a, w = connect("a"), connect("w")
    a.rid = t.rid = rid
    a.do("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", rid, "PREFIX", "b:", "PREFIX", "a:")
    a.do("MULTI")
    for k in ("a:2", "b:1", "a:1", "c:1", "b:2"):
        a.do("INCR", k)
    a.do("EXEC")
    t.frame()
    t.frame()
    a.do("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", rid, "PREFIX", "c:")
    w.do("INCR", "c:9")
    t.frame()
    a.do("CLIENT", "TRACKINGINFO")
    _flags_of(a)
    a.do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
    a.do("CLIENT", "TRACKING", "on", "OPTIN")
    a.do("CLIENT", "TRACKING", "off")
    a.do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "FOOBAR", "PREFIX", "FOO")
    a.do("CLIENT", "TRACKING", "on", "BCAST", "OPTOUT")
    a.do("CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y", "PREFIX", "yz")  # error, then OK
    a.frame()
    a.do("CLIENT", "TRACKINGINFO")
    _flags_of(a)
    a.do("CLIENT", "TRACKING", "off")
    _flags_of(a)
    a.do("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", rid, "NOLOOP")
    a.do("SET", "mine", "1")
    w.do("SET", "theirs", "1")
    t.frame()  # only the writer's key


def optin_optout(connect: Callable[[str], Conn]) -> None:
    """OPTIN tracks only after CLIENT CACHING yes, OPTOUT stops after CLIENT CACHING no;
    CACHING's errors."""
    t, rid = _redirect_target(connect)
    a, w = connect("a"), connect("w")
    a.rid = t.rid = rid
    a.do("CLIENT", "CACHING", "yes")
    a.do("CLIENT", "TRACKING", "on", "OPTIN", "REDIRECT", rid)
    a.do("CLIENT", "CACHING", "no")
    a.do("CLIENT", "CACHING", "maybe")
    a.do("GET", "k1")  # not tracked
    a.do("CLIENT", "CACHING", "yes")
    a.do("CLIENT", "TRACKINGINFO")
    a.do("GET", "k2")  # tracked
    a.do("GET", "k3")  # not tracked: CACHING covered one command
    w.do("MSET", "k1", "1", "k3", "1")
    w.do("SET", "k2", "1")
    t.frame()
    a.do("CLIENT", "TRACKING", "on", "OPTOUT", "REDIRECT", rid)
    a.do("CLIENT", "TRACKING", "off")
    a.do("CLIENT", "TRACKING", "on", "OPTOUT", "REDIRECT", rid)
    a.do("CLIENT", "CACHING", "no")
    a.do("GET", "k4")  # not tracked
    a.do("GET", "k5")  # tracked
    w.do("SET", "k4", "1")
    w.do("SET", "k5", "1")
    t.frame()


def noloop_and_scripts(connect: Callable[[str], Conn]) -> None:
    """NOLOOP in the default mode; a script's declared keys are tracked only when it runs
    a read-only command; its writes under NOLOOP are not told back."""
    a, w = connect("a"), connect("w")
    a.hello3()
    a.do("CLIENT", "TRACKING", "on", "NOLOOP")
    a.do("MGET", "mine", "theirs")
    a.do("SET", "mine", "1")
    w.do("SET", "theirs", "1")
    a.do("PING")
    a.frame()
    a.do("CLIENT", "TRACKING", "off")
    a.do("CLIENT", "TRACKING", "on")
    a.do("EVAL", "redis.call('set', 'k3', 'bar')", 2, "k1", "k2")
    w.do("MSET", "k1", "2", "k2", "2")
    a.do("EVAL", "return redis.call('get', 'k3')", 2, "k1", "k2")
    w.do("MSET", "k2", "3", "k1", "3")
    a.do("PING")
    a.frame()
    a.frame()


def flush_and_expiry(connect: Callable[[str], Conn]) -> None:
    """FLUSHDB/FLUSHALL ASYNC: a null invalidation (RESP2 redirect, RESP3 own after
    the EXEC reply), the table emptied; a lazily expired key is told after the reply of
    the command that found it expired; active expiry reaches BCAST clients; INFO."""
    t, rid = _redirect_target(connect)
    a, w, r3 = connect("a"), connect("w"), connect("r3")
    a.rid = t.rid = rid
    a.do("CLIENT", "TRACKING", "on", "REDIRECT", rid)
    a.do("MGET", "x", "y")
    r3.hello3()
    r3.do("CLIENT", "TRACKING", "on")
    r3.do("GET", "z")
    info = w.do("INFO", "stats").decode()
    w.log[-1] = b"w: " + "\n".join(x for x in info.split("\r\n") if x.startswith("tracking_")).encode()
    w.do("FLUSHALL", "ASYNC")
    t.frame()
    r3.do("PING")
    r3.frame()
    info = w.do("INFO").decode()
    w.log[-1] = b"w: " + "\n".join(x for x in info.split("\r\n") if x.startswith("tracking_")).encode()
    r3.do("MULTI")
    r3.do("FLUSHDB")
    r3.do("EXEC")
    r3.frame()
    t.frame()
    w.do("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        w.do("SET", "e", "v", "PX", "30")
        r3.do("GET", "e")
        time.sleep(0.06)
        r3.do("MGET", "x", "e")  # the reply, then the push for the key it found expired
        r3.frame()
    finally:
        w.do("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    a.do("CLIENT", "TRACKING", "off")
    a.do("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", rid)
    w.do("SET", "soon", "v", "PX", "50")
    t.frame()
    t.frame()  # actively expired


def table_limit(connect: Callable[[str], Conn]) -> None:
    """tracking-table-max-keys: past it, table entries are invalidated (by the cron or
    before the next command) as if their keys changed. Which key goes is Redis's random
    pick: the key's name is left out of the comparison."""
    a, w = connect("a"), connect("w")
    a.hello3()
    a.do("CLIENT", "TRACKING", "on")
    a.do("MGET", "m1", "m2")
    try:
        w.do("CONFIG", "SET", "tracking-table-max-keys", "1")
        a.do("PING")
        a.log[-1] = a.log[-1].replace(b"m1", b"m?").replace(b"m2", b"m?")
        a.frame()
        w.do("INFO", "stats")
        w.log[-1] = b"w: " + b"\n".join(x for x in w.log[-1].split(b"\r\n") if x.startswith(b"tracking_"))
    finally:
        w.do("CONFIG", "SET", "tracking-table-max-keys", "1000000")


def store_commands(connect: Callable[[str], Conn]) -> None:
    """A command that writes one key from others invalidates its destination only (and
    RENAME/SMOVE/LMOVE both of theirs)."""
    a, w = connect("a"), connect("w")
    a.hello3()
    a.do("CLIENT", "TRACKING", "on")
    w.do("SADD", "s1", "x", "y")
    w.do("SADD", "s2", "y")
    w.do("ZADD", "z1", 1, "x")
    w.do("MSET", "b1", "a", "b2", "b")
    w.do("PFADD", "h1", "x")
    w.do("RPUSH", "l1", "x", "y")
    for write in (("SINTERSTORE", "d", "s1", "s2"), ("SUNIONSTORE", "d", "s1", "s2"), ("SDIFFSTORE", "d", "s1", "s2"),
                  ("ZUNIONSTORE", "d", 2, "z1", "s2"), ("ZINTERSTORE", "d", 1, "z1"), ("ZDIFFSTORE", "d", 1, "z1"),
                  ("ZRANGESTORE", "d", "z1", 0, -1), ("BITOP", "AND", "d", "b1", "b2"), ("PFMERGE", "d", "h1"),
                  ("COPY", "s1", "d", "REPLACE"), ("SMOVE", "s1", "s2", "x"), ("LMOVE", "l1", "l1b", "LEFT", "RIGHT"),
                  ("RENAME", "l1b", "l1c"), ("DEL", "d")):
        a.do("MGET", "s1", "s2", "z1", "b1", "b2", "h1", "d", "l1", "l1b", "l1c")
        w.do(*write)
        a.until_pong()


def command_entries(connect: Callable[[str], Conn]) -> None:
    """COMMAND INFO and COMMAND DOCS of the CLIENT subcommands of client-side caching."""
    a = connect("a")
    names = ("client|tracking", "client|caching", "client|getredir", "client|trackinginfo")
    a.do("COMMAND", "INFO", *names)
    for name in names:
        a.do("COMMAND", "DOCS", name)
    a.do("CONFIG", "GET", "tracking-table-max-keys")
    a.do("CONFIG", "SET", "tracking-table-max-keys", "-1")


SCENARIOS = [resp3_push, resp2_redirect, bcast, optin_optout, noloop_and_scripts, flush_and_expiry,
             table_limit, store_commands, command_entries]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_tracking_like_redis(scenario: Callable[[Callable[[str], Conn]], None], ours: ServerProc,
                             real: ServerProc) -> None:
    want = _run(real, scenario)
    got = _run(ours, scenario)
    assert got == want
