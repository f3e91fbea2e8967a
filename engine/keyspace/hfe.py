"""Hash field expiration (Redis 7.4): reclaiming expired fields, lazily and actively.

A hash holds its field TTLs in ``HashValue.fx`` (absolute ms); a field whose time is
before the lookup clock (:attr:`Keyspace.lookup_ms`: 0 while loading or applying a
master's stream, so nothing expires then, as ``hashTypeGetValue`` keeps fields for the
master client and the loader) reads as absent. :func:`reclaim` deletes such fields as
t_hash.c does — an ``HDEL key field`` propagated for each (propagateHashFieldDeletion),
``hexpired`` notified, the key deleted (``del``) with its last field — except where
Redis keeps them until its master's HDEL: a read-only replica, paused clients.

Each database keeps ``hexpires`` (key → the hash value and the time before which none of
its fields is due), the hashes that had a field TTL set (``db->hexpires``, ordered there
by that time); :func:`active_expire_fields` walks it from the active expire cycle
(``hashTypeDbActiveExpire``), looking into a hash only once it is due. An entry whose key
no longer holds that value (deleted, overwritten, renamed away) is dropped when met, so
writers only register (``Database.track_hfe``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.notify import NOTIFY_GENERIC, NOTIFY_HASH, notify

if TYPE_CHECKING:
    from engine.keyspace.db import Database, Keyspace

HDEL = b"HDEL"
FIELDS_PER_CYCLE = 1000  # fields reclaimed per database per active cycle at most


def field_expired(db: Database, h: Any, field: bytes) -> bool:
    """hashTypeIsExpired for ``field`` of ``h`` by the lookup clock."""
    fx = h.fx
    if not fx:
        return False
    at = fx.get(field)
    return at is not None and at < db.ks.lookup_ms()


def may_reclaim(ks: Keyspace) -> bool:
    """Expired fields are deleted (not only hidden) outside a read-only replica and a pause."""
    return not ks.replica_ro and not ks.paused()


def reclaim(db: Database, key: bytes, h: Any, fields: list[bytes], notify_events: bool = True) -> bool:
    """Delete the expired ``fields`` of hash ``h`` at ``key`` (present ones), propagating
    an HDEL for each; True when that removed the key. ``notify_events`` False: the
    caller notifies once for several (HMGET's HFE_LAZY_NO_NOTIFICATION)."""
    ks = db.ks
    p = ks.propagator
    log = p is not None and p.targets
    for f in fields:
        if h.delete(f):
            ks.expired_subkeys += 1
            if log:
                p.ops.append((db.id, [HDEL, key, f]))  # type: ignore[union-attr]
    if notify_events:
        notify(db, NOTIFY_HASH, b"hexpired", key)
    gone = not len(h)
    if gone:
        db.delete(key)
        if notify_events:
            notify(db, NOTIFY_GENERIC, b"del", key)
    db.signal_modified(key)
    return gone


def lazy_field(db: Database, key: bytes, h: Any, field: bytes, notify_events: bool = True) -> int:
    """hashTypeGetValue's lazy expiry of one field: 0 live or absent, 1 expired (deleted
    when allowed), 2 expired and the hash deleted with it (GETF_EXPIRED_HASH)."""
    if not field_expired(db, h, field):
        return 0
    if not may_reclaim(db.ks):
        return 1
    return 2 if reclaim(db, key, h, [field], notify_events) else 1


def expire_if_needed(db: Database, key: bytes, h: Any) -> bool:
    """hashTypeExpireIfNeeded: every expired field reclaimed at once (HRANDFIELD); True
    when the hash went with them."""
    if not h.fx:
        return False
    ks = db.ks
    now = ks.lookup_ms()
    fields = h.expired_fields(now)
    if not fields or not may_reclaim(ks):
        return False
    return reclaim(db, key, h, fields)




def active_expire_fields(ks: Keyspace, budget: int = FIELDS_PER_CYCLE) -> int:
    """hashTypeDbActiveExpire over every database: up to ``budget`` expired fields each;
    returns how many were reclaimed."""
    total = 0
    now = ks.now_ms()
    for db in ks.dbs:
        reg = db.hexpires
        if not reg:
            continue
        left = budget
        data = db.data
        expires = db.expires
        for key, (h, due) in list(reg.items()):
            if due > now:
                continue
            if data.get(key) is not h or not h.fx:
                del reg[key]  # gone, replaced, or no TTL left: nothing to visit
                continue
            when = expires.get(key) if expires else None
            if when is not None and when < now:
                continue  # the key itself is due: the key cycle takes it whole
            fields = h.expired_fields(now)[:left]
            left -= len(fields)
            total += len(fields)
            if (fields and reclaim(db, key, h, fields)) or not h.fx:
                reg.pop(key, None)
            else:
                reg[key] = (h, min(h.fx.values()))
            if left <= 0:
                break
    return total
