"""Argument parsing with Redis's exact error replies (``getLongLongFromObjectOrReply`` & co)."""

from __future__ import annotations

import math
from typing import Any

from engine.errors import CommandError, NotFloatError, NotIntegerError, WrongTypeError
from engine.types import EmbStr
from engine.types.strings import parse_double, parse_int

LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)

_STRING_TYPES = (bytes, bytearray, EmbStr)


def get_int(b: bytes, msg: str | None = None) -> int:
    v = parse_int(b)
    if v is None:
        if msg:
            raise CommandError(msg)
        raise NotIntegerError()
    return v


def get_range_int(b: bytes, lo: int, hi: int, msg: str | None = None) -> int:
    v = get_int(b, msg)
    if v < lo or v > hi:
        raise CommandError(msg or "value is not an integer or out of range")
    return v


def get_positive(b: bytes, msg: str = "value is out of range, must be positive") -> int:
    """getPositiveLongFromObjectOrReply: one message for non-integers and negatives."""
    v = get_int(b, msg)
    if v < 0:
        raise CommandError(msg)
    return v


def get_range_long(b: bytes, lo: int, hi: int, msg: str | None = None) -> int:
    """getRangeLongFromObjectOrReply."""
    v = get_int(b, msg)
    if v < lo or v > hi:
        raise CommandError(msg or f"value is out of range, value must between {lo} and {hi}")
    return v


def get_double(b: bytes, msg: str | None = None) -> float:
    v = parse_double(b)
    if v is None:
        if msg:
            raise CommandError(msg)
        raise NotFloatError()
    return v


def get_timeout_ms(b: bytes) -> int:
    """getTimeoutFromObjectOrReply (seconds as a long double, truncated to ms): 0 = forever."""
    from engine.types.strings import ld_mul, parse_long_double

    v = parse_long_double(b)
    if v is None:
        raise CommandError("timeout is not a float or out of range")
    ms = ld_mul(v, 1000)
    # (long long) ceill(ms): out-of-range conversions give LLONG_MIN on x86 → "negative"
    if isinstance(ms, float):
        raise CommandError("timeout is negative")
    tval = math.ceil(ms)
    if tval > LONG_MAX or tval < LONG_MIN:
        raise CommandError("timeout is negative")
    if tval < 0:
        raise CommandError("timeout is negative")
    return tval


def string_value(v: Any) -> bytes | bytearray:
    if v.__class__ not in _STRING_TYPES:
        raise WrongTypeError()
    return v


def check_type(v: Any, cls: type) -> Any:
    if v is not None and v.__class__ is not cls:
        raise WrongTypeError()
    return v


def lower(b: bytes) -> bytes:
    return b.lower()
