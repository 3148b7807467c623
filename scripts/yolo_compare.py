"""Compare cnncalc's reading of Ultralytics model YAMLs with Ultralytics' own models, row by row.

Run where ultralytics and torch import (CI's second environment):
    python scripts/yolo_compare.py yolov8n.yaml yolo11s-seg.yaml ...   # names or paths
    python scripts/yolo_compare.py --all                                 # every shipped file, n and s
    python scripts/yolo_compare.py --json out.json --all                 # the figures, for tests/data

For each model: params (every parameter, as model.info() counts them) and FlopCounterMode's total
at the model's input size (eval mode), per row (model.model[i]) params, FLOPs and output shape,
and the model after fuse(). Prints the first rows that differ.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def ultralytics_model(cfg: str, fused: bool = False):
    """Ultralytics' model built from the file as its tasks module builds it, in eval mode."""
    import ultralytics.nn.tasks as T

    d = T.yaml_model_load(cfg)
    task = T.guess_model_task(d)
    cls = {"detect": T.DetectionModel, "segment": T.SegmentationModel, "pose": T.PoseModel, "obb": T.OBBModel,
           "classify": T.ClassificationModel}[task]
    model = cls(cfg, verbose=False).eval()
    if fused:
        model = model.fuse(verbose=False) if "verbose" in model.fuse.__code__.co_varnames else model.fuse()
    return model, task


def _hw(size: Any) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)  # type: ignore[return-value]


def measure_ultralytics(cfg: str, size: Any, fused: bool = False) -> dict[str, Any]:
    """params, FlopCounterMode total, per-row params / flops / output shape, info() GFLOPs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, task = ultralytics_model(cfg, fused)
    shapes: dict[int, list[int]] = {}

    def hook(i):
        def record(_m, _x, y):
            t = y[0] if isinstance(y, (tuple, list)) else y
            if isinstance(t, torch.Tensor):
                shapes[i] = list(t.shape[1:])
        return record

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(model.model)]
    x = torch.zeros(1, 3, *_hw(size))
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    for h in handles:
        h.remove()
    counts = fc.get_flop_counts()
    rows = []
    for i, m in enumerate(model.model):
        key = f"{type(model).__name__}.model.{i}" if f"{type(model).__name__}.model.{i}" in counts else f"model.{i}"
        flops = sum(counts.get(key, {}).values())
        rows.append({"params": sum(p.numel() for p in m.parameters()), "flops": int(flops), "shape": shapes.get(i)})
    try:
        from ultralytics.utils.torch_utils import get_flops

        info = get_flops(model, 640)
    except Exception:  # thop missing: info() says 0
        info = 0.0
    return {"task": task, "params": sum(p.numel() for p in model.parameters()),
            "flops": int(fc.get_total_flops()), "info_gflops": info, "rows": rows}


def measure_cnncalc(cfg: str, size: Any, fused: bool = False) -> dict[str, Any]:
    """The same figures from cnncalc's analysis of the file (no torch)."""
    import cnncalc

    args = {"fused": 1} if fused else {}
    a = cnncalc.analyze(cfg, input=(3, *_hw(size)), args=args)
    torch_counts = a.counted("torch")
    rows: dict[int, dict[str, Any]] = {}
    for r, f in zip(a.rows, torch_counts):
        parts = r.node.name.split(".")
        if len(parts) < 2 or parts[0] != "model" or not parts[1].isdigit():
            continue
        row = rows.setdefault(int(parts[1]), {"params": 0, "flops": 0, "shape": None})
        row["params"] += r.cost.weights + r.cost.biases
        row["flops"] += f
        row["shape"] = list(r.output)
    ul = None
    try:
        at640 = a if _hw(size) == (640, 640) else cnncalc.analyze(cfg, input=(3, 640, 640), args=args)
        ul = sum(at640.counted("ultralytics")) / 1e9  # model.info() profiles at 640, a classifier too
    except Exception:
        pass
    return {"params": a.totals.params, "flops": sum(torch_counts), "info_gflops": ul,
            "rows": [rows.get(i) for i in range(max(rows) + 1)] if rows else []}


def compare(cfg: str, fused: bool = False, size: Any = None) -> tuple[bool, str, dict[str, Any]]:
    """(exact?, what to print, both sides' figures) for one model file at `size` (an int, an
    (h, w) pair, or None: 640, 224 for a classifier)."""
    theirs = measure_ultralytics(cfg, size or 640, fused)
    if size is None and theirs["task"] == "classify":
        size = 224
        theirs = measure_ultralytics(cfg, size, fused)
    size = size or 640
    try:
        ours = measure_cnncalc(cfg, size, fused)
    except Exception as exc:  # a reader error: report it
        return False, f"{cfg}{' fused' if fused else ''}: cnncalc: {type(exc).__name__}: {exc}", {"ultralytics": theirs}
    lines = []
    ok = ours["params"] == theirs["params"] and ours["flops"] == theirs["flops"]
    lines.append(f"{cfg}{' fused' if fused else ''} ({theirs['task']}, {'x'.join(map(str, _hw(size)))}): params {ours['params']:,} vs "
                 f"{theirs['params']:,}; FlopCounterMode {ours['flops']:,} vs {theirs['flops']:,}"
                 + ("" if ok else "   <-- DIFFERS"))
    shown = 0
    for i, t in enumerate(theirs["rows"]):
        o = ours["rows"][i] if i < len(ours["rows"]) else None
        same = o is not None and o["params"] == t["params"] and o["flops"] == t["flops"] and (
            t["shape"] is None or o["shape"] == t["shape"])
        if not same:
            ok = False
            if shown < 6:
                lines.append(f"   row {i}: ours {o} vs ultralytics {t}")
                shown += 1
    return ok, "\n".join(lines), {"size": size, "ultralytics": theirs, "cnncalc": ours}


def every_file() -> list[str]:
    from cnncalc.readers.ultralytics import installed_models

    folder = installed_models()
    found = []
    for root, _dirs, files in os.walk(folder or ""):
        for file in files:
            if file.endswith(".yaml"):
                found.append(os.path.join(root, file))
    return sorted(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--fused", action="store_true", help="also compare the fused models")
    parser.add_argument("--json")
    parser.add_argument("--part", help="K/N: only every N-th model from the K-th (to run N processes side by side)")
    ns = parser.parse_args()
    names = list(ns.models)
    if ns.all:
        import re

        from cnncalc.readers.ultralytics import is_ultralytics

        for path in every_file():
            text = open(path).read()
            if not is_ultralytics(text):
                continue
            stem = os.path.basename(path)[:-5]
            from cnncalc.readers.ultralytics import scale_of

            if "scales:" in text and not scale_of(stem):  # yolov10b.yaml: its own scale only
                names += [re.sub(r"(\d+)(.*)$", lambda m, s=s: m.group(1) + s + m.group(2), stem, count=1) + ".yaml"
                          for s in "ns"]
            else:
                names.append(stem + ".yaml")
    if ns.part:
        k, n = map(int, ns.part.split("/"))
        names = names[k - 1::n]
    failed, record = 0, {}
    for name in names:
        try:  # a file with a module cnncalc does not read (RT-DETR, YOLOE, YOLO-World, ...): said, not compared
            measure_cnncalc(name, 64)
        except Exception as exc:
            if "is not one cnncalc reads yet" in str(exc):
                print(f"skip {name}: {str(exc).split('error: ')[-1].splitlines()[0]}", flush=True)
                continue
        for fused in ((False, True) if ns.fused else (False,)):
            try:
                ok, text, data = compare(name, fused)
            except Exception as exc:
                ok, text, data = False, f"{name}: ultralytics: {type(exc).__name__}: {exc}", {}
            print(("ok   " if ok else "FAIL ") + text, flush=True)
            failed += not ok
            if data.get("ultralytics"):
                theirs = data["ultralytics"]
                record[name.removesuffix(".yaml") + (" fused" if fused else "")] = {
                    "task": theirs["task"], "size": data["size"], "params": theirs["params"], "flops": theirs["flops"],
                    "info_gflops": theirs["info_gflops"], "exact": ok,
                    "rows": [[r["params"], r["flops"], r["shape"]] for r in theirs["rows"]]}
    if ns.json:
        import importlib.metadata as md

        versions = {p: md.version(p) for p in ("ultralytics", "ultralytics-thop", "torch")}
        with open(ns.json, "w") as fh:
            json.dump({"measured_with": versions, "command": "python scripts/yolo_compare.py --all --fused --json "
                       + os.path.relpath(ns.json), "models": record}, fh, indent=None, separators=(",", ":"))
            fh.write("\n")
    print(f"{len(record) - failed} of {len(record)} exact")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
