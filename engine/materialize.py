"""The single bridge between ``rdbtools.model.Record`` and live values.

``record_to_value`` builds the value object a key holds in memory, choosing the
encoding Redis 7.0 would pick when loading (``rdbLoadObject``): compact blob
types keep their compact encoding unless they hold more entries than the
configured limit; expanded types (hashtable sets/hashes, skiplist zsets) are
packed when both the entry count and the element sizes fit. ``value_to_record``
goes the other way for writers (DUMP, SAVE, replication); ``iter_records`` walks a whole
keyspace that way (SAVE, the AOF rewrite, a full sync, DEBUG DIGEST, an offline replay's
export). ``RDB_VERSION`` is the one version the engine writes and accepts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engine.errors import CommandError, EngineError
from engine.types import EmbStr, HashValue, ListValue, SetValue, ZSetValue, type_name
from engine.types import streams as _streams  # noqa: F401  (registers the stream type name)
from rdbtools.encodings import decode_listpack_strings, encode_intset
from rdbtools.encodings.listpack_ops import lp_length
from rdbtools.model import Record
from rdbtools.objects.hashes import ListpackPairs
from rdbtools.objects.lists import QuicklistNodes
from rdbtools.objects.sets import IntsetMembers
from rdbtools.objects.zsets import ListpackZset

if TYPE_CHECKING:
    from engine.keyspace.db import Keyspace

log = logging.getLogger(__name__)
_COMPACT = frozenset({"listpack", "ziplist", "zipmap", "intset"})
RDB_VERSION = 10  # what Redis 7.0 writes (SAVE, DUMP, FUNCTION DUMP) and the newest it accepts
RDB_VERSION_HFE = 12  # what a hash with field TTLs needs (Redis 7.4): see rdb_version()


class UnsupportedValue(EngineError):
    """A record of a type this server does not serve (modules)."""


def record_to_value(rec: Record, config: Any) -> Any:
    return value_of(rec.type, rec.value, rec.encoding, config, rec.field_expires)


def value_of(t: str, v: Any, encoding: str | None, config: Any, field_expires: dict[bytes, int] | None = None) -> Any:
    """The in-memory value of a record's ``t``/``v``/``encoding`` (and its hash field TTLs):
    :func:`record_to_value`'s work, also called by a load's C part (``engine/_load.c``)."""
    if v.__class__ is ListpackPairs and not field_expires:  # a hash listpack's validated bytes
        lp = v.blob if v.blob.__class__ is bytearray else bytearray(v.blob)
        # hashTypeLength (lpLength) at load: an "unknown" count is stored when it fits
        if lp_length(lp) >> 1 <= config.hash_max_listpack_entries:
            return HashValue(lp)
        return HashValue.from_pairs(v, False)
    if t == "string":
        return bytes(v)
    if t == "list":
        if v.__class__ is QuicklistNodes:  # the nodes' validated bytes, kept
            return ListValue.from_nodes(config, v.nodes, v.count)
        return ListValue.new(config, v)  # older forms: pushed one by one
    if t == "set":
        if v.__class__ is IntsetMembers:  # validated bytes, kept as they are
            if v.count <= config.set_max_intset_entries:
                return SetValue(v.blob if v.blob.__class__ is bytearray else bytearray(v.blob))
            return SetValue.from_members(list(v), 0)  # setTypeConvert at load
        if encoding == "intset":  # an intset decoded to members: the smallest encoding
            if len(v) <= config.set_max_intset_entries:
                return SetValue(bytearray(encode_intset(int(m) for m in v)))
            return SetValue.from_members(v, 0)
        return SetValue.from_members(v, config.set_max_intset_entries)
    if t == "hash":
        n = len(v)
        if encoding in _COMPACT or encoding == "listpackex":  # converted once, by count
            packed = n <= config.hash_max_listpack_entries
        else:  # RDB_TYPE_HASH(_METADATA): a listpack(ex) while every entry fits
            mx = config.hash_max_listpack_value
            packed = n <= config.hash_max_listpack_entries and all(len(f) <= mx and len(x) <= mx for f, x in v)
        fx = field_expires
        ttls = fx is not None and (fx or encoding == "listpackex")  # 7.4 field TTLs
        # a hashtable of a few fields (a long one): kept as listpack bytes (engine.types.hashes)
        wide = (not packed and not ttls and n <= config.hash_max_listpack_entries
                and len({f for f, _ in v}) == n)
        h = HashValue.from_pairs(v, packed, wide)
        if ttls:
            h.fx = dict(fx)
        return h
    if t == "zset":
        if v.__class__ is ListpackZset:  # a zset listpack's validated bytes, kept as they are
            lp = v.blob if v.blob.__class__ is bytearray else bytearray(v.blob)
            z = ZSetValue.from_listpack(lp)
            if len(z) > config.zset_max_listpack_entries:  # zsetLength (lpLength) at load
                z.convert()
            return z
        members = {m: None for m, _ in v}
        n = len(members)
        if encoding in _COMPACT:  # a ziplist converted once (or a listpack's pairs)
            lp = n <= config.zset_max_listpack_entries
        else:
            lp = n <= config.zset_max_listpack_entries and all(
                len(m) <= config.zset_max_listpack_value for m in members)
        z = ZSetValue(lp=lp)
        z.fill(v)
        return z
    if t == "stream":
        return _stream_value(v, config)
    raise UnsupportedValue(f"values of type {t!r} are not supported by this server")


def _stream_value(st: Any, config: Any) -> Any:
    """rdbLoadObject for streams: the file's nodes kept as they are (a stream built
    otherwise, without ``nodes``, gets them as XADD in order builds them); metadata a
    stream v1 file lacks derived as 7.0's loader does."""
    mod = _streams  # the module imported above: no import statement per stream of a load
    s = mod.StreamValue()
    if st.nodes is None or not s.load_nodes(st.nodes, st.entries):
        mb, me = config.stream_node_max_bytes, config.stream_node_max_entries
        for (ms, seq), fv in st.entries:
            s.append(mod.make_id(ms, seq), [x for pair in fv for x in pair], mb, me)
        s.tail_prealloc = False  # a loaded listpack is allocated at its size
    ms, seq = st.last_id  # make_id's, inline: this runs once per stream of a load
    s.last_id = ms << 64 | seq
    if (first := st.first_id) is not None:
        s.first_id = first[0] << 64 | first[1]
    else:
        s.first_id = s.ids[0] if s.ids else mod.MAX_ID  # streamGetEdgeID on an empty stream
    if (md := st.max_deleted_id) is not None:
        s.max_deleted = md[0] << 64 | md[1]
    s.entries_added = st.entries_added if st.entries_added is not None else len(s.ids)
    for g in st.groups:
        glast = mod.make_id(*g.last_id)
        if g.entries_read is not None:
            er = mod.s64(g.entries_read)  # a long long there: 2^64-2 reads as -2
        elif st.entries_added is None:  # stream v1: estimated as the loader does
            er = s.estimate_distance(glast)
        else:
            er = -1
        grp = s.groups[g.name] = mod.Group(glast, er)
        owner: dict[int, Any] = {}
        for c in g.consumers:
            cons = grp.consumers[c.name] = mod.Consumer(c.name, c.seen_time)
            for pid in c.pending:
                owner[mod.make_id(*pid)] = cons
        for p in g.pending:
            i = mod.make_id(*p.id)
            cons = owner.get(i)
            if cons is None:
                raise UnsupportedValue("stream PEL entry without a consumer")
            nack = mod.NACK(cons, p.delivery_time)
            nack.delivery_count = p.delivery_count
            grp.pel_add(i, nack)
            cons.add(i, nack)
    return s


def _stream_model(s: Any) -> Any:
    from rdbtools.model import PendingEntry, Stream, StreamConsumer, StreamGroup
    from rdbtools.objects.streams import live_entries
    from rdbtools.objects.streams import split_id as sid

    entries = live_entries(s.ids, s.entries)
    groups = []
    for name, g in sorted(s.groups.items()):
        pending = tuple(PendingEntry(sid(i), g.pel[i].delivery_time, g.pel[i].delivery_count,
                                     g.pel[i].consumer.name if g.pel[i].consumer else None)
                        for i in g.pel_ids)
        consumers = tuple(StreamConsumer(cn, c.seen_time, None, tuple(sid(i) for i in c.pel_ids))
                          for cn, c in sorted(g.consumers.items()))
        er = None if g.entries_read == -1 else g.entries_read & 0xFFFFFFFFFFFFFFFF  # rdbSaveLen of it
        groups.append(StreamGroup(name, sid(g.last_id), er, pending, consumers))
    return Stream(entries=entries, length=len(s.ids), last_id=sid(s.last_id), first_id=sid(s.first_id),
                  max_deleted_id=sid(s.max_deleted), entries_added=s.entries_added, groups=tuple(groups))


def value_to_record(db: int, key: bytes, value: Any, expire_ms: int | None = None,
                    now_ms: int | None = None) -> Record:
    """The record of a live value. ``now_ms``: hash fields expired before it are left out
    (None: every field, as DUMP writes them)."""
    cls = value.__class__
    if cls is bytes:  # most keys of most datasets: nothing to convert
        return Record(db, key, "string", value, expire_ms)
    t = type_name(value).decode()
    if cls in (bytearray, EmbStr):
        v: Any = bytes(value)
    elif cls is ListValue:  # the nodes as they are (copies: the record may outlive a write)
        v = QuicklistNodes([bytearray(n) if n.__class__ is bytearray else n for n in value.nodes], value.count)
    elif cls is SetValue:  # an intset as its bytes (a copy: the record may outlive a write)
        v = IntsetMembers(bytes(value.is_), len(value)) if value.is_ is not None else value.members()
    elif cls is HashValue:  # a listpack as its bytes (a copy: the record may outlive a write)
        fx = value.fx
        if fx is not None:  # field TTLs: a listpackex / metadata hash of the live fields
            items = value.items() if now_ms is None else value.live_items(now_ms)
            fexp = {f: fx[f] for f, _ in items if f in fx}
            enc = value.encoding()
            return Record(db=db, key=key, type="hash", value=items, expire_ms=expire_ms, encoding=enc,
                          field_expires=fexp)
        v = _listpack_pairs(value.lp) if value.lp is not None and value.wide is None else value.items()
    elif cls is ZSetValue:  # a listpack as its bytes (a copy: the record may outlive a write)
        v = _listpack_zset(value.lp) if value.lp is not None else value.pairs()
    elif t == "stream":
        v = _stream_model(value)
    else:  # pragma: no cover
        raise UnsupportedValue(f"cannot convert {cls.__name__}")
    enc = value.encoding() if hasattr(value, "encoding") else None
    return Record(db=db, key=key, type=t, value=v, expire_ms=expire_ms, encoding=enc)


def _listpack_pairs(lp: bytearray) -> ListpackPairs:
    """A hash listpack for a writer: its bytes as they are (rdbSaveObject writes lpBytes,
    an "unknown" count included, without lpLength's side effect)."""
    blob = bytes(lp)
    count = blob[4] | blob[5] << 8
    return ListpackPairs(blob, count if count != 0xFFFF else len(decode_listpack_strings(blob)))


def _listpack_zset(lp: bytearray) -> ListpackZset:
    """A zset listpack for a writer: its bytes as they are (as _listpack_pairs)."""
    blob = bytes(lp)
    count = blob[4] | blob[5] << 8
    return ListpackZset(blob, count if count != 0xFFFF else len(decode_listpack_strings(blob)))


def iter_records(keyspace: Keyspace, now: int | None, hints: bool = False,
                 delay: float = 0.0) -> Iterator[Record]:
    """Every key, database by database, as a Record. Keys whose deadline is before ``now``
    are left out (None: every key, expired or not). ``hints``: each key's LRU idle
    seconds or LFU counter, whichever the keyspace keeps. ``delay``: seconds slept per
    key (``rdb-key-save-delay``, which tests use to stretch a save)."""
    lfu = keyspace.lfu
    for db in keyspace.dbs:
        expires = db.expires
        for key, value in db.data.items():
            when = expires.get(key) if expires else None
            if when is not None and now is not None and when < now:
                continue
            if delay > 0:
                time.sleep(delay)
            rec = value_to_record(db.id, key, value, when, now)
            if rec.type == "hash" and not rec.value:
                continue  # every field expired: the key with them
            if hints:
                if lfu:
                    rec.freq = db.lfu_counter(key)
                else:
                    rec.idle = db.idle_seconds(key)
            yield rec


def has_field_ttls(keyspace: Keyspace, now: int | None = None) -> bool:
    """Some hash holds a field TTL (the registry of ``engine.keyspace.hfe``); with ``now``,
    a TTL not before it on a key not expired by it (what :func:`iter_records` writes)."""
    for db in keyspace.dbs:
        data = db.data
        expires = db.expires
        for key, (h, _) in db.hexpires.items():
            if not h.fx or data.get(key) is not h:
                continue
            if now is None:
                return True
            when = expires.get(key)
            if (when is None or when >= now) and max(h.fx.values()) >= now:
                return True
    return False


def rdb_version(keyspace: Keyspace) -> int:
    """The RDB version a save of ``keyspace`` is written in: Redis 7.0's (10) unless some
    hash holds field TTLs, which only RDB 12 (Redis 7.4) can carry — writing 12 then
    keeps them where 10 would have to drop them (see engine/README.md)."""
    return RDB_VERSION_HFE if has_field_ttls(keyspace) else RDB_VERSION


__all__ = ["RDB_VERSION", "RDB_VERSION_HFE", "PayloadError", "has_field_ttls", "rdb_version", "UnsupportedValue", "dump_payload", "iter_records", "record_to_value",
           "restore_payload", "value_to_record"]


# -- DUMP / RESTORE payloads ------------------------------------------------------

_BIG = 2**31


def _forced_policy(value: Any, config: Any) -> Any:
    """An EncodingPolicy that makes the encoder pick the value's in-memory encoding."""
    from rdbtools.policy import EncodingPolicy

    cls = value.__class__
    # a stream's nodes as the server's limits cut them (SAVE's too): RESTORE keeps a payload's nodes
    base = EncodingPolicy(list_max_listpack_size=config.list_max_listpack_size,
                          stream_node_max_bytes=config.stream_node_max_bytes,
                          stream_node_max_entries=config.stream_node_max_entries)
    if cls is HashValue:
        n = _BIG if value.lp is not None and value.wide is None else 0
        return EncodingPolicy(hash_max_listpack_entries=n, hash_max_listpack_value=n)
    if cls is ZSetValue:
        n = _BIG if value.lp is not None else 0
        return EncodingPolicy(zset_max_listpack_entries=n, zset_max_listpack_value=n)
    if cls is SetValue:
        return EncodingPolicy(set_max_intset_entries=_BIG if value.is_ is not None else 0,
                              set_max_listpack_entries=0, set_max_listpack_value=0)
    return base


def dump_payload(value: Any, config: Any) -> bytes:
    from rdbtools.dump import dump_value

    rec = value_to_record(0, b"", value)
    # a hash that had field TTLs is a listpackex / metadata hash: RDB 12's types, as 7.4 dumps it
    version = RDB_VERSION_HFE if rec.field_expires is not None else RDB_VERSION
    return dump_value(rec, version, _forced_policy(value, config), compress=config.rdbcompression)


class PayloadError(CommandError):
    """RESTORE's refusal. ``at`` is where the value parser failed (None: somewhere it
    cannot say, or after the parse); ``decoded`` is False when the payload's version or
    checksum was refused before any of the value was read."""

    __slots__ = ("at", "decoded")

    def __init__(self, text: str, at: int | None, decoded: bool) -> None:
        super().__init__(text)
        self.at = at
        self.decoded = decoded


def restore_payload(payload: bytes, config: Any) -> Any:
    """The live value of a RESTORE payload.

    Every payload is validated deeply, whatever ``sanitize-dump-payload`` says: the
    value is decoded into live objects here, so nothing unchecked is kept for later
    (which is what makes ``no`` risky in Redis). Payloads up to RDB 12 are taken (7.0
    refuses past 10): what DUMP writes for a hash with field TTLs. Raises :class:`PayloadError` with
    Redis's reply texts; the precise cause goes to the log, as rdbReportCorruptRDB.
    """
    from rdbtools.dump import BAD_DATA_FORMAT, BAD_VERSION_OR_CHECKSUM, restore_value
    from rdbtools.errors import ChecksumMismatch, RdbError, UnsupportedVersion

    try:
        dv = restore_value(payload, RDB_VERSION_HFE, packed_listpacks=True)  # 7.4's hash TTLs too
        if dv.type in ("list", "set", "zset", "hash") and not dv.value:
            raise RdbError("empty collection")
        return record_to_value(dv.to_record(b""), config)
    except (UnsupportedVersion, ChecksumMismatch) as exc:
        raise PayloadError(str(exc.message), None, False) from None
    except (RdbError, UnsupportedValue) as exc:
        if getattr(exc, "message", None) == BAD_VERSION_OR_CHECKSUM:
            raise PayloadError(BAD_VERSION_OR_CHECKSUM, None, False) from None
        log.warning("RESTORE: bad payload: %s", exc.__cause__ or exc)
        raise PayloadError(BAD_DATA_FORMAT, getattr(exc, "offset", None), True) from None
