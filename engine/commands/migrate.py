"""MIGRATE (cluster.c's migrateCommand): keys moved to another server as DUMP payloads.

The target receives ``[AUTH …] [SELECT db] RESTORE key ttl payload [REPLACE]`` per key
(RESTORE-ASKING from a cluster node) on a connection kept for later MIGRATEs to the same
host:port (``server.migrate``, closed after 10 idle seconds, at most 64:
migrateGetSocket). As in Redis the exchange
is synchronous: the server waits for the target, each read and write bounded by the
timeout. Keys the target took are deleted here (unless COPY) and propagated as one
DEL; a reset or closed cached connection is retried once on a fresh one.
"""

from __future__ import annotations

import random
import socket
import time

from aof.replies import OK, encode_command
from engine.commands.arguments import get_int
from engine.commands.connection import redact
from engine.errors import CommandError, SyntaxErr
from engine.execution.registry import command
from engine.materialize import dump_payload
from engine.notify import NOTIFY_GENERIC, notify

CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10  # MIGRATE_SOCKET_CACHE_TTL, seconds


class _SocketError(Exception):
    """A failed write or read on the link to the target (socket_err)."""

    def __init__(self, writing: bool, timed_out: bool) -> None:
        self.writing = writing
        self.timed_out = timed_out


class TargetLink:
    """migrateCachedSocket: a connection, the db last SELECTed on it, its last use."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""
        self.last_dbid = -1
        self.last_use = time.time()

    def readline(self) -> bytes:
        """connSyncReadLine: one reply line without its CRLF."""
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(16384)
            if not chunk:
                raise ConnectionResetError("connection closed by the target")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line


class MigrateSockets:
    """server.migrate_cached_sockets."""

    def __init__(self) -> None:
        self.links: dict[bytes, TargetLink] = {}

    def __len__(self) -> int:
        return len(self.links)

    def get(self, host: bytes, port: bytes, timeout_ms: int) -> TargetLink:
        name = host + b":" + port
        link = self.links.get(name)
        if link is not None:
            link.last_use = time.time()
            return link
        if len(self.links) == CACHE_ITEMS:  # too many items: drop a random one
            self.close(random.choice(list(self.links)))
        try:
            sock = socket.create_connection((host.decode("latin-1"), int(port)), timeout=timeout_ms / 1000)
        except ConnectionRefusedError:  # Redis's blocking connect succeeds; its first write fails
            raise _SocketError(True, False) from None
        except (OSError, ValueError, UnicodeError):
            raise CommandError("error or timeout connecting to the client", "IOERR") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = self.links[name] = TargetLink(sock)
        return link

    def close(self, name: bytes) -> None:
        link = self.links.pop(name, None)
        if link is not None:
            link.sock.close()

    def cron(self) -> None:
        """migrateCloseTimedoutSockets."""
        now = time.time()
        for name in [n for n, link in self.links.items() if now - link.last_use > CACHE_TTL]:
            self.close(name)


_SKIP = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}  # arguments after each option


def migrate_keys(argv: list[bytes]) -> list[int]:
    """migrateGetKeys: the key argument, or the keys after KEYS (none when the key argument
    is not empty); AUTH's and AUTH2's arguments are stepped over, whatever they read."""
    i = 6
    while i < len(argv):
        opt = argv[i].lower()
        if opt == b"keys":
            return list(range(i + 1, len(argv))) if not argv[3] else []
        i += _SKIP.get(opt, 0) + 1
    return [3]


@command("migrate", -6, "write", 3, 3, 1, keys=migrate_keys, since="2.6.0")
def migrate_cmd(c, argv):
    copy = replace = False
    user = password = None
    first, num = 3, 1
    j = 6
    while j < len(argv):
        opt, more = argv[j].lower(), len(argv) - 1 - j
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise SyntaxErr()
            password = argv[j + 1]
            redact(argv, j + 1, j + 2)
            j += 1
        elif opt == b"auth2":
            if more < 2:
                raise SyntaxErr()
            user, password = argv[j + 1], argv[j + 2]
            redact(argv, j + 1, j + 3)
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise CommandError("When using MIGRATE KEYS option, the key argument must be set to "
                                   "the empty string")
            first, num = j + 1, len(argv) - j - 1
            break
        else:
            raise SyntaxErr()
        j += 1
    timeout = get_int(argv[5])
    dbid = get_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = c.db
    found = [(k, v) for k in argv[first:first + num] if (v := db.read(k)) is not None]
    if not found:
        return b"+NOKEY\r\n"
    may_retry = True
    while True:
        try:
            return _migrate(c, argv, found, dbid, timeout, copy, replace, user, password, may_retry)
        except _SocketError as exc:
            c.server.migrate.close(argv[1] + b":" + argv[2])
            if not exc.timed_out and may_retry:
                may_retry = False
                continue
            raise CommandError(f"error or timeout {'writing' if exc.writing else 'reading'} to "
                               "target instance", "IOERR") from None


def _migrate(c, argv, found, dbid, timeout, copy, replace, user, password, may_retry) -> bytes:
    srv = c.server
    db = c.db
    link = srv.migrate.get(argv[1], argv[2], timeout)
    link.sock.settimeout(timeout / 1000)
    cmds = []
    if password is not None:
        cmds.append([b"AUTH", password] if user is None else [b"AUTH", user, password])
    select = link.last_dbid != dbid
    if select:
        cmds.append([b"SELECT", b"%d" % dbid])
    now = srv.keyspace.now_ms()
    sent = []
    for key, value in found:
        ttl = 0
        when = db.get_expire(key)
        if when is not None:
            ttl = when - now
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        sent.append(key)
        # a cluster node sends RESTORE-ASKING: the target may be importing the key's slot
        cmds.append([b"RESTORE-ASKING" if srv.cluster is not None else b"RESTORE", key, b"%d" % ttl,
                     dump_payload(value, srv.config)]
                    + ([b"REPLACE"] if replace else []))
    try:
        link.sock.sendall(b"".join(encode_command(x) for x in cmds))
    except OSError as exc:
        raise _SocketError(True, isinstance(exc, TimeoutError)) from None
    try:
        auth = link.readline() if password is not None else b""
        sel = link.readline() if select else b""
    except OSError as exc:
        raise _SocketError(False, isinstance(exc, TimeoutError)) from None
    error = None
    failed: OSError | None = None
    deleted = []
    for i, key in enumerate(sent):
        try:
            line = link.readline()
        except OSError as exc:
            failed = exc
            if error is None and i == 0 and may_retry and not isinstance(exc, TimeoutError):
                raise _SocketError(False, False) from None  # a retry on a fresh connection
            break
        bad = next((x for x in (auth, sel, line) if x[:1] == b"-"), None)
        if bad is not None:
            if error is None:
                link.last_dbid = -1
                error = bad[1:].decode("utf-8", "replace")
        elif not copy:
            db.delete(key)
            notify(db, NOTIFY_GENERIC, b"del", key)
            srv.dirty += 1
            deleted.append(key)
    if failed is not None:
        srv.migrate.close(argv[1] + b":" + argv[2])
    if deleted:  # propagated as the DEL of what the target took
        c.rewritten = [[b"DEL", *deleted]]
    elif not copy:
        c.rewritten = []
    if error is None and failed is not None:
        raise CommandError("error or timeout reading to target instance", "IOERR")
    if error is not None:
        raise CommandError(f"Target instance replied with error: {error}")
    link.last_dbid = dbid
    return OK


__all__ = ["MigrateSockets", "migrate_keys"]
