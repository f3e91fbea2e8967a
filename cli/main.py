"""The ``rdbkit`` command: a thin click group; every verb composes library calls.

Subcommands load lazily (importing the server costs nothing for ``dump``).
Library errors become a one-line message on stderr and a non-zero exit status,
never a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import select
import sys

import click

from .exitcodes import ExitStatus

_COMMANDS = {
    "dump": ("cli.commands.dump", "dump"),
    "keys": ("cli.commands.keys", "keys"),
    "check": ("cli.commands.check", "check"),
    "convert": ("cli.commands.convert", "convert"),
    "diff": ("cli.commands.diff", "diff"),
    "report": ("cli.commands.report", "report"),
    "compact": ("cli.commands.compact", "compact"),
    "merge": ("cli.commands.merge", "merge"),
    "split": ("cli.commands.split", "split"),
    "fetch": ("cli.commands.fetch", "fetch"),
    "restore": ("cli.commands.restore", "restore"),
    "sync": ("cli.commands.sync", "sync"),
    "server": ("cli.commands.server", "server"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, (mod, _) in _COMMANDS.items():
            if importlib.util.find_spec(mod) is not None:
                names.append(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        spec = _COMMANDS.get(name)
        if spec is None:
            return None
        try:
            module = importlib.import_module(spec[0])
        except ModuleNotFoundError as exc:
            if exc.name == spec[0]:
                return None
            raise
        return getattr(module, spec[1])

    def invoke(self, ctx: click.Context) -> object:
        """Ctrl-C exits 130 and a closed output pipe 141, quietly (click's own 1 for
        both would read as "different" to a script)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("rdbkit: interrupted", err=True)
            raise click.exceptions.Exit(int(ExitStatus.INTERRUPTED)) from None
        except BrokenPipeError:
            if not _stdout_reader_gone():
                raise  # a socket's peer (fetch, restore): reported as an error
            raise click.exceptions.Exit(int(ExitStatus.PIPE_CLOSED)) from None


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe nobody reads any more (``| head`` has exited);
    then it is pointed at /dev/null, so the final flush stays quiet too."""
    try:
        fd = sys.stdout.fileno()
        p = select.poll()
        p.register(fd, select.POLLOUT)
        gone = any(ev & select.POLLERR for _, ev in p.poll(0))
    except (OSError, ValueError, AttributeError):
        return False
    if gone:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    return gone


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit status: 0 success (diff: equal), 1 diff found differences, 2 usage error, "
                    "3 corrupt input, 4 any other error, 130 interrupted, 141 output pipe closed.")
@click.version_option(package_name="rdbkit")
def cli() -> None:
    """rdbkit: Redis persistence files (RDB, AOF) and a Redis-compatible server."""


def _own_rdbtools() -> str | None:
    """Why the ``rdbtools`` package Python finds is not rdbkit's (PyPI's redis-rdb-tools
    has the same import name), or None when it is."""
    spec = importlib.util.find_spec("rdbtools")
    where = (spec.origin or "?") if spec is not None else "nowhere"
    if spec is not None and importlib.util.find_spec("rdbtools.seek") is not None:
        return None
    return (f"the 'rdbtools' package Python finds ({where}) is not rdbkit's: PyPI's "
            "rdbtools (redis-rdb-tools) shares the import name and cannot be installed beside "
            "rdbkit in one environment; give rdbkit a virtualenv of its own (README.md, Install)")


def main(argv: list[str] | None = None) -> None:
    problem = _own_rdbtools()
    if problem is not None:
        click.echo(f"rdbkit: {problem}", err=True)
        sys.exit(ExitStatus.ERROR)
    try:
        cli.main(args=argv, prog_name="rdbkit", standalone_mode=True)
    except BrokenPipeError:  # pragma: no cover - output piped into head, past the verb
        _stdout_reader_gone()
        sys.exit(ExitStatus.PIPE_CLOSED)
