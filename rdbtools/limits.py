"""Bounds on declared sizes, checked before anything is allocated."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings for sizes declared inside the input.

    Redis itself trusts its own files; we do not, because users feed us whatever
    they found on a disk. A declared length is also always checked against what
    the input can still hold when the input size is known (whole-bytes decoding).
    """

    max_string: int = 4 * 1024**3  # one RDB string (Redis's own ceiling is ~4 GiB via LZF)
    max_elements: int = 2**32  # elements in one collection
    max_stream_nodes: int = 2**32
    max_module_ops: int = 2**32
