"""hiredis-backed reply parser with the interface of :class:`aof.resp.ReplyParser`.

For trusted, high-volume streams (a master's replication stream, AOF tails read
back as replies): hiredis does the parsing in C. It is not authoritative: the
pure-Python parser decides for untrusted input. Known differences, all on RESP3
types the replication/AOF streams never carry: ``(`` big numbers come back as
bytes (not int), ``|`` attributes are returned as a separate list reply instead
of being dropped, ``!`` blob errors raise :class:`RespProtocolError`, and a map
with an unhashable key raises :class:`RespProtocolError` instead of returning
pairs. Push messages are converted to :class:`aof.resp.Push` at the top level.
"""

from __future__ import annotations

import hiredis

from aof.errors import RespProtocolError
from aof.resp import NEED_DATA, Push, ReplyError, RespLimits

__all__ = ["HiredisReplyParser"]

_PushNotification = getattr(hiredis, "PushNotification", None)


class HiredisReplyParser:
    """``feed(data)`` / ``gets()`` → one reply or :data:`NEED_DATA`, via ``hiredis.Reader``."""

    def __init__(self, limits: RespLimits | None = None) -> None:
        self.limits = limits if limits is not None else RespLimits()
        self._reader = hiredis.Reader(
            protocolError=RespProtocolError,
            replyError=ReplyError,  # type: ignore[arg-type]  # any callable(str) works
            notEnoughData=NEED_DATA,
        )

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._reader.feed(data if isinstance(data, bytes) else bytes(data))

    def gets(self) -> object:
        try:
            reply = self._reader.gets()
        except TypeError as exc:  # dict() of an unhashable RESP3 map key
            raise RespProtocolError(f"Protocol error, {exc}") from exc
        if _PushNotification is not None and type(reply) is _PushNotification:
            return Push(reply)
        return reply
