"""Real redis-server 7.0 loading an AOF, and its keyspace read back: the oracle for ``compact``.

:func:`real_redis_aof` starts Debian's ``/usr/bin/redis-server`` with
``appendonly yes`` on a directory holding either a Redis 7 multi-part
``appendonlydir`` or a single pre-7.0 ``appendonly.aof`` (which 7.0 adopts as the
base of a new manifest, ``aofUpgradePrepare``: :func:`place_single_file` puts one
there), waits until it has loaded, and reports how long that took (wall clock
from exec to ``loading:0``, and the ``DB loaded from append only file: … seconds``
line of its log); it is started by the suite's one launcher, :mod:`tests.support.servers`.

:func:`keyspace` reads every key of every db with pipelined commands (SCAN, which
also drops keys whose deadline passed, then TYPE/PEXPIRETIME and the value);
:func:`digest` is ``DEBUG DIGEST``, Redis's own encoding-independent hash of the
dataset (it counts a TTL's presence, not its value), taken after a SCAN of every
db: a freshly loaded server still holds the keys whose deadline passed during or
before the load (nothing expires while loading), and the digest would count them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from .servers import REDIS_SERVER, ServerProc, free_port, real_argv

__all__ = ["REDIS_SERVER", "RealServer", "digest", "keyspace", "place_single_file", "real_redis_aof"]

_LOADED = re.compile(rb"DB loaded from append only file: ([0-9.]+) seconds")


class RealServer(ServerProc):
    """A real 7.0 that has loaded an AOF; ``ready_s`` is exec → loaded."""

    @property
    def logged_load_s(self) -> float | None:
        """What the server logged as the AOF load time."""
        m = _LOADED.search(self.log.read_bytes())
        return float(m.group(1)) if m else None


def place_single_file(src: Path | str, workdir: Path | str, name: str = "appendonly.aof") -> Path:
    """Put ``src`` in ``workdir`` as its single-file AOF (hard link when possible)."""
    dst = Path(workdir) / name
    Path(workdir).mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


@contextlib.contextmanager
def real_redis_aof(workdir: Path | str, *args: str, timeout: float = 600) -> Iterator[RealServer]:
    """redis-server 7.0 with ``appendonly yes`` in ``workdir``, once it has loaded its AOF."""
    d = Path(workdir).resolve()
    d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = real_argv(port, d, "--loglevel", "notice", "--appendonly", "yes",
                     "--enable-debug-command", "local", *args)
    srv = RealServer(argv, port, d, loaded=True, timeout=timeout)
    try:
        yield srv
    finally:
        srv.stop(kill=True)


def keyspace(port: int, dbs: range = range(16), batch: int = 1000) -> dict[tuple[int, bytes], tuple]:
    """``{(db, key): (type, value, expire_ms | None)}`` of a live server.

    Values: string bytes; list in order; set sorted; hash sorted ``(field, value)``
    pairs; zset ``(member, score)`` in ZRANGE order.
    """
    import redis

    out: dict[tuple[int, bytes], tuple] = {}
    for db in dbs:
        r = redis.Redis(port=port, db=db, socket_timeout=600)
        keys: list[bytes] = []
        cursor = 0
        while True:
            cursor, part = r.scan(cursor, count=batch)
            keys.extend(part)
            if cursor == 0:
                break
        keys = sorted(set(keys))
        for i in range(0, len(keys), batch):
            chunk = keys[i : i + batch]
            p = r.pipeline(transaction=False)
            for k in chunk:
                p.type(k)
                p.execute_command("PEXPIRETIME", k)
            meta = p.execute()
            p = r.pipeline(transaction=False)
            types = [t.decode() for t in meta[0::2]]
            for k, t in zip(chunk, types):
                if t == "string":
                    p.get(k)
                elif t == "list":
                    p.lrange(k, 0, -1)
                elif t == "set":
                    p.smembers(k)
                elif t == "hash":
                    p.hgetall(k)
                elif t == "zset":
                    p.zrange(k, 0, -1, withscores=True)
                else:
                    p.type(k)
            for k, t, v, exp in zip(chunk, types, p.execute(), meta[1::2]):
                if t == "none":  # went away between SCAN and TYPE (expired)
                    continue
                if t == "set":
                    v = sorted(v)
                elif t == "hash":
                    v = sorted(v.items())
                elif t == "zset":
                    v = [(m, float(s)) for m, s in v]
                out[(db, k)] = (t, v, None if exp < 0 else exp)
        r.close()
    return out


def digest(port: int, dbs: range = range(16)) -> bytes:
    import redis

    for db in dbs:  # SCAN deletes the keys it finds expired (scanGenericCommand)
        r = redis.Redis(port=port, db=db, socket_timeout=600)
        cursor = None
        while cursor != 0:
            cursor, _ = r.scan(cursor or 0, count=10_000)
        r.close()
    r = redis.Redis(port=port, socket_timeout=600)
    try:
        return r.execute_command("DEBUG", "DIGEST")
    finally:
        r.close()
