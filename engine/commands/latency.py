"""LATENCY DOCTOR/GRAPH/HISTOGRAM/HISTORY/LATEST/RESET/HELP as Redis 7.0.15's latency.c.

The samples and histograms are the server's (``server.latency``, ``server.histograms``;
engine.latency); this module only answers from them.
"""

from __future__ import annotations

from aof.replies import Map, Simple, Verbatim, encode, integer
from engine.errors import CommandError
from engine.execution.registry import TABLE, Command, container, subcommand
from engine.latency import anon_huge_pages_kb

_ADMIN = "admin noscript loading stale"

LATENCY = container("latency", -2, since="2.8.13", summary="A container for latency diagnostics commands")


@subcommand(LATENCY, "doctor", 2, _ADMIN, summary="Return a human readable latency analysis report.")
def latency_doctor(c, argv):
    return encode(Verbatim(doctor_report(c.server).encode()), c.resp)


@subcommand(LATENCY, "graph", 3, _ADMIN, summary="Return a latency graph for the event.")
def latency_graph(c, argv):
    event = argv[2].decode("utf-8", "surrogateescape")
    graph = c.server.latency.graph(event)
    if graph is None:
        raise CommandError(f"No samples available for event '{event}'")
    return encode(Verbatim(graph.encode("utf-8", "surrogateescape")), c.resp)


@subcommand(LATENCY, "histogram", -2, _ADMIN, since="7.0.0",
            summary="Return the cumulative distribution of latencies of a subset of commands or all.")
def latency_histogram(c, argv):
    hists = c.server.histograms
    if len(argv) == 2:  # latencyAllCommandsFillCDF: every command, then its subcommands
        cmds: list[Command] = []
        for cmd in TABLE.commands.values():
            cmds.append(cmd)
            cmds += cmd.subcommands.values()
    else:  # latencySpecificCommandsFillCDF: unknown names are skipped
        cmds = []
        for a in argv[2:]:
            cmd = _lookup(a)
            if cmd is not None:
                cmds.append(cmd)
                cmds += cmd.subcommands.values()
    out = Map()
    for cmd in cmds:
        h = hists.get(cmd)
        if h is not None:
            cdf = h.cdf()
            out.append((cmd.name, Map([("calls", h.total),
                                       ("histogram_usec", Map(zip(cdf[::2], cdf[1::2], strict=True)))])))
    return encode(out, c.resp)


@subcommand(LATENCY, "history", 3, _ADMIN, summary="Return timestamp-latency samples for the event.")
def latency_history(c, argv):
    return encode(c.server.latency.history(argv[2].decode("utf-8", "surrogateescape")), c.resp)


@subcommand(LATENCY, "latest", 2, _ADMIN, summary="Return the latest latency samples for all events.")
def latency_latest(c, argv):
    return encode(c.server.latency.latest(), c.resp)


@subcommand(LATENCY, "reset", -2, _ADMIN, summary="Reset latency data for one or more events.")
def latency_reset(c, argv):
    mon = c.server.latency
    if len(argv) == 2:
        return integer(mon.reset())
    return integer(sum(mon.reset(a.decode("utf-8", "surrogateescape")) for a in argv[2:]))


@subcommand(LATENCY, "help", 2, "loading stale", summary="Show helpful text about the different subcommands.")
def latency_help(c, argv):
    lines = ["LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "DOCTOR", "    Return a human readable latency analysis report.",
             "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
             "HISTORY <event>", "    Return time-latency samples for the <event> class.",
             "LATEST", "    Return the latest latency samples for all events.",
             "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
             "    (default: reset all data for all event classes)",
             "HISTOGRAM [COMMAND ...]",
             "    Return a cumulative distribution of latencies in the format of a histogram for the "
             "specified command names.",
             "    If no commands are specified then all histograms are replied.",
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)


def _lookup(name: bytes) -> Command | None:
    """lookupCommandBySds: ``name`` or ``container|sub``."""
    parts = name.lower().split(b"|")
    cmd = TABLE.lookup.get(parts[0])
    if cmd is None or len(parts) == 1:
        return cmd
    return cmd.subcommands.get(parts[1]) if len(parts) == 2 else None


# -- DOCTOR --------------------------------------------------------------------------

_ADVICE = {
    "better_vm": "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n",  # noqa: E501
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n",  # noqa: E501
    "scheduler": "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"  # noqa: E501
                 "  1) Lower the system load.\n"
                 "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                 "  3) Check if you have a \"noisy neighbour\" problem.\n"
                 "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                 "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n",  # noqa: E501
    "local_disk": "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n",  # noqa: E501
    "ssd": "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n",  # noqa: E501
    "data_writeback": "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n",  # noqa: E501
    "disk_contention": "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n",  # noqa: E501
    "no_appendfsync": "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n",  # noqa: E501
    "relax_fsync_policy": "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n",  # noqa: E501
    "write_load_info": "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n",  # noqa: E501
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n",  # noqa: E501
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n",  # noqa: E501
    "mass_eviction": "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n",  # noqa: E501
    "disable_thp": "- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n",  # noqa: E501
}
# event → the advice it raises (createLatencyReport); "command" and "fork" depend on config
_EVENT_ADVICE = {
    "fast-command": ("scheduler",),
    "aof-write-pending-fsync": ("local_disk", "disk_contention", "ssd", "data_writeback"),
    "aof-write-active-child": ("no_appendfsync", "data_writeback", "ssd"),
    "aof-write-alone": ("local_disk", "data_writeback", "ssd"),
    "aof-fsync-always": ("relax_fsync_policy",),
    "aof-fstat": ("disk_contention", "local_disk"),
    "rdb-unlink-temp-file": ("disk_contention", "local_disk"),
    "aof-rewrite-diff-write": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "aof-rename": ("write_load_info", "data_writeback", "ssd", "local_disk"),
    "expire-cycle": ("hz", "large_objects"),
    "eviction-del": ("large_objects",),
    "eviction-cycle": ("mass_eviction",),
}
_ORDER = ("better_vm", "slowlog_enabled", "slowlog_tuning", "slowlog_inspect", "scheduler", "local_disk",
          "ssd", "data_writeback", "disk_contention", "no_appendfsync", "relax_fsync_policy",
          "write_load_info", "hz", "large_objects", "mass_eviction", "disable_thp")


def doctor_report(srv) -> str:
    """createLatencyReport: each event's statistics, then the advice they call for."""
    cfg = srv.config
    mon = srv.latency
    threshold = cfg.latency_monitor_threshold
    if not mon.events and threshold == 0:
        return ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. "
                "You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. "
                "If we weren't in a deep space mission I'd suggest to take a look at "
                "https://redis.io/topics/latency-monitor.\n")
    out = []
    advise: set[str] = set()
    advices = 0
    for num, (event, ts) in enumerate(mon.events.items(), 1):
        if num == 1:
            out.append("Dave, I have observed latency spikes in this Redis instance. "
                       "You don't mind talking about it, do you Dave?\n\n")
        n, avg, mad, period = mon.stats(event)
        out.append(f"{num}. {event}: {n} latency spikes (average {avg}ms, mean deviation {mad}ms, "
                   f"period {period / n if n else 0:.2f} sec). Worst all time event {ts.max}ms.")
        low = event.lower()
        if low == "fork":
            rate = 0.0  # stat_fork_rate: this server does not measure it
            advise.add("better_vm")
            advices += 1
            out.append(f" Fork rate is {rate:.2f} GB/sec (terrible).")
        if low == "command":
            slower = cfg.slowlog_log_slower_than
            if slower < 0:
                advise.add("slowlog_enabled")
                advices += 1
            elif slower // 1000 > threshold:
                advise.add("slowlog_tuning")
                advices += 1
            advise.update(("slowlog_inspect", "large_objects"))
            advices += 2
        for a in _EVENT_ADVICE.get(low, ()):
            advise.add(a)
            advices += 1
        out.append("\n")
    if anon_huge_pages_kb() > 0:
        advise.add("disable_thp")
        advices += 1
    events = len(mon.events)
    if events == 0 and advices == 0:
        out.append("Dave, no latency spike was observed during the lifetime of this Redis instance, not in "
                   "the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, "
                   "and think things over.\n")
    elif events > 0 and advices == 0:
        out.append("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use "
                   "the Redis community to get some help, providing this report in your help request.\n")
    else:
        out.append("\nI have a few advices for you:\n\n")
        for a in _ORDER:
            if a not in advise:
                continue
            if a == "slowlog_enabled":
                out.append("- There are latency issues with potentially slow commands you are using. Try to "
                           "enable the Slow Log Redis feature using the command 'CONFIG SET "
                           f"slowlog-log-slower-than {threshold * 1000}'. If the Slow log is disabled Redis "
                           "is not able to log slow commands execution for you.\n")
            elif a == "slowlog_tuning":
                out.append("- Your current Slow Log configuration only logs events that are slower than your "
                           "configured latency monitor threshold. Please use 'CONFIG SET "
                           f"slowlog-log-slower-than {threshold * 1000}'.\n")
            elif a == "relax_fsync_policy" and cfg.appendfsync != "always":
                continue
            elif a == "hz" and cfg.hz >= 100:
                continue
            else:
                out.append(_ADVICE[a])
    return "".join(out)
