"""The replica role: ``REPLICAOF``, the link to a master, applying its stream.

:class:`MasterLink` is the connection to the master and, once synced, the
*master client* (``CLIENT LIST`` flag ``M``): a :class:`~engine.execution.client.Client`
whose replies are never sent. Bytes from the master go through the sans-IO
:class:`~aof.replstream.MasterStream`:

* full sync: the payload's records are materialized into fresh dicts while the old
  dataset keeps being served; when the RDB trailer checks out they are swapped in
  (WATCHers of every db are invalidated), the master's id and offset adopted,
  ``replid2`` cleared, a new backlog started, sub-replicas disconnected;
* partial resync (``+CONTINUE [<id>]``): the cached offset goes on; a new id moves
  ours to ``replid2``;
* the stream: each command runs through the real dispatcher as the master client,
  with the keyspace's expiry held (``Keyspace.expiry_held``) so nothing expires under
  it (as ``expireIfNeeded`` for the master); the offset advances by the bytes of each
  processed command — not inside ``MULTI``, so a link lost mid-transaction resumes
  before it. A client pause postpones the stream as it does any client: what arrives
  meanwhile is read (``slave_read_repl_offset``) but applied only when the pause ends. The applied bytes are fed to this server's backlog and sub-replicas
  (``replicationFeedStreamFromMasterStream``), so chains see the master's stream.

``REPLCONF ACK <offset>`` goes back every second and on ``REPLCONF GETACK``. A lost
link caches ``(replid, offset)`` and the cron reconnects with ``PSYNC <replid>
<offset+1>`` (:mod:`engine.replication.replica_role`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aof.handshake import FullSync, ReplicationError
from aof.replies import encode_command
from aof.replstream import Continue, FullResync, Loaded, MasterStream
from aof.resp import RespLimits
from engine.errors import LoadError
from engine.execution.client import Client
from engine.execution.dispatch import execute
from engine.materialize import UnsupportedValue
from engine.persistence.aof_rewrite import start_appendonly, stop_appendonly
from engine.persistence.aof_state import AOF_OFF
from engine.persistence.dataset import DatasetLoader
from engine.replication.backlog import new_replid
from engine.types import HashValue
from rdbtools.model import FunctionLibrary, FunctionPreGA, Record

if TYPE_CHECKING:
    from engine.execution.host import Host
    from engine.replication.master import Replication

log = logging.getLogger(__name__)

class MasterLink(Client):
    kind = "master"
    flag = "M"

    def __init__(self, server: Host, repl: Replication) -> None:
        super().__init__(server)
        cfg = server.config
        self.replication = repl
        self.repl = self
        self.authenticated = True
        self.user = None  # the master may run anything
        port = cfg.replica_announce_port or (server.bound_ports[0] if server.bound_ports else cfg.port)
        cached = repl.cached
        sync = FullSync(password=cfg.masterauth.encode() if cfg.masterauth else None,
                        user=cfg.masteruser.encode() if cfg.masteruser else None, rdb_only=False,
                        listening_port=port, ip_address=cfg.replica_announce_ip.encode() or None,
                        psync=(cached[0].encode(), cached[1] + 1) if cached else None,
                        failover=repl.failover.in_progress)
        self.stream = MasterStream(sync, RespLimits(proto_max_bulk_len=cfg.proto_max_bulk_len),
                                   packed_listpacks=True, rdb_sink=self._payload_sink)
        self.pending_loader: DatasetLoader | None = None  # made by _payload_sink
        self.reploff = cached[1] if cached else 0  # processed (applied) offset
        if cached and 0 <= cached[2] < len(server.keyspace.dbs):
            self.db = server.keyspace.dbs[cached[2]]  # the cached master's selected db goes on
        self.base = self.reploff  # replication offset of stream byte 0
        self.applied = 0  # stream bytes fed to our backlog so far
        self.synced = False
        self.loader: DatasetLoader | None = None  # a full sync's keys, into fresh tables
        self.async_load = False  # INFO async_loading (else loading) while the loader fills
        self.libraries: list[bytes] = []
        self.sync_size = 0
        self.sync_read = 0
        self.last_io = time.time()
        self.errors_logged = 0
        self.postponed: list[Any] = []  # stream events waiting for a client pause to end

    # -- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        if peer:
            self.addr = f"{peer[0]}:{peer[1]}"
        if sock:
            self.laddr = f"{sock[0]}:{sock[1]}"
        s = transport.get_extra_info("socket")
        if s is not None:
            self.fd = s.fileno()
        repl = self.replication
        if repl.link is not self:
            transport.close()
            return
        log.info("MASTER <-> REPLICA sync started")
        repl.repl_state = "handshake"
        self.last_io = time.time()
        transport.write(self.stream.start())  # type: ignore[attr-defined]

    def close(self, abort: bool = False) -> None:
        """freeClient of the master (CLIENT KILL): the link is down from now
        (replicationCacheMaster sets repl_down_since), not from when the event loop next
        runs, which a DEBUG SLEEP queued behind the kill may delay."""
        repl = self.replication
        if repl.link is self and self.synced and not self.closing and repl.masterhost is not None:
            repl.down_since = time.time()
        super().close(abort)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        repl = self.replication
        if repl.link is self:
            repl.link = None
            if self.synced:
                repl.cached = (repl.replid, self.reploff, self.db.id)
                log.warning("Connection with master lost. Caching the disconnected master state.")
            if repl.masterhost is not None:
                repl.repl_state = "connect"
                if self.synced and not repl.down_since:  # unless close() counted it already
                    repl.down_since = time.time()
        self.multi = None
        self.loader = None
        self.server.client_gone(self)

    # replies to the master are never sent (only REPLCONF ACK, written directly)
    def flush(self, out: list[bytes]) -> None:
        return

    def write(self, data: bytes) -> None:
        return

    def deliver(self, data: bytes) -> None:
        return

    def send_ack(self) -> None:
        t = self.transport
        if t is not None and not self.closing and self.synced:
            t.write(encode_command([b"REPLCONF", b"ACK", b"%d" % self.reploff]))

    # -- input --------------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        srv = self.server
        srv.stats.net_input_bytes += len(data)
        now = time.time()
        self.last_interaction = self.last_io = now
        failover = self.replication.failover
        try:
            send, events = self.stream.feed(data)
        except ReplicationError as exc:
            if exc.step == "auth":  # Redis's words (syncWithMaster), which its tests look for
                log.warning("Unable to AUTH to MASTER: %s", exc)
            else:
                log.warning("Replication with master %s:%s failed: %s", self.replication.masterhost,
                            self.replication.masterport, exc)
            if exc.step == "psync" and failover.in_progress:
                failover.psync_answered(False)  # a master again: this link is closed
            self.close(abort=True)
            return
        if failover.in_progress and self.stream.sync.phase != "handshake":
            failover.psync_answered(True)  # +CONTINUE or +FULLRESYNC: handed over
        if send and self.transport is not None:
            self.transport.write(send)
        if self.loader is not None:
            self.sync_read += len(data)
        if self.postponed:  # paused: what arrives waits behind the postponed command
            self.postponed += events
        elif events:
            self._apply(events)

    def _apply(self, events: list[Any]) -> None:
        try:
            with self.server.keyspace.expiry_held():  # nothing expires for the master client
                self._apply_events(events)
        except ReplicationError as exc:
            log.warning("Replication with master failed: %s", exc)
            self.close(abort=True)
        self._proxy()
        if self.server.ready_keys:  # readers blocked here (XREAD BLOCK) see the master's writes
            self.server.handle_ready_keys()

    def run_postponed(self, argv: list[bytes]) -> None:
        """A client pause postponed the stream at ``argv``: apply it from there."""
        events, self.postponed = self.postponed, []
        self._apply(events)

    def _apply_events(self, events: list[Any]) -> None:
        for i, ev in enumerate(events):
            t = type(ev)
            if t is tuple:
                reply = execute(self, ev[2])
                if reply is None:  # postponed by a client pause: the offset stays before it
                    self.postponed = events[i:]
                    break
                if reply and reply[:1] == b"-" and self.errors_logged < 10:
                    self.errors_logged += 1
                    log.warning("The master's %r failed here: %s", ev[2][0],
                                reply[1:].strip().decode("utf-8", "replace"))
                if self.multi is None:
                    self.reploff = self.base + ev[1]
                if self.closing:
                    break
            elif t is Record:
                self._load_record(ev)
                if self.server.config.key_load_delay > 0:  # processEventsWhileBlocked: a slowed
                    self.postponed = events[i + 1:]  # load lets the loop run between keys
                    asyncio.get_running_loop().call_soon(self._resume_load)
                    break
            elif t is FunctionLibrary:
                self.libraries.append(ev.code)
            elif t is FunctionPreGA:  # a 7.0 release candidate master
                self.libraries.append(ev.library().code)
            elif t is FullResync:
                self._begin_full(ev)
            elif t is Loaded:
                self._finish_full(ev)
            elif t is Continue:
                self._continue(ev)

    def _resume_load(self) -> None:
        events, self.postponed = self.postponed, []
        if events and not self.closing:
            self._apply(events)

    def _proxy(self) -> None:
        """Feed what was applied to our own backlog and sub-replicas."""
        n = self.reploff - self.base - self.applied
        if n <= 0 or not self.synced:
            return
        data = self.stream.take(n)
        self.applied += n
        self.replication.feed_stream(data)

    # -- full sync ----------------------------------------------------------------------------
    def _begin_full(self, ev: FullResync) -> None:
        repl = self.replication
        repl.repl_state = "transfer"
        repl.cached = None  # replicationDiscardCachedMaster: no offset until this sync is done
        srv = self.server
        # readSyncBulkPayload's asyncLoading: swapdb, and the same history (replication id)
        self.async_load = srv.config.repl_diskless_load == "swapdb" and ev.replid == repl.replid
        # the payload's keys as the master saved them: expired ones too (the master's DELs
        # follow), with their LRU/LFU hints
        pending, self.pending_loader = self.pending_loader, None
        self.loader = pending if pending is not None else self._payload_loader()
        self.libraries = []
        self.sync_read = 0
        size = self.stream.sync.size
        self.sync_size = size if size is not None else -1
        log.info("Full resync from master: %s:%s", ev.replid, ev.offset)

    def _payload_loader(self) -> DatasetLoader:
        srv = self.server
        return DatasetLoader(srv.keyspace, srv.config, drop_expired=False,
                             tables=[({}, {}, {}) for _ in srv.keyspace.dbs])

    def _payload_sink(self) -> Any:
        """As the payload starts: its plain keys go into the fresh tables the full sync
        swaps in as the decoder reads them (DatasetLoader.sink), the rest as Records
        through _load_record — all of them that way under key-load-delay, whose pause
        per key needs each one."""
        if self.server.config.key_load_delay > 0:
            return None
        self.pending_loader = self._payload_loader()
        return self.pending_loader.sink()

    def _load_record(self, rec: Record) -> None:
        loader = self.loader
        if loader is None:
            return
        if self.server.config.key_load_delay > 0:  # debugDelay, per key loaded
            time.sleep(self.server.config.key_load_delay / 1e6)
        try:
            loader.add(rec)
        except LoadError as exc:
            raise ReplicationError(str(exc), "payload") from None
        except UnsupportedValue as exc:
            log.warning("Skipping key %r in db %d: %s", rec.key, rec.db, exc)

    def _finish_full(self, ev: Loaded) -> None:
        srv = self.server
        repl = self.replication
        loader = self.loader
        self.loader = None
        if loader is None:
            return
        ks = srv.keyspace
        aof_on = srv.aof.state != AOF_OFF
        if aof_on:  # the old files keep describing the old dataset (readSyncBulkPayload)
            stop_appendonly(srv.aof)
        for db, (data, expires, lru) in zip(ks.dbs, loader.tables, strict=True):
            if db.data or db.watched or db.blocking:
                srv.signal_all(db)
            db.clear()
            db.data = data
            db.expires = expires
            db.lru = lru
            db.hexpires = {k: (v, min(v.fx.values())) for k, v in data.items()
                           if v.__class__ is HashValue and v.fx}
        srv.tracking.flushed()  # swapMainDbWithTempDb / emptyData: every cached key is stale
        ks.load_clock = ks.lru_clock  # keys without a hint are as old as this sync
        self._load_functions()
        sync = self.stream.sync
        repl.replid = sync.replid if sync.replid and len(sync.replid) == 40 else new_replid()
        offset = sync.offset if sync.offset is not None and sync.offset >= 0 else 0
        repl.master_repl_offset = offset
        repl.clear_replid2()
        repl.disconnect_replicas()  # their data is not ours any more
        repl.create_backlog()
        self.reploff = self.base = offset
        self.applied = 0
        log.info("MASTER <-> REPLICA sync: Finished with success (%d keys, %d bytes)",
                 loader.loaded, ev.size)
        self._online()
        self.send_ack()  # a diskless master starts the stream on this first ACK
        srv.dirty += 1
        if aof_on:
            self._restart_aof()

    def _load_functions(self) -> None:
        if not self.libraries:
            return
        try:
            funcs = self.server.scripting.functions
            funcs.flush()
            for code in self.libraries:
                funcs.load_code(code)
        except Exception as exc:  # noqa: BLE001 - no Lua runtime: the libraries are dropped
            log.warning("Could not load the master's function libraries: %s", exc)
        self.libraries = []

    def _restart_aof(self) -> None:
        """restartAOFAfterSYNC: the AOF starts again with a rewrite of the new dataset;
        until it completes, the master's stream goes to a temporary incr file that no
        manifest names, so a crash meanwhile restarts from the old files alone."""
        if not start_appendonly(self.server.aof):
            log.warning("Failed enabling the AOF after successful master synchronization! "
                        "The AOF stays off (Redis exits here after 10 tries).")

    def _continue(self, ev: Continue) -> None:
        repl = self.replication
        new = ev.replid
        if new is not None and new != repl.replid:
            repl.replid2 = repl.replid
            repl.second_replid_offset = repl.master_repl_offset + 1
            repl.replid = new
            log.info("Master replication ID changed to %s", new)
            repl.disconnect_replicas()
        if repl.backlog is None:
            repl.master_repl_offset = self.reploff
            repl.create_backlog()
        self.base = self.reploff
        self.applied = 0
        log.info("Successful partial resynchronization with master.")
        self._online()

    def _online(self) -> None:
        repl = self.replication
        repl.repl_state = "connected"
        repl.cached = None
        repl.down_since = 0.0
        self.synced = True
        self.server.clients[self.id] = self
        repl.update_guard()
