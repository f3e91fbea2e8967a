"""Lua scripting (EVAL & co) and Redis 7.0 functions (FUNCTION / FCALL), on lupa's Lua 5.1.

Layout: :mod:`.prelude` (the Lua sandbox and Lua → RESP conversion),
:mod:`.libs` (cjson, bit, cmsgpack, struct), :mod:`.runtime` (one Lua state,
RESP → Lua), :mod:`.eval` (the per-server host: script cache, run context,
``redis.call``), :mod:`.functions` (libraries). The commands live in
:mod:`engine.commands.scripting` and :mod:`engine.commands.functions`; serving other
clients while a script is busy is the server's (:mod:`engine.server.busy`).

The server holds one :class:`Scripting` (``server.scripting``, with its
:class:`Functions` as ``server.scripting.functions``); the Lua states are made on
first use, so a server that never runs a script never creates one.
"""

from __future__ import annotations

from typing import Any

from engine.errors import CommandError
from engine.execution.registry import TABLE
from engine.scripting.eval import (
    ALLOW_OOM,
    ALLOW_STALE,
    EVAL_COMPAT_MODE,
    NO_WRITES,
    Scripting,
    sha1hex,
    shebang_flags,
)
from engine.scripting.functions import Functions

SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def script_flags(server: Any, argv: list[bytes]) -> frozenset[str] | None:
    """evalGetCommandFlags / fcallGetCommandFlags: the command flags processCommand's checks
    see for a script call (-OOM, READONLY, CLIENT PAUSE WRITE), or None when the script
    declares no flags and the command's own apply. The commands of :data:`SCRIPT_COMMANDS`
    carry it as their ``Command.flags_of``."""
    if len(argv) < 2:
        return None
    name = argv[0].lower().decode("latin-1")
    s: Scripting = server.scripting
    if name.startswith("fcall"):
        info = s.functions.functions.get(argv[1].lower())
        if info is None:
            return None
        flags = info.flags
    else:
        sha = argv[1].lower() if name.startswith("evalsha") else sha1hex(argv[1])
        if name.startswith("evalsha") and len(sha) != 40:
            return None
        script = s.scripts.get(sha)
        if script is not None:
            flags = script.flags
        elif name.startswith("evalsha"):
            return None
        else:
            try:
                flags = shebang_flags(argv[1])[0]
            except CommandError:
                return None
    if flags & EVAL_COMPAT_MODE:
        return None
    return _declared(TABLE.commands[name].flags, flags)


def _declared(cmd_flags: frozenset[str], script: int) -> frozenset[str]:
    """scriptFlagsToCmdFlags: declared flags replace write/denyoom/stale/may_replicate."""
    out = set(cmd_flags) - {"stale", "denyoom", "write", "may_replicate"}
    if not script & (ALLOW_OOM | NO_WRITES):
        out.add("denyoom")
    if not script & NO_WRITES:
        out.add("write")
    if script & ALLOW_STALE:
        out.add("stale")
    return frozenset(out)


__all__ = ["SCRIPT_COMMANDS", "Functions", "Scripting", "script_flags"]
