"""Write cnncalc/ops/registry.py's HOME: every op name and alias -> the family module that
registers it, so that a spec loads only the op modules it uses (issue 35).

    python scripts/make_ops_index.py          # rewrite the HOME block in place
    python scripts/make_ops_index.py --check  # exit 1 if it is out of date (tests/test_ops.py checks too)

HOME is a shortcut, never the authority: a name it lacks, or a family that does not register
it, makes lookup() load every family (cnncalc/ops/registry.py), so a stale HOME is slower,
never wrong.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cnncalc.ops.registry import homes  # noqa: E402

INIT = ROOT / "cnncalc" / "ops" / "registry.py"
BLOCK = re.compile(r"# HOME begin.*?# HOME end\n", re.S)


def block() -> str:
    lines, line = [], "   "
    for name, family in homes().items():
        item = f' "{name}": "{family}",'
        if len(line) + len(item) > 116:
            lines.append(line)
            line = "   "
        line += item
    lines.append(line)
    body = "\n".join(lines)
    return (f"# HOME begin (written by scripts/make_ops_index.py): every op name and alias -> its family module\n"
            f"HOME = {{\n{body}\n}}\n# HOME end\n")


def main() -> None:
    text = INIT.read_text()
    new = BLOCK.sub(lambda _: block(), text)
    if "--check" in sys.argv:
        sys.exit(0 if new == text else 1)
    INIT.write_text(new)


if __name__ == "__main__":
    main()
