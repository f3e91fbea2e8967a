"""The reply buffer sizes CLIENT LIST reports (``rbs``, ``rbp``), kept as Redis 7.0 keeps
them (networking.c, clientsCronResizeOutputBuffer).

Each Redis client has a reply buffer of ``rbs`` bytes (16 KB at first) and remembers the
peak it used (``rbp``); the client cron shrinks an idle client's buffer (peak under half:
to the peak + 1, at least 1 KB) and doubles a busy one's (peak at the size, up to 16 KB),
and resets the peak every ``reply_buffer_peak_reset_time`` ms (DEBUG REPLYBUFFER). Our
replies go to the transport's buffer whatever these figures say: they are the accounting
Redis shows, and INFO's ``reply_buffer_shrinks``/``_expands`` count the resizes.
"""

from __future__ import annotations

from typing import Any

from rdbtools.memory import jemalloc_size

PROTO_REPLY_MIN_BYTES = 1024
PROTO_REPLY_CHUNK_BYTES = 16 * 1024
DEFAULT_PEAK_RESET_MS = 5000
CLIENTS_CRON_MIN_ITERATIONS = 5


class ReplyBuffers:
    """``server.replybuf``: the resize settings, the statistics, the cron's position."""

    def __init__(self) -> None:
        self.peak_reset_ms = DEFAULT_PEAK_RESET_MS  # reply_buffer_peak_reset_time; -1: never
        self.resizing = True  # reply_buffer_resizing_enabled
        self.shrinks = 0
        self.expands = 0
        self._next = 0  # where the last cron pass stopped (clientsCron's rotation)

    def resize(self, c: Any, now_ms: int) -> None:
        """clientsCronResizeOutputBuffer for one client (its buffer is empty between
        event-loop passes here: ``bufpos`` is 0)."""
        if not self.resizing:
            return
        size = c.rbs
        new = 0
        if size // 2 >= PROTO_REPLY_MIN_BYTES and c.rbp < size // 2:
            new = max(PROTO_REPLY_MIN_BYTES, c.rbp + 1)
            self.shrinks += 1
        elif size * 2 < PROTO_REPLY_CHUNK_BYTES * 2 and c.rbp == size:
            new = min(PROTO_REPLY_CHUNK_BYTES, size * 2)
            self.expands += 1
        if self.peak_reset_ms >= 0 and now_ms - c.rbp_reset >= self.peak_reset_ms:
            c.rbp = 0
            c.rbp_reset = now_ms
        if new:
            c.rbs = jemalloc_size(new)

    def cron(self, clients: list[Any], hz: int, now_ms: int) -> None:
        """clientsCron's share of the clients per call: numclients/hz, at least 5."""
        n = len(clients)
        if not n:
            return
        iterations = max(n // hz, min(n, CLIENTS_CRON_MIN_ITERATIONS))
        start = self._next % n
        for i in range(min(iterations, n)):
            self.resize(clients[(start + i) % n], now_ms)
        self._next = (start + iterations) % n

    def info_fields(self) -> list[tuple[str, object]]:
        return [("io_threaded_reads_processed", 0), ("io_threaded_writes_processed", 0),
                ("reply_buffer_shrinks", self.shrinks), ("reply_buffer_expands", self.expands)]

    def reset_stats(self) -> None:
        self.shrinks = self.expands = 0


__all__ = ["DEFAULT_PEAK_RESET_MS", "PROTO_REPLY_CHUNK_BYTES", "ReplyBuffers"]
