"""CRC-64/REDIS ("Jones"), the checksum of RDB files and DUMP payloads.

Computed by anycrc's ``CRC64-REDIS`` model (C speed, ~2 GB/s). Note that
``crc64iso`` computes CRC-64/ISO, a different polynomial: it cannot verify a
Redis file. ``RDBKIT_PUREPYTHON=1`` selects the table-driven fallback.
"""

from __future__ import annotations

from collections.abc import Callable

from ._accel import c_module

_POLY_REFLECTED = 0x95AC9329AC4BC9B5


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def _crc64_py(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    table = _TABLE
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


crc64 = _crc64_py
_anycrc = c_module("anycrc")
if _anycrc is not None:  # pragma: no cover - depends on the environment
    _calc: Callable[[bytes | bytearray | memoryview, int], int] = _anycrc.Model("CRC64-REDIS").calc

    def _crc64_c(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
        if not data:
            return crc
        return _calc(data, crc)

    crc64 = _crc64_c

crc64.__doc__ = "CRC-64/REDIS of ``data``, continuing from ``crc`` (0 to start)."

__all__ = ["crc64"]
