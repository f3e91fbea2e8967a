"""Database commands: SELECT, SWAPDB, FLUSHDB, FLUSHALL, DBSIZE."""

from __future__ import annotations

from aof.replies import (
    OK,
    integer,
)
from engine.commands.arguments import get_int
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command

G = "generic"


@command("dbsize", 1, "readonly fast", group="server")
def dbsize_cmd(c, argv):
    return integer(len(c.db.data))


@command("select", 2, "loading stale fast", group="connection")
def select_cmd(c, argv):
    idx = get_int(argv[1])
    if c.server.cluster is not None and idx != 0:
        raise CommandError("SELECT is not allowed in cluster mode")
    dbs = c.server.keyspace.dbs
    if idx < 0 or idx >= len(dbs):
        raise CommandError("DB index is out of range")
    c.db = dbs[idx]
    return OK


@command("swapdb", 3, "write fast", group="server", since="4.0.0")
def swapdb_cmd(c, argv):
    if c.server.cluster is not None:
        raise CommandError("SWAPDB is not allowed in cluster mode")
    a = get_int(argv[1], "invalid first DB index")
    b = get_int(argv[2], "invalid second DB index")
    ks = c.server.keyspace
    n = len(ks.dbs)
    if a < 0 or a >= n or b < 0 or b >= n:
        raise CommandError("DB index is out of range")
    if a != b:
        da, db_ = ks.dbs[a], ks.dbs[b]
        c.server.signal_all(da, db_)  # before the swap: what each holds and will hold
        c.server.signal_all(db_, da)
        for attr in ("data", "expires", "lru", "avg_ttl", "scan_keys", "expire_snapshot", "expire_pos",
                     "hits", "misses", "mem", "hexpires"):
            x, y = getattr(da, attr), getattr(db_, attr)
            setattr(da, attr, y)
            setattr(db_, attr, x)
    c.server.dirty += 1
    return OK


def _flush_async_arg(c, argv: list[bytes]) -> bool:
    """getFlushCommandFlags: ASYNC, SYNC, or lazyfree-lazy-user-flush when neither."""
    if len(argv) > 2:
        raise SyntaxErr()
    if len(argv) == 2:
        opt = argv[1].lower()
        if opt not in (b"sync", b"async"):
            raise SyntaxErr()
        return opt == b"async"
    return bool(c.server.config.lazyfree_lazy_user_flush)


@command("flushdb", -1, "write", group="server")
def flushdb_cmd(c, argv):
    lazy = _flush_async_arg(c, argv)
    c.server.signal_all(c.db)  # signalFlushedDb, before the keys are gone
    c.server.tracking.flushed()
    n = c.db.clear()
    if lazy:  # emptyDbAsync counts every key it hands over
        c.server.keyspace.lazyfreed_objects += n
    c.server.dirty += n
    if c.server.propagator.targets:  # forceCommandPropagation: logged even when empty
        c.rewritten = [argv]
    return OK


@command("flushall", -1, "write", group="server")
def flushall_cmd(c, argv):
    lazy = _flush_async_arg(c, argv)
    n = 0
    for db in c.server.keyspace.dbs:
        c.server.signal_all(db)
    c.server.tracking.flushed()  # signalFlushedDb
    for db in c.server.keyspace.dbs:
        n += db.clear()
    if lazy:  # emptyDbAsync counts every key it hands over
        c.server.keyspace.lazyfreed_objects += n
    c.server.dirty += n
    # flushAllDataAndResetRDB: a BGSAVE of the old data is stopped, and with save points
    # the empty dataset is saved at once (the dirty counter drops to 0)
    rdb = c.server.rdb
    rdb.kill_child()
    if rdb.save_points():
        try:
            rdb.save(counted=False)
        except CommandError:
            pass  # logged by save(); FLUSHALL still succeeds, as rdbSave's result is ignored
    if c.server.propagator.targets:  # forceCommandPropagation: logged even when empty
        c.rewritten = [argv]
    return OK
