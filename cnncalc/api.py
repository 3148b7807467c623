"""The library: cnncalc.analyze(), cnncalc.verify(), cnncalc.load(); the pipeline is put
together here and only here (the CLI, the tests and the scripts all come through it).

Stage: the public edge of the pure core. In: a spec (bundled name, path, YAML text, dict) and
options as Python values. Out: a Graph, an Analysis or a VerifyResult. It raises CnncalcError
subclasses (SpecError with file, line and column) and never prints or exits.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

from cnncalc.errors import CnncalcError, Limits, UsageError

if TYPE_CHECKING:
    from cnncalc.dtypes import Dtype
    from cnncalc.engine import Analysis
    from cnncalc.graph import Graph
    from cnncalc.sources import Source
    from cnncalc.torchcheck.run import VerifyResult

SpecLike = Union[str, "os.PathLike[str]", Mapping[str, Any], "Source", "Graph"]


def resolve(spec: SpecLike, limits: Limits = Limits()) -> Source:
    """Where a spec's text comes from: a bundled name (`alexnet`), a path, YAML text (anything
    with a newline or a colon that is not a file), or a dict (written out as YAML, so an error
    quotes the offending line of that text)."""
    from cnncalc.sources import Source, find

    if isinstance(spec, Source):
        return spec
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
    source = resolve(spec, bounds)
    shape = None if input is None else _shape(input)
    import gc

    # The pipeline allocates millions of small acyclic objects for a big spec; the cyclic garbage
    # collector would rescan them all again and again (100k layers: 3x slower) and finds nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return build_graph(load_spec(source, bounds), shape, dict(args or {}), bounds, layout)
    except CnncalcError as exc:
        exc.text = source.text  # so the message can quote the offending line
        raise
    finally:
        if collecting:
            gc.enable()


def analyze(spec: SpecLike, *, input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None,
            batch: int = 1, dtype: str | Dtype = "float32",
            limits: Limits | Mapping[str, int] | None = None, layout: str | None = None) -> Analysis:
    """Per-layer shapes, parameters, multiply-adds and activation memory of a spec (input, args,
    limits and layout as in load).

    >>> cnncalc.analyze("resnet50-tv").totals.params
    25557032
    """
    from cnncalc.engine import analyze as cost

    if type(batch) is not int or batch < 1:
        raise UsageError(None, f"batch must be a positive integer, found {batch!r}")
    return cost(load(spec, input=input, args=args, limits=limits, layout=layout), batch=batch, dtype=dtype)


def verify(spec: SpecLike, *, device: str = "cpu", batch: int = 1, dtype: str = "float32",
           input: Sequence[int] | None = None, args: Mapping[str, Any] | None = None, params: str = "all",
           time: bool = False, repeats: int = 10, train: bool = False,
           limits: Limits | Mapping[str, int] | None = None, layout: str | None = None,
           memory_check: bool = True) -> VerifyResult:
    """Build the spec as a real PyTorch model on `device` (cpu, meta, cuda, cuda:N), run one
    batch, and check every layer's shape, params, FLOPs and output bytes (needs torch). A run
    the device has no free memory for is refused first (UsageError) unless memory_check=False."""
    from cnncalc.torchcheck.run import import_torch

    import_torch()  # a clear error before any work when PyTorch is missing
    from cnncalc.torchcheck.run import DTYPES
    from cnncalc.torchcheck.run import verify as run

    if dtype not in DTYPES:
        raise UsageError(None, f"verify runs float32, float16 or bfloat16, not '{dtype}'")
    analysis = analyze(spec, input=input, args=args, batch=batch, dtype=dtype, limits=limits, layout=layout)
    return run(analysis.graph, analysis, device, dtype, params == "weights", time, repeats, train, memory_check)


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
