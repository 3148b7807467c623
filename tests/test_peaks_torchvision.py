"""The training and inference peaks of torchvision's own models, measured live (tests/
memory_reference.py, the live tensor storages) against the liveness walk for the paired spec.
The nine models of tests/data/training_peaks.json are checked there, frozen; these are small
paired models of the other families, run where torchvision imports (CI's second environment),
skipping cleanly elsewhere."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision", exc_type=ImportError)

import cnncalc  # noqa: E402
from cnncalc.engine.memory import inference_peak, training_model  # noqa: E402
from tests.memory_reference import measure_inference_peak, measure_training_peak  # noqa: E402

SPECS = ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x1_0", "squeezenet1_1", "mnasnet0_5",
         "googlenet-tv"]
BATCH = 2


def _model(name):
    pairing = cnncalc.load(name).torchvision
    assert not pairing["differs"], f"{name} is another network than torchvision's on purpose"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(pairing["model"], weights=None, **pairing["kwargs"])


@pytest.mark.parametrize("amp", [None, "bfloat16"])
@pytest.mark.parametrize("name", SPECS)
def test_training_peak_of_torchvisions_model(name, amp):
    analysis = cnncalc.analyze(name, batch=BATCH)
    x = torch.randn(BATCH, *analysis.graph.input_shape)
    measured = measure_training_peak(_model(name), x, "adam", amp=amp, label_saved=False)
    predicted = training_model(analysis, "adam", "cpu", amp).peak(BATCH).at(BATCH)
    assert 0.97 <= predicted / measured.peak <= 1.03, (predicted, measured.peak, measured.place)


@pytest.mark.parametrize("name", SPECS)
def test_inference_peak_of_torchvisions_model(name):
    analysis = cnncalc.analyze(name)
    measured = measure_inference_peak(_model(name), torch.randn(1, *analysis.graph.input_shape))
    predicted = inference_peak(analysis, None, "cpu").at(1)
    assert 0.97 <= predicted / measured.peak <= 1.03, (predicted, measured.peak, measured.place)
