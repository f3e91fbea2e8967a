"""What COMMAND INFO and COMMAND DOCS report of a command beyond its table row.

A command registered with ``meta=CommandMeta(...)`` is described exactly as Redis 7.0
describes it (the command's JSON file in Redis's ``src/commands/``): its ACL categories,
key specs, complexity and argument tree. A command without one gets the entries the
table's flags and legacy key positions imply (``engine.commands.server``).
"""

from __future__ import annotations

from dataclasses import dataclass

from aof.replies import Map, SetReply, Simple

# the order Redis lists key-spec flags in (addReplyFlagsForKeyArgs)
KEY_FLAG_ORDER = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
                  "incomplete", "variable_flags")
# the order Redis lists argument flags in (addReplyFlagsForArg)
ARG_FLAG_ORDER = ("optional", "multiple", "multiple_token")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One key specification (``keySpec``): where the keys are and how they are used.

    ``begin`` is ``("index", pos)``, ``("keyword", word, startfrom)`` or ``("unknown",)``;
    ``find`` is ``("range", lastkey, keystep, limit)``, ``("keynum", keynumidx, firstkey,
    keystep)`` or ``("unknown",)``.
    """

    flags: tuple[str, ...]
    begin: tuple[object, ...] = ("unknown",)
    find: tuple[object, ...] = ("unknown",)
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of COMMAND DOCS (``redisCommandArg``); ``args`` for a oneof or block."""

    name: str
    type: str
    token: str = ""
    key_spec_index: int = -1
    flags: tuple[str, ...] = ()
    since: str = ""
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True, slots=True)
class CommandMeta:
    # ACL categories in the order COMMAND INFO lists them, with the "@"; empty: the ones
    # the table's flags and group imply
    acl: tuple[str, ...] = ()
    key_specs: tuple[KeySpec, ...] = ()
    complexity: str = ""
    args: tuple[Arg, ...] = ()
    history: tuple[tuple[str, str], ...] = ()
    # COMMAND INFO's tips ("nondeterministic_output", "request_policy:all_nodes", ...)
    tips: tuple[str, ...] = ()
    # COMMAND DOCS's doc_flags ("deprecated", "syscmd")
    doc_flags: tuple[str, ...] = ()


def _flags(flags: tuple[str, ...], order: tuple[str, ...]) -> SetReply:
    return SetReply(Simple(f) for f in order if f in flags)


def key_specs_reply(specs: tuple[KeySpec, ...]) -> list[Map]:
    """addReplyCommandKeySpecs: one map per spec, for :func:`aof.replies.encode`."""
    out = []
    for ks in specs:
        m = Map([("notes", ks.notes)] if ks.notes else [])
        m.append(("flags", _flags(ks.flags, KEY_FLAG_ORDER)))
        kind = ks.begin[0]
        if kind == "index":
            spec = Map([("index", ks.begin[1])])
        elif kind == "keyword":
            spec = Map([("keyword", ks.begin[1]), ("startfrom", ks.begin[2])])
        else:
            spec = Map()
        m.append(("begin_search", Map([("type", kind), ("spec", spec)])))
        kind = ks.find[0]
        if kind == "range":
            spec = Map(zip(("lastkey", "keystep", "limit"), ks.find[1:], strict=True))
        elif kind == "keynum":
            spec = Map(zip(("keynumidx", "firstkey", "keystep"), ks.find[1:], strict=True))
        else:
            spec = Map()
        m.append(("find_keys", Map([("type", kind), ("spec", spec)])))
        out.append(m)
    return out


def args_reply(args: tuple[Arg, ...]) -> list[Map]:
    """addReplyCommandArgList: one map per argument, nested for oneof/block."""
    out = []
    for a in args:
        m = Map([("name", a.name), ("type", a.type)])
        if a.key_spec_index != -1:
            m.append(("key_spec_index", a.key_spec_index))
        if a.token:
            m.append(("token", a.token))
        if a.since:
            m.append(("since", a.since))
        if a.flags:
            m.append(("flags", _flags(a.flags, ARG_FLAG_ORDER)))
        if a.type in ("oneof", "block"):
            m.append(("arguments", args_reply(a.args)))
        out.append(m)
    return out


def docs_fields(meta: CommandMeta) -> list[tuple[str, object]]:
    """addReplyCommandDocs's entries after the group: complexity, history, arguments."""
    out: list[tuple[str, object]] = []
    if meta.complexity:
        out.append(("complexity", meta.complexity))
    if meta.doc_flags:
        out.append(("doc_flags", SetReply(Simple(f) for f in meta.doc_flags)))
    if meta.history:
        out.append(("history", SetReply([list(h) for h in meta.history])))
    if meta.args:
        out.append(("arguments", args_reply(meta.args)))
    return out


__all__ = ["ARG_FLAG_ORDER", "Arg", "CommandMeta", "KEY_FLAG_ORDER", "KeySpec", "args_reply",
           "docs_fields", "key_specs_reply"]
