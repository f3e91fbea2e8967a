"""MULTI/EXEC state of a client (``multi.c``): WATCHed keys and discarding a transaction.

Queueing happens in :func:`engine.execution.dispatch.execute`; a write that changed a
WATCHed key flags its watchers (``Server.signal_keys``: ``touchWatchedKey``); EXEC runs
the queue through :func:`engine.execution.dispatch.call`. The commands themselves are
:mod:`engine.commands.transactions`.
"""

from __future__ import annotations

from typing import Any


def watch(c: Any, db: Any, keys: list[bytes]) -> None:
    """watchForKey for each key: the client hears of any change to them in ``db``."""
    for k in keys:
        ident = (db.id, k)
        if ident in c.watched:
            continue
        c.watched.add(ident)
        db.watched.setdefault(k, {})[c] = db.key_is_expired(k)


def unwatch_all(c: Any) -> None:
    """unwatchAllKeys: forget every WATCHed key (and that one of them changed)."""
    dbs = c.server.keyspace.dbs
    for dbid, key in c.watched:
        clients = dbs[dbid].watched.get(key)
        if clients is not None:
            clients.pop(c, None)
            if not clients:
                del dbs[dbid].watched[key]
    c.watched = set()
    c.dirty_cas = False


def watched_key_expired(c: Any) -> bool:
    """isWatchedKeyExpired: a WATCHed key (not already expired at WATCH time) has
    logically expired since, even if nothing deleted it yet."""
    dbs = c.server.keyspace.dbs
    for dbid, key in c.watched:
        db = dbs[dbid]
        if not db.watched[key].get(c) and db.key_is_expired(key):
            return True
    return False


def discard(c: Any) -> None:
    """discardTransaction: no queue, no error flag, no WATCHed keys."""
    c.multi = None
    c.multi_error = False
    unwatch_all(c)


__all__ = ["discard", "unwatch_all", "watch", "watched_key_expired"]
