"""The only module of ``aof`` that touches the file system (docs/style.md rule 1).

Everything else in the package is sans-IO and reaches files through the helpers
here: opening inputs (``.lz4`` aware, via :func:`rdbtools.io.open_input`),
reading a manifest, listing and stat-ing a directory, the real AOF sink
(:class:`FileSink`), atomic replacement of a small file (write a temp file,
fsync, rename, fsync the directory — mirrors ``writeAofManifestFile``),
truncation and backup copies for ``check --fix``.

``fsync`` here is ``os.fdatasync`` where available, as Redis's ``redis_fsync``
on Linux.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import BinaryIO

from rdbtools.io import fsync_dir, write_atomically
from rdbtools.io import open_input as _open_input

__all__ = [
    "FileSink",
    "backup_copy",
    "basename",
    "dirname",
    "exists",
    "file_size",
    "fsync_dir",
    "is_dir",
    "iter_chunks",
    "join",
    "listdir",
    "open_input",
    "read_bytes",
    "read_head",
    "remove",
    "replace_atomically",
    "truncate_file",
]

CHUNK = 1 << 20
_fsync = getattr(os, "fdatasync", os.fsync)

PathLike = str | os.PathLike[str]


def open_input(source: PathLike | BinaryIO) -> tuple[BinaryIO, str, bool]:
    """``(fileobj, display name, owned)`` for a path or file object; lz4 is transparent."""
    return _open_input(source)


def iter_chunks(fobj: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    read = fobj.read
    while True:
        data = read(size)
        if not data:
            return
        yield data


def read_bytes(path: PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def read_head(path: PathLike, size: int = 4096) -> bytes:
    """The first ``size`` bytes of a file, decompressed when it is an lz4 frame."""
    fobj, _, owned = _open_input(path)
    try:
        return fobj.read(size)
    finally:
        if owned:
            fobj.close()


def is_dir(path: PathLike) -> bool:
    return os.path.isdir(path)


def exists(path: PathLike) -> bool:
    return os.path.exists(path)


def file_size(path: PathLike) -> int:
    return os.stat(path).st_size


def listdir(path: PathLike) -> list[str]:
    return sorted(os.listdir(path))


def join(*parts: str) -> str:
    return os.path.join(*parts)


def basename(path: PathLike) -> str:
    return os.path.basename(os.fspath(path))


def dirname(path: PathLike) -> str:
    return os.path.dirname(os.fspath(path)) or "."


def remove(path: PathLike) -> None:
    os.unlink(path)


def replace_atomically(directory: PathLike, name: str, temp_name: str, data: bytes) -> None:
    """Write ``data`` to ``directory/temp_name``, fsync it, rename it over ``name``,
    fsync the directory (rdbtools.io.write_atomically, the project's one atomic
    writer). A crash at any point leaves either the old or the new file."""
    write_atomically(os.path.join(directory, name), data, temp_name)


def truncate_file(path: PathLike, size: int) -> None:
    """Cut a file to ``size`` bytes and make that durable."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, size)
        _fsync(fd)
    finally:
        os.close(fd)


def backup_copy(path: PathLike, suffix: str = ".bak") -> str:
    """Copy ``path`` next to itself as ``<path><suffix>`` (``.bak.1``, ``.bak.2`` … when
    taken) with its metadata, fsynced; returns the backup's path."""
    src = os.fspath(path)
    dst = src + suffix
    n = 0
    while os.path.exists(dst):
        n += 1
        dst = f"{src}{suffix}.{n}"
    shutil.copy2(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(os.path.dirname(os.path.abspath(dst)))
    return dst


class FileSink:
    """The real AOF sink: an append-only file descriptor (``O_APPEND``, created 0644).

    ``write`` returns what ``write(2)`` wrote (possibly short), ``fsync`` is
    ``fdatasync``, ``truncate`` is ``ftruncate`` — the three calls
    :class:`aof.writer.AofWriter` needs. ``size`` is the file size at open time
    plus what was written since (what Redis keeps as ``aof_current_size``).
    """

    def __init__(self, path: PathLike, *, create: bool = True) -> None:
        flags = os.O_WRONLY | os.O_APPEND | (os.O_CREAT if create else 0)
        self.path = os.fspath(path)
        self.fd = os.open(self.path, flags, 0o644)
        self.size = os.fstat(self.fd).st_size

    def write(self, data: bytes | memoryview) -> int:
        n = os.write(self.fd, data)
        self.size += n
        return n

    def fsync(self) -> None:
        _fsync(self.fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)
        self.size = size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
