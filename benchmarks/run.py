"""Benchmark cnncalc as users run it: whole processes, several runs after a warm-up, medians,
every figure a ratio to a floor measured in the same run (issue 35).

    python benchmarks/run.py                      # everything, Markdown on stdout
    python benchmarks/run.py --runs 21 --out docs/performance.md --torch-python /path/to/venv-tv/bin/python
    python benchmarks/run.py --quick              # each measurement once (CI: the script still runs)

1. the analytic path against the floor of a click + rich + yaml CLI (`python -c "import click,
   rich, yaml"`): `cnncalc table` of resnet152, vit_h_14 and densenet201 (--format json and the
   terminal table), an Ultralytics YAML (yolov8n), the first run of all (the parse cache empty),
   round-robin so that a slow spell of the machine hits every command alike;
2. the other everyday commands (explain, memory, compare, sweep, check, list, graph, show)
   against the same floor;
3. the same question answered by torch-based tools on torchvision's resnet152 (torchinfo,
   fvcore, ptflops, FlopCounterMode), each skipped with a note when not installed;
4. scaling: synthetic specs of 1k, 10k and 100k layers, time per layer and peak RSS;
5. `cnncalc verify resnet50` on the meta device and on the CPU;
6. the library in-process: `cnncalc.analyze("resnet152-tv")` and others, repeated calls (a
   notebook re-running a cell) and the first call of a fresh process, per layer;
7. the front ends (benchmarks/frontends.py): a 100 MB ONNX file, `cnncalc import` of torchvision's
   resnet50 beyond importing torch and torchvision.
Timings are wall-clock medians; nothing here asserts a time. Every process runs in an empty
folder, so `python -m cnncalc` is the installed package, not a checkout it happens to stand in
(measure a regular install: an editable one adds ~25 ms of import hooks), with bytecode written
as an installed package has it and the parse cache (cnncalc/spec/cache.py) in a folder of this
run's own, warmed by the warm-up run as a user's second run finds it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


NEUTRAL = tempfile.mkdtemp(prefix="cnncalc-bench-")  # the working folder of every measured process
CACHE = tempfile.mkdtemp(prefix="cnncalc-bench-cache-")  # the parse cache of every measured process
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "CNNCALC_CACHE": CACHE}
COLD = {**ENV, "CNNCALC_CACHE": "off"}  # a first run: nothing kept from an earlier one


def run_once(cmd: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall time of one process and its peak RSS in KiB (Linux: ru_maxrss of the child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV, cwd=NEUTRAL)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    rusage = os.wait4(proc.pid, 0)[2] if False else None  # communicate() already reaped the child
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode()[-500:]}")
    return elapsed, 0 if rusage is None else rusage.ru_maxrss


def peak_rss_kib(cmd: list[str]) -> int:
    """Peak resident memory of one run of cmd, via GNU time when present, else getrusage."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    if gnu_time:
        proc = subprocess.run([gnu_time, "-f", "%M", *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              cwd=NEUTRAL)
        last = proc.stderr.strip().splitlines()[-1]
        if last.isdigit():
            return int(last)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def measure(cmd: list[str], runs: int, warmup: int = 1) -> dict:
    for _ in range(warmup):
        run_once(cmd)
    times = [run_once(cmd)[0] for _ in range(runs)]
    return {"min": min(times), "median": statistics.median(times), "max": max(times)}


def measure_interleaved(cmds: dict[str, list[str]], runs: int, warmup: int = 1,
                        envs: dict[str, dict] | None = None) -> dict[str, dict]:
    """Like measure(), but runs the commands round-robin, so that a slow spell of the machine
    hits every command alike and the ratios between them stay fair. envs: a command's own
    environment (the cold run's parse cache turned off)."""
    envs = envs or {}
    for name, cmd in cmds.items():
        for _ in range(warmup):
            run_once(cmd, envs.get(name))
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(run_once(cmd, envs.get(name))[0])
    return {name: {"min": min(t), "median": statistics.median(t), "max": max(t)} for name, t in times.items()}


def fmt(stats: dict) -> str:
    return f"{stats['median'] * 1000:,.0f} | {stats['min'] * 1000:,.0f} | {stats['max'] * 1000:,.0f}"


def synthetic_spec(layers: int) -> str:
    """A flat spec of `layers` layers (conv 3x3 + bn + relu triples on 16x8x8), written out in
    full so that reading and expanding it scales with its size, not just the engine."""
    lines = ["name: synthetic", f"description: {layers} layers", "input: [16, 8, 8]", "layers:"]
    pattern = ["  - conv: {out: 16, kernel: 3, pad: 1, bias: false}", "  - bn", "  - relu"]
    lines += [pattern[i % 3] for i in range(layers)]
    return "\n".join(lines) + "\n"


TORCH_TOOLS = {
    "torchinfo.summary": ("torchinfo", "import torch, torchvision, torchinfo\n"
                          "m = torchvision.models.resnet152()\n"
                          "torchinfo.summary(m, input_size=(1, 3, 224, 224), verbose=0)"),
    "fvcore FlopCountAnalysis": ("fvcore", "import torch, torchvision\nfrom fvcore.nn import FlopCountAnalysis\n"
                                 "m = torchvision.models.resnet152().eval()\n"
                                 "FlopCountAnalysis(m, torch.randn(1, 3, 224, 224)).total()"),
    "ptflops": ("ptflops", "import torch, torchvision\nfrom ptflops import get_model_complexity_info\n"
                "m = torchvision.models.resnet152()\n"
                "get_model_complexity_info(m, (3, 224, 224), print_per_layer_stat=False, as_strings=False)"),
    "FlopCounterMode": ("torch", "import torch, torchvision\nfrom torch.utils.flop_counter import FlopCounterMode\n"
                        "m = torchvision.models.resnet152().eval()\n"
                        "with FlopCounterMode(display=False) as c, torch.no_grad():\n    m(torch.randn(1, 3, 224, 224))\n"
                        "c.get_total_flops()"),
}


# Times cnncalc.analyze in one process: repeated calls after a warm-up, or (REPEAT = False) only
# the first call, after `import cnncalc` and the modules the call loads have been imported.
LIBRARY = """
import json, statistics, time
REPEAT = True
import cnncalc
t = time.perf_counter(); a = cnncalc.analyze("{name}"); first = (time.perf_counter() - t) * 1000
times = [first]
if REPEAT:
    times = []
    for _ in range({runs}):
        t = time.perf_counter(); cnncalc.analyze("{name}"); times.append((time.perf_counter() - t) * 1000)
print(json.dumps({{"median": statistics.median(times), "min": min(times), "max": max(times), "layers": len(a.rows)}}))
"""


BY_HAND = "<!-- written by hand: benchmarks/run.py --out keeps what follows -->"

# section 2: the other commands a user runs often (each against the same floor)
EVERYDAY = [["explain", "alexnet"], ["memory", "resnet50"], ["compare", "alexnet", "vgg16", "resnet50"],
            ["sweep", "resnet50", "--batch", "1,2,4,8,16,32"], ["check", "resnet50"], ["list"],
            ["graph", "resnet18", "--format", "html"], ["show", "alexnet"], ["table", "alexnet"],
            ["table", "resnet50", "--format", "markdown"]]


def yolo_installed(py: str) -> bool:
    """Whether the Python under test finds Ultralytics' model YAMLs (pip install --no-deps ultralytics)."""
    code = "from cnncalc.readers.ultralytics import installed_models; import sys; sys.exit(installed_models() is None)"
    return subprocess.run([py, "-c", code], capture_output=True, cwd=NEUTRAL).returncode == 0


class Targets:
    """The issue's targets, each with its figure from this run and whether it is met."""

    def __init__(self) -> None:
        self.rows: list[str] = []

    def add(self, target: str, figure: str, met: bool | None) -> None:
        self.rows.append(f"| {target} | {figure} | {'' if met is None else 'met' if met else 'NOT MET'} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", default=sys.executable, help="the Python that has cnncalc installed")
    parser.add_argument("--torch-python", default=None, help="a Python with torch + torchvision (+ the tools, onnx)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--skip", default="",
                        help="comma list of sections to skip: everyday,tools,scaling,verify,library,frontends")
    parser.add_argument("--quick", action="store_true",
                        help="one run of each and small sizes: that the script runs (CI), not figures")
    args = parser.parse_args()
    py, runs, skip = args.python, args.runs, set(filter(None, args.skip.split(",")))
    if args.quick:
        runs, args.sizes = 1, "1000"
    cnncalc = [py, "-m", "cnncalc"]
    targets = Targets()
    out: list[str] = [
        "# Performance", "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, Linux {platform.release()}; "
        f"median of {runs} runs after a warm-up, wall-clock time of whole processes (ms), the commands of "
        "sections 1 and 2 run round-robin with the floor so the ratios are fair. Reproduce: "
        "`python benchmarks/run.py --runs 21 --torch-python PATH` from a regular (non-editable) install.", ""]

    out += ["## 1. The analytic path against the floor", "",
            "| command | median | min | max | vs import floor |", "| --- | ---: | ---: | ---: | ---: |"]
    floor_name = "python -c \"import click, rich, yaml\" (floor)"
    cases = [("python -c pass", [py, "-c", "pass"]), (floor_name, [py, "-c", "import click, rich, yaml"])]
    models = ["resnet152", "vit_h_14", "densenet201"]
    yolo = ["yolov8n"] if yolo_installed(py) else []
    for model in [*models, *yolo]:
        cases += [(f"cnncalc table {model} --format json", [*cnncalc, "table", model, "--format", "json"]),
                  (f"cnncalc table {model}", [*cnncalc, "table", model])]
    cold = "cnncalc table resnet152 --format json, first run (parse cache empty)"
    cases.append((cold, [*cnncalc, "table", "resnet152", "--format", "json"]))
    results = measure_interleaved(dict(cases), runs, envs={cold: COLD})
    floor = results[floor_name]["median"]
    ratio = {name: results[name]["median"] / floor for name, _ in cases}
    for name, _ in cases:
        out.append(f"| `{name}` | {fmt(results[name])} | {ratio[name]:.2f}x |")
    if not yolo:
        out.append("| `cnncalc table yolov8n` | not measured: no ultralytics YAMLs here "
                   "(`pip install --no-deps ultralytics`) | | | |")
    fastest_cnncalc = results["cnncalc table resnet152 --format json"]["median"]
    for model in models:
        got = ratio[f"cnncalc table {model} --format json"]
        targets.add(f"`table {model} --format json` ≤ 1.2x the floor", f"{got:.3f}x", got <= 1.2)
    for model in models:
        got = ratio[f"cnncalc table {model}"]
        targets.add(f"`table {model}` (terminal table) ≤ 1.6x the floor", f"{got:.3f}x", got <= 1.6)
    for model in yolo:
        got = ratio[f"cnncalc table {model} --format json"]
        targets.add(f"`table {model} --format json` (an Ultralytics YAML) ≤ 1.3x the floor", f"{got:.3f}x", got <= 1.3)
    print("\n".join(out), file=sys.stderr)

    if "everyday" not in skip:
        out += ["", "## 2. The other everyday commands against the same floor", "",
                "| command | median | min | max | vs import floor |", "| --- | ---: | ---: | ---: | ---: |"]
        cases = [(floor_name, [py, "-c", "import click, rich, yaml"])]
        cases += [("cnncalc " + " ".join(c), cnncalc + c) for c in EVERYDAY]
        results = measure_interleaved(dict(cases), runs)
        floor2 = results[floor_name]["median"]
        for name, _ in cases:
            out.append(f"| `{name}` | {fmt(results[name])} | {results[name]['median'] / floor2:.2f}x |")
        worst = max(cases[1:], key=lambda c: results[c[0]]["median"])[0]
        targets.add("every other everyday command near the floor (recorded: the slowest)",
                    f"`{worst}` {results[worst]['median'] / floor2:.2f}x", None)
        print("\n".join(out[-len(cases) - 1:]), file=sys.stderr)

    if "tools" not in skip:
        out += ["", "## 3. The same question, answered by torch-based tools (torchvision resnet152)", "",
                "| tool | median | min | max | vs `cnncalc table resnet152 --format json` |",
                "| --- | ---: | ---: | ---: | ---: |"]
        tpy = args.torch_python
        for name, (module, code) in TORCH_TOOLS.items():
            ok = tpy and subprocess.run([tpy, "-c", f"import {module}, torchvision"], capture_output=True).returncode == 0
            if not ok:
                out.append(f"| {name} | not installed{'' if tpy else ' (no --torch-python given)'} | | | |")
                continue
            stats = measure([tpy, "-c", code], max(1 if args.quick else 3, runs // 3))
            out.append(f"| {name} | {fmt(stats)} | {stats['median'] / fastest_cnncalc:.1f}x slower |")
        print("\n".join(out[-6:]), file=sys.stderr)

    if "scaling" not in skip:
        out += ["", "## 4. Scaling: synthetic specs (conv + bn + relu, written out flat)", "",
                "| layers | median (ms) | min | max | µs per layer | time vs previous size | peak RSS (MiB) |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        prev = None
        with tempfile.TemporaryDirectory() as tmp:
            for size in map(int, args.sizes.split(",")):
                path = Path(tmp) / f"synthetic_{size}.yaml"
                path.write_text(synthetic_spec(size))
                cmd = [*cnncalc, "table", str(path), "--format", "json", "--limit", f"layers={size + 10}"]
                stats = measure(cmd, max(1 if args.quick else 3, runs // 2 if size >= 100_000 else runs))
                rss = peak_rss_kib(cmd) / 1024
                ratio_prev = f"{stats['median'] / prev:.1f}x" if prev else ""
                out.append(f"| {size:,} | {fmt(stats)} | {stats['median'] / size * 1e6:.1f} | {ratio_prev} | {rss:,.0f} |")
                prev = stats["median"]
        print("\n".join(out[-5:]), file=sys.stderr)

    if "verify" not in skip:
        out += ["", "## 5. `cnncalc verify resnet50` end to end", "", "| command | median | min | max |",
                "| --- | ---: | ---: | ---: |"]
        vpy = args.torch_python or py
        for device in ("meta", "cpu"):
            cmd = [vpy, "-m", "cnncalc", "verify", "resnet50", "--device", device]
            if subprocess.run([vpy, "-c", "import torch"], capture_output=True).returncode:
                out.append(f"| verify --device {device} | torch not installed | | |")
                continue
            stats = measure(cmd, max(1 if args.quick else 3, runs // 3))
            out.append(f"| `cnncalc verify resnet50 --device {device}` | {fmt(stats)} |")

    if "library" not in skip:
        out += ["", "## 6. The library in-process", "",
                "| call | layers | repeated: median | min | max | µs per layer | first call in a fresh process "
                "(median) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name in ("resnet152-tv", "densenet201", "vit_h_14", "vit_b_16"):
            code = LIBRARY.format(name=name, runs=max(50, runs * 10) if not args.quick else 3)
            repeated = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True,
                                                 cwd=NEUTRAL, env=ENV).stdout)
            firsts = sorted(json.loads(subprocess.run([py, "-c", code.replace("REPEAT = True", "REPEAT = False")],
                                                      capture_output=True, text=True, check=True, cwd=NEUTRAL,
                                                      env=ENV).stdout)["median"]
                            for _ in range(1 if args.quick else max(5, runs // 2)))
            per_layer = repeated["median"] / repeated["layers"] * 1000
            out.append(f"| `cnncalc.analyze(\"{name}\")` | {repeated['layers']} | {repeated['median']:.2f} ms | "
                       f"{repeated['min']:.2f} | {repeated['max']:.2f} | {per_layer:.1f} | "
                       f"{statistics.median(firsts):.2f} ms |")
            if name == "resnet152-tv":
                targets.add('`cnncalc.analyze("resnet152-tv")` in-process ≤ 2 ms median (≤ 4 µs a layer)',
                            f"{repeated['median']:.2f} ms ({per_layer:.1f} µs a layer)", repeated["median"] <= 2.0)
        print("\n".join(out[-6:]), file=sys.stderr)

    if "frontends" not in skip:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import frontends

        out += ["", "## 7. The front ends: an ONNX file and a PyTorch model", ""]
        lines = frontends.main(runs=1 if args.quick else max(3, runs // 3), quick=args.quick, python=py,
                               torch_python=args.torch_python)
        out += lines  # (its rows say each target and whether it is met)
        print("\n".join(lines), file=sys.stderr)

    out += ["", "## Targets (issue 35), from the run above", "", "| target | measured | |", "| --- | --- | --- |",
            *targets.rows]
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:  # what is written by hand below the marker stays
        old = Path(args.out).read_text() if Path(args.out).exists() else ""
        kept = old[old.index(BY_HAND):] if BY_HAND in old else ""
        Path(args.out).write_text(text + ("\n" + kept if kept else ""))


if __name__ == "__main__":
    main()
