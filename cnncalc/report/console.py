"""The rich console every terminal view prints through: names are never markup, and control
characters in them are shown escaped.

Stage: report (output edge). A spec's `name:`, a layer's name, a description are the user's
text: `[/bold]` in one must print as typed (not crash rich's markup parser), `[link=...]` must
not become a hyperlink, `:smile:` not an emoji, and an escape sequence must not drive the
terminal. Markup and emoji are off for every string; strings rich renders pass through
safe_text; the few rich Text objects built from names call `plain()` themselves.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from cnncalc.errors import safe_text


class SafeConsole(Console):
    """A Console whose strings are plain text, control characters escaped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs.update(markup=False, emoji=False, highlight=False)
        return super().render_str(safe_text(text), **kwargs)


def plain(text: str, style: str = "") -> Text:
    """A rich Text of the user's text: not markup, control characters escaped."""
    return Text(safe_text(text), style=style)
