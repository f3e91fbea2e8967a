"""DEBUG DIGEST / DIGEST-VALUE / POPULATE / RELOAD, differential against real Redis 7.0."""

from __future__ import annotations

import redis

CMDS: list[list[object]] = [
    ["SET", "s", "hello"], ["SET", "n", 12345], ["SET", "big", "x" * 100], ["EXPIRE", "s", 1000],
    ["RPUSH", "l", "a", "b", 3, "c"], ["RPUSH", "ql", *range(200)],
    ["SADD", "si", 1, 2, 3], ["SADD", "ss", "x", "y", "z"], ["SADD", "sh", *range(600)],
    ["HSET", "h", "f1", "v1", "f2", 2], ["HSET", "hh", *[x for i in range(600) for x in (f"f{i}", i)]],
    ["ZADD", "z", 1.5, "a", "-inf", "b", 3, "c"], ["ZADD", "zz", *[x for i in range(200) for x in (i / 7, f"m{i}")]],
    ["SELECT", 3], ["SET", "other", "db3"], ["SELECT", 0],
]


def _run(c: redis.Redis) -> None:
    for cmd in CMDS:
        c.execute_command(*cmd)


def _s(v: object) -> object:
    if isinstance(v, list):
        return [_s(x) for x in v]
    return v.decode() if isinstance(v, bytes) else v


def test_digest_matches_real(pair: tuple[redis.Redis, redis.Redis]) -> None:
    ours, real = pair
    for c in pair:
        assert _s(c.execute_command("DEBUG", "DIGEST")) == "0" * 40
        _run(c)
    assert _s(ours.execute_command("DEBUG", "DIGEST")) == _s(real.execute_command("DEBUG", "DIGEST"))
    keys = ["s", "n", "big", "l", "ql", "si", "ss", "sh", "h", "hh", "z", "zz", "missing"]
    assert _s(ours.execute_command("DEBUG", "DIGEST-VALUE", *keys)) == _s(
        real.execute_command("DEBUG", "DIGEST-VALUE", *keys))
    # a one-element change anywhere changes the digest on both sides alike
    for c in pair:
        c.execute_command("LSET", "ql", 100, "changed")
    assert _s(ours.execute_command("DEBUG", "DIGEST")) == _s(real.execute_command("DEBUG", "DIGEST"))


def test_populate_matches_real(pair: tuple[redis.Redis, redis.Redis]) -> None:
    ours, real = pair
    for c in pair:
        c.execute_command("SET", "key:3", "keep")
        c.execute_command("DEBUG", "POPULATE", 10)
        c.execute_command("DEBUG", "POPULATE", 5, "p", 3)
        c.execute_command("DEBUG", "POPULATE", 2, "q", 20)
    assert _s(ours.execute_command("DEBUG", "DIGEST")) == _s(real.execute_command("DEBUG", "DIGEST"))
    assert ours.execute_command("GET", "q:1") == real.execute_command("GET", "q:1")
    for args in (["-1"], ["x"], ["1", "p", "-2"]):
        errs = []
        for c in pair:
            try:
                c.execute_command("DEBUG", "POPULATE", *args)
                errs.append(None)
            except redis.ResponseError as exc:
                errs.append(str(exc))
        assert errs[0] == errs[1] and errs[0] is not None


def test_reload_keeps_the_dataset(r: redis.Redis) -> None:
    _run(r)
    before = r.execute_command("DEBUG", "DIGEST")
    assert r.execute_command("DEBUG", "RELOAD") in (b"OK", "OK", True)
    assert r.execute_command("DEBUG", "DIGEST") == before
    r.set("extra", "1")
    r.execute_command("DEBUG", "RELOAD", "NOSAVE")  # back to the saved file
    assert r.get("extra") is None
    assert r.execute_command("DEBUG", "DIGEST") == before
    try:
        r.execute_command("DEBUG", "RELOAD", "BOGUS")
        raise AssertionError("expected an error")
    except redis.ResponseError as exc:
        assert "only supports the MERGE, NOFLUSH and NOSAVE options" in str(exc)


def _steps(c: redis.Redis, steps: list[list[object]]) -> list[object]:
    out: list[object] = []
    for argv in steps:
        if argv == ["sleep"]:
            import time

            time.sleep(0.02)
            continue
        try:
            out.append(_s(c.execute_command(*argv)))
        except redis.ResponseError as exc:
            out.append(("err", str(exc)))
    return out


def test_reload_noflush_merge_and_expired_keys_like_real(pair: tuple[redis.Redis, redis.Redis]) -> None:
    """DEBUG RELOAD NOFLUSH refuses a library already loaded, MERGE replaces it
    (RDBFLAGS_ALLOW_DUP); DEBUG OBJECT shows an expired key not yet deleted (a dictFind);
    a script sees time stopped at its start (scriptTimeSnapshot)."""
    steps: list[list[object]] = [
        ["FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() return 1 end)"],
        ["DEBUG", "RELOAD"], ["FCALL", "test", "0"],  # emptyData drops the libraries too
        ["DEBUG", "RELOAD", "NOFLUSH"], ["DEBUG", "RELOAD", "NOFLUSH", "MERGE"], ["FCALL", "test", "0"],
        ["FUNCTION", "FLUSH"], ["DEBUG", "RELOAD", "BOGUS"],
        ["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ["SET", "key", "value", "PX", "1"], ["sleep"],
        ["DEBUG", "OBJECT", "key"], ["EVAL", "return redis.call('TYPE', 'key')['ok'] == 'string' and 1 or 0", "0"],
        ["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"],
        ["EVAL", "redis.call('SET', 'k2', 'v', 'PX', '1'); redis.call('DEBUG', 'SLEEP', '0.01');"
                 " return redis.call('EXISTS', 'k2')", "0"],
        ["DEBUG", "SET-DISABLE-DENY-SCRIPTS", "0"], ["EXISTS", "k2"], ["EXISTS", "key"],
        ["DEBUG", "OBJECT", "key"], ["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
    ]
    ours, real = pair
    a, b = _steps(ours, steps), _steps(real, steps)
    assert b[13] == 1  # the script still sees k2 after its own DEBUG SLEEP
    for out in (a, b):  # DEBUG OBJECT: the address and idle time are the process's own
        out[10] = str(out[10]).split(" serializedlength")[0].split(" refcount")[1]
    assert a == b
