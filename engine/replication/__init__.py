"""Replication: the replica side of Redis's handshake (a full sync's RDB payload) for now."""

from engine.replication.handshake import FullSync, ReplicationError

__all__ = ["FullSync", "ReplicationError"]
