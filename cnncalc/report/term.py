"""Terminal tables without rich: Text, Table, Group, Padding and a Console that write what rich
15 writes for them, byte for byte, with colour or without.

Stage: report (output edge). In: the renderables the reports build (report/table.py, fit.py,
compare.py, memory.py, sweep.py, verify.py). Out: text on a file, through Console.print.
Standard library only: importing rich.console costs ~26 ms, a third of `cnncalc table`'s run.
rich is imported only when one of these objects is handed to rich (`rich.print(analysis)`:
__rich_console__). Ported from rich 15.0.0 (MIT, Will McGugan): table.py, text.py, _wrap.py,
cells.py, segment.py, padding.py, _ratio.py, box.py, style.py and console.py's print path;
tests/test_term.py holds every table cnncalc prints, and random ones, to rich's output.

Not here: markup, emoji codes, highlighting, links, themes beyond rich's table styles, colours
beyond the 16 standard ones (and "default"), Jupyter, legacy Windows consoles, UNICODE_VERSION
(the widths are rich's latest table), measuring a Table nested in a Table.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from typing import Any

# ---- cells: how many terminal columns a string takes (rich/cells.py) ---------------------------

_WIDTH_STARTS: list[int] = []
_WIDTH_ENDS: list[int] = []
_WIDTH_OF: list[int] = []
_WIDE_WITH_VS16: frozenset[str] = frozenset()
_char_cache: dict[str, int] = {}
_len_cache: dict[str, int] = {}
_WORD = re.compile(r"\s*\S+\s*")  # a word and the spaces after it (before it, at the start)


def _load_widths() -> None:
    """Parse the range table below into sorted starts, ends and widths (once, on the first
    character outside printable ASCII)."""
    global _WIDE_WITH_VS16
    ranges = []
    for text, width in ((_ZERO_WIDTH, 0), (_DOUBLE_WIDTH, 2)):
        for part in text.split():
            start, _, end = part.partition("-")
            ranges.append((int(start, 16), int(end or start, 16), width))
    ranges.sort()
    _WIDTH_STARTS[:] = [r[0] for r in ranges]
    _WIDTH_ENDS[:] = [r[1] for r in ranges]
    _WIDTH_OF[:] = [r[2] for r in ranges]
    _WIDE_WITH_VS16 = frozenset(chr(int(c, 16)) for c in _NARROW_TO_WIDE.split())


def char_width(character: str) -> int:
    """Cells of one character: 0 (control, combining), 1 or 2 (east-asian wide, emoji)."""
    width = _char_cache.get(character)
    if width is not None:
        return width
    code = ord(character)
    if (code and code < 32) or 0x7F <= code < 0xA0:
        width = 0
    elif (0xA0 <= code < 0x300 and code != 0xAD) or 0x370 <= code <= 0x482 or 0x2500 <= code <= 0x25FC:
        width = 1  # Latin, Greek, Cyrillic, box drawing: one cell each, without parsing the table
    else:
        if not _WIDTH_STARTS:
            _load_widths()
        from bisect import bisect_right

        i = bisect_right(_WIDTH_STARTS, code) - 1
        width = _WIDTH_OF[i] if i >= 0 and code <= _WIDTH_ENDS[i] else 1
    _char_cache[character] = width
    return width


def cell_len(text: str) -> int:
    """Terminal cells of a string, as rich.cells.cell_len counts them (a zero-width joiner joins
    two characters into one glyph; VS16 widens the characters rich lists)."""
    if text.isascii() and text.isprintable():
        return len(text)
    cached = _len_cache.get(text)
    if cached is not None:
        return cached
    if "\u200d" not in text and "\ufe0f" not in text:
        total = sum(map(char_width, text))
    else:
        if not _WIDTH_STARTS:
            _load_widths()
        total, last, i = 0, "", 0
        while i < len(text):
            character = text[i]
            if character == "\u200d":
                i += 1
            elif character == "\ufe0f":
                if last:
                    total += last in _WIDE_WITH_VS16
                    last = ""
            elif width := char_width(character):
                last = character
                total += width
            i += 1
    if len(text) < 512:
        if len(_len_cache) > 4096:
            _len_cache.clear()
        _len_cache[text] = total
    return total


def _single_cells(text: str) -> bool:
    return text.isascii() and text.isprintable()


def split_graphemes(text: str) -> tuple[list[tuple[int, int, int]], int]:
    """(start, end, cells) of each grapheme (a character with the zero-width ones after it, a
    ZWJ sequence, a VS16 pair) and the cells of the whole string."""
    if not _WIDTH_STARTS:
        _load_widths()
    n, i, last, total = len(text), 0, "", 0
    spans: list[tuple[int, int, int]] = []
    while i < n:
        character = text[i]
        if character in ("\u200d", "\ufe0f"):
            if not spans:
                spans.append((i, i + 1, 0))
                i += 1
                continue
            start, _, cells = spans[-1]
            if character == "\u200d":
                i += 2 if i < n - 1 else 1
            else:
                i += 1
                if last and last in _WIDE_WITH_VS16:
                    last = ""
                    cells += 1
                    total += 1
            spans[-1] = (start, i, cells)
            continue
        width = char_width(character)
        if width:
            last = character
            spans.append((i, i + 1, width))
            total += width
        elif spans:
            start, _, cells = spans[-1]
            spans[-1] = (start, i + 1, cells)
        else:
            spans.append((i, i + 1, 0))
        i += 1
    return spans, total


def _split_text(text: str, cell_position: int) -> tuple[str, str]:
    """text split at a cell position; a wide character across it becomes two spaces."""
    if cell_position <= 0:
        return "", text
    spans, cell_length = split_graphemes(text)
    offset = int((cell_position / cell_length) * len(spans))
    left_size = sum(s[2] for s in spans[:offset])
    while True:
        if left_size == cell_position:
            if offset >= len(spans):
                return text, ""
            split_index = spans[offset][0]
            return text[:split_index], text[split_index:]
        if left_size < cell_position:
            start, end, cell_size = spans[offset]
            if left_size + cell_size > cell_position:
                return text[:start] + " ", " " + text[end:]
            offset += 1
            left_size += cell_size
        else:
            start, end, cell_size = spans[offset - 1]
            if left_size - cell_size < cell_position:
                return text[:start] + " ", " " + text[end:]
            offset -= 1
            left_size -= cell_size


def set_cell_size(text: str, total: int) -> str:
    """text cropped or padded with spaces to exactly `total` cells."""
    if _single_cells(text):
        size = len(text)
        return text + " " * (total - size) if size < total else text[:total]
    if total <= 0:
        return ""
    cell_size = cell_len(text)
    if cell_size == total:
        return text
    if cell_size < total:
        return text + " " * (total - cell_size)
    return _split_text(text, total)[0]


def chop_cells(text: str, width: int) -> list[str]:
    """text cut into pieces of at most `width` cells (a grapheme is never cut)."""
    if _single_cells(text):
        return [text[i: i + width] for i in range(0, len(text), width)]
    spans, _ = split_graphemes(text)
    line_size, line_offset, lines = 0, 0, []
    for start, _end, cells in spans:
        if line_size + cells > width:
            lines.append(text[line_offset:start])
            line_offset, line_size = start, 0
        line_size += cells
    if line_size:
        lines.append(text[line_offset:])
    return lines


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """Offsets at which to break a line so that each piece fits `width` cells: at spaces, and
    through a word longer than the width when folding (rich/_wrap.py)."""
    breaks: list[int] = []
    cell_offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        word_length = cell_len(word.rstrip())
        if width - cell_offset >= word_length:
            cell_offset += cell_len(word)
        elif word_length > width:
            if fold:
                folded = chop_cells(word, width)
                for i, line in enumerate(folded):
                    if start:
                        breaks.append(start)
                    if i == len(folded) - 1:
                        cell_offset = cell_len(line)
                    else:
                        start += len(line)
            else:
                if start:
                    breaks.append(start)
                cell_offset = cell_len(word)
        elif cell_offset and start:
            breaks.append(start)
            cell_offset = cell_len(word)
    return breaks


# ---- styles (rich/style.py): (attributes, attributes set, colour, background) or None -----------

StyleKey = tuple[int, int, "str | None", "str | None"]

_ATTRIBUTES = {"bold": 0, "b": 0, "dim": 1, "d": 1, "italic": 2, "i": 2, "underline": 3, "u": 3, "blink": 4,
               "blink2": 5, "reverse": 6, "r": 6, "conceal": 7, "c": 7, "strike": 8, "s": 8, "underline2": 9,
               "uu": 9, "frame": 10, "encircle": 11, "overline": 12, "o": 12}
_ATTRIBUTE_NAMES = ("bold", "dim", "italic", "underline", "blink", "blink2", "reverse", "conceal", "strike",
                    "underline2", "frame", "encircle", "overline")
_SGR_OF_BIT = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "21", "51", "52", "53")
_COLOURS = {name: n for n, name in enumerate((
    "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white", "bright_black", "bright_red",
    "bright_green", "bright_yellow", "bright_blue", "bright_magenta", "bright_cyan", "bright_white"))}
# the theme names a table uses (rich/default_styles.py)
_THEME: dict[str, StyleKey | None] = {"none": None, "table.header": (1, 1, None, None),
                                      "table.footer": (1, 1, None, None), "table.cell": None,
                                      "table.title": (4, 4, None, None), "table.caption": (6, 6, None, None)}
_parsed: dict[str, StyleKey | None] = {}
_added: dict[tuple[Any, Any], Any] = {}
_sgr_cache: dict[StyleKey, str] = {}


def _colour(word: str) -> str:
    """A colour name as rich parses it: the 16 standard colours, color(0)..color(15), default."""
    if word == "default" or word in _COLOURS:
        return word
    if word.startswith("color(") and word.endswith(")") and word[6:-1].isdigit() and int(word[6:-1]) < 16:
        return list(_COLOURS)[int(word[6:-1])]
    raise ValueError(f"term draws the 16 standard colours only, not {word!r}")


def parse_style(definition: str) -> StyleKey | None:
    """A style definition ("bold red", "dim italic", "not bold", "on blue"), as rich parses it
    (None: no style)."""
    if definition.strip() == "none" or not definition:
        return None
    attributes = mask = 0
    colour = background = None
    words = iter(definition.split())
    for original in words:
        word = original.lower()
        if word == "on":
            background = _colour(next(words, ""))
        elif word == "not":
            word = next(words, "")
            if word not in _ATTRIBUTES:
                raise ValueError(f"expected style attribute after 'not', found {word!r}")
            mask |= 1 << _ATTRIBUTES[word]
            attributes &= ~(1 << _ATTRIBUTES[word])
        elif word in _ATTRIBUTES:
            mask |= 1 << _ATTRIBUTES[word]
            attributes |= 1 << _ATTRIBUTES[word]
        else:
            colour = _colour(word)
    if not (mask or colour or background):
        return None
    return attributes, mask, colour, background


def get_style(name: Any, default: Any = ValueError) -> StyleKey | None:
    """A style by theme name or definition (Console.get_style); an unparsable one is `default`'s
    (an error when none is given)."""
    if name is None or type(name) is tuple:
        return name
    try:
        return _parsed[name]
    except KeyError:
        pass
    try:
        style = _THEME[name] if name in _THEME else parse_style(name)
    except ValueError:
        if default is ValueError:
            raise
        return get_style(default)
    _parsed[name] = style
    return style


def add_styles(base: Any, over: Any) -> Any:
    """base + over (rich's Style.__add__): over's attributes and colours win where it sets them."""
    if over is None:
        return base
    if base is None:
        return over
    key = (base, over)
    style = _added.get(key)
    if style is None:
        style = _added[key] = ((base[0] & ~over[1]) | (over[0] & over[1]), base[1] | over[1],
                               over[2] or base[2], over[3] or base[3])
    return style


def sgr(style: StyleKey) -> str:
    """The SGR parameters of a style ("1;31"), in rich's order: attributes, colour, background."""
    codes = _sgr_cache.get(style)
    if codes is None:
        attributes = style[0] & style[1]
        parts = [_SGR_OF_BIT[bit] for bit in range(13) if attributes >> bit & 1]
        for colour, base in ((style[2], 30), (style[3], 40)):
            if colour is not None:
                n = _COLOURS.get(colour)
                parts.append(str(base + 9) if n is None else str(base + n if n < 8 else base + 52 + n))
        codes = _sgr_cache[style] = ";".join(parts)
    return codes


def _combine(styles: Sequence[Any]) -> Any:
    style = styles[0]
    for other in styles[1:]:
        style = add_styles(style, other)
    return style


# ---- segments (rich/segment.py): (text, style) pairs, lines of them -----------------------------

Segment = tuple[str, Any]
_NEW_LINE: Segment = ("\n", None)


def apply_style(segments: list[Segment], style: Any) -> list[Segment]:
    """style + each segment's own (Segment.apply_style)."""
    if not style:
        return segments
    return [(text, add_styles(style, own)) for text, own in segments]


def adjust_line_length(line: list[Segment], length: int, style: Any = None, pad: bool = True) -> list[Segment]:
    """A line cropped or padded to `length` cells."""
    line_length = sum(cell_len(text) for text, _ in line)
    if line_length < length:
        return [*line, (" " * (length - line_length), style)] if pad else line[:]
    if line_length > length:
        new_line: list[Segment] = []
        line_length = 0
        for text, segment_style in line:
            segment_length = cell_len(text)
            if line_length + segment_length < length:
                new_line.append((text, segment_style))
                line_length += segment_length
            else:
                new_line.append((set_cell_size(text, length - line_length), segment_style))
                break
        return new_line
    return line[:]


def split_and_crop_lines(segments: Iterable[Segment], length: int, style: Any = None, pad: bool = True,
                         include_new_lines: bool = True) -> list[list[Segment]]:
    """Segments split into lines at newlines, each cropped (and padded) to `length` cells."""
    lines: list[list[Segment]] = []
    line: list[Segment] = []
    for text, segment_style in segments:
        if "\n" in text:
            while text:
                part, new_line, text = text.partition("\n")
                if part:
                    line.append((part, segment_style))
                if new_line:
                    cropped = adjust_line_length(line, length, style=style, pad=pad)
                    if include_new_lines:
                        cropped.append(_NEW_LINE)
                    lines.append(cropped)
                    line = []
        else:
            line.append((text, segment_style))
    if line:
        lines.append(adjust_line_length(line, length, style=style, pad=pad))
    return lines


def _align(lines: list[list[Segment]], vertical: str, width: int, height: int, style: Any) -> list[list[Segment]]:
    """Blank lines added below (top), above (bottom) or around (middle) to `height`."""
    extra = height - len(lines)
    if not extra:
        return lines[:]
    lines = lines[:height]
    blank = [(" " * width, style)]
    if vertical == "top":
        return lines + [blank] * extra
    if vertical == "bottom":
        return [blank] * extra + lines
    top = extra // 2
    return [blank] * top + lines + [blank] * (extra - top)


def _set_shape(lines: list[list[Segment]], width: int, height: int | None = None,
               style: Any = None) -> list[list[Segment]]:
    height = height or len(lines)
    shaped = [adjust_line_length(line, width, style=style) for line in lines]
    if len(shaped) < height:
        shaped.extend([[(" " * width, style)]] * (height - len(shaped)))
    return shaped


def _render_segments(segments: Iterable[Segment], colour: bool, no_colour: bool) -> str:
    """Segments as text: each styled one in its own SGR sequence and a reset, as rich writes
    them (NO_COLOR keeps bold, dim and italic, drops colours)."""
    if not colour:
        return "".join(text for text, _ in segments)
    out = []
    for text, style in segments:
        if style and text:
            codes = sgr((style[0], style[1], None, None) if no_colour else style)
            out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes else text)
        else:
            out.append(text)
    return "".join(out)


# ---- renderables ---------------------------------------------------------------------------------

class ConsoleOptions:
    """What a renderable is drawn into (rich's ConsoleOptions, the fields tables read)."""

    __slots__ = ("encoding", "is_terminal", "justify", "max_width", "min_width", "no_wrap", "overflow")

    def __init__(self, max_width: int, *, min_width: int = 1, justify: str | None = None,
                 overflow: str | None = None, no_wrap: bool | None = False, encoding: str = "utf-8",
                 is_terminal: bool = False) -> None:
        self.max_width, self.min_width, self.justify, self.overflow = max_width, min_width, justify, overflow
        self.no_wrap, self.encoding, self.is_terminal = no_wrap, encoding, is_terminal

    @property
    def ascii_only(self) -> bool:
        return not self.encoding.startswith("utf")

    def update(self, **changes: Any) -> ConsoleOptions:
        """A copy with some fields changed; width sets both the minimum and the maximum."""
        options = ConsoleOptions(self.max_width, min_width=self.min_width, justify=self.justify,
                                 overflow=self.overflow, no_wrap=self.no_wrap, encoding=self.encoding,
                                 is_terminal=self.is_terminal)
        if "width" in changes:
            options.min_width = options.max_width = max(0, changes.pop("width"))
        for name, value in changes.items():
            setattr(options, name, value)
        return options

    def update_width(self, width: int) -> ConsoleOptions:
        return self.update(width=width)


class Renderable:
    """Something Console.print draws; handed to rich, it draws itself the same way there."""

    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        raise NotImplementedError

    def _measure(self, console: Console, options: ConsoleOptions) -> tuple[int, int]:
        """(narrowest, widest) it can be drawn; rich's Measurement."""
        return 0, options.max_width

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        """rich's protocol (rich.print(analysis), a rich Console in a test): drawn here, at rich's
        width, then handed over as rich segments. Imports rich: nothing on cnncalc's own path
        comes here."""
        from rich.segment import Segment as RichSegment

        term_console = SafeConsole(width=options.max_width, color_system=None, file=console.file)
        term_console.tab_size = console.tab_size
        term_options = ConsoleOptions(options.max_width, min_width=options.min_width, justify=options.justify,
                                      overflow=options.overflow, no_wrap=options.no_wrap, encoding=options.encoding,
                                      is_terminal=options.is_terminal)
        for text, style in term_console.render(self, term_options):
            yield RichSegment(text, _rich_style(style))


_rich_styles: dict[Any, Any] = {}


def _rich_style(style: Any) -> Any:
    if style is None:
        return None
    converted = _rich_styles.get(style)
    if converted is None:
        from rich.style import Style

        flags: dict[str, Any] = {name: bool(style[0] >> bit & 1) for bit, name in enumerate(_ATTRIBUTE_NAMES) if style[1] >> bit & 1}
        converted = _rich_styles[style] = Style(color=style[2], bgcolor=style[3], **flags)
    return converted


def _strip_control(text: str) -> str:
    """Text without the control codes rich drops (bell, backspace, VT, FF, CR)."""
    if text.isprintable():
        return text
    return text.translate(_CONTROL_STRIP)


_CONTROL_STRIP = dict.fromkeys((7, 8, 11, 12, 13))


def _pick_bool(*values: bool | None) -> bool:
    for value in values:
        if value is not None:
            return bool(value)
    return False


class Text(Renderable):
    """A string with a style, and spans of styles over parts of it (rich's Text)."""

    __slots__ = ("_spans", "_text", "end", "justify", "no_wrap", "overflow", "style", "tab_size")

    def __init__(self, text: str = "", style: str | StyleKey | None = "", *, justify: str | None = None,
                 overflow: str | None = None, no_wrap: bool | None = None, end: str = "\n",
                 tab_size: int | None = None, spans: list[tuple[int, int, Any]] | None = None) -> None:
        self._text = _strip_control(text)
        self.style = style
        self.justify, self.overflow, self.no_wrap, self.end, self.tab_size = justify, overflow, no_wrap, end, tab_size
        self._spans: list[tuple[int, int, Any]] = spans or []

    def __len__(self) -> int:
        return len(self._text)

    def __bool__(self) -> bool:
        return bool(self._text)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<text {self._text!r} {self._spans!r} {self.style!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Text):
            return NotImplemented
        return self._text == other._text and self._spans == other._spans

    __hash__ = None  # type: ignore[assignment]

    def __contains__(self, other: object) -> bool:
        if isinstance(other, str):
            return other in self._text
        return isinstance(other, Text) and other._text in self._text

    @property
    def plain(self) -> str:
        return self._text

    @plain.setter
    def plain(self, new_text: str) -> None:
        if new_text != self._text:
            old_length = len(self._text)
            self._text = _strip_control(new_text)
            if old_length > len(self._text):
                self._trim_spans()

    @property
    def spans(self) -> list[tuple[int, int, Any]]:
        return self._spans

    @spans.setter
    def spans(self, spans: list[tuple[int, int, Any]]) -> None:
        self._spans = spans[:]

    @property
    def cell_len(self) -> int:
        return cell_len(self._text)

    def blank_copy(self, plain: str = "") -> Text:
        return Text(plain, self.style, justify=self.justify, overflow=self.overflow, no_wrap=self.no_wrap,
                    end=self.end, tab_size=self.tab_size)

    def copy(self) -> Text:
        copy = self.blank_copy(self._text)
        copy._spans[:] = self._spans
        return copy

    def append(self, text: Text | str, style: str | StyleKey | None = None) -> Text:
        """Add text, with a style over it."""
        if isinstance(text, str):
            if text:
                sanitized = _strip_control(text)
                offset = len(self._text)
                self._text += sanitized
                if style:
                    self._spans.append((offset, offset + len(sanitized), style))
        elif isinstance(text, Text):
            if style is not None:
                raise ValueError("style must not be set when appending Text instance")
            if len(text):
                self.append_text(text)
        else:
            raise TypeError("Only str or Text can be appended to Text")
        return self

    def append_text(self, text: Text) -> Text:
        offset = len(self._text)
        if text.style:
            self._spans.append((offset, offset + len(text), text.style))
        self._text += text._text
        self._spans.extend((start + offset, end + offset, style) for start, end, style in text._spans)
        return self

    def stylize(self, style: str | StyleKey, start: int = 0, end: int | None = None) -> None:
        """A style over [start, end) (negative offsets from the end, as rich)."""
        if style:
            length = len(self)
            if start < 0:
                start = length + start
            if end is None:
                end = length
            if end < 0:
                end = length + end
            if start >= length or end <= start:
                return
            self._spans.append((start, min(length, end), style))

    # -- editing, as rich does it (the wrapping below relies on each step's quirks) -----------------
    def _trim_spans(self) -> None:
        max_offset = len(self._text)
        self._spans[:] = [span if span[1] < max_offset else (span[0], min(max_offset, span[1]), span[2])
                          for span in self._spans if span[0] < max_offset]

    def right_crop(self, amount: int = 1) -> None:
        max_offset = len(self._text) - amount
        self._spans[:] = [span if span[1] < max_offset else (span[0], min(max_offset, span[1]), span[2])
                          for span in self._spans if span[0] < max_offset]
        self._text = self._text[:-amount]

    def rstrip(self) -> None:
        self.plain = self._text.rstrip()

    def rstrip_end(self, size: int) -> None:
        """Whitespace past `size` characters dropped from the end."""
        text_length = len(self._text)
        if text_length > size:
            excess = text_length - size
            whitespace = _TRAILING_SPACE.search(self._text)
            if whitespace is not None:
                self.right_crop(min(len(whitespace.group(0)), excess))

    def pad_left(self, count: int, character: str = " ") -> None:
        if count:
            self.plain = f"{character * count}{self._text}"
            self._spans[:] = [(start + count, end + count, style) for start, end, style in self._spans]

    def pad_right(self, count: int, character: str = " ") -> None:
        if count:
            self.plain = f"{self._text}{character * count}"

    def truncate(self, max_width: int, *, overflow: str | None = None, pad: bool = False) -> None:
        """Cut to `max_width` cells (with … for "ellipsis"), padded to it with pad."""
        overflow = overflow or self.overflow or "fold"
        if overflow != "ignore":
            length = cell_len(self._text)
            if length > max_width:
                if overflow == "ellipsis":
                    self.plain = set_cell_size(self._text, max_width - 1) + "…"
                else:
                    self.plain = set_cell_size(self._text, max_width)
            if pad and length < max_width:
                self._text = f"{self._text}{' ' * (max_width - length)}"

    def extend_style(self, spaces: int) -> None:
        if spaces <= 0:
            return
        if self._spans:
            end_offset = len(self)
            self._spans[:] = [(s, e + spaces, st) if e >= end_offset else (s, e, st) for s, e, st in self._spans]
            self._text += " " * spaces
        else:
            self.plain = self._text + " " * spaces

    def expand_tabs(self, tab_size: int | None = None) -> None:
        """Tabs as spaces to the next multiple of tab_size cells."""
        if "\t" not in self._text:
            return
        tab_size = tab_size or self.tab_size or 8
        parts: list[Text] = []
        for line in self.split("\n", include_separator=True):
            if "\t" not in line._text:
                parts.append(line)
                continue
            cell_position = 0
            for part in line.split("\t", include_separator=True):
                if part._text.endswith("\t"):
                    part._text = part._text[:-1] + " "
                    cell_position += part.cell_len
                    remainder = cell_position % tab_size
                    if remainder:
                        part.extend_style(tab_size - remainder)
                        cell_position += tab_size - remainder
                else:
                    cell_position += part.cell_len
                parts.append(part)
        result = Text("").join(parts)
        self._text = result._text
        self._spans[:] = result._spans

    def split(self, separator: str = "\n", *, include_separator: bool = False, allow_blank: bool = False) -> list[Text]:
        """The text split into lines at the separator, each with its part of the spans."""
        text = self._text
        if separator not in text:
            return [self.copy()]
        if include_separator:
            offsets = []
            at = text.find(separator)
            while at != -1:
                offsets.append(at + len(separator))
                at = text.find(separator, at + len(separator))
            lines = self.divide(offsets)
        else:
            offsets = []
            at = text.find(separator)
            while at != -1:
                offsets += [at, at + len(separator)]
                at = text.find(separator, at + len(separator))
            lines = [line for line in self.divide(offsets) if line._text != separator]
        if not allow_blank and text.endswith(separator):
            lines.pop()
        return lines

    def divide(self, offsets: Iterable[int]) -> list[Text]:
        """The text cut at the offsets, each piece with its part of the spans."""
        offsets = list(offsets)
        if not offsets:
            return [self.copy()]
        text = self._text
        bounds = [0, *offsets, len(text)]
        ranges = list(pairwise(bounds))
        lines = [Text(text[start:end], self.style, justify=self.justify, overflow=self.overflow)
                 for start, end in ranges]
        if self._spans:
            from bisect import bisect_right

            starts = [r[0] for r in ranges]
            for span_start, span_end, style in self._spans:
                for line_no in range(max(0, bisect_right(starts, span_start) - 1), len(ranges)):
                    line_start, line_end = ranges[line_no]
                    if line_start > span_end:
                        break
                    new_start = max(0, span_start - line_start)
                    new_end = min(span_end - line_start, line_end - line_start)
                    if new_end > new_start:
                        lines[line_no]._spans.append((new_start, new_end, style))
        return lines

    def join(self, lines: Iterable[Text]) -> Text:
        """The lines joined with this text between them."""
        new_text = self.blank_copy()
        pieces: list[str] = []
        offset = 0
        sep = self if self._text else None
        first = True
        for line in lines:
            for text in ((line,) if first or sep is None else (sep, line)):
                pieces.append(text._text)
                if text.style:
                    new_text._spans.append((offset, offset + len(text), text.style))
                new_text._spans.extend((offset + start, offset + end, style) for start, end, style in text._spans)
                offset += len(text)
            first = False
        new_text._text = "".join(pieces)
        return new_text

    # -- wrapping ------------------------------------------------------------------------------------
    def wrap(self, console: Console, width: int, *, justify: str | None = None, overflow: str | None = None,
             tab_size: int = 8, no_wrap: bool | None = None) -> list[Text]:
        """The text as lines of at most `width` cells, justified (rich's Text.wrap)."""
        wrap_justify = justify or self.justify or "default"
        wrap_overflow = overflow or self.overflow or "fold"
        no_wrap = _pick_bool(no_wrap, self.no_wrap, False) or overflow == "ignore"
        lines: list[Text] = []
        for line in self.split(allow_blank=True):
            if "\t" in line._text:
                line.expand_tabs(tab_size)
            if no_wrap:
                if overflow == "ignore":
                    lines.append(line)
                    continue
                new_lines = [line]
            else:
                new_lines = line.divide(divide_line(line._text, width, fold=wrap_overflow == "fold"))
                for new_line in new_lines:
                    new_line.rstrip_end(width)
            if wrap_justify:
                _justify(console, new_lines, width, wrap_justify, wrap_overflow)
            for new_line in new_lines:
                new_line.truncate(width, overflow=wrap_overflow)
            lines.extend(new_lines)
        return lines

    def _style_at(self, offset: int) -> Any:
        if offset < 0:
            offset = len(self) + offset
        style = get_style(self.style)
        for start, end, span_style in self._spans:
            if end > offset >= start:
                style = add_styles(style, get_style(span_style, default=""))
        return style

    def _segments(self, end: str = "") -> list[Segment]:
        """The text as segments: one per run between span edges, its spans' styles combined in
        the order they were added (rich's Text.render)."""
        text = self._text
        if not self._spans:
            return [(text, None), (end, None)] if end else [(text, None)]
        styles = {0: get_style(self.style, default=None)}
        events = [(0, False, 0)]
        for index, (start, _, style) in enumerate(self._spans, 1):
            styles[index] = get_style(style, default=None)
            events.append((start, False, index))
        events += [(stop, True, index) for index, (_, stop, _) in enumerate(self._spans, 1)]
        events.append((len(text), True, 0))
        events.sort(key=lambda e: (e[0], e[1]))
        stack: list[int] = []
        segments: list[Segment] = []
        cache: dict[tuple[int, ...], Any] = {}
        for (offset, leaving, style_id), (next_offset, _, _) in pairwise(events):
            if leaving:
                stack.remove(style_id)
            else:
                stack.append(style_id)
            if next_offset > offset:
                key = tuple(sorted(stack))
                style = cache.get(key, 0)
                if style == 0:
                    style = cache[key] = _combine([styles[i] for i in key])
                segments.append((text[offset:next_offset], style))
        if end:
            segments.append((end, None))
        return segments

    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        tab_size = console.tab_size if self.tab_size is None else self.tab_size
        lines = self.wrap(console, options.max_width, justify=self.justify or options.justify or "default",
                          overflow=self.overflow or options.overflow or "fold", tab_size=tab_size or 8,
                          no_wrap=_pick_bool(self.no_wrap, options.no_wrap, False))
        return Text("\n").join(lines)._segments(end=self.end)

    def _measure(self, console: Console, options: ConsoleOptions) -> tuple[int, int]:
        text = self._text
        lines = text.splitlines()
        widest = max(map(cell_len, lines)) if lines else 0
        words = text.split()
        return (max(map(cell_len, words)) if words else widest), widest


_TRAILING_SPACE = re.compile(r"\s+$")


def _justify(console: Console, lines: list[Text], width: int, justify: str, overflow: str) -> None:
    """Lines padded to `width` as justified (rich's Lines.justify); "default" leaves them."""
    if justify == "left":
        for line in lines:
            line.truncate(width, overflow=overflow, pad=True)
    elif justify == "center":
        for line in lines:
            line.rstrip()
            line.truncate(width, overflow=overflow)
            line.pad_left((width - cell_len(line.plain)) // 2)
            line.pad_right(width - cell_len(line.plain))
    elif justify == "right":
        for line in lines:
            line.rstrip()
            line.truncate(width, overflow=overflow)
            line.pad_left(width - cell_len(line.plain))
    elif justify == "full":
        for index, line in enumerate(lines[:-1]):
            words = line.split(" ")
            words_size = sum(cell_len(word.plain) for word in words)
            num_spaces = len(words) - 1
            spaces = [1] * num_spaces
            i = 0
            if spaces:
                while words_size + num_spaces < width:
                    spaces[len(spaces) - i - 1] += 1
                    num_spaces += 1
                    i = (i + 1) % len(spaces)
            tokens: list[Text] = []
            for i, word in enumerate(words):
                tokens.append(word)
                if i < len(spaces):
                    style, next_style = word._style_at(-1), words[i + 1]._style_at(0)
                    tokens.append(Text(" " * spaces[i], style=style if style == next_style else line.style))
            lines[index] = Text("").join(tokens)


def measure(console: Console, options: ConsoleOptions, renderable: Any) -> tuple[int, int]:
    """(narrowest, widest) cells a renderable can be drawn in, within options.max_width (rich's
    Measurement.get)."""
    max_width = options.max_width
    if max_width < 1:
        return 0, 0
    if isinstance(renderable, str):
        renderable = console.render_str(renderable)
    if not isinstance(renderable, Renderable):
        if not hasattr(renderable, "__rich_console__"):
            raise TypeError(f"unable to get render width for {renderable!r}")
        return 0, max_width
    least, most = _normalize(*renderable._measure(console, options))
    least, most = min(least, max_width), min(most, max_width)
    if most < 1:
        return 0, 0
    return _normalize(least, most)


def _normalize(least: int, most: int) -> tuple[int, int]:
    least = min(max(0, least), most)
    return max(0, least), max(0, max(least, most))


class Padding(Renderable):
    """Space around a renderable: top, right, bottom, left (rich's Padding)."""

    def __init__(self, renderable: Any, pad: int | tuple[int, ...] = (0, 0, 0, 0), *, style: str = "none",
                 expand: bool = True) -> None:
        self.renderable = renderable
        self.top, self.right, self.bottom, self.left = self.unpack(pad)
        self.style, self.expand = style, expand

    @staticmethod
    def unpack(pad: int | tuple[int, ...]) -> tuple[int, int, int, int]:
        """CSS-style padding (1, 2 or 4 numbers) as (top, right, bottom, left)."""
        if isinstance(pad, int):
            return pad, pad, pad, pad
        if len(pad) == 1:
            return pad[0], pad[0], pad[0], pad[0]
        if len(pad) == 2:
            return pad[0], pad[1], pad[0], pad[1]
        if len(pad) == 4:
            return pad[0], pad[1], pad[2], pad[3]
        raise ValueError(f"1, 2 or 4 integers required for padding; {len(pad)} given")

    def __repr__(self) -> str:
        return f"Padding({self.renderable!r}, ({self.top},{self.right},{self.bottom},{self.left}))"

    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        style = get_style(self.style)
        if self.expand:
            width = options.max_width
        else:
            width = min(measure(console, options, self.renderable)[1] + self.left + self.right, options.max_width)
        lines = console.render_lines(self.renderable, options.update_width(width - self.left - self.right),
                                     style=style, pad=True)
        left = [(" " * self.left, style)] if self.left else []
        right = [(" " * self.right, style), _NEW_LINE] if self.right else [_NEW_LINE]
        blank = [(" " * width + "\n", style)]
        segments: list[Segment] = blank * self.top
        for line in lines:
            segments += left
            segments += line
            segments += right
        segments += blank * self.bottom
        return segments

    def _measure(self, console: Console, options: ConsoleOptions) -> tuple[int, int]:
        max_width = options.max_width
        extra = self.left + self.right
        if max_width - extra < 1:
            return max_width, max_width
        least, most = measure(console, options, self.renderable)
        return min(least + extra, max_width), min(most + extra, max_width)


class Group(Renderable):
    """Renderables drawn one after another (rich's Group)."""

    def __init__(self, *renderables: Any, fit: bool = True) -> None:
        self._renderables = list(renderables)
        self.fit = fit

    @property
    def renderables(self) -> list[Any]:
        return self._renderables

    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        segments: list[Segment] = []
        for renderable in self._renderables:
            segments += console.render(renderable, options)
        return segments

    def _measure(self, console: Console, options: ConsoleOptions) -> tuple[int, int]:
        if not self.fit:
            return options.max_width, options.max_width
        if not self._renderables:
            return 0, 0
        sizes = [measure(console, options, r) for r in self._renderables]
        return max(s[0] for s in sizes), max(s[1] for s in sizes)


class Box:
    """The characters of a table's borders, eight lines of four (rich/box.py)."""

    def __init__(self, name: str, box: str, *, ascii: bool = False) -> None:
        self.name, self.ascii = name, ascii
        lines = [tuple(line) for line in box.splitlines()]
        self.top_left, self.top, self.top_divider, self.top_right = lines[0]
        self.head_left, _, self.head_vertical, self.head_right = lines[1]
        self.head_row_left, self.head_row_horizontal, self.head_row_cross, self.head_row_right = lines[2]
        self.mid_left, _, self.mid_vertical, self.mid_right = lines[3]
        self.row_left, self.row_horizontal, self.row_cross, self.row_right = lines[4]
        self.foot_row_left, self.foot_row_horizontal, self.foot_row_cross, self.foot_row_right = lines[5]
        self.foot_left, _, self.foot_vertical, self.foot_right = lines[6]
        self.bottom_left, self.bottom, self.bottom_divider, self.bottom_right = lines[7]

    def __repr__(self) -> str:
        return f"Box({self.name})"

    def substitute(self, options: ConsoleOptions) -> Box:
        """ASCII lines where the output cannot encode box characters."""
        return ASCII if options.ascii_only and not self.ascii else self

    def get_plain_headed_box(self) -> Box:
        return {"HEAVY_HEAD": SQUARE}.get(self.name, self)

    def get_top(self, widths: Sequence[int]) -> str:
        return self.top_left + self.top_divider.join(self.top * w for w in widths) + self.top_right

    def get_row(self, widths: Sequence[int], level: str = "row", edge: bool = True) -> str:
        left, horizontal, cross, right = {
            "head": (self.head_row_left, self.head_row_horizontal, self.head_row_cross, self.head_row_right),
            "row": (self.row_left, self.row_horizontal, self.row_cross, self.row_right),
            "mid": (self.mid_left, " ", self.mid_vertical, self.mid_right),
            "foot": (self.foot_row_left, self.foot_row_horizontal, self.foot_row_cross, self.foot_row_right)}[level]
        middle = cross.join(horizontal * w for w in widths)
        return left + middle + right if edge else middle

    def get_bottom(self, widths: Sequence[int]) -> str:
        return self.bottom_left + self.bottom_divider.join(self.bottom * w for w in widths) + self.bottom_right


ASCII = Box("ASCII", "+--+\n| ||\n|-+|\n| ||\n|-+|\n|-+|\n| ||\n+--+\n", ascii=True)
SQUARE = Box("SQUARE", "┌─┬┐\n│ ││\n├─┼┤\n│ ││\n├─┼┤\n├─┼┤\n│ ││\n└─┴┘\n")
HEAVY_HEAD = Box("HEAVY_HEAD", "┏━┳┓\n┃ ┃┃\n┡━╇┩\n│ ││\n├─┼┤\n├─┼┤\n│ ││\n└─┴┘\n")


class Column:
    """A table column: its header and footer, how its cells are justified, wrapped and sized
    (rich's Column; report/fit.py sets width, overflow and no_wrap)."""

    def __init__(self, header: Any = "", footer: Any = "", *, header_style: Any = "", footer_style: Any = "",
                 style: Any = "", justify: str = "left", vertical: str = "top", overflow: str = "ellipsis",
                 width: int | None = None, min_width: int | None = None, max_width: int | None = None,
                 ratio: int | None = None, no_wrap: bool = False, highlight: bool = False, _index: int = 0) -> None:
        self.header, self.footer, self.header_style, self.footer_style = header, footer, header_style, footer_style
        self.style, self.justify, self.vertical, self.overflow = style, justify, vertical, overflow
        self.width, self.min_width, self.max_width, self.ratio = width, min_width, max_width, ratio
        self.no_wrap, self.highlight, self._index = no_wrap, highlight, _index
        self._cells: list[Any] = []

    @property
    def cells(self) -> Iterator[Any]:
        yield from self._cells

    @property
    def flexible(self) -> bool:
        return self.ratio is not None


class Row:
    """A row's style, and whether a line is drawn under it."""

    __slots__ = ("end_section", "style")

    def __init__(self, style: Any = None, end_section: bool = False) -> None:
        self.style, self.end_section = style, end_section


def ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    """values less `total`, taken in proportion to the ratios, at most maximums (rich/_ratio.py)."""
    ratios = [ratio if most else 0 for ratio, most in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return values[:]
    remaining, result = total, []
    for ratio, most, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            distributed = min(most, round(ratio * remaining / total_ratio))
            result.append(value - distributed)
            remaining -= distributed
            total_ratio -= ratio
        else:
            result.append(value)
    return result


def ratio_distribute(total: int, ratios: list[int], minimums: list[int] | None = None) -> list[int]:
    """total split in proportion to the ratios, each at least its minimum (rich/_ratio.py)."""
    from math import ceil

    if minimums:
        ratios = [ratio if least else 0 for ratio, least in zip(ratios, minimums)]
    total_ratio = sum(ratios)
    assert total_ratio > 0, "Sum of ratios must be > 0"
    remaining, result = total, []
    for ratio, least in zip(ratios, minimums or [0] * len(ratios)):
        distributed = max(least, ceil(ratio * remaining / total_ratio)) if total_ratio > 0 else remaining
        result.append(distributed)
        total_ratio -= ratio
        remaining -= distributed
    return result


class Table(Renderable):
    """A table with a title, a header, rows, a footer and a caption, its columns sized to their
    contents and shrunk to the width as rich's Table does."""

    def __init__(self, *headers: Column | str, title: Any = None, caption: Any = None, width: int | None = None,
                 min_width: int | None = None, box: Box | None = HEAVY_HEAD, padding: int | tuple[int, ...] = (0, 1),
                 collapse_padding: bool = False, pad_edge: bool = True, expand: bool = False,
                 show_header: bool = True, show_footer: bool = False, show_edge: bool = True,
                 show_lines: bool = False, leading: int = 0, style: Any = "none", row_styles: Iterable[Any] | None = None,
                 header_style: Any = "table.header", footer_style: Any = "table.footer", border_style: Any = None,
                 title_style: Any = None, caption_style: Any = None, title_justify: str = "center",
                 caption_justify: str = "center", highlight: bool = False) -> None:
        self.columns: list[Column] = []
        self.rows: list[Row] = []
        self.title, self.caption, self.width, self.min_width, self.box = title, caption, width, min_width, box
        self._padding = Padding.unpack(padding)
        self.pad_edge, self._expand, self.show_header, self.show_footer = pad_edge, expand, show_header, show_footer
        self.show_edge, self.show_lines, self.leading, self.collapse_padding = show_edge, show_lines, leading, collapse_padding
        self.style, self.header_style, self.footer_style = style, header_style or "", footer_style or ""
        self.border_style, self.title_style, self.caption_style = border_style, title_style, caption_style
        self.title_justify, self.caption_justify, self.highlight = title_justify, caption_justify, highlight
        self.row_styles = list(row_styles or [])
        for header in headers:
            if isinstance(header, str):
                self.add_column(header=header)
            else:
                header._index = len(self.columns)
                self.columns.append(header)

    @property
    def expand(self) -> bool:
        return self._expand or self.width is not None

    @expand.setter
    def expand(self, expand: bool) -> None:
        self._expand = expand

    @property
    def padding(self) -> tuple[int, int, int, int]:
        return self._padding

    @padding.setter
    def padding(self, padding: int | tuple[int, ...]) -> None:
        self._padding = Padding.unpack(padding)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def _extra_width(self) -> int:
        width = 2 if self.box and self.show_edge else 0
        return width + (len(self.columns) - 1 if self.box else 0)

    def add_column(self, header: Any = "", footer: Any = "", *, header_style: Any = None, highlight: bool | None = None,
                   footer_style: Any = None, style: Any = None, justify: str = "left", vertical: str = "top",
                   overflow: str = "ellipsis", width: int | None = None, min_width: int | None = None,
                   max_width: int | None = None, ratio: int | None = None, no_wrap: bool = False) -> None:
        self.columns.append(Column(header, footer, header_style=header_style or "", footer_style=footer_style or "",
                                   style=style or "", justify=justify, vertical=vertical, overflow=overflow,
                                   width=width, min_width=min_width, max_width=max_width, ratio=ratio,
                                   no_wrap=no_wrap, highlight=self.highlight if highlight is None else highlight,
                                   _index=len(self.columns)))

    def add_row(self, *renderables: Any, style: Any = None, end_section: bool = False) -> None:
        """A row of cells (str, Text or None for a blank one)."""
        cells = list(renderables)
        columns = self.columns
        if len(cells) < len(columns):
            cells += [None] * (len(columns) - len(cells))
        for index, renderable in enumerate(cells):
            if index == len(columns):
                column = Column(_index=index, highlight=self.highlight)
                column._cells.extend(Text("") for _ in self.rows)
                columns.append(column)
            else:
                column = columns[index]
            if renderable is None:
                column._cells.append("")
            elif isinstance(renderable, (str, Renderable)) or hasattr(renderable, "__rich_console__"):
                column._cells.append(renderable)
            else:
                raise TypeError(f"unable to render {type(renderable).__name__}; a string or other renderable "
                                "object is required")
        self.rows.append(Row(style=style, end_section=end_section))

    def add_section(self) -> None:
        """A line under the last row."""
        if self.rows:
            self.rows[-1].end_section = True

    def get_row_style(self, index: int) -> Any:
        style = None
        if self.row_styles:
            style = add_styles(style, get_style(self.row_styles[index % len(self.row_styles)]))
        row_style = self.rows[index].style
        if row_style is not None:
            style = add_styles(style, get_style(row_style))
        return style

    # -- sizing (rich's Table._calculate_column_widths and what it calls) ------------------------------
    def _padding_width(self, column_index: int) -> int:
        _, pad_right, _, pad_left = self._padding
        if self.collapse_padding:
            pad_left = 0
            pad_right = abs(pad_left - pad_right)
        if not self.pad_edge:
            if column_index == 0:
                pad_left = 0
            if column_index == len(self.columns) - 1:
                pad_right = 0
        return pad_left + pad_right

    def _cells(self, column_index: int, column: Column) -> list[tuple[Any, Any, str]]:
        """(style, padded renderable, vertical alignment) of the column's header, cells, footer."""
        top, right, bottom, left = self._padding
        first_column, last_column = column_index == 0, column_index == len(self.columns) - 1
        raw: list[tuple[Any, Any]] = []
        if self.show_header:
            raw.append((add_styles(get_style(self.header_style or ""), get_style(column.header_style)), column.header))
        cell_style = get_style(column.style or "")
        raw += [(cell_style, cell) for cell in column._cells]
        if self.show_footer:
            raw.append((add_styles(get_style(self.footer_style or ""), get_style(column.footer_style)), column.footer))
        if not any(self._padding):
            return [(style, r, getattr(r, "vertical", None) or column.vertical) for style, r in raw]
        cells = []
        for i, (style, renderable) in enumerate(raw):
            first_row, last_row = i == 0, i == len(raw) - 1
            t, r, b, lt = top, right, bottom, left
            if self.collapse_padding:
                if not first_column:
                    lt = max(0, lt - r)
                if not last_row:
                    b = max(0, t - b)
            if not self.pad_edge:
                if first_column:
                    lt = 0
                if last_column:
                    r = 0
                if first_row:
                    t = 0
                if last_row:
                    b = 0
            cells.append((style, Padding(renderable, (t, r, b, lt)),
                          getattr(renderable, "vertical", None) or column.vertical))
        return cells

    def _measure_column(self, console: Console, options: ConsoleOptions, column: Column) -> tuple[int, int]:
        max_width = options.max_width
        if max_width < 1:
            return 0, 0
        padding_width = self._padding_width(column._index)
        if column.width is not None:
            return min(column.width + padding_width, max_width), min(column.width + padding_width, max_width)
        sizes = [measure(console, options, cell[1]) for cell in self._cells(column._index, column)]
        least = max(s[0] for s in sizes) if sizes else 1
        most = max(s[1] for s in sizes) if sizes else max_width
        least, most = min(least, max_width), min(most, max_width)
        if column.min_width is not None:
            width = max(0, column.min_width + padding_width)
            least, most = max(least, width), max(most, width)
        if column.max_width is not None:
            width = column.max_width + padding_width
            least, most = min(least, width), min(most, width)
        return least, most

    def _calculate_column_widths(self, console: Console, options: ConsoleOptions) -> list[int]:
        """Each column's width, padding included, borders not."""
        max_width = options.max_width
        columns = self.columns
        ranges = [self._measure_column(console, options, column) for column in columns]
        widths = [most or 1 for _, most in ranges]
        if self.expand:
            ratios = [col.ratio or 0 for col in columns if col.flexible]
            if any(ratios):
                fixed = [0 if column.flexible else most for (_, most), column in zip(ranges, columns)]
                flex_minimum = [(column.width or 1) + self._padding_width(column._index)
                                for column in columns if column.flexible]
                flex_widths = iter(ratio_distribute(max_width - sum(fixed), ratios, flex_minimum))
                for index, column in enumerate(columns):
                    if column.flexible:
                        widths[index] = fixed[index] + next(flex_widths)
        table_width = sum(widths)
        if table_width > max_width:
            widths = self._collapse_widths(widths, [column.width is None and not column.no_wrap for column in columns],
                                           max_width)
            table_width = sum(widths)
            if table_width > max_width:  # last resort, reduce columns evenly
                widths = ratio_reduce(table_width - max_width, [1] * len(widths), widths, widths)
                table_width = sum(widths)
            widths = [self._measure_column(console, options.update_width(width), column)[1] or 0
                      for width, column in zip(widths, columns)]
        extra_width = self._extra_width
        if (table_width < max_width and self.expand) or (
                self.min_width is not None and table_width < (self.min_width - extra_width)):
            target = max_width if self.min_width is None else min(self.min_width - extra_width, max_width)
            pad_widths = ratio_distribute(target - table_width, widths)
            widths = [width + pad for width, pad in zip(widths, pad_widths)]
        return widths

    @staticmethod
    def _collapse_widths(widths: list[int], wrapable: list[bool], max_width: int) -> list[int]:
        """Widths reduced towards max_width by shrinking the widest wrapable columns first."""
        total_width = sum(widths)
        excess_width = total_width - max_width
        if any(wrapable):
            while total_width and excess_width > 0:
                max_column = max(width for width, allow_wrap in zip(widths, wrapable) if allow_wrap)
                second_max_column = max(width if allow_wrap and width != max_column else 0
                                        for width, allow_wrap in zip(widths, wrapable))
                column_difference = max_column - second_max_column
                ratios = [1 if (width == max_column and allow_wrap) else 0 for width, allow_wrap in zip(widths, wrapable)]
                if not any(ratios) or not column_difference:
                    break
                max_reduce = [min(excess_width, column_difference)] * len(widths)
                widths = ratio_reduce(excess_width, ratios, max_reduce, widths)
                total_width = sum(widths)
                excess_width = total_width - max_width
        return widths

    # -- drawing (rich's Table.__rich_console__ and _render) --------------------------------------------
    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        if not self.columns:
            return [_NEW_LINE]
        max_width = options.max_width if self.width is None else self.width
        widths = self._calculate_column_widths(console, options.update_width(max_width - self._extra_width))
        table_width = sum(widths) + self._extra_width
        render_options = options.update(width=table_width)
        segments: list[Segment] = []

        def annotation(text: Any, style: Any, justify: str) -> None:
            if isinstance(text, str):
                text = console.render_str(text, style=style)
            segments.extend(console.render(text, render_options.update(justify=justify)))

        if self.title:
            annotation(self.title, "table.title" if self.title_style is None else self.title_style, self.title_justify)
        segments += self._render_rows(console, render_options, widths)
        if self.caption:
            annotation(self.caption, "table.caption" if self.caption_style is None else self.caption_style,
                       self.caption_justify)
        return segments

    def _render_rows(self, console: Console, options: ConsoleOptions, widths: list[int]) -> list[Segment]:
        table_style = get_style(self.style or "")
        border_style = add_styles(table_style, get_style(self.border_style or ""))
        row_cells = list(zip(*(self._cells(i, column) for i, column in enumerate(self.columns))))
        box = self.box.substitute(options) if self.box else None
        if box and not self.show_header:
            box = box.get_plain_headed_box()
        show_header, show_footer, show_edge = self.show_header, self.show_footer, self.show_edge
        out: list[Segment] = []
        if box:
            edges = [((box.head_left, border_style), (box.head_right, border_style), (box.head_vertical, border_style)),
                     ((box.mid_left, border_style), (box.mid_right, border_style), (box.mid_vertical, border_style)),
                     ((box.foot_left, border_style), (box.foot_right, border_style), (box.foot_vertical, border_style))]
            if show_edge:
                out += [(box.get_top(widths), border_style), _NEW_LINE]
        n_rows = len(row_cells)
        for index, row_cell in enumerate(row_cells):
            first, last = index == 0, index == n_rows - 1
            header_row, footer_row = first and show_header, last and show_footer
            row = self.rows[index - show_header] if not header_row and not footer_row else None
            row_style = None if header_row or footer_row else self.get_row_style(index - 1 if show_header else index)
            cells = []
            for width, (cell_style, renderable, _), column in zip(widths, row_cell, self.columns):
                cell_options = options.update(width=width, justify=column.justify, no_wrap=column.no_wrap,
                                              overflow=column.overflow)
                cells.append(console.render_lines(renderable, cell_options,
                                                  style=add_styles(get_style(cell_style), row_style)))
            row_height = max(len(cell) for cell in cells)
            max_height = max(1, row_height)
            shaped = []
            for width, (cell_style, _, vertical), lines in zip(widths, row_cell, cells):
                if header_row:
                    vertical = "bottom"
                elif footer_row:
                    vertical = "top"
                pad_style = add_styles(get_style(cell_style), row_style)
                shaped.append(_set_shape(_align(lines, vertical, width, row_height, pad_style), width, max_height))
            if box:
                if last and show_footer:
                    out += [(box.get_row(widths, "foot", edge=show_edge), border_style), _NEW_LINE]
                left, right, divider = edges[0 if first else (2 if last else 1)]
                if not divider[0].strip():  # a blank divider takes the row's background
                    background = None if row_style is None or row_style[3] is None else (0, 0, None, row_style[3])
                    divider = (divider[0], add_styles(background, divider[1]))
                for line_no in range(max_height):
                    if show_edge:
                        out.append(left)
                    for i, lines in enumerate(shaped):
                        out += lines[line_no]
                        if i < len(shaped) - 1:
                            out.append(divider)
                    if show_edge:
                        out.append(right)
                    out.append(_NEW_LINE)
            else:
                for line_no in range(max_height):
                    for lines in shaped:
                        out += lines[line_no]
                    out.append(_NEW_LINE)
            if box and first and show_header:
                out += [(box.get_row(widths, "head", edge=show_edge), border_style), _NEW_LINE]
            end_section = row and row.end_section
            if box and (self.show_lines or self.leading or end_section):
                if not last and not (show_footer and index >= n_rows - 2) and not (show_header and header_row):
                    if self.leading:
                        out.append((box.get_row(widths, "mid", edge=show_edge) * self.leading, border_style))
                    else:
                        out.append((box.get_row(widths, "row", edge=show_edge), border_style))
                    out.append(_NEW_LINE)
        if box and show_edge:
            out += [(box.get_bottom(widths), border_style), _NEW_LINE]
        return out


class NewLine(Renderable):
    """`count` line feeds (what print() with nothing prints)."""

    def __init__(self, count: int = 1) -> None:
        self.count = count

    def _render(self, console: Console, options: ConsoleOptions) -> list[Segment]:
        return [("\n" * self.count, None)]


_COLOR_SYSTEMS = ("standard", "256", "truecolor", "windows")


def _std_filenos() -> tuple[int, ...]:
    """The file descriptors rich asks for the terminal's size: stdin, stdout, stderr (Windows:
    stdout, stderr)."""
    filenos = []
    for stream, default in ((sys.__stdin__, 0), (sys.__stdout__, 1), (sys.__stderr__, 2)):
        try:
            filenos.append(stream.fileno())  # type: ignore[union-attr]
        except Exception:
            filenos.append(default)
    return tuple(filenos[1:]) if sys.platform == "win32" else tuple(filenos)


class Console:
    """Where renderables are printed (rich's Console, its print path): the width given, else
    COLUMNS, else the terminal's; colour where rich turns it on (a terminal, or FORCE_COLOR;
    not TERM=dumb; NO_COLOR keeps bold, dim and italic but no colours)."""

    def __init__(self, *, file: Any = None, width: int | None = None, height: int | None = None,
                 color_system: str | None = "auto", force_terminal: bool | None = None, no_color: bool | None = None,
                 stderr: bool = False, tab_size: int = 8, soft_wrap: bool = False,
                 environ: dict[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._file, self.stderr, self.tab_size, self.soft_wrap = file, stderr, tab_size, soft_wrap
        if width is None:
            columns = self._environ.get("COLUMNS")
            if columns is not None and columns.isdigit():
                width = int(columns)
        if height is None:
            lines = self._environ.get("LINES")
            if lines is not None and lines.isdigit():
                height = int(lines)
        self._width, self._height = width, height
        self._force_terminal = force_terminal
        if color_system is not None and color_system != "auto" and color_system not in _COLOR_SYSTEMS:
            raise ValueError(f"color_system {color_system!r}: choose auto, None or one of {', '.join(_COLOR_SYSTEMS)}")
        self._color_system = self._detect_color_system() if color_system == "auto" else color_system
        self.no_color = no_color if no_color is not None else self._environ.get("NO_COLOR", "") != ""

    def __repr__(self) -> str:
        return f"<console width={self.width} {self._color_system}>"

    @property
    def file(self) -> Any:
        file = self._file or (sys.stderr if self.stderr else sys.stdout)
        return _NullFile() if file is None else file

    @file.setter
    def file(self, new_file: Any) -> None:
        self._file = new_file

    @property
    def color_system(self) -> str | None:
        """standard, 256, truecolor (windows), or None: no colour."""
        return self._color_system

    @property
    def encoding(self) -> str:
        return (getattr(self.file, "encoding", "utf-8") or "utf-8").lower()

    @property
    def is_terminal(self) -> bool:
        """Whether escape sequences may be written (rich's rules: force_terminal, TTY_COMPATIBLE,
        FORCE_COLOR, then isatty)."""
        if self._force_terminal is not None:
            return self._force_terminal
        if hasattr(sys.stdin, "__module__") and sys.stdin.__module__.startswith("idlelib"):
            return False
        tty_compatible = self._environ.get("TTY_COMPATIBLE", "")
        if tty_compatible == "0":
            return False
        if tty_compatible == "1":
            return True
        force_color = self._environ.get("FORCE_COLOR")
        if force_color is not None:
            return force_color != ""
        isatty = getattr(self.file, "isatty", None)
        try:
            return False if isatty is None else bool(isatty())
        except ValueError:  # a closed file
            return False

    @property
    def is_dumb_terminal(self) -> bool:
        return self.is_terminal and self._environ.get("TERM", "").lower() in ("dumb", "unknown")

    def _detect_color_system(self) -> str | None:
        if not self.is_terminal or self.is_dumb_terminal:
            return None
        if sys.platform == "win32":  # rich asks the console; Windows 10's takes 24-bit colour
            return "truecolor"
        if self._environ.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
            return "truecolor"
        colors = self._environ.get("TERM", "").strip().lower().rpartition("-")[2]
        return {"kitty": "256", "256color": "256", "16color": "standard"}.get(colors, "standard")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height): as given, else COLUMNS and LINES, else the terminal's, else 80 x 25
        (a dumb terminal: 80 x 25, unless both were given)."""
        if self._width is not None and self._height is not None:
            return self._width, self._height
        if self.is_dumb_terminal:
            return 80, 25
        width = height = None
        for fileno in _std_filenos():
            try:
                width, height = os.get_terminal_size(fileno)
            except (AttributeError, ValueError, OSError):
                pass
            else:
                break
        columns = self._environ.get("COLUMNS")
        if columns is not None and columns.isdigit():
            width = int(columns)
        lines = self._environ.get("LINES")
        if lines is not None and lines.isdigit():
            height = int(lines)
        return (width or 80) if self._width is None else self._width, (height or 25) if self._height is None else self._height

    @property
    def width(self) -> int:
        return self.size[0]

    @width.setter
    def width(self, width: int) -> None:
        self._width = width

    @property
    def height(self) -> int:
        return self.size[1]

    @property
    def options(self) -> ConsoleOptions:
        return ConsoleOptions(self.width, encoding=self.encoding, is_terminal=self.is_terminal)

    def render_str(self, text: str, *, style: Any = "", justify: str | None = None, overflow: str | None = None,
                   **_: Any) -> Text:
        """A string as a Text: never markup (SafeConsole also escapes control characters)."""
        return Text(text, style=style, justify=justify, overflow=overflow)

    def get_style(self, name: Any, *, default: Any = ValueError) -> Any:
        return get_style(name, default)

    def render(self, renderable: Any, options: ConsoleOptions | None = None) -> list[Segment]:
        """A renderable as segments, at options' width (the console's unsaid)."""
        options = options or self.options
        if options.max_width < 1:
            return []
        if isinstance(renderable, Renderable):
            return renderable._render(self, options)
        if isinstance(renderable, str):
            return self.render_str(renderable)._render(self, options)
        method = getattr(renderable, "__rich_console__", None)
        if method is None or isinstance(renderable, type):
            raise TypeError(f"unable to render {renderable!r}; a str, Text, Table or Group is required")
        segments: list[Segment] = []
        for part in method(self, options):  # a result (results.py) yields its renderable
            segments += self.render(part, options)
        return segments

    def render_lines(self, renderable: Any, options: ConsoleOptions | None = None, *, style: Any = None,
                     pad: bool = True, new_lines: bool = False) -> list[list[Segment]]:
        """A renderable as lines of segments, each `options.max_width` cells (padded with `style`)."""
        options = options or self.options
        segments = self.render(renderable, options)
        if style:
            segments = apply_style(segments, style)
        return split_and_crop_lines(segments, options.max_width, style=style, pad=pad, include_new_lines=new_lines)

    def _collect_renderables(self, objects: Sequence[Any], sep: str, end: str) -> list[Any]:
        """Strings and Texts in a row joined with sep into one Text; other renderables as they are."""
        renderables: list[Any] = []
        texts: list[Text] = []

        def flush() -> None:
            if texts:
                renderables.append(Text(sep, end=end).join(texts))
                texts.clear()

        for obj in objects:
            if isinstance(obj, str):
                texts.append(self.render_str(obj))
            elif isinstance(obj, Text):
                texts.append(obj)
            elif isinstance(obj, Renderable) or hasattr(obj, "__rich_console__"):
                flush()
                renderables.append(obj)
            else:
                texts.append(self.render_str(str(obj)))
        flush()
        return renderables

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", style: Any = None, overflow: str | None = None,
              no_wrap: bool | None = None, width: int | None = None, crop: bool = True,
              soft_wrap: bool | None = None) -> None:
        """Draw the objects at the console's width and write them, at once, to its file."""
        if not objects:
            objects = (NewLine(),) if end == "\n" else ("",)
        if soft_wrap is None:
            soft_wrap = self.soft_wrap
        if soft_wrap:
            no_wrap = True if no_wrap is None else no_wrap
            overflow = overflow or "ignore"
            crop = False
        options = self.options.update(overflow=overflow, no_wrap=no_wrap)
        if width is not None:
            options = options.update(width=min(width, self.width))
        segments: list[Segment] = []
        render_style = get_style(style) if style is not None else None
        for renderable in self._collect_renderables(objects, sep, end):
            rendered = self.render(renderable, options)
            if style is None:
                segments += rendered
            else:
                for line in split_and_crop_lines(rendered, sys.maxsize, pad=False):
                    newline = line and line[-1] is _NEW_LINE
                    segments += apply_style(line[:-1] if newline else line, render_style)
                    if newline:
                        segments.append(_NEW_LINE)
        if crop:
            segments = [segment for line in split_and_crop_lines(segments, self.width, pad=False) for segment in line]
        file = self.file
        file.write(_render_segments(segments, self._color_system is not None, self.no_color))
        file.flush()


class _NullFile:
    def write(self, text: str) -> int:
        return 0

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


# ---- data ------------------------------------------------------------------------------------------

# rich 15's cell widths (rich/_unicode_data/unicode17-0-0.py, from wcwidth): code point
# ranges in hex, "a-b" or "a", that take no cell and two cells; every other printable code point
# takes one. _NARROW_TO_WIDE: the characters that VS16 (U+FE0F) makes two cells wide.
UNICODE_VERSION = "17.0.0"
_ZERO_WIDTH = (
    "0 300-36f 483-489 591-5bd 5bf 5c1-5c2 5c4-5c5 5c7 610-61a 61c 64b-65f 670 6d6-6dc 6df-6e4 6e7-6e8 6ea-6ed 711 730-74a "
    "7a6-7b0 7eb-7f3 7fd 816-819 81b-823 825-827 829-82d 859-85b 897-89f 8ca-8e1 8e3-903 93a-93c 93e-94f 951-957 962-963 "
    "981-983 9bc 9be-9c4 9c7-9c8 9cb-9cd 9d7 9e2-9e3 9fe a01-a03 a3c a3e-a42 a47-a48 a4b-a4d a51 a70-a71 a75 a81-a83 abc "
    "abe-ac5 ac7-ac9 acb-acd ae2-ae3 afa-aff b01-b03 b3c b3e-b44 b47-b48 b4b-b4d b55-b57 b62-b63 b82 bbe-bc2 bc6-bc8 "
    "bca-bcd bd7 c00-c04 c3c c3e-c44 c46-c48 c4a-c4d c55-c56 c62-c63 c81-c83 cbc cbe-cc4 cc6-cc8 cca-ccd cd5-cd6 ce2-ce3 "
    "cf3 d00-d03 d3b-d3c d3e-d44 d46-d48 d4a-d4d d57 d62-d63 d81-d83 dca dcf-dd4 dd6 dd8-ddf df2-df3 e31 e34-e3a e47-e4e "
    "eb1 eb4-ebc ec8-ece f18-f19 f35 f37 f39 f3e-f3f f71-f84 f86-f87 f8d-f97 f99-fbc fc6 102b-103e 1056-1059 105e-1060 "
    "1062-1064 1067-106d 1071-1074 1082-108d 108f 109a-109d 1160-11ff 135d-135f 1712-1715 1732-1734 1752-1753 1772-1773 "
    "17b4-17d3 17dd 180b-180f 1885-1886 18a9 1920-192b 1930-193b 1a17-1a1b 1a55-1a5e 1a60-1a7c 1a7f 1ab0-1add 1ae0-1aeb "
    "1b00-1b04 1b34-1b44 1b6b-1b73 1b80-1b82 1ba1-1bad 1be6-1bf3 1c24-1c37 1cd0-1cd2 1cd4-1ce8 1ced 1cf4 1cf7-1cf9 "
    "1dc0-1dff 200b-200f 2028-202e 2060-206f 20d0-20f0 2cef-2cf1 2d7f 2de0-2dff 302a-302f 3099-309a 3164 a66f-a672 "
    "a674-a67d a69e-a69f a6f0-a6f1 a802 a806 a80b a823-a827 a82c a880-a881 a8b4-a8c5 a8e0-a8f1 a8ff a926-a92d a947-a953 "
    "a980-a983 a9b3-a9c0 a9e5 aa29-aa36 aa43 aa4c-aa4d aa7b-aa7d aab0 aab2-aab4 aab7-aab8 aabe-aabf aac1 aaeb-aaef "
    "aaf5-aaf6 abe3-abea abec-abed d7b0-d7ff fb1e fe00-fe0f fe20-fe2f feff ffa0 fff0-fffb 101fd 102e0 10376-1037a "
    "10a01-10a03 10a05-10a06 10a0c-10a0f 10a38-10a3a 10a3f 10ae5-10ae6 10d24-10d27 10d69-10d6d 10eab-10eac 10efa-10eff "
    "10f46-10f50 10f82-10f85 11000-11002 11038-11046 11070 11073-11074 1107f-11082 110b0-110ba 110c2 11100-11102 "
    "11127-11134 11145-11146 11173 11180-11182 111b3-111c0 111c9-111cc 111ce-111cf 1122c-11237 1123e 11241 112df-112ea "
    "11300-11303 1133b-1133c 1133e-11344 11347-11348 1134b-1134d 11357 11362-11363 11366-1136c 11370-11374 113b8-113c0 "
    "113c2 113c5 113c7-113ca 113cc-113d0 113d2 113e1-113e2 11435-11446 1145e 114b0-114c3 115af-115b5 115b8-115c0 "
    "115dc-115dd 11630-11640 116ab-116b7 1171d-1172b 1182c-1183a 11930-11935 11937-11938 1193b-1193e 11940 11942-11943 "
    "119d1-119d7 119da-119e0 119e4 11a01-11a0a 11a33-11a39 11a3b-11a3e 11a47 11a51-11a5b 11a8a-11a99 11b60-11b67 "
    "11c2f-11c36 11c38-11c3f 11c92-11ca7 11ca9-11cb6 11d31-11d36 11d3a 11d3c-11d3d 11d3f-11d45 11d47 11d8a-11d8e "
    "11d90-11d91 11d93-11d97 11ef3-11ef6 11f00-11f01 11f03 11f34-11f3a 11f3e-11f42 11f5a 13430-13440 13447-13455 "
    "1611e-1612f 16af0-16af4 16b30-16b36 16f4f 16f51-16f87 16f8f-16f92 16fe4 16ff0-16ff1 1bc9d-1bc9e 1bca0-1bca3 "
    "1cf00-1cf2d 1cf30-1cf46 1d165-1d169 1d16d-1d182 1d185-1d18b 1d1aa-1d1ad 1d242-1d244 1da00-1da36 1da3b-1da6c 1da75 "
    "1da84 1da9b-1da9f 1daa1-1daaf 1e000-1e006 1e008-1e018 1e01b-1e021 1e023-1e024 1e026-1e02a 1e08f 1e130-1e136 1e2ae "
    "1e2ec-1e2ef 1e4ec-1e4ef 1e5ee-1e5ef 1e6e3 1e6e6 1e6ee-1e6ef 1e6f5 1e8d0-1e8d6 1e944-1e94a 1f3fb-1f3ff e0000-e0fff"
)
_DOUBLE_WIDTH = (
    "1100-115f 231a-231b 2329-232a 23e9-23ec 23f0 23f3 25fd-25fe 2614-2615 2630-2637 2648-2653 267f 268a-268f 2693 26a1 "
    "26aa-26ab 26bd-26be 26c4-26c5 26ce 26d4 26ea 26f2-26f3 26f5 26fa 26fd 2705 270a-270b 2728 274c 274e 2753-2755 2757 "
    "2795-2797 27b0 27bf 2b1b-2b1c 2b50 2b55 2e80-2e99 2e9b-2ef3 2f00-2fd5 2ff0-3029 3030-303e 3041-3096 309b-30ff "
    "3105-312f 3131-3163 3165-318e 3190-31e5 31ef-321e 3220-3247 3250-a48c a490-a4c6 a960-a97c ac00-d7a3 f900-faff "
    "fe10-fe19 fe30-fe52 fe54-fe66 fe68-fe6b ff01-ff60 ffe0-ffe6 16fe0-16fe3 16ff2-16ff6 17000-18cd5 18cff-18d1e "
    "18d80-18df2 1aff0-1aff3 1aff5-1affb 1affd-1affe 1b000-1b122 1b132 1b150-1b152 1b155 1b164-1b167 1b170-1b2fb "
    "1d300-1d356 1d360-1d376 1f004 1f0cf 1f18e 1f191-1f19a 1f200-1f202 1f210-1f23b 1f240-1f248 1f250-1f251 1f260-1f265 "
    "1f300-1f320 1f32d-1f335 1f337-1f37c 1f37e-1f393 1f3a0-1f3ca 1f3cf-1f3d3 1f3e0-1f3f0 1f3f4 1f3f8-1f3fa 1f400-1f43e "
    "1f440 1f442-1f4fc 1f4ff-1f53d 1f54b-1f54e 1f550-1f567 1f57a 1f595-1f596 1f5a4 1f5fb-1f64f 1f680-1f6c5 1f6cc "
    "1f6d0-1f6d2 1f6d5-1f6d8 1f6dc-1f6df 1f6eb-1f6ec 1f6f4-1f6fc 1f7e0-1f7eb 1f7f0 1f90c-1f93a 1f93c-1f945 1f947-1f9ff "
    "1fa70-1fa7c 1fa80-1fa8a 1fa8e-1fac6 1fac8 1facd-1fadc 1fadf-1faea 1faef-1faf8 20000-2fffd 30000-3fffd"
)
_NARROW_TO_WIDE = (
    "23 2a 30 31 32 33 34 35 36 37 38 39 a9 ae 203c 2049 2122 2139 2194 2195 2196 2197 2198 2199 21a9 21aa 2328 23cf 23ed "
    "23ee 23ef 23f1 23f2 23f8 23f9 23fa 24c2 25aa 25ab 25b6 25c0 25fb 25fc 2600 2601 2602 2603 2604 260e 2611 2618 261d "
    "2620 2622 2623 2626 262a 262e 262f 2638 2639 263a 2640 2642 265f 2660 2663 2665 2666 2668 267b 267e 2692 2694 2695 "
    "2696 2697 2699 269b 269c 26a0 26a7 26b0 26b1 26c8 26cf 26d1 26d3 26e9 26f0 26f1 26f4 26f7 26f8 26f9 2702 2708 2709 "
    "270c 270d 270f 2712 2714 2716 271d 2721 2733 2734 2744 2747 2763 2764 27a1 2934 2935 2b05 2b06 2b07 1f170 1f171 1f17e "
    "1f17f 1f321 1f324 1f325 1f326 1f327 1f328 1f329 1f32a 1f32b 1f32c 1f336 1f37d 1f396 1f397 1f399 1f39a 1f39b 1f39e "
    "1f39f 1f3cb 1f3cc 1f3cd 1f3ce 1f3d4 1f3d5 1f3d6 1f3d7 1f3d8 1f3d9 1f3da 1f3db 1f3dc 1f3dd 1f3de 1f3df 1f3f3 1f3f5 "
    "1f3f7 1f43f 1f441 1f4fd 1f549 1f54a 1f56f 1f570 1f573 1f574 1f575 1f576 1f577 1f578 1f579 1f587 1f58a 1f58b 1f58c "
    "1f58d 1f590 1f5a5 1f5a8 1f5b1 1f5b2 1f5bc 1f5c2 1f5c3 1f5c4 1f5d1 1f5d2 1f5d3 1f5dc 1f5dd 1f5de 1f5e1 1f5e3 1f5e8 "
    "1f5ef 1f5f3 1f5fa 1f6cb 1f6cd 1f6ce 1f6cf 1f6e0 1f6e1 1f6e2 1f6e3 1f6e4 1f6e5 1f6e9 1f6f0 1f6f3"
)


class SafeConsole(Console):
    """A Console whose strings are plain text, control characters escaped (errors.safe_text):
    what every cnncalc report prints through (report/console.py says why)."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        from cnncalc.errors import safe_text

        return super().render_str(safe_text(text), **kwargs)
