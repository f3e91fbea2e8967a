"""Replication commands: REPLICAOF/SLAVEOF, PSYNC/SYNC, REPLCONF, WAIT, ROLE, and the
INFO replication section (``replication.c``: ``replicaofCommand``, ``syncCommand``,
``replconfCommand``, ``waitCommand``, ``roleCommand``, ``genRedisInfoString``)."""

from __future__ import annotations

import logging
import time
from typing import Any

from aof.replies import OK, Raw, encode, integer
from engine.commands.arguments import get_int, get_range_int
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import TABLE, command
from engine.replication.master import Replication
from engine.replication.replica import set_master, unset_master
from engine.replication.replicas import INFO_STATE, NONE
from engine.types.strings import parse_int

log = logging.getLogger(__name__)
G = "server"
NO_REPLY = b""  # PSYNC/SYNC answer on their own; REPLCONF ACK/GETACK get no reply at all

_WAIT_ON_REPLICA = ("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
                    "if a replica is configured to be writable (which is not the default) writes to "
                    "replicas are just local and are not propagated.")


# -- REPLICAOF -------------------------------------------------------------------------------------
def _replicaof(c, argv):  # type: ignore[no-untyped-def]
    repl: Replication = c.server.replication
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if repl.masterhost is not None:
            unset_master(repl)
            log.info("MASTER MODE enabled (user request from 'id=%d addr=%s')", c.id, c.addr)
        return OK
    if c.repl is not None and c.repl.flag == "S":
        raise CommandError("Command is not valid when client is a replica.")
    p = get_range_int(port, 0, 65535, "Invalid master port")
    h = host.decode("utf-8", "surrogateescape")
    if repl.masterhost is not None and repl.masterhost.lower() == h.lower() and repl.masterport == p:
        log.info("REPLICAOF would result into synchronization with the master we are already "
                 "connected with. No operation performed.")
        return b"+OK Already connected to specified master\r\n"
    set_master(repl, h, p)
    log.info("REPLICAOF %s:%d enabled (user request from 'id=%d addr=%s')", h, p, c.id, c.addr)
    return OK


command("replicaof", 3, "admin noscript stale no_async_loading", group=G, since="5.0.0")(_replicaof)
command("slaveof", 3, "admin noscript stale no_async_loading", group=G, since="1.0.0")(_replicaof)


# -- SYNC / PSYNC ----------------------------------------------------------------------------------
def _sync(c, argv):  # type: ignore[no-untyped-def]
    repl: Replication = c.server.replication
    if c.repl is not None and c.repl.state != NONE:
        return NO_REPLY  # already a replica
    if repl.masterhost is not None and repl.repl_state != "connected":
        raise CommandError("Can't SYNC while not connected with my master", "NOMASTERLINK")
    log.info("Replica %s asks for synchronization", c.addr)
    psync = argv[0].lower() == b"psync"
    if psync:
        offset = get_int(argv[2])
        replid = argv[1].decode("latin-1")
        if repl.try_partial(c, replid, offset):
            return NO_REPLY
        if not replid.startswith("?"):
            repl.sync_partial_err += 1
    repl.full_sync(c, legacy=not psync)
    return NO_REPLY


command("psync", -3, "admin noscript no_async_loading no_multi", group=G, since="2.8.0")(_sync)
command("sync", 1, "admin noscript no_async_loading no_multi", group=G, since="1.0.0")(_sync)


# -- REPLCONF --------------------------------------------------------------------------------------
@command("replconf", -1, "admin noscript loading stale allow_busy", group=G, since="3.0.0")
def replconf_cmd(c, argv):  # type: ignore[no-untyped-def]
    if len(argv) % 2 == 0:
        raise SyntaxErr()
    repl: Replication = c.server.replication
    for j in range(1, len(argv), 2):
        opt = argv[j].lower()
        val = argv[j + 1]
        if opt == b"listening-port":
            repl.info_of(c).listening_port = get_int(val)
        elif opt == b"ip-address":
            if len(val) >= 46:
                raise CommandError(f"REPLCONF ip-address provided by replica instance is too long: "
                                   f"{len(val)} bytes")
            repl.info_of(c).ip_address = val.decode("utf-8", "replace")
        elif opt == b"capa":
            cap = val.lower()
            if cap == b"eof":
                repl.info_of(c).capa_eof = True
            elif cap == b"psync2":
                repl.info_of(c).capa_psync2 = True
        elif opt == b"ack":
            # from a replica: its processed offset (a normal client gets no reply either)
            off = parse_int(val)
            if off is not None and c.repl is not None and c.repl.kind == "replica":
                repl.ack(c, off)
            return NO_REPLY
        elif opt == b"getack":
            link = repl.link
            if repl.masterhost is not None and link is not None:
                link.send_ack()
            return NO_REPLY
        elif opt == b"rdb-only":
            v = get_range_int(val, 0, 1)
            repl.info_of(c).rdb_only = bool(v)
        elif opt == b"rdb-filter-only":
            pass  # only "functions" exists; a full snapshot is a superset
        else:
            raise CommandError(f"Unrecognized REPLCONF option: {argv[j].decode('utf-8', 'replace')}")
    return OK


# -- WAIT ------------------------------------------------------------------------------------------
def _never(c, db, key):  # type: ignore[no-untyped-def]
    return None


@command("wait", 3, "", group="generic", since="3.0.0")
def wait_cmd(c, argv):  # type: ignore[no-untyped-def]
    srv = c.server
    repl: Replication = srv.replication
    if repl.masterhost is not None:
        raise CommandError(_WAIT_ON_REPLICA)
    want = get_int(argv[1])
    timeout = get_int(argv[2], "timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("timeout is negative")
    offset = repl.master_repl_offset
    n = repl.acked(offset)
    if n >= want or c.multi is not None or c.in_exec:
        return integer(n)
    srv.blocking.block(c, [], timeout, _never, integer(n), "wait")
    repl.waiters.append((c, want, offset))
    repl.request_acks()
    return None


for _name in ("psync", "sync", "replconf", "wait", "replicaof", "slaveof"):
    TABLE.commands[_name].fast = False  # change the client's state or block: never pipelined inline


# -- ROLE and INFO ---------------------------------------------------------------------------------
_ROLE_STATE = {"none": "none", "connect": "connect", "connecting": "connecting", "handshake": "handshake",
               "transfer": "sync", "connected": "connected"}


@command("role", 1, "noscript loading stale fast", group=G, since="2.8.12")
def role_cmd(c, argv):  # type: ignore[no-untyped-def]
    repl: Replication = c.server.replication
    if repl.masterhost is None:
        items: list[Any] = []
        for r in repl.replicas:
            info = r.repl
            items.append([info.ip.encode(), b"%d" % info.listening_port, b"%d" % info.ack_off])
        return encode([b"master", repl.master_repl_offset, items], c.resp)
    link = repl.link
    off = link.reploff if link is not None and link.synced else -1
    return encode([b"slave", repl.masterhost.encode(), repl.masterport,
                   _ROLE_STATE.get(repl.repl_state, "unknown").encode(), Raw(integer(off))], c.resp)


def info_fields(srv) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    repl: Replication = srv.replication
    cfg = srv.config
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
    out += [("master_failover_state", "no-failover"), ("master_replid", repl.replid),
            ("master_replid2", repl.replid2), ("master_repl_offset", repl.master_repl_offset),
            ("second_repl_offset", repl.second_replid_offset),
            ("repl_backlog_active", int(backlog is not None)),
            ("repl_backlog_size", cfg.repl_backlog_size),
            ("repl_backlog_first_byte_offset", backlog.first_byte_offset if backlog is not None else 0),
            ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0)]
    return out
