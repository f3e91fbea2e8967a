"""Which arguments of a command are keys and channels, and the permission each needs.

Mirrors ``getKeysFromCommandWithSpecs`` (key specs first; the command's own key parser
where a spec is incomplete or its flags vary: SET, BITFIELD, SORT, MIGRATE) and
``getChannelsFromCommand``. A key spec's ``access`` flag needs read permission,
``insert``/``update``/``delete`` need write permission (ACLSelectorCheckKey).
"""

from __future__ import annotations

from engine.acl.selector import READ, WRITE
from engine.execution.registry import Command
from engine.execution.specs70 import KEY_SPECS, Spec

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
    return cmd.name in KEY_SPECS or cmd.keys_fn is not None or cmd.first > 0


def keys_of(cmd: Command, argv: list[bytes]) -> list[tuple[int, int]]:
    """(position, permission) of every key ``argv`` names, in Redis's order."""
    specs = KEY_SPECS.get(cmd.name)
    if specs is None:  # a command Redis 7.0 does not describe: its legacy positions
        perm = READ if "readonly" in cmd.flags else READ | WRITE
        return [(i, perm) for i in cmd.key_positions(argv)]
    if not any("variable_flags" in s[0] for s in specs):
        found = _by_specs(specs, argv, cmd.arity)
        if found is not None:
            return found
    return _by_parser(cmd, specs, argv)


def _by_specs(specs: tuple[Spec, ...], argv: list[bytes], arity: int) -> list[tuple[int, int]] | None:
    """getKeysUsingKeySpecs; None where a spec is unknown, invalid or incomplete."""
    argc = len(argv)
    out: list[tuple[int, int]] = []
    for flags, begin, find in specs:
        if "not_key" in flags:
            continue
        if begin[0] == "index":
            first = int(begin[1])  # type: ignore[call-overload]
        elif begin[0] == "keyword":
            word, start = str(begin[1]).lower().encode(), int(begin[2])  # type: ignore[call-overload]
            first = 0
            if start > 0:
                rng = range(start, argc)
            else:
                rng = range(argc + start, 0, -1)
            for i in rng:
                if i >= argc or i < 1:
                    break
                if argv[i].lower() == word:
                    first = i + 1
                    break
            if not first:
                continue
        else:
            return None
        if find[0] == "range":
            _, lastkey, step, limit = find
            if lastkey >= 0:  # type: ignore[operator]
                last = first + lastkey  # type: ignore[operator]
            elif not limit:
                last = argc + lastkey  # type: ignore[operator]
            else:
                last = first + ((argc - first) // limit + lastkey)  # type: ignore[operator]
        elif find[0] == "keynum":
            _, keynumidx, firstkey, step = find
            if keynumidx >= argc:  # type: ignore[operator]
                return None
            try:
                numkeys = int(argv[first + keynumidx])  # type: ignore[operator]
            except (ValueError, IndexError):
                return None
            if numkeys < 0:
                return None
            first += firstkey  # type: ignore[operator]
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        perm = perm_of(flags)
        out.extend((i, perm) for i in range(first, last + 1, step) if i < argc)  # type: ignore[arg-type]
        if "incomplete" in flags:
            return None
    return out


def _by_parser(cmd: Command, specs: tuple[Spec, ...], argv: list[bytes]) -> list[tuple[int, int]]:
    """The getkeys_proc fallbacks, with the flags each gives."""
    name = cmd.name
    if name == "set":  # setGetKeys: GET reads the old value
        get = any(a.lower() == b"get" for a in argv[3:])
        return [(1, READ | WRITE if get else WRITE)]
    if name == "bitfield":  # bitfieldGetKeys: read-only unless a SET/INCRBY (or a syntax error)
        return [(1, READ if _bitfield_ro(argv) else READ | WRITE)]
    positions = cmd.key_positions(argv)
    if name in ("sort", "sort_ro"):  # sortGetKeys: the sorted key, then the STORE destination
        return [(p, READ if i == 0 else WRITE) for i, p in enumerate(positions)]
    perm = perm_of(specs[0][0])  # migrateGetKeys: every key as the first spec
    return [(p, perm) for p in positions]


def _bitfield_ro(argv: list[bytes]) -> bool:
    i, n = 2, len(argv)
    while i < n:
        rem = n - i - 1
        op = argv[i].lower()
        if op == b"get" and rem >= 2:
            i += 3
        elif op in (b"set", b"incrby") and rem >= 3:
            return False
        elif op == b"overflow" and rem >= 1:
            i += 2
        else:
            return False
    return True


def channels_of(cmd: Command, argv: list[bytes]) -> list[tuple[int, bool]]:
    """(position, is_pattern) of the channels a PUBLISH/SUBSCRIBE-like command names."""
    spec = CHANNELS.get(cmd.name)
    if spec is None:
        return []
    is_pattern, count = spec
    stop = len(argv) if count == -1 else min(len(argv), 1 + count)
    return [(i, is_pattern) for i in range(1, stop)]
