"""The server's AOF (issue 5 deliverable 3): Redis 7.0 multi-part AOF, end to end.

Our server runs as a subprocess with ``appendonly yes``; each test writes, stops
or kills it, restarts on the same directory and compares ``DEBUG DIGEST``.
Real Redis 7.0 loads our directory and we load its. Also: the reply never
leaves before its AOF bytes are written; BGREWRITEAOF under writes; CONFIG SET
appendonly; INFO fields as Redis names them; a full disk (tmpfs) gives MISCONF
for writes while reads work, and recovers; load errors name the file and offset.
(Random command sequences and kill -9 under load: test_aof_roundtrip.py and
test_aof_crash.py.)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from aof.manifest import load_manifest
from aof.replies import encode_command
from tests.engine.conftest import COMMON_ARGS, ServerProc, free_port, start_ours, start_real
from tests.support.servers import run_ours

AOF = ("--appendonly", "yes", "--aof-timestamp-enabled", "no")


def aof_args(policy: str = "everysec", preamble: str = "yes") -> tuple[str, ...]:
    return (*AOF, "--appendfsync", policy, "--aof-use-rdb-preamble", preamble)


def raw(c: redis.Redis) -> redis.Redis:
    """BGSAVE/BGREWRITEAOF replies as the server sent them (redis-py maps them to True)."""
    for name in ("BGSAVE", "BGREWRITEAOF"):
        c.response_callbacks.pop(name, None)
    return c


def digest(srv: ServerProc) -> bytes:
    c = srv.client(socket_timeout=30)
    try:
        return c.execute_command("DEBUG", "DIGEST")
    finally:
        c.close()


def wait_rewrite(c: redis.Redis, timeout: float = 20.0) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = c.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"] \
                and info["aof_enabled"] and not info.get("rdb_bgsave_in_progress"):
            return info
        time.sleep(0.02)
    raise AssertionError("the AOF rewrite did not finish")


def manifest(d: Path) -> tuple[list[str], list[str]]:
    """(base + incr names, history names) of ``d/appendonlydir``."""
    am = load_manifest((d / "appendonlydir" / "appendonly.aof.manifest").read_bytes())
    return [i.name for i in am.files_to_load], [i.name for i in am.history]


def write_dataset(c: redis.Redis, tag: str = "") -> None:
    """Every type, two dbs, absolute expiries (relative ones depend on the propagation
    rewrite rules), a transaction."""
    far = int(time.time() * 1000) + 3_600_000
    c.set(f"s{tag}", "v" * 100)
    c.set(f"n{tag}", 10)
    c.incrby(f"n{tag}", 5)
    c.rpush(f"l{tag}", *[f"e{i}" for i in range(200)])
    c.lpop(f"l{tag}")
    c.sadd(f"set{tag}", *range(50), "x")
    c.zadd(f"z{tag}", {f"m{i}": i / 3 for i in range(150)})
    c.hset(f"h{tag}", mapping={f"f{i}": f"v{i}" for i in range(600)})
    c.set(f"exp{tag}", "t")
    c.pexpireat(f"exp{tag}", far)
    p = c.pipeline(transaction=True)
    p.set(f"tx1{tag}", 1).incr(f"tx1{tag}").rpush(f"tx2{tag}", "a", "b")
    p.execute()
    c.execute_command("SELECT", 1)
    c.set(f"db1{tag}", "one")
    c.hset(f"db1h{tag}", "a", "1")
    c.execute_command("SELECT", 0)
    # a SELECT inside MULTI: the logged unit switches db between MULTI and EXEC
    for cmd in (("MULTI",), ("SET", f"m0{tag}", "x"), ("SELECT", 2), ("SET", f"m2{tag}", "y"),
                ("SELECT", 0), ("EXEC",)):
        c.execute_command(*cmd)


# -- restart keeps everything, each policy ------------------------------------------------------
@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_restart_restores_the_dataset(tmp_path: Path, policy: str) -> None:
    srv = start_ours(tmp_path, *aof_args(policy))
    try:
        c = srv.client(single_connection_client=True)
        write_dataset(c)
        assert c.info("persistence")["aof_enabled"] == 1
        before = digest(srv)
    finally:
        srv.stop()  # SIGTERM: flush and fsync the AOF
    assert srv.proc.returncode == 0
    files, history = manifest(tmp_path)
    assert files == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"] and not history
    srv = start_ours(tmp_path, *aof_args(policy))
    try:
        assert digest(srv) == before
        assert srv.client().pexpiretime("exp") > time.time() * 1000
    finally:
        srv.stop()


def test_reply_leaves_after_the_aof_write(tmp_path: Path) -> None:
    """docs/durability.md D-3: when a write's reply arrives, its AOF bytes are in the file."""
    srv = start_ours(tmp_path, *aof_args("everysec"))
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    try:
        s = socket.create_connection(("127.0.0.1", srv.port))
        expected = len(encode_command([b"SELECT", b"0"]))
        for i in range(300):
            argv = [b"SET", b"k%d" % (i % 7), b"v" * (i + 1)]
            s.sendall(encode_command(argv))
            assert s.recv(100) == b"+OK\r\n"
            expected += len(encode_command(argv))
            assert incr.stat().st_size >= expected, f"reply {i} left before its AOF write"
        s.close()
    finally:
        srv.stop()


# -- rewrite -------------------------------------------------------------------------------------
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_bgrewriteaof_under_writes(tmp_path: Path, preamble: str) -> None:
    srv = start_ours(tmp_path, *aof_args("everysec", preamble))
    stop = threading.Event()
    done = [0]

    def writer() -> None:
        w = srv.client(single_connection_client=True)
        while not stop.is_set():
            p = w.pipeline(transaction=False)
            for _ in range(50):
                p.incr("counter")
                p.rpush("log", done[0])
            p.execute()
            done[0] += 50
        w.close()

    try:
        c = raw(srv.client(single_connection_client=True))
        write_dataset(c)
        t = threading.Thread(target=writer)
        t.start()
        for _ in range(2):
            time.sleep(0.1)
            assert c.execute_command("BGREWRITEAOF") in (
                b"Background append only file rewriting started",
                b"Background append only file rewriting scheduled")
            if c.info("persistence")["aof_rewrite_in_progress"]:
                with pytest.raises(redis.ResponseError, match="already in progress"):
                    c.execute_command("BGREWRITEAOF")
            info = wait_rewrite(c)
        stop.set()
        t.join()
        assert info["aof_last_bgrewrite_status"] == "ok" and info["aof_rewrites"] == 2
        assert int(c.get("counter")) == done[0] == c.llen("log")
        before = digest(srv)
    finally:
        stop.set()
        srv.stop()
    files, history = manifest(tmp_path)
    ext = "rdb" if preamble == "yes" else "aof"
    assert files == [f"appendonly.aof.3.base.{ext}", "appendonly.aof.3.incr.aof"] and not history
    leftovers = sorted(os.listdir(tmp_path / "appendonlydir"))
    assert leftovers == sorted(files + ["appendonly.aof.manifest"])
    assert not [n for n in os.listdir(tmp_path) if n.startswith("temp-")]
    srv = start_ours(tmp_path, *aof_args("everysec", preamble))
    try:
        assert digest(srv) == before
    finally:
        srv.stop()


def test_automatic_rewrite_on_growth(tmp_path: Path) -> None:
    srv = start_ours(tmp_path, *aof_args(), "--auto-aof-rewrite-percentage", "100",
                     "--auto-aof-rewrite-min-size", "200kb")
    try:
        c = srv.client()
        p = c.pipeline(transaction=False)
        for i in range(400):
            p.set(f"k{i % 20}", "x" * 1000)
        p.execute()
        deadline = time.time() + 10
        while c.info("persistence")["aof_rewrites"] < 1 and time.time() < deadline:
            time.sleep(0.05)
        info = wait_rewrite(c)
        assert info["aof_rewrites"] >= 1
        assert info["aof_base_size"] < 200 * 1024 and info["aof_current_size"] >= info["aof_base_size"]
    finally:
        srv.stop()


def test_bgrewriteaof_waits_for_bgsave(tmp_path: Path) -> None:
    srv = start_ours(tmp_path, *aof_args())
    try:
        c = raw(srv.client(socket_timeout=30))
        p = c.pipeline(transaction=False)
        for i in range(0, 60_000, 1000):
            p.mset({f"key:{j}": "v" for j in range(i, i + 1000)})
        p.execute()
        c.execute_command("BGSAVE")
        assert c.execute_command("BGREWRITEAOF") == b"Background append only file rewriting scheduled"
        info = c.info("persistence")
        assert info["aof_rewrite_scheduled"] == 1 or info["aof_rewrites"] == 1
        info = wait_rewrite(c)
        assert info["aof_rewrites"] == 1 and info["aof_last_bgrewrite_status"] == "ok"
        assert c.dbsize() == 60_000
    finally:
        srv.stop()


# -- real Redis 7.0, both ways ------------------------------------------------------------------------
def test_real_redis_loads_ours_and_we_load_theirs(tmp_path: Path) -> None:
    ours_dir, real_dir = tmp_path / "ours", tmp_path / "real"
    ours_dir.mkdir()
    srv = start_ours(ours_dir, *aof_args())
    try:
        c = raw(srv.client(single_connection_client=True))
        write_dataset(c, "a")
        c.execute_command("BGREWRITEAOF")
        wait_rewrite(c)
        write_dataset(c, "b")  # base + incr, two dbs in the incr
        ours_digest = digest(srv)
    finally:
        srv.stop()
    shutil.copytree(ours_dir, real_dir)
    real = start_real(real_dir, *aof_args())
    try:
        assert digest(real) == ours_digest, "real Redis loads our AOF to a different dataset"
        c = raw(real.client(single_connection_client=True))
        write_dataset(c, "c")
        c.execute_command("BGREWRITEAOF")
        wait_rewrite(c)
        write_dataset(c, "d")
        real_digest = digest(real)
    finally:
        real.stop()
    srv = start_ours(real_dir, *aof_args())
    try:
        assert digest(srv) == real_digest, "we load real Redis's AOF to a different dataset"
        srv.client().set("after", "ours")  # and keep appending to its incr file
    finally:
        srv.stop()
    real = start_real(real_dir, *aof_args())
    try:
        assert real.client().get("after") == b"ours"
    finally:
        real.stop()


def test_appendonly_yes_ignores_the_rdb_like_redis(tmp_path: Path) -> None:
    """Redis 7.0 with appendonly yes and no AOF yet starts empty (never loads the RDB) and
    creates a base and an incr file at once."""
    for start, sub in ((start_real, "real"), (start_ours, "ours")):
        d = tmp_path / sub
        d.mkdir()
        srv = start(d)
        srv.client().set("in-rdb", 1)
        srv.client().save()
        srv.stop()
        srv = start(d, *aof_args())
        try:
            assert srv.client().dbsize() == 0, sub
        finally:
            srv.stop()
        assert manifest(d) == (["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"], []), sub


def test_old_single_file_is_migrated(tmp_path: Path) -> None:
    (tmp_path / "appendonly.aof").write_bytes(
        encode_command([b"SET", b"old", b"style"]) + encode_command([b"RPUSH", b"l", b"a"]))
    srv = start_ours(tmp_path, *aof_args())
    try:
        c = srv.client()
        assert c.get("old") == b"style" and c.lrange("l", 0, -1) == [b"a"]
    finally:
        srv.stop()
    assert not (tmp_path / "appendonly.aof").exists()
    assert manifest(tmp_path) == (["appendonly.aof", "appendonly.aof.1.incr.aof"], [])


# -- CONFIG SET appendonly, INFO --------------------------------------------------------------------
def test_config_set_appendonly(tmp_path: Path) -> None:
    srv = start_ours(tmp_path, "--aof-timestamp-enabled", "no")
    try:
        c = raw(srv.client(single_connection_client=True))
        c.set("before", 1)
        assert c.info("persistence")["aof_enabled"] == 0
        assert c.config_set("appendonly", "yes")
        assert c.info("persistence")["aof_enabled"] == 1
        c.set("during", 2)  # fed to the temp incr while the first rewrite runs
        info = wait_rewrite(c)
        assert info["aof_rewrites"] == 1 and info["aof_last_write_status"] == "ok"
        c.set("on", 3)
        assert manifest(tmp_path) == (["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof"], [])
        assert c.config_set("appendonly", "no")
        assert c.info("persistence")["aof_enabled"] == 0
        c.set("off", 4)  # not logged
        with pytest.raises(redis.ResponseError, match="can't set immutable config"):
            c.config_set("appenddirname", "x")
    finally:
        srv.stop()
    srv = start_ours(tmp_path, *aof_args())
    try:
        c = srv.client()
        assert sorted(c.keys()) == [b"before", b"during", b"on"]
        with pytest.raises(redis.ResponseError, match="must be one of the following: always, everysec, no"):
            c.config_set("appendfsync", "sometimes")
        assert c.config_set("appendfsync", "always") and c.set("x", 1)
    finally:
        srv.stop()


def test_info_persistence_fields_as_redis(tmp_path: Path) -> None:
    names = []
    for start, sub in ((start_real, "real"), (start_ours, "ours")):
        d = tmp_path / sub
        d.mkdir()
        srv = start(d, *aof_args())
        try:
            c = srv.client()
            c.set("k", "v")
            info = c.info("persistence")
            names.append([k for k in info if k.startswith("aof_")])
            assert info["aof_enabled"] == 1 and info["aof_last_write_status"] == "ok"
            assert info["aof_current_size"] > info["aof_base_size"] > 0 or sub == "real"
            assert info["aof_buffer_length"] == 0
        finally:
            srv.stop()
    assert names[0] == names[1]


# -- errors ----------------------------------------------------------------------------------------
def _run_ours(d: Path, *extra: str, timeout: float = 15) -> tuple[int, str]:
    """Start ours and expect it to exit (refusing to start); (status, log text)."""
    log = d / "server.log"
    rc = run_ours("--port", str(free_port()), "--dir", str(d), *COMMON_ARGS, "--logfile", str(log),
                  *extra, cwd=d, timeout=timeout).returncode
    return rc, log.read_text() if log.exists() else ""


def _with_incr(tmp_path: Path, tail: bytes) -> tuple[Path, int]:
    """An AOF dir whose incr file ends in ``tail``; (incr path, its size before ``tail``)."""
    srv = start_ours(tmp_path, *aof_args())
    try:
        srv.client().set("a", "1")
        srv.client().set("b", "2")
    finally:
        srv.stop()
    incr = tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"
    good = incr.stat().st_size
    with open(incr, "ab") as f:
        f.write(tail)
    return incr, good


def test_truncated_tail_loaded_with_aof_load_truncated(tmp_path: Path) -> None:
    incr, good = _with_incr(tmp_path, b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1")
    rc, log = _run_ours(tmp_path, *aof_args(), "--aof-load-truncated", "no")
    assert rc == 1 and "Unexpected end of file" in log and "appendonly.aof.1.incr.aof" in log
    srv = start_ours(tmp_path, *aof_args())
    try:
        c = srv.client()
        assert c.mget("a", "b", "c") == [b"1", b"2", None]
    finally:
        srv.stop()
    assert incr.stat().st_size == good  # cut at the end of the last whole command


def test_corrupt_aof_refuses_to_start(tmp_path: Path) -> None:
    incr, good = _with_incr(tmp_path, b"garbage\r\n" + encode_command([b"SET", b"z", b"1"]))
    size = incr.stat().st_size
    rc, log = _run_ours(tmp_path, *aof_args())
    assert rc == 1
    assert "Bad file format reading the append only file appendonly.aof.1.incr.aof" in log
    assert f"offset {good}" in log
    assert incr.stat().st_size == size  # never repaired behind the user's back


@pytest.fixture
def tiny_fs(tmp_path: Path):
    d = tmp_path / "tiny"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _fill(d: Path, leave: int) -> Path:
    st = os.statvfs(d)
    filler = d / "filler"
    filler.write_bytes(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def _write_until_held(port: int, value: bytes) -> tuple[socket.socket, int]:
    """SET k0, k1 ... on a full disk until a reply does not come (it waits for its AOF
    write): the connection and the index of that last write."""
    w = socket.create_connection(("127.0.0.1", port))
    w.settimeout(0.5)
    n = 0
    while True:
        w.sendall(encode_command([b"SET", b"k%d" % n, value]))
        try:
            assert w.recv(100) == b"+OK\r\n"
        except TimeoutError:
            return w, n
        n += 1
        assert n < 100, "the disk never filled"


def test_disk_full_gives_misconf_then_recovers(tiny_fs: Path) -> None:
    srv = start_ours(tiny_fs, *aof_args("everysec"))
    try:
        filler = _fill(tiny_fs, 64 * 1024)
        value = b"x" * 20_000
        w, n = _write_until_held(srv.port, value)
        c = srv.client()
        info = c.info("persistence")
        assert info["aof_last_write_status"] == "err" and info["aof_buffer_length"] > 0
        misconf = "MISCONF Errors writing to the AOF file: No space left on device"
        with pytest.raises(redis.ResponseError, match=misconf):
            c.set("other", 1)
        with pytest.raises(redis.ResponseError, match=misconf):
            c.ping()
        p = c.pipeline(transaction=True)
        p.set("other", 1)
        with pytest.raises(redis.ResponseError):
            p.execute()
        assert c.get("k0") == value and c.exists(b"k%d" % n)  # reads keep working
        filler.unlink()
        w.settimeout(5)
        assert w.recv(100) == b"+OK\r\n"  # the held reply, once its bytes are written
        w.close()
        assert c.info("persistence")["aof_last_write_status"] == "ok"
        assert c.set("other", 1)
        before = digest(srv)
    finally:
        srv.stop()
    srv = start_ours(tiny_fs, *aof_args("everysec"))
    try:
        assert digest(srv) == before
        assert srv.client().exists(*[b"k%d" % i for i in range(n + 1)]) == n + 1
    finally:
        srv.stop()


def test_disk_full_under_always_exits(tiny_fs: Path) -> None:
    srv = start_ours(tiny_fs, *aof_args("always"))
    try:
        _fill(tiny_fs, 64 * 1024)
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        acked = 0
        for i in range(100):
            s.sendall(encode_command([b"SET", b"k%d" % i, b"x" * 20_000]))
            if s.recv(100) != b"+OK\r\n":
                break  # the connection closed: the server exited
            acked += 1
        else:
            raise AssertionError("the disk never filled")
        s.close()
        assert srv.proc.wait(10) == 1
    finally:
        if srv.proc.poll() is None:
            os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait()
    (tiny_fs / "filler").unlink()
    srv = start_ours(tiny_fs, *aof_args("always"))
    try:
        assert srv.client().dbsize() == acked  # nothing acknowledged lost, nothing half-written
    finally:
        srv.stop()


def test_failed_final_aof_write_refuses_shutdown(tiny_fs: Path) -> None:
    """A full disk at SHUTDOWN: the buffered write (its reply held) cannot reach the AOF,
    so the shutdown is refused (7.0.15 logs and exits, losing it; see engine/README.md);
    once space returns SHUTDOWN exits and the restart has every write. FORCE exits anyway."""
    srv = start_ours(tiny_fs, *aof_args("everysec"))
    try:
        filler = _fill(tiny_fs, 64 * 1024)
        w, n = _write_until_held(srv.port, b"x" * 20_000)
        assert shutdown_reply(srv.port) == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        time.sleep(0.3)
        assert srv.proc.poll() is None
        filler.unlink()
        w.settimeout(5)
        assert w.recv(100) == b"+OK\r\n"  # the held reply, once its bytes are written
        w.close()
        assert shutdown_reply(srv.port) == b""  # exits: the connection just closes
        assert srv.proc.wait(10) == 0
    finally:
        srv.stop()
    srv = start_ours(tiny_fs, *aof_args("everysec"))
    try:
        assert srv.client().exists(*[b"k%d" % i for i in range(n + 1)]) == n + 1
        filler = _fill(tiny_fs, 64 * 1024)
        w, _ = _write_until_held(srv.port, b"y" * 20_000)
        assert shutdown_reply(srv.port, b"FORCE") == b""
        assert srv.proc.wait(10) == 0
        w.close()
    finally:
        srv.stop()


def shutdown_reply(port: int, *flags: bytes) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(encode_command([b"SHUTDOWN", *flags]))
    data = s.recv(100)
    s.close()
    return data
