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

TORCHVISION_EXACT = [
    "alexnet-tv", "vgg11_bn", "vgg16_bn", "googlenet-tv", "resnet50-tv", "resnet101-tv", "resnet152-tv",
    "wide_resnet50_2", "resnext50_32x4d", "densenet121", "densenet169", "densenet201", "mobilenet_v2",
    "mobilenet_v3_small", "mobilenet_v3_large", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1",
    "inception_v3", "efficientnet_b0",
]


def paired() -> list[str]:
    return [n for n in bundled_names() if analyse_bundled(n).graph.torchvision]


def conv_linear_macs(analysis) -> int:
    return sum(r.macs for r in analysis.rows if r.node.op.torch_counts_macs)


def totals(analysis) -> dict:
    return {"params": analysis.totals.params(), "output": list(analysis.rows[-1].output),
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
