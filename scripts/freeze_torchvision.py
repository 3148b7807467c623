"""Freeze torchvision's reference numbers for every bundled spec that names a torchvision model.

For each spec with a `torchvision:` key, builds torchvision.models.get_model(model, weights=None,
**kwargs) on the meta device, runs one 1-sample batch of the spec's input under
FlopCounterMode (attention counted in full: MHA fast path off, SDPA math backend), and records
total parameters, output shape and the multiply-adds FlopCounterMode counts (its count / 2). The result, tests/data/torchvision_reference.json, lets the test
suite check the analytic totals where torchvision is not installed; where it is,
tests/test_zoo.py also recomputes these numbers live and checks the file is not stale.

Run (needs torch + torchvision): python scripts/freeze_torchvision.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402
from cnncalc.torchcheck.against import torchvision_totals  # noqa: E402
from cnncalc.torchcheck.run import import_torch  # noqa: E402

OUT = ROOT / "tests" / "data" / "torchvision_reference.json"


def main() -> None:
    torch = import_torch()
    import torchvision

    models = {}
    for name in cnncalc.architectures():
        graph = cnncalc.load(name)
        pairing = graph.torchvision
        if not pairing:
            continue
        totals = torchvision_totals(torch, torchvision, pairing["model"], pairing["kwargs"], graph.input_shape)
        models[name] = {"model": pairing["model"], "kwargs": pairing["kwargs"], "input": list(graph.input_shape),
                        **totals}
        print(f"{name:22} {pairing['model']:22} params {totals['params']:>12,}  macs {totals['macs']:>15,}")
    data = {"generated_by": "scripts/freeze_torchvision.py", "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "what": "params = sum of parameter numel; macs = FlopCounterMode total / 2 (conv, linear, "
                    "attention's matmuls: MHA fast path off, SDPA math backend) for one sample of the "
                    "spec's input, on the meta device",
            "models": models}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(models)} models)")


if __name__ == "__main__":
    main()
