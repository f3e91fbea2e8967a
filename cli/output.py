"""Renderers shared by the verbs: progress on stderr, human text for diffs and reports.

Data goes to stdout, diagnostics (the progress bar) to stderr; the streams and
the terminal test are parameters so tests can drive them.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from rdbtools.diff import (
    AUX,
    EXPIRE,
    FIELD_EXPIRE,
    FUNCTION,
    ONLY_IN_A,
    ONLY_IN_B,
    TYPE,
    Difference,
    DiffStats,
)
from rdbtools.jsonl import jid
from rdbtools.memory import MemorySummary

from .errors import CliError

PROGRESS_MIN_BYTES = 8 << 20


@contextmanager
def pipe_closed_ok() -> Iterator[None]:
    """Let a closed stdout (``| head``) end the command quietly, as ``main`` does."""
    try:
        yield
    except CliError as exc:
        if isinstance(exc.__cause__, BrokenPipeError):
            raise exc.__cause__ from None
        raise


class Progress:
    """A one-line progress bar on stderr.

    Shown only when the stream is a terminal and the input is larger than
    :data:`PROGRESS_MIN_BYTES` (and its size is known: not stdin, not .lz4).
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        interval: float = 0.2,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(total and total >= PROGRESS_MIN_BYTES and isatty and isatty())
        self.enabled = enabled and bool(total)
        self.total = total or 0
        self.label = label
        self.interval = interval
        self._last = 0.0
        self._shown = False

    def update(self, position: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        frac = min(1.0, position / self.total)
        width = 30
        filled = int(frac * width)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.label} [{bar}] {frac * 100:5.1f}% "
            f"{position / 1e6:.1f}/{self.total / 1e6:.1f} MB"
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * (len(self.label) + 60) + "\r")
            self.stream.flush()
            self._shown = False


# ---------------------------------------------------------------- small formatters


def show(b: bytes, limit: int = 60) -> str:
    """Bytes for humans: a JSON-quoted string when UTF-8, else a bytes literal; truncated."""
    cut = b[:limit * 4] if len(b) > limit else b
    try:
        text = json.dumps(cut.decode("utf-8"), ensure_ascii=False)
    except UnicodeDecodeError:
        text = repr(cut)
    if len(b) > limit:
        keep = text[: limit + 1]
        text = f"{keep}…\" ({len(b)} bytes)"
    return text


def iso_ms(ms: int | None) -> str:
    """An absolute ms time as ISO-8601 UTC (the raw number when out of range); "" for None."""
    if ms is None:
        return ""
    try:
        when = _dt.datetime.fromtimestamp(ms / 1000, tz=_dt.UTC)
    except (OverflowError, ValueError, OSError):
        return str(ms)
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S')}.{ms % 1000:03d}Z"


def show_ms(ms: int | None) -> str:
    return "none" if ms is None else f"{iso_ms(ms)} ({ms})"


def _score(x: float) -> str:
    if x == x and abs(x) < 1e17 and x == int(x):
        return str(int(x))
    return repr(x)


def _count(v: Any, t: str) -> str:
    if t == "string":
        return f"{len(v)} bytes"
    if t == "stream":
        return f"{len(v.entries)} entries"
    if t == "module":
        return v.module_name
    unit = {"hash": "fields", "zset": "members", "set": "members"}.get(t, "elements")
    return f"{len(v)} {unit}"


# ---------------------------------------------------------------- diff


def format_difference(d: Difference, max_items: int = 10) -> list[str]:
    """Human lines for one difference (the first line names the key)."""
    det = d.detail
    if d.kind in (FUNCTION, AUX):
        what = "function library" if d.kind == FUNCTION else "aux"
        if det["a"] is None or det["b"] is None:
            return [f"{what}: {show(d.key)}: only in {'B' if det['a'] is None else 'A'}"]
        if d.kind == AUX:
            return [f"aux: {show(d.key)}: {show(det['a'])} -> {show(det['b'])}"]
        return [f"function library: {show(d.key)}: code changed ({len(det['a'])} -> {len(det['b'])} bytes)"]
    where = f"db{d.db} {show(d.key)}"
    if d.kind in (ONLY_IN_A, ONLY_IN_B):
        r = det["record"]
        side = "A" if d.kind == ONLY_IN_A else "B"
        extra = f", expires {show_ms(r.expire_ms)}" if r.expire_ms is not None else ""
        return [f"only in {side}: {where} ({r.type}, {_count(r.value, r.type)}{extra})"]
    if d.kind == TYPE:
        return [f"type: {where}: {det['a']} -> {det['b']}"]
    if d.kind == EXPIRE:
        return [f"expire: {where}: {show_ms(det['a'])} -> {show_ms(det['b'])}"]
    if d.kind == FIELD_EXPIRE:
        lines = [f"field TTLs: {where} (hash): {len(det['changed'])} changed"]
        items = [f"~ {show(f)}: {show_ms(x)} -> {show_ms(y)}" for f, x, y in det["changed"]]
        return lines + _indent(items, max_items)
    head = f"value: {where} ({d.type})"
    if d.type == "string":
        return [f"{head}: {show(det['a'])} -> {show(det['b'])}"]
    if d.type == "set":
        items = [f"+ {show(m)}" for m in det["added"]] + [f"- {show(m)}" for m in det["removed"]]
        return [f"{head}: {len(det['added'])} members added, {len(det['removed'])} removed"] + \
            _indent(items, max_items)
    if d.type in ("hash", "zset"):
        fmt = show if d.type == "hash" else _score
        sep = " = " if d.type == "hash" else " "
        items = [f"+ {show(k)}{sep}{fmt(v)}" for k, v in det["added"]]
        items += [f"- {show(k)}{sep}{fmt(v)}" for k, v in det["removed"]]
        items += [f"~ {show(k)}: {fmt(x)} -> {fmt(y)}" for k, x, y in det["changed"]]
        unit = "fields" if d.type == "hash" else "members"
        return [f"{head}: {len(det['added'])} {unit} added, {len(det['removed'])} removed, "
                f"{len(det['changed'])} changed"] + _indent(items, max_items)
    if d.type == "list":
        items = [f"+ {show(m)}" for m in det["added"]] + [f"- {show(m)}" for m in det["removed"]]
        return [f"{head}: length {det['len_a']} -> {det['len_b']}, first difference at index "
                f"{det['first_index']}"] + _indent(items, max_items)
    if d.type == "stream":
        parts = [f"entries +{len(det['entries_added'])} -{len(det['entries_removed'])} "
                 f"~{len(det['entries_changed'])}"]
        for name, (x, y) in det["meta"].items():
            parts.append(f"{name} {_id_or(x)} -> {_id_or(y)}")
        items = [f"+ group {show(n)}" for n in det["groups_added"]]
        items += [f"- group {show(n)}" for n in det["groups_removed"]]
        items += [f"~ group {show(n)}: {'; '.join(w)}" for n, w in det["groups_changed"].items()]
        items += [f"+ entry {jid(i)}" for i in det["entries_added"]]
        items += [f"- entry {jid(i)}" for i in det["entries_removed"]]
        items += [f"~ entry {jid(i)}" for i in det["entries_changed"]]
        return [f"{head}: {'; '.join(parts)}"] + _indent(items, max_items)
    return [f"{head}: module {det['a']} -> {det['b']}"]


def _id_or(x: Any) -> str:
    return jid(x) if isinstance(x, tuple) else str(x)


def _indent(items: list[str], max_items: int) -> list[str]:
    out = ["    " + x for x in items[:max_items]]
    if len(items) > max_items:
        out.append(f"    … and {len(items) - max_items} more")
    return out


def diff_summary(st: DiffStats) -> str:
    k = st.by_kind
    extra = "".join(f"; {k[kind]} {what} differ" for kind, what in
                    ((FUNCTION, "function libraries"), (AUX, "aux fields")) if k[kind])
    if not st.keys_different:
        if extra:
            return f"no key differences{extra} ({st.keys_a} keys in A, {st.keys_b} in B)"
        return f"no differences ({st.keys_a} keys in A, {st.keys_b} in B)"
    return (
        f"{st.keys_different} keys differ: {k[ONLY_IN_A]} only in A, {k[ONLY_IN_B]} only in B, "
        f"{st.changed_keys} changed ({k[TYPE]} type, {k['value']} value, {k[EXPIRE]} expire, "
        f"{k[FIELD_EXPIRE]} field TTL); {st.keys_a} keys in A, {st.keys_b} in B{extra}"
    )


# ---------------------------------------------------------------- report


def summary_lines(s: MemorySummary, prefixes: int = 20) -> list[str]:
    out = [f"keys: {s.keys}, estimated memory: {s.bytes} bytes ({s.bytes / 1e6:.1f} MB)"]
    out.append("by type:")
    for t, (n, b) in sorted(s.by_type.items(), key=lambda kv: -kv[1][1]):
        out.append(f"  {t:<8} {n:>10} keys {b:>14} bytes")
    out.append("by db:")
    for db, (n, b) in sorted(s.by_db.items()):
        out.append(f"  db{db:<6} {n:>10} keys {b:>14} bytes")
    top = s.top_keys()
    if top:
        out.append(f"top {len(top)} keys by size:")
        for size, db, key, t, enc, n in top:
            out.append(f"  {size:>12}  db{db} {show(key)} ({t}, {enc}, {n} elements)")
    sep = s.separator.decode("utf-8", "backslashreplace")
    out.append(f"key prefixes (split on {sep!r}), top {prefixes} by size:")
    for p, n, b in s.top_prefixes(prefixes):
        name = "(no prefix)" if p is None else show(p)
        out.append(f"  {name:<30} {n:>10} keys {b:>14} bytes")
    return out


def summary_json(s: MemorySummary, prefixes: int = 20) -> dict:
    from rdbtools.jsonl import jbytes

    return {
        "summary": {
            "keys": s.keys,
            "bytes": s.bytes,
            "by_type": {t: {"keys": n, "bytes": b} for t, (n, b) in s.by_type.items()},
            "by_db": {str(db): {"keys": n, "bytes": b} for db, (n, b) in s.by_db.items()},
            "top_keys": [
                {"size_in_bytes": size, "db": db, "key": jbytes(key), "type": t,
                 "encoding": enc, "num_elements": n}
                for size, db, key, t, enc, n in s.top_keys()
            ],
            "prefixes": [
                {"prefix": None if p is None else jbytes(p), "keys": n, "bytes": b}
                for p, n, b in s.top_prefixes(prefixes)
            ],
        }
    }


def with_progress(events, fobj, label: str, stream: IO[str] | None = None):
    """Pass ``events`` through, moving a :class:`Progress` bar by ``fobj``'s read position.

    The size comes from the open file (regular files only: pipes and .lz4 streams
    have no known size, so no bar). Updates every 2048 events keep it off the hot path.
    """
    import os

    total = None
    try:
        fd = fobj.fileno()
        st = os.fstat(fd)
        import stat

        if stat.S_ISREG(st.st_mode) and not hasattr(fobj, "_fp"):
            total = st.st_size
    except (AttributeError, OSError, ValueError):
        total = None
    bar = Progress(total, label, stream=stream)
    if not bar.enabled:
        yield from events
        return
    tell = fobj.tell
    try:
        for i, ev in enumerate(events):
            if not i & 2047:
                bar.update(tell())
            yield ev
    finally:
        bar.close()
