"""Module values: type bytes 6 and 7 (docs/formats.md §1.6, §2.5).

Wire form::

    RDB_TYPE_MODULE_PRE_GA  len module_id, module data without opcodes (4.0 RCs; refused)
    RDB_TYPE_MODULE_2       len module_id, then opcode-annotated items up to EOF:
                            len opcode (RDB_MODULE_OPCODE_*): SINT/UINT len, FLOAT 4 bytes,
                            DOUBLE 8 bytes, STRING str; EOF = len 0

Without the module we cannot interpret the data, only walk it to its EOF as
redis-check-rdb does (rdbLoadCheckModuleValue): the value is kept raw as a
:class:`ModuleValue` and written back byte for byte. The same walk reads the
payload of a MODULE_AUX opcode.
"""

from __future__ import annotations

from typing import Any

from ..constants import (
    RDB_MODULE_OPCODE_DOUBLE,
    RDB_MODULE_OPCODE_EOF,
    RDB_MODULE_OPCODE_FLOAT,
    RDB_MODULE_OPCODE_SINT,
    RDB_MODULE_OPCODE_STRING,
    RDB_MODULE_OPCODE_UINT,
    RDB_TYPE_MODULE_2,
)
from ..errors import RdbCorruptError, RdbEncodeError, UnknownOpcode
from ..model import ModuleValue
from ..policy import EncodingPolicy
from ..primitives import Short, load_len, save_len, skip_string


def walk_module_value(buf: bytes, pos: int, max_len: int) -> int:
    """End of a module opcode stream at ``pos``, past its EOF (mirrors rdbLoadCheckModuleValue)."""
    while True:
        op, pos = load_len(buf, pos)
        if op == RDB_MODULE_OPCODE_EOF:
            return pos
        if op == RDB_MODULE_OPCODE_SINT or op == RDB_MODULE_OPCODE_UINT:
            _, pos = load_len(buf, pos)
        elif op == RDB_MODULE_OPCODE_FLOAT:
            pos += 4
        elif op == RDB_MODULE_OPCODE_DOUBLE:
            pos += 8
        elif op == RDB_MODULE_OPCODE_STRING:
            pos = skip_string(buf, pos, max_len)
        else:
            raise RdbCorruptError(f"unknown module opcode {op}", offset=pos)
        if pos > len(buf):
            raise Short(pos)


def load_module_pre_ga(buf: bytes, pos: int, max_len: int) -> Any:
    raise UnknownOpcode("pre-release module format (type 6) is not supported", offset=pos - 1)


skip_module_pre_ga = load_module_pre_ga  # nothing marks its end: it cannot be skipped either


def load_module_2(buf: bytes, pos: int, max_len: int) -> tuple[ModuleValue, None, int]:
    module_id, pos = load_len(buf, pos)
    start = pos
    pos = walk_module_value(buf, pos, max_len)
    return ModuleValue(module_id, bytes(buf[start:pos])), None, pos


def skip_module_2(buf: bytes, pos: int, max_len: int) -> int:
    _, pos = load_len(buf, pos)
    return walk_module_value(buf, pos, max_len)


def save_module_2(value: ModuleValue, fexp: Any, version: int, policy: EncodingPolicy,
                  compress: bool) -> bytes:
    return save_len(value.module_id) + value.raw


def module_type(value: Any, fexp: Any, version: int, policy: EncodingPolicy) -> int:
    """The type byte for a module value: 7, from RDB 8 (Redis 4.0) on."""
    if not isinstance(value, ModuleValue):
        raise RdbEncodeError("a module value must be a ModuleValue")
    if version < 8:
        raise RdbEncodeError(f"module values need RDB 8 (Redis 4.0); the target is RDB {version}")
    return RDB_TYPE_MODULE_2


__all__ = [
    "load_module_2",
    "load_module_pre_ga",
    "module_type",
    "save_module_2",
    "skip_module_2",
    "skip_module_pre_ga",
    "walk_module_value",
]
