"""What a master knows about each replica connection (``c.repl``), and its output limit.

A replica's state follows ``replstate``: ``none`` (only REPLCONF seen), waiting for
the snapshot to start, waiting for it to end (the stream accumulates meanwhile),
``send_bulk`` (disk-based file going out), ``wait_ack`` (a diskless payload was
sent: the stream starts on its first ``REPLCONF ACK``), ``online``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.server.client import Client

log = logging.getLogger(__name__)

# replica states on the master (INFO shows wait_bgsave / send_bulk / online)
NONE, WAIT_START, WAIT_END, SEND_BULK, WAIT_ACK, ONLINE = (
    "none", "wait_bgsave_start", "wait_bgsave_end", "send_bulk", "wait_ack", "online")
INFO_STATE = {WAIT_START: "wait_bgsave", WAIT_END: "wait_bgsave", SEND_BULK: "send_bulk",
              WAIT_ACK: "online", ONLINE: "online"}


class ReplicaInfo:
    """What a master knows about one replica connection (``c.repl``)."""

    kind = "replica"

    def __init__(self, c: Client) -> None:
        self.client = c
        self.state = NONE  # NONE: only REPLCONF seen, not a replica yet
        self.listening_port = 0
        self.ip_address = ""
        self.capa_eof = False
        self.capa_psync2 = False
        self.rdb_only = False
        self.legacy = False  # SYNC: no +FULLRESYNC line, no partial resync later
        self.ack_off = 0
        self.ack_time = time.time()
        self.since = time.time()  # when it asked for a sync
        self.pending: list[bytes] = []  # stream accumulated during its full sync
        self.pending_bytes = 0
        self.diskless = False
        self.sync_offset = 0

    @property
    def flag(self) -> str:
        return "S" if self.state != NONE else ""

    @property
    def ip(self) -> str:
        return self.ip_address or self.client.addr.rsplit(":", 1)[0]

    def send(self, data: bytes) -> None:
        """Bytes for the replica in order: through the AOF group commit when replies are held."""
        c = self.client
        t = c.transport
        if t is None or c.closing:
            return
        if c.held is not None:
            c.write(data)  # behind replies still waiting for the AOF write
        else:
            c.server.stats.net_output_bytes += len(data)
            t.write(data)

    def stream(self, data: bytes) -> None:
        if self.state == ONLINE:
            self.client.write(data)
            check_limits(self.client)
        elif self.state in (WAIT_END, SEND_BULK, WAIT_ACK) and not self.rdb_only:
            self.pending.append(data)
            self.pending_bytes += len(data)
            check_limits(self.client)

    def go_online(self) -> None:
        self.state = ONLINE
        self.ack_time = time.time()
        data = b"".join(self.pending)
        self.pending = []
        self.pending_bytes = 0
        if data:
            self.client.write(data)


def check_limits(c: Client) -> None:
    """``client-output-buffer-limit replica``: what waits to be sent, RDB transfer included."""
    t = c.transport
    info = c.repl
    if t is None or c.closing:
        return
    hard, soft, secs = c.server.config.client_output_buffer_limit["slave"]
    size = t.get_write_buffer_size() + (info.pending_bytes if info is not None else 0)
    now = time.time()
    over = bool(hard and size >= hard)
    if not over and soft and size >= soft:
        if not c.obuf_soft_since:
            c.obuf_soft_since = now
        elif now - c.obuf_soft_since >= secs:
            over = True
    elif soft:
        c.obuf_soft_since = 0.0
    if over:
        log.warning("Client id=%d addr=%s closed for overcoming of output buffer limits.", c.id, c.addr)
        c.close(abort=True)
