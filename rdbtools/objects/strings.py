"""Strings: type byte 0 (docs/formats.md §1.6).

Wire form::

    RDB_TYPE_STRING   str    (raw, INT8/16/32 or LZF: primitives.load_string)

The value is one RDB string; the decoder reads short ones inline and comes here
for the rest. Mirrors the ``RDB_TYPE_STRING`` branches of rdbLoadObject and
rdbSaveObject.
"""

from __future__ import annotations

from typing import Any

from ..constants import RDB_TYPE_STRING
from ..policy import EncodingPolicy
from ..primitives import load_string, save_string


def load_string_object(buf: bytes, pos: int, max_len: int) -> tuple[bytes, None, int]:
    value, pos = load_string(buf, pos, max_len)
    return value, None, pos


def save_string_object(value: bytes, fexp: Any, version: int, policy: EncodingPolicy,
                       compress: bool) -> bytes:
    return save_string(value, compress)


def string_type(value: bytes, fexp: Any, version: int, policy: EncodingPolicy) -> int:
    """The type byte for a string: always 0 (rdbSaveObjectType)."""
    return RDB_TYPE_STRING


__all__ = ["load_string_object", "save_string_object", "string_type"]
