"""What a master knows about each replica connection (``c.repl``), and its output usage.

A replica's state follows ``replstate``: ``none`` (only REPLCONF seen), waiting for
the snapshot to start, waiting for it to end (the stream accumulates meanwhile),
``send_bulk`` (disk-based file going out), ``wait_ack`` (a diskless payload was
sent: the stream starts on its first ``REPLCONF ACK``), ``online``.

The replica limit (``client-output-buffer-limit replica``, :mod:`engine.execution.obuf`)
counts the stream not yet sent, never the RDB: Redis streams the snapshot from the
child's pipe or the file and only the replication stream sits in its buffers. The
RDB goes through the same transport ahead of the stream, so :meth:`stream_queued`
counts the bytes written after it (``streamed``) until the RDB has left.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from engine.execution.obuf import close_if_over

if TYPE_CHECKING:
    from engine.execution.client import Client

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
        self.rdb_queued = False  # the RDB of a full sync may still be in the transport
        self.streamed = 0  # stream bytes written to the connection after that RDB

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
            if self.rdb_queued:
                self.streamed += len(data)
            self.client.write(data)  # checks the limit once the transport holds 16 KB
        elif self.state in (WAIT_END, SEND_BULK, WAIT_ACK) and not self.rdb_only:
            self.pending.append(data)
            self.pending_bytes += len(data)
            close_if_over(self.client)

    def full_sync_started(self) -> None:
        """+FULLRESYNC sent: what the transport buffers from now on is the RDB."""
        self.rdb_queued = True
        self.streamed = 0

    def go_online(self) -> None:
        self.state = ONLINE
        self.ack_time = time.time()
        data = b"".join(self.pending)
        self.pending = []
        self.pending_bytes = 0
        if data:
            self.streamed += len(data)
            self.client.write(data)
        close_if_over(self.client)

    def stream_queued(self, queued: int) -> int:
        """The stream not yet sent, out of ``queued`` bytes buffered for the connection."""
        if self.rdb_queued:
            if self.state != ONLINE or self.streamed < queued:
                return self.pending_bytes + min(self.streamed, queued)
            self.rdb_queued = False  # the RDB has left: all that is buffered is stream
        return self.pending_bytes + queued

