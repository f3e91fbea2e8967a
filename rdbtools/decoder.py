"""The streaming RDB decoder: bytes in, events out, no I/O.

Push API (as h11): ``feed(data)``, ``feed_eof()``, ``next_event()`` returning an
event or :data:`NEED_DATA`. Pull helpers in :mod:`rdbtools.io` are short loops
over it, so files, pipes, sockets and in-memory bytes share one decoder.

How it stays fast and bounded: the decoder parses one top-level item (an opcode
with its payload, or a whole key with its value) from a contiguous ``bytes``
buffer with an integer cursor. If the buffer ends inside the item, the item is
abandoned and retried once at least ``need`` bytes are buffered (``need``
doubles the attempted span when the exact size is unknown, so retries cost
amortised linear time). Fed chunks are only joined when a retry can succeed.
Memory is therefore bounded by the largest single item, not by the input.

Values are read through the object table (:mod:`rdbtools.objects`): the type
byte picks a row, whose ``load`` builds the value or, for a key a :class:`Filter`
leaves out, whose ``skip`` walks past it. Opcodes are compared by their rdb.h
names (:mod:`rdbtools.constants`).

The CRC-64 runs over consumed bytes as they are dropped from the buffer, and the
decoder stops exactly after the 8-byte checksum: anything after it is
``trailing_data`` (the AOF loader and the replica continue from there).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from typing import Any

from ._accel import c_module
from .constants import (
    RDB_OPCODE_AUX,
    RDB_OPCODE_EOF,
    RDB_OPCODE_EXPIRETIME,
    RDB_OPCODE_EXPIRETIME_MS,
    RDB_OPCODE_FREQ,
    RDB_OPCODE_FUNCTION2,
    RDB_OPCODE_FUNCTION_PRE_GA,
    RDB_OPCODE_IDLE,
    RDB_OPCODE_MODULE_AUX,
    RDB_OPCODE_RESIZEDB,
    RDB_OPCODE_SELECTDB,
    RDB_OPCODE_SLOT_INFO,
    RDB_TYPE_STRING,
    VALKEY_RDB_OPCODE_SLOT_IMPORT,
)
from .crc64 import crc64
from .errors import (
    ChecksumMismatch,
    DuplicateKey,
    LimitExceeded,
    RdbCorruptError,
    RdbError,
    RdbTruncatedError,
    UnknownOpcode,
    UnsupportedVersion,
)
from .glob import glob_matcher
from .keyset import KeySet
from .limits import Limits
from .model import (
    Aux,
    End,
    Event,
    FunctionLibrary,
    FunctionPreGA,
    Header,
    ModuleAux,
    Record,
    ResizeDb,
    SelectDb,
    SlotImport,
    SlotInfo,
)
from .objects import object_types
from .objects.modules import walk_module_value
from .objects.table import PACKED_FACTORIES
from .primitives import Short, load_len, load_ms, load_seconds, load_string

_Scanned = tuple[int, int | None, int | None, int | None]  # the scan's pos, expire, idle, freq

# The decoder's C key scan (rdbtools/csrc/scan.c), None for the Python path alone;
# tests/rdbtools/test_fastpath.py sets it to run both paths in one process.
_scan_keys: Callable[..., _Scanned] | None = getattr(c_module("rdbtools._speedups"), "scan_keys", None)


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()

_MIN_RETRY = 64 * 1024


@dataclass(frozen=True, slots=True)
class Filter:
    """Which records to build. Unwanted values are skipped, never decoded.

    ``dbs``: db numbers; ``key``: a Redis glob, as KEYS reads it
    (:mod:`rdbtools.glob`; a lone ``*`` is every key), in bytes or as ``str`` (its UTF-8 bytes,
    surrogateescape: how Python decodes ``sys.argv``), or a compiled
    ``re.Pattern[bytes]`` searched in the key; ``types``: logical type names
    (``string``, ``list``, ...).
    """

    dbs: Container[int] | None = None
    key: bytes | str | re.Pattern[bytes] | None = None
    types: Container[str] | None = None
    not_key: bytes | str | re.Pattern[bytes] | None = None  # keys matching it are left out
    # ("none", _) no TTL, ("any", _) a TTL, ("before" | "after", ms) a TTL before/after ms
    expiry: tuple[str, int] | None = None
    # a test on the built record (its size, encoding ...): the values it refuses are decoded
    accept: Callable[[Record], bool] | None = None

    def key_matcher(self) -> Callable[[bytes], bool] | None:
        return _matcher(self.key)

    def head_matcher(self) -> Callable[[int, bytes, str, int | None], bool] | None:
        """What can be decided before a value is read: db, key, type, expiry (and
        ``not_key``); None when nothing is asked."""
        dbs, types, expiry = self.dbs, self.types, self.expiry
        keymatch, notmatch = self.key_matcher(), _matcher(self.not_key)
        if self.not_key is not None and notmatch is None:  # --not-key '*': nothing is left
            return lambda db, key, t, exp: False
        if dbs is None and types is None and expiry is None and keymatch is None and notmatch is None:
            return None
        kind, at = expiry if expiry is not None else ("", 0)

        def wanted(db: int, key: bytes, t: str, exp: int | None) -> bool:
            if (dbs is not None and db not in dbs) or (types is not None and t not in types):
                return False
            if (keymatch is not None and not keymatch(key)) or (notmatch is not None and notmatch(key)):
                return False
            if kind:
                if kind == "none":
                    return exp is None
                if exp is None:
                    return False
                return kind == "any" or (exp < at if kind == "before" else exp > at)
            return True
        return wanted

    def record_matcher(self) -> Callable[[Record], bool]:
        """The whole filter as one test on records already built (JSONL inputs, a replayed
        AOF); made once per pass, not per record."""
        head, accept = self.head_matcher(), self.accept

        def matches(rec: Record) -> bool:
            if head is not None and not head(rec.db, rec.key, rec.type, rec.expire_ms):
                return False
            return accept is None or accept(rec)
        return matches


def _matcher(key: bytes | str | re.Pattern[bytes] | None) -> Callable[[bytes], bool] | None:
    if key is None:
        return None
    if isinstance(key, re.Pattern):
        pat = key
        return lambda k: pat.search(k) is not None
    glob = key.encode("utf-8", "surrogateescape") if isinstance(key, str) else key
    if glob == b"*":  # as KEYS *: every key, the empty one too, with no matching at all
        return None
    return glob_matcher(glob)


_OPCODE_PHASE = {
    RDB_OPCODE_EOF: "check-sum",
    RDB_OPCODE_SELECTDB: "read-selectdb",
    RDB_OPCODE_EXPIRETIME: "read-expire",
    RDB_OPCODE_EXPIRETIME_MS: "read-expire",
    RDB_OPCODE_RESIZEDB: "read-resizedb",
    RDB_OPCODE_AUX: "read-aux",
    RDB_OPCODE_FREQ: "read-freq",
    RDB_OPCODE_IDLE: "read-idle",
    RDB_OPCODE_MODULE_AUX: "read-module-aux",
    RDB_OPCODE_FUNCTION_PRE_GA: "read-function",
    RDB_OPCODE_FUNCTION2: "read-function",
    RDB_OPCODE_SLOT_INFO: "read-slot-info",
    VALKEY_RDB_OPCODE_SLOT_IMPORT: "read-slot-import",
}


class RdbDecoder:
    """Sans-IO RDB decoder. See the module docstring for the buffering scheme."""

    def __init__(
        self,
        limits: Limits | None = None,
        filter: Filter | None = None,
        verify_checksum: bool = True,
        max_version: int | None = None,
        check_duplicates: bool = True,
        packed_listpacks: bool = False,
        keys: Any = None,
        sink: Callable[..., bool] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        # offered each key the C scan reads, before a Record is built (see next_events)
        self._sink = sink
        # hash and zset listpacks and set intsets kept as their (validated) bytes, for a
        # server that holds them so (rdbtools.objects.table.PACKED_FACTORIES)
        self._packed = PACKED_FACTORIES if packed_listpacks else None
        # every key read (filtered out or not), to refuse one read twice in a db as a
        # loading redis-server does; 12-24 bytes a key (rdbtools.keyset), or the caller's
        # KeySet (``keys``) when it bounds the memory by draining it
        self._keys = keys if keys is not None else KeySet() if check_duplicates else None
        self._max_len = self.limits.max_string
        self._filter = filter
        self._wanted = filter.head_matcher() if filter else None
        self._accept = filter.accept if filter else None
        self._filtering = self._wanted is not None or self._accept is not None
        self.verify_checksum = verify_checksum
        self._max_version = max_version
        self._buf = b""
        self._pos = 0
        self._base = 0  # absolute offset of _buf[0]
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._need = 0  # absolute offset that must be buffered before a retry
        self._eof = False
        self._crc = 0
        self._crc_done = 0  # absolute offset up to which the CRC has run
        self.version: int | None = None
        self.magic: bytes | None = None
        self.valkey = False
        # type byte -> row (rdbtools.objects); Valkey's for VALKEY files
        self._objects = object_types(False, packed_listpacks)
        self.db = 0
        self._expire: int | None = None
        self._idle: int | None = None
        self._freq: int | None = None
        self.done = False
        self.checksum: int | None = None
        self._queue: list[Event] = []
        self._qpos = 0
        self._error: RdbError | None = None

    # ------------------------------------------------------------------ input side

    @property
    def offset(self) -> int:
        """Absolute offset of the next unconsumed byte."""
        return self._base + self._pos

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos + self._pending_len

    @property
    def need(self) -> int:
        """How many more bytes the decoder wants before it can make progress (≥ 1)."""
        have = self._base + len(self._buf) + self._pending_len
        return max(1, self._need - have)

    @property
    def trailing_data(self) -> bytes:
        """Bytes fed after the checksum trailer (only meaningful once done)."""
        return self._buf[self._pos :] + b"".join(self._pending)

    def feed(self, data: bytes) -> None:
        if self._eof:
            raise RuntimeError("feed() after feed_eof()")
        if data:
            self._pending.append(bytes(data))
            self._pending_len += len(data)

    def feed_eof(self) -> None:
        self._eof = True

    def _absorb(self) -> bool:
        """Join pending chunks into the buffer if that can satisfy ``_need``."""
        if not self._pending:
            return False
        if not self._eof and self._base + len(self._buf) + self._pending_len < self._need:
            return False
        pos = self._pos
        if pos:
            if self.version is None or self.version >= 5:
                self._crc = crc64(memoryview(self._buf)[self._crc_done - self._base : pos], self._crc)
                self._crc_done = self._base + pos
            self._base += pos
            self._pending.insert(0, self._buf[pos:])
        else:
            self._pending.insert(0, self._buf)
        self._buf = b"".join(self._pending)
        self._pending = []
        self._pending_len = 0
        self._pos = 0
        return True

    # ------------------------------------------------------------------ events

    def next_event(self) -> Event | _NeedData | None:
        """The next event, :data:`NEED_DATA`, or None once the trailer was read."""
        queue = self._queue
        if not queue:
            if self.done and self._error is None:
                return None
            self._queue = queue = self.next_events()
            self._qpos = 0
            if not queue:
                return None if self.done else NEED_DATA
        ev = queue[self._qpos]
        self._qpos += 1
        if self._qpos == len(queue):
            self._queue = []
        return ev

    def next_events(self) -> list[Event]:
        """The next events the buffered bytes complete, in order; ``[]`` means feed more.

        The batch form is the fast path: one call parses a whole buffer (with the C
        scan: a batch of ~256 events; call again until ``[]``). An error
        found after some events were parsed is raised on the following call, so
        every good event before it is delivered first.
        """
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        out: list[Event] = []
        if self.done:
            return out
        append = out.append
        parse_key = self._parse_key
        parse_item = self._parse_item
        sink = self._sink
        # C fast path (rdbtools._speedups.scan_keys): parses runs of common keys into
        # `out` and stops before anything else, incomplete or invalid, which the code
        # below then parses as always. Chosen once per decoder (from `_scan_keys`,
        # None with RDBKIT_PUREPYTHON=1); off when filtering. It hands
        # back batches of about 256 events rather than a whole buffer's worth: the
        # consumer frees them while they are hot, and the cyclic GC, triggered by
        # net allocations, has far less to do (a 1M-key file decodes ~25% faster).
        # With a `sink` (a loader that applies keys itself) the scan offers it each key
        # first and builds no Record for what it takes; a batch holding any event is
        # handed back before the scan runs again, so keys stay applied in file order.
        try:
            scan = self._scan
        except AttributeError:
            scan = None if self._filtering else _scan_keys
            self._scan: Callable[..., _Scanned] | None = scan
        ev: Event | None
        while True:
            buf = self._buf
            pos = self._pos
            n = len(buf)
            if self._base + n < self._need or pos >= n:
                if not self._absorb():
                    if self._eof and pos < n and self._need:
                        self._need = 0  # all input is here: retry without the size guess
                        continue
                    if not out:
                        self._starved()
                    return out
                continue
            try:
                if self.version is not None:
                    while pos < n:
                        if scan is not None:
                            if out and sink is not None:
                                return out  # used before the sink takes a later key
                            pos, self._expire, self._idle, self._freq = scan(
                                buf, pos, self._base, self.db, self._max_len, Record, out,
                                self._expire, self._idle, self._freq, 256, self._keys, self._packed,
                                sink,
                            )
                            self._pos = pos
                            if len(out) >= 256:
                                return out
                            if pos >= n:
                                break
                        t = buf[pos]
                        if t < 0xF0:
                            ev, pos = parse_key(t, buf, pos)
                        else:
                            ev, pos = parse_item(buf, pos)
                        self._pos = pos
                        if ev is not None:
                            append(ev)
                            if self.done:
                                return out
                else:
                    header, pos = self._parse_header(buf, pos)
                    self._pos = pos
                    append(header)
            except (Short, IndexError) as exc:
                n = len(buf)
                if isinstance(exc, Short):
                    need = max(exc.need, 2 * n - pos + 1, pos + _MIN_RETRY)
                else:
                    need = max(n + 1, 2 * n - pos + 1, pos + _MIN_RETRY)
                self._need = self._base + need
                if not self._absorb():
                    if not out:
                        self._starved()
                    return out
            except RdbError as exc:
                self._decorate(exc, pos)
                return self._fail(exc, out)
            except (ValueError, OverflowError, MemoryError, TypeError, RecursionError) as exc:
                err = RdbCorruptError(f"invalid data ({exc.__class__.__name__}: {exc})")
                err.__cause__ = exc
                self._decorate(err, pos)
                return self._fail(err, out)

    def _fail(self, err: RdbError, out: list[Event]) -> list[Event]:
        if out:
            self._error = err
            return out
        raise err

    def _starved(self) -> None:
        """Out of data: fine while more may come; at EOF, the input is truncated."""
        if not self._eof:
            return
        end = self._base + len(self._buf)
        if self.version is None:
            if end == 0:  # e.g. what Redis <= 6.2 leaves as appendonly.aof: no RDB at all
                raise RdbTruncatedError(
                    "empty file (0 bytes): not an RDB", offset=0, phase="read-header"
                )
            raise RdbTruncatedError(
                "file too short for an RDB header", offset=end, phase="read-header"
            )
        phase, key = self._describe(self._pos, None)
        raise RdbTruncatedError(
            f"unexpected end of input ({end - self.offset} bytes of an incomplete item"
            f" starting at offset {self.offset})",
            offset=end,
            phase=phase,
            key=key,
            db=self.db,
        )

    def _describe(self, item_pos: int, err_pos: int | None) -> tuple[str, bytes | None]:
        """What the parser was doing in the item at ``item_pos`` (computed only on errors).

        Keeping redis-check-rdb's "doing" out of the hot loop: the item is looked at
        again here instead of recording a phase for every key.
        """
        if self.version is None:
            return "read-header", None
        buf = self._buf
        if item_pos >= len(buf):
            return "read-type", None
        t = buf[item_pos]
        if t >= 0xF0:
            return _OPCODE_PHASE.get(t, "read-type"), None
        if t not in self._objects:
            return "read-type", None
        try:
            key, key_end = load_string(buf, item_pos + 1, self._max_len)
        except Exception:  # noqa: BLE001 - the key itself is what is broken
            return "read-key", None
        if err_pos is not None and err_pos < key_end:
            return "read-key", key
        return "read-value", key

    def _decorate(self, exc: RdbError, item_pos: int) -> None:
        # Offsets inside the parser are relative to the buffer; make them absolute.
        rel = item_pos if exc.offset is None else exc.offset
        exc.offset = self._base + rel
        phase, key = self._describe(item_pos, rel)
        if exc.phase is None:
            exc.phase = phase
        if exc.key is None:
            exc.key = key
        if exc.db is None:
            exc.db = self.db

    def __iter__(self) -> Iterator[Event]:
        while True:
            events = self.next_events()
            if not events:
                return
            yield from events

    # ------------------------------------------------------------------ parsing

    def _parse_item(self, buf: bytes, pos: int) -> tuple[Event | None, int]:
        if self.version is None:
            return self._parse_header(buf, pos)
        t = buf[pos]
        if t < 0xF0:
            return self._parse_key(t, buf, pos)
        return self._parse_opcode(t, buf, pos)

    def _parse_header(self, buf: bytes, pos: int) -> tuple[Header, int]:
        if len(buf) - pos < 9:
            raise Short(pos + 9)
        head = buf[pos : pos + 9]
        if head.startswith(b"REDIS"):
            digits = head[5:9]
            magic = b"REDIS"
        elif head.startswith(b"VALKEY"):
            digits = head[6:9]
            magic = b"VALKEY"
        else:
            raise UnsupportedVersion(
                f"not an RDB file: wrong signature {bytes(head[:9])!r}", offset=0, phase="read-header"
            )
        if not digits.isdigit():
            raise UnsupportedVersion(f"bad RDB version text {bytes(digits)!r}", offset=len(magic))
        version = int(digits)
        ok = (1 <= version <= 12) if magic == b"REDIS" else version == 80
        if self._max_version is not None and version > self._max_version:
            ok = False
        if not ok:
            raise UnsupportedVersion(
                f"can't handle RDB format version {version} ({magic.decode()} magic)",
                offset=len(magic),
            )
        self.version = version
        self.magic = magic
        self.valkey = magic == b"VALKEY"
        self._objects = object_types(self.valkey, self._packed is not None)
        return Header(version, magic, self._base + pos), pos + 9

    def _parse_key(self, t: int, buf: bytes, pos: int) -> tuple[Record | None, int]:
        """One key: type byte, key string, value (its row's load or skip). Short strings are read inline."""
        start = pos
        row = self._objects.get(t)
        if row is None:
            raise UnknownOpcode(f"unknown type or opcode {t}", offset=start, type_byte=t)
        b = buf[pos + 1]
        if b < 0x40:
            pos += 2 + b
            if pos > len(buf):
                raise Short(pos)
            key = buf[start + 2 : pos]
        else:
            key, pos = load_string(buf, pos + 1, self._max_len)
        if self._wanted is not None and not self._wanted(self.db, key, row.type, self._expire):
            pos = row.skip(buf, pos, self._max_len)
            if self._keys is not None and not self._keys.add(self.db, key):
                self._duplicate(key, start)
            self._expire = self._idle = self._freq = None
            return None, pos
        if t == RDB_TYPE_STRING:
            b = buf[pos]
            if b < 0x40:
                end = pos + 1 + b
                if end > len(buf):
                    raise Short(end)
                value = buf[pos + 1 : end]
                pos = end
            else:
                value, pos = load_string(buf, pos, self._max_len)
            fexp = None
        else:
            value, fexp, pos = row.load(buf, pos, self._max_len)
        if self._keys is not None and not self._keys.add(self.db, key):
            self._duplicate(key, start)
        record = Record(
            self.db, key, row.type, value, self._expire, self._idle, self._freq, fexp, row.encoding, t,
            self._base + start,
        )
        if self._expire is not None or self._idle is not None or self._freq is not None:
            self._expire = self._idle = self._freq = None
        if self._accept is not None and not self._accept(record):
            return None, pos
        return record, pos

    def _duplicate(self, key: bytes, start: int) -> None:
        # mirrors rdbLoadRioWithLoadingCtx: dbAddRDBLoad fails -> "RDB has duplicated key"
        raise DuplicateKey(
            "duplicated key: read twice in one db (a loading redis-server panics:"
            " 'RDB has duplicated key')",
            offset=start, phase="read-key", key=bytes(key), db=self.db,
        )

    def _parse_opcode(self, t: int, buf: bytes, pos: int) -> tuple[Event | None, int]:
        start = pos
        base = self._base
        pos += 1
        if t == RDB_OPCODE_EXPIRETIME_MS:
            self._expire, pos = load_ms(buf, pos)
            return None, pos
        if t == RDB_OPCODE_FREQ:
            self._freq = buf[pos]
            return None, pos + 1
        if t == RDB_OPCODE_IDLE:
            self._idle, pos = load_len(buf, pos)
            return None, pos
        if t == RDB_OPCODE_SELECTDB:
            db, pos = load_len(buf, pos)
            if db > 0xFFFFFFFF:
                raise LimitExceeded(f"db number {db} is out of range", offset=start)
            self.db = db
            return SelectDb(db, base + start), pos
        if t == RDB_OPCODE_RESIZEDB:
            a, pos = load_len(buf, pos)
            b, pos = load_len(buf, pos)
            return ResizeDb(a, b, base + start), pos
        if t == RDB_OPCODE_AUX:
            k, pos = load_string(buf, pos, self._max_len)
            v, pos = load_string(buf, pos, self._max_len)
            return Aux(k, v, base + start), pos
        if t == RDB_OPCODE_EXPIRETIME:  # seconds
            secs, pos = load_seconds(buf, pos)
            self._expire = secs * 1000
            return None, pos
        if t == RDB_OPCODE_EOF:
            return self._parse_eof(buf, start)
        if t == RDB_OPCODE_FUNCTION2:
            code, pos = load_string(buf, pos, self._max_len)
            return FunctionLibrary(code, base + start), pos
        if t == RDB_OPCODE_MODULE_AUX:
            module_id, pos = load_len(buf, pos)
            when_op, pos = load_len(buf, pos)
            if when_op != 2:
                raise RdbCorruptError("MODULE_AUX 'when' is not a UINT opcode", offset=pos)
            when, pos = load_len(buf, pos)
            raw_start = pos
            pos = walk_module_value(buf, pos, self._max_len)
            return ModuleAux(module_id, when, bytes(buf[raw_start:pos]), base + start), pos
        if t == RDB_OPCODE_SLOT_INFO and not self.valkey:
            a, pos = load_len(buf, pos)
            b, pos = load_len(buf, pos)
            c, pos = load_len(buf, pos)
            return SlotInfo(a, b, c, base + start), pos
        if t == VALKEY_RDB_OPCODE_SLOT_IMPORT and self.valkey:
            job, pos = load_string(buf, pos, self._max_len)
            n, pos = load_len(buf, pos)
            ranges = []
            for _ in range(n):
                a, pos = load_len(buf, pos)
                b, pos = load_len(buf, pos)
                ranges.append((a, b))
            return SlotImport(job, tuple(ranges), base + start), pos
        if t == RDB_OPCODE_FUNCTION_PRE_GA:  # 7.0 release candidates
            name, pos = load_string(buf, pos, self._max_len)
            engine, pos = load_string(buf, pos, self._max_len)
            has_desc, pos = load_len(buf, pos)
            desc = None
            if has_desc:
                desc, pos = load_string(buf, pos, self._max_len)
            code, pos = load_string(buf, pos, self._max_len)
            return FunctionPreGA(name, engine, desc, code, base + start), pos
        raise UnknownOpcode(
            f"unknown type or opcode {t} in RDB version {self.version}",
            offset=start,
            type_byte=t,
        )

    def _parse_eof(self, buf: bytes, start: int) -> tuple[End, int]:
        end = start + 1
        checksum = None
        verified = False
        assert self.version is not None  # _parse_item reads the header first
        if self.version >= 5:
            if end + 8 > len(buf):
                raise Short(end + 8)
            checksum = int.from_bytes(buf[end : end + 8], "little")
            if checksum and self.verify_checksum:
                crc = crc64(memoryview(buf)[self._crc_done - self._base : end], self._crc)
                if crc != checksum:
                    raise ChecksumMismatch(
                        f"wrong RDB checksum: computed {crc:016x}, the file says {checksum:016x}",
                        offset=end,
                        phase="check-sum",
                    )
                verified = True
            end += 8
        self.done = True
        self.checksum = checksum
        return End(checksum, verified, self._base + start), end


__all__ = ["NEED_DATA", "Filter", "RdbDecoder"]
