"""DEBUG PROTOCOL <type> and its conversions through Lua, byte for byte with Redis 7.0.

Redis's own suite (scripting: "test RESP<n>/<m> ... protocol parsing") uses DEBUG
PROTOCOL to get one reply of each RESP3 type, from the client and from scripts
(``redis.setresp``), with ``DEBUG SET-DISABLE-DENY-SCRIPTS 1`` letting scripts call
DEBUG. Each exchange's raw bytes are compared (a PING after it marks the end).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from aof.replies import encode_command
from tests.engine.conftest import ServerProc, start_ours, start_real

TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
         "verbatim", "true", "false", "nosuch"]


def _exchange(sock: socket.socket, *argv: str) -> bytes:
    sock.sendall(encode_command([*argv]) + encode_command(["PING"]))
    got = b""
    while not got.endswith(b"+PONG\r\n"):
        data = sock.recv(65536)
        assert data, "connection closed"
        got += data
    return got[: -len(b"+PONG\r\n")]


def _transcript(srv: ServerProc, proto: int) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        out = [_exchange(s, "HELLO", str(proto))[:1]]
        out.append(_exchange(s, "DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"))
        for t in TYPES:
            out.append(_exchange(s, "DEBUG", "PROTOCOL", t))
            for lua_resp in (2, 3):
                if t not in ("push", "nosuch"):
                    out.append(_exchange(s, "EVAL", f"redis.setresp({lua_resp});"
                                         f"return redis.call('debug', 'protocol', '{t}')", "0"))
        out.append(_exchange(s, "DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"))
        out.append(_exchange(s, "EVAL", "return redis.call('debug', 'protocol', 'string')", "0"))
        return out


@pytest.mark.parametrize("proto", [2, 3])
def test_debug_protocol_like_redis(tmp_path: Path, proto: int) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            got[name] = _transcript(srv, proto)
        finally:
            srv.stop()
    assert got["ours"] == got["real"]
