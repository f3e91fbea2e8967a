"""CLUSTER, READONLY, READWRITE, ASKING (cluster.c's clusterCommand, readonlyCommand,
readwriteCommand, askingCommand).

Without ``cluster-enabled`` each replies "This instance has cluster support disabled",
as Redis 7.0.15 does. With it, the handlers parse and check arguments with Redis's
error texts and reach the cluster state through ``c.server.cluster``
(:mod:`engine.cluster`). Replicas (REPLICATE, FAILOVER) are not served yet: those reply with an error
naming what is missing.
"""

from __future__ import annotations

import logging

from aof.replies import OK, array, bulk, bulks, integer, map_header, verbatim
from aof.slots import SLOTS, key_hash_slot
from engine.commands.scripting import help_reply
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
_HANDLERS: dict[str, object] = {}


def _sub(name: str):
    def deco(fn):
        _HANDLERS[name] = fn
        return fn
    return deco


def _dispatch(c, argv):
    cl = c.server.cluster
    if cl is None:
        return _disabled(c, argv)
    return _HANDLERS[argv[1].lower().decode("latin-1")](c, cl, argv)


def _syntax(argv) -> CommandError:
    """addReplySubcommandSyntaxError."""
    return CommandError(f"unknown subcommand or wrong number of arguments for "
                        f"'{argv[1][:128].decode('utf-8', 'surrogateescape')}'. "
                        f"Try {argv[0].upper().decode('utf-8', 'surrogateescape')} HELP.")


for _name, _arity, _flags in _SUBCOMMANDS:
    subcommand(CLUSTER, _name, _arity, _flags)(_dispatch)


def _ll(b: bytes) -> int | None:
    """getLongLongFromObject, None when not a number."""
    try:
        if not b or b != b.strip() or (len(b) > 1 and b[:1] == b"0") or b[:2] in (b"+", b"-0"):
            raise ValueError
        n = int(b)
    except ValueError:
        return None
    return n if -2**63 <= n < 2**63 else None


def _ll_or_reply(b: bytes) -> int:
    n = _ll(b)
    if n is None:
        raise CommandError("value is not an integer or out of range")
    return n


def _slot(b: bytes) -> int:
    """getSlotOrReply."""
    n = _ll(b)
    if n is None or not 0 <= n < SLOTS:
        raise CommandError("Invalid or out of range slot")
    return n


@_sub("help")
def _help(c, cl, argv):
    return help_reply(c, argv, [
        "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH", "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>", "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
        "FORGET <node-id>", "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS", "    Delete current node own slots information.",
        "INFO", "    Return information about the cluster.",
        "KEYSLOT <key>", "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
        "MYID", "    Return the node id.",
        "NODES", "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>", "    Return <node-id> replicas.",
        "SAVECONFIG", "    Force saving cluster configuration on disk.",
        "SLOTS", "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS", "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS", "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link"])


@_sub("meet")
def _meet(c, cl, argv):
    if len(argv) not in (4, 5):
        raise _syntax(argv)
    port = _ll(argv[3])
    if port is None:
        raise CommandError(f"Invalid TCP base port specified: {argv[3].decode('utf-8', 'surrogateescape')}")
    if len(argv) == 5:
        cport = _ll(argv[4])
        if cport is None:
            raise CommandError(f"Invalid TCP bus port specified: {argv[4].decode('utf-8', 'surrogateescape')}")
    else:
        cport = port + 10000
    if not cl.start_handshake(argv[2].decode("utf-8", "surrogateescape"), port, cport):
        raise CommandError(f"Invalid node address specified: {argv[2].decode('utf-8', 'surrogateescape')}:"
                           f"{argv[3].decode('utf-8', 'surrogateescape')}")
    return OK


@_sub("nodes")
def _nodes(c, cl, argv):
    return verbatim(cl.nodes_text().encode("utf-8", "surrogateescape"), c.resp)


@_sub("myid")
def _myid(c, cl, argv):
    return bulk(cl.myself.name.encode())


@_sub("slots")
def _slots(c, cl, argv):
    out = []
    start, n = 0, None
    for i in range(SLOTS + 1):
        cur = cl.owner[i] if i < SLOTS else None
        if cur is not n or i == SLOTS:
            if n is not None:
                nodes = [_node_entry(c, cl, n)] + [_node_entry(c, cl, r) for r in n.replicas if r.repl_offset]
                out.append(array([integer(start), integer(i - 1), *nodes]))
            n, start = cur, i
    return array(out)


def _node_entry(c, cl, n):
    """addNodeToNodeReply (cluster-preferred-endpoint-type ip)."""
    extra = [bulk(b"hostname"), bulk(n.hostname.encode())] if n.hostname else []
    return array([bulk(n.ip.encode()), integer(n.port), bulk(n.name.encode()),
                  map_header(len(extra) // 2, c.resp) + b"".join(extra)])


@_sub("shards")
def _shards(c, cl, argv):
    out = []
    for n in cl.nodes.values():
        if not n.is_master:
            continue
        flat = [integer(x) for r in cl.slot_ranges(n) for x in r]
        members = [_shard_node(c, cl, m) for m in (n, *n.replicas)]
        out.append(map_header(2, c.resp) + bulk(b"slots") + array(flat) + bulk(b"nodes") + array(members))
    return array(out)


def _shard_node(c, cl, n):
    """addNodeDetailsToShardReply."""
    me = n is cl.myself
    offset = c.server.replication.master_repl_offset if me else n.repl_offset
    fields = [(b"id", bulk(n.name.encode()))]
    if n.port:
        fields.append((b"port", integer(n.port)))
    fields += [(b"ip", bulk(n.ip.encode())), (b"endpoint", bulk(n.ip.encode()))]
    if n.hostname:
        fields.append((b"hostname", bulk(n.hostname.encode())))
    health = "fail" if n.flags & 8 else "loading" if n.is_replica and offset == 0 else "online"
    fields += [(b"role", bulk(b"replica" if n.is_replica else b"master")),
               (b"replication-offset", integer(offset)), (b"health", bulk(health.encode()))]
    return map_header(len(fields), c.resp) + b"".join(bulk(k) + v for k, v in fields)


@_sub("flushslots")
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


@_sub("addslots")
@_sub("delslots")
def _addslots(c, cl, argv):
    delete = argv[1].lower() == b"delslots"
    slots = [_slot(a) for a in argv[2:]]
    seen: set[int] = set()
    for s in slots:
        _check(cl, seen, delete, s, s)
    _update_slots(cl, sorted(seen), delete)
    return OK


@_sub("addslotsrange")
@_sub("delslotsrange")
def _addslotsrange(c, cl, argv):
    if len(argv) % 2 == 1:
        raise CommandError(f"wrong number of arguments for 'cluster|{argv[1].lower().decode()}' command")
    delete = argv[1].lower() == b"delslotsrange"
    seen: set[int] = set()
    for j in range(2, len(argv), 2):
        start, end = _slot(argv[j]), _slot(argv[j + 1])
        if start > end:
            raise CommandError(f"start slot number {start} is greater than end slot number {end}")
        _check(cl, seen, delete, start, end)
    _update_slots(cl, sorted(seen), delete)
    return OK


@_sub("bumpepoch")
def _bumpepoch(c, cl, argv):
    bumped = cl.bump_epoch_without_consensus()
    return b"+%s %d\r\n" % (b"BUMPED" if bumped else b"STILL", cl.myself.config_epoch)


@_sub("info")
def _info(c, cl, argv):
    assigned = ok = pfail = fail = 0
    for n in cl.owner:
        if n is None:
            continue
        assigned += 1
        if n.flags & 8:
            fail += 1
        elif n.flags & 4:
            pfail += 1
        else:
            ok += 1
    me = cl.myself
    myepoch = me.slaveof.config_epoch if me.is_replica and me.slaveof else me.config_epoch
    lines = [f"cluster_state:{'ok' if cl.ok else 'fail'}", f"cluster_slots_assigned:{assigned}",
             f"cluster_slots_ok:{ok}", f"cluster_slots_pfail:{pfail}", f"cluster_slots_fail:{fail}",
             f"cluster_known_nodes:{len(cl.nodes)}", f"cluster_size:{cl.size}",
             f"cluster_current_epoch:{cl.current_epoch}", f"cluster_my_epoch:{myepoch}"]
    from aof.clusterbus import TYPE_NAMES

    for stats, what in ((cl.stats_sent, "sent"), (cl.stats_received, "received")):
        lines += [f"cluster_stats_messages_{TYPE_NAMES[i]}_{what}:{v}" for i, v in enumerate(stats) if v]
        lines.append(f"cluster_stats_messages_{what}:{sum(stats)}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{cl.links_buffer_limit_exceeded}")
    return verbatim(("\r\n".join(lines) + "\r\n").encode(), c.resp)


@_sub("saveconfig")
def _saveconfig(c, cl, argv):
    try:
        cl.save_config()
    except OSError as exc:
        raise CommandError(f"error saving the cluster node config: {exc.strerror}") from None
    return OK


@_sub("keyslot")
def _keyslot(c, cl, argv):
    return integer(key_hash_slot(argv[2]))


@_sub("countkeysinslot")
def _countkeysinslot(c, cl, argv):
    slot = _ll_or_reply(argv[2])
    if not 0 <= slot < SLOTS:
        raise CommandError("Invalid slot")
    return integer(cl.count_keys_in_slot(slot))


@_sub("getkeysinslot")
def _getkeysinslot(c, cl, argv):
    slot = _ll_or_reply(argv[2])
    maxkeys = _ll_or_reply(argv[3])
    if not 0 <= slot < SLOTS or maxkeys < 0:
        raise CommandError("Invalid slot or number of keys")
    return bulks(cl.keys_in_slot(slot, maxkeys))


def _lookup_or_unknown(cl, name: bytes):
    n = cl.lookup(name)
    if n is None:
        raise CommandError(f"Unknown node {name.decode('utf-8', 'surrogateescape')}")
    return n


@_sub("forget")
def _forget(c, cl, argv):
    n = _lookup_or_unknown(cl, argv[2])
    if n is cl.myself:
        raise CommandError("I tried hard but I can't forget myself...")
    if cl.myself.is_replica and cl.myself.slaveof is n:
        raise CommandError("Can't forget my master!")
    cl.blacklist_add(n)
    cl.del_node(n)
    cl.changed()
    return OK


@_sub("replicas")
@_sub("slaves")
def _replicas(c, cl, argv):
    n = _lookup_or_unknown(cl, argv[2])
    if n.is_replica:
        raise CommandError("The specified node is not a master")
    return bulks([cl.describe(r).encode() for r in n.replicas])


@_sub("count-failure-reports")
def _count_failure_reports(c, cl, argv):
    return integer(len(_lookup_or_unknown(cl, argv[2]).fail_reports))


@_sub("set-config-epoch")
def _set_config_epoch(c, cl, argv):
    epoch = _ll_or_reply(argv[2])
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


@_sub("reset")
def _reset(c, cl, argv):
    if len(argv) > 3:
        raise _syntax(argv)
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


@_sub("links")
def _links(c, cl, argv):
    out = []
    for n in cl.nodes.values():
        for link in (n.link, n.inbound_link):
            if link is None:
                continue
            fields = [(b"direction", bulk(b"from" if link.inbound else b"to")), (b"node", bulk(n.name.encode())),
                      (b"create-time", integer(link.ctime)), (b"events", bulk(b"r")),
                      (b"send-buffer-allocated", integer(0)), (b"send-buffer-used", integer(0))]
            out.append(map_header(6, c.resp) + b"".join(bulk(k) + v for k, v in fields))
    return array(out)


@_sub("setslot")
def _setslot(c, cl, argv):
    me = cl.myself
    if me.is_replica:
        raise CommandError("Please use SETSLOT only with masters.")
    slot = _slot(argv[2])
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
        n = _lookup_or_unknown(cl, argv[4])
        if n.is_replica:
            raise CommandError("Target node is not a master")
        if cl.owner[slot] is me and n is not me and cl.count_keys_in_slot(slot):
            raise CommandError(f"Can't assign hashslot {slot} to a different node while I still hold keys for "
                               f"this hash slot.")
        if slot in cl.migrating and cl.count_keys_in_slot(slot) == 0:
            del cl.migrating[slot]
        cl.del_slot(slot)
        cl.add_slot(n, slot)
        # (a master left without slots would turn into a replica of ``n`` in Redis; replicas are
        # not served yet, so it stays an empty master)
        if n is me and slot in cl.importing:
            if cl.bump_epoch_without_consensus():  # the migrated slot's new owner is told to all
                log.warning("configEpoch updated after importing slot %d", slot)
            del cl.importing[slot]
            cl.bus.broadcast_pong()
    else:
        raise CommandError("Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
    cl.changed()
    return OK


@_sub("replicate")
@_sub("failover")
def _not_yet(c, cl, argv):
    raise CommandError(f"CLUSTER {argv[1].upper().decode()} is not served by this server yet")


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
