"""The AOF loader's way through a command: ``cmd->proc`` as ``loadSingleAppendOnlyFile``
calls it, outside ``call()``, for runs of commands at a time.

:func:`lean_loading` says whether the replay may skip what :func:`.dispatch.call` does
around a command; :func:`call_loading` runs a run of the reader's commands while each is
one :func:`loading_table` knows with a valid arity, and leaves the first other one to
:func:`.dispatch.execute` (engine/persistence/aof_replay.py drives both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.errors import CommandError
from engine.execution.dispatch import call, internal_error
from engine.execution.registry import ARBITRARY_KEYS, TABLE, Command

if TYPE_CHECKING:
    from engine.execution.client import Client

__all__ = ["call_loading", "lean_loading", "loading_table"]


def lean_loading(c: Client) -> bool:
    """Whether nothing but the keyspace can observe a command replayed on ``c`` now: no
    WATCHed or blocked-on key in any db, no client-side caching, no maxmemory
    accounting, no cluster slot index to feed. Then :func:`call_loading` may skip what
    :func:`call` does around the command; the replay checks it once, as nothing it runs
    can change it."""
    srv = c.server
    trk = srv.tracking
    return (srv.keyspace.loading and srv.evictor is None and srv.cluster is None and not trk.active
            and not trk.tracking_clients and not srv.monitors
            and not any(db.watched or db.blocking for db in srv.keyspace.dbs))


def loading_table() -> dict[bytes, Command]:
    """The commands :func:`call_loading` may run, by every spelling the lookup knows:
    those of the pipelined fast path (``Command.fast``), without subcommands."""
    return {k: cmd for k, cmd in TABLE.lookup.items() if cmd.fast and not cmd.subcommands}


def call_loading(c: Client, argvs: list[list[bytes]], i: int, table: dict[bytes, Command],
                 lean: bool) -> tuple[int, int]:
    """Run ``argvs[i:]`` as ``loadSingleAppendOnlyFile`` runs commands, while each is in
    ``table`` (:func:`loading_table`) with a valid arity; returns the index of the first
    one it did not run (``len(argvs)`` when all ran) and how many replied an error
    (ignored while loading). The caller runs that one through :func:`execute`.

    Without ``lean`` each goes through :func:`call` (which, while the keyspace loads,
    keeps no statistics and propagates nothing). With ``lean`` (:func:`lean_loading`)
    this is ``cmd->proc(fakeClient)`` outside ``call()``, as Redis's loader: no
    statistics, slow log or MONITOR feed, no propagation of the command itself, nobody
    to signal — only the error count (``afterErrorReply``) and delivering what the
    command queued on its own. The AOF replay's hot loop.
    """
    n = len(argvs)
    errors = 0
    get = table.get
    srv = c.server
    prop = srv.propagator
    while i < n:
        argv = argvs[i]
        cmd = get(argv[0])
        if cmd is None:
            break
        na = len(argv)
        a = cmd.arity
        if (a > 0 and na != a) or na < -a:
            break
        if not lean:
            reply = call(c, cmd, argv)  # type: ignore[assignment]  # a fast command never blocks
            if reply and reply[0] == 45:  # "-"
                errors += 1
            i += 1
            continue
        c.last_cmd = cmd
        try:
            reply = cmd.proc(c, argv)  # type: ignore[misc]
        except CommandError as exc:
            reply = exc.reply
        except Exception:  # a bug must not stop the load silently
            reply = internal_error(cmd, argv)
        if reply and reply[0] == 45:  # "-"
            errors += 1
            if c.error_counted:
                c.error_counted = False
            else:
                srv.count_error(reply)
        if c.rewritten is not None:
            c.rewritten = None
        if c.modified is not None:
            c.modified = None
        if prop.ops and not c.in_exec:
            prop.flush(cmd.name not in ARBITRARY_KEYS)
        i += 1
    return i, errors
