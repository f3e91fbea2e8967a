"""``rdbkit restore FILE``: copy a dump's keys into a live server or a Redis Cluster
(pipelined RESTOREs, routed by hash slot, TTLs kept as absolute times).

What a live server receives cannot be taken back, so the input is read twice: a first
pass checks it as a loading Redis would (a key twice in one db refused, in memory that
does not grow with the dump: :class:`rdbtools.keycheck.KeyCheck`, whose runs spill to
``--tmpdir`` and which finds a repeat across them only when the pass ends), and only a
dump that passes is sent, by a second pass. A file is read again in place; stdin and
``.lz4`` are copied to ``--tmpdir`` on the first pass. Failed keys are counted; the
first few are named."""

from __future__ import annotations

import click

from rdbtools.seek import DumpSource

from ..errors import CliError, library_errors
from ..exitcodes import ExitStatus
from ..options import db_map_option, filter_options, make_filter, tmpdir_option
from ..output import Progress
from ..remote import ConnectionFailed, RestoreError, RestoreTarget


@click.command()
@click.argument("file")
@click.option("--host", default="127.0.0.1", show_default=True, help="Any node of the target.")
@click.option("-p", "--port", default=6379, show_default=True, type=int, help="Its port.")
@click.option("-a", "--password", default=None, envvar="REDISCLI_AUTH", help="AUTH password (or REDISCLI_AUTH).")
@click.option("--user", default=None, help="ACL user name for AUTH.")
@click.option("--replace", is_flag=True, help="Overwrite keys that exist on the target (else they are reported).")
@click.option("--batch", default=256, show_default=True, type=click.IntRange(1, 100_000),
              help="RESTOREs per pipeline and node.")
@click.option("--rdb-version", type=click.IntRange(6, 12), default=None,
              help="Payload RDB version (default: what the target's version accepts).")
@db_map_option("Restore the keys of db SRC into db DST (repeatable; a cluster has only db 0).")
@tmpdir_option("Where the check of the first pass spills its sorted runs past a million keys "
               "(8 bytes a key), and where a stdin or .lz4 input is copied to be read twice")
@filter_options
def restore(file: str, host: str, port: int, password: str | None, user: str | None, replace: bool,
            batch: int, rdb_version: int | None, db_map: dict[int, int], tmpdir: str | None, dbs,
            key_glob, key_regex, types) -> None:
    """Restore the keys of a dump FILE (RDB, JSONL or JSON; '-' = stdin, .lz4 read
    transparently) into the server at --host/--port: a cluster is detected and keys go
    to their slot's master (keys of a db other than 0 are refused unless --db-map sends
    them to 0); a single server gets each key in its own db, or the one --db-map names.
    Keys already expired are skipped. FILE is checked first, as a loading Redis would
    (a key twice in one db is refused), so a dump that fails sends nothing."""
    flt = make_filter(dbs, key_glob, key_regex, types)
    try:
        target = RestoreTarget(host, port, password=password.encode() if password is not None else None,
                               user=user.encode() if user else None, replace=replace, batch=batch,
                               rdb_version=rdb_version, db_map=db_map)
    except (ConnectionFailed, RestoreError) as exc:
        raise CliError(str(exc), ExitStatus.ERROR) from None
    with library_errors(), DumpSource(file, filter=flt, seekable=True, tmpdir=tmpdir) as src:
        bar = Progress(src.size, f"checking {src.name}")
        src.progress = bar.update
        try:
            for _ in src.records():  # a key read twice stops here, before anything is sent
                pass
        finally:
            bar.close()
        bar = Progress(src.size, f"restoring {src.name}")
        try:
            for rec in src.again(progress=bar.update):
                target.add(rec)
            stats = target.finish()
        except (ConnectionFailed, RestoreError) as exc:
            raise CliError(str(exc), ExitStatus.ERROR) from None
        finally:
            bar.close()
    where = f"cluster of {stats.nodes} masters" if stats.cluster else f"{host}:{port}"
    click.echo(f"restored {stats.restored} keys into {where} (RDB {stats.rdb_version} payloads); "
               f"{stats.expired} already expired, {stats.failures} failed, {stats.redirects} redirects",
               err=True)
    for db, key, why in stats.failed:
        click.echo(f"  db {db} key {key.decode('utf-8', 'backslashreplace')}: {why}", err=True)
    if stats.failures > len(stats.failed):
        click.echo(f"  ... and {stats.failures - len(stats.failed)} more", err=True)
    if stats.failures:
        raise click.exceptions.Exit(int(ExitStatus.ERROR))
