"""MODULE LOAD/LOADEX/UNLOAD/LIST where MODULE is allowed (``enable-module-command yes``),
compared with real Redis 7.0.15: the replies and the log line saying why a module did
not load; ``loadmodule`` in a configuration file refused at start. The replies with the
default ``enable-module-command no`` are in test_differential_cases.py ("server_misc").
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.conftest import ServerProc, start_ours, start_real
from tests.support.servers import run_ours

ARGS = ("--enable-module-command", "yes", "--loglevel", "notice", "--logfile", "server.log")


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProc, ServerProc]]:
    a = start_ours(tmp_path_factory.mktemp("ours"), *ARGS)
    try:
        b = start_real(tmp_path_factory.mktemp("real"), *ARGS)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def _logged(srv: ServerProc, since: int, needle: str | None) -> list[str]:
    """The messages (what follows the level mark) of the lines logged after byte ``since``
    that contain ``needle`` (None: nothing to wait for)."""
    if needle is None:
        return []
    deadline = time.monotonic() + 5
    while True:
        text = srv.log.read_bytes()[since:].decode(errors="replace")
        found = [ln.split(" ", 6)[6] for ln in text.splitlines() if needle in ln]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _attempt(srv: ServerProc, argv: list[str], needle: str | None) -> tuple[object, list[str]]:
    since = srv.log.stat().st_size
    reply = srv.many([tuple(argv)])[0]
    reply = ("err", str(reply)) if isinstance(reply, Exception) else reply
    return reply, _logged(srv, since, needle)


def test_module_load_failures_like_redis(both: tuple[ServerProc, ServerProc], tmp_path: Path) -> None:
    ours, real = both
    plain = tmp_path / "plain.so"
    plain.write_bytes(b"\x7fELF not really")
    plain.chmod(0o644)
    cases = [
        (["MODULE", "LOAD", str(tmp_path / "missing.so")], "failed to load"),
        (["MODULE", "LOAD", "missing-module", "arg1"], "failed to load"),
        (["MODULE", "LOAD", str(tmp_path)], "failed to load"),
        (["MODULE", "LOAD", str(plain)], "failed to load"),
        (["MODULE", "LOADEX", str(tmp_path / "m.so"), "CONFIG", "a"], "CONFIG specified"),
        (["MODULE", "LOADEX", str(tmp_path / "m.so"), "BOGUS"], "Syntax Error"),
        (["MODULE", "LOADEX", str(tmp_path / "m.so"), "CONFIG", "a", "b", "ARGS", "x"], "failed to load"),
        (["MODULE", "UNLOAD", "nosuch"], None),
        (["MODULE", "LIST"], None),
    ]
    for argv, needle in cases:
        assert _attempt(ours, argv, needle) == _attempt(real, argv, needle), argv


def test_module_load_of_a_loadable_file_fails_with_a_reason(both: tuple[ServerProc, ServerProc],
                                                            tmp_path: Path) -> None:
    """A file Redis would try to load (executable): the same reply; our log says why."""
    ours, real = both
    lib = tmp_path / "lib.so"
    lib.write_bytes(b"\x7fELF")
    lib.chmod(0o755)
    a, why = _attempt(ours, ["MODULE", "LOAD", str(lib)], "failed to load")
    b, _ = _attempt(real, ["MODULE", "LOAD", str(lib)], "failed to load")
    assert a == b == ("err", "Error loading the extension. Please check the server logs.")
    assert why == [f"Module {lib} failed to load: this server cannot load Redis modules (C shared libraries)"]


def test_loadmodule_directive_refused_at_start(tmp_path: Path) -> None:
    conf = tmp_path / "redis.conf"
    conf.write_text("port 0\nloadmodule /opt/redis/modules/search.so ARG\n")
    res = run_ours(str(conf), cwd=tmp_path, text=True)
    assert res.returncode != 0
    assert ("redis.conf:2: 'loadmodule /opt/redis/modules/search.so ARG': this server cannot load "
            "Redis modules") in res.stderr
    assert not os.path.exists(tmp_path / "dump.rdb")


def test_module_load_of_a_fifo_does_not_hang(both: tuple[ServerProc, ServerProc], tmp_path: Path) -> None:
    """Probing the file must not block the server (open() of a FIFO waits for a writer;
    Redis's dlopen would too: only ours is checked)."""
    ours, _ = both
    fifo = tmp_path / "fifo.so"
    os.mkfifo(fifo)
    fifo.chmod(0o755)
    c = ours.client(socket_timeout=5)
    with pytest.raises(Exception, match="Error loading the extension"):
        c.execute_command("MODULE", "LOAD", str(fifo))
    assert c.ping()


def test_module_container_entries_like_redis(both: tuple[ServerProc, ServerProc]) -> None:
    """COMMAND INFO/DOCS of MODULE itself; Redis lists the subcommands in its dict's order."""
    ours, real = both
    a, b = ours("COMMAND", "INFO", "module")[0], real("COMMAND", "INFO", "module")[0]
    assert a[:9] == b[:9]
    assert sorted(a[9]) == sorted(b[9])
    a, b = ours("COMMAND", "DOCS", "module")[1], real("COMMAND", "DOCS", "module")[1]
    da, db = dict(zip(a[::2], a[1::2], strict=True)), dict(zip(b[::2], b[1::2], strict=True))
    sa, sb = da.pop(b"subcommands"), db.pop(b"subcommands")
    assert da == db
    assert sorted(zip(sa[::2], sa[1::2])) == sorted(zip(sb[::2], sb[1::2]))
