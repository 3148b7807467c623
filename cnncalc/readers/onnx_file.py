"""ONNX files in: a model exported from any framework, read into the same layer graph as a spec,
without running it (docs/onnx.md).

Stage: reader (the only module that reads ONNX files or imports the `onnx` package, an optional
extra; never imported on the analytic path of a spec). In: the .onnx file's path and, for a graph
with symbolic sizes, the input shape. Out: spec text (readers/emit.py), analysed like any spec.

How a file is read:
1. Parsed with protobuf's runtime (the one onnx itself uses) into onnx.proto's messages, declared
   here (ONNX_PROTO): `import onnx` costs most of a second (its ml_dtypes registers numpy loops),
   more than reading a 100 MB model. A file that is not ONNX, truncated or cut short is one
   error; external data is never loaded, only checked to exist; nothing is ever executed.
2. The input's sizes fixed (batch 1; `--input` where the file says a name, not a size). Every
   layer's shape comes from cnncalc's own rule for its op; where a size is needed that no rule
   gives (a Resize's, a Split's pieces), onnx's shape inference runs once, on a copy of the model
   without the weights' data (only their dims and type matter to it).
3. Shape arithmetic (Shape -> Gather -> Concat -> Reshape, Constant, ...) evaluated statically
   with numpy: it disappears from the table; its results become the reshapes' sizes.
4. Every other node mapped to cnncalc ops; initializers that a node multiplies by (Conv, Gemm,
   MatMul, BatchNormalization's scale and bias, ...) are its parameters, BN's running statistics
   its buffers, and other constants no parameters at all. A weight's size is its dims: no weight
   is ever converted to numpy.
5. Layers named for the module they came from (PyTorch's exporters say: TorchScript in the node
   name, /layer1/layer1.0/conv1/Conv; dynamo in metadata, pkg.torch.onnx.name_scopes), grouped
   into block instances by module, and written out as a spec (emit.py).
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cnncalc.errors import LimitError, Limits, Span, SpecError, UsageError
from cnncalc.readers.emit import INPUT, Instance, Keys, Layer, local_name, unique, write

MAX_BYTES = 2**31  # protobuf's own limit for one message
MAX_ELEMENTS = 2**40  # a declared tensor larger than this is a broken or hostile file
MAX_STATIC = 10**6  # shape arithmetic evaluated here makes at most this many elements
SHAPE_OPS = {"Shape", "Size", "Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Cast", "Add", "Sub", "Mul",
             "Div", "Floor", "Ceil", "Range", "ConstantOfShape", "Reshape", "Equal", "Where", "Expand", "Constant",
             "Identity", "ReduceProd", "Neg", "Sqrt", "Max", "Min", "Abs", "Mod", "Less", "Greater", "Not", "And",
             "Or", "Transpose", "Flatten", "NonZero", "Tile"}


VIEWS = {"Reshape", "Transpose", "Expand", "Unsqueeze", "Squeeze", "Flatten", "Cast", "Identity"}


class OnnxError(SpecError):
    """A file that is not a readable ONNX model."""


@dataclass
class Read:
    """What a file reads as: the spec text, and what the file says of itself."""

    text: str
    file: str
    input: tuple[int, ...]
    params: int  # initializers that are learned weights
    buffers: int  # BN running statistics and other stored state
    constants: int  # elements of the other initializers (shape constants, fixed tensors)
    folded_bn: bool  # the exporter folded batch norm into the convolutions
    notes: list[str] = field(default_factory=list)


def read(path: str, input_shape: tuple[int, ...] | None = None, limits: Limits = Limits()) -> Read:
    """The cnncalc spec of the ONNX model in `path`, with its input fixed to input_shape (no batch)."""
    _require(path)
    model = _load(path)
    return _Reader(model, path, input_shape, limits).read()


def _require(path: str) -> None:
    """The onnx extra is installed: onnx (for its shape inference, where it is needed) and with
    it protobuf and numpy, which the reading itself uses. Nothing is imported but those two."""
    import importlib.util

    try:
        import google.protobuf  # noqa: F401  (onnx's own dependencies)
        import numpy  # noqa: F401

        found = importlib.util.find_spec("onnx") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["onnx"] is None
        found = False
    if not found:
        raise UsageError(None, f"reading '{path}' needs the onnx package", "pip install 'cnncalc[onnx]'")


# -- onnx.proto ----------------------------------------------------------------------------------
# The messages of onnx/onnx.proto that a reading touches, each field with onnx.proto's number and
# type (ONNX never renumbers a field): protobuf's runtime parses a file into these exactly as into
# onnx's own classes (the same parser, the same errors); fields not declared here (model-local
# functions, training info) are kept as unknown fields and written back out unchanged for onnx's
# shape inference. "[T]" is a repeated field, "T?" one of its message's oneof `value`.

ONNX_PROTO: dict[str, list[tuple[int, str, str]]] = {
    "ModelProto": [(1, "ir_version", "int64"), (8, "opset_import", "[OperatorSetIdProto]"),
                   (2, "producer_name", "string"), (3, "producer_version", "string"), (4, "domain", "string"),
                   (5, "model_version", "int64"), (6, "doc_string", "string"), (7, "graph", "GraphProto"),
                   (14, "metadata_props", "[StringStringEntryProto]")],
    "OperatorSetIdProto": [(1, "domain", "string"), (2, "version", "int64")],
    "StringStringEntryProto": [(1, "key", "string"), (2, "value", "string")],
    "GraphProto": [(1, "node", "[NodeProto]"), (2, "name", "string"), (5, "initializer", "[TensorProto]"),
                   (15, "sparse_initializer", "[SparseTensorProto]"), (10, "doc_string", "string"),
                   (11, "input", "[ValueInfoProto]"), (12, "output", "[ValueInfoProto]"),
                   (13, "value_info", "[ValueInfoProto]"), (16, "metadata_props", "[StringStringEntryProto]")],
    "NodeProto": [(1, "input", "[string]"), (2, "output", "[string]"), (3, "name", "string"), (4, "op_type", "string"),
                  (7, "domain", "string"), (8, "overload", "string"), (5, "attribute", "[AttributeProto]"),
                  (6, "doc_string", "string"), (9, "metadata_props", "[StringStringEntryProto]")],
    "AttributeProto": [(1, "name", "string"), (21, "ref_attr_name", "string"), (13, "doc_string", "string"),
                       (20, "type", "AttributeProto.AttributeType"), (2, "f", "float"), (3, "i", "int64"),
                       (4, "s", "bytes"), (5, "t", "TensorProto"), (6, "g", "GraphProto"),
                       (22, "sparse_tensor", "SparseTensorProto"), (14, "tp", "TypeProto"), (7, "floats", "[float]"),
                       (8, "ints", "[int64]"), (9, "strings", "[bytes]"), (10, "tensors", "[TensorProto]"),
                       (11, "graphs", "[GraphProto]"), (23, "sparse_tensors", "[SparseTensorProto]"),
                       (15, "type_protos", "[TypeProto]")],
    "TensorProto": [(1, "dims", "[int64]"), (2, "data_type", "int32"), (3, "segment", "TensorProto.Segment"),
                    (4, "float_data", "[float]"), (5, "int32_data", "[int32]"), (6, "string_data", "[bytes]"),
                    (7, "int64_data", "[int64]"), (8, "name", "string"), (12, "doc_string", "string"),
                    (9, "raw_data", "bytes"), (13, "external_data", "[StringStringEntryProto]"),
                    (14, "data_location", "TensorProto.DataLocation"), (10, "double_data", "[double]"),
                    (11, "uint64_data", "[uint64]")],
    "TensorProto.Segment": [(1, "begin", "int64"), (2, "end", "int64")],
    "SparseTensorProto": [(1, "values", "TensorProto"), (2, "indices", "TensorProto"), (3, "dims", "[int64]")],
    "ValueInfoProto": [(1, "name", "string"), (2, "type", "TypeProto"), (3, "doc_string", "string")],
    "TypeProto": [(1, "tensor_type", "TypeProto.Tensor?"), (4, "sequence_type", "TypeProto.Sequence?"),
                  (5, "map_type", "TypeProto.Map?"), (9, "optional_type", "TypeProto.Optional?"),
                  (8, "sparse_tensor_type", "TypeProto.SparseTensor?"), (7, "opaque_type", "TypeProto.Opaque?"),
                  (6, "denotation", "string")],
    "TypeProto.Tensor": [(1, "elem_type", "int32"), (2, "shape", "TensorShapeProto")],
    "TypeProto.Sequence": [(1, "elem_type", "TypeProto")],
    "TypeProto.Map": [(1, "key_type", "int32"), (2, "value_type", "TypeProto")],
    "TypeProto.Optional": [(1, "elem_type", "TypeProto")],
    "TypeProto.SparseTensor": [(1, "elem_type", "int32"), (2, "shape", "TensorShapeProto")],
    "TypeProto.Opaque": [(1, "domain", "string"), (2, "name", "string")],
    "TensorShapeProto": [(1, "dim", "[TensorShapeProto.Dimension]")],
    "TensorShapeProto.Dimension": [(1, "dim_value", "int64?"), (2, "dim_param", "string?"), (3, "denotation", "string")],
}
ONNX_ENUMS: dict[str, list[tuple[str, int]]] = {
    "AttributeProto.AttributeType": [("UNDEFINED", 0), ("FLOAT", 1), ("INT", 2), ("STRING", 3), ("TENSOR", 4),
                                     ("GRAPH", 5), ("SPARSE_TENSOR", 11), ("TYPE_PROTO", 13), ("FLOATS", 6),
                                     ("INTS", 7), ("STRINGS", 8), ("TENSORS", 9), ("GRAPHS", 10),
                                     ("SPARSE_TENSORS", 12), ("TYPE_PROTOS", 14)],
    "TensorProto.DataLocation": [("DEFAULT", 0), ("EXTERNAL", 1)],
}
PACKED = {("TensorProto", n) for n in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")}
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
# an AttributeProto's type -> the field holding its value (a list for the repeated ones), as
# onnx.helper.get_attribute_value reads it
ATTRIBUTE_FIELDS = {1: "f", 2: "i", 3: "s", 4: "t", 11: "sparse_tensor", 5: "g", 13: "tp"}
ATTRIBUTE_LISTS = {6: "floats", 7: "ints", 8: "strings", 9: "tensors", 12: "sparse_tensors", 10: "graphs",
                   14: "type_protos"}


@lru_cache(maxsize=1)
def _proto() -> dict[str, Any]:
    """ONNX_PROTO's message classes by name, in a descriptor pool of their own (onnx's classes,
    if onnx is imported too, live in protobuf's default pool: the two never meet)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    kinds = descriptor_pb2.FieldDescriptorProto
    scalars = {"int64": kinds.TYPE_INT64, "int32": kinds.TYPE_INT32, "uint64": kinds.TYPE_UINT64,
               "float": kinds.TYPE_FLOAT, "double": kinds.TYPE_DOUBLE, "string": kinds.TYPE_STRING,
               "bytes": kinds.TYPE_BYTES}
    file = descriptor_pb2.FileDescriptorProto(name="cnncalc/onnx_subset.proto", package="onnx", syntax="proto2")
    made: dict[str, Any] = {}
    for name in ONNX_PROTO:  # parents come before their nested messages
        parent, _, local = name.rpartition(".")
        made[name] = (made[parent].nested_type if parent else file.message_type).add(name=local)
    for name, values in ONNX_ENUMS.items():
        parent, _, local = name.rpartition(".")
        enum = made[parent].enum_type.add(name=local)
        for value_name, number in values:
            enum.value.add(name=value_name, number=number)
    for name, fields in ONNX_PROTO.items():
        message = made[name]
        for number, field_name, kind in fields:
            repeated, oneof = kind.startswith("["), kind.endswith("?")
            kind = kind.strip("[]?")
            f = message.field.add(name=field_name, number=number,
                                  label=kinds.LABEL_REPEATED if repeated else kinds.LABEL_OPTIONAL)
            if kind in scalars:
                f.type = scalars[kind]
            else:
                f.type = kinds.TYPE_ENUM if kind in ONNX_ENUMS else kinds.TYPE_MESSAGE
                f.type_name = f".onnx.{kind}"
            if (name, field_name) in PACKED:
                f.options.packed = True
            if oneof:
                if not message.oneof_decl:
                    message.oneof_decl.add(name="value")
                f.oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    # GetMessageClass: protobuf 4.22 on; onnx also runs on 3.20's runtime, which names it so
    make = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    return {name: make(pool.FindMessageTypeByName(f"onnx.{name}")) for name in ONNX_PROTO}


# onnx's serialization formats other than the binary protobuf, by extension (onnx.load reads a
# file so named as text or JSON): read by onnx itself
TEXT_FORMATS = (".txtpb", ".textproto", ".prototxt", ".pbtxt", ".json", ".onnxjson", ".onnxtxt", ".onnxtext")


def _parse(path: str) -> Any:
    """The ModelProto in the file, parsed as onnx.load(path, load_external_data=False) parses it."""
    from google.protobuf.message import DecodeError

    model = _proto()["ModelProto"]()
    if os.path.splitext(path)[1] in TEXT_FORMATS:
        import onnx

        model.ParseFromString(onnx.load(path, load_external_data=False).SerializeToString())
        return model
    with open(path, "rb") as fh:
        data = fh.read()
    decoded = model.ParseFromString(data)
    if decoded is not None and decoded != len(data):
        raise DecodeError(f"Protobuf decoding consumed too few bytes: {decoded} out of {len(data)}")
    return model


# -- loading --------------------------------------------------------------------------------------

def _load(path: str) -> Any:
    span = Span(path, 1, 1)
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise LimitError(span, f"the file is {size:,} bytes, more than protobuf reads", "onnx_bytes", MAX_BYTES)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise OnnxError(span, "the file is empty: not an ONNX model")
    if head.lstrip()[:1] in (b"{", b"#", b"<") or head[:4] in (b"PK\x03\x04", b"\x89PNG"):
        raise OnnxError(span, "the file is not an ONNX model (it is text, an archive or an image)",
                        "an ONNX model is a binary protobuf: torch.onnx.export writes one")
    try:
        model = _parse(path)
    except Exception as exc:  # DecodeError, or protobuf's own complaints about a cut file
        raise OnnxError(span, f"the file is not a readable ONNX model ({type(exc).__name__}: "
                        f"{str(exc)[:120] or 'cannot parse'})",
                        "a truncated download or a file of another format?") from None
    if not model.HasField("graph") or not model.graph.node:
        raise OnnxError(span, "the file holds no ONNX graph (no nodes)",
                        "an ONNX model is a binary protobuf: torch.onnx.export writes one")
    folder = os.path.dirname(os.path.abspath(path))
    for init in model.graph.initializer:
        dims = list(init.dims)
        if any(d < 0 for d in dims) or _prod(dims) > MAX_ELEMENTS:
            raise OnnxError(span, f"initializer '{init.name[:80]}' declares {dims} elements: not a tensor a model holds")
        if init.data_location == EXTERNAL:
            where = {e.key: e.value for e in init.external_data}.get("location", "")
            full = os.path.normpath(os.path.join(folder, where))
            if not where or os.path.isabs(where) or not full.startswith(folder + os.sep):
                raise OnnxError(span, f"initializer '{init.name[:80]}' keeps its data at '{where[:80]}', outside "
                                "the model's folder", "external data lies beside the .onnx file")
            if not os.path.isfile(full):
                raise OnnxError(span, f"initializer '{init.name[:80]}' keeps its data in '{where[:80]}', which is "
                                "missing", "copy the .data file beside the .onnx file (cnncalc reads only its size)")
    return model


def _prod(dims: Any) -> int:
    out = 1
    for d in dims:
        out *= int(d)
    return out


# -- the graph ------------------------------------------------------------------------------------

@dataclass
class _Tensor:
    """What is known of one ONNX value: its shape (batch included), its value when it is static,
    the cnncalc node that makes it (None: static), and whether it is an initializer."""

    shape: tuple[int, ...] | None = None
    value: Any = None
    node: Any = None
    init: bool = False
    source: str = ""  # the initializer an init tensor is (or is a reshape, transpose or expand of)
    batch: int | None = 0  # where the batch axis is (the batch is 1); None: folded into another axis


def sample(shape: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    """One sample's shape: the ONNX shape without its batch axis (all of it where the batch was
    folded into another axis: at batch 1 that axis holds one sample's elements)."""
    return shape if batch is None or batch >= len(shape) else (*shape[:batch], *shape[batch + 1:])


def batched(shape: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    """The ONNX shape of a sample shape with the batch (1) at `batch`."""
    return shape if batch is None or batch > len(shape) else (*shape[:batch], 1, *shape[batch:])


class _Reader:
    def __init__(self, model: Any, path: str, input_shape: tuple[int, ...] | None, limits: Limits) -> None:
        self.model, self.path, self.limits = model, path, limits
        self.input_shape = input_shape
        self.span = Span(path, 1, 1)
        self.tensors: dict[str, _Tensor] = {}
        self.root = Instance(kind=model.graph.name or "Model", name="", src=INPUT)
        self.instances: dict[tuple[str, ...], Instance] = {(): self.root}
        self.taken: dict[int, set[str]] = {}
        self.role: dict[str, str] = {}  # initializer -> "param" | "buffer" (else a constant)
        self.uses: Counter[str] = Counter()  # elements used as "param" or "buffer", per use
        self.unknown: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self.count = 0

    def error(self, message: str, hint: str = "") -> OnnxError:
        return OnnxError(self.span, message, hint)

    # -- 1. sizes and shapes
    def read(self) -> Read:
        graph = self.model.graph
        domains = {o.domain or "ai.onnx": o.version for o in self.model.opset_import}
        inits = {i.name: i for i in graph.initializer}
        inputs = [i for i in graph.input if i.name not in inits]
        if len(inputs) != 1:
            raise self.error(f"the graph has {len(inputs)} inputs ({', '.join(i.name for i in inputs)[:120]}); "
                             "cnncalc reads models of one input")
        source = inputs[0]
        self.source = source.name
        dims = [d.dim_value if d.HasField("dim_value") else None for d in source.type.tensor_type.shape.dim]
        if not dims:
            raise self.error(f"the input '{source.name}' has no shape")
        symbolic = [d.dim_param or "?" for d in source.type.tensor_type.shape.dim[1:] if not d.HasField("dim_value")]
        if self.input_shape is not None:
            if len(self.input_shape) != len(dims) - 1:
                raise UsageError(None, f"--input has {len(self.input_shape)} sizes; the model's input "
                                 f"'{source.name}' has {len(dims) - 1} after the batch", param="input")
            full = [1, *(int(d) for d in self.input_shape)]
        elif symbolic:
            raise UsageError(None, f"the model's input '{source.name}' has sizes without a value "
                             f"({', '.join(symbolic)}): say them with --input", "e.g. --input 3x224x224",
                             param="input")
        else:
            full = [1, *(int(d or 0) for d in dims[1:])]
        self.full = full
        self.shapes = _Shapes(self._onnx_shapes)
        try:
            return self._read_graph(graph, inits, domains, full)
        except Exception:
            # where onnx's shape inference rejects the graph, that is the error, as it was when it ran first
            self.shapes.get(self.source)
            raise

    def _read_graph(self, graph: Any, inits: dict[str, Any], domains: dict[str, int], full: list[int]) -> Read:
        """-- 2. to 5.: the initializers, then each node in order, then the spec."""
        self.tensors[self.source] = _Tensor(shape=tuple(full), node=INPUT)
        for name, init in inits.items():
            small = _prod(init.dims) <= 4096 and init.data_location != EXTERNAL
            self.tensors[name] = _Tensor(shape=tuple(init.dims), value=_to_array(init) if small else None,
                                         init=True, source=name)
        self.domains = domains
        self._roles(graph)
        produced = set(self.tensors)
        for node in graph.node:
            missing = [i for i in node.input if i and i not in produced]
            if missing:
                raise self.error(f"node '{node.name[:80]}' ({node.op_type}) reads '{missing[0][:80]}', which no "
                                 "node before it makes", "the nodes are not in order, or the graph has a cycle")
            produced.update(o for o in node.output if o)
        for node in graph.node:
            self.node(node)
        if self.unknown:
            listed = "; ".join(f"{op} ({self.examples[(op, dom)][:60]}{', ' if n > 1 else ''}"
                               f"{f'{n} nodes' if n > 1 else ''})" for (op, dom), n in self.unknown.most_common(12))
            raise self.error(f"{sum(self.unknown.values())} node{'s' if sum(self.unknown.values()) > 1 else ''} of "
                             f"{len(self.unknown)} op type{'s' if len(self.unknown) > 1 else ''} cnncalc does not "
                             f"read: {listed}", "docs/onnx.md lists the ops it reads")
        outs = [self.tensors[o.name].node for o in graph.output if o.name in self.tensors]
        outs = [o for o in outs if o is not None and o is not INPUT]
        if not outs:
            raise self.error("no output of the graph is computed from its input")
        self.root.out = outs[0]
        _collapse(self.root)
        params, buffers = self.uses["param"], self.uses["buffer"]
        used = {self.alias.get(n, n) for n in self.role}
        constants = sum(_prod(i.dims) for n, i in inits.items() if n not in used)
        folded = self._folded_bn(graph)
        stem = os.path.basename(self.path).rsplit(".", 1)[0]
        header = [f"# {os.path.basename(self.path)} read as a cnncalc spec (cnncalc.readers.onnx_file): "
                  f"{self.model.producer_name or 'an exporter'} {self.model.producer_version}, opset "
                  f"{domains.get('ai.onnx', '?')}",
                  "# Layer names are the modules the exporter recorded; shape arithmetic was evaluated away."]
        if folded:
            header.append("# The exporter folded batch norm into the convolutions (their biases): BN's parameters are "
                          "not in the file.")
        note = "batch norm folded into the convolutions by the exporter" if folded else ""
        text = write(self.root, name=local_name(stem), input_shape=tuple(full[1:]), header=header,
                     outputs=outs if len(outs) > 1 else None,
                     extra={"description": f"ONNX {stem}" + (f" ({note})" if note else ""), "family": "ONNX",
                            **({"note": note} if note else {})})
        return Read(text, self.path, tuple(full[1:]), params, buffers, constants, folded)

    def _onnx_shapes(self) -> dict[str, tuple[int, ...]]:
        """onnx's shape inference of every tensor (batch 1, the input's sizes fixed): run on a copy
        of the model whose weights hold no data (a float tensor of more than 4096 elements is
        never a shape input, and inference reads only its dims and type), serialized for onnx."""
        from onnx import shape_inference

        fixed = type(self.model)()
        fixed.CopyFrom(self.model)
        for init in fixed.graph.initializer:
            if init.data_type in FLOAT_TYPES and _prod(init.dims) > 4096:
                for data in ("raw_data", "float_data", "int32_data", "double_data"):
                    init.ClearField(data)
        fixed.graph.ClearField("value_info")
        for value in fixed.graph.input:
            if value.name == self.source:
                for d, n in zip(value.type.tensor_type.shape.dim, self.full):
                    d.Clear()
                    d.dim_value = n
        for value in fixed.graph.output:  # the outputs' declared sizes (a batch name) would clash with 1
            for d in value.type.tensor_type.shape.dim:
                d.Clear()
        try:
            inferred = shape_inference.infer_shapes(fixed.SerializeToString(), check_type=False, strict_mode=False,
                                                    data_prop=True)
        except Exception as exc:
            raise self.error(f"onnx's shape inference rejects the graph: {str(exc).splitlines()[0][:200]}") from None
        shapes: dict[str, tuple[int, ...]] = {}
        for value in [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]:
            t = value.type.tensor_type
            if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
                shapes[value.name] = tuple(d.dim_value for d in t.shape.dim)
        return shapes

    def _roles(self, graph: Any) -> None:
        """Which initializers are parameters (what a node multiplies by or adds as learned), which
        are buffers (BN's running statistics); the rest are constants. An Identity of an
        initializer (TorchScript's export shares one tensor among several convs that way) is that
        initializer."""
        alias: dict[str, str] = {}
        for node in graph.node:
            if node.op_type == "Identity" and self._is_init(alias.get(node.input[0], node.input[0])):
                alias[node.output[0]] = alias.get(node.input[0], node.input[0])
                self.tensors[node.output[0]] = self.tensors[alias[node.output[0]]]
        self.alias = alias  # (each alias counts as its own tensor: the exporter shared equal values, the model not)

    def use(self, name: str, role: str = "param") -> None:
        """One use of an initializer as a parameter or a buffer, by the layer that takes it:
        counted per use, as each layer's own (an exporter stores equal tensors once: an untrained
        model's zero biases and unit scales, BN's zero means and its zero biases, share one)."""
        t = self.tensors.get(name) if name else None
        if t is not None and t.init:
            self.role.setdefault(t.source or name, role)
            self.uses[role] += _prod(t.shape or ())

    def _is_init(self, name: str) -> bool:
        t = self.tensors.get(name)
        return t is not None and t.init

    def _learned(self, name: str) -> bool:
        """An initializer an Add or Mul takes that is a module's own tensor (a bias, a layer scale,
        a class token), by its name: exporters name parameters by their module path, constants by
        a generated name (onnx::Mul_123, _val_12, val_3, Constant_4)."""
        t = self.tensors.get(name)
        if t is None or not t.init or _prod(t.shape or ()) <= 1:
            return False
        return not re.match(r"^(onnx::|_val|val_|const|Constant|_onnx|/)", t.source or name)

    def _folded_bn(self, graph: Any) -> bool:
        """The exporter folded batch norm into the convolutions: dynamo's rewriter says so in the
        node's metadata; TorchScript's export leaves convs whose bias is a generated constant and
        a generated name (onnx::Conv_123) where it folded one (densenet121 keeps the BatchNormalization
        nodes that follow a concat and folds the others)."""
        for node in graph.node:
            for p in node.metadata_props:
                if p.key == "pkg.onnxscript.rewriter.rule_name" and "FuseBatchNorm" in p.value:
                    return True
        return any(n.op_type == "Conv" and len(n.input) > 2 and n.input[2].startswith("onnx::Conv")
                   for n in graph.node)

    # -- 3. and 4. each node
    def node(self, node: Any) -> None:
        op, ins, outs = node.op_type, list(node.input), [o for o in node.output if o]
        if node.domain not in ("", "ai.onnx"):
            self._unknown(node)
            return
        if self._static(node):
            return
        handler = HANDLERS.get(op)
        if handler is None:
            self._unknown(node)
            return
        xs = [self.tensors.get(i) if i else None for i in ins]
        try:
            handler(self, node, xs, outs)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise self.error(f"node '{node.name[:80]}' ({op}): cannot read it ({type(exc).__name__}: "
                             f"{str(exc)[:120]})") from None
        if self.count > self.limits.layers:
            raise LimitError(self.span, f"the graph has over {self.limits.layers:,} layers", "layers", self.limits.layers)

    def _unknown(self, node: Any) -> None:
        key = (node.op_type, node.domain or "")
        self.unknown[key] += 1
        self.examples.setdefault(key, node.name or node.output[0])

    def _static(self, node: Any) -> bool:
        """Evaluate a node whose inputs are all known values (shape arithmetic): True when it was."""
        op = node.op_type
        if op not in SHAPE_OPS:
            return False
        xs = [self.tensors.get(i) if i else None for i in node.input]
        if op == "Shape":
            x = xs[0]
            if x is None or x.shape is None:
                return False
            import numpy as np

            start, end = _attr(node, "start", 0), _attr(node, "end", None)
            self.tensors[node.output[0]] = _Tensor(shape=(len(x.shape[start:end]),),
                                                   value=np.array(x.shape[start:end], dtype=np.int64))
            return True
        if op == "Constant":
            value = _constant(node)
            self.tensors[node.output[0]] = _Tensor(shape=tuple(value.shape), value=value)
            return True
        data = xs[0] if xs else None
        shapes_known = all(x.value is not None for x in xs[1:] if x is not None)
        if data is not None and data.init and data.source and op in VIEWS and shapes_known:
            # a reshape, transpose or expand of a parameter (ViT's class token expanded to the batch,
            # a layer scale viewed as C x 1 x 1): still that parameter, of the inferred shape
            shape: Any = None
            ruled = False  # the shape is the op's rule's; else onnx's inference says it
            if op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze") and data.shape is not None:
                shape = _reshaped(node, data.shape, xs)
                ruled = bool(shape)
            elif op == "Expand" and data.shape is not None and len(xs) > 1 and xs[1] is not None:
                import numpy as np

                shape = tuple(np.broadcast_shapes(data.shape, tuple(max(int(d), 1) for d in xs[1].value.reshape(-1))))
                ruled = True
            elif op == "Transpose" and data.shape is not None:
                perm = _attr(node, "perm", None) or list(reversed(range(len(data.shape))))
                shape, ruled = tuple(data.shape[p] for p in perm), True
            elif op in ("Cast", "Identity"):
                shape, ruled = data.shape, True
            if data.value is not None:
                try:
                    shape = _evaluate(node, [x.value if x is not None else None for x in xs])[0].shape
                    ruled = True
                except Exception:
                    pass
            if not ruled:
                shape = self.shapes.get(node.output[0])
            if shape is not None:
                self.tensors[node.output[0]] = _Tensor(shape=tuple(shape), init=True, source=data.source)
                return True
        if any(x is None or x.value is None for x, name in zip(xs, node.input) if name):
            return False
        try:
            values = _evaluate(node, [x.value if x is not None else None for x in xs])
        except Exception:
            return False  # not evaluable here: the node is read as an op, or reported
        for name, value in zip(node.output, values):
            if name:
                self.tensors[name] = _Tensor(shape=tuple(value.shape), value=value)
        return True

    # -- building the layers
    def scope(self, node: Any) -> tuple[tuple[str, ...], list[str]]:
        """(the module path, its class names) the node came from."""
        meta = {p.key: p.value for p in node.metadata_props}
        if "pkg.torch.onnx.name_scopes" in meta:
            try:
                import ast

                scopes = [s for s in ast.literal_eval(meta["pkg.torch.onnx.name_scopes"]) if s][:-1]
                classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))[1:]
            except (ValueError, SyntaxError):
                scopes, classes = [], []
            path = tuple(scopes[-1].split(".")) if scopes else ()
            kinds = [c.rsplit(".", 1)[-1] for c in classes]
            return path, kinds
        parts = [p for p in (node.name or "").split("/") if p][:-1]
        full = ""
        for p in parts:
            full = p if not full or p.startswith(full + ".") else f"{full}.{p}"
        return (tuple(full.split(".")) if full else ()), []

    def instance(self, path: tuple[str, ...], kinds: list[str]) -> Instance:
        """The instance of the module at `path` now running: the one open at the end of its
        parent, or a new one (a module called again after something else ran: relu, relu_1)."""
        if not path:
            return self.root
        parent = self.instance(path[:-1], kinds[:-1] if kinds else [])
        inst = self.instances.get(path)
        if inst is not None and parent.items and parent.items[-1] is inst:
            return inst
        kind = kinds[len(path) - 1] if len(kinds) >= len(path) else "Module"
        inst = Instance(kind=kind, name=self._name(parent, path[-1]), src=None, parent=parent)
        parent.items.append(inst)
        self.instances[path] = inst
        return inst

    def _name(self, parent: Instance, name: str) -> str:
        taken = self.taken.setdefault(id(parent), set())
        return unique(local_name(name), taken)

    def add(self, node: Any, op: str, args: dict[str, Any], inputs: list[Any], out: str | None,
            shape: tuple[int, ...] | None = None, name: str | None = None, batch: Any = "same") -> Layer:
        """A cnncalc op for `node`, in the instance of its module, reading `inputs` (tensor names
        or cnncalc nodes); its output is the tensor `out`."""
        path, kinds = self.scope(node)
        inst = self.instance(path, kinds)
        refs = [self.tensors[i].node if isinstance(i, str) else i for i in inputs]
        node_up: Any = inst
        while node_up is not None and node_up is not self.root and node_up.src is None:  # a module's input:
            node_up.src = refs[0]  # what its first op reads
            node_up = node_up.parent
        if any(r is None for r in refs):
            raise ValueError("an input made by no layer (a constant where a tensor was expected)")
        first = self.tensors.get(inputs[0]) if isinstance(inputs[0], str) else None
        where = (first.batch if first is not None else 0) if batch == "same" else batch
        y = self._infer(op, args, inputs)
        shape = batched(y, where) if y is not None else shape
        layer = Layer(op=op, args=Keys(args, DEFAULTS.get(op, {})), name=self._name(inst, name or _snake(node.op_type)),
                      inputs=refs, parent=inst)
        inst.items.append(layer)
        self._close(inst, layer)
        self.count += 1
        if out is not None:
            self.tensors[out] = _Tensor(shape=shape or self.shapes.get(out), node=layer, batch=where)
        return layer

    def _infer(self, op: str, args: dict[str, Any], inputs: list[Any]) -> tuple[int, ...] | None:
        """The layer's output shape (batch 1 first) by cnncalc's own rule for the op, from its
        inputs' shapes: onnx's inference does not always know them (sizes computed at run time)."""
        from cnncalc.errors import CnncalcError
        from cnncalc.ops.registry import build_op

        shapes = []
        for i in inputs:
            t = self.tensors.get(i) if isinstance(i, str) else None
            shape = t.shape if t is not None and t.shape is not None else self.shapes.get(i) if isinstance(i, str) else None
            if shape is None or not shape:
                return None
            shapes.append(sample(tuple(shape), t.batch if t is not None else 0))
        try:
            return tuple(build_op(op, dict(args), {}, None).output_shape(shapes, None))
        except CnncalcError as exc:
            raise ValueError(exc.message) from None

    def _close(self, inst: Instance, layer: Layer) -> None:
        """Each enclosing instance's output so far is its newest layer."""
        node: Any = inst
        while node is not None and node is not self.root:
            node.out = layer
            node = node.parent

    def axis(self, name: str, axis: int) -> int:
        """An ONNX axis of the tensor `name` as cnncalc's (its batch axis left out)."""
        t = self.tensors.get(name)
        rank = len(self.shape(name))
        a = axis if axis >= 0 else axis + rank
        b = t.batch if t is not None else 0
        if b is None:
            return a
        if a == b:
            raise ValueError("an operation along the batch axis")
        return a - 1 if a > b else a

    def batch_of(self, name: str) -> int | None:
        t = self.tensors.get(name)
        return t.batch if t is not None else 0

    def shape(self, name: str) -> tuple[int, ...]:
        t = self.tensors.get(name)
        shape = t.shape if t is not None and t.shape is not None else self.shapes.get(name)
        if shape is None:
            raise ValueError(f"the size of '{name[:60]}' is not known")
        return tuple(shape)


def _collapse(inst: Instance, moved: set[int] | None = None) -> None:
    """A module that ran one op itself and holds no other module is that op, named as the module
    (layer1.0.conv1, not layer1.0.conv1.conv), as the PyTorch importer names it; a module that
    only holds such a one (layer1.0 holding conv1) stays."""
    moved = set() if moved is None else moved
    for i, item in enumerate(inst.items):
        if not isinstance(item, Instance):
            continue
        _collapse(item, moved)
        if len(item.items) == 1 and isinstance(item.items[0], Layer) and id(item.items[0]) not in moved:
            layer = item.items[0]
            layer.name, layer.parent = item.name, inst
            inst.items[i] = layer
            moved.add(id(layer))
            node: Any = inst
            while node is not None:
                if node.out is item:
                    node.out = layer
                if node.src is item:
                    node.src = layer
                node = node.parent
            for other in inst.items:
                if isinstance(other, Instance) and other.src is item:
                    other.src = layer


DEFAULTS: dict[str, dict[str, Any]] = {
    "conv": {"stride": 1, "pad": 0, "dilation": 1, "groups": 1, "bias": True},
    "conv_transpose": {"stride": 1, "pad": 0, "output_pad": 0, "dilation": 1, "groups": 1, "bias": True},
    "maxpool": {"pad": 0, "ceil_mode": False}, "avgpool": {"pad": 0, "ceil_mode": False, "count_include_pad": True},
    "linear": {"bias": True}, "softmax": {"axis": 0}, "concat": {"axis": 0}, "bn": {"eps": 1e-5},
}


def _snake(op_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", op_type).lower()


def _attr(node: Any, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return _attribute_value(a)
    return default


def _attribute_value(a: Any) -> Any:
    """An attribute's value, as onnx.helper.get_attribute_value gives it."""
    if a.ref_attr_name:
        raise ValueError(f"Cannot get value of reference attribute: {a}")
    if a.type in ATTRIBUTE_FIELDS:
        return getattr(a, ATTRIBUTE_FIELDS[a.type])
    if a.type in ATTRIBUTE_LISTS:
        return list(getattr(a, ATTRIBUTE_LISTS[a.type]))
    if a.type == 0:  # UNDEFINED
        return None
    raise ValueError(f"Unsupported ONNX attribute: {a}")


def _constant(node: Any) -> Any:
    import numpy as np

    for a in node.attribute:
        value = _attribute_value(a)
        if a.name == "value":
            return _to_array(value)
        if a.name in ("value_int", "value_float"):
            return np.array(value)
        if a.name in ("value_ints", "value_floats"):
            return np.array(list(value))
    raise ValueError("a Constant with no value")


# TensorProto.data_type -> numpy's dtype, for the types shape arithmetic and small constants come
# in; the field a value is kept in when not as raw_data (as onnx's numpy_helper.to_array reads it)
NUMPY_TYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
               10: "float16", 11: "float64", 12: "uint32", 13: "uint64"}
STORED_IN = {1: ("float_data", "float32"), 7: ("int64_data", "int64"), 11: ("double_data", "float64"),
             12: ("uint64_data", "uint64"), 13: ("uint64_data", "uint64")}  # the rest: int32_data
FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


def _to_array(tensor: Any) -> Any:
    """A small tensor's value as a numpy array, as onnx.numpy_helper.to_array makes it: here for
    the common types; a rarer one (bfloat16, float8, strings, a segment, external data) by onnx."""
    import numpy as np

    dtype = NUMPY_TYPES.get(tensor.data_type)
    if dtype is None or tensor.HasField("segment") or tensor.data_location == EXTERNAL or sys.byteorder != "little":
        import onnx
        from onnx import numpy_helper

        return numpy_helper.to_array(onnx.TensorProto.FromString(tensor.SerializeToString()))
    dims = tensor.dims
    if tensor.HasField("raw_data"):
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(dims)
    if tensor.data_type in (10, 5, 4):  # FLOAT16, INT16, UINT16: 16 bits in each int32
        return np.array(tensor.int32_data, dtype=np.int32).view(np.uint32).astype(np.uint16).reshape(dims).view(dtype)
    if tensor.data_type == 9:  # BOOL
        return np.array(tensor.int32_data, dtype=np.int32).view(np.uint32).astype(np.uint8).view(dtype).reshape(dims)
    stored, storage = STORED_IN.get(tensor.data_type, ("int32_data", "int32"))
    return np.asarray(getattr(tensor, stored), dtype=storage).astype(dtype).reshape(dims)


class _Shapes:
    """onnx's inferred shape of each tensor (batch included), worked out the first time one is
    asked for: only where cnncalc's own rule for an op gives no size (most graphs never ask)."""

    def __init__(self, infer: Callable[[], dict[str, tuple[int, ...]]]) -> None:
        self.infer = infer
        self.known: dict[str, tuple[int, ...]] | None = None
        self.pending: dict[str, tuple[int, ...]] = {}  # sizes worked out here, where onnx says none

    def get(self, name: str) -> tuple[int, ...] | None:
        if self.known is None:
            self.known = self.infer()
            for key, value in self.pending.items():
                self.known.setdefault(key, value)
        return self.known.get(name)

    def setdefault(self, name: str, value: tuple[int, ...]) -> None:
        (self.known if self.known is not None else self.pending).setdefault(name, value)


def _evaluate(node: Any, xs: list[Any]) -> list[Any]:
    """A shape-arithmetic node on known values (numpy), as ONNX defines it."""
    import numpy as np

    op = node.op_type
    if op in ("ConstantOfShape", "Expand", "Tile", "Range"):  # what a hostile file could make huge
        sizes = xs[1] if op in ("Expand", "Tile") else xs[0]
        made = (int((xs[1] - xs[0]) // max(abs(xs[2]), 1)) if op == "Range" else
                _prod(max(int(d), 1) for d in np.asarray(sizes).reshape(-1)))
        if made > MAX_STATIC:
            raise ValueError(f"{op} of {made:,} elements")
    if op == "Identity":
        return [xs[0]]
    if op == "Cast":
        return [xs[0].astype(np.int64) if xs[0].dtype.kind in "iub" else xs[0]]
    if op == "Gather":
        return [np.take(xs[0], xs[1], axis=_attr(node, "axis", 0))]
    if op == "Concat":
        return [np.concatenate([np.atleast_1d(x) for x in xs], axis=_attr(node, "axis", 0))]
    if op == "Unsqueeze":
        axes = list(xs[1]) if len(xs) > 1 and xs[1] is not None else _attr(node, "axes")
        y = xs[0]
        for a in sorted(int(a) % (y.ndim + len(axes)) for a in axes):
            y = np.expand_dims(y, a)
        return [y]
    if op == "Squeeze":
        axes = list(xs[1]) if len(xs) > 1 and xs[1] is not None else _attr(node, "axes")
        return [np.squeeze(xs[0], axis=tuple(int(a) for a in axes)) if axes is not None else np.squeeze(xs[0])]
    if op == "Slice":
        starts, ends = xs[1], xs[2]
        axes = xs[3] if len(xs) > 3 and xs[3] is not None else range(len(starts))
        steps = xs[4] if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
        index = [slice(None)] * xs[0].ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[int(a)] = slice(int(s), int(e), int(st))
        return [xs[0][tuple(index)]]
    binary: dict[str, Callable[[Any, Any], Any]] = {
        "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Max": np.maximum, "Min": np.minimum,
        "Equal": np.equal, "Less": np.less, "Greater": np.greater, "And": np.logical_and, "Or": np.logical_or,
        "Mod": np.mod}
    if op in binary:
        return [binary[op](xs[0], xs[1])]
    if op == "Div":
        return [xs[0] // xs[1] if xs[0].dtype.kind in "iu" and xs[1].dtype.kind in "iu" else xs[0] / xs[1]]
    unary: dict[str, Callable[[Any], Any]] = {"Floor": np.floor, "Ceil": np.ceil, "Neg": np.negative,
                                              "Sqrt": np.sqrt, "Abs": np.abs, "Not": np.logical_not}
    if op in unary:
        return [unary[op](xs[0])]
    if op == "Range":
        return [np.arange(xs[0], xs[1], xs[2])]
    if op == "ConstantOfShape":
        fill = _attr(node, "value")
        value = np.asarray(fill.float_data or fill.int64_data or fill.int32_data or [0]) if fill is not None else \
            np.zeros(1)
        return [np.full(tuple(int(d) for d in xs[0]), value[0])]
    if op == "Reshape":
        shape = [int(d) if d != 0 else xs[0].shape[i] for i, d in enumerate(xs[1])]
        return [xs[0].reshape(shape)]
    if op == "Where":
        return [np.where(xs[0], xs[1], xs[2])]
    if op == "Expand":
        return [xs[0] * np.ones(tuple(int(d) for d in xs[1]), dtype=xs[0].dtype)]
    if op == "ReduceProd":
        return [np.prod(xs[0], keepdims=bool(_attr(node, "keepdims", 1)))]
    if op == "Transpose":
        return [np.transpose(xs[0], _attr(node, "perm"))]
    if op == "Flatten":
        a = _attr(node, "axis", 1)
        return [xs[0].reshape(_prod(xs[0].shape[:a]), -1)]
    if op == "Size":
        return [np.array(xs[0].size, dtype=np.int64)]
    raise ValueError(op)


# -- the ops ---------------------------------------------------------------------------------------

def _spatial(node: Any, r: Any, xs: list[Any]) -> tuple[list[int], list[int], list[int], list[int]]:
    """(kernel, stride, pad, dilation) of a window op; pads must be the same on both sides."""
    x = xs[0].shape
    n = len(x) - 2
    kernel = list(_attr(node, "kernel_shape", None) or (xs[1].shape[2:] if len(xs) > 1 and xs[1] else []))
    stride = list(_attr(node, "strides", [1] * n))
    dilation = list(_attr(node, "dilations", [1] * n))
    pads = list(_attr(node, "pads", [0] * 2 * n))
    auto = _attr(node, "auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto not in ("NOTSET", "VALID"):
        raise ValueError(f"auto_pad {auto}")
    if pads[:n] != pads[n:]:
        raise ValueError(f"pads {pads} differ before and after")
    return kernel, stride, pads[:n], dilation


def _one(values: list[int]) -> Any:
    return values[0] if len(set(values)) == 1 else list(values)


def _conv(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    kernel, stride, pad, dilation = _spatial(node, r, xs)
    w = xs[1].shape
    for name in node.input[1:3]:
        r.use(name)
    r.add(node, "conv", {"out": w[0], "kernel": _one(kernel), "stride": _one(stride), "pad": _one(pad),
                         "dilation": _one(dilation), "groups": _attr(node, "group", 1), "bias": len(xs) > 2},
          [node.input[0]], outs[0])


def _conv_transpose(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    kernel, stride, pad, dilation = _spatial(node, r, xs)
    w, groups = xs[1].shape, _attr(node, "group", 1)
    for name in node.input[1:3]:
        r.use(name)
    n = len(kernel)
    output_pad = list(_attr(node, "output_padding", [0] * n))
    if _attr(node, "output_shape") is not None:
        raise ValueError("output_shape (give output_padding instead)")
    r.add(node, "conv_transpose", {"out": w[1] * groups, "kernel": _one(kernel), "stride": _one(stride),
                                   "pad": _one(pad), "output_pad": _one(output_pad), "dilation": _one(dilation),
                                   "groups": groups, "bias": len(xs) > 2}, [node.input[0]], outs[0])


def _gemm(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    if _attr(node, "transA", 0) or not xs[1].init:
        raise ValueError("Gemm with transA, or a B that is not a weight")
    b = xs[1].shape
    out = b[0] if _attr(node, "transB", 0) else b[1]
    for name in node.input[1:3]:
        r.use(name)
    r.add(node, "linear", {"out": out, "bias": len(xs) > 2 and xs[2] is not None}, [node.input[0]], outs[0])


def _matmul(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    a, b = xs
    if b.init and b.node is None:  # x @ W: a linear layer without bias
        r.use(node.input[1])
        r.add(node, "linear", {"out": b.shape[-1], "bias": False}, [node.input[0]], outs[0])
    elif a.init and a.node is None:
        raise ValueError("a weight on the left of a MatMul")
    else:
        r.add(node, "matmul", {}, list(node.input[:2]), outs[0])


def _norm(op: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        for i, name in enumerate(node.input[1:], start=1):
            r.use(name, "buffer" if op == "bn" and i >= 3 else "param")
        if op == "bn":
            r.add(node, "bn", {"eps": float(_attr(node, "epsilon", 1e-5))}, [node.input[0]], outs[0])
        elif op == "layernorm":
            rank = len(xs[0].shape)
            axis = _attr(node, "axis", -1)
            if (axis if axis >= 0 else axis + rank) != rank - 1:
                raise ValueError(f"LayerNormalization over axes from {axis} (only the last axis is read)")
            r.add(node, "layernorm", {}, [node.input[0]], outs[0])
        elif op == "instancenorm":
            r.add(node, "instancenorm", {"affine": True}, [node.input[0]], outs[0])
        else:
            r.add(node, "groupnorm", {"groups": _attr(node, "num_groups")}, [node.input[0]], outs[0])
    return handle


def _pool(kind: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        kernel, stride, pad, dilation = _spatial(node, r, xs)
        if any(d != 1 for d in dilation):
            raise ValueError("pooling with dilation")
        args: dict[str, Any] = {"kernel": _one(kernel), "stride": _one(stride), "pad": _one(pad),
                                "ceil_mode": bool(_attr(node, "ceil_mode", 0))}
        if kind == "avgpool":
            args["count_include_pad"] = bool(_attr(node, "count_include_pad", 0))
        r.add(node, kind, args, [node.input[0]], outs[0])
    return handle


def _global_pool(kind: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        op = "global_avgpool" if kind == "avg" else "adaptive_maxpool"
        r.add(node, op, {} if kind == "avg" else {"out": 1}, [node.input[0]], outs[0])
    return handle


def _activation(op: str, **fixed: Any) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        args = dict(fixed)
        if op == "leaky_relu":
            args["slope"] = float(_attr(node, "alpha", 0.01))
        r.add(node, op, args, [node.input[0]], outs[0])
    return handle


def _clip(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    bounds = [x.value if x is not None and x.value is not None else None for x in xs[1:3]]
    low = bounds[0] if bounds else _attr(node, "min")
    high = bounds[1] if len(bounds) > 1 else _attr(node, "max")
    if low is not None and high is not None and float(low) == 0 and float(high) == 6:
        r.add(node, "relu6", {}, [node.input[0]], outs[0])
    elif low is not None and float(low) == 0 and high is None:
        r.add(node, "relu", {}, [node.input[0]], outs[0])
    else:
        r.add(node, "elementwise", {"fn": "clip"}, [node.input[0]], outs[0])


def _binary(op: str) -> Callable[..., None]:
    merge = {"Add": "add", "Mul": "mul", "Sub": "sub", "Div": "div"}.get(op)

    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        live = [i for i, x in enumerate(xs) if x is not None and x.node is not None]
        if len(live) == 2 and merge:
            r.add(node, merge, {}, list(node.input[:2]), outs[0])
            return
        if not live:
            raise ValueError("no input made by a layer")
        x = node.input[live[0]]
        other = node.input[1 - live[0]] if len(node.input) == 2 else ""
        if other and op in ("Add", "Mul") and r._learned(other):
            r.use(other)
            shape = _param_sample(r.shape(other), r.shape(x), r.batch_of(x))
            r.add(node, "param", {"shape": list(shape), "merge": op.lower()}, [x], outs[0])
            return
        r.add(node, "elementwise", {"fn": _snake(op)}, [x], outs[0])  # (a broadcast: onnx's shape)
    return handle


def _unary(fn: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        r.add(node, "elementwise", {"fn": fn}, [node.input[0]], outs[0])
    return handle


def _passthrough(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    """Identity and Dropout (eval): the output is the input."""
    r.tensors[outs[0]] = xs[0]
    for extra in outs[1:]:
        r.tensors[extra] = _Tensor(shape=r.shapes.get(extra))


def _concat(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    live = [i for i in node.input if i and r.tensors[i].node is not None]
    named = [i for i in node.input if i]
    if len(named) == 2 and len(live) == 1 and named[0] != live[0] and r._learned(named[0]):
        # a learned tensor joined in front (ViT's class token): param {merge: concat}
        r.use(named[0])
        shape = r.shape(named[0])
        axis = _attr(node, "axis", 0)
        r.add(node, "param", {"shape": list(_param_sample(shape, r.shape(live[0]), r.batch_of(live[0]))),
                              "merge": "concat", "axis": r.axis(live[0], axis)}, [live[0]], outs[0])
        return
    if len(live) != len(named):
        raise ValueError("a Concat with a constant input")
    if len(live) == 1:
        r.tensors[outs[0]] = r.tensors[live[0]]
        return
    r.add(node, "concat", {"axis": r.axis(live[0], _attr(node, "axis", 0))}, live, outs[0])


def _reshape_like(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    """Reshape, Flatten, Squeeze, Unsqueeze: the output size (worked out from the input's and the
    static shape or axes, else onnx's inference). The batch (1) stays where the sizes before it
    stay; else it is folded into an axis (MultiheadAttention's L x (N*H) x D), and a folded one
    comes back at the first axis of size 1 (L x N x E)."""
    x, b = r.shape(node.input[0]), r.batch_of(node.input[0])
    shape = tuple(_reshaped(node, x, xs) or r.shape(outs[0]))
    if b is not None and b < len(shape) and shape[b] == 1 and _prod(shape[:b]) == _prod(x[:b]):
        where: int | None = b
    elif b is None and 1 in shape:
        where = shape.index(1)
    else:
        where = None
    r.add(node, "reshape", {"shape": list(sample(shape, where))}, [node.input[0]], outs[0], batch=where)


def _reshaped(node: Any, x: tuple[int, ...], xs: list[Any]) -> tuple[int, ...] | None:
    """ONNX's rule for the output size of a Reshape (0 copies, -1 is the rest), Flatten,
    Squeeze and Unsqueeze, or None where a size is not known here."""
    op, n = node.op_type, _prod(x)
    if op == "Reshape":
        if len(xs) < 2 or xs[1] is None or xs[1].value is None:
            return None
        target = [int(d) for d in xs[1].value.reshape(-1)]
        if not _attr(node, "allowzero", 0):
            target = [x[i] if d == 0 and i < len(x) else d for i, d in enumerate(target)]
        if target.count(-1) == 1:
            known = _prod(d for d in target if d != -1)
            target[target.index(-1)] = n // known if known else 0
        return tuple(target)
    if op == "Flatten":
        a = _attr(node, "axis", 1)
        a = a if a >= 0 else a + len(x)
        return (_prod(x[:a]), _prod(x[a:]))
    axes = (list(xs[1].value.reshape(-1)) if len(xs) > 1 and xs[1] is not None and xs[1].value is not None
            else _attr(node, "axes"))
    if op == "Squeeze":
        drop = {int(a) % len(x) for a in axes} if axes is not None else {i for i, d in enumerate(x) if d == 1}
        return tuple(d for i, d in enumerate(x) if i not in drop)
    if op == "Unsqueeze" and axes is not None:
        out = list(x)
        for a in sorted(int(a) % (len(x) + len(axes)) for a in axes):
            out.insert(a, 1)
        return tuple(out)
    return None


def _transpose(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    perm = list(_attr(node, "perm", None) or reversed(range(len(r.shape(node.input[0])))))
    b = r.batch_of(node.input[0])
    if b is None:
        r.add(node, "permute", {"dims": perm}, [node.input[0]], outs[0], batch=None)
        return
    dims = [p - (p > b) for p in perm if p != b]
    r.add(node, "permute", {"dims": dims}, [node.input[0]], outs[0], batch=perm.index(b))


def _softmax(op: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        r.add(node, op, {"axis": r.axis(node.input[0], _attr(node, "axis", -1))}, [node.input[0]], outs[0])
    return handle


def _param_sample(shape: tuple[int, ...], x: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    """A learned tensor's shape as it meets x (broadcast from the right), x's batch axis left out
    (where it has one, the tensor's own is 1 there)."""
    full = (1,) * (len(x) - len(shape)) + tuple(shape)
    if batch is None:
        return full
    if full[batch] != 1:
        raise ValueError("a learned tensor with a batch axis")
    return (*full[:batch], *full[batch + 1:])


def _split(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    axis = _attr(node, "axis", 0)
    sizes = [r.shape(o)[axis] for o in node.output]
    for i, out in enumerate(node.output):
        if out:
            r.add(node, "split", {"sizes": sizes, "index": i, "axis": r.axis(node.input[0], axis)}, [node.input[0]], out,
                  name=f"split_{i}" if i else "split")


def _slice(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    """A slice of one axis with step 1: a split into before, the slice and after (its bounds
    known: constants, or shape arithmetic evaluated here; ShuffleNet v2 halves its channels so)."""
    x = r.shape(node.input[0])
    if any(v is None or v.value is None for v in xs[1:3]):
        raise ValueError("a Slice whose bounds are not known")
    starts, ends = xs[1].value.reshape(-1), xs[2].value.reshape(-1)
    axes = xs[3].value.reshape(-1) if len(xs) > 3 and xs[3] is not None and xs[3].value is not None else \
        list(range(len(starts)))
    steps = xs[4].value.reshape(-1) if len(xs) > 4 and xs[4] is not None and xs[4].value is not None else \
        [1] * len(starts)
    cuts = [(int(a) % len(x), slice(int(b), int(e), int(st)).indices(x[int(a) % len(x)]))
            for a, b, e, st in zip(axes, starts, ends, steps)]
    cuts = [(a, c) for a, c in cuts if c != (0, x[a], 1)]  # the axes the slice leaves whole
    if len(cuts) != 1 or cuts[0][1][2] != 1:
        raise ValueError("a Slice of more than one axis, or with a step")
    axis, (start, stop, _) = cuts[0]
    y = list(x)
    y[axis] = max(stop - start, 0)
    r.shapes.setdefault(outs[0], tuple(y))
    sizes = [s for s in (start, y[axis], x[axis] - start - y[axis]) if s]
    index = 1 if start else 0
    r.add(node, "split", {"sizes": sizes, "index": index, "axis": r.axis(node.input[0], axis)}, [node.input[0]], outs[0],
          name="slice")


def _resize(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    x, y = r.shape(node.input[0]), r.shape(outs[0])
    mode = _attr(node, "mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    spatial = len(x) - 2
    cnn_mode = {"nearest": "nearest", "linear": ("linear", "bilinear", "trilinear")[spatial - 1],
                "cubic": "bicubic"}.get(mode)
    if cnn_mode is None:
        raise ValueError(f"Resize mode {mode}")
    coord = _attr(node, "coordinate_transformation_mode", b"half_pixel")
    coord = coord.decode() if isinstance(coord, bytes) else coord
    args: dict[str, Any] = {"size": list(y[2:])}
    if cnn_mode != "nearest":
        args["mode"] = cnn_mode
        if coord == "align_corners":
            args["align_corners"] = True
    r.add(node, "upsample", args, [node.input[0]], outs[0])


def _pad(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    mode = _attr(node, "mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    pads = xs[1].value.reshape(-1).tolist() if len(xs) > 1 and xs[1] is not None and xs[1].value is not None \
        else _attr(node, "pads")
    n = len(pads) // 2
    if mode != "constant" or n != 4 or any(pads[i] or pads[i + n] for i in (0, 1)):
        raise ValueError(f"Pad {mode} {pads} (constant padding of H and W is read)")
    top, left, bottom, right = pads[2], pads[3], pads[6], pads[7]
    r.add(node, "zeropad", {"pad": [left, right, top, bottom]}, [node.input[0]], outs[0])


def _gather(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    data, index = xs
    if data.init and data.node is None and index.node is not None:  # an embedding table
        r.use(node.input[0])
        r.add(node, "embedding", {"vocab": data.shape[0], "dim": data.shape[1]}, [node.input[1]], outs[0])
        return
    if index.value is not None and index.value.ndim == 0 and data.node is not None:
        axis = _attr(node, "axis", 0)
        b = r.batch_of(node.input[0])
        a = axis % len(r.shape(node.input[0]))
        r.add(node, "select", {"index": int(index.value), "axis": r.axis(node.input[0], axis)}, [node.input[0]],
              outs[0], batch=None if b is None else b - (a < b))
        return
    raise ValueError("a Gather that is neither an embedding nor one position")


def _reduce(op: str) -> Callable[..., None]:
    def handle(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
        rank = len(r.shape(node.input[0]))
        axes = list(xs[1].value.reshape(-1)) if len(xs) > 1 and xs[1] is not None and xs[1].value is not None \
            else _attr(node, "axes")
        if axes is None:
            raise ValueError("a reduction over every axis, the batch too")
        keep = bool(_attr(node, "keepdims", 1))
        b = r.batch_of(node.input[0])
        gone = sum(1 for a in axes if int(a) % rank < (b or 0))
        r.add(node, op, {"axes": [r.axis(node.input[0], int(a)) for a in axes], "keepdim": keep}, [node.input[0]],
              outs[0], batch=b if keep or b is None else b - gone)
    return handle


def _einsum(r: _Reader, node: Any, xs: list[Any], outs: list[str]) -> None:
    equation = _attr(node, "equation")
    equation = (equation.decode() if isinstance(equation, bytes) else equation).replace(" ", "")
    found = re.fullmatch(r"(\w*)(\w)(\w),\1\3(\w)->\1\2\4", equation)
    if not found or len(xs) != 2:
        raise ValueError(f"Einsum '{equation}' (a batched matrix product is read)")
    r.add(node, "matmul", {}, list(node.input[:2]), outs[0])


HANDLERS: dict[str, Callable[..., None]] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "Gemm": _gemm, "MatMul": _matmul,
    "BatchNormalization": _norm("bn"), "LayerNormalization": _norm("layernorm"),
    "InstanceNormalization": _norm("instancenorm"), "GroupNormalization": _norm("groupnorm"),
    "Relu": _activation("relu"), "Sigmoid": _activation("sigmoid"), "Tanh": _activation("tanh"),
    "LeakyRelu": _activation("leaky_relu"), "HardSigmoid": _activation("hardsigmoid"),
    "HardSwish": _activation("hardswish"), "Gelu": _activation("gelu"), "Clip": _clip,
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "Erf": _unary("erf"), "Sqrt": _unary("sqrt"), "Exp": _unary("exp"), "Neg": _unary("neg"),
    "Reciprocal": _unary("reciprocal"), "Cast": _passthrough, "Identity": _passthrough, "Dropout": _passthrough,
    "Concat": _concat, "Split": _split, "Slice": _slice, "Reshape": _reshape_like, "Flatten": _reshape_like,
    "Squeeze": _reshape_like, "Unsqueeze": _reshape_like, "Transpose": _transpose, "Resize": _resize,
    "MaxPool": _pool("maxpool"), "AveragePool": _pool("avgpool"), "GlobalAveragePool": _global_pool("avg"),
    "GlobalMaxPool": _global_pool("max"), "Pad": _pad, "Softmax": _softmax("softmax"),
    "LogSoftmax": _softmax("log_softmax"), "Gather": _gather, "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"), "ReduceMax": _reduce("amax"), "Einsum": _einsum,
}
