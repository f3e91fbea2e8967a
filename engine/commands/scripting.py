"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (``eval.c``), on :mod:`engine.scripting`.

Scripts replicate their effects: EVAL is never logged itself (it joins
``registry.NO_SELF_PROPAGATE`` before it registers), the write commands it ran
are, wrapped in MULTI/EXEC when there are several.
"""

from __future__ import annotations

from aof.replies import OK, ONE, ZERO, Simple, array, bulk, encode
from engine.commands.arguments import get_int
from engine.errors import CommandError
from engine.execution import registry
from engine.execution.registry import command, container, subcommand
from engine.scripting.eval import NOSCRIPT

registry.NO_SELF_PROPAGATE.update({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})

G = "scripting"
_EVAL_FLAGS = "noscript skip_monitor may_replicate no_mandatory_keys stale"
_EVAL_RO_FLAGS = "noscript skip_monitor no_mandatory_keys stale readonly"


def numkeys_positions(argv: list[bytes]) -> list[int]:
    """Key positions of the ``<script> numkeys key...`` forms (EVAL, FCALL)."""
    n = int(argv[2])
    return list(range(3, min(3 + max(n, 0), len(argv))))


def help_reply(c, argv: list[bytes], lines: list[str]) -> bytes:
    """addReplyHelp."""
    head = f"{argv[0].decode('utf-8', 'replace').upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    return encode([Simple(x) for x in [head, *lines, "HELP", "    Prints this help."]], c.resp)


def feed_monitors_first(c, argv: list[bytes]) -> None:
    """evalCommand/fcallCommandGeneric: the script command reaches MONITOR before the
    commands its script runs (the table marks it skip_monitor for call())."""
    srv = c.server
    if srv.monitors and not srv.keyspace.loading:
        srv.feed_monitors(c, argv)


def parse_numkeys(c, argv: list[bytes], msg: str | None = None) -> int:
    numkeys = get_int(argv[2], msg)
    if numkeys > len(argv) - 3:
        raise CommandError("Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise CommandError("Number of keys can't be negative")
    return numkeys


def _eval(c, argv: list[bytes], evalsha: bool, ro: bool) -> bytes:
    feed_monitors_first(c, argv)
    if evalsha and len(argv[1]) != 40:
        return NOSCRIPT
    numkeys = parse_numkeys(c, argv)
    host = c.server.scripting
    if evalsha:
        sha = argv[1].lower()
        script = host.scripts.get(sha)
        if script is None:
            return NOSCRIPT
    else:
        sha, script = host.create(argv[1])
    host.prepare(c, script.flags, ro)
    keys = argv[3:3 + numkeys]
    args = argv[3 + numkeys:]
    return host.call_function(c, host.lua, script.func, keys, args, sha, script.flags, ro, True, argv)


@command("eval", -3, _EVAL_FLAGS, group=G, keys=numkeys_positions, since="2.6.0")
def eval_cmd(c, argv):
    return _eval(c, argv, False, False)


@command("evalsha", -3, _EVAL_FLAGS, group=G, keys=numkeys_positions, since="2.6.0")
def evalsha_cmd(c, argv):
    return _eval(c, argv, True, False)


@command("eval_ro", -3, _EVAL_RO_FLAGS, group=G, keys=numkeys_positions, since="7.0.0")
def eval_ro_cmd(c, argv):
    return _eval(c, argv, False, True)


@command("evalsha_ro", -3, _EVAL_RO_FLAGS, group=G, keys=numkeys_positions, since="7.0.0")
def evalsha_ro_cmd(c, argv):
    return _eval(c, argv, True, True)


SCRIPT = container("script", -2, group=G, since="2.6.0")

_HELP = [
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
]


@subcommand(SCRIPT, "help", 2, "loading stale", since="5.0.0")
def script_help(c, argv):
    return help_reply(c, argv, _HELP)


@subcommand(SCRIPT, "load", 3, "noscript stale")
def script_load(c, argv):
    sha, _ = c.server.scripting.create(argv[2])
    return bulk(sha)


@subcommand(SCRIPT, "exists", -3, "noscript")
def script_exists(c, argv):
    scripts = c.server.scripting.scripts
    return array([ONE if a.lower() in scripts else ZERO for a in argv[2:]])


@subcommand(SCRIPT, "flush", -2, "noscript")
def script_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise CommandError("SCRIPT FLUSH only support SYNC|ASYNC option")
    c.server.scripting.flush()
    return OK


@subcommand(SCRIPT, "kill", 2, "noscript allow_busy")
def script_kill(c, argv):
    c.server.scripting.kill(True)
    return OK


@subcommand(SCRIPT, "debug", 3, "noscript", since="3.2.0")
def script_debug(c, argv):
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise CommandError("SCRIPT DEBUG (the Lua debugger) is not supported by this server")
    raise CommandError("Use SCRIPT DEBUG YES/SYNC/NO")
