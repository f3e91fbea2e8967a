"""Sorted runs of fixed-size records, spilled to temporary files and merged.

``rdbkit diff`` must compare inputs of any size in memory that does not grow with
them. It keeps a 32-byte record per key (digests, offset, expiry) and needs those
records in digest order, then the differing ones in file order: an external sort.
:class:`SortedRuns` collects records in one buffer of ``run_bytes``; a full buffer is
sorted in place and written to an anonymous temporary file (a *run*); iterating merges
the runs (:func:`heapq.merge`, each run read in blocks). Inputs that fit one buffer
never touch the disk: the in-memory case is the one-run case of the same code.

The files are ``tempfile.TemporaryFile`` (on Linux ``O_TMPFILE``): they have no name
in ``tmpdir``, so nothing is left there whatever ends the process, SIGKILL included;
:meth:`SortedRuns.close` gives the space back at once.

Records are ``struct`` format ``>QQqq`` (four 64-bit fields, big-endian), so byte
order is field order: sorting by bytes (in place in C, ``rdbtools._speedups.sort_runs``)
sorts by the first field, then the next.
"""

from __future__ import annotations

import heapq
import io
import struct
import tempfile
from collections.abc import Iterator
from typing import IO

from ._accel import c_module

RECORD = struct.Struct(">QQqq")
SIZE = RECORD.size  # 32, the C sort's record size
DEFAULT_RUN_BYTES = 16 << 20  # 512K records a run
_MERGE_BUFFERS = 8 << 20  # read blocks of all runs of one merge together
_FAN_IN = 64  # runs merged at once (open files)


def _sort_py(buf: bytearray, size: int = SIZE) -> None:
    """Sort the ``size``-byte records of ``buf`` in place (the C twin, 32-byte records
    only, does it without the copies)."""
    mv = memoryview(buf)
    recs = sorted(bytes(mv[i:i + size]) for i in range(0, len(buf), size))
    mv.release()
    buf[:] = b"".join(recs)


_c = c_module("rdbtools._speedups")
sort_runs = _c.sort_runs if _c is not None else _sort_py


class SortedRuns:
    """Records ``(u64, u64, i64, i64)`` added in any order, read back sorted.

    ``run_bytes`` bounds the memory (rounded down to whole records, at least one);
    ``tmpdir`` is where runs go (``None``: :func:`tempfile.gettempdir`). Add, then
    iterate once, then :meth:`close` (or use it as a context manager). Runs sorted
    elsewhere (:meth:`add_sorted`) can have another ``record`` format, whose byte order
    need not be its value order.
    """

    def __init__(self, run_bytes: int = DEFAULT_RUN_BYTES, tmpdir: str | None = None,
                 record: struct.Struct = RECORD) -> None:
        self._record = record
        self._limit = max(record.size, run_bytes - run_bytes % record.size)
        self._tmpdir = tmpdir
        self._buf = bytearray()
        self._runs: list[IO[bytes]] = []
        self.count = 0

    @property
    def spilled(self) -> int:
        """Runs written to disk so far."""
        return len(self._runs)

    def add(self, a: int, b: int, c: int, d: int) -> None:
        self._buf += RECORD.pack(a, b, c, d)
        self.count += 1
        if len(self._buf) >= self._limit:
            self._spill()

    def add_packed(self, data: bytes) -> None:
        """Records already packed in ``record``'s format, in any order (many at a time:
        no Python call a record)."""
        self._buf += data
        self.count += len(data) // self._record.size
        if len(self._buf) >= self._limit:
            self._spill()

    def add_sorted(self, data: bytes) -> None:
        """One run already in ascending order (of the values ``record`` unpacks)."""
        if data:
            f = self._new_file()
            f.write(data)
            f.flush()
            self._runs.append(f)
            self.count += len(data) // self._record.size
            if len(self._runs) >= _FAN_IN:
                self._collapse()

    def _sort(self) -> None:
        if self._record.size == SIZE:
            sort_runs(self._buf)
        else:
            _sort_py(self._buf, self._record.size)

    def _spill(self) -> None:
        self._sort()
        f = self._new_file()
        f.write(self._buf)
        f.flush()
        self._runs.append(f)
        self._buf = bytearray()
        if len(self._runs) >= _FAN_IN:
            self._collapse()

    def _new_file(self) -> IO[bytes]:
        return tempfile.TemporaryFile(prefix="rdbkit-run-", dir=self._tmpdir)  # noqa: SIM115 - closed in close()

    def _collapse(self) -> None:
        """Merge every run into one, so that a merge never holds more than ``_FAN_IN``
        files open (each record is rewritten once per ``_FAN_IN`` runs spilled)."""
        f = self._new_file()
        pack = self._record.pack
        out: list[bytes] = []
        for rec in self._merged():
            out.append(pack(*rec))
            if len(out) >= 4096:
                f.write(b"".join(out))
                out.clear()
        f.write(b"".join(out))
        f.flush()
        for old in self._runs:
            old.close()
        self._runs = [f]

    def finish(self) -> None:
        """No more records: once runs are on disk, the last one joins them (its memory is
        given back before the next input is read)."""
        if self._runs and self._buf:
            self._spill()

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        """Every record once, ascending; the runs are merged as they are read."""
        if not self._runs:
            self._sort()
            return self._record.iter_unpack(self._buf)
        self.finish()
        return self._merged()

    def _merged(self) -> Iterator[tuple[int, ...]]:
        size = self._record.size
        block = max(size * 128, (_MERGE_BUFFERS // len(self._runs)) // size * size)
        return heapq.merge(*(_read_run(f, block, self._record) for f in self._runs))

    def run_files(self) -> list[IO[bytes]]:
        """The runs, each sorted, for a caller that reads them otherwise than merged (call
        :meth:`finish` first): those on disk, or the one in memory as an in-memory file."""
        if not self._runs and self._buf:
            self._sort()
            self._runs.append(io.BytesIO(self._buf))
            self._buf = bytearray()
        return list(self._runs)

    def close(self) -> None:
        self._buf = bytearray()
        runs, self._runs = self._runs, []
        for f in runs:
            f.close()

    def __enter__(self) -> SortedRuns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_run(f: IO[bytes], block: int, record: struct.Struct) -> Iterator[tuple[int, ...]]:
    f.seek(0)
    while data := f.read(block):
        yield from record.iter_unpack(data)


__all__ = ["DEFAULT_RUN_BYTES", "RECORD", "SortedRuns", "sort_runs"]
