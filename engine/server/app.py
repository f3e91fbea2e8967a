"""The server: one event loop, every command on one thread, as Redis runs — and the one
place where the engine's subsystems are created and wired to each other.

``Server.__init__`` builds, in the order of engine/README.md's layers: the keyspace and
the propagator (what listens to its changes), the command path (clients, blocking,
output limits, pub/sub, memory accounting and eviction), scripting, persistence (RDB
and AOF), replication and the shutdown sequence, then INFO's sections (one provider
per subsystem, :mod:`engine.server.info`). Every subsystem gets the server and reaches
the others through it; nothing is created lazily elsewhere.

``serve()`` loads ``dir/dbfilename`` (or, with ``appendonly yes``, the AOF directory),
binds the listeners and runs ``server_cron`` ``hz`` times a second (LRU clock, active
expiry, client timeouts, blocked-client timeouts are timers of their own).
SIGTERM/SIGINT and SHUTDOWN stop it cleanly: listeners close, clients are
disconnected, the pidfile is removed.
"""

from __future__ import annotations

import asyncio
import gc
import locale
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import engine.commands  # noqa: F401  (registers every command family)
from engine import oom
from engine.acl import Acl, validate_user_line
from engine.cluster import Cluster
from engine.commands.migrate import MigrateSockets
from engine.config import REDIS_VERSION, Config, config_from_argv
from engine.errors import ConfigError, EngineError
from engine.execution.blocking import Blocking
from engine.execution.client import Client, parser_limits
from engine.execution.clientmem import ClientMemory
from engine.execution.obuf import OutputWatch
from engine.execution.pause import ClientPause
from engine.execution.registry import TABLE
from engine.execution.replybuf import ReplyBuffers
from engine.execution.transaction import unwatch_all
from engine.keyspace.db import Database, Keyspace, wall_ms
from engine.keyspace.evict import Evictor, configure
from engine.keyspace.expire import active_expire_cycle
from engine.keyspace.memory import MemoryAccount
from engine.latency import Histogram, LatencyMonitor
from engine.oom import OomScore
from engine.persistence import aof_rewrite
from engine.persistence.aof_load import load_on_start
from engine.persistence.aof_state import AofState
from engine.persistence.rdb_state import RdbState
from engine.propagate import Propagator
from engine.pubsub import PubSub
from engine.replication.master import Replication
from engine.scripting import Scripting
from engine.server import info, listeners
from engine.server.busy import process_events_while_blocked
from engine.server.shutdown import Shutdown
from engine.tracking import Tracking

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Stats:
    connections: int = 0
    rejected_conn: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    unknown_or_arity: int = 0
    dump_payload_sanitizations: int = 0


class Server:
    # what the request path checks on every read and command, as slots: the C path
    # (engine/_fastpath.c) loads them by offset; every other attribute is in __dict__
    __slots__ = ("deny_write_reply", "monitors", "evictor", "replication", "busy_reply", "pause", "tracking",
                 "cluster", "keyspace", "aof_gate", "stats", "ready_keys", "cmdstats", "latency_tracking",
                 "histograms", "slowlog_threshold_ns", "latency_threshold_ns", "propagator", "dirty", "__dict__")

    def __init__(self, config: Config, clock: Callable[[], int] = wall_ms) -> None:
        self.config = config
        # the data, and what listens to its changes (AOF, replicas: engine.propagate);
        # ``clock`` is the keyspace's time source (mstime(), ms since the epoch)
        self.keyspace = Keyspace(config, clock)
        self.propagator = Propagator()
        self.keyspace.propagator = self.propagator
        self.dirty = 0  # changes since the last save
        self.loop: asyncio.AbstractEventLoop | None = None
        # the command path (engine.execution): clients, statistics, slow log, MONITOR
        self.clients: dict[int, Client] = {}
        self._next_id = 0
        self.stats = Stats()
        self.cmdstats: dict[Any, list[int]] = {}  # Command → [calls, ns, rejected, failed]
        self.errorstats: dict[str, int] = {}
        self.slowlog_threshold_ns = 0
        self.latency = LatencyMonitor(lambda: self.config.latency_monitor_threshold)
        self.keyspace.latency = self.latency  # expiry and eviction sample into it too
        self.latency_threshold_ns = 0
        self.histograms: dict[Any, Histogram] = {}  # Command → LATENCY HISTOGRAM data
        self.latency_tracking = True
        self._update_thresholds()
        self.slowlog: deque[list[Any]] = deque()
        self.slowlog_id = 0
        self.monitors: list[Client] = []
        self.ready_keys: list[tuple[Database, bytes]] = []  # keys written with clients blocked on them
        self.blocking = Blocking(self)  # BLPOP & co, WAIT, SHUTDOWN, postponed clients
        self.pause = ClientPause(self, clock)  # CLIENT PAUSE, a shutdown's write pause
        self.keyspace.paused = self.pause.paused
        self.obuf = OutputWatch(self)  # client-output-buffer-limit
        self.replybuf = ReplyBuffers()  # CLIENT LIST's rbs/rbp, DEBUG REPLYBUFFER
        self.client_buffers = 0  # bytes the clients hold beyond the model's fixed part
        self.oom = OomScore()  # oom-score-adj: the process's score by role
        self.client_mem = ClientMemory(self)  # their tracking and maxmemory-clients
        self.pubsub = PubSub()
        self.keyspace.publish = self.pubsub.publish
        # users and permissions (engine.acl): requirepass is the default user's password
        self.acl = Acl(self)
        self.acl.set_default_password(config.requirepass)
        self._load_users()
        # client-side caching (CLIENT TRACKING): BCAST messages leave once the loop pass is over
        self.tracking = Tracking(self.clients, self.keyspace, self.call_soon)
        self.memory = MemoryAccount(self)  # used_memory (INFO, maxmemory)
        self.evictor: Evictor | None = None  # while maxmemory is set (engine.keyspace.evict)
        self.pre_command_oom_state = False  # performEvictions failed before the current command
        self.deny_write_reply: bytes | None = None  # MISCONF while a save or the AOF cannot be written
        self.busy_reply: bytes | None = None  # -BUSY while a script runs past busy-reply-threshold
        self.active_expire_enabled = True
        self.pause_cron = False  # DEBUG PAUSE-CRON: serverCron skips its work
        self.cluster_drop_packet_filter = -1  # DEBUG DROP-CLUSTER-PACKET-FILTER: a bus type dropped
        self.script_disable_deny_script = False  # DEBUG SET-DISABLE-DENY-SCRIPTS (tests)
        # scripting; past busy-reply-threshold a script serves clients itself (engine.server.busy)
        self.scripting = Scripting(self, while_busy=process_events_while_blocked)
        # persistence: the RDB file and the AOF; replies may wait for an AOF write (aof_gate)
        self.rdb = RdbState(self)
        self.aof = AofState(self)
        self.aof_gate: AofState | None = None  # set while replies wait for AOF writes
        # replication: ids, offsets, backlog, replicas, the master link
        self.replication = Replication(self)
        # SHUTDOWN / SIGTERM: prepareForShutdown, finishShutdown
        self.shutdown = Shutdown(self)
        # cluster mode: nodes.conf loaded or created (clusterInit); the bus listens in serve()
        self.cluster: Cluster | None = Cluster(self) if config.cluster_enabled else None
        # INFO: section name → the provider of its fields, in Redis 7.0's order
        self.info_sections: dict[str, Callable[[], list[tuple[str, object]]]] = info.sections(self)
        # the process
        self.start_time = time.time()
        self.run_id = os.urandom(20).hex()
        self.listeners: list[asyncio.AbstractServer] = []
        # the unixsocket listener: apart from the TCP ones, which CONFIG SET port/bind rebinds
        self.unix_listener: asyncio.AbstractServer | None = None
        self.bound_ports: list[int] = []
        self.listen_on: tuple[str, int] = (self.config.bind, self.config.port)  # what listeners serve
        self.migrate = MigrateSockets()  # MIGRATE's cached connections to targets
        self.shutdown_requested: asyncio.Event | None = None
        self._cron_handle: asyncio.TimerHandle | None = None
        self.cronloops = 0
        self.ops_per_sec = 0
        self._ops_sample = (time.time(), 0)

    def _load_users(self) -> None:
        """ACLAppendUserForLoading for each ``user`` line, then ACLLoadUsersAtStartup."""
        acl = self.acl
        for source, line_no, argv in self.config.user_lines:
            try:
                acl.to_load.append(validate_user_line(argv, acl.to_load))
            except ValueError as exc:
                raise ConfigError(f"{source}:{line_no}: {exc}") from None
        try:
            acl.load_configured()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    @property
    def loading(self) -> bool:
        """``server.loading``: the dataset is being loaded (the keyspace's flag, which also
        holds lookups from expiring keys meanwhile)."""
        return self.keyspace.loading

    # -- clients ------------------------------------------------------------
    def next_client_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def client_gone(self, c: Client) -> None:
        self.clients.pop(c.id, None)
        self.client_mem.forget(c)
        if c.obuf_watch:
            self.obuf.disarm(c)
        if c.monitor and c in self.monitors:
            self.monitors.remove(c)
        if c.blocked is not None:
            self.blocking.remove(c)
        if c.watched:
            unwatch_all(c)
        if c.sub_channels or c.sub_patterns or c.sub_shard:
            self.pubsub.client_gone(c)
        if c.repl is not None:
            self.replication.replica_gone(c)
        if c.tracking is not None:
            self.tracking.disable(c)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` after the current event-loop pass (Redis's beforeSleep work)."""
        if self.loop is not None:
            self.loop.call_soon(fn)
        else:
            fn()

    def feed_monitors(self, c: Client, argv: list[bytes], cmd: Any = None) -> None:
        """replicationFeedMonitors; with ``cmd``, call()'s check: admin and skip_monitor
        commands are not shown (EVAL, FCALL feed themselves before their script runs)."""
        if cmd is not None and ("skip_monitor" in cmd.flags or "admin" in cmd.flags or (
                cmd.parent is not None and "skip_monitor" in cmd.parent.flags)):
            return
        now = time.time()
        args = " ".join('"' + _repr_arg(a) + '"' for a in argv)
        line = f"+{now:.6f} [{c.db.id} {c.addr}] {args}\r\n".encode("utf-8", "surrogateescape")
        for m in list(self.monitors):
            if m is not c:
                m.write(line)

    def slowlog_push(self, c: Client, argv: list[bytes], us: int) -> None:
        maxlen = self.config.slowlog_max_len
        if maxlen == 0:
            return
        args = []
        n = min(len(argv), 32)
        for i in range(n):
            if n == 32 and i == 31 and len(argv) > 32:
                args.append(b"... (%d more arguments)" % (len(argv) - 31))
                break
            a = argv[i]
            if len(a) > 128:
                a = a[:128] + b"... (%d more bytes)" % (len(a) - 128)
            args.append(a)
        self.slowlog.appendleft([self.slowlog_id, int(time.time()), us, args,
                                 c.addr.encode(), c.name or b""])
        self.slowlog_id += 1
        while len(self.slowlog) > maxlen:
            self.slowlog.pop()

    def signal_keys(self, db: Database, keys: list[bytes], modifier: Client | None = None) -> None:
        """After a write by ``modifier``'s command: signal the keys modified (WATCH,
        client-side caching), wake clients blocked on them, and (cluster mode) index new
        keys by slot."""
        blocking = db.blocking
        for k in keys:
            db.signal_modified(k, modifier)
            if blocking and k in blocking:
                self.ready_keys.append((db, k))
        if self.cluster is not None:
            self.cluster.slot_keys.keys_written(db, keys)

    def signal_all(self, db: Database, replaced_with: Database | None = None) -> None:
        """FLUSHDB/FLUSHALL/DEBUG RELOAD (called before ``db`` is emptied) and SWAPDB or a
        full sync (``replaced_with``: what takes its place): the watched keys that existed
        in either are touched (touchAllWatchedKeysInDb); clients blocked on its keys
        look again."""
        if db.watched:
            db.touch_all_watched(replaced_with)
        for k in list(db.blocking):
            self.ready_keys.append((db, k))

    def handle_ready_keys(self) -> None:
        if self.evictor is None:
            self.blocking.serve_ready()
            return
        ready = list(self.ready_keys)
        self.blocking.serve_ready()
        for db, key in ready:  # served pops shrank these keys
            self.memory.touched(db, [key])

    def _update_thresholds(self) -> None:
        t = self.config.slowlog_log_slower_than
        self.slowlog_threshold_ns = t * 1000 if t >= 0 else 1 << 62
        t = self.config.latency_monitor_threshold
        self.latency_threshold_ns = t * 1_000_000 if t > 0 else 1 << 62
        self.latency_tracking = self.config.latency_tracking

    def total_commands(self) -> int:
        return sum(v[0] for v in self.cmdstats.values())

    def config_changed(self, names: list[str]) -> None:
        """Apply CONFIG SET side effects."""
        if "port" in names or "bind" in names:
            listeners.rebind(self)
        self._update_thresholds()
        if "proto-max-bulk-len" in names:
            limits = parser_limits(self.config)
            for c in self.clients.values():
                c.parser.limits = limits
        if "maxmemory-policy" in names:
            self.keyspace.update_clock()
        if "save" in names or "stop-writes-on-bgsave-error" in names:
            self.update_write_denial()
        if "maxmemory" in names or "maxmemory-policy" in names:
            configure(self)
        if "maxmemory" in names or "maxmemory-clients" in names:
            self.client_mem.configure()
        if "oom-score-adj" in names or "oom-score-adj-values" in names:
            err = self.update_oom()
            if err is not None:
                exc = ConfigError("Failed to set current oom_score_adj. Check server logs.")
                exc.config = "oom-score-adj" if "oom-score-adj" in names else "oom-score-adj-values"  # type: ignore[attr-defined]
                raise exc
        if self.aof.writer is not None:
            self.aof.writer.timestamps = self.config.aof_timestamp_enabled
        if "appendonly" in names:
            if self.config.appendonly:
                if not aof_rewrite.start_appendonly(self.aof):
                    raise ConfigError("Unable to turn on AOF. Check server logs.")
            else:
                aof_rewrite.stop_appendonly(self.aof)
        self.replication.config_changed(names)
        if self.cluster is not None:
            self.cluster.config_changed(names)
        if "requirepass" in names:  # updateRequirePass
            self.acl.set_default_password(self.config.requirepass)

    def update_oom(self, process_class: int = -1) -> str | None:
        """setOOMScoreAdj for this process (-1: master or replica, as it is now); the
        reason when /proc could not be read or written (logged)."""
        if process_class < 0:
            process_class = oom.REPLICA if self.replication.masterhost else oom.MASTER
        err = self.oom.apply(self.config.oom_score_adj, self.config.oom_score_adj_values, process_class)
        if err is not None:
            log.warning("%s", err)
        return err

    def reset_stats(self) -> None:
        self.stats = Stats()
        self.cmdstats = {}
        self.histograms = {}
        self.errorstats = {}
        self.keyspace.reset_hits()
        self.keyspace.expired_keys = 0
        self.keyspace.expired_subkeys = 0
        self.keyspace.evicted_keys = 0
        self.client_mem.evicted = 0
        self.keyspace.lazyfreed_objects = 0
        self.replybuf.reset_stats()

    def count_error(self, reply: bytes) -> None:
        code = reply[1:].split(b" ", 1)[0].split(b"\r", 1)[0].decode("utf-8", "replace")
        self.errorstats[code] = self.errorstats.get(code, 0) + 1

    # -- lifecycle ------------------------------------------------------------
    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.shutdown_requested = asyncio.Event()
        self.load_data()
        self.replication.start()  # replicaof in the configuration
        if self.config.maxmemory:
            configure(self)
        self.client_mem.configure()
        self.update_oom()
        # a forked child (BGSAVE, BGREWRITEAOF, a full sync) takes the child's score
        os.register_at_fork(after_in_child=lambda: self.update_oom(oom.BGCHILD))
        # The dataset is long-lived: keep the cyclic GC away from it (gc.freeze) and make
        # young-generation collections rarer, so per-command garbage (argv lists) does not
        # trigger full-heap traversals of a large keyspace on the hot path. (No collection
        # first: a load makes no garbage cycles, and walking the dataset costs ~1 s per
        # million keys.)
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
        cfg = self.config
        port = cfg.port
        self.listen_on = (cfg.bind, port)
        try:
            socks = listeners.open_sockets(cfg.bind, port, cfg.tcp_backlog)
        except listeners.ListenError as exc:  # initServer's words, which Redis's suite matches
            log.warning("%s", exc)
            raise EngineError(f"Failed listening on port {port} (TCP), aborting.") from None
        await listeners.serve_sockets(self, socks)
        if cfg.unixsocket:
            await self._listen_unix(cfg.unixsocket, cfg.unixsocketperm)
        if self.cluster is not None:
            try:
                await self.cluster.start()
            except Exception as exc:  # noqa: BLE001 - the bus port is taken: clusterInit exits
                raise EngineError(str(exc)) from None
        log.info("Ready to accept connections on port %s", self.bound_ports[:1] or port)
        self._schedule_cron()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.shutdown.on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
        try:
            await self.shutdown_requested.wait()
        finally:
            await self.close()

    async def _listen_unix(self, path: str, perm: str) -> None:
        """The ``unixsocket`` listener: an old file at the path goes first, ``unixsocketperm``
        (octal, 0: leave the umask's mode) applies to the new one (anetUnixServer)."""
        assert self.loop is not None
        try:
            os.unlink(path)
        except OSError:
            pass
        try:
            srv = await self.loop.create_unix_server(lambda: Client(self), path,
                                                     backlog=self.config.tcp_backlog)
            mode = int(perm or "0", 8)
            if mode:
                os.chmod(path, mode)
        except (OSError, ValueError) as exc:
            raise EngineError(f"Failed opening Unix socket: {exc}") from None
        self.unix_listener = srv
        log.info("The server is now ready to accept connections at %s", path)

    def close_now(self) -> None:
        """After a successful ``finishShutdown`` (engine.server.shutdown): stop the cron, the
        replication link and the AOF's fsync thread, close listeners and clients (their sent
        replies still drain) and remove the pidfile, so nothing runs after the final save."""
        if self._cron_handle is not None:
            self._cron_handle.cancel()
            self._cron_handle = None
        self.replication.shutdown()
        if self.cluster is not None:
            self.cluster.close()
        self.aof.close()
        for srv in self.listeners:
            srv.close()
        if self.unix_listener is not None:
            self.unix_listener.close()
        for c in list(self.clients.values()):
            c.close()
        if self.config.unixsocket:  # as closeListeningSockets
            try:
                os.unlink(self.config.unixsocket)
            except OSError:
                pass
        if self.config.pidfile:
            try:
                os.unlink(self.config.pidfile)
            except OSError:
                pass

    async def close(self) -> None:
        if not self.shutdown.done:  # serve() failed: no shutdown sequence ran
            self.aof.final_flush()  # best effort: what is buffered reaches the file
            self.close_now()
        for srv in self.listeners:
            try:
                await asyncio.wait_for(srv.wait_closed(), 1.0)
            except (TimeoutError, Exception):  # noqa: BLE001 - best effort at exit
                pass
        self.listeners = []

    def _schedule_cron(self) -> None:
        assert self.loop is not None
        self._cron_handle = self.loop.call_later(1.0 / self.config.hz, self.server_cron)

    def server_cron(self) -> None:
        try:
            if self.pause_cron:
                return
            self.cronloops += 1
            self.shutdown.cron()
            if self.shutdown.done:
                return
            self.keyspace.update_clock()
            if self.evictor is not None:
                self.memory.cron()
            self.pause.paused()  # a pause whose time is over ends (postponed clients run)
            if self.active_expire_enabled and self.replication.masterhost is None:  # replicas wait for DELs
                active_expire_cycle(self.keyspace, self.config.hz, self.config.active_expire_effort)
                self.propagator.flush()
            now = time.time()
            t0, n0 = self._ops_sample
            if now - t0 >= 1.0:
                total = self.total_commands()
                self.ops_per_sec = int((total - n0) / (now - t0))
                self._ops_sample = (now, total)
            if self.cronloops % self.config.hz == 0:
                self._client_timeouts()
            self.obuf.cron()
            self.replybuf.cron(list(self.clients.values()), self.config.hz, int(now * 1000))
            if self.client_mem.on:
                self.client_mem.cron()
            if self.tracking.tracking_clients:  # also when idle after CONFIG SET tracking-table-max-keys
                self.tracking.limit_used_slots(self.config.tracking_table_max_keys)
            self.rdb.check_child()
            self.aof.cron()
            self.replication.cron()
            self.rdb.cron()
            self.migrate.cron()
            if self.cluster is not None and self.cronloops % max(1, self.config.hz // 10) == 0:
                self.cluster.cron()  # run_with_period(100)
        except Exception:  # pragma: no cover - keep the server alive, but say so
            log.exception("serverCron failed")
        finally:
            if not self.shutdown.done:
                self._schedule_cron()

    def _client_timeouts(self) -> None:
        t = self.config.timeout
        if not t:
            return
        now = time.time()
        for c in list(self.clients.values()):
            if c.blocked is None and not c.monitor and not (c.repl is not None and c.repl.flag) and now - c.last_interaction > t:
                c.close()

    # -- persistence --------------------------------------------------------------
    def update_write_denial(self) -> None:
        """``writeCommandsDeniedByDiskError``: a failed BGSAVE (with save points and
        ``stop-writes-on-bgsave-error``) first, then an AOF write error; None when writes
        are allowed."""
        deny = self.rdb.deny_reply
        self.deny_write_reply = deny if deny is not None else self.aof.deny_reply

    def has_active_child(self) -> bool:
        """``hasActiveChildProcess``: a BGSAVE, AOF rewrite or replication child is running."""
        return bool(self.rdb.child_pid or self.aof.child_pid or self.replication.child_pid)

    def load_data(self) -> None:
        """loadDataFromDisk: the AOF directory with ``appendonly yes`` (Redis 7.0: never the
        RDB then), else ``dir/dbfilename``."""
        if self.config.appendonly:
            with self.keyspace.expiry_held(loading=True):
                load_on_start(self.aof)
            return
        loaded = self.rdb.load_on_start()
        if loaded is not None:
            aux, expired = loaded
            self.replication.restore_info(aux, expired)  # repl-id/repl-offset: partial resyncs after a restart


def _repr_arg(a: bytes) -> str:
    out = []
    for ch in a:
        if ch == 0x5C:
            out.append("\\\\")
        elif ch == 0x22:
            out.append('\\"')
        elif ch == 0x0A:
            out.append("\\n")
        elif ch == 0x0D:
            out.append("\\r")
        elif ch == 0x09:
            out.append("\\t")
        elif ch == 0x07:
            out.append("\\a")
        elif ch == 0x08:
            out.append("\\b")
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        else:
            out.append("\\x%02x" % ch)
    return "".join(out)


def install_event_loop_policy() -> str:
    """Use uvloop when it is installed (RDBKIT_NO_UVLOOP=1 disables it)."""
    if os.environ.get("RDBKIT_NO_UVLOOP"):
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def _setup_logging(cfg: Config) -> None:
    level = {"debug": logging.DEBUG, "verbose": logging.INFO, "notice": logging.INFO,
             "warning": logging.WARNING, "nothing": logging.CRITICAL + 1}[cfg.loglevel]
    handler: logging.Handler
    if cfg.logfile:  # Redis chdirs to ``dir`` while loading its config: a relative name is under it
        handler = logging.FileHandler(os.path.join(cfg.dir, cfg.logfile))
    else:
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(process)d:M %(asctime)s.%(msecs)03d * %(message)s",
                                           "%d %b %Y %H:%M:%S"))
    for name in ("engine", "aof"):
        root = logging.getLogger(name)
        root.handlers[:] = [handler]
        root.setLevel(level)


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)


def run(config: Config) -> int:
    """Run a server until it shuts down; returns the process exit status."""
    if config.daemonize:
        _daemonize()
    _setup_logging(config)
    if config.pidfile or config.daemonize:
        pidfile = config.pidfile or "/var/run/redis_6379.pid"
        try:
            with open(pidfile, "w") as fh:
                fh.write(f"{os.getpid()}\n")
        except OSError as exc:
            log.warning("Failed to write PID file: %s", exc)
    loop_name = install_event_loop_policy()
    log.info("rdbkit server (Redis %s compatible) starting, pid=%d, event loop %s",
             REDIS_VERSION, os.getpid(), loop_name)
    if config.always_show_logo:  # Redis's redisAsciiArt banner, as one line: "Port: N ... PID: N"
        log.info("rdbkit server %s, %s mode, Port: %d, PID: %d", REDIS_VERSION,
                 "cluster" if config.cluster_enabled else "standalone", config.port, os.getpid())
    try:
        server = Server(config)
    except (ConfigError, EngineError) as exc:
        log.error("%s", exc)
        return 1
    try:
        asyncio.run(server.serve())
    except EngineError as exc:
        log.error("%s", exc)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:  # as Redis's main(): SORT ... ALPHA collates in the environment's locale
        locale.setlocale(locale.LC_COLLATE, "")
    except locale.Error:
        pass  # an unknown locale leaves "C", as a failed setlocale does
    if args and args[0] in ("-v", "--version"):
        print(f"rdbkit server v={REDIS_VERSION} (Redis-compatible)")
        return 0
    if args and args[0] in ("-h", "--help"):
        print("Usage: rdbkit server [/path/to/redis.conf] [--option value ...]")
        return 0
    try:
        config = config_from_argv(args)
        for source, line_no, line, old, new in config.renames:  # as loadServerConfigFromString
            why = TABLE.rename(old.encode("utf-8", "surrogateescape"), new.encode("utf-8", "surrogateescape"))
            if why:
                raise ConfigError(f"{source}:{line_no}: '{line}': {why}")
    except ConfigError as exc:
        print(f"\n*** FATAL CONFIG FILE ERROR (rdbkit server, Redis {REDIS_VERSION} compatible) ***",
              file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 1
    return run(config)
