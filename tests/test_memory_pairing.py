"""Memory where torch and cnncalc must be paired: the batches torch refuses to train (a batch norm
with one value per channel, cnncalc/engine/trainable.py), the device `memory` plans for and why,
and the -tv twins of the lecture VGGs, which differ from them by torchvision's adaptive pool.

Expected values come from torch's behaviour (measured here where torch imports, and written out
as a table below for where it does not) or from arithmetic in the comments."""

from __future__ import annotations

import json

import pytest

import cnncalc
from cnncalc.engine import saved_for_backward
from cnncalc.engine.trainable import batch_limits, check_trainable, smallest_batch
from cnncalc.errors import UsageError
from tests.conftest import analyse_bundled, analyse_text, run_cli

# ---- the batches torch refuses to train -------------------------------------------------------
# torch 2.13, nn.Module(...).train()(torch.randn(batch, *input)): whether it raises ValueError.
# batch norm: batch x positions values per channel must exceed 1 ("Expected more than 1 value per
# channel when training"); group norm: batch x C/groups x positions (in eval too); instance norm:
# positions, at any batch ("Expected more than 1 spatial element when training"); layer norm never.
TORCH_REFUSES = [
    # (op, its YAML, torch's module: class and arguments, input of one sample, batch, torch raises)
    ("bn", "{}", ("BatchNorm1d", 4), (4,), 1, True),                    # 1 x 1 value
    ("bn", "{}", ("BatchNorm1d", 4), (4,), 2, False),                   # 2 x 1
    ("bn", "{}", ("BatchNorm1d", 4), (4, 1), 1, True),                  # C x L with L = 1
    ("bn", "{}", ("BatchNorm1d", 4), (4, 2), 1, False),                 # 1 x 2
    ("bn", "{}", ("BatchNorm2d", 4), (4, 1, 1), 1, True),               # after a global pool
    ("bn", "{}", ("BatchNorm2d", 4), (4, 1, 1), 2, False),
    ("bn", "{}", ("BatchNorm2d", 4), (4, 2, 1), 1, False),              # 1 x 2 x 1
    ("bn", "{affine: false}", ("BatchNorm2d", 4, False), (4, 1, 1), 1, True),
    ("bn", "{}", ("BatchNorm3d", 4), (4, 1, 1, 1), 1, True),
    ("bn", "{}", ("BatchNorm3d", 4), (4, 1, 1, 1), 2, False),
    ("groupnorm", "{groups: 4}", ("GroupNorm", 4, 4), (4, 1, 1), 1, True),    # 1 x 4/4 x 1
    ("groupnorm", "{groups: 4}", ("GroupNorm", 4, 4), (4, 1, 1), 2, False),   # 2 x 1 x 1
    ("groupnorm", "{groups: 2}", ("GroupNorm", 2, 4), (4, 1, 1), 1, False),   # 1 x 4/2 x 1
    ("instancenorm", "{}", ("InstanceNorm2d", 4), (4, 1, 1), 1, True),        # 1 position
    ("instancenorm", "{}", ("InstanceNorm2d", 4), (4, 1, 1), 8, True),        # at any batch
    ("instancenorm", "{}", ("InstanceNorm2d", 4), (4, 2, 2), 1, False),
    ("layernorm", "{axis: 0}", ("LayerNorm", [4, 1, 1]), (4, 1, 1), 1, False),  # never
    ("layernorm", "{}", ("LayerNorm", 4), (4,), 1, False),
]


def one_layer(op: str, yaml_args: str, shape: tuple[int, ...], batch: int):
    text = f"name: one\ninput: {list(shape)}\nlayers:\n  - {op}: {yaml_args}\n"
    return analyse_text(text, "one.yaml", batch=batch)


def cnncalc_refuses(analysis) -> bool:
    try:
        check_trainable(analysis.graph, analysis.batch)
    except UsageError:
        return True
    return False


@pytest.mark.parametrize(("op", "yaml_args", "module", "shape", "batch", "raises"), TORCH_REFUSES)
def test_cnncalc_refuses_the_batches_torch_cannot_train(op, yaml_args, module, shape, batch, raises):
    assert cnncalc_refuses(one_layer(op, yaml_args, shape, batch)) == raises


@pytest.mark.parametrize(("op", "yaml_args", "module", "shape", "batch", "raises"), TORCH_REFUSES)
def test_the_table_is_what_torch_does(op, yaml_args, module, shape, batch, raises):
    torch = pytest.importorskip("torch")
    cls, *args = module
    if cls == "BatchNorm2d" and len(args) == 2:
        m = torch.nn.BatchNorm2d(args[0], affine=args[1])
    else:
        m = getattr(torch.nn, cls)(*args)
    try:
        m.train()(torch.randn(batch, *shape))
        raised = False
    except ValueError as exc:
        assert "Expected more than 1" in str(exc)
        raised = True
    assert raised == raises


def test_frozen_batch_norm_has_no_batch_statistics():
    # torchvision's FrozenBatchNorm2d is x * scale + shift: nothing to refuse at batch 1
    analysis = one_layer("bn", "{frozen: true}", (4, 1, 1), 1)
    assert batch_limits(analysis.graph) == [] and smallest_batch(analysis.graph) == 1


def test_inception_v3_aux_head_counts_although_it_runs_only_in_training():
    # AuxLogits: avg pool 5x5/3 on 17x17 -> 5x5, conv0 1x1, conv1 5x5 -> 768 x 1 x 1, then its batch norm
    graph = cnncalc.load("inception_v3")
    assert [(b.layer, b.smallest) for b in batch_limits(graph)] == [("AuxLogits.conv1.bn", 2)]
    assert batch_limits(cnncalc.load("inception_v3", args={"aux": 0})) == []  # torchvision's aux_logits=False


def test_memory_refuses_batch_one_with_one_usage_error_naming_the_layer():
    result = run_cli("memory", "inception_v3")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: --batch 1: torch cannot train 'AuxLogits.conv1.bn': batch norm in training "
                               "needs more than one value per channel; its input, 768x1x1")
    assert lines[1] == ("  hint: --batch 2 or more (at batch 1 torch raises ValueError: Expected more than 1 value "
                        "per channel when training)")
    assert run_cli("memory", "inception_v3", "--batch", "2").exit_code == 0


def test_library_memory_refuses_batch_one():
    with pytest.raises(UsageError) as info:
        analyse_bundled("deeplabv3_mobilenet_v3_large").memory()
    # ASPP's pooling branch: global average pool -> 1x1 conv -> batch norm on 256 x 1 x 1
    assert info.value.param == "batch" and "'classifier.0.convs.4.2'" in info.value.message


def test_instance_norm_on_one_position_trains_at_no_batch():
    analysis = one_layer("instancenorm", "{}", (4, 1, 1), 8)
    assert smallest_batch(analysis.graph) == 0
    with pytest.raises(UsageError, match="no batch trains it"):
        analysis.memory()
    assert analysis.max_batch(10**12) == 0


GAP_BN = """name: gap_bn
input: [3, 8, 8]
layers:
  - conv: {out: 4, kernel: 3, pad: 1}
  - adaptive_avgpool: {out: 1}
  - bn: {name: head_bn}
  - flatten
  - linear: {out: 2}
"""


def test_max_batch_never_answers_a_batch_that_cannot_train():
    """A budget where batch 1 fits and batch 2 does not: no batch that trains fits, so 0 (as when
    nothing fits), never 1; from a budget of batch 2's peak on, the answer is what fits."""
    one, two = (analyse_text(GAP_BN, batch=b) for b in (1, 2))
    peak_1 = cnncalc.engine.training_memory(one, "adam", "cuda")["total"]  # the budgets (inputs, not expectations)
    peak_2 = cnncalc.engine.training_memory(two, "adam", "cuda")["total"]
    assert peak_1 < peak_2
    assert one.max_batch(peak_1) == 0 and one.max_batch(peak_2 - 1) == 0
    assert one.max_batch(peak_2) == 2
    m = two.memory(gpu_memory=peak_1, max_batch=True)  # Analysis.memory at batch 2: trains
    assert (m.max_batch, m.smallest_batch, m.fits) == (0, 2, False)
    assert "none that trains: torch trains it from batch 2 (head_bn:" in m.render("rich", 200)
    assert json.loads(m.render("json"))["max_batch"] == 0


# ---- the device memory plans for, and why ------------------------------------------------------

DROPOUT = """name: drop
input: [100]
layers:
  - linear: {out: 100}
  - dropout
  - linear: {out: 10}
"""


def test_gpu_memory_plans_for_cuda_and_says_so():
    a = analyse_text(DROPOUT, batch=4)
    cpu, asked, budget = a.memory(), a.memory(device="cpu", gpu_memory="24GB"), a.memory(gpu_memory="24GB")
    assert (cpu.device, cpu.device_from) == ("cpu", "default")
    assert (asked.device, asked.device_from) == ("cpu", "device")
    assert (budget.device, budget.device_from) == ("cuda", "gpu_memory")
    # why it matters: dropout's saved mask is float32 on the CPU (measured: torch 2.13 saves a
    # float32 tensor of the input's shape) and bool on CUDA: 4 x 100 x (4 - 1) bytes fewer
    assert cpu.saved_for_backward - budget.saved_for_backward == 4 * 100 * 3
    assert asked.saved_for_backward == cpu.saved_for_backward


@pytest.mark.parametrize(("flags", "line"), [
    (("--gpu-memory", "24GB"), "device: cuda (chosen for --gpu-memory; --device cpu to plan on the CPU)"),
    (("--gpu-memory", "24GB", "--device", "cpu"), "device: cpu (--device cpu)"),
    (("--device", "cuda"), "device: cuda (--device cuda)"),
    ((), "device: cpu (the default; --device cuda to plan for a GPU)"),
])
def test_memory_output_says_the_device_and_why(flags, line):
    result = run_cli("memory", "resnet50", *flags, env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert line in lines
    assert max(len(x) for x in lines) <= 80


def test_json_says_the_device():
    doc = json.loads(run_cli("memory", "resnet50", "--gpu-memory", "24GB", "--format", "json").stdout)
    assert doc["device"] == "cuda"


# ---- the -tv twins: torchvision's VGG, its adaptive pool included -------------------------------

@pytest.mark.parametrize("name", ["vgg11", "vgg16"])
def test_tv_twin_differs_by_the_adaptive_pool_alone(name):
    paper, tv = analyse_bundled(name), analyse_bundled(f"{name}-tv")
    assert paper.graph.torchvision["model"] == tv.graph.torchvision["model"] == name
    assert not tv.graph.torchvision["tools"] and "saves its input" in paper.graph.torchvision["tools"]
    assert tv.totals.params == paper.totals.params  # the pool has no parameters
    # AdaptiveAvgPool2d((7, 7)) on 512 x 7 x 7: 25,088 outputs, each one 1 x 1 window read
    assert tv.totals.macs - paper.totals.macs == 512 * 7 * 7
    # in training it keeps its input, 25,088 float32 a sample
    assert sum(saved_for_backward(tv)) - sum(saved_for_backward(paper)) == 512 * 7 * 7 * 4
    assert [r.output for r in tv.rows][-1] == [r.output for r in paper.rows][-1] == (1000,)


def test_lecture_vgg16_keeps_the_papers_numbers():
    # the CS231n / EECS 498 VGG-16: 138,357,544 parameters, no adaptive pool row
    vgg16 = analyse_bundled("vgg16")
    assert vgg16.totals.params == 138_357_544
    assert "avgpool" not in [r.name for r in vgg16.rows]
    assert "vgg16-tv" in vgg16.graph.note


def test_tv_twins_are_bundled():
    assert {"vgg11-tv", "vgg16-tv"} <= set(cnncalc.architectures())
