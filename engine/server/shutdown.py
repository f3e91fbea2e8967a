"""Stopping the server as Redis 7.0 does (``prepareForShutdown``/``finishShutdown``).

SHUTDOWN, SIGTERM and SIGINT all go through :class:`Shutdown`:

* ``prepare`` (``prepareForShutdown``): unless NOW (or ``shutdown-timeout`` is
  0), a replica whose acknowledged offset lags the master's makes the shutdown
  wait up to ``shutdown-timeout`` seconds: the SHUTDOWN client is blocked, a
  ``REPLCONF GETACK`` goes out (unless clients are paused already), commands that may
  write are postponed (the ``PAUSE_DURING_SHUTDOWN`` purpose of the one client pause,
  :mod:`engine.execution.pause`), INFO shows ``shutdown_in_milliseconds``;
  the cron finishes once every replica caught up or the time is over.
  ``SHUTDOWN ABORT`` cancels the wait.
* ``finish`` (``finishShutdown``): kills a BGSAVE child (and the rewrite child,
  unless the AOF is still being written for the first time), writes and fsyncs
  the AOF, saves the RDB when save points exist (or SAVE, never with NOSAVE).
  Any failure there cancels the shutdown unless FORCE: waiting SHUTDOWN clients
  get ``-ERR Errors trying to SHUTDOWN. Check logs.``, paused writes run, and
  the server goes on serving with every acknowledged write still in memory.
  The final AOF write or fsync failing also cancels it — stricter than 7.0.15,
  which logs that error and exits, losing what was not on disk yet.
* On success the listeners and clients close at once (nothing runs after the
  final save), the pidfile goes, and ``Server.serve`` returns: exit status 0.

Signals (``sigShutdownHandler``): the flags come from ``shutdown-on-sigterm`` /
``shutdown-on-sigint``; a failed shutdown leaves the server running; a second
SIGINT while one is pending exits at once with status 1.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import TYPE_CHECKING

from aof.replies import OK
from engine.errors import CommandError, SyntaxErr
from engine.execution.pause import CLIENT_PAUSE_WRITE, LLONG_MAX, PAUSE_DURING_SHUTDOWN
from engine.persistence import aof_rewrite
from engine.persistence.aof_state import AOF_OFF, AOF_WAIT_REWRITE
from engine.persistence.rdb_save import remove_temp_file

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.server.app import Server

log = logging.getLogger(__name__)

SAVE, NOSAVE, NOW, FORCE = 1, 2, 4, 8  # SHUTDOWN_* flags
_FLAG_NAMES = (("save", SAVE), ("nosave", NOSAVE), ("now", NOW), ("force", FORCE))
ERROR_REPLY = b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"


def sig_flags(text: str) -> int:
    """The flags of a ``shutdown-on-sig*`` value as engine.config keeps it ("save now")."""
    words = text.split()
    return sum(f for n, f in _FLAG_NAMES if n in words)


class Shutdown:
    """``server.shutdown_*``: a pending signal, the flags, the replica wait and its waiters."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.asap = False  # a signal asked for a shutdown the cron has not started
        self.last_sig = 0
        self.flags = 0
        self.deadline = 0.0  # shutdown_mstime: set while waiting for replicas
        self.waiters: list[Client] = []  # SHUTDOWN clients blocked (BLOCKED_SHUTDOWN)
        self.done = False

    @property
    def initiated(self) -> bool:
        """isShutdownInitiated: waiting for replicas (writes paused meanwhile)."""
        return self.deadline != 0.0

    # -- entry points ---------------------------------------------------------------------------
    def on_signal(self, sig: int) -> None:
        """sigShutdownHandler: remember the request, act from the loop."""
        srv = self.server
        if self.asap and sig == signal.SIGINT:
            log.warning("You insist... exiting now.")
            remove_temp_file(srv.rdb.path, os.getpid())  # rdbRemoveTempFile of a save in progress
            os._exit(1)
        name = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}.get(sig)
        log.warning("Received %s scheduling shutdown...", name or "shutdown signal")
        self.asap = True
        self.last_sig = sig
        if srv.loop is not None and not srv.pause_cron:  # the cron acts on it (DEBUG PAUSE-CRON holds it)
            srv.loop.call_soon(self.cron)

    def command(self, c: Client, args: list[bytes]) -> bytes | None:
        """shutdownCommand: ``args`` are the options ([NOSAVE|SAVE] [NOW] [FORCE] [ABORT]).
        b"" when exiting (no reply: the connection just closes), None while blocked, else
        the reply (an error when the shutdown failed)."""
        names = {b"nosave": NOSAVE, b"save": SAVE, b"now": NOW, b"force": FORCE}
        flags = 0
        abort = False
        for a in args:
            a = a.lower()
            if a == b"abort":
                abort = True
            elif a in names:
                flags |= names[a]
            else:
                raise SyntaxErr()
        if (abort and flags) or (flags & NOSAVE and flags & SAVE):
            raise SyntaxErr()
        if abort:
            if not self.abort():
                raise CommandError("No shutdown in progress.")
            return OK
        busy = self.server.busy_reply
        if busy is not None and not flags & NOSAVE:  # a busy script: only NOSAVE may stop the server
            raise CommandError(busy[6:-2].decode(), "BUSY")
        status = self.prepare(flags)
        if status == "exit":
            self.exit()
            c.close_after_reply = True
            return b""
        if status == "error":
            return ERROR_REPLY
        self.server.blocking.block(c, [], 0, _never, ERROR_REPLY, "shutdown")
        self.waiters.append(c)
        return None

    def abort(self) -> bool:
        """abortShutdown: False when no shutdown was pending."""
        if self.initiated:
            self._cancel()
        elif self.asap:
            self.asap = False
        else:
            return False
        log.info("Shutdown manually aborted.")
        return True

    def cron(self) -> None:
        """serverCron's part: start a signalled shutdown, or finish a waiting one."""
        if self.done:
            return
        if self.asap and not self.initiated:
            flags = 0
            cfg = self.server.config
            if self.last_sig == signal.SIGINT:
                flags = sig_flags(cfg.shutdown_on_sigint)
            elif self.last_sig == signal.SIGTERM:
                flags = sig_flags(cfg.shutdown_on_sigterm)
            if self.prepare(flags) == "exit":
                self.exit()
        elif self.initiated and (time.time() >= self.deadline or self._ready()):
            if self.finish():
                self.exit()

    # -- the sequence ---------------------------------------------------------------------------
    def prepare(self, flags: int) -> str:
        """prepareForShutdown: "exit", "wait" (replicas lag) or "error" (cancelled)."""
        if self.initiated:
            return "wait"  # this SHUTDOWN waits with the first one
        srv = self.server
        if srv.loading:
            flags = (flags & ~SAVE) | NOSAVE
        self.flags = flags
        log.warning("User requested shutdown...")
        timeout = srv.config.shutdown_timeout
        if not flags & NOW and timeout and not self._ready():
            self.deadline = time.time() + timeout
            if not srv.pause.paused():
                srv.replication.request_acks()
            srv.pause.pause(PAUSE_DURING_SHUTDOWN, LLONG_MAX, CLIENT_PAUSE_WRITE)
            log.info("Waiting for replicas before shutting down.")
            return "wait"
        return "exit" if self.finish() else "error"

    def _ready(self) -> bool:
        """isReadyToShutdown: every replica acknowledged the master's whole stream."""
        repl = self.server.replication
        return all(r.repl.ack_off == repl.master_repl_offset for r in repl.replicas)

    def finish(self) -> bool:
        """finishShutdown: True when it is safe to exit; False after cancelling."""
        srv = self.server
        force = bool(self.flags & FORCE)
        self._log_replicas()
        srv.rdb.kill_child()
        srv.replication.kill_child()
        if not self._finish_aof(force) or not self._final_save(force):
            log.warning("Errors trying to shut down the server. Check the logs for more information.")
            self._cancel()
            return False
        return True

    def _finish_aof(self, force: bool) -> bool:
        aof = self.server.aof
        if aof.child_pid:
            if aof.state == AOF_WAIT_REWRITE:  # the only copy of the data is in memory
                if not force:
                    log.warning("Writing initial AOF, can't exit.")
                    return False
                log.warning("Writing initial AOF. Exit anyway.")
            log.warning("There is a child rewriting the AOF. Killing it!")
            aof_rewrite.kill_child(aof)
        if aof.state == AOF_OFF:
            return True
        log.info("Calling fsync() on the AOF file.")
        err = aof.final_flush()
        if err is None:
            return True
        if force:
            log.warning("Error writing the AOF (%s). Exit anyway.", err)
            return True
        log.warning("Error writing the AOF (%s), can't exit.", err)
        return False

    def _final_save(self, force: bool) -> bool:
        srv = self.server
        if self.flags & NOSAVE or not (self.flags & SAVE or srv.rdb.save_points()):
            return True
        log.info("Saving the final RDB snapshot before exiting.")
        # the loop waits for the save: a second SIGINT must reach us meanwhile
        previous = signal.getsignal(signal.SIGINT) if self.asap else None
        if callable(previous):
            signal.signal(signal.SIGINT, lambda *_: self.on_signal(signal.SIGINT))
        try:
            srv.rdb.save()
        except Exception as exc:  # noqa: BLE001 - whatever failed, the data is only in memory
            if not isinstance(exc, CommandError):
                log.exception("Saving the final RDB snapshot failed")
            if not force:
                log.warning("Error trying to save the DB, can't exit.")
                return False
            log.warning("Error trying to save the DB. Exit anyway.")
        finally:
            if callable(previous):
                signal.signal(signal.SIGINT, previous)
        return True

    def _log_replicas(self) -> None:
        repl = self.server.replication
        lagging = 0
        now = time.time()
        for r in repl.replicas:
            info = r.repl
            if info.ack_off != repl.master_repl_offset:
                lagging += 1
                lag = int(now - info.ack_time) if info.state == "online" else 0
                log.warning("Lagging replica %s reported offset %d behind master, lag=%d, state=%s.",
                            r.addr, repl.master_repl_offset - info.ack_off, lag, info.state)
        if repl.replicas:
            log.info("%d of %d replicas are in sync when shutting down.",
                     len(repl.replicas) - lagging, len(repl.replicas))

    def _cancel(self) -> None:
        """cancelShutdown: answer the waiting SHUTDOWNs, run the paused writes."""
        self.asap = False
        self.flags = 0
        self.deadline = 0.0
        self.last_sig = 0
        blocking = self.server.blocking
        waiters, self.waiters = self.waiters, []
        for c in waiters:
            st = c.blocked
            if st is not None and st.cmd_name == "shutdown":
                blocking.unblock_with(c, ERROR_REPLY)
        self.server.pause.unpause(PAUSE_DURING_SHUTDOWN)

    # -- exiting --------------------------------------------------------------------------------
    def exit(self) -> None:
        """The end of finishShutdown: nothing runs after the final save; serve() returns."""
        srv = self.server
        self.done = True
        self.deadline = 0.0
        srv.close_now()
        log.warning("Redis is now ready to exit, bye bye...")
        if srv.shutdown_requested is not None:
            srv.shutdown_requested.set()

    def info_fields(self) -> list[tuple[str, object]]:
        if not self.initiated:
            return []
        return [("shutdown_in_milliseconds", max(0, int((self.deadline - time.time()) * 1000)))]


def _never(c: Client, db: object, key: bytes) -> None:
    return None
