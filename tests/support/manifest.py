"""Load fixture manifests (corpus format 1) and normalise them to plain Python.

Every RDB under ``fixtures/rdb/`` has a ``<file>.json`` manifest in the format
of shared/corpus/README.md: bytes are JSON strings whose code points are the
byte values (latin-1), zset scores are Python ``repr`` strings of the double.
Tests compare decoder output with :func:`manifest_keys`, which turns that JSON
back into bytes / floats / ints so no test has to know the JSON conventions.

Normalised entry, keyed by ``(db, key)``::

    {"type": str, "encoding": str | None, "expire_ms": int | None,
     "value": <see below>, "lfu_freq": int | None, "lru_idle_s": int | None,
     "field_expires": {field: abs_ms} | None}

Values by type:

* string: ``bytes``
* list: ``list[bytes]`` in list order
* set: ``list[bytes]``, sorted
* zset: ``list[tuple[bytes, float]]`` in ZRANGE order (score, then member);
  ``"inf"``, ``"-inf"`` and ``"-0.0"`` are parsed by ``float()``, so -0.0 keeps
  its sign (compare with ``math.copysign`` when the sign matters)
* hash: ``list[tuple[bytes, bytes]]``, sorted by field
* stream: the manifest dict with every string value turned into bytes and
  dict keys left as ``str``::

      {"entries": [[id, [field, value, ...]], ...],
       "xinfo_full": {"length": int, "radix-tree-keys": int, "radix-tree-nodes": int,
                      "last-generated-id": bytes,
                      # 7.0+: "max-deleted-entry-id": bytes, "entries-added": int,
                      #       "recorded-first-entry-id": bytes
                      "groups": [{"name": bytes, "last-delivered-id": bytes,
                                  # 7.0+: "entries-read": int | None, "lag": int | None
                                  "pel-count": int,
                                  "pending": [[id, consumer, delivery_ms, delivery_count]],
                                  "consumers": [{"name": bytes, "seen-time": int,
                                                 # 7.2+: "active-time": int
                                                 "pel-count": int,
                                                 "pending": [[id, delivery_ms, count]]}]}]}}

  (IDs are ``b"<ms>-<seq>"``; times are absolute Unix ms.)
* module: ``{"module_name": str, "raw": bytes}`` where ``raw`` is every byte
  after the module id through the module EOF opcode (handmade files only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

__all__ = ["FIXTURES", "iter_fixture_rdbs", "load_manifest", "manifest_keys", "manifest_path"]


def manifest_path(path: str | Path) -> Path:
    """The manifest of a fixture file (``dump.rdb`` → ``dump.rdb.json``)."""
    p = Path(path)
    return p if p.name.endswith(".json") else p.with_name(p.name + ".json")


def load_manifest(path: str | Path) -> dict[str, Any]:
    """Parse a manifest, given either the fixture file or the manifest itself."""
    with manifest_path(path).open(encoding="utf-8") as fh:
        manifest: dict[str, Any] = json.load(fh)
    if manifest.get("corpus_format") != 1:
        raise ValueError(f"{path}: unsupported corpus_format {manifest.get('corpus_format')!r}")
    return manifest


def iter_fixture_rdbs(root: Path | None = None) -> list[Path]:
    """Every ``fixtures/rdb/**/*.rdb`` that has a manifest, sorted."""
    base = FIXTURES / "rdb" if root is None else root
    return sorted(p for p in base.rglob("*.rdb") if manifest_path(p).is_file())


def _b(s: str) -> bytes:
    return s.encode("latin-1")


def _bytes_deep(x: Any) -> Any:
    """Strings → bytes everywhere except dict keys (structure names stay ``str``)."""
    if isinstance(x, str):
        return _b(x)
    if isinstance(x, list):
        return [_bytes_deep(i) for i in x]
    if isinstance(x, dict):
        return {k: _bytes_deep(v) for k, v in x.items()}
    return x


def normalise_value(typ: str, value: Any) -> Any:
    """One manifest ``value`` as plain Python (see the module docstring)."""
    if typ == "string":
        return _b(value)
    if typ == "list":
        return [_b(v) for v in value]
    if typ == "set":
        return sorted(_b(v) for v in value)
    if typ == "zset":
        return [(_b(member), float(score)) for member, score in value]
    if typ == "hash":
        return sorted((_b(f), _b(v)) for f, v in value.items())
    if typ == "stream":
        return _bytes_deep(value)
    if typ == "module":
        return {"module_name": value["module_name"], "raw": bytes.fromhex(value["raw_hex"])}
    raise ValueError(f"unknown manifest type {typ!r}")


def manifest_keys(manifest: dict[str, Any]) -> dict[tuple[int, bytes], dict[str, Any]]:
    """``{(db, key): normalised entry}`` for every key in the manifest."""
    out: dict[tuple[int, bytes], dict[str, Any]] = {}
    for db, keys in manifest["dbs"].items():
        for key, entry in keys.items():
            fexp = entry.get("field_expire_at_ms")
            out[(int(db), _b(key))] = {
                "type": entry["type"],
                "encoding": entry.get("encoding"),
                "expire_ms": entry.get("expire_at_ms"),
                "value": normalise_value(entry["type"], entry["value"]),
                "lfu_freq": entry.get("lfu_freq"),
                "lru_idle_s": entry.get("lru_idle_s"),
                "field_expires": None if fexp is None else {_b(f): t for f, t in fexp.items()},
            }
    return out
