"""Benchmark cnncalc as users run it: whole processes, several runs after a warm-up, medians.

    python benchmarks/run.py                      # all four measurements, Markdown on stdout
    python benchmarks/run.py --runs 15 --out docs/performance.md
    python benchmarks/run.py --torch-python /path/to/venv-with-torchvision/bin/python

1. `cnncalc table resnet152` (rich and --format json) against the floor of a click + rich + yaml
   CLI (`python -c "import click, rich, yaml"`) and `python -c pass`, ratios from the same run;
2. the same question answered by torch-based tools on torchvision's resnet152 (torchinfo,
   fvcore, ptflops, FlopCounterMode), each skipped with a note when not installed;
3. scaling: synthetic specs of 1k, 10k and 100k layers, time per layer and peak RSS;
4. `cnncalc verify resnet50` on the meta device and on the CPU;
5. the library in-process: `cnncalc.analyze("resnet152-tv")` and `cnncalc.analyze("vit_b_16")`,
   repeated calls (a notebook re-running a cell) and the first call of a fresh process.
Timings are wall-clock medians; nothing here asserts a time. Every process runs in an empty
folder, so `python -m cnncalc` is the installed package, not a checkout it happens to stand in
(measure a regular install: an editable one adds ~25 ms of import hooks).
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


def run_once(cmd: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall time of one process and its peak RSS in KiB (Linux: ru_maxrss of the child)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=NEUTRAL)
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


def measure_interleaved(cmds: dict[str, list[str]], runs: int, warmup: int = 1) -> dict[str, dict]:
    """Like measure(), but runs the commands round-robin, so that a slow spell of the machine
    hits every command alike and the ratios between them stay fair."""
    for cmd in cmds.values():
        for _ in range(warmup):
            run_once(cmd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(run_once(cmd)[0])
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
t = time.perf_counter(); cnncalc.analyze("{name}"); first = (time.perf_counter() - t) * 1000
times = [first]
if REPEAT:
    times = []
    for _ in range({runs}):
        t = time.perf_counter(); cnncalc.analyze("{name}"); times.append((time.perf_counter() - t) * 1000)
print(json.dumps({{"median": statistics.median(times), "min": min(times), "max": max(times)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--python", default=sys.executable, help="the Python that has cnncalc installed")
    parser.add_argument("--torch-python", default=None, help="a Python with torch + torchvision (+ the tools)")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--out", help="also write the report to this file")
    parser.add_argument("--skip", default="", help="comma list of sections to skip: tools,scaling,verify,library")
    args = parser.parse_args()
    py, runs, skip = args.python, args.runs, set(filter(None, args.skip.split(",")))
    cnncalc = [py, "-m", "cnncalc"]
    out: list[str] = [
        "# Performance", "",
        f"Measured {date.today().isoformat()} on {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, Linux {platform.release()}; "
        f"median of {runs} runs after a warm-up, wall-clock time of whole processes (ms; section 1 "
        "runs its commands round-robin so the ratios are fair). Reproduce: "
        "`python benchmarks/run.py --runs 10 --torch-python PATH`.", ""]

    out += ["## 1. `cnncalc table resnet152` against the floor", "",
            "| command | median | min | max | vs import floor |", "| --- | ---: | ---: | ---: | ---: |"]
    cases = [("python -c pass", [py, "-c", "pass"]),
             ("python -c \"import click, rich, yaml\" (floor)", [py, "-c", "import click, rich, yaml"]),
             ("cnncalc table resnet152 --format json", cnncalc + ["table", "resnet152", "--format", "json"]),
             ("cnncalc table resnet152 (rich)", cnncalc + ["table", "resnet152"])]
    results = measure_interleaved(dict(cases), runs)
    floor = results[cases[1][0]]["median"]
    for name, _ in cases:
        out.append(f"| `{name}` | {fmt(results[name])} | {results[name]['median'] / floor:.2f}x |")
    fastest_cnncalc = results[cases[2][0]]["median"]
    print("\n".join(out), file=sys.stderr)

    if "tools" not in skip:
        out += ["", "## 2. The same question, answered by torch-based tools (torchvision resnet152)", "",
                "| tool | median | min | max | vs `cnncalc table resnet152 --format json` |",
                "| --- | ---: | ---: | ---: | ---: |"]
        tpy = args.torch_python
        for name, (module, code) in TORCH_TOOLS.items():
            ok = tpy and subprocess.run([tpy, "-c", f"import {module}, torchvision"], capture_output=True).returncode == 0
            if not ok:
                out.append(f"| {name} | not installed{'' if tpy else ' (no --torch-python given)'} | | | |")
                continue
            stats = measure([tpy, "-c", code], max(3, runs // 3))
            out.append(f"| {name} | {fmt(stats)} | {stats['median'] / fastest_cnncalc:.1f}x slower |")
        print("\n".join(out[-6:]), file=sys.stderr)

    if "scaling" not in skip:
        out += ["", "## 3. Scaling: synthetic specs (conv + bn + relu, written out flat)", "",
                "| layers | median (ms) | min | max | µs per layer | time vs previous size | peak RSS (MiB) |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        prev = None
        with tempfile.TemporaryDirectory() as tmp:
            for size in map(int, args.sizes.split(",")):
                path = Path(tmp) / f"synthetic_{size}.yaml"
                path.write_text(synthetic_spec(size))
                cmd = cnncalc + ["table", str(path), "--format", "json", "--limit", f"layers={size + 10}"]
                stats = measure(cmd, max(3, runs // 2 if size >= 100_000 else runs))
                rss = peak_rss_kib(cmd) / 1024
                ratio = f"{stats['median'] / prev:.1f}x" if prev else ""
                out.append(f"| {size:,} | {fmt(stats)} | {stats['median'] / size * 1e6:.1f} | {ratio} | {rss:,.0f} |")
                prev = stats["median"]
        print("\n".join(out[-5:]), file=sys.stderr)

    if "verify" not in skip:
        out += ["", "## 4. `cnncalc verify resnet50` end to end", "", "| command | median | min | max |",
                "| --- | ---: | ---: | ---: |"]
        vpy = args.torch_python or py
        for device in ("meta", "cpu"):
            cmd = [vpy, "-m", "cnncalc", "verify", "resnet50", "--device", device]
            if subprocess.run([vpy, "-c", "import torch"], capture_output=True).returncode:
                out.append(f"| verify --device {device} | torch not installed | | |")
                continue
            stats = measure(cmd, max(3, runs // 3))
            out.append(f"| `cnncalc verify resnet50 --device {device}` | {fmt(stats)} |")
    if "library" not in skip:
        out += ["", "## 5. The library in-process", "",
                "| call | repeated: median | min | max | first call in a fresh process (median) |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for name in ("resnet152-tv", "vit_b_16"):
            code = LIBRARY.format(name=name, runs=max(50, runs * 10))
            repeated = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True, check=True,
                                                 cwd=NEUTRAL).stdout)
            firsts = sorted(json.loads(subprocess.run([py, "-c", code.replace("REPEAT = True", "REPEAT = False")],
                                                      capture_output=True, text=True, check=True,
                                                      cwd=NEUTRAL).stdout)["median"] for _ in range(max(5, runs // 2)))
            out.append(f"| `cnncalc.analyze(\"{name}\")` | {repeated['median']:.2f} ms | {repeated['min']:.2f} | "
                       f"{repeated['max']:.2f} | {statistics.median(firsts):.2f} ms |")
        print("\n".join(out[-4:]), file=sys.stderr)
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
