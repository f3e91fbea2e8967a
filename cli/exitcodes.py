"""Exit statuses of the ``rdbkit`` command: one meaning per number (README.md, "Exit status").

As ``diff``/``cmp``: 0 means equal (or simply success) and 1 means "different", so a
script can branch on ``rdbkit diff``; usage errors keep click's 2; input that is not
valid RDB/AOF/JSONL gets 3, any other failure (a missing file, a full disk, a server
that refuses or hangs up, a conversion that would lose data without ``--lossy``) 4;
an interrupt 130, 128 + SIGINT as a shell reports it; output into a pipe whose reader
went away (``| head``) 141, 128 + SIGPIPE, what ``cat`` ends with there.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    DIFFERENT = 1  # diff found differences
    USAGE = 2  # click's status for a bad option or argument
    CORRUPT_INPUT = 3  # check found problems; any verb refused its input
    ERROR = 4
    INTERRUPTED = 130
    PIPE_CLOSED = 141
