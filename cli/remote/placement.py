"""Where each command of a master's stream goes in a Redis Cluster (sans-IO).

A master's stream holds what a replica must do: effects, already decided (7.0
propagates ``SET ... EX`` as ``PXAT``, ``EXPIRE`` as ``PEXPIREAT``, a script as its
writes inside ``MULTI``/``EXEC``). In a cluster each command must reach the master
of its keys' slot; the keys are found where the server finds them (the command
table's key positions, as cluster.c's getNodeByQuery does). A command whose keys
span slots is split when the pieces do the same thing:

* ``MSET``/``MSETNX``: one ``MSET`` per slot with that slot's pairs (the master
  propagates ``MSETNX`` only when it set every key, so on a replica in step it is an
  ``MSET``);
* ``DEL``, ``UNLINK``, ``TOUCH``, ``EXISTS``: one per slot with that slot's keys.

Anything else across slots (``RENAME``, ``LMOVE``, ``SUNIONSTORE`` ...) is
:class:`Refused` with a one-line reason naming the command: its result depends on
keys that live on different masters. Commands without keys go to every master
(``FLUSHALL``, ``FLUSHDB``, ``FUNCTION``, ``SCRIPT``), to any one (``PUBLISH``: the
cluster bus carries it to the rest), or are refused (``SWAPDB``, ``MOVE``: a cluster
has one db).

Why in ``cli``: only ``rdbkit sync`` replays a stream into a cluster. It reads the
engine's command table for key positions (cli → engine), so a command the engine
knows is routed as the server would route it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aof.slots import key_hash_slot

EVERY = -1  # a part for every master
ANY = -2  # a part for any one master

_BROADCAST = frozenset({b"flushall", b"flushdb", b"function", b"script"})
_ANY_NODE = frozenset({b"publish"})
_KEYED_ONLY = {b"del": 1, b"unlink": 1, b"touch": 1, b"exists": 1, b"mset": 2, b"msetnx": 2}
_ONE_DB = frozenset({b"swapdb", b"move"})


@dataclass(frozen=True, slots=True)
class Refused:
    """A command the target cannot apply as the source did; ``why`` names it."""

    why: str


Part = tuple[int, list[bytes]]  # (slot, EVERY or ANY; the command to send)


def _table():  # type: ignore[no-untyped-def]
    import engine.commands  # noqa: F401  (registers every command family)
    from engine.execution.registry import TABLE

    return TABLE


_TABLE = None


def command_name(argv: list[bytes]) -> str:
    return argv[0].decode("utf-8", "replace").upper() if argv else "(empty)"


def _command(argv: list[bytes]):  # type: ignore[no-untyped-def]
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    cmd = _TABLE.get(argv[0])
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower(), cmd)
    return cmd


# per command name as the stream spells it: whether its one key is argv[1] (most
# writes: routed without asking the table again), and whether a script may run it
_ONE_KEY: dict[bytes, bool] = {}
_SCRIPTABLE: dict[bytes, bool] = {}


def scriptable(argv: list[bytes]) -> bool:
    """Whether a script may run the command (no ``noscript`` flag: not FUNCTION LOAD,
    SCRIPT ..., EVAL), with few enough arguments for Lua's ``unpack`` (LUAI_MAXCSTACK
    is 8000 in Redis's Lua)."""
    ok = _SCRIPTABLE.get(argv[0])
    if ok is None:
        cmd = _command(argv)
        ok = cmd is not None and "noscript" not in cmd.flags
        if cmd is None or not cmd.subcommands:
            _SCRIPTABLE[argv[0]] = ok
    return ok and len(argv) < 7000


def _one_key(argv: list[bytes]) -> bool:
    one = _ONE_KEY.get(argv[0])
    if one is None:
        cmd = _command(argv)
        one = (cmd is not None and not cmd.subcommands and cmd.keys_fn is None and cmd.first == 1
               and cmd.last == 1 and argv[0].lower() not in _ONE_DB)
        _ONE_KEY[argv[0]] = one
    return one and len(argv) > 1


def key_slots(argv: list[bytes]) -> list[tuple[bytes, int]] | None:
    """(key, slot) for each key of the call; None for a command the table lacks."""
    cmd = _command(argv)
    if cmd is None:
        return None
    return [(argv[i], key_hash_slot(argv[i])) for i in cmd.key_positions(argv)]


def place(argv: list[bytes]) -> list[Part] | Refused:
    """The parts of one command for a cluster (in order); a refusal says why."""
    if _one_key(argv):
        return [(key_hash_slot(argv[1]), argv)]
    name = argv[0].lower()
    if name in _ONE_DB:
        return Refused(f"{command_name(argv)}: a cluster has only db 0")
    keys = key_slots(argv)
    if keys is None:
        return Refused(f"{command_name(argv)} is not a command the sync knows the keys of: "
                       f"cannot route it in a cluster")
    if not keys:
        if name in _BROADCAST:
            return [(EVERY, argv)]
        if name in _ANY_NODE:
            return [(ANY, argv)]
        return Refused(f"{command_name(argv)} has no key to route it by in a cluster")
    slots = {s for _, s in keys}
    if len(slots) == 1:
        return [(keys[0][1], argv)]
    step = _KEYED_ONLY.get(name)
    if step is None:
        names = ", ".join(k.decode("utf-8", "backslashreplace") for k, _ in keys[:4])
        return Refused(f"{command_name(argv)} spans {len(slots)} hash slots (keys {names}"
                       f"{', ...' if len(keys) > 4 else ''}) and cannot be split")
    head = [b"MSET"] if step == 2 else [argv[0]]
    by_slot: dict[int, list[bytes]] = {}
    for i in range(1, len(argv), step):
        by_slot.setdefault(key_hash_slot(argv[i]), list(head)).extend(argv[i:i + step])
    return list(by_slot.items())


def place_transaction(commands: list[list[bytes]], split: bool) -> list[Part] | Refused:
    """The parts of a MULTI/EXEC block: kept whole (as one part) when every key is in
    one slot, else refused unless ``split`` (then each command goes its own way, the
    block's atomicity lost)."""
    parts: list[Part] = []
    for argv in commands:
        got = place(argv)
        if isinstance(got, Refused):
            return Refused(f"MULTI/EXEC: {got.why}")
        parts += got
    slots = {s for s, _ in parts if s >= 0}
    if parts and any(s == EVERY for s, _ in parts) and len(parts) > 1:
        slots.add(EVERY)
    if len(slots) > 1 and not split:
        names = ", ".join(sorted({command_name(c) for c in commands}))
        return Refused(f"MULTI/EXEC spans {len(slots)} hash slots ({names}): "
                       f"not atomic in a cluster (--split-transactions applies its commands one by one)")
    return parts


__all__ = ["ANY", "EVERY", "Part", "Refused", "command_name", "key_slots", "place", "place_transaction",
           "scriptable"]
