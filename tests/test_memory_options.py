"""memory's options for planning a training run: --checkpoint, --amp, --device, and how they
combine with --max-batch and --format json. Expected numbers are written out as arithmetic here
(the measured equality of the saved bytes, float32 and autocast, is tests/test_saved.py)."""

from __future__ import annotations

import json

import pytest

import cnncalc
from cnncalc.engine import checkpointing, cut_points, saved_for_backward, training_memory
from tests.conftest import run_cli

# input 1 x 8 x 8; three 3x3 convs of 4 filters (pad 1), each followed by an in-place ReLU;
# flatten; a linear to 10. Eight rows: a, relu_a, b, relu_b, c, relu_c, flatten, fc.
CHAIN = {
    "name": "chain",
    "input": [1, 8, 8],
    "layers": [
        {"conv": {"name": "a", "out": 4, "kernel": 3, "pad": 1}}, {"relu": {"name": "relu_a"}},
        {"conv": {"name": "b", "out": 4, "kernel": 3, "pad": 1}}, {"relu": {"name": "relu_b"}},
        {"conv": {"name": "c", "out": 4, "kernel": 3, "pad": 1}}, {"relu": {"name": "relu_c"}},
        {"flatten": {"name": "flatten"}}, {"linear": {"name": "fc", "out": 10}},
    ],
}
MAP = 4 * 8 * 8  # one conv's output: 256 elements
CONV_A_MACS = MAP * 1 * 9  # 2,304
CONV_BC_MACS = MAP * 4 * 9  # 9,216


def test_chain_without_checkpointing():
    # a saves the input (64 elements); each ReLU saves its output, which is the next layer's
    # input (one storage, two savers); flatten is a view; fc saves that view's storage again.
    assert sum(saved_for_backward(cnncalc.analyze(CHAIN))) == 4 * (64 + 3 * MAP) == 3_328


def test_every_row_of_a_chain_is_a_cut_point():
    assert cut_points(cnncalc.analyze(CHAIN)) == [0, 1, 2, 3, 4, 5, 6]  # after every row but the last


def test_checkpoint_two_segments_by_hand():
    # checkpoint_sequential's split: 8 rows // 2 -> segment 1 = a, relu_a, b, relu_b; segment
    # 2 = c, relu_c, flatten, fc. End of forward: segment 2 saves relu_b's output (c's input)
    # and relu_c's output = 2 * 256. Recomputing segment 1: relu_a's and relu_b's outputs =
    # 2 * 256 (its input is the batch, counted apart). Peak 512 elements = 2,048 bytes.
    analysis = cnncalc.analyze(CHAIN)
    plan = checkpointing(analysis, 2)
    assert [analysis.rows[i].name for i in plan.starts] == ["a", "c"]
    assert plan.activations_saved == 4 * 2 * MAP == 2_048
    assert plan.without == 4 * 3 * MAP  # the input apart
    assert plan.recompute_macs == CONV_A_MACS + CONV_BC_MACS == 11_520
    parts = training_memory(analysis, "sgd", checkpoint=2)
    assert (parts["activations_saved"], parts["input"]) == (2_048, 4 * 64)


def test_checkpoint_three_segments_by_hand():
    # checkpoint_sequential's split of the 8 top-level items: 8 // 3 = 2 items a segment, so
    # segments start at items 0, 2 and 4: [a, relu_a], [b, relu_b], [c, relu_c, flatten, fc]
    # (engine/segments.py; tests/test_checkpoint_segments.py checks it against torch). Kept
    # through the forward: segment 2's input (relu_a's output, 256). End of forward: that +
    # segment 3's saves, relu_b's output (c's input) and relu_c's (fc's view of it: once) =
    # 3 * 256 = 768. Recomputing segment 2: relu_a's output (its input, saved by b: once) +
    # relu_b's = 512. Recomputing segment 1: relu_a's output = 256. Peak 768 elements: as many
    # as without checkpointing, this split saves nothing on this chain.
    analysis = cnncalc.analyze(CHAIN)
    plan = checkpointing(analysis, 3)
    assert [analysis.rows[i].name for i in plan.starts] == ["a", "b", "c"]
    assert [c.per_sample for c in plan.candidates] == [4 * 3 * MAP, 4 * 2 * MAP, 4 * MAP]
    assert plan.activations_saved == plan.without == 4 * 3 * MAP == 3_072
    assert plan.recompute_macs == CONV_A_MACS + CONV_BC_MACS == 11_520


def test_one_segment_is_no_checkpointing():
    for name in ("resnet18", "googlenet", "vit_b_32", "densenet121"):
        for amp in (None, "bfloat16"):
            analysis = cnncalc.analyze(name, batch=2)
            assert (training_memory(analysis, "adam", amp=amp, checkpoint=1)["total"]
                    == training_memory(analysis, "adam", amp=amp)["total"])
            assert checkpointing(analysis, 1).recompute_macs == 0


def test_resnet_cuts_only_between_blocks():
    # inside a residual block the shortcut crosses any cut: ResNet-18 can be cut after each
    # layer of the stem (conv1, bn1, relu1, pool1), after each of its 8 blocks (the add and the
    # ReLU after it), and in the head (pool5, flatten; not after fc, the last row)
    analysis = cnncalc.analyze("resnet18")
    after = [analysis.rows[c].name for c in cut_points(analysis)]
    blocks = [f"conv{s}_x.{b}.{layer}" for s in range(2, 6) for b in range(2) for layer in ("add1", "relu2")]
    assert after == ["conv1", "bn1", "relu1", "pool1", *blocks, "pool5", "flatten"]


def test_checkpoint_cli_json_and_errors():
    data = json.loads(run_cli("memory", CHAIN_FILE, "--checkpoint", "2", "--format", "json").stdout)
    assert data["checkpoint"] == {"segments": 2, "starts": ["a", "c"], "activations_saved": 2_048,
                                  "activations_saved_without": 3 * 4 * MAP, "recompute_macs": 11_520}
    out = run_cli("memory", CHAIN_FILE, "--checkpoint", "2")
    assert "11,520 multiply-adds" in out.stdout and "starting at a, c" in out.stdout
    result = run_cli("memory", CHAIN_FILE, "--checkpoint", "9")
    assert result.exit_code == 2
    assert "at most 8 segments" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("memory", CHAIN_FILE, "--checkpoint", "0").exit_code == 2


def test_max_batch_with_checkpointing_grows():
    args = ("memory", "vgg16", "--gpu-memory", "8GB", "--max-batch", "--format", "json")
    plain = json.loads(run_cli(*args).stdout)["max_batch"]
    checkpointed = json.loads(run_cli(*args, "--checkpoint", "6").stdout)["max_batch"]
    assert checkpointed > plain > 0


def test_amp_parts_by_hand_for_lenet5():
    # bfloat16 autocast, batch 1, adam: parameters, gradients and adam's two states stay float32
    # (61,706 parameters, in 10 tensors: adam keeps a float32 step count for each); every conv
    # and linear keeps a bf16 copy of its weights; c1 casts the float32 input and saves that copy
    # (2 * 1,024), not the batch (the input part, 4 * 1,024); the saved activations are
    # tests/test_saved.py's lenet5 by hand, in 2 bytes.
    weights = 6 * 25 + 16 * 6 * 25 + 120 * 400 + 84 * 120 + 10 * 84
    params = weights + 6 + 16 + 120 + 84 + 10
    data = json.loads(run_cli("memory", "lenet5", "--amp", "bfloat16", "--format", "json").stdout)
    assert data["amp"] == "bfloat16"
    parts = data["parts"]
    assert (parts["parameters"], parts["optimizer_state"]) == (4 * params, 8 * params + 4 * 10)
    assert parts["input"] == 4 * 1_024
    assert data["saved_for_backward"] == 2 * weights + 2 * 1_024 + 2 * (4_704 + 1_176 + 1_600 + 400 + 120 + 84)
    assert data["peak"]["training"] == sum(parts.values())


def test_amp_float16_on_cuda_keeps_layernorm_in_float32():
    # CUDA's autocast float32 list has layer_norm; the CPU's does not. ConvNeXt's layernorms
    # follow a depthwise conv (float16 output): on CUDA each one saves a float32 copy of its
    # input and returns float32, so the linear after it saves a float16 copy of that; on the CPU
    # it saves its float16 input and returns float16. ViT's layernorms see the float32 residual
    # stream (a float32 parameter joined the tokens) either way: the same bytes on both.
    def saved(name, device):
        return sum(saved_for_backward(cnncalc.analyze(name), device, "float16"))

    assert saved("convnext_tiny", "cuda") > saved("convnext_tiny", "cpu")
    assert saved("vit_b_32", "cuda") == saved("vit_b_32", "cpu") + 12 * 24  # flash keeps its RNG state on CUDA


def test_amp_refuses_a_low_precision_model():
    result = run_cli("memory", "resnet18", "--amp", "bfloat16", "--dtype", "float16")
    assert result.exit_code == 2
    assert "--amp bfloat16 runs a float32 model" in result.stderr


def test_device_decides_dropout_masks():
    # alexnet's two dropouts (on 9,216 and 4,096 features): a float32 mask on the CPU, a bool on CUDA
    cpu = json.loads(run_cli("memory", "alexnet", "--device", "cpu", "--format", "json").stdout)
    cuda = json.loads(run_cli("memory", "alexnet", "--device", "cuda", "--format", "json").stdout)
    assert cpu["saved_for_backward"] - cuda["saved_for_backward"] == (4 - 1) * (9_216 + 4_096)
    # --gpu-memory plans for a GPU: cuda unless --device says otherwise
    assert json.loads(run_cli("memory", "alexnet", "--gpu-memory", "8GB", "--format", "json").stdout)["device"] == "cuda"


@pytest.fixture(autouse=True, scope="module")
def _chain_file(tmp_path_factory):
    global CHAIN_FILE
    import yaml

    path = tmp_path_factory.mktemp("chain") / "chain.yaml"
    path.write_text(yaml.safe_dump(CHAIN, sort_keys=False))
    CHAIN_FILE = str(path)


CHAIN_FILE = ""


def test_max_batch_leaves_the_reserve_and_prints_the_table_for_its_batch():
    import cnncalc

    gpu, reserve = 8 * 2**30, 2**30  # --reserve's default: 1 GiB kept for the CUDA context and workspaces
    data = json.loads(run_cli("memory", "resnet18", "--amp", "bfloat16", "--gpu-memory", "8GB", "--max-batch",
                              "--format", "json").stdout)
    best = data["max_batch"]
    assert data["reserve_bytes"] == reserve and data["at_max_batch"]["batch"] == best
    # the batch fits beside the reserve, the next one does not: each peak from its own analysis
    at = cnncalc.analyze("resnet18", batch=best).memory(amp="bfloat16", device="cuda").peak.training
    over = cnncalc.analyze("resnet18", batch=best + 1).memory(amp="bfloat16", device="cuda").peak.training
    assert at <= gpu - reserve < over
    assert data["at_max_batch"]["training"] == at and data["at_max_batch"]["headroom_bytes"] == gpu - reserve - at
    text = run_cli("memory", "resnet18", "--amp", "bfloat16", "--gpu-memory", "8GB", "--max-batch",
                   env={"COLUMNS": "200"}).stdout
    assert f"training peak, batch {best} (the largest that fits)" in " ".join(text.split()) and f"{at:,}" in text
    none = json.loads(run_cli("memory", "resnet18", "--amp", "bfloat16", "--gpu-memory", "8GB", "--max-batch",
                              "--reserve", "0B", "--format", "json").stdout)
    assert none["reserve_bytes"] == 0 and none["max_batch"] > best
    bad = run_cli("memory", "resnet18", "--gpu-memory", "1GB", "--reserve", "2GB")
    assert bad.exit_code == 2 and "--reserve 2,147,483,648 B is all of the GPU's 1,073,741,824 B" in bad.stderr
