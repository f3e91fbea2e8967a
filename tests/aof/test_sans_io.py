"""``aof`` stays below the engine and sans-IO (docs/style.md rules 1 and 2).

The replication handshake, the master-stream reader and hash slots live here so that
the engine's replica link and the CLI's remote commands can both use them; that holds
only while no ``aof`` module imports ``engine`` or ``cli`` and none opens a socket or
an event loop of its own. Every import is checked, function-local ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AOF = Path(__file__).resolve().parents[2] / "aof"
ABOVE = {"engine", "cli"}
IO = {"socket", "asyncio", "selectors", "ssl"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(AOF.glob("*.py")), ids=lambda p: p.name)
def test_aof_module_imports_nothing_above_it_and_no_network_io(path: Path) -> None:
    tops = {name.split(".")[0] for name in _imports(path)}
    assert not tops & ABOVE, f"aof/{path.name} imports {sorted(tops & ABOVE)}: aof sits below them"
    assert not tops & IO, f"aof/{path.name} imports {sorted(tops & IO)}: aof's cores are sans-IO"


def test_the_shared_protocol_modules_are_checked() -> None:
    names = {p.name for p in AOF.glob("*.py")}
    assert {"handshake.py", "replstream.py", "slots.py"} <= names
