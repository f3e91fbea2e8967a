"""<CONTAINER> HELP replies, byte for byte against real Redis 7.0 (addReplyHelp's text).

Only for containers whose subcommands we serve in full: CLIENT, COMMAND, MEMORY and
DEBUG list just the subcommands we have, so their help stays honest rather than equal."""

from __future__ import annotations

import pytest
import redis

HELPS = ["CONFIG", "SLOWLOG", "OBJECT", "PUBSUB", "XINFO", "XGROUP", "SCRIPT", "FUNCTION"]


@pytest.mark.parametrize("name", HELPS)
def test_help_matches_real(pair: tuple[redis.Redis, redis.Redis], name: str) -> None:
    ours, real = pair
    want = real.execute_command(name, "HELP")
    try:
        got = ours.execute_command(name, "HELP")
    except redis.ResponseError as exc:
        pytest.fail(f"{name} HELP: {exc}")
    assert got == want
