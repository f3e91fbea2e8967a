"""The keyspace: numbered databases of key → value with expiry and access metadata."""

from engine.keyspace.db import Database, Keyspace, now_ms

__all__ = ["Database", "Keyspace", "now_ms"]
