"""What each client's buffers hold, and client eviction (``maxmemory-clients``).

A client's memory (``getClientMemoryUsage``, CLIENT LIST's ``tot-mem``) is a fixed part
— the model's :data:`CLIENT_BYTES`: the client struct, its 16 KiB reply buffer, a small
query buffer — plus what it holds beyond that: the query buffer (a command still
arriving), the unsent output (:func:`engine.execution.obuf.queued_bytes`), the commands
a MULTI queued, its WATCHed keys, pub/sub subscriptions and BCAST tracking prefixes
(the overheads ``multiStateMemOverhead``/``pubsubMemOverhead`` count).

While ``maxmemory`` or ``maxmemory-clients`` is set, :class:`ClientMemory` keeps each
normal and pub/sub client's extra bytes (``Client.mem_extra``) and their sum,
``Server.client_buffers``, up to date as Redis's ``updateClientMemUsage`` does: after
each read (the query buffer, and what the commands it carried queued or subscribed),
when the unsent output passes or drains below 16 KiB, and from the cron for the clients
holding something. The sum is part of ``used_memory`` (so buffers count for key
eviction as in Redis); with ``maxmemory-clients``, the clients' total reaching the limit
evicts the largest evictable clients until it is below (``evictClients``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.execution import obuf
from engine.keyspace.memory import CLIENT_BYTES

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host

log = logging.getLogger(__name__)

BIG_ARG = 32 * 1024  # PROTO_MBULK_BIG_ARG: the query buffer is sized for such an argument
MIN_LIMIT = 128 * 1024  # getClientEvictionLimit: never below 128 KiB
QUEUED_CMD = 40  # a queued multiCmd and its argv array
WATCHED_KEY = 56  # listNode + watchedKey
SUBSCRIPTION = 32  # a dict entry and its bucket (pubsubMemOverhead)
PATTERN = 24  # a listNode
PREFIX = 32  # rax nodes of a BCAST prefix


def extra_bytes(c: Client) -> int:
    """What ``c`` holds beyond the fixed :data:`CLIENT_BYTES`."""
    p = c.parser
    n = p.buffered_bytes
    if p.pending_bulk >= BIG_ARG and p.pending_bulk + 2 > n:  # the room made for it
        n = p.pending_bulk + 2
    n += obuf.queued_bytes(c)
    if c.multi is not None:
        for _cmd, argv in c.multi:
            n += QUEUED_CMD + 8 * len(argv) + sum(map(len, argv))
    if c.watched:
        n += WATCHED_KEY * len(c.watched)
    if c.sub_channels or c.sub_patterns or c.sub_shard:
        n += SUBSCRIPTION * (len(c.sub_channels) + len(c.sub_shard)) + PATTERN * len(c.sub_patterns)
    st = c.tracking
    if st is not None and st.prefixes:
        n += PREFIX * len(st.prefixes)
    return n


def client_memory(c: Client) -> int:
    """getClientMemoryUsage: CLIENT LIST's ``tot-mem``."""
    return CLIENT_BYTES + extra_bytes(c)


def tracked(c: Client) -> bool:
    """Normal and pub/sub clients (stat_clients_type_memory's eviction types)."""
    return c.repl is None and not c.script


class ClientMemory:
    """The clients' extra bytes and ``maxmemory-clients`` (``server.client_mem_usage_buckets``)."""

    def __init__(self, server: Host) -> None:
        self.server = server
        self.on = False  # maxmemory or maxmemory-clients set
        self.evicted = 0  # stat_evictedclients
        self.holding: set[Client] = set()  # clients with extra bytes: the cron refreshes them

    def configure(self) -> None:
        """After CONFIG SET maxmemory/maxmemory-clients: start or stop tracking, and evict
        at once if the new limit is already exceeded (applyClientMaxMemoryUsage)."""
        cfg = self.server.config
        on = bool(cfg.maxmemory or cfg.maxmemory_clients)
        if on != self.on:
            self.on = on
            srv = self.server
            srv.client_buffers = 0
            self.holding.clear()
            for c in srv.clients.values():
                c.mem_extra = 0
                if on:
                    self.update(c, evict=False)
        if on:
            self.evict()

    def limit(self) -> int:
        """getClientEvictionLimit: bytes, a percentage of maxmemory, or 0 for none."""
        cfg = self.server.config
        v = cfg.maxmemory_clients
        if v < 0:
            if not cfg.maxmemory:
                return 0
            v = int(cfg.maxmemory * -v / 100)
        return max(v, MIN_LIMIT) if v else 0

    def update(self, c: Client, evict: bool = True) -> None:
        """updateClientMemUsage after ``c``'s buffers changed; then evictClients."""
        if c.closing or not tracked(c):
            return
        new = extra_bytes(c)
        old = c.mem_extra
        if new != old:
            c.mem_extra = new
            self.server.client_buffers += new - old
            if new:
                self.holding.add(c)
            else:
                self.holding.discard(c)
        if evict and new > old:
            self.evict()

    def forget(self, c: Client) -> None:
        """The client is gone."""
        if c.mem_extra:
            self.server.client_buffers -= c.mem_extra
            c.mem_extra = 0
        self.holding.discard(c)

    def total(self) -> int:
        srv = self.server
        return CLIENT_BYTES * len(srv.clients) + srv.client_buffers

    def evict(self) -> None:
        """evictClients: while the clients' memory is at or over the limit, drop the
        largest evictable client (not CLIENT NO-EVICT, not a replica or master)."""
        limit = self.limit()
        if not limit or self.total() < limit:
            return
        for c in list(self.holding):  # the sum may be stale: drained outputs
            self.update(c, evict=False)
        srv = self.server
        if self.total() < limit:
            return
        total = self.total() - CLIENT_BYTES * sum(c.closing for c in srv.clients.values())
        victims = sorted((c for c in srv.clients.values()
                          if tracked(c) and not c.no_evict and not c.closing),
                         key=lambda c: c.mem_extra, reverse=True)
        for c in victims:
            if total < limit:
                return
            log.info("Evicting client: %s", c.info_line())
            self.evicted += 1
            total -= CLIENT_BYTES + c.mem_extra
            self.forget(c)
            c.close(abort=True)  # the rest of freeClient when the loop reports the connection lost
            srv.clients.pop(c.id, None)  # gone from CLIENT LIST at once, as freeClient
        if total >= limit:
            log.warning("Over client maxmemory after evicting all evictable clients")

    def cron(self) -> None:
        """clientsCron's part: refresh the clients holding something (outputs drain)."""
        for c in list(self.holding):
            if c.closing:
                self.forget(c)
            else:
                self.update(c, evict=False)
        self.evict()


__all__ = ["ClientMemory", "client_memory", "extra_bytes"]
