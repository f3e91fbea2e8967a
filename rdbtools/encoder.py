"""The streaming RDB encoder: events or records in, RDB bytes out, no I/O.

The mirror of :mod:`rdbtools.decoder` (body grammar: docs/formats.md §1.4)::

    REDIS00vv  AUX*  [MODULE_AUX*]  FUNCTION2*
    per db:  SELECTDB  [RESIZEDB]  per key: [SLOT_INFO] [EXPIRETIME_MS] [IDLE] [FREQ] TYPE key value
    [MODULE_AUX*]  EOF  CRC-64

``RdbEncoder`` takes the decoder's events (Header ignored, Aux passed through or
regenerated, SelectDb/ResizeDb/SlotInfo as hints for the keys that follow,
FunctionLibrary, ModuleAux, Record, End) or plain records, and returns bytes
chunks; the running CRC-64 covers every byte from the magic through the EOF
opcode. SELECTDB is written lazily, before the first key of each db, so dbs
whose keys were all filtered or dropped leave no trace (as Redis skips empty
dbs). Values get the encoding Redis picks for the target version
(:mod:`rdbtools.policy`), written by the object table's rows
(:func:`rdbtools.objects.save_value`, shared with DUMP payloads).

What a target version cannot hold (hash field TTLs below 12, streams below 9,
functions below 10, module values below 8 or with ``modules=False``, empty
collections) raises :class:`RdbEncodeError` naming the key, unless ``lossy``:
then the key (or the field TTLs, or the library) is left out and a :class:`Drop`
is recorded in ``drops`` and passed to ``on_drop``. IDLE/FREQ below RDB 9 and
SLOT_INFO below 12 are hints, not data: they are left out silently.

No clock is read here: ``ctime`` for the regenerated aux fields is a parameter.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from .constants import (
    RDB_MODULE_OPCODE_UINT,
    RDB_OPCODE_AUX,
    RDB_OPCODE_EOF,
    RDB_OPCODE_EXPIRETIME_MS,
    RDB_OPCODE_FREQ,
    RDB_OPCODE_FUNCTION2,
    RDB_OPCODE_IDLE,
    RDB_OPCODE_MODULE_AUX,
    RDB_OPCODE_RESIZEDB,
    RDB_OPCODE_SELECTDB,
    RDB_OPCODE_SLOT_INFO,
    RDB_TYPE_STRING,
)
from .crc64 import crc64
from .errors import RdbEncodeError, RdbError
from .model import (
    Aux,
    EncodedKeys,
    End,
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
from .objects import save_value
from .policy import EncodingPolicy
from .primitives import save_len, save_ms, save_string

MIN_VERSION = 6
MAX_VERSION = 12

# redis-ver written in the regenerated aux fields: a release of the era that writes the version
REDIS_VER = {7: b"3.2.13", 8: b"4.0.14", 9: b"6.2.14", 10: b"7.0.15", 11: b"7.2.6", 12: b"7.4.1"}

_FOREIGN = (TypeError, ValueError, AttributeError, OverflowError, IndexError, KeyError, struct.error)

# opcode bytes as written before their payloads
_AUX = bytes((RDB_OPCODE_AUX,))
_EOF = bytes((RDB_OPCODE_EOF,))
_EXPIRETIME_MS = bytes((RDB_OPCODE_EXPIRETIME_MS,))
_FREQ = bytes((RDB_OPCODE_FREQ,))
_FUNCTION2 = bytes((RDB_OPCODE_FUNCTION2,))
_IDLE = bytes((RDB_OPCODE_IDLE,))
_MODULE_AUX = bytes((RDB_OPCODE_MODULE_AUX,))
_RESIZEDB = bytes((RDB_OPCODE_RESIZEDB,))
_SELECTDB = bytes((RDB_OPCODE_SELECTDB,))
_SLOT_INFO = bytes((RDB_OPCODE_SLOT_INFO,))
_STRING = bytes((RDB_TYPE_STRING,))
_UINT = bytes((RDB_MODULE_OPCODE_UINT,))  # MODULE_AUX's "when" is a UINT module item


@dataclass(frozen=True, slots=True)
class Drop:
    """Something a lossy conversion left out: a key, a hash's field TTLs, a library."""

    what: str  # "key", "field-ttls", "function", "module-aux"
    reason: str
    db: int | None = None
    key: bytes | None = None
    name: bytes | None = None  # library name / module name for non-key drops

    def __str__(self) -> str:
        if self.key is not None:
            where = f"db {self.db} key {self.key!r}"
        else:
            where = f"{self.what} {self.name!r}" if self.name is not None else self.what
        what = {"key": "key dropped", "field-ttls": "field TTLs dropped"}.get(self.what, "dropped")
        return f"{where}: {what} ({self.reason})"


def _names(fields: Iterable[bytes], shown: int = 10) -> str:
    """The fields a message names: the first ``shown``, then how many more."""
    names = sorted(fields)
    text = ", ".join(repr(f) for f in names[:shown])
    return text + (f" and {len(names) - shown} more" if len(names) > shown else "")


def default_aux(
    version: int, ctime: int = 0, used_mem: int = 0, aof_base: bool = False
) -> list[tuple[bytes, bytes]]:
    """The AUX fields Redis of the version's era writes first (rdbSaveInfoAuxFields)."""
    if version < 7:
        return []
    aux = [
        (b"redis-ver", REDIS_VER.get(version, REDIS_VER[MAX_VERSION])),
        (b"redis-bits", b"64"),
        (b"ctime", b"%d" % ctime),
        (b"used-mem", b"%d" % used_mem),
    ]
    if version >= 10:
        aux.append((b"aof-base", b"1" if aof_base else b"0"))
    elif version >= 8:
        aux.append((b"aof-preamble", b"1" if aof_base else b"0"))
    return aux


# ----------------------------------------------------------------------------- encoder


class RdbEncoder:
    """Sans-IO RDB writer. Call :meth:`encode` with an event/record iterable, or drive it
    with :meth:`encode_event` / :meth:`encode_record` and :meth:`finish`; every method
    returns the bytes to write next (the header is produced by the first call).

    ``aux``: ``"default"`` writes the fields Redis of the target's era writes
    (:func:`default_aux` with ``ctime``/``used_mem``) and ignores incoming Aux events;
    ``"passthrough"`` writes incoming Aux events where they come; a mapping or a
    sequence of pairs writes exactly those; ``None`` writes none.
    ``db_sizes``: ``{db: (keys, keys_with_expire)}`` for RESIZEDB when the input has
    no ResizeDb events (plain records).
    """

    def __init__(
        self,
        target_version: int = MAX_VERSION,
        policy: EncodingPolicy | None = None,
        *,
        compress: bool = True,
        checksum: bool = True,
        aux: str | Mapping[bytes, bytes] | Sequence[tuple[bytes, bytes]] | None = "default",
        ctime: int = 0,
        used_mem: int = 0,
        aof_base: bool = False,
        modules: bool = True,
        lossy: bool = False,
        on_drop: Callable[[Drop], None] | None = None,
        db_sizes: Mapping[int, tuple[int, int]] | None = None,
    ) -> None:
        if not MIN_VERSION <= target_version <= MAX_VERSION:
            raise RdbEncodeError(
                f"cannot write RDB version {target_version}: supported are {MIN_VERSION}-{MAX_VERSION}"
            )
        self.version = target_version
        self.policy = policy or EncodingPolicy()
        self.compress = compress
        self.checksum = checksum
        self.modules = modules
        self.lossy = lossy
        self.on_drop = on_drop
        self.drops: list[Drop] = []
        self.keys_written = 0
        self.bytes_written = 0
        self.done = False
        self._aux: list[tuple[bytes, bytes]] = []
        if isinstance(aux, str) or aux is None:
            if aux not in ("default", "passthrough", None):
                raise ValueError(f"aux must be 'default', 'passthrough', pairs or None, not {aux!r}")
            self._aux_mode = aux
            if aux == "default":
                self._aux = default_aux(target_version, ctime, used_mem, aof_base)
        else:
            self._aux_mode = "explicit"
            self._aux = list(aux.items()) if isinstance(aux, Mapping) else list(aux)
        self._sizes = dict(db_sizes or {})
        self._started = False
        self._crc = 0
        self._db: int | None = None  # db selected in the output
        self._src_db = 0  # db of the last SelectDb event
        self._resize: dict[int, tuple[int, int]] = {}
        self._slot: SlotInfo | None = None

    # ------------------------------------------------------------------ output

    def _emit(self, data: bytes) -> bytes:
        if data:
            if self.checksum:
                self._crc = crc64(data, self._crc)
            self.bytes_written += len(data)
        return data

    def _header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        parts = [b"REDIS%04d" % self.version]
        if self.version >= 7:
            for k, v in self._aux:
                parts.append(_AUX + save_string(k, self.compress) + save_string(v, self.compress))
        return b"".join(parts)

    def start(self) -> bytes:
        """Magic, version and the leading aux fields (only on the first call)."""
        return self._emit(self._header())

    def encode_event(self, ev: Any) -> bytes:
        """Bytes for one decoder event or record; the EOF trailer for :class:`End`."""
        if type(ev) is End:
            return self.finish()
        self._check_open()
        return self._emit(self._header() + self._event(ev))

    def encode_record(self, rec: Record) -> bytes:
        self._check_open()
        return self._emit(self._header() + self._record(rec))

    def _check_open(self) -> None:
        if self.done:
            raise RdbEncodeError("the RDB file is already finished (EOF and checksum written)")

    def finish(self) -> bytes:
        """The EOF opcode and the CRC-64 trailer (0 when ``checksum`` is off)."""
        if self.done:
            return b""
        head = self._emit(self._header() + _EOF)
        self.done = True
        tail = (self._crc if self.checksum else 0).to_bytes(8, "little")
        self.bytes_written += 8
        return head + tail

    def encode(self, events: Iterable[Any], chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The whole file for ``events`` (records or decoder events) in chunks of ~``chunk_size``."""
        self._check_open()
        parts = [self._header()]
        size = len(parts[0])
        event = self._event
        record = self._record
        for ev in events:
            if type(ev) is Record:
                data = record(ev)
            elif type(ev) is End:
                break
            else:
                data = event(ev)
            if data:
                parts.append(data)
                size += len(data)
                if size >= chunk_size:
                    yield self._emit(b"".join(parts))
                    parts = []
                    size = 0
        if size:
            yield self._emit(b"".join(parts))
        yield self.finish()

    # ------------------------------------------------------------------ events

    def _drop(self, drop: Drop) -> None:
        self.drops.append(drop)
        if self.on_drop is not None:
            self.on_drop(drop)

    def _cannot(self, what: str, reason: str, *, db: int | None = None, key: bytes | None = None,
                name: bytes | None = None, offset: int | None = None) -> None:
        """Raise for something the target cannot hold, or record the drop when lossy.

        ``offset`` is where the item was in the input (decoder events carry it)."""
        if not self.lossy:
            subject = f"{what} {name!r}: " if name is not None and key is None else ""
            raise RdbEncodeError(
                f"{subject}{reason}; a lossy conversion would drop it", key=key, db=db,
                phase="write-" + what, offset=offset or None,
            )
        self._drop(Drop(what, reason, db, key, name))

    def _event(self, ev: object) -> bytes:
        if isinstance(ev, Record):
            return self._record(ev)
        if isinstance(ev, EncodedKeys):
            return self._encoded(ev)
        if isinstance(ev, SelectDb):
            self._src_db = ev.db
            return b""
        if isinstance(ev, ResizeDb):
            if self.version >= 7:
                self._resize[self._src_db] = (ev.db_size, ev.expires_size)
            return b""
        if isinstance(ev, Aux):
            if self._aux_mode == "passthrough" and self.version >= 7:
                return _AUX + save_string(ev.key, self.compress) + save_string(ev.value, self.compress)
            return b""
        if isinstance(ev, FunctionLibrary | FunctionPreGA):
            if isinstance(ev, FunctionPreGA):  # 7.0 GA loads these as FUNCTION2 libraries
                ev = ev.library()
            code = ev.code
            name = ev.name or b"?"
            if self.version < 10:
                self._cannot(
                    "function", f"functions need RDB 10 (Redis 7.0); the target is RDB {self.version}",
                    name=name, offset=ev.offset,
                )
                return b""
            return _FUNCTION2 + save_string(code, self.compress)
        if isinstance(ev, ModuleAux):
            if self.version < 9 or not self.modules:
                reason = (
                    f"module aux data needs RDB 9; the target is RDB {self.version}"
                    if self.version < 9
                    else "module data is not written (modules=False)"
                )
                self._cannot("module-aux", reason, name=ev.module_name.encode(), offset=ev.offset)
                return b""
            return _MODULE_AUX + save_len(ev.module_id) + _UINT + save_len(ev.when) + ev.raw
        if isinstance(ev, SlotInfo):
            if self.version >= 12:
                self._slot = ev
            return b""
        if isinstance(ev, Header | SlotImport):
            return b""  # the header is ours; Valkey's SLOT_IMPORT has no Redis form
        if isinstance(ev, End):
            raise RdbEncodeError("End is handled by finish()")
        raise RdbEncodeError(f"cannot encode a {type(ev).__name__} event")

    def _select(self, db: int) -> bytes:
        self._db = db
        out = _SELECTDB + save_len(db)
        if self.version >= 7:
            size = self._sizes.get(db) or self._resize.get(db)
            if size is not None:
                out += _RESIZEDB + save_len(size[0]) + save_len(size[1])
        return out

    def _unholdable(self, rec: Record) -> tuple[str, str] | None:
        t = rec.type
        v = self.version
        if t == "stream" and v < 9:
            return "key", f"streams need RDB 9 (Redis 5.0); the target is RDB {v}"
        if t == "module":
            if v < 8:
                return "key", f"module values need RDB 8 (Redis 4.0); the target is RDB {v}"
            if not self.modules:
                return "key", "module values are not written (modules=False)"
        if t == "hash" and rec.field_expires and v < 12:
            return "field-ttls", (f"hash field TTLs need RDB 12 (Redis 7.4); the target is RDB {v};"
                                  f" fields {_names(rec.field_expires)}")
        if t in ("list", "set", "zset", "hash") and not rec.value:
            return "key", f"an empty {t} cannot be stored"
        return None

    def _record(self, rec: Record) -> bytes:
        if rec.db == self._db and self._slot is None:  # most keys: the db already selected
            body = self.key_bytes(rec)
            if body:
                self.keys_written += 1
            return body
        body = self.key_bytes(rec)
        if not body:  # dropped: no SELECTDB for it, and a SLOT_INFO hint goes with it
            self._slot = None
            return b""
        parts = []
        if rec.db != self._db:
            parts.append(self._select(rec.db))
        if self._slot is not None:
            s = self._slot
            parts.append(_SLOT_INFO + save_len(s.slot) + save_len(s.slot_size) + save_len(s.expires_slot_size))
            self._slot = None
        parts.append(body)
        self.keys_written += 1
        return b"".join(parts)

    def key_bytes(self, rec: Record) -> bytes:
        """One key as rdbSaveKeyValuePair writes it (its EXPIRETIME_MS, IDLE and FREQ
        opcodes, type, key and value), for the database already selected: b"" when a
        lossy encoder leaves it out. Neither selects a database nor counts the key
        (:mod:`rdbtools.snapshot`'s fallback writes keys through it)."""
        try:
            if rec.type == "string" and rec.idle is None and rec.freq is None:  # most keys
                c = self.compress
                body = _STRING + save_string(rec.key, c) + save_string(rec.value, c)
                return body if rec.expire_ms is None else _EXPIRETIME_MS + save_ms(rec.expire_ms) + body
            fexp = rec.field_expires
            problem = self._unholdable(rec)
            if problem is not None:
                what, reason = problem
                self._cannot(what, reason, db=rec.db, key=rec.key, offset=rec.offset)
                if what == "key":
                    return b""
                fexp = None
            parts = []
            if rec.expire_ms is not None:
                parts.append(_EXPIRETIME_MS + save_ms(rec.expire_ms))
            if self.version >= 9:
                if rec.idle is not None:
                    parts.append(_IDLE + save_len(rec.idle))
                if rec.freq is not None:
                    if not 0 <= rec.freq <= 255:
                        raise RdbEncodeError(f"LFU counter {rec.freq} is outside 0..255")
                    parts.append(_FREQ + bytes((rec.freq,)))
            if rec.type == "string":
                parts.append(_STRING + save_string(rec.key, self.compress) + save_string(rec.value, self.compress))
            else:
                tb, body = save_value(rec.type, rec.value, fexp, self.version, self.policy, self.compress)
                parts.append(bytes((tb,)) + save_string(rec.key, self.compress) + body)
            return b"".join(parts)
        except RdbError as exc:
            if exc.key is None:
                exc.key = rec.key
                exc.db = rec.db
            if exc.offset is None and rec.offset:
                exc.offset = rec.offset
            raise
        except _FOREIGN as exc:
            raise RdbEncodeError(
                f"cannot encode the {rec.type} value ({exc.__class__.__name__}: {exc})",
                key=rec.key, db=rec.db, phase="write-value", offset=rec.offset or None,
            ) from exc

    def _encoded(self, ev: EncodedKeys) -> bytes:
        """Keys already written (:mod:`rdbtools.snapshot`): SELECTDB when their database
        is not the selected one, then their bytes as they are."""
        if not ev.count:
            return b""
        self.keys_written += ev.count
        if ev.db == self._db:
            return ev.data
        return self._select(ev.db) + ev.data


# ----------------------------------------------------------------------------- drivers


def encode_bytes(events: Iterable[Any], **kwargs: Any) -> bytes:
    """A whole RDB file for ``events`` (records or decoder events) as one bytes object."""
    return b"".join(RdbEncoder(**kwargs).encode(events))


def write_events(events: Iterable[Any], sink: BinaryIO, **kwargs: Any) -> RdbEncoder:
    """Write the RDB for ``events`` to ``sink`` (anything with ``write``); returns the
    encoder so callers can read ``drops``, ``keys_written`` and ``bytes_written``."""
    encoder = RdbEncoder(**kwargs)
    write = sink.write
    for chunk in encoder.encode(events):
        write(chunk)
    return encoder


__all__ = [
    "MAX_VERSION",
    "MIN_VERSION",
    "REDIS_VER",
    "Drop",
    "RdbEncoder",
    "default_aux",
    "encode_bytes",
    "write_events",
]
