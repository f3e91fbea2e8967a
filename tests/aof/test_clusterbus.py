"""The cluster bus codec (aof.clusterbus): round trips, framing, bad input, real 7.0 bytes.

The real-bytes test lets a real redis-server 7.0 MEET a socket we listen on, decodes
the MEET it sends, re-encodes it byte for byte, then answers with a PONG built by our
encoder: the real node accepting it (renaming its handshake node to our id) shows the
bytes we send are the bytes it reads.
"""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aof import clusterbus as cb
from tests.support.servers import free_port, start_real

NAMES = st.binary(min_size=40, max_size=40)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
U64 = st.integers(0, 2**64 - 1)
IPS = st.binary(max_size=45).map(lambda b: b.replace(b"\0", b"x"))
GOSSIP = st.builds(cb.Gossip, NAMES, U32, U32, IPS, U16, U16, U16, U16)
EXT = st.tuples(U16, st.binary(max_size=40).map(lambda b: b + bytes(-len(b) % 8)))


@st.composite
def messages(draw: st.DrawFn) -> cb.BusMessage:
    t = draw(st.integers(0, 12))
    m = cb.BusMessage(t, draw(NAMES), draw(U16), draw(U64), draw(U64), draw(U64),
                      draw(st.binary(min_size=2048, max_size=2048)), draw(NAMES), draw(IPS), draw(U16),
                      draw(U16), draw(U16), draw(st.integers(0, 255)),
                      bytes([draw(st.integers(0, 255)) & ~cb.CLUSTERMSG_FLAG0_EXT_DATA, 0, draw(st.integers(0, 255))]))
    if t in (0, 1, 2):
        m.gossip = draw(st.lists(GOSSIP, max_size=4))
        m.extensions = draw(st.lists(EXT, max_size=3))
        if m.extensions:
            m.mflags = bytes([m.mflags[0] | cb.CLUSTERMSG_FLAG0_EXT_DATA]) + m.mflags[1:]
    elif t == 3:
        m.about = draw(NAMES)
    elif t in (4, 10):
        m.channel, m.message = draw(st.binary(max_size=30)), draw(st.binary(max_size=30))
    elif t == 7:
        m.update_epoch, m.about = draw(U64), draw(NAMES)
        m.update_slots = draw(st.binary(min_size=2048, max_size=2048))
    elif t == 9:
        m.module_id, m.module_type, m.payload = draw(U64), draw(st.integers(0, 255)), draw(st.binary(max_size=20))
    elif t > 10:
        m.payload = draw(st.binary(max_size=20))
    return m


@settings(max_examples=60, deadline=None)
@given(st.lists(messages(), min_size=1, max_size=3), st.integers(1, 3000))
def test_round_trip_in_any_split(msgs: list[cb.BusMessage], step: int) -> None:
    data = b"".join(cb.encode(m) for m in msgs)
    r = cb.BusReader()
    got: list[cb.BusMessage | cb.Ignored] = []
    for i in range(0, len(data), step):
        got += r.feed(data[i:i + step])
    assert got == msgs and r.pending == 0


@settings(max_examples=100, deadline=None)
@given(messages(), st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, 200))
def test_mutated_bytes_give_messages_ignored_frames_or_bus_errors(m: cb.BusMessage, edits: list[tuple[int, int]],
                                                                  cut: int) -> None:
    data = bytearray(cb.encode(m) * 2)
    for pos, val in edits:
        if pos < len(data):
            data[pos] = val
    del data[len(data) - cut:]
    r = cb.BusReader(max_len=64 * 1024)
    try:
        for ev in r.feed(bytes(data)):
            assert isinstance(ev, (cb.BusMessage, cb.Ignored))
    except cb.ClusterBusError as e:
        assert e.offset is not None and e.offset < len(data)
    assert r.pending <= 64 * 1024


def test_bad_signature_and_lengths_name_the_offset() -> None:
    good = cb.encode(cb.BusMessage(cb.CLUSTERMSG_TYPE_PING, b"a" * 40))
    with pytest.raises(cb.ClusterBusError, match=r"bad signature b'XCmb' \(at offset 2256\)"):
        cb.BusReader().feed(good + b"X" + good[1:])
    huge = good[:4] + (2**31).to_bytes(4, "big")
    r = cb.BusReader(max_len=1 << 20)
    with pytest.raises(cb.ClusterBusError, match=r"bad message length 2147483648 \(at offset 4\)"):
        r.feed(huge)
    with pytest.raises(cb.ClusterBusError, match="bad message length 100"):
        cb.BusReader().feed(good[:4] + (100).to_bytes(4, "big"))
    # the length is refused from the first 8 bytes: nothing of the body is waited for
    assert r.pending == 8


def test_inconsistent_bodies_are_ignored_as_redis_does() -> None:
    m = cb.BusMessage(cb.CLUSTERMSG_TYPE_PING, b"a" * 40, gossip=[cb.Gossip(b"b" * 40)])
    frame = bytearray(cb.encode(m))
    frame[14:16] = (2).to_bytes(2, "big")  # count 2, one entry present
    (ev,) = cb.BusReader().feed(bytes(frame))
    assert isinstance(ev, cb.Ignored) and "2 gossip entries" in ev.reason
    frame = bytearray(cb.encode(cb.BusMessage(cb.CLUSTERMSG_TYPE_FAIL, b"a" * 40, about=b"c" * 40)))
    frame[8:10] = (2).to_bytes(2, "big")
    assert cb.BusReader().feed(bytes(frame)) == [cb.Ignored(3, 0, "protocol version 2")]


def test_slot_bitmap_bit_order() -> None:
    bm = cb.slot_bitmap([0, 9, 16383])
    assert bm[0] == 1 and bm[1] == 2 and bm[2047] == 0x80
    assert cb.bitmap_slots(bm) == [0, 9, 16383]


def _read_one(conn: socket.socket, deadline: float) -> tuple[cb.BusMessage, bytes]:
    """The first message a real node sends on ``conn``, and its frame's bytes."""
    reader = cb.BusReader()
    raw = bytearray()
    while time.monotonic() < deadline:
        data = conn.recv(65536)
        assert data, "the real node closed the bus link"
        raw += data
        for ev in reader.feed(data):
            assert isinstance(ev, cb.BusMessage), ev
            return ev, bytes(raw[:int.from_bytes(raw[4:8], "big")])
    raise AssertionError("no message from the real node")


def _node_line(c, node_id: bytes, ready) -> list[str]:
    """The real node's CLUSTER NODES line for ``node_id`` once ``ready(fields)``."""
    deadline = time.monotonic() + 10
    fields: list[str] = []
    while time.monotonic() < deadline:
        nodes = c.execute_command("CLUSTER", "NODES").decode()
        fields = next((x.split() for x in nodes.splitlines() if x.startswith(node_id.decode())), [])
        if fields and ready(fields):
            break
        time.sleep(0.05)
    return fields


def test_real_node_meet_decodes_and_accepts_our_pong(tmp_path) -> None:
    cport = free_port()
    real = start_real(tmp_path, "--cluster-enabled", "yes", "--cluster-port", str(cport),
                      "--cluster-announce-hostname", "real-host.example")
    try:
        c = real.client()
        myid = c.execute_command("CLUSTER", "MYID")
        c.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 99, 16000, 16383)
        c.execute_command("CLUSTER", "SET-CONFIG-EPOCH", 7)
        ours_id = b"f" * 39 + b"1"
        with socket.socket() as lsock:
            lsock.bind(("127.0.0.1", 0))
            lsock.listen(1)
            lsock.settimeout(10)
            lport = lsock.getsockname()[1]
            c.execute_command("CLUSTER", "MEET", "127.0.0.1", 6999, lport)
            conn, _ = lsock.accept()
            with conn:
                conn.settimeout(10)
                meet, frame = _read_one(conn, time.monotonic() + 10)
                assert meet.type == cb.CLUSTERMSG_TYPE_MEET
                assert meet.sender == myid and meet.port == real.port and meet.cport == cport
                assert meet.flags == cb.CLUSTER_NODE_MASTER | cb.CLUSTER_NODE_MYSELF
                assert meet.config_epoch == 7 and meet.current_epoch == 7 and meet.slaveof == cb.NULL_NAME
                assert cb.bitmap_slots(meet.myslots) == [*range(100), *range(16000, 16384)]
                assert meet.hostname == b"real-host.example" and meet.state == 1  # CLUSTER_FAIL: not covered
                assert cb.encode(meet) == frame  # every byte accounted for
                pong = cb.BusMessage(cb.CLUSTERMSG_TYPE_PONG, ours_id, port=6999, cport=lport,
                                     flags=cb.CLUSTER_NODE_MASTER, myslots=cb.slot_bitmap(range(100, 200)),
                                     config_epoch=3, current_epoch=3, extensions=[cb.hostname_extension(b"ours")])
                conn.sendall(cb.encode(pong))
                line = _node_line(c, ours_id, lambda f: "handshake" not in f[2])
                assert line[1] == f"127.0.0.1:6999@{lport}" and line[2] == "master"
                # the handshake PONG only names the node (no known sender yet); the next one's
                # epoch, slots and extensions are read
                conn.sendall(cb.encode(pong))
                line = _node_line(c, ours_id, lambda f: f[1].endswith(",ours"))
                assert line[1] == f"127.0.0.1:6999@{lport},ours"
                assert line[6] == "3" and line[8:] == ["100-199"]
    finally:
        real.stop()


def test_encoded_ping_gets_a_pong_from_a_real_node(tmp_path) -> None:
    """A PING we encode on an inbound link passes 7.0's length checks: it answers PONG."""
    cport = free_port()
    real = start_real(tmp_path, "--cluster-enabled", "yes", "--cluster-port", str(cport))
    try:
        ping = cb.BusMessage(cb.CLUSTERMSG_TYPE_PING, b"e" * 40, port=1, cport=2, flags=cb.CLUSTER_NODE_MASTER,
                             gossip=[cb.Gossip(b"d" * 40, 0, 0, b"127.0.0.1", 3, 4, cb.CLUSTER_NODE_MASTER)])
        deadline = time.monotonic() + 10
        while True:  # the bus port may open a moment after the client port
            try:
                s = socket.create_connection(("127.0.0.1", cport), timeout=10)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "the real node's bus port never opened"
                time.sleep(0.02)
        with s:
            s.sendall(cb.encode(ping))
            pong, _ = _read_one(s, time.monotonic() + 10)
        assert pong.type == cb.CLUSTERMSG_TYPE_PONG
        assert pong.sender == real.client().execute_command("CLUSTER", "MYID")
        assert pong.gossip == [] and pong.extensions == []
    finally:
        real.stop()

