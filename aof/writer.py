"""Appending commands to an AOF with Redis's three fsync policies (sans-IO).

Mirrors aof.c ``feedAppendOnlyFile`` (what goes into the buffer) and
``flushAppendOnlyFile``/``aofWrite`` (how it reaches the disk):

* ``append(argv, db)`` adds ``#TS:<now>`` when timestamps are on and the second
  changed, then ``SELECT <db>`` when the db differs from the last one written
  (always before the first command), then the command as a RESP array;
* ``flush()`` writes the whole buffer, looping over partial writes. A write
  that fails after some bytes went out is a *short write*: the file is cut back
  to its size before the flush (``ftruncate``) and the buffer kept, so a retry
  writes the same bytes again; if the cut fails, the written part stays and
  leaves the buffer (the file may then hold half a command, as in Redis).
  Either way :class:`AofWriteError` carries ``errno`` and ``written``;
* ``always``: ``flush()`` fsyncs before it returns, so a server acknowledges a
  write only after it is on disk; an error here is fatal for Redis (it exits);
* ``everysec``: ``flush(now)``/``tick(now)`` fsync when a second has passed since
  the last fsync (Redis does it in a background thread; a crash loses ≈1–2 s);
* ``no``: never fsync (the kernel decides), except :meth:`sync`.

The writer never reads a clock: times are passed in (``now``, Unix seconds as a
float). The sink is anything with ``write``/``fsync``/``truncate``
(:class:`AofSink`); :class:`aof.files.FileSink` is the real one, tests inject
faults with their own.
"""

from __future__ import annotations

import errno as _errno
import logging
from collections.abc import Sequence
from typing import Final, Protocol

from aof.errors import AofWriteError
from aof.replies import encode_command

__all__ = ["FSYNC_POLICIES", "AofSink", "AofWriter", "encode_select"]

log = logging.getLogger(__name__)

FSYNC_POLICIES: Final = ("always", "everysec", "no")


class AofSink(Protocol):
    """Where AOF bytes go. ``write`` returns the count written (may be short) or
    raises OSError; ``truncate`` cuts the file to an absolute size."""

    def write(self, data: memoryview) -> int: ...

    def fsync(self) -> None: ...

    def truncate(self, size: int) -> None: ...


def encode_select(db: int) -> bytes:
    """The ``SELECT <db>`` an AOF (and a master's replication stream) emits when the db changes."""
    return encode_command([b"SELECT", b"%d" % db])


_select = encode_select


class AofWriter:
    """Buffer commands, write them with :meth:`flush`, fsync per policy.

    ``size`` is the file's length (pass the current size when appending to an
    existing file; default: the sink's ``size`` attribute or 0); ``synced_size``
    how much of it is known to be fsynced. ``error`` holds the last write/fsync
    error until a later flush succeeds (Redis's ``aof_last_write_status``: a server
    refuses writes meanwhile).
    """

    def __init__(
        self,
        sink: AofSink,
        fsync: str = "everysec",
        *,
        timestamps: bool = False,
        size: int | None = None,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.sink = sink
        self.fsync_policy = fsync
        self.timestamps = timestamps
        self.size = size if size is not None else int(getattr(sink, "size", 0) or 0)
        self.synced_size = self.size
        self.selected_db: int | None = None
        self.last_ts: int | None = None
        self.last_fsync: float | None = None
        self.error: AofWriteError | None = None
        self._buf = bytearray()

    # -- buffering ----------------------------------------------------------------------------
    @property
    def buffered(self) -> int:
        return len(self._buf)

    def annotate(self, now: float, force: bool = False) -> None:
        """``#TS:<seconds>`` if the second advanced (or ``force``: a rewrite's first line)."""
        ts = int(now)
        if force or self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
            self._buf += b"#TS:%d\r\n" % ts

    def append(self, argv: Sequence[bytes | str | int], db: int, now: float | None = None) -> None:
        """Queue one command as executed in ``db`` (argv as propagated, docs/formats.md §8.6)."""
        if self.timestamps and now is not None:
            self.annotate(now)
        if db != self.selected_db:
            self._buf += _select(db)
            self.selected_db = db
        self._buf += encode_command(argv)

    def append_raw(self, data: bytes) -> None:
        """Queue bytes already in AOF form (e.g. a MULTI … EXEC block built elsewhere)."""
        self._buf += data

    def reset_db(self) -> None:
        """Forget the selected db: the next command starts with SELECT (new file)."""
        self.selected_db = None

    def reopen(self, sink: AofSink, size: int | None = None) -> None:
        """Continue in another file (a new incr file after a rewrite)."""
        self.sink = sink
        self.size = size if size is not None else int(getattr(sink, "size", 0) or 0)
        self.synced_size = self.size
        self.selected_db = None

    # -- writing ------------------------------------------------------------------------------
    def _write_all(self, data: memoryview) -> tuple[int, OSError | None]:
        """Mirrors ``aofWrite``: loop over partial writes; (bytes written, the failure)."""
        total = 0
        write = self.sink.write
        while total < len(data):
            try:
                n = write(data[total:])
            except InterruptedError:
                continue
            except OSError as exc:
                return total, exc
            if n is None or n <= 0:  # no progress: what a full disk looks like
                return total, OSError(_errno.ENOSPC, "No space left on device")
            total += n
        return total, None

    def flush(self, now: float | None = None) -> int:
        """Write the buffer; fsync per policy. Returns the bytes written (0 if nothing)."""
        if not self._buf:
            self._maybe_fsync(now)
            return 0
        data = memoryview(bytes(self._buf))
        before = self.size
        written, err = self._write_all(data)
        if err is not None:
            self._short_write(before, len(data), written, err)
        self.size += written
        del self._buf[:written]
        if self.error is not None:
            log.warning("AOF write error looks solved, Redis can write again.")
            self.error = None
        self._maybe_fsync(now)
        return written

    def _short_write(self, before: int, expected: int, written: int, exc: OSError) -> None:
        err = exc.errno if exc.errno is not None else _errno.EIO
        if written == 0:
            msg = f"Error writing to the AOF file: {_strerror(exc)}"
            log.warning("%s", msg)
            self._raise(AofWriteError(msg, errno=err, written=0, offset=before))
        msg = f"Short write while writing to the AOF file: (nwritten={written}, expected={expected})"
        log.warning("%s", msg)
        try:
            self.sink.truncate(before)
        except OSError as exc:
            # the partial command stays in the file; the buffer loses what was written
            log.warning(
                "Could not remove short write from the append-only file. Redis may refuse to "
                "load the AOF the next time it starts. ftruncate: %s",
                exc.strerror or exc,
            )
            self.size = before + written
            del self._buf[:written]
            self._raise(AofWriteError(msg, errno=err, written=written, offset=before))
        self._raise(AofWriteError(msg, errno=err, written=written, offset=before))

    def _raise(self, exc: AofWriteError) -> None:
        self.error = exc
        raise exc

    def _maybe_fsync(self, now: float | None) -> None:
        if self.synced_size >= self.size:
            if now is not None and self.last_fsync is None:
                self.last_fsync = now
            return
        policy = self.fsync_policy
        if policy == "always":
            self._fsync(now)
        elif policy == "everysec" and now is not None:
            if self.last_fsync is None or now - self.last_fsync >= 1.0:
                self._fsync(now)

    def _fsync(self, now: float | None) -> None:
        try:
            self.sink.fsync()
        except OSError as exc:
            code = exc.errno if exc.errno is not None else _errno.EIO
            if self.fsync_policy == "always":
                msg = (
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': "
                    f"{_strerror(exc)}"
                )
            else:
                msg = f"Fail to fsync the AOF file: {_strerror(exc)}"
            log.warning("%s", msg)
            self._raise(AofWriteError(msg, errno=code, written=0, offset=self.size))
        self.synced_size = self.size
        if now is not None:
            self.last_fsync = now

    def tick(self, now: float) -> bool:
        """The once-a-second duty (``serverCron``/``beforeSleep``): flush, and under
        ``everysec`` fsync if a second passed. Returns whether everything written is
        now fsynced."""
        self.flush(now)
        return self.synced_size >= self.size

    def sync(self, now: float | None = None) -> None:
        """Flush and fsync whatever the policy (shutdown, before a rename)."""
        self.flush(now)
        if self.synced_size < self.size:
            self._fsync(now)


def _strerror(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    if exc.errno is not None:
        return _errno.errorcode.get(exc.errno, f"errno {exc.errno}")
    return str(exc) or "unknown error"
