"""The one logical model that every part of rdbkit speaks.

A :class:`Record` is one key: its db, key bytes, logical type, typed value, expiry
and LRU/LFU hints, plus the storage ``encoding`` it was found in (which never takes
part in equality: two records are the same data whatever their encodings).

Values by type (keys, members, fields and values are always ``bytes``):

* ``string`` — ``bytes`` (integer-encoded strings come back as their decimal text)
* ``list``   — ``list[bytes]`` in list order
* ``set``    — ``list[bytes]`` in stored order (order is not data; compare sorted)
* ``zset``   — ``list[tuple[bytes, float]]`` in stored order
* ``hash``   — ``list[tuple[bytes, bytes]]`` in stored order; field TTLs (RDB 12,
  Valkey 80) in ``Record.field_expires`` as ``{field: absolute ms}``
* ``stream`` — :class:`Stream`
* ``module`` — :class:`ModuleValue` (raw, opaque, passed through byte for byte)

File-level events (:class:`Header`, :class:`Aux`, ...) are separate classes, one per
opcode kind, so consumers dispatch on type instead of probing dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

StreamID = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    magic: bytes = b"REDIS"
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Aux:
    key: bytes
    value: bytes
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class SelectDb:
    db: int
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ResizeDb:
    db_size: int
    expires_size: int
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class SlotInfo:
    slot: int
    slot_size: int
    expires_slot_size: int
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class SlotImport:
    """Valkey 9's SLOT_IMPORT opcode (243 in a VALKEY file): a job name and slot ranges."""

    job_name: bytes
    ranges: tuple[tuple[int, int], ...]
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class FunctionLibrary:
    """A FUNCTION2 record: the library source, first line ``#!<engine> name=<lib>``."""

    code: bytes
    offset: int = field(default=0, compare=False)

    @property
    def name(self) -> bytes | None:
        first = self.code.split(b"\n", 1)[0]
        for token in first.split():
            if token.startswith(b"name="):
                return token[5:]
        return None

    @property
    def engine(self) -> bytes | None:
        first = self.code.split(b"\n", 1)[0]
        if first.startswith(b"#!"):
            return first[2:].split(None, 1)[0] if first[2:].strip() else None
        return None


@dataclass(frozen=True, slots=True)
class FunctionPreGA:
    """7.0 release-candidate function record (opcode 246: name, engine, optional
    description, code). Redis 7.0 GA still loads it: rdbFunctionLoad rewrites it as
    ``#!<engine> name=<name>\n<code>`` and drops the description (:meth:`library`)."""

    name: bytes
    engine: bytes
    description: bytes | None
    code: bytes
    offset: int = field(default=0, compare=False)

    def library(self) -> FunctionLibrary:
        """The FUNCTION2 form rdbFunctionLoad translates it to: ``#!<engine> name=<name>``,
        a newline, the code (the description is dropped)."""
        return FunctionLibrary(b"#!%s name=%s\n%s" % (self.engine, self.name, self.code), self.offset)


@dataclass(frozen=True, slots=True)
class ModuleAux:
    """MODULE_AUX: module-level data, kept raw (the opcode stream after ``when``)."""

    module_id: int
    when: int
    raw: bytes
    offset: int = field(default=0, compare=False)

    @property
    def module_name(self) -> str:
        return module_name_from_id(self.module_id)


@dataclass(frozen=True, slots=True)
class EncodedKeys:
    """Keys of database ``db`` already in their RDB form (``count`` of them in ``data``,
    each with its opcodes): what :mod:`rdbtools.snapshot` writes for a SAVE, passed to
    the encoder as one event so it only selects the database and counts them."""

    db: int
    data: bytes
    count: int


@dataclass(frozen=True, slots=True)
class End:
    """EOF opcode and the checksum trailer. ``checksum`` is None before RDB 5."""

    checksum: int | None
    verified: bool
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ModuleValue:
    """A module type's value, opaque to us: the id and the raw annotated opcode stream.

    ``raw`` holds every byte after the module id up to and including the final
    EOF opcode, so the value can be written back byte for byte (MODULE_2 only).
    """

    module_id: int
    raw: bytes

    @property
    def module_name(self) -> str:
        return module_name_from_id(self.module_id)

    @property
    def encver(self) -> int:
        return self.module_id & 1023


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """One entry of a consumer group's PEL."""

    id: StreamID
    delivery_time: int
    delivery_count: int
    consumer: bytes | None = None  # owner, from the consumers' PELs


@dataclass(frozen=True, slots=True)
class StreamConsumer:
    name: bytes
    seen_time: int
    active_time: int | None  # RDB stream v3 (type 21) only; None before
    pending: tuple[StreamID, ...]


@dataclass(frozen=True, slots=True)
class StreamGroup:
    name: bytes
    last_id: StreamID
    entries_read: int | None  # None before stream v2 (type 19)
    pending: tuple[PendingEntry, ...]
    consumers: tuple[StreamConsumer, ...]


class StreamNodeLayout(NamedTuple):
    """One listpack node of a stream as a file holds it, without its entries' bytes.

    Redis keeps a loaded stream's nodes exactly as the file has them (``rdbLoadObject``
    inserts each listpack into the radix tree), so where the next XADD goes, what
    ``XTRIM ~`` removes, MEMORY USAGE and XINFO's ``radix-tree-keys`` follow the
    file's layout, not the one appending the live entries again would make.
    """

    master: StreamID  # the node key, the ids' delta base
    fields: tuple[bytes, ...]  # the master entry's fields (SAMEFIELDS entries use them)
    live: int  # live entries (the master entry's count)
    deleted: int  # entries flagged deleted, still in the listpack
    size: int  # the listpack's bytes (lpBytes)
    last: StreamID  # the last entry's id, deleted or not (the master id without entries)


@dataclass(frozen=True, slots=True)
class Stream:
    """A stream's logical content: its live entries and its metadata.

    ``entries`` holds only live entries, each ``(id, ((field, value), ...))``;
    deleted entries still inside listpack nodes are dropped (they are not data).
    ``first_id``/``max_deleted_id``/``entries_added`` are None for stream v1
    files, which do not store them. ``nodes``: the node layout of a decoded stream
    (None for one built otherwise); like an encoding it takes no part in equality.
    """

    entries: tuple[tuple[StreamID, tuple[tuple[bytes, bytes], ...]], ...]
    length: int
    last_id: StreamID
    first_id: StreamID | None
    max_deleted_id: StreamID | None
    entries_added: int | None
    groups: tuple[StreamGroup, ...]
    nodes: tuple[StreamNodeLayout, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(slots=True)
class Record:
    """One key with its typed value: the unit passed between all of rdbkit's parts."""

    db: int
    key: bytes
    type: str
    value: Any
    expire_ms: int | None = None
    idle: int | None = None  # LRU idle seconds (IDLE opcode)
    freq: int | None = None  # LFU counter (FREQ opcode)
    field_expires: dict[bytes, int] | None = None  # hash field TTLs, absolute ms
    encoding: str | None = field(default=None, compare=False)
    type_byte: int | None = field(default=None, compare=False)
    offset: int = field(default=0, compare=False)


Event = (
    Header
    | Aux
    | SelectDb
    | ResizeDb
    | SlotInfo
    | SlotImport
    | FunctionLibrary
    | FunctionPreGA
    | ModuleAux
    | Record
    | End
)

_MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def module_name_from_id(module_id: int) -> str:
    """Decode the 9-character type name packed in a module id (moduleTypeNameByID)."""
    v = module_id >> 10
    out = []
    for _ in range(9):
        out.append(_MODULE_CHARSET[v & 63])
        v >>= 6
    return "".join(reversed(out))


def module_id_from_name(name: str, encver: int) -> int:
    """Pack a 9-character module type name and encoding version (moduleTypeEncodeId)."""
    if len(name) != 9:
        raise ValueError("module type names are exactly 9 characters")
    v = 0
    for ch in name:
        v = (v << 6) | _MODULE_CHARSET.index(ch)
    return (v << 10) | (encver & 1023)
