"""Frozen reference data shipped with the package (accuracy.json: scripts/freeze_accuracy.py)."""
