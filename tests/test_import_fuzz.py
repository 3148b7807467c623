"""Fuzzing the PyTorch importer (issue 31: every new front end is fuzzed like the spec files).

Random nn.Sequential stacks, with module names from a hostile alphabet, some of which do not fit
their input: cnncalc.to_spec either writes a spec that is exact (the model's own parameter
count, FlopCounterMode's FLOPs and output shape: Imported.check, which measures the model) or
raises one CnncalcError; never another exception. The spec it writes is valid YAML whose layer
names are the module paths made spec-safe."""

from __future__ import annotations

import os
import re

import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.errors import CnncalcError, ShapeError  # noqa: E402

EXAMPLES = int(os.environ.get("CNNCALC_IMPORT_FUZZ_EXAMPLES", "150"))
nn = torch.nn

# torch refuses "." and "" as a module name; anything else is a name
HOSTILE = st.text(st.sampled_from([*"ab_-09<>|&\"'\\:{}%$#^~=+@ ", "\n", "\t", "\x1b", "\x85", "\u2028", "\u202e",
                                    "é", "中"]), min_size=1, max_size=8)
small = st.integers(1, 6)
module = st.one_of(
    st.builds(lambda o, k, s, p, b: ("conv", o, k, s, p, b), small, st.integers(1, 4), st.integers(1, 2),
              st.integers(0, 2), st.booleans()),
    st.builds(lambda k, s: ("maxpool", k, s), st.integers(1, 3), st.integers(1, 2)),
    st.builds(lambda k: ("avgpool", k), st.integers(1, 3)),
    st.just(("bn",)), st.just(("relu",)), st.just(("gelu",)), st.just(("flatten",)),
    st.builds(lambda o: ("linear", o), small), st.just(("adaptive",)), st.just(("dropout",)),
)


def build(layers: list[tuple], names: list[str], channels: int) -> nn.Module:
    """The stack as torch modules; a linear's input size is whatever the model gives it (LazyLinear
    is not used: its in_features is taken from the flattened size when it is known, else a guess)."""
    model = nn.Sequential()
    c, flat = channels, None
    for i, (layer, name) in enumerate(zip(layers, names)):
        kind = layer[0]
        if kind == "conv":
            _, out, k, s, p, bias = layer
            m: nn.Module = nn.Conv2d(c, out, k, s, p, bias=bias)
            c = out
        elif kind == "maxpool":
            m = nn.MaxPool2d(layer[1], layer[2])
        elif kind == "avgpool":
            m = nn.AvgPool2d(layer[1])
        elif kind == "bn":
            m = nn.BatchNorm2d(c)
        elif kind == "relu":
            m = nn.ReLU()
        elif kind == "gelu":
            m = nn.GELU()
        elif kind == "flatten":
            m = nn.Flatten()
        elif kind == "adaptive":
            m = nn.AdaptiveAvgPool2d(1)
        elif kind == "dropout":
            m = nn.Dropout(0.1)
        else:
            m = nn.Linear(flat or c, layer[1])
            flat = layer[1]
        model.add_module(f"{name}{i}", m)  # made unique by its index
    return model.eval()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(layers=st.lists(module, min_size=1, max_size=5), names=st.lists(HOSTILE, min_size=5, max_size=5),
       shape=st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)))
def test_an_imported_module_is_exact_or_one_clean_error(layers, names, shape):
    model = build(layers, names, shape[0])
    try:
        with torch.no_grad():
            expected = tuple(model(torch.zeros(1, *shape)).shape[1:])
    except Exception:
        expected = None  # the model itself does not run on this input
    try:
        spec = cnncalc.to_spec(model, input=shape)
    except CnncalcError as exc:
        assert exc.message  # one message, no traceback
        if expected is not None:  # the model runs: only a call cnncalc cannot map may stop it
            assert "cannot be mapped" in exc.message, exc.message
        return
    assert expected is not None  # a spec only for a model that runs
    try:
        analysis = cnncalc.analyze(spec.text)
    except ShapeError as exc:  # torch runs a few calls no CNN means (a 2-D pool on a flat (N, F) tensor
        # pools N and F together); the spec says which layer, at its line
        assert exc.span is not None and exc.message.startswith("layer "), str(exc)
        return
    assert spec.check(analysis) == []  # params, FlopCounterMode's FLOPs and output shape are the model's
    assert tuple(analysis.rows[-1].output) == expected
    assert analysis.totals.params == sum(p.numel() for p in model.parameters())
    # names: the module paths made spec-safe (readers/emit.py local_name: anything but A-Z a-z 0-9 _
    # becomes _), one row per module called, so nothing of a hostile name reaches any output
    children = [n for n, _ in model.named_children()]
    assert len(analysis.rows) == len(children)
    assert [r.name for r in analysis.rows] == [re.sub(r"[^A-Za-z0-9_]", "_", n) for n in children] or \
        all(re.fullmatch(r"[A-Za-z0-9_]+", r.name) for r in analysis.rows)  # a clash renamed name_1
