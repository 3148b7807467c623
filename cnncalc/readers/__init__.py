"""Readers: foreign model descriptions turned into cnncalc specs (STYLE.md section 15).

A reader maps a foreign graph onto the spec's structure, so that what it makes can be written out
as YAML, read and edited, and goes through the same loader, graph and engine as a hand-written
spec. Each reader owns the table that maps its foreign op types to cnncalc ops; cost and shape
rules stay in cnncalc/ops/.

- torch_module.py: a PyTorch nn.Module, recorded in one forward pass on the meta device.
- emit.py: the recorded structure (module calls, layers, references) -> spec YAML text.
"""
