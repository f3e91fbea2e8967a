"""Lua scripting (EVAL & co) and Redis 7.0 functions (FUNCTION / FCALL), on lupa's Lua 5.1.

Layout: :mod:`.prelude` (the Lua sandbox and Lua → RESP conversion),
:mod:`.libs` (cjson, bit, cmsgpack, struct), :mod:`.runtime` (one Lua state,
RESP → Lua), :mod:`.eval` (the per-server host: script cache, run context,
``redis.call``), :mod:`.functions` (libraries), :mod:`.busy` (serving other
clients while a script runs past ``busy-reply-threshold``). The commands live
in :mod:`engine.commands.scripting` and :mod:`engine.commands.functions`.

The state hangs off the server lazily (:func:`scripting_of`), so a server that
never runs a script never creates a Lua state.
"""

from __future__ import annotations

from typing import Any

from engine.scripting.eval import Scripting
from engine.scripting.functions import Functions


def scripting_of(server: Any) -> Scripting:
    s = server.__dict__.get("_scripting")
    if s is None:
        s = server._scripting = Scripting(server)
    return s


def functions_of(server: Any) -> Functions:
    host = scripting_of(server)
    f = host._functions
    if f is None:
        f = host._functions = Functions(host)
    return f


SCRIPT_COMMANDS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})


def script_denyoom(server: Any, argv: list[bytes]) -> bool | None:
    """evalGetCommandFlags / fcallGetCommandFlags for processCommand's OOM check: whether
    the script's declared flags make the call deny-oom (None: no declared flags, the
    command's own flags apply). The commands of :data:`SCRIPT_COMMANDS` carry it as their
    ``Command.denyoom_of``."""
    from engine.errors import CommandError
    from engine.scripting.eval import ALLOW_OOM, EVAL_COMPAT_MODE, NO_WRITES, sha1hex, shebang_flags

    if len(argv) < 2:
        return None
    name = argv[0].lower().decode("latin-1")
    s = server.__dict__.get("_scripting")
    if name.startswith("fcall"):
        f = s._functions if s is not None else None
        info = f.functions.get(argv[1]) if f is not None else None
        if info is None:
            return None
        flags = info.flags
    else:
        sha = argv[1].lower() if name.startswith("evalsha") else sha1hex(argv[1])
        if name.startswith("evalsha") and len(sha) != 40:
            return None
        script = s.scripts.get(sha) if s is not None else None
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
    return not flags & (ALLOW_OOM | NO_WRITES)


def function_records(server: Any) -> list[Any]:
    """The FUNCTION2 records SAVE writes (none when no library was ever loaded)."""
    s = server.__dict__.get("_scripting")
    if s is None or s._functions is None:
        return []
    return s._functions.records()


def info_fields(server: Any) -> dict[str, int]:
    """``used_memory_lua`` / ``number_of_cached_scripts`` / functions counts for INFO."""
    s = server.__dict__.get("_scripting")
    if s is None:
        return {"used_memory_lua": 31744, "used_memory_scripts": 0, "number_of_cached_scripts": 0,
                "number_of_functions": 0, "number_of_libraries": 0}
    f = s._functions
    return {"used_memory_lua": s.memory(), "used_memory_scripts": s.scripts_mem,
            "number_of_cached_scripts": len(s.scripts),
            "number_of_functions": len(f.functions) if f else 0,
            "number_of_libraries": len(f.libraries) if f else 0}


__all__ = ["SCRIPT_COMMANDS", "Functions", "Scripting", "function_records", "functions_of", "info_fields",
           "script_denyoom", "scripting_of"]
