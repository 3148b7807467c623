"""The library's results: every command's answer as a cnncalc.* call (Analysis.memory, max_batch,
explain, receptive_fields, plot; cnncalc.compare, sweep, verify), each `to_dict()` the very
document its command prints with --format json, and the CLI a thin layer over them."""

from __future__ import annotations

import json

import pytest

import cnncalc
from cnncalc.engine.memory import training_memory
from tests.conftest import run_cli

# ---- to_dict() is the command's document, byte for byte ------------------------------------------

TABLE_CASES = [
    ("alexnet", {}, {}, []),
    ("resnet50-tv", {"batch": 8, "dtype": "bfloat16"}, {"convention": "fvcore", "params": "weights"},
     ["--batch", "8", "--dtype", "bfloat16", "--convention", "fvcore", "--params", "weights"]),
    ("vit_b_16", {}, {"rf": False, "convention": "torch"}, ["--flops", "flops"]),
]


@pytest.mark.parametrize(("spec", "analysis", "options", "flags"), TABLE_CASES)
def test_table_document(spec, analysis, options, flags):
    out = run_cli("table", spec, *flags, "--format", "json").stdout
    a = cnncalc.analyze(spec, **analysis)
    assert a.render("json", **options) == out
    assert a.to_dict(**options) == json.loads(out)


MEMORY_CASES = [
    ("alexnet", {}, {}, []),
    ("resnet50-tv", {"batch": 64}, {"optimizer": "adamw", "amp": "bfloat16", "checkpoint": 4, "gpu_memory": "24GB",
                                    "max_batch": True, "reserve": "1GB"},  # the CLI's default --reserve
     ["--batch", "64", "--optimizer", "adamw", "--amp", "bfloat16", "--checkpoint", "4", "--gpu-memory", "24GB",
      "--max-batch"]),
    ("vit_b_16", {"batch": 2}, {"optimizer": "sgd", "device": "cuda", "amp": "float16"},
     ["--batch", "2", "--optimizer", "sgd", "--device", "cuda", "--amp", "float16"]),
]


@pytest.mark.parametrize(("spec", "analysis", "options", "flags"), MEMORY_CASES)
def test_memory_document(spec, analysis, options, flags):
    out = run_cli("memory", spec, *flags, "--format", "json").stdout
    m = cnncalc.analyze(spec, **analysis).memory(**options)
    assert m.render("json") == out
    assert m.to_dict() == json.loads(out)
    assert m.peak.training == sum(m.parts) and isinstance(m.peak.training, int)


def test_compare_document():
    specs = ["alexnet-2012", "vgg16", "resnet50-tv"]
    out = run_cli("compare", *specs, "--batch", "2", "--optimizer", "sgd", "--convention", "ptflops",
                  "--format", "json").stdout
    c = cnncalc.compare(specs, batch=2, optimizer="sgd", convention="ptflops")
    assert c.render("json") == out and c.to_dict() == json.loads(out)
    # the published totals: VGG-16 138,357,544 params; torchvision's resnet50 25,557,032
    assert [r["params"] for r in c.rows][1:] == [138_357_544, 25_557_032]
    for fmt in ("csv", "markdown", "latex", "html"):
        assert c.render(fmt) == run_cli("compare", *specs, "--batch", "2", "--optimizer", "sgd", "--convention",
                                        "ptflops", "--format", fmt).stdout


def test_sweep_document():
    out = run_cli("sweep", "resnet50", "--input", "3x128x128..3x256x256/64", "--batch", "4",
                  "--format", "json").stdout
    s = cnncalc.sweep("resnet50", input=[(3, 128, 128), (3, 192, 192), (3, 256, 256)], batch=4)
    assert s.render("json") == out and s.to_dict() == json.loads(out)
    out = run_cli("sweep", "vgg11", "--set", "classes=10,100", "--format", "json").stdout
    s = cnncalc.sweep("vgg11", args={"classes": [10, 100]})
    assert s.render("json") == out
    # the classifier's last linear: 4096 * classes + classes parameters, the rest unchanged
    assert s.rows[1]["params"] - s.rows[0]["params"] == (4096 + 1) * (100 - 10)


def test_verify_document():
    pytest.importorskip("torch")
    out = run_cli("verify", "lenet5", "--device", "meta", "--format", "json")
    v = cnncalc.verify("lenet5", device="meta")
    assert out.exit_code == 0 and v.ok
    assert v.to_dict() == json.loads(out.stdout) and v.render("json") == out.stdout


def test_rich_render_is_the_command_at_the_same_width():
    # resnet152 folds to its blocks in a terminal: the library decides it in the same place
    for width in (80, 120):
        out = run_cli("table", "resnet152", env={"COLUMNS": str(width)}).stdout
        text = cnncalc.analyze("resnet152").render("rich", width=width)
        assert text == out
        assert len(text.splitlines()) < 80  # 360 layers folded (ResNet-152 has 50 bottleneck blocks)
    m = cnncalc.analyze("resnet50").memory(gpu_memory="24GB", max_batch=True, reserve="1GB")  # the CLI reserves 1 GiB
    assert m.render("rich", width=100) == run_cli("memory", "resnet50", "--gpu-memory", "24GB", "--max-batch",
                                                  env={"COLUMNS": "100"}).stdout


# ---- max batch: solved, exact, one analysis ---------------------------------------------------

def test_max_batch_by_hand():
    # input 1x2x2 float32 (16 B a sample, held throughout), flatten (a view of the input), linear
    # 4 -> 1 (5 params, 20 B). SGD: no state, no temporaries. The linear saves its input, the batch
    # itself. The peak is the linear's backward: its output's gradient (4 B a sample) and its
    # parameters' gradients (20 B); the input needs no gradient. Peak(b) = 40 + 20 b: 400 B fit 18.
    tiny = "name: tiny\ninput: [1, 2, 2]\nlayers:\n  - flatten\n  - linear: {out: 1}\n"
    a = cnncalc.analyze(tiny)
    assert [cnncalc.analyze(tiny, batch=b).memory(optimizer="sgd").peak.training for b in (1, 2, 10)] == \
        [40 + 20, 40 + 40, 40 + 200]
    assert a.max_batch(400, optimizer="sgd") == 18
    assert a.max_batch(399, optimizer="sgd") == 17
    assert a.max_batch(59, optimizer="sgd") == 0  # not even batch 1 (60 B)


@pytest.mark.parametrize(("spec", "options"), [
    ("alexnet", {}),
    ("resnet50-tv", {"amp": "bfloat16"}),
    ("resnet50-tv", {"checkpoint": 4, "optimizer": "sgd"}),
    ("vit_b_16", {"amp": "float16", "checkpoint": 3}),
    ("vgg16", {"checkpoint": 6, "device": "cpu"}),
])
@pytest.mark.parametrize("gpu", ["8GB", "80GB"])
def test_max_batch_is_the_last_batch_that_fits(spec, options, gpu):
    # the solved batch fits and the next one does not, each evaluated as its own analysis
    options = {"optimizer": "adam", "device": "cuda", **options}
    capacity = int(gpu[:-2]) * 2**30
    best = cnncalc.analyze(spec).max_batch(gpu, **options)

    def peak(b):
        o = dict(options)
        return training_memory(cnncalc.analyze(spec, batch=b), o.pop("optimizer"), o.pop("device"),
                               o.get("amp"), o.get("checkpoint"))["total"]

    assert best > 0 and peak(best) <= capacity < peak(best + 1)


def test_max_batch_builds_one_graph(monkeypatch):
    # `memory --max-batch` at 80 GB: the graph is built and analysed once, whatever the budget
    import cnncalc.engine.analysis as counting
    import cnncalc.graph as graph

    calls = {"build": 0, "analyze": 0}
    build, analyze = graph.build_graph, counting.analyze

    def counted(name, func):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return func(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(graph, "build_graph", counted("build", build))
    monkeypatch.setattr(counting, "analyze", counted("analyze", analyze))
    result = run_cli("memory", "resnet50.yaml", "--gpu-memory", "80GB", "--max-batch", "--format", "json")
    assert calls == {"build": 1, "analyze": 1}
    assert json.loads(result.stdout)["max_batch"] > 600
    assert result.stderr.count("note:") == 1  # the bundled fallback is said once, not per probe


# ---- the other products --------------------------------------------------------------------

def test_explain_receptive_fields_and_reprs():
    a = cnncalc.analyze("alexnet")
    text = a.explain("conv1")
    # EECS 498: 64 filters of 3x11x11 on 56x56 outputs: 64 * 56 * 56 * 363 = 72,855,552 multiply-adds
    assert "72,855,552" in text and repr(text) == str(text) and "<pre>" in text._repr_html_()
    fields = a.receptive_fields()
    assert fields["conv1"].size == (11, 11) and fields["conv1"].jump == (4, 4)
    assert fields["pool1"].size == (11 + 2 * 4, 11 + 2 * 4)  # a 3x3 window at jump 4 adds 2 x 4
    m = a.memory()
    assert "training peak" in m._repr_html_() and "alexnet" in repr(m)
    assert "<table" in a._repr_html_()
    c = cnncalc.compare(["alexnet", "lenet5"])
    assert "comparing complexity" in c._repr_html_()


def test_plots_from_the_library(tmp_path):
    pytest.importorskip("matplotlib")
    a = cnncalc.analyze("lenet5")
    assert a.plot(tmp_path / "bars.svg").read_text().startswith("<?xml")
    path = cnncalc.sweep("lenet5", batch=[1, 2, 4]).plot(tmp_path / "sweep.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    path = cnncalc.compare(["alexnet-2012", "vgg16"]).plot(tmp_path / "cmp.svg", y="memory")
    assert path.stat().st_size > 1000
    with pytest.raises(cnncalc.UsageError, match="image format"):
        a.plot(tmp_path / "bars.txt")


def test_results_as_dataframes():
    results = [cnncalc.compare(["alexnet", "lenet5"]), cnncalc.sweep("lenet5", batch=[1, 2])]
    try:
        import pandas  # noqa: F401
    except ImportError:
        for r in results:
            with pytest.raises(cnncalc.UsageError, match=r"pip install 'cnncalc\[pandas\]'"):
                r.to_dataframe()
        return
    for r in results:
        frame = r.to_dataframe()
        assert list(frame["params"]) == [row["params"] for row in r.rows]


# ---- errors speak the library's words; the CLI names its flags ----------------------------------

@pytest.mark.parametrize(("call", "library", "cli", "cli_text"), [
    (lambda: cnncalc.analyze("vgg11", args={"clases": 10}), "the spec has no argument 'clases'",
     ["table", "vgg11", "--set", "clases=10"], "--set clases: the spec has no argument 'clases'"),
    (lambda: cnncalc.analyze("resnet50").memory(checkpoint=99), "checkpoint=99: resnet50 can be cut into at most",
     ["memory", "resnet50", "--checkpoint", "99"], "--checkpoint 99: resnet50 can be cut into at most"),
    (lambda: cnncalc.analyze("resnet50").memory(gpu_memory="24XB"), "gpu_memory='24XB' is not a size",
     ["memory", "resnet50", "--gpu-memory", "24XB"], "--gpu-memory '24XB' is not a size"),
    (lambda: cnncalc.analyze("vgg16", limits={"layers": 5}), "(limit 'layers' is 5)",
     ["table", "vgg16", "--limit", "layers=5"], "(limit layers=5)\n"),
    (lambda: cnncalc.analyze("alexnet", input=(227, 227, 3)), "pass input=(3, 227, 227), or layout='hwc'",
     ["table", "alexnet", "--input", "227x227x3"], "write --input 3x227x227, or add --layout hwc"),
    (lambda: cnncalc.sweep("vgg11", args={"classes": [10, 0]}), "at classes 0:",
     ["sweep", "vgg11", "--set", "classes=10,0"], "at --set classes 0:"),
])
def test_errors_name_the_argument_in_the_library_and_the_flag_in_the_cli(call, library, cli, cli_text):
    with pytest.raises(cnncalc.CnncalcError) as err:
        call()
    assert library in str(err.value) and "--" not in str(err.value)
    result = run_cli(*cli)
    assert result.exit_code == 2 and cli_text in result.stderr and "Traceback" not in result.stderr


def test_user_errors_of_the_memory_model_are_usage_errors():
    with pytest.raises(cnncalc.UsageError, match="amp=bfloat16 runs a float32 model"):
        cnncalc.analyze("lenet5", dtype="float16").memory(amp="bfloat16")
    with pytest.raises(cnncalc.UsageError, match="segments must be a positive integer"):
        cnncalc.analyze("lenet5").memory(checkpoint=0)
    with pytest.raises(cnncalc.UsageError, match="did you mean 'adam'"):
        cnncalc.analyze("lenet5").memory(optimizer="adma")
    with pytest.raises(cnncalc.UsageError, match="max_batch needs gpu_memory"):
        cnncalc.analyze("lenet5").memory(max_batch=True)
    with pytest.raises(cnncalc.UsageError, match="sweep one axis at a time"):
        cnncalc.sweep("lenet5", batch=[1, 2], input=[(1, 32, 32), (1, 64, 64)])
    with pytest.raises(cnncalc.UsageError, match="nothing to sweep"):
        cnncalc.sweep("lenet5")


# ---- thread safety ----------------------------------------------------------------------------

def test_library_calls_leave_process_state_alone(monkeypatch):
    import gc

    def refuse() -> None:
        raise AssertionError("a library call switched the cyclic garbage collector off")

    monkeypatch.setattr(gc, "disable", refuse)
    assert cnncalc.analyze("resnet18").totals.params == 11_689_512  # the ResNet paper's, torchvision's count
    from cnncalc.spec.expr import _parse

    assert _parse.cache_info().maxsize is not None  # bounded for the life of `cnncalc serve`


def test_threads_get_the_same_numbers():
    from concurrent.futures import ThreadPoolExecutor

    names = ["alexnet", "vgg16", "resnet50-tv", "vit_b_16"] * 3
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda n: cnncalc.analyze(n).memory().peak.training, names))
    assert got == [cnncalc.analyze(n).memory().peak.training for n in names]
