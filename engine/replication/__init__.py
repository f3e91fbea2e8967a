"""Replication: the master side (``master``, ``transfer``, ``replicas``, ``backlog``), the replica
side (``replica``, ``stream``, ``handshake``) and ``rdbkit fetch``'s snapshot client (``fetch``)."""

from engine.replication.handshake import FullSync, ReplicationError

__all__ = ["FullSync", "ReplicationError"]
