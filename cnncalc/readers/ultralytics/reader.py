"""The conversion of an Ultralytics model file into cnncalc spec text (the package's docstring
says how; __init__.py finds files, names scales and keeps what was read in the parse cache).

Stage: reader (pure, torch-free; never imports ultralytics). In: the file's parsed text, the
scale, nc, fused. Out: spec text.
"""

from __future__ import annotations

import ast
import os
import re
from typing import Any

from cnncalc.errors import LimitError, Limits, Span, SpecError, UsageError
from cnncalc.readers.emit import INPUT, write
from cnncalc.readers.ultralytics import nn_attn, nn_block, nn_conv, nn_csp, nn_head  # noqa: F401  (registers)
from cnncalc.readers.ultralytics.build import MODULES, Net, Unsupported, make_divisible
from cnncalc.readers.ultralytics.names import scale_of
from cnncalc.spec.load import LMap

TASKS = {"Detect": "DetectionModel", "v10Detect": "DetectionModel", "Segment": "SegmentationModel",
         "Segment26": "SegmentationModel", "Pose": "PoseModel", "Pose26": "PoseModel", "OBB": "OBBModel",
         "OBB26": "OBBModel", "Classify": "ClassificationModel"}
ACTIVATIONS = {"ReLU": "relu", "SiLU": "silu", "ReLU6": "relu6", "Hardswish": "hardswish", "GELU": "gelu",
               "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyReLU": "leaky_relu", "Identity": "identity"}


def convert(text: str, file: str, scale: str, nc: int | None, fused: bool, nms_free: bool, limits: Limits) -> str:
    """The spec text of an Ultralytics model file's text at one scale."""
    from cnncalc.spec.load import parse_yaml

    data = parse_yaml(text, file, limits)
    return _Reader(data, file, scale, nc, fused, nms_free, limits).spec()


class _Reader:
    def __init__(self, data: Any, file: str, scale: str, nc: int | None, fused: bool, nms_free: bool = False,
                 limits: Limits = Limits()) -> None:
        self.limits = limits
        if not isinstance(data, dict):
            raise SpecError(Span(file, 1, 1), "an Ultralytics model file is a mapping with `backbone:` and `head:`")
        self.data, self.file, self.fused, self.nms_free = data, file, fused, nms_free
        self.nc = nc if nc is not None else data.get("nc", 80)
        self.depth, self.width, self.max_channels = (data.get("depth_multiple", 1.0), data.get("width_multiple", 1.0),
                                                     float("inf"))
        scales = data.get("scales")
        self.scale = scale or str(data.get("scale") or "")
        if scales:
            if not isinstance(scales, dict) or not scales:
                raise self.error("scales", "`scales:` maps each scale letter to [depth, width, max_channels]")
            if not self.scale:
                self.scale = next(iter(scales))
            if self.scale not in scales:
                raise UsageError(None, f"{os.path.basename(file)} has no scale '{self.scale}'",
                                 f"its scales: {', '.join(map(str, scales))} (--set scale=...)")
            entry = scales[self.scale]
            if not (isinstance(entry, list) and len(entry) == 3):
                raise self.error("scales", f"scale '{self.scale}' is [depth, width, max_channels]")
            self.depth, self.width, self.max_channels = entry
        elif scale and scale != scale_of(file):  # yolov9s.yaml: its own name's letter, no scale asked for
            raise UsageError(None, f"{os.path.basename(file)} has no `scales:`; it is read as written",
                             "leave scale out")
        self.reg_max = data.get("reg_max", 16)
        self.end2end = bool(data.get("end2end", False))
        self.kpt_shape = data.get("kpt_shape", [17, 3])
        self.act, self.act_args = "silu", dict[str, Any]()
        if data.get("activation"):
            self.act, self.act_args = self._activation(data["activation"])

    def at(self, key: str) -> Span:
        """Where the file says `key` (its mapping's span when the key is absent)."""
        return self.data.at(key) if isinstance(self.data, LMap) else Span(self.file, 1, 1)

    def error(self, key: str, message: str, hint: str = "") -> SpecError:
        return SpecError(self.at(key), message, hint)

    def _activation(self, text: Any) -> tuple[str, dict]:
        found = re.fullmatch(r"\s*(?:torch\.)?(?:nn\.)?(\w+)\((.*)\)\s*", str(text))
        op = ACTIVATIONS.get(found.group(1)) if found else None
        if found is None or op is None:
            raise self.error("activation", f"activation {text!r} is not one cnncalc reads",
                             f"one of nn.{'(), nn.'.join(ACTIVATIONS)}()")
        args: dict[str, Any] = {}
        if op == "leaky_relu" and found.group(2).strip():
            args["slope"] = float(found.group(2).split(",")[0].split("=")[-1])
        return op, args

    def _rows(self) -> list[tuple[Any, Span]]:
        rows: list[tuple[Any, Span]] = []
        for part in ("backbone", "head"):
            value = self.data.get(part)
            if not isinstance(value, list):
                raise self.error(part, f"`{part}:` is a list of [from, repeats, module, args] rows")
            spans = getattr(value, "item_spans", [self.at(part)] * len(value))
            rows.extend(zip(value, spans))
        return rows

    def spec(self) -> str:
        rows = self._rows()
        last = rows[-1][0][2] if rows and isinstance(rows[-1][0], list) and len(rows[-1][0]) == 4 else ""
        root = TASKS.get(str(last), "DetectionModel")
        self.legacy = True  # Detect's legacy head, until a C3k2, A2C2f or C2fCIB row says otherwise
        names = {"nc": self.nc, "reg_max": self.reg_max, "end2end": self.end2end, "kpt_shape": self.kpt_shape,
                 "depth": self.depth, "width": self.width, "max_channels": self.max_channels, "scale": self.scale}
        net = Net(root, fused=self.fused, act=self.act, act_args=self.act_args, end2end=self.end2end,
                  nms_free=self.nms_free and self.end2end)
        ch: list[int] = [3]
        outs: list[Any] = []
        with net.module("Sequential", "model", INPUT) as model:
            for i, (row, span) in enumerate(rows):
                if not (isinstance(row, list) and len(row) == 4):
                    raise SpecError(span, f"row {i} is [from, repeats, module, args]")
                f, n, m, args = row
                if not isinstance(m, str) or m not in MODULES:
                    from cnncalc.spec.expr import did_you_mean

                    raise SpecError(span, f"module {m!r} (row {i}) is not one cnncalc reads yet",
                                    (did_you_mean(m, MODULES) if isinstance(m, str) else "")
                                    or f"docs/yolo.md lists the {len(MODULES)} modules it reads")
                mod = MODULES[m]
                args = [self._value(a, names) for a in (args if isinstance(args, list) else [args])]
                if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                    raise SpecError(span, f"row {i}: repeats is a positive integer, found {n!r}")
                try:
                    n = max(round(n * self.depth), 1) if n > 1 else n
                except (TypeError, ValueError, OverflowError):
                    raise self.error("depth_multiple", f"depth {self.depth!r} is a number") from None
                if n > self.limits.repeat:
                    raise LimitError(span, f"row {i} repeats {m} {n:,} times", "repeat", self.limits.repeat)
                many = mod.channels in ("concat", "head") or m == "CBFuse"  # the modules that take a list
                if many != isinstance(f, list):
                    reads = "several rows: `from` is a list of them" if many else "one row: `from` is one index"
                    raise SpecError(span, f"row {i}: {m} reads {reads}, found {f!r}",
                                    "e.g. [-1, 6]" if many else "e.g. -1 (the row above)")
                x, c1 = self._from(f, i, outs, ch, span)
                try:
                    out, c2 = self._row(net, i, m, mod, n, args, x, c1)
                except Unsupported as exc:
                    raise SpecError(span, f"row {i} ({m}): {exc}") from None
                except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError) as exc:
                    shown = repr(row[3])[:200]
                    raise SpecError(span, f"row {i} ({m}): its arguments {shown} do not fit {m} ({exc})") from None
                if net.count > self.limits.layers:
                    raise LimitError(span, f"row {i} writes over {self.limits.layers:,} layers", "layers",
                                     self.limits.layers)
                outs.append(out)
                if i == 0:
                    ch = []
                ch.append(c2 if isinstance(c2, int) else c1 if isinstance(c1, int) else 0)
            model.out = outs[-1] if outs else INPUT
        net.root.out = model
        return self._write(net, root)

    def _row(self, net: Net, i: int, m: str, mod: Any, n: int, args: list[Any], x: Any, c1: Any) -> tuple[Any, Any]:
        """Row i written into net (parse_model's channel rules, in our code): (its node, c2)."""
        c2 = c1
        if mod.channels in ("base", "repeat"):
            c2 = args[0] if m == "Classify" else make_divisible(min(args[0], self.max_channels) * self.width, 8)
            args = [c1, c2, *args[1:]]
            if mod.channels == "repeat":
                args.insert(2, n)
                n = 1
            if m == "C3k2":
                self.legacy = False
                if self.scale in ("m", "l", "x"):
                    args[3:4] = [True]
            elif m == "A2C2f":
                self.legacy = False
                if self.scale in ("l", "x"):
                    args.extend((True, 1.2))
            elif m == "C2fCIB":
                self.legacy = False
        elif mod.channels == "head":
            args.extend([self.reg_max, self.end2end, c1])
            if m in ("Segment", "Segment26"):
                args[2] = make_divisible(min(args[2], self.max_channels) * self.width, 8)
            net.legacy = self.legacy
        elif mod.channels == "concat":
            c2 = sum(c1)
        elif mod.channels == "custom" and mod.out is not None:
            c2 = mod.out(c1, args)
        kwargs = {"legacy_act": len(args) <= 3} if m == "SPPF" else {}
        if n > 1:
            return net.chain(str(i), x, n, lambda name, y: mod.write(net, name, y, *args, **kwargs)), c2
        return mod.write(net, str(i), x, *args, **kwargs), c2

    def _write(self, net: Net, root: str) -> str:
        """The spec text of the network written into net."""
        stem = os.path.basename(self.file).rsplit(".", 1)[0]
        name = re.sub(r"(\d+)(.*)$", lambda mt: mt.group(1) + self.scale + mt.group(2), stem, count=1) \
            if self.scale and not scale_of(stem) else stem
        size = 224 if root == "ClassificationModel" else 640
        where = f"scale {self.scale}: " if self.scale else ""
        header = [f"# {os.path.basename(self.file)} read as a cnncalc spec (cnncalc.readers.ultralytics),",
                  f"# {where}depth {self.depth}, width {self.width}"
                  + (f", max_channels {self.max_channels}" if self.max_channels != float('inf') else "")
                  + f"; nc {self.nc}" + ("; fused (BN folded into the convs)" if self.fused else "")
                  + ("; NMS-free (the one-to-one head answers)" if self.nms_free and self.end2end else ""),
                  "# The layers are named as Ultralytics' model names its modules (model.2.m.0.cv1.conv)."]
        outputs = [net.root.out, *net.returns] if net.returns else None
        return write(net.root, name=name, input_shape=(3, size, size), header=header, outputs=outputs,
                     extra={"description": f"Ultralytics {name} ({root}{', fused' if self.fused else ''})",
                            "family": "YOLO"})

    def _value(self, a: Any, names: dict[str, Any]) -> Any:
        """An argument as parse_model reads it: a name it knows (nc), a Python literal ('None',
        '(3, 3)'), or the string itself ('nearest')."""
        if isinstance(a, str):
            if a in names:
                return names[a]
            if len(a) > 200:  # no argument of a module is that long: left as text (an error where it is used)
                return a
            try:
                return ast.literal_eval(a)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return a
        return a

    def _from(self, f: Any, i: int, outs: list[Any], ch: list[int], span: Span) -> tuple[Any, Any]:
        """The input node(s) and channel count(s) of row i's `from`."""
        def one(j: Any) -> tuple[Any, int]:
            if not isinstance(j, int) or isinstance(j, bool):
                raise SpecError(span, f"row {i}: `from` is -1, a row index or a list of them, found {j!r}")
            k = j if j >= 0 else i + j
            if i == 0 and j == -1:
                return INPUT, ch[-1]
            if not 0 <= k < i:
                raise SpecError(span, f"row {i}: `from` {j} is not an earlier row")
            return outs[k], ch[k]
        if isinstance(f, list):
            pairs = [one(j) for j in f]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        return one(f)
