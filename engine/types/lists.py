"""List values. Redis 7.0 stores every list as a quicklist (docs/formats.md §10.3)."""

from __future__ import annotations

from collections import deque


class ListValue(deque):
    """A list: a deque of ``bytes`` elements (O(1) at both ends, like a quicklist)."""

    __slots__ = ()

    def encoding(self) -> str:
        return "quicklist"
