"""How long `cnncalc import` takes beyond importing torch and torchvision (docs/performance.md).

    /path/to/venv-with-torchvision/bin/python benchmarks/import_speed.py [--runs 5]

In one process, after `import torch, torchvision, cnncalc` and one warm-up analysis: for each
model, build it on the meta device, record it, write the spec, analyse the spec and check it
against the model (what `cnncalc import` does, less printing): wall-clock median and min.
benchmarks/frontends.py measures the same against issue 35's target (< 1 s), with the first
call of a fresh process and `cnncalc import` as a whole process beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch  # noqa: F401  (imported before the clock starts, as the issue measures)
import torchvision  # noqa: F401

import cnncalc
from cnncalc.readers.targets import import_target
from cnncalc.sources import imported

MODELS = ["torchvision.models.resnet50", "torchvision.models.vit_h_14", "torchvision.models.resnet152",
          "torchvision.models.efficientnet_b7", "torchvision.models.video.r3d_18"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cnncalc.analyze("alexnet")
    print("| model | median (s) | min (s) | layers |")
    print("| --- | ---: | ---: | ---: |")
    for name in MODELS:
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            spec = import_target(name)
            analysis = cnncalc.analyze(imported(spec))
            assert spec.check(analysis) == [], spec.check(analysis)
            times.append(time.perf_counter() - t0)
        print(f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {len(analysis.rows)} |")


if __name__ == "__main__":
    main()
