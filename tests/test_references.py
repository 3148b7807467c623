"""Hand-built bundled specs equal their public reference implementations.

The references' numbers (total params, output shape(s), FlopCounterMode multiply-adds of one
sample) are frozen in tests/data/reference_models.json by scripts/freeze_references.py, which
builds each reference model from a checkout given on its command line; none of their code is in
this repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc

DATA = json.loads((Path(__file__).parent / "data" / "reference_models.json").read_text())["models"]

REFERENCES = [  # every entry of the JSON, with the reference it was measured on
    "unet",             # milesial/Pytorch-UNet unet/unet_model.py UNet(3, 2, bilinear=False)
    "unet_bilinear",    # milesial/Pytorch-UNet unet/unet_model.py UNet(3, 2, bilinear=True)
    "pix2pix_unet256",  # junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py UnetGenerator(3, 3, 8, ngf=64)
    "dcgan_generator",  # pytorch/examples dcgan/main.py Generator(ngpu=1), nz=100, ngf=64, nc=3
    "m5",               # pytorch/tutorials ...speech_command_classification_with_torchaudio_tutorial.py M5(1, 35)
    "resnet50_fpn",     # torchvision resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=3)
    "kim_cnn",          # Shawn1993/cnn-text-classification-pytorch model.py CNN_Text(args), embed_num=18765, embed_dim=128, class_num=2
]


def test_every_frozen_reference_is_tested():
    assert sorted(DATA) == sorted(REFERENCES)


@pytest.mark.parametrize("name", REFERENCES)
def test_spec_equals_its_reference(name):
    ref = DATA[name]
    analysis = cnncalc.analyze(name)
    assert analysis.graph.source == ref["source"]  # the JSON was measured on the model the spec names
    assert list(analysis.graph.input_shape) == ref["input"]
    assert analysis.totals.params == ref["params"]
    assert [list(shape) for _, shape in analysis.outputs] == ref["outputs"]
    assert analysis.total_counted("torch") // 2 == ref["macs"]
