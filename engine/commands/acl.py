"""ACL: users and their permissions (aclCommand); the state is ``server.acl``
(:mod:`engine.acl`)."""

from __future__ import annotations

import os
import time

from aof.replies import NULL_BULK, OK, Map, SetReply, Simple, bulk, encode, integer, null
from engine.acl import CATEGORIES, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY, catalog
from engine.acl.selector import OK as ACL_OK
from engine.acl.selector import Selector, has_spaces
from engine.acl.users import REASONS
from engine.commands.arguments import get_int
from engine.commands.connection import redact
from engine.errors import CommandError
from engine.execution.dispatch import resolve
from engine.execution.registry import container, subcommand

ACL = container("acl", -2, group="server", since="6.0.0")
_ADMIN = "admin noscript loading stale"
NO_ACLFILE = ("This Redis instance is not configured to use an ACL file. You may want to specify "
              "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you "
              "have a Redis configuration file set) in order to store users in the Redis "
              "configuration.")
GENPASS_MAX_BITS = 4096


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _syntax(argv: list[bytes]) -> CommandError:
    """addReplySubcommandSyntaxError."""
    return CommandError(f"unknown subcommand or wrong number of arguments for '{_s(argv[1][:128])}'. "
                        f"Try {_s(argv[0]).upper()} HELP.")


@subcommand(ACL, "setuser", -3, _ADMIN)
def acl_setuser(c, argv):
    name, rules = argv[2], argv[3:]
    redact(argv, 2, len(argv))  # aclCommand: the user and its rules never reach a log
    if has_spaces(name):
        raise CommandError("Usernames can't contain spaces or null characters")
    err = c.server.acl.set_user(name, rules)
    if err is not None:
        raise CommandError(err.replace("\r", " ").replace("\n", " "))
    return OK


@subcommand(ACL, "deluser", -3, _ADMIN)
def acl_deluser(c, argv):
    if b"default" in argv[2:]:
        raise CommandError("The 'default' user cannot be removed")
    return integer(c.server.acl.delete(argv[2:], c))


def _selector_fields(s: Selector) -> list[tuple[str, str]]:
    """aclAddReplySelectorDescription: commands, keys, channels."""
    keys = "~*" if s.allkeys else s.keys_text(" ")
    chans = "&*" if s.allchannels else " ".join("&" + _s(ch) for ch in s.channels)
    return [("commands", s.command_rules()), ("keys", keys), ("channels", chans)]


@subcommand(ACL, "getuser", 3, _ADMIN)
def acl_getuser(c, argv):
    u = c.server.acl.users.get(argv[2])
    if u is None:
        return null(c.resp)
    m = Map([("flags", SetReply(u.flags())), ("passwords", list(u.passwords))])
    m += _selector_fields(u.root)
    m.append(("selectors", [Map(_selector_fields(s)) for s in u.selectors[1:]]))
    return encode(m, c.resp)


@subcommand(ACL, "list", 2, _ADMIN)
def acl_list(c, argv):
    return encode([f"user {_s(u.name)} {u.describe()}" for u in c.server.acl.sorted_users()], c.resp)


@subcommand(ACL, "users", 2, _ADMIN)
def acl_users(c, argv):
    return encode([u.name for u in c.server.acl.sorted_users()], c.resp)


@subcommand(ACL, "whoami", 2, "noscript loading stale")
def acl_whoami(c, argv):
    return bulk(c.user.name) if c.user is not None else NULL_BULK


@subcommand(ACL, "load", 2, _ADMIN)
def acl_load(c, argv):
    path = c.server.config.aclfile
    if not path:
        raise CommandError(NO_ACLFILE)
    err = c.server.acl.load_file(path, c)
    if err is not None:
        raise CommandError(err.replace("\r", " ").replace("\n", " "))
    return OK


@subcommand(ACL, "save", 2, _ADMIN)
def acl_save(c, argv):
    path = c.server.config.aclfile
    if not path:
        raise CommandError(NO_ACLFILE)
    if not c.server.acl.save_file(path):
        raise CommandError("There was an error trying to save the ACLs. Please check the server "
                           "logs for more information")
    return OK


@subcommand(ACL, "cat", -2, "noscript loading stale")
def acl_cat(c, argv):
    if len(argv) == 2:
        return encode(list(CATEGORIES), c.resp)
    if len(argv) > 3:
        raise _syntax(argv)
    cat = _s(argv[2]).lower()
    if cat not in CATEGORIES:
        raise CommandError(f"Unknown category '{_s(argv[2][:128])}'")
    return encode([cmd.name for cmd in catalog()[1][cat]], c.resp)


@subcommand(ACL, "genpass", -2, "noscript loading stale")
def acl_genpass(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    bits = 256
    if len(argv) == 3:
        bits = get_int(argv[2])
    if bits <= 0 or bits > GENPASS_MAX_BITS:
        raise CommandError("ACL GENPASS argument must be the number of bits for the output "
                           f"password, a positive number up to {GENPASS_MAX_BITS}")
    chars = (bits + 3) // 4
    return bulk(os.urandom((chars + 1) // 2).hex()[:chars].encode())


@subcommand(ACL, "log", -2, _ADMIN)
def acl_log(c, argv):
    if len(argv) > 3:
        raise _syntax(argv)
    acl = c.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.clear()
            return OK
        count = max(get_int(argv[2]), 0)
    now = int(time.time() * 1000)
    out = []
    for le in list(acl.log)[:count]:
        out.append(Map([("count", le.count), ("reason", REASONS.get(le.reason, "unknown")),
                        ("context", le.context), ("object", le.object), ("username", le.username),
                        ("age-seconds", (now - le.ctime) / 1000), ("client-info", le.cinfo)]))
    return encode(out, c.resp)


@subcommand(ACL, "dryrun", -4, _ADMIN, since="7.0.0")
def acl_dryrun(c, argv):
    acl = c.server.acl
    u = acl.users.get(argv[2])
    if u is None:
        raise CommandError(f"User '{_s(argv[2])}' not found")
    args = argv[3:]
    cmd = resolve(args)
    if cmd.__class__ is bytes:
        if cmd.startswith(b"-ERR wrong number"):  # type: ignore[union-attr]
            return cmd
        raise CommandError(f"Command '{_s(argv[3])}' not found")
    res, idx = acl.check(u, cmd, args)  # type: ignore[arg-type]
    if res == ACL_OK:
        return OK
    if res == DENIED_CMD:
        text = f"This user has no permissions to run the '{cmd.name}' command"  # type: ignore[union-attr]
    elif res == DENIED_KEY:
        text = f"This user has no permissions to access the '{_s(args[idx])}' key"
    else:
        assert res == DENIED_CHANNEL
        text = f"This user has no permissions to access the '{_s(args[idx])}' channel"
    return bulk(text.encode("utf-8", "surrogateescape"))


_HELP = [
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
]


@subcommand(ACL, "help", 2, "loading stale")
def acl_help(c, argv):
    lines = ["ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", *_HELP,
             "HELP", "    Prints this help."]
    return encode([Simple(x) for x in lines], c.resp)


__all__ = ["ACL"]
