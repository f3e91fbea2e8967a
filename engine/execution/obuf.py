"""Output-buffer limits (``client-output-buffer-limit``), enforced as Redis 7.0 does.

Redis keeps a client's unsent output in a 16 KB static buffer (``c->buf``) and,
beyond it, a list of reply blocks (``c->reply``); the limits apply to the list only
(``getClientOutputBufferMemoryUsage``). A replica's stream lives in the shared
replication buffer instead: its usage is the stream not yet written to it, and the
RDB of a full sync is never counted (it goes from the child's pipe or the file
straight to the socket).

Here a client's unsent output is what its transport still buffers plus the replies
the AOF group commit holds back (``c.held``); for a replica, the stream accumulated
during its full sync (``ReplicaInfo.pending``) plus the stream part of what the
transport buffers, RDB bytes excluded. :func:`buffer_counts` maps that onto the
``CLIENT LIST`` fields so that they mean what Redis's mean:

* ``obl`` — the first 16 KB of the unsent output (what Redis's static buffer would
  hold; 0 for a replica, whose stream never uses it);
* ``omem`` — the rest: the bytes Redis would keep in its reply list (a replica: all
  of its unsent stream). This is the figure the limits are compared with;
* ``oll`` — how many 16 KB reply blocks ``omem`` amounts to;
* ``tot-mem`` — the query buffer plus everything queued, RDB bytes included.

The transport's high-water mark is set to those 16 KB: the transport calls
``pause_writing`` when the unsent output passes it, which arms the per-write check
(``Client.obuf_watch``) until ``resume_writing`` says it drained. A client whose
output fits, i.e. almost every client on the GET/SET path, pays one attribute test
per write. Armed clients and replicas are also checked by the cron, so a client
over its soft limit is dropped when the time is up even if nothing more is written
to it (``clientsCron``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aof.replies import array_header

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host

log = logging.getLogger(__name__)

REPLY_CHUNK = 16 * 1024  # PROTO_REPLY_CHUNK_BYTES: the static reply buffer
PEAK_SLOTS = 8  # CLIENTS_PEAK_MEM_USAGE_SLOTS: client_recent_max_output_buffer's window (s)


def limit_class(c: Client) -> str:
    """getClientType for the limits: ``slave``, ``pubsub`` or ``normal`` (a master and a
    MONITOR client count as normal)."""
    r = c.repl
    if r is not None and r.flag == "S":
        return "slave"
    if c.sub_channels or c.sub_patterns or c.sub_shard:
        return "pubsub"
    return "normal"


def queued_bytes(c: Client) -> int:
    """Every byte we still hold for ``c``: transport buffer, held replies, replica backlog."""
    t = c.transport
    n = (t.get_write_buffer_size() if t is not None else 0) + c.held_bytes
    r = c.repl
    if r is not None and r.flag == "S":
        n += r.pending_bytes
    return n


def buffer_counts(c: Client) -> tuple[int, int, int]:
    """``(obl, oll, omem)`` as CLIENT LIST reports them (see the module docstring)."""
    t = c.transport
    q = (t.get_write_buffer_size() if t is not None else 0) + c.held_bytes
    r = c.repl
    if r is not None and r.flag == "S":
        obl, omem = 0, r.stream_queued(q)
    else:
        obl = q if q < REPLY_CHUNK else REPLY_CHUNK
        omem = q - obl
    return obl, -(-omem // REPLY_CHUNK), omem


def over_limits(c: Client, klass: str, used: int) -> bool:
    """checkClientOutputBufferLimits: the hard limit, or the soft one reached continuously
    for more than its seconds (whole seconds, as ``server.unixtime``)."""
    srv = c.server
    hard, soft, secs = srv.config.client_output_buffer_limit[klass]
    if klass == "slave" and hard and hard < srv.config.repl_backlog_size:
        hard = srv.config.repl_backlog_size  # a replica limit below the backlog makes no sense
    if soft and used >= soft:
        now = int(time.time())
        if not c.obuf_soft_since:
            c.obuf_soft_since = now
            reached = False  # first time seen over the soft limit
        else:
            reached = now - c.obuf_soft_since > secs
    else:
        c.obuf_soft_since = 0
        reached = False
    return reached or bool(hard and used >= hard)


def close_if_over(c: Client, from_cron: bool = False) -> bool:
    """closeClientOnOutputBufferLimitReached: close ``c`` when it is over its limit.

    The connection is aborted, so what was queued for it is dropped and nothing more
    is written (``closing``); its state is freed when the event loop reports the
    connection lost, after the current command or publish loop — ``freeClientAsync``.
    """
    if c.transport is None or c.closing:
        return False
    klass = limit_class(c)
    used = buffer_counts(c)[2]
    if not used and klass != "slave":
        c.obuf_soft_since = 0  # drained: the soft limit must be reached again, continuously
        return False
    if not over_limits(c, klass, used):
        return False
    info = c.info_line()
    if from_cron:
        log.warning("Client %s closed for overcoming of output buffer limits.", info)
    else:
        log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.", info)
    c.close(abort=True)
    return True


def refuse_output(c: Client, nbytes: int) -> bool:
    """Replies of ``nbytes`` about to be written: when with them the client would be at
    its hard limit, close it and write nothing — Redis builds replies in its buffers
    before sending any, so such a client gets none of them (closeClientOnOutputBufferLimitReached
    from _addReplyProtoToList, then CLIENT_CLOSE_ASAP)."""
    klass = limit_class(c)
    if klass == "slave" or c.closing or c.transport is None:  # no connection: a script, the AOF
        return False
    hard = c.server.config.client_output_buffer_limit[klass][0]
    if not hard or queued_bytes(c) + nbytes - REPLY_CHUNK < hard:
        return False
    log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.info_line())
    c.close(abort=True)
    return True


PICK_CHUNK = 1024  # picks rendered between two looks at the output limit


def random_picks(c: Client, population: list[Any], count: int, render: Callable[[Any], bytes],
                 per_pick: int = 1) -> bytes:
    """The array reply of ``count`` picks with repetition (HRANDFIELD, SRANDMEMBER,
    ZRANDMEMBER with a negative count), ``render`` encoding one pick as ``per_pick``
    elements. Built a chunk at a time: once the client would be past its hard output
    limit it is closed and nothing is sent, as Redis's loops stop on CLIENT_CLOSE_ASAP."""
    parts = [array_header(count * per_pick)]
    size = len(parts[0])
    left = count
    while left:
        k = left if left < PICK_CHUNK else PICK_CHUNK
        part = b"".join(map(render, random.choices(population, k=k)))
        parts.append(part)
        size += len(part)
        left -= k
        if left and refuse_output(c, size):
            return b""
    return b"".join(parts)


class OutputWatch:
    """The clients whose unsent output passed :data:`REPLY_CHUNK` (``server.obuf``)."""

    def __init__(self, server: Host) -> None:
        self.server = server
        self.armed: set[Client] = set()
        self.peaks = [0] * PEAK_SLOTS  # per-second maximum omem, client_recent_max_output_buffer
        self._slot = -1

    def arm(self, c: Client) -> None:
        c.obuf_watch = True
        self.armed.add(c)

    def disarm(self, c: Client) -> None:
        c.obuf_watch = False
        self.armed.discard(c)

    def cron(self) -> None:
        """clientsCron's part: limits (soft ones expire here) and the recent peak."""
        now = int(time.time())
        slot = now % PEAK_SLOTS
        if slot != self._slot:
            self._slot = slot
            self.peaks[slot] = 0
        peak = 0
        for c in list(self.armed):
            if c.closing:
                self.disarm(c)
                continue
            omem = buffer_counts(c)[2]
            if omem > peak:
                peak = omem
            close_if_over(c, from_cron=True)
        for c in list(self.server.replication.replicas):
            if c not in self.armed:
                close_if_over(c, from_cron=True)
        if peak > self.peaks[slot]:
            self.peaks[slot] = peak

    def recent_max(self) -> int:
        return max(self.peaks)


__all__ = ["REPLY_CHUNK", "OutputWatch", "buffer_counts", "close_if_over", "limit_class",
           "over_limits", "queued_bytes", "random_picks", "refuse_output"]
