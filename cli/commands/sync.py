"""``rdbkit sync SOURCE TARGET``: live migration. Follow a running server as its replica
and apply everything it does to another server or a whole Redis Cluster, until stopped.

The driver is :mod:`cli.remote.sync`; this verb parses addresses and options, turns
SIGINT/SIGTERM into a clean stop (last round in, state saved, markers dropped) and
failures into one-line errors."""

from __future__ import annotations

import signal

import click

from aof.handshake import ReplicationError

from ..errors import CliError
from ..exitcodes import ExitStatus
from ..options import db_map_option


def _addr(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@click.command()
@click.argument("source", callback=_addr)
@click.argument("target", callback=_addr)
@click.option("-a", "--password", default=None, envvar="REDISCLI_AUTH",
              help="SOURCE's AUTH password (or REDISCLI_AUTH).")
@click.option("--user", default=None, help="SOURCE's ACL user name for AUTH.")
@click.option("--target-password", default=None, help="TARGET's AUTH password.")
@click.option("--target-user", default=None, help="TARGET's ACL user name for AUTH.")
@click.option("--state", "state_path", default=None, metavar="FILE",
              help="Where the applied offset is kept (atomically, only what TARGET acknowledged): "
                   "a restart with the same FILE continues with a partial resync.")
@click.option("--db", "dbs", type=int, multiple=True,
              help="Follow only this db of SOURCE (repeatable); the others are left out.")
@db_map_option("Apply db SRC of SOURCE to db DST of TARGET (repeatable; a cluster has only db 0).")
@click.option("--split-transactions", is_flag=True,
              help="In a cluster, apply a MULTI/EXEC whose keys span slots command by command "
                   "(it is refused otherwise).")
@click.option("--skip-refused", is_flag=True,
              help="Report a command TARGET cannot apply as SOURCE did and go on (default: stop before it).")
@click.option("--report", default=5.0, show_default=True, type=float,
              help="Seconds between lag reports on stderr (0: none).")
@click.option("--until-synced", is_flag=True,
              help="Stop (as on SIGTERM) the first time TARGET has everything SOURCE has: a one-off "
                   "copy of a live server.")
@click.option("--flush-target", is_flag=True,
              help="FLUSHALL every master of TARGET before a full sync's keys arrive, as a replica "
                   "empties itself (what TARGET held is lost; a full resync then leaves nothing stale).")
@click.option("--timeout", default=60.0, show_default=True, type=float,
              help="Seconds of silence from SOURCE before the link is made again.")
def sync(source: tuple[str, int], target: tuple[str, int], password: str | None, user: str | None,
         target_password: str | None, target_user: str | None, state_path: str | None,
         dbs: tuple[int, ...], db_map: dict[int, int], split_transactions: bool, skip_refused: bool,
         report: float, until_synced: bool, flush_target: bool, timeout: float) -> None:
    """Follow SOURCE (HOST:PORT, a Redis or rdbkit server) as a replica and apply its data
    and every later write to TARGET (HOST:PORT; a cluster is detected and each command
    goes to its slot's master), until SIGINT or SIGTERM. A full sync's keys are
    RESTOREd with their absolute TTLs; then the command stream follows, one
    script per master and round, each ending with a marker key
    (rdbkit-sync:{tag}, dropped at a clean stop) so that nothing is applied twice
    after a crash. Multi-key commands across slots are split where that is the same
    (MSET, DEL, UNLINK, TOUCH) and refused otherwise, naming the command."""
    from ..remote import RemoteError
    from ..remote.sync import Sync

    def enc(s: str | None) -> bytes | None:
        return s.encode() if s is not None else None

    try:
        job = Sync(source, target, password=enc(password), user=enc(user) if user else None,
                   target_password=enc(target_password), target_user=enc(target_user) if target_user else None,
                   state_path=state_path, db_map=db_map, dbs=frozenset(dbs) or None,
                   split_transactions=split_transactions, skip_refused=skip_refused, report=report,
                   until_synced=until_synced, flush_target=flush_target, timeout=timeout, log=lambda line: click.echo(line, err=True))
    except RemoteError as exc:
        raise CliError(str(exc), ExitStatus.ERROR) from None

    def stop(signum: int, frame: object) -> None:
        job.stopping = True

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    clean = False
    try:
        job.run()
        clean = True
    except (RemoteError, ReplicationError) as exc:
        raise CliError(f"sync: {exc}", ExitStatus.ERROR) from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        try:
            job.close(clean)
        except RemoteError as exc:
            click.echo(f"rdbkit: sync: while stopping: {exc}", err=True)
    s = job.applier.stats
    click.echo(f"sync: stopped at offset {job.acked}: {job.restored} keys restored, {s.applied} commands "
               f"applied, {s.errors} errors, {s.refused} refused, {s.replayed} rounds replayed one by one, "
               f"{job.router.redirects} redirects, {s.skipped} left out (dbs not followed, or held already) "
               f"({job.full_syncs} full, {job.partial_syncs} partial syncs)", err=True)
    for line in s.first_errors:
        click.echo(f"  {line}", err=True)
    if s.errors > len(s.first_errors):
        click.echo(f"  ... and {s.errors - len(s.first_errors)} more", err=True)
