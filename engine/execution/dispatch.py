"""Command dispatch: lookup, arity, auth, MULTI queueing, stats, slowlog, MONITOR.

Mirrors ``processCommand``'s order of checks so error replies match Redis:
unknown command / unknown subcommand, then arity, then authentication, then
transaction queueing. ``execute`` returns the reply bytes, or None when the
command blocked the client (its reply comes later through ``Client.unblocked``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from aof import replies
from engine.config import allow_protected_action
from engine.errors import CommandError
from engine.execution.registry import ARBITRARY_KEYS, TABLE, Command
from engine.execution.transaction import discard
from engine.latency import HIST_MAX, HIST_MIN, Histogram
from engine.pubsub import PUSHED_REPLIES, subscribed_context_error
from rdbtools._accel import c_module

if TYPE_CHECKING:
    from engine.execution.client import Client

log = logging.getLogger(__name__)
_perf = time.perf_counter_ns
_lookup = TABLE.lookup
_crun = getattr(c_module("engine._fastpath"), "run", None)
_MULTI_PASS = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
NOAUTH = b"-NOAUTH Authentication required.\r\n"
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
# inside MULTI every command is refused when out of memory, except these (processCommand)
_MULTI_OOM_ALLOWED = frozenset({"exec", "discard", "quit", "reset"})


def internal_error(cmd: Command, argv: list[bytes], exc: BaseException | None = None) -> bytes:
    log.error("internal error executing %s (%d arguments)", cmd.name, len(argv) - 1,
              exc_info=exc if exc is not None else True)
    return b"-ERR internal error executing '%s' (see the server log)\r\n" % cmd.name.encode()


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def unknown_command_error(argv: list[bytes]) -> bytes:
    args = ""
    for a in argv[1:]:
        if len(args.encode("utf-8", "surrogateescape")) >= 128:
            break
        room = 128 - len(args.encode("utf-8", "surrogateescape"))
        piece = a.split(b"\0", 1)[0][:room]
        args += "'" + piece.decode("utf-8", "surrogateescape") + "' "
    name = argv[0].split(b"\0", 1)[0][:128].decode("utf-8", "surrogateescape")
    msg = f"-ERR unknown command '{name}', with args beginning with: {args}"
    return msg.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape") + b"\r\n"


def resolve(argv: list[bytes], original: bool = False) -> Command | bytes:
    """The Command for argv, or the error reply bytes when it cannot be resolved; with
    *original* a name rename-command took away is still known (lookupCommandOrOriginal)."""
    cmd = _lookup.get(argv[0])
    if cmd is None:
        cmd = _lookup.get(argv[0].lower())
        if cmd is None and original:
            cmd = TABLE.original.get(argv[0].lower())
        if cmd is None:
            return unknown_command_error(argv)
    if cmd.subcommands and len(argv) >= 2:
        sub = cmd.subcommands.get(argv[1].lower())
        if sub is None:
            msg = f"-ERR unknown subcommand '{_text(argv[1][:128])}'. Try {cmd.name.upper()} HELP."
            return msg.replace("\r", " ").replace("\n", " ").encode("utf-8", "surrogateescape") + b"\r\n"
        cmd = sub
    n = len(argv)
    a = cmd.arity
    if (a > 0 and n != a) or n < -a:
        return b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.name.encode()
    return cmd


def protected_reject(c: Client, cmd: Command) -> bytes | None:
    """processCommand's CMD_PROTECTED check: DEBUG, and MODULE LOAD/LOADEX/UNLOAD."""
    module = cmd.name.startswith("module|")
    cfg = c.server.config
    if allow_protected_action(cfg.enable_module_command if module else cfg.enable_debug_command, c.local):
        return None
    name, option = (b"MODULE", b"enable-module-command") if module else (b"DEBUG", b"enable-debug-command")
    return (b'-ERR %s command not allowed. If the %s option is set to "local", '
            b"you can run it from a local connection, otherwise you need to set this option in the "
            b"configuration file, and then restart the server.\r\n" % (name, option))


def _rejected(c: Client, argv: list[bytes], reply: bytes, cmd: Command | None = None) -> None:
    """rejected_calls and errorstats for a command refused before running."""
    srv = c.server
    srv.count_error(reply)
    if cmd is None:
        base = _lookup.get(argv[0].lower())
        if base is None or len(argv) < 2:
            return
        sub = base.subcommands.get(argv[1].lower())
        cmd = sub if sub is not None else base
    st = srv.cmdstats.get(cmd)
    if st is None:
        st = srv.cmdstats[cmd] = [0, 0, 0, 0]
    st[2] += 1


def execute(c: Client, argv: list[bytes]) -> bytes | None:
    """processCommand for one command of ``c``; the reply, or None when it blocked."""
    reply = _process(c, argv)
    if c.asking and c.multi is None and argv[0].lower() != b"asking":  # resetClient: ASKING is for one command
        c.asking = False
    if c.reply_off or c.reply_skip:
        if argv[0].lower() in PUSHED_REPLIES:  # CLIENT_PUSHING: never silenced
            silence(c, None)
            return reply
        return silence(c, reply)
    return reply


def silence(c: Client, reply: bytes | None) -> bytes | None:
    """CLIENT REPLY OFF/SKIP: prepareClientToWrite refuses the reply, then resetClient
    turns a SKIP just set into "skip the next command's reply"."""
    drop = c.reply_off or c.reply_skip == 1
    c.reply_skip = 1 if c.reply_skip == 2 else 0
    return b"" if drop and reply is not None else reply


def _process(c: Client, argv: list[bytes]) -> bytes | None:
    cmd = _lookup.get(argv[0])
    if cmd is None or cmd.subcommands:
        # the AOF and a master send the names before rename-command (lookupCommandOrOriginal)
        r = resolve(argv, c.user is None)
        if r.__class__ is bytes:
            if c.multi is not None:
                c.multi_error = True
            _rejected(c, argv, r)  # type: ignore[arg-type]
            return r  # type: ignore[return-value]
        cmd = r  # type: ignore[assignment]
    else:
        n = len(argv)
        a = cmd.arity
        if (a > 0 and n != a) or n < -a:
            if c.multi is not None:
                c.multi_error = True
            r = b"-ERR wrong number of arguments for '%s' command\r\n" % cmd.name.encode()
            _rejected(c, argv, r, cmd)
            return r
    c.last_cmd = cmd  # c->lastcmd: what CLIENT INFO and the ACL log's client-info name
    if cmd.protected:  # after arity, before authentication and MULTI queueing
        r = protected_reject(c, cmd)
        if r is not None:
            return reject_command(c, cmd, r)
    if not c.authenticated and not cmd.no_auth:
        if c.multi is not None:
            c.multi_error = True
        _rejected(c, argv, NOAUTH, cmd)
        return NOAUTH
    srv = c.server
    if c.user is not None and (c.multi is None or cmd.allowed_in_multi):  # ACLCheckAllPerm
        r = acl_reject(c, cmd, argv)
        if r is not None:
            return reject_command(c, cmd, r)
    cl = srv.cluster
    if cl is not None and c.user is not None and (cmd.first > 0 or cmd.keys_fn is not None or cmd.name == "exec"):
        r = cl.redirect(c, cmd, argv)  # getNodeByQuery: -MOVED, -ASK, -CROSSSLOT, -CLUSTERDOWN
        if r is not None:
            if cmd.name == "exec":  # the transaction is discarded, the redirection sent as it is
                discard(c)
                _rejected(c, argv, r, cmd)
                return r
            return reject_command(c, cmd, r)
    ev = srv.evictor
    busy = srv.busy_reply
    if ev is not None and busy is None and ev.before_command():  # maxmemory: performEvictions
        r = oom_reject(c, cmd, argv)
        if r is not None:
            _rejected(c, argv, r, cmd)
            return r
    if srv.tracking.tracking_clients:  # tracking-table-max-keys, before MULTI queueing
        srv.tracking.limit_used_slots(srv.config.tracking_table_max_keys)
    if srv.replication.guard:  # READONLY / MASTERDOWN / NOREPLICAS
        r = srv.replication.reject(c, cmd, argv)
        if r is not None:
            return reject_command(c, cmd, r)
    if c.resp == 2 and (c.sub_channels or c.sub_patterns or c.sub_shard):
        r = subscribed_context_error(c, cmd)
        if r is not None:
            return reject_command(c, cmd, r)
    if busy is not None and "allow_busy" not in cmd.flags and (c.multi is None or cmd.allowed_in_multi):
        return reject_command(c, cmd, busy)  # a script runs past busy-reply-threshold
    pause = srv.pause
    if c.repl is not None and c.repl.flag == "S":
        r = replica_reject(c, cmd, argv)
        if r is not None:
            return reject_command(c, cmd, r)
    elif pause.type and pause.postpones(c, cmd, cmd.flags_for(srv, argv)):  # CLIENT PAUSE, SHUTDOWN
        pause.postpone(c, cmd, argv)
        return None
    if c.multi is not None and cmd.name not in _MULTI_PASS:
        if not cmd.allowed_in_multi:
            c.multi_error = True
            r = b"-ERR Command not allowed inside a transaction\r\n"
            _rejected(c, argv, r, cmd)
            return r
        c.multi.append((cmd, argv))
        return replies.QUEUED
    return call(c, cmd, argv)


_NOPERM = {1: "this user has no permissions to run the '%s' command",
           2: "this user has no permissions to access one of the keys used as arguments",
           4: "this user has no permissions to access one of the channels used as arguments"}
_NOPERM_EXEC = {1: "no permission to execute the command or subcommand",
                2: "no permission to touch the specified keys",
                4: "no permission to access one of the channels used as arguments"}


def acl_reject(c: Client, cmd: Command, argv: list[bytes], context: str | None = None) -> bytes | None:
    """processCommand's ACL check (``server.acl``, engine.acl): None when the client's
    user may run it, else the -NOPERM reply; a refusal is written to the ACL log."""
    acl = c.server.acl
    res, pos = acl.check(c.user, cmd, argv)
    if not res:
        return None
    ctx = context or ("multi" if c.multi is not None else "toplevel")
    acl.log_denied(c, res, ctx, cmd, argv, pos)
    text = _NOPERM.get(res, "no permission")
    if res == 1:
        text %= cmd.name
    return b"-NOPERM " + text.encode() + b"\r\n"


def reject_command(c: Client, cmd: Command, reply: bytes) -> bytes:
    """rejectCommand: count the refusal and flag the transaction; a refused EXEC
    discards the transaction instead (execCommandAbort), naming the reason."""
    srv = c.server
    st = srv.cmdstats.get(cmd)
    if st is None:
        st = srv.cmdstats[cmd] = [0, 0, 0, 0]
    st[2] += 1
    if cmd.name == "exec":
        discard(c)
        reply = b"-EXECABORT Transaction discarded because of: " + reply[1:]
    elif c.multi is not None:
        c.multi_error = True  # flagTransaction
    srv.count_error(reply)
    return reply


def oom_reject(c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
    """processCommand when performEvictions could not free enough: -OOM for a command
    flagged ``denyoom`` (by the table, or by the flags a script declares: EVAL/FCALL's
    ``getCommandFlags``); inside MULTI every command but EXEC/DISCARD/QUIT/RESET, and
    EXEC of a transaction that queued a denyoom command (which discards it). None: run it."""
    name = cmd.name
    if c.multi is not None:
        if name not in _MULTI_OOM_ALLOWED:
            c.multi_error = True  # flagTransaction
            return OOM
        if name != "exec" or not any("denyoom" in q.flags_for(c.server, a) for q, a in c.multi):
            return None
        discard(c)  # execCommandAbort
        return b"-EXECABORT Transaction discarded because of: " + OOM[1:]
    return OOM if "denyoom" in cmd.flags_for(c.server, argv) else None


def replica_reject(c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
    """processCommand: a replica may not touch the keyspace (which would also let it
    around the client pause it is exempt from)."""
    flags = cmd.flags_for(c.server, argv)
    if "write" in flags or "readonly" in flags or "may_replicate" in flags:
        return b"-ERR Replica can't interact with the keyspace\r\n"
    if cmd.name == "exec" and c.multi:
        for q, a in c.multi:
            f = q.flags_for(c.server, a)
            if "write" in f or "readonly" in f or "may_replicate" in f:
                return b"-ERR Replica can't interact with the keyspace\r\n"
    return None


def call(c: Client, cmd: Command, argv: list[bytes]) -> bytes | None:
    """Run one resolved command: Redis's ``call()``, the one execution core.

    Every command runs here, whoever sent it: a client (directly, or through the
    pipelined fast path of :func:`run_commands`), EXEC's queue, a script's
    ``redis.call``, the AOF loader, the master link. Around ``cmd.proc`` it keeps the
    statistics (calls, time, failed calls, error counts), the slow log and the MONITOR
    feed; after a change (``server.dirty`` moved) it flags WATCHers and blocked clients
    of the command's keys, updates the maxmemory accounting and queues what the AOF and
    replicas must receive, delivered at once unless inside EXEC or a script.

    While the server loads (the AOF replay), Redis runs ``cmd->proc`` outside
    ``call()``: no statistics, slow log or MONITOR feed, and nothing is propagated; error
    replies are still counted (``afterErrorReply``).
    """
    srv = c.server
    live = not srv.keyspace.loading
    trk = srv.tracking
    # client-side caching, once a client turned it on: the outermost call (not EXEC's queue,
    # not a script's redis.call) is server.current_client
    outer = trk.active and trk.current is None and not c.in_exec
    if outer:
        trk.current = c
    if trk.tracking_clients and not c.script:
        trk.cmd, trk.argv = cmd, argv  # caller->cmd: what a script's reads remember
    dirty_before = srv.dirty
    c.last_cmd = cmd  # processCommand sets c->lastcmd before the command runs
    t0 = _perf()
    try:
        reply = cmd.proc(c, argv)  # type: ignore[misc]
    except CommandError as exc:
        reply = exc.reply
    except Exception as exc:  # a bug must not take the connection down silently
        reply = internal_error(cmd, argv, exc)
    c.last_cmd = cmd
    return after_call(c, cmd, argv, reply, _perf() - t0, dirty_before, live, outer)


def after_call(c: Client, cmd: Command, argv: list[bytes], reply: bytes | None, dt: int,
               dirty_before: int, live: bool = True, outer: bool = False) -> bytes | None:
    """The part of ``call()`` after ``cmd->proc`` returned ``reply`` in ``dt`` ns:
    statistics, slow log, latency, MONITOR, signals, propagation, tracking. The C
    pipeline (``engine._fastpath``) runs the common case of it itself and hands every
    other case here."""
    srv = c.server
    trk = srv.tracking
    if live:
        st = srv.cmdstats.get(cmd)
        if st is None:
            st = srv.cmdstats[cmd] = [0, 0, 0, 0]
        st[0] += 1
        st[1] += dt
        if reply and reply[0] == 45:  # "-": an error reply
            st[3] += 1
            if c.error_counted:
                c.error_counted = False
            else:
                srv.count_error(reply)
        if reply is None and c.blocked is not None:  # logged when the block ends
            c.blocked.argv, c.blocked.duration_ns = argv, dt
        elif dt >= srv.slowlog_threshold_ns and "skip_slowlog" not in cmd.flags:
            srv.slowlog_push(c, argv, dt // 1000)
        if dt >= srv.latency_threshold_ns:  # latencyAddSampleIfNeeded, in ms
            srv.latency.add("fast-command" if "fast" in cmd.flags else "command", dt // 1_000_000)
        if srv.latency_tracking and reply is not None:  # not while blocked (updateCommandLatencyHistogram)
            h = srv.histograms.get(cmd)
            if h is None:
                h = srv.histograms[cmd] = Histogram()
            h.record(dt // 1000 * 1000)  # Redis times in microseconds
    elif reply and reply[0] == 45:
        if c.error_counted:
            c.error_counted = False
        else:
            srv.count_error(reply)
    if live and srv.monitors:  # after the command, as call() does: MULTI, SET, EXEC in order
        srv.feed_monitors(c, argv, cmd)
    prop = srv.propagator
    if srv.dirty > dirty_before:  # a decrease (SAVE resets it) is not a change
        if cmd.is_write:
            db = c.db
            if db.watched or db.blocking or trk.active or srv.cluster is not None:  # (cluster: its slot index)
                srv.signal_keys(db, cmd.modified_keys(argv) if c.modified is None else c.modified, c)
            if srv.evictor is not None:
                srv.memory.after_write(c, cmd, argv)
        if prop.targets and live:
            queue_propagation(c, cmd, argv)
        elif c.rewritten is not None:
            c.rewritten = None
    elif c.rewritten is not None:  # forced (FLUSHDB of an empty db) or stale
        if live:
            queue_propagation(c, cmd, argv)
        else:
            c.rewritten = None
    if c.modified is not None:
        c.modified = None
    if prop.ops and not c.in_exec:
        prop.flush(cmd.name not in ARBITRARY_KEYS)
    if outer:
        if trk.tracking_clients and "readonly" in cmd.flags:
            trk.after_read(c, cmd, argv)  # trackingRememberKeys
        trk.current = None
        st = c.tracking
        if st is not None and st.caching and c.multi is None and cmd.name[:7] != "client|":
            st.caching = False  # CLIENT CACHING covers the next command (resetClient)
        if trk.pending:  # afterCommand: what the command invalidated for itself follows its reply
            pushes = trk.take_pending(c)
            if reply is None or c.reply_off or c.reply_skip:
                c.write(pushes)  # a push: never silenced by CLIENT REPLY
            else:
                reply += pushes
    elif trk.tracking_clients and "readonly" in cmd.flags:
        trk.after_read(c, cmd, argv)
    return reply


def queue_propagation(c: Client, cmd: Command, argv: list[bytes]) -> None:
    """After a command that changed the dataset (or forced its propagation by
    setting ``c.rewritten``): queue what the log must record, after any lazy-expiry
    DELs the command caused (Redis's ``call()`` → ``alsoPropagate(c->argv)``)."""
    rw = c.rewritten
    prop = c.server.propagator
    if not prop.targets:
        c.rewritten = None
        return
    ops = prop.ops
    dbid = c.db.id
    if rw is not None:
        c.rewritten = None
        for a in rw:
            ops.append((dbid, a))
    elif cmd.propagates_self:
        ops.append((dbid, argv))


def fast_path(c: Client) -> bool:
    """Whether none of processCommand's checks can refuse or divert a command of ``c``
    now: authenticated, not in MULTI, no MONITOR, no maxmemory, not subscribed, no
    replica/NOREPLICAS guard, no busy script, no client pause, replies on (CLIENT REPLY). Then a known
    ``Command.fast`` command with a valid arity goes straight to :func:`call`."""
    srv = c.server
    user = c.user
    return (c.multi is None and not srv.monitors and c.authenticated and srv.evictor is None
            and (user is None or user.unrestricted())
            and not (c.sub_channels or c.sub_patterns or c.sub_shard) and not srv.replication.guard
            and srv.busy_reply is None and not srv.pause.type and c.repl is None
            and not c.reply_off and not c.reply_skip and not srv.tracking.tracking_clients
            and srv.cluster is None)


def _fast_context(c: Client) -> tuple[Any, ...] | None:
    """What ``engine._fastpath.run`` needs for a batch of ``c`` (see its header), or None
    while something beyond ``fast_path`` can observe a command: the keyspace loading,
    client-side caching on."""
    srv = c.server
    if srv.keyspace.loading or srv.tracking.active:
        return None
    return (_lookup, srv, srv.cmdstats, srv.histograms if srv.latency_tracking else None,
            min(srv.slowlog_threshold_ns, srv.latency_threshold_ns), after_call, internal_error,
            CommandError, srv.propagator, HIST_MIN, HIST_MAX)


def run_commands(c: Client, cmds: list[list[bytes]], out: list[bytes], high_water: int) -> int:
    """Execute ``cmds`` in order, appending replies to ``out``; the pipelined hot path.

    Returns how many commands ran. It stops early after a command that blocked the
    client (no reply appended), after one that closes the connection, or when the
    replies gathered pass ``high_water`` bytes. While :func:`fast_path` holds (checked
    again after any command that took the full path, which may change it), a known
    ``fast`` command with a valid arity goes straight to :func:`call` — or, with the C
    accelerator, a run of them goes through ``engine._fastpath.run`` (the same steps);
    anything else goes through :func:`execute`.
    """
    lookup = _lookup
    ap = out.append
    nbytes = 0
    i = 0
    n = len(cmds)
    fast = fast_path(c)
    while i < n:
        if fast and _crun is not None:
            ctx = _fast_context(c)
            if ctx is not None:
                i, nbytes = _crun(c, cmds, i, out, nbytes, high_water, ctx)
                if i >= n or nbytes > high_water:
                    return i
        argv = cmds[i]
        i += 1
        cmd = lookup.get(argv[0])
        if fast and cmd is not None and cmd.fast:
            na = len(argv)
            a = cmd.arity
            if not ((a > 0 and na != a) or na < -a):
                reply = call(c, cmd, argv)
                ap(reply)  # type: ignore[arg-type]  # a fast command never blocks
                nbytes += len(reply)  # type: ignore[arg-type]
                if nbytes > high_water:
                    return i
                continue
        reply = execute(c, argv)
        if reply is None or c.close_after_reply or c.closing:
            if reply is not None:
                ap(reply)
            return i
        ap(reply)
        fast = fast_path(c)
        nbytes += len(reply)
        if nbytes > high_water:
            return i
    return i


def execute_queued(c: Client, queued: list[tuple[Command, list[bytes]]]) -> list[Any]:
    """EXEC's loop: every queued command runs; errors become error elements."""
    out: list[Any] = []
    acl = c.server.acl
    exec_cmd = c.last_cmd
    for cmd, argv in queued:
        res = acl.check(c.user, cmd, argv) if c.user is not None else (0, 0)
        if res[0]:  # the rules changed since the command was queued
            saved, c.multi = c.multi, queued  # EXEC runs with CLIENT_MULTI still set
            c.last_cmd = exec_cmd
            acl.log_denied(c, res[0], "multi", cmd, argv, res[1])
            c.multi = saved
            r = (b"-NOPERM ACLs rules changed between the moment the transaction was accumulated "
                 b"and the EXEC call. This command is no longer allowed for the following reason: "
                 + _NOPERM_EXEC.get(res[0], "no permission").encode() + b"\r\n")
            c.server.count_error(r)
            out.append(replies.Raw(r))
            continue
        r = call(c, cmd, argv)
        out.append(replies.Raw(r if r is not None else replies.null_array(c.resp)))
    return out
