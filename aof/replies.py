"""RESP2/RESP3 reply encoding: the hot path of every command.

Handlers return the wire bytes of their reply; these helpers build them with
``bytes %`` formatting (the fastest way CPython has) and precomputed constants.
RESP3-only shapes (null, map, set, double, boolean) take the client's protocol
version and fall back to their RESP2 forms (docs/formats.md §9.1).

For nested, rarely used replies (COMMAND INFO, HELLO, CONFIG GET ...) build a
Python value from :class:`Simple`, :class:`Map`, :class:`SetReply`,
:class:`Double`, :class:`Verbatim`, ``bytes``/``str`` (bulk), ``int``,
``bool``, ``None`` and lists, and call :func:`encode`.
"""

from __future__ import annotations

from typing import Any

from aof.resp import encode_double, format_double  # noqa: F401 - re-exported for commands
from rdbtools._accel import c_module

OK = b"+OK\r\n"
PONG = b"+PONG\r\n"
QUEUED = b"+QUEUED\r\n"
NULL_BULK = b"$-1\r\n"
NULL_ARRAY = b"*-1\r\n"
NULL3 = b"_\r\n"
EMPTY_ARRAY = b"*0\r\n"
EMPTY_BULK = b"$0\r\n\r\n"
ZERO = b":0\r\n"
ONE = b":1\r\n"
MINUS_ONE = b":-1\r\n"
MINUS_TWO = b":-2\r\n"

_INTS = [b":%d\r\n" % i for i in range(0, 1024)]


def integer(n: int) -> bytes:
    if 0 <= n < 1024:
        return _INTS[n]
    return b":%d\r\n" % n


def bulk(b: bytes | bytearray) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(b), b)


def bulk_or_null(b: bytes | bytearray | None, resp: int) -> bytes:
    if b is None:
        return NULL3 if resp == 3 else NULL_BULK
    return b"$%d\r\n%s\r\n" % (len(b), b)


def null(resp: int) -> bytes:
    return NULL3 if resp == 3 else NULL_BULK


def null_array(resp: int) -> bytes:
    return NULL3 if resp == 3 else NULL_ARRAY


def simple(s: str | bytes) -> bytes:
    if isinstance(s, str):
        s = s.encode()
    return b"+%s\r\n" % s


def error(text: str) -> bytes:
    return b"-%s\r\n" % text.encode("utf-8", "surrogateescape")


def array_header(n: int) -> bytes:
    return b"*%d\r\n" % n


def bulks(items: list[bytes] | tuple[bytes, ...]) -> bytes:
    """An array of bulk strings (None items become null bulks)."""
    parts = [b"*%d\r\n" % len(items)]
    ap = parts.append
    for b in items:
        if b is None:
            ap(NULL_BULK)
        else:
            ap(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def bulks_resp(items: list[bytes | None], resp: int) -> bytes:
    """Like :func:`bulks` but nulls follow the client's protocol."""
    nb = NULL3 if resp == 3 else NULL_BULK
    parts = [b"*%d\r\n" % len(items)]
    ap = parts.append
    for b in items:
        ap(nb if b is None else b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


def set_of_bulks(items: list[bytes], resp: int) -> bytes:
    parts = [(b"~%d\r\n" if resp == 3 else b"*%d\r\n") % len(items)]
    ap = parts.append
    for b in items:
        ap(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(parts)


_bulks_py, _bulks_resp_py, _set_of_bulks_py = bulks, bulks_resp, set_of_bulks

if (_c := c_module("aof._respfast")) is not None:  # C encoder (aof/_respfast.c): the same bytes
    _bulk_array = _c.bulk_array  # NotImplemented for items other than bytes/None → Python

    def bulks(items: list[bytes] | tuple[bytes, ...]) -> bytes:  # noqa: F811
        """An array of bulk strings (None items become null bulks)."""
        r = _bulk_array(items, NULL_BULK, 42)
        return _bulks_py(items) if r is NotImplemented else r

    def bulks_resp(items: list[bytes | None], resp: int) -> bytes:  # noqa: F811
        """Like :func:`bulks` but nulls follow the client's protocol."""
        r = _bulk_array(items, NULL3 if resp == 3 else NULL_BULK, 42)
        return _bulks_resp_py(items, resp) if r is NotImplemented else r

    def set_of_bulks(items: list[bytes], resp: int) -> bytes:  # noqa: F811
        r = _bulk_array(items, None, 126 if resp == 3 else 42)
        return _set_of_bulks_py(items, resp) if r is NotImplemented else r


def map_header(n: int, resp: int) -> bytes:
    return b"%%%d\r\n" % n if resp == 3 else b"*%d\r\n" % (2 * n)


def double(d: float, resp: int) -> bytes:
    """A double reply: RESP3 ``,x``, RESP2 a bulk string of the same ``%.17g`` text."""
    return encode_double(d, resp == 3)


def boolean(v: bool, resp: int) -> bytes:
    if resp == 3:
        return b"#t\r\n" if v else b"#f\r\n"
    return ONE if v else ZERO


def verbatim(text: bytes, resp: int, fmt: bytes = b"txt") -> bytes:
    if resp == 3:
        return b"=%d\r\n%s:%s\r\n" % (len(text) + 4, fmt, text)
    return bulk(text)


class Simple(str):
    """A simple-string reply inside a nested value."""


class Double(float):
    """A double reply inside a nested value."""


class Map(list[tuple[Any, Any]]):
    """A map reply: a list of ``(key, value)`` pairs (flat array in RESP2)."""


class SetReply(list[Any]):
    """A set reply (array in RESP2)."""


class Verbatim(bytes):
    """A verbatim string (bulk in RESP2)."""


class ErrorReply(str):
    """An error inside a nested reply (e.g. EXEC results): ``PREFIX text``."""


class Raw(bytes):
    """Already-encoded reply bytes inside a nested value."""


def encode(value: Any, resp: int) -> bytes:
    out: list[bytes] = []
    _enc(value, resp, out)
    return b"".join(out)


def _enc(v: Any, resp: int, out: list[bytes]) -> None:
    if v is None:
        out.append(NULL3 if resp == 3 else NULL_BULK)
    elif isinstance(v, Raw):
        out.append(v)
    elif isinstance(v, Verbatim):
        out.append(verbatim(bytes(v), resp))
    elif isinstance(v, (bytes, bytearray)):
        out.append(b"$%d\r\n%s\r\n" % (len(v), v))
    elif isinstance(v, Simple):
        out.append(b"+%s\r\n" % v.encode())
    elif isinstance(v, ErrorReply):
        out.append(error(v))
    elif isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    elif isinstance(v, bool):
        out.append(boolean(v, resp))
    elif isinstance(v, int):
        out.append(integer(v))
    elif isinstance(v, float):
        out.append(double(v, resp))
    elif isinstance(v, Map):
        out.append(map_header(len(v), resp))
        for k, x in v:
            _enc(k, resp, out)
            _enc(x, resp, out)
    elif isinstance(v, SetReply):
        out.append((b"~%d\r\n" if resp == 3 else b"*%d\r\n") % len(v))
        for x in v:
            _enc(x, resp, out)
    elif isinstance(v, (list, tuple)):
        out.append(b"*%d\r\n" % len(v))
        for x in v:
            _enc(x, resp, out)
    else:  # pragma: no cover - programming error
        raise TypeError(f"cannot encode {type(v).__name__} as a reply")
