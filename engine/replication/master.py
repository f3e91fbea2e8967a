"""Replication state and the master's side (docs/formats.md §8; Redis 7.0 ``replication.c``).

:class:`Replication` (``server.replication``) holds what both roles share — the
replication id, the secondary id a promoted replica keeps (``replid2`` valid up to
``second_replid_offset``), ``master_repl_offset`` and the backlog — and serves
replicas:

* the stream: a propagation target (``replicationFeedSlaves``) encodes each unit as
  RESP with a ``SELECT`` whenever the db differs from the last one sent (forced
  after a full sync), feeds it to the backlog, and writes it to every online
  replica; replicas in the middle of a full sync accumulate it until their RDB is
  delivered. A replica does not feed its own commands: it proxies the bytes it
  applied from its master (``replicationFeedStreamFromMasterStream``, in
  :mod:`engine.replication.replica`), so chained replicas see the same stream.
* ``PSYNC``: ``+CONTINUE`` with the backlog when the id and offset allow
  (``masterTryPartialResynchronization``), else ``+FULLRESYNC <id> <offset>`` and an
  RDB made by a forked child: streamed from a pipe with the ``$EOF:<mark>`` framing
  (``repl-diskless-sync yes``, replicas with ``capa eof``; the stream then starts on
  the replica's first ``REPLCONF ACK``), or a BGSAVE of ``dir/dbfilename`` sent as
  ``$<len>``. Legacy ``SYNC`` gets the RDB with no ``+FULLRESYNC`` line.
* the cron (once a second): ``PING`` in the stream every ``repl-ping-replica-period``
  seconds, newlines to replicas waiting for their snapshot, replica timeouts, the
  backlog's time to live, the diskless-sync delay; ``WAIT`` asks for acks with an
  in-stream ``REPLCONF GETACK *`` once per event-loop pass.

The replica role (``REPLICAOF``, the link to a master) lives in
:mod:`engine.replication.replica`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from aof.replies import encode_command
from aof.writer import encode_select
from engine.execution.obuf import buffer_counts
from engine.replication.backlog import ZERO_ID, Backlog, new_replid
from engine.replication.failover import Failover
from engine.replication.replica_role import replica_cron, set_master, unset_master
from engine.replication.replicas import (
    NONE,
    ONLINE,
    WAIT_ACK,
    WAIT_END,
    WAIT_START,
    ReplicaInfo,
)
from engine.replication.transfer import SnapshotTransfer

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host
    from engine.propagate import Op

log = logging.getLogger(__name__)

PING = encode_command([b"ping"])
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])


NOREPLICAS_REPLY = b"-NOREPLICAS Not enough good replicas to write.\r\n"


class Replication(SnapshotTransfer):
    # read on every request by the C path (engine/_fastpath.c), by offset
    __slots__ = ("guard",)

    def __init__(self, server: Host) -> None:
        self.server = server
        self.replid = new_replid()
        self.replid2 = ZERO_ID
        self.second_replid_offset = -1
        self.master_repl_offset = 0
        self.backlog: Backlog | None = None
        self.seldb = -1  # db of the last SELECT in the stream (-1: send one next)
        self.replicas: list[Client] = []
        self.no_replicas_since = time.time()
        self.sync_full = self.sync_partial_ok = self.sync_partial_err = 0
        # the child making an RDB for replicas
        self.child_pid = 0  # diskless child (socket target)
        self.disk_pid = 0  # the BGSAVE whose file goes to replicas
        self.transfer: list[Client] = []
        self._pipe = -1
        self._pipe_paused = False
        # WAIT
        self.waiters: list[tuple[Client, int, int]] = []
        self._getack_pending = False
        # replica role (engine.replication.replica)
        self.masterhost: str | None = None
        self.masterport = 0
        self.link: Any = None  # the MasterLink while connected or connecting
        self.repl_state = "none"  # none connect connecting handshake transfer connected
        # the cached master: (replid, processed offset, the stream's selected db) to PSYNC with
        self.cached: tuple[str, int, int] | None = None
        self.down_since = 0.0
        self.guard = False  # dispatch asks reject() before running commands
        self._last_ping = time.time()
        self._last_cron = 0.0
        self.failover = Failover(self)  # FAILOVER's state (engine.replication.failover)

    # -- ids and backlog ---------------------------------------------------------------------------
    def shift_replid(self) -> None:
        """Promotion: the current history stays valid as replid2 up to the current offset."""
        self.replid2 = self.replid
        self.second_replid_offset = self.master_repl_offset + 1
        self.replid = new_replid()

    def clear_replid2(self) -> None:
        self.replid2 = ZERO_ID
        self.second_replid_offset = -1

    def create_backlog(self) -> None:
        self.backlog = Backlog(self.server.config.repl_backlog_size, self.master_repl_offset)
        self.update_target()

    def free_backlog(self) -> None:
        self.backlog = None
        self.update_target()

    def buffer_mem(self) -> int:
        """``server.repl_buffer_mem``: what the shared replication buffer holds — the
        backlog's history, or more while a replica has older parts of the stream unsent."""
        n = self.backlog.histlen if self.backlog is not None else 0
        for c in self.replicas:
            if c.closing:  # freed with its output (freeClient), whatever the transport still holds
                continue
            unsent = buffer_counts(c)[2]
            if unsent > n:
                n = unsent
        return n

    def feeding(self) -> bool:
        """shouldPropagate(PROPAGATE_REPL): a top-level master with a backlog."""
        return self.backlog is not None and self.masterhost is None

    def update_target(self) -> None:
        """Feed the stream only as a top-level master with a backlog (else nothing listens)."""
        targets = self.server.propagator.targets
        want = self.feeding()
        if want and self.feed not in targets:
            targets.append(self.feed)
        elif not want and self.feed in targets:
            targets.remove(self.feed)

    # -- replication info in RDB files (rdbPopulateSaveInfo / loadDataFromDisk) --------------------
    def save_info(self) -> list[tuple[bytes, bytes]] | None:
        """rdbPopulateSaveInfo: the aux fields an RDB saved now carries, or None when there is no
        history worth keeping (a master without a backlog, a replica never synced)."""
        if self.masterhost is None and self.backlog is not None:
            db = 0 if self.seldb == -1 else self.seldb  # the next write sends SELECT anyway
        elif self.link is not None and self.link.synced:
            db = self.link.db.id
        elif self.cached is not None:
            db = self.cached[2]
        else:
            return None
        return [(b"repl-stream-db", b"%d" % db), (b"repl-id", self.replid.encode()),
                (b"repl-offset", b"%d" % self.master_repl_offset)]

    def i_am_master(self) -> bool:
        """iAmMaster at start: replicaof in the config, or in cluster mode the node's own
        role (nodes.conf is loaded before the data)."""
        cluster = self.server.cluster
        return cluster.myself.is_master if cluster is not None else not self.server.config.replicaof

    def restore_info(self, aux: dict[bytes, bytes], expired: list[tuple[int, bytes]]) -> bool:
        """loadDataFromDisk after an RDB load: with valid replication info a replica caches
        itself as its master (replicationCacheMasterUsingMyself), so its first PSYNC can
        continue; a master keeps the old history as ``replid2`` and starts a backlog at its
        offset, holding the DELs of the keys that expired in the file, so its replicas can
        continue. Returns whether the info was valid."""
        rid = aux.get(b"repl-id", b"")
        try:
            offset = int(aux[b"repl-offset"])
            db = int(aux[b"repl-stream-db"])
        except (KeyError, ValueError):
            return False
        if len(rid) != 40 or offset == -1 or db == -1:
            return False
        replid = rid.decode("latin-1")
        if not self.i_am_master():
            self.replid = replid
            self.master_repl_offset = offset
            self.cached = (replid, offset, db)
            log.info("Before turning into a replica, using my own master parameters to synthesize "
                     "a cached master: I may be able to synchronize with the new master with just "
                     "a partial transfer.")
            return True
        self.replid2 = replid
        self.second_replid_offset = offset + 1
        self.master_repl_offset = offset
        self.create_backlog()
        self.seldb = -1
        if expired:
            name = b"UNLINK" if self.server.config.lazyfree_lazy_expire else b"DEL"
            self.feed([(d, [name, key]) for d, key in expired])
        self.no_replicas_since = time.time()
        return True

    # -- the stream --------------------------------------------------------------------------------
    def feed(self, ops: list[Op]) -> None:
        """The propagation target: one unit of ops as RESP, SELECT when the db changes."""
        if self.backlog is None or self.masterhost is not None:
            return
        parts = []
        seldb = self.seldb
        for db, argv in ops:
            if db != seldb:
                parts.append(encode_select(db))
                seldb = db
            parts.append(encode_command(argv))
        self.seldb = seldb
        self.feed_stream(b"".join(parts))

    def feed_stream(self, data: bytes) -> None:
        backlog = self.backlog
        if backlog is None:
            return
        backlog.feed(data)
        self.master_repl_offset = backlog.offset
        for c in self.replicas:
            c.repl.stream(data)

    def request_acks(self) -> None:
        """``REPLCONF GETACK *`` in the stream, at most once per event-loop pass."""
        if self._getack_pending:
            return
        self._getack_pending = True
        loop = self.server.loop
        if loop is not None:
            loop.call_soon(self._send_getack)
        else:
            self._send_getack()

    def _send_getack(self) -> None:
        srv = self.server
        if srv.pause.paused() and srv.loop is not None:  # beforeSleep: not while clients are
            srv.loop.call_later(1.0 / srv.config.hz, self._send_getack)  # paused (grows the stream)
            return
        self._getack_pending = False
        if self.masterhost is None and self.backlog is not None and self.replicas:
            self.feed_stream(GETACK)

    # -- PSYNC / SYNC ------------------------------------------------------------------------------
    def info_of(self, c: Client) -> ReplicaInfo:
        info = c.repl
        if info is None:
            info = c.repl = ReplicaInfo(c)
        return info

    def try_partial(self, c: Client, replid: str, offset: int) -> bool:
        """masterTryPartialResynchronization: +CONTINUE and the backlog from ``offset``."""
        if replid != self.replid and (replid != self.replid2 or offset > self.second_replid_offset):
            if replid != "?":
                if replid != self.replid and replid != self.replid2:
                    log.info("Partial resynchronization not accepted: Replication ID mismatch "
                             "(Replica asked for '%s', my replication IDs are '%s' and '%s')",
                             replid, self.replid, self.replid2)
                else:
                    log.info("Partial resynchronization not accepted: Requested offset for second ID "
                             "was %d, but I can reply up to %d", offset, self.second_replid_offset)
            return False
        backlog = self.backlog
        if backlog is None or not backlog.covers(offset):
            log.info("Unable to partial resync with replica %s for lack of backlog "
                     "(Replica request was: %d).", c.addr, offset)
            return False
        info = self.info_of(c)
        info.state = ONLINE
        info.ack_time = time.time()
        if c not in self.replicas:
            self.replicas.append(c)
        head = b"+CONTINUE %s\r\n" % self.replid.encode() if info.capa_psync2 else b"+CONTINUE\r\n"
        info.send(head + backlog.read_from(offset))
        self.sync_partial_ok += 1
        log.info("Partial resynchronization request from %s accepted. Sending %d bytes of backlog "
                 "starting from offset %d.", c.addr, self.master_repl_offset - offset + 1, offset)
        self.update_guard()
        return True

    def full_sync(self, c: Client, legacy: bool) -> None:
        """The replica waits for the next snapshot (started now or by the cron)."""
        info = self.info_of(c)
        info.legacy = legacy
        info.state = WAIT_START
        info.since = time.time()
        self.sync_full += 1
        if c not in self.replicas:
            self.replicas.append(c)
        if self.backlog is None:
            # a backlog created from scratch starts a new history (createReplicationBacklog)
            self.replid = new_replid()
            self.clear_replid2()
            self.create_backlog()
            log.info("Replication backlog created, my new replication IDs are '%s' and '%s'",
                     self.replid, self.replid2)
        cfg = self.server.config
        if not (cfg.repl_diskless_sync and info.capa_eof and cfg.repl_diskless_sync_delay > 0):
            self.start_pending_sync()
        self.update_guard()

    # -- replicas come and go ---------------------------------------------------------------------
    def replica_gone(self, c: Client) -> None:
        if c in self.replicas:
            self.replicas.remove(c)
            log.info("Connection with replica %s lost.", c.addr)
            if not self.replicas:
                self.no_replicas_since = time.time()
            self.update_guard()

    def disconnect_replicas(self) -> None:
        for c in list(self.replicas):
            c.close()

    def ack(self, c: Client, offset: int) -> None:
        info = c.repl
        if info is None or info.state == NONE:
            return
        if offset > info.ack_off:
            info.ack_off = offset
        info.ack_time = time.time()
        if info.state == WAIT_ACK:
            info.go_online()
        if self.waiters:
            self.check_waiters()
        self.failover.schedule_update()

    def acked(self, offset: int) -> int:
        return sum(1 for c in self.replicas if c.repl.state in (ONLINE, WAIT_ACK) and c.repl.ack_off >= offset)

    def check_waiters(self) -> None:
        from aof.replies import integer

        keep = []
        for c, want, offset in self.waiters:
            st = c.blocked
            if st is None or c.closing or st.cmd_name != "wait":
                continue
            n = self.acked(offset)
            if n >= want:
                self.server.blocking.unblock_with(c, integer(n))
            else:
                st.timeout_reply = integer(n)
                keep.append((c, want, offset))
        self.waiters = keep

    def good_replicas(self) -> int:
        lag = self.server.config.min_replicas_max_lag
        now = time.time()
        return sum(1 for c in self.replicas if c.repl.state == ONLINE and now - c.repl.ack_time <= lag)

    # -- command guards ----------------------------------------------------------------------------
    def update_guard(self) -> None:
        cfg = self.server.config
        replica = self.masterhost is not None
        self.server.keyspace.replica_ro = replica and cfg.replica_read_only
        self.guard = (replica and (cfg.replica_read_only or not cfg.replica_serve_stale_data)) or (
            not replica and cfg.min_replicas_to_write > 0 and cfg.min_replicas_max_lag > 0)

    def enough_good_replicas(self) -> bool:
        """checkGoodReplicasStatus: a master with ``min-replicas-to-write`` set has that many
        replicas acknowledging within ``min-replicas-max-lag``."""
        cfg = self.server.config
        return (self.masterhost is not None or not cfg.min_replicas_to_write
                or not cfg.min_replicas_max_lag or self.good_replicas() >= cfg.min_replicas_to_write)

    def reject(self, c: Client, cmd: Any, argv: list[bytes]) -> bytes | None:
        """processCommand's replication checks: NOREPLICAS, READONLY, MASTERDOWN (or None).
        A write is what getCommandFlags says: a script's declared flags count (a shebang
        script without ``no-writes`` is a write), and EXEC is a write when it queued one."""
        if c is self.link:
            return None  # the master's stream is obeyed
        srv = self.server
        if cmd.name == "exec" and c.multi:
            write = any("write" in q.flags_for(srv, qargv) for q, qargv in c.multi)
        else:
            write = "write" in cmd.flags_for(srv, argv)
        cfg = srv.config
        if self.masterhost is None:
            if write and not self.enough_good_replicas():
                return NOREPLICAS_REPLY
            return None
        if write and cfg.replica_read_only:
            return b"-READONLY You can't write against a read only replica.\r\n"
        if not cfg.replica_serve_stale_data and self.repl_state != "connected":
            stale = "stale" in cmd.flags
            if cmd.name == "exec" and c.multi:
                stale = all("stale" in q.flags for q, _ in c.multi)
            if not stale:
                return (b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
                        b"is set to 'no'.\r\n")
        return None

    # -- cron --------------------------------------------------------------------------------------
    def cron(self) -> None:
        """Every server cron tick; the replicationCron work runs once a second (ten times
        while failing over)."""
        now = time.time()
        if self.disk_pid and self.server.rdb.child_pid != self.disk_pid:
            self._disk_done()
        self.failover.update()  # updateFailoverStatus: also from beforeSleep in Redis
        # replicationCron: once a second, every 100 ms while failing over (the handshake
        # with the target goes faster)
        if now - self._last_cron < (1.0 if self.failover.state == "no-failover" else 0.1):
            return
        self._last_cron = now
        cfg = self.server.config
        if self.masterhost is not None:
            replica_cron(self, now)
        elif self.replicas and now - self._last_ping >= cfg.repl_ping_replica_period:
            self._last_ping = now
            # not while a FAILOVER with a TIMEOUT holds writes: the target's offset must match
            if not (self.failover.end_ms and self.server.pause.paused()):
                self.feed_stream(PING)
        for c in list(self.replicas):
            info = c.repl
            if info.state == WAIT_START or (info.state == WAIT_END and not info.diskless):
                info.send(b"\n")  # keep the link alive while the snapshot is prepared
            elif info.state == ONLINE and not info.legacy and not info.rdb_only \
                    and now - info.ack_time > cfg.repl_timeout:
                log.warning("Disconnecting timedout replica (streaming sync): %s", c.addr)
                c.close()
        waiting = [c.repl.since for c in self.replicas if c.repl.state == WAIT_START]
        if waiting and (not cfg.repl_diskless_sync or now - min(waiting) >= cfg.repl_diskless_sync_delay):
            self.start_pending_sync()
        if (self.backlog is not None and self.masterhost is None and not self.replicas
                and cfg.repl_backlog_ttl and now - self.no_replicas_since > cfg.repl_backlog_ttl):
            # a new history begins: replicas that come back must sync in full
            self.replid = new_replid()
            self.clear_replid2()
            self.free_backlog()
            log.info("Replication backlog freed after %d seconds without connected replicas.",
                     cfg.repl_backlog_ttl)
        if self.waiters:
            self.check_waiters()

    def start(self) -> None:
        """At start: ``replicaof <host> <port>`` from the configuration."""
        self.update_guard()
        target = self.server.config.replicaof
        if target:
            host, port = target.rsplit(" ", 1)
            self.set_master(host, int(port))

    def set_master(self, host: str, port: int) -> None:
        """REPLICAOF <host> <port> (replicationSetMaster; engine.replication.replica)."""
        set_master(self, host, port)
        self.server.update_oom()

    def unset_master(self) -> None:
        """REPLICAOF NO ONE (replicationUnsetMaster)."""
        unset_master(self)
        self.server.update_oom()

    def is_replica(self, c: Client) -> bool:
        """``c`` asked this master for a sync already (SYNC/PSYNC are answered once)."""
        return c.repl is not None and c.repl.state != NONE

    def config_changed(self, names: list[str]) -> None:
        if "repl-backlog-size" in names and self.backlog is not None:
            self.backlog.resize(self.server.config.repl_backlog_size)
        self.update_guard()

    def shutdown(self) -> None:
        self.kill_child()
        if self.link is not None:
            self.link.close()
