"""What autograd saves for backward on torchvision's own models (not the model cnncalc builds),
against the prediction for the paired spec. Runs where torchvision imports (CI's second
environment); skips cleanly elsewhere. docs/memory.md lists the exceptions."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision", exc_type=ImportError)

import cnncalc  # noqa: E402
from cnncalc.engine import saved_for_backward  # noqa: E402

BATCH = 2
MAX_GMACS = 4.5
# Paired specs that are another network on purpose (their `differs` says how): not compared.
# alexnet: EECS 498's network has no avgpool; torchvision's AdaptiveAvgPool2d((6, 6)) on the
# 256 x 6 x 6 map keeps its input for backward (9,216 floats a sample), alexnet-tv has it.
SKIP = {"alexnet"}


def _paired():
    out = []
    for name in cnncalc.architectures():
        graph = cnncalc.load(name)
        pairing = graph.torchvision
        if pairing is None or pairing["differs"] or name in SKIP:
            continue
        if cnncalc.analyze(name).totals.macs > MAX_GMACS * 10**9 and name not in ("swin_v2_t", "maxvit_t"):
            continue  # beyond 4.5 GMACs, only the two whose attention ops appear nowhere else
        out.append(name)
    return out


def measure(model, x):
    """Distinct non-parameter storages autograd saves in one training-mode forward pass."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    params = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen, keep = {}, []

    def pack(t):
        storage = t.untyped_storage()
        if storage.data_ptr() and storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        keep.append(t)
        return t.detach()  # as cnncalc/torchcheck/saved.py: a saved output would hold its own grad_fn

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), sdpa_kernel(SDPBackend.MATH):
            model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return sum(seen.values())


@pytest.mark.parametrize("name", _paired())
def test_saved_bytes_on_torchvisions_own_model(name):
    graph = cnncalc.load(name)
    pairing = graph.torchvision
    torch.manual_seed(0)
    # get_model finds the segmentation and video builders too (torchvision.models.segmentation, .video)
    model = torchvision.models.get_model(pairing["model"], weights=None, **pairing["kwargs"]).train()
    from torchvision.ops import StochasticDepth

    calls = []  # the stochastic-depth blocks a forward pass runs (EfficientNet builds some it never calls)
    for m in model.modules():
        if isinstance(m, StochasticDepth) and m.p > 0:
            m.register_forward_hook(lambda *args: calls.append(1))
    measured = measure(model, torch.randn(BATCH, *graph.input_shape))
    predicted = sum(saved_for_backward(cnncalc.analyze(name, batch=BATCH)))
    # torchvision trains with stochastic depth (ConvNeXt, EfficientNet, Swin): each block with
    # p > 0 keeps its per-sample keep/drop noise, one float a sample, which the specs (the
    # inference network) do not have
    assert predicted + 4 * BATCH * len(calls) == measured
