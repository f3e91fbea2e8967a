"""Replay an AOF through the engine's own command semantics (``loadAppendOnlyFiles``).

:func:`replay_into` reads any AOF form :class:`aof.reader.AofReader` takes (single file,
RDB preamble, multi-part directory) into a server's keyspace — the server's own start
(:mod:`engine.persistence.aof_load`) and the offline :func:`engine.replay.replay` (a
fresh server, for ``rdbkit convert``/``compact``) both use it. RDB-base records are
materialized through :mod:`engine.materialize`; each command runs on a fake client. The
reader (opened with ``runs=True``) yields the plain commands between SELECT/MULTI/EXEC
and annotations as :class:`aof.commands.CommandRun` items — bare argvs and one flat
list of offsets — and :func:`engine.execution.loading.call_loading` runs a run's known
fast commands with valid arities in one loop (``cmd->proc`` as Redis's loader calls
it, or :func:`~engine.execution.dispatch.call` when something could observe the
command); any other command goes through ``execute`` alone (``MULTI`` queues, ``EXEC``
applies the queue at once, ``SELECT`` moves the client; an unterminated ``MULTI`` at
the end never runs), and an offset is computed only for an error. A reader without
runs (one :class:`~aof.commands.Command` per item) gives the same result. The final
keyspace comes back as ``rdbtools.model.Record`` s through the same bridge
(:meth:`Replay.records`).

As Redis's loader does (``keyIsExpired`` returns 0 while ``server.loading``),
nothing expires during the replay: the keyspace is flagged ``loading``, which holds
its lookups from expiring keys (``Keyspace.expiry_held``), and ``call()`` keeps no
statistics and propagates nothing. Commands read the keyspace's real clock, as Redis
7.0 does: a relative ``SET … EX``/``EXPIRE`` in an old AOF counts from the load (a
7.0 AOF holds absolute ``PXAT``/``PEXPIREAT`` instead). Keys whose deadline is before
``now_ms`` are dropped when exporting.

The engine does not serve every Redis command. A command Redis has but the engine
lacks (Redis 8's HGETDEL/HGETEX/HSETEX, MIGRATE, …) is a
:class:`ReplayUnsupported` error by default; with ``unsupported="skip"`` it is
dropped and counted (``Replay.skipped``), and the keys it names are listed in
``Replay.lossy_keys`` — the output is then NOT equivalent for those keys. A name
Redis does not know is always fatal, with Redis's text
(``Unknown command '%s' reading the append only file %s``) and the offset.

Function libraries: ``FUNCTION`` commands run through the engine's function support
(:mod:`engine.scripting`, which needs lupa) and RDB-base libraries are loaded into it;
the libraries it holds are exported as ``FunctionLibrary`` events. Without lupa,
``FUNCTION LOAD [REPLACE]``, ``FUNCTION DELETE`` and ``FUNCTION FLUSH`` are tracked as
opaque library code (name from the ``#!<engine> name=<lib>`` line, no Lua is run).
EVAL/EVALSHA/FCALL in old AOFs run as scripts.
"""

from __future__ import annotations

import contextlib
import gc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aof.commands import Command, CommandRun
from aof.reader import AofReader, Truncation
from engine.errors import EngineError, LoadError
from engine.execution.client import Client
from engine.execution.dispatch import execute, fast_path
from engine.execution.loading import call_loading, lean_loading, loading_table
from engine.execution.registry import TABLE
from engine.materialize import UnsupportedValue, iter_records
from engine.persistence.dataset import DatasetLoader
from rdbtools.model import FunctionLibrary, FunctionPreGA, Record

__all__ = ["REDIS_ONLY_COMMANDS", "REPLAY_CHUNK", "Replay", "ReplayError", "ReplayUnsupported", "gc_paused", "replay_into"]

# Bytes of AOF read (and parsed into one batch of commands) at a time. A batch's argvs
# and offsets live until it is replayed, in between the keyspace's own allocations: with
# 1 MiB batches those holes kept ~14 MB more resident at the end of the compact bench's
# replay (185 -> 170 MB peak at 64 KiB, 3M writes on 200k keys), for no measurable time
# saved per batch.
REPLAY_CHUNK = 1 << 16

# Write commands (and a few others) Redis 7.x has that this engine does not serve.
# Known to Redis, so not "Unknown command"; each is unsupported rather than fatal.
REDIS_ONLY_COMMANDS = frozenset(
    b.encode() for b in (
        "hgetdel hgetex hsetex "
        "restore-asking migrate"
    ).split()
)
_FUNCTION = b"function"
COLLECT_EVERY = 1 << 19  # commands between two full collections while automatic gc is paused


class ReplayError(EngineError):
    """The AOF cannot be replayed; ``file``/``offset`` locate the command."""

    def __init__(self, message: str, file: str | None = None, offset: int | None = None) -> None:
        where = f" (file {file}, offset {offset})" if file is not None else ""
        super().__init__(message + where)
        self.file = file
        self.offset = offset


class ReplayUnsupported(ReplayError):
    """A command or value Redis has that this engine does not serve."""


@dataclass
class Replay:
    """The outcome of :func:`replay_into`: the server holding the keyspace, plus what happened."""

    server: Any
    functions: dict[bytes, bytes] = field(default_factory=dict)  # library name → code
    commands: int = 0
    records_loaded: int = 0
    errors: int = 0  # commands whose reply was an error (Redis ignores these while loading)
    skipped: Counter = field(default_factory=Counter)  # command/type name → count
    lossy_keys: set[tuple[int, bytes]] = field(default_factory=set)
    truncation: Truncation | None = None

    def key_count(self, now_ms: int | None = None) -> int:
        """Live keys: those whose deadline is not before ``now_ms`` (default: the keyspace's clock)."""
        now = self.server.keyspace.now_ms() if now_ms is None else now_ms
        n = 0
        for db in self.server.keyspace.dbs:
            exp = db.expires
            n += sum(1 for k in db.data if (w := exp.get(k)) is None or w >= now)
        return n

    def records(self, now_ms: int | None = None) -> Iterator[Any]:
        """Function libraries, then every live key as a Record (the dataset iteration SAVE
        uses, without access hints: an AOF carries none)."""
        for code in self.functions.values():
            yield FunctionLibrary(code)
        ks = self.server.keyspace
        yield from iter_records(ks, ks.now_ms() if now_ms is None else now_ms)


@contextlib.contextmanager
def gc_paused(pause: bool, freeze: bool = False) -> Iterator[bool]:
    """Automatic garbage collection off (when asked and it was on); yields whether it is.
    ``freeze``: what was allocated meanwhile (a loaded dataset, long-lived) goes to the
    permanent generation before collection resumes, as the server does after start-up,
    so the first young collection does not walk millions of new objects."""
    if not pause or not gc.isenabled():
        yield False
        return
    gc.disable()
    try:
        yield True
    finally:
        if freeze:
            gc.freeze()
        gc.enable()


def _keys_of(argv: list[bytes]) -> list[bytes]:
    """The keys an unsupported command names (first argument; enough for reporting)."""
    name = argv[0].lower()
    if name in (b"pfmerge",):
        return argv[1:]
    return argv[1:2]


def _library_name(code: bytes) -> bytes | None:
    return FunctionLibrary(code).name


def replay_into(
    server: Any,
    reader: AofReader,
    *,
    unsupported: str = "error",
    on_item: Callable[[Any], None] | None = None,
    on_skip: Callable[[str, str | None, int | None], None] | None = None,
    pause_gc: bool = False,
) -> Replay:
    """``loadAppendOnlyFiles``: every item of ``reader`` into ``server``'s keyspace. ``on_skip`` is
    told about each unsupported item dropped under ``unsupported="skip"`` (what, file,
    offset). With ``pause_gc`` automatic garbage collection is off during the replay and
    a full collection runs every ``COLLECT_EVERY`` commands instead, after which what
    survived is frozen (``gc.freeze``, as the server does with its dataset after start):
    the keyspace only grows, and passes over its millions of objects find almost nothing
    (each would cost ~1 s a million keys)."""
    if unsupported not in ("error", "skip"):
        raise ValueError("unsupported is 'error' or 'skip'")

    client = Client(server)
    client.user = None  # the AOF client may run anything
    dbs = server.keyspace.dbs
    loader = DatasetLoader(server.keyspace, server.config, drop_expired=False)  # RDBFLAGS_AOF_PREAMBLE
    # the RDB base's plain keys applied as the decoder reads them (not seen by on_item)
    sink = reader.rdb_sink = loader.sink() if on_item is None else None
    result = Replay(server)
    skip = unsupported == "skip"
    last_file: str | None = None

    def unsupported_here(what: str, file: str | None, offset: int | None) -> None:
        raise ReplayUnsupported(f"{what} is not supported by this engine", file, offset)

    def skipped(what: str, file: str | None, offset: int | None) -> None:
        result.skipped[what] += 1
        if on_skip is not None:
            on_skip(what, file, offset)

    lookup = TABLE.lookup
    # the fast path, as for a client's pipeline: a run of known fast commands with valid
    # arities goes straight to call_loading (cmd->proc, or call(), which while loading keeps
    # no stats and propagates nothing); MULTI state, subcommands, a wrong arity, stateful or
    # blocking commands go through execute, one at a time
    direct = fast_path(client)
    table = loading_table()
    seen = 0

    def slow(argv: list[bytes], file: str | None, offset: int) -> None:
        """One command through ``execute`` (or the function/unknown-command handling)."""
        name = argv[0].lower()
        if name == _FUNCTION:
            if _run_function(client, argv, result):  # the engine's function support
                return
            _function(result, argv, file, offset, skip, unsupported_here)
            return
        if lookup.get(argv[0]) is None and lookup.get(name) is None and TABLE.original.get(name) is None:
            if name in REDIS_ONLY_COMMANDS:
                if not skip:
                    unsupported_here(f"command '{name.decode(errors='replace')}'", file, offset)
                skipped(name.decode(errors="replace"), file, offset)
                for k in _keys_of(argv):
                    result.lossy_keys.add((client.db.id, k))
                return
            raise ReplayError(
                f"Unknown command '{argv[0].decode(errors='replace')}' reading the append "
                f"only file {file}", file, offset)
        reply = execute(client, argv)
        if reply is not None and reply[:1] == b"-":
            result.errors += 1

    ks = server.keyspace
    fresh = not ks.lfu and not any(db.data for db in dbs)
    with ks.expiry_held(loading=True), gc_paused(pause_gc) as paused:
        lean = lean_loading(client)
        # Into an empty keyspace every key's access clock ends as the load's (createObject
        # sets it, the lookups while loading repeat it: LRU_CLOCK does not move), which
        # is what a key without an entry reports (Keyspace.load_clock): the entries the
        # commands write are dropped batch by batch instead of growing to one a key —
        # unless the RDB base brought idle hints, which later lookups overwrite
        forget_lru = fresh and lean
        for batch in reader.iter_batches():
            if forget_lru and sink is not None and sink.hinted:
                forget_lru = False  # as for a Record with a hint, below
            if forget_lru:
                for db in dbs:
                    if db.lru:
                        db.lru.clear()
            for item in batch:
                if on_item is not None:
                    on_item(item)
                t = type(item)
                if t is CommandRun:
                    argvs = item.argvs
                elif t is Command:
                    argvs = [item.argv]
                else:
                    if t is Record and (item.idle is not None or item.freq is not None):
                        forget_lru = False
                    _other(item, server, loader, result, skip, skipped)
                    continue
                if item.file != last_file:  # every file starts with a fresh fake client
                    last_file = item.file
                    client.multi = None
                    client.multi_error = False
                n = len(argvs)
                result.commands += n
                db = item.db
                i = 0
                while i < n:
                    # inside MULTI a SELECT is queued and runs at EXEC, in order; only a
                    # command run through execute can change the MULTI state or the db
                    multi = client.multi
                    if multi is None and client.db.id != db and 0 <= db < len(dbs):
                        client.db = dbs[db]
                    if direct and multi is None:
                        i, errors = call_loading(client, argvs, i, table, lean)
                        result.errors += errors
                        if i == n:
                            break
                    slow(argvs[i], item.file, item.offset_of(i) if t is CommandRun else item.offset)
                    i += 1
                if paused:
                    seen += n
                    if seen >= COLLECT_EVERY:
                        seen = 0
                        gc.collect()
                        gc.freeze()  # what survived is the dataset: later passes skip it
        client.multi = None  # a MULTI without EXEC at the very end never ran
    if sink is not None:
        result.records_loaded += sink.taken
    if fresh:
        ks.load_clock = ks.lru_clock
    if result.truncation is None:
        result.truncation = reader.truncation
    return result


def _other(item: Any, server: Any, loader: DatasetLoader, result: Replay, skip: bool,
           skipped: Callable[[str, str | None, int | None], None]) -> None:
    """A reader item that is not a command: an RDB-base record (kept even when expired,
    access hints restored: the preamble's loader), a function library, or the
    truncation notice."""
    t = type(item)
    if t is Record:
        try:
            loader.add(item)
        except LoadError as exc:
            raise ReplayError(str(exc), None, item.offset) from None
        except UnsupportedValue as exc:
            if not skip:
                raise ReplayUnsupported(f"key {item.key!r} (db {item.db}): {exc}", None,
                                        item.offset) from exc
            skipped(f"{item.type} value", None, item.offset)
            result.lossy_keys.add((item.db, item.key))
            return
        result.records_loaded += 1
    elif t is FunctionLibrary or t is FunctionPreGA:
        if t is FunctionPreGA:  # a 7.0 release candidate's form, translated as rdbFunctionLoad does
            item = item.library()
        name = item.name
        result.functions[name if name is not None else b""] = item.code
        _load_library(server, item.code, result)
    elif t is Truncation:
        result.truncation = item


def _run_function(client: Any, argv: list[bytes], result: Replay) -> bool:
    """FUNCTION LOAD/DELETE/FLUSH/RESTORE run by the engine (``engine.scripting``) when it has
    the Lua runtime; the libraries it then holds are what ``records()`` exports."""
    funcs = client.server.scripting.functions
    if not funcs.runnable():  # no Lua runtime (lupa missing): track the code only
        return False
    reply = execute(client, argv)
    if reply is not None and reply[:1] == b"-":
        result.errors += 1
    result.functions = {lib.name: lib.code for lib in funcs.libraries.values()}
    return True


def _load_library(server: Any, code: bytes, result: Replay) -> None:
    """A library of the RDB base joins the engine's functions when it runs Lua."""
    try:
        server.scripting.functions.load_code(code)
    except Exception:  # noqa: BLE001 - kept as opaque code (lupa missing, or Redis-only Lua)
        result.errors += 1


def _function(result: Replay, argv: list[bytes], file: str | None, offset: int, skip: bool,
              fail: Callable) -> None:
    sub = argv[1].lower() if len(argv) > 1 else b""
    libs = result.functions
    if sub == b"load" and len(argv) in (3, 4):
        code = argv[-1]
        name = _library_name(code)
        if name is None:
            result.errors += 1
            return
        if name in libs and (len(argv) == 3 or argv[2].lower() != b"replace"):
            result.errors += 1  # "Library already exists": ignored while loading
            return
        libs[name] = code
    elif sub == b"delete" and len(argv) == 3:
        if libs.pop(argv[2], None) is None:
            result.errors += 1
    elif sub == b"flush" and len(argv) <= 3:
        libs.clear()
    elif not skip:
        fail(f"FUNCTION {sub.decode(errors='replace').upper()}", file, offset)
    else:
        result.skipped[f"function {sub.decode(errors='replace')}"] += 1
