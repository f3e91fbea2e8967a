"""CLUSTER, READONLY, READWRITE, ASKING as a Redis 7.0.15 server started without
``cluster-enabled`` answers them: each is in the command table (COMMAND INFO/COUNT, the
script and ACL checks see its flags) and replies "This instance has cluster support
disabled" (clusterCommand, readonlyCommand, readwriteCommand, askingCommand).

Serving cluster mode itself (slots, the bus, redirections) is a separate piece of work;
this server refuses ``cluster-enabled yes`` at start.
"""

from __future__ import annotations

from engine.errors import CommandError
from engine.execution.meta import CommandMeta
from engine.execution.registry import command, container, subcommand

G = "cluster"
_ND = ("nondeterministic_output",)


def _disabled(c, argv):
    raise CommandError("This instance has cluster support disabled")


CLUSTER = container("cluster", -2, group=G, since="3.0.0", summary="A container for cluster commands",
                    meta=CommandMeta(acl=("@slow",), complexity="Depends on subcommand."))

_ADMIN = "no_async_loading admin stale"
# name, arity, flags, since, complexity, tips, summary (src/commands/cluster-*.json)
_SUBCOMMANDS: tuple[tuple[str, int, str, str, str, tuple[str, ...], str], ...] = (
    ("addslots", -3, _ADMIN, "3.0.0", "O(N) where N is the total number of hash slot arguments", (),
     "Assign new hash slots to receiving node"),
    ("addslotsrange", -4, _ADMIN, "7.0.0", "O(N) where N is the total number of the slots between the "
     "start slot and end slot arguments.", (), "Assign new hash slots to receiving node"),
    ("bumpepoch", 2, _ADMIN, "3.0.0", "O(1)", _ND, "Advance the cluster config epoch"),
    ("count-failure-reports", 3, "admin stale", "3.0.0", "O(N) where N is the number of failure reports",
     _ND, "Return the number of failure reports active for a given node"),
    ("countkeysinslot", 3, "stale", "3.0.0", "O(1)", (),
     "Return the number of local keys in the specified hash slot"),
    ("delslots", -3, _ADMIN, "3.0.0", "O(N) where N is the total number of hash slot arguments", (),
     "Set hash slots as unbound in receiving node"),
    ("delslotsrange", -4, _ADMIN, "7.0.0", "O(N) where N is the total number of the slots between the "
     "start slot and end slot arguments.", (), "Set hash slots as unbound in receiving node"),
    ("failover", -2, _ADMIN, "3.0.0", "O(1)", (),
     "Forces a replica to perform a manual failover of its master."),
    ("flushslots", 2, _ADMIN, "3.0.0", "O(1)", (), "Delete a node's own slots information"),
    ("forget", 3, _ADMIN, "3.0.0", "O(1)", (), "Remove a node from the nodes table"),
    ("getkeysinslot", 4, "stale", "3.0.0", "O(log(N)) where N is the number of requested keys", _ND,
     "Return local key names in the specified hash slot"),
    ("help", 2, "loading stale", "5.0.0", "O(1)", (), "Show helpful text about the different subcommands"),
    ("info", 2, "stale", "3.0.0", "O(1)", _ND, "Provides info about Redis Cluster node state"),
    ("keyslot", 3, "stale", "3.0.0", "O(N) where N is the number of bytes in the key", (),
     "Returns the hash slot of the specified key"),
    ("links", 2, "stale", "7.0.0", "O(N) where N is the total number of Cluster nodes", _ND,
     "Returns a list of all TCP links to and from peer nodes in cluster"),
    ("meet", -4, _ADMIN, "3.0.0", "O(1)", (), "Force a node cluster to handshake with another node"),
    ("myid", 2, "stale", "3.0.0", "O(1)", (), "Return the node id"),
    ("nodes", 2, "stale", "3.0.0", "O(N) where N is the total number of Cluster nodes", _ND,
     "Get Cluster config for the node"),
    ("replicas", 3, "admin stale", "5.0.0", "O(1)", _ND, "List replica nodes of the specified master node"),
    ("replicate", 3, _ADMIN, "3.0.0", "O(1)", (),
     "Reconfigure a node as a replica of the specified master node"),
    ("reset", -2, "admin stale noscript", "3.0.0", "O(N) where N is the number of known nodes. The command "
     "may execute a FLUSHALL as a side effect.", (), "Reset a Redis Cluster node"),
    ("saveconfig", 2, _ADMIN, "3.0.0", "O(1)", (), "Forces the node to save cluster state on disk"),
    ("set-config-epoch", 3, _ADMIN, "3.0.0", "O(1)", (), "Set the configuration epoch in a new node"),
    ("setslot", -4, _ADMIN, "3.0.0", "O(1)", (), "Bind a hash slot to a specific node"),
    ("shards", 2, "stale", "7.0.0", "O(N) where N is the total number of cluster nodes", _ND,
     "Get array of cluster slots to node mappings"),
    ("slaves", 3, "admin stale", "3.0.0", "O(1)", _ND, "List replica nodes of the specified master node"),
    ("slots", 2, "stale", "3.0.0", "O(N) where N is the total number of Cluster nodes", _ND,
     "Get array of Cluster slot to node mappings"),
)

for _name, _arity, _flags, _since, _cx, _tips, _summary in _SUBCOMMANDS:
    subcommand(CLUSTER, _name, _arity, _flags, since=_since, summary=_summary,
               meta=CommandMeta(complexity=_cx, tips=_tips))(_disabled)

_CONN = CommandMeta(acl=("@fast", "@connection"), complexity="O(1)")


@command("readonly", 1, "fast loading stale", group=G, since="3.0.0", meta=_CONN,
         summary="Enables read queries for a connection to a cluster replica node")
def readonly_cmd(c, argv):
    return _disabled(c, argv)


@command("readwrite", 1, "fast loading stale", group=G, since="3.0.0", meta=_CONN,
         summary="Disables read queries for a connection to a cluster replica node")
def readwrite_cmd(c, argv):
    return _disabled(c, argv)


@command("asking", 1, "fast", group=G, since="3.0.0", meta=_CONN,
         summary="Sent by cluster clients after an -ASK redirect")
def asking_cmd(c, argv):
    return _disabled(c, argv)
