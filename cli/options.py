"""Options shared by several verbs (filters)."""

from __future__ import annotations

import datetime as _dt
import os
import re
from typing import Any

import click

from rdbtools.decoder import Filter
from rdbtools.model import Record

TYPES = ("string", "list", "set", "zset", "hash", "stream", "module")


_EXTRA = "rdbkit.filter"  # ctx.meta: the filters every verb takes without naming them


def _keep(name: str):
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta.setdefault(_EXTRA, {})[name] = value
        return value
    return callback


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([kmg]?)b?\s*", text.lower())
    if m is None:
        raise click.BadParameter(f"{text!r}: a size in bytes, e.g. 512, 10k, 5mb", param_hint="'--min-size/--max-size'")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2)]


def _when_ms(text: str) -> int:
    """Unix seconds, unix milliseconds (13+ digits) or an ISO-8601 date/time (UTC unless
    it says otherwise), in ms."""
    if re.fullmatch(r"\d+", text):
        n = int(text)
        return n if len(text) >= 12 else n * 1000
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: unix seconds or ms, or an ISO date such as 2026-12-31",
                                 param_hint="'--expiry'") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return int(t.timestamp() * 1000)


def _expiry(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    kind, sep, when = text.partition(":")
    if kind in ("none", "any") and not sep:
        return kind, 0
    if kind in ("before", "after") and sep:
        return kind, _when_ms(when)
    raise click.BadParameter(f"{text!r}: none, any, before:TIME or after:TIME", param_hint="'--expiry'")


def filter_options(fn):
    """``--db``, ``--key`` (glob), ``--key-regex``, ``--type`` (each repeatable), and
    ``--not-key``, ``--expiry``, ``--encoding``, ``--min-size``, ``--max-size`` (kept in the
    context for :func:`make_filter`)."""
    fn = click.option("--max-size", expose_value=False, callback=_keep("max_size"), metavar="BYTES",
                      help="Only keys taking at most this much memory (as report estimates it; 10k, 5mb).")(fn)
    fn = click.option("--min-size", expose_value=False, callback=_keep("min_size"), metavar="BYTES",
                      help="Only keys taking at least this much memory (as report estimates it).")(fn)
    fn = click.option("--encoding", expose_value=False, multiple=True, callback=_keep("encodings"),
                      help="Only keys Redis 7.0 would hold in this encoding (listpack, intset, "
                           "quicklist, hashtable, skiplist, embstr, int, raw, stream; repeatable).")(fn)
    fn = click.option("--expiry", expose_value=False, callback=_keep("expiry"),
                      metavar="none|any|before:T|after:T",
                      help="Only keys without a TTL, with one, or expiring before/after T (unix "
                           "seconds or ms, or an ISO date).")(fn)
    fn = click.option("--not-key", expose_value=False, callback=_keep("not_key"), metavar="GLOB",
                      help="Leave out keys matching this glob.")(fn)
    fn = click.option("--type", "types", multiple=True, type=click.Choice(TYPES),
                      help="Only keys of this type (repeatable).")(fn)
    fn = click.option("--key-regex", default=None, help="Only keys matching this regex.")(fn)
    fn = click.option("--key", "key_glob", default=None,
                      help="Only keys matching this glob (Redis KEYS syntax).")(fn)
    fn = click.option("--db", "dbs", multiple=True, type=int, help="Only this db (repeatable).")(fn)
    return fn


def _accept(encodings: tuple[str, ...], lo: int | None, hi: int | None):
    """The test on built records for --encoding and the size bounds (memory estimates)."""
    if not encodings and lo is None and hi is None:
        return None
    from rdbtools.memory import estimate

    wanted = frozenset(encodings)

    def accept(rec: Record) -> bool:
        est = estimate(rec)
        return ((not wanted or est.encoding in wanted) and (lo is None or est.total >= lo)
                and (hi is None or est.total <= hi))
    return accept


def make_filter(dbs, key_glob, key_regex, types) -> Filter | None:
    ctx = click.get_current_context(silent=True)
    extra = ctx.meta.get(_EXTRA, {}) if ctx is not None else {}
    not_key = extra.get("not_key")
    expiry = _expiry(extra.get("expiry"))
    accept = _accept(tuple(extra.get("encodings") or ()), _size(extra.get("min_size")),
                     _size(extra.get("max_size")))
    if not (dbs or key_glob is not None or key_regex or types or not_key is not None or expiry or accept):
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
    return Filter(dbs=frozenset(dbs) or None, key=key, types=frozenset(types) or None,
                  not_key=os.fsencode(not_key) if not_key is not None else None, expiry=expiry,
                  accept=accept)


def tmpdir_option(help: str):
    """``--tmpdir DIR``: where a verb's sorted runs spill and a stdin or ``.lz4`` input is
    copied to be read again (an existing, writable directory; default $TMPDIR or /tmp)."""
    return click.option("--tmpdir", type=click.Path(file_okay=False, dir_okay=True, writable=True, exists=True),
                        default=None, help=f"{help} (default: $TMPDIR or /tmp).")


def _db_map(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[int, int]:
    out: dict[int, int] = {}
    for v in values:
        src, sep, dst = v.partition(":")
        if not sep or not src.isdigit() or not dst.isdigit():
            raise click.BadParameter(f"{v!r}: expected SRC:DST, two db numbers (e.g. 1:0)")
        out[int(src)] = int(dst)
    return out


def db_map_option(help: str):
    """``--db-map SRC:DST`` (repeatable), for the verbs that write into a live server."""
    return click.option("--db-map", "db_map", multiple=True, callback=_db_map, metavar="SRC:DST", help=help)
