"""Logical diff of two dumps in memory that does not grow with them.

How: each input is streamed once into 32-byte records — a 64-bit BLAKE2b digest
of ``(db, key)``, a 64-bit digest of the canonical value (order-insensitive for
sets, hashes and zsets; expiry and hash field TTLs included; LRU/LFU hints
excluded, they are not data), the record's offset and its expiry — kept in
sorted runs of bounded size (:class:`rdbtools.spill.SortedRuns`: one run in
memory for small inputs, runs spilled to ``tmpdir`` and merged for big ones).
A's and B's records are then walked together in digest order; only keys whose
digests differ are compared for real, re-reading both records from their
offsets (:class:`rdbtools.seek.DumpSource`), A's in batches sorted by offset.
Both inputs must therefore be re-readable (a stdin input is spooled).

Digest equality is trusted (a 2^-64 chance per key of missing a change);
digest inequality only schedules a real comparison, so values that are equal
but spelled differently (a stream written without the metadata fields of
newer versions, ``-0.0`` vs ``0.0``) are not reported. A digest met twice in
one input is settled by re-reading: a key read twice in one db is refused
(:class:`~rdbtools.errors.DuplicateKey`, naming both offsets), as a loading
Redis refuses it, so the readers' own duplicate-key set (12-24 bytes a key)
can be left off (``check_duplicates=False``).

Output order: differences of B's keys in B's file order, then keys only in A
in A's file order (the differing keys are sorted back by offset, spilling too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, Protocol

from .errors import DuplicateKey
from .jsonl import jbytes, jid, jscore, value_to_json
from .model import Record, Stream
from .spill import DEFAULT_RUN_BYTES, SortedRuns

ONLY_IN_A = "only_in_a"
ONLY_IN_B = "only_in_b"
TYPE = "type"
EXPIRE = "expire"
VALUE = "value"
FIELD_EXPIRE = "field_expire"
FUNCTION = "function"  # a function library only in one input, or with other code
AUX = "aux"  # an aux field (redis-ver, ctime ...) that differs, when asked for
KINDS = (ONLY_IN_A, ONLY_IN_B, TYPE, EXPIRE, VALUE, FIELD_EXPIRE, FUNCTION, AUX)

_NO_EXPIRE = -(1 << 63)
_BATCH = 2000
_BATCH_WEIGHT = 32 << 20


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference of one key.

    ``kind`` is one of :data:`KINDS`; ``type`` is the key's type in B (in A for
    ``only_in_a``; ``type`` differences carry both in ``detail``). ``detail``
    holds the kind's facts with bytes as bytes (see :func:`difference_to_json`):

    * only_in_a / only_in_b: ``record``
    * type: ``a``, ``b`` (type names)
    * expire: ``a``, ``b`` (absolute ms or None)
    * field_expire: ``changed``: ``[(field, a_ms|None, b_ms|None)]``
    * value, by type — string: ``a``, ``b``; set: ``added``, ``removed``;
      hash: ``added`` / ``removed`` ``[(field, value)]``, ``changed``
      ``[(field, a, b)]``; zset: ``added`` / ``removed`` ``[(member, score)]``,
      ``changed`` ``[(member, a, b)]``; list: ``len_a``, ``len_b``,
      ``first_index`` (first differing position), ``added`` / ``removed``
      (elements as multisets); stream: ``entries_added`` / ``entries_removed``
      / ``entries_changed`` (ids), ``meta`` ``{name: (a, b)}``, ``groups_added``
      / ``groups_removed`` (names), ``groups_changed`` ``{name: [what, ...]}``;
      module: ``a``, ``b`` (module names) and ``same_module``;
    * function (``key`` the library name, ``db`` -1): ``a``, ``b`` (code, None when absent);
    * aux (``key`` the field name, ``db`` -1): ``a``, ``b`` (values, None when absent).
    """

    kind: str
    db: int
    key: bytes
    type: str
    detail: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- digests


def key_digest(db: int, key: bytes) -> int:
    return int.from_bytes(blake2b(b"%d\x00" % db + key, digest_size=8).digest(), "little")


def value_digest(rec: Record) -> int:
    """64-bit digest of type, canonical value, expiry and field TTLs."""
    t = rec.type
    v = rec.value
    if t == "string":
        payload = v
    elif t == "list":
        payload = repr(v).encode()
    elif t == "set" or t == "hash" or t == "zset":
        payload = repr(sorted(v)).encode()
    else:
        payload = repr(v).encode()
    h = blake2b(payload, digest_size=8, person=t.encode())
    if rec.expire_ms is not None:
        h.update(b"\x00e%d" % rec.expire_ms)
    if rec.field_expires:
        h.update(b"\x00f" + repr(sorted(rec.field_expires.items())).encode())
    return int.from_bytes(h.digest(), "little")


# ---------------------------------------------------------------- comparing two records


def compare_records(a: Record, b: Record) -> list[Difference]:
    """Every difference between two records of the same ``(db, key)``."""
    db, key = b.db, b.key
    if a.type != b.type:
        out = [Difference(TYPE, db, key, b.type, {"a": a.type, "b": b.type})]
        if a.expire_ms != b.expire_ms:
            out.append(Difference(EXPIRE, db, key, b.type, {"a": a.expire_ms, "b": b.expire_ms}))
        return out
    out = []
    if a.expire_ms != b.expire_ms:
        out.append(Difference(EXPIRE, db, key, b.type, {"a": a.expire_ms, "b": b.expire_ms}))
    detail = _VALUE_DIFF[a.type](a.value, b.value)
    if detail is not None:
        out.append(Difference(VALUE, db, key, b.type, detail))
    if a.type == "hash" and (a.field_expires or b.field_expires):
        fa = a.field_expires or {}
        fb = b.field_expires or {}
        common = {f for f, _ in a.value} & {f for f, _ in b.value}
        changed = sorted((f, fa.get(f), fb.get(f)) for f in common if fa.get(f) != fb.get(f))
        if changed:
            out.append(Difference(FIELD_EXPIRE, db, key, b.type, {"changed": changed}))
    return out


def _string(a: bytes, b: bytes) -> dict[str, Any] | None:
    return None if a == b else {"a": a, "b": b}


def _set(a: list[bytes], b: list[bytes]) -> dict[str, Any] | None:
    sa, sb = set(a), set(b)
    if sa == sb:
        return None
    return {"added": sorted(sb - sa), "removed": sorted(sa - sb)}


def _pairs(a: list[tuple[Any, Any]], b: list[tuple[Any, Any]]) -> dict[str, Any] | None:
    da, db_ = dict(a), dict(b)
    if da == db_:
        return None
    return {
        "added": sorted((k, v) for k, v in db_.items() if k not in da),
        "removed": sorted((k, v) for k, v in da.items() if k not in db_),
        "changed": sorted((k, da[k], v) for k, v in db_.items() if k in da and da[k] != v),
    }


def _list(a: list[bytes], b: list[bytes]) -> dict[str, Any] | None:
    if a == b:
        return None
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    ca: dict[bytes, int] = {}
    for x in a[first:]:
        ca[x] = ca.get(x, 0) + 1
    added = []
    for y in b[first:]:
        if ca.get(y, 0):
            ca[y] -= 1
        else:
            added.append(y)
    removed = [x for x, n in ca.items() for _ in range(n)]
    return {"len_a": len(a), "len_b": len(b), "first_index": first,
            "added": sorted(added), "removed": sorted(removed)}


def _known(x: Any, y: Any) -> bool:
    """Both sides store this field (older stream formats leave it None)."""
    return x is not None and y is not None and x != y


def _stream(a: Stream, b: Stream) -> dict[str, Any] | None:
    ea, eb = dict(a.entries), dict(b.entries)
    detail: dict[str, Any] = {
        "entries_added": sorted(i for i in eb if i not in ea),
        "entries_removed": sorted(i for i in ea if i not in eb),
        "entries_changed": sorted(i for i in eb if i in ea and ea[i] != eb[i]),
    }
    meta: dict[str, tuple[Any, Any]] = {}
    if a.length != b.length:
        meta["length"] = (a.length, b.length)
    if a.last_id != b.last_id:
        meta["last_id"] = (a.last_id, b.last_id)
    for name in ("first_id", "max_deleted_id", "entries_added"):
        x, y = getattr(a, name), getattr(b, name)
        if _known(x, y):
            meta[name] = (x, y)
    detail["meta"] = meta
    ga = {g.name: g for g in a.groups}
    gb = {g.name: g for g in b.groups}
    detail["groups_added"] = sorted(n for n in gb if n not in ga)
    detail["groups_removed"] = sorted(n for n in ga if n not in gb)
    changed = {}
    for gname in sorted(n for n in gb if n in ga):
        what = _group_changes(ga[gname], gb[gname])
        if what:
            changed[gname] = what
    detail["groups_changed"] = changed
    if not any(detail.values()):
        return None
    return detail


def _group_changes(a: Any, b: Any) -> list[str]:
    what = []
    if a.last_id != b.last_id:
        what.append(f"last_id {jid(a.last_id)} -> {jid(b.last_id)}")
    if _known(a.entries_read, b.entries_read):
        what.append(f"entries_read {a.entries_read} -> {b.entries_read}")
    pa = {p.id: p for p in a.pending}
    pb = {p.id: p for p in b.pending}
    if set(pa) != set(pb):
        what.append(f"pending +{len(set(pb) - set(pa))} -{len(set(pa) - set(pb))}")
    elif any((pa[i].consumer, pa[i].delivery_count, pa[i].delivery_time)
             != (pb[i].consumer, pb[i].delivery_count, pb[i].delivery_time) for i in pa):
        what.append("pending entries changed")
    ca = {c.name: c for c in a.consumers}
    cb = {c.name: c for c in b.consumers}
    for n in sorted(set(cb) - set(ca)):
        what.append(f"consumer added {_text(n)}")
    for n in sorted(set(ca) - set(cb)):
        what.append(f"consumer removed {_text(n)}")
    for n in sorted(set(ca) & set(cb)):
        x, y = ca[n], cb[n]
        if (x.seen_time, x.pending) != (y.seen_time, y.pending) or _known(x.active_time, y.active_time):
            what.append(f"consumer changed {_text(n)}")
    return what


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _module(a: Any, b: Any) -> dict[str, Any] | None:
    if a == b:
        return None
    return {"a": a.module_name, "b": b.module_name, "same_module": a.module_id == b.module_id}


_VALUE_DIFF: dict[str, Callable[[Any, Any], dict[str, Any] | None]] = {
    "string": _string, "list": _list, "set": _set, "hash": _pairs, "zset": _pairs,
    "stream": _stream, "module": _module,
}


# ---------------------------------------------------------------- JSON form


def difference_to_json(d: Difference) -> dict[str, Any]:
    """The JSONL object of one difference (bytes in the ``jbytes`` convention)."""
    obj: dict[str, Any] = {"diff": d.kind, "db": d.db, "key": jbytes(d.key), "type": d.type}
    det = d.detail
    if d.kind in (ONLY_IN_A, ONLY_IN_B):
        r = det["record"]
        obj["expire_ms"] = r.expire_ms
        obj["value"] = value_to_json(r.type, r.value, r.field_expires)
    elif d.kind in (TYPE, EXPIRE):
        obj["a"], obj["b"] = det["a"], det["b"]
    elif d.kind == FIELD_EXPIRE:
        obj["changed"] = [[jbytes(f), x, y] for f, x, y in det["changed"]]
    elif d.kind in (FUNCTION, AUX):
        del obj["db"], obj["key"], obj["type"]
        obj["name"] = jbytes(d.key)
        obj["a"] = None if det["a"] is None else jbytes(det["a"])
        obj["b"] = None if det["b"] is None else jbytes(det["b"])
    elif d.type in ("string",):
        obj["a"], obj["b"] = jbytes(det["a"]), jbytes(det["b"])
    elif d.type == "set":
        obj["added"] = [jbytes(m) for m in det["added"]]
        obj["removed"] = [jbytes(m) for m in det["removed"]]
    elif d.type == "list":
        obj.update({k: det[k] for k in ("len_a", "len_b", "first_index")})
        obj["added"] = [jbytes(m) for m in det["added"]]
        obj["removed"] = [jbytes(m) for m in det["removed"]]
    elif d.type in ("hash", "zset"):
        conv = jbytes if d.type == "hash" else jscore
        obj["added"] = [[jbytes(k), conv(v)] for k, v in det["added"]]
        obj["removed"] = [[jbytes(k), conv(v)] for k, v in det["removed"]]
        obj["changed"] = [[jbytes(k), conv(x), conv(y)] for k, x, y in det["changed"]]
    elif d.type == "stream":
        for name in ("entries_added", "entries_removed", "entries_changed"):
            obj[name] = [jid(i) for i in det[name]]
        obj["meta"] = {k: [_jmeta(x), _jmeta(y)] for k, (x, y) in det["meta"].items()}
        obj["groups_added"] = [jbytes(n) for n in det["groups_added"]]
        obj["groups_removed"] = [jbytes(n) for n in det["groups_removed"]]
        obj["groups_changed"] = [[jbytes(n), w] for n, w in det["groups_changed"].items()]
    else:
        obj.update(det)
    return obj


def _jmeta(x: Any) -> Any:
    return jid(x) if isinstance(x, tuple) else x


# ---------------------------------------------------------------- streaming two inputs


class Source(Protocol):
    """What :func:`diff_sources` needs of an input (see :class:`~rdbtools.seek.DumpSource`)."""

    def records(self) -> Iterator[Record]: ...

    def read_many(self, wanted: Any) -> dict[int, Record]: ...


@dataclass(slots=True)
class DiffStats:
    """Counts filled in while :func:`diff_sources` runs."""

    keys_a: int = 0
    keys_b: int = 0
    changed_keys: int = 0  # keys in both inputs with at least one difference
    reread: int = 0  # A records re-read by offset
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def keys_different(self) -> int:
        return self.by_kind[ONLY_IN_A] + self.by_kind[ONLY_IN_B] + self.changed_keys

    @property
    def different(self) -> bool:
        """Anything differs: keys, function libraries, aux fields (when compared)."""
        return bool(self.keys_different or self.by_kind[FUNCTION] or self.by_kind[AUX])


def _weight(rec: Record) -> int:
    v = rec.value
    if rec.type == "string":
        return 64 + len(v)
    if rec.type == "stream":
        return 64 + 128 * len(v.entries)
    if rec.type == "module":
        return 64 + len(v.raw)
    return 64 + 48 * len(v)


def diff_sources(a: Source, b: Source, stats: DiffStats | None = None,
                 aux: bool = False, *, run_bytes: int = DEFAULT_RUN_BYTES,
                 tmpdir: str | None = None) -> Iterator[Difference]:
    """Every difference between two inputs, both re-readable (:meth:`read_many`). After
    the keys: the function libraries, when both inputs are RDB files (a JSONL dump holds
    none), and with ``aux`` the aux fields. ``run_bytes`` bounds the memory of each
    sorted run (:class:`~rdbtools.spill.SortedRuns`), ``tmpdir`` is where runs spill;
    close the generator (or exhaust it) to give their space back."""
    st = stats if stats is not None else DiffStats()
    yield from _diff_keys(a, b, st, run_bytes, tmpdir)
    if getattr(a, "format", "rdb") == "rdb" and getattr(b, "format", "rdb") == "rdb":
        yield from _diff_named(FUNCTION, getattr(a, "functions", {}), getattr(b, "functions", {}), st)
        if aux:
            yield from _diff_named(AUX, _aux_map(getattr(a, "aux", [])), _aux_map(getattr(b, "aux", [])), st)


def _aux_map(fields: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Aux fields by name; a name written twice keeps its values joined by commas."""
    out: dict[bytes, bytes] = {}
    for k, v in fields:
        out[k] = out[k] + b"," + v if k in out else v
    return out


def _diff_named(kind: str, a: dict[bytes, bytes], b: dict[bytes, bytes], st: DiffStats) -> Iterator[Difference]:
    for name in sorted(a.keys() | b.keys()):
        x, y = a.get(name), b.get(name)
        if x != y:
            st.by_kind[kind] += 1
            yield Difference(kind, -1, name, kind, {"a": x, "b": y})


def _diff_keys(a: Source, b: Source, st: DiffStats, run_bytes: int,
               tmpdir: str | None) -> Iterator[Difference]:
    with SortedRuns(run_bytes, tmpdir) as runs_a, SortedRuns(run_bytes, tmpdir) as runs_b, \
            SortedRuns(run_bytes // 2, tmpdir) as by_b, SortedRuns(run_bytes // 2, tmpdir) as only_a:
        for runs, src in ((runs_a, a), (runs_b, b)):
            add = runs.add
            for rec in src.records():
                e = rec.expire_ms
                add(key_digest(rec.db, rec.key), value_digest(rec), rec.offset,
                    _NO_EXPIRE if e is None else e)
            runs.finish()
        st.keys_a, st.keys_b = runs_a.count, runs_b.count
        _match(runs_a, runs_b, by_b, only_a, a, b)
        runs_a.close()
        runs_b.close()
        yield from _changed(by_b, only_a, a, b, st)
        yield from _only_in_a(only_a, a, st)


_END = (1 << 64, 0, 0, 0)  # after every 64-bit digest


def _match(runs_a: SortedRuns, runs_b: SortedRuns, by_b: SortedRuns, only_a: SortedRuns,
           a: Source, b: Source) -> None:
    """Walk A's and B's records in key-digest order: a key in B that differs (or is not in
    A) goes to ``by_b`` as ``(b offset, a offset + 1 or 0, b expiry, a expiry)``, a key
    only in A to ``only_a`` as ``(a offset, 0, a expiry, 0)``. A digest met more than
    once on a side (a duplicate key, or two keys sharing a digest) is settled by
    re-reading its records (:func:`_settle`)."""
    ita, itb = iter(runs_a), iter(runs_b)
    ra, na = next(ita, _END), next(ita, _END)
    rb, nb = next(itb, _END), next(itb, _END)
    add_b, add_a = by_b.add, only_a.add
    while True:
        ka, kb = ra[0], rb[0]
        if na[0] == ka != _END[0] or nb[0] == kb != _END[0]:
            k = min(ka, kb)
            group_a: list[tuple[int, ...]] = []
            group_b: list[tuple[int, ...]] = []
            while ra[0] == k:
                group_a.append(ra)
                ra, na = na, next(ita, _END)
            while rb[0] == k:
                group_b.append(rb)
                rb, nb = nb, next(itb, _END)
            _settle(group_a, group_b, by_b, only_a, a, b)
        elif ka == kb:
            if ka == _END[0]:
                return
            if ra[1] != rb[1]:
                add_b(rb[2], ra[2] + 1, rb[3], ra[3])
            ra, na = na, next(ita, _END)
            rb, nb = nb, next(itb, _END)
        elif ka < kb:
            add_a(ra[2], 0, ra[3], 0)
            ra, na = na, next(ita, _END)
        else:
            add_b(rb[2], 0, rb[3], 0)
            rb, nb = nb, next(itb, _END)


def _expire(e: int) -> int | None:
    return None if e == _NO_EXPIRE else e


def _settle(group_a: list[tuple[int, ...]], group_b: list[tuple[int, ...]],
            by_b: SortedRuns, only_a: SortedRuns, a: Source, b: Source) -> None:
    """Records of A and B sharing one key digest, matched by their real ``(db, key)``; a
    key twice in one input is refused as a loading Redis refuses it."""
    keyed = []
    for group, src in ((group_a, a), (group_b, b)):
        recs = src.read_many((r[2], _expire(r[3])) for r in group)
        seen: dict[tuple[int, bytes], tuple[int, ...]] = {}
        for r in sorted(group, key=lambda r: r[2]):
            rec = recs[r[2]]
            first = seen.setdefault((rec.db, rec.key), r)
            if first is not r:
                # mirrors rdbLoadRioWithLoadingCtx: dbAddRDBLoad fails -> "RDB has duplicated key"
                raise DuplicateKey(
                    f"duplicated key: read twice in one db, first at offset {first[2]} (a loading "
                    "redis-server panics: 'RDB has duplicated key')",
                    offset=r[2], phase="read-key", key=rec.key, db=rec.db,
                    source=getattr(src, "name", None))
        keyed.append(seen)
    in_a, in_b = keyed
    for k, rb in in_b.items():
        ra = in_a.pop(k, None)
        if ra is None:
            by_b.add(rb[2], 0, rb[3], 0)
        elif ra[1] != rb[1]:
            by_b.add(rb[2], ra[2] + 1, rb[3], ra[3])
    for ra in in_a.values():
        only_a.add(ra[2], 0, ra[3], 0)


def _changed(by_b: SortedRuns, only_a: SortedRuns, a: Source, b: Source,
             st: DiffStats) -> Iterator[Difference]:
    """The keys of B that differ, in B's order: each B record re-read by offset, the A
    records of a batch re-read together (sorted by offset)."""
    pending: list[tuple[Record, int, int]] = []
    weight = 0

    def flush() -> Iterator[Difference]:
        fetched = a.read_many((off, _expire(e)) for _, off, e in pending if off >= 0)
        st.reread += len(fetched)
        for rb, off, e in pending:
            ra = fetched[off] if off >= 0 else None
            if ra is not None and (ra.key != rb.key or ra.db != rb.db):  # a 64-bit digest collision
                only_a.add(off, 0, e, 0)
                ra = None
            if ra is None:
                st.by_kind[ONLY_IN_B] += 1
                yield Difference(ONLY_IN_B, rb.db, rb.key, rb.type, {"record": rb})
                continue
            diffs = compare_records(ra, rb)
            if diffs:
                st.changed_keys += 1
            for d in diffs:
                st.by_kind[d.kind] += 1
                yield d
        pending.clear()

    for b_off, a_off, b_exp, a_exp in by_b:
        rb = b.read_many(((b_off, _expire(b_exp)),))[b_off]
        pending.append((rb, a_off - 1, a_exp))
        weight += _weight(rb)
        if len(pending) >= _BATCH or weight >= _BATCH_WEIGHT:
            yield from flush()
            weight = 0
    if pending:
        yield from flush()


def _only_in_a(only_a: SortedRuns, a: Source, st: DiffStats) -> Iterator[Difference]:
    """The keys of A never met in B, in A's order, re-read in batches."""
    batch: list[tuple[int, int | None]] = []
    it = iter(only_a)
    while True:
        batch.clear()
        for off, _, e, _ in it:
            batch.append((off, _expire(e)))
            if len(batch) >= _BATCH:
                break
        if not batch:
            return
        fetched = a.read_many(batch)
        st.reread += len(fetched)
        for off, _ in batch:
            ra = fetched[off]
            st.by_kind[ONLY_IN_A] += 1
            yield Difference(ONLY_IN_A, ra.db, ra.key, ra.type, {"record": ra})


__all__ = [
    "AUX",
    "FUNCTION",
    "DiffStats",
    "Difference",
    "KINDS",
    "compare_records",
    "diff_sources",
    "difference_to_json",
    "key_digest",
    "value_digest",
]
