"""``rename-command`` in a config file, compared with real redis-server 7.0: clients know
the command by its new name only (by none when renamed to ""), CONFIG REWRITE keeps the
directive, an AOF written meanwhile (which names the original command) loads again,
and a directive naming no command, or a name taken, refuses the start.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import redis

from tests.support.servers import (
    OURS,
    REDIS_SERVER,
    ServerProc,
    free_port,
    ours_env,
    require_server,
)

RENAMES = 'rename-command flushdb badger\nrename-command "keys" ""\n'


def _start(kind: str, path: Path, tmp: Path) -> ServerProc:
    port = int(re.search(r"^port (\d+)", path.read_text(), re.M).group(1))  # type: ignore[union-attr]
    argv = [*OURS, str(path)] if kind == "ours" else [REDIS_SERVER, str(path)]
    return ServerProc(argv, port, tmp, ours_env() if kind == "ours" else None)


def _attempt(c: redis.Redis, *argv: str) -> object:
    try:
        return c.execute_command(*argv)
    except redis.ResponseError as exc:
        return str(exc)


def _session(kind: str, tmp: Path) -> list[object]:
    path = tmp / "redis.conf"
    path.write_text(f"port {free_port()}\nbind 127.0.0.1\ndir {tmp}\nsave \"\"\nappendonly yes\n"
                    f"appendfsync always\n{RENAMES}")
    got: list[object] = []
    with _start(kind, path, tmp) as srv:
        c = srv.client(decode_responses=True)
        got += [_attempt(c, "SET", "a", "1"), _attempt(c, "FLUSHDB"), _attempt(c, "KEYS", "*"),
                _attempt(c, "BADGER"), _attempt(c, "SET", "b", "2"), _attempt(c, "CONFIG", "REWRITE")]
        c.close()
    with _start(kind, path, tmp) as srv:  # the rewritten file and the AOF (FLUSHDB in it)
        c = srv.client(decode_responses=True)
        got += [_attempt(c, "FLUSHDB"), c.dbsize(), c.get("b"), path.read_text().count("rename-command")]
        c.close()
    return got


def test_renamed_commands_like_redis(tmp_path: Path) -> None:
    require_server()
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    assert _session("ours", tmp_path / "ours") == _session("real", tmp_path / "real")


@pytest.mark.parametrize("line", ["rename-command nosuch x", "rename-command get set", "rename-command get"])
def test_refused_renames_like_redis(line: str, tmp_path: Path) -> None:
    require_server()
    path = tmp_path / "redis.conf"
    path.write_text(f"port {free_port()}\n{line}\n")
    real = subprocess.run([REDIS_SERVER, str(path)], capture_output=True, text=True, timeout=30)
    m = re.search(r">>> ('.*')\n(.*)\n", real.stderr)
    assert real.returncode == 1 and m, real.stderr
    ours = subprocess.run([*OURS, str(path)], capture_output=True, text=True, timeout=60, env=ours_env())
    assert ours.returncode == 1 and f"{m.group(1)}: {m.group(2)}" in ours.stderr
