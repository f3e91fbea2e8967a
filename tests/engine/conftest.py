"""Fixtures: our server and a real redis-server 7.0 on free loopback ports.

Both run as subprocesses started once per session and killed by PID, by the suite's
one launcher, :mod:`tests.support.servers`; its names are re-exported here because
the engine tests import them from this module. Tests that need the real server are
skipped only when ``/usr/bin/redis-server`` is missing (CI installs it:
``apt-get install -y redis-server``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
        x.execute_command("FUNCTION", "FLUSH")  # FLUSHALL keeps libraries: an earlier test's stay
        x.config_set("hash-max-listpack-entries", 512)
        x.config_set("zset-max-listpack-entries", 128)
        x.config_set("set-max-intset-entries", 512)
        x.response_callbacks.clear()  # compare raw replies, not redis-py's parsed forms
    yield a, b
    a.close()
    b.close()


@contextmanager
def loaded_by_real(tmp_path: Path, fill: Callable[[redis.Redis], Any],
                   keys: tuple[str, ...]) -> Iterator[tuple[redis.Redis, dict[str, bytes], bytes]]:
    """Our server filled by ``fill``, SAVEd, and real Redis started on that file: yields
    the real server's client, our DUMP of each of ``keys`` (and of the keys ``fill``
    returns, if it returns some) and our DEBUG DIGEST (what real Redis must hold after
    loading our file)."""
    for d in ("ours", "real"):
        (tmp_path / d).mkdir()
    ours = start_ours(tmp_path / "ours")
    try:
        c = ours.client()
        more = fill(c) or ()
        want = {k: c.dump(k) for k in (*keys, *more)}
        digest = c.execute_command("DEBUG", "DIGEST")
        c.save()
        dbfile = c.config_get("dbfilename")["dbfilename"]
    finally:
        ours.stop()
    shutil.copy(tmp_path / "ours" / dbfile, tmp_path / "real" / "dump.rdb")
    real = start_real(tmp_path / "real", loaded=True)
    try:
        yield real.client(), want, digest
    finally:
        real.stop()


@contextmanager
def replica_of_real(tmp_path: Path, fill: Callable[[redis.Redis], None]) -> Iterator[tuple[redis.Redis, redis.Redis]]:
    """A real master filled by ``fill``, then our replica of it, in sync: yields (master
    client, replica client)."""
    from tests.engine.test_replication import in_sync

    for d in ("m", "r"):
        (tmp_path / d).mkdir()
    real = start_real(tmp_path / "m", "--repl-diskless-sync-delay", "0")
    ours = None
    try:
        m = real.client(socket_timeout=10)
        fill(m)
        ours = start_ours(tmp_path / "r", "--replicaof", "127.0.0.1", str(real.port))
        r = ours.client(socket_timeout=10)
        in_sync(m, r)
        yield m, r
    finally:
        if ours is not None:
            ours.stop()
        real.stop()
