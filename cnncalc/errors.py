"""Errors caused by the user's input, each pointing at the YAML node responsible.

Stage: shared by every stage. A Span is 1-based file:line:col; cli.py prints a CnncalcError as
one line (plus an optional hint) and exits 2. Anything that is not a CnncalcError is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A place in a spec file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class CnncalcError(Exception):
    """Base for every error caused by the user's spec or command line."""

    def __init__(self, span: Span | None, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.span, self.message, self.hint = span, message, hint

    def render(self) -> str:
        """The one-line form shown to users: `file:line:col: error: message` (+ hint line)."""
        where = f"{self.span}: " if self.span else ""
        text = f"{where}error: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(CnncalcError):
    """The spec file is malformed: bad YAML, unknown keys, wrong types, bad references."""


class ShapeError(CnncalcError):
    """A layer cannot be applied to the shape it receives."""


class UsageError(CnncalcError):
    """A command-line value (an override, a name, a flag) is wrong."""
