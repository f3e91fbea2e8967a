"""What COMMAND INFO and COMMAND DOCS report of a command: Redis 7.0's own description.

Every command Redis 7.0 has is described as Redis describes it (its JSON file in
Redis's ``src/commands/``, turned into ``redis_commands.json`` beside this module by
``scripts/gen_redis_commands.py``; do not edit it): summary, since, group, complexity, history, arity,
flags, ACL categories, tips, key specs and argument tree. :func:`described` gives a
command's entry as a :class:`CommandMeta`; the registry attaches it to the command of
the same name. From the key specs follow what Redis derives from them: the legacy
first/last/step triple and ``movablekeys`` (populateCommandLegacyRangeSpec) and the
keys of a call with their flags (getKeysUsingKeySpecs, for COMMAND GETKEYS[ANDFLAGS]).
A command Redis 7.0 does not have gets the entries its table row implies
(``engine.commands.server``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache

from aof.replies import Map, SetReply, Simple

# full name ("get", "config|get") → summary, since, group, complexity, doc_flags,
# deprecated_since, replaced_by, history, tips, arity, flags (command flags, lower case),
# acl (explicit categories), key_specs ([notes, flags, begin_search, find_keys]), args
# (nested argument objects) and getkeys (Redis has a getkeys procedure for it)
with open(os.path.join(os.path.dirname(__file__), "redis_commands.json"), encoding="utf-8") as _fh:
    COMMANDS: dict[str, dict] = json.load(_fh)

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
    token: str | None = None  # "" is a token too (MIGRATE's empty key)
    key_spec_index: int = -1
    flags: tuple[str, ...] = ()
    since: str = ""
    args: tuple[Arg, ...] = ()
    summary: str = ""
    deprecated_since: str = ""


# the order COMMAND INFO lists command flags in (addReplyFlagsForCommand; hidden ones left out)
COMMAND_FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
                      "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
                      "fast", "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi",
                      "movablekeys", "allow_busy")
# ACLCommandCategories, in acl.c's order (COMMAND INFO lists categories in it)
ACL_ORDER = ("@keyspace", "@read", "@write", "@set", "@sortedset", "@list", "@hash", "@string",
             "@bitmap", "@hyperloglog", "@geo", "@stream", "@pubsub", "@admin", "@fast", "@slow",
             "@blocking", "@dangerous", "@connection", "@transaction", "@scripting")


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
    # the rest of Redis's own entry; ``arity`` 0: a partial description (no entry in 7.0)
    summary: str = ""
    since: str = ""
    group: str = ""
    doc_flags: tuple[str, ...] = ()
    deprecated_since: str = ""
    replaced_by: str = ""
    arity: int = 0
    flags: tuple[str, ...] = ()
    getkeys: bool = False  # Redis has a getkeys procedure for it (doesCommandHaveKeys)

    def acl_categories(self) -> list[str]:
        """setImplicitACLCategories over the explicit ones, in acl.c's order."""
        cats = set(self.acl)
        f = self.flags
        if "write" in f:
            cats.add("@write")
        if "readonly" in f and "@scripting" not in cats:
            cats.add("@read")
        if "admin" in f:
            cats |= {"@admin", "@dangerous"}
        if "pubsub" in f:
            cats.add("@pubsub")
        if "fast" in f:
            cats.add("@fast")
        if "blocking" in f:
            cats.add("@blocking")
        if "@fast" not in cats:
            cats.add("@slow")
        return [c for c in ACL_ORDER if c in cats]

    def legacy_range(self) -> tuple[int, int, int, bool]:
        """populateCommandLegacyRangeSpec: (first, last, step) as COMMAND INFO gives them
        (last absolute, or negative from the end) and whether the keys are movable."""
        specs = self.key_specs
        if not specs:
            return 0, 0, 0, False
        if len(specs) == 1 and specs[0].begin[0] == "index" and specs[0].find[0] == "range":
            ks = specs[0]
            first, lastkey, step = ks.begin[1], ks.find[1], ks.find[2]
            return (first, lastkey + first if lastkey >= 0 else lastkey, step,  # type: ignore[operator]
                    "incomplete" in ks.flags)
        movable = False
        first, last, prev_last = 1 << 31, 0, 0
        for ks in specs:
            if ks.begin[0] != "index" or ks.find[0] != "range":
                movable = True
                continue
            pos, lastkey, step = ks.begin[1], ks.find[1], ks.find[2]
            if step != 1 or (prev_last and prev_last != pos - 1):  # type: ignore[operator]
                movable = True
                continue
            if "incomplete" in ks.flags:
                movable = True
            first = min(first, pos)  # type: ignore[type-var]
            absolute = lastkey + pos if lastkey >= 0 else lastkey  # type: ignore[operator]
            last = max(last % (1 << 32), absolute % (1 << 32))  # unsigned, as Redis compares
            last = last - (1 << 32) if last >= 1 << 31 else last
            prev_last = last
        if first == 1 << 31:
            return 0, 0, 0, True
        return first, last, 1, movable


def _arg(d: dict) -> Arg:
    return Arg(d["name"], d["type"], d.get("token"), d.get("key_spec_index", -1),
               tuple(d.get("flags", ())), d.get("since", ""), tuple(_arg(a) for a in d.get("args", ())),
               d.get("summary", ""), d.get("deprecated_since", ""))


@cache
def described(name: str) -> CommandMeta | None:
    """Redis 7.0's entry for the command ``name`` ("get", "config|get"), or None."""
    e = COMMANDS.get(name)
    if e is None:
        return None
    specs = tuple(KeySpec(tuple(flags), tuple(begin), tuple(find), notes)
                  for notes, flags, begin, find in e["key_specs"])
    return CommandMeta(acl=tuple(e["acl"]), key_specs=specs, complexity=e["complexity"],
                       args=tuple(_arg(a) for a in e["args"]),
                       history=tuple((h[0], h[1]) for h in e["history"]), tips=tuple(e["tips"]),
                       summary=e["summary"], since=e["since"], group=e["group"],
                       doc_flags=tuple(e["doc_flags"]), deprecated_since=e["deprecated_since"],
                       replaced_by=e["replaced_by"], arity=e["arity"], flags=tuple(e["flags"]),
                       getkeys=e["getkeys"])


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
        if a.token is not None:
            m.append(("token", a.token))
        if a.summary:
            m.append(("summary", a.summary))
        if a.since:
            m.append(("since", a.since))
        if a.deprecated_since:
            m.append(("deprecated_since", a.deprecated_since))
        if a.flags:
            m.append(("flags", _flags(a.flags, ARG_FLAG_ORDER)))
        if a.type in ("oneof", "block"):
            m.append(("arguments", args_reply(a.args)))
        out.append(m)
    return out


def docs_fields(meta: CommandMeta) -> list[tuple[str, object]]:
    """addReplyCommandDocs's entries after the group: complexity, doc flags, deprecation,
    history, arguments."""
    out: list[tuple[str, object]] = []
    if meta.complexity:
        out.append(("complexity", meta.complexity))
    if meta.doc_flags:
        out.append(("doc_flags", SetReply(Simple(f) for f in ("deprecated", "syscmd") if f in meta.doc_flags)))
    if meta.deprecated_since:
        out.append(("deprecated_since", meta.deprecated_since))
    if meta.replaced_by:
        out.append(("replaced_by", meta.replaced_by))
    if meta.history:
        out.append(("history", SetReply([list(h) for h in meta.history])))
    if meta.args:
        out.append(("arguments", args_reply(meta.args)))
    return out


__all__ = ["ACL_ORDER", "ARG_FLAG_ORDER", "Arg", "COMMAND_FLAG_ORDER", "CommandMeta", "KEY_FLAG_ORDER",
           "KeySpec", "args_reply", "described", "docs_fields", "key_specs_reply"]
