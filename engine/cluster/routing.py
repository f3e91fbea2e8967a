"""Which node serves a command (cluster.c's getNodeByQuery) and the redirection a client
gets otherwise (clusterRedirectClient): -MOVED, -ASK, -CROSSSLOT, -TRYAGAIN, -CLUSTERDOWN.

Called by the dispatcher through ``server.cluster.redirect`` for every command from a
real client (not the master link or the AOF) that has keys, and for EXEC with the
commands it queued.
"""

from __future__ import annotations

from typing import Any

from aof.slots import key_hash_slot

CROSSSLOT = b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
TRYAGAIN = b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
DOWN_STATE = b"-CLUSTERDOWN The cluster is down\r\n"
DOWN_RO_STATE = b"-CLUSTERDOWN The cluster is down and only accepts read commands\r\n"
DOWN_UNBOUND = b"-CLUSTERDOWN Hash slot not served\r\n"
_SHARD_PUBSUB = ("ssubscribe", "sunsubscribe", "spublish")


def _moved(kind: bytes, slot: int, n: Any, config: Any) -> bytes:
    """clusterRedirectClient's -MOVED/-ASK: the node's preferred endpoint and port."""
    return b"-%s %d %s:%d\r\n" % (kind, slot, n.endpoint(config.cluster_preferred_endpoint_type).encode(), n.port)


def moved(slot: int, n: Any, config: Any) -> bytes:
    return _moved(b"MOVED", slot, n, config)


def redirect(cl: Any, c: Any, cmd: Any, argv: list[bytes]) -> bytes | None:
    """The redirection error for ``c`` running ``cmd``, or None when this node serves it."""
    if cmd.name == "exec":
        if c.multi is None:
            return None
        queued = c.multi
    else:
        queued = [(cmd, argv)]
    me = cl.myself
    first: bytes | None = None
    slot = 0
    n = None
    migrating = importing = multiple = False
    missing = existing = 0
    db = cl.server.keyspace.dbs[0]
    for qcmd, qargv in queued:
        for pos in qcmd.key_positions(qargv):
            key = qargv[pos]
            this = key_hash_slot(key)
            if first is None:
                first, slot = key, this
                n = cl.owner[slot]
                if n is None:
                    return DOWN_UNBOUND
                if n is me and slot in cl.migrating:
                    migrating = True
                elif slot in cl.importing:
                    importing = True
            elif key != first:
                if this != slot:
                    return CROSSSLOT
                multiple = True
            if (migrating or importing) and qcmd.name not in _SHARD_PUBSUB:
                if key in db.data and not db.key_is_expired(key):
                    existing += 1
                else:
                    missing += 1
    if n is None:
        return None
    flags = cmd.flags_for(cl.server, argv)
    is_write = "write" in flags or (cmd.name == "exec" and any("write" in q.flags for q, _ in queued))
    if not cl.ok:
        cfg = cl.server.config
        if cmd.name in _SHARD_PUBSUB:
            if not cfg.cluster_allow_pubsubshard_when_down:
                return DOWN_STATE
        elif not cfg.cluster_allow_reads_when_down:
            return DOWN_STATE
        elif is_write:
            return DOWN_RO_STATE
    if (migrating or importing) and cmd.name == "migrate":
        return None
    if migrating and missing:
        return TRYAGAIN if existing else _moved(b"ASK", slot, cl.migrating[slot], cl.server.config)
    if importing and (c.asking or "asking" in flags):
        return TRYAGAIN if multiple and missing else None
    if ((getattr(c, "cluster_readonly", False) or cmd.name in _SHARD_PUBSUB) and not is_write
            and me.is_replica and me.slaveof is n):
        return None
    return None if n is me else _moved(b"MOVED", slot, n, cl.server.config)
