"""The dataset as persistence sees it: one way to save it, one way to load it.

Saving (``rdbSaveRio``): :func:`iter_dataset` yields the function libraries, then every
live key of every database as a ``rdbtools.model.Record`` — with its LRU idle time or
LFU counter when the ``maxmemory-policy`` is an LRU or LFU one, as
``rdbSaveKeyValuePair`` writes them. What goes to an RDB encoder takes the faster way of
:func:`iter_dataset_rdb`: each database's keys written in one pass by
:func:`rdbtools.snapshot.key_runs` (C), strings and the values held as their file bytes
(:func:`snapshot_layouts`: listpacks, intsets, quicklist nodes; a set's listpack as the
member list a 7.0 file holds; streams without consumer groups) written as they are,
the others (skip-list sorted sets, streams with groups, hashes with field TTLs, and
what the encoder's policy would pack) through the encoder's :meth:`~rdbtools.encoder.RdbEncoder.key_bytes`; the bytes
are the same either way. :func:`rdb_chunks` encodes it with the server's encoding
thresholds (:func:`encoding_policy`) and the per-database sizes (:func:`db_sizes`).
SAVE/BGSAVE, the AOF rewrite's RDB base and a master's full sync all write it this way.

Loading (``rdbLoadRio``'s per-key part): a :class:`DatasetLoader` applies records to
a keyspace — the live one (RDB load at start, DEBUG RELOAD, the AOF's RDB preamble) or
fresh tables swapped in later (a replica's full sync) — with an explicit policy for
keys already expired (dropped only by a master loading its own file: ``iAmMaster() &&
!RDBFLAGS_AOF_PREAMBLE``) and restoring LRU/LFU hints (``objectSetLRUOrLFU``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engine.errors import LoadError
from engine.keyspace.db import LFU_INIT_VAL
from engine.materialize import iter_records, rdb_version, record_to_value, value_of, value_to_record
from engine.types import EmbStr, HashValue, ListValue, SetValue, ZSetValue
from engine.types.streams import StreamValue
from rdbtools._accel import c_module
from rdbtools.constants import (
    RDB_TYPE_HASH,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_LIST_QUICKLIST_2,
    RDB_TYPE_SET,
    RDB_TYPE_SET_INTSET,
    RDB_TYPE_STREAM_LISTPACKS_2,
    RDB_TYPE_STREAM_LISTPACKS_3,
    RDB_TYPE_STRING,
    RDB_TYPE_ZSET_LISTPACK,
)
from rdbtools.encoder import RdbEncoder, default_aux
from rdbtools.model import EncodedKeys, FunctionLibrary, Record
from rdbtools.objects.hashes import ListpackPairs
from rdbtools.objects.lists import QuicklistNodes
from rdbtools.objects.sets import IntsetMembers
from rdbtools.objects.zsets import ListpackZset
from rdbtools.policy import EncodingPolicy
from rdbtools.snapshot import (
    HINT_FREQ,
    HINT_IDLE,
    KIND_BLOB,
    KIND_LISTPACK_SET,
    KIND_MEMBER_SET,
    KIND_PAIRS_DICT,
    KIND_QUICKLIST,
    KIND_STREAM,
    KIND_STRING,
    Hints,
    Layout,
    key_runs,
)

if TYPE_CHECKING:
    from engine.config import Config
    from engine.execution.host import Host
    from engine.keyspace.db import Database, Keyspace

# (data, expires, lru) of one database: what a loader writes into
Tables = tuple[dict[bytes, Any], dict[bytes, int], dict[bytes, int]]
# DatasetLoader.add in C for the plain keys the decoder's C scan reads (engine/_load.c),
# which makes the values of these kept blobs itself: (blob wrappers, then live classes)
_Sink: Any = getattr(c_module("engine._load"), "Sink", None)
SINK_CLASSES = (ListpackPairs, IntsetMembers, ListpackZset, QuicklistNodes, HashValue, SetValue, ZSetValue, ListValue)


# -- saving ----------------------------------------------------------------------------------------
def encoding_policy(config: Config) -> EncodingPolicy:
    """The encoding thresholds a save writes collections with (as a fresh load would pick)."""
    return EncodingPolicy.from_config(config.values)


def db_sizes(keyspace: Keyspace) -> dict[int, tuple[int, int]]:
    """RESIZEDB's figures: keys and volatile keys of each non-empty database."""
    return {db.id: (len(db.data), len(db.expires)) for db in keyspace.dbs if db.data}


def saves_hints(config: Config) -> bool:
    """rdbSaveKeyValuePair writes IDLE under an LRU policy and FREQ under an LFU one."""
    return config.maxmemory_policy.endswith(("lru", "lfu"))


def iter_dataset(server: Host) -> Iterator[Record | FunctionLibrary]:
    """What SAVE writes (``rdbSaveRio``): function libraries first, then the live keys
    with their access hints."""
    yield from server.scripting.functions.records()
    ks = server.keyspace
    cfg = server.config
    yield from iter_records(ks, ks.now_ms(), saves_hints(cfg), cfg.rdb_key_save_delay / 1e6)


# class -> (type byte, attribute, kind, guard): what rdbtools.snapshot writes without a
# Record. Every RDB version the engine writes (10, 12) holds these types.
# field TTLs, or a wide listpack (a hashtable to Redis: engine.types.hashes): the encoder's way
HASH_LISTPACK: Layout = (RDB_TYPE_HASH_LISTPACK, "lp", KIND_BLOB, ("fx", "wide"))
SET_INTSET: Layout = (RDB_TYPE_SET_INTSET, "is_", KIND_BLOB, None)
LAYOUTS: dict[type, Layout | list[Layout]] = {
    bytes: (RDB_TYPE_STRING, None, KIND_STRING, None),
    EmbStr: (RDB_TYPE_STRING, None, KIND_STRING, None),
    bytearray: (RDB_TYPE_STRING, None, KIND_STRING, None),
    HashValue: HASH_LISTPACK,
    ZSetValue: (RDB_TYPE_ZSET_LISTPACK, "lp", KIND_BLOB, None),
    SetValue: SET_INTSET,
    ListValue: (RDB_TYPE_LIST_QUICKLIST_2, "nodes", KIND_QUICKLIST, None),
}


def snapshot_layouts(config: Config, version: int) -> dict[type, Layout | list[Layout]]:
    """:data:`LAYOUTS`; streams without consumer groups (the node limits of the config,
    as the encoder's policy has them); hashes kept as a dict, as a field-value list when
    the policy makes them a hash table; and before RDB 11 (no listpack sets) a set kept as
    a listpack or a Python set written as a member list, as the encoder's policy writes
    it (an all-integer one within ``set-max-intset-entries`` is left to the encoder: an
    intset)."""
    policy = encoding_policy(config)
    limits = (policy.stream_node_max_bytes, policy.stream_node_max_entries)
    stream: Layout = ((RDB_TYPE_STREAM_LISTPACKS_3, None, KIND_STREAM, None, (3, *limits)) if version >= 11
                      else (RDB_TYPE_STREAM_LISTPACKS_2, None, KIND_STREAM, None, (2, *limits)))
    big_hash: Layout = (RDB_TYPE_HASH, "ht", KIND_PAIRS_DICT, "fx",
                        (policy.hash_max_listpack_entries, policy.hash_max_listpack_value))
    layouts = LAYOUTS | {StreamValue: stream, HashValue: [HASH_LISTPACK, big_hash]}
    if version >= 11:
        return layouts
    limit = policy.set_max_intset_entries
    lp_set: Layout = (RDB_TYPE_SET, "lp", KIND_LISTPACK_SET, None, limit)
    ht_set: Layout = (RDB_TYPE_SET, "ht", KIND_MEMBER_SET, None, limit)
    return layouts | {SetValue: [SET_INTSET, lp_set, ht_set]}


def access_hints(db: Database, config: Config) -> Hints | None:
    """What rdbSaveKeyValuePair writes beside each key under an LRU or LFU policy, as
    ``db.idle_seconds`` / ``db.lfu_counter`` compute it (None: nothing)."""
    if not saves_hints(config):
        return None
    ks = db.ks
    if ks.lfu:
        return (HINT_FREQ, db.lru, ks.lfu_minutes(), LFU_INIT_VAL, config.lfu_decay_time)
    return (HINT_IDLE, db.lru, ks.lru_clock, ks.load_clock, 0)


def iter_dataset_rdb(server: Host, version: int, compress: bool) -> Iterator[Record | FunctionLibrary | EncodedKeys]:
    """:func:`iter_dataset` for an RDB encoder of ``version``: each database's keys as
    runs of already written keys (:class:`~rdbtools.model.EncodedKeys`). Under
    ``rdb-key-save-delay`` the keys go one by one, each after its delay."""
    cfg = server.config
    if cfg.rdb_key_save_delay > 0:
        yield from iter_dataset(server)
        return
    yield from server.scripting.functions.records()
    ks = server.keyspace
    now = ks.now_ms()
    writer = RdbEncoder(version, encoding_policy(cfg), compress=compress, aux=None)
    layouts = snapshot_layouts(cfg, version)
    for db in ks.dbs:
        if not db.data:
            continue

        def fallback(key: bytes, value: Any, dbid: int = db.id) -> bytes:
            rec = value_to_record(dbid, key, value, None, now)
            if rec.type == "hash" and not rec.value:
                return b""  # every field expired: the key with them (as iter_records)
            return writer.key_bytes(rec)

        hints = access_hints(db, cfg)
        for data, count in key_runs(db.data, db.expires, now, compress, layouts, fallback, hints):
            yield EncodedKeys(db.id, data, count)


def rdb_chunks(server: Host, repl_aux: list[tuple[bytes, bytes]] | None = None) -> tuple[RdbEncoder, Iterator[bytes]]:
    """The dataset as one RDB stream (the encoder, for its counts, and its chunks).
    ``repl_aux``: the replication fields (``rdbPopulateSaveInfo``), written before
    ``aof-base`` as ``rdbSaveInfoAuxFields`` does."""
    version = rdb_version(server.keyspace)  # 10, or 12 to keep hash field TTLs
    aux = default_aux(version, int(time.time()))
    if repl_aux:
        aux[-1:-1] = repl_aux
    compress = server.config.rdbcompression
    enc = RdbEncoder(version, encoding_policy(server.config), aux=aux,
                     db_sizes=db_sizes(server.keyspace), compress=compress)
    return enc, enc.encode(iter_dataset_rdb(server, version, compress))


# -- loading ---------------------------------------------------------------------------------------
class DatasetLoader:
    """Applies records to a keyspace's databases, or to fresh ``tables`` of the same shape.

    ``drop_expired``: keys whose deadline is already past are skipped (counted in
    :attr:`expired`, listed in :attr:`expired_keys` when ``keep_expired_keys``); else
    they are loaded as they are, for the log or the master that will delete them. An
    IDLE or FREQ hint sets the key's access clock the way the keyspace keeps it (an LRU
    clock under LRU/no-eviction policies, the LFU word under LFU ones); a key without
    one reports its idle time from the load.
    """

    def __init__(self, keyspace: Keyspace, config: Config, *, drop_expired: bool,
                 tables: list[Tables] | None = None, keep_expired_keys: bool = False,
                 allow_dup: bool = True) -> None:
        self.config = config
        # RDBFLAGS_ALLOW_DUP: a key already present is replaced; without it a duplicate
        # is an error (Redis panics: "RDB has duplicated key")
        self.allow_dup = allow_dup
        self.tables = tables if tables is not None else [(db.data, db.expires, db.lru) for db in keyspace.dbs]
        self.now = keyspace.now_ms() if drop_expired else None
        self.lfu = keyspace.lfu
        self.lru_clock = keyspace.lru_clock
        self.lfu_minutes = keyspace.lfu_minutes()
        self.added = 0  # by add(); the sinks count theirs
        self.sinks: list[Any] = []
        self.expired = 0
        self.expired_keys: list[tuple[int, bytes]] | None = [] if keep_expired_keys else None
        # the live databases' registries of hashes with field TTLs (engine.keyspace.hfe);
        # fresh tables get theirs when swapped in
        self.hexpires = [db.hexpires for db in keyspace.dbs] if tables is None else None

    @property
    def loaded(self) -> int:
        """Keys stored so far."""
        return self.added + sum(s.taken for s in self.sinks)

    def sink(self) -> Any:
        """:meth:`add` for a decoder's C scan to call before it builds a Record
        (``rdbtools.io.iter_events(sink=...)``), or None without the C module. It stores
        the keys :meth:`add` would simply store, through the same :func:`value_of`, and
        declines the rest (expired, a database past ``databases``, a duplicate that is an
        error): those come as Records for :meth:`add`."""
        if _Sink is None:
            return None
        s = _Sink(self.tables, value_of, self.config, self.now, self.lfu, self.lru_clock, self.lfu_minutes,
                  self.allow_dup, SINK_CLASSES, ListValue.new(self.config))
        self.sinks.append(s)
        return s

    def add(self, rec: Record) -> bool:
        """Apply one record; False when it was dropped as expired. Raises
        :class:`~engine.materialize.UnsupportedValue` for a type this server does not
        serve and :class:`LoadError` for a database number past ``databases``."""
        now = self.now
        if now is not None and rec.expire_ms is not None and rec.expire_ms < now:
            self.expired += 1
            if self.expired_keys is not None:
                self.expired_keys.append((rec.db, rec.key))
            return False
        if rec.db >= len(self.tables):
            raise LoadError(f"key in db {rec.db} but databases is {len(self.tables)}")
        value = record_to_value(rec, self.config)
        data, expires, lru = self.tables[rec.db]
        key = rec.key
        replaced = key in data  # only a replaced key can have a TTL or a hint to drop
        if replaced and not self.allow_dup:
            raise LoadError(f"RDB has duplicated key '{key.decode('utf-8', 'replace')}' in DB {rec.db} "
                            f"at offset {rec.offset} (key {key!r}, db {rec.db})")
        data[key] = value
        if rec.field_expires and self.hexpires is not None:
            self.hexpires[rec.db][key] = (value, min(rec.field_expires.values()))
        if rec.expire_ms is not None:
            expires[key] = rec.expire_ms
        elif replaced:
            expires.pop(key, None)
        if self.lfu:
            if rec.freq is not None:
                lru[key] = (self.lfu_minutes << 8) | rec.freq
            elif replaced:
                lru.pop(key, None)
        elif rec.idle is not None:
            lru[key] = self.lru_clock - rec.idle
        elif replaced:
            lru.pop(key, None)
        self.added += 1
        return True


__all__ = ["LAYOUTS", "DatasetLoader", "access_hints", "db_sizes", "encoding_policy", "iter_dataset",
           "iter_dataset_rdb", "rdb_chunks", "saves_hints", "snapshot_layouts"]
