"""Pub/Sub commands (``pubsub.c``): SUBSCRIBE family, PUBLISH, SPUBLISH, PUBSUB.

Subscription replies are pushes (one per channel), like Redis's
``addReplyPubsubSubscribed``; the count they carry is the client's channels plus
patterns (shard channels count on their own). The RESP2 "subscribed context"
(only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET) is enforced by the
dispatcher with :func:`engine.pubsub.subscribed_context_error`.
"""

from __future__ import annotations

from aof.replies import Simple, array, bulk, bulks, encode, integer
from engine.errors import CommandError
from engine.execution.registry import TABLE, command, container, subcommand
from engine.propagate import ReplOnly
from engine.pubsub import push
from rdbtools.glob import glob_matcher

G = "pubsub"
def _count(c) -> int:
    return len(c.sub_channels) + len(c.sub_patterns)


@command("subscribe", -2, "pubsub noscript loading stale", group=G, since="2.0.0")
def subscribe_cmd(c, argv):
    ps = c.server.pubsub
    out = []
    for ch in argv[1:]:
        ps.subscribe(c, ch)
        out.append(push(c.resp, b"subscribe", ch, _count(c)))
    return b"".join(out)


@command("psubscribe", -2, "pubsub noscript loading stale", group=G, since="2.0.0")
def psubscribe_cmd(c, argv):
    ps = c.server.pubsub
    out = []
    for pat in argv[1:]:
        ps.psubscribe(c, pat)
        out.append(push(c.resp, b"psubscribe", pat, _count(c)))
    return b"".join(out)


@command("ssubscribe", -2, "pubsub noscript loading stale", 1, -1, 1, group=G, since="7.0.0")
def ssubscribe_cmd(c, argv):
    if c.in_exec:
        raise CommandError("SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    ps = c.server.pubsub
    out = []
    for ch in argv[1:]:
        ps.ssubscribe(c, ch)
        out.append(push(c.resp, b"ssubscribe", ch, len(c.sub_shard)))
    return b"".join(out)


def _unsub(c, argv, kind: bytes, mine: dict, drop, count) -> bytes:
    names = argv[1:] if len(argv) > 1 else list(mine)
    if not names:
        return push(c.resp, kind, None, count())
    out = []
    for name in names:
        drop(c, name)
        out.append(push(c.resp, kind, name, count()))
    return b"".join(out)


@command("unsubscribe", -1, "pubsub noscript loading stale", group=G, since="2.0.0")
def unsubscribe_cmd(c, argv):
    ps = c.server.pubsub
    return _unsub(c, argv, b"unsubscribe", c.sub_channels, ps.unsubscribe, lambda: _count(c))


@command("punsubscribe", -1, "pubsub noscript loading stale", group=G, since="2.0.0")
def punsubscribe_cmd(c, argv):
    ps = c.server.pubsub
    return _unsub(c, argv, b"punsubscribe", c.sub_patterns, ps.punsubscribe, lambda: _count(c))


@command("sunsubscribe", -1, "pubsub noscript loading stale", 1, -1, 1, group=G, since="7.0.0")
def sunsubscribe_cmd(c, argv):
    ps = c.server.pubsub
    return _unsub(c, argv, b"sunsubscribe", c.sub_shard, ps.sunsubscribe, lambda: len(c.sub_shard))


@command("publish", 3, "pubsub loading stale fast may_replicate", group=G, since="2.0.0")
def publish_cmd(c, argv):
    n = c.server.pubsub.publish(argv[1], argv[2])
    if c.server.cluster is not None:  # clusterPropagatePublish: every node's subscribers
        c.server.cluster.bus.publish(argv[1], argv[2])
    elif c.server.replication.feeding():  # forceCommandPropagation(c, PROPAGATE_REPL)
        c.rewritten = [ReplOnly(argv)]
    return integer(n)


@command("spublish", 3, "pubsub loading stale fast may_replicate", 1, 1, 1, group=G, since="7.0.0")
def spublish_cmd(c, argv):
    n = c.server.pubsub.spublish(argv[1], argv[2])
    if c.server.cluster is not None:  # the shard's other nodes over the bus
        c.server.cluster.bus.publish(argv[1], argv[2], shard=True)
    elif c.server.replication.feeding():  # forceCommandPropagation(c, PROPAGATE_REPL)
        c.rewritten = [ReplOnly(argv)]
    return integer(n)


# subscription changes decide how later commands run: never on the pipelined fast path
for _name in ("subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"):
    TABLE.commands[_name].fast = False

PUBSUB = container("pubsub", -2, group=G, since="2.8.0")


def _syntax(argv) -> CommandError:
    sub = argv[1].decode("utf-8", "replace")
    return CommandError(f"unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP.")


def _channel_list(c, argv, table) -> bytes:
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 2:
        names = list(table)
    else:
        m = glob_matcher(argv[2])  # no lone-'*' shortcut here: Redis's '*' skips the channel ""
        names = [ch for ch in table if m(ch)]
    return bulks(names)


def _numsub(c, argv, table) -> bytes:
    out = []
    for ch in argv[2:]:
        out.append(bulk(ch))
        out.append(integer(len(table.get(ch, ()))))
    return array(out)


@subcommand(PUBSUB, "channels", -2, "pubsub loading stale", since="2.8.0")
def pubsub_channels(c, argv):
    return _channel_list(c, argv, c.server.pubsub.channels)


@subcommand(PUBSUB, "shardchannels", -2, "pubsub loading stale", since="7.0.0")
def pubsub_shardchannels(c, argv):
    return _channel_list(c, argv, c.server.pubsub.shard)


@subcommand(PUBSUB, "numsub", -2, "pubsub loading stale", since="2.8.0")
def pubsub_numsub(c, argv):
    return _numsub(c, argv, c.server.pubsub.channels)


@subcommand(PUBSUB, "shardnumsub", -2, "pubsub loading stale", since="7.0.0")
def pubsub_shardnumsub(c, argv):
    return _numsub(c, argv, c.server.pubsub.shard)


@subcommand(PUBSUB, "numpat", 2, "pubsub loading stale", since="2.8.0")
def pubsub_numpat(c, argv):
    return integer(len(c.server.pubsub.patterns))


@subcommand(PUBSUB, "help", 2, "loading stale", since="6.2.0")
def pubsub_help(c, argv):
    lines = ["PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
             "CHANNELS [<pattern>]",
             "    Return the currently active channels matching a <pattern> (default: '*').",
             "NUMPAT", "    Return number of subscriptions to patterns.",
             "NUMSUB [<channel> ...]",
             "    Return the number of subscribers for the specified channels, excluding",
             "    pattern subscriptions(default: no channels).",
             "SHARDCHANNELS [<pattern>]",
             "    Return the currently active shard level channels matching a <pattern> (default: '*').",
             "SHARDNUMSUB [<shardchannel> ...]",
             "    Return the number of subscribers for the specified shard level channel(s)",
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)
