"""Replication: the master side (``master``, ``transfer``, ``replicas``, ``backlog``) and the
replica side (``replica``, the master link). The replica's protocol — handshake, payload and
command stream — is sans-IO in ``aof.handshake`` / ``aof.replstream``, shared with
``rdbkit fetch``."""
