"""Number ⇄ text rules Redis applies when it decides how to store a value.

``string2ll`` mirrors Redis's util.c ``string2ll``: only the canonical decimal
form of an int64 counts as an integer ("007", "+5", "-0", " 1" do not), which
is what decides int encodings in RDB strings, listpacks, ziplists and intsets.
"""

from __future__ import annotations

import math

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def string2ll(s: bytes) -> int | None:
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


def format_double(value: float, legacy: bool = False) -> bytes:
    """Text of a double as Redis writes it in listpacks and replies.

    ``legacy`` picks ``%.17g`` (Redis ≤ 7.0); otherwise the shortest text that
    round-trips (7.2+, fpconv_dtoa). Infinities are ``inf``/``-inf``; NaN is ``nan``.
    """
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    if math.isnan(value):
        return b"nan"
    if legacy:
        return (b"%.17g" % value)
    r = repr(value)
    if r.endswith(".0"):
        r = r[:-2]
    if "e" in r:
        mant, exp = r.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        if sign == "-":
            r = f"{mant}e-{digits}"
        else:
            r = f"{mant}e+{digits}"
    return r.encode()


def double_to_int(value: float) -> int | None:
    """The integer a double holds exactly (Redis double2ll), for listpack scores."""
    if value != value or math.isinf(value):
        return None
    if value < -9.2233720368547758e18 or value >= 9.2233720368547758e18:
        return None
    iv = int(value)
    if float(iv) != value:
        return None
    return iv


__all__ = ["INT64_MAX", "INT64_MIN", "double_to_int", "format_double", "string2ll"]
