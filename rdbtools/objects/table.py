"""The RDB object table: one row per value type byte, as rdbLoadObject / rdbSaveObject.

Redis loads a value by branching on its type byte (``rdbLoadObject``) and saves
one by picking the type byte from the object's encoding (``rdbSaveObjectType``)
and writing that form (``rdbSaveObject``). Here each branch is a row of
:data:`OBJECT_TYPES`: the type byte, the logical type and on-disk encoding a
loaded :class:`~rdbtools.model.Record` reports, the RDB versions that carry it,
and three functions that sit side by side in the family's module (``strings``,
``lists``, ``sets``, ``zsets``, ``hashes``, ``streams``, ``modules``), under one
docstring describing the wire forms:

* ``load(buf, pos, max_len) -> (value, field_expires, end)``;
* ``skip(buf, pos, max_len) -> end``: the same walk, nothing built (filters);
* ``save(value, field_expires, version, policy, compress) -> bytes``: None for
  forms only servers older than RDB 6, or release candidates, wrote.

Each family's ``*_type`` function (:data:`FAMILIES`) is the save side's
``rdbSaveObjectType``: it checks the value against the target version and picks
the row. Valkey 9 files (RDB 80) read byte 22 as its HASH_2: :data:`VALKEY_OBJECT_TYPES`.

The decoder (its skip path too), DUMP payloads, seeks and the encoder all go
through :func:`load_value` / :func:`skip_value` / :func:`save_value` or the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..constants import (
    HASH,
    LIST,
    MODULE,
    OBJ_HASH,
    OBJ_LIST,
    OBJ_MODULE,
    OBJ_SET,
    OBJ_STREAM,
    OBJ_STRING,
    OBJ_ZSET,
    RDB_TYPE_HASH,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_HASH_LISTPACK_EX,
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
    RDB_TYPE_HASH_METADATA,
    RDB_TYPE_HASH_METADATA_PRE_GA,
    RDB_TYPE_HASH_ZIPLIST,
    RDB_TYPE_HASH_ZIPMAP,
    RDB_TYPE_LIST,
    RDB_TYPE_LIST_QUICKLIST,
    RDB_TYPE_LIST_QUICKLIST_2,
    RDB_TYPE_LIST_ZIPLIST,
    RDB_TYPE_MODULE_2,
    RDB_TYPE_MODULE_PRE_GA,
    RDB_TYPE_SET,
    RDB_TYPE_SET_INTSET,
    RDB_TYPE_SET_LISTPACK,
    RDB_TYPE_STREAM_LISTPACKS,
    RDB_TYPE_STREAM_LISTPACKS_2,
    RDB_TYPE_STREAM_LISTPACKS_3,
    RDB_TYPE_STRING,
    RDB_TYPE_ZSET,
    RDB_TYPE_ZSET_2,
    RDB_TYPE_ZSET_LISTPACK,
    RDB_TYPE_ZSET_ZIPLIST,
    SET,
    STREAM,
    STRING,
    VALKEY_RDB_TYPE_HASH_2,
    ZSET,
)
from ..errors import RdbEncodeError, UnknownOpcode
from ..policy import EncodingPolicy
from ..primitives import save_string, skip_string, skip_strings
from . import hashes, lists, modules, sets, streams, strings, zsets

Load = Callable[[bytes, int, int], tuple[Any, "dict[bytes, int] | None", int]]
Skip = Callable[[bytes, int, int], int]
Save = Callable[[Any, "Mapping[bytes, int] | None", int, EncodingPolicy, bool], bytes]
SaveType = Callable[[Any, "Mapping[bytes, int] | None", int, EncodingPolicy], int]


@dataclass(frozen=True, slots=True)
class ObjectType:
    """One type byte: what it loads as, which versions carry it, and its three functions."""

    type_byte: int
    type: str  # logical type (TYPE's reply), Record.type
    encoding: str  # the on-disk form, Record.encoding
    since: int  # first RDB version carrying the byte (docs/formats.md §1.2)
    until: int | None  # last RDB version whose Redis writes it; None: still written
    load: Load
    skip: Skip
    save: Save | None  # None: read, never written


@dataclass(frozen=True, slots=True)
class ObjectFamily:
    """One logical type: its server.h number and the save side's rdbSaveObjectType."""

    type: str
    obj_type: int  # OBJ_STRING ...: what DEBUG DIGEST mixes in
    save_type: SaveType
    collection: bool  # empty collections cannot be stored (Redis deletes empty keys)


R = ObjectType
_ROWS = (
    # type byte, logical type, encoding, since, until; load, skip, save
    R(RDB_TYPE_STRING, STRING, "string", 1, None,
      strings.load_string_object, skip_string, strings.save_string_object),
    R(RDB_TYPE_LIST, LIST, "linkedlist", 1, 6, lists.load_list, skip_strings, lists.save_list),
    R(RDB_TYPE_SET, SET, "hashtable", 1, None, sets.load_set, skip_strings, sets.save_set),
    R(RDB_TYPE_ZSET, ZSET, "skiplist", 1, 7, zsets.load_zset, zsets.skip_zset, zsets.save_zset),
    R(RDB_TYPE_HASH, HASH, "hashtable", 1, None, hashes.load_hash, hashes.skip_hash, hashes.save_hash),
    R(RDB_TYPE_ZSET_2, ZSET, "skiplist", 8, None,
      zsets.load_zset_2, zsets.skip_zset_2, zsets.save_zset_2),
    R(RDB_TYPE_MODULE_PRE_GA, MODULE, "module", 8, 8,
      modules.load_module_pre_ga, modules.skip_module_pre_ga, None),
    R(RDB_TYPE_MODULE_2, MODULE, "module", 8, None,
      modules.load_module_2, modules.skip_module_2, modules.save_module_2),
    R(RDB_TYPE_HASH_ZIPMAP, HASH, "zipmap", 2, 2, hashes.load_hash_zipmap, skip_string, None),
    R(RDB_TYPE_LIST_ZIPLIST, LIST, "ziplist", 2, 6,
      lists.load_list_ziplist, skip_string, lists.save_list_ziplist),
    R(RDB_TYPE_SET_INTSET, SET, "intset", 2, None,
      sets.load_set_intset, skip_string, sets.save_set_intset),
    R(RDB_TYPE_ZSET_ZIPLIST, ZSET, "ziplist", 2, 9,
      zsets.load_zset_ziplist, skip_string, zsets.save_zset_ziplist),
    R(RDB_TYPE_HASH_ZIPLIST, HASH, "ziplist", 4, 9,
      hashes.load_hash_ziplist, skip_string, hashes.save_hash_ziplist),
    R(RDB_TYPE_LIST_QUICKLIST, LIST, "quicklist", 7, 9,
      lists.load_list_quicklist, skip_strings, lists.save_list_quicklist),
    R(RDB_TYPE_STREAM_LISTPACKS, STREAM, "stream", 9, 9, streams.load_stream_listpacks,
      streams.skip_stream_listpacks, streams.save_stream_listpacks),
    R(RDB_TYPE_HASH_LISTPACK, HASH, "listpack", 10, None,
      hashes.load_hash_listpack, skip_string, hashes.save_hash_listpack),
    R(RDB_TYPE_ZSET_LISTPACK, ZSET, "listpack", 10, None,
      zsets.load_zset_listpack, skip_string, zsets.save_zset_listpack),
    R(RDB_TYPE_LIST_QUICKLIST_2, LIST, "quicklist", 10, None,
      lists.load_list_quicklist_2, lists.skip_list_quicklist_2, lists.save_list_quicklist_2),
    R(RDB_TYPE_STREAM_LISTPACKS_2, STREAM, "stream", 10, 10, streams.load_stream_listpacks_2,
      streams.skip_stream_listpacks_2, streams.save_stream_listpacks_2),
    R(RDB_TYPE_SET_LISTPACK, SET, "listpack", 11, None,
      sets.load_set_listpack, skip_string, sets.save_set_listpack),
    R(RDB_TYPE_STREAM_LISTPACKS_3, STREAM, "stream", 11, None, streams.load_stream_listpacks_3,
      streams.skip_stream_listpacks_3, streams.save_stream_listpacks_3),
    R(RDB_TYPE_HASH_METADATA_PRE_GA, HASH, "hashtable", 12, 12,
      hashes.load_hash_metadata_pre_ga, hashes.skip_hash_metadata_pre_ga, None),
    R(RDB_TYPE_HASH_LISTPACK_EX_PRE_GA, HASH, "listpackex", 12, 12,
      hashes.load_hash_listpack_ex_pre_ga, skip_string, None),
    R(RDB_TYPE_HASH_METADATA, HASH, "hashtable", 12, None,
      hashes.load_hash_metadata, hashes.skip_hash_metadata, hashes.save_hash_metadata),
    R(RDB_TYPE_HASH_LISTPACK_EX, HASH, "listpackex", 12, None,
      hashes.load_hash_listpack_ex, hashes.skip_hash_listpack_ex, hashes.save_hash_listpack_ex),
)

OBJECT_TYPES: dict[int, ObjectType] = {row.type_byte: row for row in _ROWS}
"""Redis's type bytes (RDB 1 – 12) → rows."""

VALKEY_OBJECT_TYPES: dict[int, ObjectType] = {
    **OBJECT_TYPES,
    VALKEY_RDB_TYPE_HASH_2: R(VALKEY_RDB_TYPE_HASH_2, HASH, "hashtable", 80, None,
                              hashes.load_valkey_hash_2, hashes.skip_valkey_hash_2, None),
}
"""The same for Valkey 9 files (RDB 80), where byte 22 is HASH_2."""

_PACKED = {RDB_TYPE_HASH_LISTPACK: R(RDB_TYPE_HASH_LISTPACK, HASH, "listpack", 10, None,
                                     hashes.load_hash_listpack_packed, skip_string,
                                     hashes.save_hash_listpack),
           RDB_TYPE_ZSET_ZIPLIST: R(RDB_TYPE_ZSET_ZIPLIST, ZSET, "ziplist", 2, 9,
                                    zsets.load_zset_ziplist_packed, skip_string,
                                    zsets.save_zset_ziplist),
           RDB_TYPE_ZSET_LISTPACK: R(RDB_TYPE_ZSET_LISTPACK, ZSET, "listpack", 10, None,
                                     zsets.load_zset_listpack_packed, skip_string,
                                     zsets.save_zset_listpack),
           RDB_TYPE_SET_INTSET: R(RDB_TYPE_SET_INTSET, SET, "intset", 2, None,
                                  sets.load_set_intset_packed, skip_string, sets.save_set_intset),
           RDB_TYPE_LIST_QUICKLIST_2: R(RDB_TYPE_LIST_QUICKLIST_2, LIST, "quicklist", 10, None,
                                        lists.load_list_quicklist_2_packed, lists.skip_list_quicklist_2,
                                        lists.save_list_quicklist_2),
           RDB_TYPE_LIST_QUICKLIST: R(RDB_TYPE_LIST_QUICKLIST, LIST, "quicklist", 7, 9,
                                      lists.load_list_quicklist_packed, skip_strings,
                                      lists.save_list_quicklist)}
PACKED_OBJECT_TYPES: dict[int, ObjectType] = {**OBJECT_TYPES, **_PACKED}
PACKED_VALKEY_OBJECT_TYPES: dict[int, ObjectType] = {**VALKEY_OBJECT_TYPES, **_PACKED}
"""The rows of a ``packed_listpacks`` load: a hash or zset listpack or a set intset stays
its bytes (:class:`~rdbtools.objects.hashes.ListpackPairs`,
:class:`~rdbtools.objects.zsets.ListpackZset`, :class:`~rdbtools.objects.sets.IntsetMembers`),
a list its quicklist nodes (:class:`~rdbtools.objects.lists.QuicklistNodes`); a zset ziplist
is converted once into such a listpack, a ziplist quicklist node by node."""
PACKED_FACTORIES: dict[int, Callable[[Any, int], Any]] = {
    RDB_TYPE_HASH_LISTPACK: hashes.ListpackPairs, RDB_TYPE_ZSET_LISTPACK: zsets.ListpackZset,
    RDB_TYPE_SET_INTSET: sets.IntsetMembers, RDB_TYPE_LIST_QUICKLIST_2: lists.QuicklistNodes}
"""The same for the decoder's C scan, by type byte: ``factory(bytearray, count)`` once
the blob is validated (a list's: ``factory(nodes, count)``, its nodes validated)."""

FAMILIES: dict[str, ObjectFamily] = {
    f.type: f
    for f in (
        ObjectFamily(STRING, OBJ_STRING, strings.string_type, False),
        ObjectFamily(LIST, OBJ_LIST, lists.list_type, True),
        ObjectFamily(SET, OBJ_SET, sets.set_type, True),
        ObjectFamily(ZSET, OBJ_ZSET, zsets.zset_type, True),
        ObjectFamily(HASH, OBJ_HASH, hashes.hash_type, True),
        ObjectFamily(MODULE, OBJ_MODULE, modules.module_type, False),
        ObjectFamily(STREAM, OBJ_STREAM, streams.stream_type, False),
    )
}
"""Logical type name → family."""

_EMPTY_POLICY = EncodingPolicy()


def object_types(valkey: bool, packed: bool = False) -> dict[int, ObjectType]:
    """The rows for a file's magic: Redis's, or Valkey's for ``VALKEY`` files and payloads;
    ``packed``: hash and zset listpacks kept as their bytes."""
    if packed:
        return PACKED_VALKEY_OBJECT_TYPES if valkey else PACKED_OBJECT_TYPES
    return VALKEY_OBJECT_TYPES if valkey else OBJECT_TYPES


def load_value(
    t: int, buf: bytes, pos: int, max_len: int, valkey: bool = False
) -> tuple[str, Any, str, dict[bytes, int] | None, int]:
    """Decode one value of type byte ``t`` at ``pos`` (mirrors rdbLoadObject).

    Returns ``(type_name, value, encoding, field_expires, end)``; ``encoding`` names
    the on-disk form (``listpack``, ``ziplist``, ``intset``, ``quicklist`` ...).
    """
    row = (VALKEY_OBJECT_TYPES if valkey else OBJECT_TYPES).get(t)
    if row is None:
        raise UnknownOpcode(f"unknown value type {t}", offset=pos - 1, type_byte=t)
    value, fexp, end = row.load(buf, pos, max_len)
    return row.type, value, row.encoding, fexp, end


def skip_value(t: int, buf: bytes, pos: int, max_len: int, valkey: bool = False) -> int:
    """End offset of the value of type ``t`` at ``pos``, without decoding it."""
    row = (VALKEY_OBJECT_TYPES if valkey else OBJECT_TYPES).get(t)
    if row is None:
        raise UnknownOpcode(f"unknown value type {t}", offset=pos - 1, type_byte=t)
    return row.skip(buf, pos, max_len)


def save_value(
    type_name: str,
    value: Any,
    field_expires: Mapping[bytes, int] | None,
    version: int,
    policy: EncodingPolicy | None = None,
    compress: bool = True,
) -> tuple[int, bytes]:
    """``(type byte, value bytes)`` of one value as Redis writes it at RDB ``version``.

    Mirrors ``rdbSaveObjectType`` (the family's ``*_type``) + ``rdbSaveObject`` (the
    row's ``save``). Raises :class:`RdbEncodeError` when the version cannot hold the
    value (callers decide about lossy drops first).
    """
    if type_name == STRING:  # the common case, without the table's two calls (as the decoder's)
        return RDB_TYPE_STRING, save_string(value, compress)
    family = FAMILIES.get(type_name)
    if family is None:
        raise RdbEncodeError(f"unknown value type {type_name!r}")
    if family.collection and not value:
        raise RdbEncodeError(f"an empty {type_name} cannot be stored (Redis deletes empty keys)")
    policy = policy or _EMPTY_POLICY
    t = family.save_type(value, field_expires, version, policy)
    save = OBJECT_TYPES[t].save
    assert save is not None, t  # every *_type picks a row that is written
    return t, save(value, field_expires, version, policy, compress)


__all__ = [
    "FAMILIES",
    "OBJECT_TYPES",
    "VALKEY_OBJECT_TYPES",
    "ObjectFamily",
    "ObjectType",
    "load_value",
    "object_types",
    "save_value",
    "skip_value",
]
