"""The TCP listeners: bound at start, rebound when CONFIG SET changes ``port`` or ``bind``.

Sockets are bound synchronously (listenToPort), so a CONFIG SET learns at once whether
the new address can be had; the event loop then serves them (createSocketAcceptHandler).
A rebind closes the old listeners first, as changeListenPort/changeBindAddr do (a new
``bind`` may cover the old address on the same port); when the new ones cannot be bound
the old ones are bound again and the CONFIG SET fails and is rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from engine.errors import ConfigError, EngineError
from engine.execution.client import Client

log = logging.getLogger("engine")


class ListenError(EngineError):
    pass


def bind_addrs(bind: str) -> list[tuple[str, bool]]:
    """``bind`` words → (address, optional); a leading "-" means "skip if unavailable"."""
    out = []
    for a in bind.split() or ["127.0.0.1"]:
        optional = a.startswith("-")
        a = a.lstrip("-")
        if a == "*":
            a = "0.0.0.0"
        elif a == "::*":
            a = "::"
        out.append((a, optional))
    return out


def open_sockets(bind: str, port: int, backlog: int) -> list[socket.socket]:
    """listenToPort: a listening socket per address; all or nothing."""
    socks: list[socket.socket] = []
    if not port:
        return socks
    for addr, optional in bind_addrs(bind):
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.listen(backlog)
            s.setblocking(False)
        except OSError as exc:
            s.close()
            if optional:
                log.warning("Skipping optional bind address %s: %s", addr, exc.strerror)
                continue
            for other in socks:
                other.close()
            raise ListenError(f"Could not create server TCP listening socket {addr}:{port}: "
                              f"{exc.strerror}") from None
        socks.append(s)
    return socks


async def serve_sockets(server: Any, socks: list[socket.socket]) -> None:
    """Accept clients on bound sockets (``server.listeners``; ``server.bound_ports`` at once)."""
    server.bound_ports.extend(s.getsockname()[1] for s in socks)
    loop = asyncio.get_running_loop()
    for s in socks:
        server.listeners.append(await loop.create_server(lambda: Client(server), sock=s))


def rebind(server: Any) -> None:
    """CONFIG SET port / bind (updatePort, applyBind): listen where the configuration now
    says, or raise ConfigError (naming the config) with the old listeners back in place."""
    cfg = server.config
    old = server.listen_on
    new = (cfg.bind, cfg.port)
    if new == old:
        return
    for srv in server.listeners:
        srv.close()
    server.listeners.clear()
    server.bound_ports.clear()
    try:
        socks = open_sockets(new[0], new[1], cfg.tcp_backlog)
    except ListenError as exc:
        log.warning("%s", exc)
        socks = open_sockets(old[0], old[1], cfg.tcp_backlog)
        server.loop.create_task(serve_sockets(server, socks))
        port_changed = new[1] != old[1]
        err = ConfigError("Unable to listen on this port. Check server logs." if port_changed
                          else "Failed to bind to specified addresses.")
        err.config = "port" if port_changed else "bind"  # type: ignore[attr-defined]
        raise err from None
    server.listen_on = new
    server.loop.create_task(serve_sockets(server, socks))


__all__ = ["ListenError", "bind_addrs", "open_sockets", "rebind", "serve_sockets"]
