"""Fixtures: our server and a real redis-server 7.0 on free loopback ports.

Both run as subprocesses started once per session and killed by PID, by the suite's
one launcher, :mod:`tests.support.servers`; its names are re-exported here because
the engine tests import them from this module. Tests that need the real server are
skipped only when ``/usr/bin/redis-server`` is missing (CI installs it:
``apt-get install -y redis-server``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.support.servers import (  # noqa: F401  (re-exported for the engine tests)
    COMMON_ARGS,
    REDIS_SERVER,
    ROOT,
    ServerProc,
    free_port,
    start_ours,
    start_real,
    wait_port,
)


@pytest.fixture(scope="session")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = start_ours(tmp_path_factory.mktemp("ours"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    srv = start_real(tmp_path_factory.mktemp("real"))
    yield srv
    srv.stop()


@pytest.fixture
def r(ours: ServerProc) -> Iterator[redis.Redis]:
    c = ours.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def pair(request: pytest.FixtureRequest, ours: ServerProc,
         real: ServerProc) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """Clients of both servers speaking RESP2, then RESP3 (HELLO 3)."""
    proto = request.param
    a = ours.client(socket_timeout=10, protocol=proto)
    b = real.client(socket_timeout=10, protocol=proto)
    for x in (a, b):
        x.flushall()
        x.config_set("hash-max-listpack-entries", 512)
        x.config_set("zset-max-listpack-entries", 128)
        x.config_set("set-max-intset-entries", 512)
        x.response_callbacks.clear()  # compare raw replies, not redis-py's parsed forms
    yield a, b
    a.close()
    b.close()
