"""Write tests/golden/term/: every terminal table cnncalc prints (tests/term_cases.py's CASES),
as rich 15 renders it, at each case's widths, without colour (.txt) and with it (.ansi).

report/term.py draws these tables itself and must write the same bytes; tests/test_term.py
checks it against these files and against rich live. The reports are built by cnncalc and
handed to rich through tests/term_cases.py's to_rich, so this script rewrites the goldens
after a change to a report's content (the diff is the review). Run from anywhere:
python scripts/make_term_goldens.py [CASE...] (--check: exit 1 when a file is stale).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.term_cases import CASES, GOLDEN, golden_path, golden_text, render_rich  # noqa: E402


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("--")] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    GOLDEN.mkdir(parents=True, exist_ok=True)
    stale = []
    for name in names:
        for colour in (False, True):
            path, text = golden_path(name, colour), golden_text(name, render_rich, colour)
            if check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    stale.append(path.name)
            else:
                path.write_text(text, encoding="utf-8")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
