"""DUMP/RESTORE payloads: one value, its RDB version and a CRC-64 (docs/formats.md §5).

Wire form (``createDumpPayload`` / ``verifyDumpPayload`` in Redis's cluster.c)::

    <type u8> <value, exactly as in an RDB file> <rdb_version u16 LE> <crc64 u64 LE>

No key, no expiry, no LRU/LFU. The CRC covers every byte before it, version
included. ``dump_value`` writes the value with :func:`rdbtools.objects.save_value`
(so the bytes equal real Redis's DUMP wherever the encoding is deterministic) and
``restore_value`` reads it with the ``load`` of its type byte's row in the
object table (:mod:`rdbtools.objects`), as the RDB decoder does. Errors carry Redis's reply texts
(``DUMP payload version or checksum are wrong``, ``Bad data format``) as their
message; the precise cause is chained as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .constants import (
    QUICKLIST_NODE_CONTAINER_PACKED,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_LIST_QUICKLIST_2,
    RDB_TYPE_SET_INTSET,
    RDB_TYPE_STREAM_LISTPACKS,
    RDB_TYPE_STREAM_LISTPACKS_2,
    RDB_TYPE_STREAM_LISTPACKS_3,
    RDB_TYPE_ZSET_LISTPACK,
)
from .crc64 import crc64
from .encoder import MAX_VERSION, MIN_VERSION
from .errors import (
    ChecksumMismatch,
    RdbCorruptError,
    RdbEncodeError,
    RdbError,
    UnknownOpcode,
    UnsupportedVersion,
)
from .limits import Limits
from .model import Record
from .objects import object_types, save_value
from .policy import EncodingPolicy
from .primitives import Short, load_len, load_string

BAD_VERSION_OR_CHECKSUM = "DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "Bad data format"


@dataclass(frozen=True, slots=True)
class DumpedValue:
    """A decoded DUMP payload: the logical value and where it came from."""

    type: str
    value: Any
    encoding: str
    field_expires: dict[bytes, int] | None
    rdb_version: int
    type_byte: int = field(default=0, compare=False)

    def to_record(self, key: bytes, db: int = 0, expire_ms: int | None = None) -> Record:
        return Record(db, key, self.type, self.value, expire_ms, field_expires=self.field_expires,
                      encoding=self.encoding, type_byte=self.type_byte)


def dump_value(
    obj: Record | tuple[str, Any] | tuple[str, Any, Mapping[bytes, int] | None],
    rdb_version: int = MAX_VERSION,
    policy: EncodingPolicy | None = None,
    *,
    compress: bool = True,
) -> bytes:
    """The DUMP payload of a record or of ``(type, value[, field_expires])``.

    Raises :class:`RdbEncodeError` when ``rdb_version`` cannot hold the value
    (e.g. field TTLs below 12); the payload is never silently lossy.
    """
    fexp: Mapping[bytes, int] | None
    if isinstance(obj, Record):
        type_name, value, fexp = obj.type, obj.value, obj.field_expires
        key = obj.key
    else:
        type_name, value = obj[0], obj[1]
        fexp = obj[2] if len(obj) > 2 else None
        key = None
    if not MIN_VERSION <= rdb_version <= MAX_VERSION:
        raise RdbEncodeError(f"cannot write RDB version {rdb_version}: supported are {MIN_VERSION}-{MAX_VERSION}")
    try:
        tb, body = save_value(type_name, value, fexp, rdb_version, policy, compress)
    except RdbEncodeError as exc:
        exc.key = exc.key if exc.key is not None else key
        raise
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise RdbEncodeError(f"cannot encode the {type_name} value ({exc})", key=key) from exc
    return seal_payload(bytes((tb,)) + body, rdb_version)


def seal_payload(body: bytes, rdb_version: int) -> bytes:
    """``createDumpPayload``'s footer: ``body`` + the RDB version (u16 LE) + the CRC-64
    (u64 LE) of everything before it. FUNCTION DUMP seals its FUNCTION2 records so too."""
    payload = body + rdb_version.to_bytes(2, "little")
    return payload + crc64(payload).to_bytes(8, "little")


def open_payload(payload: bytes, max_version: int = MAX_VERSION, *, verify_checksum: bool = True) -> tuple[bytes, int]:
    """``verifyDumpPayload``: the body and RDB version of a sealed payload. Errors carry
    Redis's text (:data:`BAD_VERSION_OR_CHECKSUM`): too short, a version past
    ``max_version`` (:class:`UnsupportedVersion`), a CRC mismatch (:class:`ChecksumMismatch`)."""
    n = len(payload)
    if n < 10:
        raise RdbCorruptError(BAD_VERSION_OR_CHECKSUM, offset=0, phase="check-payload")
    version = int.from_bytes(payload[n - 10 : n - 8], "little")
    if version > max_version:
        raise UnsupportedVersion(BAD_VERSION_OR_CHECKSUM, offset=n - 10, phase="check-payload")
    if verify_checksum:
        want = int.from_bytes(payload[n - 8 :], "little")
        got = crc64(payload[: n - 8])
        if got != want:
            err = ChecksumMismatch(BAD_VERSION_OR_CHECKSUM, offset=n - 8, phase="check-sum")
            err.__cause__ = ChecksumMismatch(f"computed {got:016x}, the payload says {want:016x}")
            raise err
    return payload[: n - 10], version


def restore_value(
    payload: bytes,
    max_version: int = MAX_VERSION,
    *,
    verify_checksum: bool = True,
    limits: Limits | None = None,
    packed_listpacks: bool = False,
) -> DumpedValue:
    """Decode a DUMP payload, checking it as RESTORE does (length, version, CRC, type).

    ``max_version`` is the newest RDB version accepted (Redis: its own
    RDB_VERSION; Valkey 9 payloads say 80). Errors: :class:`UnsupportedVersion` or
    :class:`ChecksumMismatch` with Redis's "version or checksum" message, and
    :class:`RdbCorruptError` "Bad data format" for anything the value parser rejects
    (including bytes left over after the value). ``packed_listpacks``: a hash listpack
    or a set intset comes as its validated bytes (:class:`~rdbtools.objects.hashes.ListpackPairs`,
    :class:`~rdbtools.objects.sets.IntsetMembers`).
    """
    payload = bytes(payload)
    body, version = open_payload(payload, max_version, verify_checksum=verify_checksum)
    t = payload[0]
    row = object_types(version >= 80, packed_listpacks).get(t)
    if row is None:
        unknown = UnknownOpcode(f"{t} is not a value type", offset=0, type_byte=t)
        raise RdbCorruptError(BAD_DATA_FORMAT, offset=0, phase="read-type", type_byte=t) from unknown
    max_len = (limits or Limits()).max_string
    try:
        value, fexp, end = row.load(body, 1, max_len)
        if end != len(body):
            raise RdbCorruptError(f"{len(body) - end} bytes left after the value", offset=end)
    except RdbError as exc:
        raise RdbCorruptError(BAD_DATA_FORMAT, offset=exc.offset, phase="read-value", type_byte=t) from exc
    except (Short, IndexError):
        cause = RdbCorruptError("the value runs past the end of the payload")
        raise RdbCorruptError(BAD_DATA_FORMAT, phase="read-value", type_byte=t) from cause
    except (ValueError, OverflowError, MemoryError, TypeError, RecursionError) as exc:
        raise RdbCorruptError(BAD_DATA_FORMAT, phase="read-value", type_byte=t) from exc
    return DumpedValue(row.type, value, row.encoding, fexp, version, t)


def payload_blobs(payload: bytes, upto: int | None = None) -> list[int]:
    """Offsets of the compact blobs in a DUMP payload that ``rdbLoadObject`` deep-validates
    (and counts in ``stat_dump_payload_sanitizations``), in its order: the intset or
    listpack of a set, hash or zset, every packed quicklist node, every stream node's
    listpack. Each offset is the blob's RDB string header; with ``upto`` (where a parse
    failed) only blobs starting at or before it. Ziplist and zipmap forms are converted,
    not counted, as in Redis. The walk stops at the first blob whose string cannot be
    read (cut short, or LZF that does not decompress): the loader fails there before it
    would count it.
    """
    t = payload[0] if payload else -1
    buf = payload[: len(payload) - 10]
    max_len = Limits().max_string
    last = len(buf) if upto is None else upto
    out: list[int] = []
    try:
        if t in (RDB_TYPE_SET_INTSET, RDB_TYPE_HASH_LISTPACK, RDB_TYPE_ZSET_LISTPACK):
            if 1 <= last:
                load_string(buf, 1, max_len)
                out.append(1)
        elif t == RDB_TYPE_LIST_QUICKLIST_2:  # <container> <string> per node
            n, pos = load_len(buf, 1)
            for _ in range(n):
                container, pos = load_len(buf, pos)
                start = pos
                if start > last:
                    break
                _, pos = load_string(buf, pos, max_len)
                if container == QUICKLIST_NODE_CONTAINER_PACKED:
                    out.append(start)
        elif t in (RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3):
            # <node key> <listpack> per node
            n, pos = load_len(buf, 1)
            for _ in range(n):
                _, pos = load_string(buf, pos, max_len)
                start = pos
                if start > last:
                    break
                _, pos = load_string(buf, pos, max_len)
                out.append(start)
    except (RdbError, Short, IndexError):
        pass
    return out


__all__ = ["BAD_DATA_FORMAT", "BAD_VERSION_OR_CHECKSUM", "DumpedValue", "dump_value", "open_payload", "payload_blobs",
           "restore_value", "seal_payload"]
