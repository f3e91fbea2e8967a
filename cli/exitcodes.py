"""Exit statuses of the ``rdbkit`` command (like ``diff``: 1 means "different")."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    DIFFERENT = 1  # diff found differences; check found problems
    ERROR = 1
    USAGE = 2
    CORRUPT_INPUT = 3
    INTERRUPTED = 130
