"""Shared test configuration: hypothesis profiles, fixture paths, server logs on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
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


@pytest.fixture(params=["c", "python"])
def resp_scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both request scanners of ``aof.resp.RequestParser`` for parsers made in the test:
    the C one (``aof._respfast``, imported directly, whatever RDBKIT_PUREPYTHON says) and
    the pure-Python fast path."""
    import aof.resp

    if request.param == "python":
        monkeypatch.setattr(aof.resp, "_scan_requests", None)
    else:
        respfast = pytest.importorskip("aof._respfast", reason="the C extension is not built")
        monkeypatch.setattr(aof.resp, "_scan_requests", respfast.scan_requests)
    return str(request.param)
