"""Redis Cluster: hash slots, and moving a dataset into a cluster (or one server)."""

from aof.slots import key_hash_slot

__all__ = ["key_hash_slot"]
