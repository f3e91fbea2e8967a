"""The coordinated failover of a master to one of its replicas (Redis 7.0 ``replication.c``:
``failoverCommand``, ``updateFailoverStatus``, ``abortFailover``, ``clearFailoverState``).

``FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`` moves a master through these states
(INFO replication's ``master_failover_state``):

* ``waiting-for-sync``: writes are paused (``execution.pause``, purpose
  ``PAUSE_DURING_FAILOVER``, the WRITE type, no end) so the stream stops growing; the
  master waits for the target — the one named, or the first replica whose acknowledged
  offset reaches ``master_repl_offset`` — to catch up. Checked on every cron tick and
  after each ``REPLCONF ACK`` (Redis checks in ``beforeSleep``). Past the ``TIMEOUT`` the
  failover is aborted, or with ``FORCE`` it goes on with the target as it is.
* ``failover-in-progress``: the master turns itself into a replica of the target
  (``replicationSetMaster``, its own history cached so it can continue) and its
  handshake sends ``PSYNC <replid> <offset> FAILOVER``. A replica receiving that with its
  own replication id promotes itself (``REPLICAOF NO ONE``) and answers the PSYNC as the
  new master, normally with ``+CONTINUE``. A ``+CONTINUE`` or ``+FULLRESYNC`` ends the
  failover; any other answer aborts it and the server is a master again.

``FAILOVER ABORT`` aborts in either state. While a failover runs, ``REPLICAOF`` and
replicas' ``SYNC``/``PSYNC`` are refused. The replica side of the handshake lives in
:mod:`engine.replication.replica`; the PSYNC side in ``engine.commands.replication``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.errors import CommandError
from engine.execution.pause import CLIENT_PAUSE_WRITE, LLONG_MAX, PAUSE_DURING_FAILOVER
from engine.replication.replicas import ONLINE, WAIT_ACK

if TYPE_CHECKING:
    from engine.execution.client import Client
    from engine.replication.master import Replication

log = logging.getLogger(__name__)

NO_FAILOVER, WAIT_FOR_SYNC, IN_PROGRESS = "no-failover", "waiting-for-sync", "failover-in-progress"


class Failover:
    """``server.failover_*`` (``server.replication.failover``)."""

    def __init__(self, repl: Replication) -> None:
        self.repl = repl
        self.state = NO_FAILOVER
        self.end_ms = 0  # failover_end_time: 0 without TIMEOUT
        self.force = False
        self.host: str | None = None  # target_replica_host (None: any replica)
        self.port = 0
        self._update_scheduled = False

    @property
    def in_progress(self) -> bool:
        return self.state == IN_PROGRESS

    def find_replica(self, host: str, port: int) -> Client | None:
        """findReplica: by the address it announced (else its peer's) and listening port."""
        for c in self.repl.replicas:
            info = c.repl
            if info.ip.lower() == host.lower() and info.listening_port == port:
                return c
        return None

    # -- FAILOVER ------------------------------------------------------------------------------
    def start(self, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
        """failoverCommand's checks after parsing (refusals raise the reply's error), then
        the write pause."""
        repl = self.repl
        if self.state != NO_FAILOVER:
            raise CommandError("FAILOVER already in progress.")
        if repl.masterhost is not None:
            raise CommandError("FAILOVER is not valid when server is a replica.")
        if not repl.replicas:
            raise CommandError("FAILOVER requires connected replicas.")
        if force and (not timeout_ms or host is None):
            raise CommandError("FAILOVER with force option requires both a timeout and target HOST and IP.")
        if host is not None:
            target = self.find_replica(host, port)
            if target is None:
                raise CommandError("FAILOVER target HOST and PORT is not a replica.")
            if target.repl.state not in (ONLINE, WAIT_ACK):  # Redis: online, stream on first ack
                raise CommandError("FAILOVER target replica is not online.")
            self.host, self.port = host, port
            log.info("FAILOVER requested to %s:%d.", host, port)
        else:
            log.info("FAILOVER requested to any replica.")
        srv = repl.server
        if timeout_ms:
            self.end_ms = srv.pause.clock() + timeout_ms
        self.force = force
        self.state = WAIT_FOR_SYNC
        srv.pause.pause(PAUSE_DURING_FAILOVER, LLONG_MAX, CLIENT_PAUSE_WRITE)
        self.schedule_update()

    def abort(self, reason: str) -> None:
        """abortFailover: an in-progress failover makes this server a master again."""
        if self.state == NO_FAILOVER:
            return
        if self.host is not None:
            log.info("FAILOVER to %s:%d aborted: %s", self.host, self.port, reason)
        else:
            log.info("FAILOVER to any replica aborted: %s", reason)
        if self.state == IN_PROGRESS:
            self.repl.unset_master()
        self.clear()

    def clear(self) -> None:
        """clearFailoverState: done or given up; writes flow again."""
        self.end_ms = 0
        self.force = False
        self.host = None
        self.port = 0
        self.state = NO_FAILOVER
        self.repl.server.pause.unpause(PAUSE_DURING_FAILOVER)

    # -- progress ------------------------------------------------------------------------------
    def schedule_update(self) -> None:
        """Check from the event loop, not inside the command or ACK that prompted it (the
        failover disconnects clients)."""
        if self.state != WAIT_FOR_SYNC or self._update_scheduled:
            return
        loop = self.repl.server.loop
        if loop is None:
            return
        self._update_scheduled = True
        loop.call_soon(self.update)

    def update(self) -> None:
        """updateFailoverStatus: the deadline, then whether the target has caught up."""
        self._update_scheduled = False
        if self.state != WAIT_FOR_SYNC:
            return
        repl = self.repl
        if self.end_ms and self.end_ms <= repl.server.pause.clock():
            if self.force:
                log.info("FAILOVER to %s:%d time out exceeded, failing over.", self.host, self.port)
                self._hand_over()
            else:
                self.abort("Replica never caught up before timeout")
            return
        offset = repl.master_repl_offset
        if self.host is not None:
            target = self.find_replica(self.host, self.port)
        else:
            target = next((c for c in repl.replicas if c.repl.ack_off == offset), None)
            if target is not None:  # we are now failing over to this one
                self.host, self.port = target.repl.ip, target.repl.listening_port
        if target is not None and target.repl.ack_off == offset:
            log.info("Failover target %s:%d is synced, failing over.", self.host, self.port)
            self._hand_over()

    def _hand_over(self) -> None:
        self.state = IN_PROGRESS
        assert self.host is not None
        self.repl.set_master(self.host, self.port)

    def psync_answered(self, accepted: bool) -> None:
        """The target's answer to ``PSYNC ... FAILOVER``: +CONTINUE/+FULLRESYNC end the
        failover, anything else aborts it."""
        if self.state != IN_PROGRESS:
            return
        if accepted:
            self.clear()
        else:
            self.abort("Failover target rejected psync request")
