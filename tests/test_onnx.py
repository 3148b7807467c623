"""ONNX files in (cnncalc/readers/onnx_file.py, docs/onnx.md), on small files made here with
onnx.helper: no torch, no exporter. Expected figures are arithmetic written out below;
tests/test_onnx_live.py exports torchvision models with PyTorch's two exporters and compares.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.cli import cli  # noqa: E402
from cnncalc.errors import CnncalcError, SpecError, UsageError  # noqa: E402
from cnncalc.readers.onnx_file import read  # noqa: E402


def tensor(name, *shape, value=0.0):
    return numpy_helper.from_array(np.full(shape, value, dtype=np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def save(tmp_path, nodes, inits, inp=("x", [1, 3, 32, 32]), out="y", name="net.onnx", opset=17):
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info(inp[0], TensorProto.FLOAT, inp[1])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="cnncalc-test")
    path = tmp_path / name
    onnx.save(model, str(path))
    return str(path)


def small_cnn(tmp_path, **kw):
    """conv 3->8 3x3 pad 1 (bias) -> BN -> relu -> global pool -> flatten (through shape
    arithmetic: Shape, Gather, Unsqueeze, Concat, Reshape) -> Gemm 8->10."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
                         ["b"], name="/bn/BatchNormalization"),
        helper.make_node("Relu", ["b"], ["r"], name="/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Shape", ["p"], ["s"], name="/Shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="/Gather", axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["nu"], name="/Unsqueeze"),
        helper.make_node("Concat", ["nu", "minus1"], ["shape"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["p", "shape"], ["f"], name="/Reshape"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1),
    ]
    inits = [tensor("conv.weight", 8, 3, 3, 3), tensor("conv.bias", 8), tensor("bn.weight", 8, value=1),
             tensor("bn.bias", 8), tensor("bn.running_mean", 8), tensor("bn.running_var", 8, value=1),
             tensor("fc.weight", 10, 8), tensor("fc.bias", 10), ints("zero", 0), ints("axes0", [0]),
             ints("minus1", [-1])]
    return save(tmp_path, nodes, inits, **kw)


def test_a_small_cnn_by_hand(tmp_path):
    path = small_cnn(tmp_path)
    a = cnncalc.analyze(path)
    # conv: 8*3*3*3 + 8 = 224 params, 8*32*32*27 = 221,184 MACs; BN 2*8 = 16 params (its running
    # statistics are buffers); Gemm 8*10 + 10 = 90 params, 80 MACs
    assert a.totals.params == 224 + 16 + 90 == 330
    assert a.totals.macs == 221_184 + 80 + 8 * 32 * 32  # + the global pool's window reads
    assert sum(a.counted("torch")) == 2 * (221_184 + 80)
    assert a.outputs[0][1] == (10,)
    # the shape arithmetic is gone from the table; the layers are named for their modules
    names = [r.name for r in a.rows]
    assert names == ["conv", "bn", "relu", "pool", "reshape", "fc"]
    got = read(path)
    assert (got.params, got.buffers, got.constants) == (330, 16, 1 + 1 + 1)
    assert not got.folded_bn


def test_the_command_line_and_import(tmp_path):
    path = small_cnn(tmp_path)
    result = CliRunner().invoke(cli, ["table", path, "--format", "json"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(cli, ["import", path, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert cnncalc.analyze(str(out)).totals.params == 330


def test_symbolic_sizes_take_the_input(tmp_path):
    path = small_cnn(tmp_path, inp=("x", ["batch", 3, "height", "width"]))
    with pytest.raises(UsageError) as err:
        cnncalc.analyze(path)
    assert "height, width" in err.value.message and "--input" in err.value.message
    a = cnncalc.analyze(path, input=(3, 64, 48))
    assert a.totals.macs == 8 * 64 * 48 * 27 + 80 + 8 * 64 * 48
    result = CliRunner().invoke(cli, ["table", path, "--input", "3x16x16", "--format", "csv"])
    assert result.exit_code == 0, result.output


def test_names_from_the_dynamo_exporters_metadata(tmp_path):
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="node_Conv_1", kernel_shape=[1, 1])
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']"
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.class_hierarchy", \
        "['M', 'torch.nn.Sequential', 'BasicBlock', 'torch.nn.Conv2d', 'aten.conv2d.default']"
    path = save(tmp_path, [node], [tensor("w", 4, 3, 1, 1)])
    assert [r.name for r in cnncalc.analyze(path).rows] == ["layer1.0.conv1"]


def test_a_module_called_twice_is_two_instances(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="/block/relu/Relu"),
             helper.make_node("Add", ["a", "x"], ["b"], name="/block/Add"),
             helper.make_node("Relu", ["b"], ["y"], name="/block/relu_1/Relu")]
    path = save(tmp_path, nodes, [])
    assert [r.name for r in cnncalc.analyze(path).rows] == ["block.relu", "block.add", "block.relu_1"]


# -- bad files: one error, exit 2, fast; nothing is ever run -----------------------------------------

def test_not_onnx_and_truncated_files(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("name: resnet\nlayers: []\n")
    good = small_cnn(tmp_path)
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(open(good, "rb").read()[:200])
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    for path in (text, cut, empty):
        with pytest.raises(SpecError) as err:
            cnncalc.analyze(str(path))
        assert "ONNX" in err.value.message
        result = CliRunner().invoke(cli, ["table", str(path)])
        assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_huge_declared_tensor_is_refused_before_anything_is_read(tmp_path):
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**31, 2**20])  # 2**51 elements, no data
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv", kernel_shape=[1, 1])
    path = save(tmp_path, [node], [huge])
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "declares" in err.value.message


def test_a_cycle_is_refused(tmp_path):
    nodes = [helper.make_node("Relu", ["b"], ["a"], name="/r1/Relu"),
             helper.make_node("Add", ["a", "x"], ["b"], name="/Add"),
             helper.make_node("Relu", ["b"], ["y"], name="/r2/Relu")]
    path = save(tmp_path, nodes, [])
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "cycle" in err.value.hint


def test_missing_external_data_is_named(tmp_path):
    weight = tensor("w", 4, 3, 1, 1)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv", kernel_shape=[1, 1])
    path = save(tmp_path, [node], [weight])
    model = onnx.load(path)
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location="net.onnx.data",
              size_threshold=0)
    assert cnncalc.analyze(path).totals.params == 12  # the data file is there: only its size is read
    os.remove(tmp_path / "net.onnx.data")
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "net.onnx.data" in err.value.message and "missing" in err.value.message


def test_external_data_outside_the_models_folder_is_refused(tmp_path):
    weight = tensor("w", 4, 3, 1, 1)
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="/conv/Conv", kernel_shape=[1, 1])
    path = save(tmp_path, [node], [weight])
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "outside" in err.value.message


def test_unknown_ops_are_listed_with_a_count_each(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="/r/Relu"),
             helper.make_node("TopK", ["a", "k"], ["b", "i"], name="/topk/TopK", axis=1),
             helper.make_node("Celu", ["b"], ["c"], name="/c1/Celu"),
             helper.make_node("Celu", ["c"], ["y"], name="/c2/Celu")]
    path = save(tmp_path, nodes, [ints("k", [2])])
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "3 nodes of 2 op types" in err.value.message
    assert "Celu (/c1/Celu, 2 nodes)" in err.value.message and "TopK (/topk/TopK)" in err.value.message


def test_the_analytic_path_does_not_import_onnx():
    import subprocess
    import sys

    code = "import sys, cnncalc; cnncalc.analyze('resnet18'); print('onnx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_any_node_soup_is_an_analysis_or_one_clean_error(tmp_path):
    # random chains of the ops cnncalc reads, with random attributes: never a traceback
    rng = np.random.default_rng(0)
    ops = ["Relu", "Sigmoid", "Add", "Mul", "Conv", "MaxPool", "Transpose", "Reshape", "Concat", "Softmax", "Split",
           "GlobalAveragePool", "Flatten", "Gemm", "Erf", "Slice", "Pad", "Resize"]
    for trial in range(60):
        nodes, inits, cur = [], [], "x"
        for i in range(int(rng.integers(1, 6))):
            op, out = ops[int(rng.integers(len(ops)))], f"t{i}"
            ins, attrs = [cur], {}
            if op in ("Add", "Mul", "Concat"):
                ins = [cur, cur]
            elif op == "Conv":
                inits.append(tensor(f"w{i}", int(rng.integers(1, 5)), 3, 3, 3))
                ins, attrs = [cur, f"w{i}"], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
            elif op == "MaxPool":
                attrs = {"kernel_shape": [2, 2], "strides": [2, 2]}
            elif op == "Reshape":
                inits.append(ints(f"s{i}", [1, -1]))
                ins = [cur, f"s{i}"]
            elif op == "Gemm":
                inits.append(tensor(f"g{i}", 4, int(rng.integers(1, 3000))))
                ins, attrs = [cur, f"g{i}"], {"transB": 1}
            elif op == "Transpose":
                attrs = {"perm": [0, 1, 3, 2]}
            elif op == "Slice":
                inits += [ints(f"a{i}", [1]), ints(f"b{i}", [2]), ints(f"x{i}", [int(rng.integers(0, 4))])]
                ins = [cur, f"a{i}", f"b{i}", f"x{i}"]
            elif op == "Resize":
                inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), f"r{i}"))
                ins = [cur, "", f"r{i}"]
            nodes.append(helper.make_node(op, ins, [out], name=f"/m{i}/{op}", **attrs))
            cur = out
        nodes.append(helper.make_node("Identity", [cur], ["y"], name="/out/Identity"))
        path = save(tmp_path, nodes, inits, name=f"soup{trial}.onnx")
        try:
            cnncalc.analyze(path)
        except CnncalcError as exc:
            assert exc.message


def test_shape_arithmetic_that_would_make_a_huge_tensor_is_not_evaluated(tmp_path):
    # ConstantOfShape of 10^12 elements: left unevaluated (one error naming the op), never allocated
    nodes = [helper.make_node("ConstantOfShape", ["dims"], ["big"], name="/big/ConstantOfShape"),
             helper.make_node("Add", ["x", "big"], ["y"], name="/Add")]
    path = save(tmp_path, nodes, [ints("dims", [10**6, 10**6])])
    with pytest.raises(SpecError) as err:
        cnncalc.analyze(path)
    assert "ConstantOfShape" in err.value.message
