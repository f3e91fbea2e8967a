"""Command families. Importing this package registers every command in ``registry.TABLE``.

To add a family: write ``engine/commands/<family>.py`` with handlers decorated by
``@command(...)`` (see ``registry.py`` and ``engine/README.md``) and import it here.
"""

from engine.commands import (  # noqa: F401
    acl,
    bitfield,
    bitmaps,
    cluster,
    connection,
    databases,
    debug,
    expiry,
    functions,
    geo,
    geo_search,
    hash_ttl,
    hashes,
    hyperloglog,
    keys,
    latency,
    lists,
    lolwut,
    memory,
    migrate,
    module,
    objects,
    pubsub,
    replication,
    scripting,
    server,
    sets,
    sort,
    streams,
    strings,
    tracking,
    transactions,
    zset_algebra,
    zset_pops,
    zset_ranges,
    zsets,
)
