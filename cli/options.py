"""Options shared by several verbs (filters)."""

from __future__ import annotations

import os
import re

import click

from rdbtools.decoder import Filter

TYPES = ("string", "list", "set", "zset", "hash", "stream", "module")


def filter_options(fn):
    """``--db``, ``--key`` (glob), ``--key-regex``, ``--type`` (each repeatable)."""
    fn = click.option("--type", "types", multiple=True, type=click.Choice(TYPES),
                      help="Only keys of this type (repeatable).")(fn)
    fn = click.option("--key-regex", default=None, help="Only keys matching this regex.")(fn)
    fn = click.option("--key", "key_glob", default=None,
                      help="Only keys matching this glob (Redis KEYS syntax).")(fn)
    fn = click.option("--db", "dbs", multiple=True, type=int, help="Only this db (repeatable).")(fn)
    return fn


def make_filter(dbs, key_glob, key_regex, types) -> Filter | None:
    if not (dbs or key_glob is not None or key_regex or types):
        return None
    if key_glob is not None and key_regex:
        raise click.UsageError("--key and --key-regex are exclusive")
    key = None
    if key_glob is not None:  # '' too: as KEYS "", only the empty key
        key = os.fsencode(key_glob)  # the argument's own bytes, as KEYS would get them
    elif key_regex:
        try:
            key = re.compile(key_regex.encode("utf-8"))
        except re.error as exc:
            raise click.BadParameter(str(exc), param_hint="--key-regex") from exc
    return Filter(dbs=frozenset(dbs) or None, key=key, types=frozenset(types) or None)
