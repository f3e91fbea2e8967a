"""Generic key commands (db.c / expire.c / object.c semantics) and database commands."""

from __future__ import annotations

import time

from aof.replies import (
    NULL3,
    NULL_BULK,
    OK,
    ONE,
    ZERO,
    bulk,
    bulks,
    integer,
    pair,
)
from engine import propagate as P
from engine.commands.arguments import get_int
from engine.errors import CommandError, SyntaxErr
from engine.execution.meta import Arg, CommandMeta, KeySpec
from engine.execution.obuf import REPLY_CHUNK, refuse_output
from engine.execution.registry import command
from engine.keyspace.scan import KeyspaceScanIndex, parse_cursor
from engine.notify import NOTIFY_GENERIC, notify
from engine.types import EmbStr, HashValue, ListValue, type_name
from rdbtools.glob import glob_matcher

G = "generic"


def copy_value(v):
    """The value COPY stores: dupStringObject, listTypeDup, setTypeDup, zsetDup,
    hashTypeDup or streamDup (entries, node layout, groups, consumers and PELs).

    Immutable ``bytes`` strings are shared; a ``bytearray`` (raw strings, HyperLogLog)
    is duplicated because commands change it in place."""
    t = v.__class__
    if t is bytes or t is EmbStr:
        return v
    if t is bytearray:
        return bytearray(v)
    if t is ListValue or t is HashValue:
        return v.copy()
    return v.copy_value()  # SetValue, ZSetValue, StreamValue


# -- deletion / existence ------------------------------------------------------

def _del(c, argv, lazy):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.peek(k) is not None and db.delete(k, lazy):
            notify(db, NOTIFY_GENERIC, b"del", k)
            n += 1
    c.server.dirty += n
    return integer(n)


@command("del", -2, "write", 1, -1, 1)
def del_cmd(c, argv):
    return _del(c, argv, c.server.config.lazyfree_lazy_user_del)


@command("unlink", -2, "write fast", 1, -1, 1, since="4.0.0")
def unlink_cmd(c, argv):
    return _del(c, argv, True)


@command("exists", -2, "readonly fast", 1, -1, 1)
def exists_cmd(c, argv):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.read_notouch(k) is not None:
            n += 1
    return integer(n)


@command("touch", -2, "readonly fast", 1, -1, 1, since="3.2.1")
def touch_cmd(c, argv):
    db = c.db
    return integer(sum(1 for k in argv[1:] if db.read(k) is not None))


@command("type", 2, "readonly fast", 1, 1, 1)
def type_cmd(c, argv):
    v = c.db.read_notouch(argv[1])
    if v is None:
        return b"+none\r\n"
    return b"+%s\r\n" % type_name(v)


# -- rename / copy / move -----------------------------------------------------

def _rename(c, argv, nx: bool):
    db = c.db
    src, dst = argv[1], argv[2]
    v = db.get(src)
    if v is None:
        raise CommandError("no such key")
    if src == dst:
        return ZERO if nx else OK
    expire = db.get_expire(src)
    if db.get(dst) is not None:
        if nx:
            return ZERO
        db.delete(dst)
    word = db.lru.get(src)
    db.delete(src)
    db.add(dst, v)
    if word is not None:  # dbAdd of the same object: its LRU/LFU word goes with it
        db.lru[dst] = word
    if expire is not None:
        db.expires[dst] = expire
    c.server.dirty += 1
    notify(db, NOTIFY_GENERIC, b"rename_from", src)
    notify(db, NOTIFY_GENERIC, b"rename_to", dst)
    return ONE if nx else OK


@command("rename", 3, "write", 1, 2, 1)
def rename_cmd(c, argv):
    return _rename(c, argv, False)


@command("renamenx", 3, "write fast", 1, 2, 1)
def renamenx_cmd(c, argv):
    return _rename(c, argv, True)




@command("copy", -3, "write denyoom", 1, 2, 1, since="6.2.0", modified=lambda a: [2])
def copy_cmd(c, argv):
    src, dst = argv[1], argv[2]
    srcdb = dstdb = c.db
    replace = False
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"replace":
            replace = True
        elif opt == b"db" and j + 1 < len(argv):
            idx = get_int(argv[j + 1])
            dbs = c.server.keyspace.dbs
            if idx < 0 or idx >= len(dbs) or idx > 2**31 - 1:
                raise CommandError("DB index is out of range")
            dstdb = dbs[idx]
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    if c.server.cluster is not None and (srcdb.id != 0 or dstdb.id != 0):
        raise CommandError("Copying to another database is not allowed in cluster mode")
    if srcdb is dstdb and src == dst:
        raise CommandError("source and destination objects are the same")
    v = srcdb.read(src)  # lookupKeyRead: a hit or a miss
    if v is None:
        return ZERO
    expire = srcdb.get_expire(src)
    if dstdb.get(dst) is not None:
        if not replace:
            return ZERO
        dstdb.delete(dst)
    dstdb.add(dst, copy_value(v))
    if expire is not None:
        dstdb.expires[dst] = expire
    c.server.dirty += 1
    notify(dstdb, NOTIFY_GENERIC, b"copy_to", dst)
    if dstdb is not srcdb:
        c.server.signal_keys(dstdb, [dst], c)
        if dstdb.mem is not None:  # maxmemory accounting: call() sees only the current db
            c.server.memory.touched(dstdb, [dst])
    return ONE


@command("move", 3, "write fast", 1, 1, 1)
def move_cmd(c, argv):
    if c.server.cluster is not None:
        raise CommandError("MOVE is not allowed in cluster mode")
    key = argv[1]
    src = c.db
    idx = get_int(argv[2])
    dbs = c.server.keyspace.dbs
    if idx < 0 or idx >= len(dbs):
        raise CommandError("DB index is out of range")
    dst = dbs[idx]
    if src is dst:
        raise CommandError("source and destination objects are the same")
    v = src.get(key)
    if v is None:
        return ZERO
    expire = src.get_expire(key)
    if dst.get(key) is not None:
        return ZERO
    dst.add(key, v)
    word = src.lru.get(key)
    if word is not None:  # dbAdd of the same object: its LRU/LFU word goes with it
        dst.lru[key] = word
    if expire is not None:
        dst.expires[key] = expire
    src.delete(key)
    c.server.dirty += 1
    notify(src, NOTIFY_GENERIC, b"move_from", key)
    notify(dst, NOTIFY_GENERIC, b"move_to", key)
    c.server.signal_keys(dst, [key], c)
    if dst.mem is not None:  # maxmemory accounting: call() sees only the current db
        c.server.memory.touched(dst, [key])
    return ONE


# -- keys / scan / randomkey ----------------------------------------------------

@command("keys", 2, "readonly")
def keys_cmd(c, argv):
    db = c.db
    pat = argv[1]
    now = db.ks.now_ms()
    exp = db.expires
    if pat == b"*":
        keys = list(db.data)
    else:
        m = glob_matcher(pat)
        keys = [k for k in db.data if m(k)]
    if exp:  # keyIsExpired: expired keys are skipped, not deleted (nor propagated)
        keys = [k for k in keys if (when := exp.get(k)) is None or now <= when]
    out = bulks(keys)
    # addReplyDeferredLen: the reply goes to the reply list whole, none of it to the 16 KiB
    # static buffer, so all of it counts against the output limit
    if len(out) > REPLY_CHUNK and refuse_output(c, len(out) + REPLY_CHUNK):
        return b""
    return out


def parse_scan_options(argv: list[bytes], start: int, allow_type: bool) -> tuple[int, bytes | None, bytes | None]:
    count = 10
    pat = None
    typ = None
    j = start
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        remaining = n - j - 1
        if opt == b"count" and remaining >= 1:
            count = get_int(argv[j + 1])
            if count < 1:
                raise SyntaxErr()
            j += 2
        elif opt == b"match" and remaining >= 1:
            pat = argv[j + 1]
            if pat == b"*":
                pat = None
            j += 2
        elif opt == b"type" and remaining >= 1 and allow_type:
            typ = argv[j + 1]
            j += 2
        else:
            raise SyntaxErr()
    return count, pat, typ


def scan_reply(cursor: int, items: list[bytes]) -> bytes:
    return pair(bulk(b"%d" % cursor), bulks(items))


@command("scan", -2, "readonly", since="2.8.0")
def scan_cmd(c, argv):
    cursor = parse_cursor(argv[1])
    count, pat, typ = parse_scan_options(argv, 2, True)
    db = c.db
    idx = db.scan_keys
    if cursor == 0 or idx is None:
        idx = db.scan_keys = KeyspaceScanIndex(db.data)  # type: ignore[assignment]
    nxt, keys = idx.step(cursor, count)  # type: ignore[union-attr]
    if nxt == 0:
        db.scan_keys = None
    out = []
    m = glob_matcher(pat) if pat is not None else None
    for k in keys:
        v = db.data.get(k)
        if v is None:
            continue
        if m is not None and not m(k):
            continue
        if typ is not None and type_name(v) != typ.lower():
            continue
        if db.peek(k) is None:
            continue
        out.append(k)
    return scan_reply(nxt, out)


@command("randomkey", 1, "readonly")
def randomkey_cmd(c, argv):
    k = c.db.random_key()
    if k is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(k)


@command("dump", 2, "readonly", 1, 1, 1, since="2.6.0")
def dump_cmd(c, argv):
    from engine.materialize import dump_payload

    v = c.db.read(argv[1])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(dump_payload(v, c.server.config))


def _count_sanitized(c, payload: bytes, failed_at: int | None) -> None:
    """INFO's dump_payload_sanitizations: the blobs validated (all, or those up to where the
    parse failed) count when the setting asks for deep validation, as rdbLoadObject's
    deep_integrity_validation; ``clients`` leaves out the master link and loading. This
    server validates every payload deeply anyway (engine.materialize.restore_payload)."""
    from rdbtools.dump import payload_blobs

    srv = c.server
    mode = srv.config.sanitize_dump_payload
    if mode == "yes" or (mode == "clients" and not srv.loading and c.client_type() != "master"):
        srv.stats.dump_payload_sanitizations += len(payload_blobs(payload, failed_at))


@command("restore", -4, "write denyoom", 1, 1, 1, since="2.6.0")
def restore_cmd(c, argv):
    from engine.materialize import PayloadError, restore_payload

    replace = absttl = False
    idle = freq = -1
    j = 4
    while j < len(argv):
        opt = argv[j].lower()
        more = len(argv) - j - 1
        if opt == b"replace":
            replace = True
        elif opt == b"absttl":
            absttl = True
        elif opt == b"idletime" and more >= 1 and freq == -1:
            idle = get_int(argv[j + 1])
            if idle < 0:
                raise CommandError("Invalid IDLETIME value, must be >= 0")
            j += 1
        elif opt == b"freq" and more >= 1 and idle == -1:
            freq = get_int(argv[j + 1])
            if freq < 0 or freq > 255:
                raise CommandError("Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise SyntaxErr()
        j += 1
    db = c.db
    key = argv[1]
    if not replace and db.get(key) is not None:
        raise CommandError("Target key name already exists.", "BUSYKEY")
    ttl = get_int(argv[2])
    if ttl < 0:
        raise CommandError("Invalid TTL value, must be >= 0")
    try:
        value = restore_payload(argv[3], c.server.config)
    except PayloadError as exc:
        if exc.decoded:
            _count_sanitized(c, argv[3], exc.at)
        raise
    _count_sanitized(c, argv[3], None)
    deleted = db.delete(key) if replace else False
    srv = c.server
    if ttl and not absttl:
        ttl += srv.keyspace.now_ms()
    if ttl and ttl <= srv.keyspace.now_ms() and not srv.loading:
        if deleted:
            srv.dirty += 1
            notify(db, NOTIFY_GENERIC, b"del", key)
            if srv.propagator.targets:
                c.rewritten = [[P.DEL, key]]
        return OK
    db.add(key, value)
    if ttl:
        db.expires[key] = ttl
        if not absttl and srv.propagator.targets:  # the TTL as an absolute time
            rw = list(argv)
            rw[2] = b"%d" % ttl
            rw.append(P.ABSTTL)
            c.rewritten = [rw]
    if idle >= 0 and not db.lfu:
        db.lru[key] = c.server.keyspace.lru_clock - idle
    elif freq >= 0 and db.lfu:
        db.lru[key] = (c.server.keyspace.lfu_minutes() << 8) | freq
    c.server.dirty += 1
    notify(db, NOTIFY_GENERIC, b"restore", key)
    return OK


# RESTORE-ASKING: RESTORE with the ASKING flag (a cluster node accepts it for a slot it is
# importing); outside a cluster it is RESTORE, propagated under its own name as Redis does
_RESTORE_COMPLEXITY = (
    "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N "
    "is the number of Redis objects composing the value and M their average size. For small string "
    "values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for "
    "sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is "
    "O(log(N)).")
_RESTORE_ASKING = CommandMeta(
    acl=("@keyspace", "@write", "@slow", "@dangerous"),
    key_specs=(KeySpec(("OW", "update"), ("index", 1), ("range", 0, 1, 0)),),
    complexity=_RESTORE_COMPLEXITY, doc_flags=("syscmd",),
    history=(("3.0.0", "Added the `REPLACE` modifier."), ("5.0.0", "Added the `ABSTTL` modifier."),
             ("5.0.0", "Added the `IDLETIME` and `FREQ` options.")),
    args=(Arg("key", "key", key_spec_index=0), Arg("ttl", "integer"), Arg("serialized-value", "string"),
          Arg("replace", "pure-token", "REPLACE", flags=("optional",), since="3.0.0"),
          Arg("absttl", "pure-token", "ABSTTL", flags=("optional",), since="5.0.0"),
          Arg("seconds", "integer", "IDLETIME", flags=("optional",), since="5.0.0"),
          Arg("frequency", "integer", "FREQ", flags=("optional",), since="5.0.0")))
command("restore-asking", -4, "write denyoom asking", 1, 1, 1, group="server", since="3.0.0",
        summary="An internal command for migrating keys in a cluster", meta=_RESTORE_ASKING)(restore_cmd)


@command("lastsave", 1, "loading stale fast", group="server")
def lastsave_cmd(c, argv):
    return integer(c.server.rdb.lastsave)


@command("time", 1, "loading stale fast", group="server", since="2.6.0")
def time_cmd(c, argv):
    t = time.time_ns() // 1000
    return bulks([b"%d" % (t // 1000000), b"%d" % (t % 1000000)])

