"""The engine's dependency order (engine/README.md, "Layers"), checked on its import graph.

The graph is built from the source with :mod:`ast`: every ``import`` of an ``engine``
module, at module level, inside a function (a lazy import is still a dependency) or
under ``if TYPE_CHECKING:`` (a type named is a dependency a reader follows too). A
*unit* is a subpackage (``engine/keyspace/``) or a top-level module
(``engine/config.py``). A unit may import its own modules and units of lower layers;
units of one layer sit side by side and import nothing of each other. The test prints
the unit graph (``pytest -s`` shows it) and fails on a cycle between units and on any
import against the order, naming the file and line.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"


def declared_layers() -> list[list[str]]:
    """The units of each layer, low to high, from the fenced block under "## Layers"."""
    text = (ENGINE / "README.md").read_text()
    m = re.search(r"^## Layers.*?^```text\n(.*?)^```", text, re.S | re.M)
    assert m, "engine/README.md has no '## Layers' section with a ```text block"
    layers = []
    for line in m.group(1).splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            assert words[0].isdigit() and int(words[0]) == len(layers), f"layer numbers run 0, 1, ...: {line!r}"
            layers.append(words[1:])
    return layers


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    p = ROOT.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def unit_of(module: str) -> str:
    """``engine.keyspace.db`` → ``keyspace``; ``engine.config`` → ``config``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> list[tuple[str, int, str]]:
    """(imported engine module, line, kind) for every engine import in ``path``;
    kind is ``module``, ``function`` (inside a def) or ``TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(), str(path))
    kinds: dict[int, str] = {}

    def walk(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            k = kind
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and kind == "module":
                k = "function"
            if isinstance(node, ast.If) and child in node.body and "TYPE_CHECKING" in ast.unparse(node.test):
                k = "TYPE_CHECKING"
            kinds[id(child)] = k
            walk(child, k)

    walk(tree, "module")
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            base = node.module
            targets = [f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        for t in targets:
            if t == "engine" or t.startswith("engine."):
                while not is_module(t):
                    t = t.rsplit(".", 1)[0]
                out.append((t, node.lineno, kinds.get(id(node), "module")))
    return out


def import_graph() -> list[tuple[str, str, str, int, str]]:
    """(importing module, imported module, file, line, kind) over every engine file."""
    edges = []
    for path in sorted(ENGINE.rglob("*.py")):
        src = module_name(path)
        for dst, line, kind in imports_of(path):
            edges.append((src, dst, str(path.relative_to(ROOT)), line, kind))
    return edges


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_every_unit_is_declared() -> None:
    layers = declared_layers()
    declared = [u for layer in layers for u in layer]
    assert len(declared) == len(set(declared)), "a unit is declared twice"
    present = {unit_of(module_name(p)) for p in ENGINE.rglob("*.py")} - {""}
    assert present - set(declared) == set(), "engine units missing from the Layers block of engine/README.md"
    assert set(declared) - present == set(), "the Layers block names units that do not exist"


def test_imports_follow_the_layers() -> None:
    layer = {u: i for i, units in enumerate(declared_layers()) for u in units}
    edges = import_graph()
    graph: dict[str, set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    bad = []
    for src, dst, path, line, kind in edges:
        su, du = unit_of(src), unit_of(dst)
        if su == du or du == "":
            continue
        graph[su].add(du)
        counts[su, du] += 1
        if su not in layer or du not in layer or layer[du] >= layer[su]:
            how = "side by side" if layer.get(du) == layer.get(su) else "upward"
            bad.append(f"{path}:{line}: {src} imports {dst} ({kind}, {how})")
    print("\nengine import graph (unit -> units it imports, with the number of import statements):")
    for u in sorted(graph, key=lambda u: (layer.get(u, 99), u)):
        deps = ", ".join(f"{d} {counts[u, d]}" for d in sorted(graph[u], key=lambda d: (layer.get(d, 99), d)))
        print(f"  L{layer.get(u, '?')} {u:<12} -> {deps}")
    loops = cycles(graph)
    assert not loops, f"import cycles between engine units: {loops}"
    assert not bad, "imports against the declared order:\n" + "\n".join(bad)


def test_the_server_wires_every_subsystem_at_construction() -> None:
    """engine/server/app.py is the wiring point: every subsystem exists once ``Server``
    is built (no lazy getters elsewhere), app.py imports at module level only, and each
    INFO section comes from a provider that answers."""
    from engine.config import Config
    from engine.server.app import Server

    lazy = [line for _, line, kind in imports_of(ENGINE / "server" / "app.py") if kind != "module"]
    assert not lazy, f"function-local imports in engine/server/app.py, lines {lazy}"
    getters = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in ENGINE.rglob("*.py")
               for m in re.finditer(r"^def \w+_of\(server\b.*$", p.read_text(), re.M)]
    assert not getters, f"lazy subsystem getters: {getters}"
    srv = Server(Config())
    for name in ("keyspace", "propagator", "blocking", "obuf", "pubsub", "memory", "scripting",
                 "rdb", "aof", "replication", "shutdown"):
        assert getattr(srv, name, None) is not None, name
    assert list(srv.info_sections)[:11] == ["server", "clients", "memory", "persistence", "stats",
                                           "replication", "cpu", "modules", "errorstats", "cluster",
                                           "keyspace"]
    for name, provider in srv.info_sections.items():
        fields = provider()
        assert all(isinstance(k, str) for k, _ in fields), name
