"""``rdbkit server [redis.conf] [--option value ...]``: run the bundled Redis-compatible server.

Arguments are redis-server's own: an optional config file, then ``--name value``
pairs applied after it (so the command line wins). The library does the work
(``engine.server.app``); this verb only parses and maps the exit status.
"""

from __future__ import annotations

import click

from ..errors import CliError
from ..exitcodes import ExitStatus


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                 "help_option_names": ["-h", "--help"]})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def server(args: tuple[str, ...]) -> None:
    """Run the Redis-compatible server (same arguments as redis-server)."""
    from engine.config import config_from_argv
    from engine.errors import ConfigError
    from engine.server.app import run

    try:
        config = config_from_argv(list(args))
    except ConfigError as exc:
        raise CliError(f"configuration error: {exc}", ExitStatus.USAGE) from None
    if run(config):  # redis-server's 1; the rdbkit command says "error" with its own status
        raise CliError("server stopped on an error (see the log above)", ExitStatus.ERROR)
