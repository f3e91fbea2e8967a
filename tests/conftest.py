"""Shared test configuration: hypothesis profiles, fixture paths, server logs on failure."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

# the one server launcher; its hooks add the servers' last log lines to a failing test's report
pytest_plugins = ["tests.support.servers"]

settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def fixture_rdbs() -> list[Path]:
    """Every RDB fixture file (real servers, the shared corpus, hand-made legacy files)."""
    return sorted((FIXTURES / "rdb").rglob("*.rdb"))
