"""One error hierarchy for everything that reads or writes RDB bytes.

Every error carries the absolute byte ``offset`` where the problem was found and
the ``phase`` the decoder was in (redis-check-rdb's "doing"), plus the key, db and
type byte when known. The sans-IO core never knows file names: drivers set
``source`` by catching and re-raising, so the message can name file and offset.
"""

from __future__ import annotations


class RdbError(Exception):
    """Base of every rdbtools error."""

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        phase: str | None = None,
        key: bytes | None = None,
        db: int | None = None,
        type_byte: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.phase = phase
        self.key = key
        self.db = db
        self.type_byte = type_byte
        self.source = source

    def __str__(self) -> str:
        parts = []
        if self.source:
            parts.append(f"{self.source}: ")
        parts.append(self.message)
        where = []
        if self.offset is not None:
            where.append(f"at offset {self.offset}")
        ctx = []
        if self.phase:
            ctx.append(f"while doing {self.phase}")
        if self.key is not None:
            ctx.append(f"key {self.key!r}")
        if self.db is not None:
            ctx.append(f"db {self.db}")
        if where:
            parts.append(" " + " ".join(where))
        if ctx:
            parts.append(" (" + ", ".join(ctx) + ")")
        return "".join(parts)


class RdbTruncatedError(RdbError):
    """The input ended inside a top-level structure (a socket reader may wait for more)."""


class RdbCorruptError(RdbError):
    """The bytes are not a valid RDB structure."""


class ChecksumMismatch(RdbCorruptError):
    """The CRC-64 trailer does not match the bytes before it."""


class LimitExceeded(RdbCorruptError):
    """A declared size is larger than the configured limits (or than the input)."""


class UnknownOpcode(RdbCorruptError):
    """A type or opcode byte this decoder does not know."""


class BadEncoding(RdbCorruptError):
    """A compact blob (listpack, ziplist, intset, zipmap, LZF) is malformed."""


class DuplicateKey(RdbCorruptError):
    """A key read twice in one db: a loading redis-server refuses (panics on) the file."""


class UnsupportedVersion(RdbError):
    """The header names a version this decoder does not read (or the magic is wrong)."""


class RdbEncodeError(RdbError):
    """A value cannot be written in the chosen target version or encoding."""


__all__ = [
    "BadEncoding",
    "ChecksumMismatch",
    "DuplicateKey",
    "LimitExceeded",
    "RdbCorruptError",
    "RdbEncodeError",
    "RdbError",
    "RdbTruncatedError",
    "UnknownOpcode",
    "UnsupportedVersion",
]
