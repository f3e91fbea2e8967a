"""BGREWRITEAOF on a Redis 7 multi-part AOF, and turning the AOF on and off at runtime.

Mirrors aof.c ``rewriteAppendOnlyFileBackground``, ``openNewIncrAofForAppend``,
``backgroundRewriteDoneHandler``, ``startAppendOnly``/``stopAppendOnly``:

1. start: the parent writes out its buffer, then opens a new INCR file and
   commits a manifest naming it (temp manifest, fsync, rename, fsync the
   directory) before it feeds it — or, while the AOF is being turned on
   (``wait_rewrite``), opens ``temp-<name>.incr`` that no manifest names yet;
2. a forked child writes the dataset as it was at the fork to
   ``dir/temp-rewriteaof-bg-<pid>.aof`` — an RDB with ``aof-base`` set
   (``aof-use-rdb-preamble yes``, :func:`aof.rewriter.encode_rdb_base`) or the
   rewrite commands (:class:`aof.rewriter.AofRewriter`) — fsyncs it and exits;
3. the parent, from the cron, renames it to the next BASE name (and the temp
   incr to the next INCR name), commits a manifest with the new base, the
   incr being written and the old files as history, then deletes the history
   files and commits the manifest without them.

Every manifest on disk names only complete files that together hold the whole
dataset: a crash at any point leaves a loadable directory (the old base + incrs
+ the new incr before step 3, the new base + incr after it).
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aof import files
from aof.errors import AofWriteError
from aof.multipart import (
    AofNames,
    mark_incrs_history,
    with_new_base,
    with_new_incr,
    without_history,
)
from aof.rewriter import AofRewriter, encode_rdb_base
from engine.errors import CommandError
from engine.materialize import has_field_ttls, rdb_version
from engine.persistence.aof_state import AOF_OFF, AOF_ON, AOF_WAIT_REWRITE
from engine.persistence.dataset import db_sizes, encoding_policy, iter_dataset, iter_dataset_rdb

if TYPE_CHECKING:
    from engine.execution.host import Host
    from engine.persistence.aof_state import AofState

log = logging.getLogger(__name__)

INCREMENTAL_FSYNC_BYTES = 4 * 1024 * 1024  # REDIS_AUTOSYNC_BYTES
LIMIT_THRESHOLD = 3  # AOF_REWRITE_LIMITE_THRESHOLD
LIMIT_MAX_MINUTES = 60


# -- writing a base ------------------------------------------------------------------------------
def base_chunks(server: Host, preamble: bool, timestamps: bool) -> Iterator[bytes]:
    """The dataset as a BASE file: an RDB with ``aof-base`` (preamble) or rewrite commands."""
    now = int(time.time())
    if preamble:
        version = rdb_version(server.keyspace)
        return encode_rdb_base(iter_dataset_rdb(server, version, True), target_version=version, ctime=now,
                               policy=encoding_policy(server.config), db_sizes=db_sizes(server.keyspace))
    # 7.0's forms, or 7.4's where hash field TTLs need its HPEXPIREAT
    target = (7, 4) if has_field_ttls(server.keyspace) else (7, 0)
    rewriter = AofRewriter(target=target, timestamp=now if timestamps else None)
    return rewriter.encode(iter_dataset(server))


def write_base_file(server: Host, path: str, preamble: bool) -> int:
    """``rewriteAppendOnlyFile``: write the base to ``path``, fsync it; returns its size.
    With ``aof-rewrite-incremental-fsync`` the file is fsynced every 4 MB as it grows."""
    cfg = server.config
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    total = unsynced = 0
    try:
        for chunk in base_chunks(server, preamble, cfg.aof_timestamp_enabled):
            view = memoryview(chunk)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            total += len(chunk)
            unsynced += len(chunk)
            if cfg.aof_rewrite_incremental_fsync and unsynced >= INCREMENTAL_FSYNC_BYTES:
                os.fdatasync(fd)
                unsynced = 0
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)
    return total


# -- starting a rewrite ------------------------------------------------------------------------------
def open_new_incr(aof: AofState) -> None:
    """``openNewIncrAofForAppend``: switch feeding to a new INCR file (committed to the
    manifest first) or, while the AOF is being turned on, to the temp INCR file."""
    if aof.state == AOF_OFF:
        return
    d = aof.open_directory()
    new_am = None
    if aof.state == AOF_ON:
        new_am, info = with_new_incr(d.manifest, d.names)
        path = d.path(info)
    else:
        path = d.path(d.names.temp_incr)
    sink = files.FileSink(path)
    try:
        if sink.size:
            sink.truncate(0)  # O_TRUNC
        if new_am is not None:
            d.commit(new_am)
    except (OSError, AofWriteError):
        sink.close()
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    old = aof.sink
    if old is not None:
        if aof.state == AOF_ON and aof.writer is not None and not aof.child_temp_incr:
            aof.static_size += aof.writer.size  # that incr stays in the manifest
        aof.close_later(old)
    if aof.writer is not None:
        aof.writer.reopen(sink, 0)
        aof.sink = sink
    else:
        aof.attach(sink)
    aof.child_temp_incr = aof.state == AOF_WAIT_REWRITE


def start(aof: AofState) -> bool:
    """``rewriteAppendOnlyFileBackground``; False (logged) when it could not start."""
    srv = aof.server
    if srv.has_active_child():
        return False
    try:
        os.makedirs(aof.dirpath, exist_ok=True)
    except OSError as exc:
        log.warning("Can't open or create append-only dir %s: %s", aof.dirpath, exc.strerror)
        aof.last_bgrewrite_ok = False
        return False
    if aof.writer is not None:
        aof.commit()
        if aof.writer.buffered:
            log.warning("Can't rewrite the append only file: the AOF buffer can't be written")
            aof.last_bgrewrite_ok = False
            return False
    try:
        open_new_incr(aof)
    except (OSError, AofWriteError) as exc:
        log.warning("Can't open new incr AOF file: %s", exc)
        aof.last_bgrewrite_ok = False
        return False
    aof.rewrites += 1
    preamble = srv.config.aof_use_rdb_preamble
    try:
        pid = os.fork()
    except OSError as exc:
        aof.last_bgrewrite_ok = False
        log.warning("Can't rewrite append only file in background: fork: %s", exc.strerror)
        return False
    if pid == 0:  # pragma: no cover - the child
        status = 1
        try:
            name = AofNames.temp_rewrite(os.getpid())
            write_base_file(srv, os.path.join(srv.config.dir, name), preamble)
            log.info("Successfully created the temporary AOF base file %s", name)
            status = 0
        except BaseException as exc:  # noqa: BLE001 - reported through the exit status
            log.warning("Error writing the AOF base: %s", exc)
        os._exit(status)
    log.info("Background append only file rewriting started by pid %d", pid)
    aof.child_pid = pid
    aof.child_preamble = preamble
    aof.rewrite_scheduled = False
    aof.rewrite_time_start = time.time()
    return True


# -- the child's end ---------------------------------------------------------------------------------
def check_child(aof: AofState) -> None:
    """``checkChildrenDone`` for the rewrite child."""
    if not aof.child_pid:
        return
    try:
        pid, status = os.waitpid(aof.child_pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = aof.child_pid, -1
    if pid:
        done(aof, status)


def _temp_base(aof: AofState, pid: int) -> str:
    return os.path.join(aof.server.config.dir, AofNames.temp_rewrite(pid))


def done(aof: AofState, status: int) -> None:
    """``backgroundRewriteDoneHandler``."""
    pid, aof.child_pid = aof.child_pid, 0
    tmp = _temp_base(aof, pid)
    aof.rewrite_time_last = int(time.time() - aof.rewrite_time_start)
    aof.rewrite_time_start = -1
    ok = status != -1 and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if ok:
        log.info("Background AOF rewrite terminated with success")
        try:
            _install(aof, tmp)
        except (OSError, AofWriteError) as exc:
            log.warning("Error trying to install the rewritten AOF: %s", exc)
            ok = False
    elif status != -1 and os.WIFSIGNALED(status):
        log.warning("Background AOF rewrite terminated by signal %d", os.WTERMSIG(status))
    else:
        log.warning("Background AOF rewrite terminated with error")
    if ok:
        aof.last_bgrewrite_ok = True
        aof.rewrites_consecutive_failures = 0
        log.info("Background AOF rewrite finished successfully")
        if aof.state == AOF_WAIT_REWRITE:
            aof.state = AOF_ON
            log.info("AOF is now enabled")
        return
    aof.last_bgrewrite_ok = False
    aof.rewrites_consecutive_failures += 1
    _unlink(tmp)
    if aof.state == AOF_WAIT_REWRITE:
        aof.rewrite_scheduled = True  # keep trying until the AOF is on


def _install(aof: AofState, tmp: str) -> None:
    d = aof.open_directory()
    new_am, base = with_new_base(d.manifest, d.names, rdb=aof.child_preamble)
    base_path = d.path(base)
    os.rename(tmp, base_path)
    log.info("Successfully renamed the temporary AOF base file %s into %s",
             os.path.basename(tmp), base.name)
    incr_path = None
    try:
        if aof.state == AOF_WAIT_REWRITE:
            new_am, incr = with_new_incr(new_am, d.names)
            incr_path = d.path(incr)
            os.rename(d.path(d.names.temp_incr), incr_path)
            log.info("Successfully renamed the temporary AOF incr file %s into %s",
                     d.names.temp_incr, incr.name)
        new_am = mark_incrs_history(new_am, keep_last=aof.writer is not None)
        d.commit(new_am)
    except BaseException:
        _unlink(base_path)
        if incr_path is not None:
            try:
                os.rename(incr_path, d.path(d.names.temp_incr))
            except OSError:
                pass
        raise
    if aof.sink is not None and incr_path is not None:
        aof.sink.path = incr_path
    aof.child_temp_incr = False
    if aof.writer is not None:
        aof.writer.reset_db()
        aof.static_size = files.file_size(base_path)
        aof.base_size = aof.current_size
    delete_history(aof)


def delete_history(aof: AofState) -> None:
    """``aofDelHistoryFiles``: unlink the history files, commit the manifest without them."""
    d = aof.directory
    if d is None or not d.manifest.history:
        return
    for info in d.manifest.history:
        log.info("Removing the history file %s in the background", info.name)
        _unlink(d.path(info))
    try:
        d.commit(without_history(d.manifest))
    except AofWriteError as exc:
        log.warning("%s", exc)


def kill_child(aof: AofState) -> None:
    """``killAppendOnlyChild``: stop the rewrite and remove its temp file."""
    pid = aof.child_pid
    if not pid:
        return
    log.info("Killing running AOF rewrite child: %d", pid)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass
    aof.child_pid = 0
    aof.rewrite_time_start = -1
    _unlink(_temp_base(aof, pid))


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# -- scheduling ------------------------------------------------------------------------------------
def _limited(aof: AofState, now: float) -> bool:
    """``aofRewriteLimited``: after 3 failures in a row, wait 1, 2, 4 … 60 minutes."""
    if aof.rewrites_consecutive_failures < LIMIT_THRESHOLD:
        aof.limit_delay_minutes = 0
        aof.rewrite_retry_after = 0.0
        return False
    if aof.rewrite_retry_after:
        if now < aof.rewrite_retry_after:
            return True
        aof.rewrite_retry_after = 0.0
        return False
    aof.limit_delay_minutes = min(LIMIT_MAX_MINUTES, max(1, aof.limit_delay_minutes * 2))
    aof.rewrite_retry_after = now + aof.limit_delay_minutes * 60
    log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, will "
                "retry in %d minutes", aof.limit_delay_minutes)
    return True


def cron_rewrites(aof: AofState, now: float) -> None:
    """serverCron: a scheduled rewrite once no child runs; the automatic rewrite on growth."""
    srv = aof.server
    if srv.has_active_child():
        return
    if aof.rewrite_scheduled:
        if not _limited(aof, now):
            start(aof)
        return
    cfg = srv.config
    perc = cfg.auto_aof_rewrite_percentage
    size = aof.current_size
    if aof.state == AOF_ON and perc and size > cfg.auto_aof_rewrite_min_size:
        base = aof.base_size or 1
        growth = size * 100 // base - 100
        if growth >= perc and not _limited(aof, now):
            log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
            start(aof)


def bgrewriteaof(aof: AofState, in_exec: bool) -> bytes:
    """BGREWRITEAOF (``bgrewriteaofCommand``)."""
    if aof.child_pid:
        raise CommandError("Background append only file rewriting already in progress")
    if aof.server.has_active_child() or in_exec:
        aof.rewrite_scheduled = True
        aof.rewrites_consecutive_failures = 0
        return b"+Background append only file rewriting scheduled\r\n"
    if start(aof):
        return b"+Background append only file rewriting started\r\n"
    raise CommandError("Can't execute an AOF background rewriting. "
                       "Please check the server logs for more information.")


# -- CONFIG SET appendonly ----------------------------------------------------------------------------
def start_appendonly(aof: AofState) -> bool:
    """``startAppendOnly``: the AOF is on once the first rewrite is done."""
    if aof.state != AOF_OFF:
        return True
    aof.state = AOF_WAIT_REWRITE
    srv = aof.server
    if srv.rdb.child_pid:
        aof.rewrite_scheduled = True
        log.warning("AOF was enabled but there is already another background operation. An "
                    "AOF background was scheduled to start when possible.")
    else:
        if aof.child_pid:
            log.warning("AOF was enabled but there is already an AOF rewriting in background. "
                        "Stopping background AOF and starting a rewrite now.")
            kill_child(aof)
        if not start(aof):
            aof.state = AOF_OFF
            aof.detach()
            log.warning("Redis needs to enable the AOF but can't trigger a background AOF "
                        "rewrite operation. Check the above logs for more info about the error.")
            return False
    aof.last_fsync = time.time()
    return True


def stop_appendonly(aof: AofState) -> None:
    """``stopAppendOnly``: write out and fsync what is buffered, close, kill the rewrite."""
    if aof.state == AOF_OFF:
        return
    temp_incr = aof.child_temp_incr
    aof.detach()
    aof.state = AOF_OFF
    aof.rewrite_scheduled = False
    kill_child(aof)
    if temp_incr and aof.directory is not None:
        _unlink(aof.directory.path(aof.directory.names.temp_incr))
    aof.child_temp_incr = False
    aof.static_size = 0
