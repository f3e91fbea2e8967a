"""Live value objects, each able to say which OBJECT ENCODING Redis 7.0 would report.

* string: ``bytes`` (int/embstr/raw decided from the content, as
  ``tryObjectEncoding``), :class:`EmbStr` (a string Redis keeps as embstr/raw
  even if it spells an integer, e.g. INCRBYFLOAT results) or ``bytearray``
  (always ``raw``: APPEND/SETRANGE/SETBIT results, mutated in place).
* list: :class:`ListValue` (a quicklist of listpack nodes, as 7.0 keeps every list).
* hash: :class:`HashValue` (dict in insertion order = listpack order).
* set: :class:`SetValue` (``intset`` replies in ascending integer order).
* zset: :class:`ZSetValue` (a listpack's bytes while small, else dict + skip list
  with spans).
"""

from engine.types.hashes import HashValue
from engine.types.lists import ListValue
from engine.types.sets import SetValue
from engine.types.strings import EmbStr, string_encoding
from engine.types.zsets import ZSetValue

TYPE_NAMES: dict[type, bytes] = {
    bytes: b"string",
    bytearray: b"string",
    EmbStr: b"string",
    ListValue: b"list",
    HashValue: b"hash",
    SetValue: b"set",
    ZSetValue: b"zset",
}


def type_name(value: object) -> bytes:
    return TYPE_NAMES[type(value)]


def encoding_name(value: object) -> str:
    t = type(value)
    if t is bytes or t is bytearray or t is EmbStr:
        return string_encoding(value)  # type: ignore[arg-type]
    return value.encoding()  # type: ignore[attr-defined]


__all__ = ["EmbStr", "HashValue", "ListValue", "SetValue", "TYPE_NAMES", "ZSetValue",
           "encoding_name", "string_encoding", "type_name"]
