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
from cnncalc.ops.registry import numel, sample_cases  # noqa: E402
from cnncalc.torchcheck.measure import attention_counted  # noqa: E402

PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def torch_side(op, shapes):
    """(output shape, params, flops) from PyTorch, or the exception it raised."""
    try:
        module = op.to_torch(shapes)
        xs = [torch.zeros((2, *s), dtype=torch.long) if op.reads_ids else torch.randn((2, *s)) for s in shapes]
        with FlopCounterMode(display=False) as counter, torch.no_grad(), attention_counted():
            out = module(*xs)
    except (RuntimeError, ValueError) as exc:
        return exc
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters()), counter.get_total_flops()


def check_agreement(op, shapes):
    """Both sides accept with equal numbers, or both reject."""
    try:
        y = op.output_shape(list(shapes), None)
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
    # every op, counted or not: FlopCounterMode on a batch of 2 = 2 x the torch profile's rule
    assert flops == 2 * op.counted("torch", tuple(shapes), y, cost)
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


@pytest.mark.parametrize(("name", "sample", "shapes"),
                         [(n, s, shapes) for n, cls in REGISTRY.items() for s, shapes in sample_cases(cls)])
def test_every_op_sample_matches_torch(name, sample, shapes):
    op = build_op(name, sample, {}, None)  # on the sample's inputs (OpDef's default: one 6x12x12 map)
    assert check_agreement(op, shapes), f"{name} {sample} rejected by both sides: pick a valid sample"
    y = op.output_shape(shapes, None)
    assert numel(y) > 0


@PROFILE
@given(lead=st.lists(st.integers(1, 5), max_size=3), n_in=st.integers(1, 16), out=st.integers(1, 16),
       bias=st.booleans())
def test_linear_on_any_rank_matches_torch(lead, n_in, out, bias):
    # nn.Linear acts on the last axis: MACs = product of the leading axes x in x out
    assert check_agreement(build_op("linear", {"out": out, "bias": bias}, {}, None), [(*lead, n_in)])


@PROFILE
@given(heads=st.integers(1, 4), n=st.integers(1, 9), k=st.integers(1, 9), m=st.integers(1, 9),
       transpose=st.booleans())
def test_matmul_matches_torch(heads, n, k, m, transpose):
    b = (heads, m, k) if transpose else (heads, k, m)
    assert check_agreement(build_op("matmul", {"transpose": transpose}, {}, None), [(heads, n, k), b])


@PROFILE
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_layernorm_and_softmax_over_any_axis_match_torch(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    for kind in ("layernorm", "softmax"):
        assert check_agreement(build_op(kind, {"axis": axis}, {}, None), [tuple(shape)])


@PROFILE
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), data=st.data())
def test_permute_and_flatten_match_torch(shape, data):
    dims = data.draw(st.permutations(range(len(shape))))
    assert check_agreement(build_op("permute", {"dims": list(dims)}, {}, None), [tuple(shape)])
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    assert check_agreement(build_op("flatten", {"start": start, "end": end}, {}, None), [tuple(shape)])
