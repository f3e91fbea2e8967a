"""A cluster node as this node knows it, and its one-line text form.

The line is CLUSTER NODES's and ``nodes.conf``'s (clusterGenNodeDescription)::

    <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master id|-> <ping_sent> <pong_received>
        <configEpoch> connected|disconnected <slot or range>... [<slot>->-<id>] [<slot>-<-<id>]

``nodes.conf`` adds ``vars currentEpoch N lastVoteEpoch N`` (clusterSaveConfig);
:func:`parse_config` reads it back as clusterLoadConfig does, refusing what it refuses.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from aof.clusterbus import (
    CLUSTER_NODE_FAIL,
    CLUSTER_NODE_HANDSHAKE,
    CLUSTER_NODE_MASTER,
    CLUSTER_NODE_MEET,
    CLUSTER_NODE_MIGRATE_TO,
    CLUSTER_NODE_MYSELF,
    CLUSTER_NODE_NOADDR,
    CLUSTER_NODE_NOFAILOVER,
    CLUSTER_NODE_PFAIL,
    CLUSTER_NODE_SLAVE,
    SLOTS_BYTES,
)

# representClusterNodeFlags's table, in its order
FLAG_NAMES = ((CLUSTER_NODE_MYSELF, "myself"), (CLUSTER_NODE_MASTER, "master"), (CLUSTER_NODE_SLAVE, "slave"),
              (CLUSTER_NODE_PFAIL, "fail?"), (CLUSTER_NODE_FAIL, "fail"), (CLUSTER_NODE_HANDSHAKE, "handshake"),
              (CLUSTER_NODE_NOADDR, "noaddr"), (CLUSTER_NODE_NOFAILOVER, "nofailover"))
_FLAG_BY_NAME = {n: f for f, n in FLAG_NAMES} | {"noflags": 0}


def mstime() -> int:
    return int(time.time() * 1000)


def random_name() -> str:
    """getRandomHexChars: a fresh 40-hex node id."""
    return os.urandom(20).hex()


def valid_name(name: str) -> bool:
    """verifyClusterNodeId: 40 lower- or upper-case hex characters."""
    return len(name) == 40 and all(ch in "0123456789abcdefABCDEF" for ch in name)


@dataclass(eq=False)
class ClusterNode:
    name: str
    flags: int = 0
    config_epoch: int = 0
    ip: str = ""
    port: int = 0
    pport: int = 0
    cport: int = 0
    hostname: str = ""
    ctime: int = field(default_factory=mstime)
    slots: bytearray = field(default_factory=lambda: bytearray(SLOTS_BYTES))
    numslots: int = 0
    slaveof: ClusterNode | None = None
    replicas: list[ClusterNode] = field(default_factory=list)
    ping_sent: int = 0
    pong_received: int = 0
    data_received: int = 0
    fail_time: int = 0
    voted_time: int = 0  # when this node (a master) last had a replica voted for
    orphaned_time: int = 0  # since when this master has no working replica
    repl_offset: int = 0
    fail_reports: dict[str, int] = field(default_factory=dict)  # reporting node → time
    link: Any = None  # the outbound bus link (engine.cluster.bus.Link)
    inbound_link: Any = None

    @property
    def is_master(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_MASTER)

    def endpoint(self, preferred: str) -> str:
        """getPreferredEndpoint: what redirections and CLUSTER SLOTS/SHARDS name this node
        by (``cluster-preferred-endpoint-type``): its IP, its announced hostname ("?"
        without one), or an empty string (``unknown-endpoint``)."""
        if preferred == "ip":
            return self.ip
        if preferred == "hostname":
            return self.hostname or "?"
        return ""

    @property
    def is_replica(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_SLAVE)

    @property
    def in_handshake(self) -> bool:
        return bool(self.flags & CLUSTER_NODE_HANDSHAKE)

    def add_replica(self, r: ClusterNode) -> None:
        """clusterNodeAddSlave: a master that had a replica is a replica migration target."""
        if r not in self.replicas:
            self.replicas.append(r)
        self.flags |= CLUSTER_NODE_MIGRATE_TO

    def remove_replica(self, r: ClusterNode) -> None:
        """clusterNodeRemoveSlave."""
        if r in self.replicas:
            self.replicas.remove(r)
            if not self.replicas:
                self.flags &= ~CLUSTER_NODE_MIGRATE_TO

    def has_slot(self, slot: int) -> bool:
        return bool(self.slots[slot >> 3] >> (slot & 7) & 1)

    def set_slot(self, slot: int, on: bool) -> bool:
        """clusterNodeSetSlotBit / ClearSlotBit; whether the bit changed."""
        i, bit = slot >> 3, 1 << (slot & 7)
        was = bool(self.slots[i] & bit)
        if was == on:
            return False
        self.slots[i] ^= bit
        self.numslots += 1 if on else -1
        return True

    def epoch_shown(self) -> int:
        """A replica shows its master's config epoch."""
        if self.is_replica and self.slaveof is not None:
            return self.slaveof.config_epoch
        return self.config_epoch

    def address(self) -> str:
        addr = f"{self.ip}:{self.port}@{self.cport}"
        return f"{addr},{self.hostname}" if self.hostname else addr


def flags_text(flags: int) -> str:
    """representClusterNodeFlags."""
    names = [n for f, n in FLAG_NAMES if flags & f]
    return ",".join(names) if names else "noflags"


def all_slot_ranges(owner: list[Any]) -> dict[int, list[tuple[int, int]]]:
    """The (start, end) runs of slots of every node, by ``id(node)``, in one pass over the
    slot table (clusterGenNodesSlotsInfo)."""
    out: dict[int, list[tuple[int, int]]] = {}
    start, cur = 0, None
    for j, n in enumerate(owner):
        if n is not cur:
            if cur is not None:
                out.setdefault(id(cur), []).append((start, j - 1))
            start, cur = j, n
    if cur is not None:
        out.setdefault(id(cur), []).append((start, len(owner) - 1))
    return out


def slot_ranges(owner: list[Any], node: ClusterNode) -> list[tuple[int, int]]:
    """The (start, end) runs of slots ``owner`` maps to ``node``."""
    return all_slot_ranges(owner).get(id(node), []) if node.numslots else []


def describe(node: ClusterNode, ranges: list[tuple[int, int]], migrating: dict[int, ClusterNode],
             importing: dict[int, ClusterNode]) -> str:
    """clusterGenNodeDescription: the node's CLUSTER NODES / nodes.conf line (no newline),
    ``ranges`` its slot runs."""
    parts = [node.name, node.address(), flags_text(node.flags), node.slaveof.name if node.slaveof else "-",
             str(node.ping_sent), str(node.pong_received), str(node.epoch_shown()),
             "connected" if node.link is not None or node.flags & CLUSTER_NODE_MYSELF else "disconnected"]
    for s, e in ranges:
        parts.append(str(s) if s == e else f"{s}-{e}")
    if node.flags & CLUSTER_NODE_MYSELF:
        for slot in sorted(set(migrating) | set(importing)):
            if slot in migrating:
                parts.append(f"[{slot}->-{migrating[slot].name}]")
            else:
                parts.append(f"[{slot}-<-{importing[slot].name}]")
    return " ".join(parts)


class ConfigFileError(ValueError):
    """``nodes.conf`` cannot be loaded ("Unrecoverable error: corrupted cluster config file.")."""


@dataclass
class NodeLine:
    """One node line of ``nodes.conf``, parsed."""

    name: str
    ip: str
    port: int
    cport: int
    hostname: str
    flags: int
    master: str | None
    ping_sent: bool
    pong_received: bool
    config_epoch: int
    slots: list[tuple[int, int]]
    migrating: dict[int, str]
    importing: dict[int, str]


def _atoi(s: str) -> int:
    """C's atoi: leading digits (with a sign), 0 when none."""
    s = s.strip()
    i = 1 if s[:1] in "+-" else 0
    while i < len(s) and s[i].isdigit():
        i += 1
    digits = s[:i]
    return int(digits) if digits not in ("", "+", "-") else 0


def parse_config(text: str) -> tuple[list[NodeLine], dict[str, int]]:
    """clusterLoadConfig's reading of ``nodes.conf``: node lines and the ``vars``."""
    nodes: list[NodeLine] = []
    vars_: dict[str, int] = {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        argv = line.split()
        if argv[0].lower() == "vars":
            if len(argv) % 2 == 0:
                raise ConfigFileError("odd vars line")
            for k, v in zip(argv[1::2], argv[2::2]):
                if k.lower() in ("currentepoch", "lastvoteepoch"):
                    vars_[k.lower()] = _atoi(v)
            continue
        if len(argv) < 8 or not valid_name(argv[0]):
            raise ConfigFileError(f"bad node line {line!r}")
        addr, _, hostname = argv[1].partition(",")
        ip, colon, ports = addr.rpartition(":")
        if not colon:
            raise ConfigFileError(f"bad address {argv[1]!r}")
        port_s, at, cport_s = ports.partition("@")
        port = _atoi(port_s)
        cport = _atoi(cport_s) if at else port + 10000
        flags = 0
        for f in argv[2].split(","):
            if f.lower() not in _FLAG_BY_NAME:
                raise ConfigFileError(f"Unknown flag in redis cluster config file: {f}")
            flags |= _FLAG_BY_NAME[f.lower()]
        master = None
        if not argv[3].startswith("-"):
            if not valid_name(argv[3]):
                raise ConfigFileError(f"bad master id {argv[3]!r}")
            master = argv[3]
        slots: list[tuple[int, int]] = []
        migrating: dict[int, str] = {}
        importing: dict[int, str] = {}
        for arg in argv[8:]:
            if arg.startswith("["):
                slot_s, dash, rest = arg[1:].partition("-")
                slot = _atoi(slot_s)
                target = rest[2:].rstrip("]")
                if not dash or not 0 <= slot < 16384 or not valid_name(target) or rest[:1] not in "<>":
                    raise ConfigFileError(f"bad open slot {arg!r}")
                (migrating if rest[:1] == ">" else importing)[slot] = target
                continue
            a, dash, b = arg.partition("-")
            start, stop = _atoi(a), _atoi(b) if dash else _atoi(a)
            if not (0 <= start < 16384 and 0 <= stop < 16384):
                raise ConfigFileError(f"bad slot {arg!r}")
            slots.append((start, stop))
        nodes.append(NodeLine(argv[0], ip, port, cport, hostname, flags, master, bool(_atoi(argv[4])),
                              bool(_atoi(argv[5])), _atoi(argv[6]) if argv[6].isdigit() else 0, slots, migrating,
                              importing))
    if not any(n.flags & CLUSTER_NODE_MYSELF for n in nodes):
        raise ConfigFileError("no 'myself' node")
    return nodes, vars_


__all__ = ["CLUSTER_NODE_MEET", "ClusterNode", "all_slot_ranges", "ConfigFileError", "NodeLine", "describe", "flags_text",
           "mstime", "parse_config", "random_name", "slot_ranges", "valid_name"]
