"""rdbtools.snapshot: a database's keys written in one pass, by C and by Python alike.

The C loop (``snapshot.c``) and ``_key_runs_py`` write the same bytes, and both write
what the record encoder writes for the same keys (``RdbEncoder.key_bytes``: the
opcodes, type, key and value of each key), over strings of every RDB string form,
blobs, hashes kept as dicts (a hash table, or left to the encoder's packing), quicklist
nodes of the three kinds, live streams (with groups: the fallback's), sets held as an
intset, a listpack or a Python set (an all-integer one within the intset limit left to
the encoder), deadlines past and future, LRU and LFU hints, keys the fallback writes or
leaves out, and runs cut at any size.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdbtools import snapshot
from rdbtools.constants import (
    RDB_TYPE_HASH,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_LIST_QUICKLIST_2,
    RDB_TYPE_SET,
    RDB_TYPE_SET_INTSET,
    RDB_TYPE_STREAM_LISTPACKS_2,
    RDB_TYPE_STRING,
)
from rdbtools.encoder import RdbEncoder
from rdbtools.encodings import encode_intset, encode_listpack
from rdbtools.lzf import compress as lzf_compress
from rdbtools.model import Record, Stream
from rdbtools.objects.hashes import ListpackPairs
from rdbtools.objects.lists import QuicklistNodes
from rdbtools.objects.sets import IntsetMembers
from rdbtools.objects.streams import live_entries, split_id
from rdbtools.policy import EncodingPolicy
from rdbtools.primitives import save_len, save_ms
from rdbtools.snapshot import (
    HINT_FREQ,
    HINT_IDLE,
    KIND_BLOB,
    KIND_LISTPACK_SET,
    KIND_MEMBER_SET,
    KIND_PAIRS_DICT,
    KIND_QUICKLIST,
    KIND_STREAM,
    KIND_STRING,
)

C = pytest.importorskip("rdbtools._speedups", reason="C extension not built (pip install -e .)")


@pytest.fixture(autouse=True)
def _c_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The C loop whatever RDBKIT_PUREPYTHON says (the pure run compares the two too)."""
    monkeypatch.setattr(snapshot, "_snapshot_keys", C.snapshot_keys)


class Str(bytes):
    """A bytes subclass standing for a string class of a server (EmbStr)."""


class Packed:
    """A value holding a hash listpack, or converted to a dict (``ht``), maybe with field
    TTLs; ``wide``: a listpack standing for a hash table (the second guard)."""

    __slots__ = ("lp", "ht", "fx", "pairs", "wide")

    def __init__(self, pairs: list[tuple[bytes, bytes]], lp: bool = True, fx: Any = None,
                 wide: bool | None = None) -> None:
        self.pairs = pairs
        self.lp = bytearray(encode_listpack([x for p in pairs for x in p])) if lp else None
        self.ht = None if lp else dict(pairs)
        self.fx = fx
        self.wide = wide


class Listy:
    __slots__ = ("nodes",)

    def __init__(self, nodes: list[Any]) -> None:
        self.nodes = nodes


class Setish:
    """A set held as an intset, a listpack of members or a Python set (``ht``)."""

    __slots__ = ("is_", "lp", "ht", "members")

    def __init__(self, members: list[bytes], form: int) -> None:
        self.is_ = bytearray(encode_intset(sorted({int(m) for m in members}))) if form == 0 else None
        self.lp = bytearray(encode_listpack(members)) if form == 1 else None
        self.ht = set(members) if form == 2 else None
        self.members = list(self.ht) if self.ht is not None else members  # the order written


class Streamy:
    """A live stream as rdbtools.snapshot.STREAM_SHAPE reads it."""

    __slots__ = ("ids", "entries", "last_id", "first_id", "max_deleted", "entries_added", "groups")

    def __init__(self, rng: random.Random) -> None:
        ids = sorted({(rng.choice([1, 7, 2**40]) << 64) | rng.randrange(5) for _ in range(rng.randrange(1, 9))})
        self.ids = ids
        self.entries = {i: [x for _ in range(rng.randrange(1, 3)) for x in (rng.choice([b"f", b"g"]),
                                                                              rng.choice(STRINGS))]
                        for i in ids}
        self.last_id = ids[-1] + rng.choice([0, 5])
        self.first_id = ids[0]
        self.max_deleted = rng.choice([0, 3])
        self.entries_added = len(ids) + rng.choice([0, 2, 2**63])
        self.groups = {b"g": 1} if rng.random() < 0.2 else {}

    def model(self) -> Stream:
        return Stream(entries=live_entries(self.ids, self.entries), length=len(self.ids),
                      last_id=split_id(self.last_id), first_id=split_id(self.first_id),
                      max_deleted_id=split_id(self.max_deleted), entries_added=self.entries_added, groups=())


class Other:
    """A value only the fallback knows."""

    def __init__(self, items: list[tuple[bytes, bytes]]) -> None:
        self.items = items


LAYOUTS = {
    bytes: (RDB_TYPE_STRING, None, KIND_STRING, None),
    Str: (RDB_TYPE_STRING, None, KIND_STRING, None),
    bytearray: (RDB_TYPE_STRING, None, KIND_STRING, None),
    Packed: [(RDB_TYPE_HASH_LISTPACK, "lp", KIND_BLOB, ("fx", "wide")), (RDB_TYPE_HASH, "ht", KIND_PAIRS_DICT, "fx", (3, 20))],
    Listy: (RDB_TYPE_LIST_QUICKLIST_2, "nodes", KIND_QUICKLIST, None),
    Setish: [(RDB_TYPE_SET_INTSET, "is_", KIND_BLOB, None), (RDB_TYPE_SET, "lp", KIND_LISTPACK_SET, None, 3),
             (RDB_TYPE_SET, "ht", KIND_MEMBER_SET, None, 3)],
    Streamy: (RDB_TYPE_STREAM_LISTPACKS_2, None, KIND_STREAM, None, (2, 60, 3)),
}
# the set layouts' limit, the stream layout's node limits, the hash layout's listpack limits
POLICY = EncodingPolicy(set_max_intset_entries=3, stream_node_max_bytes=60, stream_node_max_entries=3,
                        hash_max_listpack_entries=3, hash_max_listpack_value=20)
SET_MEMBERS = [b"1", b"-5", b"70000", b"12345678901", b"a", b"bb" * 20]
STRINGS = [b"", b"0", b"-1", b"127", b"128", b"-32769", b"2147483648", b"12345678901", b"007", b"x",
           b"a" * 21, b"ab" * 40, bytes(range(256)), b"z" * 20]


def record(key: bytes, value: Any, when: int | None, hint: tuple[str, int] | None) -> Record:
    """The record the general encoder writes the same key from."""
    if isinstance(value, bytes | bytearray):
        rec = Record(0, key, "string", bytes(value), when)
    elif isinstance(value, Packed) or isinstance(value, Other):
        pairs = value.pairs if isinstance(value, Packed) else value.items
        v: Any = pairs
        if isinstance(value, Packed) and value.lp is not None and value.fx is None and value.wide is None:
            v = ListpackPairs(bytes(value.lp), 2 * len(pairs))
        rec = Record(0, key, "hash", v, when)
    elif isinstance(value, Streamy):
        rec = Record(0, key, "stream", value.model(), when)
    elif isinstance(value, Setish):
        v = IntsetMembers(bytes(value.is_), len(value.members)) if value.is_ is not None else list(value.members)
        rec = Record(0, key, "set", v, when)
    else:
        rec = Record(0, key, "list", QuicklistNodes(value.nodes, len(value.nodes)), when)
    if hint is not None:
        setattr(rec, hint[0], hint[1])
    return rec


def fallback_for(enc: RdbEncoder) -> Any:
    def fallback(key: bytes, value: Any) -> bytes:
        if isinstance(value, Other) and not value.items:
            return b""  # left out
        if isinstance(value, Streamy):  # with groups: written with none here
            return b"S" + key
        return enc.key_bytes(record(key, value, None, None))

    return fallback


def dataset(rng: random.Random, n: int) -> dict[bytes, Any]:
    data: dict[bytes, Any] = {}
    for i in range(n):
        k = b"k%d" % i
        kind = rng.randrange(11)
        s = rng.choice(STRINGS)
        if kind == 0:
            data[k] = s
        elif kind == 1:
            data[k] = Str(s)
        elif kind == 2:
            data[k] = bytearray(s)
        elif kind in (3, 4):
            pairs = [(b"f%d" % j, rng.choice(STRINGS)) for j in range(rng.randrange(1, 6))]
            data[k] = Packed(pairs, lp=kind == 3, fx={b"f0": 5} if rng.random() < 0.2 else None,
                             wide=True if kind == 3 and rng.random() < 0.2 else None)
        elif kind == 5:
            nodes: list[Any] = []
            for _ in range(rng.randrange(1, 4)):
                elems = [rng.choice(STRINGS) for _ in range(rng.randrange(1, 8))]
                lp = encode_listpack(elems)
                form = rng.randrange(3)
                c = lzf_compress(lp) if form == 2 else None
                nodes.append(bytes(s or b"p") if form == 0 else (c, len(lp)) if c else bytearray(lp))
            data[k] = Listy(nodes)
        elif kind == 6:
            data[k] = Other([(b"a", s)] if rng.random() < 0.8 else [])
        elif kind == 9:
            data[k] = Streamy(rng)
        elif kind == 7:
            members = list(dict.fromkeys(rng.choice(SET_MEMBERS) for _ in range(rng.randrange(1, 6))))
            ints = all(m.lstrip(b"-").isdigit() for m in members)
            data[k] = Setish(members, 0 if ints and rng.random() < 0.5 else rng.choice([1, 1, 2]))
        else:
            data[k] = s * 3
    return data


def run(fn: Any, data: dict[bytes, Any], expires: dict[bytes, int], now: int | None, compress: bool,
        hints: Any, chunk: int) -> tuple[bytes, int, list[int]]:
    enc = RdbEncoder(10, POLICY, compress=compress, aux=None)
    runs = list(fn(data, expires, now, compress, LAYOUTS, fallback_for(enc), hints, chunk))
    return b"".join(d for d, _ in runs), sum(c for _, c in runs), [c for _, c in runs]


def expected(data: dict[bytes, Any], expires: dict[bytes, int], now: int | None, compress: bool,
             hints: Any) -> tuple[bytes, int]:
    """Key by key through RdbEncoder.key_bytes, the hints computed as the engine does."""
    enc = RdbEncoder(10, POLICY, compress=compress, aux=None)
    out = []
    for key, value in data.items():
        when = expires.get(key)
        if when is not None and now is not None and when < now:
            continue
        if isinstance(value, Other) and not value.items:
            continue
        hint = None
        if isinstance(value, Streamy) and value.groups:  # the fallback's
            hint_bytes = b""
            if hints is not None:
                mode, table, clock, default, decay = hints
                if mode == HINT_IDLE:
                    hint_bytes = b"\xf8" + save_len(max(0, clock - table.get(key, default)))
                else:
                    word = table.get(key)
                    hint_bytes = b"\xf9" + bytes((default if word is None else
                                                   snapshot.lfu_decayed(word, clock, decay),))
            exp = b"" if when is None else b"\xfc" + save_ms(when)
            out.append(exp + hint_bytes + b"S" + key)
            continue
        if hints is not None:
            mode, table, clock, default, decay = hints
            if mode == HINT_IDLE:
                hint = ("idle", max(0, clock - table.get(key, default)))
            else:
                word = table.get(key)
                hint = ("freq", default if word is None else snapshot.lfu_decayed(word, clock, decay))
        out.append(enc.key_bytes(record(key, value, when, hint)))
    return b"".join(out), len(out)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(0, 60), st.sampled_from(["none", "idle", "freq"]),
       st.booleans(), st.sampled_from([1, 50, 1 << 16]))
def test_c_and_python_write_what_the_encoder_writes(seed: int, n: int, hint: str, compress: bool,
                                                    chunk: int) -> None:
    rng = random.Random(seed)
    data = dataset(rng, n)
    expires = {k: rng.choice([1000, 5000, 2**40]) for k in data if rng.random() < 0.4}
    table = {k: rng.choice([0, 3000, 4999, (70 << 8) | 200, (65000 << 8) | 9]) for k in data if rng.random() < 0.5}
    hints = {"none": None, "idle": (HINT_IDLE, table, 4000, 3500, 0),
             "freq": (HINT_FREQ, table, 100, 5, rng.choice([0, 1, 7]))}[hint]
    now = rng.choice([None, 3000])
    want = expected(data, expires, now, compress, hints)
    py = run(snapshot._key_runs_py, data, expires, now, compress, hints, chunk)
    c = run(snapshot._key_runs_c, data, expires, now, compress, hints, chunk)
    assert py[:2] == want
    assert c[:2] == want
    assert c[2] == py[2]  # the same runs: cut after the same keys


def test_runs_are_cut_by_size() -> None:
    data = {b"k%d" % i: b"v" * 30 for i in range(100)}
    for fn in (snapshot._key_runs_py, snapshot._key_runs_c):
        _, total, counts = run(fn, data, {}, None, False, None, 200)
        assert total == 100 and len(counts) > 10 and all(c <= 7 for c in counts)


def test_a_dict_changing_size_is_an_error() -> None:
    data = {b"k%d" % i: b"v" * 30 for i in range(100)}
    runs = snapshot._key_runs_c(data, {}, None, False, LAYOUTS, lambda k, v: b"", None, 100)
    next(runs)
    data[b"new"] = b"x"
    with pytest.raises(RuntimeError, match="changed size"):
        next(runs)


def test_errors_of_the_fallback_and_of_values_propagate() -> None:
    def boom(key: bytes, value: Any) -> bytes:
        raise KeyError(key)

    for fn in (snapshot._key_runs_py, snapshot._key_runs_c):
        with pytest.raises(KeyError):
            list(fn({b"a": b"1", b"b": Other([])}, {}, None, True, LAYOUTS, boom, None))
        with pytest.raises(TypeError):  # a quicklist whose nodes are not a list of blobs
            list(fn({b"a": Listy(["text"])}, {}, None, True, LAYOUTS, boom, None))


def test_the_switch_picks_the_loop() -> None:
    from rdbtools._accel import use_c

    assert snapshot.key_runs is (snapshot._key_runs_c if use_c() else snapshot._key_runs_py)


class Propped:
    """A blob behind a property and a plain attribute (no __slots__ member): the C loop
    reads those through getattr."""

    def __init__(self, pairs: list[tuple[bytes, bytes]], fx: Any = None) -> None:
        self.pairs = pairs
        self._lp = bytearray(encode_listpack([x for p in pairs for x in p]))
        self.fx = fx

    @property
    def lp(self) -> bytearray:
        return self._lp


def test_attributes_that_are_not_slots_are_read_too() -> None:
    layouts = {Propped: (RDB_TYPE_HASH_LISTPACK, "lp", KIND_BLOB, "fx")}
    data = {b"a": Propped([(b"f", b"v" * 30)]), b"b": Propped([(b"g", b"1")], fx={b"g": 1}), b"c": b"x"}
    enc = RdbEncoder(10, aux=None)

    def fallback(key: bytes, value: Any) -> bytes:
        if isinstance(value, bytes):
            return enc.key_bytes(Record(0, key, "string", value))
        return enc.key_bytes(Record(0, key, "hash", value.pairs))

    want = b"".join([enc.key_bytes(Record(0, b"a", "hash", ListpackPairs(bytes(data[b"a"].lp), 2))),
                     fallback(b"b", data[b"b"]), fallback(b"c", b"x")])
    for fn in (snapshot._key_runs_py, snapshot._key_runs_c):
        assert b"".join(d for d, _ in fn(data, {}, None, True, layouts, fallback, None)) == want
