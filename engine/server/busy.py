"""Serving clients while a script is busy (``processEventsWhileBlocked``).

A running script blocks the asyncio loop (the handler has not returned), so once
it passes ``busy-reply-threshold`` the Lua count hook calls
:func:`process_events_while_blocked`, which does the loop's job by hand for a
moment: it writes the AOF and releases the replies waiting for it (as
``beforeSleep`` does while blocked), polls the listening sockets and the clients'
sockets without waiting, accepts new connections (:mod:`engine.server.rawconn`:
the loop adopts them once the script is over) and feeds what arrived to each
client's own input path. With ``Server.busy_reply`` set, the dispatcher answers as
``processCommand`` does during a busy script: commands flagged ``allow_busy``
(AUTH, HELLO, SCRIPT KILL, FUNCTION KILL/STATS, MULTI, SHUTDOWN NOSAVE...) run,
everything else is rejected with ``-BUSY`` (a rejected EXEC discards its
transaction). Clients blocked on keys keep waiting, as Redis serves ready keys only
once the script is over.

Never read here: the script's own caller (Redis protects it), clients blocked or
with commands pending or replies held, the master link (Redis reads it but applies
nothing until the script ends) and clients whose unsent output passed the
high-water mark. SHUTDOWN NOSAVE stops the script where it is: nothing it did
reaches the AOF or the replicas, nor wakes blocked clients, and its caller gets no
reply, as when Redis exits from inside the script.

Every connection made after the script started is served. One the loop accepted
in the very iteration that started it (its ``connection_made`` still queued) is
out of reach, since the loop's transport holds its socket: it is served once the
script is over.
"""

from __future__ import annotations

import os
import select
from typing import TYPE_CHECKING, Any

from engine.execution.client import HIGH_WATER
from engine.scripting.eval import BUSY_EVAL, BUSY_FUNCTION
from engine.server.rawconn import RawTransport, accept_while_blocked, listening_fds

if TYPE_CHECKING:
    from engine.scripting.eval import RunCtx, Scripting
    from engine.server.app import Server

ROUNDS = 4  # processEventsWhileBlocked: up to 4 rounds while events keep coming


def process_events_while_blocked(host: Scripting, run: RunCtx) -> None:
    """The scripting's ``while_busy`` hook (``Server.__init__`` wires it)."""
    srv: Server = host.server  # type: ignore[assignment]
    gate = srv.aof_gate
    if gate is not None and gate.flush_scheduled:
        gate.commit()  # flushAppendOnlyFile + the replies that waited for it
    ready_keys = srv.ready_keys
    srv.ready_keys = []  # the script's writes wake blocked clients only once it is over
    srv.busy_reply = BUSY_EVAL if run.is_eval else BUSY_FUNCTION
    stop = srv.shutdown_requested
    try:
        for _ in range(ROUNDS):
            if not _poll(srv, run) or (stop is not None and stop.is_set()):
                break
    finally:
        srv.busy_reply = None
        ready_keys.extend(srv.ready_keys)
        srv.ready_keys = ready_keys
    if srv.shutdown.done:  # SHUTDOWN NOSAVE came in: the server stops inside the script
        _abandon(srv, run)


def _poll(srv: Server, run: RunCtx) -> int:
    """One round: accept and read whatever is ready; returns how many events were handled."""
    listeners = listening_fds(srv)
    clients: dict[int, Any] = {}
    for c in list(srv.clients.values()):
        t = c.transport
        if t is None or c.closing or c.fd < 0:
            continue
        if t.__class__ is RawTransport:
            t.send_pending()
        if (c is run.caller or c.blocked is not None or c.pending or c.held is not None
                or c.reading_paused or c.client_type() == "master"
                or t.get_write_buffer_size() > HIGH_WATER):
            continue
        clients[c.fd] = c
    poller = select.poll()
    for fd in (*listeners, *clients):
        poller.register(fd, select.POLLIN)
    try:
        ready = poller.poll(0)
    except OSError:
        return 0
    events = 0
    for fd, _ in ready:
        c = clients.get(fd)
        if c is None:
            events += accept_while_blocked(srv, fd)
            continue
        if c.closing or c.fd != fd:
            continue  # closed by an earlier command of this round
        try:
            data = os.read(fd, 65536)
        except OSError:
            continue  # would block, or an error the loop will report
        if not data:
            continue  # EOF: the loop sees it once the script is over
        events += 1
        c.data_received(data)
    return events


def _abandon(srv: Server, run: RunCtx) -> None:
    """SHUTDOWN NOSAVE during the script: stop it as if the process exited inside it."""
    run.killed = True
    run.repl = 0  # what the interrupted line may still call is not propagated either
    srv.propagator.discard()
    srv.ready_keys.clear()  # nor are clients blocked on the keys it pushed to served
    caller = run.caller
    if caller is not None and caller.transport is not None:
        caller.close()


__all__ = ["process_events_while_blocked"]
