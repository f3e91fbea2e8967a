"""Turning library errors into one-line CLI failures with the right exit status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from rdbtools.errors import RdbError

from .exitcodes import ExitStatus


class CliError(click.ClickException):
    """A failure shown as ``rdbkit: <message>`` with a chosen exit status."""

    def __init__(self, message: str, status: int = ExitStatus.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(status)

    def format_message(self) -> str:
        return self.message

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        click.echo(f"rdbkit: {self.format_message()}", err=True)


@contextmanager
def library_errors() -> Iterator[None]:
    """Map every library error to a CliError (corrupt input gets its own status)."""
    try:
        yield
    except RdbError as exc:
        raise CliError(str(exc), ExitStatus.CORRUPT_INPUT) from exc
    except BrokenPipeError:
        raise  # output piped into head: cli.main exits quietly
    except OSError as exc:
        name = getattr(exc, "filename", None)
        where = f"{name}: " if name else ""
        raise CliError(f"{where}{exc.strerror or exc}", ExitStatus.ERROR) from exc
