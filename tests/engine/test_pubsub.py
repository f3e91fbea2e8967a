"""Pub/Sub, byte for byte against real Redis 7.0: the same raw RESP2/RESP3 traffic goes
to both servers and every byte that comes back is compared (pushes, counts, the
RESP2 subscribed-context errors, PUBSUB introspection)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyParser
from tests.engine.conftest import ServerProc


class Raw:
    def __init__(self, port: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def send(self, *argv: bytes | str | int) -> None:
        self.s.sendall(encode_command(list(argv)))

    def read(self, quiet: float = 0.08) -> bytes:
        """Everything that arrives until the line is quiet for ``quiet`` seconds."""
        out = b""
        self.s.settimeout(quiet)
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                data = self.s.recv(65536)
            except TimeoutError:
                if out:
                    break
                continue
            if not data:
                break
            out += data
        return out

    def close(self) -> None:
        self.s.close()


@pytest.fixture
def pair_raw(ours: ServerProc, real: ServerProc) -> Iterator[tuple[list[Raw], list[Raw]]]:
    a = [Raw(ours.port) for _ in range(3)]
    b = [Raw(real.port) for _ in range(3)]
    yield a, b
    for x in a + b:
        x.close()


def _same(conns: tuple[list[Raw], list[Raw]], who: int, *argv: bytes | str | int) -> bytes:
    a, b = conns
    a[who].send(*argv)
    b[who].send(*argv)
    ra, rb = a[who].read(), b[who].read()
    assert ra == rb, f"{argv}: ours {ra!r} real {rb!r}"
    return ra


def _same_unordered(conns: tuple[list[Raw], list[Raw]], who: int, *argv: bytes | str | int) -> None:
    """A bare (S|P)UNSUBSCRIBE lists the client's channels in hash order: compare the
    channels named and the counts given, not their order."""
    a, b = conns
    a[who].send(*argv)
    b[who].send(*argv)
    got = []
    for raw in (a[who].read(), b[who].read()):
        p = ReplyParser()
        p.feed(raw)
        items = []
        while (r := p.gets()) is not NEED_DATA:
            items.append(r)
        got.append((sorted(i[1] or b"" for i in items), sorted(i[2] for i in items)))
    assert got[0] == got[1], f"{argv}: ours {got[0]} real {got[1]}"


def _inbox(conns: tuple[list[Raw], list[Raw]], who: int) -> bytes:
    a, b = conns
    ra, rb = a[who].read(), b[who].read()
    assert ra == rb, f"inbox of {who}: ours {ra!r} real {rb!r}"
    return ra


@pytest.mark.parametrize("proto", [2, 3])
def test_subscribe_publish_and_context(pair_raw: tuple[list[Raw], list[Raw]], proto: int) -> None:
    if proto == 3:
        for side in pair_raw:  # HELLO's reply carries the client id: not compared
            for conn in side:
                conn.send("HELLO", 3)
                assert conn.read().startswith(b"%7")
    _same(pair_raw, 0, "SUBSCRIBE", "news", "sport", "news")
    _same(pair_raw, 1, "PSUBSCRIBE", "n*", "x?z")
    assert _same(pair_raw, 2, "PUBLISH", "news", "hello") == b":2\r\n"
    _inbox(pair_raw, 0)
    _inbox(pair_raw, 1)
    _same(pair_raw, 2, "PUBLISH", "nothing", "x")
    _inbox(pair_raw, 1)
    _same(pair_raw, 2, "PUBLISH", "other", "x")
    _same(pair_raw, 0, "GET", "k")  # RESP2: refused in the subscribed context
    _same(pair_raw, 0, "PING")
    _same(pair_raw, 0, "PING", "msg")
    _same(pair_raw, 2, "PUBSUB", "NUMSUB", "news", "sport", "none")
    _same(pair_raw, 2, "PUBSUB", "NUMPAT")
    _same(pair_raw, 2, "PUBSUB", "CHANNELS", "s*")
    _same(pair_raw, 2, "PUBSUB", "CHANNELS", "a", "b")
    _same(pair_raw, 0, "UNSUBSCRIBE", "sport")
    _same_unordered(pair_raw, 0, "UNSUBSCRIBE")
    _same(pair_raw, 0, "UNSUBSCRIBE")
    _same(pair_raw, 0, "GET", "k")  # back to normal
    _same(pair_raw, 1, "PUNSUBSCRIBE", "x?z", "never")
    _same_unordered(pair_raw, 1, "PUNSUBSCRIBE")
    _same(pair_raw, 0, "SSUBSCRIBE", "sh1", "sh2")
    _same(pair_raw, 2, "SPUBLISH", "sh1", "m")
    _inbox(pair_raw, 0)
    _same(pair_raw, 2, "PUBSUB", "SHARDNUMSUB", "sh1", "nope")
    _same(pair_raw, 2, "PUBSUB", "SHARDCHANNELS", "sh1")
    _same_unordered(pair_raw, 0, "SUNSUBSCRIBE")
    _same(pair_raw, 0, "SUBSCRIBE", "a")
    _same(pair_raw, 0, "RESET")
    _same(pair_raw, 2, "PUBLISH", "a", "after-reset")
    _same(pair_raw, 2, "PUBSUB", "HELP")


def test_subscribe_inside_multi_and_disconnect(pair_raw: tuple[list[Raw], list[Raw]]) -> None:
    _same(pair_raw, 0, "MULTI")
    _same(pair_raw, 0, "SUBSCRIBE", "m")
    _same(pair_raw, 0, "SSUBSCRIBE", "s")
    _same(pair_raw, 0, "EXEC")
    _same(pair_raw, 2, "PUBLISH", "m", "1")
    _inbox(pair_raw, 0)
    a, b = pair_raw
    a[0].close()
    b[0].close()
    time.sleep(0.2)
    _same(pair_raw, 2, "PUBSUB", "NUMSUB", "m")
    _same(pair_raw, 2, "PUBLISH", "m", "2")


@pytest.mark.parametrize("proto", [2, 3])
def test_subscribe_replies_under_client_reply_off(pair_raw: tuple[list[Raw], list[Raw]], proto: int) -> None:
    """(P|S)(UN)SUBSCRIBE confirmations and messages are pushes (CLIENT_PUSHING): CLIENT
    REPLY OFF/SKIP silences everything else, never them. A silenced command is sent
    just before one that answers, and both are read together."""
    def quiet(*argv: bytes | str | int) -> None:
        for side in pair_raw:
            side[0].send(*argv)

    if proto == 3:
        for side in pair_raw:
            side[0].send("HELLO", 3)
            assert side[0].read().startswith(b"%7")
    quiet("CLIENT", "REPLY", "OFF")
    _same(pair_raw, 0, "SUBSCRIBE", "channel")
    _same(pair_raw, 0, "PSUBSCRIBE", "ch*")
    _same(pair_raw, 2, "PUBLISH", "channel", "hello")
    _inbox(pair_raw, 0)
    quiet("PING")
    _same(pair_raw, 0, "UNSUBSCRIBE", "channel")
    _same(pair_raw, 0, "PUNSUBSCRIBE", "ch*")
    _same(pair_raw, 0, "CLIENT", "REPLY", "ON")
    quiet("CLIENT", "REPLY", "SKIP")
    _same(pair_raw, 0, "SSUBSCRIBE", "sh")
    _same(pair_raw, 0, "PING")
    _same(pair_raw, 0, "SUNSUBSCRIBE", "sh")
