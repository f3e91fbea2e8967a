"""INFO's sections, one provider per subsystem (``Server.info_sections``).

The INFO command (:mod:`engine.commands.server`) renders the sections a client asks
for, calling only their providers. A subsystem's figures come from the subsystem
itself (memory accounting, RDB and AOF state, replication, the keyspace); the server,
clients, stats, CPU and command statistics sections are the server's own, written
here in Redis 7.0's field order.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.config import REDIS_VERSION
from engine.replication.info import info_fields as replication_fields

if TYPE_CHECKING:
    from engine.server.app import Server

Fields = list[tuple[str, object]]


def sections(srv: Server) -> dict[str, Callable[[], Fields]]:
    return {
        "server": lambda: server_fields(srv),
        "clients": lambda: client_fields(srv),
        "memory": lambda: srv.memory.info_fields(srv.scripting.info_fields()),
        "persistence": lambda: srv.rdb.info_fields() + srv.aof.info_fields(),
        "stats": lambda: stats_fields(srv),
        "replication": lambda: replication_fields(srv.replication),
        "cpu": cpu_fields,
        "modules": list,
        "errorstats": lambda: [(f"errorstat_{k}", f"count={v}")  # a rax: sorted by name
                               for k, v in sorted(srv.errorstats.items())],
        "cluster": lambda: [("cluster_enabled", int(srv.cluster is not None))],
        "keyspace": lambda: keyspace_fields(srv),
        "commandstats": lambda: commandstats_fields(srv),
        "latencystats": lambda: latencystats_fields(srv),
    }


def server_fields(srv: Server) -> Fields:
    cfg = srv.config
    now = time.time()
    up = int(now - srv.start_time)
    port = srv.bound_ports[0] if srv.bound_ports else cfg.port
    return [
        ("redis_version", REDIS_VERSION), ("redis_git_sha1", "00000000"), ("redis_git_dirty", 0),
        ("redis_build_id", "rdbkit"), ("redis_mode", "cluster" if srv.cluster is not None else "standalone"),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("arch_bits", 64), ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"), ("gcc_version", "0.0.0"),
        ("process_id", os.getpid()), ("process_supervised", "no"), ("run_id", srv.run_id),
        ("tcp_port", port), ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", up), ("uptime_in_days", up // 86400), ("hz", cfg.hz),
        ("configured_hz", cfg.hz), ("lru_clock", srv.keyspace.lru_clock & 0xFFFFFF),
        ("executable", os.path.abspath(sys.argv[0]) if sys.argv else ""),
        ("config_file", cfg.config_file or ""), ("io_threads_active", 0),
        *srv.shutdown.info_fields(),
    ]


def client_fields(srv: Server) -> Fields:
    blocked = srv.blocking.blocked_count
    return [
        ("connected_clients", len(srv.clients)),
        ("cluster_connections", len(srv.cluster.bus.links) if srv.cluster is not None else 0),
        ("maxclients", srv.config.maxclients), ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", srv.obuf.recent_max()), ("blocked_clients", blocked),
        ("tracking_clients", srv.tracking.tracking_clients), ("clients_in_timeout_table", blocked),
    ]


def stats_fields(srv: Server) -> Fields:
    st = srv.stats
    ks = srv.keyspace
    ps = srv.pubsub
    repl = srv.replication
    total = srv.total_commands()
    evictor = srv.evictor
    return [
        ("total_connections_received", st.connections), ("total_commands_processed", total),
        ("instantaneous_ops_per_sec", srv.ops_per_sec), ("total_net_input_bytes", st.net_input_bytes),
        ("total_net_output_bytes", st.net_output_bytes), ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"), ("rejected_connections", st.rejected_conn),
        ("sync_full", repl.sync_full), ("sync_partial_ok", repl.sync_partial_ok),
        ("sync_partial_err", repl.sync_partial_err),
        ("expired_keys", ks.expired_keys),
        ("expired_subkeys", ks.expired_subkeys),  # 7.4: hash fields reclaimed by their TTL
        ("expired_stale_perc", "0.00"),
        ("expired_time_cap_reached_count", 0), ("evicted_keys", ks.evicted_keys), ("evicted_clients", srv.client_mem.evicted),
        *(evictor.info_fields() if evictor is not None else
          [("total_eviction_exceeded_time", 0), ("current_eviction_exceeded_time", 0)]),
        ("keyspace_hits", ks.hits), ("keyspace_misses", ks.misses),
        ("pubsub_channels", len(ps.channels)), ("pubsub_patterns", len(ps.patterns)),
        ("latest_fork_usec", 0), ("total_forks", 0), ("migrate_cached_sockets", len(srv.migrate)),
        ("slave_expires_tracked_keys", 0), ("active_defrag_hits", 0), ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0), ("active_defrag_key_misses", 0), ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0), *srv.tracking.info_fields(),
        ("unexpected_error_replies", 0), ("total_error_replies", sum(srv.errorstats.values())),
        ("dump_payload_sanitizations", st.dump_payload_sanitizations), ("total_reads_processed", total),
        ("total_writes_processed", total), *srv.replybuf.info_fields(),
    ]


def cpu_fields() -> Fields:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return [
        ("used_cpu_sys", f"{ru.ru_stime:.6f}"), ("used_cpu_user", f"{ru.ru_utime:.6f}"),
        ("used_cpu_sys_children", "0.000000"), ("used_cpu_user_children", "0.000000"),
        ("used_cpu_sys_main_thread", f"{ru.ru_stime:.6f}"),
        ("used_cpu_user_main_thread", f"{ru.ru_utime:.6f}"),
    ]


def keyspace_fields(srv: Server) -> Fields:
    return [(f"db{db.id}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl={db.avg_ttl}")
            for db in srv.keyspace.dbs if db.data]


def commandstats_fields(srv: Server) -> Fields:
    out: Fields = []
    for cmd, (calls, ns, rejected, failed) in srv.cmdstats.items():
        usec = ns // 1000
        out.append((f"cmdstat_{cmd.name}", f"calls={calls},usec={usec},"
                                           f"usec_per_call={(usec / calls) if calls else 0:.2f},"
                                           f"rejected_calls={rejected},failed_calls={failed}"))
    return out


def latencystats_fields(srv: Server) -> Fields:
    """genRedisInfoStringLatencyStats: each command's run-time percentiles (in µs, as
    ``latency-tracking-info-percentiles`` lists them), while ``latency-tracking`` is on."""
    if not srv.latency_tracking:
        return []
    pcts = [float(p) for p in str(srv.config.latency_tracking_info_percentiles).split()]
    names = [f"p{p:f}".rstrip("0").rstrip(".") for p in pcts]  # "%f" + trimDoubleString
    out: Fields = []
    for cmd, h in srv.histograms.items():
        if h.total:
            out.append((f"latency_percentiles_usec_{cmd.name}",
                        ",".join(f"{n}={h.percentile(p):.3f}" for n, p in zip(names, pcts))))
    return out


__all__ = ["sections"]
