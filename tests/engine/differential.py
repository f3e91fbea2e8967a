"""Send the same command to our server and a real redis-server and compare replies."""

from __future__ import annotations

from typing import Any

import redis

# Commands whose replies Redis gives in no defined order (compared as multisets),
# and commands whose replies are random (compared by shape only).
UNORDERED = {"smembers", "sunion", "sinter", "sdiff", "keys", "hkeys", "hvals", "hgetall"}
RANDOM = {"spop", "srandmember", "hrandfield", "zrandmember", "randomkey"}


def _plain(v: Any) -> Any:
    """Exceptions embedded in replies (EXEC results) become comparable tuples."""
    if isinstance(v, Exception):
        return ("err", str(v))
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def run(client: redis.Redis, argv: list[Any]) -> tuple[str, Any]:
    try:
        return "ok", _plain(client.execute_command(*argv, NEVER_DECODE=True))
    except (redis.ResponseError, redis.AuthenticationError) as exc:
        return "err", str(exc)


def _norm_unordered(name: str, v: Any) -> Any:
    if isinstance(v, list):
        if name in ("hgetall",):
            pairs = [tuple(v[i:i + 2]) for i in range(0, len(v), 2)]
            return sorted(pairs)
        return sorted(v, key=repr)
    if isinstance(v, dict):
        return sorted(v.items())
    if isinstance(v, set):
        return sorted(v, key=repr)
    return v


def normalise(argv: list[Any], res: tuple[str, Any], unordered_hash: bool) -> Any:
    kind, v = res
    if kind == "err":
        return res
    name = argv[0].decode().lower() if isinstance(argv[0], bytes) else str(argv[0]).lower()
    if name in ("scan", "sscan", "hscan", "zscan") and isinstance(v, list) and len(v) == 2:
        cursor, items = v
        if cursor in (b"0", 0):
            if name in ("hscan", "zscan"):
                items = [tuple(items[i:i + 2]) for i in range(0, len(items), 2)]
            return ("ok", "complete", sorted(items, key=repr))
        return ("ok", "partial")
    if name == "config" and isinstance(v, (list, dict)):  # CONFIG GET: Redis's dict order
        pairs = sorted(v.items()) if isinstance(v, dict) else sorted(zip(v[::2], v[1::2]))
        return ("ok", pairs)
    if name in RANDOM:
        if isinstance(v, list):
            return ("ok", "list", len(v))
        return ("ok", type(v).__name__)
    if name in UNORDERED and (name not in ("hkeys", "hvals", "hgetall") or unordered_hash):
        return ("ok", _norm_unordered(name, v))
    if name in ("sinterstore", "sunionstore", "sdiffstore"):
        return res
    return res
