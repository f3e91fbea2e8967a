"""One client of a server or of a whole Redis Cluster: connections, slot map, redirections.

The target is asked what it is (``INFO``); ``cluster_enabled:1`` makes it a cluster,
whose slot map comes from ``CLUSTER SLOTS`` (asked of any node that answers). A
command for a key goes to its slot's master; a batch of commands per node is sent to
every node before any reply is read (:meth:`Router.exchange`), so the masters work
side by side while the client waits once. Redirections are followed as a cluster
client must (cluster.c's clusterRedirectClient is the other side): ``MOVED``
refreshes the slot map and resends to the named node, ``ASK`` resends once there
after ``ASKING``, ``TRYAGAIN`` waits and resends.

Why here: ``rdbkit restore`` (RESTOREs of a dump) and ``rdbkit sync`` (a master's
command stream) both write into a server or a cluster; this is their one routing
client, on the blocking :class:`~cli.remote.connection.Connection`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from aof.resp import ReplyError
from aof.slots import SLOTS
from cli.remote.connection import Connection, ConnectionFailed, RemoteError

Addr = tuple[str, int]
_REDIRECT = re.compile(rb"^(MOVED|ASK) (\d+) (\S*):(\d+)$")
MAX_REDIRECTS = 16


class RouteError(RemoteError):
    """The target cannot take a command: no master serves its slot, no slot map."""


def is_redirect(r: object) -> bool:
    return isinstance(r, ReplyError) and str(r).startswith(("MOVED ", "ASK ", "TRYAGAIN"))


def parse_info(text: bytes) -> dict[str, str]:
    out = {}
    for line in text.decode("utf-8", "replace").splitlines():
        k, sep, v = line.partition(":")
        if sep:
            out[k.strip()] = v.strip()
    return out


def server_info(conn: Connection, section: str = "") -> dict[str, str]:
    r = conn.call(b"INFO", section) if section else conn.call(b"INFO")
    if isinstance(r, ReplyError) or not isinstance(r, bytes | bytearray):
        raise RouteError(f"{conn.peer}: INFO failed: {r}")
    return parse_info(bytes(r))


class Router:
    def __init__(self, host: str, port: int, *, password: bytes | None = None, user: bytes | None = None,
                 timeout: float = 30.0) -> None:
        self._auth = {"password": password, "user": user, "timeout": timeout}
        self._conns: dict[Addr, Connection] = {}
        self.entry: Addr = (host, port)
        self.info = server_info(self.conn(self.entry))
        self.cluster = self.info.get("cluster_enabled") == "1"
        self.slots: list[Addr | None] = [None] * SLOTS
        self.redirects = 0
        self.version = 0  # bumped by each refresh of the slot map
        self._masters: tuple[int, list[Addr]] = (-1, [])
        if self.cluster:
            self.refresh()

    # -- connections and topology ----------------------------------------------
    def conn(self, addr: Addr) -> Connection:
        c = self._conns.get(addr)
        if c is None:
            c = self._conns[addr] = Connection(*addr, **self._auth)  # type: ignore[arg-type]
        return c

    def refresh(self, first: Addr | None = None) -> None:
        """Slot → master from CLUSTER SLOTS (asked of ``first``, else of any node that answers)."""
        last: Exception | None = None
        for addr in dict.fromkeys([*([first] if first else []), self.entry, *self._conns]):
            try:
                r = self.conn(addr).call(b"CLUSTER", b"SLOTS")
            except ConnectionFailed as exc:
                last = exc
                continue
            if isinstance(r, ReplyError):
                last = RouteError(f"{addr[0]}:{addr[1]}: CLUSTER SLOTS failed: {r}")
                continue
            for rng in r:  # type: ignore[attr-defined]
                start, end, master = rng[0], rng[1], rng[2]
                host = bytes(master[0]).decode() or addr[0]
                for s in range(start, end + 1):
                    self.slots[s] = (host, int(master[1]))
            self.version += 1
            return
        raise RouteError(f"cannot read the cluster's slot map: {last}")

    def masters(self) -> list[Addr]:
        """Every master serving slots (the one server when not a cluster)."""
        if not self.cluster:
            return [self.entry]
        if self._masters[0] != self.version:
            self._masters = (self.version, sorted({a for a in self.slots if a is not None}))
        return self._masters[1]

    def owner(self, slot: int) -> Addr:
        if not self.cluster:
            return self.entry
        addr = self.slots[slot]
        if addr is None:
            raise RouteError(f"slot {slot} is not served by the cluster")
        return addr

    # -- sending ------------------------------------------------------------------
    def exchange(self, batches: dict[Addr, Sequence[Sequence[bytes]]]) -> dict[Addr, list[object]]:
        """Each node's commands sent, then each node's replies read (in its order)."""
        sent = [(addr, cmds) for addr, cmds in batches.items() if cmds]
        for addr, cmds in sent:
            self.conn(addr).send(cmds)
        return {addr: self.conn(addr).replies(len(cmds)) for addr, cmds in sent}

    def follow(self, argv: Sequence[bytes], err: object, slot: int) -> object:
        """Resend one command its node redirected until a node answers it (or
        MAX_REDIRECTS); the last reply is returned, an error or not."""
        r = err
        for _ in range(MAX_REDIRECTS):
            if not is_redirect(r):
                return r
            self.redirects += 1
            text = str(r).encode("utf-8", "surrogateescape")
            m = _REDIRECT.match(text)
            if m is None:  # TRYAGAIN: the slot's keys are moving; wait and resend
                time.sleep(0.05)
                r = self.conn(self.owner(slot)).call(*argv)
            elif m.group(1) == b"MOVED":
                self.refresh()
                r = self.conn((m.group(3).decode() or self.entry[0], int(m.group(4)))).call(*argv)
            else:  # ASK: this one command, on that node, after ASKING
                addr = (m.group(3).decode() or self.entry[0], int(m.group(4)))
                r = self.conn(addr).pipeline([[b"ASKING"], argv])[1]
        if is_redirect(r):
            return ReplyError(f"still redirected after {MAX_REDIRECTS} tries: {r}")
        return r

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()


__all__ = ["Addr", "MAX_REDIRECTS", "RouteError", "Router", "is_redirect", "parse_info", "server_info"]
