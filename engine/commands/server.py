"""Server commands: INFO CONFIG COMMAND DEBUG SLOWLOG MONITOR SHUTDOWN."""

from __future__ import annotations

import os

from aof.replies import (
    OK,
    Map,
    SetReply,
    Simple,
    Verbatim,
    encode,
    integer,
)
from engine import config as cfgmod
from engine.commands.arguments import get_int
from engine.commands.connection import redact
from engine.errors import CommandError, SyntaxErr
from engine.execution import command_keys
from engine.execution.meta import KEY_FLAG_ORDER, docs_fields, key_specs_reply
from engine.execution.registry import TABLE, Command, command, container, subcommand
from rdbtools.glob import glob_match
from rdbtools.io import write_atomically

G = "server"


# -- INFO --------------------------------------------------------------------

_DEFAULT = ["server", "clients", "memory", "persistence", "stats", "replication", "cpu",
            "modules", "errorstats", "cluster", "keyspace"]
# genRedisInfoString's order
_TITLES = {"server": "Server", "clients": "Clients", "memory": "Memory", "persistence": "Persistence",
           "stats": "Stats", "replication": "Replication", "cpu": "CPU", "modules": "Modules",
           "commandstats": "Commandstats", "errorstats": "Errorstats", "latencystats": "Latencystats",
           "cluster": "Cluster", "keyspace": "Keyspace"}


def render_info(srv, names: list[str]) -> str:
    """INFO's text: each wanted section from its provider (``Server.info_sections``, one per
    subsystem; engine.server.info), in Redis's order, once."""
    sections = srv.info_sections
    wanted: list[str] = []
    if not names:
        wanted = list(_DEFAULT)
    for n in names:
        n = n.lower()
        if n == "default":
            wanted += _DEFAULT
        elif n in ("all", "everything"):
            wanted += list(_TITLES)
        elif n in sections:
            wanted.append(n)
    out = []
    seen = set()
    for n in [w for w in _TITLES if w in wanted]:
        if n in seen:
            continue
        seen.add(n)
        if out:
            out.append("")
        out.append(f"# {_TITLES[n]}")
        out += [f"{k}:{v}" for k, v in sections[n]()]
    return "\r\n".join(out) + ("\r\n" if out else "")


@command("info", -1, "loading stale", group=G)
def info_cmd(c, argv):
    text = render_info(c.server, [a.decode("utf-8", "replace") for a in argv[1:]])
    return encode(Verbatim(text.encode()), c.resp)


# -- CONFIG --------------------------------------------------------------------

CONFIG = container("config", -2, group=G)


@subcommand(CONFIG, "get", -3, "admin noscript loading stale", since="2.0.0")
def config_get(c, argv):
    cfg = c.server.config
    names: dict[str, str] = {}  # configGetCommand's `matches`: names compare without case
    for a in argv[2:]:
        for n in cfg.matching(a):
            names.setdefault(n.lower(), n)
    pairs = Map((n, cfg.render(low)) for low, n in names.items())
    return encode(pairs, c.resp)


# SENSITIVE_CONFIG: MONITOR and the slow log show their CONFIG SET values as "(redacted)"
_SENSITIVE_CONFIGS = frozenset(("masteruser", "masterauth", "requirepass"))


@subcommand(CONFIG, "set", -4, "admin noscript loading stale", since="2.0.0")
def config_set(c, argv):
    if len(argv) % 2:  # name/value pairs
        raise CommandError("syntax error")
    cfg = c.server.config
    pairs = []
    seen: set[str] = set()
    values = argv[3::2]
    for j in range(2, len(argv), 2):  # every sensitive value is redacted, errors or not
        spec = cfgmod.lookup(argv[j].decode("utf-8", "surrogateescape"))
        if spec is not None and spec.name in _SENSITIVE_CONFIGS:
            redact(argv, j + 1, j + 2)
    for j in range(2, len(argv), 2):
        name = argv[j].decode("utf-8", "surrogateescape")
        spec = cfgmod.lookup(name)
        if spec is None:
            raise CommandError(f"Unknown option or number of arguments for CONFIG SET - '{name}'")
        # before any value is looked at, as configSetCommand's first pass
        if not spec.mutable:
            raise CommandError(f"CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
        if spec.protected and not cfgmod.allow_protected_action(cfg.enable_protected_configs, c.local):
            raise CommandError(f"CONFIG SET failed (possibly related to argument '{name}') - can't set protected config")
        if spec.name in seen:
            raise CommandError(f"CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter")
        seen.add(spec.name)
        pairs.append((name, spec, values[j // 2 - 1].decode("utf-8", "surrogateescape")))
    backup = dict(cfg.values)
    try:
        for name, spec, val in pairs:
            if spec.name in ("client-output-buffer-limit", "latency-tracking-info-percentiles"):
                # performInterfaceSet: sdssplitlen(" ")
                args = val.split(" ") if val else []
            else:
                args = val.split() if spec.kind in ("special", "words") and not spec.one_arg else [val]
            if spec.kind == "special" and not args and spec.name == "save":
                args = [""]
            try:
                cfg.apply(name, args, startup=False)
            except cfgmod.ConfigValueError as exc:
                raise CommandError(f"CONFIG SET failed (possibly related to argument '{name}') - {exc}") from None
    except CommandError:
        for n, v in backup.items():
            cfg._store(cfgmod.lookup(n), v)  # type: ignore[arg-type]
        raise
    try:
        c.server.config_changed([p[1].name for p in pairs])
    except cfgmod.ConfigError as exc:  # an apply failed (appendonly yes, port): roll back
        for n, v in backup.items():
            cfg._store(cfgmod.lookup(n), v)  # type: ignore[arg-type]
        failed = getattr(exc, "config", "appendonly")
        name = next((p[0] for p in pairs if p[1].name == failed), pairs[0][0])
        try:  # restoreBackupConfig applies the old values again
            c.server.config_changed([p[1].name for p in pairs if p[1].name != failed])
        except cfgmod.ConfigError:
            pass
        raise CommandError(f"CONFIG SET failed (possibly related to argument '{name}') - {exc}") from None
    return OK


@subcommand(CONFIG, "resetstat", 2, "admin noscript loading stale", since="2.0.0")
def config_resetstat(c, argv):
    c.server.reset_stats()
    return OK


@subcommand(CONFIG, "rewrite", 2, "admin noscript loading stale", since="2.8.0")
def config_rewrite(c, argv):
    path = c.server.config.config_file
    if not path:
        raise CommandError("The server is running without a config file")
    try:
        rewrite_config_file(path, c.server.config, c.server.acl.config_lines())
    except OSError as exc:
        raise CommandError(f"Rewriting config file: {exc.strerror}") from None
    return OK


def rewrite_config_file(path: str, cfg, users: list[str] | tuple[str, ...] = (),
                        force_all: bool = False) -> None:
    """Keep comments and unknown lines; rewrite directives we manage as
    rewriteConfigRewriteLine does: a directive's lines reuse the old lines' places in
    order, a forced one (non-default) without a place left is appended, and old lines
    left over are dropped. ``users`` are the ``user`` lines (rewriteConfigUserOption).
    With *force_all* (DEBUG CONFIG-REWRITE-FORCE-ALL) every line is forced."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            old = fh.read().splitlines()
    except FileNotFoundError:
        old = []
    out: list[str | None] = []
    places: dict[str, list[int]] = {}
    for line in old:
        st = line.strip()
        spec = None
        if st and not st.startswith("#"):
            try:
                first = cfgmod.split_args(st)[0]
                spec = cfgmod.lookup(first)
            except (ValueError, IndexError):
                first, spec = "", None
            if first.lower() == "user":
                places.setdefault("user", []).append(len(out))
                out.append(None)
                continue
        if spec is not None:
            places.setdefault(spec.name, []).append(len(out))
            out.append(None)  # dropped unless a new line takes its place
        else:
            out.append(line)
    for line, force in [*cfg.rewrite_lines(), *((u, True) for u in users)]:
        free = places.get(line.split(" ", 1)[0])
        if free:
            out[free.pop(0)] = line
        elif force or force_all:
            out.append(line)
    out = [ln for ln in out if ln is not None]
    text = ("\n".join(out) + "\n").encode("utf-8", "surrogateescape")
    write_atomically(path, text, temp_name=os.path.basename(path) + ".tmp-rdbkit", lz4=False)


@subcommand(CONFIG, "help", 2, "loading stale", since="5.0.0")
def config_help(c, argv):
    lines = ["CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
             "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
             "RESETSTAT", "    Reset statistics reported by the INFO command.",
             "REWRITE", "    Rewrite the configuration file.",
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)


# -- COMMAND -----------------------------------------------------------------

def _key_specs(cmd: Command) -> SetReply:
    if cmd.meta is not None:
        return SetReply(key_specs_reply(cmd.meta.key_specs))
    if cmd.first <= 0:
        return SetReply()
    last = cmd.last - cmd.first if cmd.last >= 0 else cmd.last
    flags = [Simple("RW" if cmd.is_write else "RO")]
    spec = Map([("flags", SetReply(flags)),
                ("begin_search", Map([("type", "index"), ("spec", Map([("index", cmd.first)]))])),
                ("find_keys", Map([("type", "range"),
                                   ("spec", Map([("lastkey", last), ("keystep", cmd.step),
                                                 ("limit", 0)]))]))])
    return SetReply([spec])


def command_info(cmd: Command) -> list[object]:
    """addReplyCommandInfo."""
    meta = cmd.meta
    arity = meta.arity if meta is not None and meta.arity else cmd.arity
    first, last, step = cmd.legacy_keys()
    return [cmd.name, arity, SetReply(Simple(f) for f in cmd.info_flags()),
            first, last, step, SetReply(Simple(x) for x in cmd.acl_categories()),
            SetReply(meta.tips if meta is not None else ()), _key_specs(cmd),  # addReplyCommandKeySpecs: a set
            [command_info(s) for s in cmd.subcommands.values()] if cmd.subcommands else SetReply()]


def command_docs(cmd: Command) -> Map:
    """addReplyCommandDocs."""
    meta = cmd.meta
    if meta is not None and meta.arity:
        doc = Map([("summary", meta.summary), ("since", meta.since), ("group", meta.group)])
    else:
        doc = Map([("summary", cmd.summary or f"{cmd.name.upper()} command"), ("since", cmd.since),
                   ("group", cmd.group)])
    if meta is not None:
        doc += docs_fields(meta)
    if cmd.subcommands:
        doc.append(("subcommands", Map((s.name, command_docs(s)) for s in cmd.subcommands.values())))
    return doc


def _all_commands() -> list[Command]:
    return list(TABLE.commands.values())


def _command_all(c, argv):
    return encode([command_info(x) for x in _all_commands()], c.resp)


COMMAND = container("command", -1, "loading stale", group=G, since="2.8.13", proc=_command_all)


@subcommand(COMMAND, "count", 2, "loading stale", since="2.8.13")
def command_count(c, argv):
    return integer(len(TABLE.commands))


@subcommand(COMMAND, "info", -2, "loading stale", since="2.8.13")
def command_info_cmd(c, argv):
    if len(argv) == 2:
        return _command_all(c, argv)
    return encode([command_info(x) if x is not None else None
                   for x in (_lookup_any(a) for a in argv[2:])], c.resp)


@subcommand(COMMAND, "docs", -2, "loading stale", since="7.0.0")
def command_docs_cmd(c, argv):
    cmds = _all_commands() if len(argv) == 2 else [x for x in (_lookup_any(a) for a in argv[2:]) if x]
    return encode(Map((x.name, command_docs(x)) for x in cmds), c.resp)


@subcommand(COMMAND, "list", -2, "loading stale", since="7.0.0")
def command_list(c, argv):
    """commandListCommand: every command and subcommand, or those FILTERBY MODULE
    (none: this server loads no modules), ACLCAT or PATTERN (nocase glob on the full name)."""
    keep = None
    i = 2
    while i < len(argv):  # the last FILTERBY wins, as in Redis
        if argv[i].lower() == b"filterby" and len(argv) - 1 - i == 2:
            kind, arg = argv[i + 1].lower(), argv[i + 2]
            if kind == b"module":
                keep = _no_command
            elif kind == b"aclcat":
                cat = "@" + arg.decode("utf-8", "replace").lower()
                keep = lambda cmd, cat=cat: cat in cmd.acl_categories()  # noqa: E731
            elif kind == b"pattern":
                keep = lambda cmd, arg=arg: glob_match(arg, cmd.name.encode(), True)  # noqa: E731
            else:
                raise SyntaxErr()
            i += 3
        else:
            raise SyntaxErr()
    names = []
    for x in _all_commands():
        for cmd in (x, *x.subcommands.values()):
            if keep is None or keep(cmd):
                names.append(cmd.name)
    return encode(names, c.resp)


def _no_command(cmd: Command) -> bool:
    return False


def _getkeys(c, argv, with_flags: bool) -> bytes:
    """getKeysSubcommandImpl: lookup, "has keys", arity, then the keys (and their key-spec
    flags); none found is an empty reply for a command whose keys are optional."""
    args = argv[2:]
    cmd = _lookup_any(args[0])
    if cmd is not None and cmd.subcommands and len(args) >= 2:
        cmd = cmd.subcommands.get(args[1].lower())
    if cmd is None:
        raise CommandError("Invalid command specified")
    if not command_keys.has_keys(cmd):
        raise CommandError("The command has no key arguments")
    if (cmd.arity > 0 and cmd.arity != len(args)) or len(args) < -cmd.arity:
        raise CommandError("Invalid number of arguments specified for command")
    found = command_keys.keys_and_flags(cmd, args)
    if not found and "no_mandatory_keys" not in cmd.flags:
        raise CommandError("Invalid arguments specified for command")
    if not with_flags:
        return encode([args[pos] for pos, _ in found], c.resp)
    return encode([[args[pos], SetReply(Simple(f) for f in KEY_FLAG_ORDER if f in flags)]
                   for pos, flags in found], c.resp)


@subcommand(COMMAND, "getkeys", -4, "loading stale", since="2.8.13")
def command_getkeys(c, argv):
    return _getkeys(c, argv, False)


@subcommand(COMMAND, "getkeysandflags", -4, "loading stale", since="7.0.0")
def command_getkeysandflags(c, argv):
    return _getkeys(c, argv, True)


@subcommand(COMMAND, "help", 2, "loading stale", since="5.0.0")
def command_help(c, argv):
    lines = ["COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "(no subcommand)", "    Return details about all Redis commands.",
             "COUNT", "    Return the total number of commands in this Redis server.",
             "LIST", "    Return a list of all commands in this Redis server.",
             "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
             "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
             "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)


def _lookup_any(name: bytes) -> Command | None:
    low = name.lower()
    if b"|" in low:
        parent, sub = low.split(b"|", 1)
        p = TABLE.lookup.get(parent)
        return p.subcommands.get(sub) if p else None
    return TABLE.lookup.get(low)


# -- DEBUG / SLOWLOG / MONITOR / SHUTDOWN -------------------------------------------

SLOWLOG = container("slowlog", -2, group=G, since="2.2.12")


@subcommand(SLOWLOG, "get", -2, "admin loading stale")
def slowlog_get(c, argv):
    n = 10
    if len(argv) == 3:
        n = get_int(argv[2], "count should be greater than or equal to -1")
        if n < -1:
            raise CommandError("count should be greater than or equal to -1")
        if n == -1:
            n = len(c.server.slowlog)
    elif len(argv) > 3:
        raise CommandError("wrong number of arguments for 'slowlog|get' command")
    entries = list(c.server.slowlog)[:n]
    return encode([[e[0], e[1], e[2], e[3], e[4], e[5]] for e in entries], c.resp)


@subcommand(SLOWLOG, "len", 2, "admin loading stale")
def slowlog_len(c, argv):
    return integer(len(c.server.slowlog))


@subcommand(SLOWLOG, "reset", 2, "admin loading stale")
def slowlog_reset(c, argv):
    c.server.slowlog.clear()
    return OK


@subcommand(SLOWLOG, "help", 2, "loading stale")
def slowlog_help(c, argv):
    lines = ["SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
             "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
             "    client name", "LEN", "    Return the length of the slowlog.",
             "RESET", "    Reset the slowlog.", "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)


@command("monitor", 1, "admin noscript loading stale", group=G)
def monitor_cmd(c, argv):
    if c.in_exec:
        raise CommandError("MONITOR isn't allowed in a transaction")
    if not c.monitor:
        c.monitor = True
        c.server.monitors.append(c)
    return OK


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group=G)
def shutdown_cmd(c, argv):
    """The options and the sequence are the server's (engine.server.shutdown)."""
    return c.server.shutdown.command(c, argv[1:])


# -- SAVE / BGSAVE ---------------------------------------------------------------------

@command("save", 1, "admin noscript no_async_loading no_multi", group=G)
def save_cmd(c, argv):
    rdb = c.server.rdb
    if rdb.child_pid:
        raise CommandError("Background save already in progress")
    rdb.save()
    return OK


@command("bgsave", -1, "admin noscript no_async_loading", group=G)
def bgsave_cmd(c, argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise SyntaxErr()
    srv = c.server
    rdb = srv.rdb
    if rdb.child_pid:
        if len(argv) == 2:
            return b"+Background saving scheduled\r\n"
        raise CommandError("Background save already in progress")
    if srv.has_active_child():  # an AOF rewrite
        if len(argv) == 2:
            rdb.bgsave_scheduled = True
            return b"+Background saving scheduled\r\n"
        raise CommandError("Another child process is active (AOF?): can't BGSAVE right now. "
                           "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    rdb.bgsave()
    return b"+Background saving started\r\n"


# -- BGREWRITEAOF ----------------------------------------------------------------------

@command("bgrewriteaof", 1, "admin noscript no_async_loading", group=G, since="1.0.0")
def bgrewriteaof_cmd(c, argv):
    return c.server.aof.bgrewriteaof(c.in_exec)
