"""The attention kernel as PyTorch picks it (cnncalc/ops/sdpa.py) and what each kernel keeps for
backward (Attention.saves_attention): the selection against the aten op torch really runs, the
saved bytes against saved_tensors_hooks on a real nn.MultiheadAttention, torchvision's vit_b_16
last (where torchvision imports: CI's second environment). Every expected value is measured
from torch in the test, or was measured from torch and written down; none comes from cnncalc."""

from __future__ import annotations

import contextlib

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.engine.memory import attention_kernels, saved_for_backward  # noqa: E402
from cnncalc.errors import UsageError  # noqa: E402
from cnncalc.ops import build_op  # noqa: E402
from cnncalc.ops.sdpa import attention_kernel, kernel_refusal  # noqa: E402
from cnncalc.sources import Source  # noqa: E402
from tests.conftest import saved_storages  # noqa: E402

BACKEND = {"math": SDPBackend.MATH, "flash": SDPBackend.FLASH_ATTENTION}
FUSED = {"_scaled_dot_product_flash_attention_for_cpu": "flash", "_scaled_dot_product_flash_attention": "flash",
         "_scaled_dot_product_efficient_attention": "efficient", "_scaled_dot_product_cudnn_attention": "cudnn"}


class _Ran(TorchDispatchMode):
    """The fused attention kernel that runs below autograd; math is bmm and softmax, no op of its own."""

    kernel = "math"

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.kernel = FUSED.get(func.overloadpacket.__name__, self.kernel)
        return func(*args, **(kwargs or {}))


def _ran(run) -> str:
    with _Ran() as seen:
        run()
    return seen.kernel


def _autocast(amp):
    return torch.autocast("cpu", dtype=getattr(torch, amp)) if amp else contextlib.nullcontext()


# ---- which kernel runs: F.scaled_dot_product_attention on the CPU --------------------------------

SHAPES = [(1, 1, 1), (3, 5, 6), (12, 197, 64), (2, 50, 3), (1, 7, 257), (4, 300, 16), (2, 3, 512)]  # heads, tokens, dh


@pytest.mark.parametrize(("heads", "tokens", "head_dim"), SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16", "float64"])
def test_cpu_kernel_is_the_one_torch_runs(heads, tokens, head_dim, dtype):
    for requires_grad in (True, False):
        for grad in (True, False):
            q, k, v = (torch.randn(2, heads, tokens, head_dim, dtype=getattr(torch, dtype), requires_grad=requires_grad)
                       for _ in range(3))
            with torch.set_grad_enabled(grad):
                ran = _ran(lambda: F.scaled_dot_product_attention(q, k, v))  # noqa: B023
            assert ran == attention_kernel("cpu", dtype, heads, tokens, head_dim,
                                           requires_grad=requires_grad and grad) == "flash"


@pytest.mark.parametrize(("case", "kwargs"), [
    ("dropout", {"dropout": 0.1}),  # in training (and out of it, where a caller passes it)
    ("v narrower", {"value_dim": 4}),
    ("mask", {"mask": True}),
    ("causal", {"causal": True}),
    ("longer keys", {"kv_tokens": 9}),
])
@pytest.mark.parametrize("grad", [True, False])
def test_cpu_kernel_with_options(case, kwargs, grad):
    heads, tokens, head_dim = 3, 5, 8
    kv, dv = kwargs.get("kv_tokens", tokens), kwargs.get("value_dim", head_dim)
    q = torch.randn(2, heads, tokens, head_dim, requires_grad=True)
    k = torch.randn(2, heads, kv, head_dim, requires_grad=True)
    v = torch.randn(2, heads, kv, dv, requires_grad=True)
    mask = torch.zeros(tokens, kv) if kwargs.get("mask") else None
    with torch.set_grad_enabled(grad):
        ran = _ran(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=kwargs.get("dropout", 0.0),
                                                          is_causal=kwargs.get("causal", False)))
    assert ran == attention_kernel("cpu", "float32", heads, tokens, head_dim, requires_grad=grad, **kwargs)
    assert ran == ("math" if case in ("dropout", "v narrower") else "flash")


@pytest.mark.parametrize(("dtype", "amp"), [("float32", None), ("bfloat16", None), ("float16", None), ("float64", None),
                                            ("float32", "bfloat16"), ("float32", "float16")])
def test_multihead_attention_training_runs_the_ops_kernel(dtype, amp):
    op = build_op("attention", {"heads": 12}, {}, None)
    mha = nn.MultiheadAttention(768, 12, batch_first=True).to(getattr(torch, dtype)).train()
    x = torch.randn(2, 197, 768, dtype=getattr(torch, dtype))
    with _autocast(amp):
        ran = _ran(lambda: mha(x, x, x, need_weights=False))
    assert ran == op.attention_kernel([(197, 768)], "cpu", amp or dtype) == "flash"


# ---- what each kernel keeps for backward, measured ----------------------------------------------

def _measure(module, x, kernel=None, amp=None):
    """Distinct non-parameter storages autograd saves in one training-mode forward pass of
    module(x) (self-attention for an nn.MultiheadAttention), on `kernel` (None: torch's pick)."""
    forced = sdpa_kernel(BACKEND[kernel]) if kernel else contextlib.nullcontext()
    with saved_storages(module) as seen, forced, _autocast(amp):
        if isinstance(module, nn.MultiheadAttention):
            module(x, x, x, need_weights=False)
        else:
            module(x)
    return sum(seen.values())


def _one_op(tokens, dim, heads, bias, batch, dtype="float32"):
    spec = f"input: [{tokens}, {dim}]\nlayers:\n  - attention: {{heads: {heads}, bias: {str(bias).lower()}}}\n"
    return cnncalc.analyze(Source(spec, "attention.yaml"), batch=batch, dtype=dtype)


PRECISIONS = [("float32", None), ("float32", "bfloat16"), ("float32", "float16"), ("bfloat16", None),
              ("float16", None), ("float64", None)]  # (the model's dtype, autocast)


@pytest.mark.parametrize(("tokens", "dim", "heads", "bias"), [(5, 12, 2, True), (7, 12, 3, False), (50, 64, 4, True)])
@pytest.mark.parametrize("kernel", [None, "math", "flash"])
@pytest.mark.parametrize(("dtype", "amp"), PRECISIONS)
def test_saved_bytes_of_each_cpu_kernel_equal_measured(tokens, dim, heads, bias, kernel, dtype, amp):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True).to(getattr(torch, dtype)).train()
    for batch in (2, 3):
        # an input that is itself an activation (requires grad), as in the middle of a network
        x = torch.randn(batch, tokens, dim, dtype=getattr(torch, dtype)).requires_grad_() * 1
        measured = _measure(mha, x, kernel, amp)
        predicted = sum(saved_for_backward(_one_op(tokens, dim, heads, bias, batch, dtype), amp=amp, attention=kernel))
        assert predicted == measured


# ViT-B's attention (197 tokens x 768, 12 heads, dh 64), bytes per sample measured with
# saved_tensors_hooks (batch 3 minus batch 2; the same at batch 1) on torch 2.13.0 and 2.14.1. ND =
# 197 * 768 = 151,296 elements; h*N = 2,364; h*N*N = 465,708.
VIT_B = [
    # flash, float32: 4 * (5 * 151,296 + 2,364): input copy, packed q k v, output; log-sum-exp
    ("flash", None, 3_035_376),
    # math, float32: 4 * (7 * 151,296 + 465,708): also q scaled, k transposed, out_proj's copy; softmax
    ("math", None, 6_099_120),
    # flash, bf16 autocast: 2 * 5 * 151,296 + 4 * 2,364 (the log-sum-exp stays float32)
    ("flash", "bfloat16", 1_522_416),
    # math, bf16 autocast: 2 * 2 * 151,296 + 4 * (3 * 151,296 + 465,708) (q, k, v cast up to float32)
    ("math", "bfloat16", 4_283_568),
]


@pytest.mark.parametrize(("kernel", "amp", "per_sample"), VIT_B)
def test_vit_b_attention_per_sample_by_hand(kernel, amp, per_sample):
    two, three = (sum(saved_for_backward(_one_op(197, 768, 12, True, b), amp=amp, attention=kernel)) for b in (2, 3))
    assert three - two == per_sample
    if amp:  # the weight copies autocast keeps, once: in_proj 3*D*D and out_proj D*D, 2 bytes each
        assert two - 2 * per_sample == 2 * 4 * 768 * 768


def test_vit_b_attention_per_sample_measured():
    # the table above, against torch here (float32, the default kernel and math)
    mha = nn.MultiheadAttention(768, 12, batch_first=True).train()
    for kernel, per_sample in ((None, 3_035_376), ("math", 6_099_120)):
        two, three = (_measure(mha, torch.randn(b, 197, 768).requires_grad_() * 1, kernel) for b in (2, 3))
        assert three - two == per_sample


# ---- CUDA: the rule and the kernels' saves, from torch's source (no GPU measured) ---------------

@pytest.mark.parametrize(("dtype", "heads", "tokens", "head_dim", "capability", "kwargs", "kernel"), [
    ("bfloat16", 12, 197, 64, (8, 0), {}, "flash"),  # A100: flash for the low dtypes
    ("float32", 12, 197, 64, (8, 0), {}, "efficient"),  # flash takes no float32
    ("float32", 2, 5, 6, (8, 0), {}, "math"),  # efficient: float32 widths multiples of 4
    ("float32", 2, 5, 6, (6, 0), {}, "efficient"),  # below sm70 any width
    ("float16", 12, 197, 64, (7, 5), {}, "efficient"),  # T4: no flash below sm80
    ("bfloat16", 12, 197, 64, (7, 5), {}, "math"),  # nor bfloat16 below sm80
    ("bfloat16", 2, 5, 6, (8, 0), {}, "flash"),  # flash pads the width to 8
    ("bfloat16", 12, 197, 304, (8, 0), {}, "efficient"),  # flash: width at most 256
    ("bfloat16", 12, 197, 300, (8, 0), {}, "math"),  # efficient: bfloat16 widths multiples of 8
    ("bfloat16", 2, 197, 200, (8, 6), {}, "efficient"),  # RTX 30: no training at width 193-224
    ("bfloat16", 2, 197, 200, (8, 6), {"requires_grad": False}, "flash"),
    ("bfloat16", 12, 197, 64, (8, 0), {"mask": True}, "efficient"),  # flash takes no attn_mask
    ("bfloat16", 12, 197, 64, (9, 0), {}, "cudnn"),  # H100: cuDNN first (torch >= 2.13, cuDNN > 9.15)
    ("bfloat16", 12, 197, 64, (9, 0), {"cudnn_first": False}, "flash"),  # TORCH_CUDNN_SDPA_DEPRIORITIZED=1
    ("bfloat16", 4, 197, 256, (9, 0), {}, "flash"),  # cuDNN: width at most 128 (as modelled)
    ("bfloat16", 2, 5, 6, (10, 0), {}, "flash"),  # cuDNN: widths multiples of 8
    ("float32", 12, 197, 64, (9, 0), {}, "efficient"),  # cuDNN and flash take no float32
])
def test_cuda_kernel_rule_from_torch_source(dtype, heads, tokens, head_dim, capability, kwargs, kernel):
    assert attention_kernel("cuda", dtype, heads, tokens, head_dim, capability=capability, **kwargs) == kernel


def test_asking_for_a_kernel_torch_cannot_run_is_a_usage_error():
    vit = cnncalc.analyze("vit_b_32", batch=2)
    for device, amp, kernel, words in [("cpu", None, "efficient", "no efficient attention kernel on the CPU"),
                                       ("cpu", None, "cudnn", "no cudnn attention kernel on the CPU"),
                                       ("cuda", None, "flash", "flash attention takes float16 or bfloat16"),
                                       ("cpu", None, "flsh", "did you mean 'flash'?")]:
        with pytest.raises(UsageError) as caught:
            saved_for_backward(vit, device, amp, attention=kernel)
        assert words in f"{caught.value.message} {caught.value.hint}"
    assert saved_for_backward(vit, "cuda", "bfloat16", attention="flash")  # fine with autocast
    assert kernel_refusal("math", "cuda", "float32", 1, 1, 1) == ""  # math runs everything


class _CudaDispatch:
    """F.scaled_dot_product_attention replaced by the fused aten op torch's CUDA dispatch calls
    (attention.cpp: flash pads q, k and v to a width that is a multiple of 8 and slices the
    output back; efficient and cudnn compute the log-sum-exp for training), run on meta tensors:
    torch's meta functions give each kernel's outputs, their layout and their RNG tensors."""

    def __init__(self, kernel):
        self.kernel = kernel

    def __call__(self, q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, **kw):
        aten = torch.ops.aten
        if self.kernel == "flash":
            dh = q.shape[-1]
            p = -(-dh // 8) * 8
            q, k, v = (F.pad(t, (0, p - dh)) if p != dh else t for t in (q, k, v))
            out = aten._scaled_dot_product_flash_attention(q, k, v, 0.0, False, False, scale=dh ** -0.5)[0]
            return out[..., :dh] if p != dh else out
        if self.kernel == "efficient":
            return aten._scaled_dot_product_efficient_attention(q, k, v, None, True)[0]
        return aten._scaled_dot_product_cudnn_attention(q, k, v, None, True)[0]


def _measure_meta(mha, x, kernel, monkeypatch):
    """As _measure, storages told apart by their StorageImpl (meta tensors have no data)."""
    params = {t.untyped_storage()._cdata for t in [*mha.parameters(), *mha.buffers()]}
    seen, keep = {}, []

    def pack(t):
        storage = t.untyped_storage()
        if storage._cdata not in params:
            seen[storage._cdata] = storage.nbytes()
        keep.append(t)
        return t.detach()

    monkeypatch.setattr(F, "scaled_dot_product_attention", _CudaDispatch(kernel))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        mha(x, x, x, need_weights=False)
    monkeypatch.undo()
    return sum(seen.values())


@pytest.mark.parametrize(("kernel", "dtype", "tokens", "dim", "heads", "rng"), [
    ("flash", "bfloat16", 197, 768, 12, 24),  # rng_state: 2 uint64 and an unused uint64
    ("flash", "bfloat16", 5, 12, 2, 24),  # dh 6: q, k, v padded to 8
    ("flash", "float16", 50, 60, 4, 24),  # dh 15: padded to 16
    ("efficient", "float32", 197, 768, 12, 16),  # seed and offset, int64 each
    ("efficient", "bfloat16", 5, 16, 2, 16),  # 5 rows: the log-sum-exp padded to 32
    ("cudnn", "bfloat16", 197, 768, 12, 16),
    ("cudnn", "float16", 50, 64, 4, 16),
])
def test_cuda_kernels_saves_on_meta_tensors(kernel, dtype, tokens, dim, heads, rng, monkeypatch):
    mha = nn.MultiheadAttention(dim, heads, batch_first=True, device="meta", dtype=getattr(torch, dtype)).train()
    measured = {b: _measure_meta(mha, torch.randn(b, tokens, dim, device="meta", dtype=getattr(torch, dtype))
                                 .requires_grad_() * 1, kernel, monkeypatch) for b in (2, 3)}
    predicted = {b: sum(saved_for_backward(_one_op(tokens, dim, heads, True, b, dtype), "cuda", attention=kernel))
                 for b in (2, 3)}
    assert predicted == measured
    assert measured[2] - 2 * (measured[3] - measured[2]) == rng  # the per-layer part: the RNG state


# ---- the library, the CLI and verify say which kernel ------------------------------------------

def test_memory_json_records_the_kernel():
    vit = cnncalc.analyze("vit_b_32", batch=2)
    assert vit.memory().to_dict()["attention"] == "flash"
    assert vit.memory(attention="math").to_dict()["attention"] == "math"
    assert vit.memory(device="cuda").to_dict()["attention"] == "efficient"  # float32 on an sm80 GPU
    assert vit.memory(device="cuda", amp="bfloat16").to_dict()["attention"] == "flash"
    assert (vit.memory(attention="math").parts.activations_saved >= vit.memory().parts.activations_saved)
    assert "attention" not in cnncalc.analyze("resnet18").memory().to_dict()
    assert set(attention_kernels(vit).values()) == {"flash"} and len(attention_kernels(vit)) == 12


def test_cli_attention_flag():
    import json

    from tests.conftest import run_cli

    flash, math = (json.loads(run_cli("memory", "vit_b_32", "--batch", "2", "--format", "json", *extra).stdout)
                   for extra in ((), ("--attention", "math")))
    assert (flash["attention"], math["attention"]) == ("flash", "math")
    assert math["saved_for_backward"] - flash["saved_for_backward"] == 2 * 12 * 4 * (2 * 50 * 768 + 12 * 50 * 50 - 12 * 50)
    bad = run_cli("memory", "vit_b_32", "--attention", "efficient")
    assert bad.exit_code == 2 and "no efficient attention kernel on the CPU" in bad.stderr


def test_verify_memory_runs_and_names_the_default_kernel():
    spec = "input: [10, 24]\nlayers:\n  - layernorm: {}\n  - attention: {heads: 4}\n  - linear: {out: 5}\n"
    for amp in (None, "bfloat16"):
        result = cnncalc.verify(Source(spec, "tiny.yaml"), batch=2, memory=True, amp=amp)
        assert result.saved.ok
        assert set(result.saved.kernels.values()) == {("flash", "flash")}
        assert result.to_dict()["saved_for_backward"]["attention"] == {"predicted": "flash", "measured": "flash"}


# ---- torchvision's vit_b_16, the default kernel ------------------------------------------------

def test_torchvision_vit_b_16_saves_what_the_default_kernel_predicts():
    torchvision = pytest.importorskip("torchvision", exc_type=ImportError)
    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(weights=None).train()
    x = torch.randn(2, 3, 224, 224)
    analysis = cnncalc.analyze("vit_b_16", batch=2)
    for amp in (None, "bfloat16"):
        measured = _measure(model, x, None, amp)
        assert sum(saved_for_backward(analysis, amp=amp)) == measured
        # and forcing math, as FLOP counting does: 31% more in float32
        assert sum(saved_for_backward(analysis, amp=amp, attention="math")) == _measure(model, x, "math", amp)
    with _ran_in(model) as kernels:
        model(x)
    assert kernels == {"flash"}


@contextlib.contextmanager
def _ran_in(model):
    """The kernels that run in a model's forward pass."""
    kernels = set()

    class Seen(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kernel = FUSED.get(func.overloadpacket.__name__)
            if kernel:
                kernels.add(kernel)
            return func(*args, **(kwargs or {}))

    with Seen():
        yield kernels
