"""The command table: name, arity, flags, key positions, and the handler.

Handlers have the signature ``proc(c, argv) -> bytes``: ``c`` is the calling
:class:`~engine.execution.client.Client` (``c.db``, ``c.server``, ``c.resp``),
``argv`` the request as a list of ``bytes`` (``argv[0]`` the command name);
they return the encoded reply (see :mod:`aof.replies`) or raise
:class:`~engine.errors.CommandError`.

Arity follows Redis: positive = exactly that many arguments (including the
name), negative = at least ``-arity``. ``first``/``last``/``step`` are the legacy
key positions COMMAND INFO reports (``last`` −1 = up to the last argument);
``keys`` computes positions for commands whose keys move (``movablekeys``).

A family module registers its commands with :func:`command` at import time;
:mod:`engine.commands` imports every family module, so adding a family is one
new module plus one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.execution.meta import ACL_ORDER, COMMAND_FLAG_ORDER, CommandMeta, described

Handler = Callable[[Any, list[bytes]], bytes]
KeysFn = Callable[[list[bytes]], list[int]]

_GROUP_ACL = {
    "string": "@string", "list": "@list", "hash": "@hash", "set": "@set",
    "sorted_set": "@sortedset", "generic": "@keyspace", "connection": "@connection",
    "server": "@admin", "transactions": "@transaction", "pubsub": "@pubsub", "bitmap": "@bitmap",
    "hyperloglog": "@hyperloglog", "geo": "@geo", "scripting": "@scripting",
}



@dataclass(slots=True, eq=False)  # identity hash: used as a stats key
class Command:
    name: str  # lower case; "parent|sub" for subcommands
    proc: Handler | None
    arity: int
    flags: frozenset[str]
    first: int = 0
    last: int = 0
    step: int = 0
    group: str = "generic"
    keys_fn: KeysFn | None = None
    since: str = "1.0.0"
    summary: str = ""
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    parent: Command | None = None
    # hot flags, precomputed from ``flags``
    is_write: bool = False
    no_auth: bool = False
    allowed_in_multi: bool = True
    # CMD_PROTECTED (DEBUG): only where its enable-*-command setting allows (hidden in COMMAND INFO)
    protected: bool = False
    # may run on the pipelined fast path: not protected, cannot block, close the connection, or change
    # the client state that decides how later commands run (MULTI, MONITOR, AUTH ...)
    fast: bool = True
    # False for commands whose effects are propagated by the commands they run (EXEC)
    propagates_self: bool = True
    # a data-type command (none reads the stats): the C loop may count a run of it at once
    batched_stats: bool = False
    # getCommandFlags for EVAL/FCALL: the flags the script declares make of the command's,
    # from (server, argv); None from it means the table's flags apply
    flags_of: Callable[[Any, list[bytes]], frozenset[str] | None] | None = None
    # Redis 7.0's own COMMAND INFO/DOCS description (ACL categories, key specs, arguments)
    meta: CommandMeta | None = None
    # positions of the keys a change signals (WATCH, blocked clients) when not all of them:
    # SORT ... STORE touches only its destination
    modified_fn: KeysFn | None = None

    def flags_for(self, server: Any, argv: list[bytes]) -> frozenset[str]:
        """getCommandFlags: a script call's flags are what the script declares."""
        if self.flags_of is not None:
            declared = self.flags_of(server, argv)
            if declared is not None:
                return declared
        return self.flags

    def key_positions(self, argv: list[bytes]) -> list[int]:
        if self.keys_fn is not None:
            try:
                return self.keys_fn(argv)
            except (IndexError, ValueError):
                return []
        if self.first <= 0:
            return []
        last = self.last if self.last >= 0 else len(argv) + self.last
        return list(range(self.first, min(last, len(argv) - 1) + 1, self.step or 1))

    def keys(self, argv: list[bytes]) -> list[bytes]:
        return [argv[i] for i in self.key_positions(argv)]

    def modified_keys(self, argv: list[bytes]) -> list[bytes]:
        """The keys a change by this command signals (signalModifiedKey): all its keys
        unless it names fewer."""
        if self.modified_fn is None:
            return self.keys(argv)
        try:
            return [argv[i] for i in self.modified_fn(argv)]
        except (IndexError, ValueError):
            return []

    def acl_categories(self) -> list[str]:
        """COMMAND INFO's categories, which ACL rules (``+@read``) and ACL CAT use: Redis
        7.0's for the commands it has, else the ones the table's flags and group imply."""
        if self.meta is not None and self.meta.arity:  # Redis's own entry
            return self.meta.acl_categories()
        if self.meta is not None and self.meta.acl:
            return list(self.meta.acl)
        if self.subcommands:  # a container has no categories of its own (its table row: 0)
            return ["@slow"]
        cats = []
        f = self.flags
        if "write" in f:
            cats.append("@write")
        if "readonly" in f and self.group not in ("server", "connection"):
            cats.append("@read")
        if "admin" in f:
            cats += ["@admin", "@dangerous"]
        g = _GROUP_ACL.get(self.group)
        if g and g not in cats:
            cats.append(g)
        cats.append("@fast" if "fast" in f else "@slow")
        if "blocking" in f:
            cats.append("@blocking")
        return sorted(cats, key=ACL_ORDER.index)  # as COMMAND INFO lists them: acl.c's table order

    def info_flags(self) -> list[str]:
        """addReplyFlagsForCommand: Redis's entry's flags (movablekeys from its key specs),
        else the table's."""
        if self.meta is not None and self.meta.arity:
            flags = set(self.meta.flags)
            if self.meta.legacy_range()[3]:
                flags.add("movablekeys")
        else:
            flags = set(self.flags)
            if self.keys_fn is not None:
                flags.add("movablekeys")
        return [f for f in COMMAND_FLAG_ORDER if f in flags]

    def legacy_keys(self) -> tuple[int, int, int]:
        """COMMAND INFO's first/last/step."""
        if self.meta is not None and self.meta.arity:
            return self.meta.legacy_range()[:3]
        return self.first, self.last, self.step


_INFO_FLAG_ORDER = ("write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
                    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
                    "no_mandatory_keys", "no_async_loading", "no_multi", "allow_busy")


class CommandTable:
    """Lookup by exact bytes, with upper- and lower-case names pre-inserted (no .lower() on the hot path)."""

    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.lookup: dict[bytes, Command] = {}
        # the names before any rename-command: what the AOF holds (lookupCommandOrOriginal)
        self.original: dict[bytes, Command] = self.lookup

    def add(self, cmd: Command) -> Command:
        self.commands[cmd.name] = cmd
        b = cmd.name.encode()
        self.lookup[b] = cmd
        self.lookup[b.upper()] = cmd
        return cmd

    def get(self, name: bytes) -> Command | None:
        cmd = self.lookup.get(name)
        if cmd is None:
            cmd = self.lookup.get(name.lower())
        return cmd

    def rename(self, old: bytes, new: bytes) -> str | None:
        """A ``rename-command old new`` directive: clients know the command as *new* only
        (no longer at all when *new* is empty); returns Redis's reason when refused."""
        cmd = self.get(old)
        if cmd is None:
            return "No such command in rename-command"
        if self.original is self.lookup:
            self.original = dict(self.lookup)
        for spelling in [k for k, v in self.lookup.items() if v is cmd and k.lower() == old.lower()]:
            del self.lookup[spelling]
        if new:
            if self.get(new) is not None:
                return "Target command name already exists"
            self.lookup[new.lower()] = self.lookup[new.upper()] = cmd
        return None


TABLE = CommandTable()

_STATEFUL = frozenset({"multi", "exec", "discard", "monitor", "auth", "hello", "reset", "quit",
                       "shutdown"})
# commands whose effects reach the AOF as the commands they ran, never as themselves
NO_SELF_PROPAGATE = {"exec"}
# CMD_TOUCHES_ARBITRARY_KEYS (hidden in COMMAND INFO): the lazy-expiry DELs they cause
# when run directly are propagated one by one, not wrapped in MULTI/EXEC
ARBITRARY_KEYS = frozenset({"scan", "randomkey"})
# the groups of Command.batched_stats: commands over one key's value, none reading INFO,
# LATENCY or the slow log (engine/_fastpath.c counts a run of one of them at once)
DATA_GROUPS = frozenset({"string", "list", "set", "hash", "sorted_set", "stream", "geo", "bitmap",
                         "hyperloglog"})


def _make(name: str, proc: Handler | None, arity: int, flags: str, first: int, last: int,
          step: int, group: str, keys: KeysFn | None, since: str, summary: str,
          meta: CommandMeta | None = None, modified: KeysFn | None = None) -> Command:
    fl = frozenset(flags.split())
    meta = described(name) or meta  # Redis 7.0's own entry first
    return Command(name=name, proc=proc, arity=arity, flags=fl, first=first, last=last, step=step,
                   group=group, keys_fn=keys, since=since, summary=summary, meta=meta,
                   modified_fn=modified,
                   is_write="write" in fl, no_auth="no_auth" in fl,
                   allowed_in_multi="no_multi" not in fl, protected="protected" in fl,
                   fast=("blocking" not in fl and "protected" not in fl and name not in _STATEFUL
                         and "|" not in name),
                   propagates_self=name not in NO_SELF_PROPAGATE, batched_stats=group in DATA_GROUPS)


def command(name: str, arity: int, flags: str = "", first: int = 0, last: int = 0, step: int = 0,
            *, group: str = "generic", keys: KeysFn | None = None, since: str = "1.0.0",
            summary: str = "", meta: CommandMeta | None = None,
            modified: KeysFn | None = None) -> Callable[[Handler], Handler]:
    """Register ``proc`` as command ``name`` (lower case); ``meta`` is Redis's own
    COMMAND INFO/DOCS description where the command has one here; ``modified`` the
    positions of the keys its changes signal, where not all of its keys."""

    def deco(proc: Handler) -> Handler:
        TABLE.add(_make(name, proc, arity, flags, first, last, step, group, keys, since, summary, meta,
                        modified))
        return proc

    return deco


def container(name: str, arity: int = -2, flags: str = "", *, group: str = "server",
              since: str = "1.0.0", summary: str = "", proc: Handler | None = None,
              meta: CommandMeta | None = None) -> Command:
    """Register a command made of subcommands (CONFIG, CLIENT, OBJECT ...); ``proc`` runs
    when it is called without a subcommand (COMMAND)."""
    cmd = _make(name, proc, arity, flags, 0, 0, 0, group, None, since, summary, meta)
    cmd.fast = False  # subcommand dispatch goes through the general path
    return TABLE.add(cmd)


def subcommand(parent: Command, sub: str, arity: int, flags: str = "", first: int = 0,
               last: int = 0, step: int = 0, *, keys: KeysFn | None = None,
               since: str | None = None, summary: str = "",
               meta: CommandMeta | None = None) -> Callable[[Handler], Handler]:
    def deco(proc: Handler) -> Handler:
        cmd = _make(f"{parent.name}|{sub}", proc, arity, flags, first, last, step, parent.group,
                    keys, since or parent.since, summary, meta)
        cmd.parent = parent
        parent.subcommands[sub.encode()] = cmd
        return proc

    return deco


__all__ = ["ARBITRARY_KEYS", "Command", "CommandTable", "TABLE", "command", "container",
           "subcommand"]
