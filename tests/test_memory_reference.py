"""The training-peak reference (tests/memory_reference.py) against arithmetic written out by hand.

The reference is what cnncalc's memory predictions are checked against, so it is checked here on
models small enough to count every tensor: a two-layer MLP (no biases, batch 3) in float32 and
under bf16 autocast, with SGD, SGD-momentum, Adam / AdamW single-tensor and foreach, gradients
set to None or kept; and against the second method (torch.profiler's allocation events) on the
MLP and a small CNN. Nothing here imports cnncalc. Skips cleanly without torch.

The MLP: x (3 x 8) -> Linear(8, 16) -> ReLU -> Linear(16, 4) -> sum. F.linear without a bias
runs as `mm(x, W.t())`: the transpose is a view, so each op below makes exactly one storage.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tests.memory_reference import (  # noqa: E402
    CATEGORIES,
    loss_of,
    measure_inference_peak,
    measure_training_peak,
    profiler_training_peak,
)

nn = torch.nn
F4, B2 = 4, 2  # bytes of a float32, of a bfloat16

# The MLP's tensors, in bytes (float32).
W1 = F4 * 16 * 8  # 512: first weight
W2 = F4 * 4 * 16  # 256: second weight
P = W1 + W2  # 768: the parameters; as many bytes of gradients, and of each optimizer state
X = F4 * 3 * 8  # 96: the input batch
H = F4 * 3 * 16  # 192: a hidden activation (the first linear's output, the ReLU's, their gradients)
OUT = F4 * 3 * 4  # 48: the output
LOSS = F4  # the scalar loss; its gradient seed (ones_like) is as big


def mlp(a: int = 8, b: int = 16, c: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(a, b, bias=False), nn.ReLU(), nn.Linear(b, c, bias=False))


def parts(**kw) -> dict[str, int]:
    """A full breakdown: the categories named, 0 for the others."""
    assert set(kw) <= set(CATEGORIES)
    return {c: kw.get(c, 0) for c in CATEGORIES}


def x3() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(3, 8)


def test_mlp_sgd_by_hand():
    r = measure_training_peak(mlp(), x3(), "sgd", timeline=True)
    assert r.start == P + X == 864
    # Forward: the first linear's output h (H), then the ReLU's r (H) while h is still alive (it is
    # the ReLU's input); then h dies (nothing saves it: ReLU saves its output), r stays (ReLU and
    # the second linear save it).
    fwd = r.phase_peaks["forward"]
    assert (fwd.bytes, fwd.op, fwd.place) == (P + X + 2 * H, "aten.relu.default", "1")
    assert fwd.breakdown == parts(parameters=P, input=X, saved=H, other=H)
    # Backward, at the first layer's weight gradient (mm): the parameters, the input (saved by the
    # first linear), W2's gradient, the gradient of h (threshold_backward's output), W1's new
    # gradient, the loss (held by the caller) and its seed (held by autograd.backward). r and its
    # gradient are gone: ReluBackward0 released r, and its input gradient was consumed.
    assert r.peak == P + X + W2 + H + W1 + 2 * LOSS == 1832
    assert (r.phase, r.op, r.place) == ("backward", "aten.mm.default", "0 (MmBackward0)")
    assert r.breakdown == parts(parameters=P, gradients=P, input=X, other=H + 2 * LOSS)
    # The step works in place: parameters, gradients and the input only. zero_grad(set_to_none)
    # frees the gradients, so the step ends where it began.
    step = r.phase_peaks["step"]
    assert step.bytes == P + P + X
    assert step.breakdown == parts(parameters=P, gradients=P, input=X)
    assert r.end == r.start
    assert r.optimizer_impl == "single-tensor" and r.adopted == 0
    assert max(w.bytes for w in r.timeline) == r.peak
    # The forward's last instants: the output (OUT) made, then the loss (LOSS).
    assert [w.bytes for w in r.timeline if w.phase == "forward"][-2:] == [P + X + H + OUT, P + X + H + OUT + LOSS]


def test_mlp_keep_grads():
    """set_to_none=False: the gradients live all along; a new gradient is made apart and added in."""
    r = measure_training_peak(mlp(), x3(), "sgd", set_to_none=False)
    assert r.start == r.end == P + X + P
    # At the first layer's mm: W2's new gradient was added into .grad and freed; W1's is just made.
    assert r.peak == P + X + P + H + W1 + 2 * LOSS == 2344
    assert (r.phase, r.place) == ("backward", "0 (MmBackward0)")
    assert r.breakdown == parts(parameters=P, gradients=P, input=X, other=H + W1 + 2 * LOSS)


def test_mlp_momentum():
    """SGD with momentum: one buffer per parameter, updated in place."""
    r = measure_training_peak(mlp(), x3(), "sgd-momentum")
    assert r.start == r.end == P + X + P
    assert r.peak == P + X + P + W2 + H + W1 + 2 * LOSS == 2600
    assert r.breakdown == parts(parameters=P, gradients=P, optimizer_state=P, input=X, other=H + 2 * LOSS)
    assert r.phase_peaks["step"].bytes == 3 * P + X


# A small first layer and a big second one show the single-tensor Adam's temporaries.
A1 = F4 * 8 * 4  # 128: Linear(4, 8)
A2 = F4 * 32 * 8  # 1024: Linear(8, 32)
AP = A1 + A2
AX = F4 * 3 * 4  # 48
STATE = 2 * AP + 2 * F4  # exp_avg, exp_avg_sq, and a float32 step counter per parameter


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adam_single_tensor_step(optimizer):
    r = measure_training_peak(mlp(4, 8, 32), torch.randn(3, 4), optimizer)
    assert r.start == r.end == AP + AX + STATE == 3512
    # The step starts with the gradients added; per parameter it computes
    # denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps): two temporaries of the
    # parameter's size at the division, and `denom` of the parameter before stays bound until then.
    start = AP + AX + STATE + AP
    assert r.phase_peaks["step"].breakdown["other"] == A1 + 2 * A2
    assert r.peak == start + A1 + 2 * A2 == 6840
    assert (r.phase, r.op, r.place) == ("step", "aten.div.Tensor", "2.weight")
    assert r.breakdown == parts(parameters=AP, gradients=AP, optimizer_state=STATE, input=AX, other=A1 + 2 * A2)
    assert r.optimizer_impl == "single-tensor"


def test_adam_foreach_step():
    """foreach Adam (CUDA's default): sqrt of every exp_avg_sq at once, then in-place ops."""
    r = measure_training_peak(mlp(4, 8, 32), torch.randn(3, 4), "adam", foreach=True)
    assert r.peak == AP + AX + STATE + AP + AP == 5816
    assert (r.phase, r.op) == ("step", "aten._foreach_sqrt.default")
    assert r.breakdown == parts(parameters=AP, gradients=AP, optimizer_state=STATE, input=AX, other=AP)
    assert r.optimizer_impl == "foreach"
    assert r.adopted == F4  # the torch.tensor(1.0) it adds to the step counters


def test_mlp_inference_by_hand():
    r = measure_inference_peak(mlp(), x3())
    assert r.start == r.end == P + X
    assert r.peak == P + X + 2 * H  # h and r, at the ReLU
    assert (r.phase, r.op, r.place) == ("forward", "aten.relu.default", "1")
    assert r.breakdown == parts(parameters=P, input=X, other=2 * H)


def test_mlp_bf16_autocast_by_hand():
    r = measure_training_peak(mlp(), x3(), "sgd", amp="bfloat16")
    # Forward: bf16 copies of both weights (autocast's cache; mm saves them), the bf16 copy of x
    # (saved by the first mm), r in bf16 (saved), the bf16 output and loss; h (bf16) died at the ReLU.
    copies = B2 * (16 * 8 + 4 * 16)
    fwd = r.phase_peaks["forward"]
    assert fwd.bytes == P + X + copies + B2 * 3 * 8 + B2 * 3 * 16 + B2 * 3 * 4 + B2 == 1418
    assert fwd.breakdown == parts(parameters=P, input=X, param_copies=copies, saved=B2 * (3 * 8 + 3 * 16), other=B2 * (3 * 4 + 1))
    # Backward peaks where W1's bf16 gradient is cast to float32 (ToCopyBackward0): both alive, with
    # W2's float32 gradient, the loss and its seed (bf16).
    assert r.peak == P + X + W2 + B2 * 16 * 8 + W1 + 2 * B2 == 1892
    assert (r.phase, r.op, r.place) == ("backward", "aten._to_copy.default", "0 (ToCopyBackward0)")
    assert r.breakdown == parts(parameters=P, gradients=P, input=X, other=B2 * 16 * 8 + 2 * B2)
    assert r.phase_peaks["step"].bytes == P + P + X  # float32 master weights and gradients
    assert r.end == r.start


def test_views_share_one_storage():
    class Views(nn.Module):
        def forward(self, x):
            z = x.new_zeros(1000)
            a, b, c = z[:10], z.view(10, 100), z.view(10, 100).t()
            return a.sum() + b.sum() + c.sum()

    r = measure_inference_peak(Views(), torch.ones(1))
    # z once (4000 bytes), the input (4), and the scalars: the three sums and the running add.
    assert r.peak <= 4000 + 4 + 4 * 4
    assert r.peak >= 4000 + 4 + 2 * 4


def test_outputs_tuple_and_dict():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 3)
            self.b = nn.Linear(2, 5)

        def forward(self, x):
            return {"main": self.a(x), "aux": self.b(x)}

    x = torch.ones(4, 2)
    m = Two()
    assert torch.allclose(loss_of(m(x)), (m.a(x).sum() + m.b(x).sum()) / 2)
    assert torch.allclose(loss_of((m.a(x), m.b(x))), loss_of(m(x)))
    r = measure_training_peak(m, x, "sgd")
    assert r.end == r.start == F4 * (3 * 2 + 3 + 5 * 2 + 5 + 4 * 2)


def test_agrees_with_the_profiler_on_the_mlp():
    """The allocator's events (torch.profiler) give the same peak: every allocation here is a
    tensor's storage. Adam adds the 8-byte tensors C++ makes of Python scalars, which a dispatch
    mode never sees."""
    for optimizer in ("sgd", "sgd-momentum"):
        live = measure_training_peak(mlp(), x3(), optimizer)
        alloc = profiler_training_peak(mlp(), x3(), optimizer)
        assert (alloc.peak, alloc.start, alloc.end) == (live.peak, live.start, live.end), optimizer
    live = measure_training_peak(mlp(4, 8, 32), torch.randn(3, 4), "adam")
    alloc = profiler_training_peak(mlp(4, 8, 32), torch.randn(3, 4), "adam")
    assert live.peak <= alloc.peak <= live.peak + 64


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(16 * 14 * 14, 10),
    )


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
def test_cnn_against_the_profiler(optimizer):
    """A CNN in float32: the allocator sees the live tensors plus what kernels allocate inside
    themselves, so it is never below, and here within 1%."""
    x = torch.randn(2, 3, 32, 32)
    live = measure_training_peak(small_cnn(), x, optimizer)
    alloc = profiler_training_peak(small_cnn(), x, optimizer)
    assert alloc.start == live.start and alloc.end == live.end == live.start
    assert live.peak <= alloc.peak <= live.peak * 1.01
    # The hooks that label saved tensors change nothing.
    assert measure_training_peak(small_cnn(), x, optimizer, label_saved=False).peak == live.peak
    # BatchNorm's running mean and variance (8 floats each) and its int64 batch counter.
    assert live.breakdown["buffers"] == 2 * 8 * F4 + 8
    assert sum(live.breakdown.values()) == live.peak


def test_attention_kernel_is_reported():
    torch.manual_seed(0)

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    r = measure_training_peak(Attn(), torch.randn(2, 5, 8), "sgd")
    assert r.attention_ops and all("attention" in op for op in r.attention_ops)
