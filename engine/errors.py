"""The engine's error hierarchy: one base, concrete subclasses below.

A :class:`CommandError` is what a command handler raises to make the client see
an error reply; ``prefix`` is Redis's error code (``ERR``, ``WRONGTYPE``,
``NOAUTH``...) and ``text`` the message after it, so the wire form is
``-<prefix> <text>\\r\\n`` exactly as Redis writes it (docs/formats.md §9.4).
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every engine error."""


class ConfigError(EngineError):
    """A configuration file line or argument that Redis would refuse."""


class LoadError(EngineError):
    """The dataset could not be loaded at start."""


class CommandError(EngineError):
    """An error reply for the client: ``-<prefix> <text>``."""

    __slots__ = ("prefix", "text")

    def __init__(self, text: str, prefix: str = "ERR") -> None:
        super().__init__(f"{prefix} {text}")
        self.prefix = prefix
        self.text = text

    @property
    def reply(self) -> bytes:
        msg = f"-{self.prefix} {self.text}".replace("\r", " ").replace("\n", " ")
        return msg.encode("utf-8", "surrogateescape") + b"\r\n"


class WrongTypeError(CommandError):
    def __init__(self) -> None:
        super().__init__("Operation against a key holding the wrong kind of value", "WRONGTYPE")


class SyntaxErr(CommandError):
    def __init__(self) -> None:
        super().__init__("syntax error")


class NotIntegerError(CommandError):
    def __init__(self) -> None:
        super().__init__("value is not an integer or out of range")


class NotFloatError(CommandError):
    def __init__(self) -> None:
        super().__init__("value is not a valid float")


# Ready-made wire forms for the errors on hot paths.
WRONGTYPE_REPLY = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
SYNTAX_REPLY = b"-ERR syntax error\r\n"

__all__ = [
    "CommandError",
    "ConfigError",
    "EngineError",
    "LoadError",
    "NotFloatError",
    "NotIntegerError",
    "SYNTAX_REPLY",
    "SyntaxErr",
    "WRONGTYPE_REPLY",
    "WrongTypeError",
]
