"""The torch cross-check: build a spec's graph as a real PyTorch model, run it, compare.

Stage: torchcheck (the only package besides the ops' to_torch twins that imports torch, and
only when `cnncalc verify` runs). In: Graph + Analysis. Out: per-layer measurements.
"""
