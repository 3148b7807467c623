"""The drawn graph: its model (report/drawing.py), its DOT source and rendering (report/graph_dot.py)
and `cnncalc graph`. Expected counts come from the lecture tables and the papers' block
structure, written out here; the numbers from arithmetic in the comments."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from cnncalc.report.drawing import drawing
from cnncalc.report.view import View, display_rows
from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled, run_cli

REPO = Path(__file__).resolve().parent.parent


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
    assert stage.type == "block" and stage.label == "conv2_x (3 blocks, 10 conv)"
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
    assert set(doc) == {"name", "caption", "measure", "unit", "nodes", "edges", "clusters"}
    assert doc["name"] == "resnet18" and doc["measure"] == "macs" and "batch 1" in doc["caption"]
    assert doc["unit"] == "MACs"
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
    # every node but the input has an input edge; every node but an output (the last layer, or
    # those the spec's `outputs:` names) feeds one
    assert {e.target for e in d.edges} == set(ids[1:])
    shown = display_rows(a, View())
    outputs = {n.id for n in d.nodes if n.row >= 0 and any(m.index in a.graph.output_nodes for m in shown[n.row].members)}
    assert {e.source for e in d.edges} | {ids[-1]} | outputs >= set(ids) - {n.id for n in d.nodes
                                                                            if "training only" in n.label}
    seen: set[str] = set()
    for c in d.clusters:  # parents first
        assert c.parent is None or c.parent in seen
        seen.add(c.id)
    assert {n.cluster for n in d.nodes} - {None} <= seen
    assert sum(n.macs for n in d.nodes) == a.total_counted()
    assert Counter(type(n.share) for n in d.nodes) == Counter({float: len(d.nodes)})


def test_drawn_depth_folds_densenet201_to_its_dense_layers():
    from cnncalc.report.drawing import MAX_DRAWN_NODES, drawn_depth

    a = analyse_bundled("densenet201")
    # every row: 408 nodes > 300; depth 2: conv0, pool0; 6 + 12 + 48 + 32 = 98 dense layers; 3
    # transitions of 3 rows (norm+relu, conv, pool); norm5, avgpool, flatten, classifier; the input
    assert len(drawing(a, View()).nodes) > MAX_DRAWN_NODES
    assert drawn_depth(a, View()) == 2
    assert len(drawing(a, View(depth=2)).nodes) == 2 + 98 + 3 * 3 + 4 + 1 == 114
    assert drawn_depth(analyse_bundled("resnet152"), View()) is None  # 210 nodes fit


# ---- DOT source and rendering ------------------------------------------------------------------

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")


@pytest.fixture
def graph_dot():
    pytest.importorskip("graphviz", reason="the graphviz package is not installed (pip install 'cnncalc[graph]')")
    from cnncalc.report import graph_dot

    return graph_dot


def dot_to_svg(source: str) -> str:
    proc = subprocess.run([DOT, "-Tsvg"], input=source, capture_output=True, text=True, timeout=120)  # type: ignore[list-item]
    assert proc.returncode == 0 and not proc.stderr, proc.stderr[-2000:]
    return proc.stdout


def test_fill_level_is_a_share_of_the_heaviest_node(graph_dot):
    d = draw("alexnet")
    # 1 + 8 * macs // 223,948,800 (conv2): conv1 72,855,552 -> 1 + 2; conv2 -> 9; fc8 4,096,000 -> 1
    assert [graph_dot.level(node(d, n), "macs", 223_948_800) for n in ("conv1", "conv2", "fc8")] == [3, 9, 1]
    source = graph_dot.to_dot(d)
    (conv2,) = [line for line in source.splitlines() if "<B>conv2</B>" in line]  # node ids are n0, n1, ...
    assert 'fillcolor="/ylorrd9/9"' in conv2 and "223,948,800 MACs" in conv2  # exact ints in the tooltip
    assert "<B>conv2</B> +relu" in conv2 and "224 M MACs" in conv2 and "307 k params" in conv2
    assert "rankdir=TB" in source and "the largest, conv2 (224 M MACs)" in source


def test_dot_has_a_cluster_per_block_nested(graph_dot):
    d = draw("resnet18")
    source = graph_dot.to_dot(d)
    assert source.count("subgraph cluster_") == len(d.clusters) == 4 + 8 + 3
    assert "label=shortcut" in source and 'label="conv3_x ×2"' in source


@needs_dot
@pytest.mark.parametrize(("name", "depth"), [("alexnet", None), ("resnet18", None), ("googlenet", None),
                                             ("densenet121", None), ("resnet50", 1), ("inception_v3", 2)])
def test_svg_has_one_node_per_drawing_node(graph_dot, name, depth):
    d = draw(name, depth=depth)
    svg = dot_to_svg(graph_dot.to_dot(d))
    assert svg.count('class="node"') == len(d.nodes)
    assert svg.count('class="edge"') == len(d.edges)
    assert svg.count('class="cluster"') == len(d.clusters)


@needs_dot
def test_render_gives_png_and_pdf_bytes(graph_dot):
    source = graph_dot.to_dot(draw("lenet5"))
    assert graph_dot.render(source, "png").startswith(b"\x89PNG")
    assert graph_dot.render(source, "pdf").startswith(b"%PDF")


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_spec_has_dot_source(graph_dot, name):
    d = drawing(analyse_bundled(name), View(units="auto"))
    source = graph_dot.to_dot(d)
    assert source.startswith(f"digraph {json.dumps(name) if '-' in name else name} {{")
    assert source.count(" -> ") == len(d.edges)


# ---- the command -------------------------------------------------------------------------------

def test_graph_prints_dot_without_an_output(graph_dot):
    for args in ((), ("-o", "-"), ("--format", "dot")):
        result = run_cli("graph", "lenet5", *args)
        assert result.exit_code == 0 and result.stdout.startswith("digraph lenet5 {"), result.stderr


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"),
                                               (".dot", b"digraph")])
def test_graph_writes_the_format_of_the_suffix(graph_dot, tmp_path, suffix, magic):
    out = tmp_path / f"net{suffix}"
    result = run_cli("graph", "resnet18", "-o", str(out), "--depth", "2")
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


@needs_dot
def test_graph_svg_counts_and_colour_option(graph_dot, tmp_path):
    out = tmp_path / "g.svg"
    assert run_cli("graph", "googlenet", "-o", str(out), "--color", "params").exit_code == 0
    svg = out.read_text()
    assert svg.count('class="node"') == 7 + 9 * 8 + 2 + 3 + 1
    assert "fill: share of params" in svg.replace("&#160;", " ")
    assert "the largest, fc (1.03 M params)" in svg  # 1024 * 1000 + 1000 = 1,025,000, 3 digits half up


def test_graph_folds_a_large_drawing_and_says_so(graph_dot):
    result = run_cli("graph", "densenet201")
    assert result.exit_code == 0
    assert result.stderr == ("note: 408 nodes are more than a drawing shows legibly (300): blocks folded to --depth 2 "
                             "(114 nodes); --depth 3 draws all 408\n")
    every = run_cli("graph", "densenet201", "--depth", "3")
    assert every.exit_code == 0 and every.stderr == ""
    assert every.stdout.count(" -> ") > result.stdout.count(" -> ")


@pytest.mark.parametrize(("args", "message"), [
    (("-o", "net.jpeg"), "error: cannot tell the format of 'net.jpeg'"),
    (("--format", "png"), "error: a png drawing is written to a file"),
    (("--color", "flops"), "Invalid value for '--color'"),
])
def test_graph_usage_errors(args, message):
    result = run_cli("graph", "alexnet", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_graph_html_needs_no_graphviz(tmp_path):
    # the page is laid out in the browser (dagre, inlined): no dot on the PATH, no graphviz package
    out = tmp_path / "g.html"
    proc = run_graph(tmp_path, {"PATH": str(tmp_path)}, "alexnet", "-o", str(out),
                     prelude="import sys\nsys.modules['graphviz'] = None\n")
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and '"id": "conv1"' in page.replace('":"', '": "')
    assert "<script src" not in page and "<link" not in page  # one file: nothing fetched when opened


def test_graph_format_contradicting_the_suffix_is_refused(tmp_path):
    out = tmp_path / "x.png"
    result = run_cli("graph", "alexnet", "--format", "svg", "-o", str(out))
    assert result.exit_code == 2 and "--format svg contradicts the file name" in result.stderr
    assert not out.exists()
    assert run_cli("graph", "alexnet", "--format", "dot", "-o", str(tmp_path / "x.txt")).exit_code == 0


def test_graph_bad_spec_points_into_the_yaml(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [3, 32, 32]\nlayers:\n  - conv: {out: 8, kernel: 3}\n  - conc: {out: 4}\n")
    out = tmp_path / "bad.svg"
    result = run_cli("graph", str(spec), "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:4:5: error: unknown layer type 'conc'")
    assert not out.exists()


def run_graph(tmp_path, env, *args, prelude=""):
    code = f"{prelude}import sys\nfrom cnncalc.cli import run\nsys.exit(run(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, "graph", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env}, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_graph_without_dot_is_one_sentence(tmp_path, suffix):
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / f"net{suffix}"
    proc = run_graph(tmp_path, {"PATH": str(empty)}, "resnet18", "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr == (f"error: drawing {suffix[1:]} needs Graphviz's dot program (apt-get install graphviz, or "
                           "brew install graphviz); -o FILE.html draws the graph without it\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]  # no file, whole or partial


@pytest.mark.parametrize("fmt", ["svg", "dot"])
def test_graph_without_the_graphviz_package_is_one_sentence(tmp_path, fmt):
    out = tmp_path / f"net.{fmt}"
    proc = run_graph(tmp_path, {}, "resnet18", "-o", str(out), prelude="import sys\nsys.modules['graphviz'] = None\n")
    assert proc.returncode == 2
    assert proc.stderr == (f"error: drawing {fmt} needs the graphviz Python package (pip install 'cnncalc[graph]'); "
                           "-o FILE.html draws the graph without it\n")
    assert list(tmp_path.iterdir()) == []


def test_graph_when_dot_fails_is_one_sentence(tmp_path, graph_dot):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\nexit 3\n")
    (fake / "dot").chmod(0o755)
    out = tmp_path / "out" / "net.svg"
    out.parent.mkdir()
    proc = run_graph(tmp_path, {"PATH": str(fake)}, "resnet18", "-o", str(out))
    assert proc.returncode == 2
    assert proc.stderr == "error: Graphviz's dot could not draw the svg (exit status 3); --depth N draws a smaller graph\n"
    assert list(out.parent.iterdir()) == []


def test_graph_numbers_follow_batch_and_input(graph_dot):
    # conv2 at batch 2: 2 * 192*27*27*(64*5*5) = 447,897,600 multiply-adds
    assert "447,897,600 MACs" in run_cli("graph", "alexnet", "--batch", "2").stdout
    # AlexNet on 224x224: conv1 (11x11, stride 4, pad 2) gives (224 + 4 - 11) // 4 + 1 = 55
    assert "64×55×55" in run_cli("graph", "alexnet", "--input", "3x224x224").stdout


def test_graph_counts_in_the_conventions_table_has(graph_dot):
    # --params weights: AlexNet's fc6 is 9216 x 4096 weights without its 4096 biases;
    # --convention torch: FlopCounterMode's 2 FLOPs per multiply-add, conv1 = 2 * (64*56*56) * (3*11*11)
    weights = run_cli("graph", "alexnet", "--params", "weights").stdout
    (fc6,) = [line for line in weights.splitlines() if "<B>fc6</B>" in line]
    assert f"{9216 * 4096:,} params" in fc6
    torch_counts = run_cli("graph", "alexnet", "--convention", "torch").stdout
    (conv1,) = [line for line in torch_counts.splitlines() if "<B>conv1</B>" in line]
    assert f"{2 * 64 * 56 * 56 * 3 * 11 * 11:,} FLOPs" in conv1 and "MACs" not in conv1
    assert "fill: share of FLOPs" in torch_counts
    assert draw("alexnet").unit == "MACs"
