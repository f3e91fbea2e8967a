"""The server's append-only file: feeding, group commit, fsync policies, write errors.

Mirrors aof.c of Redis 7.0 on top of the library pieces (``aof.writer.AofWriter``
for buffering, writing and short-write truncation; ``aof.multipart.AofDirectory``
for the manifest); the rewrite lives in :mod:`engine.persistence.aof_rewrite`,
start-up loading in :mod:`engine.persistence.aof_load`.

* Feeding (``feedAppendOnlyFile``): a target on ``server.propagator.targets``
  appends every propagated unit to the writer's buffer while the AOF is on (or
  waiting for its first rewrite while the rewrite child runs).
* Group commit (``beforeSleep`` → ``flushAppendOnlyFile``): the first unit fed in
  an event-loop pass schedules one ``call_soon`` callback; until it ran, every
  reply leaving a client is held (:meth:`AofState.hold`). The callback writes the
  buffer once (and fsyncs under ``always``), then releases every held reply. So
  no reply ever leaves before the AOF bytes covering it are written — in every
  policy, stricter than Redis's ``everysec`` which may postpone the write.
* ``everysec``: the fsync runs on a background thread at most once a second
  (Redis's bio thread), started from the cron; ``no``: never. With
  ``no-appendfsync-on-rewrite yes`` no fsync happens while a child runs.
* Errors: under ``always`` a failed write or fsync logs and exits(1), as Redis.
  Otherwise the unwritten bytes stay buffered, the replies waiting for them stay
  held, writes (and PING) are refused with ``-MISCONF Errors writing to the AOF
  file: <strerror>`` (``writeCommandsDeniedByDiskError``) while reads are served,
  and the cron retries once a second until the write succeeds ("AOF write error
  looks solved"). Replies produced while the error lasts are not held (their
  commands could not write), so a reader may see data that is not on disk yet.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aof import files
from aof.errors import AofError, AofWriteError
from aof.multipart import AofDirectory
from aof.writer import AofWriter
from engine.propagate import ReplOnly

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host
    from engine.propagate import Op

log = logging.getLogger(__name__)

AOF_OFF = "off"
AOF_ON = "on"
AOF_WAIT_REWRITE = "wait_rewrite"

HOLD_HIGH_WATER = 4 * 1024 * 1024  # held replies past this: write the AOF now, release


class AofState:
    """Everything the server keeps about its AOF (``server.aof_*`` in Redis)."""

    # read on every request by the C path (engine/_fastpath.c), by offset
    __slots__ = ("flush_scheduled", "__dict__")

    def __init__(self, server: Host) -> None:
        self.deny_reply: bytes | None = None  # the AOF's MISCONF, combined by Server.update_write_denial
        self.server = server
        self.state = AOF_OFF
        self.directory: AofDirectory | None = None
        self.writer: AofWriter | None = None
        self.sink: files.FileSink | None = None
        # group commit
        self.flush_scheduled = False  # units fed whose replies must wait for the write
        self._cb_pending = False
        self.held: list[Client] = []
        # errors
        self.write_error: AofWriteError | None = None  # aof_last_write_status
        self.fsync_errno: int | None = None  # aof_bio_fsync_status
        # fsync thread (everysec)
        self._executor: ThreadPoolExecutor | None = None
        self._fsync_job: Future[Any] | None = None
        self._fsync_target = 0
        self.last_fsync = time.time()
        self.delayed_fsync = 0
        self._last_retry = 0.0
        # sizes: aof_current_size = static_size + the current incr file's size
        self.static_size = 0
        self.base_size = 0  # aof_rewrite_base_size
        # rewrite (engine.persistence.aof_rewrite)
        self.child_pid = 0
        self.child_temp_incr = False  # the current incr is temp-<name>.incr (WAIT_REWRITE)
        self.child_preamble = True  # what the running child writes (RDB or commands)
        self.rewrite_scheduled = False
        self.rewrite_time_start = -1.0
        self.rewrite_time_last = -1
        self.last_bgrewrite_ok = True
        self.rewrites = 0
        self.rewrites_consecutive_failures = 0
        self.rewrite_retry_after = 0.0
        self.limit_delay_minutes = 0

    # -- paths and config -------------------------------------------------------------------------
    @property
    def dirpath(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg.dir, cfg.appenddirname)

    def open_directory(self) -> AofDirectory:
        """The directory and its manifest (read from disk the first time, as Redis keeps
        ``server.aof_manifest`` even while the AOF is off)."""
        if self.directory is None:
            name = self.server.config.appendfilename
            d = AofDirectory(self.dirpath, None, name)
            if os.path.exists(d.manifest_path):
                try:
                    d = AofDirectory.open(self.dirpath, name)
                except AofError as exc:
                    log.warning("Ignoring the unreadable AOF manifest: %s", exc)
            self.directory = d
        return self.directory

    @property
    def current_size(self) -> int:
        return self.static_size + (self.writer.size if self.writer is not None else 0)

    # -- feeding --------------------------------------------------------------------------------
    def attach(self, sink: files.FileSink) -> None:
        """Start writing to ``sink`` (the incr file, or the temp incr while enabling)."""
        cfg = self.server.config
        self.sink = sink
        self.writer = AofWriter(sink, cfg.appendfsync, timestamps=cfg.aof_timestamp_enabled,
                                size=sink.size)
        prop = self.server.propagator
        if self.feed not in prop.targets:
            prop.targets.append(self.feed)
        self.server.aof_gate = self

    def detach(self) -> None:
        """Stop feeding: flush, fsync, close the file (``stopAppendOnly``)."""
        prop = self.server.propagator
        if self.feed in prop.targets:
            prop.targets.remove(self.feed)
        w, sink = self.writer, self.sink
        if w is not None and sink is not None:
            try:
                self.write_out()
                self.wait_fsync()
                sink.fsync()
            except (OSError, AofWriteError) as exc:
                log.warning("Fail to fsync the AOF file: %s", exc)
            self._release()
            sink.close()
        self.writer = self.sink = None
        self.server.aof_gate = None
        self.flush_scheduled = False
        self.write_error = None
        self.fsync_errno = None
        self._update_deny()

    def feed(self, ops: list[Op]) -> None:
        """The propagation target (``feedAppendOnlyFile``)."""
        w = self.writer
        if w is None or (self.state != AOF_ON and not self.child_pid):
            return
        now = time.time() if w.timestamps else None
        append = w.append
        for db, argv in ops:
            if argv.__class__ is not ReplOnly:  # PUBLISH: for replicas only
                append(argv, db, now)
        if self.write_error is not None:
            return  # the cron retries; replies are not held meanwhile
        self.flush_scheduled = True
        if not self._cb_pending:
            self._cb_pending = True
            loop = self.server.loop
            if loop is not None:
                loop.call_soon(self._before_sleep)
            else:  # no loop (offline use): write at once
                self._before_sleep()

    # -- group commit ---------------------------------------------------------------------------
    def hold(self, c: Client, data: bytes) -> None:
        """Keep ``c``'s reply until the AOF bytes it depends on are written."""
        if c.held is None:
            c.held = [data]
            c.held_bytes = len(data)
            self.held.append(c)
        else:
            c.held.append(data)
            c.held_bytes += len(data)
        if c.held_bytes > HOLD_HIGH_WATER and self.flush_scheduled:
            self.commit()

    def _before_sleep(self) -> None:
        self._cb_pending = False
        if self.flush_scheduled:
            self.commit()

    def commit(self) -> None:
        """Write the buffer (fsync under ``always``), then release the held replies."""
        self.flush_scheduled = False
        if self.write_out():
            self._release()

    def _release(self) -> None:
        held, self.held = self.held, []
        for c in held:
            data = c.held
            c.held = None
            c.held_bytes = 0
            if data:
                c.deliver(data[0] if len(data) == 1 else b"".join(data))

    def write_out(self) -> bool:
        """``flushAppendOnlyFile``: write the whole buffer; True when nothing is left unwritten."""
        w = self.writer
        if w is None:
            return True
        policy = self.server.config.appendfsync
        if policy == "always" and self._fsync_allowed():
            w.fsync_policy = "always"
        else:
            w.fsync_policy = "no"
        if not w.buffered and w.synced_size >= w.size:
            return True
        try:
            w.flush(None)
        except AofWriteError as exc:
            if policy == "always":
                if exc.message.startswith("Can't persist"):
                    log.warning("%s. Exiting...", exc.message)
                else:
                    log.warning("Can't recover from AOF write error when the AOF fsync policy "
                                "is 'always'. Exiting...")
                _exit(1)
            self._set_write_error(exc)
            return False
        if self.write_error is not None:
            self._set_write_error(None)
        return True

    def _fsync_allowed(self) -> bool:
        srv = self.server
        return not (srv.config.no_appendfsync_on_rewrite and srv.has_active_child())

    # -- errors ---------------------------------------------------------------------------------
    def _set_write_error(self, exc: AofWriteError | None) -> None:
        # the writer logs the error and "AOF write error looks solved" itself
        self.write_error = exc
        self._update_deny()

    def _update_deny(self) -> None:
        """``writeCommandsDeniedByDiskError`` for the AOF: the MISCONF reply, or None."""
        errno: int | None = None
        failed = False
        if self.state != AOF_OFF:
            if self.write_error is not None:
                failed, errno = True, self.write_error.errno
            elif self.fsync_errno is not None:
                failed, errno = True, self.fsync_errno
        if not failed:
            self.deny_reply = None
        else:
            text = os.strerror(errno) if errno is not None else "Unknown error"
            self.deny_reply = b"-MISCONF Errors writing to the AOF file: %s\r\n" % text.encode()
        self.server.update_write_denial()

    @property
    def last_write_ok(self) -> bool:
        return self.write_error is None and self.fsync_errno is None

    # -- fsync ----------------------------------------------------------------------------------
    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="aof-fsync")
        return self._executor

    def _poll_fsync(self) -> None:
        job = self._fsync_job
        if job is None or not job.done():
            return
        self._fsync_job = None
        exc = job.exception()
        if exc is not None:
            code = getattr(exc, "errno", None) or 5
            if self.fsync_errno is None:
                log.warning("Fail to fsync the AOF file: %s", os.strerror(code))
            self.fsync_errno = code
        else:
            if self.writer is not None and self._fsync_target > self.writer.synced_size:
                self.writer.synced_size = self._fsync_target
            if self.fsync_errno is not None:
                log.warning("AOF fsync error looks solved, Redis can write again.")
            self.fsync_errno = None
        self._update_deny()

    def _everysec(self, now: float) -> None:
        w, sink = self.writer, self.sink
        if w is None or sink is None or w.synced_size >= w.size:
            return
        if now - self.last_fsync < 1.0 or not self._fsync_allowed():
            return
        if self._fsync_job is not None:
            self.delayed_fsync += 1  # the previous fsync is still running
            return
        self.last_fsync = now
        self._fsync_target = w.size
        self._fsync_job = self._pool().submit(_fdatasync, sink.fd)

    def wait_fsync(self) -> None:
        job = self._fsync_job
        if job is not None:
            try:
                job.result()
            except OSError:
                pass
            self._poll_fsync()

    def close_later(self, sink: files.FileSink) -> None:
        """``aof_background_fsync_and_close``: fsync and close a file we stopped writing."""
        self._pool().submit(_fsync_close, sink)

    # -- cron and shutdown ----------------------------------------------------------------------
    def cron(self) -> None:
        from engine.persistence import aof_rewrite

        now = time.time()
        aof_rewrite.check_child(self)
        self._poll_fsync()
        if self.writer is not None:
            if self.write_error is not None:
                if now - self._last_retry >= 1.0:
                    self._last_retry = now
                    if self.write_out():
                        self._release()
            elif self.server.config.appendfsync == "everysec":
                self._everysec(now)
        aof_rewrite.cron_rewrites(self, now)

    def final_flush(self) -> str | None:
        """``finishShutdown``'s ``flushAppendOnlyFile(1)`` + fsync: None when every byte is
        written and synced (the held replies then go out), else the error text. The
        shutdown refuses to exit on an error (unless FORCE), so what the buffer holds is
        not lost; the held replies stay held."""
        w, sink = self.writer, self.sink
        if w is None or sink is None:
            return None
        if not self.write_out():
            err = self.write_error
            return err.message if err is not None else "write error"
        self.wait_fsync()
        try:
            sink.fsync()
        except OSError as exc:
            log.warning("Fail to fsync the AOF file: %s.", exc.strerror)
            return f"fsync: {exc.strerror}"
        w.synced_size = w.size
        self._release()
        return None

    def close(self) -> None:
        """At exit: the fsync thread ends (after the job it runs)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- INFO -----------------------------------------------------------------------------------
    def debug_loadaof(self) -> None:
        """DEBUG LOADAOF (:func:`engine.persistence.aof_load.debug_loadaof`)."""
        from engine.persistence.aof_load import debug_loadaof  # aof_load imports this module

        debug_loadaof(self)

    def bgrewriteaof(self, in_exec: bool) -> bytes:
        """BGREWRITEAOF (bgrewriteaofCommand, :mod:`engine.persistence.aof_rewrite`)."""
        from engine.persistence import aof_rewrite

        return aof_rewrite.bgrewriteaof(self, in_exec)

    def info_fields(self) -> list[tuple[str, object]]:
        now = time.time()
        running = bool(self.child_pid)
        out: list[tuple[str, object]] = [
            ("aof_enabled", int(self.state != AOF_OFF)),
            ("aof_rewrite_in_progress", int(running)),
            ("aof_rewrite_scheduled", int(self.rewrite_scheduled)),
            ("aof_last_rewrite_time_sec", self.rewrite_time_last),
            ("aof_current_rewrite_time_sec",
             int(now - self.rewrite_time_start) if running else -1),
            ("aof_last_bgrewrite_status", "ok" if self.last_bgrewrite_ok else "err"),
            ("aof_rewrites", self.rewrites),
            ("aof_rewrites_consecutive_failures", self.rewrites_consecutive_failures),
            ("aof_last_write_status", "ok" if self.last_write_ok else "err"),
            ("aof_last_cow_size", 0), ("module_fork_in_progress", 0),
            ("module_fork_last_cow_size", 0),
        ]
        if self.state != AOF_OFF:
            job = self._fsync_job
            out += [
                ("aof_current_size", self.current_size),
                ("aof_base_size", self.base_size),
                ("aof_pending_rewrite", int(self.rewrite_scheduled)),
                ("aof_buffer_length", self.writer.buffered if self.writer is not None else 0),
                ("aof_pending_bio_fsync", int(job is not None and not job.done())),
                ("aof_delayed_fsync", self.delayed_fsync),
            ]
        return out


def _fdatasync(fd: int) -> None:
    getattr(os, "fdatasync", os.fsync)(fd)


def _fsync_close(sink: files.FileSink) -> None:
    try:
        sink.fsync()
    except OSError as exc:
        log.warning("Fail to fsync the AOF file %s: %s", sink.path, exc.strerror)
    finally:
        sink.close()


def _exit(status: int) -> None:
    """exit() from deep inside the event loop, as Redis does on an unrecoverable AOF error."""
    for h in logging.getLogger("engine").handlers:
        try:
            h.flush()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    sys.stdout.flush()
    os._exit(status)
