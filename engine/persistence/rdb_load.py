"""Load ``dir/dbfilename`` at start through ``rdbtools.iter_records`` + ``materialize``.

Keys already expired at load time are dropped (a master's ``rdbLoad`` does the
same); records of types the server does not serve are skipped with a warning,
counted in ``server.rdb.load_skipped``. The caller can ask for the file's AUX fields (the
replication info ``rdbLoad`` hands back in its ``rdbSaveInfo``) and the keys dropped as
expired (a restarted master feeds their DELs to its new backlog).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.errors import CommandError, LoadError
from engine.materialize import UnsupportedValue, record_to_value
from rdbtools import RdbError, iter_events
from rdbtools.model import Aux, FunctionLibrary, Record

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)


def load_function(server: Host, code: bytes) -> None:
    """A FUNCTION2 record: the library joins the server's functions (replacing a same-named one)."""
    try:
        server.scripting.functions.load_code(code)
    except CommandError as exc:
        raise LoadError(f"Failed loading library: {exc.text}") from None


def load_rdb_file(server: Host, path: str, aux: dict[bytes, bytes] | None = None,
                  expired_keys: list[tuple[int, bytes]] | None = None) -> int:
    cfg = server.config
    dbs = server.keyspace.dbs
    now = server.keyspace.now_ms()
    loaded = expired = skipped = 0
    try:
        for rec in iter_events(path):
            if type(rec) is not Record:
                if type(rec) is Aux:
                    if aux is not None:
                        aux[rec.key.lower()] = rec.value
                elif type(rec) is FunctionLibrary:  # rdbFunctionLoad: a failing library aborts the load
                    load_function(server, rec.code)
                continue
            if rec.expire_ms is not None and rec.expire_ms <= now:
                expired += 1
                if expired_keys is not None:
                    expired_keys.append((rec.db, rec.key))
                continue
            if rec.db >= len(dbs):
                raise LoadError(f"{path}: key in db {rec.db} but databases is {len(dbs)}")
            try:
                value = record_to_value(rec, cfg)
            except UnsupportedValue as exc:
                skipped += 1
                if skipped <= 10:
                    log.warning("Skipping key %r in db %d: %s", rec.key, rec.db, exc)
                continue
            db = dbs[rec.db]
            # no access-metadata entry unless the file carries one (saves memory per key);
            # untouched keys report their idle time from the load clock
            db.data[rec.key] = value
            if rec.expire_ms is not None:
                db.expires[rec.key] = rec.expire_ms
            if rec.idle is not None and not db.lfu:
                db.lru[rec.key] = server.keyspace.lru_clock - rec.idle
            elif rec.freq is not None and db.lfu:
                db.lru[rec.key] = (server.keyspace.lfu_minutes() << 8) | rec.freq
            loaded += 1
    except RdbError as exc:
        raise LoadError(f"Short read or corrupt RDB file: {exc}") from exc
    except OSError as exc:  # unreadable (a directory, permissions): never start empty over it
        raise LoadError(f"Fatal error loading the DB, can't read {path}: {exc.strerror or exc}. Exiting.") from exc
    server.rdb.load_expired = expired
    server.rdb.load_skipped = skipped
    if skipped:
        log.warning("%d keys of unsupported types were not loaded", skipped)
    return loaded
