"""SAVE / BGSAVE: the keyspace → ``materialize.value_to_record`` → ``rdbtools.RdbEncoder``.

The file is written as Redis does it (``rdbSave``): to ``temp-<pid>.rdb`` in ``dir``,
flushed and fsynced, renamed over ``dir/dbfilename``, then the directory is fsynced
so the rename survives a crash. BGSAVE forks: the child writes the snapshot of the
parent's memory at fork time and exits; the parent polls it from the server cron.
Keys already expired are not written. The RDB version is 10 (Redis 7.0).

SAVE, BGSAVE, the save points, SHUTDOWN and DEBUG RELOAD write the replication info
``rdbPopulateSaveInfo`` gives (``repl-stream-db``/``repl-id``/``repl-offset`` before
``aof-base``; see :meth:`Replication.save_info`), so a restarted server can partially
resync (formats.md §1.8); an AOF preamble never carries it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.materialize import RDB_VERSION, value_to_record
from rdbtools.encoder import RdbEncoder, default_aux
from rdbtools.model import FunctionLibrary, Record
from rdbtools.policy import EncodingPolicy

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)


def iter_dataset(server: Host) -> Iterator[Record | FunctionLibrary]:
    # function libraries first, as rdbSaveRio writes them before the databases
    yield from server.scripting.functions.records()
    now = server.keyspace.now_ms()
    delay = server.config.rdb_key_save_delay / 1e6  # rdb-key-save-delay: µs per key (tests stretch saves)
    for db in server.keyspace.dbs:
        expires = db.expires
        for key, value in list(db.data.items()):
            when = expires.get(key) if expires else None
            if when is not None and when < now:
                continue
            if delay > 0:
                time.sleep(delay)
            yield value_to_record(db.id, key, value, when)


def _policy(server: Host) -> EncodingPolicy:
    cfg = server.config
    return EncodingPolicy(
        hash_max_listpack_entries=cfg.hash_max_listpack_entries, hash_max_listpack_value=cfg.hash_max_listpack_value,
        zset_max_listpack_entries=cfg.zset_max_listpack_entries, zset_max_listpack_value=cfg.zset_max_listpack_value,
        set_max_intset_entries=cfg.set_max_intset_entries, list_max_listpack_size=cfg.list_max_listpack_size)


def _aux(server: Host, repl_aux: list[tuple[bytes, bytes]] | None) -> list[tuple[bytes, bytes]]:
    """rdbSaveInfoAuxFields: the standard fields, the replication ones (if any) before ``aof-base``."""
    aux = default_aux(RDB_VERSION, int(time.time()))
    if repl_aux:
        aux[-1:-1] = repl_aux
    return aux


def save_rdb(server: Host, path: str, repl_aux: list[tuple[bytes, bytes]] | None = None) -> int:
    """Write the whole dataset to ``path`` atomically; returns the number of keys written.

    ``repl_aux``: the replication fields to write (``Replication.save_info()``, taken by the
    caller — for BGSAVE in the parent, before the fork)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    sizes = {db.id: (len(db.data), len(db.expires)) for db in server.keyspace.dbs if db.data}
    enc = RdbEncoder(RDB_VERSION, _policy(server), aux=_aux(server, repl_aux), db_sizes=sizes)
    try:
        with open(tmp, "wb") as fh:
            for chunk in enc.encode(iter_dataset(server)):
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return enc.keys_written


def snapshot_chunks(server: Host, repl_aux: list[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """The dataset as one RDB stream for a replica (``rdbSaveRio`` with replication info):
    the aux fields carry ``repl-stream-db``/``repl-id``/``repl-offset`` before ``aof-base``."""
    sizes = {db.id: (len(db.data), len(db.expires)) for db in server.keyspace.dbs if db.data}
    enc = RdbEncoder(RDB_VERSION, _policy(server), aux=_aux(server, repl_aux), db_sizes=sizes)
    return enc.encode(iter_dataset(server))


def bgsave_fork(server: Host, path: str, repl_aux: list[tuple[bytes, bytes]] | None = None) -> int:
    """Fork a child that saves and exits (status 0 on success); returns the child's pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            save_rdb(server, path, repl_aux)
            status = 0
        except BaseException:  # noqa: BLE001 - report through the exit status
            pass
        os._exit(status)
    return pid
