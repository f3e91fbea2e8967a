"""A loaded stream keeps the file's listpack nodes, as real Redis 7.0 does.

``rdbLoadObject`` inserts each node listpack of the file into the radix tree as it is:
the node boundaries the writer's ``stream-node-max-entries`` made, the master fields of
an entry deleted since, the deleted entries still inside. What follows the load shows
it: XINFO's ``radix-tree-keys``, MEMORY USAGE, which node the next XADD joins (its
count includes the deleted entries), what ``XTRIM ~`` can drop (whole nodes only).
Real Redis writes the file (small nodes, then XDELs), both servers load a copy with
their default node limits, and the same commands must get the same raw replies.
RESTORE of the same key's DUMP payload keeps the nodes too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import start_ours, start_real

pytestmark = pytest.mark.differential

FIELDS = [("a", "b"), ("a", "b"), ("c",), ("a", "b")]


def _fill(c: Any) -> None:
    """Nodes of 4 entries; entries whose fields differ from the master's; XDEL of a
    node's first entry (its fields stay the master's), of a whole node, of the tail."""
    c.config_set("stream-node-max-entries", 4)
    for i in range(1, 23):
        fields = {f: f"{f}{i}" for f in FIELDS[i % 4]}
        c.xadd("s", fields, id=f"{i}-1")
    c.xdel("s", "5-1", "9-1", "10-1", "11-1", "12-1", "22-1", "3-1")
    c.xadd("t", {"x": "1"}, id="1-1")  # one small node, then appended to after the load


def _script() -> list[tuple[Any, ...]]:
    return [
        ("XINFO", "STREAM", "s", "FULL"),
        ("MEMORY", "USAGE", "s"),
        ("XADD", "t", "2-1", "x", "2"),
        ("MEMORY", "USAGE", "t"),
        # the tail node holds 3 live + 1 deleted entries: with the limit of 4 this XADD opens a node
        ("CONFIG", "SET", "stream-node-max-entries", "4"),
        ("XADD", "s", "30-1", "a", "x", "b", "y"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("MEMORY", "USAGE", "s"),
        ("CONFIG", "SET", "stream-node-max-entries", "100"),
        ("XADD", "s", "31-1", "c", "z"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("MEMORY", "USAGE", "s"),
        ("XDEL", "s", "1-1", "2-1", "4-1"),
        ("XINFO", "STREAM", "s"),
        ("XTRIM", "s", "MAXLEN", "~", "6"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("XTRIM", "s", "MINID", "~", "20-0"),
        ("XINFO", "STREAM", "s", "FULL"),
        ("MEMORY", "USAGE", "s"),
        ("XRANGE", "s", "-", "+"),
    ]


def _run(srv: Any, script: list[tuple[Any, ...]]) -> list[Any]:
    c = srv.client(socket_timeout=10)
    c.response_callbacks.clear()
    out = []
    for argv in script:
        try:
            out.append(c.execute_command(*argv))
        except Exception as exc:  # an error reply is a reply to compare
            out.append(("err", str(exc)))
    c.close()
    return out


def test_loaded_stream_keeps_the_files_nodes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    writer = start_real(src)
    try:
        c = writer.client()
        _fill(c)
        payload = c.dump("s")
        c.save()
        c.close()
    finally:
        writer.stop()
    replies = []
    for name, start in (("ours", start_ours), ("real", start_real)):
        d = tmp_path / name
        d.mkdir()
        shutil.copy(src / "dump.rdb", d / "dump.rdb")
        srv = start(d, loaded=True)
        try:
            c = srv.client()
            c.restore("copy", 0, payload)  # RESTORE keeps the payload's nodes as well
            c.close()
            replies.append(_run(srv, [("XINFO", "STREAM", "copy", "FULL"), ("MEMORY", "USAGE", "copy"),
                                      *_script()]))
        finally:
            srv.stop()
    ours, real = replies
    for argv, a, b in zip([("XINFO copy",), ("MEMORY copy",), *_script()], ours, real):
        assert a == b, argv


def test_a_stream_changed_after_decoding_is_appended_again() -> None:
    """Layouts that do not account for the entries (a Stream whose entries were replaced
    after it was decoded) are not kept: the entries are appended, as for a Stream built
    without layouts."""
    import dataclasses

    from engine.config import Config
    from engine.materialize import _stream_value
    from rdbtools.dump import dump_value, restore_value
    from rdbtools.model import Record, Stream

    entries = tuple(((i, 0), ((b"f", b"%d" % i),)) for i in range(1, 6))
    made = Stream(entries=entries, length=5, last_id=(5, 0), first_id=(1, 0), max_deleted_id=(0, 0),
                  entries_added=5, groups=())
    decoded = restore_value(dump_value(Record(0, b"k", "stream", made), 10)).value
    assert decoded.nodes is not None and decoded == made
    fewer = dataclasses.replace(decoded, entries=entries[:3], length=3)
    for st in (decoded, fewer):
        s = _stream_value(st, Config())
        assert sum(n.count for n in s.nodes) == len(s.ids) == len(st.entries)
        assert [i >> 64 for i in s.ids] == [sid[0] for sid, _ in st.entries]
