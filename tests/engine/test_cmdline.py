"""The redis-server command line as Redis 7.0.15's main() reads it, compared with real
redis-server 7.0: which argument is an option's value (``--port --bla`` gives port the
value ``--bla``), the line each option becomes (quoted as sdscatrepr quotes it, shown in
the start error), ``--save`` with no value, and ``save`` lines adding up after the
config file's first one.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from engine.config import config_from_argv
from tests.support import servers
from tests.support.servers import REDIS_SERVER, ServerProc, free_port, require_server, run_ours

ERROR_CASES = [
    ["--port"],
    ["--port", "6380", "--loglevel"],
    ["--port", "6379", "6380"],
    ["--port", "--loglevel", "verbose"],
    ["--port", "--bla", "--loglevel", "verbose"],
    ["--logfile", "--my--log--file", "--loglevel", "--bla"],
    ["--shutdown-on-sigint"],
    ["--shutdown-on-sigint", "now force", "--shutdown-on-sigterm"],
    ["--replicaof", "127.0.0.1", "abc"],
    ["--replicaof", "--127.0.0.1", "abc"],
    ["--replicaof", "--127.0.0.1", "--abc"],
    ["--save", "0", "1"],
]


@pytest.mark.parametrize("argv", ERROR_CASES, ids=lambda a: " ".join(a))
def test_start_errors_name_the_line_like_redis(argv: list[str], tmp_path: Path) -> None:
    """The refused line, as Redis shows it (``>>> 'port "6379" "6380"'``), and its reason."""
    require_server()
    real = subprocess.run([REDIS_SERVER, *argv], cwd=tmp_path, capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    m = re.search(r">>> ('.*')\n(.*)\n", real.stderr)
    assert real.returncode == 1 and m, real.stderr
    ours = run_ours(*argv, cwd=tmp_path, text=True)
    assert ours.returncode == 1
    assert f"{m.group(1)}: {m.group(2)}" in ours.stderr


VALUE_CASES = [
    ("save 900 1", []),
    ("", []),
    ("save 900 1", ["--save", "100", "100"]),
    ("save 900 1", ["--save", ""]),
    ("save 900 1\nsave 60 5", []),
    ("save 900 1\nsave \"\"\nsave 60 5", []),
    ("", ["--maxmemory 700mb", "--maxmemory-policy volatile-lru"]),
    ("", ["loglevel", "verbose", "--maxmemory '700mb'", "--maxmemory-policy 'volatile-lru'"]),
    ("", ["--proc-title-template", "--my--title--template", "--loglevel", "verbose"]),
    ("", ["--proc-title-template --my--title--template", "--loglevel verbose"]),
    ("save 900 1", ["--save", "--loglevel", "verbose"]),
    ("save 900 1", ["--loglevel", "verbose", "--save"]),
    ("save 900 1", ["--proc-title-template", "--save", "--save", "", "--loglevel", "verbose"]),
    ("", ["--shutdown-on-sigint", "nosave", "force", "now", "--shutdown-on-sigterm", "nosave force"]),
]
NAMES = ("save", "loglevel", "maxmemory", "maxmemory-policy", "proc-title-template",
         "shutdown-on-sigint", "shutdown-on-sigterm")


@pytest.mark.parametrize(("conf", "argv"), VALUE_CASES, ids=lambda v: repr(v))
def test_values_from_file_and_args_like_redis(conf: str, argv: list[str], tmp_path: Path) -> None:
    """A config file then arguments, as the suite's harness starts a server: the values
    real Redis ends up with (it is started; ours is only parsed)."""
    require_server()
    port = free_port()
    path = tmp_path / "redis.conf"
    path.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n{conf}\n")
    with ServerProc([REDIS_SERVER, str(path), *argv], port, tmp_path) as real:
        c = real.client(decode_responses=True)
        want = {n: c.config_get(n)[n] for n in NAMES}
        c.close()
    cfg = config_from_argv([str(path), *argv])
    assert {n: cfg.render(n) for n in NAMES} == want



@pytest.mark.parametrize("kind", ["real", "ours"])
def test_relative_logfile_is_under_dir(kind: str, tmp_path: Path) -> None:
    """Redis chdirs to ``dir`` as it reads the config and opens ``logfile`` from there, so
    ``dir ./node`` + ``logfile log.txt`` logs to node/log.txt (the cluster suite's harness
    looks for ``*/log.txt``)."""
    port = free_port()
    (tmp_path / "node").mkdir()
    conf = tmp_path / "node.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir ./node\nlogfile log.txt\n")
    argv = [REDIS_SERVER, str(conf)] if kind == "real" else [*servers.OURS, str(conf)]
    if kind == "real":
        require_server()
    p = ServerProc(argv, port, tmp_path, servers.ours_env() if kind == "ours" else None)
    try:
        p.client().ping()
        assert (tmp_path / "node" / "log.txt").stat().st_size > 0
        assert not (tmp_path / "log.txt").exists()
    finally:
        p.stop()
