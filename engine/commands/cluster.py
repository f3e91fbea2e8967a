"""CLUSTER, READONLY, READWRITE, ASKING as a Redis 7.0.15 server started without
``cluster-enabled`` answers them: each is in the command table (COMMAND INFO/COUNT, the
script and ACL checks see its flags) and replies "This instance has cluster support
disabled" (clusterCommand, readonlyCommand, readwriteCommand, askingCommand).

Serving cluster mode itself (slots, the bus, redirections) is a separate piece of work;
this server refuses ``cluster-enabled yes`` at start.
"""

from __future__ import annotations

from engine.errors import CommandError
from engine.execution.registry import command, container, subcommand

G = "cluster"


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

for _name, _arity, _flags in _SUBCOMMANDS:
    subcommand(CLUSTER, _name, _arity, _flags)(_disabled)


@command("readonly", 1, "fast loading stale", group=G, since="3.0.0")
def readonly_cmd(c, argv):
    return _disabled(c, argv)


@command("readwrite", 1, "fast loading stale", group=G, since="3.0.0")
def readwrite_cmd(c, argv):
    return _disabled(c, argv)


@command("asking", 1, "fast", group=G, since="3.0.0")
def asking_cmd(c, argv):
    return _disabled(c, argv)
