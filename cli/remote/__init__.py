"""The CLI's clients of live servers: ``rdbkit restore``, ``rdbkit fetch`` and ``rdbkit sync``.

``connection`` is a small blocking RESP client, ``router`` its use for a server or a
whole Redis Cluster (slot map, MOVED/ASK followed), ``restore`` moves records into one
(pipelined RESTORE ... ABSTTL), ``snapshot`` takes a full sync's payload over a socket,
and ``sync`` follows a master's stream into a target (``placement`` routes each command
by slot, ``applier`` applies it exactly once per node; docs/sync.md). They live in
``cli`` because nothing else uses them; only ``placement`` imports the engine (its
command table's key positions). The protocol pieces the engine shares with them are
sans-IO in ``aof``: the replication handshake and master stream (:mod:`aof.handshake`,
:mod:`aof.replstream`) and hash slots (:mod:`aof.slots`).
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
