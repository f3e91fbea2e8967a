"""Replay an AOF offline into a fresh server: the keyspace it describes, by this engine's rules.

:func:`replay` builds a :class:`~engine.server.app.Server` that never listens and
replays the AOF at ``source`` into it with :func:`engine.persistence.aof_replay.replay_into`
(the loader the server's own start uses); the :class:`Replay` it returns exports the
final keyspace as ``rdbtools.model`` records. ``rdbkit convert`` and ``compact`` use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aof.reader import AofReader
from engine.config import Config
from engine.persistence.aof_replay import (
    REDIS_ONLY_COMMANDS,
    REPLAY_CHUNK,
    Replay,
    ReplayError,
    ReplayUnsupported,
    replay_into,
)
from engine.server.app import Server

__all__ = ["REDIS_ONLY_COMMANDS", "REPLAY_CHUNK", "Replay", "ReplayError", "ReplayUnsupported", "replay",
           "replay_into"]


def replay(
    source: Any,
    *,
    unsupported: str = "error",
    config: Config | None = None,
    load_truncated: bool = True,
    on_item: Callable[[Any], None] | None = None,
    pause_gc: bool = False,
) -> Replay:
    """Replay the AOF at ``source`` (path, directory or manifest; see AofReader).

    ``on_item`` is called with each reader item (a command, a run of commands, a record:
    for progress reporting); ``pause_gc`` is :func:`replay_into`'s.
    Raises :class:`ReplayError` / :class:`ReplayUnsupported`, or the reader's
    ``AofError`` for a malformed file.
    """
    server = Server(config if config is not None else Config())
    return replay_into(server, AofReader(source, load_truncated=load_truncated, packed_listpacks=True,
                                         runs=True, chunk_size=REPLAY_CHUNK),
                       unsupported=unsupported, on_item=on_item, pause_gc=pause_gc)
