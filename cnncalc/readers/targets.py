"""TARGETs: a PyTorch model named on the command line or in Python, imported as a spec.

    torchvision.models.resnet50            a dotted path to a callable that returns an nn.Module
    mypackage.models:Net                   the same, module and attribute apart
    path/to/model.py:Net                   a Python file and a callable in it (imported and run)
    timm:resnet50                          timm.create_model("resnet50", pretrained=False)
    torchvision:resnet50                   torchvision.models.get_model("resnet50", weights=None)

Stage: input edge, beside sources.py. `is_target` decides without importing anything heavy;
`import_target` imports torch and the model's package, builds the model on the meta device,
records it (readers/torch_module.py) and returns the spec text as a Source. The check that the
spec equals the model (params, FlopCounterMode, output shapes) is `Imported.check`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from cnncalc.errors import UsageError

_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+(:[A-Za-z_][\w.]*)?|[A-Za-z_]\w*:[A-Za-z_][\w.]*")
_FILE = re.compile(r".+\.py:[A-Za-z_][\w.]*")


def is_target(arg: str) -> bool:
    """Whether a SPEC argument names a model to import rather than a spec file or bundled name."""
    if arg.startswith(("timm:", "torchvision:")):
        return True
    if os.path.exists(arg) or arg.endswith((".yaml", ".yml", ".json")):
        return False
    if _FILE.fullmatch(arg):
        return True
    if not _DOTTED.fullmatch(arg):
        return False
    top = arg.split(":")[0].split(".")[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


@dataclass
class Imported:
    """An imported model: the spec text, and what the model says of itself for the check."""

    text: str
    target: str
    input: tuple[int, ...]
    params: int
    flops: int  # FlopCounterMode's total for one sample
    output_shapes: list[tuple[int, ...]]
    uncalled: list[tuple[str, int]] = field(default_factory=list)  # modules with parameters never called

    @property
    def dict(self) -> dict[str, Any]:
        """The spec as a dict (what `cnncalc.analyze` also takes)."""
        import yaml

        return yaml.safe_load(self.text)

    @property
    def file(self) -> str:
        """What error messages call the spec's text: <import TARGET>."""
        return f"<import {self.target}>"

    def check(self, analysis: Any) -> list[str]:
        """The differences between the spec's analysis and the model (empty: exact)."""
        out = []
        if analysis.totals.params != self.params:
            out.append(f"params: spec {analysis.totals.params:,}, model {self.params:,}")
            out.extend(f"  {name} ({n:,} params) is never called in an inference pass (a training-only branch?)"
                       for name, n in self.uncalled)
        flops = analysis.total_counted("torch")
        if flops != self.flops:
            out.append(f"FlopCounterMode FLOPs: spec {flops:,}, model {self.flops:,}")
        shapes = [tuple(shape) for _, shape in analysis.outputs]
        if shapes != self.output_shapes:
            out.append(f"output shapes: spec {shapes}, model {self.output_shapes}")
        return out


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        from cnncalc.torchcheck.install import torch_command

        raise UsageError(None, "importing a PyTorch model needs PyTorch", torch_command()) from None
    return torch


def _callable(target: str) -> tuple[Any, str]:
    """The callable a TARGET names, and how to say where it came from."""
    if target.startswith("timm:"):
        try:
            import timm
        except ImportError:
            raise UsageError(None, f"'{target}' needs timm: pip install timm") from None
        name = target[5:]
        return (lambda **kw: timm.create_model(name, pretrained=False, **kw)), f"timm {timm.__version__}, create_model"
    if target.startswith("torchvision:"):
        try:
            import torchvision
        except ImportError:
            from cnncalc.torchcheck.install import torchvision_command

            raise UsageError(None, f"'{target}' needs torchvision", torchvision_command(_torch())) from None
        name = target[12:]
        return ((lambda **kw: torchvision.models.get_model(name, **{"weights": None, **kw})),
                f"torchvision {torchvision.__version__}, models.get_model")
    if _FILE.fullmatch(target):
        path, attr = target.rsplit(":", 1)
        if not os.path.isfile(path):
            raise UsageError(None, f"no such file: '{path}'")
        name = "_cnncalc_import_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise UsageError(None, f"cannot import '{path}'")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # its own imports beside it
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UsageError(None, f"importing '{path}' failed: {type(exc).__name__}: {exc}") from None
        finally:
            sys.path.pop(0)
        return _attr(module, attr, target), path
    module_name, _, attr = target.partition(":")
    if not attr:
        module_name, _, attr = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise UsageError(None, f"cannot import '{module_name}': {type(exc).__name__}: {exc}") from None
    version = getattr(sys.modules.get(module_name.split(".")[0]), "__version__", None)
    return _attr(module, attr, target), f"{module_name.split('.')[0]} {version}" if version else module_name


def _attr(module: Any, attr: str, target: str) -> Any:
    value = module
    for part in attr.split("."):
        if not hasattr(value, part):
            from cnncalc.spec.expr import did_you_mean

            names = [n for n in dir(value) if not n.startswith("_")]
            raise UsageError(None, f"'{target}': no '{part}' in {getattr(value, '__name__', value)!s}",
                             did_you_mean(part, names) or "")
        value = getattr(value, part)
    if not callable(value):
        raise UsageError(None, f"'{target}' is not callable (a class or function that returns an nn.Module)")
    return value


def default_input(model: Any, target: str) -> tuple[int, ...] | None:
    """The input size the model is meant for, where it says: timm's default_cfg, torchvision's
    default weights' crop (and clip length for video)."""
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)
    if isinstance(cfg, dict) and cfg.get("input_size"):
        return tuple(int(v) for v in cfg["input_size"])
    size = getattr(model, "image_size", None)  # torchvision's ViT: the size it was built for
    if isinstance(size, int) and "torchvision" in type(model).__module__:
        return (3, size, size)
    if target.startswith("torchvision") or "torchvision" in type(model).__module__:
        try:
            import torchvision

            name = target.split(":", 1)[1] if target.startswith("torchvision:") else target.rsplit(".", 1)[-1]
            weights = torchvision.models.get_model_weights(name).DEFAULT
            transforms = weights.transforms()
            crop = transforms.crop_size
            crop = list(crop) if isinstance(crop, (list, tuple)) else [crop]
            if len(crop) == 1:
                crop = crop * 2
            video = "video" in type(model).__module__
            return (3, 16, *crop) if video else (3, *crop)
        except Exception:
            return None
    return None


def import_target(target: str, input_shape: tuple[int, ...] | None = None, kwargs: dict[str, Any] | None = None, *,
                  opaque: bool = False) -> Imported:
    """Build the model a TARGET names (on the meta device), record it and write its spec."""
    _torch()
    from cnncalc.readers.torch_module import build

    factory, where = _callable(target)
    try:
        model = build(factory, dict(kwargs or {}))
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(None, f"'{target}' failed to build the model: {type(exc).__name__}: {exc}") from None
    shape = tuple(input_shape) if input_shape else default_input(model, target)
    if shape is None:
        raise UsageError(None, f"'{target}': say the input size", "e.g. --input 3x224x224", param="input")
    header = [f"# imported by cnncalc from {target} ({where})" + (f", keyword args {kwargs}" if kwargs else ""),
              f"# input {'x'.join(map(str, shape))}; layer names are the module paths"]
    return import_model(model, shape, name=_spec_name(target), header=header, target=target, opaque=opaque)


def _spec_name(target: str) -> str:
    tail = re.split(r"[:.]", target.rstrip(":"))[-1] or "model"
    return re.sub(r"[^\w-]", "_", tail)


def import_model(model: Any, input_shape: tuple[int, ...], *, name: str = "model", header: list[str] | None = None,
                 target: str = "", opaque: bool = False) -> Imported:
    """Record an nn.Module on inputs of `input_shape` and write its spec (UsageError listing every
    call that cannot be mapped, unless opaque)."""
    torch = _torch()
    from cnncalc.readers.torch_module import Unsupported, spec_text

    tokens = _reads_ids(model, torch)
    try:
        text, rec = spec_text(model, tuple(input_shape), name=name, header=header, tokens=tokens, opaque=opaque)
    except Unsupported as exc:
        items = str(exc).split("; ")
        raise UsageError(None, f"{len(items)} kind{'s' if len(items) > 1 else ''} of call cannot be mapped to "
                         "cnncalc ops:\n  " + "\n  ".join(items),
                         "--opaque keeps each as a zero-cost layer with its shape (docs/import.md)") from None
    except Exception as exc:
        raise UsageError(None, f"running the model on a {'x'.join(map(str, input_shape))} input failed: "
                         f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                         "check --input (C x H x W, no batch)", param="input") from None
    return Imported(text, target or type(model).__name__, tuple(input_shape), rec.params_total, rec.flops,
                    rec.output_shapes, rec.uncalled)


def _reads_ids(model: Any, torch: Any) -> bool:
    """A model whose first module is an nn.Embedding reads token ids (the spec's `tokens: true`)."""
    first = next((m for m in model.modules() if not list(m.children())), None)
    return isinstance(first, torch.nn.Embedding)
