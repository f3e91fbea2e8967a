"""One accelerator switch for the whole project (rdbtools._accel).

``RDBKIT_PUREPYTHON`` unset, empty or ``0`` selects every C accelerator that is built
or installed; any other value selects pure Python everywhere: rdbtools, aof and
engine read it through the same function. Each accelerated name is checked in a fresh
interpreter against its pure-Python reference, which must stay importable either way.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# (what, the name the code uses, its pure-Python reference, what provides the C version)
SWITCHED = [
    ("decode_listpack", "rdbtools.encodings.decode_listpack",
     "rdbtools.encodings.listpack.decode_listpack", "rdbtools._speedups"),
    ("decode_listpack_strings", "rdbtools.encodings.decode_listpack_strings",
     "rdbtools.encodings.listpack.decode_listpack_strings", "rdbtools._speedups"),
    ("decode_ziplist", "rdbtools.encodings.decode_ziplist",
     "rdbtools.encodings.ziplist.decode_ziplist", "rdbtools._speedups"),
    ("decode_ziplist_strings", "rdbtools.encodings.decode_ziplist_strings",
     "rdbtools.encodings.ziplist.decode_ziplist_strings", "rdbtools._speedups"),
    ("decode_intset", "rdbtools.encodings.decode_intset",
     "rdbtools.encodings.intset.decode_intset", "rdbtools._speedups"),
    ("decode_intset_strings", "rdbtools.encodings.decode_intset_strings",
     "rdbtools.encodings.intset.decode_intset_strings", "rdbtools._speedups"),
    ("intset add", "rdbtools.encodings.intset_ops.is_add", "rdbtools.encodings.intset_ops.is_add_py",
     "rdbtools._speedups"),
    ("intset validate", "rdbtools.encodings.intset_ops.is_validate",
     "rdbtools.encodings.intset_ops.is_validate_py", "rdbtools._speedups"),
    ("hash pairs", "rdbtools.objects.hashes._pairs", "rdbtools.objects.hashes._pairs_py", "rdbtools._speedups"),
    ("zset pairs", "rdbtools.objects.zsets._zset_pairs", "rdbtools.objects.zsets._zset_pairs_py",
     "rdbtools._speedups"),
    ("record_to_line", "rdbtools.jsonl.record_to_line", "rdbtools.jsonl._record_to_line_py",
     "rdbtools._speedups"),
    ("records_to_jsonl", "rdbtools.jsonl.records_to_jsonl",
     "rdbtools.jsonl._records_to_jsonl_py", "rdbtools._speedups"),
    ("KeySet", "rdbtools.keyset.KeySet", "rdbtools.keyset._PyKeySet", "rdbtools._speedups"),
    ("decoder key scan", "rdbtools.decoder._scan_keys", "None", "rdbtools._speedups"),
    ("lzf decompress", "rdbtools.lzf.decompress", "rdbtools.lzf._decompress_py",
     "rdbtools._speedups"),
    ("lzf compress", "rdbtools.lzf._lzf", "None", "lzf"),
    ("crc64", "rdbtools.crc64.crc64", "rdbtools.crc64._crc64_py", "anycrc"),
    ("glob_match", "rdbtools.glob.glob_match", "rdbtools.glob._glob_match_py", "rdbtools._glob"),
    ("glob_matcher", "rdbtools.glob.glob_matcher", "rdbtools.glob._python_matcher",
     "rdbtools._glob"),
    ("request scan", "aof.resp._scan_requests", "None", "aof._respfast"),
    ("reply parser", "aof.FastReplyParser", "aof.ReplyParser", "hiredis"),
    ("bulk replies", "aof.replies.bulks", "aof.replies._bulks_py",
     "aof._respfast"),
    ("dataset digest", "rdbtools.digest._add_key", "rdbtools.digest._add_py", "rdbtools._speedups"),
    ("RDB string writer", "rdbtools.primitives.save_string", "rdbtools.primitives._save_string_py",
     "rdbtools._speedups"),
    ("run sort", "rdbtools.spill.sort_runs", "rdbtools.spill._sort_py", "rdbtools._speedups"),
    ("set listpack", "rdbtools.encodings.listpack_set.lps_add", "rdbtools.encodings.listpack_set.lps_add_py",
     "rdbtools._speedups"),
    ("request loop", "engine.execution.dispatch._crun", "None", "engine._fastpath"),
    ("stream node reader", "rdbtools.objects.stream_nodes.load_nodes",
     "rdbtools.objects.stream_nodes._load_nodes_py", "rdbtools._speedups"),
    ("stream live form", "rdbtools.objects.stream_nodes.live_form",
     "rdbtools.objects.stream_nodes.live_form_py", "rdbtools._speedups"),
]

CHILD = """
import json, sys
import rdbtools.crc64, rdbtools.decoder, rdbtools.encodings.intset, rdbtools.encodings.listpack
import rdbtools.encodings.intset_ops
import rdbtools.encodings.ziplist, rdbtools.glob, rdbtools.jsonl, rdbtools.keyset, rdbtools.lzf
import rdbtools.objects.hashes, rdbtools.objects.zsets, aof.resp, aof.replies, rdbtools.digest, rdbtools.primitives
import rdbtools.spill, rdbtools.encodings.listpack_set, engine.execution.dispatch, rdbtools.objects.stream_nodes
checks = json.loads(sys.argv[1])
print(json.dumps({what: eval(chosen) is not eval(pure) for what, chosen, pure, _ in checks}))
"""


def _built(provider: str) -> bool:
    return importlib.util.find_spec(provider) is not None


def _uses_c(value: str | None) -> dict[str, bool]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("RDBKIT_PUREPYTHON", None)
    if value is not None:
        env["RDBKIT_PUREPYTHON"] = value
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SWITCHED)], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("value", [None, "", "0"])
def test_unset_empty_or_zero_selects_c_wherever_built(value: str | None) -> None:
    assert _uses_c(value) == {what: _built(provider) for what, _, _, provider in SWITCHED}


@pytest.mark.parametrize("value", ["1", "true"])
def test_any_other_value_selects_pure_python_everywhere(value: str) -> None:
    assert _uses_c(value) == {what: False for what, *_ in SWITCHED}


def test_one_reader_of_the_variable() -> None:
    """Every module asks rdbtools._accel; none reads the environment variable itself."""
    readers = []
    for pkg in ("rdbtools", "aof", "engine", "cli"):
        for path in sorted((ROOT / pkg).rglob("*")):
            if path.suffix in (".py", ".c", ".h") and "RDBKIT_PUREPYTHON\"" in path.read_text():
                readers.append(str(path.relative_to(ROOT)))
    assert readers == ["rdbtools/_accel.py"]
