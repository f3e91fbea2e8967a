"""Set values: ``intset`` while every member is a canonical int64 and the count is
within ``set-max-intset-entries``, else ``hashtable`` (Redis 7.0 has no listpack sets).

An intset replies in ascending integer order; a hashtable in no defined order.
"""

from __future__ import annotations

from rdbtools.numbers import string2ll


class SetValue(set):
    __slots__ = ("intset",)

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.intset = False

    def encoding(self) -> str:
        return "intset" if self.intset else "hashtable"

    @classmethod
    def create_for(cls, first: bytes) -> SetValue:
        """setTypeCreate: an intset if the first member is an integer."""
        s = cls()
        s.intset = string2ll(first) is not None
        return s

    def add_member(self, member: bytes, max_intset: int) -> bool:
        """setTypeAdd: add and convert as Redis does; True if the member is new."""
        if member in self:
            return False
        if self.intset:
            if string2ll(member) is None or len(self) + 1 > max_intset:
                self.intset = False
        self.add(member)
        return True

    def ordered(self) -> list[bytes]:
        """Members in Redis's iteration order where it has one (intset: ascending)."""
        if self.intset:
            return sorted(self, key=int)
        return list(self)

    def copy_value(self) -> SetValue:
        s = SetValue(self)
        s.intset = self.intset
        return s
