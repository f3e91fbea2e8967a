"""What to do with a key that comes twice: the ``--on-duplicate`` policies, in bounded memory.

A loading Redis refuses a dump holding one key twice ("RDB has duplicated key"), so a
writer must never make one: concatenated JSONL exports, merged dumps and the like are
refused by default (``error``: naming the key and both positions), or reduced to one
record per key — the ``first`` one read, or the ``last`` one (what replaying the inputs
in order would leave).

Memory does not grow with the input (``convert`` and ``merge`` of any size):

* ``error`` is one pass with the bounded check of :class:`rdbtools.keycheck.DigestRuns`
  (an 8-byte digest a key in a table drained to sorted runs in ``tmpdir``). A repeat
  within the table is refused as it comes; one across runs when the pass ends — the
  output, written to a temporary file, is then never renamed into place. A second
  pass over the input (``again``) names the key: the first one read twice, as a single
  table would have named it (among the first 1024 repeated digests once spilled).
* ``first`` and ``last`` read the input twice. The first pass (:func:`find_drops`)
  sorts a ``(digest, ordinal)`` record a key (:class:`rdbtools.spill.SortedRuns`,
  32 bytes a key on disk past ``RUN_BYTES``) and, range of digests by range
  (:func:`rdbtools.keycheck.in_ranges`), lists the ordinals of every occurrence but
  the first (or last) of each repeated digest; that list, sorted
  by ordinal (spilled too: merging two snapshots repeats every key), is what the
  second pass leaves out (:func:`dedup`). Both passes must see the same records in the
  same order (same inputs, same filter).

Two different keys sharing a digest (2^-64 a pair) would be taken for one under
``first``/``last``; ``error`` compares the keys themselves before refusing.

Records are told apart by their ``offset`` (the byte where each starts in its input), or
by the position a caller gives (``pos``: e.g. the input's number and the offset, when
several inputs are merged; ``where`` then words it in messages).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .keycheck import DigestRuns, in_ranges
from .keyset import KeySet
from .model import End, Record
from .spill import DEFAULT_RUN_BYTES, SortedRuns, sort_runs

POLICIES = ("error", "first", "last")
RUN_BYTES = DEFAULT_RUN_BYTES  # memory of one sorted run of (digest, ordinal) records
_DRAIN_EVERY = 2048  # records between two looks at the digest table's size


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


class UnnamedDuplicateError(ValueError):
    """A key read twice, found when the pass ended, in an input that cannot be read again
    to name it (standard input under ``error``)."""

    def __init__(self) -> None:
        super().__init__("duplicate key: a key is read twice in one db (found when the pass ended; "
                         "stdin cannot be read again to name it; --on-duplicate first|last keeps one)")


def _offset(rec: Record) -> Any:
    return rec.offset


def find_drops(records: Iterable[Any], policy: str, tmpdir: str | None = None) -> SortedRuns:
    """The first pass of ``first``/``last``: the ordinals (among ``records``' Records, from 0)
    of the occurrences to leave out, as a :class:`SortedRuns` of ``(ordinal, 0, 0, 0)``
    (ascending; the caller closes it)."""
    if policy not in ("first", "last"):
        raise ValueError(f"no first pass for the {policy!r} policy")
    digest = KeySet().digest
    drops = SortedRuns(RUN_BYTES // 2, tmpdir)
    try:
        with SortedRuns(RUN_BYTES, tmpdir) as runs:
            batch = array("Q")
            n = 0
            for rec in records:
                if type(rec) is Record:
                    batch.append(digest(rec.db, rec.key))
                    if len(batch) >= _BATCH:
                        runs.add_packed(_packed(batch, n))
                        n += len(batch)
                        batch = array("Q")
            runs.add_packed(_packed(batch, n))
            runs.finish()
            for seg in in_ranges(runs.run_files(), runs.count, 4, _SWAP):
                ds = seg[::4]
                if len(set(ds)) != len(ds):
                    drops.add_packed(_packed(_dropped(seg, policy)))
    except BaseException:
        drops.close()
        raise
    drops.finish()
    return drops


_BATCH = 4096  # digests packed into run records at a time
_SWAP = sys.byteorder == "little"  # run records are big-endian (their byte order is their order)


def _packed(first: array[int], start: int | None = None) -> bytes:
    """Run records ``(first[j], start + j, 0, 0)`` (``start`` None: ``(first[j], 0, 0, 0)``)."""
    recs = array("Q", bytes(32 * len(first)))
    recs[::4] = first
    if start is not None:
        recs[1::4] = array("Q", range(start, start + len(first)))
    if _SWAP:
        recs.byteswap()
    return recs.tobytes()


def _dropped(seg: array[int], policy: str) -> array[int]:
    """Of each digest met more than once in ``seg`` (flat native run records), every
    ordinal but the first (or the last): the records sorted by (digest, ordinal), a repeat
    is a record whose digest its neighbour shares."""
    if _SWAP:
        seg.byteswap()
    buf = bytearray(seg.tobytes())
    sort_runs(buf)
    seg = array("Q", buf)
    if _SWAP:
        seg.byteswap()
    ds, ns = seg[::4], seg[1::4]
    if policy == "last":  # each but the last of its digest
        return array("Q", [n for n, d, e in zip(ns, ds, ds[1:]) if d == e])
    return array("Q", [n for n, d, e in zip(ns[1:], ds, ds[1:]) if d == e])


def dedup(events: Iterable[Any], policy: str, *, drops: SortedRuns | None = None,
          again: Callable[[], Iterable[Any]] | None = None, pos: Callable[[Record], Any] = _offset,
          where: Callable[[Any], str] | None = None, tmpdir: str | None = None) -> Iterator[Any]:
    """``events`` with each key once, as ``policy`` says. ``first``/``last``: ``drops`` is
    :func:`find_drops` of the same records. ``error``: ``again`` gives the input's
    records again from the start, to name a refused key's positions (``None``: the input
    cannot be re-read; a repeat is then worded without its first position)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown duplicate policy {policy!r}")
    if policy != "error":
        if drops is None:
            raise ValueError(f"the {policy!r} policy needs find_drops() of the input")
        yield from _without(events, drops)
        return
    with DigestRuns(tmpdir) as check:
        add = check.keys.add
        tick = 0
        for ev in events:
            if type(ev) is Record:
                if not add(ev.db, ev.key):
                    if again is None:
                        raise DuplicateKeyError(ev.db, ev.key, None, pos(ev), where)
                    # an earlier repeat may be across the runs so far: the first one is named
                    _refuse(again, check, check.repeated() | {check.keys.digest(ev.db, ev.key)}, pos, where)
                tick += 1
                if tick >= _DRAIN_EVERY:
                    tick = 0
                    check.drain()
            elif type(ev) is End:  # a writer stops at End: the repeats across runs before it
                _refuse_repeats(again, check, pos, where)
                yield ev
                return
            yield ev
        _refuse_repeats(again, check, pos, where)


def _refuse_repeats(again: Callable[[], Iterable[Any]] | None, check: DigestRuns,
                    pos: Callable[[Record], Any], where: Callable[[Any], str] | None) -> None:
    """At the end of the pass: refuse a key met in two runs."""
    repeats = check.repeated()
    if repeats:
        _refuse(again, check, repeats, pos, where)


def _without(events: Iterable[Any], drops: SortedRuns) -> Iterator[Any]:
    """The second pass of ``first``/``last``: the events but the records ``drops`` names."""
    ahead = iter(drops)
    nxt = next(ahead, (-1,))[0]
    i = 0
    for ev in events:
        if type(ev) is Record:
            i += 1
            if i == nxt + 1:
                nxt = next(ahead, (-1,))[0]
                continue
        yield ev


def _refuse(again: Callable[[], Iterable[Any]] | None, check: DigestRuns, repeats: set[int],
            pos: Callable[[Record], Any], where: Callable[[Any], str] | None) -> None:
    """Name the first key read twice among those with a digest in ``repeats``, by a pass
    over the input from the start (two keys merely sharing a digest pass)."""
    if again is None:
        raise UnnamedDuplicateError()
    digest = check.keys.digest
    seen: dict[tuple[int, bytes], Any] = {}
    for rec in again():
        if type(rec) is not Record or digest(rec.db, rec.key) not in repeats:
            continue
        p = pos(rec)
        first = seen.setdefault((rec.db, rec.key), p)
        if first != p:
            raise DuplicateKeyError(rec.db, rec.key, first, p, where)


__all__ = ["POLICIES", "RUN_BYTES", "DuplicateKeyError", "UnnamedDuplicateError", "dedup", "find_drops"]
