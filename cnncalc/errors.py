"""Errors caused by the user's input, each pointing at the YAML node responsible.

Stage: shared by every stage. A Span is 1-based file:line:col; cli.py prints a CnncalcError as
`file:line:col: error: message`, then the offending line with a caret and an optional hint,
and exits 2. Anything that is not a CnncalcError is a bug and keeps its traceback.
"""

from __future__ import annotations

import re

from cnncalc.record import Record


class Span(Record):
    """A place in a spec file: 1-based line and column."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class CnncalcError(Exception):
    """Base for every error caused by the user's spec or command line."""

    text: str | None = None  # the spec's text, attached at the I/O edge to show the offending line

    def __init__(self, span: Span | None, message: str, hint: str = "", param: str | None = None) -> None:
        super().__init__(message)
        self.span, self.message, self.hint = span, message, hint
        # the library argument at fault, for the CLI to name its flag instead (cli/common.py,
        # flag_spelling): "args.classes", "limits.layers", "checkpoint", "gpu_memory", ...
        self.param = param

    @property
    def file(self) -> str | None:
        return self.span.file if self.span else None

    @property
    def line(self) -> int | None:
        return self.span.line if self.span else None

    @property
    def column(self) -> int | None:
        return self.span.col if self.span else None

    def __str__(self) -> str:
        """`file:line:col: error: message`, the offending line with a caret, the hint."""
        return self.render()

    def render(self, text: str | None = None, lines: list[str] | None = None) -> str:
        """`file:line:col: error: message`, the line of `text` it points at with a caret, a hint.
        (lines: the text already split, when many errors of one file are rendered.) Control
        characters are shown escaped, so nothing in a spec can drive the terminal."""
        text = text if text is not None else self.text
        where = f"{safe_text(shorten(str(self.span)))}: " if self.span else ""
        out = [f"{where}error: {safe_text(shorten(self.message))}"]
        if self.span and (lines is not None or text is not None):
            if lines is None:
                lines = _lines_up_to(text or "", self.span.line)
            if 1 <= self.span.line <= len(lines):
                out += excerpt(lines[self.span.line - 1], self.span.line, self.span.col)
        if self.hint:
            out.append(f"  hint: {safe_text(shorten(self.hint))}")
        return "\n".join(out)


def _lines_up_to(text: str, line: int) -> list[str]:
    """The first `line` lines of text (not the whole file: a message about line 3 of a 4 MB
    file splits 3 lines)."""
    return text.split("\n", line)[:line] if line > 0 else []


MAX_MESSAGE = 400  # characters of a message shown: a 200 kB name in a spec is not echoed whole


def shorten(text: str, most: int = MAX_MESSAGE) -> str:
    """text, its middle cut out when it is longer than `most` characters (saying how much)."""
    if len(text) <= most:
        return text
    keep = most - 40
    return f"{text[: keep * 3 // 4]}...({len(text) - keep:,} characters)...{text[len(text) - keep // 4:]}"


def _unprintable(text: str) -> re.Pattern[str] | None:
    """A pattern matching the characters of text that are neither printable nor a newline, or
    None when there are none. Linear at C speed: str.isprintable on the text, set() of its
    characters, then a class of just the offenders (a few, however long the text)."""
    if text.isprintable() or text.replace("\n", "").isprintable():
        return None
    bad = sorted(c for c in set(text) if not c.isprintable() and c != "\n")
    return re.compile("[" + "".join(re.escape(c) for c in bad) + "]")


def safe_text(text: str) -> str:
    """Text for a terminal: control characters and escape sequences shown as \\x1b, \\t, ...
    (printable text, newlines included, unchanged)."""
    offenders = _unprintable(text)
    if offenders is None:
        return text
    return offenders.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def printable_json(text: str) -> str:
    """JSON text (from json.dumps(..., ensure_ascii=False)) with every character that is not
    printable written as a \\uXXXX escape (a surrogate pair past U+FFFF): still the same JSON,
    valid JavaScript too (no raw U+2028), and unchanged by safe_text. json.dumps escapes only
    U+0000-U+001F itself, so the others (U+007F, C1 controls such as U+009B, U+2028, U+202E)
    can only stand inside strings, where the escape means the same character."""
    offenders = _unprintable(text)
    if offenders is None:
        return text

    def escape(m: re.Match[str]) -> str:
        code = ord(m.group())
        if code > 0xFFFF:
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"

    return offenders.sub(escape, text)


EXCERPT = 100  # characters of a long source line shown around the caret


def excerpt(source: str, line: int, col: int) -> list[str]:
    """The source line (a window of it around the column when it is long) and a caret under it."""
    source = source.rstrip("\r").replace("\t", " ")
    start = 0 if len(source) <= EXCERPT or col <= EXCERPT // 2 else min(col - EXCERPT // 2, len(source) - EXCERPT)
    shown = source[start: start + EXCERPT]
    lead, tail = ("..." if start > 0 else ""), ("..." if start + EXCERPT < len(source) else "")
    # escaping may lengthen what comes before the caret: place it under the escaped text
    before = safe_text(shown[: max(0, col - 1 - start)])
    gutter = f"{line:>5} | "
    return [f"{gutter}{lead}{safe_text(shown)}{tail}", " " * (len(gutter) - 2) + "| " + " " * (len(lead) + len(before)) + "^"]


class SpecError(CnncalcError):
    """The spec file is malformed: bad YAML, unknown keys, wrong types, bad references."""


class ShapeError(SpecError):
    """A layer cannot be applied to the shape it receives (a SpecError: the spec is at fault)."""


class UsageError(CnncalcError):
    """A command-line value (an override, a name, a flag) is wrong."""


class LimitError(SpecError):
    """The spec exceeds a safety limit (file size, nesting, repeat, layers); limits= raises it."""

    def __init__(self, span: Span | None, what: str, limit: str, value: int) -> None:
        super().__init__(span, f"{what} (limit '{limit}' is {value:,})",
                         f"if this is intended, raise it: limits={{'{limit}': N}}", param=f"limits.{limit}")


MAX_ERRORS = 50  # errors shown of one file, like a compiler's -fmax-errors; the count says the rest


class SpecErrors(SpecError):
    """Several independent problems found in one file, reported together like a compiler."""

    def __init__(self, errors: list[CnncalcError]) -> None:
        super().__init__(errors[0].span, errors[0].message, errors[0].hint)
        self.errors = errors

    def render(self, text: str | None = None, lines: list[str] | None = None) -> str:
        """Every error, the text split into lines once for all of them."""
        text = text if text is not None else self.text
        if lines is None and text is not None:
            lines = text.splitlines()
        parts = [e.render(text, lines) for e in self.errors[:MAX_ERRORS]]
        if len(self.errors) > MAX_ERRORS:
            parts.append(f"... and {len(self.errors) - MAX_ERRORS:,} more")
        return "\n".join(parts) + f"\n{len(self.errors):,} errors"


# The most digits of any integer a spec, a flag or an expression may hold: no layer is 10**100
# wide, and Python refuses to print or parse ints past 4,300 digits.
MAX_DIGITS = 100


class Limits(Record):
    """Safety limits for untrusted specs; each is named in its error and raised with
    limits={"NAME": N} (the CLI's --limit NAME=N)."""

    file_bytes: int = 4 * 1024 * 1024
    yaml_nodes: int = 1_000_000  # after alias expansion: stops "billion laughs" documents
    depth: int = 64  # YAML nesting, and blocks within blocks
    repeat: int = 10_000
    layers: int = 1_000_000  # expanded layers in the graph
