"""Command propagation: what the AOF (and, later, replicas) receive for each change.

Redis does not log the commands clients sent; it logs what *happened*
(``call()`` → ``alsoPropagate`` → ``propagatePendingCommands``). A command that
changed the dataset (``server.dirty`` moved) is propagated as sent, unless its
handler rewrote it (``Client.rewritten``: relative expiries become absolute
``PXAT``/``PEXPIREAT``, SPOP becomes SREM, blocking pops become plain pops...).
Keys expired lazily or by the active cycle, and keys evicted, are propagated as
``DEL``. The ops a top-level command (or a cron step) produced are delivered
together: more than one op is wrapped in ``MULTI``/``EXEC`` so the unit stays
atomic in the log, as in Redis 7.0.

A target is a callable receiving a list of ``(db, argv)`` ops; with no target
registered (no AOF, no replica) nothing is collected, so the hot path pays one
truth test per command.
"""

from __future__ import annotations

from collections.abc import Callable

Op = tuple[int, list[bytes]]
Target = Callable[[list[Op]], None]

MULTI = [b"MULTI"]
EXEC = [b"EXEC"]


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

    def flush(self) -> None:
        """propagatePendingCommands: deliver the queued ops as one atomic unit."""
        ops = self.ops
        if not ops or self.depth:
            return
        self.ops = []
        if len(ops) > 1:
            db = ops[0][0]
            ops = [(db, MULTI), *ops, (ops[-1][0], EXEC)]
        for t in self.targets:
            t(ops)

    def discard(self) -> None:
        self.ops = []


__all__ = ["EXEC", "MULTI", "Op", "Propagator", "Target"]
