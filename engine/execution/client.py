"""One connection: an ``asyncio.Protocol`` holding the client's state.

Input path (mirrors ``readQueryFromClient``/``processInputBuffer``): bytes go to
the sans-IO ``aof.resp.RequestParser``; every complete command buffered is
executed in order and all replies leave in one ``transport.write``. A protocol
error runs the commands parsed before it, replies Redis's error text and closes.
While a client is blocked (BLPOP...), its input is buffered but not executed.

Memory bounds: the parser's buffered bytes are checked against
``client-query-buffer-limit`` (exceeding closes the client without a reply, as
Redis does); the output side applies ``client-output-buffer-limit`` to every
class (:mod:`engine.execution.obuf`) and, whatever the limit, stops reading from a
client whose unsent replies pass :data:`HIGH_WATER` until they drain, so a client
that pipelines without reading cannot grow our memory.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from aof import replies
from aof.errors import RespProtocolError
from aof.resp import RequestParser, RespLimits
from engine.errors import CommandError
from engine.execution import obuf
from engine.execution.clientmem import client_memory
from engine.execution.dispatch import (
    after_call,
    execute,
    internal_error,
    reject_command,
    resolve,
    run_commands,
    silence,
)
from engine.execution.registry import TABLE
from engine.execution.replybuf import PROTO_REPLY_CHUNK_BYTES
from engine.latency import HIST_MAX, HIST_MIN
from rdbtools._accel import c_module

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from the "
    b"loopback interface. If you want to connect from external computers to Redis you may adopt "
    b"one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    b"SET protected-mode no' from the loopback interface by connecting to Redis from the same host "
    b"the server is running, however MAKE SURE Redis is not publicly accessible from internet if "
    b"you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just "
    b"disable the protected mode by editing the Redis configuration file, and setting the "
    b"protected mode option to 'no', and then restarting the server. 3) If you started the server "
    b"manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    b"authentication password for the default user. NOTE: You only need to do one of the above "
    b"things in order for the server to start accepting connections from the outside.\r\n"
)

HIGH_WATER = 4 * 1024 * 1024

# Client._received's common case in C (engine/_received.h); None: Python does every read
_fastpath = c_module("engine._fastpath")
_creceived = getattr(_fastpath, "received", None)
if _creceived is not None:
    _fastpath.configure(TABLE.lookup, after_call, internal_error, CommandError, HIST_MIN, HIST_MAX,
                        obuf.REPLY_CHUNK, HIGH_WATER)


def parser_limits(config: Any) -> RespLimits:
    return RespLimits(proto_max_bulk_len=config.proto_max_bulk_len)


def make_parser(config: Any, authenticated: bool) -> RequestParser:
    return RequestParser(parser_limits(config), authenticated=authenticated)


class Client(asyncio.Protocol):
    # what the request path reads on every read and command, as slots: the C path
    # (engine/_fastpath.c) loads them by offset; every other attribute is in __dict__
    __slots__ = ("server", "closing", "blocked", "pending", "parser", "multi", "authenticated", "user",
                 "sub_channels", "sub_patterns", "sub_shard", "repl", "reply_off", "reply_skip",
                 "close_after_reply", "held", "transport", "last_interaction", "qbuf_read", "rbp", "rbs",
                 "obuf_watch", "db", "last_cmd", "rewritten", "modified", "__dict__")

    def __init__(self, server: Host) -> None:
        self.server = server
        self.id = server.next_client_id()
        self.db = server.keyspace.dbs[0]
        self.resp = 2
        self.name: bytes | None = None
        self.lib_name = b""
        self.lib_ver = b""
        # the ACL user (engine.acl; None: a fake client that may run anything, as the AOF
        # loader's and the master link's); authenticated while the default user needs no password
        self.user: Any = server.acl.default
        self.authenticated = not server.acl.auth_required()
        # the error reply being sent was counted in errorstats already (a script's
        # redis.call error returned as its reply: ERR_REPLY_FLAG_NO_STATS_UPDATE)
        self.error_counted = False
        # the reply buffer's size and peak CLIENT LIST shows (engine.execution.replybuf); the
        # peak's reset time starts in seconds, as createClient's server.unixtime
        self.rbs = PROTO_REPLY_CHUNK_BYTES
        self.rbp = PROTO_REPLY_CHUNK_BYTES
        self.rbp_reset = int(time.time())
        # the keys a write changed, when it changed fewer than its key positions say and
        # which ones depends on the data (SMOVE of a member the destination holds)
        self.modified: list[bytes] | None = None
        self.transport: asyncio.Transport | None = None
        self.parser = make_parser(server.config, self.authenticated)
        self.multi: list[tuple[Any, list[bytes]]] | None = None
        self.multi_error = False
        self.watched: set[tuple[int, bytes]] = set()
        self.dirty_cas = False
        self.blocked: Any = None  # engine.execution.blocking.BlockState while blocked
        self.pending: list[list[bytes]] = []
        self.pending_error: RespProtocolError | None = None
        self.pending_whole = False
        self.closing = False
        self.close_after_reply = False
        # CLIENT REPLY: OFF drops every reply; SKIP drops the next command's (2: set by the
        # CLIENT REPLY SKIP now running, 1: the command after it)
        self.reply_off = False
        self.reply_skip = 0
        self.asking = False  # ASKING: the next command may use a slot being imported
        self.cluster_readonly = False  # READONLY: a replica serves reads of its master's slots
        self.monitor = False
        self.reading_paused = False
        self.addr = "?:0"
        self.laddr = "?:0"
        self.unix = False  # connected through the unixsocket listener (flag U)
        self.local = False  # islocalClient, decided once the peer is known
        self.fd = -1
        self.ctime = time.time()
        self.last_interaction = self.ctime
        self.last_cmd: Any = None  # the last Command run, or the one running (CLIENT LIST's cmd=)
        self.qbuf_read = 0  # query-buffer bytes after the last read, before parsing
        self.mem_extra = 0  # bytes held beyond the fixed part (engine.execution.clientmem)
        self.no_evict = False  # CLIENT NO-EVICT on
        self.obuf_soft_since = 0  # obuf_soft_limit_reached_time (whole seconds)
        self.obuf_watch = False  # unsent output past obuf.REPLY_CHUNK: check the limits per write
        self.in_exec = False
        self.script = False  # CLIENT_SCRIPT: the fake client that scripts' commands run as
        # pub/sub subscriptions (engine.pubsub): insertion-ordered, as Redis lists them
        self.sub_channels: dict[bytes, None] = {}
        self.sub_patterns: dict[bytes, None] = {}
        self.sub_shard: dict[bytes, None] = {}
        # set by a handler whose change must be logged differently from what was sent
        # (see engine.propagate): the argvs to propagate instead, [] for nothing
        self.rewritten: list[list[bytes]] | None = None
        # replies waiting for the AOF write that covers them (engine.persistence.aof_state)
        self.held: list[bytes] | None = None
        self.held_bytes = 0
        # replication (engine.replication): a replica's state on a master, or the master link
        self.repl: Any = None
        # client-side caching (engine.tracking.ClientTracking) while CLIENT TRACKING is on
        self.tracking: Any = None

    # -- asyncio callbacks --------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        early = self.transport  # a RawTransport: accepted while a script was busy (engine.server.rawconn)
        self.transport = transport  # type: ignore[assignment]
        srv = self.server
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        s = transport.get_extra_info("socket")
        if s is not None:
            try:
                self.fd = s.fileno()
            except OSError:
                self.fd = -1
        if isinstance(sock, str):  # a unix socket: both ends named by its path (CLIENT_UNIX_SOCKET)
            self.unix = True
            # genClientAddrString: "%s:0" into a NET_ADDR_STR_LEN (78) buffer, so a long
            # path loses its tail (and the ":0") exactly as snprintf cuts it
            self.addr = self.laddr = os.fsdecode(os.fsencode(f"{sock}:0")[:77])
        else:
            if peer:
                self.addr = _fmt_addr(peer)
            if sock:
                self.laddr = _fmt_addr(sock)
        if early is not None:  # admitted then; the loop takes the connection over now
            transport.set_write_buffer_limits(high=obuf.REPLY_CHUNK)  # type: ignore[attr-defined]
            early.hand_over(transport)  # type: ignore[attr-defined]
            return
        self.local = is_local_peer(peer)
        if srv.config.protected_mode and srv.acl.default.nopass and not self.local:
            srv.stats.rejected_conn += 1
            transport.write(DENIED)
            transport.close()
            self.closing = True
            return
        if len(srv.clients) >= srv.config.maxclients:
            srv.stats.rejected_conn += 1
            transport.write(b"-ERR max number of clients reached\r\n")
            transport.close()
            self.closing = True
            return
        srv.clients[self.id] = self
        srv.stats.connections += 1
        # pause_writing past Redis's static reply buffer: arms the output-limit checks
        transport.set_write_buffer_limits(high=obuf.REPLY_CHUNK)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.client_gone(self)

    def pause_writing(self) -> None:
        """The unsent output passed ``obuf.REPLY_CHUNK``: check the limits on every write."""
        if self.closing:
            return
        self.server.obuf.arm(self)
        self.output_grew()

    def resume_writing(self) -> None:
        self.server.obuf.disarm(self)
        if self.server.client_mem.on:
            self.server.client_mem.update(self, evict=False)
        if self.repl is None or self.repl.flag != "S":
            self.obuf_soft_since = 0  # a replica's accumulated stream may still be over it
        if self.reading_paused and self.transport is not None and not self.closing:
            self.reading_paused = False
            self.transport.resume_reading()
            if self.pending and self.blocked is None:
                self.process_input()

    def data_received(self, data: bytes) -> None:
        if _creceived is None or not _creceived(self, data):
            self._received(data)
        mem = self.server.client_mem
        if mem.on:  # the query buffer, and what the commands queued or subscribed
            mem.update(self)

    def _received(self, data: bytes) -> None:
        srv = self.server
        srv.stats.net_input_bytes += len(data)
        self.last_interaction = time.time()
        parser = self.parser
        parser.feed(data)
        self.qbuf_read = parser.buffered_bytes
        if self.closing or self.blocked is not None:
            if parser.buffered_bytes > srv.config.client_query_buffer_limit:
                self._query_buffer_exceeded()
            return
        if self.pending or not parser.authenticated or srv.deny_write_reply is not None:
            self.process_input()
            return
        # hot path: everything buffered parses at once; one command → one write
        try:
            cmds = parser.parse()
        except RespProtocolError as exc:
            self.run_batch(exc.commands, exc)
            return
        if not cmds:
            if parser.buffered_bytes > srv.config.client_query_buffer_limit:
                self._query_buffer_exceeded()
            return
        if len(cmds) == 1:  # run_commands: a fast command goes straight to call() (or the C loop)
            one: list[bytes] = []
            run_commands(self, cmds, one, HIGH_WATER)
            if not one:
                return  # blocked
            reply = one[0]
            if srv.ready_keys:
                srv.handle_ready_keys()
            t = self.transport
            if t is not None and not self.closing:
                gate = srv.aof_gate
                if gate is not None and (gate.flush_scheduled or self.held is not None):
                    gate.hold(self, reply)  # leaves after the AOF write (group commit)
                    return
                if len(reply) > obuf.REPLY_CHUNK and obuf.refuse_output(self, len(reply)):
                    return
                n = len(reply)
                srv.stats.net_output_bytes += n
                if n > self.rbp:  # _addReplyToBuffer's buf_peak (the buffer holds rbs bytes)
                    self.rbp = n if n < self.rbs else self.rbs
                t.write(reply)
                if self.obuf_watch:
                    self.output_grew()
                if self.close_after_reply:
                    self.close()
            return
        self.run_batch(cmds, None)

    def _query_buffer_exceeded(self) -> None:
        log.warning("Closing client that reached max query buffer length: id=%d addr=%s",
                    self.id, self.addr)
        self.close()

    def resume_batch(self, cmds: list[list[bytes]], done: int, out: list[bytes]) -> None:
        """engine._fastpath.received ran ``cmds[:done]`` (their replies in ``out``): the
        rest of the batch goes the general way, every reply out in order."""
        self.pending = cmds[done:]
        self.pending_error = None
        self.pending_whole = True
        self.process_input(out)

    def run_batch(self, cmds: list[list[bytes]], err: RespProtocolError | None) -> None:
        """Execute a parsed batch (then the protocol error, if any) and write once."""
        self.pending = cmds
        self.pending_error = err
        self.pending_whole = True  # parse() already returned everything buffered
        self.process_input()

    # -- command processing ---------------------------------------------------
    def process_input(self, out: list[bytes] | None = None) -> None:
        """Execute everything complete in the parser (or left pending by a block).

        Replies are written once per batch, except that a batch whose replies pass the
        high-water mark is written early; if the transport then asks us to pause (the
        peer is not reading), the rest of the batch waits for ``resume_writing``.
        """
        if out is None:  # else: replies of the batch's start, already run (resume_batch)
            out = []
        err: RespProtocolError | None = None
        srv = self.server
        parser = self.parser
        while True:
            whole = False  # True when parse() returned everything buffered
            if self.pending:
                whole = self.pending_whole
                self.pending_whole = False
                cmds = self.pending
                err = self.pending_error
                self.pending = []
                self.pending_error = None
            else:
                whole = parser.authenticated  # unauthenticated: one command per parse()
                try:
                    cmds = parser.parse()
                except RespProtocolError as exc:
                    cmds = exc.commands
                    err = exc
            stopped = False
            if not cmds:
                done = 0
            elif srv.deny_write_reply is None:
                done = run_commands(self, cmds, out, HIGH_WATER)
            else:
                done = run_denying_writes(self, cmds, out, HIGH_WATER)
            if done < len(cmds) or (cmds and self.blocked is not None):
                if self.blocked is not None:  # blocked: the rest waits for the unblock
                    self.pending = cmds[done:]
                    self.pending_error = err
                    self.flush(out)
                    return
                if self.close_after_reply or self.closing:
                    err = None
                else:  # replies passed the high-water mark: write them now
                    self.pending = cmds[done:]
                    self.pending_error = err
                    err = None
                    self.flush(out)
                    out = []
                    if self.reading_paused or self.closing:
                        return  # resume_writing() picks the batch up again
                    stopped = True
            if srv.ready_keys:
                srv.handle_ready_keys()
            if stopped:
                continue
            if err is not None or self.close_after_reply or self.closing or whole or not cmds:
                break
        if err is not None:
            out.append(replies.error(err.message))
            self.close_after_reply = True
        self.flush(out)

    def flush(self, out: list[bytes]) -> None:
        t = self.transport
        if t is None or self.closing:
            return
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            if len(data) > obuf.REPLY_CHUNK and obuf.refuse_output(self, len(data)):
                return
            gate = self.server.aof_gate
            if gate is not None and (gate.flush_scheduled or self.held is not None):
                gate.hold(self, data)  # deliver() writes it (and closes if asked)
                return
            self.server.stats.net_output_bytes += len(data)
            self.note_reply(len(data))
            t.write(data)
            if self.obuf_watch:
                self.output_grew()
        elif self.held is not None:
            return  # close (if asked) once the held replies are out
        if self.close_after_reply:
            self.close()

    def deliver(self, data: bytes) -> None:
        """Write replies the AOF group commit held, now that their AOF bytes are written."""
        t = self.transport
        if t is None or self.closing:
            return
        self.server.stats.net_output_bytes += len(data)
        self.note_reply(len(data))
        t.write(data)
        if self.obuf_watch:
            self.output_grew()
        if self.close_after_reply:
            self.close()

    def note_reply(self, n: int) -> None:
        """_addReplyToBuffer's buf_peak: the reply buffer holds at most ``rbs`` bytes."""
        if n > self.rbp:
            self.rbp = n if n < self.rbs else self.rbs

    def write(self, data: bytes) -> None:
        """Send out-of-band data (MONITOR feed, unblocked replies)."""
        t = self.transport
        if t is None or self.closing:
            return
        if len(data) > obuf.REPLY_CHUNK and obuf.refuse_output(self, len(data)):
            return
        gate = self.server.aof_gate
        if gate is not None and (gate.flush_scheduled or self.held is not None):
            gate.hold(self, data)
            return
        self.server.stats.net_output_bytes += len(data)
        self.note_reply(len(data))
        t.write(data)
        if self.obuf_watch:
            self.output_grew()

    def output_grew(self) -> None:
        """More output queued past ``obuf.REPLY_CHUNK``: the limits, then back-pressure
        (stop reading from a client that pipelines faster than it reads)."""
        if obuf.close_if_over(self):
            return
        if self.server.client_mem.on:
            self.server.client_mem.update(self)
            if self.closing:
                return
        t = self.transport
        if not self.reading_paused and t is not None and t.get_write_buffer_size() > HIGH_WATER:
            self.reading_paused = True
            t.pause_reading()

    def close(self, abort: bool = False) -> None:
        if self.transport is not None and not self.closing:
            self.closing = True
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def unblocked(self, reply: bytes) -> None:
        """Called by the blocking machinery: send the reply and resume the input."""
        self.blocked = None
        if self.closing:
            return
        if self.reply_off or self.reply_skip:
            reply = silence(self, reply)  # type: ignore[assignment]
        self.flush([reply])
        if not self.closing and (self.pending or self.parser.buffered_bytes):
            self.process_input()

    def run_postponed(self, argv: list[bytes]) -> None:
        """The pause that postponed ``argv`` relaxed (engine.execution.pause): process it
        again — it may be postponed anew — then the rest of the input."""
        reply = execute(self, argv)
        if reply is not None:
            self.unblocked(reply)

    # -- introspection ------------------------------------------------------
    def client_type(self) -> str:
        """getClientType: master, replica, pubsub or normal."""
        r = self.repl
        if r is not None and r.flag:
            return r.kind
        if self.sub_channels or self.sub_patterns or self.sub_shard:
            return "pubsub"
        return "normal"

    def flags(self) -> str:
        f = self.repl.flag if self.repl is not None else ""
        if self.monitor:
            f += "O"
        if self.sub_channels or self.sub_patterns or self.sub_shard:
            f += "P"
        if self.multi is not None:
            f += "x"
        if self.blocked is not None:
            f += "b"
        st = self.tracking
        if st is not None:
            f += "t" + "R" * st.broken + "B" * st.bcast
        if self.dirty_cas:
            f += "d"
        if self.close_after_reply:
            f += "c"
        if self.unix:
            f += "U"
        if self.no_evict:
            f += "e"
        return f or "N"

    def _user_name(self) -> str:
        return self.user.name.decode("utf-8", "surrogateescape") if self.user is not None else "(superuser)"

    def info_line(self, caller: Client | None = None) -> str:
        """catClientInfoString. The caller's ``qbuf`` is what its last read buffered, the
        command being run included (Redis trims the query buffer only after the batch)."""
        now = time.time()
        name = self.name.decode("utf-8", "replace") if self.name else ""
        qbuf = self.qbuf_read if caller is self else self.parser.unparsed_bytes
        obl, oll, omem = obuf.buffer_counts(self)
        multi = len(self.multi) if self.multi is not None else -1
        redir = self.tracking.redirect if self.tracking is not None else -1
        return (f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.fd} name={name} "
                f"age={int(now - self.ctime)} idle={int(now - self.last_interaction)} "
                f"flags={self.flags()} db={self.db.id} sub={len(self.sub_channels)} psub={len(self.sub_patterns)} "
                f"ssub={len(self.sub_shard)} multi={multi} "
                f"qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs={self.rbs} rbp={self.rbp} "
                f"obl={obl} oll={oll} omem={omem} tot-mem={client_memory(self) - self.parser.buffered_bytes + qbuf} events=r "
                f"cmd={self.last_cmd.name if self.last_cmd else 'NULL'} user={self._user_name()} redir={redir} resp={self.resp}")


def run_denying_writes(c: Client, cmds: list[list[bytes]], out: list[bytes], high_water: int) -> int:
    """``run_commands`` while writes are refused because the AOF cannot be written.

    Mirrors processCommand's ``writeCommandsDeniedByDiskError`` check (after the
    command lookup, arity and authentication checks, before MULTI queueing): write
    commands, PING, and EXEC of a transaction holding writes get the MISCONF error;
    inside MULTI the transaction is flagged, an EXEC is aborted (``rejectCommand``).
    """
    srv = c.server
    n = nbytes = 0
    for argv in cmds:
        n += 1
        deny = srv.deny_write_reply
        reply: bytes | None = None
        if deny is not None and c.authenticated:
            cmd = resolve(argv)
            if cmd.__class__ is not bytes and _denied_on_disk_error(c, cmd):  # type: ignore[arg-type]
                reply = reject_command(c, cmd, deny)  # type: ignore[arg-type]
        if reply is None:
            reply = execute(c, argv)
            if reply is None or c.close_after_reply or c.closing:
                if reply is not None:
                    out.append(reply)
                return n
        out.append(reply)
        nbytes += len(reply)
        if nbytes > high_water:
            return n
    return n


def _denied_on_disk_error(c: Client, cmd: Any) -> bool:
    if cmd.is_write or cmd.name == "ping":
        return True
    return cmd.name == "exec" and bool(c.multi) and any(q.is_write for q, _ in c.multi or ())


def _fmt_addr(a: Any) -> str:
    host, port = a[0], a[1]
    if ":" in host:
        return f"{host}:{port}"
    return f"{host}:{port}"


def is_local_peer(peer: Any) -> bool:
    """islocalClient: the one rule for protected mode and ``enable-*-command``/
    ``enable-protected-configs local``. A unix-socket peer (asyncio gives its path, a
    ``str``) is local; a TCP peer only when its address reads exactly 127.0.0.1 or ::1
    (not the rest of 127.0.0.0/8, not ::ffff:127.0.0.1); an unknown peer is not."""
    if isinstance(peer, str):
        return True
    return isinstance(peer, tuple) and bool(peer) and peer[0] in ("127.0.0.1", "::1")
