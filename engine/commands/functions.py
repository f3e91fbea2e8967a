"""FCALL, FCALL_RO and FUNCTION (``functions.c``), on :mod:`engine.scripting.functions`.

FUNCTION LOAD/DELETE/FLUSH/RESTORE change the dataset (``dirty``) and are logged as
sent; FCALL is logged as the commands the function ran (see
:mod:`engine.commands.scripting`, which adds it to ``NO_SELF_PROPAGATE``).
"""

from __future__ import annotations

import time

from aof.replies import OK, Map, SetReply, Simple, bulk, encode
from engine.commands.scripting import (
    feed_monitors_first,
    help_reply,
    numkeys_positions,
    parse_numkeys,
)
from engine.errors import CommandError
from engine.execution.registry import TABLE, command, container, subcommand
from engine.scripting import SCRIPT_COMMANDS, script_flags
from engine.scripting.eval import BUSY_EVAL, FLAG_NAMES
from rdbtools.glob import glob_match

G = "scripting"


def _fcall(c, argv: list[bytes], ro: bool) -> bytes:
    feed_monitors_first(c, argv)
    funcs = c.server.scripting.functions
    fi = funcs.functions.get(argv[1].lower())
    if fi is None:
        raise CommandError("Function not found")
    numkeys = parse_numkeys(c, argv, "Bad number of keys provided")
    host = c.server.scripting
    host.prepare(c, fi.flags, ro)
    keys = argv[3:3 + numkeys]
    args = argv[3 + numkeys:]
    return host.call_function(c, funcs.lua, fi.func, keys, args, fi.name, fi.flags, ro, False, argv)


@command("fcall", -3, "noscript skip_monitor may_replicate no_mandatory_keys stale", group=G,
         keys=numkeys_positions, since="7.0.0")
def fcall_cmd(c, argv):
    return _fcall(c, argv, False)


@command("fcall_ro", -3, "noscript skip_monitor no_mandatory_keys stale readonly", group=G,
         keys=numkeys_positions, since="7.0.0")
def fcall_ro_cmd(c, argv):
    return _fcall(c, argv, True)


FUNCTION = container("function", -2, group=G, since="7.0.0")


def _syntax(argv: list[bytes]) -> CommandError:
    """addReplySubcommandSyntaxError."""
    return CommandError(
        f"unknown subcommand or wrong number of arguments for '{argv[1][:128].decode('utf-8', 'replace')}'. "
        f"Try {argv[0].decode('utf-8', 'replace').upper()} HELP.")


@subcommand(FUNCTION, "load", -3, "noscript write denyoom")
def function_load(c, argv):
    replace = False
    pos = 2
    while pos < len(argv) - 1:
        arg = argv[pos]
        pos += 1
        if arg.lower() == b"replace":
            replace = True
            continue
        raise CommandError(f"Unknown option given: {arg.decode('utf-8', 'surrogateescape')}")
    if pos >= len(argv):
        raise CommandError("Function code is missing")
    srv = c.server
    name = srv.scripting.functions.load(argv[pos], replace, 0 if srv.loading else 500)
    srv.dirty += 1
    return bulk(name)


@subcommand(FUNCTION, "delete", 3, "noscript write")
def function_delete(c, argv):
    c.server.scripting.functions.delete(argv[2])
    c.server.dirty += 1
    return OK


@subcommand(FUNCTION, "flush", -2, "noscript write")
def function_flush(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise CommandError("FUNCTION FLUSH only supports SYNC|ASYNC option")
    c.server.scripting.functions.flush()
    c.server.dirty += 1
    return OK


def _flags(flags: int) -> SetReply:
    return SetReply(Simple(name) for name, bit in FLAG_NAMES if flags & bit)


@subcommand(FUNCTION, "list", -2, "noscript")
def function_list(c, argv):
    with_code = False
    pattern: bytes | None = None
    i = 2
    while i < len(argv):
        arg = argv[i]
        if not with_code and arg.lower() == b"withcode":
            with_code = True
        elif pattern is None and arg.lower() == b"libraryname":
            if i >= len(argv) - 1:
                raise CommandError("library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise CommandError(f"Unknown argument {arg.decode('utf-8', 'surrogateescape')}")
        i += 1
    out = []
    for lib in c.server.scripting.functions.libraries.values():
        if pattern is not None and not glob_match(pattern, lib.name, nocase=True):
            continue
        funcs = [Map([("name", f.name), ("description", f.desc), ("flags", _flags(f.flags))])
                 for f in lib.functions.values()]
        entry = [("library_name", lib.name), ("engine", "LUA"), ("functions", funcs)]
        if with_code:
            entry.append(("library_code", lib.code))
        out.append(Map(entry))
    return encode(out, c.resp)


@subcommand(FUNCTION, "dump", 2, "noscript")
def function_dump(c, argv):
    return bulk(c.server.scripting.functions.dump())


@subcommand(FUNCTION, "restore", -3, "noscript write denyoom")
def function_restore(c, argv):
    if len(argv) > 4:
        raise _syntax(argv)
    policy = "append"
    if len(argv) == 4:
        p = argv[3].lower()
        if p not in (b"append", b"replace", b"flush"):
            raise CommandError("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
        policy = p.decode()
    c.server.scripting.functions.restore(argv[2], policy)
    c.server.dirty += 1
    return OK


@subcommand(FUNCTION, "stats", 2, "noscript allow_busy")
def function_stats(c, argv):
    host = c.server.scripting
    run = host.run
    if run is not None and run.is_eval:
        return BUSY_EVAL
    funcs = c.server.scripting.functions
    running = None
    if run is not None:
        running = Map([("name", run.funcname), ("command", list(run.argv)),
                       ("duration_ms", int((time.monotonic() - run.start) * 1000))])
    engines = Map([("LUA", Map([("libraries_count", len(funcs.libraries)),
                                ("functions_count", len(funcs.functions))]))])
    return encode(Map([("running_script", running), ("engines", engines)]), c.resp)


@subcommand(FUNCTION, "kill", 2, "noscript allow_busy")
def function_kill(c, argv):
    c.server.scripting.kill(False)
    return OK


_HELP = [
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
]


@subcommand(FUNCTION, "help", 2, "loading stale")
def function_help(c, argv):
    return help_reply(c, argv, _HELP)


for _name in SCRIPT_COMMANDS:  # EVAL/FCALL: the flags a script declares decide -OOM, CLIENT PAUSE
    TABLE.commands[_name].flags_of = script_flags
