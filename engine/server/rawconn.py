"""Connections accepted while a busy script blocks the event loop.

Redis keeps accepting while a script runs past ``busy-reply-threshold``
(``processEventsWhileBlocked`` runs the listeners' accept handler too); here the
loop's accept callbacks cannot run until the script returns, so
:func:`accept_while_blocked` accepts by hand what waits on a listening socket.
Each connection is admitted exactly as ``Client.connection_made`` admits it
(protected mode, maxclients) over a :class:`RawTransport`, which writes straight
to the non-blocking socket, and its adoption by the loop is scheduled at once:
the task runs after the script is over and gives the *same* :class:`Client` a
real transport through ``loop.connect_accepted_socket`` (asyncio and uvloop
alike). The client's parser (with any partial command), selected db,
authentication and protocol version carry over; ``RawTransport.hand_over`` passes
on the output the socket did not take yet, and a close requested meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.server.app import Server

log = logging.getLogger(__name__)

MAX_ACCEPTS_PER_CALL = 1000  # as acceptTcpHandler
_adopting: set[asyncio.Task[None]] = set()


class RawTransport:
    """The part of ``asyncio.Transport`` a :class:`Client` uses, over a bare socket.

    Until the loop adopts the socket, output that does not fit in the kernel buffer
    waits in ``out`` (the busy poll retries it and stops reading from a client
    whose output grows past the high-water mark); a close shuts the connection
    down once that output is sent, and leaves the descriptor to the loop's
    transport, which reports the loss to the client.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = bytearray()
        self.closed = False
        self.aborted = False
        self.adopting = False  # set once the loop's adoption is scheduled
        self.extra = {"peername": sock.getpeername(), "sockname": sock.getsockname(),
                      "socket": sock}

    # -- what Client calls ------------------------------------------------------------
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass  # the busy poll applies the client's high-water mark itself

    def get_write_buffer_size(self) -> int:
        return len(self.out)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def write(self, data: bytes) -> None:
        if self.closed or not data:
            return
        if self.out:
            self.out += data
            self.send_pending()
            return
        sent = self._send(data)
        if sent < len(data):
            self.out += data[sent:]

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.send_pending()
        if not self.adopting:  # refused at admission: nobody else owns the socket
            self.sock.close()
        elif not self.out:
            self._shutdown()  # the peer sees the close now; the loop frees the descriptor

    def abort(self) -> None:
        self.closed = self.aborted = True
        self.out.clear()
        if self.adopting:
            self._shutdown()
        else:
            self.sock.close()

    # -- the busy poll and the adoption ----------------------------------------------------
    def send_pending(self) -> None:
        if self.out and not self.aborted:
            sent = self._send(self.out)
            del self.out[:sent]

    def hand_over(self, transport: asyncio.Transport) -> None:
        """Called by ``Client.connection_made`` with the loop's transport."""
        if self.out:
            transport.write(bytes(self.out))
            self.out.clear()
        if self.aborted:
            transport.abort()
        elif self.closed:
            transport.close()

    def _send(self, data: bytes | bytearray) -> int:
        try:
            return self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:  # reset by the peer: the loop's transport reports it
            self.aborted = True
            return len(data)

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def listening_fds(srv: Server) -> list[int]:
    """The descriptors of the loop's listening sockets (asyncio and uvloop servers alike)."""
    fds = []
    unix = getattr(srv, "unix_listener", None)
    for listener in [*srv.listeners, *([unix] if unix is not None else [])]:
        for s in listener.sockets:
            try:
                fds.append(s.fileno())
            except OSError:
                continue
    return fds


def accept_while_blocked(srv: Server, fd: int) -> int:
    """Accept what waits on listening socket ``fd``; returns how many were admitted."""
    from engine.execution.client import Client

    loop = srv.loop
    if loop is None:
        return 0
    try:
        listener = socket.socket(fileno=fd)
    except OSError:
        return 0
    admitted = 0
    try:
        listener.setblocking(False)  # as the loop keeps it: never wait for a connection here
        for _ in range(MAX_ACCEPTS_PER_CALL):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.warning("Accepting client connection: %s", exc)
                break
            try:
                conn.setblocking(False)
                if conn.family in (socket.AF_INET, socket.AF_INET6):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                t = RawTransport(conn)
            except OSError:  # gone already
                conn.close()
                continue
            c = Client(srv)
            c.connection_made(t)  # type: ignore[arg-type]  # admission: may refuse and close
            if c.closing:
                continue
            t.adopting = True
            task = loop.create_task(_adopt(loop, c, conn))
            _adopting.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(_adopting.discard)
            admitted += 1
    finally:
        listener.detach()  # the descriptor stays the loop's listener
    return admitted


async def _adopt(loop: asyncio.AbstractEventLoop, c: Client, conn: socket.socket) -> None:
    """Runs once the script is over: the loop takes the connection over."""
    try:
        await loop.connect_accepted_socket(lambda: c, conn)
    except (OSError, RuntimeError, ValueError) as exc:  # died meanwhile, or the loop is closing
        log.debug("Client id=%d could not be handed to the event loop: %s", c.id, exc)
        conn.close()
        c.connection_lost(exc)


__all__ = ["RawTransport", "accept_while_blocked", "listening_fds"]
