"""The console every terminal view prints through: names are never markup, and control
characters in them are shown escaped.

Stage: report (output edge). A spec's `name:`, a layer's name, a description are the user's
text: `[/bold]` in one must print as typed, `:smile:` not become an emoji, and an escape
sequence must not drive the terminal. The console is report/term.py's, which has no markup or
emoji at all; every string it draws passes through safe_text here, and the few Text objects
built from names call `plain()` themselves.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import safe_text
from cnncalc.report.term import Console, Text


class SafeConsole(Console):
    """A Console whose strings are plain text, control characters escaped."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(safe_text(text), **kwargs)


def plain(text: str, style: str = "") -> Text:
    """A Text of the user's text: not markup, control characters escaped."""
    return Text(safe_text(text), style=style)
