"""What to do with a key that comes twice: the ``--on-duplicate`` policies.

A loading Redis refuses a dump holding one key twice ("RDB has duplicated key"), so a
writer must never make one: concatenated JSONL exports, merged dumps and the like are
refused by default (``error``: naming the key and both positions), or reduced to one
record per key — the ``first`` one read, or the ``last`` one (what replaying the inputs
in order would leave). ``last`` needs to know the future: :func:`last_positions` reads
the input once first and keeps only the duplicated keys' last positions, so memory
stays the key digests (:class:`~rdbtools.keyset.KeySet`) plus the duplicates.

Records are told apart by their ``offset`` (the byte where each starts in its input), or
by the position a caller gives (``pos``: e.g. the input's number and the offset, when
several inputs are merged; ``where`` then words it in messages).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .keyset import KeySet
from .model import Record

POLICIES = ("error", "first", "last")


class DuplicateKeyError(ValueError):
    """A key read twice under the ``error`` policy; ``first`` is the offset of its first
    occurrence when it could be found (a re-readable input), ``second`` the later one."""

    def __init__(self, db: int, key: bytes, first: Any, second: Any,
                 where: Callable[[Any], str] | None = None) -> None:
        self.db, self.key, self.first, self.second = db, key, first, second
        say = where or (lambda p: f"offset {p}")
        where_ = (f"at {say(first)} and at {say(second)}" if first is not None else f"again at {say(second)}")
        super().__init__(f"duplicate key {key!r} in db {db}: {where_} "
                         "(a loading Redis refuses it; --on-duplicate first|last keeps one)")


def _offset(rec: Record) -> Any:
    return rec.offset


def last_positions(records: Iterable[Any], pos: Callable[[Record], Any] = _offset) -> dict[tuple[int, bytes], Any]:
    """The position of the last occurrence of every key that comes more than once."""
    seen = KeySet()
    last: dict[tuple[int, bytes], Any] = {}
    for rec in records:
        if type(rec) is Record and not seen.add(rec.db, rec.key):
            last[(rec.db, rec.key)] = pos(rec)
    return last


def dedup(events: Iterable[Any], policy: str,
          last: dict[tuple[int, bytes], Any] | None = None,
          reread: Callable[[], Iterable[Any]] | None = None,
          pos: Callable[[Record], Any] = _offset, where: Callable[[Any], str] | None = None) -> Iterator[Any]:
    """``events`` with each key once, as ``policy`` says. ``last`` (``"last"`` only) is
    :func:`last_positions` of the same input (by the same ``pos``); ``reread`` gives the
    input again from the start, to name a refused key's first position."""
    if policy not in POLICIES:
        raise ValueError(f"unknown duplicate policy {policy!r}")
    if policy == "last":
        if last is None:
            raise ValueError("the 'last' policy needs last_positions() of the input")
        for ev in events:
            if type(ev) is Record:
                p = pos(ev)
                if last.get((ev.db, ev.key), p) != p:
                    continue
            yield ev
        return
    seen = KeySet()
    for ev in events:
        if type(ev) is Record and not seen.add(ev.db, ev.key):
            if policy == "first":
                continue
            first = None
            if reread is not None:
                first = next((pos(r) for r in reread()
                              if type(r) is Record and r.db == ev.db and r.key == ev.key), None)
            raise DuplicateKeyError(ev.db, ev.key, first, pos(ev), where)
        yield ev


__all__ = ["POLICIES", "DuplicateKeyError", "dedup", "last_positions"]
