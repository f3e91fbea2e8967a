"""Hash slots (``keyHashSlot``): CRC-16/XMODEM of the key, or of its hash tag, mod 16384.

The hash tag is the text between the first ``{`` and the first ``}`` after it,
when that text is not empty; keys sharing a tag share a slot.

Why in ``aof``: slots are part of the protocol a cluster client speaks, not of one
server. ``rdbkit restore`` routes keys with them today (:mod:`cli.remote.restore`),
and the engine will need the same function for its own cluster mode; below both
(cli → engine → aof), this is the one copy.
"""

from __future__ import annotations

from collections.abc import Callable

import anycrc

SLOTS = 16384
_crc16: Callable[[bytes], int] = anycrc.Model("CRC16-XMODEM").calc


def key_hash_slot(key: bytes) -> int:
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return _crc16(key) & (SLOTS - 1)


__all__ = ["SLOTS", "key_hash_slot"]
