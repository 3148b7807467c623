"""Property tests: every op's analytic shape, params and MACs equal PyTorch's (CPU, tiny tensors).

Configurations PyTorch rejects must be rejected by the engine too, with a ShapeError.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncalc.errors import ShapeError  # noqa: E402
from cnncalc.ops import REGISTRY, build_op  # noqa: E402
from cnncalc.ops.registry import numel  # noqa: E402

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def torch_side(op, shapes):
    """(output shape, params, flops) from PyTorch, or the exception it raised."""
    try:
        module = op.to_torch(shapes)
        xs = [torch.randn((2, *s)) for s in shapes]
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            out = module(*xs)
    except (RuntimeError, ValueError) as exc:
        return exc
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()), counter.get_total_flops()


def check_agreement(op, shapes):
    """Both sides accept with equal numbers, or both reject."""
    try:
        y = op.infer(list(shapes), None)
    except ShapeError as exc:
        engine = exc
    else:
        engine = None
    measured = torch_side(op, shapes)
    if engine is not None or isinstance(measured, Exception):
        assert engine is not None and isinstance(measured, Exception), (
            f"engine: {engine and engine.message!r}; torch: {measured!r}")
        return False
    cost = op.cost(list(shapes), y)
    shape, params, flops = measured
    assert shape == y
    assert params == cost.weights + cost.biases
    if op.torch_counts_macs:
        assert flops == 2 * 2 * cost.macs  # batch 2, FlopCounterMode counts 2 per multiply-add
    return True


pairs = st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 5), st.integers(1, 5)).map(list))


@PROFILE
@given(in_c=st.integers(1, 8), out=st.integers(1, 8), groups=st.integers(1, 4), kernel=pairs,
       stride=st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)).map(list)),
       pad=st.one_of(st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)).map(list)),
       dilation=st.integers(1, 2), bias=st.booleans(), h=st.integers(1, 16), w=st.integers(1, 16))
def test_conv_matches_torch(in_c, out, groups, kernel, stride, pad, dilation, bias, h, w):
    op = build_op("conv", {"out": out, "kernel": kernel, "stride": stride, "pad": pad,
                           "dilation": dilation, "groups": groups, "bias": bias}, {}, None)
    check_agreement(op, [(in_c, h, w)])


@PROFILE
@given(kind=st.sampled_from(["maxpool", "avgpool"]), c=st.integers(1, 4), kernel=pairs,
       stride=st.one_of(st.none(), st.integers(1, 3)), pad=st.integers(0, 3), ceil=st.booleans(),
       include_pad=st.booleans(), h=st.integers(1, 16), w=st.integers(1, 16))
def test_pool_matches_torch(kind, c, kernel, stride, pad, ceil, include_pad, h, w):
    args = {"kernel": kernel, "pad": pad, "ceil_mode": ceil}
    if stride is not None:
        args["stride"] = stride
    if kind == "avgpool":
        args["count_include_pad"] = include_pad
    check_agreement(build_op(kind, args, {}, None), [(c, h, w)])


@PROFILE
@given(c=st.integers(1, 4), out=pairs, h=st.integers(1, 16), w=st.integers(1, 16))
def test_adaptive_pool_matches_torch(c, out, h, w):
    check_agreement(build_op("adaptive_avgpool", {"out": out}, {}, None), [(c, h, w)])


@PROFILE
@given(n_in=st.integers(1, 64), out=st.integers(1, 64), bias=st.booleans())
def test_linear_matches_torch(n_in, out, bias):
    assert check_agreement(build_op("linear", {"out": out, "bias": bias}, {}, None), [(n_in,)])


def sample_inputs(name: str, sample: dict) -> list[tuple[int, ...]]:
    if name in ("linear",):
        return [(24,)]
    if name in ("add",):
        return [(6, 12, 12), (6, 12, 12)]
    if name in ("concat",):
        return [(6, 12, 12), (3, 12, 12)]
    if name in ("mul",):
        return [(6, 12, 12), (6, 1, 1)]  # squeeze-and-excitation broadcasting
    return [(6, 12, 12)]


@pytest.mark.parametrize(("name", "sample"), [(n, s) for n, cls in REGISTRY.items() for s in cls.samples])
def test_every_op_sample_matches_torch(name, sample):
    op = build_op(name, sample, {}, None)
    shapes = sample_inputs(name, sample)
    assert check_agreement(op, shapes), f"{name} {sample} rejected by both sides: pick a valid sample"
    y = op.infer(shapes, None)
    assert numel(y) > 0
