"""redis-check-aof's logic: find where an AOF stops being valid; plan the fix.

Mirrors ``redis-check-aof.c`` (Redis 7.0; docs/formats.md §7.6) on top of the one
reader (:class:`aof.reader.AofDecoder`, strict RESP):

* the input is a manifest (its first lines say ``file …``) → every part the
  manifest loads, base first; an RDB-preamble file (starts with ``REDIS``) → the
  RDB checked by the rdbtools decoder, then the RESP tail; else plain RESP;
* per file, ``ok_up_to`` is the offset after the last complete record (or
  annotation line) outside a MULTI; a nested ``MULTI`` or an ``EXEC`` without
  ``MULTI`` ends the valid part (``Unexpected MULTI/EXEC in AOF …``), and so does
  the end of the file inside a MULTI (``Reached EOF before reading EXEC for
  MULTI``); ``ok_up_to_line`` counts CRLF lines as the tool does (from 1, across
  all files of a set, including the lines of the record that failed);
* the first file with bytes after ``ok_up_to`` ends the check; the fix is to cut
  that file there, allowed only for the last file of the set. Nothing is ever
  repaired in the middle.

The error line has the tool's form ``0x<offset, %16x>: <what>``. This module
decides and describes; it prints nothing. :func:`apply_fix` performs a plan
(through :mod:`aof.files`), keeping a backup copy first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aof import files
from aof.commands import Command, is_exec, is_multi
from aof.errors import AofError, AofFormatError, AofTruncatedError, ManifestError
from aof.manifest import Manifest, looks_like_manifest
from aof.multipart import AofDirectory
from aof.reader import Annotation, AofDecoder
from aof.replies import array_header
from rdbtools.decoder import RdbDecoder
from rdbtools.errors import RdbError
from rdbtools.model import Aux, Header

__all__ = [
    "AofCheckReport",
    "FileCheck",
    "FixPlan",
    "analyse",
    "apply_fix",
    "check_bytes",
    "detect_kind",
    "sniff",
]

_LONG_MAX = 2**63 - 1


@dataclass(slots=True)
class FileCheck:
    """The verdict on one file (redis-check-aof's ``checkSingleAof``)."""

    name: str  # as the tool prints it: the path given, or the manifest's file name
    path: str | None
    role: str  # "single", "base" or "incr"
    last: bool
    preamble: bool
    size: int = 0
    ok_up_to: int = 0
    ok_up_to_line: int = 1
    commands: int = 0
    error: str | None = None  # the tool's error line ("0x…: …" or "AOF … format error")
    reason: str | None = None  # truncated, incomplete-multi, format, unexpected-multi, unexpected-exec
    rdb_error: str | None = None  # the RDB part is not sane (fatal, not fixable)
    compressed: bool = False  # an lz4 file: checked decompressed, never truncated
    ts_cut: int | None = None  # --truncate-to-timestamp: offset of the first #TS past it
    ts_invalid: bool = False  # a malformed #TS line met in --truncate-to-timestamp mode

    @property
    def diff(self) -> int:
        return self.size - self.ok_up_to

    @property
    def empty(self) -> bool:
        return self.size == 0

    @property
    def valid(self) -> bool:
        return self.rdb_error is None and self.diff == 0


@dataclass(frozen=True, slots=True)
class FixPlan:
    """Cut ``path`` to ``truncate_to`` bytes (from ``size``)."""

    name: str
    path: str
    size: int
    truncate_to: int

    @property
    def removed(self) -> int:
        return self.size - self.truncate_to

    @property
    def prompt(self) -> str:
        return (
            f"This will shrink the AOF {self.name} from {self.size} bytes, "
            f"with {self.removed} bytes, to {self.truncate_to} bytes"
        )


@dataclass(slots=True)
class AofCheckReport:
    """Everything the check found. ``fatal`` is an error that no truncation can fix
    (manifest error, missing part, RDB part not sane, bad file that is not the last)."""

    kind: str  # "resp", "preamble" or "multipart"
    source: str
    files: list[FileCheck] = field(default_factory=list)
    manifest: Manifest | None = None
    fatal: str | None = None

    @property
    def bad(self) -> FileCheck | None:
        for f in self.files:
            if not f.valid:
                return f
        return None

    @property
    def valid(self) -> bool:
        return self.fatal is None and self.bad is None

    @property
    def fix_plan(self) -> FixPlan | None:
        bad = self.bad
        if bad is None or bad.rdb_error is not None or not bad.last or bad.path is None:
            return None
        if bad.compressed:
            return None
        return FixPlan(bad.name, bad.path, bad.size, bad.ok_up_to)

    def timestamp_plan(self, to_timestamp: int) -> tuple[FixPlan | None, str]:
        """``--truncate-to-timestamp``: the cut to make (None: nothing to do or refused)
        and the tool's message for it (processAnnotations)."""
        for f in self.files:
            if f.ts_invalid:
                return None, "Invalid timestamp annotation"
            if f.ts_cut is None:
                continue
            if f.ts_cut == 0:
                return None, f"AOF {f.name} has nothing before timestamp {to_timestamp}, aborting..."
            if not f.last or f.path is None or f.compressed:
                why = "it is not the last file" if not f.last else "it is compressed"
                return None, (f"Failed to truncate AOF {f.name} to timestamp {to_timestamp} to offset "
                              f"{f.ts_cut} because {why}.")
            return FixPlan(f.name, f.path, f.size, f.ts_cut), \
                f"Successfully truncated AOF {f.name} to timestamp {to_timestamp}"
        name = self.files[-1].name if self.files else self.source
        return None, f"Truncate nothing in AOF {name} to timestamp {to_timestamp}"

    def lines(self, fix: bool = False) -> Iterator[str]:
        """The tool's transcript up to the verdict; with ``fix`` it stops before the
        dialogue (the caller prints :attr:`FixPlan.prompt` and asks)."""
        multi = self.kind == "multipart"
        yield "Start checking Multi Part AOF" if multi else "Start checking Old-Style AOF"
        if self.manifest is None and multi:
            if self.fatal:
                yield self.fatal
            return
        incr_started = False
        for f in self.files:
            if multi and f.role == "base":
                yield f"Start to check BASE AOF ({'RDB' if f.preamble else 'RESP'} format)."
            if multi and f.role == "incr" and not incr_started:
                incr_started = True
                yield "Start to check INCR files."
            if f.empty:
                yield f"{_role(f)}AOF {f.name} is empty"
                continue
            if f.preamble:
                if f.rdb_error is not None:
                    yield f.rdb_error
                    yield "RDB preamble of AOF file is not sane, aborting."
                    return
                yield "RDB preamble is OK, proceeding with AOF tail..."
            if f.error:
                yield f.error
            yield (
                f"AOF analyzed: filename={f.name}, size={f.size}, ok_up_to={f.ok_up_to}, "
                f"ok_up_to_line={f.ok_up_to_line}, diff={f.diff}"
            )
            if f.diff:
                if not fix:
                    yield f"AOF {f.name} is not valid. Use the --fix option to try fixing it."
                elif not f.last:
                    yield f"Failed to truncate AOF {f.name} because it is not the last file"
                return
            yield f"{_role(f)}AOF {f.name} is valid"
        if self.fatal:
            yield self.fatal
        elif multi:
            yield "All AOF files and manifest are valid"


def _role(f: FileCheck) -> str:
    return {"base": "BASE ", "incr": "INCR "}.get(f.role, "")


# --- the per-file check ----------------------------------------------------------------------
def _epos(offset: int) -> str:
    return f"0x{offset:16x}"


def _c_hex(b: int) -> str:
    # printf("%02x", (char)b): a signed char above 0x7f is sign-extended
    return f"{b:02x}" if b < 0x80 else f"{(b - 256) & 0xFFFFFFFF:08x}"


def _strtol(s: bytes) -> tuple[int, int]:
    """C ``strtol(s, &end, 10)``: (value, index of end)."""
    i = 0
    n = len(s)
    while i < n and s[i] in b" \t\n\v\f\r":
        i += 1
    j = i
    if j < n and s[j] in b"+-":
        j += 1
    k = j
    while k < n and 48 <= s[k] <= 57:
        k += 1
    if k == j:
        return 0, 0
    v = int(s[i:k])
    return max(-_LONG_MAX - 1, min(_LONG_MAX, v)), k


def _describe(
    tail: bytes, base: int, name: str, stale: bytes = b""
) -> tuple[int, str | None, int | None]:
    """What redis-check-aof reports for the record starting at ``tail`` (which ends at the
    end of the file or past the bad byte): (CRLF lines it consumed, its error or None, the
    offset of its last read attempt). ``stale`` is the previous record's ``*<argc>`` line:
    the tool reads count lines into a stack buffer that still holds it, and a short line
    shows those bytes after its NUL in ``Expected \\r\\n, got: …``."""
    if tail[:1] != b"*":
        return 0, (None if tail[:1] == b"#" else f"AOF {name} format error"), None
    lines = 0
    pos = 0
    n = len(tail)
    mem = bytearray(stale[:128].ljust(128, b"\0"))
    epos = base

    def read_long(prefix: int) -> tuple[int | None, str | None]:
        nonlocal pos, lines, epos
        epos = base + pos
        if pos >= n:
            return None, None
        nl = tail.find(b"\n", pos, pos + 127)
        end = nl + 1 if nl >= 0 else min(n, pos + 127)
        buf = tail[pos:end]
        pos = end
        if prefix == 36:  # the '$' reads' buffer is clobbered by other frames: assume zeros
            mem[:] = bytes(128)
        mem[: len(buf) + 1] = buf + b"\0"
        if buf[0] != prefix:
            got = buf[:1].decode("utf-8", "surrogateescape")
            return None, f"{_epos(epos)}: Expected prefix '{chr(prefix)}', got: '{got}'"
        v, k = _strtol(buf[1:])
        at = 1 + k
        if mem[at : at + 2] != b"\r\n":
            a = mem[at]
            b = mem[at + 1] if a else mem[at + 1]
            return None, f"{_epos(epos)}: Expected \\r\\n, got: {_c_hex(a)}{_c_hex(b)}"
        lines += 1
        return v, None

    argc, err = read_long(42)
    if argc is None:
        return lines, err, epos
    for _ in range(max(argc, 0)):
        ln, err = read_long(36)
        if ln is None:
            return lines, err, epos
        if ln < 0 or ln > _LONG_MAX - 2:
            return lines, (
                f"{_epos(epos)}: Expected to read string of {ln} bytes, "
                "which is not in the suitable range"
            ), epos
        want = ln + 2
        epos = base + pos
        real = min(want, n - pos)
        if real != want:
            return lines, f"{_epos(epos)}: Expected to read {want} bytes, got {real} bytes", epos
        crlf = tail[pos + ln : pos + want]
        pos += want
        if crlf != b"\r\n":
            return lines, (
                f"{_epos(epos)}: Expected \\r\\n, got: {_c_hex(crlf[0])}{_c_hex(crlf[1])}"
            ), epos
        lines += 1
    return lines, None, epos


class _Walker:
    """Runs one file through the decoder, tracking what redis-check-aof tracks."""

    def __init__(self, fc: FileCheck, line: int, base: bool, to_timestamp: int | None = None) -> None:
        self.fc = fc
        self.to_timestamp = to_timestamp
        self.line = line
        self.multi = 0
        self.epos = 0
        self.stale = b""
        self.stop = False
        self.dec = AofDecoder(
            name=fc.path or fc.name, last_file=True, load_truncated=False, base=base,
            annotations=True, detect_preamble=fc.preamble,
        )

    def items(self, items: list[Any]) -> None:
        fc = self.fc
        for item in items:
            if self.stop:
                return
            t = type(item)
            if t is Command:
                argv = item.argv
                if is_multi(argv):
                    if self.multi:
                        self._unexpected(item, "MULTI")
                        return
                    self.multi = 1
                elif is_exec(argv):
                    if self.multi != 1:
                        self._unexpected(item, "EXEC")
                        return
                    self.multi = 0
                self.line += 1 + 2 * len(argv)
                fc.commands += 1
                self.epos = item.end - 2 - len(argv[-1])
                self.stale = array_header(len(argv))  # what redis-check-aof last read
                if not self.multi:
                    fc.ok_up_to = item.end
            elif t is Annotation:
                self.epos = item.offset
                to_ts = self.to_timestamp
                if to_ts is not None and item.text[:4] == b"#TS:":
                    if item.ts is None:
                        fc.ts_invalid = True
                        self.stop = True
                        return
                    if item.ts > to_ts:  # everything from this line on is after the timestamp
                        fc.ts_cut = item.offset
                        self.stop = True
                        return
                if not self.multi:
                    fc.ok_up_to = item.end

    def _unexpected(self, item: Command, what: str) -> None:
        self.line += 3
        self.fc.error = f"{_epos(item.end - 2 - len(item.argv[0]))}: Unexpected {what} in AOF " \
            f"{self.dec.name}"
        self.fc.reason = f"unexpected-{what.lower()}"
        self.stop = True

    def fail(self, exc: AofError) -> None:
        fc = self.fc
        dec = self.dec
        if getattr(exc, "rdb_error", None) is not None:
            fc.rdb_error = getattr(exc, "detail", str(exc))
            return
        tail = dec.tail or b""
        if isinstance(exc, AofTruncatedError) and not tail:
            fc.reason = "incomplete-multi"
            fc.error = f"{_epos(self.epos)}: Reached EOF before reading EXEC for MULTI"
            return
        lines, err, epos = _describe(tail, dec.offset, fc.name, self.stale)
        self.line += lines
        if epos is not None:
            self.epos = epos
        if isinstance(exc, AofTruncatedError):
            fc.reason = "truncated"
            if err is None and self.multi:
                err = f"{_epos(self.epos)}: Reached EOF before reading EXEC for MULTI"
        else:
            fc.reason = "format"
            if err is None:
                detail = getattr(exc, "detail", exc.message)
                err = f"{_epos(exc.offset or dec.offset)}: {detail}"
        fc.error = err.split("\0", 1)[0] if err else err  # printf stops at a NUL


def _check_stream(fc: FileCheck, chunks: Any, line: int, base: bool, to_timestamp: int | None = None) -> int:
    """Fill ``fc`` from the file's bytes; returns the running line counter."""
    w = _Walker(fc, line, base, to_timestamp)
    dec = w.dec
    try:
        for data in chunks:
            dec.feed(data)
            while not w.stop and (items := dec.next_events()):
                w.items(items)
            if w.stop:
                break
        if not w.stop:
            dec.feed_eof()
            while not w.stop and (items := dec.next_events()):
                w.items(items)
    except (AofFormatError, AofTruncatedError) as exc:
        w.fail(exc)
    rdb_end = dec.rdb_end
    if rdb_end is not None and fc.ok_up_to < rdb_end and fc.rdb_error is None:
        fc.ok_up_to = rdb_end  # the RESP tail starts there
    fc.preamble = dec.preamble
    size = dec.size
    if w.stop:  # the rest of the file was not parsed; it still counts
        size += sum(len(c) for c in chunks)
    if fc.ts_cut is not None or fc.ts_invalid:
        fc.ok_up_to = size  # not a damaged file: the cut is the timestamp's, not the check's
    fc.size = size
    fc.ok_up_to_line = w.line
    return w.line


def check_bytes(data: bytes, name: str = "<bytes>") -> AofCheckReport:
    """Check an in-memory single-file AOF (tests, fuzzing)."""
    kind = "preamble" if len(data) >= 8 and data[:5] == b"REDIS" else "resp"
    rep = AofCheckReport(kind, name)
    fc = FileCheck(name, None, "single", True, kind == "preamble", size=len(data))
    if data:
        _check_stream(fc, iter([data]), 1, False)
    rep.files.append(fc)
    return rep


# --- drivers ---------------------------------------------------------------------------------
_AOF_AUX = (b"aof-preamble", b"aof-base")


def sniff(path: str, aof: bool = False) -> str:
    """What ``path`` holds: ``aof-multipart``, ``aof-preamble``, ``aof-resp`` or ``rdb``
    (an RDB, or something that is neither).

    By content, except where content cannot tell: a file named ``*.aof`` (as Redis names
    them) or read with ``aof`` is an AOF whatever it holds, so a 0-byte or damaged
    ``appendonly.aof`` gets redis-check-aof's verdict (empty and valid; format error)
    instead of an RDB's. An RDB counts as an AOF preamble or base when its
    ``aof-preamble``/``aof-base`` aux field is 1."""
    if files.is_dir(path):
        return "aof-multipart"
    head = files.read_head(path, 1 << 16)
    if looks_like_manifest(head):
        return "aof-multipart"
    if head[:1] in (b"*", b"#"):
        return "aof-resp"
    if aof or path.lower().endswith((".aof", ".aof.lz4")):
        return "aof-preamble" if detect_kind(path) == "preamble" else "aof-resp"
    if head[:5] == b"REDIS" or head[:6] == b"VALKEY":
        dec = RdbDecoder()
        dec.feed(head)
        try:
            for ev in dec.next_events():
                if type(ev) is Aux:
                    if ev.key in _AOF_AUX and ev.value == b"1":
                        return "aof-preamble"
                elif type(ev) is not Header:
                    break
        except RdbError:
            pass
    return "rdb"


def detect_kind(path: str) -> str:
    """``multipart`` (a directory or a manifest), ``preamble`` (starts with an RDB) or
    ``resp`` — redis-check-aof's ``getInputFileType``."""
    if files.is_dir(path):
        return "multipart"
    head = files.read_head(path, 4096)
    if looks_like_manifest(head):
        return "multipart"
    # fileIsRDB: the magic counts only with room for a header (8 bytes); "REDIS" alone is RESP
    if len(head) >= 8 and (head[:5] == b"REDIS" or head[:6] == b"VALKEY"):
        return "preamble"
    return "resp"


def _check_file(fc: FileCheck, path: str, line: int, base: bool, to_timestamp: int | None = None) -> int:
    fobj, _, owned = files.open_input(path)
    try:
        line = _check_stream(fc, files.iter_chunks(fobj), line, base, to_timestamp)
    finally:
        if owned:
            fobj.close()
    fc.compressed = files.file_size(path) != fc.size
    return line


def analyse(path: str, appendfilename: str | None = None, to_timestamp: int | None = None) -> AofCheckReport:
    """Check a single AOF file, a multi-part directory or its manifest.

    With ``to_timestamp`` the walk also stops at the first ``#TS:`` annotation later
    than it (``FileCheck.ts_cut``; see :meth:`AofCheckReport.timestamp_plan`)."""
    kind = detect_kind(path)
    rep = AofCheckReport(kind, path)
    if kind != "multipart":
        fc = FileCheck(path, path, "single", True, kind == "preamble")
        _check_file(fc, path, 1, False, to_timestamp)
        rep.files.append(fc)
        if fc.rdb_error is not None:
            rep.fatal = "RDB preamble of AOF file is not sane, aborting."
        return rep
    directory = path if files.is_dir(path) else files.dirname(path)
    if appendfilename is None and not files.is_dir(path):
        base = files.basename(path)
        appendfilename = base[: -len(".manifest")] if base.endswith(".manifest") else None
    try:
        d = AofDirectory.open(directory, appendfilename)
    except ManifestError as exc:
        where = f"Reading the manifest file, at line {exc.line_no}\n" if exc.line_no else ""
        rep.fatal = f"*** FATAL AOF MANIFEST FILE ERROR ***\n{where}{exc.message}"
        return rep
    except AofError as exc:
        rep.fatal = str(exc)
        return rep
    rep.manifest = d.manifest
    parts = d.parts()
    line = 1
    for i, info in enumerate(parts):
        p = d.path(info)
        role = "base" if info is d.manifest.base else "incr"
        fc = FileCheck(info.name, p, role, i == len(parts) - 1, False)
        rep.files.append(fc)
        if not files.exists(p):
            rep.fatal = f"Cannot open file {p}: No such file or directory, aborting..."
            return rep
        fc.preamble = detect_kind(p) == "preamble"
        line = _check_file(fc, p, line, role == "base", to_timestamp)
        if fc.ts_cut is not None or fc.ts_invalid:
            return rep
        if not fc.valid:
            if fc.rdb_error is not None:
                rep.fatal = "RDB preamble of AOF file is not sane, aborting."
            elif not fc.last:
                rep.fatal = f"AOF {fc.name} is not the last file: it cannot be truncated"
            return rep
    return rep


def apply_fix(plan: FixPlan, backup: bool = True) -> str | None:
    """Truncate the file as planned; with ``backup`` a copy is kept first (its path is
    returned). Refuses when the file changed size since the check."""
    size = files.file_size(plan.path)
    if size != plan.size:
        raise AofError(
            f"the file changed since it was checked ({size} bytes, expected {plan.size})",
            source=plan.path,
        )
    saved = files.backup_copy(plan.path) if backup else None
    files.truncate_file(plan.path, plan.truncate_to)
    return saved
