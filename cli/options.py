"""Options shared by several verbs (filters)."""

from __future__ import annotations

import re

import click

from rdbtools.decoder import Filter

TYPES = ("string", "list", "set", "zset", "hash", "stream", "module")


def filter_options(fn):
    """``--db``, ``--key`` (glob), ``--key-regex``, ``--type`` (each repeatable)."""
    fn = click.option("--type", "types", multiple=True, type=click.Choice(TYPES),
                      help="Only keys of this type (repeatable).")(fn)
    fn = click.option("--key-regex", default=None, help="Only keys matching this regex.")(fn)
    fn = click.option("--key", "key_glob", default=None, help="Only keys matching this glob.")(fn)
    fn = click.option("--db", "dbs", multiple=True, type=int, help="Only this db (repeatable).")(fn)
    return fn


def make_filter(dbs, key_glob, key_regex, types) -> Filter | None:
    if not (dbs or key_glob or key_regex or types):
        return None
    if key_glob and key_regex:
        raise click.UsageError("--key and --key-regex are exclusive")
    key = None
    if key_glob:
        key = key_glob
    elif key_regex:
        try:
            key = re.compile(key_regex.encode("utf-8"))
        except re.error as exc:
            raise click.BadParameter(str(exc), param_hint="--key-regex") from exc
    return Filter(dbs=frozenset(dbs) or None, key=key, types=frozenset(types) or None)
