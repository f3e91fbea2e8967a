"""Replica promotion (cluster.c's failover half): a replica whose master failed asks the
masters for votes and, with a majority, takes its master's slots; a master votes for
such a replica; CLUSTER FAILOVER's FORCE and TAKEOVER, and the replica's side of the
default manual failover (the master pauses its writers and tells its offset; the replica
starts its election once it has applied that much).

A master asked for a manual failover (MFSTART) pauses its writers until the replica took
over or the failover timed out, and tells its offset in its pings (the PAUSED flag).
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from aof import clusterbus as cb
from engine.cluster.node import ClusterNode, mstime
from engine.execution.pause import CLIENT_PAUSE_WRITE, PAUSE_DURING_FAILOVER

log = logging.getLogger(__name__)

CLUSTER_MF_TIMEOUT = 5000
CLUSTER_MF_PAUSE_MULT = 2
CLUSTER_SLAVE_MIGRATION_DELAY = 5000


def _working_replicas(n: ClusterNode, flags: int = cb.CLUSTER_NODE_FAIL) -> int:
    """clusterCountNonFailingSlaves (with PFAIL too: the replicas not timed out)."""
    return sum(1 for r in n.replicas if not r.flags & flags)


class Failover:
    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.auth_time = 0  # failover_auth_time
        self.auth_count = 0
        self.auth_sent = False
        self.auth_rank = 0
        self.auth_epoch = 0
        self.mf_end = 0  # a manual failover is under way until then
        self.mf_can_start = False
        self.mf_master_offset = -1
        self.mf_replica: ClusterNode | None = None  # the replica a master here hands over to
        self.update_myself_flags()

    def update_myself_flags(self) -> None:
        """clusterUpdateMyselfFlags: cluster-replica-no-failover is this node's nofailover
        flag, shown in CLUSTER NODES and carried by its pings."""
        c = self.cluster
        old = c.myself.flags
        c.myself.flags &= ~cb.CLUSTER_NODE_NOFAILOVER
        if c.server.config.cluster_replica_no_failover:
            c.myself.flags |= cb.CLUSTER_NODE_NOFAILOVER
        if c.myself.flags != old:
            c.changed()

    def reset_manual(self) -> None:
        """resetManualFailover: a master here lets its writers go again."""
        if self.mf_replica is not None:
            self.cluster.server.pause.unpause(PAUSE_DURING_FAILOVER)
            self.mf_replica = None
        self.mf_end = 0
        self.mf_can_start = False
        self.mf_master_offset = -1

    # -- a master's vote --------------------------------------------------------------
    def auth_requested(self, node: ClusterNode, m: cb.BusMessage) -> None:
        """clusterSendFailoverAuthIfNeeded."""
        c = self.cluster
        me = c.myself
        master = node.slaveof
        if me.is_replica or me.numslots == 0:
            return
        if m.current_epoch < c.current_epoch:
            log.warning("Failover auth denied to %s: reqEpoch (%d) < curEpoch(%d)", node.name, m.current_epoch,
                        c.current_epoch)
            return
        if c.last_vote_epoch == c.current_epoch:
            log.warning("Failover auth denied to %s: already voted for epoch %d", node.name, c.current_epoch)
            return
        force = bool(m.mflags[0] & cb.CLUSTERMSG_FLAG0_FORCEACK)
        if node.is_master or master is None or (not master.flags & cb.CLUSTER_NODE_FAIL and not force):
            why = ("it is a master node" if node.is_master else "I don't know its master" if master is None
                   else "its master is up")
            log.warning("Failover auth denied to %s: %s", node.name, why)
            return
        timeout = c.server.config.cluster_node_timeout
        if mstime() - master.voted_time < timeout * 2:
            log.warning("Failover auth denied to %s: can't vote about this master before %d milliseconds",
                        node.name, timeout * 2 - (mstime() - master.voted_time))
            return
        for j in cb.bitmap_slots(m.myslots):
            o = c.owner[j]
            if o is None or c.not_claiming[j >> 3] >> (j & 7) & 1 or o.config_epoch <= m.config_epoch:
                continue
            log.warning("Failover auth denied to %s: slot %d epoch (%d) > reqEpoch (%d)", node.name, j,
                        o.config_epoch, m.config_epoch)
            return
        c.last_vote_epoch = c.current_epoch
        master.voted_time = mstime()
        c.todo_save(fsync=True)
        if node.link is not None:  # clusterSendFailoverAuth
            node.link.send(c.bus.header(cb.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK))
        log.warning("Failover auth granted to %s for epoch %d", node.name, c.current_epoch)

    def auth_acked(self, sender: ClusterNode, m: cb.BusMessage) -> None:
        """A FAILOVER_AUTH_ACK: a vote, when from a master with slots for this election."""
        if sender.is_master and sender.numslots > 0 and m.current_epoch >= self.auth_epoch:
            self.auth_count += 1
            self.cluster.server.call_soon(self.handle)  # CLUSTER_TODO_HANDLE_FAILOVER

    def mfstart(self, sender: ClusterNode, link: Any) -> None:
        """MFSTART from one of this master's replicas: writers paused, and a ping at once
        with the PAUSED flag and the offset the replica has to reach."""
        c = self.cluster
        if sender.slaveof is not c.myself:
            return
        self.reset_manual()
        now = mstime()
        self.mf_end = now + CLUSTER_MF_TIMEOUT
        self.mf_replica = sender
        c.server.pause.pause(PAUSE_DURING_FAILOVER, now + CLUSTER_MF_TIMEOUT * CLUSTER_MF_PAUSE_MULT,
                             CLIENT_PAUSE_WRITE)
        log.warning("Manual failover requested by replica %s.", sender.name)
        c.bus.send_ping(link, cb.CLUSTERMSG_TYPE_PING)

    def master_paused(self, m: cb.BusMessage) -> None:
        """A ping from our master with the PAUSED flag during a manual failover: the offset
        to reach before the election."""
        if self.mf_end and self.mf_master_offset == -1:
            self.mf_master_offset = m.repl_offset
            self.cluster.server.call_soon(self.handle)

    # -- the replica's election ---------------------------------------------------------
    def _rank(self) -> int:
        """clusterGetSlaveRank: replicas of the same master with more data go first."""
        c = self.cluster
        me = c.myself
        mine = c.replica_offset()
        return sum(1 for r in me.slaveof.replicas if r is not me and not r.flags & cb.CLUSTER_NODE_NOFAILOVER
                   and r.repl_offset > mine)

    def _data_age(self) -> int:
        repl = self.cluster.server.replication
        link = repl.link
        now = time.time()
        if repl.repl_state == "connected" and link is not None:
            return int((now - link.last_interaction) * 1000)
        return int((now - repl.down_since) * 1000) if repl.down_since else 0

    def handle(self) -> None:
        """clusterHandleManualFailover + clusterHandleSlaveFailover (from the cron, and as
        soon as a vote arrives)."""
        c = self.cluster
        me = c.myself
        cfg = c.server.config
        if self.mf_end:
            if self.mf_end < mstime():  # manualFailoverCheckTimeout
                log.warning("Manual failover timed out.")
                self.reset_manual()
            elif not self.mf_can_start and self.mf_master_offset != -1 and \
                    self.mf_master_offset == c.replica_offset():
                self.mf_can_start = True
                log.warning("All master replication stream processed, manual failover can start.")
        manual = bool(self.mf_end and self.mf_can_start)
        master = me.slaveof
        if (me.is_master or master is None or (not master.flags & cb.CLUSTER_NODE_FAIL and not manual)
                or (cfg.cluster_replica_no_failover and not manual) or master.numslots == 0):
            return
        timeout = cfg.cluster_node_timeout
        auth_timeout = max(timeout * 2, 2000)
        auth_age = mstime() - self.auth_time
        data_age = self._data_age()
        if data_age > timeout:
            data_age -= timeout
        factor = cfg.cluster_replica_validity_factor
        if factor and data_age > cfg.repl_ping_replica_period * 1000 + timeout * factor and not manual:
            return
        if auth_age > auth_timeout * 2:  # a new election, after a delay
            self.auth_time = mstime() + 500 + random.randrange(500)
            self.auth_count = 0
            self.auth_sent = False
            self.auth_rank = self._rank()
            self.auth_time += self.auth_rank * 1000
            if self.mf_end:
                self.auth_time = mstime()
                self.auth_rank = 0
                c.server.call_soon(self.handle)
            log.warning("Start of election delayed for %d milliseconds (rank #%d, offset %d).",
                        self.auth_time - mstime(), self.auth_rank, c.replica_offset())
            c.bus.broadcast_pong(local_replicas=True)
            return
        if not self.auth_sent and not self.mf_end:
            rank = self._rank()
            if rank > self.auth_rank:
                self.auth_time += (rank - self.auth_rank) * 1000
                self.auth_rank = rank
        if mstime() < self.auth_time or auth_age > auth_timeout:
            return
        if not self.auth_sent:
            c.current_epoch += 1
            self.auth_epoch = c.current_epoch
            log.warning("Starting a failover election for epoch %d.", c.current_epoch)
            m = c.bus.header(cb.CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST)  # clusterRequestFailoverAuth
            if self.mf_end:
                m.mflags = bytes([cb.CLUSTERMSG_FLAG0_FORCEACK]) + m.mflags[1:]
            c.bus.broadcast(m)
            self.auth_sent = True
            c.todo_save(fsync=True)
            c.update_state()
            return
        if self.auth_count >= c.size // 2 + 1:
            log.warning("Failover election won: I'm the new master.")
            if me.config_epoch < self.auth_epoch:
                me.config_epoch = self.auth_epoch
                log.warning("configEpoch set to %d after successful failover", me.config_epoch)
            self.replace_master()

    # -- replica migration ------------------------------------------------------------------
    def migrate_if_needed(self) -> None:
        """clusterCron's orphaned-master check: a replica of the master with the most
        working replicas may move to a master left without any (clusterHandleSlaveMigration)."""
        c = self.cluster
        me = c.myself
        if not me.is_replica or not c.server.config.cluster_allow_replica_migration:
            return
        orphaned = max_replicas = mine = 0
        for n in c.nodes.values():
            if n.flags & (cb.CLUSTER_NODE_MYSELF | cb.CLUSTER_NODE_NOADDR | cb.CLUSTER_NODE_HANDSHAKE):
                continue
            if n.is_master and not n.flags & cb.CLUSTER_NODE_FAIL:
                ok = _working_replicas(n)
                if ok == 0 and n.numslots > 0 and n.flags & cb.CLUSTER_NODE_MIGRATE_TO:
                    orphaned += 1
                max_replicas = max(max_replicas, ok)
                if me.slaveof is n:
                    mine = ok
        if orphaned and max_replicas >= 2 and mine == max_replicas:
            self._migrate(max_replicas)

    def _migrate(self, max_replicas: int) -> None:
        """clusterHandleSlaveMigration: the replica with the smallest id among those of
        the best-served masters moves, once the orphan waited 5 s for its own replicas."""
        c = self.cluster
        me = c.myself
        master = me.slaveof
        if not c.ok or master is None:
            return
        if _working_replicas(master, cb.CLUSTER_NODE_FAIL | cb.CLUSTER_NODE_PFAIL) \
                <= c.server.config.cluster_migration_barrier:
            return
        candidate, target = me, None
        now = mstime()
        for n in c.nodes.values():
            ok = _working_replicas(n) if n.is_master else 0
            orphaned = (not n.is_replica and not n.flags & cb.CLUSTER_NODE_FAIL
                        and bool(n.flags & cb.CLUSTER_NODE_MIGRATE_TO) and ok == 0)
            if orphaned:
                if target is None and n.numslots > 0:
                    target = n
                if not n.orphaned_time:
                    n.orphaned_time = now
            else:
                n.orphaned_time = 0
            if ok == max_replicas:
                for r in n.replicas:
                    if r.name < candidate.name:
                        candidate = r
        if target is not None and candidate is me and now - target.orphaned_time > CLUSTER_SLAVE_MIGRATION_DELAY:
            log.warning("Migrating to orphaned master %s", target.name)
            c.set_master(target)

    def replace_master(self) -> None:
        """clusterFailoverReplaceYourMaster: this replica takes its master's slots."""
        c = self.cluster
        me = c.myself
        old = me.slaveof
        if me.is_master or old is None:
            return
        c.set_node_as_master(me)
        c.server.replication.unset_master()
        for j in range(len(c.owner)):
            if old.has_slot(j):
                c.del_slot(j)
                c.add_slot(me, j)
        c.update_state()
        c.save_config()
        c.bus.broadcast_pong()
        self.reset_manual()

    def start_manual(self, force: bool, takeover: bool) -> None:
        """CLUSTER FAILOVER (checks done by the command)."""
        c = self.cluster
        self.reset_manual()
        self.mf_end = mstime() + CLUSTER_MF_TIMEOUT
        if takeover:  # no votes: a new epoch of our own
            log.warning("Taking over the master (user request).")
            c.bump_epoch_without_consensus()
            self.replace_master()
        elif force:
            log.warning("Forced failover user request accepted.")
            self.mf_can_start = True
        else:
            log.warning("Manual failover user request accepted.")
            master = c.myself.slaveof
            if master is not None and master.link is not None:  # clusterSendMFStart
                master.link.send(c.bus.header(cb.CLUSTERMSG_TYPE_MFSTART))
