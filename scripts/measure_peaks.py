"""Measured training and inference peaks of torchvision's own models on the CPU (the reference).

    python scripts/measure_peaks.py [--models resnet50 vit_b_16 ...] [--no-profiler] [--out FILE]

For each model: one steady-state training step at batch 4 (224 x 224; 299 for inception_v3,
trained with its aux head as torchvision builds it), with SGD-momentum (0.9) and Adam (the CPU's
default, single-tensor), in float32 and under bf16 autocast; then one eval-mode no_grad forward
at batch 1 (float32, bf16 autocast). Measured with tests/memory_reference.py (live tensor
storages, a TorchDispatchMode; independent of cnncalc), and unless --no-profiler also at the
allocator level from torch.profiler's allocation events, which adds what kernels allocate and
free inside themselves. Writes tests/data/training_peaks.json (merging: models not run keep
their entries) and prints a table. Needs torchvision (e.g. the venv /tmp/venv-tv).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.memory_reference import (  # noqa: E402
    measure_inference_peak,
    measure_training_peak,
    profiler_inference_peak,
    profiler_training_peak,
)

MODELS = [
    "resnet50",
    "mobilenet_v2",
    "efficientnet_b0",
    "densenet121",
    "convnext_tiny",
    "swin_t",
    "inception_v3",
    "vit_b_16",
    "alexnet",
]
# The bundled cnncalc spec paired with each (for comparison only; nothing here runs cnncalc).
SPEC = {"resnet50": "resnet50-tv", "alexnet": "alexnet-tv"}
OPTIMIZERS = ["sgd-momentum", "adam"]
AMPS = [None, "bfloat16"]
OUT = ROOT / "tests" / "data" / "training_peaks.json"
MIB = 2**20


def build(name: str) -> torch.nn.Module:
    import torchvision

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inception_v3's note on its default initialisation
        return getattr(torchvision.models, name)(weights=None)


def side(name: str) -> int:
    return 299 if name == "inception_v3" else 224


def sdpa_default(batch: int) -> str:
    """The SDPA backend torch picks for ViT-B/16's attention shapes on the CPU (what the
    measured run shows as attention_ops is the ground truth; this is a second look)."""
    q = torch.randn(batch, 12, 197, 64, requires_grad=True)
    ops = []
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            ops.append(str(func))
            return func(*args, **(kwargs or {}))

    with Ops():
        torch.nn.functional.scaled_dot_product_attention(q, q, q)
    return ", ".join(o for o in ops if "attention" in o)


def train_row(name: str, optimizer: str, amp: str | None, batch: int, profiler: bool) -> dict:
    model = build(name)
    x = torch.randn(batch, 3, side(name), side(name))
    t0 = time.perf_counter()
    r = measure_training_peak(model, x, optimizer, amp=amp)
    row = {
        "model": name,
        "spec": SPEC.get(name, name),
        "optimizer": optimizer,
        "optimizer_impl": r.optimizer_impl,
        "amp": amp,
        "batch": batch,
        "input": list(x.shape),
        **r.as_dict(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if profiler:
        del model
        model = build(name)
        row["allocator"] = profiler_training_peak(model, x, optimizer, amp=amp).as_dict()
    return row


def infer_row(name: str, amp: str | None, profiler: bool) -> dict:
    model = build(name)
    x = torch.randn(1, 3, side(name), side(name))
    t0 = time.perf_counter()
    r = measure_inference_peak(model, x, amp=amp)
    d = r.as_dict()
    for k in ("phase_peaks", "optimizer_impl"):
        d.pop(k)
    row = {"model": name, "spec": SPEC.get(name, name), "amp": amp, "batch": 1, "input": list(x.shape), **d}
    row["seconds"] = round(time.perf_counter() - t0, 1)
    if profiler:
        row["allocator"] = profiler_inference_peak(model, x, amp=amp).as_dict()
    return row


def short(place: str, n: int = 44) -> str:
    return place if len(place) <= n else "…" + place[-(n - 1) :]


def table(data: dict) -> str:
    lines = [
        f"{'model':16} {'optimizer':12} {'amp':5} {'peak MiB':>9} {'alloc MiB':>9}  {'phase':9} {'where':44} "
        f"{'params':>7} {'grads':>7} {'state':>7} {'saved':>7} {'other':>7}"
    ]
    for r in data["training"]:
        b = {k: v / MIB for k, v in r["breakdown"].items()}
        alloc = f"{r['allocator']['peak'] / MIB:9.1f}" if "allocator" in r else f"{'':9}"
        saved = b["saved"] + b["param_copies"] + b["input"]
        lines.append(
            f"{r['model']:16} {r['optimizer']:12} {'bf16' if r['amp'] else 'fp32':5} {r['peak'] / MIB:9.1f} {alloc}  "
            f"{r['phase']:9} {short(r['place']):44} {b['parameters'] + b['buffers']:7.1f} {b['gradients']:7.1f} "
            f"{b['optimizer_state']:7.1f} {saved:7.1f} {b['other']:7.1f}"
        )
    lines.append("")
    lines.append(f"{'inference, batch 1':29} {'peak MiB':>9} {'alloc MiB':>9}  {'where':44}")
    for r in data["inference"]:
        alloc = f"{r['allocator']['peak'] / MIB:9.1f}" if "allocator" in r else f"{'':9}"
        lines.append(f"{r['model']:16} {'':6} {'bf16' if r['amp'] else 'fp32':5} {r['peak'] / MIB:9.1f} {alloc}  {short(r['place'])}")
    kernels = {}
    for r in [*data["training"], *data["inference"]]:
        if r["attention_ops"]:
            kernels[(r["model"], r["amp"], "train" if "optimizer" in r else "infer")] = r["attention_ops"]
    if kernels:
        lines.append("")
        for (m, amp, kind), ops in sorted(kernels.items(), key=str):
            lines.append(f"attention {m} {kind} {'bf16' if amp else 'fp32'}: {', '.join(ops)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--optimizers", nargs="*", default=OPTIMIZERS)
    ap.add_argument("--no-profiler", action="store_true", help="skip the allocator-level cross-check (halves the time)")
    ap.add_argument("--no-inference", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--table", action="store_true", help="only print the table of an existing --out file")
    args = ap.parse_args(argv)

    if args.table:
        print(table(json.loads(args.out.read_text())))
        return 0
    import torchvision

    data = {"training": [], "inference": []}
    if args.out.exists():
        data = json.loads(args.out.read_text())
    data.update(
        {
            "generated_by": "scripts/measure_peaks.py (tests/memory_reference.py)",
            "units": "bytes",
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
            "what": "peak = bytes of distinct live tensor storages (parameters, buffers, input included) at the highest "
            "instant of the last of 2 training steps (forward, loss = sum of the output(s), backward, optimizer.step, "
            "zero_grad(set_to_none=True)), or of one eval-mode no_grad forward at batch 1; allocator = the same from "
            "torch.profiler's allocation events (adds kernels' internal temporaries)",
            "sdpa_default_vit_b_16": sdpa_default(args.batch),
        }
    )

    def save():
        key_t = lambda r: (MODELS.index(r["model"]) if r["model"] in MODELS else 99, r["model"], r["optimizer"], r["amp"] or "")  # noqa: E731
        key_i = lambda r: (MODELS.index(r["model"]) if r["model"] in MODELS else 99, r["model"], r["amp"] or "")  # noqa: E731
        data["training"].sort(key=key_t)
        data["inference"].sort(key=key_i)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=1) + "\n")

    for name in args.models:
        t0 = time.perf_counter()
        data["training"] = [r for r in data["training"] if not (r["model"] == name and r["batch"] == args.batch)]
        for optimizer in args.optimizers:
            for amp in AMPS:
                row = train_row(name, optimizer, amp, args.batch, not args.no_profiler)
                data["training"].append(row)
                alloc = f", allocator {row['allocator']['peak'] / MIB:.1f} MiB" if "allocator" in row else ""
                print(
                    f"{name} {optimizer} {amp or 'float32'}: {row['peak'] / MIB:.1f} MiB in {row['phase']} at {row['place']} "
                    f"({row['op']}){alloc} [{row['seconds']}s]",
                    flush=True,
                )
                save()
        if not args.no_inference:
            data["inference"] = [r for r in data["inference"] if r["model"] != name]
            for amp in AMPS:
                row = infer_row(name, amp, not args.no_profiler)
                data["inference"].append(row)
                print(f"{name} inference {amp or 'float32'}: {row['peak'] / MIB:.1f} MiB at {row['place']}", flush=True)
            save()
        print(f"-- {name}: {time.perf_counter() - t0:.0f}s", flush=True)
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
