"""Predicted vs measured saved-for-backward bytes for bundled specs (docs/memory.md).

    python scripts/check_saved.py [--batch 1] [--max-gmacs 20] [--amp bfloat16] [NAME ...]

Measures with cnncalc.torchcheck.saved (saved_tensors_hooks, one training-mode forward on the
CPU) and prints one line per spec: predicted, measured, difference.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

import cnncalc
from cnncalc.engine import saved_for_backward
from cnncalc.torchcheck.build import build_model
from cnncalc.torchcheck.run import make_input
from cnncalc.torchcheck.saved import measure_saved


def check(name: str, batch: int, dtype: str = "float32") -> tuple[int, int, dict[str, tuple[int, int]]]:
    """dtype float32, or bfloat16 / float16 for a float32 model under CPU autocast."""
    analysis = cnncalc.analyze(name, batch=batch)
    predicted = saved_for_backward(analysis, amp=None if dtype == "float32" else dtype)
    graph = analysis.graph
    model = build_model(graph)
    x = make_input(torch, graph, batch, "cpu", torch.float32)  # token ids for a spec with tokens: true
    if dtype == "float32":
        run = measure_saved(model, x)
    else:
        with torch.autocast("cpu", dtype=getattr(torch, dtype)):
            run = measure_saved(model, x)
    rows = {r.name: (p, run.layers.get(r.name, 0)) for r, p in zip(analysis.rows, predicted, strict=True)}
    return sum(predicted), run.total, rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--max-gmacs", type=float, default=20.0)
    parser.add_argument("--amp", choices=["bfloat16", "float16"], help="under CPU autocast")
    args = parser.parse_args()
    names = args.names or cnncalc.architectures()
    bad = 0
    for name in names:
        a = cnncalc.analyze(name)
        if a.totals.macs > args.max_gmacs * 1e9:
            print(f"{name:28s} skipped ({a.totals.macs / 1e9:.1f} GMACs)")
            continue
        t0 = time.perf_counter()
        pred, meas, rows = check(name, args.batch, args.amp or "float32")
        diff = [f"{k} {p}/{m}" for k, (p, m) in rows.items() if p != m][:4]
        bad += pred != meas
        print(f"{name:28s} predicted {pred:>14,} measured {meas:>14,} diff {pred - meas:>+12,} "
              f"({time.perf_counter() - t0:.1f} s) {' '.join(diff)}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
