"""Client-side caching (``tracking.c``): which clients may hold which keys, and the
invalidation messages sent when those keys change.

A client turns tracking on with CLIENT TRACKING. In the default mode every key its
read-only commands read is remembered in one table, key name → ids of the clients
that may cache it (keys are names, whatever the database, as in Redis); the first
change to the key sends each of them ``invalidate [key]`` and forgets the entry. In
BCAST mode nothing is remembered per client: every change to a key under one of the
client's prefixes is collected and broadcast once per event-loop pass, per prefix.

The message goes to the client itself as a RESP3 push, or to the client it redirects
to: a RESP3 push there too, or — for a RESP2 connection subscribed to
``__redis__:invalidate`` — a pub/sub ``message`` on that channel whose payload is the
array of keys (a RESP null after a flush: every key). A redirection to a client that
is gone turns into a ``tracking-redir-broken`` push to the tracking client.

Ordering follows Redis's: a change made while a command runs (``current``: Redis's
``server.current_client``) to a key the running client itself caches is told after
that command's reply (``pending``, ``trackingHandlePendingKeyInvalidations``), so the
push never lands inside the reply or a MULTI/EXEC reply; everyone else is told at once.

The keyspace reports changes through its ``invalidate`` hook, which stays unset (no
cost) until the first client turns tracking on — Redis's ``TrackingTable == NULL``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aof.replies import array, array_header, bulk, integer, null, push_header

if TYPE_CHECKING:
    from engine.keyspace.db import Keyspace

CHANNEL = b"__redis__:invalidate"
# sendTrackingMessage's heads: a RESP3 push, or a RESP2 subscriber's pub/sub message
_PUSH_HEAD = push_header(2, 3) + bulk(b"invalidate")
_MESSAGE_HEAD = array_header(3) + bulk(b"message") + bulk(CHANNEL)
_BROKEN_HEAD = push_header(2, 3) + bulk(b"tracking-redir-broken")
# read-only commands whose keys are not remembered: a script's keys are remembered only
# when it runs a read-only command (call(): evalRoCommand, evalShaRoCommand, fcallroCommand)
_SCRIPT_RO = frozenset({"eval_ro", "evalsha_ro", "fcall_ro"})


class ClientTracking:
    """A tracking client's CLIENT_TRACKING_* flags, its redirection and BCAST prefixes
    (``c.tracking``; None while tracking is off)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes")

    def __init__(self) -> None:
        self.redirect = 0
        self.bcast = False
        self.optin = False
        self.optout = False
        self.noloop = False
        self.caching = False  # CLIENT CACHING yes (OPTIN) / no (OPTOUT) for the next command
        self.broken = False  # the redirection client went away
        self.prefixes: dict[bytes, None] = {}

    def flag_names(self) -> list[bytes]:
        """CLIENT TRACKINGINFO's flags, after ``on``."""
        out = [b"bcast"] if self.bcast else []
        for mode, name, caching in ((self.optin, b"optin", b"caching-yes"), (self.optout, b"optout", b"caching-no")):
            if mode:
                out.append(name)
                if self.caching:
                    out.append(caching)
        if self.noloop:
            out.append(b"noloop")
        if self.broken:
            out.append(b"broken_redirect")
        return out


class _Bcast:
    """bcastState: the keys changed under one prefix since the last broadcast (key → the
    client that changed it last, None for expiry/eviction) and the clients listening."""

    __slots__ = ("keys", "clients")

    def __init__(self) -> None:
        self.keys: dict[bytes, Any] = {}
        self.clients: dict[Any, None] = {}


def prefix_collision(mine: dict[bytes, None], prefixes: list[bytes]) -> tuple[str, int] | None:
    """checkPrefixCollisionsOrReply: the error text for the first prefix that overlaps one
    the client has or a later one given, with the value Redis returns (0 for a collision
    with the client's own prefixes or at the first prefix, else the position ``i`` —
    which 7.0.15's caller takes for success: it replies the error, then enables tracking
    and replies OK)."""
    tail = " Prefixes for a single client must not overlap."
    for i, p in enumerate(prefixes):
        for have in mine:
            n = min(len(have), len(p))
            if have[:n] == p[:n]:
                return f"Prefix '{_text(p)}' overlaps with an existing prefix '{_text(have)}'.{tail}", 0
        for q in prefixes[i + 1:]:
            n = min(len(p), len(q))
            if p[:n] == q[:n]:
                return f"Prefix '{_text(p)}' overlaps with another provided prefix '{_text(q)}'.{tail}", i
    return None


def _text(b: bytes) -> str:
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _id_order(cid: int) -> bytes:
    """A client id as the tracking table's rax orders it (its native little-endian bytes)."""
    return cid.to_bytes(8, "little")


class Tracking:
    """The tracking table, the BCAST prefix table and the delivery of invalidations."""

    # read on every request by the C path (engine/_fastpath.c), by offset
    __slots__ = ("tracking_clients", "active", "__dict__")

    def __init__(self, clients: dict[int, Any], keyspace: Keyspace,
                 schedule: Callable[[Callable[[], None]], None]) -> None:
        self.clients = clients  # server.clients: lookupClientByID
        self.keyspace = keyspace
        self.schedule = schedule  # run a callable once the current event-loop pass is done
        self.table: dict[bytes, dict[int, None]] = {}  # TrackingTable: key → client ids
        self.items = 0  # TrackingTableTotalItems
        self.prefixes: dict[bytes, _Bcast] = {}  # PrefixTable
        self.tracking_clients = 0
        self.active = False  # a client turned tracking on since the start (Redis: TrackingTable != NULL)
        self.current: Any = None  # server.current_client: who runs the outermost command
        self.cmd: Any = None  # the command (and argv) a script's caller runs: caller->cmd
        self.argv: list[bytes] = []
        self.pending: list[bytes | None] = []  # server.tracking_pending_keys (None: a flush)
        self._bcast_scheduled = False
        self._over_limit_runs = 0  # trackingLimitUsedSlots's timeout_counter

    # -- CLIENT TRACKING ------------------------------------------------------------
    def enable(self, c: Any, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
               prefixes: list[bytes]) -> None:
        """enableTracking: flags are set anew (CACHING is kept), BCAST prefixes added to
        the ones the client has."""
        st = c.tracking
        if st is None:
            st = c.tracking = ClientTracking()
            self.tracking_clients += 1
        st.broken = st.bcast = st.optin = st.optout = st.noloop = False
        st.redirect = redirect
        if not self.active:  # the first client ever: changes are reported from now on
            self.active = True
            self.keyspace.invalidate = self.invalidate
        if bcast:
            st.bcast = True
            for p in prefixes or [b""]:
                bs = self.prefixes.get(p)
                if bs is None:
                    bs = self.prefixes[p] = _Bcast()
                bs.clients[c] = None
                st.prefixes[p] = None
        st.optin, st.optout, st.noloop = optin, optout, noloop

    def disable(self, c: Any) -> None:
        """disableTracking: off, out of its prefixes; the ids it left in the table go
        lazily (when their keys are invalidated)."""
        st = c.tracking
        if st is None:
            return
        for p in st.prefixes:
            bs = self.prefixes.get(p)
            if bs is not None:
                bs.clients.pop(c, None)
                if not bs.clients:
                    del self.prefixes[p]
        c.tracking = None
        self.tracking_clients -= 1

    # -- remembering keys -----------------------------------------------------------
    def after_read(self, c: Any, cmd: Any, argv: list[bytes]) -> None:
        """call()'s hook after a read-only command: remember its keys for the client that
        ran it — for a script's command, the script's caller and the keys its EVAL/FCALL
        declared."""
        if cmd.name in _SCRIPT_RO:
            return
        if c.script:
            c = self.current
            if c is None:
                return
            cmd, argv = self.cmd, self.argv
        st = c.tracking
        if st is not None and not st.bcast:
            self.remember(c, st, cmd, argv)

    def remember(self, c: Any, st: ClientTracking, cmd: Any, argv: list[bytes]) -> None:
        """trackingRememberKeys: OPTIN needs CLIENT CACHING yes, OPTOUT skips after
        CLIENT CACHING no; shard channels (pub/sub commands' keys) are not keys."""
        if (st.optin and not st.caching) or (st.optout and st.caching) or "pubsub" in cmd.flags:
            return
        table = self.table
        cid = c.id
        for key in cmd.keys(argv):
            ids = table.get(key)
            if ids is None:
                ids = table[key] = {}
            if cid not in ids:
                ids[cid] = None
                self.items += 1

    # -- invalidation ---------------------------------------------------------------
    def invalidate(self, key: bytes, modifier: Any = None, bcast: bool = True) -> None:
        """trackingInvalidateKey: ``key`` changed (by ``modifier``'s command; None for
        expiry and eviction). With ``bcast`` False (a table entry evicted for
        tracking-table-max-keys) the BCAST clients are not told: the key did not change."""
        if bcast and self.prefixes:
            self._remember_for_broadcast(key, modifier)
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        current = self.current
        order = sorted(ids, key=_id_order) if len(ids) > 1 else ids
        for cid in order:
            target = self.clients.get(cid)
            if target is None:
                continue
            st = target.tracking
            if st is None or st.bcast:  # off, or keys of before it switched to BCAST
                continue
            if target is current:
                if st.noloop:
                    continue
                self.pending.append(key)  # told after the reply of the command running
            else:
                self._send(target, array([bulk(key)]))

    def _remember_for_broadcast(self, key: bytes, modifier: Any) -> None:
        """trackingRememberKeyToBroadcast: under every prefix of the key, who changed it last."""
        for p, bs in self.prefixes.items():
            if key.startswith(p):
                bs.keys[key] = modifier
                if not self._bcast_scheduled:
                    self._bcast_scheduled = True
                    self.schedule(self.broadcast)

    def flushed(self) -> None:
        """trackingInvalidateKeysOnFlush: every tracking client is told that all its keys
        are invalid (a null, in the tracking client's protocol), and the table is emptied
        (FLUSHALL ASYNC too: Redis only frees it in the background)."""
        if self.tracking_clients:
            for c in list(self.clients.values()):
                if c.tracking is None:
                    continue
                if c is self.current:
                    self.pending.append(None)
                else:
                    self._send(c, null(c.resp))
        self.table = {}
        self.items = 0

    def take_pending(self, c: Any) -> bytes:
        """trackingHandlePendingKeyInvalidations, after the outermost command of ``c``:
        the messages for ``c`` itself, to follow its reply; redirected ones are sent."""
        keys = self.pending
        self.pending = []
        if c.tracking is None:
            return b""
        out: list[bytes] = []
        for key in keys:
            self._send(c, array([bulk(key)]) if key is not None else null(c.resp), out)
        return b"".join(out)

    def _send(self, c: Any, payload: bytes, own: list[bytes] | None = None) -> None:
        """sendTrackingMessage: ``payload`` (the encoded key array, or a null) to ``c`` or
        its redirection; what is for ``c`` itself goes to ``own`` when given."""
        st = c.tracking
        target = c
        if st.redirect:
            target = self.clients.get(st.redirect)
            if target is None or target.closing:
                st.broken = True
                if c.resp > 2:
                    self._deliver(c, _BROKEN_HEAD + integer(st.redirect), own)
                return
        if target.resp > 2:
            data = _PUSH_HEAD + payload
        elif target is not c and (target.sub_channels or target.sub_patterns or target.sub_shard):
            data = _MESSAGE_HEAD + payload
        else:  # RESP2 on its own connection: nothing can carry it
            return
        self._deliver(target, data, own if target is c else None)

    @staticmethod
    def _deliver(c: Any, data: bytes, own: list[bytes] | None) -> None:
        if own is not None:
            own.append(data)
        else:
            c.write(data)  # a push: CLIENT REPLY OFF does not silence it

    # -- BCAST ----------------------------------------------------------------------
    def broadcast(self) -> None:
        """trackingBroadcastInvalidationMessages, once per event-loop pass: per prefix
        (in rax order), the keys changed under it go to each of its clients — for a
        NOLOOP client without the keys it changed itself, nothing when none is left."""
        self._bcast_scheduled = False
        for p in sorted(self.prefixes):
            bs = self.prefixes[p]
            if not bs.keys:
                continue
            keys = sorted(bs.keys.items())
            bs.keys = {}
            common = array([bulk(k) for k, _ in keys])
            for c in list(bs.clients):
                st = c.tracking
                if st is not None and st.noloop:
                    mine = [bulk(k) for k, who in keys if who is not c]
                    if mine:
                        self._send(c, array(mine))
                elif st is not None:
                    self._send(c, common)

    # -- tracking-table-max-keys ------------------------------------------------------
    def limit_used_slots(self, max_keys: int) -> None:
        """trackingLimitUsedSlots: over ``max_keys`` keys, invalidate table entries (the
        clients are told as if the key changed) — at most 100 per run times the runs that
        in a row found the table still over, until it is back under the limit. Redis picks
        them by a random walk; here the oldest entries go first."""
        if not max_keys or len(self.table) <= max_keys:
            self._over_limit_runs = 0
            return
        effort = 100 * (self._over_limit_runs + 1)
        while effort > 0 and self.table:
            effort -= 1
            self.invalidate(next(iter(self.table)), None, False)
            if len(self.table) <= max_keys:
                self._over_limit_runs = 0
                return
        self._over_limit_runs += 1

    # -- INFO -------------------------------------------------------------------------
    def info_fields(self) -> list[tuple[str, object]]:
        """INFO stats' tracking_total_keys / _items / _prefixes."""
        return [("tracking_total_keys", len(self.table)), ("tracking_total_items", self.items),
                ("tracking_total_prefixes", len(self.prefixes))]


__all__ = ["CHANNEL", "ClientTracking", "Tracking", "prefix_collision"]
