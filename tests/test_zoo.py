"""The architecture zoo: torchvision-exact specs against torchvision, paper-exact specs against
their papers.

torchvision's numbers are frozen in tests/data/torchvision_reference.json by
scripts/freeze_torchvision.py, so they are checked even where torchvision is not installed;
where it is importable, they are recomputed live as well (and the frozen file must agree).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnncalc.sources import bundled_names
from tests.conftest import analyse_bundled

REFERENCE = json.loads((Path(__file__).parent / "data" / "torchvision_reference.json").read_text())

TORCHVISION_EXACT = [  # specs equal to torchvision's model of the same name (the `-tv` ones: of its name without -tv)
    "alexnet", "alexnet-tv", "convnext_base", "convnext_large", "convnext_small", "convnext_tiny",
    "densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6",
    "efficientnet_b7", "efficientnet_v2_l", "maxvit_t", "efficientnet_v2_m", "efficientnet_v2_s", "googlenet-tv",
    "inception_v3", "mc3_18", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2",
    "mobilenet_v3_large", "mobilenet_v3_small", "r2plus1d_18", "r3d_18", "regnet_x_1_6gf", "regnet_x_3_2gf", "regnet_x_8gf",
    "regnet_x_16gf", "regnet_x_32gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf",
    "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf", "regnet_y_128gf", "regnet_y_400mf", "regnet_y_800mf",
    "resnet18", "resnet34", "resnet50-tv", "resnet101-tv", "resnet152-tv", "resnext50_32x4d",
    "resnext101_32x8d", "resnext101_64x4d", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
    "shufflenet_v2_x2_0", "squeezenet1_0", "squeezenet1_1", "swin_b", "swin_s", "swin_t", "swin_v2_b",
    "swin_v2_s", "swin_v2_t", "vgg11", "vgg11-tv", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16-tv",
    "vgg16_bn", "vgg19", "vgg19_bn", "vit_b_16", "vit_b_32", "vit_h_14", "vit_l_16", "vit_l_32",
    "wide_resnet50_2", "wide_resnet101_2",
    # segmentation (3x520x520) and video (R3D, MC3, R(2+1)D at 3x16x112x112, S3D, Swin3D, MViT at
    # 3x16x224x224), issue 28
    "s3d", "swin3d_t", "swin3d_s", "swin3d_b", "mvit_v1_b", "mvit_v2_s",
    "fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
    "lraspp_mobilenet_v3_large",
]


def test_every_torchvision_classification_segmentation_and_video_model_is_exact():
    # torchvision 0.29: 80 classification models, 6 segmentation, 9 video: 95 models
    assert len({REFERENCE["models"][n]["model"] for n in TORCHVISION_EXACT}) == 80 + 6 + 9


def paired() -> list[str]:
    return [n for n in bundled_names() if analyse_bundled(n).graph.torchvision]


def conv_linear_macs(analysis) -> int:
    """The multiply-adds FlopCounterMode counts (conv, linear, matmul, attention): the torch profile / 2."""
    return analysis.total_counted("torch") // 2


def totals(analysis) -> dict:
    return {"params": analysis.totals.params, "output": list(analysis.rows[-1].output),
            "macs": conv_linear_macs(analysis)}


@pytest.mark.parametrize("name", TORCHVISION_EXACT)
def test_torchvision_exact_spec_exists_and_is_paired(name):
    graph = analyse_bundled(name).graph
    assert graph.torchvision and not graph.torchvision["differs"], name
    assert graph.description and graph.family


@pytest.mark.parametrize("name", paired())
def test_totals_against_frozen_torchvision(name):
    analysis = analyse_bundled(name)
    pairing = analysis.graph.torchvision
    assert name in REFERENCE["models"], "new pairing: rerun scripts/freeze_torchvision.py"
    ref = REFERENCE["models"][name]
    assert (ref["model"], ref["kwargs"], ref["input"]) == (pairing["model"], pairing["kwargs"],
                                                           list(analysis.graph.input_shape))
    theirs = {k: ref[k] for k in ("params", "output", "macs")}
    if pairing["differs"]:
        # a documented difference must be real (or the note should go) and never in the output
        assert totals(analysis) != theirs and totals(analysis)["output"] == theirs["output"]
    else:
        assert totals(analysis) == theirs


def _torchvision():
    try:
        import torch  # noqa: F401
        import torchvision
    except Exception:
        return None
    return torchvision


@pytest.mark.skipif(_torchvision() is None, reason="torchvision not importable beside this torch; "
                    "the frozen numbers are checked by test_totals_against_frozen_torchvision")
@pytest.mark.parametrize("name", paired())
def test_totals_against_live_torchvision(name):
    from cnncalc.torchcheck.against import torchvision_totals
    from cnncalc.torchcheck.run import import_torch

    analysis = analyse_bundled(name)
    pairing = analysis.graph.torchvision
    live = torchvision_totals(import_torch(), _torchvision(), pairing["model"], pairing["kwargs"],
                              analysis.graph.input_shape)
    frozen = REFERENCE["models"][name]
    assert live == {k: frozen[k] for k in ("params", "output", "macs")}, "stale: rerun scripts/freeze_torchvision.py"
    if not pairing["differs"]:
        assert totals(analysis) == live


# Paper-exact specs: the published figures, at the paper's own precision. "macs" is what the
# papers count: multiply-adds of conv and fully connected layers (pooling excluded) unless noted.
PAPERS = [
    # Howard et al. 2017, Table 8 "1.0 MobileNet-224": 569 million mult-adds, 4.2 million parameters
    pytest.param("mobilenet_v1", "params", 1e6, 1, 4.2, id="mobilenet_v1-params"),
    pytest.param("mobilenet_v1", "macs", 1e6, 0, 569, id="mobilenet_v1-macs"),
    # Hu et al. 2018 (SENet), Table 2: SE-ResNet-50 3.87 GFLOPs (multiply-adds, the SE global pools
    # included: conv + fc alone is 3.8605 G); ~28.1 M parameters (ResNet-50's 25.6 M + ~2.5 M)
    pytest.param("se_resnet50", "total_macs", 1e9, 2, 3.87, id="se_resnet50-gflops"),
    pytest.param("se_resnet50", "params", 1e6, 1, 28.1, id="se_resnet50-params"),
    # Zoph et al. 2018, Table 2, NASNet-A (4 @ 1056): 5.3 M parameters, 564 M mult-adds
    pytest.param("nasnet_a_mobile", "params", 1e6, 1, 5.3, id="nasnet_a_mobile-params"),
    pytest.param("nasnet_a_mobile", "macs", 1e6, 0, 564, id="nasnet_a_mobile-macs"),
    # He et al. 2016 (identity mappings): the ResNet-18 layout, 1.8 G FLOPs as in He et al. 2015
    # Table 1; 11.7 M parameters (ResNet-18's convs and fc; 17 batch norms instead of 20)
    pytest.param("preact_resnet18", "macs", 1e9, 1, 1.8, id="preact_resnet18-gflops"),
    pytest.param("preact_resnet18", "params", 1e6, 1, 11.7, id="preact_resnet18-params"),
    # Szegedy et al. 2016 give no count for Inception-v4; the reference port (Cadene's
    # pretrainedmodels inceptionv4 = timm inception_v4) has 42,679,816 parameters
    pytest.param("inception_v4", "params", 1, 0, 42_679_816, id="inception_v4-params"),
]


@pytest.mark.parametrize(("name", "what", "unit", "digits", "published"), PAPERS)
def test_paper_exact_specs(name, what, unit, digits, published):
    analysis = analyse_bundled(name)
    value = {"params": analysis.totals.params, "macs": conv_linear_macs(analysis),
             "total_macs": analysis.totals.macs}[what]
    assert round(value / unit, digits) == published, value


def test_preact_resnet18_parameters_by_hand():
    # ResNet-18's 11,689,512 parameters minus the batch norms pre-activation drops: 20 BNs with
    # 4,800 channels in all (9,600 params) become 17 with 3,904 channels (7,808): 11,689,512 - 1,792
    assert analyse_bundled("preact_resnet18").totals.params == 11_689_512 - 1_792
