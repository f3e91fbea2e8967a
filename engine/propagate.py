"""Command propagation: what the AOF (and, later, replicas) receive for each change.

Redis does not log the commands clients sent; it logs what *happened*
(``call()`` → ``alsoPropagate`` → ``propagatePendingCommands``). A command that
changed the dataset (``server.dirty`` grew) is propagated as sent, unless its
handler rewrote it (``Client.rewritten``: relative expiries become absolute
``PXAT``/``PEXPIREAT``, SPOP becomes SREM, blocking pops become plain pops...).
A rewrite is delivered even when ``dirty`` did not move: that is how FLUSHDB on
an empty database is still logged (``forceCommandPropagation``). Keys expired
lazily or by the active cycle are propagated as ``DEL`` (``UNLINK`` under
``lazyfree-lazy-expire``), queued at the moment they expire, so a lazy DEL comes
before the command that found the key expired. The ops a top-level command (or
a served blocked client, or a cron step) produced are delivered together: more
than one op is wrapped in ``MULTI``/``EXEC`` so the unit stays atomic in the
log, except for the active expire cycle and for commands that touch arbitrary
keys (SCAN, RANDOMKEY run directly), as in Redis 7.0.

A target is a callable receiving a list of ``(db, argv)`` ops; with no target
registered (no AOF, no replica) nothing is collected and handlers compute no
rewrite (they test :func:`active`), so the hot path pays one truth test per
command. SELECT is not an op: the AOF writer emits it when the db changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Op = tuple[int, list[bytes]]
Target = Callable[[list[Op]], None]

MULTI = [b"MULTI"]
EXEC = [b"EXEC"]

# The argv[0] Redis writes for rewritten commands (its ``shared`` objects).
SET, PXAT, KEEPTTL, PEXPIREAT, PERSIST = b"SET", b"PXAT", b"KEEPTTL", b"PEXPIREAT", b"PERSIST"
DEL, UNLINK, HSET, SREM, ABSTTL = b"DEL", b"UNLINK", b"HSET", b"SREM", b"ABSTTL"
LPOP, RPOP, LMOVE, RPOPLPUSH = b"LPOP", b"RPOP", b"LMOVE", b"RPOPLPUSH"
ZPOPMIN, ZPOPMAX = b"ZPOPMIN", b"ZPOPMAX"


class ReplOnly(list):  # type: ignore[type-arg]
    """An op only replicas receive (``PROPAGATE_REPL``: PUBLISH and SPUBLISH reach the
    replicas' subscribers; the AOF skips it). It still counts in the MULTI/EXEC wrapping,
    as Redis counts every op of the unit."""

    __slots__ = ()


class Propagator:
    __slots__ = ("ops", "targets", "depth")

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self.targets: list[Target] = []
        self.depth = 0  # > 0 while ops must be held (inside EXEC, a script...)

    def add(self, db: int, argv: list[bytes]) -> None:
        """alsoPropagate: queue one op (ignored while nobody listens)."""
        if self.targets:
            self.ops.append((db, argv))

    def flush(self, multi: bool = True) -> None:
        """propagatePendingCommands: deliver the queued ops as one atomic unit.

        ``multi=False`` is Redis's ``propagate_no_multi`` (active expiry) and the
        CMD_TOUCHES_ARBITRARY_KEYS case: the ops go out one by one, unwrapped.
        """
        ops = self.ops
        if not ops or self.depth:
            return
        self.ops = []
        if multi and len(ops) > 1:
            ops = [(ops[0][0], MULTI), *ops, (ops[-1][0], EXEC)]
        for t in self.targets:
            t(ops)

    def discard(self) -> None:
        self.ops = []


def active(c: Any) -> bool:
    """True when something listens: only then do handlers build rewrites."""
    return bool(c.server.propagator.targets)


def rewrite(c: Any, *argvs: list[bytes]) -> None:
    """rewriteClientCommandVector / alsoPropagate + preventCommandPropagation: the
    command is logged as ``argvs`` (none: not logged). Call after the change is done."""
    if c.server.propagator.targets:
        c.rewritten = list(argvs)


def del_name(lazy: bool) -> bytes:
    """``shared.unlink`` when the matching lazyfree option is on, else ``shared.del``."""
    return UNLINK if lazy else DEL


def ms(n: int) -> bytes:
    return b"%d" % n


__all__ = [
    "ABSTTL", "DEL", "EXEC", "HSET", "KEEPTTL", "LMOVE", "LPOP", "MULTI", "Op", "PERSIST",
    "PEXPIREAT", "PXAT", "Propagator", "RPOP", "RPOPLPUSH", "SET", "SREM", "Target", "UNLINK",
    "ZPOPMAX", "ZPOPMIN", "active", "del_name", "ms", "rewrite",
]
