"""The library: cnncalc.analyze(), compare(), sweep(), verify(), load(); the pipeline is put
together here and only here (the CLI, the tests and the scripts all come through it).

Stage: the public edge of the pure core. In: a spec (bundled name, path, YAML text, dict) and
options as Python values. Out: a Graph, or a result of cnncalc/results.py (Analysis, whose
memory() and max_batch() answer training questions; Comparison; Sweep; Verification). It
raises CnncalcError subclasses (SpecError with file, line and column) and never prints or
exits; no process-wide state is touched, so threads may call it at once (`cnncalc serve`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from cnncalc.errors import CnncalcError, Limits, UsageError

if TYPE_CHECKING:
    from cnncalc.dtypes import Dtype
    from cnncalc.graph import Graph
    from cnncalc.results import Analysis, Comparison, Sweep, Verification
    from cnncalc.sources import Source

SpecLike = Union[str, "os.PathLike[str]", Mapping[str, Any], "Source", "Graph", Any]  # Any: an nn.Module


def resolve(spec: SpecLike, limits: Limits = Limits(), input: Sequence[int] | None = None) -> Source:
    """Where a spec's text comes from: a bundled name (`alexnet`), a path, YAML text (anything
    with a newline or a colon that is not a file), a dict (written out as YAML, so an error
    quotes the offending line of that text), or a PyTorch model: an nn.Module, or a TARGET
    naming one (`torchvision.models.resnet50`, `timm:resnet50`, `model.py:Net`), imported on
    `input` (docs/import.md)."""
    from cnncalc.sources import Source, find, imported, is_target, onnx_source

    if isinstance(spec, Source):
        return spec
    if _is_module(spec):
        from cnncalc.readers.targets import import_model

        if input is None:
            raise UsageError(None, "an nn.Module needs its input size: input=(3, 224, 224)", param="input")
        return imported(import_model(spec, tuple(input), name=type(spec).__name__))
    if isinstance(spec, (str, os.PathLike)) and os.fspath(spec).endswith(".onnx"):
        return onnx_source(os.fspath(spec), None if input is None else tuple(input), limits)
    if isinstance(spec, str) and is_target(spec):
        from cnncalc.readers.targets import import_target

        return imported(import_target(spec, None if input is None else tuple(input)))
    if isinstance(spec, Mapping):
        import yaml

        try:
            text = yaml.safe_dump(_plain(spec), sort_keys=False, default_flow_style=None, width=100)
        except yaml.YAMLError as exc:
            raise UsageError(None, f"the spec dict holds a value YAML cannot write: {exc}") from None
        return Source(text, "<dict>")
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str):
        raise UsageError(None, f"a spec is a bundled name, a path, YAML text or a dict, not {type(spec).__name__}")
    if ("\n" in spec or ":" in spec) and not os.path.exists(spec):
        if len(spec.encode("utf-8", "surrogatepass")) > limits.file_bytes:
            from cnncalc.errors import LimitError, Span

            raise LimitError(Span("<string>", 1, 1), "the spec text is too long", "file_bytes", limits.file_bytes)
        return Source(spec, "<string>")
    return find(spec, limits)


def _is_module(spec: Any) -> bool:
    """An nn.Module, told without importing torch (a model exists only if torch was imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(spec, torch.nn.Module)


def to_spec(model: Any, *, input: Sequence[int] | None = None, kwargs: Mapping[str, Any] | None = None,
            opaque: bool = False) -> Any:
    """A PyTorch model as a cnncalc spec: an nn.Module (input= required) or a TARGET string
    (`torchvision.models.resnet50`, `timm:resnet50`, `model.py:Net`; kwargs= for its callable).
    Returns an Imported: .text (the YAML), .dict, .check(analysis) -> the differences from the
    model (params, FlopCounterMode's FLOPs, output shapes; empty when exact).

    >>> spec = cnncalc.to_spec(torchvision.models.resnet18(), input=(3, 224, 224))  # doctest: +SKIP
    >>> spec.check(cnncalc.analyze(spec.text))                                        # doctest: +SKIP
    []
    """
    from cnncalc.readers.targets import import_model, import_target

    if isinstance(model, str):
        return import_target(model, None if input is None else tuple(input), dict(kwargs or {}), opaque=opaque)
    if not _is_module(model):
        raise UsageError(None, f"to_spec takes an nn.Module or a TARGET string, not {type(model).__name__}")
    if input is None:
        raise UsageError(None, "to_spec needs the model's input size: input=(3, 224, 224)", param="input")
    return import_model(model, tuple(input), name=type(model).__name__, opaque=opaque)


def _plain(value: Any) -> Any:
    """Tuples as lists, so that a dict spec written with (3, 32, 32) dumps as plain YAML."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load(spec: SpecLike, *, input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None,
         limits: Limits | Mapping[str, int] | None = None, layout: str | None = None) -> Graph:
    """The spec's layer graph, shapes inferred (what verify builds in torch).

    input overrides the spec's input shape ((3, 32, 32)); args its top-level arguments
    ({"classes": 10}); limits raises safety limits (Limits or {"layers": 2_000_000}); layout
    says how the input shape is written: "chw" (the default reading) or "hwc" (the slides'
    227 x 227 x 3, reordered to C x H x W). Unsaid, a shape that looks H x W x C is an error."""
    from cnncalc.graph import Graph, build_graph
    from cnncalc.sources import load_spec

    if isinstance(spec, Graph):
        if input is not None or args:
            raise UsageError(None, "input= and args= apply to a spec, not to a graph already built")
        return spec
    if layout not in (None, "chw", "hwc"):
        raise UsageError(None, f"layout must be 'chw' or 'hwc', found {layout!r}")
    bounds = _limits(limits)
    shape = None if input is None else _shape(input)
    source = resolve(spec, bounds, shape)
    args = dict(args or {})
    if "backbone" in source.text:  # an Ultralytics model file (docs/yolo.md)? (the cheap test first)
        from cnncalc.sources import ultralytics_spec

        source = ultralytics_spec(source, args, bounds)  # takes its scale, nc and fused out of args
    # (the command line runs without the cyclic garbage collector, cli/__init__.py's main; a
    # library call leaves that process-wide switch to its caller)
    try:
        return build_graph(load_spec(source, bounds), shape, args, bounds, layout)
    except CnncalcError as exc:
        exc.text = source.text  # so the message can quote the offending line
        raise


def analyze(spec: SpecLike, *, input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None,
            batch: int = 1, dtype: str | Dtype = "float32",
            limits: Limits | Mapping[str, int] | None = None, layout: str | None = None) -> Analysis:
    """Per-layer shapes, parameters, multiply-adds and activation memory of a spec (input, args,
    limits and layout as in load).

    >>> cnncalc.analyze("resnet50-tv").totals.params
    25557032
    """
    from cnncalc.engine.analysis import analyze as cost
    from cnncalc.results import Analysis

    _batch(batch)
    return cost(load(spec, input=input, args=args, limits=limits, layout=layout), batch=batch, dtype=dtype, cls=Analysis)


def compare(specs: Sequence[SpecLike], *, input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None,
            batch: int = 1, dtype: str | Dtype = "float32", optimizer: str = "adam", convention: str = "lecture",
            limits: Limits | Mapping[str, int] | None = None, layout: str | None = None, amp: str | None = None,
            checkpoint: int | Sequence[str] | None = None, device: str = "cpu") -> Comparison:
    """Several networks side by side (`cnncalc compare`): input, args, batch and dtype apply to
    every spec; optimizer, amp, checkpoint and device are the training memory's (as
    Analysis.memory takes them), convention the flop column's.

    >>> cnncalc.compare(["alexnet-2012", "vgg16"]).rows[1]["params"]
    138357544
    """
    from cnncalc.conventions import get_profile
    from cnncalc.results import Comparison
    from cnncalc.sources import Source

    if isinstance(specs, (str, Mapping)) or not isinstance(specs, Sequence) or not specs:
        raise UsageError(None, "compare takes a list of specs, e.g. compare(['alexnet', 'vgg16'])", param="specs")
    get_profile(convention)
    training = _training(optimizer, amp, checkpoint, device, dtype)
    bounds = _limits(limits)
    sources = [resolve(s, bounds) if not _is_graph(s) else s for s in specs]
    analyses = [analyze(s, input=input, args=args, batch=batch, dtype=dtype, limits=bounds, layout=layout)
                for s in sources]
    # a bundled network at its own input has a published accuracy (the chart's y axis)
    changed = input is not None or bool(args)
    bundled = [None if changed or not isinstance(s, Source) else s.bundled for s in sources]
    return Comparison(analyses, training, convention, bundled)


def sweep(spec: SpecLike, *, input: Sequence[Any] | None = None, batch: int | Sequence[int] = 1,
          args: Mapping[str, Any] | None = None, dtype: str | Dtype = "float32", optimizer: str = "adam",
          convention: str = "lecture", limits: Limits | Mapping[str, int] | None = None,
          layout: str | None = None, amp: str | None = None, checkpoint: int | Sequence[str] | None = None,
          device: str = "cpu") -> Sweep:
    """One network along one axis (`cnncalc sweep`): input a list of shapes, batch a list of
    sizes, or one argument of args a list of values; everything else one value. optimizer, amp,
    checkpoint and device say how the training memory column trains it (as Analysis.memory). (An argument
    whose one value is itself a list is written as a list of it: args={"kernels": [[3, 5]]}.)

    >>> s = cnncalc.sweep("resnet50", batch=[1, 8, 64])
    >>> [p["macs"] for p in s.rows] == [b * s.rows[0]["macs"] for b in (1, 8, 64)]
    True
    """
    from cnncalc.conventions import get_profile
    from cnncalc.results import Measured, Sweep, measure

    get_profile(convention)
    training = _training(optimizer, amp, checkpoint, device, dtype)
    inputs = _sweep_inputs(input)
    batches = [batch] if isinstance(batch, int) else list(batch)
    for b in batches:
        _batch(b)
    values = {k: (list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in (args or {}).items()}
    axis = _pick_axis(inputs, batches, values)
    points = _points(axis, inputs, batches, values)
    bounds = _limits(limits)
    source = spec if _is_graph(spec) else resolve(spec, bounds)
    # Each point keeps only its numbers (results.Measured), never its Analysis. A batch axis is
    # one analysis: every number is per sample x batch, the training peak read from one model.
    measured: list[Measured] = []
    name = dtype_name = ""
    for p in points[:1] if axis.name == "batch" else points:
        try:
            a = analyze(source, input=p.input, args=p.args, batch=p.batch, dtype=dtype, limits=bounds, layout=layout)
        except CnncalcError as exc:
            if exc.param is None:  # an argument's own error already names it
                exc.message = f"at {axis.name} {p.label.split('=', 1)[-1]}: {exc.message}"
                exc.param = f"sweep.{axis.name}"
            raise
        batches = [q.batch for q in points] if axis.name == "batch" else [p.batch]
        measured += measure(a, batches, training, convention)
        name, dtype_name = name or a.name, dtype_name or a.dtype.name
    return Sweep(axis, points, measured, training, convention, name=name, dtype=dtype_name)


def _training(optimizer: str, amp: str | None, checkpoint: Any, device: str, dtype: Any) -> Any:
    """The training settings of a sweep's or comparison's memory column, checked as memory()
    checks them (the optimizer, amp over a float32 model, a device, the checkpoint's form)."""
    from cnncalc.engine.memory import Training, check_optimizer
    from cnncalc.engine.segments import normalize

    check_optimizer(optimizer)
    if amp is not None and amp not in ("bfloat16", "float16"):
        raise UsageError(None, f"amp={amp!r} is not 'bfloat16' or 'float16'", param="amp")
    if amp is not None and str(getattr(dtype, "name", dtype)) != "float32":
        raise UsageError(None, f"amp={amp!r} runs a float32 model under autocast; it cannot be combined with "
                         f"dtype={getattr(dtype, 'name', dtype)!r}", param="amp")
    if device not in ("cpu", "cuda"):
        raise UsageError(None, f"device={device!r} is not 'cpu' or 'cuda'", param="device")
    return Training(optimizer, amp, None if checkpoint is None else normalize(checkpoint), device)


MAX_POINTS = 10_000  # a sweep is a table and a chart, not a grid search


def _sweep_inputs(input: Sequence[Any] | None) -> list[list[int]] | None:
    """input= of a sweep: one shape (3, 224, 224) or a list of them."""
    if input is None:
        return None
    if isinstance(input, Sequence) and not isinstance(input, str) and input and all(type(v) is int for v in input):
        return [_shape(input)]
    if isinstance(input, str) or not isinstance(input, Sequence) or not input:
        raise UsageError(None, f"input must be a shape or a list of shapes, found {input!r}", param="input")
    if len(input) > MAX_POINTS:
        raise UsageError(None, f"{len(input):,} input shapes (at most {MAX_POINTS:,})", param="input")
    return [_shape(s) for s in input]


def _pick_axis(inputs: list[list[int]] | None, batches: list[int], values: dict[str, list[Any]]) -> Any:
    """The one axis with more than one point (a usage error for none, or for several)."""
    from cnncalc.results import Axis, axis_label

    axes = []
    if inputs is not None and len(inputs) > 1:
        axes.append(Axis("input", axis_label("input", "input"), inputs))
    if len(batches) > 1:
        axes.append(Axis("batch", axis_label("batch", "batch"), batches))
    axes += [Axis(key, axis_label(key, "args"), v) for key, v in values.items() if len(v) > 1]
    for axis in axes:
        if len(axis.values) > MAX_POINTS:
            raise UsageError(None, f"{len(axis.values):,} points (at most {MAX_POINTS:,})", param=axis.name)
    if not axes:
        raise UsageError(None, "nothing to sweep: give a list to input, batch or one of args",
                         "e.g. cnncalc.sweep('resnet50', batch=[1, 8, 64])", param="sweep")
    if len(axes) > 1:
        raise UsageError(None, f"sweep one axis at a time; this run changes {' and '.join(a.name for a in axes)}",
                         "fix all but one to a single value", param="sweep")
    return axes[0]


def _points(axis: Any, inputs: list[list[int]] | None, batches: list[int], values: dict[str, list[Any]]) -> list[Any]:
    """Every point of the sweep, the other axes at their single values."""
    from cnncalc.results import Point

    fixed_args = {key: v[0] for key, v in values.items() if key != axis.name}
    shape = inputs[0] if inputs else None
    out = []
    moving: list[int] = []
    if axis.name == "input" and len({len(v) for v in axis.values}) == 1:
        # the first axis that changes is the chart's x (H, for C x H x W); shapes of several
        # ranks have no such axis, and are drawn in order
        moving = [i for i in range(len(axis.values[0])) if len({v[i] for v in axis.values}) > 1]
    for value in axis.values:
        if axis.name == "input":
            x = value[moving[0]] if moving else None
            out.append(Point("x".join(map(str, value)), x, value, batches[0], fixed_args))
        elif axis.name == "batch":
            out.append(Point(str(value), value, shape, value, fixed_args))
        else:
            x = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            out.append(Point(f"{axis.name}={value}", x, shape, batches[0], {**fixed_args, axis.name: value}))
    return out


def _is_graph(spec: Any) -> bool:
    from cnncalc.graph import Graph

    return isinstance(spec, Graph)


def _batch(batch: Any) -> None:
    if type(batch) is not int or batch < 1:
        raise UsageError(None, f"batch must be a positive integer, found {batch!r}", param="batch")


def verify(spec: SpecLike, *, device: str = "cpu", batch: int = 1, dtype: str = "float32",
           input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None, params: str = "all",
           time: bool = False, repeats: int = 10, train: bool = False, memory: bool = False,
           amp: str | None = None, against: str | None = None, peak_tflops: float | None = None,
           limits: Limits | Mapping[str, int] | None = None, layout: str | None = None,
           memory_check: bool = True) -> Verification:
    """Build the spec as a real PyTorch model on `device` (cpu, meta, cuda, cuda:N), run one
    batch, and check every layer's shape, params, FLOPs and output bytes (needs torch). A run
    the device has no free memory for is refused first (UsageError) unless memory_check=False.
    time: also time every layer (repeats runs each); train: on CUDA, measure the training peak;
    memory: measure what autograd saves (amp: under autocast to "bfloat16" or "float16") and
    check it against the prediction; against="torchvision": compare totals with torchvision's
    model of the same name; peak_tflops: the device's peak, for the rendered % of peak."""
    from cnncalc.torchcheck.run import import_torch

    import_torch()  # a clear error before any work when PyTorch is missing
    from cnncalc.results import Verification
    from cnncalc.torchcheck.run import DTYPES
    from cnncalc.torchcheck.run import verify as run

    if dtype not in DTYPES:
        raise UsageError(None, f"verify runs float32, float16 or bfloat16, not '{dtype}'", param="dtype")
    if amp is not None and not memory:
        raise UsageError(None, f"amp={amp!r} applies to the saved-tensor measurement", "add memory=True", param="amp")
    if against not in (None, "torchvision"):
        raise UsageError(None, f"against={against!r}: only 'torchvision' is known", param="against")
    analysis = analyze(spec, input=input, args=args, batch=batch, dtype=dtype, limits=limits, layout=layout)
    if amp is not None:
        from cnncalc.engine.memory import check_amp

        check_amp(analysis, amp)
    result = run(analysis.graph, analysis, device, dtype, params == "weights", time, repeats, train, memory_check)
    saved = None
    if memory:
        from cnncalc.torchcheck.saved import check_saved

        saved = check_saved(analysis, device, dtype, amp)
    third = None
    if against:
        from cnncalc.torchcheck.against import compare_torchvision

        third = compare_torchvision(analysis)
    return Verification(result, analysis, saved, third, peak_tflops)


def architectures() -> list[str]:
    """The bundled architecture names (cnncalc.analyze takes any of them)."""
    from cnncalc.sources import bundled_names

    return bundled_names()


def _limits(limits: Limits | Mapping[str, int] | None) -> Limits:
    if limits is None:
        return Limits()
    if isinstance(limits, Limits):
        return limits
    unknown = [k for k in limits if k not in Limits._fields]
    if unknown:
        raise UsageError(None, f"no limit named '{unknown[0]}'", "limits: " + ", ".join(Limits._fields))
    return Limits(**limits)


def _shape(value: Sequence[int]) -> list[int]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value \
            or not all(type(v) is int and v > 0 for v in value):
        raise UsageError(None, f"input must be a shape of positive integers such as (3, 224, 224), found {value!r}")
    return list(value)
