"""One error hierarchy for everything that reads or writes RESP and AOF bytes.

Every error carries the absolute byte ``offset`` in the stream where the problem
was found. The sans-IO cores never know file names or peers: drivers set
``source`` by catching and re-raising (or by assigning the attribute), so that
``str(err)`` can name both the source and the offset.

``message`` is always the bare text. For :class:`RespProtocolError` it is the
exact text Redis replies with, minus the leading ``-`` (docs/formats.md §9.4), so a
server sends ``encode_error(err.message)`` and never ``str(err)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rdbtools.errors import RdbError


class AofError(Exception):
    """Base of every error raised by the ``aof`` package."""

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.source = source

    def __str__(self) -> str:
        text = self.message
        if self.source:
            text = f"{self.source}: {text}"
        if self.offset is not None:
            text = f"{text} (at offset {self.offset})"
        return text


class RespProtocolError(AofError):
    """The peer broke the RESP protocol; Redis replies ``-<message>`` and closes.

    ``commands`` holds the complete commands that were parsed from the same
    buffer *before* the offending bytes. Redis executes those before replying
    with the error, so a server must run them, then send the error, then close.
    ``spans`` holds their offsets when the parser was asked for them
    (:meth:`aof.resp.RequestParser.parse_spans`).
    """

    def __init__(
        self,
        message: str,
        *,
        offset: int | None = None,
        source: str | None = None,
        commands: Sequence[list[bytes]] = (),
    ) -> None:
        super().__init__(message, offset=offset, source=source)
        self.commands: list[list[bytes]] = list(commands)
        self.spans: list[int] = []


class AofTruncatedError(AofError):
    """The input ended inside a command; everything before ``valid_up_to`` is good.

    A loader with ``aof-load-truncated yes`` truncates the file to ``valid_up_to``.
    """

    def __init__(
        self,
        message: str,
        *,
        valid_up_to: int,
        offset: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, source=source)
        self.valid_up_to = valid_up_to


class AofFormatError(AofError):
    """The bytes are not a valid AOF (e.g. a record does not start with ``*``).

    Where another parser found the problem, the reader sets ``detail`` (that
    parser's message) and, for the RDB part, ``rdb_error``; otherwise they are
    absent (``getattr(err, "detail", ...)`` falls back).
    """

    detail: str
    rdb_error: RdbError


class ManifestError(AofError):
    """The multi-part AOF manifest is malformed (docs/formats.md §7.3)."""

    def __init__(
        self,
        message: str,
        *,
        line_no: int | None = None,
        line: bytes | None = None,
        offset: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, source=source)
        self.line_no = line_no
        self.line = line  # the trimmed line Redis shows after '>>>'

    def __str__(self) -> str:
        text = super().__str__()
        if self.line_no is not None:
            text = f"{text} (line {self.line_no})"
        return text


class AofWriteError(AofError):
    """Writing to the AOF sink failed (short write, ENOSPC, fsync error)."""

    def __init__(
        self,
        message: str,
        *,
        errno: int | None = None,
        written: int | None = None,
        offset: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message, offset=offset, source=source)
        self.errno = errno
        self.written = written


__all__ = [
    "AofError",
    "AofFormatError",
    "AofTruncatedError",
    "AofWriteError",
    "ManifestError",
    "RespProtocolError",
]
