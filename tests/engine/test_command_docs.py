"""COMMAND INFO and COMMAND DOCS of every command we serve equal real redis-server 7.0's.

One COMMAND INFO and one COMMAND DOCS (all commands) per server and protocol; the entries
of each command we serve — and of each subcommand we serve — are compared whole. Redis
lists subcommands in its dict's order, which changes with the hash seed: they are
compared by name. The table's own arity (what the dispatcher checks) must be Redis's.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from engine.execution.registry import TABLE
from tests.engine.conftest import ServerProc

# served here but not by 7.0: a 7.2 subcommand clients send at connect, 7.4's hash field TTLs
NOT_IN_7_0 = {b"client|setinfo"} | {
    c.encode() for c in "hexpire hpexpire hexpireat hpexpireat httl hpttl hexpiretime hpexpiretime hpersist".split()}


def _client(srv: ServerProc, proto: int) -> redis.Redis:
    c = srv.client(socket_timeout=30, protocol=proto)
    c.response_callbacks.clear()
    return c


def _as_dict(x: Any) -> dict:
    return x if isinstance(x, dict) else dict(zip(x[::2], x[1::2], strict=True))


def _info(srv: ServerProc, proto: int) -> dict[bytes, list]:
    """name → COMMAND INFO entry, subcommands keyed by name too."""
    out = {}
    for e in _client(srv, proto).execute_command("COMMAND", "INFO"):
        out[e[0]] = e[:9]
        for s in e[9]:
            out[s[0]] = s[:9]
    return out


def _docs(srv: ServerProc, proto: int) -> dict[bytes, dict]:
    out = {}
    for name, doc in _as_dict(_client(srv, proto).execute_command("COMMAND", "DOCS")).items():
        doc = _as_dict(doc)
        for sub, sdoc in _as_dict(doc.pop(b"subcommands", {})).items():
            out[sub] = _as_dict(sdoc)
        out[name] = doc
    return out


@pytest.mark.parametrize("proto", [2, 3])
def test_command_info_and_docs_like_redis(proto: int, ours: ServerProc, real: ServerProc) -> None:
    ours_info, real_info = _info(ours, proto), _info(real, proto)
    ours_docs, real_docs = _docs(ours, proto), _docs(real, proto)
    served = set(ours_info) - NOT_IN_7_0
    assert served <= set(real_info)
    assert set(ours_docs) == set(ours_info)
    differ = sorted(n for n in served if ours_info[n] != real_info[n] or ours_docs[n] != real_docs[n])
    assert differ == [], {n: (ours_info[n], real_info[n]) for n in differ[:3]}


def test_table_arity_is_redis() -> None:
    """The dispatcher checks the arity COMMAND INFO reports."""
    wrong = []
    for cmd in TABLE.commands.values():
        for c in (cmd, *cmd.subcommands.values()):
            if c.meta is not None and c.meta.arity and c.meta.arity != c.arity:
                wrong.append((c.name, c.arity, c.meta.arity))
    assert wrong == []
