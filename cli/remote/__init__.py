"""The CLI's clients of live servers: ``rdbkit restore`` and ``rdbkit fetch``.

``connection`` is a small blocking RESP client, ``router`` its use for a server or a
whole Redis Cluster (slot map, MOVED/ASK followed), ``restore`` moves records into one
(pipelined RESTORE ... ABSTTL),
``snapshot`` takes a full sync's payload over a socket. They live in ``cli``
because nothing else uses them, and they import no ``engine``. The protocol
pieces the engine shares with them are sans-IO in ``aof``: the replication
handshake (:mod:`aof.handshake`) and hash slots (:mod:`aof.slots`).
"""

from cli.remote.connection import Connection, ConnectionFailed, RemoteError
from cli.remote.restore import RestoreError, RestoreStats, RestoreTarget, rdb_version_for
from cli.remote.router import RouteError, Router
from cli.remote.snapshot import Snapshot

__all__ = [
    "Connection",
    "ConnectionFailed",
    "RemoteError",
    "RestoreError",
    "RestoreStats",
    "RestoreTarget",
    "RouteError",
    "Router",
    "Snapshot",
    "rdb_version_for",
]
