"""Write docs/memory.md's table of predicted vs measured peaks: for every row of the frozen
reference (tests/data/training_peaks.json, measured on torchvision's own models by
scripts/measure_peaks.py), cnncalc's prediction for the paired spec, the ratio and where each
peak falls. The table sits between

    <!-- peaks table (scripts/memory_table.py) -->
    ...
    <!-- end of peaks table -->

and is replaced whole. Run from anywhere: python scripts/memory_table.py (--check: exit 1 when
the page is stale, as tests/test_liveness.py checks). Needs only cnncalc (no torch).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.engine.memory import inference_peak, training_model  # noqa: E402

PAGE = ROOT / "docs" / "memory.md"
DATA = ROOT / "tests" / "data" / "training_peaks.json"
BLOCK = re.compile(r"(<!-- peaks table \(scripts/memory_table.py\) -->\n)(.*?)(<!-- end of peaks table -->)", re.S)
OPTIMIZER = {"sgd-momentum": "momentum", "adam": "adam"}
MIB = 2**20


def table(data: dict) -> str:
    lines = ["| model (spec) | optimizer | dtype | measured MiB | predicted MiB | ratio | peak falls at (measured; predicted) |",
             "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    for row in data["training"]:
        analysis = cnncalc.analyze(row["spec"], batch=row["batch"])
        moment = training_model(analysis, OPTIMIZER[row["optimizer"]], "cpu", row["amp"]).peak(row["batch"])
        where = analysis.rows[moment.row].name if moment.row >= 0 else ""
        lines.append(f"| {row['model']} ({row['spec']}) | {row['optimizer']} | {'bf16 autocast' if row['amp'] else 'float32'} | "
                     f"{row['peak'] / MIB:,.1f} | {moment.at(row['batch']) / MIB:,.1f} | "
                     f"{moment.at(row['batch']) / row['peak']:.3f} | {row['phase']}: {row['place']}; "
                     f"{moment.phase}: {where} |")
    for row in data["inference"]:
        analysis = cnncalc.analyze(row["spec"], batch=row["batch"])
        moment = inference_peak(analysis, row["amp"], "cpu")
        lines.append(f"| {row['model']} ({row['spec']}) | inference, batch 1 | "
                     f"{'bf16 autocast' if row['amp'] else 'float32'} | {row['peak'] / MIB:,.1f} | "
                     f"{moment.at(1) / MIB:,.1f} | {moment.at(1) / row['peak']:.3f} | {row['place']}; "
                     f"{analysis.rows[moment.row].name} |")
    return "\n".join(lines) + "\n"


def render(page: str) -> str:
    data = json.loads(DATA.read_text())
    match = BLOCK.search(page)
    if match is None:
        raise SystemExit("docs/memory.md has no peaks table block")
    return page[:match.start(2)] + table(data) + page[match.end(2):]


def main(argv: list[str]) -> int:
    page = PAGE.read_text()
    new = render(page)
    if "--check" in argv:
        if new != page:
            print("docs/memory.md is stale: run python scripts/memory_table.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
