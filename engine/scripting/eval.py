"""The scripting host of one server: EVAL's script cache, the run context, ``redis.call``.

Mirrors ``eval.c`` + ``script.c``: one Lua state for EVAL scripts (``f_<sha>``
compiled once, kept until SCRIPT FLUSH), a fake client that runs the commands a
script calls (the script's db is the caller's; SELECT inside moves only the
fake client), and a run context (``scriptRunCtx``) holding the flags checked on
every ``redis.call``: read-only runs refuse writes, a run that wrote cannot be
killed, ``redis.set_repl`` decides what reaches the AOF.

Propagation: scripts replicate their effects. While a script runs the
propagator holds every op (``depth``); the dispatcher's ``call()`` that ran
EVAL/FCALL delivers them afterwards, wrapped in MULTI/EXEC when there is more
than one. EVAL itself is never logged (``registry.NO_SELF_PROPAGATE``).

Busy scripts: past ``busy-reply-threshold`` the Lua count hook (every 100000
instructions, as ``luaMaskCountHook``) serves the other clients and accepts new
connections itself (the server's :mod:`engine.server.busy`, given as ``while_busy``),
since the event loop is blocked by the script.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aof.replies import NULL_BULK
from aof.slots import key_hash_slot
from engine.errors import CommandError
from engine.execution.client import Client
from engine.execution.dispatch import call
from engine.execution.registry import TABLE, Command
from engine.scripting.errors import LuaTableError

if TYPE_CHECKING:
    from engine.execution.host import Host
    from engine.scripting.runtime import LuaState

log = logging.getLogger("engine.scripting")

# scriptFlag bits (script.h)
NO_WRITES, ALLOW_OOM, ALLOW_STALE, NO_CLUSTER, ALLOW_CROSS_SLOT = 1, 2, 4, 8, 16
EVAL_COMPAT_MODE = 1 << 10
FLAG_NAMES = (("no-writes", NO_WRITES), ("allow-oom", ALLOW_OOM), ("allow-stale", ALLOW_STALE),
              ("no-cluster", NO_CLUSTER), ("allow-cross-slot-keys", ALLOW_CROSS_SLOT))

NOSCRIPT = b"-NOSCRIPT No matching script. Please use EVAL.\r\n"
BUSY_EVAL = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
BUSY_FUNCTION = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
# Commands Redis 7.0 flags NOSCRIPT (its commands/*.json), whatever flags our table gives them
NOSCRIPT_COMMANDS = frozenset("""
acl|cat acl|deluser acl|dryrun acl|genpass acl|getuser acl|list acl|load acl|log acl|save acl|setuser
acl|users acl|whoami auth bgrewriteaof bgsave blmove blpop brpop brpoplpush bzpopmax bzpopmin
client|caching client|getname client|getredir client|id client|info client|kill client|list
client|no-evict client|pause client|reply client|setname client|tracking client|trackinginfo
client|unblock client|unpause cluster|reset config|get config|resetstat config|rewrite config|set
debug discard eval eval_ro evalsha evalsha_ro exec failover fcall fcall_ro function|delete
function|dump function|flush function|kill function|list function|load function|restore
function|stats hello latency|doctor latency|graph latency|histogram latency|history latency|latest
latency|reset module|list module|load module|loadex module|unload monitor multi psubscribe psync
punsubscribe quit replconf replicaof reset role save script|debug script|exists script|flush
script|kill script|load shutdown slaveof ssubscribe subscribe sunsubscribe sync unsubscribe unwatch
wait watch""".split())
_LOG_LEVELS = (logging.DEBUG, logging.DEBUG, logging.INFO, logging.WARNING)


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


class Rand48:
    """redisLrand48 / redisSrand48 (rand.c): the 48-bit LCG behind math.random."""

    __slots__ = ("x",)
    A, C, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self) -> None:
        self.x = 0x1234ABCD330E

    def seed(self, seedval: int) -> None:
        self.x = (((seedval & 0xFFFFFFFF) << 16) | 0x330E) & self.MASK

    def next(self) -> int:
        self.x = (self.A * self.x + self.C) & self.MASK
        return self.x >> 17

    def random(self) -> float:
        return (self.next() % 0x7FFFFFFF) / 0x7FFFFFFF



@dataclass(slots=True)
class Script:
    body: bytes
    flags: int
    func: Any


# getAclErrorMessage
_ACL_SCRIPT_ERRORS = {1: b"can't run this command or subcommand",
                      2: b"can't access at least one of the keys mentioned in the command arguments",
                      4: b"can't publish to the channel mentioned in the command"}


@dataclass(slots=True)
class RunCtx:
    """scriptRunCtx: one running script or function."""

    caller: Any
    funcname: bytes
    is_eval: bool
    read_only: bool
    argv: list[bytes]
    start: float = field(default_factory=time.monotonic)
    dirty: bool = False  # SCRIPT_WRITE_DIRTY
    allow_oom: bool = False  # SCRIPT_ALLOW_OOM: a shebang script with the allow-oom flag
    timed_out: bool = False
    killed: bool = False
    repl: int = 3  # PROPAGATE_AOF | PROPAGATE_REPL
    allow_cross_slot: bool = False  # SCRIPT_ALLOW_CROSS_SLOT (cluster mode)
    slot: int = -1  # the caller's c->slot: its declared keys' slot, else the first key touched


def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: whitespace-separated words, with "..." (escapes) and '...' quoting;
    None for unbalanced quotes."""
    out: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return out
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 1 < n:  # backslash
                    nx = line[i + 1]
                    if nx == 120 and i + 3 < n and _hex(line[i + 2:i + 4]):  # \xHH
                        cur.append(int(line[i + 2:i + 4], 16))
                        i += 3
                    else:
                        cur.append({110: 10, 114: 13, 116: 9, 98: 8, 97: 7}.get(nx, nx))
                        i += 1
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(ch)
            elif insq:
                if i >= n:
                    return None
                ch = line[i]
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    cur.append(39)
                    i += 1
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(ch)
            else:
                if i >= n:
                    break
                ch = line[i]
                if ch in b" \n\r\t\v\f":
                    break
                if ch == 34:
                    inq = True
                elif ch == 39:
                    insq = True
                else:
                    cur.append(ch)
            i += 1
        out.append(bytes(cur))


def _hex(b: bytes) -> bool:
    return len(b) == 2 and all(c in b"0123456789abcdefABCDEF" for c in b)


def shebang_flags(body: bytes) -> tuple[int, int]:
    """evalExtractShebangFlags: (flags, shebang length); raises CommandError."""
    if not body.startswith(b"#!"):
        return EVAL_COMPAT_MODE, 0
    end = body.find(b"\n")
    if end < 0:
        raise CommandError("Invalid script shebang")
    parts = split_args(body[:end])
    if not parts:
        raise CommandError("Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise CommandError(f"Unexpected engine in script shebang: {_s(parts[0])}")
    flags = 0
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise CommandError(f"Unknown lua shebang option: {_s(part)}")
        names = part[6:].split(b",") if part[6:] else []
        for name in names:
            bit = dict(FLAG_NAMES).get(name.decode("utf-8", "surrogateescape"))
            if bit is None:
                raise CommandError(f"Unexpected flag in script shebang: {_s(name)}")
            flags |= bit
    return flags, end


def _s(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


# used_memory_lua of a fresh Redis 7.0 Lua state (scriptingInit), before any script
FRESH_LUA_MEMORY = 31744


def new_state(host: Any, mode: str) -> LuaState:
    """A Lua state; lupa is an optional dependency (``pip install rdbkit[scripting]``)."""
    try:
        from engine.scripting.runtime import LuaState
    except ImportError:
        raise CommandError("scripting is not available: the lupa package is not installed") from None
    return LuaState(host, mode)


def lookup_command(argv: list[bytes]) -> Command | None:
    """lookupCommand: the command (or subcommand) for argv, None when unknown."""
    cmd = TABLE.get(argv[0])
    if cmd is None:
        return None
    if cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(argv[1].lower())
    return cmd


class Scripting:
    """Everything scripting keeps per server (``lctx`` + ``curr_run_ctx``).

    The server creates it at start (``Server.__init__``); the Lua state and the fake
    client scripts run commands as are made on first use, so a server that never runs
    a script never loads lupa. ``while_busy`` is the server's
    ``processEventsWhileBlocked`` (:mod:`engine.server.busy`), called from the count hook
    once a script passes ``busy-reply-threshold``."""

    def __init__(self, server: Host, while_busy: Callable[[Scripting, RunCtx], None] | None = None) -> None:
        from engine.scripting.functions import Functions

        self.server = server
        self.while_busy = while_busy
        self.rand = Rand48()
        self.scripts: dict[bytes, Script] = {}
        self.scripts_mem = 0
        self._lua: LuaState | None = None
        self._client: Client | None = None
        self.run: RunCtx | None = None
        self.load_deadline: float | None = None
        self.functions = Functions(self)  # FUNCTION libraries (engine.scripting.functions)

    @property
    def lua(self) -> LuaState:
        """EVAL's Lua state (``lctx.lua``)."""
        if self._lua is None:
            self._lua = new_state(self, "eval")
        return self._lua

    @property
    def client(self) -> Client:
        """The fake client a script's commands run as (``lctx.lua_client``)."""
        if self._client is None:
            client = Client(self.server)
            client.authenticated = True
            client.in_exec = True  # CLIENT_DENY_BLOCKING: blocking commands answer at once
            client.script = True
            client.addr = "lua"
            self._client = client
        return self._client

    # -- script cache (luaCreateFunction / SCRIPT FLUSH) ---------------------------
    def create(self, body: bytes) -> tuple[bytes, Script]:
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return sha, script
        flags, shebang_len = shebang_flags(body)
        # the shebang line is skipped but its line feed kept, so line numbers hold
        func, err = self.lua.api.compile(body[shebang_len:], b"@user_script")
        if func is None:
            raise CommandError("Error compiling script (new function): " + _s(err))
        script = Script(body, flags, func)
        self.scripts[sha] = script
        self.scripts_mem += len(sha) + len(body) + 32
        return sha, script

    def flush(self) -> None:
        """scriptingReset: a fresh Lua state and an empty cache."""
        self.scripts = {}
        self.scripts_mem = 0
        self._lua = new_state(self, "eval")

    # -- running (scriptPrepareForRun / luaCallFunction / scriptResetRun) ------------
    def prepare(self, c: Any, flags: int, ro: bool) -> None:
        """The refusals of scriptPrepareForRun; raises CommandError."""
        srv = self.server
        if not flags & EVAL_COMPAT_MODE and flags & NO_CLUSTER and srv.cluster is not None:
            raise CommandError("Can not run script on cluster, 'no-cluster' flag is set.")
        if flags & EVAL_COMPAT_MODE or flags & NO_WRITES:
            return
        repl = srv.replication
        obey = c is repl.link or srv.loading  # mustObeyClient
        if repl.masterhost is not None and srv.config.replica_read_only and not obey:
            raise CommandError("Can not run script with write flag on readonly replica", "READONLY")
        deny = self.server.deny_write_reply
        if deny is not None and not obey:
            why = deny[2:].decode("utf-8", "replace").strip()
            why = why.split(": ", 1)[1] if ": " in why else why
            raise CommandError(
                "Redis is configured to persist data to AOF, but it's currently unable to persist "
                "to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. "
                f"AOF error: {why}", "MISCONF")
        if ro:
            raise CommandError("Can not execute a script with write flag using *_ro command.")
        if not repl.enough_good_replicas():
            raise CommandError("Not enough good replicas to write.", "NOREPLICAS")
        if srv.pre_command_oom_state and srv.config.maxmemory and not flags & ALLOW_OOM:
            raise CommandError("allow-oom flag is not set on the script, can not run it when used "
                               "memory > 'maxmemory'", "OOM")

    def call_function(self, c: Any, state: LuaState, func: Any, keys: list[bytes], args: list[bytes],
                      funcname: bytes, flags: int, ro: bool, is_eval: bool, argv: list[bytes]) -> bytes:
        srv = self.server
        read_only = ro or (not flags & EVAL_COMPAT_MODE and bool(flags & NO_WRITES))
        run = RunCtx(c, funcname, is_eval, read_only, argv,
                     allow_oom=not flags & EVAL_COMPAT_MODE and bool(flags & ALLOW_OOM),
                     allow_cross_slot=bool(flags & EVAL_COMPAT_MODE or flags & ALLOW_CROSS_SLOT),
                     slot=key_hash_slot(keys[0]) if keys and srv.cluster is not None else -1)
        sc = self.client
        sc.db = c.db
        sc.resp = 2
        sc.user = c.user  # scriptCall: the script's commands run as its caller's user
        prop = srv.propagator
        self.run = run
        prop.depth += 1
        threshold = srv.config.busy_reply_threshold
        try:
            with srv.keyspace.time_snapshot():
                reply, counted = state.api.run(func, state.table_of(keys), state.table_of(args), funcname,
                                               is_eval, c.resp, threshold > 0 and not srv.loading)
            c.error_counted = counted
        finally:
            prop.depth -= 1
            self.run = None
            if run.timed_out:
                log.warning("Script %s finished after %.0f ms", funcname.decode(errors="replace"),
                            (time.monotonic() - run.start) * 1000)
        return bytes(reply)

    def _acl_refused(self, cmd: Command, argv: list[bytes]) -> bytes | None:
        """scriptVerifyACL: the caller's user must be allowed the command (logged as
        context ``lua``)."""
        sc = self.client
        if sc.user is None:
            return None
        acl = self.server.acl
        res, pos = acl.check(sc.user, cmd, argv)
        if not res:
            return None
        acl.log_denied(sc, res, "lua", cmd, argv, pos)
        return b"The user executing the script " + _ACL_SCRIPT_ERRORS.get(res, b"lacking the permissions for the command")

    def _cluster_refused(self, cmd: Any, argv: list[bytes]) -> bytes | None:
        """scriptVerifyClusterState: a script's commands touch only keys this node serves,
        of one slot unless the script allows cross-slot keys (None: allowed)."""
        run = self.run
        srv = self.server
        assert run is not None
        if run.caller is srv.replication.link or srv.loading:  # mustObeyClient
            return None
        sc = self.client
        sc.asking, sc.cluster_readonly = run.caller.asking, run.caller.cluster_readonly
        redirect = srv.cluster.redirect(sc, cmd, argv)
        if redirect is not None:
            if redirect.startswith(b"-CLUSTERDOWN The cluster is down and only"):
                return b"Script attempted to execute a write command while the cluster is down and readonly"
            if redirect.startswith(b"-CLUSTERDOWN The cluster is down"):
                return b"Script attempted to execute a command while the cluster is down"
            return b"Script attempted to access a non local key in a cluster node"
        keys = cmd.keys(argv)
        if keys and not run.allow_cross_slot:
            slot = key_hash_slot(keys[0])
            if run.slot == -1:
                run.slot = slot
            elif run.slot != slot:
                return b"Script attempted to access keys that do not hash to the same slot"
        return None

    def _write_refused(self) -> bytes | None:
        """scriptVerifyWriteCommandAllow's server-state checks for a script's first write:
        a read-only replica, a persistence error, too few good replicas (None: allowed)."""
        srv = self.server
        repl = srv.replication
        obey = self.run is not None and (self.run.caller is repl.link or srv.loading)
        if repl.masterhost is not None and srv.config.replica_read_only and not obey:
            return b"-READONLY You can't write against a read only replica."
        if srv.deny_write_reply is not None and not srv.loading:
            return srv.deny_write_reply.rstrip(b"\r\n")
        if not repl.enough_good_replicas():
            return b"-NOREPLICAS Not enough good replicas to write."
        return None

    # -- callbacks from Lua ---------------------------------------------------------------
    def lua_call(self, state: LuaState, argv_t: tuple[Any, ...], raise_error: bool) -> Any:
        """luaRedisGenericCommand + scriptCall: run one command for redis.call / redis.pcall."""
        run = self.run
        if run is None:
            return self._fail(state, b"redis.call/pcall can only be called inside a script invocation",
                              True)
        from engine.scripting.runtime import lua_argv

        try:
            argv = lua_argv(state, argv_t)
        except LuaTableError as exc:
            if raise_error:
                raise
            return exc.table
        srv = self.server
        cmd = lookup_command(argv)
        err: bytes | None = None
        if cmd is None:
            err = b"Unknown Redis command called from script"
        elif (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
            err = b"Wrong number of args calling Redis command from script"
        elif ("noscript" in cmd.flags or cmd.name in NOSCRIPT_COMMANDS) and not srv.script_disable_deny_script:
            err = b"This Redis command is not allowed from script"
        elif (acl_err := self._acl_refused(cmd, argv)) is not None:
            err = acl_err  # scriptVerifyACL
        elif run.read_only and (cmd.is_write or "may_replicate" in cmd.flags):
            err = b"Write commands are not allowed from read-only scripts."
        elif cmd.is_write and not run.dirty and (why := self._write_refused()) is not None:
            err = why  # scriptVerifyWriteCommandAllow
        elif (not run.allow_oom and "denyoom" in cmd.flags and not run.dirty and srv.config.maxmemory
              and srv.pre_command_oom_state and not srv.loading):  # scriptVerifyOOM
            err = b"-OOM command not allowed when used memory > 'maxmemory'."
        elif srv.cluster is not None and (why := self._cluster_refused(cmd, argv)) is not None:
            err = why
        if err is not None:
            full = err if err[:1] == b"-" else b"-ERR " + err
            srv.count_error(full + b"\r\n")
            if cmd is not None:
                st = srv.cmdstats.get(cmd)
                if st is None:
                    st = srv.cmdstats[cmd] = [0, 0, 0, 0]
                st[2] += 1
            table = state.error_table(err, True)
            if raise_error:
                raise LuaTableError(table)
            return table
        assert cmd is not None
        if cmd.is_write:
            run.dirty = True
        prop = srv.propagator
        n_ops = len(prop.ops)
        reply = call(self.client, cmd, argv)
        if not run.repl & 1:  # redis.set_repl without REPL_AOF: nothing reaches the log
            del prop.ops[n_ops:]
        if reply is None:  # cannot block (DENY_BLOCKING); defensive
            reply = NULL_BULK
        value = state.from_reply(reply)
        if raise_error and reply[:1] == b"-":
            raise LuaTableError(value)
        return value

    @staticmethod
    def _fail(state: LuaState, msg: bytes, raise_error: bool) -> Any:
        table = state.error_table(msg)
        if raise_error:
            raise LuaTableError(table)
        return table

    def lua_log(self, level: int, msg: bytes) -> None:
        log.log(_LOG_LEVELS[int(level)], "%s", msg.decode("utf-8", "replace"))

    def lua_setresp(self, resp: int) -> None:
        self.client.resp = int(resp)

    def lua_set_repl(self, flags: int) -> None:
        if self.run is not None:
            self.run.repl = int(flags)

    def lua_acl_check(self, argv: list[bytes]) -> bool | None:
        """redis.acl_check_cmd: None for an unknown command, else whether the caller's
        user may run it."""
        cmd = lookup_command(argv)
        if cmd is None:
            return None
        run = self.run
        user = run.caller.user if run is not None else None
        return user is None or self.server.acl.check(user, cmd, argv)[0] == 0

    def lua_interrupt(self) -> Any:
        """The count hook: scriptInterrupt (or the FUNCTION LOAD timeout)."""
        if self.load_deadline is not None:
            return b"load" if time.monotonic() > self.load_deadline else False
        run = self.run
        if run is None:
            return False
        if not run.timed_out:
            elapsed = (time.monotonic() - run.start) * 1000
            if elapsed < self.server.config.busy_reply_threshold:
                return False
            log.warning("Slow script detected: still in execution after %d milliseconds. "
                        "You can try killing the script using the %s command. Script name is: %s.",
                        int(elapsed), "SCRIPT KILL" if run.is_eval else "FUNCTION KILL",
                        run.funcname.decode(errors="replace"))
            run.timed_out = True
        if self.while_busy is not None:
            self.while_busy(self, run)
        if run.killed:
            log.warning("Lua script killed by user with SCRIPT KILL.")
            return b"kill"
        return False

    # -- SCRIPT KILL / FUNCTION KILL (scriptKill) -----------------------------------------
    def kill(self, is_eval: bool) -> None:
        run = self.run
        if run is None:
            raise CommandError("No scripts in execution right now.", "NOTBUSY")
        if run.dirty:
            raise CommandError(
                "Sorry the script already executed write commands against the dataset. You can "
                "either wait the script termination or kill the server in a hard way using the "
                "SHUTDOWN NOSAVE command.", "UNKILLABLE")
        if is_eval and not run.is_eval:
            raise CommandError(BUSY_FUNCTION[6:-2].decode(), "BUSY")
        if not is_eval and run.is_eval:
            raise CommandError(BUSY_EVAL[6:-2].decode(), "BUSY")
        run.killed = True

    def memory(self) -> int:
        return self.lua.memory()

    def info_fields(self) -> dict[str, int]:
        """``used_memory_lua`` / ``number_of_cached_scripts`` / functions counts for INFO
        (what an idle Lua state weighs until one exists)."""
        f = self.functions
        return {"used_memory_lua": self._lua.memory() if self._lua is not None else FRESH_LUA_MEMORY,
                "used_memory_scripts": self.scripts_mem, "number_of_cached_scripts": len(self.scripts),
                "number_of_functions": len(f.functions), "number_of_libraries": len(f.libraries)}


__all__ = ["BUSY_EVAL", "BUSY_FUNCTION", "EVAL_COMPAT_MODE", "FLAG_NAMES", "FRESH_LUA_MEMORY", "NOSCRIPT", "NO_WRITES",
           "RunCtx", "Script", "Scripting", "lookup_command", "shebang_flags", "split_args"]
