"""CLUSTER's views of the cluster state (NODES, MYID, SLOTS, SHARDS, INFO, LINKS,
KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT, REPLICAS, COUNT-FAILURE-REPORTS, HELP) with
7.0.15's reply shapes, and the argument checks every CLUSTER handler shares
(clusterCommand's getSlotOrReply, getLongLongFromObject, addReplySubcommandSyntaxError).

``HANDLERS`` maps a subcommand to ``handler(c, cluster, argv)``; :mod:`engine.commands.cluster`
adds the subcommands that change the state and dispatches to them.
"""

from __future__ import annotations

from typing import Any

from aof.clusterbus import CLUSTER_NODE_FAIL, CLUSTER_NODE_PFAIL, TYPE_NAMES
from aof.replies import array, bulk, bulks, integer, map_header, null, verbatim
from aof.slots import SLOTS, key_hash_slot
from engine.commands.scripting import help_reply
from engine.errors import CommandError

HANDLERS: dict[str, Any] = {}


def sub(name: str) -> Any:
    def deco(fn: Any) -> Any:
        HANDLERS[name] = fn
        return fn
    return deco


def syntax_error(argv) -> CommandError:
    """addReplySubcommandSyntaxError."""
    return CommandError(f"unknown subcommand or wrong number of arguments for "
                        f"'{argv[1][:128].decode('utf-8', 'surrogateescape')}'. "
                        f"Try {argv[0].upper().decode('utf-8', 'surrogateescape')} HELP.")




def ll(b: bytes) -> int | None:
    """getLongLongFromObject, None when not a number."""
    try:
        if not b or b != b.strip() or (len(b) > 1 and b[:1] == b"0") or b[:2] in (b"+", b"-0"):
            raise ValueError
        n = int(b)
    except ValueError:
        return None
    return n if -2**63 <= n < 2**63 else None


def ll_or_reply(b: bytes) -> int:
    n = ll(b)
    if n is None:
        raise CommandError("value is not an integer or out of range")
    return n


def slot_arg(b: bytes) -> int:
    """getSlotOrReply."""
    n = ll(b)
    if n is None or not 0 <= n < SLOTS:
        raise CommandError("Invalid or out of range slot")
    return n


@sub("help")
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


@sub("nodes")
def _nodes(c, cl, argv):
    return verbatim(cl.nodes_text().encode("utf-8", "surrogateescape"), c.resp)


@sub("myid")
def _myid(c, cl, argv):
    return bulk(cl.myself.name.encode())


@sub("slots")
def _slots(c, cl, argv):
    out = []
    start, n = 0, None
    for i in range(SLOTS + 1):
        cur = cl.owner[i] if i < SLOTS else None
        if cur is not n or i == SLOTS:
            if n is not None:
                nodes = [_node_entry(c, cl, n)] + [_node_entry(c, cl, r) for r in n.replicas
                                                   if not r.flags & CLUSTER_NODE_FAIL and cl.offset_of(r)]
                out.append(array([integer(start), integer(i - 1), *nodes]))
            n, start = cur, i
    return array(out)


def _node_entry(c, cl, n):
    """addNodeToNodeReply: the preferred endpoint first (a null for unknown-endpoint), then
    the port, the id, and a map of the networking facts the endpoint is not."""
    kind = c.server.config.cluster_preferred_endpoint_type
    first = null(c.resp) if kind == "unknown-endpoint" else bulk(n.endpoint(kind).encode())
    extra = [bulk(b"ip"), bulk(n.ip.encode())] if kind != "ip" else []
    if kind != "hostname" and n.hostname:
        extra += [bulk(b"hostname"), bulk(n.hostname.encode())]
    return array([first, integer(n.port), bulk(n.name.encode()),
                  map_header(len(extra) // 2, c.resp) + b"".join(extra)])


@sub("shards")
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
    offset = cl.offset_of(n)
    fields = [(b"id", bulk(n.name.encode()))]
    if n.port:
        fields.append((b"port", integer(n.port)))
    kind = c.server.config.cluster_preferred_endpoint_type
    fields += [(b"ip", bulk(n.ip.encode())), (b"endpoint", bulk(n.endpoint(kind).encode()))]
    if n.hostname:
        fields.append((b"hostname", bulk(n.hostname.encode())))
    health = "fail" if n.flags & CLUSTER_NODE_FAIL else "loading" if n.is_replica and offset == 0 else "online"
    fields += [(b"role", bulk(b"replica" if n.is_replica else b"master")),
               (b"replication-offset", integer(offset)), (b"health", bulk(health.encode()))]
    return map_header(len(fields), c.resp) + b"".join(bulk(k) + v for k, v in fields)


@sub("info")
def _info(c, cl, argv):
    assigned = ok = pfail = fail = 0
    for n in cl.owner:
        if n is None:
            continue
        assigned += 1
        if n.flags & CLUSTER_NODE_FAIL:
            fail += 1
        elif n.flags & CLUSTER_NODE_PFAIL:
            pfail += 1
        else:
            ok += 1
    me = cl.myself
    myepoch = me.slaveof.config_epoch if me.is_replica and me.slaveof else me.config_epoch
    lines = [f"cluster_state:{'ok' if cl.ok else 'fail'}", f"cluster_slots_assigned:{assigned}",
             f"cluster_slots_ok:{ok}", f"cluster_slots_pfail:{pfail}", f"cluster_slots_fail:{fail}",
             f"cluster_known_nodes:{len(cl.nodes)}", f"cluster_size:{cl.size}",
             f"cluster_current_epoch:{cl.current_epoch}", f"cluster_my_epoch:{myepoch}"]
    for stats, what in ((cl.stats_sent, "sent"), (cl.stats_received, "received")):
        lines += [f"cluster_stats_messages_{TYPE_NAMES[i]}_{what}:{v}" for i, v in enumerate(stats) if v]
        lines.append(f"cluster_stats_messages_{what}:{sum(stats)}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{cl.links_buffer_limit_exceeded}")
    return verbatim(("\r\n".join(lines) + "\r\n").encode(), c.resp)


@sub("keyslot")
def _keyslot(c, cl, argv):
    return integer(key_hash_slot(argv[2]))


@sub("countkeysinslot")
def _countkeysinslot(c, cl, argv):
    slot = ll_or_reply(argv[2])
    if not 0 <= slot < SLOTS:
        raise CommandError("Invalid slot")
    return integer(cl.slot_keys.count_keys_in_slot(slot))


@sub("getkeysinslot")
def _getkeysinslot(c, cl, argv):
    slot = ll_or_reply(argv[2])
    maxkeys = ll_or_reply(argv[3])
    if not 0 <= slot < SLOTS or maxkeys < 0:
        raise CommandError("Invalid slot or number of keys")
    return bulks(cl.slot_keys.keys_in_slot(slot, maxkeys))


def lookup_or_unknown(cl, name: bytes):
    n = cl.lookup(name)
    if n is None:
        raise CommandError(f"Unknown node {name.decode('utf-8', 'surrogateescape')}")
    return n


@sub("replicas")
@sub("slaves")
def _replicas(c, cl, argv):
    n = lookup_or_unknown(cl, argv[2])
    if n.is_replica:
        raise CommandError("The specified node is not a master")
    return bulks([cl.describe(r).encode() for r in n.replicas])


@sub("count-failure-reports")
def _count_failure_reports(c, cl, argv):
    return integer(len(lookup_or_unknown(cl, argv[2]).fail_reports))


@sub("links")
def _links(c, cl, argv):
    out = []
    for n in cl.nodes.values():
        for link in (n.link, n.inbound_link):
            if link is None:
                continue
            fields = [(b"direction", bulk(b"from" if link.inbound else b"to")), (b"node", bulk(n.name.encode())),
                      (b"create-time", integer(link.ctime)), (b"events", bulk(b"rw" if link.pending() else b"r")),
                      (b"send-buffer-allocated", integer(link.pending())), (b"send-buffer-used", integer(link.pending()))]
            out.append(map_header(6, c.resp) + b"".join(bulk(k) + v for k, v in fields))
    return array(out)
