"""Which arguments of a command are keys and channels, and the permission each needs.

The keys and their flags are COMMAND GETKEYSANDFLAGS's (``engine.execution.command_keys``:
getKeysFromCommandWithSpecs, key specs first, the command's own key parser where a spec
is incomplete or its flags vary); a key spec's ``access`` flag needs read permission,
``insert``/``update``/``delete`` need write permission (ACLSelectorCheckKey). Channels
are ``getChannelsFromCommand``'s.
"""

from __future__ import annotations

from engine.acl.selector import READ, WRITE
from engine.execution import command_keys
from engine.execution.registry import Command

# commands_with_channels: name -> (is_pattern, first, count or -1), publish/subscribe only
# (the unsubscribe forms never need a permission)
CHANNELS = {"subscribe": (False, -1), "ssubscribe": (False, -1), "psubscribe": (True, -1),
            "publish": (False, 1), "spublish": (False, 1)}


def perm_of(flags: tuple[str, ...]) -> int:
    p = READ if "access" in flags else 0
    if "insert" in flags or "update" in flags or "delete" in flags:
        p |= WRITE
    return p


def has_keys(cmd: Command) -> bool:
    """doesCommandHaveKeys."""
    return command_keys.has_keys(cmd)


def keys_of(cmd: Command, argv: list[bytes]) -> list[tuple[int, int]]:
    """(position, permission) of every key ``argv`` names, in Redis's order."""
    meta = cmd.meta
    if meta is None or not meta.arity:  # a command Redis 7.0 does not describe: its legacy positions
        perm = READ if "readonly" in cmd.flags else READ | WRITE
        return [(i, perm) for i in cmd.key_positions(argv)]
    return [(i, perm_of(flags)) for i, flags in command_keys.keys_and_flags(cmd, argv)]


def channels_of(cmd: Command, argv: list[bytes]) -> list[tuple[int, bool]]:
    """(position, is_pattern) of the channels a PUBLISH/SUBSCRIBE-like command names."""
    spec = CHANNELS.get(cmd.name)
    if spec is None:
        return []
    is_pattern, count = spec
    stop = len(argv) if count == -1 else min(len(argv), 1 + count)
    return [(i, is_pattern) for i in range(1, stop)]
