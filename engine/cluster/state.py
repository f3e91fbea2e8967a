"""``server.cluster``: this node's view of the cluster (cluster.c's clusterState).

The nodes by id, the owner of each of the 16,384 slots, the slots being migrated or
imported, the epochs, the cluster's state (ok/fail), and ``nodes.conf``. The bus
(:mod:`engine.cluster.bus`, :mod:`engine.cluster.gossip`) changes this state as
messages arrive; commands (CLUSTER …, the dispatcher's redirections) read and change
it through the methods here.

``nodes.conf`` is written with the project's one atomic writer (a temporary file
renamed over the old one, then the directory synced) where Redis rewrites the file in
place; it is written at most once per event-loop pass (clusterBeforeSleep's
CLUSTER_TODO_SAVE_CONFIG), and at once where Redis saves at once (a new node, SET-CONFIG-EPOCH's
collision fix, SAVECONFIG).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from typing import Any

from aof.clusterbus import (
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_HANDSHAKE,
    CLUSTER_NODE_MASTER,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_MYSELF,
    CLUSTER_NODE_PFAIL,
    CLUSTER_NODE_SLAVE,
)
from aof.slots import SLOTS, key_hash_slot
from engine.cluster import routing
from engine.cluster.node import (
    CLUSTER_NODE_MEET,
    ClusterNode,
    ConfigFileError,
    all_slot_ranges,
    describe,
    mstime,
    parse_config,
    random_name,
)
from engine.cluster.slotkeys import SlotKeys
from engine.errors import EngineError
from rdbtools.io import write_atomically

log = logging.getLogger(__name__)

CLUSTER_WRITABLE_DELAY = 2000
CLUSTER_MIN_REJOIN_DELAY = 500
CLUSTER_MAX_REJOIN_DELAY = 5000
CLUSTER_BLACKLIST_TTL = 60


class Cluster:
    def __init__(self, server: Any) -> None:
        from engine.cluster.bus import Bus
        from engine.cluster.failover import Failover

        self.server = server
        cfg = server.config
        self.nodes: dict[str, ClusterNode] = {}
        self.owner: list[ClusterNode | None] = [None] * SLOTS
        self.migrating: dict[int, ClusterNode] = {}
        self.importing: dict[int, ClusterNode] = {}
        self.not_claiming = bytearray(SLOTS // 8)  # owner_not_claiming_slot
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.ok = False  # CLUSTER_FAIL until clusterUpdateState says otherwise
        self.size = 1
        self.blacklist: dict[str, float] = {}
        self.stats_sent = [0] * 11
        self.stats_received = [0] * 11
        self.links_buffer_limit_exceeded = 0
        self._first_update = 0
        self._minority_time = 0
        self._save_pending = False
        self._fsync_pending = False
        self._ranges: dict[int, list[tuple[int, int]]] | None = None
        self.slot_keys = SlotKeys(server)
        self.path = os.path.join(cfg.dir, cfg.cluster_config_file)
        if not cfg.cluster_port and cfg.port > 65535 - 10000:
            raise EngineError("Redis port number too high. Cluster communication port is 10,000 port numbers "
                              "higher than your Redis port. Your Redis port number must be 55535 or less.")
        self.cport = cfg.cluster_port or cfg.port + 10000
        self.myself: ClusterNode = self._load() or self._create()
        self._announce_ports()
        self.myself.hostname = cfg.cluster_announce_hostname
        self._announced_ip = cfg.cluster_announce_ip
        if cfg.cluster_announce_ip:
            self.myself.ip = cfg.cluster_announce_ip
        self.bus = Bus(self)
        self.failover = Failover(self)

    def _announce_ports(self) -> None:
        """deriveAnnouncedPorts: the ports this node gossips."""
        cfg = self.server.config
        self.myself.port = cfg.cluster_announce_port or cfg.port
        self.myself.cport = cfg.cluster_announce_bus_port or self.cport

    def config_changed(self, names: list[str]) -> None:
        """CONFIG SET of an announced address (clusterUpdateMyselfAnnouncedPorts,
        clusterUpdateMyselfIp): the next pings carry it."""
        if {"cluster-announce-port", "cluster-announce-tls-port", "cluster-announce-bus-port"} & set(names):
            self._announce_ports()
        self.failover.update_myself_flags()
        ip = self.server.config.cluster_announce_ip
        if "cluster-announce-ip" in names and ip != self._announced_ip:
            self._announced_ip = ip
            self.myself.ip = ip  # empty: found again from the next MEET or PING

    # -- nodes.conf -----------------------------------------------------------
    def _create(self) -> ClusterNode:
        me = ClusterNode(random_name(), CLUSTER_NODE_MYSELF | CLUSTER_NODE_MASTER)
        log.info("No cluster configuration found, I'm %s", me.name)
        self.nodes[me.name] = me
        self.save_config()
        return me

    def _load(self) -> ClusterNode | None:
        """clusterLoadConfig: None when there is no file (or an empty one)."""
        try:
            with open(self.path, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise EngineError(f"Loading the cluster node config from {self.path}: {exc.strerror}") from None
        if not text:
            return None
        try:
            lines, vars_ = parse_config(text)
        except ConfigFileError as exc:
            raise EngineError(f"Unrecoverable error: corrupted cluster config file {self.path}: {exc}") from None
        me = None
        for ln in lines:
            n = self.node_or_create(ln.name)
            n.ip, n.port, n.cport, n.hostname, n.flags = ln.ip, ln.port, ln.cport, ln.hostname, ln.flags
            if ln.flags & CLUSTER_NODE_MYSELF:
                me = n
            if ln.flags & CLUSTER_NODE_FAIL:
                n.fail_time = mstime()
            if ln.master is not None:
                m = self.node_or_create(ln.master)
                n.slaveof = m
                m.add_replica(n)
            n.ping_sent = mstime() if ln.ping_sent else 0
            n.pong_received = mstime() if ln.pong_received else 0
            n.config_epoch = 0 if n.is_replica and n.slaveof else ln.config_epoch
            for start, stop in ln.slots:
                for s in range(start, stop + 1):
                    self.add_slot(n, s)
            for slot, target in ln.migrating.items():
                self.migrating[slot] = self.node_or_create(target)
            for slot, target in ln.importing.items():
                self.importing[slot] = self.node_or_create(target)
        self.current_epoch = vars_.get("currentepoch", 0)
        self.last_vote_epoch = vars_.get("lastvoteepoch", 0)
        self.current_epoch = max(self.current_epoch, max(n.config_epoch for n in self.nodes.values()))
        assert me is not None
        log.info("Node configuration loaded, I'm %s", me.name)
        return me

    def nodes_text(self, filter_flags: int = 0) -> str:
        """clusterGenNodesDescription."""
        ranges = self.all_ranges()
        return "".join(describe(n, ranges.get(id(n), []), self.migrating, self.importing) + "\n"
                       for n in self.nodes.values() if not n.flags & filter_flags)

    def all_ranges(self) -> dict[int, list[tuple[int, int]]]:
        if self._ranges is None:
            self._ranges = all_slot_ranges(self.owner)
        return self._ranges

    def describe(self, n: ClusterNode) -> str:
        return describe(n, self.slot_ranges(n), self.migrating, self.importing)

    def slot_ranges(self, n: ClusterNode) -> list[tuple[int, int]]:
        return self.all_ranges().get(id(n), [])

    def save_config(self, fsync: bool = True) -> None:
        """clusterSaveConfig (the caller reports a failure)."""
        self._save_pending = self._fsync_pending = False
        text = self.nodes_text(CLUSTER_NODE_HANDSHAKE)
        text += f"vars currentEpoch {self.current_epoch} lastVoteEpoch {self.last_vote_epoch}\n"
        write_atomically(self.path, text.encode("utf-8", "surrogateescape"), fsync=fsync)

    def todo_save(self, fsync: bool = False) -> None:
        """CLUSTER_TODO_SAVE_CONFIG (and, with ``fsync``, CLUSTER_TODO_FSYNC_CONFIG): saved
        once, after the current event-loop pass."""
        self._fsync_pending |= fsync
        if not self._save_pending:
            self._save_pending = True
            self.server.call_soon(self._save_soon)

    def _save_soon(self) -> None:
        if self._save_pending:
            try:
                self.save_config(self._fsync_pending)
            except OSError as exc:  # clusterSaveConfigOrDie
                log.critical("Fatal: can't update cluster config file: %s", exc)
                os._exit(1)

    # -- nodes and slots --------------------------------------------------------
    def node_or_create(self, name: str) -> ClusterNode:
        n = self.nodes.get(name)
        if n is None:
            n = self.nodes[name] = ClusterNode(name)
        return n

    def lookup(self, name: bytes | str) -> ClusterNode | None:
        """clusterLookupNode (the id as given, so a wrong-case id is unknown)."""
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return self.nodes.get(name)

    def add_slot(self, n: ClusterNode, slot: int) -> bool:
        """clusterAddSlot."""
        if self.owner[slot] is not None:
            return False
        n.set_slot(slot, True)
        self.owner[slot] = n
        self._ranges = None
        return True

    def del_slot(self, slot: int) -> bool:
        """clusterDelSlot."""
        n = self.owner[slot]
        if n is None:
            return False
        if self.server.pubsub.shard and (n is self.myself or n is self.myself.slaveof):  # served here
            self.server.pubsub.remove_shard_channels_in_slot(slot)
        n.set_slot(slot, False)
        self.owner[slot] = None
        self._ranges = None
        self.not_claiming[slot >> 3] &= ~(1 << (slot & 7))
        return True

    def del_node_slots(self, n: ClusterNode) -> None:
        for slot in range(SLOTS):
            if self.owner[slot] is n:
                self.del_slot(slot)

    def del_node(self, n: ClusterNode) -> None:
        """clusterDelNode: its slots' open states, its failure reports, its links."""
        for table in (self.migrating, self.importing):
            for slot in [s for s, t in table.items() if t is n]:
                del table[slot]
        for other in self.nodes.values():
            other.fail_reports.pop(n.name, None)
        self.del_node_slots(n)
        if n.slaveof is not None:
            n.slaveof.remove_replica(n)
        for r in n.replicas:
            r.slaveof = None
        self.bus.drop_links(n)
        self.nodes.pop(n.name, None)

    def rename_node(self, n: ClusterNode, name: str) -> None:
        """clusterRenameNode: the handshake node gets the id its PONG announces."""
        self.nodes.pop(n.name, None)
        n.name = name
        self.nodes[name] = n

    def set_node_as_master(self, n: ClusterNode) -> None:
        """clusterSetNodeAsMaster."""
        if n.is_master:
            return
        if n.slaveof is not None:
            n.slaveof.remove_replica(n)
            if n is not self.myself:
                n.flags |= CLUSTER_NODE_MIGRATE_TO
        n.flags = (n.flags & ~CLUSTER_NODE_SLAVE) | CLUSTER_NODE_MASTER
        n.slaveof = None
        self.todo_save()

    def set_master(self, n: ClusterNode) -> None:
        """clusterSetMaster: this node (without slots) becomes a replica of ``n``, through
        the server's own replication (replicationSetMaster)."""
        me = self.myself
        if me.is_master:
            me.flags = (me.flags & ~(CLUSTER_NODE_MASTER | CLUSTER_NODE_MIGRATE_TO)) | CLUSTER_NODE_SLAVE
            self.migrating.clear()  # clusterCloseAllSlots
            self.importing.clear()
        elif me.slaveof is not None:
            me.slaveof.remove_replica(me)
        me.slaveof = n
        n.add_replica(me)
        self.server.replication.set_master(n.ip, n.port)
        self.failover.reset_manual()

    def replica_offset(self) -> int:
        """replicationGetSlaveOffset: what a replica has applied (0 before its first sync)."""
        repl = self.server.replication
        if repl.masterhost is None:
            return 0
        link = repl.link
        if link is not None and link.synced:
            return int(link.reploff)
        return int(repl.cached[1]) if repl.cached is not None else 0

    def offset_of(self, n: ClusterNode) -> int:
        """A node's replication offset as gossiped; this node's own from its replication
        (nodes do not update their own entry)."""
        if n is not self.myself:
            return n.repl_offset
        return self.replica_offset() if n.is_replica else int(self.server.replication.master_repl_offset)

    def blacklist_add(self, n: ClusterNode) -> None:
        self.blacklist[n.name] = time.time() + CLUSTER_BLACKLIST_TTL

    def blacklisted(self, name: str) -> bool:
        now = time.time()
        for k in [k for k, t in self.blacklist.items() if t < now]:
            del self.blacklist[k]
        return name in self.blacklist

    # -- epochs -----------------------------------------------------------------
    def max_epoch(self) -> int:
        return max([self.current_epoch, *(n.config_epoch for n in self.nodes.values())])

    def bump_epoch_without_consensus(self) -> bool:
        """clusterBumpConfigEpochWithoutConsensus: True when the epoch moved."""
        top = self.max_epoch()
        me = self.myself
        if me.config_epoch == 0 or me.config_epoch != top:
            self.current_epoch += 1
            me.config_epoch = self.current_epoch
            self.todo_save(fsync=True)
            log.warning("New configEpoch set to %d", me.config_epoch)
            return True
        return False

    def handle_epoch_collision(self, sender: ClusterNode) -> None:
        """clusterHandleConfigEpochCollision: the node with the smaller id takes a new epoch."""
        me = self.myself
        if sender.config_epoch != me.config_epoch or not sender.is_master or not me.is_master:
            return
        if sender.name <= me.name:
            return
        self.current_epoch += 1
        me.config_epoch = self.current_epoch
        self.save_config()
        log.info("WARNING: configEpoch collision with node %s. configEpoch set to %d", sender.name,
                 me.config_epoch)

    # -- state ------------------------------------------------------------------
    def update_state(self) -> None:
        """clusterUpdateState."""
        now = mstime()
        if self._first_update == 0:
            self._first_update = now
        me = self.myself
        if me.is_master and not self.ok and now - self._first_update < CLUSTER_WRITABLE_DELAY:
            return
        new_ok = True
        if self.server.config.cluster_require_full_coverage and (None in self.owner or any(
                n.flags & CLUSTER_NODE_FAIL and n.numslots for n in self.nodes.values())):
            new_ok = False
        size = reachable = 0
        for n in self.nodes.values():
            if n.is_master and n.numslots:
                size += 1
                if not n.flags & (CLUSTER_NODE_FAIL | CLUSTER_NODE_PFAIL):
                    reachable += 1
        self.size = size
        if reachable < size // 2 + 1:
            new_ok = False
            self._minority_time = now
        if new_ok != self.ok:
            delay = min(max(self.server.config.cluster_node_timeout, CLUSTER_MIN_REJOIN_DELAY),
                        CLUSTER_MAX_REJOIN_DELAY)
            if new_ok and me.is_master and now - self._minority_time < delay:
                return
            log.warning("Cluster state changed: %s", "ok" if new_ok else "fail")
            self.ok = new_ok

    def reset(self, hard: bool) -> None:
        """clusterReset: a replica turns master again with an empty dataset."""
        me = self.myself
        self.failover.reset_manual()
        if me.is_replica:
            self.set_node_as_master(me)
            self.server.replication.unset_master()
            for db in self.server.keyspace.dbs:  # emptyData
                self.server.signal_all(db)
                db.clear()
        self.migrating.clear()
        self.importing.clear()
        for slot in range(SLOTS):
            self.del_slot(slot)
        for n in list(self.nodes.values()):
            if n is not self.myself:
                self.del_node(n)
        if hard:
            me = self.myself
            self.current_epoch = self.last_vote_epoch = 0
            me.config_epoch = 0
            log.warning("configEpoch set to 0 via CLUSTER RESET HARD")
            self.nodes.pop(me.name, None)
            me.name = random_name()
            self.nodes[me.name] = me
            log.info("Node hard reset, now I'm %s", me.name)
        self.todo_save(fsync=True)
        self.update_state()

    def changed(self) -> None:
        """clusterDoBeforeSleep(CLUSTER_TODO_UPDATE_STATE|CLUSTER_TODO_SAVE_CONFIG)."""
        self.todo_save()
        self.update_state()

    def redirect(self, c: Any, cmd: Any, argv: list[bytes]) -> bytes | None:
        """getNodeByQuery + clusterRedirectClient: the error reply, None to serve here."""
        return routing.redirect(self, c, cmd, argv)

    def start_handshake(self, ip: str, port: int, cport: int) -> bool:
        """clusterStartHandshake: False for an address Redis calls invalid (EINVAL); a
        handshake already under way with that address is not started twice."""
        try:
            norm = ipaddress.ip_address(ip).compressed
        except ValueError:
            return False
        if not (0 < port <= 65535 and 0 < cport <= 65535):
            return False
        for n in self.nodes.values():
            if n.in_handshake and n.ip.lower() == norm.lower() and n.port == port and n.cport == cport:
                return True
        n = ClusterNode(random_name(), CLUSTER_NODE_HANDSHAKE | CLUSTER_NODE_MEET, ip=norm, port=port,
                        cport=cport)
        self.nodes[n.name] = n
        return True

    def redirect_blocked(self) -> None:
        """clusterRedirectBlockedClientIfNeeded, for every client blocked on keys: the
        cluster went down, or the keys' slot is now served elsewhere (and not being
        imported here), so the write that would wake it cannot come here."""
        for c in [c for c in self.server.clients.values() if c.blocked is not None and c.blocked.keys]:
            reply = None
            if not self.ok:
                reply = routing.DOWN_STATE
            else:
                slot = key_hash_slot(c.blocked.keys[0])
                n = self.owner[slot]
                if n is not self.myself and slot not in self.importing:
                    reply = routing.DOWN_UNBOUND if n is None else routing.moved(slot, n, self.server.config)
            if reply is not None:
                self.server.blocking.unblock_with(c, reply)

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        await self.bus.listen(self.server.config.bind, self.cport)

    def cron(self) -> None:
        self.bus.cron()
        me = self.myself
        if (me.is_replica and self.server.replication.masterhost is None and me.slaveof is not None
                and me.slaveof.ip):  # clusterCron: a replica (say after a restart) replicates its master
            self.server.replication.set_master(me.slaveof.ip, me.slaveof.port)
        if me.is_replica or self.failover.mf_end:
            self.failover.handle()
        self.failover.migrate_if_needed()
        if self.server.blocking.blocked_count:
            self.redirect_blocked()

    def close(self) -> None:
        self.bus.close()
        if self._save_pending:
            self._save_soon()
