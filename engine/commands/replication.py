"""Replication commands: REPLICAOF/SLAVEOF, PSYNC/SYNC, REPLCONF, WAIT, ROLE, FAILOVER
(``replication.c``: ``replicaofCommand``, ``syncCommand``, ``replconfCommand``,
``waitCommand``, ``roleCommand``, ``failoverCommand``). They drive ``c.server.replication``
(:class:`engine.replication.master.Replication`, FAILOVER's state machine in
:mod:`engine.replication.failover`), which sits above the command families in the
engine's order; its INFO section is :mod:`engine.replication.info`."""

from __future__ import annotations

import logging
from typing import Any

from aof.replies import OK, Raw, encode, integer
from engine.commands.arguments import get_int, get_range_int
from engine.errors import CommandError, SyntaxErr
from engine.execution.meta import Arg, CommandMeta
from engine.execution.registry import TABLE, command
from engine.types.strings import parse_int

log = logging.getLogger(__name__)
G = "server"
NO_REPLY = b""  # PSYNC/SYNC answer on their own; REPLCONF ACK/GETACK get no reply at all

_WAIT_ON_REPLICA = ("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
                    "if a replica is configured to be writable (which is not the default) writes to "
                    "replicas are just local and are not propagated.")


# -- REPLICAOF -------------------------------------------------------------------------------------
def _replicaof(c, argv):
    if c.server.cluster is not None:  # the cluster sets a replica's master (CLUSTER REPLICATE)
        raise CommandError("REPLICAOF not allowed in cluster mode.")
    repl = c.server.replication
    if repl.failover.state != "no-failover":
        raise CommandError("REPLICAOF not allowed while failing over.")
    host, port = argv[1], argv[2]
    if host.lower() == b"no" and port.lower() == b"one":
        if repl.masterhost is not None:
            repl.unset_master()
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
    repl.set_master(h, p)
    log.info("REPLICAOF %s:%d enabled (user request from 'id=%d addr=%s')", h, p, c.id, c.addr)
    return OK


command("replicaof", 3, "admin noscript stale no_async_loading", group=G, since="5.0.0")(_replicaof)
command("slaveof", 3, "admin noscript stale no_async_loading", group=G, since="1.0.0")(_replicaof)


# -- SYNC / PSYNC ----------------------------------------------------------------------------------
def _sync(c, argv):
    repl = c.server.replication
    if repl.is_replica(c):
        return NO_REPLY  # already a replica
    if len(argv) > 3 and argv[0].lower() == b"psync" and argv[3].lower() == b"failover":
        # our master hands over to us (its FAILOVER): promote, then answer as the master
        log.warning("Failover request received for replid %s.", argv[1].decode("latin-1"))
        if repl.masterhost is None:
            raise CommandError("PSYNC FAILOVER can't be sent to a master.")
        if argv[1].decode("latin-1") != repl.replid:
            raise CommandError("PSYNC FAILOVER replid must match my replid.")
        repl.unset_master()
        log.info("MASTER MODE enabled (failover request from '%s')", c.info_line())
    if repl.failover.state != "no-failover":  # no new replicas while failing over
        raise CommandError("Can't SYNC while failing over", "NOMASTERLINK")
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
def replconf_cmd(c, argv):
    if len(argv) % 2 == 0:
        raise SyntaxErr()
    repl = c.server.replication
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
def _never(c, db, key):
    return None


@command("wait", 3, "noscript", group="generic", since="3.0.0")
def wait_cmd(c, argv):
    srv = c.server
    repl = srv.replication
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


# -- FAILOVER --------------------------------------------------------------------------------------
_FAILOVER = CommandMeta(acl=("@admin", "@slow", "@dangerous"), complexity="O(1)", args=(
    Arg("target", "block", "TO", flags=("optional",), args=(
        Arg("host", "string"), Arg("port", "integer"),
        Arg("force", "pure-token", "FORCE", flags=("optional",)))),
    Arg("abort", "pure-token", "ABORT", flags=("optional",)),
    Arg("milliseconds", "integer", "TIMEOUT", flags=("optional",))))


@command("failover", -1, "admin noscript stale", group=G, since="6.2.0", meta=_FAILOVER,
         summary="Start a coordinated failover between this server and one of its replicas.")
def failover_cmd(c, argv):
    """failoverCommand: ABORT alone, else TO/TIMEOUT/FORCE each at most once, in any order."""
    failover = c.server.replication.failover
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if failover.state == "no-failover":
            raise CommandError("No failover in progress.")
        failover.abort("Failover manually aborted")
        return OK
    timeout = port = 0
    force = False
    host = None
    j = 1
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = get_int(argv[j + 1])
            if timeout <= 0:
                raise CommandError("FAILOVER timeout must be greater than 0")
            j += 1
        elif opt == b"to" and j + 2 < len(argv) and host is None:
            port = get_int(argv[j + 2])
            host = argv[j + 1].decode("utf-8", "surrogateescape")
            j += 2
        elif opt == b"force" and not force:
            force = True
        else:
            raise SyntaxErr()
        j += 1
    failover.start(host, port, timeout, force)
    return OK


for _name in ("psync", "sync", "replconf", "wait", "replicaof", "slaveof", "failover"):
    TABLE.commands[_name].fast = False  # change the client's state or block: never pipelined inline


# -- ROLE and INFO ---------------------------------------------------------------------------------
_ROLE_STATE = {"none": "none", "connect": "connect", "connecting": "connecting", "handshake": "handshake",
               "transfer": "sync", "connected": "connected"}


@command("role", 1, "noscript loading stale fast", group=G, since="2.8.12")
def role_cmd(c, argv):
    repl = c.server.replication
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
