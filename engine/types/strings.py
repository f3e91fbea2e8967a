"""String values and the number rules Redis applies to them.

``tryObjectEncoding`` picks ``int`` for a canonical int64 of at most 20 chars,
``embstr`` up to 44 bytes, else ``raw`` (docs/formats.md §10.2). Values that Redis
creates as raw objects (APPEND/SETRANGE/SETBIT/BITOP results) are stored as
``bytearray`` so in-place growth is amortised like an sds string.
"""

from __future__ import annotations

import re
from fractions import Fraction

from rdbtools.numbers import string2ll

EMBSTR_SIZE_LIMIT = 44
LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


class EmbStr(bytes):
    """A string Redis stores as embstr/raw even when it spells an integer."""

    __slots__ = ()


def string_encoding(v: bytes | bytearray) -> str:
    t = type(v)
    if t is bytearray:
        return "raw"
    n = len(v)
    if t is bytes and n <= 20 and string2ll(v) is not None:
        return "int"
    return "embstr" if n <= EMBSTR_SIZE_LIMIT else "raw"


# string2ll (Redis's getLongLongFromObject): the canonical int64 spelled by the bytes —
# digits only, an optional leading "-", no leading zeros, no "-0" — else None
parse_int = string2ll


# strtod/strtold grammar (no leading space accepted by Redis's callers): decimal with
# optional exponent, hex floats, inf/infinity/nan.
_DEC = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_HEX = re.compile(rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?\d+))?\Z")
_SPECIAL = {b"inf": float("inf"), b"infinity": float("inf"), b"nan": float("nan")}


def parse_float_text(b: bytes) -> float | None:
    """strtod as Redis calls it: the whole text must be consumed; None if not a number."""
    if not b or b[0] in b" \t\n\r\v\f":
        return None
    if _DEC.match(b):
        return float(b)
    low = b.lower()
    sign = 1.0
    if low[:1] in (b"+", b"-"):
        sign = -1.0 if low[:1] == b"-" else 1.0
        low = low[1:]
    if low in _SPECIAL:
        return sign * _SPECIAL[low]
    m = _HEX.match(b)
    if m:
        return float(_hex_fraction(m))
    return None


def _hex_fraction(m: re.Match[bytes]) -> Fraction:
    sign, mant, exp = m.group(1), m.group(2), m.group(3)
    if b"." in mant:
        ip, fp = mant.split(b".", 1)
    else:
        ip, fp = mant, b""
    digits = (ip + fp) or b"0"
    val = Fraction(int(digits, 16), 16 ** len(fp))
    if exp:
        val *= Fraction(2) ** int(exp)
    return -val if sign == b"-" else val


def parse_double(b: bytes | bytearray) -> float | None:
    """getDoubleFromObject: a double, rejecting NaN, ERANGE (overflow to ±inf, underflow to 0)
    and over-long input; None if invalid."""
    if len(b) < 16:  # fast path: integers of up to 15 digits, exact as doubles
        i = string2ll(b)
        if i is not None:
            return float(i)
    if len(b) > 5000:
        return None
    try:  # fast path: float() agrees with strtod on text made of these bytes only
        v = float(b)
    except ValueError:
        pass
    else:
        if _NINF < v < _INF and v != 0.0 and not b.translate(None, _DEC_BYTES):
            return v  # finite and non-zero: neither ERANGE case, no NaN
    s = bytes(b)
    v = parse_float_text(s)
    if v is None or v != v:
        return None
    if v in (_INF, _NINF) and s.lstrip(b"+-").lower() not in (b"inf", b"infinity"):
        return None  # ERANGE overflow
    if v == 0.0 and _DEC.match(s) and any(ch in b"123456789" for ch in s.lower().split(b"e")[0]):
        return None  # ERANGE underflow to zero
    return v


_INF = float("inf")
_NINF = float("-inf")
_DEC_BYTES = b"0123456789.+-eE"  # with only these, float() and strtod read the same grammar


_DBL_MIN = 2.2250738585072014e-308


def strtod_range_error(b: bytes, v: float) -> bool:
    """Whether glibc's strtod sets ERANGE reading ``b`` (a whole number text, as
    :func:`parse_float_text` accepts it) as ``v``: overflow to ±inf from finite text, or
    underflow — a nonzero text read as zero, or a subnormal result that is not exact."""
    if v in (_INF, _NINF):
        return b.lstrip(b"+-").lower() not in (b"inf", b"infinity")
    if not -_DBL_MIN < v < _DBL_MIN:
        return False
    if _DEC.match(b):
        if v == 0.0:
            return bool(b.lower().partition(b"e")[0].strip(b"+-.0"))
        exact = Fraction(b.decode())  # a subnormal's exponent is small: cheap
    else:
        m = _HEX.match(b)
        exact = _hex_fraction(m) if m else Fraction(0)
    return exact != Fraction(v)


def parse_range_double(b: bytes) -> float | None:
    """strtod as zslParseRange calls it: leading whitespace allowed, no ERANGE check, no NaN."""
    s = bytes(b).lstrip(b" \t\n\r\v\f")
    v = parse_float_text(s)
    if v is None or v != v:
        return None
    return v


# ---- long double (x87 80-bit) emulation for INCRBYFLOAT/HINCRBYFLOAT -------------

_LD_MAX_EXP = 16384


def _ld_round(x: Fraction) -> Fraction | float:
    """Round an exact rational to the nearest 64-bit-significand value (inf on overflow)."""
    if x == 0:
        return Fraction(0)
    neg = x < 0
    a = -x if neg else x
    num, den = a.numerator, a.denominator
    e = num.bit_length() - den.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    if e >= _LD_MAX_EXP:
        return float("-inf") if neg else float("inf")
    shift = 63 - e
    scaled = a * (Fraction(2) ** shift) if shift >= 0 else a / (Fraction(2) ** -shift)
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q & 1):
        q += 1
    res = Fraction(q) / (Fraction(2) ** shift) if shift >= 0 else Fraction(q) * (Fraction(2) ** -shift)
    if res.numerator.bit_length() - res.denominator.bit_length() >= _LD_MAX_EXP:
        return float("-inf") if neg else float("inf")
    return -res if neg else res


def parse_long_double(b: bytes | bytearray) -> Fraction | float | None:
    """getLongDoubleFromObject: the strtold value (rounded to 80-bit), inf allowed; None if invalid."""
    if len(b) > 5000:
        return None
    s = bytes(b)
    if not s or s[0] in b" \t\n\r\v\f":
        return None
    if _DEC.match(s):
        mant, _, exp = s.lower().partition(b"e")
        val = Fraction(mant.decode())
        if exp:
            ev = int(exp)
            if ev > 6000:
                return None if val != 0 else Fraction(0)  # ERANGE → HUGE_VAL → rejected
            if ev < -6000:
                return None if val != 0 else Fraction(0)
            val *= Fraction(10) ** ev
        r = _ld_round(val)
        if isinstance(r, float) or (r == 0 and val != 0):
            return None  # ERANGE
        return r
    m = _HEX.match(s)
    if m:
        r = _ld_round(_hex_fraction(m))
        if isinstance(r, float):
            return None
        return r
    f = parse_float_text(s)
    if f is None or f != f:
        return None
    return f  # ±inf


def ld_add(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    return _ld_round(a + b)


def ld_mul(a: Fraction | float, b: int) -> Fraction | float:
    """a * b rounded to the 80-bit significand, as a long double multiplication."""
    if isinstance(a, float):
        return a * b
    return _ld_round(a * b)


def format_long_double(v: Fraction) -> bytes:
    """ld2string(LD_STR_HUMAN): ``%.17Lf`` with trailing zeros (and dot) removed."""
    neg = v < 0
    a = -v if neg else v
    scaled = a * 10**17
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q & 1):
        q += 1
    s = str(q).rjust(18, "0")
    ip, fp = s[:-17], s[-17:].rstrip("0")
    text = ip if not fp else f"{ip}.{fp}"
    if neg and text != "0":
        text = "-" + text
    return text.encode()


def format_long_double_or_none(v: Fraction | float) -> bytes | None:
    if isinstance(v, float):
        return None  # inf/nan: caller reports the error
    return format_long_double(v)
