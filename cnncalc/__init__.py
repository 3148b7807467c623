"""cnncalc: layer-by-layer complexity of CNNs (shapes, memory, params, multiply-adds) from YAML specs.

The analytic path (spec -> graph -> engine -> report) never imports torch.
"""

__version__ = "0.1.0"
