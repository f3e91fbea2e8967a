"""Dump inputs read once in order and again by offset: the random-access driver.

``rdbkit diff``, ``dump``, ``convert`` and ``report`` take any dump the toolkit reads —
an RDB file of any version, a JSONL file in the ``dump`` contract or the JSON array
``dump --format json`` writes (an element a line, as ``jq -c`` writes them too), either
plain, ``.lz4`` or ``-`` — and tell them apart by content (``REDIS``/``VALKEY`` magic,
``{`` or ``[``). :class:`DumpSource` streams the records once (``records()``, or
``events()`` with an RDB's aux fields and function libraries) and, for
diff, re-reads single records later (``read_many(offsets)``) without keeping
them in memory:

* an RDB record is re-read from ``Record.offset`` (its type byte) with the
  decoder's own value loader (:func:`rdbtools.objects.load_value`), so both
  reads run the same code. The per-key opcodes before it (EXPIRETIME, IDLE,
  FREQ) are not re-read: callers that need the expiry keep it from the first
  pass (:func:`decode_record_at` takes it as a parameter); the db comes from
  the SELECTDB offsets seen during the pass;
* a JSONL record is re-read from the offset of its line (a JSON array's element too).

Inputs that cannot seek (stdin, ``.lz4``) are copied, decompressed, to a
temporary file while they stream, when the caller asks for ``seekable``.
This module, :mod:`rdbtools.io` and :mod:`rdbtools.spill` (temporary runs) are the only
ones here that touch files.
"""

from __future__ import annotations

import bisect
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from .decoder import Filter
from .errors import RdbCorruptError, RdbError, RdbTruncatedError, UnknownOpcode
from .io import iter_events, open_input
from .jsonl import record_from_json
from .keycheck import KeyCheck
from .limits import Limits
from .model import Aux, End, FunctionLibrary, FunctionPreGA, Header, Record, SelectDb
from .objects import load_value, object_types
from .primitives import Short, load_string

_FIRST_READ = 4096
_CHUNK = 1 << 20


def decode_record_at(
    fobj: BinaryIO,
    offset: int,
    *,
    db: int = 0,
    expire_ms: int | None = None,
    valkey: bool = False,
    limits: Limits | None = None,
) -> Record:
    """Decode the key whose type byte is at ``offset`` of a seekable RDB file.

    Reads a small window and doubles it until the value fits; the value loader
    is the streaming decoder's. ``db`` and ``expire_ms`` are taken from the
    caller (they are not part of the key's bytes).
    """
    max_len = (limits or Limits()).max_string
    size = _FIRST_READ
    while True:
        fobj.seek(offset)
        buf = fobj.read(size)
        try:
            if not buf:
                raise Short(1)
            t = buf[0]
            if t not in object_types(valkey):
                raise UnknownOpcode(f"no key at offset {offset} (byte {t})", offset=offset,
                                    type_byte=t, phase="read-type")
            key, pos = load_string(buf, 1, max_len)
            type_name, value, enc, fexp, _ = load_value(t, buf, pos, max_len, valkey)
        except (Short, IndexError) as exc:
            if len(buf) < size:
                raise RdbTruncatedError(
                    f"unexpected end of input in the key at offset {offset}", offset=offset
                ) from None
            need = exc.need if isinstance(exc, Short) else 0
            size = max(size * 4, need + 1)
            continue
        except RdbError as exc:
            exc.offset = offset if exc.offset is None else offset + exc.offset
            raise
        except (ValueError, OverflowError, MemoryError, TypeError, RecursionError) as exc:
            raise RdbCorruptError(
                f"invalid data ({exc.__class__.__name__}: {exc})", offset=offset
            ) from exc
        return Record(db, key, type_name, value, expire_ms, None, None, fexp, enc, t, offset)


def decode_jsonl_at(fobj: BinaryIO, offset: int, array: bool = False) -> Record:
    """The record on the JSONL line (``array``: the JSON array element) starting at ``offset``."""
    fobj.seek(offset)
    rec = _parse_line(fobj.readline(), offset, None, array)
    if rec is None:
        raise RdbCorruptError(f"no JSONL record at offset {offset}", offset=offset)
    return rec


def _array_element(line: bytes) -> bytes:
    """The element on one line of a JSON array written an element a line: the opening
    ``[``, the closing ``]`` and the separating comma stripped (a record ends with ``}``)."""
    text = line.strip()
    if text[:1] == b"[":
        text = text[1:].lstrip()
    if text[-1:] == b"]":
        text = text[:-1].rstrip()
    if text[-1:] == b",":
        text = text[:-1].rstrip()
    return text


def _parse_line(line: bytes, offset: int, lineno: int | None = None, array: bool = False) -> Record | None:
    if array:
        line = _array_element(line)
    if not line.strip():
        return None
    try:
        rec = record_from_json(json.loads(line))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        where = "" if lineno is None else f" on line {lineno}"
        if array and isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data":
            raise RdbCorruptError(
                f"a JSON array with more than one element on a line{where}: this reader takes one "
                "element a line (as `rdbkit dump --format json` and `jq -c` write them)",
                offset=offset, phase="read-json") from None
        raise RdbCorruptError(
            f"invalid JSONL record{where} ({exc.__class__.__name__}: {exc})", offset=offset,
            phase="read-jsonl",
        ) from None
    rec.offset = offset
    return rec


def _named_jsonl(name: str) -> bool:
    base = name[:-4] if name.endswith(".lz4") else name
    return base.lower().endswith((".jsonl", ".ndjson"))


class _Reader:
    """Read-side wrapper: replays sniffed bytes, copies to a spool, counts bytes."""

    def __init__(self, fobj: BinaryIO, prefix: bytes, spool: BinaryIO | None) -> None:
        self._fobj = fobj
        self._prefix = prefix
        self._spool = spool
        self.position = 0
        self.on_read: Callable[[], None] | None = None  # called before each read

    def read(self, n: int = -1) -> bytes:
        if self.on_read is not None:
            self.on_read()
        if self._prefix:
            data, self._prefix = self._prefix, b""
            if n is None or n < 0:
                data += self._fobj.read()
            elif len(data) < n:
                data += self._fobj.read(n - len(data))
        else:
            data = self._fobj.read(n)
        if self._spool is not None and data:
            self._spool.write(data)
        self.position += len(data)
        return data


class DumpSource:
    """One dump input: its format, a single streaming pass, and re-reads by offset.

    ``seekable=True`` guarantees :meth:`read_many` works (non-seekable inputs are
    spooled to a temporary file in ``tmpdir`` during the pass). ``check_duplicates``
    refuses an RDB holding a key twice, as a loading Redis does, in bounded memory
    (:class:`rdbtools.keycheck.KeyCheck`: past a million keys the digests go to sorted
    runs in ``tmpdir``, 8 bytes a key, and a key repeated across runs is refused when
    the pass ends). ``progress`` is called now and
    then with the number of (decompressed) bytes read so far.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        filter: Filter | None = None,
        limits: Limits | None = None,
        seekable: bool = False,
        progress: Callable[[int], None] | None = None,
        check_duplicates: bool = True,
        tmpdir: str | None = None,
    ) -> None:
        self.filter = filter
        self.check_duplicates = check_duplicates
        self.tmpdir = tmpdir
        self.limits = limits
        self.progress = progress
        fobj, name, owned = open_input(source)
        self.name = name
        self._fobj = fobj
        self._owned = owned
        self._spool: BinaryIO | None = None
        self._reread: BinaryIO | None = None
        # a plain regular file is re-read in place; stdin and .lz4 need a spool
        self.path: str | None = None
        if isinstance(source, str | os.PathLike):
            if isinstance(fobj, io.BufferedReader) and name != "<stdin>" and fobj.seekable():
                self.path = os.fspath(source)
        # what the duplicate check re-opens to name a repeat: not a file object given
        self._source: str | os.PathLike[str] = source if isinstance(source, str | os.PathLike) else "-"
        try:
            self.size: int | None = os.path.getsize(self.path) if self.path else None
        except OSError:
            self.size = None
        head = self._sniff()
        first = head.lstrip()[:1]
        self.format = ("rdb" if head.startswith((b"REDIS", b"VALKEY")) else
                       "json" if first == b"[" else "jsonl")
        if self.format == "jsonl" and first != b"{" and not _named_jsonl(name):
            # One rule with the other verbs: nothing, or no record, is no RDB. Only a file
            # named as a JSONL dump may be empty (a dump of an empty dataset is 0 bytes).
            self.close()
            what = "empty file (0 bytes)" if not head else f"starts with {head[:9]!r}"
            raise RdbCorruptError(
                f"{what}: not an RDB, JSONL or JSON dump", offset=0, phase="read-header", source=name,
            )
        if seekable and self.path is None:
            self._spool = tempfile.TemporaryFile(prefix="rdbkit-", dir=tmpdir)  # noqa: SIM115
        self._reader = _Reader(fobj, head, self._spool)
        self.version: int | None = None
        self.valkey = False
        self._db_offsets: list[int] = []
        self._dbs: list[int] = []
        self.count = 0
        # what an RDB holds besides keys, gathered by the pass (a JSONL dump carries neither)
        self.functions: dict[bytes, bytes] = {}  # library name -> code
        self.aux: list[tuple[bytes, bytes]] = []

    def _sniff(self) -> bytes:
        """The first bytes (replayed to the parser by the reader)."""
        data = b""
        while len(data) < 64:
            chunk = self._fobj.read(64 - len(data))
            if not chunk:
                break
            data += chunk
        return data

    # ------------------------------------------------------------ the pass

    def records(self) -> Iterator[Record]:
        """Every (filtered) record once, in file order, with ``offset`` set."""
        for ev in self.events():
            if type(ev) is Record:
                yield ev

    def events(self) -> Iterator[Any]:
        """The pass: every (filtered) record, and an RDB's other events (header, aux
        fields, function libraries, module aux ...) where the file has them."""
        try:
            if self.format == "rdb":
                yield from self._rdb_events()
            else:
                yield from self._jsonl_records()
        except RdbError as exc:
            if exc.source in (None, "<stream>"):
                exc.source = self.name
            raise
        except OSError as exc:
            raise RdbError(f"cannot read: {exc.strerror or exc}", source=self.name) from exc

    def _rdb_events(self) -> Iterator[Any]:
        progress = self.progress
        reader = self._reader
        tick = 0
        # the duplicate-key check in bounded memory (rdbtools.keycheck): drained every
        # 2048 keys, and as each chunk is read for the keys a filter leaves out
        check = (KeyCheck(self._spool or self._source, self.name, self.limits, self.tmpdir)
                 if self.check_duplicates else None)
        if check is not None:
            reader.on_read = check.drain
        try:
            for ev in iter_events(reader, filter=self.filter, limits=self.limits,  # type: ignore[arg-type]  # _Reader has the read() used, not all of BinaryIO
                                  name=self.name, check_duplicates=self.check_duplicates,
                                  keys=check and check.keys, chunk_size=_CHUNK):
                if type(ev) is Record:
                    self.count += 1
                    yield ev
                    tick += 1
                    if tick >= 2048:
                        tick = 0
                        if progress is not None:
                            progress(reader.position)
                        if check is not None:
                            check.drain()
                    continue
                if type(ev) is End and check is not None:
                    check.finish()
                self._note(ev)
                yield ev
        finally:
            reader.on_read = None
            if check is not None:
                check.close()

    def _note(self, ev: Any) -> None:
        """What the pass keeps of an event that is not a key."""
        if type(ev) is SelectDb:
            self._db_offsets.append(ev.offset)
            self._dbs.append(ev.db)
        elif type(ev) is Header:
            self.version = ev.version
            self.valkey = ev.magic == b"VALKEY"
        elif type(ev) is FunctionLibrary or type(ev) is FunctionPreGA:
            lib = ev.library() if type(ev) is FunctionPreGA else ev
            self.functions[lib.name or b""] = lib.code
        elif type(ev) is Aux:
            self.aux.append((ev.key, ev.value))

    def _jsonl_records(self) -> Iterator[Record]:
        array = self.format == "json"
        flt = self.filter
        matches = flt.record_matcher() if flt is not None else None
        progress = self.progress
        read = self._reader.read
        offset = 0
        lineno = 0
        rest = b""
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                lines = [rest] if rest else []
                rest = b""
            else:
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
            for line in lines:
                start = offset
                offset += len(line) + 1
                lineno += 1
                rec = _parse_line(line, start, lineno, array)
                if rec is None:
                    continue
                if matches is not None and not matches(rec):
                    continue
                self.count += 1
                yield rec
            if progress is not None:
                progress(offset)
            if not chunk:
                return

    # ------------------------------------------------------------ re-reads

    def db_at(self, offset: int) -> int:
        """The db a record at ``offset`` of an RDB input belongs to."""
        i = bisect.bisect_right(self._db_offsets, offset) - 1
        return self._dbs[i] if i >= 0 else 0

    def read_many(self, wanted: Iterable[tuple[int, int | None]]) -> dict[int, Record]:
        """Re-read the records at these ``(offset, expire_ms)`` pairs, in offset order.

        Only valid after :meth:`records` was consumed. RDB records get their db
        from the pass and their expiry from the caller.
        """
        f = self._reopen()
        out: dict[int, Record] = {}
        try:
            for offset, expire in sorted(set(wanted)):
                if self.format == "rdb":
                    rec = decode_record_at(
                        f, offset, db=self.db_at(offset), expire_ms=expire,
                        valkey=self.valkey, limits=self.limits,
                    )
                else:
                    rec = decode_jsonl_at(f, offset, self.format == "json")
                out[offset] = rec
        except RdbError as exc:
            exc.source = exc.source or self.name
            raise
        return out

    @property
    def rereadable(self) -> bool:
        """Whether :meth:`again` works: a file (``.lz4`` too), or a spooled input."""
        return self._source != "-" or self._spool is not None

    def again(self, records_only: bool = True, progress: Callable[[int], None] | None = None) -> Iterator[Any]:
        """Another pass from the start, once this one was consumed: the records (or every
        event) again, in the same order, from the spool (stdin or ``.lz4`` opened with
        ``seekable=True``) or the file (no duplicate check: the first pass made it)."""
        source: Any = self._source
        if self._spool is not None or source == "-":
            source = self._reopen()
            source.seek(0)
        with DumpSource(source, filter=self.filter, limits=self.limits, check_duplicates=False,
                        progress=progress) as src:
            src.name = self.name
            yield from src.records() if records_only else src.events()

    def _reopen(self) -> BinaryIO:
        if self._reread is None:
            if self._spool is not None:
                self._reread = self._spool
            elif self.path is not None:
                self._reread = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            else:
                raise RuntimeError(f"{self.name}: input is not seekable (open it with seekable=True)")
        return self._reread

    def close(self) -> None:
        if self._owned:
            self._fobj.close()
            self._owned = False
        for f in (self._reread, self._spool):
            if f is not None and not f.closed:
                f.close()

    def __enter__(self) -> DumpSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["DumpSource", "decode_jsonl_at", "decode_record_at"]
