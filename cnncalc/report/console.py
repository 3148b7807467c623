"""The console every terminal view prints through: names are never markup, and control
characters in them are shown escaped.

Stage: report (output edge). A spec's `name:`, a layer's name, a description are the user's
text: `[/bold]` in one must print as typed, `:smile:` not become an emoji, and an escape
sequence must not drive the terminal. The console is report/term.py's, which has no markup or
emoji at all; every string it draws passes through safe_text here, and the few Text objects
built from names call `plain()` themselves.
"""

from __future__ import annotations

from cnncalc.errors import safe_text
from cnncalc.report.term import SafeConsole, Text

__all__ = ["SafeConsole", "plain"]


def plain(text: str, style: str = "") -> Text:
    """A Text of the user's text: not markup, control characters escaped."""
    return Text(safe_text(text), style=style)
