"""Plain tables as text: Markdown, CSV, LaTeX and self-contained HTML, from one Grid.

Stage: report (pure). In: a Grid (headers, rows of cell strings, optional totals row, caption).
Out: a string. The same cells feed every format, so every format shows the same numbers.
"""

from __future__ import annotations

import html
import re

from cnncalc.errors import safe_text

# Every cell is the user's text (a spec's name, a layer's name, a note): each writer below makes
# it inert in its format. None lets a line break through (str.splitlines' set: a break in a
# Markdown row or a LaTeX comment would start a live line), and control characters are shown
# as escapes (safe_text), never written raw.
LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def one_line(text: str, sep: str = " ") -> str:
    """text with every line break replaced by sep and other control characters shown escaped."""
    return safe_text(LINE_BREAKS.sub(sep, text))


class Grid:
    """A table as cell strings; every writer below renders the same cells."""

    def __init__(self, title: str, headers: list[str], rows: list[list[str]], total: list[str] | None = None,
                 caption: str = "", numeric_from: int = 1, raw_rows: list[list[str]] | None = None) -> None:
        self.title, self.headers, self.rows = title, headers, rows
        self.total = total  # the totals row, same width as headers
        self.caption = caption
        self.numeric_from = numeric_from  # columns from this index on are right-aligned numbers
        self.raw_rows = raw_rows or []  # CSV cells (raw integers), if different
        self.data: list | None = None  # exact values for JSON, when the caller has them
        self.subtotal_rows: list[int] = []  # indices of rows that are subtotals (set in italics)
        self.width: str | None = None  # LaTeX: scale the table to this length (to_latex)
        self.numeric: list[bool] | None = None  # per column, when not numeric_from's split (--columns)

    def is_numeric(self, i: int) -> bool:
        """Whether column i holds numbers (right-aligned)."""
        return self.numeric[i] if self.numeric is not None else i >= self.numeric_from


def to_markdown(grid: Grid) -> str:
    """GitHub-flavoured Markdown: pastes into a README."""
    esc = md_cell
    align = ["---:" if grid.is_numeric(i) else "---" for i in range(len(grid.headers))]
    lines = ["| " + " | ".join(map(esc, grid.headers)) + " |", "|" + "|".join(align) + "|"]
    subtotals = set(grid.subtotal_rows)
    lines += ["| " + " | ".join(f"*{esc(c)}*" if i in subtotals and c else esc(c) for c in r) + " |"
              for i, r in enumerate(grid.rows)]
    if grid.total:
        lines.append("| " + " | ".join(f"**{esc(c)}**" if c else "" for c in grid.total) + " |")
    text = "\n".join(lines) + "\n"
    return text + (f"\n{md_cell(grid.caption)}\n" if grid.caption else "")


_MD_PLAIN = re.compile(r"[^|&<>\\]*")  # a cell without these (and printable) is written as it is


def md_cell(cell: str) -> str:
    """A Markdown table cell: HTML special characters as entities (no raw <script>), backslash
    and pipe escaped (GitHub splits a row at an unescaped pipe), line breaks as <br>,
    control characters shown escaped."""
    if cell.isprintable() and _MD_PLAIN.fullmatch(cell):
        return cell
    text = html.escape(one_line(cell, "\n"), quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\n", "<br>")


def to_csv(grid: Grid) -> str:
    """CSV with a header row; numbers as raw integers (no separators, no units)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(map(csv_cell, grid.headers))
    writer.writerows(map(csv_cell, row) for row in (grid.raw_rows or grid.rows))
    return out.getvalue()


_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(cell: str) -> str:
    """A CSV cell a spreadsheet will not evaluate: one starting with = + - @ TAB or CR (OWASP's
    CSV-injection rule) gets a leading single quote, unless it is a plain number ("-5", "1.25");
    control characters shown escaped (line breaks stay: the csv module quotes them)."""
    cell = safe_text(cell)
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


_TEX = str.maketrans({"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                      "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                      "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
                      "·": r"$\cdot$", "×": r"$\times$"})


def tex_escape(text: str) -> str:
    """A cell (or comment) for LaTeX: every special character escaped, the whole on one line
    (a line break would end a % comment and start a live line), control characters shown."""
    return one_line(text).translate(_TEX)


LATEX_WIDTH = re.compile(r"(?:\d+(?:\.\d+)?)?\\(?:linewidth|textwidth|columnwidth|paperwidth)|\d+(?:\.\d+)?(?:cm|mm|in|pt|em)")


def to_latex(grid: Grid) -> str:
    """A LaTeX table for a paper or a beamer frame: booktabs rules, the title and caption as its
    \\caption, a \\label from the network's name; grid.width (a length: \\linewidth, 0.9\\textwidth,
    12cm) scales it to that width with \\resizebox (graphicx, which beamer loads). Every cell and
    comment is escaped (tex_escape), one line each."""
    spec = "".join("r" if grid.is_numeric(i) else "l" for i in range(len(grid.headers)))
    row = lambda cells: " & ".join(tex_escape(c) for c in cells) + r" \\"  # noqa: E731
    italic = lambda cells: " & ".join(rf"\textit{{{tex_escape(c)}}}" if c else "" for c in cells) + r" \\"  # noqa: E731
    subtotals = set(grid.subtotal_rows)
    body = [italic(r) if i in subtotals else row(r) for i, r in enumerate(grid.rows)]
    label = re.sub(r"[^A-Za-z0-9-]+", "-", grid.title.split(":")[0]).strip("-") or "table"
    caption = tex_escape(grid.title) + (". " + tex_escape(grid.caption) if grid.caption else "")
    packages = r"\usepackage{booktabs}" + (r" and \usepackage{graphicx} (beamer loads it)" if grid.width else "")
    lines = [f"% {tex_escape(grid.title)}: needs {packages}", r"\begin{table}[htbp]", r"\centering",
             rf"\caption[{tex_escape(grid.title)}]{{{caption}}}", rf"\label{{tab:{label}}}"]
    if grid.width:
        lines.append(rf"\resizebox{{{grid.width}}}{{!}}{{%")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", row(grid.headers), r"\midrule", *body]
    if grid.total:
        lines += [r"\midrule", row(grid.total)]
    lines += [r"\bottomrule", r"\end{tabular}" + ("}" if grid.width else ""), r"\end{table}"]
    return "\n".join(lines) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd}th{text-align:left;background:#f4f4f4}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold;border-top:2px solid #888}
tr.subtotal td{font-style:italic;border-bottom:1px solid #aaa}
caption{caption-side:bottom;text-align:left;color:#555;padding-top:.6em}"""


_LEFT = ' style="text-align:left"'


def html_table(grid: Grid, titled: bool = True) -> str:
    """The table alone as HTML (what a notebook shows: Analysis._repr_html_), the title in its
    caption unless the page around it has a heading."""
    import html

    # each cell says its alignment itself: a notebook's stylesheet right-aligns every cell (Jupyter's
    # .rendered_html td), which would push the layer names right
    def cells(row: list[str], tag: str) -> str:
        return "".join(f'<{tag}{" class=n" if grid.is_numeric(i) else _LEFT}>{html.escape(c)}</{tag}>'
                       for i, c in enumerate(row))

    subtotals = set(grid.subtotal_rows)
    body = [("<tr class=\"subtotal\">" if i in subtotals else "<tr>") + f"{cells(r, 'td')}</tr>"
            for i, r in enumerate(grid.rows)]
    if grid.total:
        body.append(f'<tr class="total">{cells(grid.total, "td")}</tr>')
    # titled (a notebook): the title on its own line above the table, the caption under it, smaller
    caption = (f'<caption style="caption-side:top;text-align:left"><strong>{html.escape(grid.title)}</strong><br>'
               f'<small>{html.escape(grid.caption)}</small></caption>' if titled else
               f"<caption>{html.escape(grid.caption)}</caption>")
    return (f"<table>\n{caption}\n"
            f"<thead><tr>{cells(grid.headers, 'th')}</tr></thead>\n<tbody>\n" + "\n".join(body) +
            "\n</tbody>\n</table>\n")


def to_html(grid: Grid) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external files)."""
    import html

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(grid.title)}</title><style>{_CSS}</style></head><body>\n"
            f"<h1>{html.escape(grid.title)}</h1>\n" + html_table(grid, titled=False) + "</body></html>\n")


def to_html_many(grids: list[Grid]) -> str:
    """Several tables in one self-contained page, each under its heading (`table A B --format
    html`: the interactive report is one network's page; several get their lecture tables)."""
    import html

    title = " · ".join(g.title.split(":")[0] for g in grids)
    body = "".join(f"<h1>{html.escape(g.title)}</h1>\n" + html_table(g, titled=False) for g in grids)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n{body}</body></html>\n")


WRITERS = {"markdown": to_markdown, "csv": to_csv, "latex": to_latex, "html": to_html}
