"""What a bus message changes (cluster.c's clusterProcessPacket and the functions it
calls): the handshake, epochs, roles, slot ownership, gossip about other nodes,
failure reports and FAIL, UPDATE and PUBLISH.

FAILOVER_AUTH_REQUEST/ACK and MFSTART go to :mod:`engine.cluster.failover`.
"""

from __future__ import annotations

import logging
from typing import Any

from aof import clusterbus as cb
from engine.cluster.node import ClusterNode, mstime

log = logging.getLogger(__name__)

_FAILISH = cb.CLUSTER_NODE_FAIL | cb.CLUSTER_NODE_PFAIL
CLUSTER_FAIL_REPORT_VALIDITY_MULT = 2
CLUSTER_FAIL_UNDO_TIME_MULT = 2


def _sender_of(c: Any, link: Any, m: cb.BusMessage) -> ClusterNode | None:
    """getNodeFromLinkAndMsg: an inbound link learns its node from the first known sender."""
    if link.node is not None and not link.node.in_handshake:
        return link.node  # type: ignore[no-any-return]
    sender = c.lookup(m.sender)
    if sender is not None and link.node is None:
        if sender.inbound_link is not None and sender.inbound_link is not link:
            sender.inbound_link.close()
        sender.inbound_link = link
        link.node = sender
    return sender  # type: ignore[no-any-return]


def _ip_of(link: Any, m: cb.BusMessage) -> str:
    """nodeIp2String: the announced address, else the link's peer."""
    return m.myip.decode("latin-1") if m.myip else link.peer_ip()  # type: ignore[no-any-return]


def process(c: Any, link: Any, m: cb.BusMessage) -> bool:
    """clusterProcessPacket; False when the link was freed."""
    t = m.type
    if t < cb.CLUSTERMSG_TYPE_COUNT:
        c.stats_received[t] += 1
    if t == c.server.cluster_drop_packet_filter:
        log.warning("Dropping packet that matches debug drop filter")
        return True
    now = mstime()
    sender = _sender_of(c, link, m)
    if sender is not None:
        sender.data_received = now
    if sender is not None and not sender.in_handshake:
        if m.current_epoch > c.current_epoch:
            c.current_epoch = m.current_epoch
        if m.config_epoch > sender.config_epoch:
            sender.config_epoch = m.config_epoch
            c.todo_save(fsync=True)
        sender.repl_offset = m.repl_offset
        if (c.myself.is_replica and c.myself.slaveof is sender
                and m.mflags[0] & cb.CLUSTERMSG_FLAG0_PAUSED):
            c.failover.master_paused(m)
    me = c.myself
    if t in (cb.CLUSTERMSG_TYPE_PING, cb.CLUSTERMSG_TYPE_MEET):
        # a MEET tells us our own address as the peer reached it
        if (t == cb.CLUSTERMSG_TYPE_MEET or not me.ip) and not c.server.config.cluster_announce_ip:
            ip = link.local_ip()
            if ip and ip != me.ip:
                me.ip = ip
                log.warning("IP address for this node updated to %s", ip)
                c.todo_save()
        if sender is None and t == cb.CLUSTERMSG_TYPE_MEET:
            n = ClusterNode(_new_name(c), cb.CLUSTER_NODE_HANDSHAKE, ip=_ip_of(link, m), port=m.port,
                            pport=m.pport, cport=m.cport)
            c.nodes[n.name] = n
            c.todo_save()
            _process_gossip(c, link, m, None)
        c.bus.send_ping(link, cb.CLUSTERMSG_TYPE_PONG)
    if t in (cb.CLUSTERMSG_TYPE_PING, cb.CLUSTERMSG_TYPE_PONG, cb.CLUSTERMSG_TYPE_MEET):
        return _process_ping(c, link, m, sender, now)
    if t == cb.CLUSTERMSG_TYPE_FAIL:
        if sender is None:
            log.info("Ignoring FAIL message from unknown node %s about %s", m.sender.decode("latin-1"),
                     m.about.decode("latin-1"))
            return True
        failing = c.lookup(m.about)
        if failing is not None and not failing.flags & (cb.CLUSTER_NODE_FAIL | cb.CLUSTER_NODE_MYSELF):
            log.info("FAIL message received from %s about %s", sender.name, failing.name)
            failing.flags = (failing.flags | cb.CLUSTER_NODE_FAIL) & ~cb.CLUSTER_NODE_PFAIL
            failing.fail_time = now
            c.todo_save()
            c.update_state()
    elif t in (cb.CLUSTERMSG_TYPE_PUBLISH, cb.CLUSTERMSG_TYPE_PUBLISHSHARD):
        if sender is not None:
            ps = c.server.pubsub
            (ps.spublish if t == cb.CLUSTERMSG_TYPE_PUBLISHSHARD else ps.publish)(m.channel, m.message)
    elif t == cb.CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST:
        if sender is not None:
            c.failover.auth_requested(sender, m)
    elif t == cb.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK:
        if sender is not None:
            c.failover.auth_acked(sender, m)
    elif t == cb.CLUSTERMSG_TYPE_MFSTART:
        if sender is not None:
            c.failover.mfstart(sender, link)
    elif t == cb.CLUSTERMSG_TYPE_UPDATE:
        if sender is None:
            return True
        n = c.lookup(m.about)
        if n is None or n.config_epoch >= m.update_epoch:
            return True
        if n.is_replica:
            c.set_node_as_master(n)
        n.config_epoch = m.update_epoch
        c.todo_save(fsync=True)
        update_slots_with(c, n, m.update_epoch, m.update_slots)
    return True


def _new_name(c: Any) -> str:
    from engine.cluster.node import random_name

    name = random_name()
    while name in c.nodes:
        name = random_name()
    return name


def _process_ping(c: Any, link: Any, m: cb.BusMessage, sender: ClusterNode | None, now: int) -> bool:
    t = m.type
    if not link.inbound:
        node = link.node
        if node.in_handshake:
            if sender is not None:  # we know it already: maybe a new address; drop the handshake node
                _update_address(c, sender, link, m)
                c.del_node(node)
                return False
            c.rename_node(node, m.sender.decode("latin-1"))
            node.flags &= ~cb.CLUSTER_NODE_HANDSHAKE
            node.flags |= m.flags & (cb.CLUSTER_NODE_MASTER | cb.CLUSTER_NODE_SLAVE)
            log.debug("Handshake with node %s completed.", node.name)
            c.todo_save()
        elif node.name.encode() != m.sender:
            node.flags |= cb.CLUSTER_NODE_NOADDR
            node.ip, node.port, node.pport, node.cport = "", 0, 0, 0
            link.close()
            c.todo_save()
            return False
    if sender is not None:
        sender.flags = (sender.flags & ~cb.CLUSTER_NODE_NOFAILOVER) | (m.flags & cb.CLUSTER_NODE_NOFAILOVER)
    if sender is not None and t == cb.CLUSTERMSG_TYPE_PING and not sender.in_handshake:
        if _update_address(c, sender, link, m):
            c.todo_save()
            c.update_state()
    if not link.inbound and t == cb.CLUSTERMSG_TYPE_PONG:
        node = link.node
        node.pong_received = now
        node.ping_sent = 0
        if node.flags & cb.CLUSTER_NODE_PFAIL:
            node.flags &= ~cb.CLUSTER_NODE_PFAIL
            c.todo_save()
            c.update_state()
        elif node.flags & cb.CLUSTER_NODE_FAIL:
            _clear_failure_if_needed(c, node)
    if sender is not None:
        if m.slaveof == cb.NULL_NAME:
            c.set_node_as_master(sender)
        else:
            master = c.lookup(m.slaveof)
            if sender.is_master:
                c.del_node_slots(sender)
                sender.flags = (sender.flags & ~(cb.CLUSTER_NODE_MASTER | cb.CLUSTER_NODE_MIGRATE_TO)) \
                    | cb.CLUSTER_NODE_SLAVE
                c.todo_save()
                c.update_state()
            if master is not None and sender.slaveof is not master:
                if sender.slaveof is not None:
                    sender.slaveof.remove_replica(sender)
                master.add_replica(sender)
                sender.slaveof = master
                c.todo_save()
    dirty = False
    if sender is not None:
        sm = sender if sender.is_master else sender.slaveof
        dirty = sm is not None and bytes(sm.slots) != m.myslots
    if sender is not None and sender.is_master and dirty:
        update_slots_with(c, sender, m.config_epoch, m.myslots)
    if sender is not None and dirty:  # tell a sender with a stale claim who owns its slots now
        for j in cb.bitmap_slots(m.myslots):
            o = c.owner[j]
            if o is sender or o is None or c.not_claiming[j >> 3] >> (j & 7) & 1:
                continue
            if o.config_epoch > m.config_epoch:
                c.bus.send_update(sender.link, o)
                break
    if sender is not None and c.myself.is_master and sender.is_master and m.config_epoch == c.myself.config_epoch:
        c.handle_epoch_collision(sender)
    if sender is not None:
        _process_gossip(c, link, m, sender)
        sender.hostname = m.hostname.decode("utf-8", "surrogateescape")  # updateAnnouncedHostname
    return True


def _update_address(c: Any, node: ClusterNode, link: Any, m: cb.BusMessage) -> bool:
    """nodeUpdateAddressIfNeeded."""
    if link is node.link:
        return False
    ip = _ip_of(link, m)
    if (node.port, node.cport, node.pport, node.ip) == (m.port, m.cport, m.pport, ip):
        return False
    node.ip, node.port, node.pport, node.cport = ip, m.port, m.pport, m.cport
    if node.link is not None:
        node.link.close()
    node.flags &= ~cb.CLUSTER_NODE_NOADDR
    log.warning("Address updated for node %s, now %s:%d", node.name, node.ip, node.port)
    if c.myself.is_replica and c.myself.slaveof is node:
        c.server.replication.set_master(node.ip, node.port)
    return True


def _process_gossip(c: Any, link: Any, m: cb.BusMessage, sender: ClusterNode | None) -> None:
    """clusterProcessGossipSection."""
    timeout = c.server.config.cluster_node_timeout
    now = mstime()
    for g in m.gossip:
        name = g.name.decode("latin-1")
        node = c.nodes.get(name)
        ip = g.ip.decode("latin-1")
        if node is not None:
            if sender is not None and sender.is_master and node is not c.myself:
                if g.flags & _FAILISH:
                    node.fail_reports[sender.name] = now
                    _mark_failing_if_needed(c, node)
                else:
                    node.fail_reports.pop(sender.name, None)
            _expire_reports(node, timeout * CLUSTER_FAIL_REPORT_VALIDITY_MULT, now)
            if not g.flags & _FAILISH and node.ping_sent == 0 and not node.fail_reports:
                pong = g.pong_received * 1000
                if pong <= now + 500 and pong > node.pong_received:
                    node.pong_received = pong
            if (node.flags & _FAILISH and not g.flags & cb.CLUSTER_NODE_NOADDR and not g.flags & _FAILISH
                    and (node.ip != ip or node.port != g.port or node.cport != g.cport)):
                if node.link is not None:
                    node.link.close()
                node.ip, node.port, node.pport, node.cport = ip, g.port, g.pport, g.cport
                node.flags &= ~cb.CLUSTER_NODE_NOADDR
        elif sender is not None and not g.flags & cb.CLUSTER_NODE_NOADDR and not c.blacklisted(name):
            c.nodes[name] = ClusterNode(name, g.flags, ip=ip, port=g.port, pport=g.pport, cport=g.cport)


def _expire_reports(node: ClusterNode, maxtime: int, now: int) -> None:
    """clusterNodeCleanupFailureReports."""
    for k in [k for k, t in node.fail_reports.items() if now - t > maxtime]:
        del node.fail_reports[k]


def _mark_failing_if_needed(c: Any, node: ClusterNode) -> None:
    """markNodeAsFailingIfNeeded: PFAIL here and a majority of masters agree → FAIL."""
    if not node.flags & cb.CLUSTER_NODE_PFAIL or node.flags & cb.CLUSTER_NODE_FAIL:
        return
    _expire_reports(node, c.server.config.cluster_node_timeout * CLUSTER_FAIL_REPORT_VALIDITY_MULT, mstime())
    failures = len(node.fail_reports) + (1 if c.myself.is_master else 0)
    if failures < c.size // 2 + 1:
        return
    log.info("Marking node %s as failing (quorum reached).", node.name)
    node.flags = (node.flags & ~cb.CLUSTER_NODE_PFAIL) | cb.CLUSTER_NODE_FAIL
    node.fail_time = mstime()
    c.bus.send_fail(node.name)
    c.todo_save()
    c.update_state()


def _clear_failure_if_needed(c: Any, node: ClusterNode) -> None:
    """clearNodeFailureIfNeeded."""
    if node.is_replica or node.numslots == 0 or (
            mstime() - node.fail_time > c.server.config.cluster_node_timeout * CLUSTER_FAIL_UNDO_TIME_MULT):
        log.info("Clear FAIL state for node %s: is reachable again.", node.name)
        node.flags &= ~cb.CLUSTER_NODE_FAIL
        c.todo_save()
        c.update_state()


def update_slots_with(c: Any, sender: ClusterNode, epoch: int, slots: bytes) -> None:
    """clusterUpdateSlotsConfigWith: slots claimed with a newer epoch (or unclaimed) move
    to ``sender``; a master left without slots (or a replica whose master was) replicates
    ``sender`` from then on."""
    if sender is c.myself:
        log.warning("Discarding UPDATE message about myself.")
        return
    changed = False
    dirty_slots = []
    me = c.myself
    curmaster = me if me.is_master else me.slaveof
    newmaster = None
    sender_slots = bin(int.from_bytes(slots, "little")).count("1")
    migrated = 0
    # only slots whose claim differs from what ``sender`` holds can change (or have their
    # not-claiming bit cleared)
    held = bytes(sender.slots)
    diff = bytes(a ^ b | (a & n) for a, b, n in zip(slots, held, c.not_claiming))
    for j in cb.bitmap_slots(diff):
        byte, bit = j >> 3, 1 << (j & 7)
        if slots[byte] & bit:
            o = c.owner[j]
            if o is sender:
                c.not_claiming[byte] &= ~bit
                continue
            if j in c.importing:
                continue
            if o is None or c.not_claiming[byte] & bit or o.config_epoch < epoch:
                if o is c.myself and sender is not c.myself:
                    dirty_slots.append(j)
                if o is not None and o is curmaster:
                    newmaster = sender
                    migrated += 1
                c.del_slot(j)
                c.add_slot(sender, j)
                changed = True
        elif c.owner[j] is sender:
            c.not_claiming[byte] |= bit
    if changed:
        c.todo_save(fsync=True)
        c.update_state()
    if (newmaster is not None and curmaster is not None and curmaster.numslots == 0
            and (c.server.config.cluster_allow_replica_migration or sender_slots == migrated)):
        log.warning("Configuration change detected. Reconfiguring myself as a replica of %s", sender.name)
        c.set_master(sender)
        c.todo_save(fsync=True)
        c.update_state()
    elif me.slaveof is not None and me.slaveof.slaveof is not None and me.slaveof.slaveof is not me:
        log.warning("I'm a sub-replica! Reconfiguring myself as a replica of grandmaster %s",
                    me.slaveof.slaveof.name)
        c.set_master(me.slaveof.slaveof)
        c.todo_save(fsync=True)
        c.update_state()
    elif dirty_slots:
        c.slot_keys.del_keys_in_slots(dirty_slots)
