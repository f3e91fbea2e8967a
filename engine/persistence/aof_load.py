"""Loading the AOF at start and opening it for appending (Redis 7.0 ``loadDataFromDisk``).

With ``appendonly yes`` the dataset comes from the multi-part AOF directory only
(``dir/appenddirname``), never from ``dbfilename`` — as Redis 7.0, which starts
empty when the AOF does not exist yet:

* an old single ``dir/appendfilename`` with no manifest is moved into the
  directory as its base (``aofUpgradePrepare``);
* the base and incr files are read by :class:`aof.reader.AofReader` and replayed
  through the real dispatch by :func:`engine.persistence.aof_replay.replay_into` (RDB-base
  records are materialized; commands of types this server does not serve are
  skipped with a warning, as the RDB loader skips such keys);
* a truncated tail of the last file is cut at ``valid_up_to`` when
  ``aof-load-truncated yes``; any other problem (corrupt file, truncated file
  that is not the last one, missing file, bad manifest, unknown command) stops
  the start with the file and offset in the message;
* then (``aofOpenIfNeededOnServerStart``) a base is written from the dataset if
  the manifest names no file at all, the last incr file is opened for appending
  (or a new one created), the manifest committed and history files deleted.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING

from aof import files
from aof.errors import AofError
from aof.manifest import AOF_FILE_TYPE_BASE, AofInfo
from aof.multipart import AofDirectory, with_new_base, with_new_incr
from aof.reader import AofReader
from engine.errors import LoadError
from engine.persistence import aof_rewrite
from engine.persistence.aof_replay import REPLAY_CHUNK, ReplayError, replay_into
from engine.persistence.aof_state import AOF_OFF, AOF_ON

if TYPE_CHECKING:
    from engine.persistence.aof_state import AofState

log = logging.getLogger(__name__)


def _upgrade_if_needed(aof: AofState) -> None:
    """``aofUpgradePrepare``: adopt a pre-7.0 ``appendonly.aof`` as the directory's base."""
    cfg = aof.server.config
    old = os.path.join(cfg.dir, cfg.appendfilename)
    if not os.path.isfile(old):
        return
    d = aof.directory
    assert d is not None
    am = d.manifest
    adopt = not os.path.isdir(aof.dirpath) or (am.base is None and not am.incrs) or (
        am.base is not None and not am.incrs and am.base.name == cfg.appendfilename
        and not os.path.exists(d.path(cfg.appendfilename)))
    if not adopt:
        return
    os.makedirs(aof.dirpath, exist_ok=True)
    new = am.copy()
    if new.base is None:
        new.base = AofInfo(cfg.appendfilename, 1, AOF_FILE_TYPE_BASE)
        new.curr_base_seq = 1
    d.commit(new)
    os.rename(old, d.path(cfg.appendfilename))
    files.fsync_dir(aof.dirpath)
    log.info("Successfully migrated an old-style AOF into the AOF directory")


def load_on_start(aof: AofState) -> int:
    """Load the AOF into the server's keyspace, then open it for appending; returns the
    number of keys. Raises :class:`LoadError` naming the file and offset."""
    srv = aof.server
    cfg = srv.config
    aof.state = AOF_ON
    d = AofDirectory(aof.dirpath, None, cfg.appendfilename)
    manifest_path = d.manifest_path
    try:
        if os.path.exists(manifest_path):
            d = AofDirectory.open(aof.dirpath, cfg.appendfilename)
        aof.directory = d
        _upgrade_if_needed(aof)
    except AofError as exc:
        raise LoadError(str(exc)) from None
    except OSError as exc:
        raise LoadError(f"Can't prepare the AOF directory {aof.dirpath}: {exc.strerror}") from None
    keys = 0
    if d.parts():
        keys = _replay(aof, d)
    open_on_start(aof)
    return keys


def debug_loadaof(aof: AofState) -> None:
    """DEBUG LOADAOF: what is buffered is written out, the dataset emptied and the AOF
    directory loaded back, as at start (nothing of it is logged again or propagated).
    Raises :class:`LoadError` where Redis would exit (no AOF, a damaged one)."""
    srv = aof.server
    if aof.state != AOF_OFF:
        aof.write_out()
    for db in srv.keyspace.dbs:
        if db.data:
            srv.signal_all(db)
        db.clear()
    srv.tracking.flushed()  # emptyData → signalFlushedDb
    try:
        d = AofDirectory.open(aof.dirpath, srv.config.appendfilename)
    except (AofError, OSError) as exc:
        raise LoadError(f"Can't load the AOF: {exc}") from None
    _replay(aof, d)
    srv.dirty = 0
    log.warning("Append Only File loaded by DEBUG LOADAOF")


def _replay(aof: AofState, d: AofDirectory) -> int:
    srv = aof.server
    cfg = srv.config
    t0 = time.time()
    warned = [0]

    def on_skip(what: str, file: str | None, offset: int | None) -> None:
        warned[0] += 1
        if warned[0] <= 10:
            log.warning("Skipping %s (not served by this server) in %s at offset %s",
                        what, file or "the AOF base", offset)

    reader = AofReader(aof.dirpath, load_truncated=cfg.aof_load_truncated,
                       appendfilename=cfg.appendfilename, packed_listpacks=True, runs=True,
                       chunk_size=REPLAY_CHUNK)
    try:
        result = replay_into(srv, reader, unsupported="skip", on_skip=on_skip, pause_gc=True)
    except (AofError, ReplayError) as exc:
        raise LoadError(f"Error loading the append only file: {exc}") from None
    if warned[0]:
        log.warning("%d commands or keys of unsupported types were not loaded", warned[0])
        srv.rdb.load_skipped = warned[0]
    trunc = result.truncation
    if trunc is not None:
        part = next((p for p in reversed(reader.parts) if p.name == trunc.file), None)
        if part is None or part.path is None:
            raise LoadError(f"Can't find the truncated AOF file {trunc.file}")
        try:
            files.truncate_file(part.path, trunc.valid_up_to)
        except OSError as exc:
            raise LoadError(f"Error truncating the AOF file {trunc.file}: {exc.strerror}") from None
        log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", trunc.file)
    keys = result.key_count()
    srv.rdb.loaded_keys = keys
    log.info("DB loaded from append only file: %.3f seconds", time.time() - t0)
    return keys


def open_on_start(aof: AofState) -> None:
    """``aofOpenIfNeededOnServerStart`` + ``aofDelHistoryFiles``."""
    srv = aof.server
    d = aof.directory
    assert d is not None
    try:
        os.makedirs(aof.dirpath, exist_ok=True)
        am = d.manifest
        if am.base is None and not am.incrs:
            preamble = srv.config.aof_use_rdb_preamble
            am, base = with_new_base(am, d.names, rdb=preamble)
            tmp = os.path.join(srv.config.dir, f"temp-rewriteaof-{os.getpid()}.aof")
            aof_rewrite.write_base_file(srv, tmp, preamble)
            os.rename(tmp, d.path(base))
            log.info("Creating AOF base file %s on server start", base.name)
        if am.incrs:
            incr = am.incrs[-1]
            created = False
        else:
            am, incr = with_new_incr(am, d.names)
            created = True
        sink = files.FileSink(d.path(incr))
        try:
            d.commit(am)
        except BaseException:
            sink.close()
            raise
    except (OSError, AofError) as exc:
        raise LoadError(f"Can't open the append-only file: {exc}") from None
    log.info("%s AOF incr file %s on server start", "Creating" if created else "Opening",
             incr.name)
    aof.attach(sink)
    aof.static_size = sum(files.file_size(d.path(i)) for i in d.parts() if i != incr)
    aof.base_size = aof.current_size
    aof_rewrite.delete_history(aof)


__all__ = ["load_on_start", "open_on_start"]
