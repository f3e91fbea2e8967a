"""DEBUG LOADAOF: the dataset emptied and loaded back from the AOF directory, as 7.0.

Redis's suite checks expiries, KEEPTTL and GETEX PERSIST survive it ("after loadaof");
here both servers run the same writes with ``appendonly yes``, reload, and must agree on
the reply, the digest, every TTL (to ten seconds) and that the reload counts as no change.
"""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import ServerProc, start_ours, start_real

WRITES = [
    ("SET", "plain", "v"), ("SET", "ttl", "v", "EX", "1000"), ("SET", "keep", "v", "EX", "500"),
    ("SET", "keep", "w", "KEEPTTL"), ("SET", "gone", "v", "EX", "300"), ("GETEX", "gone", "PERSIST"),
    ("HSET", "h", "f", "1"), ("EXPIRE", "h", "700"), ("RPUSH", "l", "a", "b"), ("SELECT", "3"),
    ("SET", "db3", "x", "PX", "900000"), ("SELECT", "0"),
]


def _run(srv: ServerProc) -> list[object]:
    c = srv.client()
    for w in WRITES:
        c.execute_command(*w)
    before = c.execute_command("DEBUG", "DIGEST")
    out: list[object] = [c.execute_command("DEBUG", "LOADAOF"), c.execute_command("DEBUG", "DIGEST") == before]
    out.append(c.info("persistence")["rdb_changes_since_last_save"])  # the reload is no change
    for db in (0, 3):
        c.execute_command("SELECT", db)
        out.append(sorted((k, c.ttl(k) // 10) for k in c.keys()))
    return out


def test_debug_loadaof_like_redis(tmp_path: Path) -> None:
    got = {}
    for name, start in (("real", start_real), ("ours", start_ours)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name, "--appendonly", "yes", "--appendfsync", "always")
        try:
            got[name] = _run(srv)
        finally:
            srv.stop()
    assert got["real"][:3] == [b"OK", True, 0]
    assert got["ours"] == got["real"]
