"""MEMORY USAGE/STATS/DOCTOR/PURGE/MALLOC-STATS/HELP (object.c's memoryCommand).

The figures are the memory model's (engine.keyspace.memory): what Redis 7.0 with
jemalloc would allocate for this dataset. MEMORY STATS lays them out as
getMemoryOverheadData does; the allocator and RSS lines compare the model with the
process RSS, as INFO's memory section does. MEMORY DOCTOR runs Redis's checks on the
model's figures except the fragmentation and RSS ones: a Python process's RSS says
nothing about the model, so those checks would always fire (engine/README.md, Known
differences). There is no jemalloc to report on or purge: MALLOC-STATS answers as a
Redis built without jemalloc does, PURGE is OK.
"""

from __future__ import annotations

from typing import NamedTuple

from aof.replies import OK, Map, Verbatim, bulk, encode, integer, null
from engine.commands.arguments import get_int
from engine.commands.scripting import help_reply
from engine.errors import SyntaxErr
from engine.execution.registry import container, subcommand
from engine.keyspace.memory import STARTUP_BYTES, rss_bytes, usage_reply_bytes

MEMORY = container("memory", -2, group="server", since="4.0.0")


@subcommand(MEMORY, "usage", -3, "readonly", 2, 2, 1)
def memory_usage(c, argv):
    """The model the maxmemory accounting uses: Redis 7.0's bytes."""
    samples = 5
    i = 3
    while i < len(argv):  # memoryCommand: SAMPLES <count>, 0 = all
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            samples = get_int(argv[i + 1])
            if samples < 0:
                raise SyntaxErr()
            i += 2
        else:
            raise SyntaxErr()
    v = c.db.peek(argv[2])
    if v is None:
        return null(c.resp)
    return integer(usage_reply_bytes(c.server, argv[2], v, samples))


class Overhead(NamedTuple):
    """getMemoryOverheadData's figures, from the model."""

    peak: int
    used: int
    clients: int
    scripts: int
    nscripts: int
    dbs: list[tuple[int, int, int]]
    total: int  # overhead.total
    keys: int
    net: int  # used above the startup figure (at least 1)
    rss: int
    backlog: int  # replication.backlog
    replicas: int  # clients.slaves


def overhead(srv) -> Overhead:
    mem = srv.memory
    used = mem.used_memory()
    mem.peak = max(mem.peak, used)
    lua = srv.scripting.info_fields()
    scripts = lua.get("used_memory_scripts", 0)
    dbs = mem.db_overheads()
    clients = mem.clients_bytes()
    backlog, replicas = mem.replication_bytes()
    total = STARTUP_BYTES + clients + scripts + backlog + replicas + sum(m + e for _, m, e in dbs)
    return Overhead(mem.peak, used, clients, scripts, lua.get("number_of_cached_scripts", 0), dbs,
                    total, srv.keyspace.total_keys(), max(1, used - STARTUP_BYTES), rss_bytes(),
                    backlog, replicas)


@subcommand(MEMORY, "stats", 2, "")
def memory_stats(c, argv):
    o = overhead(c.server)
    used, rss = o.used, o.rss
    out = Map([("peak.allocated", o.peak), ("total.allocated", used),
               ("startup.allocated", STARTUP_BYTES), ("replication.backlog", o.backlog),
               ("clients.slaves", o.replicas), ("clients.normal", o.clients), ("cluster.links", 0),
               ("aof.buffer", 0), ("lua.caches", o.scripts), ("functions.caches", 0)])
    for dbid, main, expires in o.dbs:
        out.append((f"db.{dbid}", Map([("overhead.hashtable.main", main),
                                       ("overhead.hashtable.expires", expires),
                                       ("overhead.hashtable.slot-to-keys", 0)])))
    dataset = used - o.total
    out += [("overhead.total", o.total), ("keys.count", o.keys),
            ("keys.bytes-per-key", o.net // o.keys if o.keys else 0),
            ("dataset.bytes", dataset), ("dataset.percentage", dataset * 100 / o.net),
            ("peak.percentage", used * 100 / o.peak),
            ("allocator.allocated", used), ("allocator.active", used), ("allocator.resident", rss),
            ("allocator-fragmentation.ratio", 1.0), ("allocator-fragmentation.bytes", 0),
            ("allocator-rss.ratio", rss / used), ("allocator-rss.bytes", rss - used),
            ("rss-overhead.ratio", 1.0), ("rss-overhead.bytes", 0),
            ("fragmentation", rss / used), ("fragmentation.bytes", rss - used)]
    return encode(out, c.resp)


_EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector can't "
          "be used in these conditions. Please, leave for your mission on Earth and fill it with some "
          "data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n")
_FINE = ("Hi Sam, I can't find any memory issue in your instance. I can only account for what "
         "occurs on this base.\n")
_PEAK = (" * Peak memory: In the past this instance used more than 150% the memory that is currently "
         "using. The allocator is normally not able to release memory after a peak, so you can expect "
         "to see a big fragmentation ratio, however this is actually harmless and is only due to the "
         "memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than "
         "expected, the memory will be used as soon as you fill the Redis instance with more data. If "
         "the memory peak was only occasional and you want to try to reclaim memory, please try the "
         "MEMORY PURGE command, otherwise the only other option is to shutdown and restart the "
         "instance.\n\n")
_CLIENTS = (" * Big client buffers: The clients output buffers in this instance are greater than 200K "
            "per client (on average). This may result from different causes, like Pub/Sub clients "
            "subscribed to channels bot not receiving data fast enough, so that data piles on the Redis "
            "instance output buffer, or clients sending commands with large replies or very large "
            "sequences of commands in the same pipeline. Please use the CLIENT LIST command in order "
            "to investigate the issue if it causes problems in your instance, or to understand better "
            "why certain clients are using a big amount of memory.\n\n")
_SCRIPTS = (" * Many scripts: There seem to be many cached scripts in this instance (more than 1000). "
            "This may be because scripts are generated and `EVAL`ed, instead of being parameterized "
            "(with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called "
            "periodically, the scripts' caches may end up consuming most of your memory.\n\n")


def doctor_report(srv) -> str:
    """getMemoryDoctorReport on the model's figures (no fragmentation/RSS checks)."""
    o = overhead(srv)
    if o.used < 5 * 1024 * 1024:
        return _EMPTY
    found = []
    if o.peak / o.used > 1.5:
        found.append(_PEAK)
    if o.clients // max(1, len(srv.clients)) > 200 * 1024:
        found.append(_CLIENTS)
    if o.nscripts > 1000:
        found.append(_SCRIPTS)
    if not found:
        return _FINE
    return ("Sam, I detected a few issues in this Redis instance memory implants:\n\n" + "".join(found)
            + "I'm here to keep you safe, Sam. I want to help you.\n")


@subcommand(MEMORY, "doctor", 2, "")
def memory_doctor(c, argv):
    return encode(Verbatim(doctor_report(c.server).encode()), c.resp)


@subcommand(MEMORY, "malloc-stats", 2, "")
def memory_malloc_stats(c, argv):
    return bulk(b"Stats not supported for the current allocator")  # no jemalloc here


@subcommand(MEMORY, "purge", 2, "")
def memory_purge(c, argv):
    return OK


@subcommand(MEMORY, "help", 2, "loading stale")
def memory_help(c, argv):
    return help_reply(c, argv, [
        "DOCTOR", "    Return memory problems reports.",
        "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
        "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS", "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all)."])
