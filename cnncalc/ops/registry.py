"""The op registry: every layer type is one frozen record class registered under its YAML name.

Stage: ops (pure). An op's fields are its YAML keys; the class holds the shape rule (infer), the
cost rule (cost), the torch twin (to_torch, the only place torch enters an op) and sample
configs. build_op() turns checked YAML arguments into an op instance.

Ops are declared like dataclasses (annotated fields with arg() defaults) but OpDef builds them
itself: @dataclass generates and compiles five methods per class, which cost ~1.3 ms each of
~35 op classes on every start of the CLI (issue 7: the analytic path must start near Python's
floor). OpDef's generic __init__/__eq__/__hash__/__repr__ read the field table instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from math import prod
from typing import TYPE_CHECKING, Any, ClassVar

from cnncalc.errors import ShapeError, Span, SpecError
from cnncalc.record import Record
from cnncalc.spec.expr import did_you_mean

if TYPE_CHECKING:
    from torch import nn

# One sample's tensor, the batch kept apart, of any rank. The layouts the ops document:
#   C x H x W   feature maps (conv, pooling, bn; the lecture tables' columns)
#   N x D       tokens (a transformer's sequence: linear, layernorm, matmul, softmax act on it)
#   H x W x C   channels-last (ConvNeXt's linear layers after a permute)
#   (D,)        flat features, after flatten
Shape = tuple[int, ...]
Pair = tuple[int, int]  # (h, w) for kernel, stride, pad
# a sliding window for receptive fields: kernel, stride, pad (before), dilation; one value per axis
Window = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]


class Cost(Record):
    """What one op costs for ONE sample (the engine multiplies activations and MACs by batch)."""

    weights: int = 0  # learnable weight elements (conv/linear kernels, BN gamma)
    biases: int = 0  # learnable bias elements (conv/linear bias, BN beta)
    macs: int = 0  # the lecture's "flop" column: multiply-adds (conv, linear), window reads (pool)
    elem_ops: int = 0  # elementwise work kept out of the lecture column (activations, BN, add)


class Saved(Record):
    """One tensor an op's autograd node keeps for the backward pass (docs/memory.md).

    tensor: "x0", "x1", ... one of the op's inputs; "y" its output; "new" a tensor the op makes
    (max pooling's indices, dropout's mask, batch norm's statistics, a copy an in-place op needs).
    An input or output is one storage shared with every other op that saves it; a "new" tensor is
    the op's own. dtype: "act" the activation dtype, "mask" dropout's mask (the activation dtype
    on the CPU, bool on CUDA), or a torch dtype name (float32, int64). "act" follows the
    tensor: an input's or the output's dtype; for a "new" tensor, the op's output dtype."""

    tensor: str
    elems: int = 0  # "new" only: elements per sample (per model when per_sample is False)
    dtype: str = "act"
    per_sample: bool = True


class Layer(Record):
    """One sample of one layer, as every counting rule sees it."""

    op: OpDef
    xs: tuple[Shape, ...]  # input shapes, batch apart
    y: Shape  # output shape
    cost: Cost  # the op's own cost for one sample

    @property
    def in_elems(self) -> int:
        return numel(self.xs[0])

    @property
    def out_elems(self) -> int:
        return numel(self.y)

    @property
    def params(self) -> int:
        return self.cost.weights + self.cost.biases

    @property
    def bias_adds(self) -> int:
        """One addition per output element when the layer has a bias (conv, linear)."""
        return self.out_elems if self.cost.biases else 0


# A counting rule: what one tool reports for one sample of one layer. An op declares its rules
# in `counts`, keyed by profile name (cnncalc/conventions.py lists the profiles); a family base
# class gives defaults that its ops inherit and may override.
Rule = Callable[[Layer], int]


def zero(f: Layer) -> int:
    """Not counted by this tool."""
    return 0


def macs(f: Layer) -> int:
    """The op's multiply-adds (the lecture's flop column)."""
    return f.cost.macs


def two_per_mac(f: Layer) -> int:
    """FlopCounterMode's 2 FLOPs per multiply-add (conv, mm, bmm; the bias is not counted)."""
    return 2 * f.cost.macs


def by_call(module: Rule, function: Rule, method: Rule = zero) -> Rule:
    """A rule that depends on how the model calls the op (its `call:` key): as an nn.Module,
    which ptflops and thop hook; as a function (F.relu, F.max_pool2d), which thop never sees and
    ptflops sees only through its patched torch.nn.functional; or as a tensor method (x.mean),
    which no hook, patch or fvcore handle sees."""
    table = {"module": module, "function": function, "method": method}
    return lambda f: table[getattr(f.op, "call", "module")](f)


CALL = "in:module,function,method"
CALL_DOC = ("how the model calls it: module (nn.ReLU), function (F.relu) or method (x.mean); "
            "ptflops, thop and fvcore count them differently")


def rules(lecture: Rule = macs, torch: Rule = zero, fvcore: Rule = zero, ptflops: Rule = zero,
          torchinfo: Rule = zero, thop: Rule = zero) -> dict[str, Rule]:
    """A full table of rules, one per profile, for a family base class or an op."""
    return {"lecture": lecture, "torch": torch, "fvcore": fvcore, "ptflops": ptflops,
            "torchinfo": torchinfo, "thop": thop}


REGISTRY: dict[str, type[OpDef]] = {}
ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str):
    """Class decorator: register an op under its YAML type name (twice is an error at import)."""

    def wrap(cls: type[OpDef]) -> type[OpDef]:
        for key in (name, *aliases):
            if key in REGISTRY or key in ALIASES:
                raise RuntimeError(f"op type '{key}' registered twice")
        cls.type = name
        REGISTRY[name] = cls
        for alias in aliases:
            ALIASES[alias] = name
        return cls

    return wrap


RANK_ALIASES: dict[str, type[OpDef]] = {}  # conv1d, conv2d, conv3d, maxpool3d, ...: an op that checks its rank


def register_rank_alias(alias: str, cls: type[OpDef], rank: int, layout: str) -> None:
    """A name for `cls` on inputs of one rank only (conv1d: C x L); its layer's type stays the op's."""
    if alias in REGISTRY or alias in ALIASES or alias in RANK_ALIASES:
        raise RuntimeError(f"op type '{alias}' registered twice")
    sub: type[OpDef] = type(f"{cls.__name__}_{alias}", (cls,), {
        "ranks": (rank,), "layout": layout, "__module__": cls.__module__,
        "__doc__": f"{alias}: {cls.type} on {layout} only.", "type": cls.type, "named": alias})
    RANK_ALIASES[alias] = sub
    ALIASES[alias] = cls.type


# HOME begin (written by scripts/make_ops_index.py): every op name and alias -> its family module
HOME = {
    "adaptive_avgpool": "pool", "adaptive_maxpool": "pool", "adaptiveavgpool": "pool", "add": "merge",
    "amax": "reduce", "attention": "attention", "avgpool": "pool", "avgpool1d": "pool", "avgpool2d": "pool",
    "avgpool3d": "pool", "batchnorm": "norm", "bn": "norm", "box_decode": "detect", "channel_shuffle": "reshape",
    "chunk": "reshape", "concat": "merge", "conv": "conv", "conv1d": "conv", "conv2d": "conv", "conv3d": "conv",
    "conv_transpose": "conv", "deconv": "conv", "div": "merge", "dropout": "activation",
    "elementwise": "activation", "embedding": "linear", "fc": "linear", "flatten": "linear", "gap": "pool",
    "gelu": "activation", "global_avgpool": "pool", "gn": "norm", "groupnorm": "norm", "hardsigmoid": "activation",
    "hardswish": "activation", "identity": "activation", "instancenorm": "norm", "interpolate": "resample",
    "kpt_decode": "detect", "layernorm": "norm", "leaky_relu": "activation", "linear": "linear", "ln": "norm",
    "log_softmax": "activation", "lrn": "norm", "matmul": "linear", "maxpool": "pool", "maxpool1d": "pool",
    "maxpool2d": "pool", "maxpool3d": "pool", "mean": "reduce", "mha": "attention", "mul": "merge",
    "opaque": "opaque", "param": "merge", "partition": "maxvit", "patch_merging": "window", "permute": "reshape",
    "pixel_shuffle": "resample", "pixel_unshuffle": "resample", "pool_attention": "mvit", "rbox_decode": "detect",
    "rel_attention": "maxvit", "relu": "activation", "relu6": "activation", "reshape": "reshape",
    "select": "reshape", "sigmoid": "activation", "silu": "activation", "softmax": "activation", "split": "reshape",
    "st_pos_encoding": "mvit", "sub": "merge", "sum": "reduce", "swish": "activation", "tanh": "activation",
    "token_maxpool": "mvit", "topk_boxes": "detect", "unpartition": "maxvit", "upsample": "resample",
    "view": "reshape", "window_attention": "window", "window_attention_v2": "window", "zeropad": "reshape",
}
# HOME end

FAMILIES = ("activation", "attention", "conv", "detect", "linear", "maxvit", "merge", "mvit", "norm", "opaque",
            "pool", "reduce", "resample", "reshape", "window")  # the modules of cnncalc/ops that register ops
_loaded: set[str] = set()


def load_family(family: str) -> None:
    """Import one family module of cnncalc/ops (its ops register themselves)."""
    if family not in _loaded:
        import importlib

        importlib.import_module(f"cnncalc.ops.{family}")
        _loaded.add(family)


def load_all() -> None:
    """Register every op: REGISTRY, ALIASES and RANK_ALIASES complete (cnncalc.ops.REGISTRY does this)."""
    for family in FAMILIES:
        load_family(family)


def lookup(name: str) -> type[OpDef] | None:
    """The op class for a YAML type name or alias, or None. An op's family module is imported the
    first time one of its names is looked up (HOME says which: a spec of convolutions does not
    pay for loading the transformer ops, issue 35); a name HOME does not know, or a family that
    did not register it, loads every family before the answer is None, so HOME is only ever a
    shortcut, never the authority."""
    cls = RANK_ALIASES.get(name) or REGISTRY.get(ALIASES.get(name, name))
    if cls is None and len(_loaded) < len(FAMILIES):
        family = HOME.get(name) if isinstance(name, str) else None
        if family is not None:
            load_family(family)
            cls = RANK_ALIASES.get(name) or REGISTRY.get(ALIASES.get(name, name))
        if cls is None:
            load_all()
            cls = RANK_ALIASES.get(name) or REGISTRY.get(ALIASES.get(name, name))
    return cls


def homes() -> dict[str, str]:
    """Every op name and alias -> the family module that registers it (what HOME holds:
    scripts/make_ops_index.py writes it, tests/test_fast_paths.py checks it)."""
    load_all()
    found = {name: cls.__module__.rsplit(".", 1)[-1] for name, cls in REGISTRY.items()}
    found.update({alias: REGISTRY[target].__module__.rsplit(".", 1)[-1] for alias, target in ALIASES.items()})
    found.update({alias: cls.__module__.rsplit(".", 1)[-1] for alias, cls in RANK_ALIASES.items()})
    return dict(sorted(found.items()))


def sample_cases(cls: type[OpDef]) -> list[tuple[dict[str, Any], list[Shape]]]:
    """Each sample config of an op with the input shapes it runs on: its own, when the sample is
    written (config, shapes), else the op's sample_inputs."""
    return [(s[0], list(s[1])) if isinstance(s, tuple) else (s, list(cls.sample_inputs)) for s in cls.samples]


REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()


class Arg:
    """One YAML key of an op: how its value is checked, its default, what it means."""

    __slots__ = ("default", "doc", "example", "kind")

    def __init__(self, kind: str, default: Any, doc: str, example: str = "") -> None:
        self.kind, self.default, self.doc, self.example = kind, default, doc, example


def arg(kind: str, default: Any = REQUIRED, doc: str = "", example: str = "") -> Any:
    """Declare an op field: kind is one of int+, int0, int, ints, axes+, axes0 (a window key: one
    value for every spatial axis, or one per axis), pair+, pair0, pads, padding, bool, float,
    prob, or in:a,b (one of the words a, b).

    example: for a required field, what to write when it is missing (the YAML value, and why),
    e.g. "5 (AlexNet's ...)"; without one, the hint quotes the first of the op's samples that
    sets the field."""
    return Arg(kind, default, doc, example)


class DocRow(Record):
    """The op's row in docs/ops.md's tables (scripts/make_ops_doc.py writes them from these):
    the table it is in (SECTIONS), its YAML keys with defaults, and its output, params and
    multiply-adds as formulas. Ops whose rows are equal and adjacent share one row (relu, relu6,
    ...: their family base class declares it)."""

    section: str
    keys: str
    output: str
    params: str = "0"
    macs: str = "0"


# docs/ops.md's op tables, in page order: section key -> heading
SECTIONS = {"conv": "Convolution, pooling, normalisation", "resample": "Resampling", "any": "Any rank"}


class OpDef:
    """Base of every op: a frozen record whose fields (annotated with arg()) are its YAML keys."""

    fields: ClassVar[dict[str, Arg]] = {}  # name -> Arg, the base classes' first, in order
    # profile -> rule: what each counting tool reports for this op (merged with the base
    # classes' tables, the op's own entries winning). OpDef declares none: every op, through
    # its family, has a rule for every profile (a test checks).
    counts: ClassVar[dict[str, Rule]] = {}
    ranks: ClassVar[tuple[int, ...] | None] = None  # input ranks accepted; None: any rank
    layout: ClassVar[str] = ""  # what the accepted input is, for rank errors ("a C x H x W feature map")

    type: ClassVar[str] = ""
    named: ClassVar[str] = ""  # the rank alias it was written as (conv1d), for messages
    arity: ClassVar[int] = 1  # inputs; 0 means "two or more" (add, concat)
    fold: ClassVar[bool] = False  # shape-preserving: shown folded into the row above by default
    inplace: ClassVar[bool] = False  # output may overwrite the input: adds no activation memory
    view: ClassVar[bool] = False  # output is a view of the input's storage (flatten, permute, chunk)
    weight_layer: ClassVar[bool] = False  # counts toward a network's depth (conv, linear)
    window_reads: ClassVar[bool] = False  # its lecture count is window reads, not multiply-adds (pooling)
    reads_ids: ClassVar[bool] = False  # its input is integer token ids (embedding): samples feed int64
    # the layer type it is summed under in the report's summary by type (report/web.py):
    # conv, linear, norm, pooling, attention or other (activations, merges, reshapes)
    category: ClassVar[str] = "other"
    doc_row: ClassVar[DocRow | None] = None  # its docs/ops.md row (every registered op has one: a test checks)
    # Under autocast (memory --amp; docs/memory.md), the dtype the op computes and returns in:
    #   "follow"   the dtype of its first input (activations, pooling, batch norm, views)
    #   "low"      the low dtype: on autocast's lower-precision list (conv, linear, matmul,
    #              attention); an input in float32 is cast, and the cast copy is what it saves
    #   "float32"  on autocast's float32 list: a low-dtype input is cast up, the copy saved
    #   "widest"   the widest dtype of its inputs (add, concat, mul: type promotion)
    #   "float32_out"  composed of float32-list ops: its output is float32, its input saved as is (lrn)
    autocast: ClassVar[str] = "follow"
    # where the CPU's list depends on the input's rank: rank -> category (3-D pooling, rank 4:
    # max_pool3d, avg_pool3d and the adaptive ones are on the CPU's float32 list, 1-D and 2-D not)
    autocast_cpu_rank: ClassVar[dict[int, str]] = {}
    autocast_cuda: ClassVar[str | None] = None  # where CUDA's lists differ from the CPU's (layernorm, softmax)
    # small configs for tests against torch; (config, [input shapes]) for one on other inputs
    samples: ClassVar[tuple[Any, ...]] = ()
    sample_inputs: ClassVar[tuple[Shape, ...]] = ((6, 12, 12),)  # the input shapes the samples run on

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.fields)
        # the class's own annotations, in order (inspect.get_annotations would cost its import)
        for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063
            if isinstance(cls.__dict__.get(name), Arg):
                fields[name] = cls.__dict__[name]
        cls.fields = fields
        if "counts" in cls.__dict__:  # an op's own rules win over its family's
            cls.counts = {**getattr(cls.__mro__[1], "counts", {}), **cls.__dict__["counts"]}

    def __init__(self, **values: Any) -> None:
        for name, spec in self.fields.items():
            value = values.pop(name, spec.default)
            if value is REQUIRED:
                raise TypeError(f"{type(self).__name__} needs '{name}'")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__} has no field {sorted(values)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpDef) and type(self) is type(other) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.fields)})"

    def check_ranks(self, xs: list[Shape], span: Span | None) -> None:
        """A ShapeError naming the layout this op takes when an input has another rank."""
        if self.ranks is not None:
            for x in xs:
                if len(x) not in self.ranks:
                    raise ShapeError(span, f"{self.named or self.type} acts on {self.layout}, got {fmt_shape(x)}",
                                     _rank_hint(x, self))

    def output_shape(self, xs: list[Shape], span: Span | None) -> Shape:
        """Output shape for these input shapes: ranks checked, then the op's rule; a ShapeError
        when they do not fit. (What the graph builder and the tests call.)"""
        self.check_ranks(xs, span)
        return self.infer(xs, span)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        """The op's shape rule, for inputs of a rank it accepts; a ShapeError when they do not fit."""
        raise NotImplementedError

    def counted(self, profile: str, xs: tuple[Shape, ...], y: Shape, cost: Cost) -> int:
        """What the profile's tool reports for one sample of this layer. `ultralytics` is
        Ultralytics' fork of thop, doubled as model.info() doubles it: an op's `ultralytics` rule
        where the fork changed thop's (counted in the fork's units), else its `thop` rule."""
        if profile == "ultralytics":
            return 2 * self.counts.get("ultralytics", self.counts["thop"])(Layer(self, xs, y, cost))
        rule = self.counts[profile]
        if rule is macs:  # the two commonest rules, without making the Layer they would read
            return cost.macs
        if rule is zero:
            return 0
        return rule(tuple.__new__(Layer, (self, xs, y, cost)))

    def cost(self, xs: list[Shape], y: Shape) -> Cost:
        """Parameters and operations for one sample."""
        return Cost()

    def param_tensors(self, xs: list[Shape], y: Shape) -> tuple[int, ...]:
        """Elements of each parameter tensor, in the order torch registers them (the order an
        optimizer steps through them). Default: the weight, then the bias."""
        cost = self.cost(xs, y)
        return tuple(n for n in (cost.weights, cost.biases) if n)

    def buffers(self, xs: list[Shape], y: Shape) -> tuple[int, int]:
        """Elements of the op's buffers (state that is not a parameter: BatchNorm's running
        statistics), per model: (in the model's dtype, int64). Default: none."""
        return (0, 0)

    def training_batch(self, x: Shape) -> tuple[int, str, str] | None:
        """Where torch cannot train this op at every batch, on an input of shape x (one sample):
        (the smallest batch it trains at, 0 for none; why, in words; the ValueError torch raises).
        Default: None, any batch trains (engine/trainable.py)."""
        return None

    def workspace(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """Tensors the op makes while it runs in an inference pass and lets go before it returns,
        beside its output ("new" Saved records: the argmax a max-pool kernel returns whether or
        not autograd keeps it). In training they are among `saves`. Default: none."""
        return ()

    def saves(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """What autograd keeps for this op's backward pass, for one sample (docs/memory.md);
        parameters are not listed (they are counted as parameters). Default: nothing (add,
        concat, views, padding keep only sizes)."""
        return ()

    def saves_autocast(self, xs: list[Shape], y: Shape) -> tuple[Saved, ...]:
        """What it saves under autocast, where that is not `saves` in other dtypes (the attention
        ops, whose math path keeps some intermediates in float32 on the CPU). Default: saves."""
        return self.saves(xs, y)

    def attention_kernel(self, xs: list[Shape], device: str, dtype: str, attention: str | None = None) -> str | None:
        """The scaled_dot_product_attention kernel this op runs (ops/sdpa.py) on `device` with q,
        k and v in `dtype`: the one torch picks, or `attention` where one is asked for (a
        UsageError where torch cannot run it); None for an op that does not call it (default)."""
        return None

    def saves_attention(self, xs: list[Shape], y: Shape, kernel: str, dtype: str, device: str) -> tuple[Saved, ...]:
        """What it saves when its attention runs `kernel` (attention_kernel's answer), q, k and v
        in `dtype`. Only asked of an op whose attention_kernel is not None. Default: saves."""
        return self.saves(xs, y)

    def cast_weights(self, xs: list[Shape], y: Shape) -> int:
        """Weight elements autocast copies into the low dtype for this op (per model): autograd
        keeps the copies for the backward pass, and autocast's cache holds them for the forward.
        Default: every weight of a "low" op (conv, linear kernels; biases are cast but not kept)."""
        return self.cost(xs, y).weights if self.autocast == "low" else 0

    def autocast_rule(self, device: str, rank: int) -> str:
        """Its autocast category on `device` (cpu, cuda) for an input of `rank` axes."""
        if device.startswith("cuda"):
            return self.autocast_cuda or self.autocast
        return self.autocast_cpu_rank.get(rank, self.autocast)

    def shares_storage(self) -> bool:
        """In a training pass, the output lives in the input's storage (an in-place op or a view)."""
        return self.inplace or self.view

    def columns(self, xs: list[Shape]) -> dict[str, Any]:
        """The lecture table's layer columns: filters, kernel, stride, pad (when they apply),
        for these input shapes (a window key has one value per spatial axis)."""
        return {}

    def rf_window(self, xs: list[Shape]) -> Window | None:
        """The sliding window this op applies, as (kernel, stride, pad, dilation) per spatial axis,
        for receptive-field analysis (cnncalc/rf.py); pad is the top/left padding, the one that
        shifts where the first window starts.

        None (this default) means elementwise in space: each output position sees the same input
        position(s), so the field passes through unchanged (activations, bn, lrn, dropout, add,
        mul, concat, channel_shuffle, chunk, ...)."""
        return None

    def rf_through(self, field: Any, xs: list[Shape]) -> Any:
        """The receptive field of this op's output from its input's (cnncalc/rf.py): through
        rf_window's window, or unchanged when it is None. A transposed window (conv_transpose,
        upsample) overrides this."""
        window = self.rf_window(xs)
        if window is None:
            return field
        from cnncalc.rf import through_window

        return through_window(field, window)

    def validate(self, spans: Mapping[str, Span], span: Span | None) -> None:
        """Check how the arguments go together (each was checked alone already); a SpecError at
        the span of the argument at fault (spans: key -> span of its value; span: the layer's).
        Default: nothing to check."""

    def to_torch(self, xs: list[Shape]) -> nn.Module:
        """The equivalent torch module (torch is imported only here)."""
        raise NotImplementedError(f"{self.type} has no torch twin yet")

    def explain(self, xs: list[Shape], y: Shape) -> list[str]:
        """The worked arithmetic of the output shape, parameters and flop, in the lectures' words
        (one sample; memory lines are added by report/explain.py). Default: a shape-keeping op."""
        lines = [f"Output shape = input shape = {fmt_shape(y)}" if len(xs) == 1 and xs[0] == y
                 else f"Output shape = {fmt_shape(y)}"]
        cost = self.cost(xs, y)
        lines.append("Params: none" if not cost.weights + cost.biases
                     else f"Params = {n(cost.weights)} weights + {n(cost.biases)} biases = {n(cost.weights + cost.biases)}")
        elementwise = (f" ({n(cost.elem_ops)} elementwise ops, outside the lecture's flop column)"
                       if cost.elem_ops else "")
        lines.append(f"Flop (multiply-adds) = {n(cost.macs)}{elementwise}" if cost.macs
                     else f"Flop (multiply-adds): none counted{elementwise}")
        return lines


def _rank_hint(x: Shape, op: OpDef) -> str:
    ranks = op.ranks or ()
    plain = lookup(op.type)  # conv1d on a C x H x W map: the plain op takes any dimension
    if op.named and plain is not None and plain.ranks is not None and len(x) in plain.ranks:
        return f"`{op.type}` takes the dimension from its input; {op.named} only {op.layout}"
    if len(x) == 1:
        return "the input is flat (after a flatten or linear); move this layer before them"
    if len(x) == 2 and 3 in ranks:
        return "the input is N x D tokens; reshape or permute it back to C x H x W first"
    return "docs/ops.md lists the rank each op takes"


def axis_index(axis: int, rank: int, op: str, span: Span | None) -> int:
    """A sample axis (batch excluded; negative counts from the end) as 0..rank-1, or a ShapeError."""
    if not -rank <= axis < rank:
        raise ShapeError(span, f"{op}: axis {axis} is out of range for a rank-{rank} input "
                         f"(axes 0..{rank - 1}, or -{rank}..-1; the batch axis is not counted)")
    return axis % rank


def n(value: int) -> str:
    """An exact integer with thousands separators, as the slides write them."""
    return f"{value:,}"


def numel(shape: Iterable[int]) -> int:
    """Elements in one sample of a tensor of this shape."""
    return prod(shape)


def fmt_shape(shape: Shape) -> str:
    """128x28x28 style, as in error messages and the lecture's [28x28x128] (here C first)."""
    return "x".join(str(d) for d in shape)


# ---- argument checking ----------------------------------------------------------------------

def _is_int(v: Any) -> bool:
    return type(v) is int  # booleans are not integers


def show(value: Any) -> str:
    """A YAML value as the user wrote it, with its kind: `true` (a boolean), `"64"` (text), ..."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if value is None:
        return "nothing (null)"
    if isinstance(value, float):
        return f"{value!r} (a float)"
    if isinstance(value, str):
        return f"'{value}' (text)"
    if isinstance(value, list):
        return f"{value!r} (a list)"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _check(kind: str, key: str, value: Any, span: Span | None, op: str) -> Any:
    def bad(expected: str) -> SpecError:
        hint = ("a count must be a whole number: wrap the expression in round(), ceil(), floor() or "
                "make_divisible()" if isinstance(value, float) and "integer" in expected else "")
        return SpecError(span, f"{op}: '{key}' must be {expected}, found {show(value)}", hint)

    if kind == "int":  # an axis: negative counts from the end
        if not _is_int(value):
            raise bad("an integer")
        return value
    if kind == "ints":  # a shape or an axis order
        if not isinstance(value, list) or not value or not all(_is_int(v) for v in value):
            raise bad("a list of integers, e.g. [196, 768]")
        return tuple(value)
    if kind.startswith("in:"):  # one of a few words
        choices = kind[3:].split(",")
        if value not in choices:
            raise bad(" or ".join(choices))
        return value
    if kind in ("int+", "int0"):
        if not _is_int(value):
            raise bad("an integer")
        if (kind == "int+" and value < 1) or value < 0:
            raise bad("a positive integer" if kind == "int+" else "a non-negative integer")
        return value
    if kind in ("axes+", "axes0"):  # a window key: one int for every spatial axis, or one per axis (1 to 3)
        low, word = (1, "positive") if kind == "axes+" else (0, "non-negative")
        if _is_int(value) and value >= low:
            return value
        if (isinstance(value, list) and 1 <= len(value) <= 3 and all(_is_int(v) for v in value)
                and all(v >= low for v in value)):
            return tuple(value)
        raise bad(f"a {word} integer or a list of them, one per spatial axis")
    if kind == "scales":  # a scale factor: a positive number for every axis, or one per axis
        items = value if isinstance(value, list) else [value]
        if (not 1 <= len(items) <= 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in items)
                or any(v <= 0 for v in items)):
            raise bad("a positive number or a list of them, one per spatial axis")
        return tuple(items) if isinstance(value, list) else value
    if kind in ("pair+", "pair0"):
        low, word = (1, "positive") if kind == "pair+" else (0, "non-negative")
        items = value if isinstance(value, list) else [value, value]
        if len(items) != 2 or not all(_is_int(v) for v in items):
            raise bad(f"a {word} integer or a [h, w] pair of them")
        if any(v < low for v in items):
            raise bad(f"a {word} integer or a [h, w] pair of them")
        return (items[0], items[1])
    if kind == "padding":  # conv padding: p or one per axis, or PyTorch's padding='same' / 'valid'
        if value == "valid":  # torch's padding='valid' is no padding
            return 0
        if value == "same":  # kept as the word: the op works out the padding (Conv2d.pads)
            return value
        if isinstance(value, str):
            raise SpecError(span, f"{op}: '{key}' must be a non-negative integer, a list of them (one per axis), "
                            f"same or valid, found {show(value)}", did_you_mean(value, ("same", "valid")))
        return _check("axes0", key, value, span, op)
    if kind == "pads":  # zero padding: p, [h, w] or [left, right, top, bottom] -> (l, r, t, b);
        items = value if isinstance(value, list) else [value]  # negative values crop, as in torch
        if len(items) not in (1, 2, 4) or not all(_is_int(v) for v in items):
            raise bad("an integer, [h, w] or [left, right, top, bottom] (negative crops)")
        if len(items) == 1:
            return (items[0],) * 4
        if len(items) == 2:
            return (items[1], items[1], items[0], items[0])
        return tuple(items)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "text":  # a short label (what an opaque layer stands for): printable, one line
        if not isinstance(value, str) or len(value) > 200 or not value.isprintable():
            raise bad("one line of printable text (at most 200 characters)")
        return value
    if kind in ("float", "prob"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        if kind == "prob" and not 0 <= value <= 1:
            raise bad("a number between 0 and 1")
        return float(value)
    raise AssertionError(f"unknown argument kind {kind}")


def build_op(name: str, args: Mapping[str, Any], spans: Mapping[str, Span], span: Span | None,
             key_spans: Mapping[str, Span] | None = None) -> OpDef:
    """Check YAML arguments against the op's fields and return the op instance.

    spans locate each value (for a wrong value), key_spans each key (for an unknown key)."""
    cls = lookup(name)
    assert cls is not None
    fields = cls.fields
    values: dict[str, Any] = {}
    for key, value in args.items():
        if key not in fields:
            known = ", ".join(fields) or "none"
            raise SpecError((key_spans or spans).get(key) or span, f"{name}: unknown argument '{key}'",
                            did_you_mean(key, fields) or f"{name} takes: {known}")
        values[key] = _check(fields[key].kind, key, value, spans.get(key) or span, name)
    missing = [key for key, spec in fields.items() if spec.default is REQUIRED and key not in values]
    if missing:
        raise SpecError(span, f"{name}: missing required argument '{missing[0]}'", _missing_hint(cls, name, missing[0]))
    op = cls(**values)
    op.validate(spans, span)
    return op


def _missing_hint(cls: type[OpDef], name: str, key: str) -> str:
    """What to write for a missing required argument: the field's own example, else the first of
    the op's samples (configs tested against torch) that sets it, written as YAML."""
    if cls.fields[key].example:
        return f"add {key}: {cls.fields[key].example}"
    sample = next((s for s in cls.samples if key in s), None)
    if sample is None:
        return f"e.g. {name}: {{{key}: ...}}"
    return f"add {key}, e.g. {name}: {{{', '.join(f'{k}: {_yaml(v)}' for k, v in sample.items())}}}"


def _yaml(value: Any) -> str:
    """A sample value as one would type it in a flow mapping: true, [1, 3], 1.0e-06, same."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return f"[{', '.join(_yaml(v) for v in value)}]"
    if isinstance(value, float) and "e" in repr(value) and "." not in repr(value):
        return repr(value).replace("e", ".0e")  # YAML 1.1 reads 1e-06 as text, 1.0e-06 as a number
    return str(value)
