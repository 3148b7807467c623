"""The spec's structure as immutable records: ArchSpec, BlockSpec and the layer items.

Stage: spec (pure). In: the LMap tree from load.py. Out: ArchSpec. Only the structure is
checked here (keys, kinds of items); argument values may still hold `$name` references, which
graph.py substitutes when it expands blocks, and op arguments are checked by the op registry.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import MAX_ERRORS, Span, SpecError, SpecErrors
from cnncalc.record import Record
from cnncalc.spec.expr import did_you_mean
from cnncalc.spec.load import LList, LMap

RESERVED = ("name", "repeat", "first", "inputs", "train_only", "eval_only", "shares")  # keys of a layer item that are not op args
SHORTCUTS = ("identity", "projection")


class LayerItem(Record):
    """`- conv: {...}` or `- relu`: an op or a block instance, possibly repeated."""

    type: str
    args: LMap  # raw arguments (may contain $refs), without the reserved keys
    span: Span
    name: Any = None  # str, or a $ref to one
    repeat: Any = 1  # int or $ref
    first: LMap | None = None  # argument overrides for the first repetition
    inputs: LList | None = None  # explicit input names (a DAG edge); default: the previous layer
    train_only: Any = False  # runs only in training (an auxiliary head): params counted, no eval work
    shares: Any = None  # the name of an earlier layer whose parameters this one uses (weight sharing)
    eval_only: Any = False  # runs only in inference (a detector's decoding): counted, not in training memory


class ResidualItem(Record):
    """`- residual: {body: [...], shortcut: identity|projection|[...], merge: add|mul|concat}`:
    add(body(x), shortcut(x)) by default; mul gives squeeze-and-excitation, concat a DenseNet layer."""

    body: list[Item]
    shortcut: str | list[Item]
    span: Span
    name: str | None = None
    merge: str = "add"


class ParallelItem(Record):
    """`- parallel: {branches: {b1: [...], ...}, merge: concat|add}`: branches on the same input."""

    branches: list[tuple[str, list[Item]]]
    merge: str
    span: Span
    name: str | None = None


Item = LayerItem | ResidualItem | ParallelItem


class BlockSpec(Record):
    """A reusable, parameterised block: a new layer type made of other layers."""

    name: str
    params: LMap  # argument defaults (null = required)
    layers: list[Item]
    span: Span  # its name's, under `blocks:`


class ArchSpec(Record):
    """A whole spec file."""

    name: str
    description: str
    source: str
    input: Any  # [C, H, W] (checked by graph.py after --input overrides)
    family: str
    torchvision: dict | None  # {model, kwargs, differs}: the torchvision model this spec is paired with
    args: LMap
    blocks: dict[str, BlockSpec]
    layers: list[Item]
    span: Span
    input_span: Span | None = None
    note: str = ""  # one line said under the table (which lecture's network this is, its siblings)
    layout: str | None = None  # how `input:` is written: chw (the default reading) or hwc; None: not said
    outputs: tuple[tuple[str, Span], ...] = ()  # `outputs:` the network's outputs by name (none: the last layer)
    tokens: bool = False  # `tokens: true`: the input holds integer token ids (int64), for an embedding


TOP_KEYS = ("name", "description", "note", "source", "family", "torchvision", "input", "layout", "args", "blocks",
            "layers", "outputs", "tokens", "variants")
VARIANT_KEYS = ("description", "note", "source", "torchvision", "input", "layout", "args")
LAYOUTS = ("chw", "hwc")
TV_KEYS = ("model", "kwargs", "differs", "tools")
MERGES = ("concat", "add", "mul")
BLOCK_KEYS = ("args", "layers", "description")


def _mapping(value: Any, span: Span, what: str) -> LMap:
    if not isinstance(value, LMap):
        raise SpecError(span, f"{what} must be a mapping, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def _check_keys(m: LMap, allowed: tuple[str, ...], what: str) -> None:
    for key in m:
        if key not in allowed:
            raise SpecError(m.key_spans[key], f"unknown key '{key}' in {what}",
                            did_you_mean(key, allowed) or f"allowed: {', '.join(allowed)}")


def _text(m: LMap, key: str, default: str = "") -> str:
    value = m.get(key, default)
    if not isinstance(value, str):
        raise SpecError(m.at(key), f"'{key}' must be text, found {_kind(value)}")
    return value


def parse_spec(data: Any, file: str, variant: str | None = None) -> ArchSpec:
    """Check the structure of a parsed spec and return it as an ArchSpec (one of its `variants:`
    when `variant` names one: its keys replace the top level's, its args update them)."""
    if not isinstance(data, LMap):
        span = getattr(data, "span", Span(file, 1, 1))
        raise SpecError(span, f"a spec must be a mapping with `input:` and `layers:`, found {_kind(data)}")
    _check_keys(data, TOP_KEYS, "the spec")
    raw_variants = _mapping(data.get("variants", _empty(data.span)), data.at("variants"), "`variants:`")
    errs: list[SpecError] = []  # independent problems, all reported at once
    for name, body in raw_variants.items():  # every variant checked, not only the one asked for
        try:
            _check_keys(_mapping(body, raw_variants.at(name), f"variant '{name}'"), VARIANT_KEYS, f"variant '{name}'")
            if name != variant:
                _check_variant(data, body, name, hint=len(errs) < MAX_ERRORS)
        except SpecError as exc:
            errs.append(exc)
    if errs:  # a variant that is not what it says would be applied wrongly below
        raise errs[0] if len(errs) == 1 else SpecErrors(errs)  # type: ignore[arg-type]
    if variant is not None:
        if variant not in raw_variants:
            raise SpecError(data.span, f"the spec has no variant '{variant}'",
                            did_you_mean(variant, raw_variants) or f"variants: {', '.join(raw_variants) or 'none'}")
        data = _with_variant(data, raw_variants[variant], variant)
    for key in ("input", "layers"):
        if key not in data:
            raise SpecError(data.span, f"the spec has no `{key}:`",
                            "e.g. input: [3, 224, 224]" if key == "input" else "e.g. layers: [conv: {out: 64, kernel: 3}]")
    args = _mapping(data.get("args", _empty(data.span)), data.at("args"), "`args:`")
    blocks: dict[str, BlockSpec] = {}
    raw_blocks = _mapping(data.get("blocks", _empty(data.span)), data.at("blocks"), "`blocks:`")
    for name, body in raw_blocks.items():
        try:
            blocks[name] = _block(name, body, raw_blocks.at(name), errs)._replace(span=raw_blocks.key_spans[name])
        except SpecError as exc:
            errs.append(exc)
    layers = _items(data["layers"], data.at("layers"), "`layers:`", errs)
    meta = {}
    for key in ("description", "note", "source", "family"):
        try:
            meta[key] = _text(data, key)
        except SpecError as exc:
            errs.append(exc)
    tv = None
    if "torchvision" in data:
        try:
            tv = _torchvision(data["torchvision"], data.at("torchvision"))
        except SpecError as exc:
            errs.append(exc)
    outputs: tuple[tuple[str, Span], ...] = ()
    if "outputs" in data:
        raw = data["outputs"]
        if not isinstance(raw, LList) or not raw or not all(isinstance(o, str) for o in raw):
            errs.append(SpecError(data.at("outputs"), f"`outputs:` must be a list of layer names, found {_kind(raw)}",
                                  "e.g. outputs: [layer3, layer4] (the network's last layer is its output unless said)"))
        else:
            outputs = tuple(zip(raw, raw.item_spans))
    tokens = data.get("tokens", False)
    if not isinstance(tokens, bool):
        errs.append(SpecError(data.at("tokens"), f"`tokens:` must be true or false, found {_kind(tokens)}",
                              "tokens: true says the input holds integer token ids (an embedding reads them)"))
    layout = data.get("layout")
    if layout is not None and layout not in LAYOUTS:
        errs.append(SpecError(data.at("layout"), f"`layout:` must be chw or hwc, found {_kind(layout)}",
                              "hwc reads `input:` as H x W x C (the slides' [227, 227, 3]); chw is the default"))
    if errs:
        raise errs[0] if len(errs) == 1 else SpecErrors(errs)  # type: ignore[arg-type]
    return ArchSpec(layout=layout, note=meta["note"], torchvision=tv, outputs=outputs, tokens=tokens is True,
                    name=_text(data, "name", file.rsplit("/", 1)[-1].removesuffix(".yaml")),
                    description=meta["description"], source=meta["source"], family=meta["family"],
                    input=data["input"], args=args, blocks=blocks, layers=layers,
                    span=data.span, input_span=data.at("input"))


def _check_variant(data: LMap, over: LMap, name: str, hint: bool = True) -> None:
    """What a variant sets, checked as parse_spec checks the top level (its shapes are checked
    when it is analysed: `cnncalc check` analyses every variant of a file): the errors of
    _with_variant(data, over, name) without building it, so a file of many variants over many
    args is checked in one pass over each (issue 31). hint: work out a "did you mean" (an
    error past the MAX_ERRORS shown needs none)."""
    if "args" in over:
        base = _mapping(data.get("args", _empty(data.span)), data.at("args"), "`args:`")
        value = _mapping(over["args"], over.at("args"), f"`args:` of variant '{name}'")
        for k in value:
            if k not in base:
                raise SpecError(value.key_spans[k], f"variant '{name}' sets '{k}', which the spec's `args:` "
                                "does not have", (did_you_mean(k, base) or f"args: {', '.join(base) or 'none'}")
                                if hint else "")
    for key in ("description", "note", "source"):
        _text(over if key in over else data, key)
    at = over if "torchvision" in over else data
    if "torchvision" in at:
        _torchvision(at["torchvision"], at.at("torchvision"))
    at = over if "layout" in over else data
    layout = at.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise SpecError(at.at("layout"), f"`layout:` must be chw or hwc, found {_kind(layout)}")


def _with_variant(data: LMap, over: LMap, name: str) -> LMap:
    """The top level with a variant's keys in place (args merged key by key), spans kept, so an
    error in a variant's value points at the variant's line."""
    out = LMap(data)
    out.span, out.key_spans, out.value_spans = data.span, dict(data.key_spans), dict(data.value_spans)
    for key, value in over.items():
        if key == "args":
            base = _mapping(data.get("args", _empty(data.span)), data.at("args"), "`args:`")
            value = _mapping(value, over.at("args"), f"`args:` of variant '{name}'")
            merged = LMap(base)
            merged.span = value.span
            merged.key_spans = {**base.key_spans, **value.key_spans}
            merged.value_spans = {**base.value_spans, **value.value_spans}
            for k, v in value.items():
                if k not in base:
                    raise SpecError(value.key_spans[k], f"variant '{name}' sets '{k}', which the spec's `args:` "
                                    "does not have", did_you_mean(k, base) or f"args: {', '.join(base) or 'none'}")
                merged[k] = v
            value = merged
        out[key] = value
        out.key_spans[key], out.value_spans[key] = over.key_spans[key], over.value_spans[key]
    out["name"] = name
    return out


def _torchvision(value: Any, span: Span) -> dict:
    """`torchvision: {model: resnet50, kwargs: {aux_logits: false}, differs: "why", tools: "why"}`:
    differs explains a different network; tools a layer that only the counting tools see."""
    m = _mapping(value, span, "`torchvision:`")
    _check_keys(m, TV_KEYS, "`torchvision:`")
    if not isinstance(m.get("model"), str):
        raise SpecError(m.at("model"), "`torchvision:` needs `model:`, the name torchvision.models.get_model takes")
    kwargs = m.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SpecError(m.at("kwargs"), f"`kwargs:` must be a mapping, found {_kind(kwargs)}")
    return {"model": m["model"], "kwargs": dict(kwargs), "differs": _text(m, "differs"), "tools": _text(m, "tools")}


def _empty(span: Span) -> LMap:
    m = LMap()
    m.span, m.key_spans, m.value_spans = span, {}, {}
    return m


def _block(name: str, body: Any, span: Span, errs: list[SpecError]) -> BlockSpec:
    if isinstance(body, LList):  # shorthand: a block that is just a list of layers
        return BlockSpec(name, _empty(span), _items(body, span, f"block '{name}'", errs), span)
    body = _mapping(body, span, f"block '{name}'")
    _check_keys(body, BLOCK_KEYS, f"block '{name}'")
    if "layers" not in body:
        raise SpecError(span, f"block '{name}' has no `layers:`")
    params = _mapping(body.get("args", _empty(span)), body.at("args"), f"`args:` of block '{name}'")
    return BlockSpec(name, params, _items(body["layers"], body.at("layers"), f"block '{name}'", errs), span)


def _items(value: Any, span: Span, what: str, errs: list[SpecError]) -> list[Item]:
    """The items of a layer list; a malformed item is recorded in errs and left out."""
    if not isinstance(value, LList):
        raise SpecError(span, f"{what} must be a list of layers, found {_kind(value)}")
    if not value:
        raise SpecError(span, f"{what} is empty")
    items = []
    for v, s in zip(value, value.item_spans):
        try:
            items.append(_item(v, s, errs))
        except SpecError as exc:
            errs.append(exc)
    return items


def _item(value: Any, span: Span, errs: list[SpecError]) -> Item:
    if isinstance(value, str):  # `- relu`
        return LayerItem(value, _empty(span), span)
    if not isinstance(value, LMap) or len(value) != 1:
        raise SpecError(span, f"a layer is `- type` or `- type: {{args}}`, found {_kind(value)}",
                        "one layer per list item, e.g. `- conv: {out: 64, kernel: 3}`")
    (kind, body), = value.items()
    body_span = value.at(kind)
    if body is None:
        body = _empty(body_span)
    if kind == "residual":
        return _residual(_mapping(body, body_span, "residual"), body_span, errs)
    if kind == "parallel":
        return _parallel(_mapping(body, body_span, "parallel"), body_span, errs)
    args = _mapping(body, body_span, f"the arguments of '{kind}'")
    plain = _empty(args.span)
    for key, v in args.items():
        if key not in RESERVED:
            plain[key] = v
            plain.key_spans[key], plain.value_spans[key] = args.key_spans[key], args.value_spans[key]
    first = args.get("first")
    if first is not None:
        first = _mapping(first, args.at("first"), "`first:`")
    inputs = args.get("inputs")
    if inputs is not None and not isinstance(inputs, LList):
        if not isinstance(inputs, str):
            raise SpecError(args.at("inputs"), f"`inputs:` must be a name or a list of names, found {_kind(inputs)}")
        single = LList([inputs])
        single.span, single.item_spans = args.at("inputs"), [args.at("inputs")]
        inputs = single
    train_only = args.get("train_only", False)
    if not isinstance(train_only, bool):
        raise SpecError(args.at("train_only"), f"`train_only:` must be true or false, found {_kind(train_only)}")
    eval_only = args.get("eval_only", False)
    if not isinstance(eval_only, bool):
        raise SpecError(args.at("eval_only"), f"`eval_only:` must be true or false, found {_kind(eval_only)}")
    if train_only and eval_only:
        raise SpecError(args.at("eval_only"), "an item cannot be both `train_only:` and `eval_only:`")
    shares = args.get("shares")
    if shares is not None and not isinstance(shares, str):
        raise SpecError(args.at("shares"), f"`shares:` names the layer whose parameters this one uses, found {_kind(shares)}")
    return LayerItem(kind, plain, span, name=args.get("name"), repeat=args.get("repeat", 1),
                     first=first, inputs=inputs, train_only=train_only, shares=shares, eval_only=eval_only)


def _name(m: LMap) -> str | None:
    name = m.get("name")
    if name is not None and not isinstance(name, str):
        raise SpecError(m.at("name"), f"'name' must be text, found {_kind(name)}")
    return name


def _residual(m: LMap, span: Span, errs: list[SpecError]) -> ResidualItem:
    _check_keys(m, ("body", "shortcut", "merge", "name"), "residual")
    if "body" not in m:
        raise SpecError(span, "residual has no `body:`", "residual: {body: [...], shortcut: identity}")
    shortcut: Any = m.get("shortcut", "identity")
    if isinstance(shortcut, LList):
        shortcut = _items(shortcut, m.at("shortcut"), "shortcut", errs)
    elif shortcut not in SHORTCUTS:
        raise SpecError(m.at("shortcut"), f"shortcut must be identity, projection or a list of layers, found {_kind(shortcut)}",
                        did_you_mean(str(shortcut), SHORTCUTS))
    merge = m.get("merge", "add")
    if merge not in MERGES:
        raise SpecError(m.at("merge"), f"merge must be add, mul or concat, found {_kind(merge)}",
                        did_you_mean(str(merge), MERGES))
    return ResidualItem(_items(m["body"], m.at("body"), "residual body", errs), shortcut, span, _name(m), merge)


def _parallel(m: LMap, span: Span, errs: list[SpecError]) -> ParallelItem:
    _check_keys(m, ("branches", "merge", "name"), "parallel")
    raw = m.get("branches")
    if isinstance(raw, LMap):
        branches = [(k, _items(v, raw.at(k), f"branch '{k}'", errs)) for k, v in raw.items()]
    elif isinstance(raw, LList):
        branches = [(f"branch{i + 1}", _items(v, s, f"branch {i + 1}", errs))
                    for i, (v, s) in enumerate(zip(raw, raw.item_spans))]
    else:
        raise SpecError(m.at("branches"), "parallel needs `branches:`, a mapping of name: [layers]")
    if len(branches) < 2:
        raise SpecError(m.at("branches"), "parallel needs at least two branches")
    merge = m.get("merge", "concat")
    if merge not in MERGES:
        raise SpecError(m.at("merge"), f"merge must be concat, add or mul, found {_kind(merge)}",
                        did_you_mean(str(merge), MERGES))
    return ParallelItem(branches, merge, span, _name(m))
