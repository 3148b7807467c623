"""Freeze the numbers of the public reference implementations that hand-built bundled specs follow.

Some bundled specs are not torchvision models but networks people write by hand, each equal to one
public implementation named in its `source:` key (repository, file, class, commit):

  unet, unet_bilinear  milesial/Pytorch-UNet unet/unet_model.py UNet(3, 2, bilinear=False|True)
  pix2pix_unet256      junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py
                       UnetGenerator(3, 3, 8, ngf=64, norm_layer=BatchNorm2d(affine=True))
  dcgan_generator      pytorch/examples dcgan/main.py Generator(ngpu=1), nz=100, ngf=64, nc=3
  m5                   pytorch/tutorials intermediate_source/
                       speech_command_classification_with_torchaudio_tutorial.py M5(1, 35)
  resnet50_fpn         torchvision resnet_fpn_backbone(backbone_name="resnet50", weights=None,
                       trainable_layers=3)
  kim_cnn              Shawn1993/cnn-text-classification-pytorch model.py CNN_Text(args), args a
                       namespace of main.py's defaults (embed_dim=128, kernel_num=100,
                       kernel_sizes=[3, 4, 5], dropout=0.5, static=False) and of what main.py sets
                       from the data: embed_num=18765 (Kim's MR vocabulary), class_num=2

For each, this builds the reference model on the meta device (no weights), runs one sample of the
spec's input (int64 token ids, zeros, for a spec with `tokens: true`) under
torch.utils.flop_counter.FlopCounterMode and records total parameters
(sum of p.numel() over model.parameters()), the output shape(s) (a dict output: its values, in
order) and the multiply-adds (FlopCounterMode's total // 2) in tests/data/reference_models.json,
which tests/test_references.py compares with cnncalc's analysis. Nothing of the references is kept
in this repository (their licences differ; Pytorch-UNet is GPL-3.0): the code is read from the
paths given on the command line, which you check out yourself, e.g. under /tmp/refs. A class is
taken from its file without running the rest of the file (dcgan/main.py and the tutorial are
scripts that parse arguments and download data): the file is parsed, the class definition alone
is executed with the names it needs (torch, nn, F and dcgan's nz, ngf, nc).

Run (torch + torchvision; cnncalc importable), e.g.:

  /tmp/venv-tv/bin/python scripts/freeze_references.py --unet /tmp/refs/Pytorch-UNet \\
      --pix2pix /tmp/refs/pytorch-CycleGAN-and-pix2pix --dcgan /tmp/refs/examples --m5 /tmp/refs/m5.py \\
      --kim /tmp/refs/kim

--unet: a checkout of milesial/Pytorch-UNet (the folder that holds unet/); --pix2pix: a checkout of
junyanz/pytorch-CycleGAN-and-pix2pix (holds models/networks.py); --dcgan: a checkout of
pytorch/examples (holds dcgan/main.py); --m5: the tutorial's .py, or any file with its class M5;
--kim: a folder that holds Shawn1993/cnn-text-classification-pytorch's model.py (a checkout, or
model.py alone).
A reference whose path is not given keeps its entry from the existing JSON (resnet50_fpn needs only
torchvision and is always measured).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402

OUT = ROOT / "tests" / "data" / "reference_models.json"


def load_class(path: Path, name: str, namespace: dict):
    """The class `name` defined at the top level of the Python file `path`, its definition alone
    executed in `namespace` (the rest of the file, a training script, is not run)."""
    tree = ast.parse(path.read_text(), str(path))
    found = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name]
    if not found:
        raise SystemExit(f"{path}: no top-level class {name}")
    code = compile(ast.Module(body=found, type_ignores=[]), str(path), "exec")
    exec(code, namespace)  # the reference's own class definition, from a path the user gave
    return namespace[name]


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_names(torch) -> dict:
    return {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}


def unet_builders(torch, folder: Path) -> dict:
    sys.path.insert(0, str(folder))
    from unet import UNet  # milesial/Pytorch-UNet: unet/__init__.py imports UNet from unet/unet_model.py

    return {"unet": lambda: UNet(n_channels=3, n_classes=2, bilinear=False),
            "unet_bilinear": lambda: UNet(n_channels=3, n_classes=2, bilinear=True)}


def pix2pix_builders(torch, folder: Path) -> dict:
    networks = load_module(folder / "models" / "networks.py", "pix2pix_networks")
    # define_G(3, 3, 64, 'unet_256', norm='batch', use_dropout=False) without init_net's weight init
    return {"pix2pix_unet256": lambda: networks.UnetGenerator(
        3, 3, 8, 64, norm_layer=networks.get_norm_layer("batch"), use_dropout=False)}


def dcgan_builders(torch, folder: Path) -> dict:
    # dcgan/main.py's defaults: --nz 100 --ngf 64; nc = 3 for every dataset but mnist
    generator = load_class(folder / "dcgan" / "main.py", "Generator", {**torch_names(torch), "nz": 100, "ngf": 64, "nc": 3})
    return {"dcgan_generator": lambda: generator(ngpu=1)}


def m5_builders(torch, path: Path) -> dict:
    m5 = load_class(path, "M5", torch_names(torch))
    return {"m5": lambda: m5(n_input=1, n_output=35, stride=16, n_channel=32)}


def kim_builders(torch, folder: Path) -> dict:
    cnn_text = load_class(folder / "model.py", "CNN_Text", torch_names(torch))
    # main.py's defaults, kernel_sizes parsed as main.py does; embed_num and class_num are what
    # main.py takes from the data (len(text_vocab), len(label_vocab)): Kim's MR, 18765 words, 2 classes
    args = argparse.Namespace(embed_num=18765, embed_dim=128, class_num=2, kernel_num=100,
                              kernel_sizes=[3, 4, 5], dropout=0.5, static=False)
    return {"kim_cnn": lambda: cnn_text(args)}


def torchvision_builders(torch) -> dict:
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone

    return {"resnet50_fpn": lambda: resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=3)}


def measure(torch, build, input_shape, tokens: bool = False) -> dict:
    """params, output shape(s) and FlopCounterMode multiply-adds of one sample, on the meta device
    (token ids: int64 zeros)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = build().eval()
    if tokens:
        x = torch.zeros((1, *input_shape), dtype=torch.int64, device="meta")
    else:
        x = torch.empty((1, *input_shape), device="meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(x)
    outs = list(out.values()) if isinstance(out, dict) else [out]
    return {"params": sum(p.numel() for p in model.parameters()),
            "outputs": [list(o.shape[1:]) for o in outs],
            "macs": counter.get_total_flops() // 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unet", type=Path, help="a checkout of milesial/Pytorch-UNet")
    parser.add_argument("--pix2pix", type=Path, help="a checkout of junyanz/pytorch-CycleGAN-and-pix2pix")
    parser.add_argument("--dcgan", type=Path, help="a checkout of pytorch/examples")
    parser.add_argument("--m5", type=Path, help="the torchaudio speech-command tutorial's .py (or a file with its class M5)")
    parser.add_argument("--kim", type=Path, help="a folder with Shawn1993/cnn-text-classification-pytorch's model.py")
    args = parser.parse_args()

    import torch
    import torchvision

    builders = torchvision_builders(torch)
    if args.unet:
        builders.update(unet_builders(torch, args.unet))
    if args.pix2pix:
        builders.update(pix2pix_builders(torch, args.pix2pix))
    if args.dcgan:
        builders.update(dcgan_builders(torch, args.dcgan))
    if args.m5:
        builders.update(m5_builders(torch, args.m5))
    if args.kim:
        builders.update(kim_builders(torch, args.kim))

    models = json.loads(OUT.read_text())["models"] if OUT.exists() else {}
    for name, build in builders.items():
        graph = cnncalc.load(name)
        totals = measure(torch, build, graph.input_shape, tokens=graph.tokens)
        models[name] = {"source": graph.source, "input": list(graph.input_shape), **totals}
        shapes = ", ".join("x".join(map(str, s)) for s in totals["outputs"])
        print(f"{name:18} params {totals['params']:>12,}  macs {totals['macs']:>16,}  output {shapes}")
    kept = sorted(set(models) - set(builders))
    if kept:
        print(f"kept from {OUT.relative_to(ROOT)}: {', '.join(kept)}")
    data = {"generated_by": "scripts/freeze_references.py", "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "what": "params = sum of parameter numel; outputs = output shape(s) without the batch (a dict "
                    "output's values in order); macs = FlopCounterMode total // 2, for one sample of the "
                    "spec's input on the meta device, of the reference model named in `source`",
            "models": dict(sorted(models.items()))}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(models)} models)")


if __name__ == "__main__":
    main()
