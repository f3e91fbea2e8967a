"""Hash field expiration commands (Redis 7.4, t_hash.c): HEXPIRE, HPEXPIRE, HEXPIREAT,
HPEXPIREAT, HTTL, HPTTL, HEXPIRETIME, HPEXPIRETIME, HPERSIST.

A field's TTL lives in ``HashValue.fx``; setting the first one turns a listpack into a
listpackex for good (``hashTypeSetExInit``). Replies are arrays of per-field codes as
7.4 gives them; HEXPIRE & co are propagated as ``HPEXPIREAT key <abs ms> [cond] FIELDS
n`` over the fields actually set, each field deleted by a time already past as an
``HDEL`` (propagateHashFieldDeletion), nothing when no field was set. Expired fields are
reclaimed lazily and actively by :mod:`engine.keyspace.hfe`.
"""

from __future__ import annotations

from aof.replies import array, integer
from engine.commands.arguments import get_int
from engine.errors import CommandError, WrongTypeError
from engine.execution.registry import command
from engine.keyspace.hfe import reclaim
from engine.notify import NOTIFY_GENERIC, NOTIFY_HASH, notify
from engine.types import HashValue
from rdbtools.numbers import string2ll

G = "hash"
EB_EXPIRE_TIME_MAX = (1 << 48) - 1
HFE_MAX_ABS_TIME_MSEC = EB_EXPIRE_TIME_MAX >> 2  # the latest time a field may get
NO_FIELD, NO_TTL = -2, -1  # HFE_GET_NO_FIELD / HFE_GET_NO_TTL (HPERSIST's too)
SET_NO_CONDITION, SET_OK, SET_DELETED = 0, 1, 2  # HSETEX_*
_CONDITIONS = (b"nx", b"xx", b"gt", b"lt")
_HPEXPIREAT = b"HPEXPIREAT"


def _hash_or_none(v):
    if v is not None and v.__class__ is not HashValue:
        raise WrongTypeError()
    return v


def _fields(argv: list[bytes], at: int, count_error: str) -> list[bytes]:
    """``FIELDS numfields field...`` starting at ``argv[at]``, checked as 7.4 checks it."""
    if argv[at].lower() != b"fields":
        raise CommandError("Mandatory argument FIELDS is missing or not at the right position")
    n = string2ll(argv[at + 1])  # getRangeLongFromObjectOrReply(1, LONG_MAX, count_error)
    if n is None or n < 1:
        raise CommandError(count_error)
    if n != len(argv) - at - 2:
        raise CommandError("The `numfields` parameter must match the number of arguments")
    return argv[at + 2:]


def _hexpire(c, argv, basetime: int, seconds: bool, name: str) -> bytes:
    """hexpireGenericCommand."""
    db = c.db
    key = argv[1]
    h = _hash_or_none(db.get(key))
    expire = get_int(argv[2])
    if expire < 0:
        raise CommandError("invalid expire time, must be >= 0")
    if seconds:
        if expire > HFE_MAX_ABS_TIME_MSEC // 1000:
            raise CommandError(f"invalid expire time in '{name}' command")
        expire *= 1000
    if expire > HFE_MAX_ABS_TIME_MSEC - basetime:
        raise CommandError(f"invalid expire time in '{name}' command")
    expire += basetime
    cond = argv[3].lower()
    at = 3
    if cond in _CONDITIONS:
        at = 4
    else:
        cond = b""
    fields = _fields(argv, at, "Parameter `numFields` should be greater than 0")
    if h is None:
        return array([integer(NO_FIELD)] * len(fields))
    if h.fx is None:  # hashTypeSetExInit: the hash supports field TTLs from now on
        h.init_ttls()
    srv = c.server
    # checkAlreadyExpired: a past time deletes the field, except while loading and on a replica
    past = expire <= srv.keyspace.now_ms() and not srv.loading and srv.replication.masterhost is None
    codes = []
    done: list[bytes] = []
    deleted: list[bytes] = []
    fx = h.fx
    for f in fields:
        if h.get(f) is None:
            codes.append(NO_FIELD)
            continue
        prev = fx.get(f)
        if prev is None:
            if cond in (b"xx", b"gt"):  # a field without TTL counts as infinite for GT
                codes.append(SET_NO_CONDITION)
                continue
        elif ((cond == b"gt" and prev >= expire) or (cond == b"lt" and prev <= expire)
              or cond == b"nx"):
            codes.append(SET_NO_CONDITION)
            continue
        if past:
            deleted.append(f)
            codes.append(SET_DELETED)
            continue
        fx[f] = expire
        h.place(f)
        done.append(f)
        codes.append(SET_OK)
    if deleted:  # an HDEL each, before the HPEXPIREAT; the key with its last field
        reclaim(db, key, h, deleted, notify_events=False)
    if done:
        db.track_hfe(key, h, expire)
        if srv.propagator.targets:
            head = [_HPEXPIREAT, key, b"%d" % expire] + ([argv[3]] if cond else [])
            c.rewritten = [head + [argv[at], b"%d" % len(done), *done]]
    elif srv.propagator.targets:
        c.rewritten = []  # preventCommandPropagation: nothing was set
    if done or deleted:
        srv.dirty += len(done) + len(deleted)
        if db.data.get(key) is not h:  # the last field went
            notify(db, NOTIFY_HASH, b"hdel", key)
            notify(db, NOTIFY_GENERIC, b"del", key)
        else:
            notify(db, NOTIFY_HASH, b"hdel" if deleted else b"hexpire", key)
    return array([integer(x) for x in codes])


@command("hexpire", -6, "write denyoom fast", 1, 1, 1, group=G, since="7.4.0")
def hexpire_cmd(c, argv):
    return _hexpire(c, argv, c.server.keyspace.now_ms(), True, "hexpire")


@command("hpexpire", -6, "write denyoom fast", 1, 1, 1, group=G, since="7.4.0")
def hpexpire_cmd(c, argv):
    return _hexpire(c, argv, c.server.keyspace.now_ms(), False, "hpexpire")


@command("hexpireat", -6, "write denyoom fast", 1, 1, 1, group=G, since="7.4.0")
def hexpireat_cmd(c, argv):
    return _hexpire(c, argv, 0, True, "hexpireat")


@command("hpexpireat", -6, "write denyoom fast", 1, 1, 1, group=G, since="7.4.0")
def hpexpireat_cmd(c, argv):
    return _hexpire(c, argv, 0, False, "hpexpireat")


def _field_ttls(c, argv, read: bool) -> tuple[HashValue | None, list[tuple[bytes, int]]]:
    """The hash (None: no key) and, per field named, NO_FIELD (absent, or expired), NO_TTL
    or its expire time: what HTTL & co (``read``) and HPERSIST see. HTTL of a listpackex
    counts a field expiring this very ms as gone (``expire <= now``), the rest ``<``."""
    db = c.db
    h = _hash_or_none(db.read(argv[1]) if read else db.get(argv[1]))
    fields = _fields(argv, 2, "Number of fields must be a positive integer")
    if h is None:
        return None, [(f, NO_FIELD) for f in fields]
    fx = h.fx or {}
    now = db.ks.lookup_ms()
    inclusive = read and h.lp is not None
    out = []
    for f in fields:
        at = fx.get(f)
        if h.get(f) is None or (at is not None and (at < now or (inclusive and at == now))):
            out.append((f, NO_FIELD))
        else:
            out.append((f, NO_TTL if at is None else at))
    return h, out


def _httl(c, argv, basetime: int, seconds: bool) -> bytes:
    """httlGenericCommand: per field -2 (no such field, or expired), -1 (no TTL), else
    the TTL (relative to ``basetime``; seconds rounded up)."""
    _, ttls = _field_ttls(c, argv, True)
    return array([integer(at if at < 0 else (at + 999 - basetime) // 1000 if seconds else at - basetime)
                  for _, at in ttls])


@command("httl", -5, "readonly fast", 1, 1, 1, group=G, since="7.4.0")
def httl_cmd(c, argv):
    return _httl(c, argv, c.server.keyspace.now_ms(), True)


@command("hpttl", -5, "readonly fast", 1, 1, 1, group=G, since="7.4.0")
def hpttl_cmd(c, argv):
    return _httl(c, argv, c.server.keyspace.now_ms(), False)


@command("hexpiretime", -5, "readonly fast", 1, 1, 1, group=G, since="7.4.0")
def hexpiretime_cmd(c, argv):
    return _httl(c, argv, 0, True)


@command("hpexpiretime", -5, "readonly fast", 1, 1, 1, group=G, since="7.4.0")
def hpexpiretime_cmd(c, argv):
    return _httl(c, argv, 0, False)


@command("hpersist", -5, "write fast", 1, 1, 1, group=G, since="7.4.0")
def hpersist_cmd(c, argv):
    """hpersistCommand: per field 1 (TTL removed), -1 (no TTL), -2 (no such field, or
    expired). Propagated as sent."""
    h, ttls = _field_ttls(c, argv, False)
    out = []
    changed = False
    for f, at in ttls:
        if at < 0:
            out.append(at)
        elif f not in h.fx:  # type: ignore[operator]  # named twice: persisted already
            out.append(NO_TTL)
        else:
            del h.fx[f]  # type: ignore[union-attr]
            h.place(f)  # type: ignore[union-attr]
            out.append(1)
            changed = True
    if changed:
        notify(c.db, NOTIFY_HASH, b"hpersist", argv[1])
        c.server.dirty += 1
    return array([integer(x) for x in out])

