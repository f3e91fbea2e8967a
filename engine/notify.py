"""Keyspace notifications (``notify.c``): the event classes and the one place events are sent.

A change to a key is announced as Redis 7.0 does it, over pub/sub, when
``notify-keyspace-events`` selects the event's class: ``__keyspace@<db>__:<key>``
carries the event name and ``__keyevent@<db>__:<event>`` carries the key. The
setting is kept as the flags integer (CONFIG GET renders it back in Redis's
canonical order), so a disabled class costs one ``&`` at each call site.

This module sits at the bottom of the engine: the keyspace sends ``expired`` and
``evicted`` from below the pub/sub layer, so :func:`notify` reaches the subscribers
through the keyspace's ``publish`` hook, which the server points at
``PubSub.publish`` when it wires its subsystems.
"""

from __future__ import annotations

from typing import Any

NOTIFY_KEYSPACE = 1 << 0  # K
NOTIFY_KEYEVENT = 1 << 1  # E
NOTIFY_GENERIC = 1 << 2  # g
NOTIFY_STRING = 1 << 3  # $
NOTIFY_LIST = 1 << 4  # l
NOTIFY_SET = 1 << 5  # s
NOTIFY_HASH = 1 << 6  # h
NOTIFY_ZSET = 1 << 7  # z
NOTIFY_EXPIRED = 1 << 8  # x
NOTIFY_EVICTED = 1 << 9  # e
NOTIFY_STREAM = 1 << 10  # t
NOTIFY_KEY_MISS = 1 << 11  # m (not part of A)
NOTIFY_MODULE = 1 << 13  # d
NOTIFY_NEW = 1 << 14  # n (not part of A)
NOTIFY_ALL = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET
              | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)

_LETTERS = {"A": NOTIFY_ALL, "g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST, "s": NOTIFY_SET,
            "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED, "e": NOTIFY_EVICTED, "K": NOTIFY_KEYSPACE,
            "E": NOTIFY_KEYEVENT, "t": NOTIFY_STREAM, "m": NOTIFY_KEY_MISS, "d": NOTIFY_MODULE, "n": NOTIFY_NEW}
# keyspaceEventsFlagsToString's order: classes (or A), then K, E, m
_CLASS_ORDER = "g$lshzxetdn"
_TAIL_ORDER = "KEm"


def flags_from_string(classes: str) -> int | None:
    """Mirrors keyspaceEventsStringToFlags: the flags, or None for a letter outside the set."""
    flags = 0
    for ch in classes:
        bit = _LETTERS.get(ch)
        if bit is None:
            return None
        flags |= bit
    return flags


def flags_to_string(flags: int) -> str:
    """Mirrors keyspaceEventsFlagsToString: what CONFIG GET shows ("AKE", "g$lK", ...)."""
    if flags & NOTIFY_ALL == NOTIFY_ALL:
        out = ["A"]  # as 7.0.15: "n" is not shown next to "A" (though kept)
    else:
        out = [ch for ch in _CLASS_ORDER if flags & _LETTERS[ch]]
    out += [ch for ch in _TAIL_ORDER if flags & _LETTERS[ch]]
    return "".join(out)


def notify(db: Any, type_: int, event: bytes, key: bytes) -> None:
    """Mirrors notifyKeyspaceEvent for a change to ``key`` in the database ``db`` (a
    ``keyspace.db.Database``: its id names the channels, its keyspace holds the
    configuration and the ``publish`` hook). Nothing happens unless the event's class
    is selected — and then only for the K/E channel kinds selected."""
    ks = db.ks
    flags = ks.config.notify_keyspace_events
    if not flags & type_:
        return
    publish = ks.publish
    if publish is None:
        return
    prefix = b"@%d__:" % db.id
    if flags & NOTIFY_KEYSPACE:
        publish(b"__keyspace" + prefix + key, event)
    if flags & NOTIFY_KEYEVENT:
        publish(b"__keyevent" + prefix + event, key)


__all__ = ["NOTIFY_ALL", "NOTIFY_EVICTED", "NOTIFY_EXPIRED", "NOTIFY_GENERIC", "NOTIFY_HASH", "NOTIFY_KEYEVENT",
           "NOTIFY_KEYSPACE", "NOTIFY_KEY_MISS", "NOTIFY_LIST", "NOTIFY_MODULE", "NOTIFY_NEW", "NOTIFY_SET",
           "NOTIFY_STREAM", "NOTIFY_STRING", "NOTIFY_ZSET", "flags_from_string", "flags_to_string", "notify"]
