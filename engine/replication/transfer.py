"""Full syncs on the master: the RDB for waiting replicas, made by a forked child.

``startBgsaveForReplication`` for every replica waiting when no child runs:
``+FULLRESYNC <id> <offset>`` (not for legacy SYNC), ``SELECT`` forced next in the
stream, then either a child writing ``$EOF:<mark>`` + RDB + mark into a pipe the
event loop forwards to the replicas' sockets (reading pauses while their buffers
are full), or a BGSAVE whose file is sent as ``$<len>`` + bytes when it ends.
A failed child closes the replicas it was for; ``rdb-only`` replicas are closed
after their payload.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from aof.replies import bulk_eof_prefix, bulk_prefix
from engine.persistence.dataset import rdb_chunks
from engine.replication.replicas import SEND_BULK, WAIT_ACK, WAIT_END, WAIT_START

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host

log = logging.getLogger(__name__)

PIPE_HIGH_WATER = 16 * 1024 * 1024  # replica transport buffers past this: stop reading the RDB pipe


class SnapshotTransfer:
    """Mixed into :class:`engine.replication.master.Replication` (its state lives there)."""

    server: Host
    replid: str
    master_repl_offset: int
    seldb: int
    replicas: list[Client]
    child_pid: int
    disk_pid: int
    transfer: list[Client]
    _pipe: int
    _pipe_paused: bool

    def start_pending_sync(self) -> None:
        """startBgsaveForReplication for every replica waiting, when no child runs."""
        srv = self.server
        waiting = [c for c in self.replicas if c.repl.state == WAIT_START and not c.closing]
        if not waiting or srv.has_active_child():
            return
        cfg = srv.config
        diskless = cfg.repl_diskless_sync and all(c.repl.capa_eof for c in waiting)
        offset = self.master_repl_offset
        for c in waiting:
            info = c.repl
            info.state = WAIT_END
            info.diskless = diskless
            info.sync_offset = offset
            info.ack_off = 0
            info.full_sync_started()
            if not info.legacy:
                info.send(b"+FULLRESYNC %s %d\r\n" % (self.replid.encode(), offset))
        self.seldb = -1  # the stream after a snapshot starts with SELECT
        self.transfer = waiting
        try:
            if diskless:
                self._fork_socket_child(offset)
            else:
                srv.rdb.bgsave()
                self.disk_pid = srv.rdb.child_pid
        except OSError as exc:
            log.warning("Can't fork for replication: %s", exc)
            self._fail_transfer()

    def _fork_socket_child(self, offset: int) -> None:
        srv = self.server
        mark = os.urandom(20).hex().encode()
        rfd, wfd = os.pipe()
        aux = [(b"repl-stream-db", b"0"), (b"repl-id", self.replid.encode()),
               (b"repl-offset", b"%d" % offset)]
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            status = 1
            try:
                os.close(rfd)
                _write_all(wfd, bulk_eof_prefix(mark))
                for chunk in rdb_chunks(srv, aux)[1]:
                    _write_all(wfd, chunk)
                _write_all(wfd, mark)
                status = 0
            except BaseException:  # noqa: BLE001 - reported through the exit status
                pass
            os._exit(status)
        os.close(wfd)
        os.set_blocking(rfd, False)
        self.child_pid = pid
        self._pipe = rfd
        self._pipe_paused = False
        log.info("Starting BGSAVE for SYNC with target: replicas sockets (pid %d)", pid)
        if srv.loop is not None:
            srv.loop.add_reader(rfd, self._pipe_readable)

    def _pipe_readable(self) -> None:
        rfd = self._pipe
        if rfd < 0:
            return
        try:
            data = os.read(rfd, 1 << 17)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            alive = [c for c in self.transfer if not c.closing]
            self.transfer = alive
            for c in alive:
                c.repl.send(data)
            if not alive:
                log.warning("Diskless rdb transfer, no replica left: killing the child.")
                self._end_socket_child(kill=True)
                return
            if max(c.transport.get_write_buffer_size() for c in alive if c.transport) > PIPE_HIGH_WATER:
                self._pause_pipe()
            return
        self._end_socket_child(kill=False)

    def _pause_pipe(self) -> None:
        loop = self.server.loop
        if loop is None or self._pipe_paused:
            return
        self._pipe_paused = True
        loop.remove_reader(self._pipe)
        loop.call_later(0.01, self._resume_pipe)

    def _resume_pipe(self) -> None:
        loop = self.server.loop
        if loop is None or self._pipe < 0 or not self._pipe_paused:
            return
        alive = [c for c in self.transfer if not c.closing and c.transport is not None]
        if alive and max(c.transport.get_write_buffer_size() for c in alive) > PIPE_HIGH_WATER // 2:
            loop.call_later(0.01, self._resume_pipe)
            return
        self._pipe_paused = False
        loop.add_reader(self._pipe, self._pipe_readable)

    def _end_socket_child(self, kill: bool) -> None:
        loop = self.server.loop
        if self._pipe >= 0:
            if loop is not None and not self._pipe_paused:
                loop.remove_reader(self._pipe)
            os.close(self._pipe)
            self._pipe = -1
        pid, self.child_pid = self.child_pid, 0
        ok = False
        if pid:
            if kill:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            try:
                _, status = os.waitpid(pid, 0)
                ok = not kill and os.waitstatus_to_exitcode(status) == 0
            except ChildProcessError:
                ok = False
        if ok:
            log.info("Diskless rdb transfer to replicas done")
            for c in self.transfer:
                if c.closing:
                    continue
                info = c.repl
                if info.rdb_only:
                    c.close()  # after the buffered RDB bytes are out
                else:
                    info.state = WAIT_ACK  # the stream starts on its first REPLCONF ACK
        else:
            self._fail_transfer()
        self.transfer = []
        self.start_pending_sync()

    def _disk_done(self) -> None:
        """The BGSAVE for disk-based replicas ended: send the file, then the stream."""
        srv = self.server
        self.disk_pid = 0
        ok = srv.rdb.last_bgsave_ok
        data = b""
        if ok:
            try:
                with open(srv.rdb.path, "rb") as fh:
                    data = fh.read()
            except OSError as exc:
                log.warning("SYNC failed. Can't open/stat DB after BGSAVE: %s", exc)
                ok = False
        if not ok:
            self._fail_transfer()
        else:
            for c in self.transfer:
                if c.closing:
                    continue
                info = c.repl
                info.state = SEND_BULK
                info.send(bulk_prefix(len(data)) + data)
                if info.rdb_only:
                    c.close()
                else:
                    info.go_online()
            log.info("Synchronization with replicas succeeded (disk)")
        self.transfer = []
        self.start_pending_sync()

    def _fail_transfer(self) -> None:
        for c in self.transfer:
            log.warning("SYNC failed. BGSAVE child returned an error")
            c.close()
        self.transfer = []

    def kill_child(self) -> None:
        if self.child_pid:
            self._end_socket_child(kill=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
