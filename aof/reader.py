"""Reading AOFs: one sans-IO decoder per file, and a driver over files and directories.

One file (docs/formats.md §7.2–7.5; mirrors ``loadSingleAppendOnlyFile``):

* if it starts with ``REDIS`` (or Valkey's ``VALKEY``) an RDB comes first — the
  4.0–6.2 hybrid preamble or a 7.0+ ``.base.rdb`` — decoded by
  :class:`rdbtools.RdbDecoder`, whose ``trailing_data`` continues as RESP;
* then RESP records, each ``*<argc>`` + bulk strings, parsed by
  :class:`aof.resp.RequestParser` in ``strict`` mode; lines starting with ``#``
  are annotations (``#TS:<unix seconds>`` sets the ``ts`` of the commands after
  it); anything else is ``Bad file format reading the append only file …``;
* every file starts in db 0 (a fresh fake client); ``SELECT`` changes the db.

The end of a file (docs/formats.md §7.4): a partial record, or a ``MULTI`` whose
``EXEC`` never came, is a truncated tail. The good prefix ends at
``valid_up_to``: after the last complete command outside a MULTI (after the RDB
part at least). With ``load_truncated`` (Redis's ``aof-load-truncated yes``, the
default) and when the file is the last one loaded, the decoder reports a
:class:`Truncation` and stops there; a caller truncates the file to
``valid_up_to`` if it wants Redis's repair. Otherwise :class:`AofTruncatedError`
(``Unexpected end of file …``); a truncated file that is not the last one is
fatal (``Fatal error: the truncated file is not the last file``), as in
``loadAppendOnlyFiles``.

Commands inside a MULTI are yielded as they come (memory stays bounded): a
truncated MULTI means those never ran — use
:func:`aof.commands.group_transactions` or queue them as Redis does.

Differences from Redis, on purpose: after a truncated record that follows an
RDB preamble, Redis 7.0 would truncate the whole file (its ``valid_up_to``
starts at 0); we keep the preamble. A truncated record inside a MULTI makes
Redis cut after the last queued command (leaving the MULTI open for the next
start to revert); we cut before the MULTI at once, as redis-check-aof does.
An RDB part that is truncated or corrupt is fatal (Redis exits), reported as
:class:`AofFormatError` with Redis's wording and the RDB error as the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from aof import files
from aof.commands import Command, CommandRun, new_command, select_db
from aof.errors import AofError, AofFormatError, AofTruncatedError, RespProtocolError
from aof.manifest import Manifest, looks_like_manifest
from aof.multipart import AofDirectory
from aof.resp import RequestParser, RespLimits
from rdbtools.decoder import RdbDecoder
from rdbtools.errors import RdbError
from rdbtools.limits import Limits

__all__ = [
    "Annotation",
    "AofDecoder",
    "AofPart",
    "AofReader",
    "Truncation",
    "iter_commands",
]

log = logging.getLogger(__name__)

_RDB_MAGICS = (b"REDIS", b"VALKEY")

AOF_LIMITS = RespLimits(proto_max_bulk_len=2**63 - 3)
"""The loader reads any declared length (redis-check-aof: up to ``LONG_MAX - 2``);
memory still grows only with the bytes that actually arrive."""
_FIX_HINT = "./redis-check-aof --fix <filename.manifest>"


def bad_format_text(name: str) -> str:
    return (
        f"Bad file format reading the append only file {name}: "
        f"make a backup of your AOF file, then use {_FIX_HINT}"
    )


def unexpected_eof_text(name: str) -> str:
    return (
        f"Unexpected end of file reading the append only file {name}. You can: "
        f"1) Make a backup of your AOF file, then use {_FIX_HINT}. "
        "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes "
        "and restart the server."
    )


NOT_LAST_TEXT = "Fatal error: the truncated file is not the last file"


def _spellings(word: bytes) -> frozenset[bytes]:
    out = {b""}
    for ch in word:
        out = {p + bytes([c]) for p in out for c in {ch, ch ^ 0x20}}
    return frozenset(out)


# every ASCII case spelling of the names the reader tracks (``argv[0].lower()`` among them)
_MARKERS = _spellings(b"select") | _spellings(b"multi") | _spellings(b"exec")


@dataclass(frozen=True, slots=True)
class Annotation:
    """A ``#…`` line between records (yielded only with ``annotations=True``)."""

    text: bytes  # without the line end
    offset: int
    end: int
    ts: int | None  # the value of a well-formed ``#TS:<n>``


@dataclass(frozen=True, slots=True)
class Truncation:
    """A truncated tail accepted under ``load_truncated``: cut the file at ``valid_up_to``."""

    file: str
    valid_up_to: int
    size: int  # where the input ended
    reason: str  # "short-read" or "incomplete-multi"

    @property
    def message(self) -> str:
        if self.reason == "incomplete-multi":
            return f"Revert incomplete MULTI/EXEC transaction in AOF file {self.file}"
        return f"!!! Warning: short read while loading the AOF file {self.file}!!!"


def _parse_ts(line: bytes) -> int | None:
    # '#TS:<digits>' (what genAofTimestampAnnotationIfNeeded writes: "#TS:%I\r\n")
    if line[:4] != b"#TS:":
        return None
    v = line[4:].rstrip(b"\r")
    body = v[1:] if v[:1] == b"-" else v
    if not body.isdigit() or len(v) > 20:
        return None
    return int(v)


class AofDecoder:
    """Sans-IO decoder of one AOF file: ``feed``/``feed_eof``, ``next_events()``.

    ``next_events()`` returns every item the buffered bytes complete: rdbtools
    events of an RDB part, then :class:`Command` (and :class:`Annotation` when
    asked); ``[]`` means feed more (or, once ``done``, the end). An error found
    after some items were parsed is raised on the following call, so every good
    item before it is delivered first. ``name`` is only used in messages.
    ``detect_preamble=False`` reads the bytes as RESP whatever they start with
    (redis-check-aof's ``fileIsRDB`` wants 8 bytes before it sees an RDB).
    ``runs=True`` yields the plain commands between SELECT/MULTI/EXEC and
    annotations as :class:`aof.commands.CommandRun` items (a loader's hot loop
    then takes bare argvs); expanded, they are the same commands.
    """

    def __init__(
        self,
        *,
        name: str = "<aof>",
        last_file: bool = True,
        load_truncated: bool = True,
        base: bool = False,
        annotations: bool = False,
        verify_checksum: bool = True,
        limits: RespLimits | None = None,
        rdb_limits: Limits | None = None,
        detect_preamble: bool = True,
        packed_listpacks: bool = False,
        runs: bool = False,
        rdb_sink: Callable[..., bool] | None = None,
    ) -> None:
        self.name = name
        self.rdb_sink = rdb_sink  # offered the preamble's keys (rdbtools.io.iter_events(sink=))
        self.runs = runs  # plain commands in between as CommandRun items
        self.packed_listpacks = packed_listpacks  # the preamble's hash listpacks kept as bytes
        self.detect_preamble = detect_preamble
        self.last_file = last_file
        self.load_truncated = load_truncated
        self.base = base
        self.annotations = annotations
        self.verify_checksum = verify_checksum
        self.limits = limits if limits is not None else AOF_LIMITS
        self.rdb_limits = rdb_limits
        self.db = 0
        self.ts: int | None = None
        self.done = False
        self.preamble = False
        self.rdb_end: int | None = None
        self.valid_up_to = 0
        self.in_multi = False
        self.truncation: Truncation | None = None
        self.commands = 0
        self.size = 0  # bytes fed so far
        self.tail: bytes | None = None  # on a bad or truncated end: the bytes from ``offset`` on
        self._phase = "detect"
        self._head = b""
        self._eof = False
        self._rdb: RdbDecoder | None = None
        self._parser: RequestParser | None = None
        self._base_off = 0  # absolute offset of the parser's byte 0
        self._chunks: list[tuple[int, bytes]] = []  # fed RESP bytes kept for annotation gaps
        self._fed = 0  # absolute end of the fed RESP bytes
        self._scan = 0  # absolute offset up to which gaps were scanned
        self._valid_before_multi = 0
        self._error: AofError | None = None

    # -- input --------------------------------------------------------------------------------
    @property
    def offset(self) -> int:
        """Absolute offset just past the last item consumed."""
        if self._parser is not None:
            return self._scan
        if self._rdb is not None:
            return self._rdb.offset
        return 0

    def feed(self, data: bytes) -> None:
        if not data:
            return
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        self.size += len(data)
        if self._phase == "detect":
            self._head += bytes(data)
        elif self._phase == "rdb":
            assert self._rdb is not None
            self._rdb.feed(bytes(data))
        else:
            self._feed_resp(bytes(data))

    def feed_eof(self) -> None:
        self._eof = True
        if self._rdb is not None and self._phase == "rdb":
            self._rdb.feed_eof()

    def _feed_resp(self, data: bytes) -> None:
        assert self._parser is not None
        self._chunks.append((self._fed, data))
        self._fed += len(data)
        self._parser.feed(data)

    # -- output -------------------------------------------------------------------------------
    def next_events(self) -> list[Any]:
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        out: list[Any] = []
        if self.done:
            return out
        if self._phase == "detect" and not self._detect():
            return out
        if self._phase == "rdb":
            self._run_rdb(out)
            if self._phase == "rdb":
                return out
        try:
            self._run_resp(out)
            if self._eof:
                self._finish(out)
        except AofError as exc:
            if out:
                self._error = exc
                return out
            raise
        return out

    def _detect(self) -> bool:
        head = self._head
        if not self.detect_preamble:  # the caller knows it is RESP (redis-check-aof's fileIsRDB)
            self._head = b""
            self._start_resp(0, head)
            return True
        if not self._eof and any(len(head) < len(m) and m.startswith(head) for m in _RDB_MAGICS):
            return False  # could still become an RDB magic
        self._head = b""
        if any(head.startswith(m) for m in _RDB_MAGICS):
            self._phase = "rdb"
            self.preamble = True
            self._rdb = RdbDecoder(limits=self.rdb_limits, verify_checksum=self.verify_checksum,
                                   packed_listpacks=self.packed_listpacks, sink=self.rdb_sink)
            self._rdb.feed(head)
            if self._eof:
                self._rdb.feed_eof()
        else:
            self._start_resp(0, head)
        return True

    def _start_resp(self, base: int, data: bytes) -> None:
        self._phase = "resp"
        self._parser = RequestParser(self.limits, strict=True)
        self._base_off = base
        self._fed = self._scan = self.valid_up_to = self._valid_before_multi = base
        if data:
            self._feed_resp(data)

    def _run_rdb(self, out: list[Any]) -> None:
        rdb = self._rdb
        assert rdb is not None
        try:
            while True:
                events = rdb.next_events()
                if not events:
                    break
                out.extend(events)
                if rdb.done or self.rdb_sink is not None:  # used before the sink takes more
                    break
        except RdbError as exc:
            what = "RDB base file" if self.base else "RDB preamble of the AOF file"
            err = AofFormatError(
                f"Error reading the {what} {self.name}, AOF loading aborted", offset=exc.offset
            )
            err.detail = str(exc)
            err.rdb_error = exc
            err.__cause__ = exc
            if out:
                self._error = err
                return
            raise err from exc
        if rdb.done:
            self.rdb_end = rdb.offset
            trailing = rdb.trailing_data
            self._rdb = None
            self._start_resp(self.rdb_end, trailing)

    def _gap(self, start: int, end: int, out: list[Any]) -> None:
        """Scan annotation lines in ``[start, end)`` (bytes the parser skipped)."""
        parts = []
        for off, chunk in self._chunks:
            cend = off + len(chunk)
            if cend <= start:
                continue
            if off >= end:
                break
            parts.append(chunk[max(0, start - off) : end - off])
        text = b"".join(parts)
        pos = 0
        while pos < len(text):
            nl = text.find(b"\n", pos)
            stop = len(text) if nl < 0 else nl + 1
            line = text[pos:stop].rstrip(b"\n")
            ts = _parse_ts(line)
            if ts is not None:
                self.ts = ts
            if self.annotations:
                out.append(Annotation(line.rstrip(b"\r"), start + pos, start + stop, ts))
            pos = stop

    def _trim(self) -> None:
        scan = self._scan
        chunks = self._chunks
        i = 0
        while i < len(chunks) and chunks[i][0] + len(chunks[i][1]) <= scan:
            i += 1
        if i:
            del chunks[:i]

    def _run_resp(self, out: list[Any]) -> None:
        parser = self._parser
        assert parser is not None
        error: RespProtocolError | None = None
        try:
            cmds, spans = parser.parse_spans()
        except RespProtocolError as exc:
            cmds, spans = exc.commands, exc.spans
            error = exc
        if cmds:
            self._emit(cmds, spans, out)
        self.commands += len(cmds)
        name = self.name
        done = parser.offset + self._base_off
        if done > self._scan:
            self._gap(self._scan, done, out)
            self._scan = done
        self._trim()
        if error is not None:
            off = error.offset + self._base_off if error.offset is not None else self._scan
            self.tail = self._pending()
            err = AofFormatError(bad_format_text(name), offset=off)
            err.detail = error.message
            err.__cause__ = error
            raise err

    def _emit(self, cmds: list[list[bytes]], spans: list[int], out: list[Any]) -> None:
        """The items for parsed commands (``spans``: their flat offsets from the parser's
        byte 0): annotations found in the gaps between them, SELECT/MULTI/EXEC one by one
        (they move the db, the MULTI state and ``valid_up_to``), and the commands between
        those as one :class:`CommandRun` each (``runs``) or one :class:`Command` each."""
        base = self._base_off
        n = len(cmds)
        bounds = set()  # where a segment starts: around a marker, after a gap
        for i, argv in enumerate(cmds):
            if argv[0] in _MARKERS:
                bounds.add(i)
                bounds.add(i + 1)
        if spans[2::2] != spans[1:-1:2]:  # an annotation (or other skipped bytes) in between
            bounds.update(i for i in range(1, n) if spans[2 * i] != spans[2 * i - 1])
        bounds.discard(0)
        bounds.discard(n)
        cuts = sorted(bounds)
        append = out.append
        make = new_command
        name = self.name
        runs = self.runs
        scan = self._scan
        db = self.db
        ts = self.ts
        in_multi = self.in_multi
        valid = self.valid_up_to
        try:
            for i, c in zip([0, *cuts], [*cuts, n], strict=True):
                start = spans[2 * i] + base
                if start > scan:
                    self.db, self.in_multi, self.valid_up_to = db, in_multi, valid
                    self._gap(scan, start, out)
                    ts = self.ts
                end = spans[2 * c - 1] + base
                argv = cmds[i]
                if c == i + 1 and argv[0] in _MARKERS:
                    low = argv[0].lower()
                    append(make(argv, db, start, end, ts, name))
                    if low == b"select":
                        new = select_db(argv)
                        if new is not None:
                            db = new
                        if not in_multi:
                            valid = end
                        scan = end
                        continue
                    if low == b"multi":
                        if not in_multi:
                            in_multi = True
                            self._valid_before_multi = valid
                    elif in_multi:  # EXEC
                        in_multi = False
                elif runs:
                    append(CommandRun(cmds[i:c] if c - i < n else cmds, spans[2 * i : 2 * c],
                                      base, db, ts, name))
                else:
                    for j in range(i, c):
                        append(make(cmds[j], db, spans[2 * j] + base, spans[2 * j + 1] + base, ts, name))
                if not in_multi:
                    valid = end
                scan = end
        finally:
            self._scan = scan
            self.db, self.in_multi, self.valid_up_to = db, in_multi, valid

    def _pending(self) -> bytes:
        """The fed bytes after the last complete item (bounded by one record)."""
        if not self._chunks:
            return b""
        return b"".join(c for _, c in self._chunks)[self._scan - self._chunks[0][0] :]

    def _finish(self, out: list[Any]) -> None:
        """All input is in and parsed: a clean end, or a truncated tail."""
        end = self._fed
        rest = end - self._scan
        if rest:
            tail = self._pending()
            if tail[:1] not in (b"*", b"#"):
                # a line that is no record: fgets returns it at EOF and the loader rejects it
                self.done = True
                self.tail = tail
                raise AofFormatError(bad_format_text(self.name), offset=self._scan)
            if tail[:1] == b"#" and b"\n" not in tail:
                # an annotation cut at the very end: fgets returns it, the loader skips it
                self._gap(self._scan, end, out)
                self._scan = end
                rest = 0
        if not rest and not self.in_multi:
            self.done = True
            self._chunks.clear()
            return
        reason = "short-read" if rest else "incomplete-multi"
        valid = self._valid_before_multi if self.in_multi else self.valid_up_to
        self.tail = self._pending()
        self.done = True
        self._chunks.clear()
        if not self.load_truncated:
            raise AofTruncatedError(unexpected_eof_text(self.name), valid_up_to=valid, offset=end)
        if not self.last_file:
            cause = AofTruncatedError(
                unexpected_eof_text(self.name), valid_up_to=valid, offset=end
            )
            err = AofFormatError(NOT_LAST_TEXT, offset=end)
            err.__cause__ = cause
            raise err
        self.truncation = Truncation(self.name, valid, end, reason)
        log.warning("%s", self.truncation.message)
        log.warning("!!! Truncating the AOF %s at offset %d !!!", self.name, valid)


# --- drivers ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AofPart:
    """One file of what was read: its display name, path, role and what it held."""

    name: str
    path: str | None
    kind: str  # "single", "base" or "incr"
    last: bool


def _drain(dec: AofDecoder) -> Iterator[list[Any]]:
    while True:
        items = dec.next_events()
        if not items:
            return
        yield items


def _feed_stream(dec: AofDecoder, chunks: Any) -> Iterator[list[Any]]:
    """The decoder's output for ``chunks``, as the non-empty lists ``next_events`` returns."""
    for data in chunks:
        dec.feed(data)
        yield from _drain(dec)
    dec.feed_eof()
    yield from _drain(dec)


class AofReader:
    """Every item of an AOF in load order: RDB events, then commands, file after file.

    ``source`` is a single AOF file (pure RESP or with an RDB preamble; ``.lz4``
    is transparent), a multi-part directory, its manifest file, a binary file
    object, or bytes. ``runs`` is :class:`AofDecoder`'s. After iteration, ``truncation`` tells whether the last
    file's tail was dropped under ``load_truncated`` (its ``valid_up_to`` is the
    offset to truncate the file at), ``parts`` lists the files read, and
    ``manifest`` is the parsed manifest of a multi-part set.

    Errors carry ``source`` (the file) and ``offset`` (in that file).
    """

    def __init__(
        self,
        source: Any,
        *,
        load_truncated: bool = True,
        annotations: bool = False,
        verify_checksum: bool = True,
        limits: RespLimits | None = None,
        rdb_limits: Limits | None = None,
        appendfilename: str | None = None,
        chunk_size: int = files.CHUNK,
        packed_listpacks: bool = False,
        runs: bool = False,
    ) -> None:
        self.source = source
        self.runs = runs
        self.packed_listpacks = packed_listpacks
        self.load_truncated = load_truncated
        self.annotations = annotations
        self.verify_checksum = verify_checksum
        self.limits = limits
        self.rdb_limits = rdb_limits
        self.appendfilename = appendfilename
        self.chunk_size = chunk_size
        self.truncation: Truncation | None = None
        self.parts: list[AofPart] = []
        self.manifest: Manifest | None = None
        self.directory: AofDirectory | None = None
        # set before iterating: offered the keys of an RDB base or preamble, which are
        # then not yielded as records (see rdbtools.io.iter_events(sink=))
        self.rdb_sink: Callable[..., bool] | None = None

    def _decoder(self, name: str, last: bool, base: bool) -> AofDecoder:
        return AofDecoder(
            name=name,
            last_file=last,
            load_truncated=self.load_truncated,
            base=base,
            annotations=self.annotations,
            verify_checksum=self.verify_checksum,
            limits=self.limits,
            rdb_limits=self.rdb_limits,
            packed_listpacks=self.packed_listpacks,
            runs=self.runs,
            rdb_sink=self.rdb_sink,
        )

    def __iter__(self) -> Iterator[Any]:
        for batch in self.iter_batches():
            yield from batch

    def iter_batches(self) -> Iterator[list[Any]]:
        """The same items as iterating the reader, as non-empty lists in order (what each
        decoding step completes): a consumer's hot loop pays no generator hop per item."""
        src = self.source
        if isinstance(src, bytes | bytearray | memoryview):
            yield from self._single_bytes(bytes(src))
            return
        if not isinstance(src, str) and not hasattr(src, "__fspath__"):
            yield from self._single_stream(src, None)
            return
        path = str(src.__fspath__()) if hasattr(src, "__fspath__") else src
        if path != "-" and files.is_dir(path):
            yield from self._multipart(AofDirectory.open(path, self.appendfilename))
            return
        if path != "-" and self._is_manifest(path):
            directory = files.dirname(path)
            yield from self._multipart(AofDirectory.open(directory, self._appendname(path)))
            return
        yield from self._single_stream(path, path)

    @staticmethod
    def _appendname(manifest_path: str) -> str:
        name = files.basename(manifest_path)
        return name[: -len(".manifest")] if name.endswith(".manifest") else name

    @staticmethod
    def _is_manifest(path: str) -> bool:
        try:
            head = files.read_head(path, 4096)
        except OSError:
            return False
        return looks_like_manifest(head)

    def _single_bytes(self, data: bytes) -> Iterator[list[Any]]:
        dec = self._decoder("<bytes>", True, False)
        self.parts.append(AofPart("<bytes>", None, "single", True))
        yield from self._guard(dec, _feed_stream(dec, [data]), "<bytes>")

    def _single_stream(self, src: Any, path: str | None) -> Iterator[list[Any]]:
        try:
            fobj, name, owned = files.open_input(src)
        except OSError as exc:
            raise AofError(f"can't open the append only file: {exc.strerror or exc}",
                           source=str(path)) from exc
        self.parts.append(AofPart(name, path, "single", True))
        try:
            dec = self._decoder(name, True, False)
            yield from self._guard(dec, _feed_stream(dec, self._chunks(fobj, name)), name)
        finally:
            if owned:
                fobj.close()

    def _chunks(self, fobj: BinaryIO, name: str) -> Iterator[bytes]:
        try:
            yield from files.iter_chunks(fobj, self.chunk_size)
        except OSError as exc:
            raise AofError(
                f"Unrecoverable error reading the append only file {name}: "
                f"{exc.strerror or exc}",
                source=name,
            ) from exc

    def _guard(self, dec: AofDecoder, items: Iterator[list[Any]], source: str) -> Iterator[list[Any]]:
        try:
            yield from items
        except AofError as exc:
            exc.source = exc.source or source
            raise
        if dec.truncation is not None:
            self.truncation = dec.truncation

    def _multipart(self, d: AofDirectory) -> Iterator[list[Any]]:
        self.directory = d
        self.manifest = d.manifest
        parts = d.parts()
        for info in parts:
            path = d.path(info)
            try:
                files.file_size(path)
            except OSError as exc:
                raise AofError(
                    f"Unable to obtain the AOF file {info.name} length. stat: "
                    f"{exc.strerror or exc}",
                    source=path,
                ) from exc
        total = len(parts)
        for i, info in enumerate(parts):
            path = d.path(info)
            last = i == total - 1
            kind = "base" if info is d.manifest.base else "incr"
            self.parts.append(AofPart(info.name, path, kind, last))
            fobj, _, owned = files.open_input(path)
            try:
                dec = self._decoder(info.name, last, kind == "base")
                yield from self._guard(
                    dec, _feed_stream(dec, self._chunks(fobj, info.name)), path
                )
            finally:
                if owned:
                    fobj.close()


def iter_commands(source: Any, **kwargs: Any) -> Iterator[Command]:
    """Only the :class:`Command` items of :class:`AofReader` (RDB events skipped)."""
    for item in AofReader(source, **kwargs):
        if type(item) is Command:
            yield item
