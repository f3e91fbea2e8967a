"""Expiry commands: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (NX/XX/GT/LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST."""

from __future__ import annotations

from aof.replies import (
    MINUS_ONE,
    MINUS_TWO,
    ONE,
    ZERO,
    integer,
)
from engine import propagate as P
from engine.commands.arguments import LONG_MAX, LONG_MIN, get_int
from engine.errors import CommandError
from engine.execution.registry import command
from engine.notify import NOTIFY_GENERIC, notify

G = "generic"


def _expire_generic(c, argv, basetime: int, seconds: bool, name: str):
    """expireGenericCommand. Propagated as ``PEXPIREAT key <ms> [flags]`` (argv[0] and
    argv[2] replaced, PEXPIREAT itself as sent), or as DEL/UNLINK when already past."""
    flags = set()
    for opt in argv[3:]:
        o = opt.lower()
        if o in (b"nx", b"xx", b"gt", b"lt"):
            flags.add(o)
        else:
            raise CommandError(f"Unsupported option {opt.decode('utf-8', 'surrogateescape')}")
    if b"nx" in flags and flags & {b"xx", b"gt", b"lt"}:
        raise CommandError("NX and XX, GT or LT options at the same time are not compatible")
    if b"gt" in flags and b"lt" in flags:
        raise CommandError("GT and LT options at the same time are not compatible")
    when = get_int(argv[2])
    if seconds:
        if when > LONG_MAX // 1000 or when < -(-LONG_MIN // 1000):
            raise CommandError(f"invalid expire time in '{name}' command")
        when *= 1000
    if when > LONG_MAX - basetime:
        raise CommandError(f"invalid expire time in '{name}' command")
    when += basetime
    db = c.db
    key = argv[1]
    if db.get(key) is None:
        return ZERO
    if flags:
        cur = db.get_expire(key)
        if b"nx" in flags and cur is not None:
            return ZERO
        if b"xx" in flags and cur is None:
            return ZERO
        if b"gt" in flags and (cur is None or when <= cur):
            return ZERO
        if b"lt" in flags and cur is not None and when >= cur:
            return ZERO
    srv = c.server
    # one clock per command (Redis's C code reads it twice, nanoseconds apart): a relative
    # EXPIRE is never "already expired" just because a millisecond ticked in between
    if when <= (basetime or srv.keyspace.now_ms()) and not srv.loading:
        db.delete(key)
        notify(db, NOTIFY_GENERIC, b"del", key)
        if srv.propagator.targets:
            c.rewritten = [[P.del_name(srv.config.lazyfree_lazy_expire), key]]
    else:
        db.expires[key] = when
        notify(db, NOTIFY_GENERIC, b"expire", key)
        if srv.propagator.targets and (basetime or seconds):
            rw = list(argv)
            rw[0] = P.PEXPIREAT
            rw[2] = b"%d" % when
            c.rewritten = [rw]
    srv.dirty += 1
    return ONE


@command("expire", -3, "write fast", 1, 1, 1)
def expire_cmd(c, argv):
    return _expire_generic(c, argv, c.server.keyspace.now_ms(), True, "expire")


@command("pexpire", -3, "write fast", 1, 1, 1, since="2.6.0")
def pexpire_cmd(c, argv):
    return _expire_generic(c, argv, c.server.keyspace.now_ms(), False, "pexpire")


@command("expireat", -3, "write fast", 1, 1, 1, since="1.2.0")
def expireat_cmd(c, argv):
    return _expire_generic(c, argv, 0, True, "expireat")


@command("pexpireat", -3, "write fast", 1, 1, 1, since="2.6.0")
def pexpireat_cmd(c, argv):
    return _expire_generic(c, argv, 0, False, "pexpireat")


def _ttl(c, key: bytes, ms: bool, absolute: bool) -> bytes:
    db = c.db
    if db.read_notouch(key) is None:
        return MINUS_TWO
    when = db.get_expire(key)
    if when is None:
        return MINUS_ONE
    ttl = when if absolute else when - c.server.keyspace.now_ms()
    if ttl < 0:
        ttl = 0
    return integer(ttl if ms else (ttl + 500) // 1000)


@command("ttl", 2, "readonly fast", 1, 1, 1)
def ttl_cmd(c, argv):
    return _ttl(c, argv[1], False, False)


@command("pttl", 2, "readonly fast", 1, 1, 1, since="2.6.0")
def pttl_cmd(c, argv):
    return _ttl(c, argv[1], True, False)


@command("expiretime", 2, "readonly fast", 1, 1, 1, since="7.0.0")
def expiretime_cmd(c, argv):
    return _ttl(c, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", 1, 1, 1, since="7.0.0")
def pexpiretime_cmd(c, argv):
    return _ttl(c, argv[1], True, True)


@command("persist", 2, "write fast", 1, 1, 1, since="2.2.0")
def persist_cmd(c, argv):
    db = c.db
    if db.get(argv[1]) is None:
        return ZERO
    if db.persist(argv[1]):
        c.server.dirty += 1
        notify(db, NOTIFY_GENERIC, b"persist", argv[1])
        return ONE
    return ZERO
