"""The replication backlog: the tail of the stream a master sent, for partial resyncs.

Offsets follow docs/formats.md §8.5: ``offset`` (``master_repl_offset``) counts every
byte ever fed to the stream; the backlog keeps the last ``size`` of them
(``repl-backlog-size``), so its first byte sits at ``offset - histlen + 1``. A
replica that asks ``PSYNC <replid> <n>`` can continue when
``first_byte_offset <= n <= offset + 1``: it then receives the bytes from ``n`` on.

Sans-IO: a bytearray trimmed lazily (when it holds twice the size), so feeding is
an append and reading a slice.
"""

from __future__ import annotations

import os

MIN_SIZE = 16 * 1024  # CONFIG_REPL_BACKLOG_MIN_SIZE
ZERO_ID = "0" * 40  # no history (replid2 when there is none)


def new_replid() -> str:
    """A new history's replication id (changeReplicationId): 40 random hex digits."""
    return os.urandom(20).hex()


class Backlog:
    __slots__ = ("size", "offset", "_buf")

    def __init__(self, size: int, offset: int) -> None:
        """An empty backlog created when the stream is at ``offset`` (its next byte is ``offset + 1``)."""
        self.size = max(size, MIN_SIZE)
        self.offset = offset
        self._buf = bytearray()

    @property
    def histlen(self) -> int:
        return min(len(self._buf), self.size)

    @property
    def first_byte_offset(self) -> int:
        return self.offset - self.histlen + 1

    def feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        self.offset += len(data)
        if len(buf) > 2 * self.size:
            del buf[: len(buf) - self.size]

    def resize(self, size: int) -> None:
        self.size = max(size, MIN_SIZE)
        if len(self._buf) > self.size:
            del self._buf[: len(self._buf) - self.size]

    def covers(self, start: int) -> bool:
        """Whether the bytes from absolute offset ``start`` to the end are all here."""
        return self.first_byte_offset <= start <= self.offset + 1

    def read_from(self, start: int) -> bytes:
        """The stream from absolute offset ``start`` to its end (``covers(start)`` must hold)."""
        if not self.covers(start):
            raise ValueError(f"offset {start} is outside the backlog")
        skip = start - (self.offset - len(self._buf) + 1)
        return bytes(self._buf[skip:])
