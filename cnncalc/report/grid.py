"""Plain tables as text: Markdown, CSV, LaTeX and self-contained HTML, from one Grid.

Stage: report (pure). In: a Grid (headers, rows of cell strings, optional totals row, caption).
Out: a string. The same cells feed every format, so every format shows the same numbers.
"""

from __future__ import annotations


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


def to_markdown(grid: Grid) -> str:
    """GitHub-flavoured Markdown: pastes into a README."""
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    align = ["---" if i < grid.numeric_from else "---:" for i in range(len(grid.headers))]
    lines = ["| " + " | ".join(map(esc, grid.headers)) + " |", "|" + "|".join(align) + "|"]
    subtotals = set(grid.subtotal_rows)
    lines += ["| " + " | ".join(f"*{esc(c)}*" if i in subtotals and c else esc(c) for c in r) + " |"
              for i, r in enumerate(grid.rows)]
    if grid.total:
        lines.append("| " + " | ".join(f"**{c}**" if c else "" for c in grid.total) + " |")
    text = "\n".join(lines) + "\n"
    return text + (f"\n{grid.caption}\n" if grid.caption else "")


def to_csv(grid: Grid) -> str:
    """CSV with a header row; numbers as raw integers (no separators, no units)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(grid.headers)
    writer.writerows(grid.raw_rows or grid.rows)
    return out.getvalue()


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text).replace("·", r"$\cdot$").replace("×", r"$\times$")


def to_latex(grid: Grid) -> str:
    """A LaTeX tabular (no packages needed, so it compiles in any beamer deck); caption as a comment."""
    spec = "".join("l" if i < grid.numeric_from else "r" for i in range(len(grid.headers)))
    row = lambda cells: " & ".join(tex_escape(c) for c in cells) + r" \\"  # noqa: E731
    italic = lambda cells: " & ".join(rf"\textit{{{tex_escape(c)}}}" if c else "" for c in cells) + r" \\"  # noqa: E731
    subtotals = set(grid.subtotal_rows)
    body = [italic(r) if i in subtotals else row(r) for i, r in enumerate(grid.rows)]
    lines = [f"% {grid.title}", f"% {grid.caption}" if grid.caption else "", rf"\begin{{tabular}}{{{spec}}}",
             r"\hline", row(grid.headers), r"\hline", *body]
    if grid.total:
        lines += [r"\hline", row(grid.total)]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(line for line in lines if line) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}
th,td{padding:.25em .6em;border-bottom:1px solid #ddd}th{text-align:left;background:#f4f4f4}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:bold;border-top:2px solid #888}
tr.subtotal td{font-style:italic;border-bottom:1px solid #aaa}
caption{caption-side:bottom;text-align:left;color:#555;padding-top:.6em}"""


def html_table(grid: Grid, titled: bool = True) -> str:
    """The table alone as HTML (what a notebook shows: Analysis._repr_html_), the title in its
    caption unless the page around it has a heading."""
    import html

    def cells(row: list[str], tag: str) -> str:
        return "".join(f'<{tag}{" class=n" if i >= grid.numeric_from else ""}>{html.escape(c)}</{tag}>'
                       for i, c in enumerate(row))

    subtotals = set(grid.subtotal_rows)
    body = [("<tr class=\"subtotal\">" if i in subtotals else "<tr>") + f"{cells(r, 'td')}</tr>"
            for i, r in enumerate(grid.rows)]
    if grid.total:
        body.append(f'<tr class="total">{cells(grid.total, "td")}</tr>')
    title = f"{html.escape(grid.title)}: " if titled else ""
    return (f"<table>\n<caption>{title}{html.escape(grid.caption)}</caption>\n"
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
