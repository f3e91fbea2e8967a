"""CLUSTER, READONLY, READWRITE, ASKING (cluster.c's clusterCommand, readonlyCommand,
readwriteCommand, askingCommand).

Without ``cluster-enabled`` each replies "This instance has cluster support disabled",
as Redis 7.0.15 does. With it, the handlers parse and check arguments with Redis's
error texts and reach the cluster state through ``c.server.cluster``
(:mod:`engine.cluster`). The views (NODES, SLOTS, INFO …) are in
:mod:`engine.commands.cluster_views`; here are the subcommands that change the state.
Failover (CLUSTER FAILOVER, elections) is not served yet: it replies with an error
naming what is missing.
"""

from __future__ import annotations

import logging

from aof.clusterbus import CLUSTER_NODE_FAIL
from aof.replies import OK
from engine.commands.cluster_views import (
    HANDLERS,
    ll,
    ll_or_reply,
    lookup_or_unknown,
    slot_arg,
    sub,
    syntax_error,
)
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command, container, subcommand

G = "cluster"
log = logging.getLogger(__name__)


def _disabled(c, argv):
    raise CommandError("This instance has cluster support disabled")


CLUSTER = container("cluster", -2, group=G, since="3.0.0")

_ADMIN = "no_async_loading admin stale"
# name, arity, flags (COMMAND INFO/DOCS come from Redis's own descriptions: execution/meta.py)
_SUBCOMMANDS: tuple[tuple[str, int, str], ...] = (
    ("addslots", -3, _ADMIN), ("addslotsrange", -4, _ADMIN), ("bumpepoch", 2, _ADMIN),
    ("count-failure-reports", 3, "admin stale"), ("countkeysinslot", 3, "stale"), ("delslots", -3, _ADMIN),
    ("delslotsrange", -4, _ADMIN), ("failover", -2, _ADMIN), ("flushslots", 2, _ADMIN), ("forget", 3, _ADMIN),
    ("getkeysinslot", 4, "stale"), ("help", 2, "loading stale"), ("info", 2, "stale"), ("keyslot", 3, "stale"),
    ("links", 2, "stale"), ("meet", -4, _ADMIN), ("myid", 2, "stale"), ("nodes", 2, "stale"),
    ("replicas", 3, "admin stale"), ("replicate", 3, _ADMIN), ("reset", -2, "admin stale noscript"),
    ("saveconfig", 2, _ADMIN), ("set-config-epoch", 3, _ADMIN), ("setslot", -4, _ADMIN), ("shards", 2, "stale"),
    ("slaves", 3, "admin stale"), ("slots", 2, "stale"),
)
def _dispatch(c, argv):
    cl = c.server.cluster
    if cl is None:
        return _disabled(c, argv)
    return HANDLERS[argv[1].lower().decode("latin-1")](c, cl, argv)


for _name, _arity, _flags in _SUBCOMMANDS:
    subcommand(CLUSTER, _name, _arity, _flags)(_dispatch)


@sub("meet")
def _meet(c, cl, argv):
    if len(argv) not in (4, 5):
        raise syntax_error(argv)
    port = ll(argv[3])
    if port is None:
        raise CommandError(f"Invalid TCP base port specified: {argv[3].decode('utf-8', 'surrogateescape')}")
    if len(argv) == 5:
        cport = ll(argv[4])
        if cport is None:
            raise CommandError(f"Invalid TCP bus port specified: {argv[4].decode('utf-8', 'surrogateescape')}")
    else:
        cport = port + 10000
    if not cl.start_handshake(argv[2].decode("utf-8", "surrogateescape"), port, cport):
        raise CommandError(f"Invalid node address specified: {argv[2].decode('utf-8', 'surrogateescape')}:"
                           f"{argv[3].decode('utf-8', 'surrogateescape')}")
    return OK


@sub("flushslots")
def _flushslots(c, cl, argv):
    if c.server.keyspace.dbs[0].data:
        raise CommandError("DB must be empty to perform CLUSTER FLUSHSLOTS.")
    cl.del_node_slots(cl.myself)
    cl.changed()
    return OK


def _update_slots(cl, slots: list[int], delete: bool) -> None:
    """clusterUpdateSlots."""
    for s in slots:
        cl.importing.pop(s, None)
        if delete:
            cl.del_slot(s)
        else:
            cl.add_slot(cl.myself, s)
    cl.changed()


def _check(cl, seen: set[int], delete: bool, start: int, end: int) -> None:
    """checkSlotAssignmentsOrReply."""
    for s in range(start, end + 1):
        if delete and cl.owner[s] is None:
            raise CommandError(f"Slot {s} is already unassigned")
        if not delete and cl.owner[s] is not None:
            raise CommandError(f"Slot {s} is already busy")
        if s in seen:
            raise CommandError(f"Slot {s} specified multiple times")
        seen.add(s)


@sub("addslots")
@sub("delslots")
def _addslots(c, cl, argv):
    delete = argv[1].lower() == b"delslots"
    slots = [slot_arg(a) for a in argv[2:]]
    seen: set[int] = set()
    for s in slots:
        _check(cl, seen, delete, s, s)
    _update_slots(cl, sorted(seen), delete)
    return OK


@sub("addslotsrange")
@sub("delslotsrange")
def _addslotsrange(c, cl, argv):
    if len(argv) % 2 == 1:
        raise CommandError(f"wrong number of arguments for 'cluster|{argv[1].lower().decode()}' command")
    delete = argv[1].lower() == b"delslotsrange"
    seen: set[int] = set()
    for j in range(2, len(argv), 2):
        start, end = slot_arg(argv[j]), slot_arg(argv[j + 1])
        if start > end:
            raise CommandError(f"start slot number {start} is greater than end slot number {end}")
        _check(cl, seen, delete, start, end)
    _update_slots(cl, sorted(seen), delete)
    return OK


@sub("bumpepoch")
def _bumpepoch(c, cl, argv):
    bumped = cl.bump_epoch_without_consensus()
    return b"+%s %d\r\n" % (b"BUMPED" if bumped else b"STILL", cl.myself.config_epoch)


@sub("saveconfig")
def _saveconfig(c, cl, argv):
    try:
        cl.save_config()
    except OSError as exc:
        raise CommandError(f"error saving the cluster node config: {exc.strerror}") from None
    return OK


@sub("forget")
def _forget(c, cl, argv):
    n = lookup_or_unknown(cl, argv[2])
    if n is cl.myself:
        raise CommandError("I tried hard but I can't forget myself...")
    if cl.myself.is_replica and cl.myself.slaveof is n:
        raise CommandError("Can't forget my master!")
    cl.blacklist_add(n)
    cl.del_node(n)
    cl.changed()
    return OK


@sub("set-config-epoch")
def _set_config_epoch(c, cl, argv):
    epoch = ll_or_reply(argv[2])
    if epoch < 0:
        raise CommandError(f"Invalid config epoch specified: {epoch}")
    if len(cl.nodes) > 1:
        raise CommandError("The user can assign a config epoch only when the node does not know any other node.")
    if cl.myself.config_epoch != 0:
        raise CommandError("Node config epoch is already non-zero")
    cl.myself.config_epoch = epoch
    log.warning("configEpoch set to %d via CLUSTER SET-CONFIG-EPOCH", epoch)
    cl.current_epoch = max(cl.current_epoch, epoch)
    cl.changed()
    return OK


@sub("reset")
def _reset(c, cl, argv):
    if len(argv) > 3:
        raise syntax_error(argv)
    hard = False
    if len(argv) == 3:
        opt = argv[2].lower()
        if opt not in (b"hard", b"soft"):
            raise SyntaxErr()
        hard = opt == b"hard"
    if cl.myself.is_master and c.db.data:
        raise CommandError("CLUSTER RESET can't be called with master nodes containing keys")
    cl.reset(hard)
    return OK


@sub("setslot")
def _setslot(c, cl, argv):
    me = cl.myself
    if me.is_replica:
        raise CommandError("Please use SETSLOT only with masters.")
    slot = slot_arg(argv[2])
    action = argv[3].lower()
    if action in (b"migrating", b"importing") and len(argv) == 5:
        if action == b"migrating" and cl.owner[slot] is not me:
            raise CommandError(f"I'm not the owner of hash slot {slot}")
        if action == b"importing" and cl.owner[slot] is me:
            raise CommandError(f"I'm already the owner of hash slot {slot}")
        n = cl.lookup(argv[4])
        if n is None:
            raise CommandError(f"I don't know about node {argv[4].decode('utf-8', 'surrogateescape')}")
        if n.is_replica:
            raise CommandError("Target node is not a master")
        (cl.migrating if action == b"migrating" else cl.importing)[slot] = n
    elif action == b"stable" and len(argv) == 4:
        cl.importing.pop(slot, None)
        cl.migrating.pop(slot, None)
    elif action == b"node" and len(argv) == 5:
        n = lookup_or_unknown(cl, argv[4])
        if n.is_replica:
            raise CommandError("Target node is not a master")
        if cl.owner[slot] is me and n is not me and cl.slot_keys.count_keys_in_slot(slot):
            raise CommandError(f"Can't assign hashslot {slot} to a different node while I still hold keys for "
                               f"this hash slot.")
        if slot in cl.migrating and cl.slot_keys.count_keys_in_slot(slot) == 0:
            del cl.migrating[slot]
        was_mine = cl.owner[slot] is me
        cl.del_slot(slot)
        cl.add_slot(n, slot)
        if was_mine and n is not me and me.numslots == 0 and c.server.config.cluster_allow_replica_migration:
            log.warning("Configuration change detected. Reconfiguring myself as a replica of %s", n.name)
            cl.set_master(n)
            cl.todo_save(fsync=True)
        if n is me and slot in cl.importing:
            if cl.bump_epoch_without_consensus():  # the migrated slot's new owner is told to all
                log.warning("configEpoch updated after importing slot %d", slot)
            del cl.importing[slot]
            cl.bus.broadcast_pong()
    else:
        raise CommandError("Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    cl.changed()
    return OK


@sub("replicate")
def _replicate(c, cl, argv):
    n = lookup_or_unknown(cl, argv[2])
    if n is cl.myself:
        raise CommandError("Can't replicate myself")
    if n.is_replica:
        raise CommandError("I can only replicate a master, not a replica.")
    me = cl.myself
    if me.is_master and (me.numslots or c.server.keyspace.dbs[0].data):
        raise CommandError("To set a master the node must be empty and without assigned slots.")
    cl.set_master(n)
    cl.changed()
    return OK


@sub("failover")
def _failover(c, cl, argv):
    if len(argv) > 3:
        raise syntax_error(argv)
    force = takeover = False
    if len(argv) == 3:
        opt = argv[2].lower()
        if opt not in (b"force", b"takeover"):
            raise SyntaxErr()
        force, takeover = opt == b"force", opt == b"takeover"
    me = cl.myself
    if me.is_master:
        raise CommandError("You should send CLUSTER FAILOVER to a replica")
    if me.slaveof is None:
        raise CommandError("I'm a replica but my master is unknown to me")
    if not force and not takeover and (me.slaveof.flags & CLUSTER_NODE_FAIL or me.slaveof.link is None):
        raise CommandError("Master is down or failed, please use CLUSTER FAILOVER FORCE")
    cl.failover.start_manual(force, takeover)
    return OK


@command("readonly", 1, "fast loading stale", group=G, since="3.0.0")
def readonly_cmd(c, argv):
    if c.server.cluster is None:
        return _disabled(c, argv)
    c.cluster_readonly = True
    return OK


@command("readwrite", 1, "fast loading stale", group=G, since="3.0.0")
def readwrite_cmd(c, argv):
    if c.server.cluster is None:
        return _disabled(c, argv)
    c.cluster_readonly = False
    return OK


@command("asking", 1, "fast", group=G, since="3.0.0")
def asking_cmd(c, argv):
    if c.server.cluster is None:
        return _disabled(c, argv)
    c.asking = True
    return OK
