"""The project's one RESP encoder: replies (RESP2 and RESP3) and commands.

Two audiences, one set of bytes:

* the server's hot path: command handlers return the wire bytes of their reply,
  built here with ``bytes %`` formatting (the fastest way CPython has),
  precomputed constants and, for arrays of bulk strings, the C encoder of
  ``aof._respfast`` (:func:`bulks`; pure Python when ``rdbtools._accel`` says so).
  RESP3-only shapes (null, map, set, double, boolean) take the client's protocol
  version (``resp`` 2 or 3) and fall back to their RESP2 forms (docs/formats.md §9.1).
  For nested, rarely used replies (COMMAND INFO, HELLO, CONFIG GET ...) build a
  Python value from :class:`Simple`, :class:`Map`, :class:`SetReply`,
  :class:`Double`, :class:`Verbatim`, ``bytes``/``str`` (bulk), ``int``, ``bool``,
  ``None`` and lists, and call :func:`encode`;
* tools and tests: the ``encode_*`` functions take ``resp3: bool`` and validate
  what they are given (a CR/LF in a simple string, a verbatim format that is not
  3 bytes), and :func:`encode_command` writes a request as the AOF and the
  replication stream carry it.

Nothing else in the tree writes RESP framing itself (``*<n>``/``$<len>`` headers and
typed scalars): tests/aof/test_resp_framing.py greps for it. The parsers are
:mod:`aof.resp`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from rdbtools._accel import c_module
from rdbtools.encodings.quicklist_ops import ql_range
from rdbtools.numbers import g17

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

# ``bulk(v)`` and ``integer(n)``: the C encoder's when it is built (one allocation, a
# fifth of what bytes formatting costs: bench/bench_commands.py), else these formats.
BULK: Final = b"$%d\r\n%s\r\n"
INTEGER: Final = b":%d\r\n"
INTEGER_TEXT: Final = b":%b\r\n"  # an integer already spelled in decimal (INCR's new value)

_INTS = [INTEGER % i for i in range(0, 1024)]


def integer(n: int) -> bytes:
    if 0 <= n < 1024:
        return _INTS[n]
    return INTEGER % n


def integer_text(t: bytes) -> bytes:
    """``integer(int(t))`` for ``t`` the canonical decimal text of an integer."""
    return INTEGER_TEXT % t


def bulk(b: bytes | bytearray) -> bytes:
    return BULK % (len(b), b)


def bulk_or_null(b: bytes | bytearray | None, resp: int) -> bytes:
    if b is None:
        return NULL3 if resp == 3 else NULL_BULK
    return BULK % (len(b), b)


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


_ARRAY_HDRS = [b"*%d\r\n" % i for i in range(0, 64)]


def array_header(n: int) -> bytes:
    """``*n``: an array of the ``n`` encoded replies that follow."""
    return _ARRAY_HDRS[n] if 0 <= n < 64 else b"*%d\r\n" % n


def array(items: list[bytes]) -> bytes:
    """An array of already-encoded replies."""
    return array_header(len(items)) + b"".join(items)


def pair(first: bytes, second: bytes) -> bytes:
    """A two-element array of already-encoded replies (``[member, score]``, ``[key, value]``)."""
    return b"*2\r\n" + first + second


def bulk_prefix(n: int) -> bytes:
    """``$n``: the header of a bulk string whose ``n`` bytes (and no CRLF) are sent apart
    (an RDB file streamed to a replica)."""
    return b"$%d\r\n" % n


def bulk_eof_prefix(mark: bytes) -> bytes:
    """``$EOF:<mark>``: the header of a payload of unknown length that ends with ``mark``
    (a diskless full sync, as rdbSaveToSlavesSockets writes it; aof.handshake reads it)."""
    return b"$EOF:%b\r\n" % mark


def bulks(items: list[bytes] | tuple[bytes, ...]) -> bytes:
    """An array of bulk strings (None items become null bulks)."""
    parts = [b"*%d\r\n" % len(items)]
    ap = parts.append
    for b in items:
        if b is None:
            ap(NULL_BULK)
        else:
            ap(BULK % (len(b), b))
    return b"".join(parts)


def bulks_resp(items: list[bytes | None], resp: int) -> bytes:
    """Like :func:`bulks` but nulls follow the client's protocol."""
    nb = NULL3 if resp == 3 else NULL_BULK
    parts = [b"*%d\r\n" % len(items)]
    ap = parts.append
    for b in items:
        ap(nb if b is None else BULK % (len(b), b))
    return b"".join(parts)


def set_of_bulks(items: list[bytes], resp: int) -> bytes:
    parts = [(b"~%d\r\n" if resp == 3 else b"*%d\r\n") % len(items)]
    ap = parts.append
    for b in items:
        ap(BULK % (len(b), b))
    return b"".join(parts)


def quicklist_bulks(nodes: list[Any], start: int, stop: int) -> bytes:
    """Elements ``start`` .. ``stop`` - 1 of a list's quicklist nodes (see
    :mod:`rdbtools.encodings.quicklist_ops`) as an array of bulk strings: LRANGE's
    reply. The C encoder writes it from the listpacks without an object per element."""
    return bulks(ql_range(nodes, start, stop))


_bulks_py, _bulks_resp_py, _set_of_bulks_py = bulks, bulks_resp, set_of_bulks
_quicklist_bulks_py = quicklist_bulks
_integer_py, _integer_text_py, _bulk_py = integer, integer_text, bulk

if (_c := c_module("aof._respfast")) is not None:  # C encoder (aof/_respfast.c): the same bytes
    integer = _c.integer  # noqa: F811
    integer_text = _c.integer_text  # noqa: F811
    bulk = _c.bulk  # noqa: F811
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

    _ql_bulks = _c.quicklist_bulks  # NotImplemented for compressed nodes → Python

    def quicklist_bulks(nodes: list[Any], start: int, stop: int) -> bytes:  # noqa: F811
        """Elements ``start`` .. ``stop`` - 1 of a list's quicklist nodes as an array of bulk strings."""
        r = _ql_bulks(nodes, start, stop)
        return _quicklist_bulks_py(nodes, start, stop) if r is NotImplemented else r


def map_of_bulks(flat: list[bytes], resp: int) -> bytes:
    """A map of bulk strings given flat (``k1, v1, k2, v2 …``): RESP2 the flat array."""
    body = bulks(flat)
    if resp != 3:
        return body
    return b"%%%d\r\n" % (len(flat) // 2) + body[len(array_header(len(flat))):]


def map_header(n: int, resp: int) -> bytes:
    """A map of ``n`` pairs: RESP3 ``%n``, RESP2 an array of 2n."""
    return b"%%%d\r\n" % n if resp == 3 else b"*%d\r\n" % (2 * n)


def attribute_header(n: int) -> bytes:
    """RESP3 ``|n``: an attribute map of ``n`` pairs before the reply it describes."""
    return b"|%d\r\n" % n


def set_header(n: int, resp: int) -> bytes:
    """A set of ``n``: RESP3 ``~n``, RESP2 an array."""
    return (b"~%d\r\n" if resp == 3 else b"*%d\r\n") % n


def push_header(n: int, resp: int) -> bytes:
    """A push of ``n`` (pub/sub messages): RESP3 ``>n``, RESP2 an array."""
    return (b">%d\r\n" if resp == 3 else b"*%d\r\n") % n


# A double's reply text: Redis 7.0 addReplyDouble's ``%.17g`` (``inf``/``-inf``, and a
# NaN's sign kept as glibc prints it) -- the same text rdbtools writes into listpacks.
format_double = g17


def double(d: float, resp: int) -> bytes:
    """A double reply: RESP3 ``,x``, RESP2 a bulk string of the same ``%.17g`` text."""
    t = format_double(d)
    if resp == 3:
        return b",%b\r\n" % t
    return b"$%d\r\n%b\r\n" % (len(t), t)


def double_text(text: bytes, resp: int) -> bytes:
    """A double reply the caller already formatted (addReplyHumanLongDouble's ``%.17Lf``
    text): RESP3 ``,text``, RESP2 a bulk string."""
    if resp == 3:
        return b",%s\r\n" % text
    return b"$%d\r\n%s\r\n" % (len(text), text)


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
        out.append(BULK % (len(v), v))
    elif isinstance(v, Simple):
        out.append(b"+%s\r\n" % v.encode())
    elif isinstance(v, ErrorReply):
        out.append(error(v))
    elif isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        out.append(BULK % (len(b), b))
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
        out.append(set_header(len(v), resp))
        for x in v:
            _enc(x, resp, out)
    elif isinstance(v, (list, tuple)):
        out.append(array_header(len(v)))
        for x in v:
            _enc(x, resp, out)
    else:  # pragma: no cover - programming error
        raise TypeError(f"cannot encode {type(v).__name__} as a reply")


# -- requests and the general API (tools, tests): resp3 as a flag, inputs validated ----------
_INT_RE: Final = re.compile(rb"-?[0-9]+")
_BULK_HDR: Final = tuple(b"$%d\r\n" % i for i in range(1024))
_Arg = bytes | str | int | bytearray | memoryview


def _arg_bytes(a: object) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, str):
        return a.encode()
    if isinstance(a, int) and not isinstance(a, bool):
        return b"%d" % a
    if isinstance(a, bytearray | memoryview):
        return bytes(a)
    raise TypeError(f"command arguments must be bytes, str or int, not {type(a).__name__}")


def encode_command(argv: Sequence[_Arg]) -> bytes:
    """A command as a RESP2 array of bulk strings: the AOF and replication form."""
    hdr = _BULK_HDR
    parts = [b"*%d\r\n" % len(argv)]
    app = parts.append
    for a in argv:
        if type(a) is not bytes:
            a = _arg_bytes(a)
        n = len(a)
        app(hdr[n] if n < 1024 else b"$%d\r\n" % n)
        app(a)
        app(b"\r\n")
    return b"".join(parts)


def _text(s: str | bytes) -> bytes:
    # surrogateescape: raw bytes that travelled through a str (e.g. the offending byte
    # in "expected '$', got 'X'") come back out unchanged
    return s.encode("utf-8", "surrogateescape") if isinstance(s, str) else bytes(s)


def _resp(resp3: bool) -> int:
    return 3 if resp3 else 2


def encode_simple(s: str | bytes) -> bytes:
    """``+s``; CR/LF inside would break the protocol and raise ValueError."""
    b = _text(s)
    if b"\r" in b or b"\n" in b:
        raise ValueError("a simple string cannot contain CR or LF")
    return simple(b)


def encode_error(s: str | bytes) -> bytes:
    """``-s`` where s carries its code (``ERR …``, ``WRONGTYPE …``); a leading ``-`` is
    accepted. CR/LF become spaces, as ``addReplyErrorFormat`` does."""
    b = _text(s)
    if b[:1] == b"-":
        b = b[1:]
    return b"-" + b.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"


def encode_int(n: int) -> bytes:
    return integer(n)


def encode_null(resp3: bool = False, *, array: bool = False) -> bytes:
    """RESP3 ``_``; RESP2 null bulk ``$-1`` (or null array ``*-1`` with ``array=True``)."""
    return null_array(_resp(resp3)) if array else null(_resp(resp3))


def encode_bulk(b: bytes | str | None, resp3: bool = False) -> bytes:
    if b is None:
        return null(_resp(resp3))
    return bulk(b if type(b) is bytes else _text(b))


def encode_array(items: Sequence[bytes] | None, resp3: bool = False) -> bytes:
    """``*N`` followed by the already-encoded replies ``items``; None is a null array."""
    if items is None:
        return null_array(_resp(resp3))
    return array_header(len(items)) + b"".join(items)


def encode_bulk_array(values: Sequence[bytes | None], resp3: bool = False) -> bytes:
    """An array of bulk strings (None elements become nulls)."""
    return bulks_resp(list(values), _resp(resp3))


def encode_double(x: float, resp3: bool = False) -> bytes:
    """RESP3 ``,x``; RESP2 a bulk string of the same text (``1.1000000000000001``)."""
    return double(float(x), _resp(resp3))


def encode_bool(v: bool, resp3: bool = False) -> bytes:
    return boolean(v, _resp(resp3))


def encode_map(pairs: Iterable[tuple[bytes, bytes]], resp3: bool = False) -> bytes:
    """``%N`` k v …; RESP2 a flat array of 2N. Keys and values are encoded replies."""
    flat = [x for kv in pairs for x in kv]
    return map_header(len(flat) // 2, _resp(resp3)) + b"".join(flat)


def encode_set(items: Sequence[bytes], resp3: bool = False) -> bytes:
    return set_header(len(items), _resp(resp3)) + b"".join(items)


def encode_push(items: Sequence[bytes], resp3: bool = False) -> bytes:
    return push_header(len(items), _resp(resp3)) + b"".join(items)


def encode_verbatim(text: bytes | str, fmt: bytes = b"txt", resp3: bool = False) -> bytes:
    """RESP3 ``=len\\r\\nfmt:text`` (len counts the 4-byte prefix); RESP2 a bulk string."""
    b = _text(text)
    if resp3 and len(fmt) != 3:
        raise ValueError("verbatim format must be exactly 3 bytes")
    return verbatim(b, _resp(resp3), fmt)


def encode_bignum(n: int | str | bytes, resp3: bool = False) -> bytes:
    """RESP3 ``(digits``; RESP2 a bulk string of the digits."""
    d = b"%d" % n if isinstance(n, int) else _text(n)
    if not _INT_RE.fullmatch(d):
        raise ValueError(f"not a big number: {d!r}")
    return b"(%b\r\n" % d if resp3 else bulk(d)
