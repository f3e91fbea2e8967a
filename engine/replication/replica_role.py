"""The replica role's changes: ``REPLICAOF host port`` and ``REPLICAOF NO ONE``
(replicationSetMaster, replicationUnsetMaster), connecting to the master and the
replica half of replicationCron; the link itself is
:class:`~engine.replication.replica.MasterLink`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from engine.replication.replica import MasterLink

if TYPE_CHECKING:
    from engine.replication.master import Replication

log = logging.getLogger(__name__)

UNBLOCKED = (b"-UNBLOCKED force unblock from blocking operation, instance state changed "
             b"(master -> replica?)\r\n")

def set_master(repl: Replication, host: str, port: int) -> None:
    """replicationSetMaster."""
    srv = repl.server
    was_master = repl.masterhost is None
    repl.masterhost = host
    repl.masterport = port
    link = repl.link
    if link is not None:
        link.close(abort=True)  # connection_lost caches it when it was synced
        if link.synced:
            repl.cached = (repl.replid, link.reploff, link.db.id)
        repl.link = None
    for c in list(srv.clients.values()):
        if c.blocked is not None and c.blocked.cmd_name not in ("wait", "postpone"):
            srv.blocking.unblock_with(c, UNBLOCKED)
    # sub-replicas stay: they are disconnected when our history changes (a full sync, a new id)
    if was_master and repl.cached is None:
        # cache ourselves as the master: a partial resync is possible with our history
        # (already done at start when the RDB carried replication info)
        repl.cached = (repl.replid, repl.master_repl_offset, 0)
    repl.repl_state = "connect"
    repl.update_target()
    repl.update_guard()
    connect(repl)


def unset_master(repl: Replication) -> None:
    """replicationUnsetMaster (REPLICAOF NO ONE): promotion keeps the history as replid2."""
    if repl.masterhost is None:
        return
    repl.masterhost = None
    link = repl.link
    repl.link = None
    if link is not None:
        link.close(abort=True)
    repl.cached = None
    repl.shift_replid()
    repl.disconnect_replicas()
    repl.repl_state = "none"
    repl.seldb = -1
    repl.no_replicas_since = time.time()
    repl.down_since = 0.0
    repl.update_target()
    repl.update_guard()
    log.info("MASTER MODE enabled")


def connect(repl: Replication) -> None:
    """connectWithMaster: start the TCP connection; the handshake follows in MasterLink."""
    srv = repl.server
    loop = srv.loop
    if loop is None or repl.masterhost is None or repl.link is not None:
        return
    link = MasterLink(srv, repl)
    repl.link = link
    repl.repl_state = "connecting"
    host, port = repl.masterhost, repl.masterport
    log.info("Connecting to MASTER %s:%d", host, port)

    async def run() -> None:
        try:
            source = srv.config.bind_source_addr  # the address to connect from, if any
            await asyncio.wait_for(loop.create_connection(lambda: link, host, port,
                                                          local_addr=(source, 0) if source else None),
                                   srv.config.repl_timeout)
        except (TimeoutError, OSError) as exc:
            log.warning("Error condition on socket for SYNC: %s", exc)
            if repl.link is link:
                repl.link = None
                repl.repl_state = "connect"

    loop.create_task(run())


def replica_cron(repl: Replication, now: float) -> None:
    """The replica half of replicationCron: reconnect, timeouts, ACK every second."""
    cfg = repl.server.config
    link = repl.link
    if link is None:
        if repl.repl_state == "connect":
            connect(repl)
        return
    if repl.repl_state in ("connecting", "handshake", "transfer") and now - link.last_io > cfg.repl_timeout:
        log.warning("Timeout connecting to the MASTER..." if repl.repl_state != "transfer"
                    else "Timeout receiving bulk data from MASTER... If the problem persists try to set "
                         "the 'repl-timeout' parameter in redis.conf to a larger value.")
        link.close(abort=True)
        return
    if repl.repl_state == "connected":
        if now - link.last_io > cfg.repl_timeout:
            log.warning("MASTER timeout: no data nor PING received...")
            link.close(abort=True)
            return
        link.send_ack()
