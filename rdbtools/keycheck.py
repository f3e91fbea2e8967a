"""The duplicate-key check of one pass over an RDB, in memory that does not grow with it.

A loading Redis refuses a file holding a key twice in one db; every reader refuses it
too (:mod:`rdbtools.keyset`: an 8-byte digest a key in a table). At 10M keys that
table alone is 128 MiB (and 192 MiB while it grows), so a pass that must stay within a
memory budget hands the decoder a :class:`KeyCheck`'s table and calls :meth:`drain` now
and then: past :data:`KEYS_IN_MEMORY` keys the sorted digests go to a run on disk
(:class:`rdbtools.spill.SortedRuns`, 8 bytes a key) and the table is reused. The table
refuses a key met twice within one run as it comes; :meth:`finish`, at the end of the
pass, merges the runs, and a digest met in two runs is looked up by a second pass over
the input: a key read twice is refused naming both offsets, two keys sharing a digest
(2^-64 a pair) pass.
"""

from __future__ import annotations

import contextlib
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from typing import IO, Any, BinaryIO

from .errors import DuplicateKey
from .io import iter_events, open_input
from .keyset import KeySet
from .limits import Limits
from .model import Record
from .spill import SortedRuns

KEYS_IN_MEMORY = 1_000_000  # digests in the table before a drain (a 16 MiB table)
_DIGEST = struct.Struct("=Q")
_REPEATS = 1024  # repeated digests looked up by the second pass (one names the error)
_SLICE = 1 << 17  # digests checked at once when the runs are compared (~10 MB of set)
_BLOCK = 1 << 16  # bytes read from a run at a time


class DigestRuns:
    """The digest table of one pass (:attr:`keys`, refusing a repeat within it as it comes)
    and the sorted runs it is drained to: :meth:`repeated` names the digests met in two
    runs. Close it (or use it as a context manager)."""

    def __init__(self, tmpdir: str | None = None) -> None:
        self.keys: Any = KeySet()
        self._runs = SortedRuns(tmpdir=tmpdir, record=_DIGEST)

    @property
    def spilled(self) -> int:
        """Runs written to disk so far."""
        return self._runs.spilled

    def drain(self) -> None:
        """Move the table to a run on disk once it holds :data:`KEYS_IN_MEMORY` keys."""
        if len(self.keys) >= KEYS_IN_MEMORY:
            self._runs.add_sorted(self.keys.drain())

    def repeated(self) -> set[int]:
        """At the end of the pass: digests met in two runs (at most ``_REPEATS`` of them;
        none when nothing was spilled, the table having refused any repeat as it came)."""
        if not self._runs.spilled:
            return set()
        self._runs.add_sorted(self.keys.drain())
        return _repeats(self._runs.run_files(), self._runs.count)

    def close(self) -> None:
        self._runs.close()

    def __enter__(self) -> DigestRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class KeyCheck(DigestRuns):
    """Pass :attr:`keys` to the decoder (``iter_events(..., keys=check.keys)``), call
    :meth:`drain` every few thousand keys and :meth:`finish` at the End event; close it
    (or use it as a context manager). ``source`` is read again by :meth:`finish` to name
    a repeated key (not possible for ``"-"``, stdin)."""

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, name: str, limits: Limits | None = None,
                 tmpdir: str | None = None) -> None:
        super().__init__(tmpdir)
        self._source = source
        self._name = name
        self._limits = limits

    def finish(self) -> None:
        """Refuse a key read twice across runs (:class:`~rdbtools.errors.DuplicateKey`)."""
        repeats = self.repeated()
        if not repeats:
            return
        if self._source == "-":
            raise DuplicateKey(
                "duplicated key: a key is read twice in one db (found when the pass ended; "
                "stdin cannot be read again to name it)", phase="read-key", source=self._name)
        digest = self.keys.digest
        seen: dict[tuple[int, bytes], int] = {}
        with _reading(self._source) as fobj:
            for rec in iter_events(fobj, limits=self._limits, name=self._name, check_duplicates=False):
                if type(rec) is not Record or digest(rec.db, rec.key) not in repeats:
                    continue
                first = seen.setdefault((rec.db, rec.key), rec.offset)
                if first != rec.offset:
                    # mirrors rdbLoadRioWithLoadingCtx: dbAddRDBLoad fails -> "RDB has duplicated key"
                    raise DuplicateKey(
                        f"duplicated key: read twice in one db, first at offset {first} (a "
                        "loading redis-server panics: 'RDB has duplicated key')",
                        offset=rec.offset, phase="read-key", key=rec.key, db=rec.db, source=self._name)


@contextlib.contextmanager
def _reading(source: str | os.PathLike[str] | BinaryIO) -> Iterator[BinaryIO]:
    """The input again from its start: a file re-opened by name, or a copy being written
    (a stdin input's spool) read from 0 and left where its writer was."""
    if isinstance(source, str | os.PathLike):
        fobj, _, _ = open_input(source)
        with fobj:
            yield fobj
        return
    at = source.tell()
    source.seek(0)
    try:
        yield source
    finally:
        source.seek(at)


def _repeats(files: list[IO[bytes]], total: int) -> set[int]:
    """Digests met in two runs (at most ``_REPEATS``)."""
    repeats: set[int] = set()
    for seg in in_ranges(files, total):
        if len(set(seg)) != len(seg):
            seen: set[int] = set()
            for d in seg:
                if d in seen:
                    repeats.add(d)
                seen.add(d)
            if len(repeats) >= _REPEATS:
                break
    return repeats


def in_ranges(files: list[IO[bytes]], total: int, width: int = 1, swap: bool = False) -> Iterator[array[int]]:
    """The records of sorted runs (``width`` uint64 each, ordered by the first; ``swap``:
    stored big-endian), ``total`` in all, in ascending ranges of their first value: each
    range's records of every run in one flat array. Digests are uniform, so a range holds
    ~``_SLICE`` records and can be checked with a set: a merge item by item would cost
    seconds of Python per 10M keys."""
    ranges = max(1, total // _SLICE)
    step = -(-(1 << 64) // ranges)
    cursors = [_Cursor(f, width, swap) for f in files]
    for r in range(1, ranges + 1):
        hi = min(r * step, 1 << 64)
        seg = array("Q")
        for c in cursors:
            c.take_below(hi, seg)
        yield seg


class _Cursor:
    """One sorted run of records of ``width`` native uint64 (``swap``: stored big-endian),
    ordered by their first value, read forward in blocks."""

    def __init__(self, f: IO[bytes], width: int = 1, swap: bool = False) -> None:
        f.seek(0)
        self._f = f
        self._width = width
        self._swap = swap
        self._buf = array("Q")
        self._keys = self._buf
        self._pos = 0

    def take_below(self, hi: int, out: array[int]) -> None:
        """Append the run's next records whose first value is below ``hi`` to ``out``."""
        w = self._width
        while True:
            if self._pos == len(self._keys):
                data = self._f.read(_BLOCK)
                if not data:
                    return
                buf = self._buf = array("Q", data)
                if self._swap:
                    buf.byteswap()
                self._keys = buf[::w] if w > 1 else buf
                self._pos = 0
            k = bisect_left(self._keys, hi, self._pos)
            out.extend(self._buf[self._pos * w:k * w])
            self._pos = k
            if k < len(self._keys):
                return


__all__ = ["KEYS_IN_MEMORY", "DigestRuns", "KeyCheck", "in_ranges"]
