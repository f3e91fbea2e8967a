"""Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BZPOPMIN, BZPOPMAX ...).

A blocked client is queued FIFO on each of its keys (``db.blocking``). When a
write command touches such a key the dispatcher records it as *ready*; after the
current command the server offers every ready key to its waiting clients in
order, each client's ``serve`` function taking what it needs (mirrors
``handleClientsBlockedOnKeys``). Timeouts are loop timers; a timed-out client
gets the null reply of its command.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.errors import CommandError
from engine.latency import Histogram

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host
    from engine.keyspace.db import Database

# serve(client, db, key) -> reply bytes when the client could be served, else None
ServeFn = Callable[["Client", "Database", bytes], "bytes | None"]


class BlockState:
    __slots__ = ("db", "keys", "serve", "timeout_reply", "timer", "cmd_name", "scan_all", "argv", "duration_ns")

    def __init__(self, db: Database, keys: list[bytes], serve: ServeFn, timeout_reply: bytes,
                 cmd_name: str, scan_all: bool = False) -> None:
        self.db = db
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer: Any = None
        self.cmd_name = cmd_name
        # stream readers wait for different IDs: one that cannot be served does not stop
        # the clients queued after it (serveClientsBlockedOnStreamKey visits them all)
        self.scan_all = scan_all
        # the command as sent and the time it ran before blocking: the slow log entry is
        # written when the block ends (updateStatsOnUnblock), set by dispatch.call
        self.argv: list[bytes] | None = None
        self.duration_ns = 0


class Blocking:
    def __init__(self, server: Host) -> None:
        self.server = server
        self.blocked_count = 0

    def block(self, c: Client, keys: list[bytes], timeout_ms: int, serve: ServeFn,
              timeout_reply: bytes, cmd_name: str, scan_all: bool = False) -> None:
        """Block ``c`` on ``keys``; ``timeout_ms`` 0 waits forever. With ``scan_all`` a
        ``serve`` returning None lets the next client waiting on the key be tried."""
        db = c.db
        st = BlockState(db, list(dict.fromkeys(keys)), serve, timeout_reply, cmd_name, scan_all)
        for k in st.keys:
            db.blocking.setdefault(k, []).append(c)
        if timeout_ms > 0 and self.server.loop is not None:
            st.timer = self.server.loop.call_later(timeout_ms / 1000.0, self._timed_out, c)
        c.blocked = st
        self.blocked_count += 1

    def _detach(self, c: Client) -> BlockState | None:
        st = c.blocked
        if st is None:
            return None
        for k in st.keys:
            lst = st.db.blocking.get(k)
            if lst is not None:
                try:
                    lst.remove(c)
                except ValueError:
                    pass
                if not lst:
                    del st.db.blocking[k]
        if st.timer is not None:
            st.timer.cancel()
        self.blocked_count -= 1
        return st

    def remove(self, c: Client) -> None:
        """The client went away while blocked."""
        self._detach(c)
        c.blocked = None

    def _timed_out(self, c: Client) -> None:
        st = self._detach(c)
        if st is not None:  # a timed-out command is not logged (no updateStatsOnUnblock)
            c.unblocked(st.timeout_reply)

    def _log_slow(self, c: Client, st: BlockState, served_ns: int) -> None:
        """updateStatsOnUnblock, once a blocked command is served: it reaches the slow log
        and its latency histogram now, with the time it ran before blocking plus the time
        serving it took."""
        srv = self.server
        total = st.duration_ns + served_ns
        if st.argv is not None and total >= srv.slowlog_threshold_ns:
            srv.slowlog_push(c, st.argv, total // 1000)
        cmd = c.last_cmd
        if srv.latency_tracking and cmd is not None:  # and its latency histogram (INFO latencystats)
            h = srv.histograms.get(cmd)
            if h is None:
                h = srv.histograms[cmd] = Histogram()
            h.record(total // 1000 * 1000)

    def unblock_with(self, c: Client, reply: bytes) -> bool:
        """CLIENT UNBLOCK: finish the block with ``reply`` (timeout or error; an error
        counts, and makes the command a failed call)."""
        st = self._detach(c)
        if st is None:
            return False
        if reply[:1] == b"-":
            self._count_failure(c, reply)
        c.unblocked(reply)
        return True

    def _count_failure(self, c: Client, reply: bytes) -> None:
        """A blocked command served with an error: the error counts, and the command
        (``c.last_cmd``, set when it blocked) is a failed call."""
        srv = self.server
        srv.count_error(reply)
        cmd = c.last_cmd
        if cmd is not None:
            st = srv.cmdstats.get(cmd)
            if st is None:
                st = srv.cmdstats[cmd] = [0, 0, 0, 0]
            st[3] += 1

    def serve_ready(self) -> None:
        """handleClientsBlockedOnKeys. Each served client's pop is propagated as its own
        unit right after it is served (``afterCommand(receiver)``), and so is a DEL for
        a ready key found expired."""
        srv = self.server
        prop = srv.propagator
        while srv.ready_keys:
            ready = srv.ready_keys
            srv.ready_keys = []
            for db, key in ready:
                waiting = db.blocking.get(key)
                pos = 0  # clients before it stay blocked (scan_all ones that could not be served)
                while waiting and pos < len(waiting):
                    c = waiting[pos]
                    st = c.blocked
                    if st is None:  # stale entry
                        waiting.pop(pos)
                        continue
                    t0 = time.perf_counter_ns()
                    trk = srv.tracking
                    outer = trk.current is None
                    if outer:
                        trk.current = c  # server.current_client = receiver
                    try:
                        reply = st.serve(c, db, key)
                    except CommandError as exc:
                        reply = exc.reply
                    if outer:
                        trk.current = None
                        if trk.pending:  # afterCommand(receiver): after its reply
                            pushes = trk.take_pending(c)
                            if reply is None:
                                c.write(pushes)
                            else:
                                reply += pushes
                    if prop.ops:
                        prop.flush()
                    if reply is None:
                        if st.scan_all:
                            pos += 1
                            continue
                        break
                    self._detach(c)
                    self._log_slow(c, st, time.perf_counter_ns() - t0)
                    if reply[:1] == b"-":  # updateStatsOnUnblock(had_errors) + afterErrorReply
                        self._count_failure(c, reply)
                    c.unblocked(reply)
                    waiting = db.blocking.get(key)
