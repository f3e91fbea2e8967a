"""Serving other clients while a script is busy (``processEventsWhileBlocked``).

A running script blocks the asyncio loop (the handler has not returned), so once
it passes ``busy-reply-threshold`` the Lua count hook calls
:func:`process_events_while_blocked`, which does a small part of the loop's job
by hand: a zero-timeout ``select`` over the connected clients' sockets (never the
script's own caller, which Redis protects), reads what arrived, parses it with
the client's own parser and answers as ``processCommand`` does during a busy
script: commands flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL/STATS, MULTI,
AUTH...) run, everything else gets ``-BUSY``. Replies go straight to the
transport (the AOF gate cannot deliver held replies while the loop is blocked).

Limits: new connections are accepted only once the script ends (their sockets
belong to the listener, whose accept runs in the loop); clients that are blocked
(BLPOP...) or have commands pending keep their input until then.
"""

from __future__ import annotations

import os
import select
from typing import TYPE_CHECKING, Any

from aof.errors import RespProtocolError
from engine.server.dispatch import NOAUTH, execute, resolve

if TYPE_CHECKING:
    from engine.scripting.eval import RunCtx, Scripting


def process_events_while_blocked(host: Scripting, run: RunCtx) -> None:
    srv = host.server
    fds: dict[int, Any] = {}
    for c in list(srv.clients.values()):
        if (c is run.caller or c.closing or c.fd < 0 or c.transport is None
                or c.blocked is not None or c.pending):
            continue
        fds[c.fd] = c
    if not fds:
        return
    try:
        ready, _, _ = select.select(list(fds), [], [], 0)
    except (OSError, ValueError):
        return
    for fd in ready:
        c = fds[fd]
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            continue
        if not data:
            continue  # EOF: the loop sees it once the script is over
        srv.stats.net_input_bytes += len(data)
        c.parser.feed(data)
        try:
            cmds = c.parser.parse()
        except RespProtocolError as exc:
            cmds = exc.commands
        out = [_busy_reply(host, run, c, argv) for argv in cmds]
        t = c.transport
        if out and t is not None and not c.closing:
            data = b"".join(r for r in out if r)
            srv.stats.net_output_bytes += len(data)
            t.write(data)


def _busy_reply(host: Scripting, run: RunCtx, c: Any, argv: list[bytes]) -> bytes:
    from engine.scripting.eval import BUSY_EVAL, BUSY_FUNCTION

    srv = host.server
    r = resolve(argv)
    if r.__class__ is bytes:
        if c.multi is not None:
            c.multi_error = True
        srv.count_error(r)  # type: ignore[arg-type]
        return r  # type: ignore[return-value]
    cmd: Any = r
    if not c.authenticated and not cmd.no_auth:
        return NOAUTH
    busy = BUSY_EVAL if run.is_eval else BUSY_FUNCTION
    if "allow_busy" not in cmd.flags:
        if c.multi is not None:
            c.multi_error = True
        srv.count_error(busy)
        return busy
    if cmd.name == "shutdown":
        if b"nosave" not in [a.lower() for a in argv[1:]]:
            return busy
        run.killed = True  # the script ends at its next hook, then the server stops
    reply = execute(c, argv)
    return reply if reply is not None else b""


__all__ = ["process_events_while_blocked"]
