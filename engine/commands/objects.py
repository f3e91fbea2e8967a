"""OBJECT ENCODING/REFCOUNT/IDLETIME/FREQ/HELP (object.c): what a key's value looks like inside."""

from __future__ import annotations

from aof.replies import (
    NULL3,
    NULL_BULK,
    ONE,
    Simple,
    bulk,
    encode,
    integer,
)
from engine.errors import CommandError
from engine.execution.registry import container, subcommand
from engine.types import encoding_name
from engine.types.strings import string_encoding

G = "generic"
SHARED_REFCOUNT = 2147483647  # OBJ_SHARED_REFCOUNT: shared integers 0..9999


OBJECT = container("object", -2, group=G, since="2.2.3")

_LFU_ERR = ("An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take some "
            "time to adjust.")
_LRU_ERR = ("An LRU maxmemory policy is not selected, access time not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take some "
            "time to adjust.")


def _object_lookup(c, key: bytes):
    return c.db.read_notouch(key, notify_miss=False)  # objectCommandLookup


@subcommand(OBJECT, "encoding", 3, "readonly", 2, 2, 1)
def object_encoding(c, argv):
    v = _object_lookup(c, argv[2])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    return bulk(encoding_name(v).encode())


@subcommand(OBJECT, "refcount", 3, "readonly", 2, 2, 1)
def object_refcount(c, argv):
    v = _object_lookup(c, argv[2])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    if v.__class__ is bytes and string_encoding(v) == "int":
        policy = c.server.config.maxmemory_policy
        shared_ok = c.server.config.maxmemory == 0 or not (policy.endswith("lru") or policy.endswith("lfu"))
        if shared_ok and 0 <= int(v) < 10000:
            return integer(SHARED_REFCOUNT)
    return ONE


@subcommand(OBJECT, "idletime", 3, "readonly", 2, 2, 1)
def object_idletime(c, argv):
    v = _object_lookup(c, argv[2])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    if c.server.config.maxmemory_policy.endswith("lfu"):
        raise CommandError(_LRU_ERR)
    return integer(c.db.idle_seconds(argv[2]))


@subcommand(OBJECT, "freq", 3, "readonly", 2, 2, 1)
def object_freq(c, argv):
    v = _object_lookup(c, argv[2])
    if v is None:
        return NULL3 if c.resp == 3 else NULL_BULK
    if not c.server.config.maxmemory_policy.endswith("lfu"):
        raise CommandError(_LFU_ERR)
    return integer(c.db.lfu_counter(argv[2]))


@subcommand(OBJECT, "help", 2, "loading stale")
def object_help(c, argv):
    lines = [
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ]
    return encode([Simple(x) for x in lines], c.resp)

