"""Which batches torch can train a network at: the normalisations that need more than one value.

Stage: engine (pure; no torch). In: a shaped Graph. Out: the layers that limit the batch, the
smallest batch that trains, or a UsageError naming the layer. The conditions are torch's own
checks in torch/nn/functional.py (_verify_batch_size, _verify_spatial_size), measured on torch
2.13 in tests/test_memory_pairing.py; docs/memory.md#batches-torch-cannot-train.
"""

from __future__ import annotations

from cnncalc.errors import UsageError
from cnncalc.graph import Graph
from cnncalc.record import Record


class BatchLimit(Record):
    """A layer torch refuses to run in training below some batch."""

    layer: str  # the node's name
    smallest: int  # the smallest batch it trains at (every larger one trains too); 0: none
    why: str  # torch's condition, in words, with this layer's input
    raises: str  # the ValueError torch raises (torch/nn/functional.py)


def batch_limits(graph: Graph) -> list[BatchLimit]:
    """Every layer that cannot train at some batch, in graph order, as its op declares it
    (`training_batch` in cnncalc/ops/: batch norm and group norm on one value per channel or
    group need batch 2; instance norm on one position never trains). Auxiliary heads
    (`train_only:`) run in training, so they count."""
    out = []
    for node in graph.nodes[1:]:
        limit = node.op.training_batch(graph.nodes[node.inputs[0]].shape if node.inputs else ())
        if limit is not None:
            smallest, why, raises = limit
            out.append(BatchLimit(node.name, smallest, why + (" (train_only: it runs in training)" if node.train_only
                                                               else ""), raises))
    return out


def smallest_batch(graph: Graph) -> int:
    """The smallest batch torch trains the network at: 1, 2 (a batch norm on one position) or 0
    (none: an instance norm on one position); every batch from it on trains."""
    limits = [limit.smallest for limit in batch_limits(graph)]
    return 0 if 0 in limits else max(limits, default=1)


def check_trainable(graph: Graph, batch: int) -> None:
    """A UsageError (param "batch") naming the first layer torch cannot train at this batch."""
    for limit in batch_limits(graph):
        if limit.smallest == 0 or batch < limit.smallest:
            hint = (f"batch={limit.smallest} or more (at batch {batch} torch raises ValueError: {limit.raises})"
                    if limit.smallest else f"no batch trains it (torch raises ValueError: {limit.raises}); give it a "
                    "larger input")
            raise UsageError(None, f"batch={batch}: torch cannot train '{limit.layer}': {limit.why}", hint, param="batch")


def largest_trainable(graph: Graph, fitting: int) -> int:
    """The largest batch that fits (fitting, from TrainingModel.largest_batch) if torch can train
    at it, else 0: no batch that fits trains (only batch 1 fits and a batch norm needs 2)."""
    least = smallest_batch(graph)
    return fitting if least and fitting >= least else 0
