"""Redis Cluster: this node's cluster state (``server.cluster``) and the cluster bus."""

from engine.cluster.state import Cluster

__all__ = ["Cluster"]
