"""Number ⇄ text rules Redis applies when it decides how to store a value.

``string2ll`` mirrors Redis's util.c ``string2ll``: only the canonical decimal
form of an int64 counts as an integer ("007", "+5", "-0", " 1" do not), which
is what decides int encodings in RDB strings, listpacks, ziplists and intsets.
"""

from __future__ import annotations

import math

from rdbtools._accel import c_module

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def string2ll_py(s: bytes) -> int | None:
    """Return the int64 that ``s`` canonically spells, else None."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    if n == 1:
        c = s[0]
        return c - 48 if 48 <= c <= 57 else None
    first = s[0]
    if first == 45:  # '-'
        if s[1] == 48 or not s[1:].isdigit():  # "-0..." and "-" + non-digits
            return None
    elif first == 48 or not s.isdigit():
        return None
    try:
        v = int(s)
    except ValueError:  # pragma: no cover - isdigit guards
        return None
    if v < INT64_MIN or v > INT64_MAX:
        return None
    return v


def incr_text_py(s: bytes | bytearray, incr: int) -> bytes | None:
    """The text of ``string2ll(s) + incr`` (INCR's new value), None when ``s`` spells no
    int64 or the sum leaves the int64 range: the two cases incrDecrCommand refuses."""
    v = string2ll_py(s)  # type: ignore[arg-type]  # a bytearray reads the same
    if v is None:
        return None
    v += incr
    if v < INT64_MIN or v > INT64_MAX:
        return None
    return b"%d" % v


string2ll = string2ll_py
incr_text = incr_text_py
if (_c := c_module("rdbtools._speedups")) is not None:  # same results
    string2ll = _c.string2ll
    incr_text = _c.ll_incr_text


_LLONG_HALF = float((2**63 - 1) // 2)  # (double)(LLONG_MAX/2) == 2^62


def double_to_int(value: float) -> int | None:
    """util.c ``double2ll``: the integer an integral double within ±2^62 holds (-0.0 → 0).

    Decides whether a zset score is stored as a listpack integer (Redis ≥ 7.0).
    """
    if value != value or value < -_LLONG_HALF or value > _LLONG_HALF:
        return None
    i = int(value)
    return i if i == value else None


double2ll = double_to_int


def g17(value: float) -> bytes:
    """C's ``%.17g`` as glibc prints it: ``inf``/``-inf``, and ``nan``/``-nan`` by the sign
    bit (Python drops a NaN's sign). The text of a NaN score in DEBUG DIGEST, in replies,
    and in a listpack (Redis keeps the ``-nan`` of a RESTOREd payload; so do we)."""
    if value != value:
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    return b"%.17g" % value


__all__ = ["INT64_MAX", "INT64_MIN", "double2ll", "double_to_int", "g17", "incr_text", "incr_text_py", "string2ll",
           "string2ll_py"]
