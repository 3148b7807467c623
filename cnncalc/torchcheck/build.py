"""Graph -> torch.fx.GraphModule whose submodules carry the graph's node names.

Each node becomes the module its op's `to_torch` returns; the fx graph wires them exactly as
the layer graph does, so the model prints as code (`print(model.code)`).
"""

from __future__ import annotations

import torch
from torch import fx, nn

from cnncalc.graph import Graph


def build_model(graph: Graph, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> fx.GraphModule:
    """A real nn.Module for the graph, with parameters created directly on `device`. A train-only
    layer (an auxiliary head) is a submodule the forward pass does not call, as in torchvision's
    Inception-v3 in eval mode."""
    modules: dict[str, nn.Module] = {}
    idle: dict[str, nn.Module] = {}
    fx_graph = fx.Graph()
    values: list[fx.Node | None] = []
    with torch.device(device):
        for index, node in enumerate(graph.nodes):
            if index == 0:
                values.append(fx_graph.placeholder("x"))
                continue
            shapes = [graph.nodes[i].shape for i in node.inputs]
            if node.shares >= 0:  # weight sharing: the same module called again, measured as this layer
                call = fx_graph.call_module(graph.nodes[node.shares].name, tuple(values[i] for i in node.inputs))
                call.meta["cnncalc_layer"] = node.name
                values.append(call)
                continue
            module = node.op.to_torch(shapes).to(dtype=dtype)
            if node.train_only:
                idle[node.name] = module
                values.append(None)
                continue
            modules[node.name] = module
            values.append(fx_graph.call_module(node.name, tuple(values[i] for i in node.inputs)))
    outputs = [values[i] for i in graph.output_nodes]  # several: a tuple, as torchvision's FPN returns them
    fx_graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    class_name = "".join(part.capitalize() for part in graph.name.replace("-", "_").split("_")) or "Net"
    model = fx.GraphModule(modules, fx_graph, class_name=class_name)
    for name, module in idle.items():
        model.add_submodule(name, module)
    return model
