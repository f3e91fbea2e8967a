"""``report --html``: one self-contained HTML page drawing memory by key prefix as a treemap.

The page is a template (``treemap.css``, ``treemap.js`` beside this module, inlined)
and one JSON block of data; the script lays the boxes out (squarified) in the
browser and writes every key-derived string with ``textContent``, never as
markup. The JSON block escapes ``<``, ``>`` and ``&``, so no key can close the
block or open a tag. Nothing is fetched: no links, no fonts, no images.

Size is bounded whatever the keyspace: a sub-prefix is drawn only when it holds
at least ``min_share`` of all bytes (smaller boxes would be a few pixels) and at
most ``max_children`` per prefix; the rest of a prefix is one "other" box with
its exact totals. Labels longer than ``LABEL_CHARS`` are cut.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from importlib import resources
from typing import Any

from rdbtools.memory import MemorySummary
from rdbtools.prefixes import PrefixNode, PrefixTree

LABEL_CHARS = 200
BOX_KEYS = 200  # the biggest keys drawn as boxes of their own
TABLE_KEYS = 20  # ... and listed under the map
_ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def readable(b: bytes, limit: int = LABEL_CHARS) -> str:
    """Key bytes for a label: UTF-8 text as it is; invalid bytes ``\\xNN``, control and
    invisible characters ``\\xNN``/``\\uNNNN``, a backslash doubled (so the escapes are
    unambiguous); cut after ``limit`` characters with the full length in bytes."""
    out = []
    for ch in b.decode("utf-8", "surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _ESCAPED_CATEGORIES:
            out.append(f"\\x{cp:02x}" if cp < 0x80 else f"\\u{cp:04x}" if cp < 0x10000 else f"\\U{cp:08x}")
        else:
            out.append(ch)
        if len(out) > limit:
            return "".join(out[:limit]) + f"… ({len(b)} bytes)"
    return "".join(out)


class _Pruner:
    """Turns the tree into the page's nested boxes, keeping what is big enough to see."""

    def __init__(self, tree: PrefixTree, summary: MemorySummary, floor: int, max_children: int) -> None:
        self.tree, self.floor, self.max_children = tree, floor, max_children
        # the biggest keys, each drawn inside the deepest prefix it ends at (when that exists)
        self.keys_at: dict[int, list[tuple[int, int, bytes, str]]] = {}
        for size, db, key, t, _, _ in summary.top_keys():
            node: PrefixNode | None = tree.root
            for part in key.split(tree.separator, tree.depth)[:-1]:
                node = node.children.get(part) if node else None
            if node is not None and size >= floor:
                self.keys_at.setdefault(id(node), []).append((size, db, key, t))

    def box(self, node: PrefixNode, prefix: bytes, part: bytes) -> dict[str, Any]:
        sep = self.tree.separator
        out: dict[str, Any] = {"p": readable(prefix), "l": readable(part + sep) if prefix else "",
                               "k": node.keys, "b": node.bytes, "t": node.types}
        ranked = sorted(node.children.items(), key=lambda kv: (-kv[1].bytes, kv[0]))
        kept = [(p, c) for p, c in ranked[:self.max_children] if c.bytes >= self.floor]
        big = self.keys_at.get(id(node), [])[:self.max_children]
        if not kept and not big:
            return out
        children = [self.box(c, prefix + p + sep, p) for p, c in kept]
        children += [{"key": readable(key), "db": db, "l": readable(key[len(prefix):]), "k": 1,
                      "b": size, "t": {t: size}} for size, db, key, t in big]
        keys = node.keys - sum(c["k"] for c in children)
        if keys:
            types = dict(node.types)
            for c in children:
                for t, b in c["t"].items():
                    types[t] -= b
            folded = len(ranked) - len(kept)
            own = node.own_keys - len(big)
            label = f"{folded} smaller prefixes" if folded or node.rest_keys else ""
            if own:
                label += (" and " if label else "") + (
                    f"{own} keys without a prefix" if not prefix else f"{own} other keys")
            children.append({"o": 1, "n": folded, "k": keys, "l": label,
                             "b": node.bytes - sum(c["b"] for c in children),
                             "t": {t: b for t, b in types.items() if b}})
        children.sort(key=lambda c: -c["b"])
        out["c"] = children
        return out


def page_data(tree: PrefixTree, summary: MemorySummary, sources: list[str],
              min_share: float = 0.001, max_children: int = 100) -> dict[str, Any]:
    """What the page's script draws: the pruned prefix tree, the totals, the biggest keys.

    ``summary`` supplies the biggest keys (drawn as their own boxes inside their
    prefix) and the per-type and per-db tables.
    """
    floor = max(1, int(tree.root.bytes * min_share))
    return {
        "sources": sources,
        "separator": readable(tree.separator),
        "depth": tree.depth,
        "tree": _Pruner(tree, summary, floor, max_children).box(tree.root, b"", b""),
        "by_type": {t: {"keys": n, "bytes": b} for t, (n, b) in summary.by_type.items()},
        "by_db": {str(db): {"keys": n, "bytes": b} for db, (n, b) in summary.by_db.items()},
        "top_keys": [{"bytes": size, "db": db, "key": readable(key), "type": t, "encoding": enc,
                      "elements": n} for size, db, key, t, enc, n in summary.top_keys()[:TABLE_KEYS]],
    }


def _asset(name: str) -> tuple[str, str]:
    """A template file and its CSP hash: only this script and style may run on the page."""
    text = resources.files(__package__).joinpath(name).read_text("utf-8")
    assert "</s" not in text.lower(), name  # would close its <script>/<style> element
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"'sha256-{digest}'"


def render(data: dict[str, Any]) -> bytes:
    """The page: the template with the data as a JSON block no string can break out of."""
    blob = (json.dumps(data, ensure_ascii=True, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    css, css_hash = _asset("treemap.css")
    js, js_hash = _asset("treemap.js")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        f"style-src {css_hash}; script-src {js_hash}\">"
        f"<title>rdbkit memory report</title><style>{css}</style></head>\n<body>"
        "<header id=\"head\"></header><main id=\"map\"></main><section id=\"tables\"></section>"
        "<noscript>This report draws its treemap with JavaScript.</noscript>\n"
        f"<script type=\"application/json\" id=\"data\">{blob}</script>\n"
        f"<script>{js}</script>\n</body></html>\n"
    ).encode()


__all__ = ["page_data", "readable", "render"]
