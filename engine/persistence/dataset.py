"""The dataset as persistence sees it: one way to save it, one way to load it.

Saving (``rdbSaveRio``): :func:`iter_dataset` yields the function libraries, then every
live key of every database as a ``rdbtools.model.Record`` — with its LRU idle time or
LFU counter when the ``maxmemory-policy`` is an LRU or LFU one, as
``rdbSaveKeyValuePair`` writes them — and :func:`rdb_chunks` encodes it with the
server's encoding thresholds (:func:`encoding_policy`) and the per-database sizes
(:func:`db_sizes`). SAVE/BGSAVE, the AOF rewrite's RDB base and a master's full sync
all write it this way.

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
from engine.materialize import iter_records, rdb_version, record_to_value
from rdbtools.encoder import RdbEncoder, default_aux
from rdbtools.model import FunctionLibrary, Record
from rdbtools.policy import EncodingPolicy

if TYPE_CHECKING:
    from engine.config import Config
    from engine.execution.host import Host
    from engine.keyspace.db import Keyspace

# (data, expires, lru) of one database: what a loader writes into
Tables = tuple[dict[bytes, Any], dict[bytes, int], dict[bytes, int]]


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


def rdb_chunks(server: Host, repl_aux: list[tuple[bytes, bytes]] | None = None) -> tuple[RdbEncoder, Iterator[bytes]]:
    """The dataset as one RDB stream (the encoder, for its counts, and its chunks).
    ``repl_aux``: the replication fields (``rdbPopulateSaveInfo``), written before
    ``aof-base`` as ``rdbSaveInfoAuxFields`` does."""
    version = rdb_version(server.keyspace)  # 10, or 12 to keep hash field TTLs
    aux = default_aux(version, int(time.time()))
    if repl_aux:
        aux[-1:-1] = repl_aux
    enc = RdbEncoder(version, encoding_policy(server.config), aux=aux,
                     db_sizes=db_sizes(server.keyspace), compress=server.config.rdbcompression)
    return enc, enc.encode(iter_dataset(server))


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
        self.loaded = 0
        self.expired = 0
        self.expired_keys: list[tuple[int, bytes]] | None = [] if keep_expired_keys else None
        # the live databases' registries of hashes with field TTLs (engine.keyspace.hfe);
        # fresh tables get theirs when swapped in
        self.hexpires = [db.hexpires for db in keyspace.dbs] if tables is None else None

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
            raise LoadError(f"RDB has duplicated key '{key.decode('utf-8', 'replace')}' in DB {rec.db}")
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
        self.loaded += 1
        return True


__all__ = ["DatasetLoader", "db_sizes", "encoding_policy", "iter_dataset", "rdb_chunks", "saves_hints"]
