"""Benchmark `cnncalc memory SPEC --gpu-memory SIZE --max-batch` (issue 27): graph analyses per
answer and whole-process time, against another install of cnncalc in the same run.

    python benchmarks/max_batch.py --baseline /path/to/other-venv/bin/python [--runs 9]

Each Python must have cnncalc installed (a regular, non-editable install). Graph builds are
counted in-process by wrapping cnncalc.graph.build_graph, which every analysis goes through in
both versions; times are whole-process wall-clock medians, the runs of the two interleaved, in an
empty folder. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

CASES = [("resnet50", "80GB"), ("resnet50", "24GB"), ("vit_b_16", "80GB")]
NEUTRAL = tempfile.mkdtemp(prefix="cnncalc-bench-")

COUNT = """
import sys, cnncalc.graph as g
from cnncalc.cli import run
calls = [0]
build = g.build_graph
def counted(*a, **k):
    calls[0] += 1
    return build(*a, **k)
g.build_graph = counted
import contextlib, io
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    run(sys.argv[1:])
import json
print(calls[0], json.loads(out.getvalue())["max_batch"])
"""


def builds(python: str, spec: str, size: str) -> tuple[int, int]:
    args = ["memory", spec, "--gpu-memory", size, "--max-batch", "--format", "json"]
    out = subprocess.run([python, "-c", COUNT, *args], capture_output=True, text=True, check=True, cwd=NEUTRAL).stdout
    count, batch = out.split()
    return int(count), int(batch)


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=NEUTRAL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the Python of the install to compare with")
    parser.add_argument("--python", default=sys.executable, help="the Python of the install measured")
    parser.add_argument("--runs", type=int, default=9)
    opts = parser.parse_args()
    pythons = {"baseline": opts.baseline, "this": opts.python}
    print("| spec, budget | install | graph builds | max batch | median wall (ms) | / floor |")
    print("|---|---|---:|---:|---:|---:|")
    for spec, size in CASES:
        cmd = ["-m", "cnncalc", "memory", spec, "--gpu-memory", size, "--max-batch", "--format", "json"]
        times: dict[str, list[float]] = {name: [] for name in pythons}
        floors: dict[str, list[float]] = {name: [] for name in pythons}
        for name, python in pythons.items():  # warm-up
            wall([python, *cmd])
        for _ in range(opts.runs):  # interleaved, so that both see the same machine
            for name, python in pythons.items():
                times[name].append(wall([python, *cmd]))
                floors[name].append(wall([python, "-c", "import click, rich, yaml"]))
        for name, python in pythons.items():
            count, batch = builds(python, spec, size)
            median, floor = statistics.median(times[name]), statistics.median(floors[name])
            print(f"| {spec}, {size} | {name} | {count} | {batch:,} | {1000 * median:.0f} | {median / floor:.2f} |")


if __name__ == "__main__":
    main()
