"""LOLWUT VERSION 5 (Schotter) and VERSION 6 (the skyline) compared with real Redis 7.0.15.

Both pictures use ``rand()``: where the drawing does not (Schotter with at most two rows
of squares: only the third row on is scattered) the bytes must be identical; otherwise
the structure is compared — the reply type, the number of lines, each line's width in
characters (or cells), the alphabet and the trailer. The plain ``LOLWUT`` and the
argument errors are in test_differential_cases.py ("server_misc").
"""

from __future__ import annotations

import re

import pytest

from tests.engine.conftest import ServerProc

_CELL = re.compile(rb"\x1b\[0;(30;40|90;100|37;47|97;107)m \x1b\[0m")


def _verbatim(srv: ServerProc, *argv: str) -> bytes:
    """The reply of a RESP2 call: the bulk string's content (a verbatim string's text)."""
    raw = srv.call(*(a.encode() for a in argv))
    assert raw[:1] == b"$", raw[:200]
    head, _, rest = raw.partition(b"\r\n")
    assert len(rest) == int(head[1:]) + 2
    return rest[:-2]


@pytest.mark.parametrize("args", [("66", "8", "2"), ("40", "5", "1"), ("1", "1", "1"), ("2", "3", "2"),
                                  ("3", "8", "2"), ("66",), ("120", "200", "2"), ("-5", "0", "-1"), ("7", "1", "2", "extra")])
def test_schotter_without_randomness_is_redis_s(args: tuple[str, ...], ours: ServerProc,
                                                real: ServerProc) -> None:
    """Two rows of squares or fewer are drawn without rand(): byte for byte as Redis
    (single-precision geometry, rounding, Bresenham lines, braille packing, trailer)."""
    if len(args) < 3:  # the default 12 rows scatter squares; compare the first rows only
        a = _verbatim(ours, "LOLWUT", "VERSION", "5", *args).split(b"\n")[:4]
        b = _verbatim(real, "LOLWUT", "VERSION", "5", *args).split(b"\n")[:4]
    else:
        a = _verbatim(ours, "LOLWUT", "VERSION", "5", *args)
        b = _verbatim(real, "LOLWUT", "VERSION", "5", *args)
    assert a == b


@pytest.mark.parametrize("args", [(), ("80", "10", "20"), ("10", "3", "50"), ("250", "2", "5"), ("5", "200", "3")])
def test_schotter_shape_like_redis(args: tuple[str, ...], ours: ServerProc, real: ServerProc) -> None:
    a = _verbatim(ours, "LOLWUT", "VERSION", "5", *args).decode().split("\n")
    b = _verbatim(real, "LOLWUT", "VERSION", "5", *args).decode().split("\n")
    assert [len(x) for x in a] == [len(x) for x in b]
    assert a[-2:] == b[-2:]  # the trailer
    braille = {chr(c) for c in range(0x2800, 0x2900)}
    assert set("".join(a[:-2])) <= braille


@pytest.mark.parametrize("args", [(), ("30", "12"), ("1", "1"), ("0", "-3"), ("200", "3"), ("9", "60", "x")])
def test_skyline_shape_like_redis(args: tuple[str, ...], ours: ServerProc, real: ServerProc) -> None:
    a = _verbatim(ours, "LOLWUT", "VERSION", "6", *args).split(b"\n")
    b = _verbatim(real, "LOLWUT", "VERSION", "6", *args).split(b"\n")
    assert len(a) == len(b)
    assert a[-3:] == b[-3:]  # the dedication and the version
    for x, y in zip(a[:-3], b[:-3], strict=True):
        assert _CELL.sub(b"", x) == b"" and _CELL.sub(b"", y) == b""
        assert len(_CELL.findall(x)) == len(_CELL.findall(y))


def test_versions_pick_the_same_art(ours: ServerProc, real: ServerProc) -> None:
    """The version is read as a C unsigned int and matched by its text: 4.9 and 5.x draw
    Schotter, 5.9 and 6.x the skyline (their trailers tell which)."""
    for v in ("5", "6", "4294967301", "4294967302"):
        a = _verbatim(ours, "LOLWUT", "VERSION", v, "4", "1", "1")
        b = _verbatim(real, "LOLWUT", "VERSION", v, "4", "1", "1")
        assert a.rsplit(b"\n", 2)[-2] == b.rsplit(b"\n", 2)[-2], v


def test_resp3_verbatim(ours: ServerProc, real: ServerProc) -> None:
    """Under RESP3 the art is a verbatim string of format txt."""

    def lolwut3(srv: ServerProc) -> bytes:
        with srv.connect() as s:
            s.sendall(b"HELLO 3\r\nLOLWUT VERSION 5 3 1 1\r\n")
            out = b""
            while not out.endswith(b"7.0.15\n\r\n"):  # only LOLWUT's reply ends so
                got = s.recv(65536)
                assert got
                out += got
            return out[out.rindex(b"\r\n=") + 2:]

    a = lolwut3(ours)
    assert a.startswith(b"=") and a.split(b"\r\n", 1)[1].startswith(b"txt:")
    assert a == lolwut3(real)
