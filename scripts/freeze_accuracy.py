"""Freeze ImageNet-1K accuracy of the bundled specs into cnncalc/data/accuracy.json, for the
comparing-complexity chart (`cnncalc compare --plot`: top-1 against GMACs, bubble area = params).

    /path/to/venv-with-torchvision/bin/python scripts/freeze_accuracy.py

Where each figure comes from, in this order:
1. a spec paired with a torchvision model (tests/data/torchvision_reference.json) and not listed
   in PAPER below: torchvision's weights metadata, `meta["_metrics"]["ImageNet-1K"]`, of the
   weights evaluated at the spec's input size (IMAGENET1K_V1, the original recipe, when several
   are; a note when no weights match the size);
2. a spec that is a paper's network rather than torchvision's (PAPER): the paper's own figure,
   with the table it is in and how it was evaluated (10-crop figures are higher than 1-crop);
3. no ImageNet figure (NONE): left out of the chart, with the reason.
Every entry records its source, so `cnncalc compare --plot` can name the sources in a footnote.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "cnncalc" / "data" / "accuracy.json"

# spec -> (top-1 %, top-5 % or None, source). Figures copied from the papers' tables.
PAPER: dict[str, tuple[float, float | None, str]] = {
    "alexnet-2012": (59.3, 81.8, "Krizhevsky et al. 2012, Table 2: 1 CNN, 40.7% top-1 / 18.2% top-5 error "
                                 "(10 patches averaged)"),
    "zfnet": (62.5, 84.0, "Zeiler & Fergus 2013, Table 2: 1 convnet, layers 3-5 512-1024-512, 37.5% top-1 / "
                          "16.0% top-5 error"),
    "resnet50": (77.15, 93.29, "He et al. 2015, Table 3: ResNet-50, 22.85% top-1 / 6.71% top-5 error (10-crop)"),
    "resnet101": (78.25, 93.95, "He et al. 2015, Table 3: ResNet-101, 21.75% top-1 / 6.05% top-5 error (10-crop)"),
    "resnet152": (78.57, 94.29, "He et al. 2015, Table 3: ResNet-152, 21.43% top-1 / 5.71% top-5 error (10-crop)"),
    "inception_v4": (80.0, 95.0, "Szegedy et al. 2016 (Inception-v4), Table 2: 20.0% top-1 / 5.0% top-5 error "
                                 "(single crop)"),
    "mobilenet_v1": (70.6, None, "Howard et al. 2017, Table 8: 1.0 MobileNet-224, 70.6% top-1"),
    "se_resnet50": (76.71, 93.38, "Hu et al. 2018, Table 2: SE-ResNet-50, 23.29% top-1 / 6.62% top-5 error "
                                  "(single crop)"),
    "nasnet_a_mobile": (74.0, 91.6, "Zoph et al. 2018, Table 2: NASNet-A (4 @ 1056), 74.0% top-1 / 91.6% top-5"),
}

# spec -> how many crops of each test image the paper's figure averages (10: the 4 corners, the
# centre and their mirrors, about 1-2 points above one centre crop); unsaid: not stated in the table
CROPS: dict[str, int] = {"alexnet-2012": 10, "resnet50": 10, "resnet101": 10, "resnet152": 10, "inception_v4": 1,
                         "se_resnet50": 1}

# spec -> why it has no figure on the chart
NONE: dict[str, str] = {
    "lenet5": "a 32x32 digit classifier: no ImageNet accuracy",
    "googlenet": "Szegedy et al. 2014 report top-5 error only (Table 3: 1 model, 1 crop, 10.07%); "
                 "googlenet-tv has torchvision's top-1",
    "preact_resnet18": "He et al. 2016 report ImageNet results for ResNet-152 and -200 only",
    # video classifiers (Kinetics-400) and segmentation models (COCO-VOC): no ImageNet top-1
    **{name: "a Kinetics-400 video classifier: no ImageNet accuracy" for name in (
        "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s", "swin3d_b")},
    **{name: "a segmentation model (COCO with VOC's 20 classes): no ImageNet accuracy" for name in (
        "fcn_resnet50", "fcn_resnet101", "deeplabv3_resnet50", "deeplabv3_resnet101", "deeplabv3_mobilenet_v3_large",
        "lraspp_mobilenet_v3_large")},
    # hand-built networks (tests/data/reference_models.json): no ImageNet top-1
    "unet": "a segmentation network (milesial/Pytorch-UNet): no ImageNet accuracy",
    "unet_bilinear": "a segmentation network (milesial/Pytorch-UNet, bilinear): no ImageNet accuracy",
    "pix2pix_unet256": "an image-to-image GAN generator (pix2pix): no ImageNet accuracy",
    "dcgan_generator": "a GAN generator (DCGAN): no ImageNet accuracy",
    "m5": "a 1-D audio classifier (Speech Commands): no ImageNet accuracy",
    "resnet50_fpn": "a detection backbone (torchvision's ResNet-50 FPN): no ImageNet accuracy of its own",
    "kim_cnn": "a sentence classifier: no ImageNet accuracy",
}


def crop_size(weights) -> int | None:
    size = getattr(weights.transforms(), "crop_size", None)
    return size[0] if isinstance(size, (list, tuple)) else size


def from_torchvision(spec: str, model: str, height: int) -> dict:
    import torchvision.models as models

    candidates = list(models.get_model_weights(model))
    same_size = [w for w in candidates if crop_size(w) == height]
    pool = same_size or candidates
    weights = next((w for w in pool if w.name == "IMAGENET1K_V1"), pool[0])
    metrics = weights.meta["_metrics"]["ImageNet-1K"]
    source = f"torchvision {type(weights).__name__}.{weights.name}"
    if crop_size(weights) != height:
        source += f" (evaluated at {crop_size(weights)}x{crop_size(weights)}; the spec's input is {height}x{height})"
    return {"top1": metrics["acc@1"], "top5": metrics["acc@5"], "source": source,
            "weights": f"{type(weights).__name__}.{weights.name}", "crops": 1}  # one centre crop


def main() -> None:
    import torchvision

    sys.path.insert(0, str(ROOT))
    import cnncalc

    reference = json.loads((ROOT / "tests" / "data" / "torchvision_reference.json").read_text())["models"]
    entries: dict[str, dict] = {}
    for spec in cnncalc.architectures():
        if spec in PAPER:
            top1, top5, source = PAPER[spec]
            entries[spec] = {"top1": top1, "top5": top5, "source": source, "crops": CROPS.get(spec)}
        elif spec in NONE:
            entries[spec] = {"top1": None, "top5": None, "source": NONE[spec]}
        elif spec in reference:
            height = cnncalc.load(spec).input_shape[1]
            entries[spec] = from_torchvision(spec, reference[spec]["model"], height)
        else:
            raise SystemExit(f"{spec}: no accuracy source; add it to PAPER or NONE in {__file__}")
    data = {"what": "ImageNet-1K validation accuracy (%) of each bundled spec's network, and where it "
                    "comes from; written by scripts/freeze_accuracy.py",
            "torchvision": torchvision.__version__, "models": entries}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(e['top1'] is not None for e in entries.values())} of "
          f"{len(entries)} specs with a top-1 figure")


if __name__ == "__main__":
    main()
