"""rdbtools' file I/O (with :mod:`rdbtools.seek`'s re-reads by offset): pull drivers
over the sans-IO decoder, and the one atomic file writer of the project.

Files starting with the LZ4 frame magic (whatever their name; by the name ``.lz4`` only for
a stream that cannot be peeked at) are
decompressed transparently. ``-`` means standard input. Errors raised by the
decoder get ``source`` set to the path so messages name file and offset.

Every file rdbkit writes whole — a converted dump, a JSONL export, a fetched
snapshot, an AOF manifest or base, the server's ``dump.rdb`` — goes through
:func:`atomic_output` / :func:`write_atomically`: a temporary file in the same
directory, fsynced, renamed over the target, the directory fsynced (as Redis's
``rdbSave`` and ``writeAofManifestFile``). A crash, a full disk or Ctrl-C at any
point leaves the old file or nothing, never half a file, and no temporary file.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, Protocol

from .decoder import Filter, RdbDecoder, _NeedData
from .errors import RdbCorruptError, RdbError, RdbTruncatedError
from .limits import Limits
from .model import Event, Record

CHUNK = 1 << 20
_LZ4_MAGIC = b"\x04\x22\x4d\x18"

Source = str | os.PathLike[str] | BinaryIO | bytes


def open_input(source: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, str, bool]:
    """Open ``source`` for reading (lz4-aware). Returns (fileobj, display name, owned)."""
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        if name == "-":
            fobj: BinaryIO = sys.stdin.buffer
            owned = False
            name = "<stdin>"
        else:
            fobj = open(name, "rb")  # noqa: SIM115 - closed by the caller via owned
            owned = True
    else:
        fobj = source
        name = getattr(source, "name", "<stream>")
        if not isinstance(name, str):
            name = "<stream>"
        owned = False
    peek = _peek(fobj)
    # an LZ4 frame by its magic, whatever the name (a plain RDB named *.lz4 is read as
    # what it is); by the name only where the stream cannot be peeked at
    if peek.startswith(_LZ4_MAGIC) or (peek == b"" and _unpeekable(fobj) and name.endswith(".lz4")):
        lz4in: Any = _lz4_input_class()(fobj, mode="rb")
        lz4in.display_name = name
        fobj = lz4in
        owned = True
    return fobj, name, owned


_LZ4_INPUT: type | None = None


def _lz4_input_class() -> type:
    """``lz4.frame.LZ4FrameFile`` whose reads turn a damaged or cut frame into
    :class:`RdbCorruptError` / :class:`RdbTruncatedError` naming the file and the
    decompressed offset reached (the binding raises RuntimeError / EOFError)."""
    global _LZ4_INPUT
    if _LZ4_INPUT is not None:
        return _LZ4_INPUT
    import lz4.frame

    class Lz4Input(lz4.frame.LZ4FrameFile):  # type: ignore[misc]
        display_name = "<lz4>"

        def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
            try:
                at = super().tell()
            except (OSError, ValueError):
                at = None
            try:
                return fn(*args)
            except EOFError:
                raise RdbTruncatedError("the LZ4 frame ends before its end mark", offset=at,
                                        phase="read-lz4", source=self.display_name) from None
            except RuntimeError as exc:
                raise RdbCorruptError(f"damaged LZ4 frame ({exc})", offset=at, phase="read-lz4",
                                      source=self.display_name) from None

        def read(self, size: int = -1) -> bytes:
            return self._guarded(super().read, size)  # type: ignore[no-any-return]

        def read1(self, size: int = -1) -> bytes:
            return self._guarded(super().read1, size)  # type: ignore[no-any-return]

        def readline(self, size: int = -1) -> bytes:
            return self._guarded(super().readline, size)  # type: ignore[no-any-return]

        def peek(self, size: int = -1) -> bytes:
            return self._guarded(super().peek, size)  # type: ignore[no-any-return]

    _LZ4_INPUT = Lz4Input
    return Lz4Input


def _unpeekable(fobj: BinaryIO) -> bool:
    return getattr(fobj, "peek", None) is None


def _peek(fobj: BinaryIO) -> bytes:
    peek: Callable[[int], bytes] | None = getattr(fobj, "peek", None)
    if peek is not None:
        try:
            return peek(4)[:4]
        except (OSError, ValueError):
            return b""
    return b""


def open_output(target: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, bool]:
    """Open ``target`` for writing; ``-`` is stdout, ``.lz4`` names get an LZ4 frame."""
    if isinstance(target, str | os.PathLike):
        name = os.fspath(target)
        if name == "-":
            return sys.stdout.buffer, False
        if name.endswith(".lz4"):
            import lz4.frame

            return lz4.frame.open(name, "wb"), True
        return open(name, "wb"), True  # noqa: SIM115
    return target, False


_fsync = getattr(os, "fdatasync", os.fsync)  # redis_fsync on Linux


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory so a rename or a new file in it survives a power loss."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replaceable(name: str) -> bool:
    """Whether ``name`` is a file to replace by rename: a regular file or nothing yet.

    A device or a FIFO (``/dev/null``, a shell's ``>(...)``) and the names of open
    descriptors (``/dev/stdout``, ``/dev/fd/N``) are not: renaming over them would
    turn ``/dev/null`` into a regular file or replace the ``/dev/stdout`` link (as
    root), or fail where ``/dev`` is not writable. They are written in place.
    """
    if os.path.abspath(name).startswith(("/dev/fd/", "/dev/std", "/proc/")):
        return False
    try:
        return stat.S_ISREG(os.stat(name).st_mode)
    except FileNotFoundError:
        return True


@contextmanager
def _in_place(name: str, compress: bool) -> Iterator[BinaryIO]:
    """Write into a device or a pipe as it is; there is nothing to make atomic."""
    with open(name, "wb") as raw:
        if compress:
            import lz4.frame as lz4frame

            with lz4frame.LZ4FrameFile(raw, mode="wb") as frame:
                yield frame
        else:
            yield raw


@contextmanager
def atomic_output(target: str | os.PathLike[str], temp_name: str | None = None,
                  lz4: bool | None = None, fsync: bool = True) -> Iterator[BinaryIO]:
    """A file object whose bytes become ``target`` only if the block ends normally.

    ``-`` is standard output (flushed, nothing atomic about it); a ``.lz4`` target
    gets an LZ4 frame (``lz4`` True/False decides instead of the name: a server's
    ``dbfilename`` is written as it is, whatever it ends with). The temporary file is ``temp_name`` in the target's
    directory (default ``.<name>.<pid>.tmp``); on any exception, KeyboardInterrupt
    included, it is removed and the target is untouched. A device, a FIFO or
    ``/dev/stdout`` is written in place (see :func:`_replaceable`). ``fsync=False`` skips
    the file's and the directory's fsync (the rename is still atomic, but a power loss may
    lose it): Redis saves ``nodes.conf`` without fsync for most cluster changes.
    """
    name = os.fspath(target)
    if name == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    compress = name.endswith(".lz4") if lz4 is None else lz4
    if not _replaceable(name):
        with _in_place(name, compress) as out:
            yield out
        return
    directory, base = os.path.split(os.path.abspath(name))
    tmp: str | None = os.path.join(directory, temp_name or f".{base}.{os.getpid()}.tmp")
    assert tmp is not None
    raw = open(tmp, "wb")  # noqa: SIM115 - closed below, renamed only when complete
    try:
        if compress:
            import lz4.frame as lz4frame

            frame = lz4frame.LZ4FrameFile(raw, mode="wb")
            yield frame
            frame.close()  # writes the end mark; the raw file stays open
        else:
            yield raw
        raw.flush()
        if fsync:
            _fsync(raw.fileno())
        raw.close()
        os.replace(tmp, name)
        tmp = None
        if fsync:
            fsync_dir(directory)
    finally:
        if not raw.closed:
            raw.close()
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_atomically(target: str | os.PathLike[str], chunks: Iterable[bytes] | bytes,
                     temp_name: str | None = None, lz4: bool | None = None, fsync: bool = True) -> None:
    """Write ``chunks`` (or one bytes object) to ``target`` through :func:`atomic_output`."""
    with atomic_output(target, temp_name, lz4, fsync) as out:
        if isinstance(chunks, bytes | bytearray | memoryview):
            out.write(chunks)
        else:
            for chunk in chunks:
                out.write(chunk)


def iter_events(
    source: Source,
    *,
    filter: Filter | None = None,
    limits: Limits | None = None,
    verify_checksum: bool = True,
    chunk_size: int = CHUNK,
    allow_trailing: bool = False,
    name: str | None = None,
    packed_listpacks: bool = False,
    check_duplicates: bool = True,
    keys: Any = None,
    sink: Callable[..., bool] | None = None,
) -> Iterator[Event]:
    """Every event of an RDB file, path, file object or bytes, in order.

    A file holds one RDB: bytes after the checksum trailer are reported as
    corruption (a damaged version digit or EOF byte shows up that way) unless
    ``allow_trailing`` — streams that carry more after the RDB use the decoder's
    ``trailing_data`` instead. ``name`` is the input's name in error messages (for a
    file object opened by :func:`open_input`, whose own name may be lost, e.g. lz4).
    ``packed_listpacks``: hash and zset listpacks and set intsets come as their validated
    bytes (``rdbtools.objects.table.PACKED_FACTORIES``), for a server that keeps them.
    ``check_duplicates=False``: a key read twice is passed on (for a caller applying
    its own policy, :mod:`rdbtools.dedup`) instead of refused. ``keys``: the
    :class:`~rdbtools.keyset.KeySet` the check records keys in (the caller's, to drain it).
    ``sink``: ``sink(db, key, type, value, expire_ms, idle, freq, encoding) -> bool``, offered
    the keys the decoder's C scan reads; those it takes (true) are not yielded as records.
    Without the C scan nothing is offered: a caller handles every record either way.
    """
    decoder = RdbDecoder(limits=limits, filter=filter, verify_checksum=verify_checksum,
                         packed_listpacks=packed_listpacks, check_duplicates=check_duplicates,
                         keys=keys, sink=sink)
    if isinstance(source, bytes | bytearray | memoryview):
        decoder.feed(bytes(source))
        decoder.feed_eof()
        yield from _drain(decoder, name or "<bytes>")
        if not allow_trailing:
            _refuse_trailing(decoder, len(decoder.trailing_data), name or "<bytes>")
        return
    fobj, opened_name, owned = open_input(source)
    name = name or opened_name
    try:
        read = fobj.read
        while not decoder.done:
            try:
                while True:
                    events = decoder.next_events()
                    if not events:
                        break
                    yield from events
            except RdbError as exc:
                exc.source = exc.source or name
                raise
            if decoder.done:
                if not allow_trailing:
                    extra = len(decoder.trailing_data) or len(read(1))
                    _refuse_trailing(decoder, extra, name)
                break
            data = read(max(chunk_size, min(decoder.need, 64 * chunk_size)))
            if data:
                decoder.feed(data)
            else:
                decoder.feed_eof()
    except OSError as exc:
        raise RdbError(f"cannot read: {exc.strerror or exc}", source=name) from exc
    finally:
        if owned:
            fobj.close()


def _refuse_trailing(decoder: RdbDecoder, extra: int, name: str) -> None:
    if extra:
        raise RdbCorruptError(
            "unexpected bytes after the end of the RDB (checksum trailer)",
            offset=decoder.offset,
            phase="check-sum",
            source=name,
        )


def _drain(decoder: RdbDecoder, name: str) -> Iterator[Event]:
    try:
        while True:
            events = decoder.next_events()
            if not events:
                return
            yield from events
    except RdbError as exc:
        exc.source = exc.source or name
        raise


def iter_records(source: Source, **kwargs: Any) -> Iterator[Record]:
    """Only the :class:`~rdbtools.model.Record` events (one per key)."""
    for ev in iter_events(source, **kwargs):
        if type(ev) is Record:
            yield ev


class AsyncReader(Protocol):
    """What :func:`aiter_stream` reads from: an ``asyncio.StreamReader`` or the like."""

    async def read(self, n: int = -1, /) -> bytes: ...


async def aiter_stream(
    reader: AsyncReader, *, decoder: RdbDecoder | None = None, limit: int | None = None
) -> AsyncIterator[Event]:
    """Events from an asyncio StreamReader; stops after the checksum trailer.

    ``limit`` bounds the bytes taken from the stream (a ``$<len>`` replication
    payload); the decoder's ``trailing_data`` holds anything read past the RDB.
    """
    decoder = decoder or RdbDecoder()
    taken = 0
    while True:
        ev = decoder.next_event()
        if ev is None:
            return
        if not isinstance(ev, _NeedData):  # NEED_DATA, the one instance
            yield ev
            continue
        want = max(CHUNK, decoder.need)
        if limit is not None:
            want = min(want, limit - taken)
            if want <= 0:
                decoder.feed_eof()
                continue
        data = await reader.read(want)
        if not data:
            decoder.feed_eof()
        else:
            taken += len(data)
            decoder.feed(data)


def read_all(source: Source, **kwargs: Any) -> list[Event]:
    """Every event as a list (convenience for small files and tests)."""
    return list(iter_events(source, **kwargs))


__all__ = ["aiter_stream", "iter_events", "iter_records", "open_input", "open_output", "read_all"]

