"""The Redis Cluster bus (``clusterMsg``), sans-IO (docs/formats.md §11.4).

Every message starts with a fixed 2,256-byte header, all integers big-endian::

    0 "RCmb"  4 totlen u32  8 ver u16 (1)  10 port u16  12 type u16  14 count u16
    16 currentEpoch u64  24 configEpoch u64  32 offset u64  40 sender[40]
    80 myslots[2048]  2128 slaveof[40]  2168 myip[46]  2214 extensions u16
    2216 notused[30]  2246 pport u16  2248 cport u16  2250 flags u16
    2252 state u8  2253 mflags[3]  2256 data...

then the body its type gives: PING/PONG/MEET ``count`` gossip entries of 104 bytes
(name[40], ping_sent u32 s, pong_received u32 s, ip[46], port, cport, flags, pport,
unused u16) followed by ``extensions`` ping extensions when ``mflags[0]`` has
EXT_DATA (length u32 including its 8-byte head, type u16, unused u16, data padded to
8 bytes; 7.0 knows type 0, the hostname); FAIL a node name; PUBLISH/PUBLISHSHARD
channel_len u32, message_len u32, then both; UPDATE configEpoch u64, name[40], a slot
bitmap; MODULE module_id u64, len u32, type u8, payload; FAILOVER_AUTH_REQUEST/ACK
and MFSTART nothing. Slot ``s`` is bit ``s & 7`` of byte ``s >> 3``.

:class:`BusReader` frames a link's bytes as ``clusterReadHandler`` does: the first 8
bytes give the signature and ``totlen``, which is checked (at least the header, at
most ``max_len``) before anything more is buffered; a bad signature or length is a
:class:`ClusterBusError` (Redis drops the link). A whole frame whose body does not
match its declared length — the checks of ``clusterProcessPacket`` — is an
:class:`Ignored` event (Redis logs it and keeps the link), as is a version other
than 1. :func:`encode` builds the bytes ``clusterBuildMessageHdr`` and its callers
send, computing ``totlen``, ``count`` and ``extensions``.

Why in ``aof``: it is a wire protocol decoded without a socket (docs/style.md rule
1), next to the other protocol cores (replication handshake, master stream, hash
slots) that the engine drives and tests fuzz on their own.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from aof.errors import AofError

SIG = b"RCmb"
CLUSTER_PROTO_VER = 1
CLUSTER_NAMELEN = 40
NET_IP_STR_LEN = 46
SLOTS_BYTES = 16384 // 8
CLUSTERMSG_MIN_LEN = 2256  # sizeof(clusterMsg) - sizeof(union clusterMsgData)
NULL_NAME = b"\0" * CLUSTER_NAMELEN

CLUSTERMSG_TYPE_PING = 0
CLUSTERMSG_TYPE_PONG = 1
CLUSTERMSG_TYPE_MEET = 2
CLUSTERMSG_TYPE_FAIL = 3
CLUSTERMSG_TYPE_PUBLISH = 4
CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST = 5
CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK = 6
CLUSTERMSG_TYPE_UPDATE = 7
CLUSTERMSG_TYPE_MFSTART = 8
CLUSTERMSG_TYPE_MODULE = 9
CLUSTERMSG_TYPE_PUBLISHSHARD = 10
CLUSTERMSG_TYPE_COUNT = 11
TYPE_NAMES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update", "mfstart",
              "module", "publishshard")  # clusterGetMessageTypeString (CLUSTER INFO's stats names)

CLUSTERMSG_FLAG0_PAUSED = 1 << 0
CLUSTERMSG_FLAG0_FORCEACK = 1 << 1
CLUSTERMSG_FLAG0_EXT_DATA = 1 << 2
CLUSTERMSG_EXT_TYPE_HOSTNAME = 0

# the node flags of CLUSTER NODES, as gossiped
CLUSTER_NODE_MASTER = 1
CLUSTER_NODE_SLAVE = 2
CLUSTER_NODE_PFAIL = 4
CLUSTER_NODE_FAIL = 8
CLUSTER_NODE_MYSELF = 16
CLUSTER_NODE_HANDSHAKE = 32
CLUSTER_NODE_NOADDR = 64
CLUSTER_NODE_MEET = 128
CLUSTER_NODE_MIGRATE_TO = 256
CLUSTER_NODE_NOFAILOVER = 512

_HEAD = struct.Struct(">4sIHHHHQQQ40s2048s40s46sH30sHHHB3s")
_GOSSIP = struct.Struct(">40sII46sHHHHH")
_EXT_HEAD = struct.Struct(">IHH")
_U32X2 = struct.Struct(">II")
_UPDATE = struct.Struct(">Q40s2048s")
_MODULE = struct.Struct(">QIB")
GOSSIP_LEN = _GOSSIP.size  # 104
_FAIL_LEN = CLUSTERMSG_MIN_LEN + CLUSTER_NAMELEN
_UPDATE_LEN = CLUSTERMSG_MIN_LEN + _UPDATE.size
# largest frame accepted by default: a PUBLISH of two proto-max-bulk-len (512 MB) strings
DEFAULT_MAX_LEN = CLUSTERMSG_MIN_LEN + 8 + 2 * 512 * 1024 * 1024

assert _HEAD.size == CLUSTERMSG_MIN_LEN and GOSSIP_LEN == 104 and _UPDATE.size == 2096


class ClusterBusError(AofError):
    """The link's bytes are not cluster bus frames (Redis closes such a link)."""


@dataclass(slots=True)
class Gossip:
    """One ``clusterMsgDataGossip``: what the sender knows of another node."""

    name: bytes
    ping_sent: int = 0  # seconds (the sender's ms clock / 1000), 0 when no ping is pending
    pong_received: int = 0
    ip: bytes = b""
    port: int = 0
    cport: int = 0
    flags: int = 0
    pport: int = 0


@dataclass(slots=True)
class BusMessage:
    """A decoded frame: the header's fields plus the body its ``type`` carries."""

    type: int
    sender: bytes
    port: int = 0
    current_epoch: int = 0
    config_epoch: int = 0
    repl_offset: int = 0
    myslots: bytes = bytes(SLOTS_BYTES)
    slaveof: bytes = NULL_NAME
    myip: bytes = b""
    pport: int = 0
    cport: int = 0
    flags: int = 0
    state: int = 0
    mflags: bytes = b"\0\0\0"
    gossip: list[Gossip] = field(default_factory=list)  # PING, PONG, MEET
    extensions: list[tuple[int, bytes]] = field(default_factory=list)  # (type, data with its padding)
    about: bytes = b""  # FAIL: the failing node; UPDATE: the node whose slots follow
    channel: bytes = b""  # PUBLISH, PUBLISHSHARD
    message: bytes = b""
    update_epoch: int = 0  # UPDATE
    update_slots: bytes = b""
    module_id: int = 0  # MODULE
    module_type: int = 0
    payload: bytes = b""  # MODULE's payload; the raw body of a type 7.0 does not know

    @property
    def hostname(self) -> bytes:
        """The announced hostname (cluster-announce-hostname), b"" when not sent."""
        for kind, data in self.extensions:
            if kind == CLUSTERMSG_EXT_TYPE_HOSTNAME:
                return data.split(b"\0", 1)[0]
        return b""


@dataclass(frozen=True, slots=True)
class Ignored:
    """A whole frame ``clusterProcessPacket`` would skip (logging ``reason``), the link kept."""

    type: int
    offset: int
    reason: str


def hostname_extension(hostname: bytes) -> tuple[int, bytes]:
    """The hostname extension as ``writeHostnamePingExt`` pads it: NUL-ended, 8-aligned."""
    padded = -(-(len(hostname) + 1) // 8) * 8
    return CLUSTERMSG_EXT_TYPE_HOSTNAME, hostname.ljust(padded, b"\0")


def _cstr(raw: bytes) -> bytes:
    return raw.split(b"\0", 1)[0]


def _field(value: bytes, size: int, what: str) -> bytes:
    if len(value) > size:
        raise ValueError(f"{what} is longer than {size} bytes")
    return value.ljust(size, b"\0")


def encode(m: BusMessage) -> bytes:
    """The frame for ``m``; ``totlen``, ``count``, ``extensions`` and the EXT_DATA flag
    come from its body (mirrors clusterBuildMessageHdr + clusterSendPing/Fail/Publish/Update)."""
    t = m.type
    mflags = bytearray(_field(m.mflags, 3, "mflags"))
    count = 0
    nexts = 0
    if t in (CLUSTERMSG_TYPE_PING, CLUSTERMSG_TYPE_PONG, CLUSTERMSG_TYPE_MEET):
        parts = [_GOSSIP.pack(_field(g.name, CLUSTER_NAMELEN, "gossip name"), g.ping_sent, g.pong_received,
                              _field(g.ip, NET_IP_STR_LEN - 1, "gossip ip").ljust(NET_IP_STR_LEN, b"\0"),
                              g.port, g.cport, g.flags, g.pport, 0) for g in m.gossip]
        count = len(m.gossip)
        for kind, data in m.extensions:
            if len(data) % 8:
                raise ValueError("a ping extension's data must be padded to 8 bytes")
            parts.append(_EXT_HEAD.pack(_EXT_HEAD.size + len(data), kind, 0) + data)
        nexts = len(m.extensions)
        if nexts:
            mflags[0] |= CLUSTERMSG_FLAG0_EXT_DATA
        body = b"".join(parts)
    elif t == CLUSTERMSG_TYPE_FAIL:
        body = _field(m.about, CLUSTER_NAMELEN, "node name")
    elif t in (CLUSTERMSG_TYPE_PUBLISH, CLUSTERMSG_TYPE_PUBLISHSHARD):
        body = _U32X2.pack(len(m.channel), len(m.message)) + m.channel + m.message
    elif t == CLUSTERMSG_TYPE_UPDATE:
        body = _UPDATE.pack(m.update_epoch, _field(m.about, CLUSTER_NAMELEN, "node name"),
                            _field(m.update_slots, SLOTS_BYTES, "slot bitmap"))
    elif t == CLUSTERMSG_TYPE_MODULE:
        body = _MODULE.pack(m.module_id, len(m.payload), m.module_type) + m.payload
    elif t in (CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST, CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK, CLUSTERMSG_TYPE_MFSTART):
        body = b""
    else:
        body = m.payload
    head = _HEAD.pack(SIG, CLUSTERMSG_MIN_LEN + len(body), CLUSTER_PROTO_VER, m.port, t, count,
                      m.current_epoch, m.config_epoch, m.repl_offset, _field(m.sender, CLUSTER_NAMELEN, "sender"),
                      _field(m.myslots, SLOTS_BYTES, "slot bitmap"), _field(m.slaveof, CLUSTER_NAMELEN, "slaveof"),
                      _field(m.myip, NET_IP_STR_LEN - 1, "myip").ljust(NET_IP_STR_LEN, b"\0"), nexts, bytes(30),
                      m.pport, m.cport, m.flags, m.state, bytes(mflags))
    return head + body


def decode_frame(frame: bytes | bytearray | memoryview, offset: int = 0) -> BusMessage | Ignored:
    """One whole frame (``totlen`` bytes, already framed) → a message, or :class:`Ignored`
    for what clusterProcessPacket skips. ``offset`` is the frame's place in the stream."""
    (_sig, totlen, ver, port, t, count, cur, cfg, off, sender, myslots, slaveof, myip, nexts, _unused,
     pport, cport, flags, state, mflags) = _HEAD.unpack_from(frame, 0)
    if ver != CLUSTER_PROTO_VER:
        return Ignored(t, offset, f"protocol version {ver}")
    m = BusMessage(t, sender, port, cur, cfg, off, myslots, slaveof, _cstr(myip), pport, cport, flags, state,
                   mflags)
    body = memoryview(frame)[CLUSTERMSG_MIN_LEN:totlen]
    name = TYPE_NAMES[t] if t < CLUSTERMSG_TYPE_COUNT else f"type {t}"

    def bad(what: str) -> Ignored:
        return Ignored(t, offset, f"invalid {name} packet: {what}")

    if t in (CLUSTERMSG_TYPE_PING, CLUSTERMSG_TYPE_PONG, CLUSTERMSG_TYPE_MEET):
        pos = GOSSIP_LEN * count
        if pos > len(body):
            return bad(f"length {totlen}, {count} gossip entries need {CLUSTERMSG_MIN_LEN + pos}")
        for i in range(count):
            name_, ps, pr, ip, gport, gcport, gflags, gpport, _ = _GOSSIP.unpack_from(body, i * GOSSIP_LEN)
            m.gossip.append(Gossip(name_, ps, pr, _cstr(ip), gport, gcport, gflags, gpport))
        if mflags[0] & CLUSTERMSG_FLAG0_EXT_DATA:
            for _ in range(nexts):
                if len(body) - pos < _EXT_HEAD.size:
                    return bad(f"extension at {CLUSTERMSG_MIN_LEN + pos} exceeds the total length {totlen}")
                extlen, kind, _ = _EXT_HEAD.unpack_from(body, pos)
                if extlen % 8 or extlen < _EXT_HEAD.size:
                    return bad(f"extension without proper padding ({extlen} bytes)")
                if extlen > len(body) - pos:
                    return bad(f"extension data exceeds the total length {totlen}")
                m.extensions.append((kind, bytes(body[pos + _EXT_HEAD.size:pos + extlen])))
                pos += extlen
        elif nexts:
            return bad(f"{nexts} extensions without the EXT_DATA flag")
        if pos != len(body):
            return bad(f"length {totlen} but expected {CLUSTERMSG_MIN_LEN + pos}")
    elif t == CLUSTERMSG_TYPE_FAIL:
        if totlen != _FAIL_LEN:
            return bad(f"length {totlen} but expected {_FAIL_LEN}")
        m.about = bytes(body)
    elif t in (CLUSTERMSG_TYPE_PUBLISH, CLUSTERMSG_TYPE_PUBLISHSHARD):
        if len(body) < _U32X2.size:
            return bad(f"length {totlen} is shorter than a publish header")
        clen, mlen = _U32X2.unpack_from(body)
        if _U32X2.size + clen + mlen != len(body):
            return bad(f"length {totlen} but expected {CLUSTERMSG_MIN_LEN + _U32X2.size + clen + mlen}")
        m.channel = bytes(body[8:8 + clen])
        m.message = bytes(body[8 + clen:])
    elif t == CLUSTERMSG_TYPE_UPDATE:
        if totlen != _UPDATE_LEN:
            return bad(f"length {totlen} but expected {_UPDATE_LEN}")
        m.update_epoch, m.about, m.update_slots = _UPDATE.unpack_from(body)
    elif t == CLUSTERMSG_TYPE_MODULE:
        if len(body) < _MODULE.size:
            return bad(f"length {totlen} is shorter than a module header")
        m.module_id, plen, m.module_type = _MODULE.unpack_from(body)
        if _MODULE.size + plen != len(body):
            return bad(f"length {totlen} but expected {CLUSTERMSG_MIN_LEN + _MODULE.size + plen}")
        m.payload = bytes(body[_MODULE.size:])
    elif t in (CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST, CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK, CLUSTERMSG_TYPE_MFSTART):
        if totlen != CLUSTERMSG_MIN_LEN:
            return bad(f"length {totlen} but expected {CLUSTERMSG_MIN_LEN}")
    else:
        m.payload = bytes(body)  # a type 7.0 does not know: assumed well formed
    return m


class BusReader:
    """Frames one link's bytes: ``feed(data)`` → the messages completed so far.

    Leftover bytes of a partial frame are kept; at most ``max_len`` bytes are ever
    buffered, since a frame's length is checked before its body is read.
    """

    def __init__(self, max_len: int = DEFAULT_MAX_LEN) -> None:
        self.max_len = max_len
        self._buf = bytearray()
        self._offset = 0  # stream offset of _buf[0]

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[BusMessage | Ignored]:
        buf = self._buf
        buf += data
        out: list[BusMessage | Ignored] = []
        pos = 0
        while len(buf) - pos >= 8:
            if buf[pos:pos + 4] != SIG:
                raise ClusterBusError(f"bad signature {bytes(buf[pos:pos + 4])!r}", offset=self._offset + pos)
            (totlen,) = struct.unpack_from(">I", buf, pos + 4)
            if totlen < CLUSTERMSG_MIN_LEN or totlen > self.max_len:
                raise ClusterBusError(f"bad message length {totlen}", offset=self._offset + pos + 4)
            if len(buf) - pos < totlen:
                break
            with memoryview(buf) as view:
                out.append(decode_frame(view[pos:pos + totlen], self._offset + pos))
            pos += totlen
        if pos:
            del buf[:pos]
            self._offset += pos
        return out


def slot_bitmap(slots: Iterable[int]) -> bytes:
    """The 2,048-byte bitmap of an iterable of slot numbers."""
    bm = bytearray(SLOTS_BYTES)
    for s in slots:
        bm[s >> 3] |= 1 << (s & 7)
    return bytes(bm)


def bitmap_slots(bm: bytes) -> list[int]:
    """The slot numbers set in a bitmap (bitmapTestBit order)."""
    out: list[int] = []
    for i, byte in enumerate(bm):
        if byte:
            base = i << 3
            out.extend(base + b for b in range(8) if byte >> b & 1)
    return out


__all__ = ["BusMessage", "BusReader", "ClusterBusError", "Gossip", "Ignored", "bitmap_slots", "decode_frame",
           "encode", "hostname_extension", "slot_bitmap"]
