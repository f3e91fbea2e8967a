"""Pub/Sub state (``pubsub.c``): who listens to which channel, pattern or shard channel.

The server holds one :class:`PubSub`; each client keeps its own subscriptions
(``sub_channels``, ``sub_patterns``, ``sub_shard`` — insertion-ordered dicts, as
Redis's replies to a bare UNSUBSCRIBE list them in that order). PUBLISH delivers
to channel subscribers first, then to every client whose pattern matches, once
per matching pattern, and returns how many messages went out. Messages are
pushes: a RESP2 array or a RESP3 ``>`` push, per receiving client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aof.replies import encode_bulk, encode_int, encode_push
from aof.slots import key_hash_slot
from rdbtools.glob import glob_matcher


def push(resp: int, *parts: bytes | int | None) -> bytes:
    """A pub/sub push: ``*n`` (RESP2) or ``>n`` (RESP3) of bulks, integers and nulls,
    written with the one RESP codec's encoders."""
    r3 = resp == 3
    return encode_push([encode_int(p) if isinstance(p, int) else encode_bulk(p, r3) for p in parts], r3)


# Commands whose replies are pub/sub pushes (addReplyPubsub*Subscribed/Unsubscribed set
# CLIENT_PUSHING): CLIENT REPLY OFF/SKIP does not silence them, in RESP2 as in RESP3.
PUSHED_REPLIES = frozenset({b"subscribe", b"unsubscribe", b"psubscribe", b"punsubscribe", b"ssubscribe",
                            b"sunsubscribe"})

CONTEXT_ALLOWED = frozenset({"subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe",
                             "punsubscribe", "ping", "quit", "reset"})


def subscribed_context_error(c, cmd) -> bytes | None:
    """processCommand's RESP2 pub/sub check: the error reply, or None when allowed."""
    if c.resp != 2 or not (c.sub_channels or c.sub_patterns or c.sub_shard):
        return None
    base = cmd.parent.name if cmd.parent is not None else cmd.name
    if base in CONTEXT_ALLOWED:
        return None
    return (b"-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
            b"are allowed in this context\r\n" % cmd.name.encode())


class PubSub:
    __slots__ = ("channels", "patterns", "shard", "_compiled")

    def __init__(self) -> None:
        self.channels: dict[bytes, dict[Any, None]] = {}
        self.patterns: dict[bytes, dict[Any, None]] = {}
        self.shard: dict[bytes, dict[Any, None]] = {}
        self._compiled: dict[bytes, Callable[[bytes], bool]] = {}

    # -- subscriptions (each returns True when it was new) -----------------------
    @staticmethod
    def _add(table: dict[bytes, dict[Any, None]], mine: dict[bytes, None], name: bytes, c: Any) -> bool:
        if name in mine:
            return False
        mine[name] = None
        table.setdefault(name, {})[c] = None
        return True

    @staticmethod
    def _remove(table: dict[bytes, dict[Any, None]], mine: dict[bytes, None], name: bytes, c: Any) -> bool:
        if name not in mine:
            return False
        del mine[name]
        subs = table.get(name)
        if subs is not None:
            subs.pop(c, None)
            if not subs:
                del table[name]
        return True

    def subscribe(self, c: Any, ch: bytes) -> bool:
        return self._add(self.channels, c.sub_channels, ch, c)

    def unsubscribe(self, c: Any, ch: bytes) -> bool:
        return self._remove(self.channels, c.sub_channels, ch, c)

    def psubscribe(self, c: Any, pat: bytes) -> bool:
        if self._add(self.patterns, c.sub_patterns, pat, c):
            if pat not in self._compiled:
                self._compiled[pat] = glob_matcher(pat)
            return True
        return False

    def punsubscribe(self, c: Any, pat: bytes) -> bool:
        ok = self._remove(self.patterns, c.sub_patterns, pat, c)
        if ok and pat not in self.patterns:
            self._compiled.pop(pat, None)
        return ok

    def ssubscribe(self, c: Any, ch: bytes) -> bool:
        return self._add(self.shard, c.sub_shard, ch, c)

    def sunsubscribe(self, c: Any, ch: bytes) -> bool:
        return self._remove(self.shard, c.sub_shard, ch, c)

    def remove_shard_channels_in_slot(self, slot: int) -> None:
        """removeChannelsInSlot: a node no longer serving ``slot`` drops its shard channels;
        each subscriber gets the ``sunsubscribe`` it would have asked for
        (pubsubShardUnsubscribeAllClients)."""
        for ch in [ch for ch in self.shard if key_hash_slot(ch) == slot]:
            for c in list(self.shard.get(ch, ())):
                self.sunsubscribe(c, ch)
                c.write(push(c.resp, b"sunsubscribe", ch, len(c.sub_shard)))

    def client_gone(self, c: Any) -> None:
        for ch in list(c.sub_channels):
            self.unsubscribe(c, ch)
        for pat in list(c.sub_patterns):
            self.punsubscribe(c, pat)
        for ch in list(c.sub_shard):
            self.sunsubscribe(c, ch)

    # -- delivery -----------------------------------------------------------------
    def publish(self, ch: bytes, msg: bytes) -> int:
        n = 0
        subs = self.channels.get(ch)
        if subs:
            enc = {2: push(2, b"message", ch, msg), 3: push(3, b"message", ch, msg)}
            for c in list(subs):
                c.write(enc[3 if c.resp == 3 else 2])
                n += 1
        if self.patterns:
            for pat, clients in list(self.patterns.items()):
                if not self._compiled[pat](ch):
                    continue
                enc = {2: push(2, b"pmessage", pat, ch, msg), 3: push(3, b"pmessage", pat, ch, msg)}
                for c in list(clients):
                    c.write(enc[3 if c.resp == 3 else 2])
                    n += 1
        return n

    def spublish(self, ch: bytes, msg: bytes) -> int:
        subs = self.shard.get(ch)
        if not subs:
            return 0
        enc = {2: push(2, b"smessage", ch, msg), 3: push(3, b"smessage", ch, msg)}
        for c in list(subs):
            c.write(enc[3 if c.resp == 3 else 2])
        return len(subs)


__all__ = ["CONTEXT_ALLOWED", "PUSHED_REPLIES", "PubSub", "push", "subscribed_context_error"]
