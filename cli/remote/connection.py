"""A small blocking RESP client for the tools (restore into a server or a cluster).

Built on the one RESP codec (``aof.replies.encode_command`` / ``ReplyParser``);
pipelines by sending a batch of commands and then reading as many replies.
Error replies come back as :class:`aof.resp.ReplyError` values, not raised, so
a pipeline's caller sees which command failed.

Why in ``cli``: only ``rdbkit restore`` talks to servers this way (blocking
sockets, one command batch at a time); the engine's own links are asyncio
protocols. The framing it relies on is ``aof.resp``'s, so nothing is written twice.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

from aof.errors import RespProtocolError
from aof.replies import encode_command
from aof.resp import NEED_DATA, ReplyError, ReplyParser


class RemoteError(Exception):
    """Base of the errors of talking to a live server (``cli.remote``)."""


class ConnectionFailed(RemoteError):
    pass


class Connection:
    def __init__(self, host: str, port: int, *, password: bytes | None = None, user: bytes | None = None,
                 timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.peer = f"{host}:{port}"
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ConnectionFailed(f"cannot connect to {self.peer}: {exc.strerror or exc}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = ReplyParser()
        if password is not None:
            r = self.call(b"AUTH", user, password) if user else self.call(b"AUTH", password)
            if isinstance(r, ReplyError):
                self.close()
                raise ConnectionFailed(f"{self.peer}: authentication failed: {r}")

    def call(self, *argv: bytes | str | int) -> object:
        return self.pipeline([argv])[0]

    def pipeline(self, commands: Sequence[Sequence[bytes | str | int]]) -> list[object]:
        if not commands:
            return []
        self.send(commands)
        return self.replies(len(commands))

    def send(self, commands: Sequence[Sequence[bytes | str | int]]) -> None:
        """The first half of a pipeline: a client of several nodes sends to each before
        reading any, so the nodes work side by side."""
        try:
            self.sock.sendall(b"".join(encode_command(list(c)) for c in commands))
        except TimeoutError:
            raise ConnectionFailed(f"{self.peer} did not answer in time") from None
        except OSError as exc:
            raise ConnectionFailed(f"{self.peer}: {exc.strerror or exc}") from None

    def replies(self, n: int) -> list[object]:
        """The next ``n`` replies, in order."""
        try:
            out: list[object] = []
            parser = self.parser
            while len(out) < n:
                r = parser.gets()
                if r is NEED_DATA:
                    data = self.sock.recv(1 << 16)
                    if not data:
                        raise ConnectionFailed(f"{self.peer} closed the connection")
                    parser.feed(data)
                    continue
                out.append(r)
            return out
        except TimeoutError:
            raise ConnectionFailed(f"{self.peer} did not answer in time") from None
        except OSError as exc:
            raise ConnectionFailed(f"{self.peer}: {exc.strerror or exc}") from None
        except RespProtocolError as exc:
            raise ConnectionFailed(f"{self.peer} sent an invalid reply: {exc}") from None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


__all__ = ["Connection", "ConnectionFailed", "RemoteError"]
