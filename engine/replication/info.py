"""INFO replication: the role, the master link or the replicas, ids, offsets, backlog."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from engine.replication.replicas import INFO_STATE, NONE

if TYPE_CHECKING:
    from engine.replication.master import Replication


def info_fields(repl: Replication) -> list[tuple[str, object]]:
    """INFO replication (genRedisInfoString's section, Redis 7.0's field order)."""
    cfg = repl.server.config
    now = time.time()
    out: list[tuple[str, object]] = [("role", "master" if repl.masterhost is None else "slave")]
    if repl.masterhost is not None:
        link = repl.link
        synced = link is not None and link.synced
        connected = repl.repl_state == "connected"
        if synced:
            off = link.reploff
            read_off = link.base + link.applied + len(link.stream.unapplied)
        elif repl.cached is not None:
            off = read_off = repl.cached[1]
        else:
            off = read_off = 1
        out += [("master_host", repl.masterhost), ("master_port", repl.masterport),
                ("master_link_status", "up" if connected else "down"),
                ("master_last_io_seconds_ago", int(now - link.last_io) if synced else -1),
                ("master_sync_in_progress", int(repl.repl_state == "transfer")),
                ("slave_read_repl_offset", read_off), ("slave_repl_offset", off)]
        if repl.repl_state == "transfer" and link is not None:
            total = link.sync_size
            read = link.sync_read
            out += [("master_sync_total_bytes", total), ("master_sync_read_bytes", read),
                    ("master_sync_left_bytes", total - read if total >= 0 else -1),
                    ("master_sync_perc", f"{(read * 100 / total) if total > 0 else 0:.2f}"),
                    ("master_sync_last_io_seconds_ago", int(now - link.last_io))]
        if not connected:
            out.append(("master_link_down_since_seconds",
                        int(now - repl.down_since) if repl.down_since else -1))
        out += [("slave_priority", cfg.replica_priority), ("slave_read_only", int(cfg.replica_read_only)),
                ("replica_announced", int(cfg.replica_announced))]
    replicas = [r for r in repl.replicas if r.repl.state != NONE]
    out.append(("connected_slaves", len(replicas)))
    if cfg.min_replicas_to_write and cfg.min_replicas_max_lag:
        out.append(("min_slaves_good_slaves", repl.good_replicas()))
    for i, r in enumerate(replicas):
        info = r.repl
        out.append((f"slave{i}", f"ip={info.ip},port={info.listening_port},state={INFO_STATE[info.state]},"
                                 f"offset={info.ack_off},lag={int(now - info.ack_time)}"))
    backlog = repl.backlog
    out += [("master_failover_state", repl.failover.state), ("master_replid", repl.replid),
            ("master_replid2", repl.replid2), ("master_repl_offset", repl.master_repl_offset),
            ("second_repl_offset", repl.second_replid_offset),
            ("repl_backlog_active", int(backlog is not None)),
            ("repl_backlog_size", cfg.repl_backlog_size),
            ("repl_backlog_first_byte_offset", backlog.first_byte_offset if backlog is not None else 0),
            ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0)]
    return out


__all__ = ["info_fields"]
