"""Regenerate docs/zoo.md: every bundled architecture with its source, totals and how it is checked.

Run from the repository root: python scripts/make_zoo_doc.py > docs/zoo.md
Numbers come from the analytic engine; torchvision's from tests/data/torchvision_reference.json
(written by scripts/freeze_torchvision.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.report.table import FAMILIES  # noqa: E402
from cnncalc.sources import bundled_names  # noqa: E402

REFERENCE = json.loads((ROOT / "tests" / "data" / "torchvision_reference.json").read_text())["models"]
# hand-built networks, frozen from their reference code by scripts/freeze_references.py
REFERENCE_CODE = json.loads((ROOT / "tests" / "data" / "reference_models.json").read_text())["models"]
LECTURE = {"alexnet", "alexnet-2012", "zfnet", "lenet5", "googlenet", "vgg11", "vgg13", "vgg16", "vgg19",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"}


def conv_linear(a) -> int:
    """The multiply-adds FlopCounterMode counts (conv, linear, matmul, attention): the torch profile / 2."""
    return a.total_counted("torch") // 2


def main() -> None:
    rows = []
    for name in bundled_names():
        a = cnncalc.analyze(name)
        spec = a.graph  # name, description, source, family, torchvision: what the page shows
        tv = spec.torchvision
        if tv and not tv["differs"]:
            kind = f"torchvision-exact (`{tv['model']}`)"
        elif name in REFERENCE_CODE:
            kind = "reference-exact (its code, tests/test_references.py)"
        elif name in LECTURE:
            kind = "lecture / paper"
        else:
            kind = "paper-exact"
        rows.append((spec.family, name, kind, a, spec, tv))
    order = {f: i for i, f in enumerate(FAMILIES)}
    rows.sort(key=lambda r: (order.get(r[0], 99), bundled_names().index(r[1])))
    out = ["# The architecture zoo", "",
           "Every bundled spec, its totals from the analytic engine (one 224x224 sample unless the input says",
           "otherwise, float32) and what it is checked against. `params` = weights + biases; `MACs` = conv,",
           "linear and attention multiply-adds (what FlopCounterMode / 2 and the papers count; the table's flop",
           "column also adds pooling); `memory` = activations, in-place ops 0. Regenerate with",
           "`python scripts/make_zoo_doc.py > docs/zoo.md`.", "",
           "| family | model | input | params | MACs | memory (MB) | source | checked as |",
           "| --- | --- | --- | ---: | ---: | ---: | --- | --- |"]
    for family, name, kind, a, spec, tv in rows:
        out.append(f"| {family} | `{name}` | {'x'.join(map(str, a.graph.input_shape))} | {a.totals.params:,} | "
                   f"{conv_linear(a):,} | {a.totals.memory_bytes / 2**20:.1f} | {(spec.source[:57] + '...') if len(spec.source) > 60 else spec.source} | {kind} |")
    out += ["", "## Where torchvision and the paper disagree", "",
            "Specs that follow a paper or lecture where torchvision's model of the same name differs; the",
            "`-tv` twin follows torchvision exactly. `cnncalc verify NAME --against torchvision` shows both.", "",
            "| spec | torchvision | params (spec / torchvision) | MACs (spec / torchvision) | difference | why |",
            "| --- | --- | ---: | ---: | ---: | --- |"]
    for family, name, kind, a, spec, tv in rows:
        if tv and tv["differs"]:
            ref = REFERENCE[name]
            ours = conv_linear(a)
            out.append(f"| `{name}` | `{tv['model']}` | {a.totals.params:,} / {ref['params']:,} | "
                       f"{ours:,} / {ref['macs']:,} | {100 * (ref['macs'] - ours) / ours:+.1f}% MACs | {tv['differs']} |")
    out += ["", "## torchvision models not (yet) exact", "",
            "- `swin_v2_*`: exact at batch 1 (what every reference compares); torchvision runs the continuous",
            "  position-bias MLP once per forward pass, whatever the batch, and cnncalc counts per sample, so at",
            "  batch B its multiply-adds are counted B times (docs/ops.md, `window_attention_v2`)."]
    out += ["", f"torchvision reference: torchvision {json.loads((ROOT / 'tests' / 'data' / 'torchvision_reference.json').read_text())['torchvision']}, "
            "frozen by `scripts/freeze_torchvision.py`.", ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
