"""MODULE HELP/LIST/LOAD/LOADEX/UNLOAD as a Redis 7.0.15 answers them with no module loaded
and none loadable (module.c ``moduleCommand``).

This server cannot load Redis modules: they are C shared libraries built against
Redis's own module API. So LIST is always empty, UNLOAD finds no such module, and
LOAD/LOADEX fail the way Redis fails for a module it cannot load — the reply "Error
loading the extension. Please check the server logs." and a log line saying why, with
``dlopen``'s words where Redis would have them (a missing file, a directory, no
execute permission) and ours for a file Redis would have tried to load. LOAD, LOADEX
and UNLOAD are protected commands: ``enable-module-command`` decides who may run them
(processCommand's check, ``engine.execution.dispatch``). ``loadmodule`` in a
configuration file is refused at start (``engine.config``).
"""

from __future__ import annotations

import errno
import logging
import os

from aof.replies import encode
from engine.commands.scripting import help_reply
from engine.errors import CommandError
from engine.execution.meta import Arg, CommandMeta
from engine.execution.registry import container, subcommand

log = logging.getLogger(__name__)

_LOAD_ERROR = "Error loading the extension. Please check the server logs."
_ADMIN = "admin noscript no_async_loading protected"

MODULE = container("module", -2, since="4.0.0", summary="A container for module commands",
                   meta=CommandMeta(acl=("@slow",), complexity="Depends on subcommand."))


@subcommand(MODULE, "help", 2, "loading stale", since="5.0.0",
            summary="Show helpful text about the different subcommands",
            meta=CommandMeta(acl=("@slow",), complexity="O(1)"))
def module_help(c, argv):
    return help_reply(c, argv, [
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations and optional "
        "arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ])


@subcommand(MODULE, "list", 2, "admin noscript", summary="List all modules loaded by the server",
            meta=CommandMeta(acl=("@admin", "@slow", "@dangerous"),
                             complexity="O(N) where N is the number of loaded modules.",
                             tips=("nondeterministic_output_order",)))
def module_list(c, argv):
    return encode([], c.resp)  # addReplyLoadedModules: none


def why_not_loadable(path: str) -> str:
    """moduleLoad's log line for ``path``: the execute-permission check, then what
    ``dlopen`` would say of a file it cannot open, else that this server loads no C code."""
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and not st.st_mode & 0o111:
        return f"Module {path} failed to load: It does not have execute permissions."
    try:  # non-blocking: a FIFO must not hang the server
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return (f"Module {path} failed to load: {path}: cannot open shared object file: "
                f"{os.strerror(exc.errno or errno.EIO)}")
    try:
        os.read(fd, 1)
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            return f"Module {path} failed to load: {path}: cannot read file data: {os.strerror(exc.errno)}"
    finally:
        os.close(fd)
    return (f"Module {path} failed to load: this server cannot load Redis modules "
            f"(C shared libraries)")


def _load(path: bytes) -> bytes:
    log.warning("%s", why_not_loadable(path.decode("utf-8", "surrogateescape")))
    raise CommandError(_LOAD_ERROR)


@subcommand(MODULE, "load", -3, _ADMIN, summary="Load a module", meta=CommandMeta(
    acl=("@admin", "@slow", "@dangerous"), complexity="O(1)",
    args=(Arg("path", "string"), Arg("arg", "string", flags=("optional", "multiple")))))
def module_load(c, argv):
    return _load(argv[2])


@subcommand(MODULE, "loadex", -3, _ADMIN, since="7.0.0", summary="Load a module with extended parameters",
            meta=CommandMeta(acl=("@admin", "@slow", "@dangerous"), complexity="O(1)", args=(
                Arg("path", "string"),
                Arg("configs", "block", "CONFIG", flags=("optional", "multiple", "multiple_token"),
                    args=(Arg("name", "string"), Arg("value", "string"))),
                Arg("args", "block", "ARGS", flags=("optional", "multiple"), args=(Arg("arg", "string"),)))))
def module_loadex(c, argv):
    """parseLoadexArguments first (CONFIG name value pairs, then ARGS and the rest)."""
    i = 3
    while i < len(argv):
        word = argv[i].lower()
        if word == b"config":
            if i + 2 >= len(argv):
                log.info("CONFIG specified without name value pair")
                raise CommandError(_LOAD_ERROR)
            i += 3
        elif word == b"args":
            break
        else:
            log.info("Syntax Error from arguments to loadex around %s.",
                     argv[i].decode("utf-8", "surrogateescape"))
            raise CommandError(_LOAD_ERROR)
    return _load(argv[2])


@subcommand(MODULE, "unload", 3, _ADMIN, summary="Unload a module", meta=CommandMeta(
    acl=("@admin", "@slow", "@dangerous"), complexity="O(1)", args=(Arg("name", "string"),)))
def module_unload(c, argv):
    raise CommandError("Error unloading module: no such module with that name")
