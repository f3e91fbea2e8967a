"""``rdbkit fetch``: a live server's snapshot over the replication protocol, like
``redis-cli --rdb``, checked by the decoder while it streams in; with ``--cluster``, every
master's (one file each, or merged)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import click

from aof.handshake import ReplicationError
from rdbtools.decoder import RdbDecoder
from rdbtools.errors import RdbError
from rdbtools.io import atomic_output
from rdbtools.jsonl_writer import write_jsonl
from rdbtools.model import Record

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..output import Progress
from ..remote import RemoteError, Router, Snapshot


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Server address.")
@click.option("-p", "--port", default=6379, show_default=True, type=int, help="Server port.")
@click.option("-a", "--password", default=None, help="AUTH password (or REDISCLI_AUTH).",
              envvar="REDISCLI_AUTH")
@click.option("--user", default=None, help="ACL user name for AUTH.")
@click.option("-o", "--output", default="dump.rdb", show_default=True,
              help="Where to write ('-' = stdout; .lz4 compresses). With --cluster: a directory "
                   "(ending in '/') for one file per master, else one merged file.")
@click.option("--format", "fmt", type=click.Choice(["rdb", "jsonl"]), default="rdb", show_default=True,
              help="The snapshot as the server sent it, or its keys as JSON lines.")
@click.option("--cluster", "whole_cluster", is_flag=True,
              help="The server is a cluster node: fetch every master's snapshot (CLUSTER SLOTS).")
@click.option("--timeout", default=60.0, show_default=True, type=float,
              help="Seconds of silence from the server before giving up.")
@click.pass_context
def fetch(ctx: click.Context, host: str, port: int, password: str | None, user: str | None, output: str,
          fmt: str, whole_cluster: bool, timeout: float) -> None:
    """Fetch the dataset of a running server (full sync, as a replica would) into a file.

    The payload is decoded as it arrives (every structure and the CRC-64): a
    damaged transfer fails and, for a file, leaves nothing behind; a good one
    appears whole (:func:`rdbtools.io.atomic_output`). With ``--cluster`` each master
    of the cluster is fetched in turn (their snapshots are not one point in time: a
    cluster has none), into one file per master named ``<host>-<port>.<format>`` as
    ``rdbkit split`` names its shards, or merged by ``rdbkit merge`` into OUTPUT.
    """
    pw = password.encode() if password is not None else None
    who = user.encode() if user else None
    if not whole_cluster:
        _fetch_one(host, port, pw, who, output, fmt, timeout)
        return
    if output == "-":
        raise click.UsageError("--cluster writes files: name a directory (ending in '/') or a file")
    masters = _masters(host, port, pw, who)
    if output.endswith("/") or os.path.isdir(output):
        os.makedirs(output, exist_ok=True)
        for h, p in masters:
            _fetch_one(h, p, pw, who, os.path.join(output, f"{h}-{p}.{fmt}"), fmt, timeout)
        return
    from .merge import merge

    with tempfile.TemporaryDirectory(prefix=".rdbkit-fetch-", dir=os.path.dirname(os.path.abspath(output))) as d:
        files = [os.path.join(d, f"{h}-{p}.rdb") for h, p in masters]
        for (h, p), path in zip(masters, files):
            _fetch_one(h, p, pw, who, path, "rdb", timeout)
        ctx.invoke(merge, inputs=tuple(files), output=output)


def _masters(host: str, port: int, password: bytes | None, user: bytes | None) -> list[tuple[str, int]]:
    try:
        router = Router(host, port, password=password, user=user)
    except RemoteError as exc:
        raise CliError(str(exc), ExitStatus.ERROR) from None
    try:
        if not router.cluster:
            raise CliError(f"{host}:{port} is not a cluster node (cluster_enabled:0): leave out --cluster",
                           ExitStatus.ERROR)
        return router.masters()
    finally:
        router.close()


def _fetch_one(host: str, port: int, password: bytes | None, user: bytes | None, output: str, fmt: str,
               timeout: float) -> None:
    snap = Snapshot(host, port, password, user, timeout)
    keys = size = 0
    decoder = RdbDecoder()
    bar: Progress | None = None
    with library_errors(), _named(snap.peer), atomic_output(output) as out:
        for chunk in snap.chunks():
            size += len(chunk)
            if bar is None:  # the payload's size, once the master said it ($<len>; none with $EOF:)
                bar = Progress(snap.sync.size, f"fetching {snap.peer}", open_ended=True)
            bar.update(size)
            decoder.feed(chunk)
            if fmt == "rdb":
                out.write(chunk)
            batch = [ev for ev in _drain(decoder) if ev.__class__ is Record]
            keys += len(batch)
            if fmt == "jsonl" and batch:
                write_jsonl(batch, out.write)
        decoder.feed_eof()
        tail = [ev for ev in _drain(decoder) if ev.__class__ is Record]
        keys += len(tail)
        if fmt == "jsonl" and tail:
            write_jsonl(tail, out.write)
        if bar is not None:
            bar.close()
        if not decoder.done:
            raise CliError(f"{snap.peer}: the snapshot ended before its end marker", ExitStatus.ERROR)
    sync = snap.sync
    click.echo(f"fetched {size} bytes from {snap.peer} (replid {sync.replid}, offset {sync.offset}): "
               f"{keys} keys, checksum OK -> {output}", err=True)


@contextmanager
def _named(peer: str) -> Iterator[None]:
    """Decoder errors name the server; handshake errors exit like any other failure."""
    try:
        yield
    except RdbError as exc:
        exc.source = exc.source or peer
        raise
    except ReplicationError as exc:
        raise CliError(str(exc), ExitStatus.ERROR) from exc


def _drain(decoder: RdbDecoder) -> list:
    out: list = []
    while True:
        evs = decoder.next_events()
        if not evs:
            return out
        out.extend(evs)
