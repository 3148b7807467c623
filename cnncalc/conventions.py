"""Convention profiles: the counting tools cnncalc can report as, by name.

Stage: engine side (pure). A profile is metadata only: its name, what the tool calls its
number, which tool and version its rules were read from, and one line of description. What
each tool counts for an op lives in that op's `counts` (cnncalc/ops/), one place per op;
Analysis.counted(profile) applies them. docs/profiles.md has the op-by-tool table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.errors import UsageError
from cnncalc.record import Record

if TYPE_CHECKING:
    from cnncalc.engine.analysis import Analysis


class Profile(Record):
    """What one tool is called and where its rules come from."""

    name: str  # the --convention value
    unit_label: str  # what the tool calls its number
    tool: str  # the tool, its entry point and the version whose source was read
    description: str  # one line for --help and the docs


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("lecture", "flop", "cnncalc (EECS 498 / CS231n lecture tables)",
            "multiply-adds of conv, linear and matmul; C*H'*W'*K*K window reads for pooling"),
    Profile("torch", "FLOPs", "torch.utils.flop_counter.FlopCounterMode, torch 2.14.1",
            "2 FLOPs per multiply-add of conv, linear and matmul (bias ignored); nothing else"),
    Profile("fvcore", "flops", "fvcore.nn.FlopCountAnalysis, fvcore 0.1.5.post20221221 (model in eval mode)",
            "1 per multiply-add of conv, linear and matmul, per-element counts for norms and adaptive pooling"),
    Profile("ptflops", "MACs", "ptflops.get_model_complexity_info, ptflops 0.7.5 (default pytorch backend)",
            "multiply-adds plus bias adds, and elementwise counts from module hooks and patched functions"),
    Profile("torchinfo", "Mult-Adds", "torchinfo.summary, torchinfo 1.8.0",
            "each parameter once per output position for conv, once per sample for other layers with parameters"),
    Profile("thop", "MACs", "thop.profile, thop 0.1.1.post2209072238",
            "multiply-adds of conv and linear, per-element counts for norms, average pooling and softmax"),
    Profile("ultralytics", "FLOPs", "model.info() (ultralytics.utils.torch_utils.get_flops), ultralytics 8.4.190 "
            "with ultralytics-thop 2.2.3",
            "the GFLOPs model.info() prints: 2 x ultralytics-thop's count (thop's rules as Ultralytics' fork "
            "revised them: nearest upsampling free, a transposed conv by its input, group norm counted)"),
)}
NAMES = tuple(PROFILES)


def get_profile(name: str) -> Profile:
    """The profile called `name`, or a UsageError listing the choices."""
    if name not in PROFILES:
        from cnncalc.spec.expr import did_you_mean

        raise UsageError(None, f"unknown convention '{name}'",
                         did_you_mean(name, PROFILES) or "choose one of: " + ", ".join(PROFILES))
    return PROFILES[name]


def counted_types(analysis: Analysis, profile: str) -> tuple[list[str], list[str]]:
    """The op types of this network the profile counts (something, somewhere), and those it
    counts nothing for: what a caption says, read from the numbers themselves."""
    counts = analysis.counted(profile)
    seen: dict[str, bool] = {}
    for row, value in zip(analysis.rows, counts):
        seen[row.type] = seen.get(row.type, False) or value != 0
    return [t for t, c in seen.items() if c], [t for t, c in seen.items() if not c]


def describe(analysis: Analysis, profile: str) -> str:
    """One caption phrase: what the profile counts in this network, exactly."""
    p = get_profile(profile)
    counted, free = counted_types(analysis, profile)
    pooled = any(r.node.op.window_reads for r in analysis.rows)
    head = (("flop = multiply-adds (pooling: C*H'*W'*K*K window reads)" if pooled else "flop = multiply-adds")
            if profile == "lecture" else f"{p.unit_label} as {p.name} counts them")
    parts = [f"{head}: {', '.join(counted) if counted else 'nothing'}"]
    if free:
        parts.append(f"not counted: {', '.join(free)}")
    return "; ".join(parts)
