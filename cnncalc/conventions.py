"""Convention profiles: the numbers other counting tools report for the same layers.

Stage: engine side (pure). In: a profile name and an Analysis (or one LayerRow and the batch).
Out: exact ints, one per layer, equal to what that tool reports for the layer's FLOP-like count,
and its parameter count. No torch, no printing. Each rule cites the tool file it reproduces; the
versions read and the op-by-tool table are in docs/profiles.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cnncalc.engine import Analysis, LayerRow
from cnncalc.errors import UsageError
from cnncalc.ops.registry import Cost, OpDef, Shape, numel
from cnncalc.spec.expr import did_you_mean


@dataclass(frozen=True)
class Layer:
    """One sample's view of a row: the quantities every rule below is written in."""

    op: OpDef
    xs: tuple[Shape, ...]  # input shapes, batch apart
    y: Shape  # output shape
    cost: Cost  # the op's own cost for one sample (macs, weights, biases, ...)

    @property
    def in_elems(self) -> int:
        return numel(self.xs[0])

    @property
    def out_elems(self) -> int:
        return numel(self.y)

    @property
    def positions(self) -> int:
        """Output positions per channel: H' x W' for a feature map, 1 for a flat output."""
        return numel(self.y[1:])

    @property
    def bias_adds(self) -> int:
        """One addition per bias element per output position (conv: out x H' x W', linear: out)."""
        return self.cost.biases * self.positions

    @property
    def params(self) -> int:
        return self.cost.weights + self.cost.biases


Rule = Callable[[Layer], int]  # a tool's count for one sample of one layer


@dataclass(frozen=True)
class Profile:
    """What one tool counts, op by op."""

    name: str  # the --convention value
    unit_label: str  # what the tool calls its number
    tool: str  # the tool, its entry point and the version whose source was read
    description: str  # one line for --help and table captions
    rules: Mapping[str, Rule] = field(default_factory=dict)  # op type -> count for one sample
    default: Rule | None = None  # for op types not in rules; None: every op must be listed

    def rule(self, op: OpDef) -> Rule:
        rule = self.rules.get(op.type, self.default)
        if rule is None:  # a new op without a decision for this tool; tests keep this unreachable
            raise NotImplementedError(f"the {self.name} profile has no rule for op '{op.type}' "
                                      "(add one in cnncalc/conventions.py)")
        return rule


def _zero(*types: str) -> dict[str, Rule]:
    """Ops the tool does not count (no hook, an ignored or unsupported aten op)."""
    return dict.fromkeys(types, lambda f: 0)


# Ops every third-party tool below skips: data movement, and in-place ops with no module hook
# (our add/mul/concat twins are plain Python `+`, `*` and torch.cat, as in torchvision's
# `out += identity`; none of the tools patches Tensor.__add__ or __mul__).
_MOVES = _zero("flatten", "dropout", "identity", "concat", "chunk", "channel_shuffle", "zeropad",
               "add", "mul")


def _macs(f: Layer) -> int:
    return f.cost.macs


LECTURE = Profile(
    "lecture", "MACs", "cnncalc (EECS 498 / CS231n lecture tables)",
    "multiply-adds of conv and linear, C*H'*W'*K*K for pooling; activations, BN and adds are free",
    default=_macs)

TORCH = Profile(
    "torch", "FLOPs", "torch.utils.flop_counter.FlopCounterMode, torch 2.14.1",
    "2 FLOPs per multiply-add of conv and linear (bias ignored); nothing else is counted",
    # torch/utils/flop_counter.py: conv_flop_count `... * c_out * c_in * 2`, mm_flop `m * n * 2 * k`
    # (addmm_flop drops the bias); no formula is registered for pooling, norms or activations.
    default=lambda f: 2 * f.cost.macs if f.op.torch_counts_macs else 0)

FVCORE = Profile(
    "fvcore", "flops", "fvcore.nn.FlopCountAnalysis, fvcore 0.1.5.post20221221 (model in eval mode)",
    "1 per multiply-add of conv and linear (bias ignored), 2 per element for BN, 1 per input "
    "element for adaptive pooling; ReLU, max/avg pooling and adds are not counted",
    {
        # fvcore/nn/jit_handles.py conv_flop_count: batch * prod(w_shape) * prod(out_shape[2:]);
        # "Computation for addition and bias is ignored"
        "conv": _macs,
        "linear": _macs,  # linear_flop_jit: prod(input_shape) * out_features, no bias
        # batchnorm_flop_jit, eval: numel * (2 if affine else 1); in training mode it is
        # norm_flop_counter(1): numel * 5 (cnncalc profiles the inference pass)
        "bn": lambda f: 2 * f.in_elems,
        # flop_count.py _DEFAULT_SUPPORTED_OPS: aten::adaptive_avg_pool2d -> elementwise_flop_counter(1, 0)
        "adaptive_avgpool": lambda f: f.in_elems,
        "global_avgpool": lambda f: f.in_elems,
        # jit_analysis.py _IGNORED_OPS has aten::relu/relu_; max_pool2d, avg_pool2d, hardtanh
        # (relu6), sigmoid, silu, softmax, add, mul, avg_pool3d (lrn) have no handle: "unsupported", 0
        **_zero("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
                "hardsigmoid", "softmax", "maxpool", "avgpool", "lrn"),
        **_MOVES,
    })


def _ptflops_lrn(f: Layer) -> int:
    """F.local_response_norm on a 4-D input runs Tensor.mul (x*x), avg_pool3d over the input padded
    to C + size - 1 channels, then Tensor.mul and Tensor.add: all three are patched by ptflops."""
    c, h, w = f.y
    return 3 * f.out_elems + (c + f.op.size - 1) * h * w  # type: ignore[attr-defined]


PTFLOPS = Profile(
    "ptflops", "MACs", "ptflops.get_model_complexity_info, ptflops 0.7.5 (default pytorch backend)",
    "multiply-adds plus bias adds of conv and linear, 2 per element for BN, and elementwise "
    "counts for ReLU and pooling that its module hook and its patched torch.nn.functional both add",
    {
        # ptflops/pytorch_ops.py conv_flops_counter_hook: prod(kernel) * in_c * out_c // groups per
        # output position, + batch * numel(output) when the conv has a bias
        "conv": lambda f: f.cost.macs + f.bias_adds,
        # linear_flops_counter_hook: (in * out + out if bias) per row
        "linear": lambda f: f.cost.macs + f.bias_adds,
        # bn_flops_counter_hook: numel(input), x2 when affine
        "bn": lambda f: 2 * f.in_elems,
        # Each of these is counted twice: MODULES_MAPPING's hook on the module (relu_flops_counter_hook:
        # numel(output); pool_flops_counter_hook: numel(input)), and again when the module's forward
        # calls the patched F.relu / F.gelu / F.max_pool2d / ... (FUNCTIONAL_MAPPING,
        # _numel_functional_flops_hook: numel(input)). ptflops' per-layer printout shows only the
        # first half; its total has both, and so do our rows.
        "relu": lambda f: 2 * f.out_elems,
        "gelu": lambda f: 2 * f.out_elems,
        "maxpool": lambda f: 2 * f.in_elems,
        "avgpool": lambda f: 2 * f.in_elems,
        "adaptive_avgpool": lambda f: 2 * f.in_elems,
        "global_avgpool": lambda f: 2 * f.in_elems,
        # module hook only (nn.ReLU6 calls F.hardtanh, nn.LeakyReLU F.leaky_relu: not patched)
        "relu6": lambda f: f.out_elems,
        "leaky_relu": lambda f: f.out_elems,
        # functional only (nn.SiLU and nn.Softmax have no module hook; F.silu, F.softmax are patched)
        "silu": lambda f: f.out_elems,
        "softmax": lambda f: f.out_elems,
        "lrn": _ptflops_lrn,
        **_zero("sigmoid", "tanh", "hardswish", "hardsigmoid"),  # neither hooked nor patched
        **_MOVES,
    })

TORCHINFO = Profile(
    "torchinfo", "Mult-Adds", "torchinfo.summary, torchinfo 1.8.0",
    "each parameter once per output position for conv (so bias adds count), once per sample for "
    "every other layer with parameters (linear: in*out + out, BN: 2*C); nothing without parameters",
    {
        # torchinfo/layer_info.py calculate_macs: for each parameter named weight or bias,
        # numel * prod(output_size[:1] + output_size[2:]) if "Conv" in the class name,
        # else output_size[0] (the batch) * numel
        "conv": lambda f: f.params * f.positions,
        "linear": lambda f: f.params,
        "bn": lambda f: f.params,
        **_zero("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
                "hardsigmoid", "softmax", "maxpool", "avgpool", "adaptive_avgpool",
                "global_avgpool", "lrn"),
        **_MOVES,
    })


def _thop_softmax(f: Layer) -> int:
    """count_softmax over dim 1: for each of numel/n rows, n exps, n - 1 adds and n divides."""
    n = f.xs[0][0]
    return f.in_elems // n * (3 * n - 1)


THOP = Profile(
    "thop", "MACs", "thop.profile, thop 0.1.1.post2209072238",
    "multiply-adds of conv and linear (bias ignored), 4 per element for BN, 1 per output element "
    "for average pooling; ReLU and max pooling are free",
    {
        # thop/vision/calc_func.py calculate_conv2d_flops: prod(output) * (in_c // g) * kh * kw
        "conv": _macs,
        "linear": _macs,  # calculate_linear: in_features * numel(output)
        # thop/vision/basic_hooks.py count_normalization: calculate_norm = 2 * numel(input),
        # then x2 again when affine
        "bn": lambda f: 4 * f.in_elems,
        "avgpool": lambda f: f.out_elems,  # count_avgpool: numel(output)
        # count_adap_avgpool: (prod(in_hw / out_hw) + 1) * numel(output) = C * (H*W + H'*W').
        # thop divides in floating point, so it can come out 1 lower when the windows are uneven.
        "adaptive_avgpool": lambda f: f.xs[0][0] * (numel(f.xs[0][1:]) + f.positions),
        "global_avgpool": lambda f: f.xs[0][0] * (numel(f.xs[0][1:]) + f.positions),
        "softmax": _thop_softmax,
        # zero_ops for ReLU, ReLU6, MaxPool2d, Dropout; count_relu (LeakyReLU) returns 0;
        # no rule at all for Sigmoid, Tanh, GELU, SiLU, Hardswish, Hardsigmoid, LRN, Flatten
        **_zero("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish",
                "hardsigmoid", "maxpool", "lrn"),
        **_MOVES,
    })

PROFILES: dict[str, Profile] = {p.name: p for p in (LECTURE, TORCH, FVCORE, PTFLOPS, TORCHINFO, THOP)}


def get_profile(name: str) -> Profile:
    """The profile called `name`, or a UsageError listing the choices."""
    if name not in PROFILES:
        raise UsageError(None, f"unknown convention '{name}'",
                         did_you_mean(name, PROFILES) or "choose one of: " + ", ".join(PROFILES))
    return PROFILES[name]


def count(profile: str, row: LayerRow, batch: int) -> int:
    """What the profile's tool reports for this layer, for `batch` samples (the row's batch)."""
    op = row.node.op
    cost = op.cost(list(row.inputs), row.output)
    return batch * get_profile(profile).rule(op)(Layer(op, row.inputs, row.output, cost))


def counts(profile: str, analysis: Analysis) -> tuple[int, ...]:
    """count() for every row of the analysis, at its batch size."""
    return tuple(count(profile, row, analysis.batch) for row in analysis.rows)


def total(profile: str, analysis: Analysis) -> int:
    """The tool's model total: the sum of its per-layer counts."""
    return sum(counts(profile, analysis))


def params(profile: str, row: LayerRow) -> int:
    """The tool's parameter count for this layer.

    All six agree: every learnable tensor (weights, biases, BN's gamma and beta), never BN's running
    mean and variance, which are buffers. (ptflops counts requires_grad ones, torchinfo reports
    both; thop counts only modules it has a rule for, which includes every cnncalc op with
    parameters.) Kept per profile so a tool that differs has one place to say so.
    """
    get_profile(profile)
    return row.weights + row.biases
