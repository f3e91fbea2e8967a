"""What ``check`` reports about an RDB: version, aux fields, keys per db and type.

Built by folding the decoder's events, so the check walks exactly the code that
loads files; nothing here parses bytes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .model import Aux, End, Event, FunctionLibrary, FunctionPreGA, Header, ModuleAux, Record


@dataclass
class RdbSummary:
    version: int | None = None
    magic: bytes | None = None
    aux: list[tuple[bytes, bytes]] = field(default_factory=list)
    keys: Counter[tuple[int, str]] = field(default_factory=Counter)  # (db, type) -> count
    expires: Counter[int] = field(default_factory=Counter)  # db -> count
    functions: list[bytes] = field(default_factory=list)
    module_aux: int = 0
    size: int = 0
    checksum: int | None = None
    checksum_verified: bool = False

    def add(self, ev: Event) -> None:
        if isinstance(ev, Record):
            self.keys[(ev.db, ev.type)] += 1
            if ev.expire_ms is not None:
                self.expires[ev.db] += 1
        elif isinstance(ev, Aux):
            self.aux.append((ev.key, ev.value))
        elif isinstance(ev, Header):
            self.version = ev.version
            self.magic = ev.magic
        elif isinstance(ev, End):
            self.checksum = ev.checksum
            self.checksum_verified = ev.verified
            self.size = ev.offset + 1 + (8 if ev.checksum is not None else 0)
        elif isinstance(ev, FunctionLibrary | FunctionPreGA):
            self.functions.append(ev.name or b"?")
        elif isinstance(ev, ModuleAux):
            self.module_aux += 1

    @property
    def total_keys(self) -> int:
        return sum(self.keys.values())

    def per_db(self) -> dict[int, dict[str, int]]:
        out: dict[int, dict[str, int]] = {}
        for (db, typ), n in sorted(self.keys.items()):
            out.setdefault(db, {})[typ] = n
        return out


__all__ = ["RdbSummary"]
