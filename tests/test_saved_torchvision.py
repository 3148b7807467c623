"""What autograd saves for backward on torchvision's own models (not the model cnncalc builds),
against the prediction for the paired spec: every spec paired with a torchvision model of the
same network (a `differs:` note marks another network; its -tv twin is compared). Runs where
torchvision imports (CI's second environment); skips cleanly elsewhere. docs/memory.md lists
the exceptions.

Batch: 2 up to 4.5 GMACs, 1 beyond (CPU time on CI's two cores), except at batch 2:
- the specs torch cannot train at batch 1: deeplabv3_* (ASPP's pooling branch runs a batch norm
  on 256x1x1; cnncalc/engine/trainable.py);
- Swin, Swin v2, Video Swin, MaxViT and MViT v2: at batch 1 an attention's batched matmuls see a
  batch of one (Swin's last stage is one window, MViT v2's first block one head) and torch makes
  one copy more or less than at any other batch (docs/memory.md, How it is checked; mvit_v2_s:
  blocks.0.attn keeps 9,633,408 bytes less, on cnncalc's own model too); exact from batch 2.

Not compared, too slow here: build + one forward pass, each alone on a 2-core CPU (torch 2.14.1),
at the batch it would run at. Each was exact when run so (the adjustments below included), and
each has smaller members of its family compared here, built from the same blocks and ops:
- vit_h_14: 1.02 TMACs at 518x518: 32 s and 12 GB of memory (vit_b_16 ... vit_l_32);
- regnet_y_128gf: 375 GMACs at 384x384: 24 s, most of it initialising 644 M parameters
  (regnet_y_400mf ... regnet_y_32gf);
- deeplabv3_resnet101, deeplabv3_resnet50 (batch 2) and fcn_resnet101: 498, 338 and 223 GMACs at
  520x520: 11, 7 and 6.5 s (fcn_resnet50 has their backbone and FCN head,
  deeplabv3_mobilenet_v3_large their ASPP);
- swin3d_b and swin3d_s (batch 2): 281 and 166 GMACs: 13.5 and 8.4 s (swin3d_t);
- efficientnet_b7 and efficientnet_v2_l: 38 and 56 GMACs at 600 and 480: 4.5 and 3.8 s (b0 ...
  b6, v2_s, v2_m).
The file takes about 2.5 minutes on that CPU (under one when it stopped at 4.5 GMACs).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision", exc_type=ImportError)

import cnncalc  # noqa: E402
from cnncalc.engine import saved_for_backward  # noqa: E402
from cnncalc.engine.trainable import smallest_batch  # noqa: E402
from cnncalc.ops.registry import numel  # noqa: E402

BATCH = 2
MAX_GMACS = 4.5  # beyond it, batch 1
TOO_SLOW = {"vit_h_14", "regnet_y_128gf", "deeplabv3_resnet101", "deeplabv3_resnet50", "fcn_resnet101", "swin3d_b",
            "swin3d_s", "efficientnet_b7", "efficientnet_v2_l"}  # the docstring says why
ONE_WINDOW = ("swin", "maxvit", "mvit_v2")  # name prefixes: batch 1 differs (docstring), so batch 2
# inception_v3: torchvision's Inception3 runs its aux head (AuxLogits) in training, a `train_only:`
# branch of the spec; what a training step saves with it is the training model's (engine/memory.py),
# and saved_for_backward leaves train_only rows out. So both sides are compared aux-free here:
# torchvision's inception_v3(aux_logits=False) and the spec with aux=0 (its `--set aux=0`).
AUX_FREE = {"inception_v3": ({"aux_logits": False}, {"aux": 0})}


def _paired():
    out = []
    for name in cnncalc.architectures():
        pairing = cnncalc.load(name).torchvision
        if pairing is not None and not pairing["differs"] and name not in TOO_SLOW:
            out.append(name)
    return out


def batch_for(name: str, args: dict) -> int:
    """2 up to 4.5 GMACs; beyond, 1, or 2 where batch 1 cannot train or differs (docstring)."""
    analysis = cnncalc.analyze(name, args=args)
    if analysis.totals.macs <= MAX_GMACS * 10**9 or name.startswith(ONE_WINDOW):
        return BATCH
    return max(1, smallest_batch(analysis.graph))


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
        # the autograd graph holds pack, pack holds keep, keep's tensors hold the graph: a cycle
        # through C++ that is never freed (the forward pass's activations, GBs per big model)
        keep.clear()
    return sum(seen.values())


def torchvision_model(name: str, pairing: dict, kwargs: dict):
    """torchvision's model in training mode. A `tools:` note names a layer only torchvision has,
    an identity on the spec's input: AlexNet's and VGG's AdaptiveAvgPool2d on a map already 6x6
    (7x7), which keeps its input for backward (9,216 or 25,088 floats a sample). For the lecture
    specs it is replaced by nn.Identity, so the rest is compared; their -tv twins (alexnet-tv,
    vgg11-tv, vgg16-tv) have the pool and are compared with torchvision's model as it is."""
    torch.manual_seed(0)
    # get_model finds the segmentation and video builders too (torchvision.models.segmentation, .video)
    model = torchvision.models.get_model(pairing["model"], weights=None, **pairing["kwargs"], **kwargs).train()
    if pairing["tools"]:
        assert isinstance(model.avgpool, torch.nn.AdaptiveAvgPool2d), name
        model.avgpool = torch.nn.Identity()
    return model


@pytest.mark.parametrize("name", _paired())
def test_saved_bytes_on_torchvisions_own_model(name):
    kwargs, args = AUX_FREE.get(name, ({}, {}))
    batch = batch_for(name, args)
    analysis = cnncalc.analyze(name, args=args, batch=batch)
    model = torchvision_model(name, analysis.graph.torchvision, kwargs)
    from torchvision.ops import StochasticDepth

    calls = []  # the stochastic-depth blocks a forward pass runs (EfficientNet builds some it never calls)
    for m in model.modules():
        if isinstance(m, StochasticDepth) and m.p > 0:
            m.register_forward_hook(lambda *args: calls.append(1))
    measured = measure(model, torch.randn(batch, *analysis.graph.input_shape))
    predicted = sum(saved_for_backward(analysis, attention="math"))  # the kernel measure() runs
    # torchvision trains with stochastic depth (ConvNeXt, EfficientNet, Swin, MViT): each block with
    # p > 0 keeps its per-sample keep/drop noise, one float a sample, which the specs (the
    # inference network) do not have
    noise = 4 * batch * len(calls)
    # MViT's head.0 is nn.Dropout(0.5, inplace=True) on x[:, 0], a view of the normed tokens: head.1
    # then keeps all of them (393 x 768 at 16x224x224) where the spec's dropout hands it a copy of
    # the class token's row (architectures/mvit.yaml says so): (393 - 1) x 768 floats a sample more
    kept = 0
    if name.startswith("mvit"):
        norm = next(r for r in analysis.rows if r.name == "norm")
        kept = 4 * batch * (numel(norm.output) - norm.output[-1])
    assert predicted + noise + kept == measured
