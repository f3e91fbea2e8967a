"""Behaviours the units of Redis's suite check when its harness starts the server
(``scripts/redis_suite.py --harness``), each compared with real redis-server 7.0 on
servers of their own: FLUSHALL's save with save points, DEBUG config-rewrite-force-all.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from tests.support.servers import ServerProc, ours_env, start_ours, start_real


def _both(tmp: Path, *args: str) -> list[ServerProc]:
    (tmp / "ours").mkdir()
    (tmp / "real").mkdir()
    return [start_ours(tmp / "ours", *args), start_real(tmp / "real", *args)]


def _persistence(c: redis.Redis) -> tuple[int, int]:
    info = c.info("persistence")
    return info["rdb_changes_since_last_save"], info["rdb_saves"]


def test_flushall_saves_when_save_points_exist(tmp_path: Path) -> None:
    """flushAllDataAndResetRDB: with save points FLUSHALL saves (the dirty counter drops to
    0, rdb_saves unchanged); without, the counter keeps the writes and the keys removed."""
    got = []
    for srv in _both(tmp_path):
        with srv:
            c = srv.client()
            seen = []
            c.set("k", "v")
            c.flushall()
            seen.append(_persistence(c))
            c.flushall()
            seen.append(_persistence(c))
            c.config_set("save", "3600 1")
            c.set("k", "v")
            c.set("k2", "v")
            c.flushall()
            seen.append(_persistence(c))
            seen.append((srv.dir / "dump.rdb").exists())
            got.append(seen)
    assert got[0] == got[1]


def _directives(path: Path) -> list[str]:
    """The directives a config file sets (Debian's build adds lua-enable-deprecated-api)."""
    return sorted({ln.split()[0] for ln in path.read_text().splitlines() if ln and not ln.startswith("#")}
                  - {"lua-enable-deprecated-api"})


def test_debug_config_rewrite_force_all(tmp_path: Path) -> None:
    """DEBUG CONFIG-REWRITE-FORCE-ALL writes every config, defaults too (the same
    directives as Redis's), and a server started from that file has the same configs."""
    got = []
    for kind, start in (("ours", start_ours), ("real", start_real)):
        d = tmp_path / kind
        d.mkdir()
        conf = d / "redis.conf"
        conf.write_text("maxmemory-policy allkeys-lru\n")
        with start(d, config=conf) as srv:
            c = srv.client(decode_responses=True)
            before = c.config_get("*")
            assert c.execute_command("DEBUG", "CONFIG-REWRITE-FORCE-ALL") == "OK"
            c.close()
        env = ours_env() if kind == "ours" else None
        with ServerProc(srv.argv, srv.port, d, env) as again:  # the same command line, the new file
            after = again.client(decode_responses=True).config_get("*")
        got.append((_directives(conf), {k: v for k, v in after.items() if before.get(k) != v}))
    assert got[0] == got[1]


PERCENTILES = ["0.0 50.0 100.0", "10.0 50.0 a", "10.0 50.0 101.0", "", "99.99 1e1", " 5", "nan", "50 99 99.9"]


def test_latency_tracking_percentiles_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """latency-tracking-info-percentiles: doubles in [0, 100], shown trimmed, naming the
    fields of INFO latencystats."""
    def after(c: redis.Redis) -> list[object]:
        c.config_set("latency-tracking", "yes")
        c.set("a", "b")
        return [c.config_get("latency-tracking-info-percentiles"),
                list(c.info("latencystats").get("latency_percentiles_usec_set", {}))]

    assert (_config_sets(ours, "latency-tracking-info-percentiles", PERCENTILES, after)
            == _config_sets(real, "latency-tracking-info-percentiles", PERCENTILES, after))


def _config_sets(srv: ServerProc, name: str, values: list[str],
                 after: Callable[[redis.Redis], list[object]] = lambda c: []) -> list[object]:
    """CONFIG SET name to each value in turn: the replies, each followed by ``after``'s."""
    c = srv.client(decode_responses=True)
    seen: list[object] = []
    for value in values:
        try:
            seen.append(c.config_set(name, value))
        except redis.ResponseError as exc:
            seen.append(str(exc))
        seen += after(c)
    c.close()
    return seen


def test_served_blocked_command_in_latencystats(ours: ServerProc, real: ServerProc) -> None:
    """updateStatsOnUnblock: a BLPOP served by a push gets its latency recorded."""
    got = []
    for srv in (ours, real):
        c, waiter = srv.client(decode_responses=True), srv.client(decode_responses=True)
        c.config_resetstat()
        c.delete("bl")
        with ThreadPoolExecutor(1) as pool:
            popped = pool.submit(waiter.blpop, ["bl"], 0)
            while c.info("clients")["blocked_clients"] == 0:
                time.sleep(0.01)
            c.lpush("bl", "a")
            got.append((popped.result(), sorted(c.info("latencystats").get("latency_percentiles_usec_blpop", {}))))
        c.close()
        waiter.close()
    assert got[0] == got[1]


TEMPLATES = ["{invalid-var}", "{title}", "{title} {listen-addr}", "x {{ {port}", "{port", "{", "a}b",
             "{server-mode}", "TEST {title} {listen-addr} {port} {tls-port} {unixsocket} {config-file}",
             "{title} {listen-addr} {server-mode}"]


def test_proc_title_template_checked_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """validateProcTitleTemplate: known variables, sdstemplate's braces, not blank."""
    assert _config_sets(ours, "proc-title-template", TEMPLATES) == _config_sets(real, "proc-title-template", TEMPLATES)


def test_replica_connects_from_bind_source_addr(tmp_path: Path) -> None:
    """bind-source-addr: the master sees its replica at that address."""
    seen = []
    for kind, start in (("ours", start_ours), ("real", start_real)):
        (tmp_path / kind).mkdir()
        (tmp_path / f"{kind}-master").mkdir()
        with start_real(tmp_path / f"{kind}-master") as master, start(tmp_path / kind) as replica:
            m, c = master.client(decode_responses=True), replica.client(decode_responses=True)
            m.config_set("protected-mode", "no")
            m.config_set("repl-diskless-sync-delay", 0)
            c.config_set("bind-source-addr", "127.0.0.2")
            c.replicaof("127.0.0.1", master.port)
            deadline = time.monotonic() + 20
            while c.info("replication")["master_link_status"] != "up" and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.append(m.info("replication")["slave0"]["ip"])
    assert seen[0] == seen[1]


def _oom_sequence(srv: ServerProc) -> list[object]:
    def score(pid: int = srv.pid) -> int:
        return int(Path(f"/proc/{pid}/oom_score_adj").read_text())

    def attempt(*argv: object) -> object:
        try:
            return c.execute_command(*argv)
        except redis.ResponseError as exc:
            return str(exc)

    c = srv.client(decode_responses=True)
    base = score()
    got: list[object] = [attempt("CONFIG", "SET", "oom-score-adj-values", "10 20 30", "oom-score-adj", "yes"),
                         score() - base]
    c.config_set("oom-score-adj-values", "15 20 30")
    got.append(score() - base)
    c.replicaof("localhost", 1)
    got.append(score() - base)
    c.replicaof("no", "one")
    got.append(score() - base)
    c.set("k", "v")
    c.config_set("rdb-key-save-delay", 1_000_000)
    c.bgsave()
    children = Path(f"/proc/{srv.pid}/task/{srv.pid}/children")
    deadline = time.monotonic() + 5
    while not children.read_text().split() and time.monotonic() < deadline:
        time.sleep(0.01)
    child = int(children.read_text().split()[0])
    while score(child) - base != 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    got.append(score(child) - base)
    os.kill(child, signal.SIGKILL)
    c.config_set("rdb-key-save-delay", 0)
    c.config_set("oom-score-adj", "no")
    got.append(score() - base)
    Path(f"/proc/{srv.pid}/oom_score_adj").write_text("22\n")
    c.config_set("oom-score-adj-values", "9 9 9")
    got.append(score())  # untouched while off
    c.config_set("oom-score-adj", "relative")
    got += [score(), c.config_get("oom-score-adj")]
    c.config_set("oom-score-adj", "absolute")
    got.append(score())
    c.config_set("oom-score-adj", "no")
    got.append(score())
    got += [attempt("CONFIG", "SET", "oom-score-adj-values", v) for v in ("-2001 -2001 -2001", "2001 0 0", "1 2", "a b c")]
    got.append(c.config_get("oom-score-adj-values"))
    c.close()
    return got


def test_oom_score_adj_like_redis(tmp_path: Path) -> None:
    """oom-score-adj: the process's score by role, relative or absolute, restored when off."""
    got = []
    for kind, start in (("ours", start_ours), ("real", start_real)):
        (tmp_path / kind).mkdir()
        with start(tmp_path / kind) as srv:
            got.append(_oom_sequence(srv))
    assert got[0] == got[1]


def test_debug_replybuffer_like_redis(ours: ServerProc, real: ServerProc) -> None:
    """DEBUG REPLYBUFFER PEAK-RESET-TIME/RESIZING: accepted as Redis accepts them."""
    cases = [("PEAK-RESET-TIME", "never"), ("peak-reset-time", "reset"), ("PEAK-RESET-TIME", "100"),
             ("PEAK-RESET-TIME", "x"), ("RESIZING", "0"), ("RESIZING", "1"), ("NOSUCH", "1")]
    got = []
    for srv in (ours, real):
        c = srv.client(decode_responses=True)
        seen = []
        for opt, val in cases:
            try:
                seen.append(c.execute_command("DEBUG", "REPLYBUFFER", opt, val))
            except redis.ResponseError as exc:
                seen.append(str(exc))
        got.append(seen)
        c.close()
    assert got[0] == got[1]
