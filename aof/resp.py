"""Sans-IO RESP parsing: the one request parser and a reply parser (the encoders are
:mod:`aof.replies`, the project's one RESP encoder).

Wire layout (docs/formats.md §9). A request is either a *multibulk*::

    *<argc>\\r\\n  then argc times  $<len>\\r\\n<len bytes>\\r\\n

or, when the first byte is not ``*``, an *inline* command: one line ending in
``\\n`` (an optional ``\\r`` before it is dropped), split like shell arguments
(mirrors ``sdssplitargs``). Replies add the RESP2/RESP3 type prefixes of §9.1.

:class:`RequestParser` mirrors ``processMultibulkBuffer``/``processInlineBuffer``
of networking.c (Redis 7.0) byte for byte, including its leniencies, because the
bundled server must answer garbage exactly like Redis (and tests compare with a
real ``redis-server``):

* a count/length line ends at the first ``\\r``; the byte after it is skipped
  unchecked, as are the two bytes after a bulk payload;
* a NUL byte before that ``\\r`` (or before an inline ``\\n``) hides the line end,
  because Redis searches with ``strchr``: the parser then waits for more data,
  until the line exceeds ``inline_max`` and the "too big" error fires;
* ``*0`` and any negative count are ignored, as are empty inline lines.

``strict=True`` is the AOF/replication form (what redis-check-aof accepts): only
multibulk records with exact CRLFs, counts ≥ 1, and ``#`` annotation lines
skipped; violations raise :class:`RespProtocolError` with texts of our own.

The hot path parses runs of canonical multibulk commands: with the C scanner
``aof._respfast.scan_requests`` when it is built (and ``RDBKIT_PUREPYTHON``, read
by ``rdbtools._accel``, allows it), else with ``bytes.split`` over a bounded window, validating every
``$<len>`` against its payload with C-level ``map`` calls. Anything unusual
(inline, lenient CRLFs, over-limit sizes, a command not complete yet; for the
Python scanner also payloads containing CRLF) falls back to the byte-exact state
machine, which alone decides errors. All paths produce identical commands,
offsets, buffered bytes and errors (tests/aof/test_resp_fast.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, takewhile
from typing import Any, Final

from aof.errors import RespProtocolError
from rdbtools._accel import c_module

__all__ = [
    "NEED_DATA",
    "Push",
    "ReplyError",
    "ReplyParser",
    "RequestParser",
    "RespLimits",
    "split_args",
]

_LLONG_MAX: Final = 2**63 - 1
_LONG_STR_SIZE: Final = 21  # string2ll rejects slen >= LONG_STR_SIZE


@dataclass(frozen=True, slots=True)
class RespLimits:
    """Protocol limits, defaults as Redis 7.0 (docs/formats.md §9.3)."""

    proto_max_bulk_len: int = 512 * 1024 * 1024
    inline_max: int = 64 * 1024  # PROTO_INLINE_MAX_SIZE
    max_multibulk: int = 2**31 - 1  # INT_MAX
    unauth_max_multibulk: int = 10
    unauth_max_bulk: int = 16384
    max_nesting: int = 128  # reply parser only: depth of nested aggregates


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA: Final = _Sentinel("NEED_DATA")
"""Returned by :meth:`ReplyParser.gets` when no complete reply is buffered."""


class ReplyError(str):
    """An error reply (``-`` or ``!``); returned as a value, never raised."""

    __slots__ = ()


class Push(list[Any]):
    """A RESP3 push message (``>``): a list that can be told apart from a reply."""

    __slots__ = ()


def _string2ll(s: bytes) -> int | None:
    """Mirror of util.c ``string2ll``: no sign '+', no leading zeros, ≤ 20 chars."""
    if len(s) >= _LONG_STR_SIZE:
        return None
    if s.isdigit():
        if s[0] == 48 and len(s) > 1:
            return None
        v = int(s)
        return v if v <= _LLONG_MAX else None
    if s[:1] == b"-" and s[1:].isdigit() and s[1] != 48:
        v = -int(s[1:])
        return v if v >= -_LLONG_MAX - 1 else None
    return None


# --- inline commands (mirrors sds.c sdssplitargs) -------------------------------------------
# One token: blanks (isspace) skipped; an unquoted run, which ends at a terminator
# (space \t \r \n \0, but NOT \v \f) or turns into a quoted section; a quoted section
# ends the token and must be followed by a blank or the end of the line.
_ARG_RE: Final = re.compile(
    rb"[ \t\n\v\f\r]*+"
    rb"([^ \t\n\r\x00\"']*+)"
    rb"(?:\"([^\"\\]*+(?:\\.[^\"\\]*+)*+)\"|'([^'\\]*+(?:\\'?[^'\\]*+)*+)')?",
    re.DOTALL,
)
_DQ_ESCAPE_RE: Final = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.DOTALL)
_DQ_ESCAPES: Final = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"a": b"\a"}
_BLANKS: Final = frozenset(b" \t\n\v\f\r")


def _dq_unescape(m: re.Match[bytes]) -> bytes:
    e = m.group(1)
    if len(e) == 3:
        return bytes((int(e[1:], 16),))
    return _DQ_ESCAPES.get(e, e)


def split_args(line: bytes) -> list[bytes] | None:
    """Split an inline request line like Redis; ``None`` means unbalanced quotes."""
    args: list[bytes] = []
    pos = 0
    n = len(line)
    match = _ARG_RE.match
    while True:
        m = match(line, pos)
        assert m is not None  # every group is optional
        pos = m.end()
        plain, dq, sq = m.group(1, 2, 3)
        if dq is not None:
            if b"\\" in dq:
                dq = _DQ_ESCAPE_RE.sub(_dq_unescape, dq)
            arg = plain + dq
        elif sq is not None:
            arg = plain + sq.replace(b"\\'", b"'")
        else:
            if pos >= n:
                if plain:
                    args.append(plain)
                return args
            if line[pos] in (34, 39):  # a quote that never closes
                return None
            if plain:
                args.append(plain)
            else:  # pragma: no cover - only a NUL stops an empty run; lines hold none
                pos += 1
            continue
        if pos < n and line[pos] not in _BLANKS:
            return None  # closing quote must be followed by a blank or the end
        args.append(arg)


# --- request parser --------------------------------------------------------------------------
# C fast path (aof/_respfast.c): canonical multibulk runs only, never an error
_scan_requests: Callable[..., int] | None = getattr(c_module("aof._respfast"), "scan_requests", None)

_COUNT_TOKENS_MAX: Final = 1024
_LEN_TOKENS_MAX: Final = 1024
_WINDOW_MIN: Final = 16384
_WINDOW_MAX: Final = 512 * 1024
_fmt_len = b"$%d".__mod__


@lru_cache(maxsize=16)
def _count_tokens(limit: int) -> dict[bytes, int]:
    return {b"*%d" % i: i for i in range(1, min(limit, _COUNT_TOKENS_MAX) + 1)}


@lru_cache(maxsize=16)
def _len_tokens(limit: int) -> dict[bytes, int]:
    return {b"$%d" % i: i for i in range(min(limit, _LEN_TOKENS_MAX) + 1)}


def _first_bad(lt: list[bytes], dl: list[int], limit: int) -> int:
    """Index of the first ``$<len>`` token that does not describe its payload."""
    if list(map(_fmt_len, dl)) == lt and max(dl) <= limit:
        return len(dl)
    for r, (t, n) in enumerate(zip(lt, dl, strict=True)):
        if n > limit or t != b"$%d" % n:
            return r
    return len(dl)  # pragma: no cover - the fast compare already failed


def _triples(spans: list[int], cmds: list[list[bytes]]) -> list[tuple[int, int, list[bytes]]]:
    return [(spans[2 * i], spans[2 * i + 1], argv) for i, argv in enumerate(cmds)]


def _proto(text: str) -> str:
    # addReplyErrorFormat maps CR/LF to spaces so the reply stays one line
    return "ERR Protocol error: " + text.replace("\r", " ").replace("\n", " ")


class RequestParser:
    """Incremental parser of client requests (multibulk and inline), sans-IO.

    ``feed(data)`` buffers bytes; ``parse()`` returns every complete command
    buffered so far, each an argv ``list[bytes]`` (a server executes the batch and
    writes once). On a protocol error ``parse()`` raises :class:`RespProtocolError`
    whose ``commands`` are the commands completed *before* the bad bytes in this
    call: execute them, send ``encode_error(err.message)``, close — as Redis does.
    After an error the parser is dead: ``feed`` ignores data and ``parse`` raises
    the same error again with empty ``commands``.

    While ``authenticated`` is False the unauthenticated limits apply and
    ``parse()`` returns at most one command per call, so that an AUTH/HELLO in a
    pipeline lifts the limits for the bytes after it exactly as in Redis; drivers
    therefore loop ``while cmds := parser.parse(): ...``.

    ``offset`` is the absolute stream offset just past the last complete command
    (or ignored empty item) — the truncation point for an AOF tail; and
    ``buffered_bytes`` is what is held beyond it (compare with
    client-query-buffer-limit). ``parse_offsets()`` is ``parse()`` returning
    ``(start, end, argv)`` triples with absolute offsets.
    """

    # slots: one parser per connection, and the server's C request path reads them by offset
    __slots__ = ("limits", "authenticated", "strict", "_data", "_chunks", "_nbuf", "_base", "_done", "_argv",
                 "_left", "_bulklen", "_error", "_backoff", "_wait", "_checked", "_slow_left", "_scan")

    def __init__(
        self,
        limits: RespLimits | None = None,
        *,
        authenticated: bool = True,
        strict: bool = False,
    ) -> None:
        self.limits = limits if limits is not None else RespLimits()
        self.authenticated = authenticated
        self.strict = strict
        self._data = b""  # unconsumed bytes; _data[0] is at absolute offset _base
        self._chunks: list[bytes] = []
        self._nbuf = 0  # len(_data) + sum(len(chunk))
        self._base = 0
        self._done = 0  # absolute end of the last completed unit
        self._argv: list[bytes] | None = None  # partial multibulk
        self._left = 0  # arguments still expected
        self._bulklen = -1  # declared length of the pending argument
        self._error: RespProtocolError | None = None
        self._backoff = 1  # slow-path commands to run after a fast-path miss
        self._wait: bytes | None = None  # line terminator awaited (b"" = hidden by a NUL)
        self._checked = 0  # chunks already searched for it
        self._slow_left = 0
        self._scan = _scan_requests  # None: the pure-Python fast path below

    # -- public API ----------------------------------------------------------------------
    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._error is not None or not data:
            return
        if type(data) is not bytes:
            data = bytes(data)
        self._chunks.append(data)
        self._nbuf += len(data)

    @property
    def offset(self) -> int:
        return self._done

    @property
    def buffered_bytes(self) -> int:
        return self._base + self._nbuf - self._done

    @property
    def unparsed_bytes(self) -> int:
        """What is buffered beyond the arguments already taken into the partial command
        (Redis's ``querybuf``: it hands each parsed argument over to ``argv``)."""
        return self._nbuf

    @property
    def pending_bulk(self) -> int:
        """The declared length of the argument being received, -1 between arguments
        (Redis sizes its query buffer for a big one as soon as it reads the header)."""
        return self._bulklen

    def parse(self) -> list[list[bytes]]:
        chunks = self._chunks
        if (
            len(chunks) == 1
            and not self._data
            and self._argv is None
            and self._slow_left <= 0
            and self.authenticated
            and self._error is None
        ):
            # the server's common case: one read holding whole canonical commands
            data = chunks[0]
            if data[0] == 42:
                out: list[list[bytes]] = []
                new, missed = self._fast(data, 0, out, None)
                if missed:  # the same back-off as in _run
                    self._slow_left = self._backoff
                    self._backoff = 1 if new else min(self._backoff * 2, 256)
                else:
                    self._backoff = 1
                if new:
                    chunks.clear()
                    self._base += new
                    self._nbuf -= new
                    if new == len(data):
                        return out
                    self._data = data[new:]
                    try:
                        out += self._run(None)
                    except RespProtocolError as exc:
                        exc.commands = out + exc.commands
                        raise
                    return out
        return self._run(None)

    def parse_offsets(self) -> list[tuple[int, int, list[bytes]]]:
        """``parse()`` with absolute ``(start, end, argv)`` triples; on a protocol error
        the exception's ``commands`` holds such triples too."""
        try:
            cmds, spans = self.parse_spans()
        except RespProtocolError as exc:
            exc.commands = _triples(exc.spans, exc.commands)  # type: ignore[assignment]  # triples, as documented
            raise
        return _triples(spans, cmds)

    def parse_spans(self) -> tuple[list[list[bytes]], list[int]]:
        """``parse()`` plus the absolute offsets of the commands as one flat list
        ``[start0, end0, start1, end1, ...]``: no per-command tuple, for a loader that
        takes the commands in runs. On a protocol error the exception's ``commands`` are
        the argvs parsed before it and its ``spans`` their offsets."""
        spans: list[int] = []
        try:
            return self._run(spans), spans
        except RespProtocolError as exc:
            exc.spans = spans
            raise

    # -- driver loop ---------------------------------------------------------------------
    def _run(self, spans: list[int] | None) -> list[list[bytes]]:
        if self._error is not None:
            e = self._error
            raise RespProtocolError(e.message, offset=e.offset, source=e.source)
        if self._argv is not None and self._bulklen >= 0 and self._nbuf < self._bulklen + 2:
            return []  # waiting for a large payload: do not even join the chunks
        if self._wait is not None and self._chunks:
            # waiting for a line end: re-join and re-scan only when one may have arrived
            # (or the line became too long), so dribbled bytes cost O(1) each
            fresh = self._chunks[self._checked :]
            self._checked = len(self._chunks)
            wait = self._wait
            if self._nbuf <= self.limits.inline_max and (
                not wait or not any(wait in c for c in fresh)
            ):
                return []
        self._wait = None
        self._checked = 0
        if self._chunks:
            self._data = b"".join([self._data, *self._chunks])
            self._chunks.clear()
        data = self._data
        n = len(data)
        out: list[list[bytes]] = []
        pos = 0
        one = not self.authenticated
        try:
            while pos < n and not (one and out):
                if self._argv is None and data[pos] == 42 and not one and self._slow_left <= 0:
                    new, missed = self._fast(data, pos, out, spans)
                    if missed:
                        # a command the fast path cannot take: let the state machine run
                        # for a while so that odd streams do not pay for useless splits
                        self._slow_left = self._backoff
                        self._backoff = 1 if new > pos else min(self._backoff * 2, 256)
                    else:
                        self._backoff = 1
                    if new > pos:
                        pos = new
                        continue
                new = self._slow(data, pos, out, spans)
                if new < 0:
                    pos = -new - 1
                    break
                pos = new
                self._slow_left -= 1
        except RespProtocolError as exc:
            exc.commands = out
            self._error = exc
            self._data = b""
            self._nbuf = 0
            self._base = self._done  # a dead parser holds nothing: buffered_bytes is 0
            raise
        if pos:
            self._data = data[pos:]
            self._base += pos
            self._nbuf -= pos
        return out

    # -- fast path: runs of canonical multibulk commands ----------------------------------
    def _fast(
        self, data: bytes, pos: int, out: list[list[bytes]], spans: list[int] | None
    ) -> tuple[int, bool]:
        """Consume well-formed commands from ``pos``; return (new pos, hit a non-fast one)."""
        scan = self._scan
        if scan is not None:
            # the C scanner stops at the first byte it does not like, at no cost worth
            # a back-off: the state machine takes that one unit, then C again
            lim = self.limits
            new = scan(data, pos, lim.max_multibulk, lim.proto_max_bulk_len, out, spans, self._base)
            if new > pos:
                self._done = self._base + new
            return new, False
        return self._fast_py(data, pos, out, spans)

    def _fast_py(
        self, data: bytes, pos: int, out: list[list[bytes]], spans: list[int] | None
    ) -> tuple[int, bool]:
        lim = self.limits
        cget = _count_tokens(lim.max_multibulk).get
        blimit = lim.proto_max_bulk_len
        lget = _len_tokens(blimit).get
        append = out.append
        total = len(data)
        window = _WINDOW_MIN
        while True:
            wend = min(total, pos + window)
            toks = data[pos:wend].split(b"\r\n")
            end = len(toks) - 1  # toks[end] is not followed by CRLF inside the window
            i = 0
            ib = self._base + pos  # absolute offset of toks[i] (kept for spans only)
            bad = False
            while i < end:
                tok = toks[i]
                argc = cget(tok)
                if argc is None:
                    bad = True
                    break
                step = 2 * argc + 1
                if i + step > end:
                    break
                k = 1
                if i + 2 * step <= end and toks[i + step] == tok:
                    # a run of commands with the same argc: gallop over their count tokens
                    k = 2
                    probe = 16
                    last = end - step + 1  # a command starting before this is complete
                    while True:
                        lo = i + k * step
                        run = toks[lo : min(last, lo + probe * step) : step]
                        same = run.count(tok)
                        if same < len(run):
                            k += len(list(takewhile(tok.__eq__, run)))
                            break
                        k += same
                        if not run:
                            break
                        probe *= 2
                stop = i + k * step
                if k == 1:
                    lt = toks[i + 1 : stop : 2]
                    dt = toks[i + 2 : stop : 2]
                    dl = list(map(len, dt))
                    if list(map(lget, lt)) != dl and _first_bad(lt, dl, blimit) < len(dl):
                        bad = True
                        break
                    append(dt)
                else:
                    cols = []
                    for a in range(1, step - 1, 2):
                        lt = toks[i + a : stop : step]
                        dt = toks[i + a + 1 : stop : step]
                        dl = list(map(len, dt))
                        if list(map(lget, lt)) != dl:
                            r = _first_bad(lt, dl, blimit)
                            if r < k:
                                k = r
                                bad = True
                        cols.append(dt)
                    if bad:
                        stop = i + k * step
                        cols = [c[:k] for c in cols]
                    out.extend(map(list, zip(*cols, strict=True)))
                if spans is not None:
                    offs = list(accumulate(map(len, toks[i:stop]), initial=ib))
                    for t in range(0, stop - i, step):
                        spans.append(offs[t] + 2 * t)
                        spans.append(offs[t + step] + 2 * (t + step))
                    ib = offs[-1] + 2 * (stop - i)
                i = stop
                if bad:
                    break
            if i:
                tail = toks[i:]
                pos = wend - (sum(map(len, tail)) + 2 * (len(tail) - 1))
                self._done = self._base + pos
            if bad or wend >= total or (i == 0 and window >= _WINDOW_MAX):
                return pos, bad
            window = min(window * 2, _WINDOW_MAX)

    # -- slow path: one unit, byte-exact with networking.c ----------------------------------
    def _need(self, pos: int) -> int:
        return -pos - 1

    def _need_line(self, data: bytes, pos: int, term: bytes) -> int:
        self._wait = b"" if data.find(b"\0", pos) >= 0 else term
        return -pos - 1

    def _slow(
        self, data: bytes, pos: int, out: list[list[bytes]], spans: list[int] | None
    ) -> int:
        """Consume one command (or ignored item). Returns the new position, or
        ``-pos-1`` when more data is needed (bytes before pos were consumed)."""
        n = len(data)
        lim = self.limits
        auth = self.authenticated
        base = self._base
        if self._argv is None:
            first = data[pos]
            if first != 42:
                return self._inline(data, pos, out, spans)
            cr = data.find(b"\r", pos)
            if cr < 0 or data.find(b"\0", pos, cr) >= 0:
                if n - pos > lim.inline_max:
                    raise RespProtocolError(
                        _proto("too big mbulk count string"), offset=base + pos
                    )
                return self._need_line(data, pos, b"\r")
            if cr > n - 2:
                return self._need(pos)
            if self.strict and data[cr + 1] != 10:
                raise RespProtocolError(_proto("expected CRLF"), offset=base + cr)
            ll = _string2ll(data[pos + 1 : cr])
            if ll is None or ll > lim.max_multibulk or (self.strict and ll < 1):
                raise RespProtocolError(
                    _proto("invalid multibulk length"), offset=base + pos
                )
            if ll > lim.unauth_max_multibulk and not auth:
                raise RespProtocolError(
                    _proto("unauthenticated multibulk length"), offset=base + pos
                )
            if ll <= 0:
                self._done = base + cr + 2
                return cr + 2
            self._argv = []
            self._left = ll
            self._bulklen = -1
            pos = cr + 2
        argv = self._argv
        while self._left:
            if self._bulklen < 0:
                cr = data.find(b"\r", pos)
                if cr < 0 or data.find(b"\0", pos, cr) >= 0:
                    if n - pos > lim.inline_max:
                        raise RespProtocolError(
                            _proto("too big bulk count string"), offset=base + pos
                        )
                    return self._need_line(data, pos, b"\r")
                if cr > n - 2:
                    return self._need(pos)
                if data[pos] != 36:
                    got = data[pos : pos + 1].decode("utf-8", "surrogateescape")
                    raise RespProtocolError(
                        _proto(f"expected '$', got '{got}'"), offset=base + pos
                    )
                if self.strict and data[cr + 1] != 10:
                    raise RespProtocolError(_proto("expected CRLF"), offset=base + cr)
                ll = _string2ll(data[pos + 1 : cr])
                if ll is None or ll < 0 or ll > lim.proto_max_bulk_len:
                    raise RespProtocolError(_proto("invalid bulk length"), offset=base + pos)
                if ll > lim.unauth_max_bulk and not auth:
                    raise RespProtocolError(
                        _proto("unauthenticated bulk length"), offset=base + pos
                    )
                self._bulklen = ll
                pos = cr + 2
            ll = self._bulklen
            if n - pos < ll + 2:
                return self._need(pos)
            if self.strict and data[pos + ll : pos + ll + 2] != b"\r\n":
                raise RespProtocolError(_proto("expected CRLF"), offset=base + pos + ll)
            argv.append(data[pos : pos + ll])
            pos += ll + 2
            self._bulklen = -1
            self._left -= 1
        self._argv = None
        out.append(argv)
        if spans is not None:
            spans.append(self._done)
            spans.append(base + pos)
        self._done = base + pos
        return pos

    def _inline(
        self, data: bytes, pos: int, out: list[list[bytes]], spans: list[int] | None
    ) -> int:
        base = self._base
        nl = data.find(b"\n", pos)
        if nl < 0 or data.find(b"\0", pos, nl) >= 0:
            if len(data) - pos > self.limits.inline_max:
                raise RespProtocolError(_proto("too big inline request"), offset=base + pos)
            return self._need_line(data, pos, b"\n")
        if self.strict:
            if data[pos] != 35:  # '#': AOF annotation, skipped like loadSingleAppendOnlyFile
                got = data[pos : pos + 1].decode("utf-8", "surrogateescape")
                raise RespProtocolError(_proto(f"expected '*', got '{got}'"), offset=base + pos)
            self._done = base + nl + 1
            return nl + 1
        end = nl - 1 if nl > pos and data[nl - 1] == 13 else nl
        argv = split_args(data[pos:end])
        if argv is None:
            raise RespProtocolError(_proto("unbalanced quotes in request"), offset=base + pos)
        if argv:
            out.append(argv)
            if spans is not None:
                spans.append(base + pos)
                spans.append(base + nl + 1)
        self._done = base + nl + 1
        return nl + 1


# --- reply parser ----------------------------------------------------------------------------
_INT_RE: Final = re.compile(rb"-?[0-9]+")
_DOUBLE_RE: Final = re.compile(
    rb"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|nan)", re.IGNORECASE
)
_MAP, _SET, _PUSH, _ATTR, _ARRAY = b"%~>|*"


class ReplyParser:
    """Incremental parser of RESP2/RESP3 replies (pure Python).

    ``feed(data)``; ``gets()`` returns one reply or :data:`NEED_DATA`. Partial
    aggregates are kept on an explicit stack, so a huge reply arriving in pieces
    is parsed once (no re-scan). Types: ``+`` bytes, ``-``/``!``
    :class:`ReplyError`, ``:`` int, ``$`` bytes or None, ``*`` list or None, ``_``
    None, ``#`` bool, ``,`` float, ``(`` int, ``=`` bytes (format prefix dropped,
    as hiredis), ``%`` dict (a list of ``(key, value)`` tuples when a key is
    unhashable), ``~`` list, ``>`` :class:`Push`; ``|`` attributes are read and
    discarded. Malformed input raises :class:`RespProtocolError`.
    """

    def __init__(self, limits: RespLimits | None = None) -> None:
        self.limits = limits if limits is not None else RespLimits()
        self._data = b""
        self._chunks: list[bytes] = []
        self._pos = 0
        self._base = 0
        self._stack: list[tuple[int, list[object], int]] = []  # (kind, items, wanted)
        self._nbuf = 0  # bytes held from _pos on (including chunks)
        self._want = 0  # bytes needed from _pos before a reply can progress
        self._wait_nl = False  # waiting for the CRLF of a header line
        self._checked = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self._chunks.append(bytes(data))
            self._nbuf += len(data)

    @property
    def offset(self) -> int:
        """Absolute offset of the first byte not yet consumed."""
        return self._base + self._pos

    def _fail(self, text: str, pos: int) -> RespProtocolError:
        return RespProtocolError(f"Protocol error, {text}", offset=self._base + pos)

    def gets(self) -> object:
        if self._nbuf < self._want:
            return NEED_DATA  # waiting for a large payload: do not re-join the chunks
        if self._wait_nl and self._chunks:
            fresh = self._chunks[self._checked :]
            self._checked = len(self._chunks)
            if self._nbuf <= self.limits.proto_max_bulk_len and not any(
                b"\n" in c for c in fresh
            ):
                return NEED_DATA
        self._wait_nl = False
        self._checked = 0
        if self._chunks:
            self._data = b"".join([self._data[self._pos :], *self._chunks])
            self._base += self._pos
            self._pos = 0
            self._chunks.clear()
        data = self._data
        n = len(data)
        pos = self._pos
        stack = self._stack
        lim = self.limits
        value: object
        while True:
            self._nbuf -= pos - self._pos
            self._pos = pos
            self._want = 0
            if pos >= n:
                return NEED_DATA
            nl = data.find(b"\r\n", pos)
            if nl < 0:
                if n - pos > lim.proto_max_bulk_len:
                    raise self._fail("line too long", pos)
                self._wait_nl = True
                return NEED_DATA
            t = data[pos]
            line = data[pos + 1 : nl]
            if t == 36 or t == 61 or t == 33:  # $ = !
                ln = _string2ll(line)
                if ln == -1 and t == 36:
                    value = None
                    pos = nl + 2
                else:
                    if ln is None or ln < 0 or ln > lim.proto_max_bulk_len:
                        raise self._fail("invalid bulk length", pos)
                    if n - nl - 2 < ln + 2:
                        self._want = nl + 4 + ln - pos
                        return NEED_DATA
                    if data[nl + 2 + ln : nl + 4 + ln] != b"\r\n":
                        raise self._fail("bulk string not followed by CRLF", nl + 2 + ln)
                    body = data[nl + 2 : nl + 2 + ln]
                    pos = nl + 4 + ln
                    if t == 36:
                        value = body
                    elif t == 61:
                        if ln < 4 or body[3] != 58:
                            raise self._fail("verbatim string without format", nl + 2)
                        value = body[4:]
                    else:
                        value = ReplyError(body.decode("utf-8", "replace"))
            elif t in b"*%~>|":
                cnt = _string2ll(line)
                if cnt is None or cnt < -1 or cnt > lim.max_multibulk:
                    raise self._fail("invalid aggregate length", pos)
                pos = nl + 2
                if cnt == -1:
                    if t != _ARRAY:
                        raise self._fail("invalid aggregate length", pos)
                    value = None
                elif cnt == 0:
                    value = _finish(t, [])
                    if t == _ATTR:
                        continue
                else:
                    if len(stack) >= lim.max_nesting:
                        raise self._fail("aggregates nested too deep", pos)
                    stack.append((t, [], cnt * 2 if t in b"%|" else cnt))
                    continue
            else:
                pos = nl + 2
                if t == 43:  # +
                    value = line
                elif t == 45:  # -
                    value = ReplyError(line.decode("utf-8", "replace"))
                elif t == 58 or t == 40:  # : (
                    if not _INT_RE.fullmatch(line) or (t == 58 and _string2ll(line) is None):
                        raise self._fail("invalid integer", pos)
                    value = int(line)
                elif t == 95 and not line:  # _
                    value = None
                elif t == 35 and line in (b"t", b"f"):  # #
                    value = line == b"t"
                elif t == 44 and _DOUBLE_RE.fullmatch(line):  # ,
                    value = float(line)
                else:
                    raise self._fail(f"got {chr(t)!r} as reply type byte", pos)
            # hand the value to the enclosing aggregates, closing the complete ones
            while True:
                if not stack:
                    self._nbuf -= pos - self._pos
                    self._pos = pos
                    return value
                kind, items, wanted = stack[-1]
                items.append(value)
                if len(items) < wanted:
                    break
                stack.pop()
                if kind == _ATTR:
                    break  # attributes are metadata about the next value: dropped
                value = _finish(kind, items)


def _finish(kind: int, items: list[object]) -> object:
    if kind == _ARRAY or kind == _SET:
        return items
    if kind == _PUSH:
        return Push(items)
    if kind == _MAP:
        it = iter(items)
        pairs = list(zip(it, it, strict=True))
        try:
            return dict(pairs)
        except TypeError:  # an unhashable key (aggregate): keep the pairs
            return pairs
    return None  # attribute

