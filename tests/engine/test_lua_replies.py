"""The Lua → RESP conversion of a script's reply writes the bytes of aof.replies.

A script's return value is encoded inside the Lua state (engine/scripting/prelude.py,
Redis's luaReplyToRedisReply) so that a table crosses into Python once, as bytes. It
is the one RESP writer besides :mod:`aof.replies` (tests/aof/test_resp_framing.py says
why); here it must agree with :func:`aof.replies.encode` on every shape it writes,
for RESP2 and RESP3 callers, before and after ``redis.setresp(3)``. (What those bytes
must be is compared with real Redis by tests/engine/test_scripting.py.)
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest

from aof.replies import (
    Double,
    ErrorReply,
    Map,
    SetReply,
    Simple,
    Verbatim,
    encode,
    encode_bignum,
)
from engine.scripting.runtime import LuaState

# (Lua expression, the same reply as a value for aof.replies.encode; bool is the
# script's RESP (2 until redis.setresp(3)), so the value may depend on it)
CASES: list[tuple[str, Any]] = [
    ("'hello'", lambda r3: b"hello"),
    ("''", lambda r3: b""),
    ("3.99", lambda r3: 3),
    ("-3.99", lambda r3: -3),
    ("1e300", lambda r3: -(2**63)),
    ("nil", lambda r3: None),
    ("true", lambda r3: True if r3 else 1),
    ("false", lambda r3: False if r3 else None),
    ("{ok='fine'}", lambda r3: Simple("fine")),
    ("{err='MYERR thing'}", lambda r3: ErrorReply("MYERR thing")),
    ("{double=3.5}", lambda r3: Double(3.5)),
    ("{double=1/0}", lambda r3: Double(float("inf"))),
    ("{double=0.1}", lambda r3: Double(0.1)),
    ("{double=0/0}", lambda r3: Double(-math.nan)),  # x86 0/0: the sign bit set, "-nan"
    ("{big_number='1234567890123456789012'}", None),  # built per caller below
    ("{verbatim_string={format='txt', string='hi'}}", lambda r3: Verbatim(b"hi")),
    ("{map={a=1}}", lambda r3: Map([(b"a", 1)])),
    ("{set={a=true}}", lambda r3: SetReply([b"a"])),
    ("{1, 'x', {2, {3}}, {}, nil, 4}", lambda r3: [1, b"x", [2, [3]], []]),
    ("{1, {ok='s'}, {err='E e'}, true, false}",
     lambda r3: [1, Simple("s"), ErrorReply("E e"), True if r3 else 1, False if r3 else None]),
]


@pytest.fixture(scope="module")
def lua() -> LuaState:
    host = SimpleNamespace(lua_call=None, lua_interrupt=lambda *a: None, lua_setresp=lambda r: None)
    return LuaState(host, "eval")


def run(lua: LuaState, body: str, caller_resp: int) -> bytes:
    f, err = lua.api.compile(body.encode(), b"@user_script")
    assert f is not None, err
    reply, _counted = lua.api.run(f, lua.table_of([]), lua.table_of([]), b"f_test", True, caller_resp, False)
    return bytes(reply)


@pytest.mark.parametrize("script_resp3", [False, True], ids=["script-resp2", "script-resp3"])
@pytest.mark.parametrize("caller_resp", [2, 3])
@pytest.mark.parametrize(("expr", "value"), CASES, ids=[c[0] for c in CASES])
def test_lua_reply_is_the_encoder_bytes(lua: LuaState, expr: str, value: Any, caller_resp: int,
                                        script_resp3: bool) -> None:
    prefix = "redis.setresp(3); " if script_resp3 else ""
    got = run(lua, f"{prefix}return {expr}", caller_resp)
    if value is None:  # a big number: RESP3 '(digits', RESP2 a bulk string
        want = encode_bignum(b"1234567890123456789012", caller_resp == 3)
    else:
        want = encode(value(script_resp3), caller_resp)
    assert got == want, (expr, got, want)
