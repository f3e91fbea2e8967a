"""Fetch a live server's snapshot over the replication protocol (the socket driver).

A thin loop around :class:`~aof.handshake.FullSync`: connect,
send what it asks, feed it what arrives, yield the RDB payload chunks. Reading
stops at the end of the payload; a master that goes silent for ``timeout``
seconds (keep-alive newlines count as life) is an error.

Why in ``cli``: only ``rdbkit fetch`` takes a snapshot with a blocking socket; the
engine's replica drives the same protocol (:mod:`aof.handshake`, through
:mod:`aof.replstream`) from its event loop. The protocol is shared, the drivers are not.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from aof.handshake import FullSync, ReplicationError


class Snapshot:
    """The payload stream of one full sync, plus what the master said about it."""

    def __init__(self, host: str, port: int, password: bytes | None = None, user: bytes | None = None,
                 timeout: float = 60.0) -> None:
        self.host = host
        self.port = port
        self.peer = f"{host}:{port}"
        self.sync = FullSync(password=password, user=user)
        self.timeout = timeout

    def chunks(self) -> Iterator[bytes]:
        sync = self.sync
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise ReplicationError(f"cannot connect to {self.peer}: {exc.strerror or exc}", "connect") from None
        try:
            sock.sendall(sync.start())
            while not sync.done:
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    raise ReplicationError(f"{self.peer} sent nothing for {self.timeout:g} s", sync.step) from None
                except OSError as exc:
                    raise ReplicationError(f"{self.peer}: {exc.strerror or exc}", sync.step) from None
                if not data:
                    sync.feed_eof()
                send, out = sync.feed(data)
                if send:
                    sock.sendall(send)
                yield from out
        finally:
            sock.close()
