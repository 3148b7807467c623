"""Freeze what the counting tools report for torchvision's own models: tests/data/tool_reference.json.

For every bundled spec paired with a torchvision model (`torchvision: {model, kwargs}`), build
torchvision's model (no weights, eval, CPU), feed it one sample of the spec's input, and record
FlopCounterMode's FLOPs (MHA fast path off, SDPA math backend), fvcore's, ptflops', torchinfo's
and thop's counts and parameter counts, with the versions used. tests/test_conventions.py checks
every profile against these numbers (exactly) where the tools are not installed, and against the
tools live where they are (CI's second environment).

Run in a venv with torch, torchvision, fvcore, ptflops, torchinfo and thop (about 2 minutes):

    python scripts/freeze_tools.py                 # every paired spec -> tests/data/tool_reference.json
    python scripts/freeze_tools.py vit_b_32 vit_h_14  # just these: updated in the frozen file
    python scripts/freeze_tools.py vit_b_16 -o -   # one spec, to stdout
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.torchcheck.tools import TOOLS, tool_count, torchvision_model  # noqa: E402

OUT = ROOT / "tests" / "data" / "tool_reference.json"


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for dist in ("torch", "torchvision", "fvcore", "ptflops", "torchinfo", "thop"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def paired() -> list[str]:
    return [n for n in cnncalc.architectures() if cnncalc.load(n).torchvision]


def measure(name: str) -> dict:
    graph = cnncalc.load(name)
    pairing = graph.torchvision
    row = {"model": pairing["model"], "kwargs": pairing["kwargs"], "input": list(graph.input_shape), "params": {}}
    for tool in TOOLS:
        count, params = tool_count(tool, torchvision_model(pairing["model"], pairing["kwargs"]), graph.input_shape)
        row[tool], row["params"][tool] = count, params
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("specs", nargs="*", help="bundled spec names (default: every torchvision-paired one)")
    ap.add_argument("-o", "--output", default=str(OUT), help="JSON file, or - for stdout")
    args = ap.parse_args(argv)
    out = {"versions": versions(), "specs": {}}
    if args.specs and Path(args.output).is_file():  # named specs: update them in the frozen file
        out["specs"] = json.loads(Path(args.output).read_text())["specs"]
    for name in args.specs or paired():
        out["specs"][name] = measure(name)
        print(f"{name}: {json.dumps({t: out['specs'][name][t] for t in TOOLS})}", file=sys.stderr)
    text = json.dumps(out, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
