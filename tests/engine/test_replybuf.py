"""CLIENT LIST's reply buffer figures (rbs, rbp) as Redis 7.0 keeps them: an idle client's
buffer shrinks to 1 KB, a client reading 32 KB values grows it back to 16 KB
(clientsCronResizeOutputBuffer, DEBUG REPLYBUFFER), INFO counts the resizes; compared
with a real redis-server."""

from __future__ import annotations

import re
import time

import redis

from tests.engine.conftest import ServerProc


def _rbs(admin: redis.Redis, name: str) -> int:
    for line in admin.execute_command("CLIENT", "LIST", NEVER_DECODE=True).decode().splitlines():
        if f" name={name} " in line:
            return int(re.search(r" rbs=(\d+)", line).group(1))  # type: ignore[union-attr]
    raise AssertionError("client not found")


def _wait(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _run(srv: ServerProc) -> list[object]:
    admin = srv.client()
    tc = srv.client()
    out: list[object] = []
    try:
        admin.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
        admin.config_resetstat()
        tc.client_setname("test_client")
        out.append(_wait(lambda: 1024 <= _rbs(admin, "test_client") < 2046))
        admin.set("bigval", "x" * 32768)
        admin.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
        out.append(_wait(lambda: (tc.get("bigval"), _rbs(admin, "test_client"))[1] >= 16384))
        out.append(_rbs(admin, "test_client"))
        stats = admin.info("stats")
        out.append((stats["reply_buffer_shrinks"] > 0, stats["reply_buffer_expands"] > 0))
        for argv in (("REPLYBUFFER", "PEAK-RESET-TIME", "x"), ("REPLYBUFFER", "NOSUCH", "1"),
                     ("REPLYBUFFER", "RESIZING", "0"), ("REPLYBUFFER", "RESIZING", "1")):
            try:
                out.append(admin.execute_command("DEBUG", *argv))
            except redis.ResponseError as exc:
                out.append(("err", str(exc)))
    finally:
        admin.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
        tc.close()
    return out


def test_reply_buffer_sizes_like_redis(ours: ServerProc, real: ServerProc) -> None:
    a, b = _run(ours), _run(real)
    assert b[:2] == [True, True]
    assert a == b
