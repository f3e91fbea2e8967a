"""Function names are case-insensitive, library names are not (functionDictType vs
librariesDictType in 7.0's functions.c): FCALL finds ``Test`` as ``TEST``, two libraries
cannot register names that differ only in case, a library replaced with REPLACE may
rename its function's case. Replies compared with real 7.0."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import ServerProc, start_ours, start_real

STEPS = [
    ("FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('Test', function() return 'hello1' end)"),
    ("FCALL", "TEST", "0"), ("FCALL", "test", "0"), ("FCALL_RO", "tEsT", "0"),
    ("FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('tEST', function() return 2 end)"),
    ("FUNCTION", "LOAD", "#!lua name=LIB1\nredis.register_function('other', function() return 3 end)"),
    ("FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nredis.register_function('TEST', function() return 'x' end)"),
    ("FCALL", "test", "0"), ("FUNCTION", "LIST", "LIBRARYNAME", "lib1"), ("FUNCTION", "DELETE", "LIB1"),
    ("FCALL", "other", "0"), ("FUNCTION", "DELETE", "lib1"), ("FCALL", "test", "0"),
]


def _run(srv: ServerProc) -> list[object]:
    c = srv.conn
    out: list[object] = []
    for argv in STEPS:
        c.send_command(*argv)
        try:
            reply = c.read_response()
            out.append(sorted(reply, key=repr) if argv[:2] == ("FUNCTION", "LIST") else reply)  # dict order
        except Exception as exc:  # noqa: BLE001 - error replies are part of the transcript
            out.append(("err", str(exc)))
    return out


def test_function_names_like_redis(tmp_path: Path) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            got[name] = _run(srv)
        finally:
            srv.stop()
    assert got["real"][1] == b"hello1"
    assert got["ours"] == got["real"]
