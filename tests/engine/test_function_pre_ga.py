"""Opcode 246, the function record of Redis 7.0's release candidates, is loaded, not dropped.

rdbFunctionLoad (7.0.15) reads name, engine, an optional description and the code, and
loads the library ``#!<engine> name=<name>\\n<code>`` (the description is dropped). An RDB
holding one, as ``dump.rdb`` and as an AOF's RDB preamble, is loaded by real Redis and by
ours; FUNCTION LIST and an FCALL must agree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rdbtools.crc64 import crc64
from rdbtools.primitives import save_len, save_string
from tests.engine.conftest import start_ours, start_real

CODE = b"redis.register_function('pre_ga_f', function(keys, args) return 'from rc' end)"


def pre_ga_rdb() -> bytes:
    body = (b"REDIS0010" + b"\xf6" + save_string(b"prega") + save_string(b"LUA") + save_len(1)
            + save_string(b"a description 7.0 GA drops") + save_string(CODE)
            + b"\xfe\x00" + b"\x00" + save_string(b"k") + save_string(b"v") + b"\xff")
    return body + crc64(body).to_bytes(8, "little")


def _aof_dir(d: Path) -> None:
    a = d / "appendonlydir"
    a.mkdir()
    (a / "appendonly.aof.1.base.rdb").write_bytes(pre_ga_rdb())
    (a / "appendonly.aof.1.incr.aof").write_bytes(b"")
    (a / "appendonly.aof.manifest").write_bytes(b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                               b"file appendonly.aof.1.incr.aof seq 1 type i\n")


@pytest.mark.parametrize("how", ["rdb", "aof-preamble"])
def test_a_release_candidate_library_is_loaded(tmp_path: Path, how: str) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        d = tmp_path / name
        d.mkdir()
        if how == "rdb":
            (d / "dump.rdb").write_bytes(pre_ga_rdb())
            srv = start(d, loaded=True)
        else:
            _aof_dir(d)
            srv = start(d, "--appendonly", "yes", loaded=True)
        try:
            c = srv.conn
            c.send_command("FUNCTION", "LIST", "WITHCODE")
            listed = c.read_response()
            c.send_command("FCALL", "pre_ga_f", "0")
            got[name] = (listed, c.read_response(), srv.client().get("k"))
        finally:
            srv.stop()
    assert got["real"][1] == b"from rc"
    assert got["ours"] == got["real"]
