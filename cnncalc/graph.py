"""Spec -> layer graph: expand blocks, repeats, residuals and branches into named nodes.

Stage: graph (pure). In: ArchSpec + command-line overrides. Out: Graph, whose nodes are in
topological order (every input of a node comes before it), each with its output shape already
inferred, so one walk expands, names and shapes the whole network. Node 0 is the input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cnncalc.budget import EVERY, checkpoint
from cnncalc.errors import MAX_ERRORS, CnncalcError, LimitError, Limits, ShapeError, Span, SpecError, SpecErrors, UsageError
from cnncalc.ops import HOME, build_op, lookup
from cnncalc.ops.conv import window_out
from cnncalc.ops.registry import OpDef, Shape, fmt_shape
from cnncalc.record import Record
from cnncalc.spec.expr import did_you_mean, substitute
from cnncalc.spec.load import LMap
from cnncalc.spec.model import ArchSpec, BlockSpec, Item, LayerItem, ParallelItem, ResidualItem


class InputOp(OpDef):
    """The graph's input tensor (node 0): no cost, not shown as a layer."""

    type = "input"
    shape: Shape

    def __init__(self, shape: Shape) -> None:
        object.__setattr__(self, "shape", shape)

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return self.shape


class Node(Record):
    """One layer of the expanded network."""

    name: str  # hierarchical, e.g. conv3_x.1.conv2
    op: OpDef
    inputs: tuple[int, ...]  # indices of earlier nodes
    shape: Shape  # output shape of one sample
    span: Span | None  # the YAML item that made it
    scope: tuple[str, ...] = ()  # names of the block instances it sits in, outermost first
    train_only: bool = False  # runs only in training (an auxiliary head): its params count, nothing else
    shares: int = -1  # the node whose parameters it uses (weight sharing: `shares:`), or -1
    eval_only: bool = False  # runs only in inference (a detector's decoding): no part of a training step


class Graph:
    """The expanded network: nodes[0] is the input; nodes are topologically ordered."""

    def __init__(self, name: str, description: str, source: str, limits: Limits = Limits(),
                 family: str = "", torchvision: dict | None = None, note: str = "") -> None:
        self.name, self.description, self.source = name, description, source
        self.note = note  # the spec's `note:`, said under its table (alexnet: "CS231n's is alexnet-2012")
        self.nodes: list[Node] = []
        self.limits = limits
        self.family = family
        self.torchvision = torchvision  # the paired torchvision model (spec key `torchvision:`)
        self.outputs: tuple[int, ...] = ()  # the network's outputs (spec key `outputs:`), node indices
        self.tokens = False  # the input holds integer token ids, int64 (spec key `tokens: true`)

    @property
    def output_nodes(self) -> tuple[int, ...]:
        """The network's outputs: those the spec names, else its last layer."""
        return self.outputs or (len(self.nodes) - 1,)

    @property
    def input_shape(self) -> Shape:
        return self.nodes[0].shape

    def add(self, node: Node) -> int:
        if len(self.nodes) > self.limits.layers:
            raise LimitError(node.span, "the spec expands to too many layers (check `repeat:` counts)",
                             "layers", self.limits.layers)
        if not len(self.nodes) % EVERY:  # `cnncalc serve` may stop a long expansion here (budget.py)
            checkpoint()
        self.nodes.append(node)
        return len(self.nodes) - 1


MAX_NAME = 200  # characters of a layer name: a table column, not a document


class _Scope:
    """Names visible while expanding one block instance (or branch)."""

    def __init__(self, prefix: str, env: Mapping[str, Any], parent: _Scope | None,
                 path: tuple[str, ...]) -> None:
        self.prefix, self.env, self.parent, self.path = prefix, env, parent, path
        self.names: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.src: int | None = None  # a block instance's input node: what `inputs: [in]` names

    def full(self, local: str) -> str:
        return f"{self.prefix}.{local}" if self.prefix else local

    def auto(self, kind: str) -> str:
        n = self.counts.get(kind, 0)
        while True:
            n += 1
            if f"{kind}{n}" not in self.names:
                self.counts[kind] = n
                return f"{kind}{n}"

    def child(self, local: str, env: Mapping[str, Any] | None = None) -> _Scope:
        return _Scope(self.full(local), self.env if env is None else env, self, (*self.path, self.full(local)))


# A template is a function of the parsed spec's blocks, the block, its arguments (the build's
# globals among them) and its input shape alone: a notebook analysing the same spec again (the
# same ArchSpec object: sources.load_spec keeps the last parses) replays what the last build
# expanded. Kept per (spec, limits) for the last MAX_KEPT specs; the spec is held with them, so
# that its id is not reused while the entry lives.
_TEMPLATES: dict[tuple[int, Limits], tuple[ArchSpec, dict[tuple, Any]]] = {}
MAX_KEPT = 8
_OPS: dict[tuple, OpDef] = {}  # (op type, its arguments as _frozen keys) -> the op, for every build
MAX_OPS = 4096  # distinct ops kept between builds (a few hundred bytes each)
MAX_ITEMS = 16384  # layer items whose $names are kept (_REFS)
_ITEM_OPS: dict[tuple, tuple[Any, OpDef]] = {}  # (item, first?, the values of its $names) -> (item, op)
_REFS: dict[tuple[int, bool], tuple[Any, tuple[str, ...]]] = {}  # (item, first?) -> (item, the $names it reads)
_MISSING = object()  # a $name not bound (substitution then says so)
_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")  # spec/expr.py's $name


def _refs(args: Any) -> tuple[str, ...]:
    """The $names an item's arguments read (strings, in lists at any depth), sorted."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if "$" in value:
                found.update(_NAME.findall(value))
        elif isinstance(value, (list, dict)):
            for v in value.values() if isinstance(value, dict) else value:
                walk(v)

    walk(args)
    return tuple(sorted(found))


class _Stop(Exception):
    """Expansion cannot go on (a shape error, or a shape made unknown by an earlier error)."""


class _Unknown(OpDef):
    """Stands in for a layer that could not be built, so expansion can report later problems too."""

    type = "invalid"
    arity = -1

    def infer(self, xs: list[Shape], span: Span | None) -> Shape:
        return xs[0] if xs else (1,)  # `inputs: []`: any shape will do, its error is already reported


class _Builder:
    """Expands items into nodes. Independent problems (unknown types or arguments, bad values,
    bad references) are collected, like a compiler does, and expansion goes on past them; shape
    inference stops at the first shape error, or once an earlier error has made shapes unknown."""

    def __init__(self, spec: ArchSpec, globals_: dict[str, Any], limits: Limits,
                 templates: dict[tuple, _Template | _Pending] | None = None) -> None:
        self.spec, self.globals, self.limits = spec, globals_, limits
        self.graph = Graph(spec.name, spec.description, spec.source, limits=limits, family=spec.family, note=spec.note,
                           torchvision=spec.torchvision)
        self.by_name: dict[str, int] = {}
        # a block instance's full name (backbone.16) and a repeated item's (layer1 for layer1.0,
        # layer1.1): the node that is its output, so `inputs:` can name the whole
        self.outputs_of: dict[str, int] = {}
        self.outputs_added: list[str] = []  # outputs_of's keys in the order they came (a template's slice)
        self.active: list[str] = []  # blocks being expanded, to catch a block that uses itself
        self.errors: list[CnncalcError] = []
        self.seen: set[tuple[Any, str]] = set()
        self.poisoned = False  # an earlier error made some shape unknown
        self.defined = _literal_names(spec)
        # ops are immutable: a block repeated 36 times builds each op once, and a notebook
        # analysing the same network again builds none (_OPS outlives the build)
        if len(_OPS) > MAX_OPS:
            _OPS.clear()
        self.ops = _OPS
        # A block instance is a pure function of (block, its arguments, its input shape) when it
        # only reads its own layers and its input: its expansion is kept as a template and
        # replayed under the next instance's name (ResNet-152's 36 identical bottlenecks expand
        # once). frames: [first node, pure, input node] of each instance being expanded.
        # A template whose expansion made no choice by shape (no projection shortcut, no `shares:`)
        # is also kept under the key without the shape, and replayed on another input shape with
        # every shape inferred again (DenseNet's dense layers, each on more channels than the
        # last). shaped counts the choices made so far, to tell.
        self.templates = {} if templates is None else templates  # (what an earlier build of spec kept)
        self.frames: list[list[Any]] = []
        self.shaped = 0
        self.envs: dict[tuple, tuple] = {}  # (block, arguments, scope env) ids -> those, the env, its key
        self.training = 0  # > 0 while expanding a `train_only:` item
        self.evaluating = 0  # > 0 while expanding an `eval_only:` item
        # how many times the item being expanded will be expanded in all (the product of the
        # enclosing repeats still to run, this one included): with the size of a first instance,
        # it foresees the layer count, so nested repeats stop at once instead of near the limit
        self.multiplicity = 1

    def report(self, exc: CnncalcError, layer: str | None = None) -> None:
        """Record a problem once (a block used many times reports its mistake once)."""
        if isinstance(exc, LimitError):
            raise exc
        key = (exc.span, exc.message)
        if key not in self.seen:
            self.seen.add(key)
            # a hint only for an error that is shown: working one out may cost a pass over the names
            hint = exc.hint if len(self.errors) < MAX_ERRORS else ""
            self.errors.append(type(exc)(exc.span, _in_layer(layer, exc.message), hint))
        self.poisoned = True

    # -- nodes ---------------------------------------------------------------------------------
    def name_output(self, name: str, node: int) -> None:
        """A block instance's or a repeated item's output, by its full name (the first one kept)."""
        if name not in self.outputs_of:
            self.outputs_of[name] = node
            self.outputs_added.append(name)

    def node(self, scope: _Scope, local: str, op: OpDef, inputs: list[int], span: Span | None) -> int:
        name = scope.full(local)
        if name == "input":  # `inputs: [input]` means the network's input; a layer cannot take its name
            self.report(SpecError(span, "a layer cannot be named 'input': `inputs: [input]` is the network's input",
                                  "give it another `name:`"))
            name = local = f"{local}~{len(self.graph.nodes)}"
        elif name in self.by_name or name in self.outputs_of:  # a layer's, a block instance's or a repeat's
            self.report(SpecError(span, f"duplicate layer name '{name}'" + ("" if name in self.by_name else
                                  " (a block instance or a repeated item is called that)"), "give each layer its own `name:`"))
            name = local = f"{local}~{len(self.graph.nodes)}"
        nodes = self.graph.nodes
        before = [nodes[i] for i in inputs]
        shapes = [n.shape for n in before]
        try:
            if op.arity > 0 and len(inputs) != op.arity:
                raise SpecError(span, f"{op.type} takes {op.arity} input{'s' if op.arity > 1 else ''}, got {len(inputs)}",
                                f"list them: {op.type}: {{inputs: [a, b]}}" if op.arity > 1 else "")
            if op.arity == 0 and len(inputs) < 2:
                raise SpecError(span, f"{op.type} needs two or more inputs",
                                f"list them: {op.type}: {{inputs: [a, b]}}")
            shape = op.output_shape(shapes, span)
        except CnncalcError as exc:
            if not self.poisoned:  # after an earlier error this may only be its consequence
                self.report(exc, name)
            raise _Stop from None
        if not self.training and any(n.train_only for n in before):
            self.report(SpecError(span, f"'{name}' reads a layer that runs only in training",
                                  "a `train_only:` branch (an auxiliary head) feeds nothing that runs in eval"), name)
        if not self.evaluating and any(n.eval_only for n in before):
            self.report(SpecError(span, f"'{name}' reads a layer that runs only in inference",
                                  "what reads an `eval_only:` layer runs only in inference too: mark it so"), name)
        index = self.graph.add(tuple.__new__(Node, (name, op, tuple(inputs), shape, span, scope.path, self.training > 0,
                                                    -1, self.evaluating > 0)))
        scope.names[local] = index
        self.by_name[name] = index
        return index

    def resolve(self, scope: _Scope, ref: Any, span: Span) -> int:
        if not isinstance(ref, str):
            raise SpecError(span, f"`inputs:` names layers; found {ref!r}")
        s: _Scope | None = scope
        while s is not None:  # innermost scope first, then outwards, then full names
            if ref in s.names:
                return self._seen_from_frames(s.names[ref])
            s = s.parent
        if ref == "in":  # the input of the block instance this layer is in (the network's at the top)
            s = scope
            while s is not None and s.src is None:
                s = s.parent
            return self._seen_from_frames(0 if s is None or s.src is None else s.src, own_input=True)
        if ref in self.by_name:
            return self._seen_from_frames(self.by_name[ref])
        if ref in self.outputs_of:  # a block instance or a repeated item, by its full name: its output
            return self._seen_from_frames(self.outputs_of[ref])
        if ref == "input":
            return self._seen_from_frames(0)
        if ref in self.defined:
            raise SpecError(span, f"`inputs:` names '{ref}', which is this layer or one below it",
                            "inputs must come from layers above, so the graph cannot have a cycle")
        # a hint only for an error that is shown (the first MAX_ERRORS): each costs a pass over the names
        visible = [*scope.names, *self.by_name, *self.outputs_of] if len(self.errors) < MAX_ERRORS else ()
        raise SpecError(span, f"`inputs:` names '{ref}', which is not an earlier layer",
                        did_you_mean(ref, visible) or "a layer can only take inputs from layers above it")

    def _seen_from_frames(self, index: int, own_input: bool = False) -> int:
        """A reference to node `index`: an instance expanding around it that it lies outside of
        is no longer a function of its own input alone (no template is kept for it), unless the
        reference is `in`, its own input (the template's input). A name that happens to be the
        input (`stem`, read by the block after it) still makes it impure: the next instance's
        input is another node."""
        for frame in self.frames:
            if index < frame[0] and not (own_input and index == frame[2]):
                frame[1] = False
        return index

    # -- items ---------------------------------------------------------------------------------
    def items(self, items: list[Item], scope: _Scope, cur: int) -> int:
        for item in items:
            cur = self.item(item, scope, cur)
        return cur

    def item(self, item: Item, scope: _Scope, cur: int) -> int:
        if isinstance(item, ResidualItem):
            return self.residual(item, scope, cur)
        if isinstance(item, ParallelItem):
            return self.parallel(item, scope, cur)
        return self.layer(item, scope, cur)

    def header(self, item: LayerItem, scope: _Scope, cur: int) -> tuple[int, str | None, list[int]]:
        """repeat, name and input nodes of a layer item."""
        repeat = substitute(item.repeat, scope.env, item.span)
        if type(repeat) is not int or repeat < 0:
            raise SpecError(item.span, f"'repeat' must be a non-negative integer, found {repeat!r}",
                            "repeat: 0 leaves the layer out (a stage a smaller variant does not have)")
        if repeat > self.limits.repeat:
            raise LimitError(item.span, f"'repeat: {repeat:,}' is more than the limit", "repeat", self.limits.repeat)
        name = substitute(item.name, scope.env, item.span)
        if name is not None and (not isinstance(name, str) or not name or "." in name):
            raise SpecError(item.span, f"'name' must be text without dots, found {name!r}",
                            "dots separate the levels of hierarchical names (conv3_x.0.conv1)")
        if name is not None and len(name) > MAX_NAME:
            raise SpecError(item.span, f"a layer name of {len(name):,} characters (at most {MAX_NAME})",
                            "give it a shorter `name:`")
        sources = [cur]
        if item.inputs is not None and repeat:  # a layer left out (repeat: 0) reads nothing, so names nothing
            sources = [self.resolve(scope, substitute(r, scope.env, s), s)
                       for r, s in zip(item.inputs, item.inputs.item_spans)]
        return repeat, name, sources

    def layer(self, item: LayerItem, scope: _Scope, cur: int) -> int:
        if item.eval_only:  # on the main path, but no part of a training step
            self.evaluating += 1
            try:
                return self._layer(item, scope, cur)
            finally:
                self.evaluating -= 1
        if item.train_only:  # a side branch: built and named, but the next item reads `cur` again
            self.training += 1
            try:
                self._layer(item, scope, cur)
            finally:
                self.training -= 1
            return cur
        return self._layer(item, scope, cur)

    def _layer(self, item: LayerItem, scope: _Scope, cur: int) -> int:
        block = self.spec.blocks.get(item.type)
        cls = lookup(item.type) if block is None else None  # (a block named like an op is an error, below)
        try:
            repeat, name, sources = self.header(item, scope, cur)
        except SpecError as exc:
            self.report(exc)
            repeat, name, sources = 1, None, [cur]
        if block is None and cls is None:
            known = [*self.spec.blocks, *_op_names()] if len(self.errors) < MAX_ERRORS else ()
            where = f" (in '{scope.prefix}')" if scope.prefix else ""
            self.report(SpecError(item.span, f"unknown layer type '{item.type}'{where}",
                                  did_you_mean(item.type, known) or "docs/ops.md lists the layer types"))
            return self.node(scope, name or scope.auto("unknown"), _Unknown(), sources, item.span)
        if repeat == 0:  # left out: nothing is made, and the next item reads what this one would have
            return cur
        base = name or scope.auto(item.type if block else cls.type)  # type: ignore[union-attr]
        outer, before = self.multiplicity, len(self.graph.nodes)
        try:
            numbered = repeat > 1 and base.isdigit() and name is not None  # `name: "1"`: 1, 2, 3 (a Sequential's children)
            for r in range(repeat):
                local = (str(int(base) + r) if numbered else f"{base}.{r}") if repeat > 1 else base
                self.multiplicity = outer * (repeat - r)
                if r == 1:
                    self._foresee(len(self.graph.nodes) - before, outer * repeat, item.span)
                args = _merged(item.args, item.first if r == 0 else None)
                if block is not None:
                    if len(sources) != 1:
                        self.report(SpecError(item.span, f"block '{item.type}' takes one input, got {len(sources)}",
                                              "give it one (`inputs: [NAME]`), or leave `inputs:` out to take the layer above"))
                    cur = self.instance(block, args, scope, local, sources[0] if sources else cur, item.span)
                else:
                    try:
                        op: OpDef = self.item_op(item, args, scope.env, r == 0 and item.first is not None,
                                                 keep=scope.parent is not None)
                    except SpecError as exc:
                        self.report(exc, scope.full(local))
                        op = _Unknown()
                    cur = self.node(scope, local, op, sources, item.span)
                    if item.shares is not None:
                        self.share(scope, cur, item)
                sources = [cur]
        finally:
            self.multiplicity = outer
        if repeat > 1 and not numbered:  # `layer1` names what the repetitions put out (layer1.0, layer1.1 name each)
            scope.names.setdefault(base, cur)
            self.name_output(scope.full(base), cur)
        return cur

    def item_op(self, item: LayerItem, args: LMap, env: Mapping[str, Any], first: bool, keep: bool = True) -> OpDef:
        """The op of a layer item under env. The item's arguments read only the `$names` they
        name: the same item with those names bound to the same values is the same op, found
        without substituting again (a bottleneck's `bn` and `conv: {out: $planes}` expanded a
        second time, the same network analysed again in a notebook). _ITEM_OPS keeps the item
        with its op, so that no id is reused while the entry lives. keep: False for the items of
        the network's top level, expanded once a build (a flat 100k-layer spec would only fill
        and empty the tables)."""
        if not keep:
            return self.args_op(item, args, env)
        names = _REFS.get((id(item), first))
        if names is None or names[0] is not item:
            if len(_REFS) > MAX_ITEMS:  # (a 100k-layer spec, or `serve` over many specs: bounded)
                _REFS.clear()
            names = _REFS[(id(item), first)] = (item, _refs(args))
        bound = [env.get(n, _MISSING) for n in names[1]]
        key: tuple | None = (id(item), first, *bound, *[v.__class__ for v in bound])  # (1 and true differ)
        try:
            found = _ITEM_OPS.get(key)  # type: ignore[arg-type]
        except TypeError:  # an argument bound to a list: substituted each time
            found, key = None, None
        if found is not None and found[0] is item:
            return found[1]
        op = self.args_op(item, args, env)
        if key is not None:
            if len(_ITEM_OPS) > MAX_OPS:
                _ITEM_OPS.clear()
            _ITEM_OPS[key] = (item, op)
        return op

    def args_op(self, item: LayerItem, args: LMap, env: Mapping[str, Any]) -> OpDef:
        """The op of a layer item: its arguments substituted, the op made once per values (_OPS)."""
        values = {k: substitute(v, env, args.at(k)) for k, v in args.items()}
        return self.op(item.type, values, item.span, args.value_spans, args.key_spans)

    def share(self, scope: _Scope, index: int, item: LayerItem) -> None:
        """`shares: NAME`: node `index` uses NAME's parameters (a module called twice), which
        must be the same op on the same input channels; its own parameters are then not counted."""
        self.shaped += 1  # whether the layers are the same depends on their input shapes
        span = item.args.span if item.args is not None else item.span
        ref = substitute(item.shares, scope.env, item.span)
        try:
            other = self.resolve(scope, ref, item.span)
        except SpecError as exc:
            self.report(SpecError(item.span, exc.message.replace("`inputs:`", "`shares:`"), exc.hint))
            return
        mine, theirs = self.graph.nodes[index], self.graph.nodes[other]
        same = (mine.op == theirs.op and mine.op.cost([self.graph.nodes[i].shape for i in mine.inputs], mine.shape)[:2]
                == theirs.op.cost([self.graph.nodes[i].shape for i in theirs.inputs], theirs.shape)[:2])
        if other == 0 or not same:
            self.report(SpecError(span, f"`shares: {ref}`: '{theirs.name}' is not the same layer (its op, arguments "
                                  "and input channels must be this one's to share its parameters)"))
            return
        self.graph.nodes[index] = mine._replace(shares=theirs.shares if theirs.shares >= 0 else other)

    def _foresee(self, size: int, copies: int, span: Span) -> None:
        """Stop before the work when `copies` instances in all of `size` layers would pass the
        layer limit (the first instance was just built: the later ones are its like)."""
        if copies > 1 and size * (copies - 1) + len(self.graph.nodes) > self.limits.layers:
            raise LimitError(span, f"the spec expands to about {size * copies + len(self.graph.nodes) - size:,} "
                             "layers (check `repeat:` counts)", "layers", self.limits.layers)

    def instance(self, block: BlockSpec, args: LMap, scope: _Scope, local: str, src: int,
                 span: Span) -> int:
        where = scope.full(local)
        if where in self.by_name:  # `inputs: [NAME]` would not say which (two instances may share a name,
            # as torch's ModuleList wrappers do, their layers' names being told apart by node())
            self.report(SpecError(span, f"duplicate layer name '{where}' (a layer is called that already)",
                                  "give the block instance its own `name:`"))
            return src
        if block.name in self.active:
            chain = " -> ".join([*self.active, block.name])
            self.report(SpecError(span, f"block '{block.name}' uses itself ({chain})"), where)
            return src
        if len(self.active) >= self.limits.depth:
            raise LimitError(span, "blocks nest too deeply", "depth", self.limits.depth)
        # the arguments of a repeated item are the same objects each time (`layer3`'s 36
        # bottlenecks): their environment is worked out once (kept with those objects, so that
        # no id is reused while the build runs)
        known = self.envs.get((id(block), id(args), id(scope.env)))
        if known is not None and known[0] is block and known[1] is args and known[2] is scope.env:
            env, frozen = known[3], known[4]
        else:
            env = dict(self.globals)
            for key, default in block.params.items():
                try:
                    env[key] = substitute(default, self.globals, block.params.at(key))
                except SpecError as exc:
                    self.report(exc)
            failed = set()  # arguments whose value was an error already reported: not "missing" too
            for key, value in args.items():
                try:
                    if key not in block.params:
                        raise SpecError(args.key_spans[key], f"block '{block.name}' has no argument '{key}'",
                                        (did_you_mean(key, block.params) or f"it takes: {', '.join(block.params) or 'no arguments'}")
                                        if len(self.errors) < MAX_ERRORS else "")  # a hint only for an error shown
                    env[key] = substitute(value, scope.env, args.at(key))
                except SpecError as exc:
                    failed.add(key)
                    self.report(exc, where)
            missing = [k for k in block.params if env.get(k) is None and k not in failed]
            if missing:
                self.report(SpecError(span, f"block '{block.name}' needs argument '{missing[0]}'",
                                      f"e.g. {block.name}: {{{missing[0]}: ...}}"), where)
            if missing or failed:  # expanding it would only repeat the error in its layers
                return src
            frozen = _env_key(env)
            if not self.errors:
                self.envs[(id(block), id(args), id(scope.env))] = (block, args, scope.env, env, frozen)
        key = ((block.name, self.graph.nodes[src].shape, *frozen)
               if frozen is not None and not self.errors and not self.training and not self.evaluating
               else None)  # expanded each time
        if key is not None:
            template, infer = self.templates.get(key), False
            if template is None:  # the same instance on another input shape, when that changes nothing else
                template, infer = self.templates.get((key[0], *key[2:])), True
            if isinstance(template, _Pending):  # recorded, not yet made relative
                template = template.made()
            if template is not None:
                start = len(self.graph.nodes)
                replayed = self.replay(template, scope, where, src, infer)
                if replayed is not None and infer:  # its shapes, kept for this shape too (the next build's)
                    self.templates[key] = _Pending(
                        self.graph.nodes[start:], start, where, src, replayed, len(scope.path),
                        [(rel, src if pos < 0 else start + pos) for rel, pos in template.outputs], template.shaped)
                if replayed is not None:
                    scope.names[local] = replayed
                    self.name_output(where, replayed)
                    return replayed
        self.active.append(block.name)
        inner = scope.child(local, env)
        inner.src = src
        start = len(self.graph.nodes)
        named = len(self.outputs_added)
        frame = [start, True, src]
        self.frames.append(frame)
        shaped = self.shaped
        try:
            out = self.items(block.layers, inner, src)
        finally:
            self.active.pop()
            self.frames.pop()
        if key is not None and frame[1] and not self.errors:
            # the outputs of the instance's own nested instances and repeats (`inputs: [m.0]`), kept
            # with the template so that a replayed instance can be named the same way
            inner_outputs = [(name[len(where) + 1:], self.outputs_of[name]) for name in self.outputs_added[named:]
                             if name.startswith(where + ".")]
            # kept as where the nodes lie, made relative only when an instance replays it (a
            # deep file such as a YOLO's nests instances in instances, most of them never repeated)
            pending = _Pending(self.graph.nodes[start:], start, where, src, out, len(scope.path), inner_outputs,
                               self.shaped != shaped)
            self.templates[key] = pending
            if self.shaped == shaped:
                self.templates.setdefault((key[0], *key[2:]), pending)
        scope.names[local] = out
        self.name_output(where, out)
        return out

    def replay(self, template: _Template, scope: _Scope, where: str, src: int, infer: bool = False) -> int | None:
        """The kept expansion of an instance, under the name `where`, on the input node `src`
        (infer: every shape worked out again, on an input of another shape); None, and nothing
        added, when it cannot be replayed as it is (a name taken already, a shape that does not
        fit, the layer limit reached inside it): the instance is then expanded, which says why."""
        graph = self.graph
        nodes = graph.nodes
        start = len(nodes)
        last = start + len(template.nodes) - 1  # the length of nodes before the last one is added
        if last > graph.limits.layers:
            return None  # (Graph.add stops the expansion at the layer the limit falls on)
        if last // EVERY != (start - 1) // EVERY:  # what Graph.add would do on the way
            checkpoint()
        path, by_name, make = scope.path, self.by_name, tuple.__new__
        scopes: dict[tuple[str, ...], tuple[str, ...]] = {}
        try:
            for t in template.nodes:
                name = f"{where}.{t.name}"
                if name in by_name:
                    raise _Stop
                rel = t.scope
                within = scopes.get(rel)
                if within is None:
                    within = scopes[rel] = (*path, *[where + r for r in rel])
                rel_in = t.inputs
                inputs: tuple[int, ...]
                if len(rel_in) == 1:
                    inputs = (src if rel_in[0] < 0 else start + rel_in[0],)
                else:
                    inputs = tuple([src if i < 0 else start + i for i in rel_in])
                shape = t.op.output_shape([nodes[i].shape for i in inputs], t.span) if infer else t.shape
                by_name[name] = len(nodes)
                nodes.append(make(Node, (name, t.op, inputs, shape, t.span, within, t.train_only,
                                         start + t.shares if t.shares >= 0 else -1, t.eval_only)))
        except (_Stop, CnncalcError):
            for node in nodes[start:]:
                del by_name[node.name]
            del nodes[start:]
            return None
        if template.shaped:
            self.shaped += 1
        for rel_name, pos in template.outputs:
            self.name_output(f"{where}.{rel_name}", src if pos < 0 else start + pos)
        return src if template.out < 0 else start + template.out

    def op(self, name: str, args: Mapping[str, Any], span: Span, spans: Mapping[str, Span] | None = None,
           key_spans: Mapping[str, Span] | None = None) -> OpDef:
        """The op of this type and these (substituted) arguments, made once (self.ops); spans
        locate a wrong value or key (a layer's; the builder's own merges and projections have none)."""
        key = (name, *((k, _frozen(v)) for k, v in args.items()))
        found = self.ops.get(key)
        if found is None:
            found = self.ops[key] = build_op(name, args, spans or {}, span, key_spans)
        return found

    def residual(self, item: ResidualItem, scope: _Scope, cur: int) -> int:
        inner = scope.child(item.name) if item.name else scope
        body = self.items(item.body, inner, cur)
        if item.shortcut == "identity":
            short = cur
        elif item.shortcut == "projection":
            short = self.projection(inner, cur, body, item.span)
        else:
            short = self.items(item.shortcut, inner.child("shortcut"), cur)  # type: ignore[arg-type]
        x_shape, y_shape = self.graph.nodes[cur].shape, self.graph.nodes[body].shape
        if (item.shortcut == "identity" and item.merge != "concat" and not self.poisoned
                and not _broadcast(x_shape, y_shape)):
            self.report(ShapeError(item.span, f"the residual's body turns {fmt_shape(x_shape)} into "
                                   f"{fmt_shape(y_shape)}: its identity shortcut cannot {item.merge} them",
                                   "`shortcut: projection` puts a strided 1x1 conv + bn on the shortcut to match "
                                   "(ResNet's option B)"))
            raise _Stop
        # concat puts the shortcut's channels first, as DenseNet does: cat([x, f(x)])
        inputs = [short, body] if item.merge == "concat" else [body, short]
        return self.node(inner, inner.auto(item.merge), self.op(item.merge, {}, item.span), inputs, item.span)

    def projection(self, scope: _Scope, x: int, body: int, span: Span) -> int:
        """identity when shapes match, else 1x1 conv (stride to fit) + bn, as ResNet option B."""
        self.shaped += 1  # a choice by shape: the instance it is in is replayed on its own shape only
        x_shape, y_shape = self.graph.nodes[x].shape, self.graph.nodes[body].shape
        if x_shape == y_shape:
            return x
        # (a C x L, C x H x W or C x T x H x W map: a 1x1 / 1x1x1 conv, strided per axis)
        stride = ([-(-a // b) for a, b in zip(x_shape[1:], y_shape[1:])]
                  if len(x_shape) == len(y_shape) and 2 <= len(x_shape) <= 4 else [])
        if not stride or [window_out(a, 1, s, 0) for a, s in zip(x_shape[1:], stride)] != list(y_shape[1:]):
            if not self.poisoned:
                self.report(ShapeError(span, f"no strided 1x1 conv maps {fmt_shape(x_shape)} to "
                                       f"{fmt_shape(y_shape)} for the projection shortcut"))
            raise _Stop
        sub = scope.child("shortcut")
        conv = self.op("conv", {"out": y_shape[0], "kernel": 1, "stride": stride, "bias": False}, span)
        c = self.node(sub, sub.auto("conv"), conv, [x], span)
        return self.node(sub, sub.auto("bn"), self.op("bn", {}, span), [c], span)

    def parallel(self, item: ParallelItem, scope: _Scope, cur: int) -> int:
        inner = scope.child(item.name) if item.name else scope
        outs = [self.items(layers, inner.child(bname), cur) for bname, layers in item.branches]
        return self.node(inner, inner.auto(item.merge), self.op(item.merge, {}, item.span), outs, item.span)


def _broadcast(a: Shape, b: Shape) -> bool:
    """Whether an elementwise add or mul takes the two shapes (each axis equal, or 1)."""
    return len(a) == len(b) and all(x == y or x == 1 or y == 1 for x, y in zip(a, b))


class _TemplateNode(Record):
    name: str  # relative to the instance: "conv1", "residual.add1"
    op: OpDef
    inputs: tuple[int, ...]  # nodes of the template by position; -1 is the instance's input
    shape: Shape
    span: Span | None
    scope: tuple[str, ...]  # the node's block scopes, each relative to the instance's name
    train_only: bool
    shares: int = -1  # the template node whose parameters it uses, by position
    eval_only: bool = False


class _Template(Record):
    nodes: tuple[_TemplateNode, ...]
    out: int  # the instance's output by position, or -1: its input (an empty block)
    outputs: tuple[tuple[str, int], ...] = ()  # nested instances' and repeats' outputs: (relative name, position)
    shaped: bool = False  # its expansion chose by shape (a projection shortcut, `shares:`): no other shape replays it


class _Pending:
    """An instance's expansion, its nodes as built (a slice of the graph's list: the nodes are
    immutable, whatever is later done to the list), made relative (_record) the first time an
    instance replays it, in this build or the next one of the same spec (_TEMPLATES): a deep
    file such as a YOLO's nests instances in instances, most of them never repeated."""

    __slots__ = ("args", "template")

    def __init__(self, *args: Any) -> None:
        self.args: tuple[Any, ...] | None = args  # (its nodes, the first one's index, ...)
        self.template: _Template | None = None

    def made(self) -> _Template:
        template = self.template
        if template is None:
            args = self.args
            if args is None:  # made meanwhile by another thread (`serve` builds in threads)
                return self.template  # type: ignore[return-value]
            nodes, start, where, src, out, depth, inner_outputs, shaped = args
            template = self.template = _record(nodes, start, where, src, out, depth, inner_outputs, shaped)
            self.args = None
        return template


def _record(nodes: Sequence[Node], start: int, where: str, src: int, out: int, depth: int,
            inner_outputs: Sequence[tuple[str, int]] = (), shaped: bool = False) -> _Template:
    """The expansion `nodes` (the first at index `start`) of the instance `where` on input
    `src`, made relative."""
    cut, length, make = len(where) + 1, len(where), tuple.__new__
    scopes: dict[tuple[str, ...], tuple[str, ...]] = {}  # the nodes of one block share their scope tuple
    kept = []
    for n in nodes:
        within = scopes.get(n.scope)
        if within is None:
            within = scopes[n.scope] = tuple([p[length:] for p in n.scope[depth:]])
        ins = n.inputs
        rel_in = ((-1 if ins[0] == src else ins[0] - start,) if len(ins) == 1 else
                  tuple([-1 if i == src else i - start for i in ins]))
        kept.append(make(_TemplateNode, (n.name[cut:], n.op, rel_in, n.shape, n.span, within, n.train_only,
                                         n.shares - start if n.shares >= 0 else -1, n.eval_only)))
    outputs = tuple((rel, -1 if node == src else node - start) for rel, node in inner_outputs)
    return _Template(tuple(kept), -1 if out == src else out - start, outputs, shaped)


def _env_key(env: Mapping[str, Any]) -> tuple | None:
    """A block instance's arguments as a hashable key (with the block and its input shape, the
    key of its template), or None when an argument is not a plain value (then the instance is
    expanded every time)."""
    try:
        key = tuple(sorted((k, _frozen(v)) for k, v in env.items()))
        hash(key)
    except TypeError:
        return None
    return key


def _in_layer(layer: str | None, message: str) -> str:
    """Prefix a message with the layer's hierarchical name: "layer 'conv2_x.0.conv1' (conv): ..."."""
    if not layer or message.startswith("layer '"):
        return message
    op = re.match(r"([a-z][a-z0-9_]*): (.*)", message, re.S)
    return f"layer '{layer}' ({op[1]}): {op[2]}" if op else f"layer '{layer}': {message}"


def _frozen(value: Any) -> Any:
    """A hashable stand-in for an argument value (lists become tuples, tagged by type so that
    `true` and `1` stay different keys)."""
    if isinstance(value, list):
        return ("list", *map(_frozen, value))
    if isinstance(value, dict):  # never a valid op argument; build_op reports it
        return ("dict", id(value))
    return (type(value).__name__, value)


def _literal_names(spec: ArchSpec) -> set[str]:
    """Every literal `name:` in the spec, to tell a forward reference from a misspelt one."""
    names: set[str] = set()

    def walk(items: list[Item]) -> None:
        for item in items:
            if isinstance(item, LayerItem) and isinstance(item.name, str):
                names.add(item.name)
            elif isinstance(item, ResidualItem):
                walk(item.body)
                if isinstance(item.shortcut, list):
                    walk(item.shortcut)
            elif isinstance(item, ParallelItem):
                for _, branch in item.branches:
                    walk(branch)

    walk(spec.layers)
    for block in spec.blocks.values():
        walk(block.layers)
    return names


def _merged(args: LMap, first: LMap | None) -> LMap:
    if not first:
        return args
    out = LMap(args)
    out.span, out.key_spans, out.value_spans = args.span, dict(args.key_spans), dict(args.value_spans)
    for key, value in first.items():
        out[key] = value
        out.key_spans[key], out.value_spans[key] = first.key_spans[key], first.value_spans[key]
    return out


def _op_names() -> list[str]:
    from cnncalc.ops import ALIASES, REGISTRY

    return [*REGISTRY, *ALIASES]


def _kind(value: Any) -> str | None:
    """A value's kind as an argument's default fixes it: None where any value may replace it."""
    if type(value) is bool:
        return "true or false"
    if type(value) is int:
        return "an integer"
    if type(value) is float:
        return "a number"
    if isinstance(value, list):
        return "a list"
    return None


def _check_override(key: str, value: Any, default: Any) -> None:
    """An override of the kind of the spec's default (classes: 1000 takes an integer): a value of
    another kind would only fail at the layer that uses it, pointing into the spec's file (a
    bundled one's, for `--set classes=1e400`). An expression (`$...`) is checked where it is used."""
    want, got = _kind(default), _kind(value)
    if want is None or (isinstance(value, str) and "$" in value):
        return
    if got == want or (want == "a number" and got == "an integer"):
        return
    from cnncalc.errors import shorten

    def shown(v: Any) -> str:
        return shorten(f"'{v}'" if isinstance(v, str) else str(v).lower() if type(v) is bool else repr(v), 60)

    raise UsageError(None, f"argument '{key}': {shown(value)} is {got or 'text'}, but the spec's default, "
                     f"{shown(default)}, is {want}", f"e.g. {key}={shown(default)}", param=f"args.{key}")


def _fill(given: Sequence[Any], written: Sequence[Any]) -> list[Any]:
    """given with the spec's leading axes put back (32x32 for [3, 224, 224]: 3x32x32), or cut."""
    return [*written[: len(written) - len(given)], *given][-len(written):]


def _input_shape(value: Any, span: Span) -> Shape:
    if (not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 8
            or not all(type(v) is int and v > 0 for v in value)):
        raise SpecError(span, f"`input:` must be a shape of positive integers ([C, H, W] for images, "
                        f"[N, D] for tokens), found {value!r}", "e.g. input: [3, 224, 224]")
    return tuple(value)


def looks_channels_last(shape: Sequence[int]) -> bool:
    """H x W x C as the slides write it ([227, 227, 3], [28, 28, 1]): three axes, the last 1 or
    3 (grey or RGB), the first two much larger. Read as C x H x W, that is 227 channels of
    227 x 3 pixels, which no image is."""
    return len(shape) == 3 and shape[2] in (1, 3) and shape[0] >= 8 * shape[2] and shape[1] >= 8 * shape[2]


def _read_layout(value: Sequence[int], layout: str | None, span: Span | None, given: str) -> list[int]:
    """The input shape as C x H x W: reordered when it is written H x W x C (layout hwc); an error
    when the layout was not said and the shape looks channels-last (never read silently).
    given: "input=" (the caller's argument: a UsageError) or "input:" (the spec's: a SpecError)."""
    shape = list(value)
    where = "input" if given == "input=" else "`input:`"
    if layout == "hwc":
        if len(shape) != 3 or not all(type(v) is int for v in shape):
            raise _layout_error(given, span, f"{where} is read as H x W x C (layout hwc), so it needs three "
                                f"axes, found {shape!r}", "")
        return [shape[2], shape[0], shape[1]]
    if layout is None and all(type(v) is int for v in shape) and looks_channels_last(shape):
        h, w, c = shape
        written = f"=({h}, {w}, {c})" if given == "input=" else f" [{h}, {w}, {c}]"
        fix = (f"pass input=({c}, {h}, {w}), or layout='hwc' to read it as H x W x C (layout='chw' keeps it "
               f"as written)" if given == "input=" else
               f"write input: [{c}, {h}, {w}], or add `layout: hwc` to the spec to read it as H x W x C "
               f"(`layout: chw` keeps it as written)")
        raise _layout_error(given, span, f"{where}{written} looks like H x W x C (the slides' notation), but "
                            f"cnncalc reads C x H x W: {h} channels of {w} x {c}", fix)
    return shape


def _layout_error(given: str, span: Span | None, message: str, hint: str) -> CnncalcError:
    return UsageError(None, message, hint, param="input") if given == "input=" else SpecError(span, message, hint)


def build_graph(spec: ArchSpec, input_shape: list[int] | None = None,
                overrides: Mapping[str, Any] | None = None, limits: Limits = Limits(),
                layout: str | None = None) -> Graph:
    """Expand the spec into a shaped layer graph; command-line overrides win over the file.
    layout (chw or hwc) says how the input shape is written: input_shape's when given, else the
    spec's (whose own `layout:` applies when layout is None)."""
    globals_ = {k: v for k, v in spec.args.items()}
    for key, value in (overrides or {}).items():
        if key not in spec.args:
            raise UsageError(None, f"the spec has no argument '{key}'",
                             did_you_mean(key, spec.args) or
                             f"its arguments: {', '.join(spec.args) or 'none'}", param=f"args.{key}")
        _check_override(key, value, spec.args[key])
        globals_[key] = value
    span = spec.input_span or spec.span
    if input_shape is not None:
        written = spec.input if isinstance(spec.input, list) else None
        if written is not None and len(written) != len(input_shape):  # 32x32 for a C x H x W net: a mistake
            raise UsageError(None, f"input=({', '.join(map(str, input_shape))}) has {len(input_shape)} axes, but "
                             f"'{spec.name}' is written for {len(written)} (its `input:` is "
                             f"[{', '.join(map(str, written))}])",
                             f"give all {len(written)}: e.g. input=({', '.join(map(str, _fill(input_shape, written)))})",
                             param="input")
        raw_input = _read_layout(input_shape, layout, span, "input=")
    else:
        raw_input = substitute(spec.input, globals_, span)
        if isinstance(raw_input, (list, tuple)):
            raw_input = _read_layout(raw_input, layout or spec.layout, span, "input:")
    kept = _TEMPLATES.get((id(spec), limits))
    if kept is None or kept[0] is not spec:
        if len(_TEMPLATES) >= MAX_KEPT:
            try:
                _TEMPLATES.pop(next(iter(_TEMPLATES)))  # the oldest
            except (KeyError, StopIteration, RuntimeError):  # (another of `serve`'s threads was first)
                pass
        kept = _TEMPLATES[(id(spec), limits)] = (spec, {})
    builder = _Builder(spec, globals_, limits, kept[1])
    shape = _input_shape(raw_input, spec.input_span or spec.span)
    builder.graph.nodes.append(Node("input", InputOp(shape), (), shape, spec.input_span))
    for name, block in spec.blocks.items():  # a block named like an op would silently replace it
        cls = lookup(name) if name in HOME else None  # (HOME: every op name, without loading every op)
        if cls is not None or name in ("residual", "parallel"):
            what = (f"the layer type '{name}'" if cls is None or cls.type == name else
                    f"'{name}', another name of the layer type '{cls.type}'")
            builder.report(SpecError(block.span, f"block '{name}' has the name of {what}",
                                     "give the block a name of its own (docs/ops.md lists the layer types)"))
    root = _Scope("", globals_, None, ())
    try:
        builder.items(spec.layers, root, 0)
    except _Stop:
        pass
    if builder.errors:
        raise builder.errors[0] if len(builder.errors) == 1 else SpecErrors(builder.errors)
    if len(builder.graph.nodes) == 1:  # every item was `repeat: 0`: nothing to count
        first = spec.layers[0].span if spec.layers else spec.span
        raise SpecError(first, "every layer is left out (`repeat: 0`): the network has no layers",
                        "a network needs at least one layer that runs")
    builder.graph.tokens = spec.tokens
    if spec.outputs:
        builder.graph.outputs = _outputs(builder, spec.outputs)
    elif builder.graph.nodes[-1].train_only:
        raise SpecError(builder.graph.nodes[-1].span, "the network's last layer runs only in training",
                        "the output is the last layer: put the `train_only:` branch before it")
    return builder.graph


def _outputs(builder: _Builder, names: tuple[tuple[str, Span], ...]) -> tuple[int, ...]:
    """`outputs:` as node indices: each a layer's full name (or `input`), named once, run in inference."""
    out: list[int] = []
    for name, span in names:
        index = 0 if name == "input" else builder.by_name.get(name)
        if index is None:
            raise SpecError(span, f"`outputs:` names '{name}', which is no layer of the network",
                            did_you_mean(name, builder.by_name) or "name a layer by its full name (layer4, fpn.p5)")
        if index in out:
            raise SpecError(span, f"`outputs:` names '{name}' twice")
        if builder.graph.nodes[index].train_only:
            raise SpecError(span, f"`outputs:` names '{name}', which runs only in training")
        out.append(index)
    return tuple(out)
