"""Every bundled architecture: published totals, invariants of the table, and the lecture shapes."""

from __future__ import annotations

import pytest

from cnncalc.report.view import View, display_rows
from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled

# Parameter totals (weights + biases) published for these layer stacks: torchvision's models
# for AlexNet, VGG and ResNet (ResNet v1 and v1.5 differ only in where the stride sits, so their
# parameter counts are equal), and LeNet-5 with a fully connected C3 (156 + 2,416 + 48,120 + 10,164 + 850).
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg11-tv": 132_863_336,  # the same parameters: the adaptive pool has none
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg16-tv": 138_357_544,
    "vgg19": 143_667_240,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "lenet5": 61_706,
}


@pytest.mark.parametrize(("name", "params"), PUBLISHED_PARAMS.items())
def test_published_parameter_totals(name, params):
    assert analyse_bundled(name).totals.params == params


@pytest.mark.parametrize("name", bundled_names())
def test_rows_sum_to_totals(name):
    analysis = analyse_bundled(name)
    for view in (View(), View(fold=False), View(weights_only=True, convention="torch")):
        rows = display_rows(analysis, view)
        t = analysis.totals
        counts = analysis.counted(view.convention)
        assert sum(r.params(view) for r in rows) == (t.weights if view.weights_only else t.params)
        assert sum(r.flop(counts) for r in rows) == analysis.total_counted(view.convention)
        assert sum(r.memory_bytes() for r in rows) == t.memory_bytes
        # folding never hides a layer: every node is in exactly one row
        assert sum(len(r.members) for r in rows) == len(analysis.rows) == len(analysis.graph.nodes) - 1


@pytest.mark.parametrize("name", bundled_names())
def test_batch_and_dtype_scale_exactly(name):
    one = analyse_bundled(name)
    many = analyse_bundled(name, batch=8, dtype="float16")
    assert many.totals.macs == 8 * one.totals.macs
    assert many.totals.memory_bytes == 8 * one.totals.memory_bytes // 2  # 8 samples x half the bytes
    assert many.totals.params == one.totals.params


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_spec_has_description_and_source(name):
    analysis = analyse_bundled(name)
    assert analysis.graph.description and len(analysis.graph.description) <= 100
    assert analysis.graph.source


def test_lenet5_shapes_as_in_the_paper():
    # LeCun et al. 1998, Fig. 2: C1 6@28x28, S2 6@14x14, C3 16@10x10, S4 16@5x5, C5 120, F6 84, output 10
    rows = {r.lead.name: r.output for r in display_rows(analyse_bundled("lenet5"), View())}
    assert [rows[n] for n in ("c1", "s2", "c3", "s4", "c5")] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1)]
    assert rows["f6"] == (84,) and rows["output"] == (10,)


def test_alexnet_2012_groups_gives_the_papers_parameter_count():
    # Krizhevsky et al. 2012: "60 million parameters"; with conv2, conv4, conv5 split over two GPUs
    # conv2 = 256*(96/2)*25 + 256 = 307,456; conv4 = 384*(384/2)*9 + 384 = 663,936;
    # conv5 = 256*(384/2)*9 + 256 = 442,624; the rest as in the one-GPU form
    split = analyse_bundled("alexnet-2012", overrides={"groups": 2})
    params = {r.name: r.params for r in split.rows}
    assert (params["conv2"], params["conv4"], params["conv5"]) == (307_456, 663_936, 442_624)
    assert 60_000_000 < split.totals.params < 61_000_000


def test_resnet_stage_shapes_follow_table_1():
    # He et al. Table 1 output sizes: conv1 112, conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7
    for name, last in (("resnet18", 512), ("resnet50", 2048)):
        nodes = {n.name: n.shape for n in analyse_bundled(name).graph.nodes}
        assert nodes["conv1"][1:] == (112, 112)
        blocks = {"resnet18": (2, 2, 2, 2), "resnet50": (3, 4, 6, 3)}[name]
        for stage, count, hw in zip(("conv2_x", "conv3_x", "conv4_x", "conv5_x"), blocks, (56, 28, 14, 7)):
            outs = [shape for node, shape in nodes.items() if node.startswith(f"{stage}.{count - 1}.add")]
            assert outs and outs[0][1:] == (hw, hw), (name, stage)
        assert nodes["fc"] == (1000,)
        assert any(shape == (last, 7, 7) for shape in nodes.values())
