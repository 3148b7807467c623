"""Write docs/ops.md's op tables from the registry: each op's `doc_row` (cnncalc/ops/), its YAML
name and its aliases. The prose around the tables is written by hand; each table sits between

    <!-- ops table: SECTION (scripts/make_ops_doc.py) -->
    ...
    <!-- end of ops table -->

and is replaced whole. Run from anywhere: python scripts/make_ops_doc.py (--check: exit 1 when
the page is stale, as tests/test_docs.py checks).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.ops import ALIASES, REGISTRY  # noqa: E402
from cnncalc.ops.registry import SECTIONS, DocRow  # noqa: E402

PAGE = ROOT / "docs" / "ops.md"
BLOCK = re.compile(r"(<!-- ops table: (\w+) \(scripts/make_ops_doc.py\) -->\n)(.*?)(<!-- end of ops table -->)", re.S)
# the family modules in the page's reading order; a module not listed comes last, in import order
FAMILIES = ("conv", "pool", "norm", "resample", "linear", "attention", "activation", "reshape", "reduce", "merge",
            "window", "maxvit", "mvit", "detect", "opaque")
HEAD = "| type (aliases) | keys (default) | output | params | macs |\n| --- | --- | --- | --- | --- |\n"


def named(name: str) -> str:
    """`conv` (`conv1d`, `conv2d`, `conv3d`, ...): the name and its aliases, in registration order."""
    aliases = [a for a, target in ALIASES.items() if target == name]
    return f"`{name}`" + (f" ({', '.join(f'`{a}`' for a in aliases)})" if aliases else "")


def rows(section: str) -> list[tuple[list[str], DocRow]]:
    """The section's rows, family by family (FAMILIES), each family's ops in registration order;
    adjacent ops with equal rows share one."""

    def family(name: str) -> int:
        module = REGISTRY[name].__module__.rsplit(".", 1)[-1]
        return FAMILIES.index(module) if module in FAMILIES else len(FAMILIES)

    out: list[tuple[list[str], DocRow]] = []
    for name in sorted(REGISTRY, key=family):
        cls = REGISTRY[name]
        row = cls.doc_row
        if row is None or row.section != section:
            continue
        if out and out[-1][1] == row:
            out[-1][0].append(name)
        else:
            out.append(([name], row))
    return out


def table(section: str) -> str:
    lines = [f"| {', '.join(named(n) for n in names)} | {row.keys} | {row.output} | {row.params} | {row.macs} |\n"
             for names, row in rows(section)]
    return HEAD + "".join(lines)


def render(page: str) -> str:
    """The page with every marked table rewritten."""

    def one(m: re.Match[str]) -> str:
        if m.group(2) not in SECTIONS:
            raise SystemExit(f"docs/ops.md: unknown ops table '{m.group(2)}' (one of {', '.join(SECTIONS)})")
        return m.group(1) + table(m.group(2)) + m.group(4)

    return BLOCK.sub(one, page)


def main(argv: list[str]) -> int:
    page = PAGE.read_text()
    new = render(page)
    if "--check" in argv:
        if new != page:
            print("docs/ops.md is stale: run python scripts/make_ops_doc.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
