"""Importing PyTorch models (cnncalc/readers/): `cnncalc import`, cnncalc.to_spec, cnncalc.analyze(module).

Every expected number comes from the model itself (sum of p.numel(), FlopCounterMode, the output
shapes its forward pass returns: Imported.check), from torchvision's frozen numbers, or from
arithmetic written here. The hand-written models are in tests/import_models.py; torchvision's
round trip runs where torchvision imports (CI's second environment)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from tests import import_models as models  # noqa: E402
from tests.conftest import run_cli  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = str(HERE / "import_models.py")


def imported(model, shape):
    spec = cnncalc.to_spec(model, input=shape)
    analysis = cnncalc.analyze(spec.text)
    return spec, analysis


@pytest.mark.parametrize(("cls", "shape"), [
    (models.Functional, (3, 32, 32)), (models.Loop, (3, 16, 16)), (models.TwoHeads, (3, 16, 16)),
    (models.Shared, (3, 8, 8)), (models.TextCNN, (20,)), (models.Decoder, (3, 16, 16)),
])
def test_hand_written_models_import_exactly(cls, shape):
    torch.manual_seed(0)
    model = cls()
    spec, analysis = imported(model, shape)
    assert spec.check(analysis) == []  # params, FlopCounterMode's FLOPs, every output shape
    assert spec.params == sum(p.numel() for p in model.parameters())


def test_functional_calls_keep_how_they_were_called():
    # F.relu -> call: function (ptflops' patched F sees it), x.mean((2, 3)) -> a method global pool
    _, analysis = imported(models.Functional(), (3, 32, 32))
    rows = {r.name: r for r in analysis.rows}
    assert rows["relu"].node.op.call == "function"
    assert rows["max_pool2d"].type == "maxpool" and rows["max_pool2d"].node.op.call == "function"
    assert rows["cat"].type == "concat" and rows["add"].type == "add"
    # Functional by hand: stem 3*16*9 = 432, bn 32, left 16*8 + 8 = 136, right 16*8*9 + 8 = 1,160,
    # mix 16*16 + 16 = 272, fc 16*10 + 10 = 170: 2,202
    assert analysis.totals.params == 432 + 32 + 136 + 1_160 + 272 + 170 == 2_202


def test_a_loop_and_a_python_if_record_what_ran():
    # Loop at 16 x 16: the `if` pools (16 > 8); the ModuleList walked in the loop keeps its name
    _, analysis = imported(models.Loop(), (3, 16, 16))
    assert any(r.type == "avgpool" for r in analysis.rows)
    assert [r.name for r in analysis.rows if r.type == "conv"] == ["stem", "blocks.0.0", "blocks.1.0", "blocks.2.0"]  # module paths
    small, _ = imported(models.Loop(), (3, 8, 8))  # 8 is not > 8: no pool
    assert "- avgpool" not in small.text


def test_a_module_called_twice_shares_its_parameters():
    spec, analysis = imported(models.Shared(), (3, 8, 8))
    assert "shares: conv" in spec.text
    rows = {r.name: r for r in analysis.rows}
    # conv 8 -> 8, 3 x 3: 8*8*9 + 8 = 584 params, counted once; 8*8*8*8*9 = 36,864 MACs a call
    assert (rows["conv"].params, rows["conv_1"].params) == (584, 0)
    assert rows["conv"].macs == rows["conv_1"].macs == 36_864


def test_a_dict_output_is_every_output():
    spec, analysis = imported(models.TwoHeads(), (3, 16, 16))
    assert [shape for _, shape in analysis.outputs] == [(4, 8, 8), (3,)]
    assert "outputs: [seg, cls.2]" in spec.text


def test_token_ids_in():
    spec, analysis = imported(models.TextCNN(), (20,))
    assert "tokens: true" in spec.text and analysis.graph.tokens


def test_what_cannot_be_mapped_is_listed_at_once():
    with pytest.raises(cnncalc.UsageError) as err:
        cnncalc.to_spec(models.Unmappable(), input=(3, 8, 8))
    assert "torch.sort at (model)" in str(err.value)


def test_opaque_keeps_what_cannot_be_mapped_as_a_zero_cost_layer():
    result = run_cli("import", f"{MODELS}:Unmappable", "--input", "3x8x8", "--opaque")
    assert result.exit_code == 0, result.output
    assert "opaque: {name: sort, shape: [4, 6, 6], what: torch.sort}" in result.stdout
    assert "cannot count kept as `opaque`" in result.stderr
    analysis = cnncalc.analyze(result.stdout)
    # conv 3 -> 4, 3 x 3: 3*4*9 + 4 = 112 params; 4*6*6*27 = 3,888 MACs; the sort: 0
    assert (analysis.totals.params, analysis.totals.macs) == (112, 3_888)


def test_analyze_takes_a_module():
    model = models.Functional()
    analysis = cnncalc.analyze(model, input=(3, 32, 32))
    assert analysis.totals.params == sum(p.numel() for p in model.parameters())
    with pytest.raises(cnncalc.UsageError, match="input size"):
        cnncalc.analyze(model)


def test_cli_import_writes_the_spec_and_says_it_is_exact(tmp_path):
    out = tmp_path / "net.yaml"
    result = run_cli("import", f"{MODELS}:Functional", "--input", "3x32x32", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "✓" in result.stderr and out.read_text().startswith("# imported by cnncalc from")
    assert run_cli("table", str(out)).exit_code == 0
    assert cnncalc.analyze(str(out)).totals.params == 2_202  # as test_functional_calls_keep_how_they_were_called


def test_cli_import_keyword_arguments_and_stdout():
    result = run_cli("import", f"{MODELS}:Loop", "--input", "3x16x16", "--kw", "depth=5")
    assert result.exit_code == 0, result.output
    analysis = cnncalc.analyze(result.stdout)
    assert sum(r.type == "conv" for r in analysis.rows) == 1 + 5


def test_every_command_takes_a_target():
    result = run_cli("table", f"{MODELS}:Decoder", "--input", "3x16x16")
    assert result.exit_code == 0, result.output
    assert "up" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    ([f"{MODELS}:Unmappable", "--input", "3x8x8"], "torch.sort"),
    ([f"{MODELS}:Nope", "--input", "3x8x8"], "no 'Nope'"),
    (["no/such/file.py:Net", "--input", "3x8x8"], "no such file"),
    ([f"{MODELS}:Functional"], "say the input size"),
    ([f"{MODELS}:Functional", "--input", "3x1x1"], "failed"),
])
def test_cli_import_errors_exit_2_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "net.yaml"
    result = run_cli("import", *args, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not out.exists()


# ---- torchvision's models, where torchvision imports -------------------------------------------

REFERENCE = json.loads((HERE / "data" / "torchvision_reference.json").read_text())["models"]
TOOLS = json.loads((HERE / "data" / "tool_reference.json").read_text())["specs"]
PROFILES = ("torch", "fvcore", "ptflops", "torchinfo", "thop")


def _torchvision():
    try:
        import torchvision
    except Exception:
        pytest.skip("torchvision not importable beside this torch; CI's second environment runs these")
    return torchvision


def _exact_specs() -> list[str]:
    from tests.test_zoo import TORCHVISION_EXACT

    return TORCHVISION_EXACT


# known: torchvision's inception_v3 has an auxiliary head its eval pass never calls (the check
# names it; --kw aux_logits=false imports it exactly: test_inception_without_its_aux_head)
KNOWN = {"inception_v3": "AuxLogits (3,326,696 params) is never called"}


@pytest.mark.parametrize("name", _exact_specs())
def test_torchvision_models_import_exactly_and_equal_the_bundled_spec(name):
    torchvision = _torchvision()
    from cnncalc.readers.targets import import_model
    from cnncalc.readers.torch_module import build

    ref = REFERENCE[name]
    model = build(torchvision.models.get_model, {"name": ref["model"], "weights": None, **ref["kwargs"]})
    try:
        spec = import_model(model, tuple(ref["input"]), name=ref["model"])
    except cnncalc.UsageError as exc:
        assert ref["model"] in KNOWN and KNOWN[ref["model"]] in str(exc), str(exc)
        return
    analysis = cnncalc.analyze(spec.text)
    problems = spec.check(analysis)
    if ref["model"] in KNOWN:
        assert any(KNOWN[ref["model"]] in p for p in problems), problems
        return
    assert problems == []
    # the frozen torchvision numbers agree (params, output, FlopCounterMode / 2)
    assert analysis.totals.params == ref["params"] and analysis.total_counted("torch") // 2 == ref["macs"]
    # layer by layer, the bundled spec and the imported one have the same weight layers: the
    # same (params, FlopCounterMode count, output shape) for every layer that has either
    bundled = cnncalc.analyze(name)

    def layers(a):
        counted = a.counted("torch")
        return sorted((r.params, c, tuple(r.output)) for r, c in zip(a.rows, counted) if r.params or c)

    assert layers(analysis) == layers(bundled)
    # and every counting tool's profile equals what the tool itself reports on torchvision's model
    # (tests/data/tool_reference.json, frozen by scripts/freeze_tools.py): the calls kept their style
    tools = TOOLS.get(name)
    if tools is not None:
        assert {p: analysis.total_counted(p) for p in PROFILES} == {p: tools[p] for p in PROFILES}


def test_an_imported_resnet50_reads_like_the_bundled_one():
    torchvision = _torchvision()
    spec = cnncalc.to_spec("torchvision.models.resnet50")
    written = [line for line in spec.text.splitlines() if not line.startswith("#")]
    bundled = (HERE.parent / "architectures" / "resnet50-tv.yaml").read_text().splitlines()
    assert len(written) <= 1.5 * len(bundled)
    assert "layer1: {name: layer1" in spec.text or "- Sequential: {name: layer1" in spec.text
    assert torchvision.__version__.split("+")[0] in spec.text


def test_inception_without_its_aux_head_is_exact():
    _torchvision()
    spec = cnncalc.to_spec("torchvision:inception_v3", kwargs={"aux_logits": False, "init_weights": False})
    assert spec.check(cnncalc.analyze(spec.text)) == []
    # torchvision's default model less its auxiliary head: 27,161,264 - 3,326,696
    assert spec.params == REFERENCE["inception_v3"]["params"] - 3_326_696 == 23_834_568


# timm: the families tried in issue 29 that import exactly (docs/import.md); run where timm
# imports (CI's second environment installs it), skipped cleanly elsewhere
TIMM = ["resnet50", "resnext50_32x4d", "seresnet50", "resnet50d", "ecaresnet50d", "resnest14d", "res2net50_26w_4s",
        "resnetv2_50", "efficientnet_b0", "tf_efficientnet_b0", "efficientnetv2_rw_t", "mixnet_s",
        "mobilenetv2_100", "mobilenetv3_large_100", "mobilenetv4_conv_small", "mnasnet_100", "lcnet_050",
        "ghostnet_100", "convnext_tiny", "regnety_016", "regnetz_b16", "dla34", "dpn68", "hrnet_w18_small",
        "inception_v3", "inception_v4", "xception41", "cspresnet50", "cspdarknet53", "repvgg_a2", "densenet121",
        "ese_vovnet19b_dw", "rexnet_100", "selecsls42b", "vit_small_patch16_224", "deit_small_patch16_224",
        "pit_ti_224", "mobilevitv2_050", "poolformer_s12", "convmixer_768_32", "mixer_b16_224", "fastvit_t8"]


@pytest.mark.parametrize("name", TIMM)
def test_timm_models_import_exactly(name):
    pytest.importorskip("timm")
    spec = cnncalc.to_spec(f"timm:{name}")
    assert spec.check(cnncalc.analyze(spec.text)) == []
