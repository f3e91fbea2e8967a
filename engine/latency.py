"""The latency monitor and the per-command latency histograms (Redis's latency.c).

Two independent records, both read by the LATENCY command:

* :class:`LatencyMonitor` keeps, per event class ("command", "fast-command",
  "expire-cycle", "eviction-cycle", "fork", ...), the last 160 samples at least
  ``latency-monitor-threshold`` milliseconds long, one per second (the worst of that
  second), and the all-time maximum. LATEST, HISTORY, RESET, GRAPH and DOCTOR read it.
* :class:`Histogram` is one command's distribution of run times in the shape of
  Redis's HdrHistogram (1 ns .. 1 s, two significant digits): LATENCY HISTOGRAM
  reports it as a cumulative distribution over power-of-two buckets, INFO
  latencystats as percentiles.

The module sits low in the engine so every subsystem that times a code path Redis
times (the command path, active expiry, eviction, forks) records into the same monitor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

TS_LEN = 160  # LATENCY_TS_LEN: samples kept per event
GRAPH_COLS = 80
HIST_MIN, HIST_MAX = 1, 1_000_000_000  # LATENCY_HISTOGRAM_MIN_VALUE / _MAX_VALUE (ns)


class Series:
    """latencyTimeSeries: a ring of (unix second, ms) samples and the all-time max."""

    __slots__ = ("idx", "max", "samples")

    def __init__(self) -> None:
        self.idx = 0
        self.max = 0
        self.samples: list[tuple[int, int]] = [(0, 0)] * TS_LEN

    def ordered(self) -> list[tuple[int, int]]:
        """The samples oldest first, empty slots left out."""
        return [s for s in self.samples[self.idx:] + self.samples[:self.idx] if s[0]]


class LatencyMonitor:
    """``server.latency_events``: event name → :class:`Series`, in creation order."""

    def __init__(self, threshold: Callable[[], int], clock: Callable[[], float] = time.time) -> None:
        self.threshold = threshold  # latency-monitor-threshold, read at each sample
        self.clock = clock
        self.events: dict[str, Series] = {}

    def add_if_needed(self, event: str, ms: int) -> None:
        """latencyAddSampleIfNeeded: only when monitoring is on and ``ms`` reaches it."""
        t = self.threshold()
        if t and ms >= t:
            self.add(event, ms)

    def add(self, event: str, ms: int) -> None:
        """latencyAddSample: one sample a second, the worst of that second."""
        ts = self.events.get(event)
        if ts is None:
            ts = self.events[event] = Series()
        now = int(self.clock())
        if ms > ts.max:
            ts.max = ms
        prev = (ts.idx - 1) % TS_LEN
        t, lat = ts.samples[prev]
        if t == now:
            if ms > lat:
                ts.samples[prev] = (now, ms)
            return
        ts.samples[ts.idx] = (now, ms)
        ts.idx = (ts.idx + 1) % TS_LEN

    def reset(self, event: str | None = None) -> int:
        """latencyResetEvent: how many event classes were dropped (names compare
        without case)."""
        gone = [e for e in self.events if event is None or e.lower() == event.lower()]
        for e in gone:
            del self.events[e]
        return len(gone)

    def latest(self) -> list[list[object]]:
        out: list[list[object]] = []
        for name, ts in self.events.items():
            t, lat = ts.samples[(ts.idx - 1) % TS_LEN]
            out.append([name, t, lat, ts.max])
        return out

    def history(self, event: str) -> list[list[int]]:
        ts = self.events.get(event)
        return [] if ts is None else [[t, lat] for t, lat in ts.ordered()]

    def graph(self, event: str) -> str | None:
        """latencyCommandGenSparkeline; None when the event has no samples."""
        ts = self.events.get(event)
        if ts is None:
            return None
        now = int(self.clock())
        samples = ts.ordered()
        values = [lat for _, lat in samples]
        labels = [_ago(now - t) for t, _ in samples]
        lo, hi = (min(values), max(values)) if values else (0, 0)
        out = f"{event} - high {hi} ms, low {lo} ms (all time high {ts.max} ms)\n" + "-" * GRAPH_COLS + "\n"
        return out + sparkline(values, labels, GRAPH_COLS, 4)

    def stats(self, event: str) -> tuple[int, int, int, int]:
        """analyzeLatencyForEvent: (samples, avg, mean deviation, period in seconds)."""
        values = [(t, lat) for t, lat in self.events[event].samples if t]
        if not values:
            return 0, 0, 0, 0
        n = len(values)
        avg = sum(lat for _, lat in values) // n
        period = int(self.clock()) - min(t for t, _ in values) or 1
        mad = sum(abs(avg - lat) for _, lat in values) // n
        return n, avg, mad, period


def _ago(elapsed: int) -> str:
    if elapsed < 60:
        return f"{elapsed}s"
    if elapsed < 3600:
        return f"{elapsed // 60}m"
    if elapsed < 86400:
        return f"{elapsed // 3600}h"
    return f"{elapsed // 86400}d"


def sparkline(values: list[int], labels: list[str], columns: int, rows: int) -> str:
    """sparklineRender with SPARKLINE_FILL: ``rows`` rows of "_o#|" per ``columns``
    samples, each followed by its labels written downwards."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    relmax = (hi - lo) or 1
    steps = 3 * rows
    chunks = []
    for j in range(0, len(values), columns):
        vals, labs = values[j:j + columns], labels[j:j + columns]
        lines = []
        for row in range(rows):  # sparklineRenderRange
            chars = []
            for v in vals:
                step = min(max(int(int((v - lo) * steps) / relmax), 0), steps - 1)
                idx = step - (rows - row - 1) * 3
                chars.append("_o#"[idx] if 0 <= idx < 3 else "|" if idx >= 3 else " ")
            lines.append("".join(chars))
        lines.append(" " * len(vals))  # label_margin_top
        for k in range(max((len(x) for x in labs), default=0)):
            lines.append("".join(x[k] if k < len(x) else " " for x in labs))
        chunks.append("".join(ln + "\n" for ln in lines))
    return "\n".join(chunks)


# -- per-command histograms -------------------------------------------------------

def _lowest_equivalent(v: int) -> int:
    """The HdrHistogram slot of ``v`` at two significant digits (256 sub-buckets):
    exact below 256, then 128 slots per power of two."""
    shift = v.bit_length() - 8
    return v if shift <= 0 else (v >> shift) << shift


def _highest_equivalent(slot: int) -> int:
    shift = slot.bit_length() - 8
    return slot if shift <= 0 else slot + (1 << shift) - 1


class Histogram:
    """A command's run times (``redisCommand.latency_histogram``), in nanoseconds."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}
        self.total = 0

    def record(self, ns: int) -> None:
        """updateCommandLatencyHistogram: clamped to 1 ns .. 1 s."""
        v = HIST_MIN if ns < HIST_MIN else HIST_MAX if ns > HIST_MAX else ns
        shift = v.bit_length() - 8  # _lowest_equivalent, inline: this runs for every command
        slot = v if shift <= 0 else (v >> shift) << shift
        counts = self.counts
        counts[slot] = counts.get(slot, 0) + 1
        self.total += 1

    def cdf(self) -> list[int]:
        """fillCommandCDF's flat (usec, cumulative calls) pairs: buckets from 1024 ns
        doubling (hdr_iter_log_init(1024, 2)), each labelled with its highest
        equivalent value in microseconds, only where the cumulative count grew."""
        slots = sorted(self.counts.items())
        out: list[int] = []
        level, cum, prev, i = 1024, 0, 0, 0
        while prev < self.total:
            top = _lowest_equivalent(level)
            while i < len(slots) and slots[i][0] <= top:
                cum += slots[i][1]
                i += 1
            if cum > prev:
                out += [_highest_equivalent(top) // 1000, cum]
            prev = cum
            level *= 2
        return out

    def percentile(self, p: float) -> float:
        """hdr_value_at_percentile in microseconds, as INFO latencystats shows it."""
        want = max(int(min(p, 100.0) / 100 * self.total + 0.5), 1)
        cum = 0
        for slot, n in sorted(self.counts.items()):
            cum += n
            if cum >= want:
                return (slot if p == 0.0 else _highest_equivalent(slot)) / 1000.0
        return 0.0


def anon_huge_pages_kb() -> int:
    """THPGetAnonHugePagesSize: this process's AnonHugePages (kB), 0 when unknown."""
    try:
        with open(f"/proc/{os.getpid()}/smaps", encoding="ascii", errors="replace") as fh:
            return sum(int(line.split()[1]) for line in fh if line.startswith("AnonHugePages:"))
    except (OSError, ValueError, IndexError):
        return 0


__all__ = ["Histogram", "LatencyMonitor", "Series", "anon_huge_pages_kb", "sparkline"]
