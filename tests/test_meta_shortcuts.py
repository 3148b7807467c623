"""The PyTorch reader's meta shortcuts (META_SHORTCUTS in cnncalc/readers/torch_module.py) against torch.

A shortcut, taken under the reader's function modes, must give what torch's own code gives for the
same call made outside them (where no shortcut runs): the same shape, dtype, strides, device, layout
and requires_grad, or the same exception. A recording's FlopCounterMode total must equal
FlopCounterMode on the real CPU model. Every expected value comes from torch.
"""

from __future__ import annotations

import itertools
from unittest.mock import patch

import pytest

torch = pytest.importorskip("torch", reason="torch is not importable: the meta shortcuts belong to the PyTorch reader")

import torch.nn.functional as F  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncalc.readers.torch_module import META_SHORTCUTS, _MetaShortcuts, build, record, spec_text  # noqa: E402

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
# (batch, channels, *spatial): channels 6 takes 1, 2, 3 and 6 groups
SHAPES = {"2d": (4, 6), "3d": (2, 6, 5), "4d": (2, 6, 4, 5), "5d": (2, 6, 2, 3, 4)}
CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}
ACTIVATIONS = (F.relu, F.relu6, F.hardswish, F.hardsigmoid)


# -- both sides of one call -------------------------------------------------------------------------

def meta(shape, dtype=torch.float32, layout="contiguous"):
    """An empty meta tensor: contiguous, channels_last (4-D, 5-D) or strided (every other element
    of a last axis twice as long: not contiguous in any memory format)."""
    if layout == "strided":
        return torch.empty((*shape[:-1], 2 * shape[-1]), dtype=dtype, device="meta")[..., ::2]
    if layout == "channels_last":  # its strides even where a size-1 axis makes it contiguous too
        return torch.empty(shape, dtype=dtype, device="meta", memory_format=CHANNELS_LAST[len(shape)])
    return torch.empty(shape, dtype=dtype, device="meta")


def param(shape, dtype):
    """A learned weight on meta, as an nn.Module built on meta holds it."""
    return nn.Parameter(torch.empty(shape, dtype=dtype, device="meta"))


def outcome(out):
    """What is compared: the tensor's metadata, or the exception raised."""
    if isinstance(out, Exception):
        return type(out).__name__
    return {"shape": tuple(out.shape), "dtype": out.dtype, "stride": out.stride(), "device": out.device,
            "layout": out.layout, "requires_grad": out.requires_grad}


def call(func, args, kwargs):
    try:
        return func(*args, **kwargs)
    except (RuntimeError, ValueError, TypeError) as exc:
        return exc


def both_sides(func, args, kwargs):
    """(torch's own result, the result under the shortcuts' mode, whether a shortcut was taken there).
    The table's entry is watched inside the mode: it sees the call as torch hands it on (F.batch_norm
    passes weight, bias and training by keyword), not as written here."""
    expected = call(func, args, kwargs)  # outside any function mode: torch's own meta code
    shortcut, taken = META_SHORTCUTS.get(func), []

    def watched(args, kwargs):
        out = shortcut(args, kwargs)
        taken.append(out is not None)
        return out

    with patch.dict(META_SHORTCUTS, {func: watched} if shortcut is not None else {}), _MetaShortcuts():
        got = call(func, args, kwargs)
    return expected, got, any(taken)


def named(rows):
    """A table's rows as pytest params, each named by its first column."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def assert_same_as_torch(func, args, kwargs):
    """The shortcut's result equals torch's own; returns whether the shortcut was taken."""
    expected, got, fired = both_sides(func, args, kwargs)
    assert outcome(got) == outcome(expected), f"{func.__name__} (shortcut taken: {fired})"
    return fired


# -- the calls: every shortcut op over realistic arguments ------------------------------------------

def _norm_calls(x, dtype):
    """(id, func, args, kwargs, plain): plain = every other tensor of x's dtype and size, not training."""
    c = x.shape[1]
    for training, stats, affine in itertools.product((False, True), repeat=3):
        mean, var = (torch.empty(c, dtype=dtype, device="meta") for _ in "mv") if stats else (None, None)
        weight, bias = (param(c, dtype), param(c, dtype)) if affine else (None, None)
        yield (f"bn-train{training:d}-stats{stats:d}-affine{affine:d}", F.batch_norm,
               (x, mean, var, weight, bias, training), {}, stats and not training)
    for k in range(1, x.dim() + 1):
        shape = tuple(x.shape[-k:])
        for weighted, biased in ((False, False), (True, True), (True, False), (False, True)):
            weight, bias = param(shape, dtype) if weighted else None, param(shape, dtype) if biased else None
            yield (f"ln-last{k}-w{weighted:d}-b{biased:d}", F.layer_norm, (x, list(shape) if k == 2 else shape),
                   {"weight": weight, "bias": bias}, True)
    for groups, affine in itertools.product((1, 2, 3, 6), (False, True)):
        weight, bias = (param(c, dtype), param(c, dtype)) if affine else (None, None)
        yield f"gn-{groups}-affine{affine:d}", F.group_norm, (x, groups, weight, bias), {}, True


def _activation_calls(x):
    for approximate in ("none", "tanh"):
        yield f"gelu-{approximate}", F.gelu, (x,), {"approximate": approximate}, True
    yield "gelu-default", F.gelu, (x,), {}, True
    for func in ACTIVATIONS:
        yield func.__name__, func, (x,), {}, True
        yield f"{func.__name__}-inplace0", func, (x,), {"inplace": False}, True


def _cases():
    for (dname, dtype), (sname, shape) in itertools.product(DTYPES.items(), SHAPES.items()):
        layouts = ("contiguous", "strided") + (("channels_last",) if len(shape) in CHANNELS_LAST else ())
        for layout in layouts:
            def make(dtype=dtype, shape=shape, layout=layout):
                x = meta(shape, dtype, layout)
                return [*_norm_calls(x, dtype), *_activation_calls(x)]
            for i, (name, *_) in enumerate(make()):
                yield pytest.param(make, i, layout == "contiguous", id=f"{name}-{dname}-{sname}-{layout}")


@pytest.mark.parametrize(("make", "index", "contiguous"), list(_cases()))
def test_shortcut_equals_torch_on_meta(make, index, contiguous):
    # the reader records under no_grad: the mode the shortcuts are for
    name, func, args, kwargs, plain = make()[index]
    with torch.no_grad():
        fired = assert_same_as_torch(func, args, kwargs)
    if contiguous and plain:  # the case the shortcut is for: it must be the shortcut that was checked
        assert fired, f"{name}: no shortcut taken for a plain contiguous meta call"


@pytest.mark.parametrize("shape", [(2, 6, 4, 5), (2, 6, 2, 3, 4), (1, 6, 4, 5)], ids=["4d", "5d", "batch1"])
@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
def test_channels_last_takes_no_shortcut(shape, dtype):
    # contiguous only in its own memory format: torch's code runs (and gives channels-last strides)
    x = meta(shape, dtype, "channels_last")
    for name, func, args, kwargs, _ in [*_norm_calls(x, dtype), *_activation_calls(x)]:
        with torch.no_grad():
            assert not assert_same_as_torch(func, args, kwargs), name


@pytest.mark.parametrize("dtype", list(DTYPES.values()), ids=list(DTYPES))
@pytest.mark.parametrize("func", [*ACTIVATIONS, F.relu_, torch.relu_, F.hardtanh_, F.leaky_relu_],
                         ids=lambda f: f.__name__)
def test_in_place_takes_no_shortcut_and_returns_its_input(func, dtype):
    x = meta((2, 6, 4, 5), dtype)
    args, kwargs = ((x,), {"inplace": True}) if func in ACTIVATIONS else ((x,), {})
    calls = [(args, kwargs), ((x, True), {})] if func in ACTIVATIONS else [(args, kwargs)]  # by name, by position
    for args, kwargs in calls:
        expected, got, fired = both_sides(func, args, kwargs)
        assert not fired
        assert expected is x and got is x


@pytest.mark.parametrize(("name", "func", "args", "kwargs"), named([
    # no shortcut: another dtype, device or size than the input's, an integer input, a bad argument;
    # torch's own code answers (an output or its error)
    ("bn stats in float32, input in float16 (autocast)", F.batch_norm,
     lambda: (meta((2, 6, 4, 5), torch.float16), meta((6,)), meta((6,))), {}),
    ("bn stats of the wrong size", F.batch_norm, lambda: (meta((2, 6, 4, 5)), meta((5,)), meta((5,))), {}),
    ("bn weight on the CPU", F.batch_norm,
     lambda: (meta((2, 6, 4, 5)), meta((6,)), meta((6,)), torch.ones(6)), {}),
    ("bn on a 1-D input", F.batch_norm, lambda: (meta((6,)), meta((6,)), meta((6,))), {}),
    ("bn by keywords", F.batch_norm,
     lambda: (), {"input": meta((2, 6, 4, 5)), "running_mean": meta((6,)), "running_var": meta((6,)),
                  "training": False, "momentum": 0.1, "eps": 1e-3}),
    ("ln over a shape the input lacks", F.layer_norm, lambda: (meta((2, 6, 4, 5)), (4, 4)), {}),
    ("ln over more axes than the input has", F.layer_norm, lambda: (meta((4, 5)), (2, 4, 5)), {}),
    ("ln weight of the wrong size", F.layer_norm, lambda: (meta((2, 6, 4, 5)), (5,), meta((4,))), {}),
    ("ln over a torch.Size", F.layer_norm, lambda: (meta((2, 6, 4, 5)), torch.Size((4, 5))), {}),
    ("gn groups not dividing the channels", F.group_norm, lambda: (meta((2, 6, 4, 5)), 4), {}),
    ("gn weight in float64", F.group_norm,
     lambda: (meta((2, 6, 4, 5)), 3, meta((6,), torch.float64)), {}),
    ("gelu approximate='foo'", F.gelu, lambda: (meta((2, 6)),), {"approximate": "foo"}),
    ("gelu approximate by position", F.gelu, lambda: (meta((2, 6)), "tanh"), {}),
    ("relu on int32", F.relu, lambda: (meta((2, 6), torch.int32),), {}),
    ("relu on float64", F.relu, lambda: (meta((2, 6), torch.float64),), {}),
    ("relu on a CPU tensor", F.relu, lambda: (torch.zeros(2, 6),), {}),
    ("relu on a Parameter", F.relu, lambda: (param((2, 6), torch.float32),), {}),
    ("hardswish on a view at an offset", F.hardswish, lambda: (meta((4, 6, 3))[1:3],), {}),
]))
def test_unusual_calls_equal_torch(name, func, args, kwargs):
    with torch.no_grad():
        assert_same_as_torch(func, args(), kwargs)


def test_grad_mode_without_grad_inputs_equals_torch():
    x = meta((2, 6, 4, 5))
    for _name, func, args, kwargs, _ in _activation_calls(x):
        assert_same_as_torch(func, args, kwargs)
    w, b = torch.empty(6, device="meta"), torch.empty(6, device="meta")  # plain tensors, not Parameters
    assert assert_same_as_torch(F.group_norm, (x, 3, w, b), {})


# -- where torch's own output differs from an empty tensor like the input: the shortcut steps aside --

def _grad_calls():
    x = meta((2, 6, 4, 5)).requires_grad_()
    yield from ((name, f, a, k) for name, f, a, k, _ in _activation_calls(x))
    plain = meta((2, 6, 4, 5))  # only the Parameters require grad
    yield "bn-params", F.batch_norm, (plain, meta((6,)), meta((6,)), param(6, torch.float32), None, False), {}
    yield "ln-params", F.layer_norm, (plain, (5,), param(5, torch.float32)), {}
    yield "gn-params", F.group_norm, (plain, 3, param(6, torch.float32)), {}


# under grad mode torch's output requires grad when an input does (the reader records under no_grad)
@pytest.mark.parametrize(("name", "func", "args", "kwargs"), named(_grad_calls()))
def test_shortcut_keeps_requires_grad(name, func, args, kwargs):
    assert_same_as_torch(func, args, kwargs)


def _transposed(shape, axes):
    """A contiguous tensor of `shape` whose size-1 axes carry other strides (is_contiguous() holds)."""
    x = torch.empty([shape[a] for a in axes], device="meta").permute(*[axes.index(i) for i in range(len(shape))])
    assert x.is_contiguous() and tuple(x.shape) == shape
    return x


# where is_contiguous() ignores a size-1 or empty axis, torch's output keeps strides empty_like would not
@pytest.mark.parametrize(("name", "func", "args", "kwargs"), named([
    # torch: strides (20, 20, 5, 1); shortcut: (20, 1, 5, 1)
    ("gn one channel, channels_last", F.group_norm, lambda: (meta((2, 1, 4, 5), layout="channels_last"), 1), {}),
    # zero batch, channels_last: torch (60, 20, 5, 1); shortcut (60, 1, 15, 3); every shortcut op
    ("relu zero batch, channels_last", F.relu, lambda: (meta((0, 3, 4, 5), layout="channels_last"),), {}),
    ("ln zero batch, channels_last", F.layer_norm, lambda: (meta((0, 3, 4, 5), layout="channels_last"), (5,)), {}),
    # zero batch, every other element: torch keeps (120, 40, 10, 2); shortcut (60, 20, 5, 1)
    ("bn zero batch, strided", F.batch_norm,
     lambda: (meta((0, 3, 4, 5), layout="strided"), meta((3,)), meta((3,))), {}),
    # (2, 1, 3).transpose(1, 2): torch keeps (3, 1, 3); shortcut (3, 1, 1)
    ("relu (2, 3, 1) strides (3, 1, 3)", F.relu, lambda: (_transposed((2, 3, 1), (0, 2, 1)),), {}),
    # (3, 1, 5).transpose(0, 1): torch keeps (5, 5, 1); shortcut (15, 5, 1)
    ("ln (1, 3, 5) strides (5, 5, 1)", F.layer_norm, lambda: (_transposed((1, 3, 5), (1, 0, 2)), (5,)), {}),
    ("bn (1, 3, 5) strides (5, 5, 1)", F.batch_norm,
     lambda: (_transposed((1, 3, 5), (1, 0, 2)), meta((3,)), meta((3,))), {}),
    # found by test_layer_norm_property: torch keeps (2, 1, 2, 2, 1); shortcut (2, 2, 2, 2, 1)
    ("ln (1, 1, 1, 1, 2) channels_last_3d", F.layer_norm,
     lambda: (meta((1, 1, 1, 1, 2), layout="channels_last"), (2,)), {}),
]))
def test_shortcut_keeps_strides_of_degenerate_axes(name, func, args, kwargs):
    args = args()
    with torch.no_grad():
        assert_same_as_torch(func, args, kwargs)


# -- property: random batch_norm and layer_norm calls ------------------------------------------------

@st.composite
def norm_inputs(draw):
    rank = draw(st.integers(2, 5))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    dtype = draw(st.sampled_from(list(DTYPES.values())))
    layout = draw(st.sampled_from(["contiguous", "strided"] + (["channels_last"] if rank in CHANNELS_LAST else [])))
    # the weights in the input's dtype, or float32 beside a half input (autocast's mix)
    param_dtype = draw(st.sampled_from([dtype, torch.float32]))
    x = meta(shape, dtype, layout)
    return x, param_dtype


@PROFILE
@given(norm_inputs(), st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_batch_norm_property(xs, training, stats, weighted, biased):
    x, dtype = xs
    c = x.shape[1]
    mean, var = (torch.empty(c, dtype=dtype, device="meta"), torch.empty(c, dtype=dtype, device="meta")) if stats \
        else (None, None)
    args = (x, mean, var, param(c, dtype) if weighted else None, param(c, dtype) if biased else None, training)
    with torch.no_grad():
        assert_same_as_torch(F.batch_norm, args, {})


@PROFILE
@given(norm_inputs(), st.data(), st.booleans(), st.booleans())
def test_layer_norm_property(xs, data, weighted, biased):
    x, dtype = xs
    k = data.draw(st.integers(1, x.dim()), label="normalized axes")
    shape = tuple(x.shape[-k:])
    kwargs = {"weight": param(shape, dtype) if weighted else None, "bias": param(shape, dtype) if biased else None}
    with torch.no_grad():
        assert_same_as_torch(F.layer_norm, (x, shape), kwargs)


# -- a whole recording: FlopCounterMode on meta with shortcuts = FlopCounterMode on the CPU ----------

class ConvNormNet(nn.Module):
    """conv + bn + relu + layernorm + gelu + linear, as modules and as functions."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.norm = nn.LayerNorm(8)
        self.act = nn.GELU()
        self.fc = nn.Linear(8, 10)
        self.w_gamma, self.w_beta = nn.Parameter(torch.ones(8)), nn.Parameter(torch.zeros(8))

    def forward(self, x):
        x = self.relu(self.bn(self.conv(x)))
        x = F.layer_norm(x, (8,), self.w_gamma, self.w_beta)  # over the last axis, W = 8
        x = F.gelu(x.mean((2, 3)))
        return self.fc(self.act(self.norm(x)))


class MobileBlockNet(nn.Module):
    """group norm, hardswish, relu6 and an SE gate by hardsigmoid: the other shortcut ops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gn = nn.GroupNorm(4, 8)
        self.act = nn.Hardswish()
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.squeeze = nn.Conv2d(8, 4, 1)
        self.excite = nn.Conv2d(4, 8, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.act(self.gn(self.conv(x)))
        x = F.relu6(self.dw(x))
        gate = F.hardsigmoid(self.excite(F.relu(self.squeeze(x.mean((2, 3), keepdim=True)))))
        return self.fc((x * gate).mean((2, 3)))


class PermutedNet(nn.Module):
    """ConvNeXt's permutes and an explicit channels_last map: meta conv outputs are contiguous
    whatever the weights' memory format, so non-contiguous maps come from the model's own code."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8)
        self.up = nn.Linear(8, 16)
        self.act = nn.GELU()
        self.down = nn.Linear(16, 8)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.conv(x).permute(0, 2, 3, 1)  # (N, H, W, C): not contiguous
        x = self.down(self.act(self.up(self.norm(x)))).permute(0, 3, 1, 2)
        x = self.bn(F.relu(x).contiguous(memory_format=torch.channels_last))
        return self.fc(x.mean((2, 3)))


MODELS = [
    pytest.param(ConvNormNet, {F.batch_norm, F.layer_norm, F.relu, F.gelu}, id="conv-bn-relu-ln-gelu-linear"),
    pytest.param(MobileBlockNet, {F.group_norm, F.hardswish, F.relu6, F.relu, F.hardsigmoid}, id="mobile"),
    # only GELU, on the contiguous output of a Linear, takes a shortcut
    pytest.param(PermutedNet, {F.gelu}, id="permuted"),
]


def cpu_flops(factory) -> int:
    torch.manual_seed(0)
    model = factory().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 8, 8))
    return counter.get_total_flops()


def meta_model(factory):
    model = build(factory, {})
    assert all(p.is_meta for p in model.parameters())
    return model


@pytest.mark.parametrize(("factory", "shortcut_ops"), MODELS)
def test_recorded_flops_equal_flop_counter_on_the_cpu_model(monkeypatch, factory, shortcut_ops):
    taken = {}

    def counted(func, shortcut):
        def run(args, kwargs):
            out = shortcut(args, kwargs)
            taken[func] = taken.get(func, 0) + (out is not None)
            return out
        return run

    for func, shortcut in list(META_SHORTCUTS.items()):
        monkeypatch.setitem(META_SHORTCUTS, func, counted(func, shortcut))
    rec = record(meta_model(factory), (3, 8, 8))
    assert rec.flops == cpu_flops(factory) > 0
    # the shortcuts taken (in the recording's pass or FlopCounterMode's)
    assert {func for func, n in taken.items() if n} == shortcut_ops


@pytest.mark.parametrize("factory", [p.values[0] for p in MODELS], ids=[p.id for p in MODELS])
def test_recording_without_shortcuts_is_the_same(factory):
    text, rec = spec_text(meta_model(factory), (3, 8, 8), name="net")
    with patch.dict(META_SHORTCUTS, clear=True):  # torch's own code for every call
        slow_text, slow = spec_text(meta_model(factory), (3, 8, 8), name="net")
    assert text == slow_text
    assert (rec.flops, rec.params_total, rec.output_shapes) == (slow.flops, slow.params_total, slow.output_shapes)
