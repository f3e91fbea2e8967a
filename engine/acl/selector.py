"""ACL selectors: which commands, keys and channels a user's rules allow (acl.c's
``aclSelector``).

A user has a root selector (the rules outside parentheses) and any number of
``(...)`` selectors; a command runs when one selector allows all of it. Command
permissions are a set of :class:`~engine.execution.registry.Command` (Redis's
per-command bits, containers and subcommands alike) plus ``future`` (the reserved bit
``+@all`` sets: commands added later are allowed too), key patterns carry read/write
permissions (``~``, ``%R~``, ``%W~``), channel patterns are matched as PUBLISH and
SUBSCRIBE use them.
"""

from __future__ import annotations

from functools import cache

from engine.execution.registry import TABLE, Command
from rdbtools.glob import glob_match

# ACLCommandCategories, in acl.c's order (ACL CAT, the describe loop)
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
              "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
              "dangerous", "connection", "transaction", "scripting")
READ, WRITE = 1, 2  # ACL_READ_PERMISSION, ACL_WRITE_PERMISSION
ALL_PERMS = READ | WRITE
OK, DENIED_CMD, DENIED_KEY, DENIED_AUTH, DENIED_CHANNEL = 0, 1, 2, 3, 4  # ACL_OK, ACL_DENIED_*


class RuleError(Exception):
    """ACLSetUser's errno, as the text ACLSetUserStringError gives it."""


UNKNOWN = "Unknown command or category name in ACL"
SYNTAX = "Syntax error"
ALLKEYS_SET = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does "
               "not have any effect. Try 'resetkeys' to start with an empty list of patterns")
ALLCHANNELS_SET = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
                   "and does not have any effect. Try 'resetchannels' to start with an empty list "
                   "of channels")
FIRSTARG_OF_SUB = "Allowing first-arg of a subcommand is not supported"


@cache
def catalog() -> tuple[tuple[Command, ...], dict[str, tuple[Command, ...]]]:
    """Every command and subcommand (containers before their subcommands), and the ones of
    each category, from the command table's own categories (COMMAND INFO's)."""
    flat: list[Command] = []
    for cmd in TABLE.commands.values():
        flat.append(cmd)
        flat.extend(cmd.subcommands.values())
    by_cat: dict[str, list[Command]] = {c: [] for c in CATEGORIES}
    for cmd in flat:
        for cat in cmd.acl_categories():
            by_cat[cat[1:]].append(cmd)
    return tuple(flat), {k: tuple(v) for k, v in by_cat.items()}


def lookup(name: bytes) -> Command | None:
    """ACLLookupCommand: ``cmd`` or ``container|sub``, case-insensitive."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    cmd = TABLE.lookup.get(parts[0])
    if cmd is None:
        return None
    if len(parts) == 2:
        return cmd.subcommands.get(parts[1]) if cmd.subcommands else None
    return cmd


def has_spaces(s: bytes) -> bool:
    """ACLStringHasSpaces: isspace or NUL."""
    return any(ch in b" \t\n\v\f\r\0" for ch in s)


class Selector:
    __slots__ = ("root", "allkeys", "allchannels", "allcommands", "future", "allowed",
                 "firstargs", "patterns", "channels")

    def __init__(self, root: bool, allchannels: bool) -> None:
        self.root = root
        self.allkeys = False
        self.allchannels = allchannels  # acl-pubsub-default
        self.allcommands = False
        self.future = False
        self.allowed: set[Command] = set()
        self.firstargs: dict[Command, list[bytes]] = {}
        self.patterns: list[list] = []  # [pattern, READ|WRITE]
        self.channels: list[bytes] = []

    def copy(self) -> Selector:
        s = Selector(self.root, self.allchannels)
        s.allkeys, s.allcommands, s.future = self.allkeys, self.allcommands, self.future
        s.allowed = set(self.allowed)
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.patterns = [list(p) for p in self.patterns]
        s.channels = list(self.channels)
        return s

    # -- rules (ACLSetSelector) ---------------------------------------------------------
    def change(self, cmd: Command, allow: bool) -> None:
        """ACLChangeSelectorPerm: a command and, for a container, its subcommands."""
        for c in (cmd, *cmd.subcommands.values()):
            if allow:
                self.allowed.add(c)
            else:
                self.allowed.discard(c)
        if not allow:
            self.allcommands = False
        self.firstargs.pop(cmd, None)

    def set_category(self, name: bytes, allow: bool) -> None:
        cats = catalog()[1]
        key = name.decode("utf-8", "surrogateescape").lower()
        if key not in cats:
            raise RuleError(UNKNOWN)
        for cmd in cats[key]:
            self.change(cmd, allow)

    def apply(self, op: bytes) -> None:
        low = op.lower()
        if low in (b"allkeys", b"~*"):
            self.allkeys = True
            self.patterns = []
        elif low == b"resetkeys":
            self.allkeys = False
            self.patterns = []
        elif low in (b"allchannels", b"&*"):
            self.allchannels = True
            self.channels = []
        elif low == b"resetchannels":
            self.allchannels = False
            self.channels = []
        elif low in (b"allcommands", b"+@all"):
            self.allowed = set(catalog()[0])
            self.allcommands = self.future = True
            self.firstargs = {}
        elif low in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.allcommands = self.future = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError(ALLCHANNELS_SET)
            pat = op[1:]
            if has_spaces(pat):
                raise RuleError(SYNTAX)
            if pat not in self.channels:
                self.channels.append(pat)
            self.allchannels = False
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            cmd = lookup(op[1:])
            if cmd is None:
                raise RuleError(UNKNOWN)
            self.change(cmd, False)
        elif op[:1] in (b"+", b"-") and op[1:2] == b"@":
            self.set_category(op[2:], op[:1] == b"+")
        else:
            raise RuleError(SYNTAX)

    def _add_key_pattern(self, op: bytes) -> None:
        if self.allkeys:
            raise RuleError(ALLKEYS_SET)
        flags, i = 0, 1
        if op[:1] == b"%":
            while i < len(op):
                ch = op[i:i + 1].upper()
                if ch == b"R" and not flags & READ:
                    flags |= READ
                elif ch == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif ch == b"~":
                    i += 1
                    break
                else:
                    raise RuleError(SYNTAX)
                i += 1
            if not flags:  # "%~x": 7.0.15 keeps a pattern it cannot describe
                raise RuleError(SYNTAX)
        else:
            flags = ALL_PERMS
        pat = op[i:]
        if has_spaces(pat):
            raise RuleError(SYNTAX)
        for p in self.patterns:
            if p[0] == pat:
                p[1] |= flags
                break
        else:
            self.patterns.append([pat, flags])
        self.allkeys = False

    def _allow(self, name: bytes) -> None:
        if b"|" not in name:
            cmd = lookup(name)
            if cmd is None:
                raise RuleError(UNKNOWN)
            self.change(cmd, True)
            return
        base, sub = name.rsplit(b"|", 1)
        cmd = lookup(base)
        if cmd is None:
            raise RuleError(UNKNOWN)
        if cmd.parent is not None:
            raise RuleError(FIRSTARG_OF_SUB)
        if not sub:
            raise RuleError(SYNTAX)
        if cmd.subcommands:
            subcmd = lookup(name)
            if subcmd is None:
                raise RuleError(UNKNOWN)
            self.change(subcmd, True)
            return
        # a first argument of an otherwise blocked command (SELECT|0): deprecated in Redis
        args = self.firstargs.setdefault(cmd, [])
        if sub.lower() not in (a.lower() for a in args):
            args.append(sub)

    # -- describing (ACLDescribeSelector*) ----------------------------------------------
    def command_rules(self) -> str:
        """ACLDescribeSelectorCommandRules: +@all/-@all, the best-fitting categories, then
        the single commands that still differ."""
        flat, cats = catalog()
        additive = not self.future
        rules = ["-@all" if additive else "+@all"]
        fake = Selector(False, False)
        fake.apply(b"-@all" if additive else b"+@all")
        temp = set(self.allowed)
        applied: set[str] = set()
        while True:
            best, mindiff, maxsame = None, 1 << 62, 0
            for cat in CATEGORIES:
                if cat in applied:
                    continue
                on = sum(1 for c in cats[cat] if c in temp)
                off = len(cats[cat]) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (diff < mindiff or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            fake.set_category(best.encode(), additive)
            for c in cats[best]:  # the inverse on the temp bitmap, subcommands included
                for s in (c, *c.subcommands.values()):
                    if additive:
                        temp.discard(s)
                    else:
                        temp.add(s)
            rules.append(("+@" if additive else "-@") + best)
            applied.add(best)
        for cmd in TABLE.commands.values():
            self._single(cmd, fake, rules)
        return " ".join(rules)

    def _single(self, cmd: Command, fake: Selector, rules: list[str]) -> None:
        """ACLDescribeSelectorCommandRulesSingleCommands for one command (and its subs)."""
        mine = cmd in self.allowed
        if mine != (cmd in fake.allowed):
            rules.append(("+" if mine else "-") + cmd.name)
            fake.change(cmd, mine)
        for sub in cmd.subcommands.values():
            self._single(sub, fake, rules)
        if not mine:
            for arg in self.firstargs.get(cmd, ()):
                rules.append(f"+{cmd.name}|{arg.decode('utf-8', 'surrogateescape')}")

    def keys_text(self, sep: str) -> str:
        return sep.join(pattern_text(p, f) for p, f in self.patterns)

    def describe(self) -> str:
        """ACLDescribeSelector: keys, channels, commands, as ACL SETUSER takes them."""
        out = []
        if self.allkeys:
            out.append("~*")
        else:
            out.extend(pattern_text(p, f) for p, f in self.patterns)
        if self.allchannels:
            out.append("&*")
        else:
            out.append("resetchannels")
            out.extend("&" + _s(ch) for ch in self.channels)
        out.append(self.command_rules())
        return " ".join(out)

    # -- checks (ACLSelectorCheckCmd) ---------------------------------------------------
    def check_key(self, key: bytes, perm: int) -> bool:
        """ACLSelectorCheckKey: a pattern with (at least) the permission the key needs."""
        if self.allkeys:
            return True
        for pat, flags in self.patterns:
            if flags & perm == perm and glob_match(pat, key, False):
                return True
        return False

    def unrestricted(self, perm: int) -> bool:
        """ACLSelectorHasUnrestrictedKeyAccess: ``*`` with the permission (or allkeys)."""
        if self.allkeys:
            return True
        return any(flags & perm == perm and pat == b"*" for pat, flags in self.patterns)

    def check_channel(self, channel: bytes, is_pattern: bool) -> bool:
        """ACLCheckChannelAgainstList: a PSUBSCRIBE pattern matches only literally."""
        if is_pattern:
            return channel in self.channels
        return any(glob_match(p, channel, False) for p in self.channels)

    def may_run(self, cmd: Command, argv: list[bytes]) -> bool:
        if self.allcommands or cmd.no_auth or cmd in self.allowed:
            return True
        args = self.firstargs.get(cmd)
        if len(argv) < 2 or not args:
            return False
        first = argv[2 if cmd.parent is not None else 1].lower()
        return any(a.lower() == first for a in args)


def pattern_text(pat: bytes, flags: int) -> str:
    """sdsCatPatternString."""
    prefix = "~" if flags == ALL_PERMS else "%R~" if flags == READ else "%W~"
    return prefix + _s(pat)


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")
