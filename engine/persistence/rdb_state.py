"""The RDB side of persistence (``server.rdb``): SAVE, BGSAVE, the save points, loading at start.

Mirrors the ``server.rdb_*``/``lastsave``/``saveparams`` state of Redis 7.0 and the
functions around it: ``rdbSave`` (:meth:`RdbState.save`), ``rdbSaveBackground``
(:meth:`RdbState.bgsave`), ``backgroundSaveDoneHandler`` (:meth:`RdbState.check_child`),
serverCron's save points and scheduled BGSAVE (:meth:`RdbState.cron`), the
``stop-writes-on-bgsave-error`` refusal (:attr:`RdbState.deny_reply`), ``rdbLoad`` at
start (:meth:`RdbState.load_on_start`) and DEBUG RELOAD (:meth:`RdbState.reload`). The
bytes are written by :mod:`.rdb_save` and read by :mod:`.rdb_load`, both through
:mod:`.dataset`. ``server.dirty`` (changes since the last save) stays on the server:
every write command moves it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import TYPE_CHECKING

from engine.errors import CommandError, EngineError
from engine.persistence.rdb_load import load_rdb_file
from engine.persistence.rdb_save import bgsave_fork, remove_temp_file, save_rdb

if TYPE_CHECKING:
    from engine.execution.host import Host

log = logging.getLogger(__name__)

MISCONF_RDB = (b"-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
               b"to disk. Commands that may modify the data set are disabled, because this instance is "
               b"configured to report errors during writes if RDB snapshotting fails "
               b"(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
               b"RDB error.\r\n")


class RdbState:
    """Everything the server keeps about its RDB file (``server.rdb_*`` in Redis)."""

    def __init__(self, server: Host) -> None:
        self.server = server
        self.lastsave = int(time.time())  # the last successful save (LASTSAVE)
        self.child_pid = 0  # the BGSAVE child (rdb_child_pid)
        self.child_started = 0.0
        self.child_dirty = 0  # server.dirty at the fork: what a good BGSAVE wrote
        self.last_bgsave_ok = True
        self.saves = 0  # rdb_saves
        self.bgsave_scheduled = False  # BGSAVE SCHEDULE while another child runs
        # the last load (INFO rdb_last_load_keys_*): the RDB, or the AOF's replay
        self.loaded_keys = 0
        self.load_expired = 0
        self.load_skipped = 0

    @property
    def path(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg.dir, cfg.dbfilename)

    def save_points(self) -> list[tuple[int, int]]:
        """The ``save`` config as (seconds, changes) pairs (``server.saveparams``)."""
        words = str(self.server.config.save).split()
        return [(int(words[i]), int(words[i + 1])) for i in range(0, len(words) - 1, 2)]

    @property
    def deny_reply(self) -> bytes | None:
        """``writeCommandsDeniedByDiskError``'s RDB half: MISCONF after a failed BGSAVE
        while save points exist and ``stop-writes-on-bgsave-error`` is on."""
        if self.server.config.stop_writes_on_bgsave_error and not self.last_bgsave_ok and self.save_points():
            return MISCONF_RDB
        return None

    # -- saving --------------------------------------------------------------------------------------
    def save(self, counted: bool = True) -> None:
        """rdbSave in the foreground (SAVE, a shutdown's final save); CommandError on failure.
        Without *counted* rdb_saves stays (FLUSHALL's save: only saveCommand counts it)."""
        srv = self.server
        try:
            n = save_rdb(srv, self.path, srv.replication.save_info())
        except (OSError, EngineError) as exc:
            log.warning("Failed saving the DB: %s", exc)
            raise CommandError(f"Failed saving the DB: {exc}") from None
        srv.dirty = 0
        self.lastsave = int(time.time())
        self.saves += counted
        self.last_bgsave_ok = True  # rdbSave: a good save clears a BGSAVE error
        srv.update_write_denial()
        log.info("DB saved on disk (%d keys)", n)

    def bgsave(self) -> None:
        """rdbSaveBackground: fork a child writing the dataset as it is now; OSError when
        the fork fails."""
        srv = self.server
        self.child_dirty = srv.dirty
        self.child_started = time.time()
        self.child_pid = bgsave_fork(srv, self.path, srv.replication.save_info())
        log.info("Background saving started by pid %d", self.child_pid)

    def check_child(self) -> None:
        """backgroundSaveDoneHandler once the child exited."""
        if not self.child_pid:
            return
        try:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child_pid, 1
        if pid == 0:
            return
        child, self.child_pid = self.child_pid, 0
        code = os.waitstatus_to_exitcode(status) if status != 1 else 1
        ok = code == 0
        srv = self.server
        if code < 0:  # killed by a signal: its temp file stays behind unless removed
            log.warning("Background saving terminated by signal %d", -code)
            remove_temp_file(self.path, child)
            if -code != signal.SIGUSR1:  # SIGUSR1: stopped on purpose, not an error
                self.last_bgsave_ok = False
        else:
            self.last_bgsave_ok = ok
        srv.update_write_denial()
        if ok:
            srv.dirty -= self.child_dirty
            self.lastsave = int(time.time())
            self.saves += 1
            log.info("Background saving terminated with success")
        elif code > 0:
            log.warning("Background saving error")

    def kill_child(self) -> None:
        """killRDBChild (a shutdown does not wait for a BGSAVE)."""
        if not self.child_pid:
            return
        log.warning("There is a child saving an .rdb. Killing it!")
        try:
            os.kill(self.child_pid, signal.SIGKILL)
            os.waitpid(self.child_pid, 0)
        except OSError:
            pass
        remove_temp_file(self.path, self.child_pid)
        self.child_pid = 0

    def cron(self) -> None:
        """serverCron, once the children were reaped: a scheduled BGSAVE, then the save
        points (BGSAVE after <seconds> when at least <changes> happened)."""
        srv = self.server
        if self.bgsave_scheduled and not srv.has_active_child():
            self.bgsave_scheduled = False
            self._try_bgsave()
        if srv.has_active_child() or not srv.dirty:
            return
        now = time.time()
        for seconds, changes in self.save_points():
            if srv.dirty >= changes and now - self.lastsave > seconds:
                log.info("%d changes in %d seconds. Saving...", changes, seconds)
                self._try_bgsave()
                return

    def _try_bgsave(self) -> None:
        try:
            self.bgsave()
        except OSError as exc:
            log.warning("Can't save in background: fork: %s", exc)

    # -- loading -------------------------------------------------------------------------------------
    def load_on_start(self) -> tuple[dict[bytes, bytes], list[tuple[int, bytes]]] | None:
        """rdbLoad of ``dir/dbfilename`` at start: the file's AUX fields and the keys dropped
        as expired (the replication info a restarted master resumes from), or None when
        there is no file."""
        path = self.path
        if not os.path.exists(path):
            return None
        srv = self.server
        t0 = time.time()
        aux: dict[bytes, bytes] = {}
        expired: list[tuple[int, bytes]] = []
        with srv.keyspace.expiry_held(loading=True):
            master = srv.replication.i_am_master()  # a replica keeps them for its master's DELs
            n = load_rdb_file(srv, path, aux, expired if master else None, drop_expired=master)
        self.loaded_keys = n
        log.info("DB loaded from disk: %.3f seconds (%d keys)", time.time() - t0, n)
        return aux, expired

    def reload(self, save: bool, flush: bool, merge: bool = False) -> None:
        """DEBUG RELOAD: save (unless NOSAVE), empty the dataset (unless NOFLUSH), load the
        file back; CommandError with Redis's texts."""
        srv = self.server
        if save:
            try:
                save_rdb(srv, self.path, srv.replication.save_info())
            except OSError as exc:
                log.warning("DEBUG RELOAD: failed saving the DB: %s", exc)
                raise CommandError(f"Failed saving the DB: {exc}") from None
        if flush:  # emptyData(-1, EMPTYDB_NO_FLAGS): the keys and the function libraries
            for db in srv.keyspace.dbs:
                if db.data:
                    srv.signal_all(db)
                db.clear()
            srv.scripting.functions.flush()
            srv.tracking.flushed()  # emptyData → signalFlushedDb
        try:
            load_rdb_file(srv, self.path, drop_expired=srv.replication.masterhost is None, allow_dup=merge)
        except Exception as exc:  # noqa: BLE001 - any load failure is this one error reply
            log.warning("DEBUG RELOAD: %s", exc)
            raise CommandError("Error trying to load the RDB dump") from None
        log.warning("DB reloaded by DEBUG RELOAD")

    def info_fields(self) -> list[tuple[str, object]]:
        """INFO persistence, the RDB fields (Redis 7.0's order)."""
        srv = self.server
        link = srv.replication.link  # a replica loading its master's payload counts too
        syncing = link is not None and link.loader is not None
        async_load = syncing and link.async_load
        return [
            ("loading", int(srv.loading or (syncing and not async_load))), ("async_loading", int(async_load)),
            ("current_cow_peak", 0),
            ("current_cow_size", 0), ("current_fork_perc", "0.00"),
            ("rdb_changes_since_last_save", srv.dirty), ("rdb_bgsave_in_progress", int(bool(self.child_pid))),
            ("rdb_last_save_time", self.lastsave),
            ("rdb_last_bgsave_status", "ok" if self.last_bgsave_ok else "err"),
            ("rdb_last_bgsave_time_sec", -1),
            ("rdb_current_bgsave_time_sec", int(time.time() - self.child_started) if self.child_pid else -1),
            ("rdb_saves", self.saves),
            ("rdb_last_load_keys_expired", self.load_expired), ("rdb_last_load_keys_loaded", self.loaded_keys),
        ]


__all__ = ["MISCONF_RDB", "RdbState"]
