"""The drawn graph: its model (report/drawing.py), its DOT source and rendering (report/graph_dot.py)
and `cnncalc graph`. Expected counts come from the lecture tables and the papers' block
structure, written out here; the numbers from arithmetic in the comments."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from cnncalc.report.drawing import drawing
from cnncalc.report.view import View
from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled


def draw(name: str, measure: str = "macs", **view):
    return drawing(analyse_bundled(name), View(**view), measure)


def in_edges(d, target: str) -> list[str]:
    return [e.source for e in d.edges if e.target == target]


def node(d, node_id: str):
    (found,) = [n for n in d.nodes if n.id == node_id]
    return found


# ---- the model ---------------------------------------------------------------------------------

def test_alexnet_one_node_per_lecture_row_in_a_chain():
    # EECS 498's AlexNet table has 12 rows (relu and dropout fold into them); plus the input
    rows = ["conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "flatten", "fc6", "fc7", "fc8"]
    d = draw("alexnet")
    assert [n.id for n in d.nodes] == ["input", *rows]
    assert [n.row for n in d.nodes] == list(range(-1, 12))
    assert [(e.source, e.target) for e in d.edges] == list(zip(["input", *rows], rows))
    assert d.clusters == ()
    conv1 = node(d, "conv1")
    assert conv1.label == "conv1 +relu" and conv1.type == "conv" and conv1.shape == "64×56×56"
    assert conv1.macs == 64 * 56 * 56 * (3 * 11 * 11) == 72_855_552
    assert conv1.params == 64 * 3 * 11 * 11 + 64 == 23_296
    assert conv1.memory_bytes == 64 * 56 * 56 * 4 == 802_816
    assert node(d, "input").shape == "3×227×227" and node(d, "flatten").shape == "9216"


def test_alexnet_weights_only_params_follow_the_view():
    # the lecture's FC rows count weights only: fc6 9216*4096 = 37,748,736
    assert node(draw("alexnet", weights_only=True), "fc6").params == 9216 * 4096


def test_shares_sum_to_one_and_the_heaviest_is_alexnets_conv2():
    d = draw("alexnet")
    shares = [n.share for n in d.nodes]
    assert all(0.0 <= s <= 1.0 for s in shares)
    assert math.isclose(math.fsum(shares), 1.0, rel_tol=1e-12)
    # conv2: 192*27*27*(64*5*5) = 223,948,800 multiply-adds, the largest row of the table
    assert max(d.nodes, key=lambda n: n.share).id == "conv2"
    assert node(d, "conv2").macs == 223_948_800
    # by params the largest is fc6: 9216*4096 + 4096 = 37,752,832 of the lecture's 61.1 M
    by_params = draw("alexnet", measure="params")
    assert max(by_params.nodes, key=lambda n: n.share).id == "fc6"
    assert node(by_params, "fc6").share == pytest.approx(37_752_832 / sum(n.params for n in by_params.nodes))


def test_resnet18_residual_clusters_and_shortcut_edges():
    d = draw("resnet18")
    # conv1, pool1; 8 basic blocks of 3 rows (conv+bn+relu, conv+bn, add+relu); 3 projection
    # shortcuts (conv3_x.0, conv4_x.0, conv5_x.0: conv+bn); pool5, flatten, fc; the input
    assert len(d.nodes) == 2 + 8 * 3 + 3 + 3 + 1 == 33
    clusters = {c.id: c for c in d.clusters}
    for stage in ("conv2_x", "conv3_x", "conv4_x", "conv5_x"):
        assert clusters[stage].kind == "repeat" and clusters[stage].label == f"{stage} ×2"
        for i in (0, 1):
            assert clusters[f"{stage}.{i}"].kind == "residual" and clusters[f"{stage}.{i}"].parent == stage
    # the identity shortcut: conv2_x.0's add reads its body and the block's input (pool1)
    assert in_edges(d, "conv2_x.0.add1") == ["conv2_x.0.conv2", "pool1"]
    assert node(d, "conv2_x.0.add1").cluster == "conv2_x.0"
    # the projection shortcut of conv3_x.0: a 1x1/2 conv + bn from 64x56x56 to 128x28x28
    short = node(d, "conv3_x.0.shortcut.conv1")
    assert short.cluster == "conv3_x.0.shortcut" and clusters["conv3_x.0.shortcut"].parent == "conv3_x.0"
    assert short.macs == 128 * 28 * 28 * 64 == 6_422_528
    assert short.params == 128 * 64 + 2 * 128 == 8_448  # conv without bias, bn's scale and shift
    assert in_edges(d, "conv3_x.0.shortcut.conv1") == ["conv2_x.1.add1"]
    assert in_edges(d, "conv3_x.0.add1") == ["conv3_x.0.conv2", "conv3_x.0.shortcut.conv1"]


def test_googlenet_parallel_branches_meet_in_a_four_way_concat():
    d = draw("googlenet")
    modules = ["3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"]
    clusters = {c.id: c for c in d.clusters}
    for m in modules:
        cid = f"inception{m}"
        assert clusters[cid].kind == "parallel"
        assert sorted(c.label for c in d.clusters if c.parent == cid) == ["b1x1", "b3x3", "b5x5", "pool"]
        assert in_edges(d, f"{cid}.concat1") == [f"{cid}.b1x1.conv", f"{cid}.b3x3.conv", f"{cid}.b5x5.conv",
                                                 f"{cid}.pool.proj"]
    # inception3a: 64 + 128 + 32 + 32 = 256 channels out (Table 1)
    assert node(d, "inception3a.concat1").shape == "256×28×28"
    # stem: conv1, pool1, norm1, conv2_reduce, conv2, norm2, pool2; 9 modules of 8 rows (four
    # branches of 1, 2, 2, 2 rows and the concat); pool3, pool4; avgpool, flatten, fc; the input
    assert len(d.nodes) == 7 + 9 * 8 + 2 + 3 + 1


def test_densenet121_concatenation_clusters():
    d = draw("densenet121")
    clusters = {c.id: c for c in d.clusters}
    for block, layers in (("denseblock1", 6), ("denseblock2", 12), ("denseblock3", 24), ("denseblock4", 16)):
        assert clusters[block].kind == "repeat" and clusters[block].label == f"{block} ×{layers}"
        copies = [c for c in d.clusters if c.parent == block]
        assert len(copies) == layers and {c.kind for c in copies} == {"residual"}
    # each dense layer: cat([x, f(x)]): the concat reads the layer's input and its 3x3 conv
    assert in_edges(d, "denseblock1.1.concat1") == ["denseblock1.0.concat1", "denseblock1.1.conv2"]
    assert node(d, "denseblock1.1.concat1").type == "concat"
    # 64 + 2 * 32 channels after the second layer of the first block
    assert node(d, "denseblock1.1.concat1").shape == "128×56×56"


def test_depth_one_collapses_resnet50_into_its_stages():
    d = draw("resnet50", depth=1)
    names = ["conv1", "pool1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "pool5", "flatten", "fc"]
    assert [n.id for n in d.nodes] == ["input", *names]
    assert [(e.source, e.target) for e in d.edges] == list(zip(["input", *names], names))
    assert d.clusters == ()
    stage = node(d, "conv2_x")
    # 3 bottlenecks of 10 layers (1x1, 3x3 and 1x1 conv, each with its bn, relu after the first
    # two; add; relu) and the first one's projection (conv + bn): 3 * 10 + 2 = 32 layers
    assert stage.type == "block" and stage.label == "conv2_x (32 layers)"
    # depth 2: one node per bottleneck (3 + 4 + 6 + 3 = 16), each in its stage's repeat cluster
    d2 = draw("resnet50", depth=2)
    assert len(d2.nodes) == 2 + 16 + 3 + 1
    assert node(d2, "conv4_x.5").cluster == "conv4_x"
    assert [c.id for c in d2.clusters] == ["conv2_x", "conv3_x", "conv4_x", "conv5_x"]


def test_node_numbers_sum_to_the_table_totals():
    # ResNet-18's lecture figure: 11,689,512 params
    a = analyse_bundled("resnet18")
    for depth in (None, 1, 2):
        d = drawing(a, View(depth=depth))
        assert sum(n.params for n in d.nodes) == 11_689_512
        assert sum(n.macs for n in d.nodes) == a.total_counted("lecture")
        assert sum(n.memory_bytes for n in d.nodes) == a.totals.memory_bytes


def test_to_dict_is_the_contract_shape():
    doc = json.loads(json.dumps(draw("resnet18").to_dict()))
    assert set(doc) == {"name", "caption", "measure", "nodes", "edges", "clusters"}
    assert doc["name"] == "resnet18" and doc["measure"] == "macs" and "batch 1" in doc["caption"]
    types = {"id": str, "label": str, "type": str, "shape": str, "macs": int, "params": int,
             "memory_bytes": int, "share": float, "row": int}
    for n in doc["nodes"]:
        assert set(n) == {*types, "cluster"}
        assert all(type(n[k]) is t for k, t in types.items())
        assert n["cluster"] is None or isinstance(n["cluster"], str)
    assert all(set(e) == {"source", "target"} for e in doc["edges"])
    for c in doc["clusters"]:
        assert set(c) == {"id", "label", "kind", "parent"} and c["kind"] in ("residual", "parallel", "repeat", "block")


def test_unknown_measure_is_refused():
    with pytest.raises(ValueError, match="measure"):
        draw("lenet5", measure="flops")


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_spec_draws(name):
    a = analyse_bundled(name)
    d = drawing(a, View())
    ids = [n.id for n in d.nodes]
    assert len(set(ids)) == len(ids)
    assert [n.row for n in d.nodes] == list(range(-1, len(d.nodes) - 1))
    rows = {n.id: n.row for n in d.nodes}
    assert all(rows[e.source] < rows[e.target] for e in d.edges)  # drawn top to bottom
    assert len(set(d.edges)) == len(d.edges)
    # every node but the input has an input edge; every node but the output feeds one
    assert {e.target for e in d.edges} == set(ids[1:])
    assert {e.source for e in d.edges} | {ids[-1]} >= set(ids) - {n.id for n in d.nodes if "training only" in n.label}
    seen: set[str] = set()
    for c in d.clusters:  # parents first
        assert c.parent is None or c.parent in seen
        seen.add(c.id)
    assert {n.cluster for n in d.nodes} - {None} <= seen
    assert sum(n.macs for n in d.nodes) == a.total_counted()
    assert Counter(type(n.share) for n in d.nodes) == Counter({float: len(d.nodes)})
