"""Pausing clients: CLIENT PAUSE and the write pause of a shutdown, as Redis 7.0 keeps them.

One pause with purposes (``pause_purpose``): each purpose — a CLIENT PAUSE, a
SHUTDOWN waiting for its replicas, a FAILOVER waiting for its target — holds a type (WRITE or ALL) and an end time.
What applies is the strictest type among the purposes still running and, among those
of that type, the latest end (``updateClientPauseTypeAndEndTime``). A purpose whose end
passed is dropped the next time anything asks (``checkClientPauseTimeoutAndReturnIfPaused``:
the cron, a lookup that finds a key past its deadline, eviction).

While paused, ``processCommand`` postpones (``blockClient(BLOCKED_POSTPONE)``) every
command under ALL, and under WRITE those that may change the dataset or the replication
stream — writes, ``may_replicate`` commands (PUBLISH, PFCOUNT, EVAL/FCALL of a script
not declared ``no-writes``), EXEC of a transaction holding any — for every client but
replicas; the master link too, so a replica's applied offset stays put. A postponed
client shows ``b`` in CLIENT LIST and counts in INFO's ``blocked_clients``. The dataset
stays as it is: lookups report keys past their deadline missing without deleting them,
and neither the active expire cycle nor eviction runs.

When the type relaxes (a purpose ends or is lifted), every postponed client is
unblocked and its command processed again, in the order they were postponed, from the
event loop rather than inside the command that lifted the pause (Redis reprocesses them
in ``beforeSleep``); a command still covered by the new type is postponed again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.execution.registry import Command

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.execution.host import Host

# pause_type: stricter is greater
CLIENT_PAUSE_OFF, CLIENT_PAUSE_WRITE, CLIENT_PAUSE_ALL = 0, 1, 2
# pause_purpose
PAUSE_BY_CLIENT_COMMAND, PAUSE_DURING_SHUTDOWN, PAUSE_DURING_FAILOVER = 0, 1, 2
LLONG_MAX = (1 << 63) - 1
POSTPONE = "postpone"  # BlockState.cmd_name of a postponed client


def _never(c: Client, db: object, key: bytes) -> None:
    return None


class ClientPause:
    """``server.client_pause_*`` and ``server.postponed_clients`` (``server.pause``)."""

    # read on every request by the C path (engine/_fastpath.c), by offset
    __slots__ = ("type", "__dict__")

    def __init__(self, server: Host, clock: Callable[[], int]) -> None:
        self.server = server
        self.clock = clock  # mstime()
        self.purposes: dict[int, tuple[int, int]] = {}  # purpose -> (type, end ms)
        self.type = CLIENT_PAUSE_OFF
        self.end_ms = 0
        self.postponed: list[tuple[Client, list[bytes]]] = []
        self._reprocess_scheduled = False

    # -- networking.c ---------------------------------------------------------------------------
    def pause(self, purpose: int, end_ms: int, type_: int) -> None:
        """pauseClients: a purpose paused again keeps the stricter type and the later end."""
        old = self.purposes.get(purpose)
        if old is not None:
            type_, end_ms = max(old[0], type_), max(old[1], end_ms)
        self.purposes[purpose] = (type_, end_ms)
        self._update()

    def unpause(self, purpose: int) -> None:
        """unpauseClients."""
        if self.purposes.pop(purpose, None) is not None:
            self._update()

    def paused(self) -> bool:
        """checkClientPauseTimeoutAndReturnIfPaused: drop what ended, then whether any is left."""
        if self.type == CLIENT_PAUSE_OFF:
            return False
        if self.end_ms < self.clock():
            self._update()
        return self.type != CLIENT_PAUSE_OFF

    def _update(self) -> None:
        """updateClientPauseTypeAndEndTime."""
        now = self.clock()
        old = self.type
        for purpose, (_, end) in list(self.purposes.items()):
            if end < now:
                del self.purposes[purpose]
        self.type = max((t for t, _ in self.purposes.values()), default=CLIENT_PAUSE_OFF)
        self.end_ms = max((e for t, e in self.purposes.values() if t == self.type), default=0)
        if self.type < old:
            self._release()

    # -- processCommand -------------------------------------------------------------------------
    def postpones(self, c: Client, cmd: Command, flags: frozenset[str]) -> bool:
        """processCommand's pause check: ``flags`` are the command's (getCommandFlags).
        Replicas are never paused."""
        if self.type == CLIENT_PAUSE_ALL:
            pass
        elif "write" in flags or "may_replicate" in flags:
            pass
        elif cmd.name != "exec" or not c.multi:
            return False
        elif not any(_may_replicate(c, q, a) for q, a in c.multi):
            return False
        r = c.repl
        return r is None or r.flag != "S"

    def postpone(self, c: Client, cmd: Command, argv: list[bytes]) -> None:
        """blockClient(c, BLOCKED_POSTPONE): ``argv`` is processed again when the pause relaxes."""
        self.server.blocking.block(c, [], 0, _never, b"", POSTPONE)
        c.last_cmd = cmd  # CLIENT LIST's cmd= (processCommand set c->lastcmd already)
        self.postponed.append((c, argv))

    def _release(self) -> None:
        """unblockPostponedClients, then (from the loop) processUnblockedClients."""
        if not self.postponed or self._reprocess_scheduled:
            return
        loop = self.server.loop
        if loop is None:
            self._reprocess()
            return
        self._reprocess_scheduled = True
        loop.call_soon(self._reprocess)

    def _reprocess(self) -> None:
        self._reprocess_scheduled = False
        blocking = self.server.blocking
        postponed, self.postponed = self.postponed, []
        for c, argv in postponed:
            st = c.blocked
            if c.closing or st is None or st.cmd_name != POSTPONE:
                continue  # gone meanwhile
            blocking.remove(c)
            c.run_postponed(argv)
        if self.server.ready_keys:
            self.server.handle_ready_keys()


def _may_replicate(c: Client, cmd: Command, argv: list[bytes]) -> bool:
    flags = cmd.flags_for(c.server, argv)
    return "write" in flags or "may_replicate" in flags
