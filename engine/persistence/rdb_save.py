"""SAVE / BGSAVE: the dataset (:mod:`engine.persistence.dataset`) written to ``dir/dbfilename``.

The file is written as Redis does it (``rdbSave``): to ``temp-<pid>.rdb`` in ``dir``,
flushed and fsynced, renamed over ``dir/dbfilename``, then the directory is fsynced
so the rename survives a crash (``rdbtools.io.write_atomically``, the project's one
atomic writer). A child killed half-way leaves its temp file; the parent removes it
when it reaps the child (``remove_temp_file``). BGSAVE forks: the child writes the snapshot of the
parent's memory at fork time and exits; the parent polls it from the server cron.
Keys already expired are not written; under an LRU or LFU ``maxmemory-policy`` each key
carries its idle time or LFU counter. The RDB version is 10 (Redis 7.0).

SAVE, BGSAVE, the save points, SHUTDOWN and DEBUG RELOAD write the replication info
``rdbPopulateSaveInfo`` gives (``repl-stream-db``/``repl-id``/``repl-offset`` before
``aof-base``; see :meth:`Replication.save_info`), so a restarted server can partially
resync (docs/formats.md §1.8); an AOF preamble never carries it.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from engine.persistence.dataset import rdb_chunks
from rdbtools.io import write_atomically

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)


def temp_name(pid: int) -> str:
    """The file a save by process ``pid`` writes before the rename (``temp-<pid>.rdb``)."""
    return f"temp-{pid}.rdb"


def remove_temp_file(path: str, pid: int) -> None:
    """rdbRemoveTempFile: what a BGSAVE child killed half-way left beside ``path``."""
    try:
        os.unlink(os.path.join(os.path.dirname(os.path.abspath(path)), temp_name(pid)))
    except OSError:
        pass


def save_rdb(server: Host, path: str, repl_aux: list[tuple[bytes, bytes]] | None = None) -> int:
    """Write the whole dataset to ``path`` atomically; returns the number of keys written.

    ``repl_aux``: the replication fields to write (``Replication.save_info()``, taken by the
    caller — for BGSAVE in the parent, before the fork)."""
    enc, chunks = rdb_chunks(server, repl_aux)
    write_atomically(path, chunks, temp_name=temp_name(os.getpid()), lz4=False)
    return enc.keys_written


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
