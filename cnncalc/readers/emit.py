"""A reader's recorded structure -> spec YAML text (torch-free).

A reader (torch_module.py; later ONNX, Ultralytics) describes a network as a tree of
`Instance`s (one per call of a container: a module's forward, a block) holding `Layer`s (one per
cnncalc op) and nested instances, each input an explicit reference to what produced it. This
module writes that tree as a spec a person can read and edit:

- every instance becomes a block instance named as the container was (`layer3`, then `4`, then
  `conv2`: the layer `layer3.4.conv2`), so a layer's full name is its module path;
- instances with the same layers become one block (named for the container's class); where they
  differ only in numbers (widths, strides), those numbers become the block's `args:`;
- an input is written only where it is not the item above: a local name, `in` (the block
  instance's own input), or a full name for anything further away.

Stage: reader output. In: Instance tree. Out: YAML text (the spec loader then reads it as any
spec, so what is written is exactly what is analysed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

INPUT = "input"  # the network's input, as specs name it


class Keys(dict):
    """An op's YAML keys, and the defaults of those a spec may leave out (a Layer's args: emit
    writes a key only where it differs from its default somewhere in a block)."""

    def __init__(self, pairs: dict[str, Any], defaults: dict[str, Any]) -> None:
        super().__init__(pairs)
        self.defaults = {k: v for k, v in defaults.items() if k in pairs}


@dataclass(eq=False)
class Layer:
    """One cnncalc op: `op` with its YAML `args`, read from `inputs` (Layer, Instance or INPUT)."""

    op: str
    args: dict[str, Any]
    name: str
    inputs: list[Any]
    shape: tuple[int, ...] = ()
    parent: Instance | None = None
    shares: Layer | None = None  # a module called again: the layer that holds its parameters
    function: bool = False  # reader's use: made by a function call, not a module


@dataclass(eq=False)
class Instance:
    """One call of a container (a module's forward): its items in call order, its input and
    its output (an item's output, or the input itself)."""

    kind: str  # the container's class name: the block's name
    name: str  # the name in its parent (the module attribute): "" for the network itself
    src: Any = INPUT
    out: Any = None
    items: list[Layer | Instance] = field(default_factory=list)
    parent: Instance | None = None
    muted: Any = None  # reader's use: the layer that stands for the container's own code
    qual: str = ""  # reader's use: the container's own path (a module's qualified name)
    synthetic: bool = False  # a container never called itself (a ModuleList walked in a loop)


def full_name(node: Any) -> str:
    """The spec's hierarchical name of a Layer or Instance (layer3.4.conv2), or `input`."""
    if node is INPUT:
        return INPUT
    parts = []
    while node is not None and node.name:
        parts.append(node.name)
        node = node.parent
    return ".".join(reversed(parts))


# -- naming ------------------------------------------------------------------------------------

_BAD = re.compile(r"[^A-Za-z0-9_]")


def local_name(text: str) -> str:
    """A spec-safe local name: no dots, not `input` / `in`."""
    name = _BAD.sub("_", text) or "layer"
    return f"{name}_" if name in ("input", "in") else name


def unique(name: str, taken: set[str]) -> str:
    """name, or name_1, name_2, ... (as torch.fx names a module called twice)."""
    if name not in taken:
        taken.add(name)
        return name
    k = 1
    while f"{name}_{k}" in taken:
        k += 1
    taken.add(f"{name}_{k}")
    return f"{name}_{k}"


# -- references ----------------------------------------------------------------------------------

def _contains(outer: Instance, where: Instance | None) -> bool:
    while where is not None:
        if where is outer:
            return True
        where = where.parent
    return False


def canon(target: Any, where: Instance) -> Any:
    """What a layer in `where` calls `target` by: the outermost instance whose output it is and
    that does not hold `where` (a spec names an instance for its output: `layer1`, not
    `layer1.2.relu_2`), else the target itself."""
    while isinstance(target, Instance) and not target.items:  # an empty container (nn.Sequential()): its input
        target = target.src
    while isinstance(target, (Layer, Instance)) and target.parent is not None and target.parent.out is target \
            and not _contains(target.parent, where) and target.parent.parent is not None:
        target = target.parent
    return target


def _ref(target: Any, where: Instance) -> str:
    """How a layer in `where` names `target` (canonical): a local name, `in`, or a full name."""
    if target is where.src and where.parent is not None:
        return "in"
    if target is INPUT:
        return INPUT
    if getattr(target, "parent", None) is where:
        return target.name
    return full_name(target)


# -- blocks --------------------------------------------------------------------------------------

@dataclass
class _Body:
    """An instance written out: the items as (type, values, name, inputs) with every number a
    slot, and the numbers themselves (per instance)."""

    skeleton: tuple
    numbers: list[Any]


def _is_number(value: Any) -> bool:
    """A number a block may take as an argument: an int, a float, or a list of ints."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)


class _Writer:
    def __init__(self) -> None:
        self.blocks: dict[str, _Block] = {}
        self.by_skeleton: dict[tuple, str] = {}  # (kind, skeleton) -> block name

    # An instance's body: each item's type and fixed values; numbers become slots, collected
    # per instance. Nested instances are written first (their own blocks), then referred to by
    # block name and their argument values (which are numbers of this body).
    def body(self, inst: Instance) -> _Body:
        skeleton: list[tuple] = []
        numbers: list[Any] = []
        runs: list[int] = []  # repetitions of each block item so far
        runs_values: list[list[Any]] = []
        prev = inst.src
        for item in inst.items:
            if isinstance(item, Instance) and not item.items:  # an empty container writes nothing
                continue
            sources = [canon(i, inst) for i in (item.inputs if isinstance(item, Layer) else [item.src])]
            written = None if len(sources) == 1 and sources[0] is prev else tuple(_ref(t, inst) for t in sources)
            if isinstance(item, Layer):
                fixed, nums = _split(item.args)
                if item.shares is not None:  # weight sharing: named as a layer (never as its block)
                    owner = item.shares.name if item.shares.parent is inst else full_name(item.shares)
                    fixed = (*fixed, ("shares", owner, _NO_DEFAULT))
                skeleton.append(("L", item.op, item.name, fixed, written))
                numbers.extend(nums)
                prev = item
                continue
            name, argnames, values = self.instance(item)
            last = skeleton[-1] if skeleton else None
            # a run of numbered instances of one block with the same numbers, each reading the one
            # before (a Sequential's children 1, 2, 3): one item, `repeat: n`
            if (last is not None and last[0] == "B" and last[1] == name and written is None and last[2].isdigit()
                    and item.name == str(int(last[2]) + runs[-1]) and runs_values[-1] == values):
                runs[-1] += 1
                skeleton[-1] = ("B", name, last[2], last[3], last[4], runs[-1])
                prev = item
                continue
            skeleton.append(("B", name, item.name, argnames, written, 1))
            runs.append(1)
            runs_values.append(values)
            numbers.extend(values)
            prev = item
        out = canon(inst.out, inst)
        skeleton.append(("OUT", None if out is prev else _ref(out, inst)))
        # a folded item's count is a number of this body (stages of 3, 4, 6, 3 blocks: one block
        # with `repeat: $n`); an item not folded has none
        final: list[tuple] = []
        counts: list[int] = []
        for entry in skeleton:
            if entry[0] == "B":
                final.append((*entry[:5], entry[5] > 1))
                if entry[5] > 1:
                    counts.append(entry[5])
            else:
                final.append(entry)
        return _Body(tuple(final), numbers + counts)

    def instance(self, inst: Instance) -> tuple[str, int, list[Any]]:
        """(block name, how many numbers it has, this instance's numbers). Instances of one container
        class with the same skeleton are one block; a generic container (Sequential, ModuleList)
        is named for the first instance (`layer1`, `downsample`)."""
        body = self.body(inst)
        key = (inst.kind, body.skeleton)
        known = self.by_skeleton.get(key)
        if known is None:
            base = inst.name if inst.kind in GENERIC and inst.name and not inst.name[0].isdigit() else inst.kind
            name = unique(local_name(base), set(self.blocks) | _reserved())
            self.by_skeleton[key] = name
            self.blocks[name] = _Block(inst.kind, body.skeleton, [body.numbers], {inst.name})
            return name, len(body.numbers), body.numbers
        self.blocks[known].rows.append(body.numbers)
        self.blocks[known].names.add(inst.name)
        return known, len(body.numbers), body.numbers


GENERIC = {"Sequential", "ModuleList", "ModuleDict"}


@dataclass
class _Block:
    kind: str
    skeleton: tuple
    rows: list[list[Any]]  # the numbers of every instance
    names: set[str]  # the instances' names
    slots: list[tuple[str, str]] = field(default_factory=list)
    varying: list[int] = field(default_factory=list)  # slots that differ between instances
    arg_of: dict[int, str] = field(default_factory=dict)  # varying slot -> its argument
    args: list[str] = field(default_factory=list)

    def settle(self, blocks: dict[str, _Block]) -> None:
        """Which slots are arguments: those that differ between instances; equal columns share
        one argument (a bottleneck's conv1.out and conv2.out: its width)."""
        self.slots = _slot_names(self.skeleton, blocks)
        rows = self.rows
        self.varying = [i for i in range(len(self.slots)) if any(r[i] != rows[0][i] for r in rows[1:])]
        seen: dict[tuple, str] = {}
        for i in self.varying:
            column = tuple(_freeze(r[i]) for r in rows)
            if column in seen:
                self.arg_of[i] = seen[column]
                continue
            short, qualified = self.slots[i]
            clash = any(self.slots[j][0] == short and tuple(_freeze(r[j]) for r in rows) != column for j in self.varying)
            arg = unique(short if not clash else qualified, set(self.args))
            self.args.append(arg)
            self.arg_of[i] = seen[column] = arg


def _reserved() -> set[str]:
    from cnncalc.ops import ALIASES, REGISTRY

    return set(REGISTRY) | set(ALIASES) | {"residual", "parallel"}


_NO_DEFAULT = object()


def _split(args: dict[str, Any]) -> tuple[tuple, list[Any]]:
    """An op's keys as (key, fixed value or None for a number slot, its default) and the numbers
    taken out as slots."""
    defaults = getattr(args, "defaults", {})
    fixed, nums = [], []
    for key, value in args.items():
        default = _freeze(defaults.get(key, _NO_DEFAULT))
        if _is_number(value):
            fixed.append((key, None, default))
            nums.append(value)
        else:
            fixed.append((key, _freeze(value), default))
    return tuple(fixed), nums


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


def _slot_names(skeleton: tuple, blocks: dict[str, _Block]) -> list[tuple[str, str]]:
    """Two names for every number slot of a body, in slot order: a short one (the key: `out`,
    `stride`; a nested block's argument; `repeat`) and a qualified one (`conv1_out`). Nested
    blocks are settled already (they were met first)."""
    names: list[tuple[str, str]] = []
    counts: list[tuple[str, str]] = []
    for entry in skeleton:
        if entry[0] == "L":
            names.extend((key, _qualified(entry[2], key)) for key, value, _ in entry[3] if value is None)
        elif entry[0] == "B":
            inner = blocks[entry[1]]
            for i in range(entry[3]):
                short = inner.arg_of.get(i) or inner.slots[i][0]
                names.append((short, _qualified(entry[2], short)))
            if entry[5]:
                counts.append(("n", _qualified(entry[2], "n")))
    return names + counts


def _qualified(layer: str, key: str) -> str:
    """conv1 + out -> conv1_out; a numbered layer (a Sequential's "0") -> l0_out."""
    return local_name(f"{'l' if layer[:1].isdigit() else ''}{layer}_{key}")


# -- writing -------------------------------------------------------------------------------------

def _yaml_scalar(value: Any) -> str:
    """A value in YAML flow style, as the bundled specs write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # YAML reads 1e-06 as text: a float always has its point (1.0e-06)
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            return f"{mantissa}.0e{exponent}"
        return text if any(c in text for c in "e.n") else text + ".0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"\$?[A-Za-z_][A-Za-z0-9_.]*", text) and text.lower() not in (
            "true", "false", "null", "yes", "no", "on", "off", "y", "n", "inf", "nan"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(op: str, pairs: list[tuple[str, Any]]) -> str:
    return f"{op}: {{{', '.join(f'{k}: {_yaml_scalar(v)}' for k, v in pairs)}}}" if pairs else op


def write(root: Instance, *, name: str, input_shape: tuple[int, ...], header: list[str],
          outputs: list[Any] | None = None, tokens: bool = False, extra: dict[str, Any] | None = None) -> str:
    """The spec text for the network `root` (its items are the spec's `layers:`)."""
    writer = _Writer()
    body = writer.body(root)
    for block in writer.blocks.values():  # inner blocks were met first: settled before their users
        block.settle(writer.blocks)
    # a generic container named for its instance (`downsample`) is named for its class when
    # instances of other names use it too (layer1 ... layer4: `Sequential`)
    taken = set(writer.blocks) | _reserved()
    rename = {}
    for bname, block in writer.blocks.items():
        if block.kind in GENERIC and bname != block.kind and len(block.names) > 1:
            rename[bname] = unique(local_name(block.kind), taken)
    if rename:
        writer.blocks = {rename.get(k, k): v for k, v in writer.blocks.items()}
        for block in writer.blocks.values():
            block.skeleton = tuple((e[0], rename.get(e[1], e[1]), *e[2:]) if e[0] == "B" else e for e in block.skeleton)
        body.skeleton = tuple((e[0], rename.get(e[1], e[1]), *e[2:]) if e[0] == "B" else e for e in body.skeleton)
    lines = [*header, f"name: {_yaml_scalar(name)}"]
    lines.extend(f"{key}: {_yaml_scalar(value)}" for key, value in (extra or {}).items())
    lines.append(f"input: {_yaml_scalar(list(input_shape))}")
    if tokens:
        lines.append("tokens: true")
    if writer.blocks:
        lines.append("blocks:")
        for bname, block in writer.blocks.items():
            lines.append(f"  {bname}:" + (f"{' ' * max(1, 26 - len(bname))}# {block.kind}" if block.kind != bname else ""))
            if block.args:
                lines.append(f"    args: {{{', '.join(f'{a}: null' for a in block.args)}}}")
            lines.append("    layers:")
            lines.extend(_items(block.skeleton, block, block.rows[0], writer, indent=6))
    lines.append("layers:")
    lines.extend(_items(body.skeleton, None, body.numbers, writer, indent=2))
    outs = list(outputs or [])
    if not outs and body.skeleton[-1][1] is not None:  # the network's output is not its last layer
        outs = [root.out]
    if outs:
        lines.append(f"outputs: {_yaml_scalar([full_name(_innermost(o)) for o in outs])}")
    return "\n".join(lines) + "\n"


def _innermost(node: Any) -> Any:
    """The layer that makes an instance's output (`outputs:` names layers, not blocks)."""
    while isinstance(node, Instance) and node.out is not None and node.out is not node.src:
        node = node.out
    return node


def _items(skeleton: tuple, block: _Block | None, numbers: list[Any], writer: _Writer, indent: int) -> list[str]:
    """The layers of one body: a number that is an argument written `$arg`, a constant one as it
    is (left out where it is the key's default)."""
    pad = " " * indent
    plain = sum(1 for e in skeleton if e[0] == "L" for _k, v, _d in e[3] if v is None) + sum(
        e[3] for e in skeleton if e[0] == "B")
    slot, count_slot = 0, plain
    out = []

    def value(i: int) -> tuple[Any, bool]:
        """(what to write, whether it is an argument)."""
        if block is not None and i in block.arg_of:
            return "$" + block.arg_of[i], True
        return numbers[i], False

    for entry in skeleton:
        if entry[0] == "L":
            _, op, lname, fixed, refs = entry
            pairs: list[tuple[str, Any]] = [("name", lname)]
            for key, v, default in fixed:
                if v is None:
                    written, is_arg = value(slot)
                    slot += 1
                    if is_arg or _freeze(written) != default:
                        pairs.append((key, written))
                elif v != default:
                    pairs.append((key, _thaw(v)))
            if refs:
                pairs.append(("inputs", list(refs) if len(refs) > 1 else refs[0]))
            out.append(f"{pad}- {_flow(op, pairs)}")
        elif entry[0] == "B":
            _, bname, lname, bslots, refs, folded = entry
            inner = writer.blocks[bname]
            pairs = [("name", lname)]
            mine = list(range(slot, slot + bslots))
            slot += bslots
            for a in inner.args:  # the block's arguments: the first slot each stands for
                j = next(i for i in inner.varying if inner.arg_of[i] == a)
                pairs.append((a, value(mine[j])[0]))
            if folded:
                pairs.append(("repeat", value(count_slot)[0]))
                count_slot += 1
            if refs:
                pairs.append(("inputs", list(refs) if len(refs) > 1 else refs[0]))
            out.append(f"{pad}- {_flow(bname, pairs)}")
        elif entry[0] == "OUT" and entry[1] is not None and indent > 2:
            # the block's output is not its last layer: say which (an identity costs nothing)
            out.append(f"{pad}- {_flow('identity', [('name', 'output'), ('inputs', entry[1])])}")
    return out
