"""MULTI/EXEC/DISCARD/WATCH/UNWATCH (multi.c semantics).

Queueing happens in the dispatcher; WATCHed keys are invalidated there too,
after any write command that changed the dataset (``server.dirty`` moved) and
by FLUSHDB/FLUSHALL/SWAPDB. The state itself is :mod:`engine.execution.transaction`.
"""

from __future__ import annotations

from aof.replies import NULL3, NULL_ARRAY, OK, encode
from engine.errors import CommandError
from engine.execution.dispatch import execute_queued
from engine.execution.registry import command
from engine.execution.transaction import discard, unwatch_all, watch, watched_key_expired

G = "transactions"


@command("multi", 1, "noscript loading stale fast allow_busy", group=G, since="1.2.0")
def multi_cmd(c, argv):
    if c.multi is not None:
        raise CommandError("MULTI calls can not be nested")
    c.multi = []
    c.multi_error = False
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy", group=G, since="2.0.0")
def discard_cmd(c, argv):
    if c.multi is None:
        raise CommandError("DISCARD without MULTI")
    discard(c)
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", group=G, since="1.2.0")
def exec_cmd(c, argv):
    if c.multi is None:
        raise CommandError("EXEC without MULTI")
    queued = c.multi
    c.multi = None
    if c.multi_error:
        c.multi_error = False
        unwatch_all(c)
        raise CommandError("Transaction discarded because of previous errors.", "EXECABORT")
    if c.dirty_cas or (c.watched and watched_key_expired(c)):
        unwatch_all(c)
        return NULL3 if c.resp == 3 else NULL_ARRAY
    unwatch_all(c)
    c.in_exec = True
    try:
        results = execute_queued(c, queued)
    finally:
        c.in_exec = False
    return encode(results, c.resp)


@command("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, group=G, since="2.2.0")
def watch_cmd(c, argv):
    if c.multi is not None:
        raise CommandError("WATCH inside MULTI is not allowed")
    watch(c, c.db, argv[1:])
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group=G, since="2.2.0")
def unwatch_cmd(c, argv):
    unwatch_all(c)
    return OK
