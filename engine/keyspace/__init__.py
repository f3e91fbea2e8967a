"""The keyspace: numbered databases of key → value with expiry and access metadata."""

from engine.keyspace.db import Database, Keyspace, wall_ms

__all__ = ["Database", "Keyspace", "wall_ms"]
