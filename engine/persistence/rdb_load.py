"""Load an RDB file (``dir/dbfilename`` at start, DEBUG RELOAD) through ``rdbtools.iter_events``
and the one dataset loader (:class:`engine.persistence.dataset.DatasetLoader`).

Keys already expired at load time are dropped by a master (``rdbLoad`` does the same;
a replica keeps them for its master's DELs), LRU/LFU hints are restored; records of
types the server does not serve are skipped with a warning, counted in
``server.rdb.load_skipped``. The caller can ask for the file's AUX fields (the
replication info ``rdbLoad`` hands back in its ``rdbSaveInfo``) and the keys dropped as
expired (a restarted master feeds their DELs to its new backlog).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.errors import CommandError, LoadError
from engine.materialize import UnsupportedValue
from engine.persistence.aof_replay import gc_paused
from engine.persistence.dataset import DatasetLoader
from rdbtools import RdbError, iter_events
from rdbtools.model import Aux, FunctionLibrary, FunctionPreGA, Record

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)


def load_function(server: Host, code: bytes, replace: bool = True) -> None:
    """A FUNCTION2 record: the library joins the server's functions (replacing a same-named
    one only when ``replace``: RDBFLAGS_ALLOW_DUP)."""
    try:
        server.scripting.functions.load_code(code, replace)
    except CommandError as exc:
        raise LoadError(f"Failed loading library: {exc.text}") from None


def load_rdb_file(server: Host, path: str, aux: dict[bytes, bytes] | None = None,
                  expired_keys: list[tuple[int, bytes]] | None = None, drop_expired: bool = True,
                  allow_dup: bool = False) -> int:
    """rdbLoad of ``path`` into the server's keyspace; returns the number of keys loaded.
    ``drop_expired``: a master drops keys already expired (a replica keeps them for its
    master's DELs); ``expired_keys`` receives the dropped ones. A key or library already
    present fails the load unless ``allow_dup`` (DEBUG RELOAD MERGE)."""
    loader = DatasetLoader(server.keyspace, server.config, drop_expired=drop_expired,
                           keep_expired_keys=expired_keys is not None, allow_dup=allow_dup)
    skipped = 0
    try:
        # a load makes no cycles: no collections over the growing dataset, which is then frozen
        with gc_paused(True, freeze=True):
            # a key read twice is the loader's to judge (rdbLoad's dbAddRDBLoad), as its
            # tables hold every key anyway: no second set of them in the decoder
            for rec in iter_events(path, packed_listpacks=True, sink=loader.sink(), check_duplicates=False):
                if type(rec) is not Record:
                    if type(rec) is Aux:
                        if aux is not None:
                            aux[rec.key.lower()] = rec.value
                    elif type(rec) is FunctionLibrary:  # rdbFunctionLoad: a failing library aborts the load
                        load_function(server, rec.code, allow_dup)
                    elif type(rec) is FunctionPreGA:  # a 7.0 release candidate's form, translated
                        load_function(server, rec.library().code, allow_dup)
                    continue
                try:
                    loader.add(rec)
                except UnsupportedValue as exc:
                    skipped += 1
                    if skipped <= 10:
                        log.warning("Skipping key %r in db %d: %s", rec.key, rec.db, exc)
                except LoadError as exc:
                    raise LoadError(f"{path}: {exc}") from None
    except RdbError as exc:
        raise LoadError(f"Short read or corrupt RDB file: {exc}") from exc
    except OSError as exc:  # unreadable (a directory, permissions): never start empty over it
        raise LoadError(f"Fatal error loading the DB, can't read {path}: {exc.strerror or exc}. Exiting.") from exc
    if expired_keys is not None and loader.expired_keys:
        expired_keys.extend(loader.expired_keys)
    server.rdb.load_expired = loader.expired
    server.rdb.load_skipped = skipped
    if skipped:
        log.warning("%d keys of unsupported types were not loaded", skipped)
    return loader.loaded
