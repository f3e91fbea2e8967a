"""Hash values: a dict kept in insertion order, which is the listpack's order.

Conversion mirrors ``hashTypeTryConversion``/``hashTypeSet``: a field or value
longer than ``hash-max-listpack-value`` or more than ``hash-max-listpack-entries``
fields turns the listpack into a hashtable, never back.
"""

from __future__ import annotations


class HashValue(dict):
    __slots__ = ("lp",)

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.lp = True

    def encoding(self) -> str:
        return "listpack" if self.lp else "hashtable"

    def try_conversion(self, items: list[bytes], max_value: int) -> None:
        """Before adding: any argument longer than the value limit converts."""
        if self.lp:
            for b in items:
                if len(b) > max_value:
                    self.lp = False
                    return

    def set_field(self, field: bytes, value: bytes, max_entries: int, max_value: int) -> bool:
        """hashTypeSet: returns True when the field is new."""
        if self.lp and (len(field) > max_value or len(value) > max_value):
            self.lp = False
        new = field not in self
        self[field] = value
        if self.lp and len(self) > max_entries:
            self.lp = False
        return new
