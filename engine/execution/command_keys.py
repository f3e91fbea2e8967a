"""The keys of a call and how it uses them, as COMMAND GETKEYS / GETKEYSANDFLAGS find them.

Redis prefers a command's key specs (getKeysUsingKeySpecs); when they cannot answer
(an incomplete or unknown spec, a keyword not found, a bad ``numkeys``) or their flags
depend on the arguments (``variable_flags``: SET … GET, BITFIELD … SET), it asks the
command's getkeys procedure. The positions such a procedure finds are the table's
(``Command.key_positions``); the flags it gives are those of :func:`_proc_flags`.
"""

from __future__ import annotations

from engine.execution.meta import KeySpec
from engine.execution.registry import Command

_RO = ("RO", "access")
_OW = ("OW", "update")
_RW = ("RW", "access", "update")


def has_keys(cmd: Command) -> bool:
    """doesCommandHaveKeys."""
    meta = cmd.meta
    if meta is None or not meta.arity:
        return cmd.first > 0 or cmd.keys_fn is not None
    return meta.getkeys or any("not_key" not in ks.flags for ks in meta.key_specs)


def spec_keys(specs: tuple[KeySpec, ...], argv: list[bytes],
              arity: int) -> list[tuple[int, tuple[str, ...]]] | None:
    """getKeysUsingKeySpecs (GET_KEYSPEC_DEFAULT): positions with their spec's flags, or
    None when a spec cannot answer."""
    argc = len(argv)
    out: list[tuple[int, tuple[str, ...]]] = []
    for ks in specs:
        if "not_key" in ks.flags:
            continue
        if ks.begin[0] == "index":
            first = int(ks.begin[1])  # type: ignore[call-overload]
        elif ks.begin[0] == "keyword":
            word = str(ks.begin[1]).encode().lower()
            start = int(ks.begin[2])  # type: ignore[call-overload]
            idx = range(start, argc) if start > 0 else range(argc + start, 0, -1)
            first = next((i + 1 for i in idx if 1 <= i < argc and argv[i].lower() == word), 0)
            if not first:
                continue
        else:
            return None
        kind = ks.find[0]
        if kind == "range":
            lastkey, step, limit = (int(x) for x in ks.find[1:])  # type: ignore[call-overload]
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + ((argc - first) // limit + lastkey)
        elif kind == "keynum":
            keynumidx, firstkey, step = (int(x) for x in ks.find[1:])  # type: ignore[call-overload]
            if keynumidx >= argc or first + keynumidx >= argc:
                return None
            text = argv[first + keynumidx]
            try:
                numkeys = int(text)
            except ValueError:
                return None
            if numkeys < 0 or text.strip() != text or text.startswith(b"+"):
                return None
            first += firstkey
            last = first + numkeys - 1
        else:
            return None
        if last >= argc or last < first or first >= argc:
            return None
        for i in range(first, last + 1, step):
            if i >= argc and arity >= 0:
                return None
            if i < argc:
                out.append((i, ks.flags))
        if "incomplete" in ks.flags:
            return None
    return out


def _proc_flags(name: str, argv: list[bytes], pos: int) -> tuple[str, ...]:
    """The flags each getkeys procedure gives (genericGetKeys and friends give none)."""
    if name == "set":  # setGetKeys
        return _RW if any(a.lower() == b"get" for a in argv[3:]) else _OW
    if name == "bitfield":  # bitfieldGetKeys
        i = 2
        while i < len(argv):
            op, rem = argv[i].lower(), len(argv) - i - 1
            if op == b"get" and rem >= 2:
                i += 3
            elif op == b"overflow" and rem >= 1:
                i += 2
            else:
                return _RW  # SET/INCRBY, or a syntax error (not read-only, to be safe)
        return _RO
    if name in ("sort", "sort_ro"):  # sortGetKeys: the sort key, then the STORE key
        return _RO if pos == 1 else _OW
    if name == "migrate":
        return ("RW", "access", "delete")
    return ()


def keys_and_flags(cmd: Command, argv: list[bytes]) -> list[tuple[int, tuple[str, ...]]]:
    """getKeysFromCommandWithSpecs: ``argv`` is the call (``argv[0]`` the command)."""
    meta = cmd.meta
    if meta is None or not meta.arity:  # a command Redis 7.0 does not have
        return [(i, ("RW",) if cmd.is_write else ("RO",)) for i in cmd.key_positions(argv)]
    specs = meta.key_specs
    has_keyspec = any("not_key" not in ks.flags for ks in specs)
    if has_keyspec and not any("variable_flags" in ks.flags for ks in specs):
        found = spec_keys(specs, argv, meta.arity)
        if found is not None:
            return found
    if meta.getkeys:
        return [(i, _proc_flags(cmd.name, argv, i)) for i in cmd.key_positions(argv)]
    return []


__all__ = ["has_keys", "keys_and_flags", "spec_keys"]
