"""Hash commands (t_hash.c semantics) over :class:`~engine.types.HashValue`, a listpack's
bytes or a dict; encodings follow hash-max-listpack-*."""

from __future__ import annotations

import random
from fractions import Fraction

from aof.replies import (
    EMPTY_ARRAY,
    NULL3,
    NULL_BULK,
    OK,
    ONE,
    ZERO,
    array,
    bulk,
    bulks,
    bulks_resp,
    integer,
    map_header,
    map_of_bulks,
    pair,
)
from engine import propagate as P
from engine.commands.arguments import LONG_MAX, LONG_MIN, get_int, get_range_long
from engine.commands.keys import parse_scan_options, scan_reply
from engine.errors import CommandError, SyntaxErr, WrongTypeError
from engine.execution.obuf import random_picks
from engine.execution.registry import TABLE, command
from engine.keyspace.hfe import expire_if_needed, lazy_field
from engine.keyspace.scan import parse_cursor, scan_items
from engine.notify import NOTIFY_GENERIC, NOTIFY_HASH, notify
from engine.types import HashValue
from engine.types.strings import format_long_double, ld_add, parse_long_double
from rdbtools._accel import c_module
from rdbtools.encodings.listpack_ops import lp_length, lp_pairs_get, lp_pairs_set
from rdbtools.glob import glob_matcher
from rdbtools.numbers import string2ll

G = "hash"


def _hash(db, key: bytes, read: bool = False):
    v = db.read(key) if read else db.get(key)
    if v is not None and v.__class__ is not HashValue:
        raise WrongTypeError()
    return v


def _hash_create(c, key: bytes) -> HashValue:
    db = c.db
    h = db.get(key)
    if h is None:
        h = HashValue()
        db.add(key, h)
    elif h.__class__ is not HashValue:
        raise WrongTypeError()
    return h


def _hset(c, argv, name: str) -> HashValue:
    if len(argv) % 2:
        raise CommandError(f"wrong number of arguments for '{name}' command")
    h = _hash_create(c, argv[1])
    cfg = c.server.config
    h.try_conversion(argv[2:], cfg.hash_max_listpack_value)
    return h


@command("hset", -4, "write denyoom fast", 1, 1, 1, group=G, since="2.0.0")
def hset_cmd(c, argv):
    if len(argv) == 4:  # one field: the common case, inlined
        db = c.db
        h = db.get(argv[1])
        if h is None:
            h = HashValue()
            db.add(argv[1], h)
        elif h.__class__ is not HashValue:
            raise WrongTypeError()
        cfg = c.server.config
        f, v = argv[2], argv[3]
        lp = h.lp
        mv = cfg.hash_max_listpack_value
        if lp is not None and len(f) <= mv and len(v) <= mv and not h.fx:  # h.set_field, inlined
            new = lp_pairs_set(lp, f, v)
            if new and lp_length(lp) > 2 * cfg.hash_max_listpack_entries:
                h.convert()
        else:
            new = h.set_field(f, v, cfg.hash_max_listpack_entries, mv)
        c.server.dirty += 1
        if cfg.notify_keyspace_events:  # notify()'s own first check, without the call: hot
            notify(db, NOTIFY_HASH, b"hset", argv[1])
        return ONE if new else ZERO
    h = _hset(c, argv, "hset")
    cfg = c.server.config
    me, mv = cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value
    created = 0
    for j in range(2, len(argv), 2):
        if h.set_field(argv[j], argv[j + 1], me, mv):
            created += 1
    c.server.dirty += (len(argv) - 2) // 2
    notify(c.db, NOTIFY_HASH, b"hset", argv[1])
    return integer(created)


@command("hmset", -4, "write denyoom fast", 1, 1, 1, group=G, since="2.0.0")
def hmset_cmd(c, argv):
    h = _hset(c, argv, "hmset")
    cfg = c.server.config
    me, mv = cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value
    for j in range(2, len(argv), 2):
        h.set_field(argv[j], argv[j + 1], me, mv)
    c.server.dirty += (len(argv) - 2) // 2
    notify(c.db, NOTIFY_HASH, b"hset", argv[1])
    return OK


@command("hsetnx", 4, "write denyoom fast", 1, 1, 1, group=G, since="2.0.0")
def hsetnx_cmd(c, argv):
    h = _hash_create(c, argv[1])
    gone = h.fx and lazy_field(c.db, argv[1], h, argv[2])
    if gone == 2:  # its last field expired: the hash went with it
        h = _hash_create(c, argv[1])
    elif not gone and h.get(argv[2]) is not None:
        return ZERO
    cfg = c.server.config
    h.try_conversion(argv[2:4], cfg.hash_max_listpack_value)
    h.set_field(argv[2], argv[3], cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value)
    c.server.dirty += 1
    notify(c.db, NOTIFY_HASH, b"hset", argv[1])
    return ONE


@command("hget", 3, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def hget_cmd(c, argv):
    h = c.db.read(argv[1])  # _hash and h.get, inlined: the hot path
    if h is None:
        v = None
    elif h.__class__ is not HashValue:
        raise WrongTypeError()
    elif h.fx and lazy_field(c.db, argv[1], h, argv[2]):
        v = None  # expired (reclaimed when allowed)
    else:
        lp = h.lp
        v = lp_pairs_get(lp, argv[2]) if lp is not None else h.ht.get(argv[2])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(v)


_bodies = c_module("engine._fastpath")
if hasattr(_bodies, "configure_bodies"):  # the common cases in C (engine/_bodies.h), the rest by these handlers
    _bodies.configure_bodies(HashValue, hset_cmd, hget_cmd, ONE, ZERO, NULL_BULK, NULL3, bulk, lp_pairs_set,
                             lp_pairs_get, lp_length)
    TABLE.commands["hset"].proc = _bodies.hset
    TABLE.commands["hget"].proc = _bodies.hget


@command("hmget", -3, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def hmget_cmd(c, argv):
    h = _hash(c.db, argv[1], True)
    if h is not None and h.fx:
        return bulks_resp(_hmget_fields(c.db, argv[1], h, argv[2:]), c.resp)
    vals = [None] * (len(argv) - 2) if h is None else [h.get(f) for f in argv[2:]]
    return bulks_resp(vals, c.resp)


def _hmget_fields(db, key: bytes, h: HashValue, fields: list[bytes]) -> list[bytes | None]:
    """HMGET over a hash with field TTLs: expired fields reclaimed one by one, one
    ``hexpired`` (and ``del`` when the hash went) for them all (HFE_LAZY_NO_NOTIFICATION)."""
    vals: list[bytes | None] = []
    expired = deleted = False
    for f in fields:
        if deleted:
            vals.append(None)
            continue
        res = lazy_field(db, key, h, f, False)
        expired = expired or res == 1
        deleted = res == 2
        vals.append(None if res else h.get(f))
    if expired:  # as hmgetCommand: a first field that takes the hash notifies nothing
        notify(db, NOTIFY_HASH, b"hexpired", key)
        if deleted:
            notify(db, NOTIFY_GENERIC, b"del", key)
    return vals


@command("hdel", -3, "write fast", 1, 1, 1, group=G, since="2.0.0")
def hdel_cmd(c, argv):
    h = _hash(c.db, argv[1])
    if h is None:
        return ZERO
    n = 0
    removed = False
    for f in argv[2:]:
        if h.delete(f):
            n += 1
            if not len(h):
                c.db.delete(argv[1])
                removed = True
                break
    if n:
        notify(c.db, NOTIFY_HASH, b"hdel", argv[1])
        if removed:
            notify(c.db, NOTIFY_GENERIC, b"del", argv[1])
    c.server.dirty += n
    return integer(n)


@command("hlen", 2, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def hlen_cmd(c, argv):
    h = _hash(c.db, argv[1], True)
    return ZERO if h is None else integer(len(h))


@command("hstrlen", 3, "readonly fast", 1, 1, 1, group=G, since="3.2.0")
def hstrlen_cmd(c, argv):
    h = _hash(c.db, argv[1], True)
    v = None if h is None or (h.fx and lazy_field(c.db, argv[1], h, argv[2])) else h.get(argv[2])
    return ZERO if v is None else integer(len(v))


@command("hexists", 3, "readonly fast", 1, 1, 1, group=G, since="2.0.0")
def hexists_cmd(c, argv):
    h = _hash(c.db, argv[1], True)
    if h is None or (h.fx and lazy_field(c.db, argv[1], h, argv[2])):
        return ZERO
    return ONE if h.get(argv[2]) is not None else ZERO


def _incr_target(c, key: bytes, field: bytes) -> tuple[HashValue, bytes | None]:
    """hashTypeLookupWriteOrCreate + hashTypeGetValue(HFE_LAZY_EXPIRE) for HINCRBY*: the
    hash (a new one when the field's expiry took the hash) and the field's live value."""
    h = _hash_create(c, key)
    if h.fx:
        res = lazy_field(c.db, key, h, field)
        if res == 2:
            return _hash_create(c, key), None
        if res:
            return h, None
    return h, h.get(field)


@command("hincrby", 4, "write denyoom fast", 1, 1, 1, group=G, since="2.0.0")
def hincrby_cmd(c, argv):
    incr = get_int(argv[3])
    h, old = _incr_target(c, argv[1], argv[2])
    if old is None:
        value = 0
    else:
        value = string2ll(old)
        if value is None:
            raise CommandError("hash value is not an integer")
    if (incr < 0 and value < 0 and incr < LONG_MIN - value) or (incr > 0 and value > 0 and incr > LONG_MAX - value):
        raise CommandError("increment or decrement would overflow")
    value += incr
    cfg = c.server.config
    h.set_field(argv[2], b"%d" % value, cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value, True)
    c.server.dirty += 1
    notify(c.db, NOTIFY_HASH, b"hincrby", argv[1])
    return integer(value)


@command("hincrbyfloat", 4, "write denyoom fast", 1, 1, 1, group=G, since="2.6.0")
def hincrbyfloat_cmd(c, argv):
    incr = parse_long_double(argv[3])
    if incr is None:
        raise CommandError("value is not a valid float")
    if isinstance(incr, float):
        raise CommandError("value is NaN or Infinity")
    h, old = _incr_target(c, argv[1], argv[2])
    if old is None:
        value: Fraction | float = Fraction(0)
    else:
        value = parse_long_double(old)  # type: ignore[assignment]
        if value is None:
            raise CommandError("hash value is not a float")
    res = ld_add(value, incr)
    if isinstance(res, float):
        raise CommandError("increment would produce NaN or Infinity")
    text = format_long_double(res)
    cfg = c.server.config
    h.set_field(argv[2], text, cfg.hash_max_listpack_entries, cfg.hash_max_listpack_value, True)
    c.server.dirty += 1
    notify(c.db, NOTIFY_HASH, b"hincrbyfloat", argv[1])
    if c.server.propagator.targets:  # the final value, so float formatting cannot drift
        c.rewritten = [[P.HSET, argv[1], argv[2], text]]
    return bulk(text)


def _fields_reply(h, keys: bool, vals: bool, resp: int, now: int = 0) -> bytes:
    if h is None:
        return map_header(0, resp) if keys and vals else EMPTY_ARRAY
    if h.fx:  # expired fields are skipped, not reclaimed (hashTypeNext skipExpiredFields)
        items = h.live_items(now)
        if keys and vals:
            return map_of_bulks([x for kv in items for x in kv], resp)
        return bulks([kv[0 if keys else 1] for kv in items])
    if keys and vals:
        return map_of_bulks(h.flat(), resp)
    return bulks(h.keys() if keys else h.values())


@command("hkeys", 2, "readonly", 1, 1, 1, group=G, since="2.0.0")
def hkeys_cmd(c, argv):
    return _fields_reply(_hash(c.db, argv[1], True), True, False, c.resp, c.db.ks.lookup_ms())


@command("hvals", 2, "readonly", 1, 1, 1, group=G, since="2.0.0")
def hvals_cmd(c, argv):
    return _fields_reply(_hash(c.db, argv[1], True), False, True, c.resp, c.db.ks.lookup_ms())


@command("hgetall", 2, "readonly", 1, 1, 1, group=G, since="2.0.0")
def hgetall_cmd(c, argv):
    return _fields_reply(_hash(c.db, argv[1], True), True, True, c.resp, c.db.ks.lookup_ms())


@command("hscan", -3, "readonly", 1, 1, 1, group=G, since="2.8.0")
def hscan_cmd(c, argv):
    cursor = parse_cursor(argv[2])
    count, pat, _ = parse_scan_options(argv, 3, False)
    h = _hash(c.db, argv[1], True)
    if h is None:
        return scan_reply(0, [])
    m = glob_matcher(pat) if pat is not None else None
    if h.wide:  # a hashtable to Redis: scanned as one, by its dict
        h.convert()
    if h.lp is not None:  # a listpack answers everything at once, cursor 0 (scanGenericCommand)
        # expired fields are skipped, not reclaimed
        flat = h.flat() if not h.fx else [x for kv in h.live_items(c.db.ks.lookup_ms()) for x in kv]
        if m is None:
            return scan_reply(0, flat)
        return scan_reply(0, [x for i in range(0, len(flat), 2) if m(flat[i]) for x in flat[i:i + 2]])
    ht = h.ht
    nxt, fields = scan_items(ht.keys(), cursor, count)
    out = []
    fx = h.fx
    now = c.db.ks.lookup_ms() if fx else 0
    for f in fields:
        if m is not None and not m(f):
            continue
        if fx and (at := fx.get(f)) is not None and at < now:
            continue  # expired: skipped, not reclaimed
        out += [f, ht[f]]
    return scan_reply(nxt, out)


@command("hrandfield", -2, "readonly", 1, 1, 1, group=G, since="6.2.0")
def hrandfield_cmd(c, argv):
    if len(argv) >= 3:
        count = get_range_long(argv[2], -LONG_MAX, LONG_MAX)
        withvalues = False
        if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withvalues"):
            raise SyntaxErr()
        if len(argv) == 4:
            withvalues = True
            if count < -LONG_MAX // 2 or count > LONG_MAX // 2:
                raise CommandError("value is out of range")
        h = _hash(c.db, argv[1], True)
        if h is None or expire_if_needed(c.db, argv[1], h) or count == 0:
            return EMPTY_ARRAY
        pairs = h.items()
        if count < 0:
            if not withvalues:
                return random_picks(c, [f for f, _ in pairs], -count, bulk)
            if c.resp == 3:
                return random_picks(c, pairs, -count, lambda fv: pair(bulk(fv[0]), bulk(fv[1])))
            return random_picks(c, pairs, -count, lambda fv: bulk(fv[0]) + bulk(fv[1]), 2)
        if count >= len(pairs):
            picks = pairs
        else:
            picks = random.sample(pairs, count)
        if not withvalues:
            return bulks([f for f, _ in picks])
        if c.resp == 3:
            return array([pair(bulk(f), bulk(v)) for f, v in picks])
        return bulks([x for kv in picks for x in kv])
    h = _hash(c.db, argv[1], True)
    if h is None or expire_if_needed(c.db, argv[1], h):
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(random.choice(h.keys()))
