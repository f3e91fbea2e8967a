"""The server as the layers below ``engine/server/`` see it: a structural type.

The :class:`~engine.server.app.Server` (top of the order, engine/README.md "Layers")
creates every subsystem and hands itself to each; a subsystem lower in the order may
not import the server, so it names what it uses of it through :class:`Host`. The
subsystems that live above this layer (persistence, replication, scripting, the
shutdown sequence) are ``Any`` here: their own modules document them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from engine.config import Config
    from engine.execution.blocking import Blocking
    from engine.execution.client import Client
    from engine.execution.clientmem import ClientMemory
    from engine.execution.obuf import OutputWatch
    from engine.execution.pause import ClientPause
    from engine.keyspace.db import Database, Keyspace
    from engine.keyspace.evict import Evictor
    from engine.keyspace.memory import MemoryAccount
    from engine.latency import Histogram, LatencyMonitor
    from engine.propagate import Propagator
    from engine.pubsub import PubSub
    from engine.tracking import Tracking


class Host(Protocol):
    # configuration, data, propagation
    config: Config
    keyspace: Keyspace
    propagator: Propagator
    dirty: int  # server.dirty: changes since the last save; a command that wrote moved it
    loading: bool  # the dataset is being loaded (nothing expires, nothing is propagated)
    loop: asyncio.AbstractEventLoop | None
    # clients and the command path
    clients: dict[int, Client]
    monitors: list[Client]
    ready_keys: list[tuple[Database, bytes]]
    stats: Any
    cmdstats: dict[Any, list[int]]
    slowlog_threshold_ns: int
    latency: LatencyMonitor  # LATENCY's event samples
    latency_threshold_ns: int  # latency-monitor-threshold in ns (huge when off)
    histograms: dict[Any, Histogram]  # Command → run times (LATENCY HISTOGRAM)
    latency_tracking: bool  # latency-tracking: record into histograms
    bound_ports: list[int]
    deny_write_reply: bytes | None  # MISCONF while a save or the AOF cannot be written
    busy_reply: bytes | None  # -BUSY while a script runs past busy-reply-threshold
    pre_command_oom_state: bool
    # subsystems of this layer and below
    blocking: Blocking
    pause: ClientPause
    obuf: OutputWatch
    client_mem: ClientMemory
    client_buffers: int  # what clients hold beyond the model's fixed part (ClientMemory)
    pubsub: PubSub
    tracking: Tracking
    memory: MemoryAccount
    evictor: Evictor | None
    # subsystems above this layer (engine.acl, engine.persistence, engine.replication,
    # engine.scripting, engine.server.shutdown, engine.cluster: None unless cluster-enabled)
    acl: Any
    cluster: Any
    aof: Any
    aof_gate: Any
    rdb: Any
    replication: Any
    scripting: Any
    shutdown: Any

    def next_client_id(self) -> int: ...
    def client_gone(self, c: Client) -> None: ...
    def count_error(self, reply: bytes) -> None: ...
    def feed_monitors(self, c: Client, argv: list[bytes], cmd: Any = None) -> None: ...
    def slowlog_push(self, c: Client, argv: list[bytes], us: int) -> None: ...
    def signal_keys(self, db: Database, keys: list[bytes], modifier: Client | None = None) -> None: ...
    def signal_all(self, db: Database, replaced_with: Database | None = None) -> None: ...
    def handle_ready_keys(self) -> None: ...
    def has_active_child(self) -> bool: ...
    def update_write_denial(self) -> None: ...
    def update_oom(self, process_class: int = -1) -> str | None: ...


__all__ = ["Host"]
