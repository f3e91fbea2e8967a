"""engine: the bundled Redis-compatible server (keyspace, value types, commands, asyncio server).

Run it with ``rdbkit server [redis.conf] [--opt val ...]`` or ``python -m engine``; see
``engine/README.md`` for the layout and how to add a command family.
"""
