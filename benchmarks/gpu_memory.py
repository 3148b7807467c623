"""Predicted memory peaks against what a CUDA device really allocates (docs/memory.md).

    python benchmarks/gpu_memory.py                 # Markdown on stdout; exits 0 with a note without CUDA
    python benchmarks/gpu_memory.py --out /tmp/gpu_memory.md --specs vgg16 resnet50-tv
    python benchmarks/gpu_memory.py --dry-run       # no GPU: build every model, print the predictions

For each spec (vgg16, resnet50-tv, densenet121, vit_b_16 by default) at batch 1 and 32, on the
model cnncalc builds from the spec (cnncalc/torchcheck/build.py):
- inference: eval mode under torch.no_grad, one forward pass; measured = the peak of
  torch.cuda.max_memory_allocated over that pass (parameters, buffers and the input are on the
  device already and count, as they do in engine.forward_memory_estimate);
- training: train mode, Adam (CUDA's default: foreach), one warm-up step first (Adam makes its
  state on the first step, and a training run is in its steady state from the second),
  gradients set to None, then forward + backward + optimizer step; measured =
  max_memory_allocated over that step (and max_memory_reserved, the allocator's cache), so it
  compares with the liveness walk's peak (engine.training_memory: adam, device cuda), float32
  and under bfloat16 autocast. Attention runs the kernel torch picks (not forced to math): the
  walk assumes the same one (ops/sdpa.py); the table names it.
Then `cnncalc verify SPEC --device cuda --time` of two specs. Nothing asserts: the table says
predicted / measured.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys

SPECS = ("vgg16", "resnet50-tv", "densenet121", "vit_b_16")
BATCHES = (1, 32)


def predictions(name: str, batch: int, amp: str | None) -> tuple[int, int, str]:
    """(inference peak, training peak, where the training peak falls) as cnncalc predicts them."""
    import cnncalc
    from cnncalc.engine.memory import forward_memory_estimate, training_model

    analysis = cnncalc.analyze(name, batch=batch)
    model = training_model(analysis, "adam", "cuda", amp)
    peak = model.peak(batch)
    where = f"{peak.phase} {analysis.rows[peak.row].name if peak.row >= 0 else ''}".strip()
    return forward_memory_estimate(analysis, amp, "cuda"), peak.at(batch), where


def measure(torch, name: str, batch: int, amp: str | None) -> tuple[int, int, int]:
    """(inference peak, training peak, training's reserved peak) in bytes, as
    torch.cuda.max_memory_allocated (and max_memory_reserved) see them."""
    import cnncalc
    from cnncalc.torchcheck.build import build_model
    graph = cnncalc.load(name)
    dev = torch.device("cuda")
    torch.cuda.empty_cache()
    model = build_model(graph, dev)
    x = torch.randn(batch, *graph.input_shape, device=dev)
    autocast = torch.autocast("cuda", dtype=getattr(torch, amp)) if amp else torch.autocast("cuda", enabled=False)

    model.eval()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    with torch.no_grad(), autocast:
        model(x)
    torch.cuda.synchronize()
    inference = torch.cuda.max_memory_allocated()  # parameters, buffers and the input included

    model.train()
    optimizer = torch.optim.Adam(model.parameters())

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            out = model(x)
        out.float().sum().backward()
        optimizer.step()

    step()  # Adam's state exists from here on
    optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    training = torch.cuda.max_memory_allocated()
    reserved = torch.cuda.max_memory_reserved()
    return inference, training, reserved  # the caller's next measure() empties the cache


def mib(n: int) -> str:
    return f"{n / 2**20:,.1f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--specs", nargs="*", default=list(SPECS))
    parser.add_argument("--batches", nargs="*", type=int, default=list(BATCHES))
    parser.add_argument("--out", help="also write the Markdown here")
    parser.add_argument("--dry-run", action="store_true", help="no GPU needed: predictions only")
    parser.add_argument("--verify", nargs="*", default=["resnet50-tv", "vgg16"],
                        help="specs for `cnncalc verify --device cuda --time`")
    args = parser.parse_args()
    import cnncalc

    specs = [s for s in args.specs if s in cnncalc.architectures()]
    try:
        import torch
    except ImportError:
        print("note: PyTorch is not installed; nothing measured")
        return 0
    has_cuda = torch.cuda.is_available()
    if not has_cuda and not args.dry_run:
        print("note: no CUDA device here; nothing measured (python benchmarks/gpu_memory.py --dry-run "
              "prints the predictions)")
        return 0
    device = torch.cuda.get_device_name(0) if has_cuda else "none (dry run)"
    lines = [f"Device: {device}; PyTorch {torch.__version__}; {datetime.date.today().isoformat()}. "
             "MiB = 2^20 bytes; measured = torch.cuda.max_memory_allocated (benchmarks/gpu_memory.py).", "",
             "| spec | batch | precision | inference predicted | measured | ratio | training predicted | measured "
             "| ratio | reserved | predicted peak at |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name in specs:
        for batch in args.batches:
            for amp in (None, "bfloat16"):
                inf_p, train_p, where = predictions(name, batch, amp)
                if has_cuda:
                    inf_m, train_m, reserved = measure(torch, name, batch, amp)
                    cells = [mib(inf_p), mib(inf_m), f"{inf_p / inf_m:.3f}", mib(train_p), mib(train_m),
                             f"{train_p / train_m:.3f}", mib(reserved), where]
                else:
                    cells = [mib(inf_p), "—", "—", mib(train_p), "—", "—", "—", where]
                precision = "float32 + bf16 autocast" if amp else "float32"
                lines.append(f"| {name} | {batch} | {precision} | " + " | ".join(cells) + " |")
                print(lines[-1], flush=True)
    if has_cuda:
        for name in args.verify:
            done = subprocess.run([sys.executable, "-m", "cnncalc", "verify", name, "--device", "cuda", "--time",
                                   "--batch", "32"], capture_output=True, text=True, env={"COLUMNS": "120",
                                                                                         **_env()})
            tail = "\n".join(done.stdout.strip().splitlines()[-4:])
            lines += ["", f"`cnncalc verify {name} --device cuda --time --batch 32` (exit {done.returncode}), last lines:",
                      "", "```", tail, "```"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


if __name__ == "__main__":
    sys.exit(main())
