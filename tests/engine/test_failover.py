"""FAILOVER: a master hands over to one of its replicas, as Redis 7.0.15 does it.

The handover is run our master → our replica, our master → a real 7.0 replica, and a
real 7.0 master → our replica: the master pauses writes, waits for the replica's ack
to reach its offset, becomes a replica of it and sends ``PSYNC <replid> <offset>
FAILOVER``; the replica promotes itself and lets its old master continue (a partial
resync, no full sync). Then the roles are checked: a write on the new master reaches
the old one, the old history is the new master's ``replid2``.

The refusals (target not a replica, already failing over, REPLICAOF meanwhile, the
timeout, ABORT, PSYNC FAILOVER with another id) are compared byte for byte with a
real master and replica in the same states; a replica stopped with SIGSTOP is what
keeps a master waiting. The replies of a master without replicas are in
test_differential_cases.py ("failover_refused").
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.engine.conftest import ServerProc, start_ours, start_real

FAST = ("--repl-diskless-sync-delay", "0")
Start = Callable[..., ServerProc]


def _info(srv: ServerProc) -> dict[str, str]:
    text = srv.call(b"INFO", b"replication").split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _wait(pred: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except (OSError, AssertionError):
            pass
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _synced(master: ServerProc, replica: ServerProc) -> bool:
    m, r = _info(master), _info(replica)
    return (r.get("master_link_status") == "up" and m.get("connected_slaves") == "1"
            and r.get("slave_repl_offset") == m["master_repl_offset"]
            and m.get("slave0", "").startswith("ip=127.0.0.1") and ",state=online," in m["slave0"])


@pytest.fixture
def started() -> Iterator[list[ServerProc]]:
    procs: list[ServerProc] = []
    yield procs
    for p in procs:
        if p.proc.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
        p.stop(kill=True)


def _pair(started: list[ServerProc], tmp: Path, master_start: Start,
          replica_start: Start) -> tuple[ServerProc, ServerProc]:
    (tmp / "m").mkdir()
    (tmp / "r").mkdir()
    m = master_start(tmp / "m", *FAST)
    started.append(m)
    r = replica_start(tmp / "r", *FAST, "--replicaof", "127.0.0.1", str(m.port))
    started.append(r)
    _wait(lambda: _synced(m, r), "the replica to sync")
    return m, r


PAIRS = {"ours-to-ours": (start_ours, start_ours), "ours-to-real": (start_ours, start_real),
         "real-to-ours": (start_real, start_ours)}


@pytest.mark.parametrize("pair", list(PAIRS))
def test_failover_hands_over(pair: str, started: list[ServerProc], tmp_path: Path) -> None:
    m, r = _pair(started, tmp_path, *PAIRS[pair])
    mc, rc = m.client(), r.client()
    for i in range(50):
        mc.set(f"k{i}", i)
    mc.rpush("list", *range(10))
    old_id = _info(m)["master_replid"]
    target = ["TO", "127.0.0.1", str(r.port)] if pair != "ours-to-ours" else []
    assert mc.execute_command("FAILOVER", *target) == b"OK"
    _wait(lambda: _info(r)["role"] == "master" and _info(m).get("master_link_status") == "up",
          "the replica to take over")
    mi, ri = _info(m), _info(r)
    assert mi["role"] == "slave" and mi["master_port"] == str(r.port)
    assert mi["master_failover_state"] == "no-failover" and ri["master_failover_state"] == "no-failover"
    assert ri["master_replid2"] == old_id  # the new master keeps the old history
    assert ri["connected_slaves"] == "1"
    stats = rc.info("stats")
    assert stats["sync_partial_ok"] == 1 and stats["sync_full"] == 0  # the old master continued
    # writes: refused on the old master, served by the new one and replicated back
    with pytest.raises(redis.ReadOnlyError):
        mc.set("x", 1)
    rc.set("after", "failover")
    rc.incr("k1")
    _wait(lambda: mc.get("after") == b"failover" and mc.get("k1") == b"2", "the write to replicate")
    assert mc.dbsize() == rc.dbsize() == 52
    assert mc.lrange("list", 0, -1) == rc.lrange("list", 0, -1)


def _script(m: ServerProc, r: ServerProc) -> list[object]:
    """The refusals around a failover, on a master whose replica is stopped (it cannot ack)."""
    out: list[object] = []
    mc = m.client(socket_timeout=10)
    writer = m.client(socket_timeout=10)

    def do(*argv: object, on: ServerProc = m) -> None:
        out.append(on.call(*(str(a).encode() for a in argv)))

    do("FAILOVER", "TO", "127.0.0.1", 1)
    do("FAILOVER", "TO", "127.0.0.2", r.port)
    do("FAILOVER", "TO", "127.0.0.1", r.port, "FORCE")
    do("FAILOVER", "FORCE", "TIMEOUT", 100)
    do("PSYNC", "0" * 40, 1, "FAILOVER", on=r)  # another replid: refused by the replica
    do("FAILOVER", "TO", "127.0.0.1", r.port, on=r)
    os.kill(r.pid, signal.SIGSTOP)
    try:
        mc.set("unacked", 1)  # the stopped replica cannot ack this
        do("FAILOVER")
        do("FAILOVER", "TIMEOUT", 100)
        do("FAILOVER", "ABORT", "x")
        do("REPLICAOF", "NO", "ONE")
        do("REPLICAOF", "127.0.0.1", 1)
        out.append(_info(m)["master_failover_state"])
        do("FAILOVER", "ABORT")
        do("FAILOVER", "ABORT")
        do("FAILOVER", "TIMEOUT", 500)
        t0 = time.monotonic()
        out.append(writer.set("paused", 1))  # postponed until the failover gives up
        out.append(time.monotonic() - t0 > 0.1)
        out.append(_info(m)["master_failover_state"])
        out.append(_info(m)["role"])
        do("FAILOVER", "TO", "127.0.0.1", r.port)
        out.append(_info(m)["master_failover_state"])
        do("FAILOVER", "ABORT")
        out.append(_info(m)["master_failover_state"])
        out.append(writer.set("free", 1))
    finally:
        os.kill(r.pid, signal.SIGCONT)
    return out


def _both(scenario: Callable[[ServerProc, ServerProc], list[object]], started: list[ServerProc],
          tmp: Path, real_tries: int = 1) -> list[object]:
    """The scenario on our master and replica, then on real ones: what each observed.
    ``real_tries``: runs of the real pair allowed when its outcome depends on timing."""
    seen = []
    for name, start in (("ours", start_ours), ("real", start_real)):
        for attempt in range(real_tries if name == "real" else 1):
            d = tmp / f"{name}{attempt}"
            d.mkdir()
            got = scenario(*_pair(started, d, start, start))
            if name == "ours" or got == seen[0]:
                break
        seen.append(got)
    assert seen[0] == seen[1]
    return seen[0]


def test_refusals_like_redis(started: list[ServerProc], tmp_path: Path) -> None:
    ours = _both(_script, started, tmp_path)
    assert ours[:2] == [b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"] * 2
    assert ours[-4:] == ["waiting-for-sync", b"+OK\r\n", "no-failover", True]


def _forced(m: ServerProc, r: ServerProc) -> list[object]:
    """FORCE: the target never catches up before the timeout, the master hands over anyway;
    the write postponed meanwhile is refused once the master is a replica."""
    import threading

    out: list[object] = []
    mc = m.client(socket_timeout=10)
    os.kill(r.pid, signal.SIGSTOP)
    try:
        mc.set("unacked", 1)
        out.append(mc.execute_command("FAILOVER", "TO", "127.0.0.1", r.port, "FORCE", "TIMEOUT", 800))
        result: list[object] = []

        def write() -> None:
            try:
                result.append(m.client(socket_timeout=10).set("postponed", 1))
            except redis.ResponseError as exc:
                result.append(type(exc).__name__)

        writer = threading.Thread(target=write)
        writer.start()
        out.append(_info(m)["master_failover_state"])
        _wait(lambda: _info(m)["master_failover_state"] == "failover-in-progress", "the timeout")
        out.append([_info(m)[k] for k in ("role", "master_port")] == ["slave", str(r.port)])
    finally:
        os.kill(r.pid, signal.SIGCONT)
    _wait(lambda: _info(m)["master_failover_state"] == "no-failover" and _info(r)["role"] == "master",
          "the handover")
    writer.join(10)
    out.append(result)
    _wait(lambda: _info(m).get("master_link_status") == "up", "the old master to follow")
    out.append(r.client().get("unacked"))
    out.append(r.client().info("stats")["sync_partial_ok"])
    return out


def test_force_after_timeout_like_redis(started: list[ServerProc], tmp_path: Path) -> None:
    # on a loaded machine real Redis now and then closes the link to the stopped target
    # before its last write left the output buffer (the write is lost, a full sync
    # follows): its outcome is timing's, so the real pair may run twice
    seen = _both(_forced, started, tmp_path, real_tries=2)
    assert seen == [b"OK", "waiting-for-sync", True, ["ReadOnlyError"], b"1", 1]


def _rejected(m: ServerProc, r: ServerProc) -> list[object]:
    """The target refuses the PSYNC (an ACL without it): the failover is aborted and the
    master is a master again; its replica continues with it."""
    mc, rc = m.client(socket_timeout=10), r.client(socket_timeout=10)
    partial = mc.info("stats")["sync_partial_ok"]
    rc.execute_command("ACL", "SETUSER", "default", "-psync")
    os.kill(r.pid, signal.SIGSTOP)
    try:
        mc.set("foo", "bar")
        out: list[object] = [mc.execute_command("FAILOVER", "TO", "127.0.0.1", r.port)]
    finally:
        os.kill(r.pid, signal.SIGCONT)
    _wait(lambda: _info(m)["master_failover_state"] == "no-failover", "the failover to end")
    rc.execute_command("ACL", "SETUSER", "default", "+psync")
    _wait(lambda: _synced(m, r), "the replica to continue")
    out += [_info(m)["role"], mc.info("stats")["sync_partial_ok"] - partial, mc.info("stats")["sync_full"],
            rc.get("foo"), mc.set("again", 1)]
    return out


def test_target_rejecting_psync_aborts_like_redis(started: list[ServerProc], tmp_path: Path) -> None:
    assert _both(_rejected, started, tmp_path) == [b"OK", "master", 1, 1, b"bar", True]
