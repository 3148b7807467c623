"""Benchmark `cnncalc sweep` as users run it: whole processes, round-robin, medians.

    python benchmarks/sweep.py [--runs 7] [--python /path/to/a/regular/install/bin/python]

Measures `cnncalc sweep resnet50 --input 3x32x32..3x3200x3200/32 --format json` (100 input
sizes) against `cnncalc table resnet50 --format json` (one analysis) and `python -c pass`, in
the same run, interleaved so that a slow spell of the machine hits each alike. Run it with the
python of a regular (non-editable) install: an editable one adds ~25 ms of import hooks per
process. Every process runs in an empty folder, so the checkout is not what gets imported.
Nothing here asserts a time; docs/performance.md records the figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

SWEEP = ["-m", "cnncalc", "sweep", "resnet50", "--input", "3x32x32..3x3200x3200/32", "--format", "json"]
TABLE = ["-m", "cnncalc", "table", "resnet50", "--format", "json"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="cnncalc-bench-")
    cmds = {"python -c pass": [args.python, "-c", "pass"], "table resnet50 (1 analysis)": [args.python, *TABLE],
            "sweep resnet50, 100 input sizes": [args.python, *SWEEP]}
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(args.runs + 1):  # the first round warms the caches and is dropped
        for name, cmd in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, cwd=folder)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["table resnet50 (1 analysis)"][1:])
    print("| command | median (s) | min (s) | vs table |\n|---|---:|---:|---:|")
    for name, values in times.items():
        runs = values[1:]
        print(f"| `{name}` | {statistics.median(runs):.3f} | {min(runs):.3f} | {statistics.median(runs) / base:.2f}x |")
    print(f"\n{args.runs} runs each after a warm-up, interleaved; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
