"""The two front ends' speed (issue 35): an ONNX file read whole-process, and `cnncalc import`.

    python benchmarks/frontends.py --python PY --torch-python PY [--runs N] [--quick]

1. ONNX: torchvision's resnet50 with its (untrained) weights, ~100 MB, exported by both of
   PyTorch's exporters (TorchScript, `dynamo=False`, and dynamo) with --torch-python into a
   temporary folder; then `PY -m cnncalc table FILE --format json` as whole processes (--python,
   which needs onnx, not onnxruntime): median, min and max of N runs after a warm-up. Target:
   < 1 s. Skipped with a note where --torch-python lacks torch, torchvision or onnx (dynamo's
   export also needs onnxscript).
2. PyTorch import: in one --torch-python process, after `import torch, torchvision, cnncalc` and a
   warm-up, import_target + analyze + check for each model (what `cnncalc import` does, less
   printing): median, min and max of N runs, and the first call of the process (before any
   warm-up: what one `cnncalc import` pays beyond its imports). Also `cnncalc import
   torchvision.models.resnet50` as a whole process against `python -c "import torch, torchvision"`,
   round-robin, each run less the floor's run beside it. Target: < 1 s.

Every process runs in an empty folder with its bytecode cached after the warm-up (in a
temporary PYTHONPYCACHEPREFIX, as an installed package has it), whatever PYTHONDONTWRITEBYTECODE
says. --quick: one run of each, resnet50 only (CI checks the script runs, in well under a minute).
main(runs, quick) returns Markdown table lines, which benchmarks/run.py appends under a heading;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TARGET_S = 1.0
MODELS = ["torchvision.models.resnet50", "torchvision.models.vit_h_14", "torchvision.models.efficientnet_b7",
          "torchvision.models.video.r3d_18"]

# run by --torch-python: argv[1] the folder, argv[2] "1" to export with dynamo too; an export that
# fails says so on stderr, and the other is still made
EXPORT = """
import sys, warnings
import torch, torchvision
folder, dynamo = sys.argv[1], sys.argv[2] == "1"
model = torchvision.models.resnet50().eval()
x = torch.zeros(1, 3, 224, 224)
exports = {"resnet50.onnx": {"dynamo": False}}
if dynamo:  # the weights inside the file, as TorchScript's export keeps them
    exports["resnet50_dynamo.onnx"] = {"dynamo": True, "external_data": False, "verbose": False}
for file, kwargs in exports.items():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (x,), folder + "/" + file, **kwargs)
    except Exception as exc:
        print(f"FAILED {file}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300],
              file=sys.stderr)
"""

# run by --torch-python: argv[1] the runs, argv[2:] the models; prints JSON
IMPORT = """
import json, statistics, sys, time
import torch, torchvision  # before the clock starts, as the target counts them
import cnncalc
from cnncalc.readers.targets import import_target
from cnncalc.sources import imported

def once(name):
    t = time.perf_counter()
    spec = import_target(name)
    analysis = cnncalc.analyze(imported(spec))
    wrong = spec.check(analysis)
    if wrong:
        raise SystemExit(f"{name}: the spec differs from the model: {wrong}")
    return time.perf_counter() - t

runs, names = int(sys.argv[1]), sys.argv[2:]
first = once(names[0])  # a fresh process: the lazy imports of the recording are paid here
found = {}
for name in names:
    if name != names[0]:
        once(name)  # the warm-up
    times = [once(name) for _ in range(runs)]
    found[name] = {"median": statistics.median(times), "min": min(times), "max": max(times)}
found[names[0]]["first"] = first
print(json.dumps(found))
"""


def _absolute(python: str) -> str:
    """A Python named relative to here still found from the empty folders the processes run in."""
    return os.path.abspath(python) if os.sep in python else shutil.which(python) or python


def _env(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPYCACHEPREFIX": cache}


def _run(cmd: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[-800:]}")
    return elapsed


def _measure(cmds: dict[str, list[str]], runs: int, env: dict[str, str], cwd: str, warmup: int = 1) -> dict:
    """Wall times of whole processes, the commands round-robin (a slow spell hits each alike)."""
    for cmd in cmds.values():
        for _ in range(warmup):
            _run(cmd, env, cwd)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(_run(cmd, env, cwd))
    return times


def _stats(times: list[float]) -> dict[str, float]:
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def _has(python: str, modules: str) -> bool:
    """Whether `python` finds every module named (found, not imported: torch takes seconds)."""
    code = f"import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in {modules.split(', ')!r}))"
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def _row(what: str, stats: dict | None, note: str = "") -> str:
    if stats is None:
        return f"| {what} | {note} | | | < {TARGET_S:g} s | |"
    met = "met" if stats["median"] < TARGET_S else "not met"
    return (f"| {what} | {stats['median']:.2f} s | {stats['min']:.2f} | {stats['max']:.2f} | < {TARGET_S:g} s | "
            f"{met} |")


def onnx_rows(python: str, torch_python: str | None, runs: int, tmp: str, env: dict[str, str]) -> list[str]:
    """Section 1: the two resnet50 exports, read whole-process."""
    names = {"resnet50.onnx": "TorchScript export", "resnet50_dynamo.onnx": "dynamo export"}
    what = "`cnncalc table resnet50.onnx --format json` ({}), whole process"
    if not torch_python or not _has(torch_python, "torch, torchvision, onnx"):
        why = "skipped: no --torch-python with torch, torchvision and onnx to export it"
        return [_row(what.format(kind), None, why) for kind in names.values()]
    if not _has(python, "onnx"):
        return [_row(what.format(kind), None, f"skipped: {python} has no onnx") for kind in names.values()]
    dynamo = _has(torch_python, "onnxscript")
    print("exporting resnet50 to ONNX ...", file=sys.stderr)
    proc = subprocess.run([torch_python, "-c", EXPORT, tmp, "1" if dynamo else "0"], capture_output=True, text=True,
                          cwd=tmp)
    failed = {line.split(":")[0][len("FAILED "):]: line for line in proc.stderr.splitlines() if line.startswith("FAILED ")}
    rows = []
    for file, kind in names.items():
        path = os.path.join(tmp, file)
        if not os.path.exists(path):
            if file in failed:
                why = failed[file]
            elif not dynamo and file == "resnet50_dynamo.onnx":
                why = "the dynamo exporter needs onnxscript"
            else:
                why = f"the export failed: {proc.stderr[-300:]}"
            rows.append(_row(what.format(kind), None, "skipped: " + why.replace("|", "/").replace("\n", " ")))
            continue
        empty = tempfile.mkdtemp(dir=tmp)
        stats = _stats(_measure({file: [python, "-m", "cnncalc", "table", path, "--format", "json"]}, runs, env,
                                empty)[file])
        size = os.path.getsize(path) / 1e6
        rows.append(_row(what.format(f"{kind}, {size:.1f} MB"), stats))
        print(rows[-1], file=sys.stderr)
    return rows


def import_rows(torch_python: str | None, runs: int, quick: bool, tmp: str, env: dict[str, str]) -> list[str]:
    """Section 2: import_target + analyze in one process, and `cnncalc import` whole-process."""
    names = MODELS[:1] if quick else MODELS
    if not torch_python or not _has(torch_python, "torch, torchvision, cnncalc"):
        why = "skipped: no --torch-python with torch, torchvision and cnncalc"
        return [_row(f"import_target + analyze, {name}", None, why) for name in names]
    empty = tempfile.mkdtemp(dir=tmp)
    print("importing PyTorch models ...", file=sys.stderr)
    proc = subprocess.run([torch_python, "-c", IMPORT, str(runs), *names], capture_output=True, text=True, env=env,
                          cwd=empty)
    if proc.returncode and ("ImportError" in proc.stderr or "ModuleNotFoundError" in proc.stderr):
        why = f"skipped: {proc.stderr.strip().splitlines()[-1][:200]}".replace("|", "/")
        return [_row(f"import_target + analyze, {name}", None, why) for name in names]
    if proc.returncode:
        raise RuntimeError(f"the import benchmark failed: {proc.stderr[-800:]}")
    found = json.loads(proc.stdout)
    rows = [_row(f"import_target + analyze, {name}: in one process after `import torch, torchvision, cnncalc` "
                 "and a warm-up", found[name]) for name in names]
    first = found[names[0]]["first"]
    rows.append(_row(f"the same, {names[0]}: the first call in a fresh process",
                     {"median": first, "min": first, "max": first}))
    cmds = {"floor": [torch_python, "-c", "import torch, torchvision"],
            "cli": [torch_python, "-m", "cnncalc", "import", names[0], "-o", os.path.join(empty, "spec.yaml")]}
    times = _measure(cmds, runs, env, empty, warmup=0 if quick else 1)
    beyond = [cli - floor for cli, floor in zip(times["cli"], times["floor"])]
    rows.append(_row(f"`cnncalc import {names[0]}` beyond `python -c \"import torch, torchvision\"`: whole processes, "
                     f"each run minus the floor's run beside it ({statistics.median(times['cli']):.2f} s and "
                     f"{statistics.median(times['floor']):.2f} s)", _stats(beyond)))
    print("\n".join(rows), file=sys.stderr)
    return rows


def main(runs: int = 5, quick: bool = False, python: str = sys.executable, torch_python: str | None = None) -> list[str]:
    """Markdown table lines: each front end's figure, the target (< 1 s) and whether it is met."""
    runs = 1 if quick else runs
    python, torch_python = _absolute(python), torch_python and _absolute(torch_python)
    lines = ["| front end | median | min | max | target | |", "| --- | ---: | ---: | ---: | --- | --- |"]
    with tempfile.TemporaryDirectory(prefix="cnncalc-frontends-") as tmp:
        env = _env(os.path.join(tmp, "pycache"))
        lines += onnx_rows(python, torch_python, runs, tmp, env)
        lines += import_rows(torch_python, runs, quick, tmp, env)
    return lines


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the Python that has cnncalc and onnx installed")
    parser.add_argument("--torch-python", default=None, help="a Python with torch + torchvision (+ onnx, onnxscript)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one run of each, resnet50 only")
    args = parser.parse_args()
    print("\n".join(main(args.runs, args.quick, args.python, args.torch_python)))


if __name__ == "__main__":
    cli()
