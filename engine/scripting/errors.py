"""Errors Python callbacks raise to make Lua raise a given value.

Lua sees a Python exception as a userdata error value; the sandbox's error
handler (and its ``pcall``) unwrap these two through ``unwrap_error``:
:class:`LuaTableError` carries an ``{err=...}`` table (``luaPushError`` +
``luaError``), :class:`LuaWhereError` a message that gets the caller's position
prepended, as ``luaL_error`` in a C library function does.
"""

from __future__ import annotations

from typing import Any


class LuaTableError(Exception):
    def __init__(self, table: Any) -> None:
        super().__init__("lua error table")
        self.table = table


class LuaWhereError(Exception):
    """``where=False``: a runtime error raised inside the C function (luaG_runerror), no position."""

    def __init__(self, message: str | bytes, where: bool = True) -> None:
        msg = message.encode() if isinstance(message, str) else message
        super().__init__(msg.decode("utf-8", "replace"))
        self.message = msg
        self.where = where


def unwrap_error(exc: Any) -> tuple[Any, bool]:
    """(value to raise, whether the caller's position is prepended); (None, False) for others."""
    if isinstance(exc, LuaTableError):
        return exc.table, False
    if isinstance(exc, LuaWhereError):
        return exc.message, exc.where
    return None, False


__all__ = ["LuaTableError", "LuaWhereError", "unwrap_error"]
