"""PUBLISH and SPUBLISH reach replicas (forceCommandPropagation with PROPAGATE_REPL) and
not the AOF: the replication stream a raw replica reads, ours against real 7.0.15, and a
subscriber on a replica of ours receives what is published on its master."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from aof.replies import encode_command
from tests.support.servers import start_ours, start_real


def _stream(srv) -> bytes:
    r = srv.client()
    r.config_set("repl-diskless-sync-delay", 0)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(encode_command([b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]))
    assert s.recv(100) == b"+OK\r\n"
    s.sendall(encode_command([b"PSYNC", b"?", b"-1"]))
    got = b""
    deadline = time.time() + 20
    while time.time() < deadline:  # +FULLRESYNC, $EOF:<mark>, the RDB, the mark again
        got += s.recv(1 << 16)
        head = got.split(b"$EOF:", 1)
        if len(head) == 2 and len(head[1]) > 42 and head[1][:40] in head[1][42:]:
            break
    # online from the first ACK after the transfer is done (which the master notices in its
    # cron): ACK every 50 ms, as a replica does every second, until INFO says it is online
    while time.time() < deadline:
        s.sendall(encode_command([b"REPLCONF", b"ACK", b"0"]))
        if r.info("replication").get("slave0", {}).get("state") == "online":
            break
        time.sleep(0.05)
    p = r.pipeline(transaction=True)
    p.publish("ch", "one")
    p.execute()
    p = r.pipeline(transaction=True)
    p.publish("ch", "two")
    p.set("x", 1)
    p.execute()
    r.execute_command("SPUBLISH", "sch", "three")
    r.publish("ch", "four")
    r.set("end", 1)
    s.settimeout(0.5)
    out = b""
    while b"end" not in out and time.time() < deadline:
        try:
            out += s.recv(1 << 16)
        except TimeoutError:
            pass
    s.close()
    return out.replace(encode_command([b"ping"]), b"").replace(encode_command([b"PING"]), b"")


def test_publish_reaches_replicas_like_redis(tmp_path: Path) -> None:
    got = {}
    for name, start in (("ours", start_ours), ("real", start_real)):
        (tmp_path / name).mkdir()
        srv = start(tmp_path / name)
        try:
            got[name] = _stream(srv)
        finally:
            srv.stop()
    assert b"PUBLISH" in got["real"] and b"SPUBLISH" in got["real"]
    assert got["ours"] == got["real"]


def test_subscriber_on_a_replica_receives(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "r").mkdir()
    master = start_ours(tmp_path / "m", "--repl-diskless-sync-delay", "0")
    replica = start_ours(tmp_path / "r", "--replicaof", "127.0.0.1", str(master.port))
    try:
        rc = replica.client()
        deadline = time.time() + 20
        while rc.info("replication")["master_link_status"] != "up":
            assert time.time() < deadline
            time.sleep(0.05)
        sub = replica.client().pubsub()
        sub.subscribe("news")
        assert sub.get_message(timeout=5)["type"] == "subscribe"
        master.client().publish("news", "hello")
        msg = None
        while msg is None and time.time() < deadline:
            msg = sub.get_message(timeout=1)
        assert msg is not None and msg["data"] == b"hello"
        sub.close()
    finally:
        replica.stop()
        master.stop()
