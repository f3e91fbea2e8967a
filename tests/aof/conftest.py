"""A real ``redis-server`` (Debian's 7.0) for differential protocol tests.

Started by :mod:`tests.support.servers` on 127.0.0.1 on a free port in a temporary
directory, with persistence off; tests talk to it with raw sockets
(:meth:`~tests.support.servers.ServerProc.raw`, ``.call``) so that garbage reaches the
server unchanged. Skipped when no ``redis-server`` binary is installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.servers import ServerProc, free_port, start_real  # noqa: F401  (free_port re-exported)

PASSWORD = "s3cret"
RealRedis = ServerProc  # the name the protocol tests annotate with


@pytest.fixture(scope="session")
def real_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRedis]:
    server = start_real(tmp_path_factory.mktemp("redis"), "--loglevel", "notice")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_redis_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRedis]:
    """A server with ``requirepass``: the unauthenticated limits apply."""
    server = start_real(tmp_path_factory.mktemp("redis-auth"), "--loglevel", "notice",
                        "--requirepass", PASSWORD)
    yield server
    server.stop()
