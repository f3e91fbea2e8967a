"""The cluster bus's links: the listener on the bus port, one outgoing link per known
node, the messages this node sends, and clusterCron.

Each link is an asyncio protocol in the server's loop whose bytes go through the
sans-IO :class:`aof.clusterbus.BusReader`; a link whose bytes are not bus frames is
closed (clusterReadHandler's handleLinkIOError), a frame Redis would skip is logged
and skipped. What a message means is :mod:`engine.cluster.gossip`'s.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aof import clusterbus as cb
from engine.cluster import gossip
from engine.cluster.node import CLUSTER_NODE_MEET, ClusterNode, mstime

log = logging.getLogger(__name__)

_SKIP_GOSSIP = cb.CLUSTER_NODE_HANDSHAKE | cb.CLUSTER_NODE_NOADDR

LINK_BYTES = 1024 + 128  # a link's receive buffer (RCVBUF_INIT_LEN) and the struct


class Link(asyncio.Protocol):
    """clusterLink: ``node`` is None on an inbound link until its sender is known."""

    def __init__(self, bus: Bus, node: ClusterNode | None) -> None:
        self.bus = bus
        self.node = node
        self.inbound = node is None
        self.ctime = mstime()
        self.reader = cb.BusReader(bus.max_len)
        self.transport: Any = None  # asyncio's or uvloop's TCP transport
        self.closed = False
        self.peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        if self.closed:
            transport.close()
        elif not self.inbound:
            self.bus.connected(self)

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            events = self.reader.feed(data)
        except cb.ClusterBusError as exc:
            exc.source = f"cluster bus link {self.peer}"
            log.warning("Bad message length or signature received from Cluster bus: %s", exc)
            self.close()
            return
        for ev in events:
            if isinstance(ev, cb.Ignored):
                log.warning("cluster bus link %s: %s (at offset %d)", self.peer, ev.reason, ev.offset)
                continue
            if not gossip.process(self.bus.cluster, self, ev) or self.closed:
                return

    def connection_lost(self, exc: Exception | None) -> None:
        self.close()

    def send(self, m: cb.BusMessage) -> None:
        if self.transport is None or self.closed:
            return
        self.transport.write(cb.encode(m))
        if m.type < cb.CLUSTERMSG_TYPE_COUNT:
            self.bus.cluster.stats_sent[m.type] += 1

    def pending(self) -> int:
        """The send buffer: what was written and not sent yet (the sndbuf)."""
        return int(self.transport.get_write_buffer_size()) if self.transport is not None else 0

    def mem_usage(self) -> int:
        """getClusterLinkMemUsage: the link, its receive buffer and its send buffer."""
        return LINK_BYTES + self.pending()

    def local_ip(self) -> str:
        if self.transport is None:
            return ""
        sock = self.transport.get_extra_info("sockname")
        return str(sock[0]) if sock else ""

    def peer_ip(self) -> str:
        return self.peer.rpartition(":")[0]

    def close(self, abort: bool = False) -> None:
        """freeClusterLink (``abort``: what is still unsent is dropped)."""
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort() if abort else self.transport.close()
        self.bus.links.discard(self)
        n = self.node
        if n is not None:
            if n.link is self:
                n.link = None
            elif n.inbound_link is self:
                n.inbound_link = None


class Bus:
    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.server = cluster.server
        self.max_len = cb.DEFAULT_MAX_LEN
        self.links: set[Link] = set()
        self.listener: asyncio.AbstractServer | None = None
        self.iteration = 0
        self._ping_round = 0

    async def listen(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.listener = await loop.create_server(self._accepted, host.split()[0] or None, port)
        except OSError as exc:
            log.warning("%s", exc)
            raise cb.ClusterBusError(f"Failed listening on port {port} (cluster), aborting.") from None

    def _accepted(self) -> Link:
        link = Link(self, None)
        self.links.add(link)
        return link

    def connect(self, node: ClusterNode) -> None:
        """clusterNodeCronHandleReconnect's connect: the link exists (the node shows as
        connected) while the connection is made."""
        link = Link(self, node)
        node.link = link
        self.links.add(link)
        loop = self.server.loop

        async def go() -> None:
            try:
                await loop.create_connection(lambda: link, node.ip, node.cport)
            except OSError as exc:
                log.debug("Connection with Node %s at %s:%d failed: %s", node.name, node.ip, node.cport, exc)
                if node.ping_sent == 0:
                    node.ping_sent = mstime()
                link.close()

        loop.create_task(go())

    def connected(self, link: Link) -> None:
        """clusterLinkConnectHandler: a MEET to a node we were told to meet, else a PING."""
        node = link.node
        assert node is not None
        old = node.ping_sent
        self.send_ping(link, cb.CLUSTERMSG_TYPE_MEET if node.flags & CLUSTER_NODE_MEET else cb.CLUSTERMSG_TYPE_PING)
        if old:
            node.ping_sent = old
        node.flags &= ~CLUSTER_NODE_MEET

    def drop_links(self, node: ClusterNode) -> None:
        for link in (node.link, node.inbound_link):
            if link is not None:
                link.close()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()
        for link in list(self.links):
            link.close()

    # -- messages ---------------------------------------------------------------
    def header(self, type_: int) -> cb.BusMessage:
        """clusterBuildMessageHdr."""
        c = self.cluster
        me = c.myself
        master = me.slaveof if me.is_replica and me.slaveof is not None else me
        cfg = self.server.config
        m = cb.BusMessage(type_, me.name.encode(), port=me.port, cport=me.cport, flags=me.flags & 0xFFFF,
                          current_epoch=c.current_epoch, config_epoch=master.config_epoch,
                          repl_offset=c.offset_of(me), myslots=bytes(master.slots),
                          slaveof=me.slaveof.name.encode() if me.slaveof else cb.NULL_NAME,
                          myip=cfg.cluster_announce_ip.encode()[:45], state=0 if c.ok else 1)
        if me.is_master and c.failover.mf_end:  # a manual failover: this master is paused
            m.mflags = bytes([cb.CLUSTERMSG_FLAG0_PAUSED]) + m.mflags[1:]
        return m

    def send_ping(self, link: Link, type_: int) -> None:
        """clusterSendPing: a tenth of the known nodes (at least 3) as gossip, plus every
        node in PFAIL, and the hostname extension when one is announced."""
        c = self.cluster
        nodes = list(c.nodes.values())
        fresh = len(nodes) - 2
        wanted = min(max(len(nodes) // 10, 3), fresh)
        if not link.inbound and type_ == cb.CLUSTERMSG_TYPE_PING:
            link.node.ping_sent = mstime()
        m = self.header(type_)
        chosen: list[ClusterNode] = []
        tries = wanted * 3
        while fresh > 0 and len(chosen) < wanted and tries > 0:
            tries -= 1
            n = random.choice(nodes)
            if n is c.myself or n.flags & cb.CLUSTER_NODE_PFAIL:
                continue
            if n.flags & _SKIP_GOSSIP or (n.link is None and n.numslots == 0):
                fresh -= 1
                continue
            if n in chosen:
                continue
            chosen.append(n)
            fresh -= 1
        chosen += [n for n in nodes if n.flags & cb.CLUSTER_NODE_PFAIL and not n.flags & _SKIP_GOSSIP]
        m.gossip = [cb.Gossip(n.name.encode(), n.ping_sent // 1000, n.pong_received // 1000,
                              n.ip.encode()[:45], n.port, n.cport, n.flags & 0xFFFF, n.pport) for n in chosen]
        if c.myself.hostname:
            m.extensions = [cb.hostname_extension(c.myself.hostname.encode())]
        link.send(m)

    def broadcast_pong(self, local_replicas: bool = False) -> None:
        """clusterBroadcastPong: to every node, or (``local_replicas``) to the replicas of
        this node's master."""
        me = self.cluster.myself
        for n in list(self.cluster.nodes.values()):
            if n.link is None or n is me or n.in_handshake:
                continue
            if local_replicas and not (n.is_replica and n.slaveof is not None
                                       and (n.slaveof is me or n.slaveof is me.slaveof)):
                continue
            self.send_ping(n.link, cb.CLUSTERMSG_TYPE_PONG)

    def broadcast(self, m: cb.BusMessage) -> None:
        """clusterBroadcastMessage."""
        for n in list(self.cluster.nodes.values()):
            if n.link is not None and not n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_HANDSHAKE):
                n.link.send(m)

    def send_fail(self, name: str) -> None:
        m = self.header(cb.CLUSTERMSG_TYPE_FAIL)
        m.about = name.encode()
        self.broadcast(m)

    def send_update(self, link: Link | None, node: ClusterNode) -> None:
        """clusterSendUpdate: ``node``'s slots (less those it stopped claiming) and epoch."""
        if link is None:
            return
        m = self.header(cb.CLUSTERMSG_TYPE_UPDATE)
        m.about = node.name.encode()
        m.update_epoch = node.config_epoch
        m.update_slots = bytes(a & ~b for a, b in zip(node.slots, self.cluster.not_claiming))
        link.send(m)

    def publish(self, channel: bytes, message: bytes, shard: bool = False) -> None:
        """clusterPropagatePublish: PUBLISH reaches every node's subscribers, SPUBLISH the
        nodes serving this node's slots (its master and that master's replicas)."""
        m = self.header(cb.CLUSTERMSG_TYPE_PUBLISHSHARD if shard else cb.CLUSTERMSG_TYPE_PUBLISH)
        m.channel, m.message = channel, message
        if not shard:
            self.broadcast(m)
            return
        me = self.cluster.myself
        master = me.slaveof if me.is_replica and me.slaveof is not None else me
        for n in (master, *master.replicas):  # clusterGetNodesServingMySlots
            if n.link is not None and not n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_HANDSHAKE):
                n.link.send(m)

    # -- clusterCron ---------------------------------------------------------------
    def cron(self) -> None:
        c = self.cluster
        cfg = self.server.config
        timeout = cfg.cluster_node_timeout
        self.iteration += 1
        if c.myself.hostname != cfg.cluster_announce_hostname:  # clusterUpdateMyselfHostname
            c.myself.hostname = cfg.cluster_announce_hostname
            c.todo_save()
        now = mstime()
        handshake_timeout = max(timeout, 1000)
        for n in list(c.nodes.values()):
            if n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_NOADDR):
                continue
            if n.in_handshake and now - n.ctime > handshake_timeout:
                c.del_node(n)
                continue
            if n.link is None and n.ip:
                self.connect(n)
        if self.iteration % 10 == 0:  # ping the node with the oldest pong of five random ones
            pool = list(c.nodes.values())
            best = None
            for _ in range(5):
                n = random.choice(pool)
                if n.link is None or n.ping_sent or n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_HANDSHAKE):
                    continue
                if best is None or n.pong_received < best.pong_received:
                    best = n
            if best is not None:
                self.send_ping(best.link, cb.CLUSTERMSG_TYPE_PING)
        limit = cfg.cluster_link_sendbuf_limit
        for n in list(c.nodes.values()) if limit else ():  # clusterNodeCronFreeLinkOnBufferLimitReached
            for link in (n.link, n.inbound_link):
                if link is not None and link.pending() > limit:
                    log.warning("Freeing cluster link(%s node %s, used memory: %d) due to exceeding send "
                                "buffer memory limit.", "from" if link.inbound else "to", n.name, link.pending())
                    link.close(abort=True)
                    c.links_buffer_limit_exceeded += 1
        update = False
        for n in list(c.nodes.values()):
            now = mstime()
            if n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_NOADDR | cb.CLUSTER_NODE_HANDSHAKE):
                continue
            ping_delay = now - n.ping_sent
            data_delay = now - n.data_received
            if (n.link is not None and now - n.link.ctime > timeout and n.ping_sent
                    and ping_delay > timeout / 2 and data_delay > timeout / 2):
                n.link.close()  # a link that stopped answering: reconnect
            if n.link is not None and n.ping_sent == 0 and now - n.pong_received > timeout / 2:
                self.send_ping(n.link, cb.CLUSTERMSG_TYPE_PING)
                continue
            if n.ping_sent == 0:
                continue
            if min(ping_delay, data_delay) > timeout and not n.flags & (cb.CLUSTER_NODE_PFAIL | cb.CLUSTER_NODE_FAIL):
                log.debug("*** NODE %s possibly failing", n.name)
                n.flags |= cb.CLUSTER_NODE_PFAIL
                update = True
        if update or not c.ok:
            c.update_state()
