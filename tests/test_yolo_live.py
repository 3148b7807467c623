"""cnncalc's reading of Ultralytics model YAMLs against Ultralytics' own models, live.

Runs where ultralytics imports beside torch (CI's second environment: `pip install --no-deps
ultralytics` and the few packages it imports); skips elsewhere. One model of each family and
task: every file it reads at scale n, and one of each family fused: params, FlopCounterMode's total and every row's params,
FLOPs and output shape (scripts/yolo_compare.py; tests/test_yolo.py checks every shipped file
at n and s against the frozen record of the same comparison).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("ultralytics.nn.tasks", reason="ultralytics does not import here")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from yolo_compare import compare  # noqa: E402

def _at_n() -> list[str]:
    """Every model file of the installed ultralytics that cnncalc reads, at scale n (a file with
    one scale of its own, or none, as it is)."""
    import os
    import re

    import yaml

    from cnncalc.readers.ultralytics import installed_models, scale_of
    from tests.test_yolo import NOT_READ

    names = []
    for root, _dirs, files in os.walk(installed_models() or ""):
        for file in sorted(files):
            if not file.endswith(".yaml") or file in NOT_READ:
                continue
            stem = file[:-5]
            with open(os.path.join(root, file)) as fh:
                scales = yaml.safe_load(fh).get("scales") or {}
            names.append(re.sub(r"(\d+)(.*)$", r"\1n\2", stem, count=1) + ".yaml"
                         if "n" in scales and not scale_of(stem) else file)  # yolov10b.yaml: b, its own
    return sorted(names)


MODELS = _at_n()


# fused: one file of each family and task (every fused file at n and s is in the frozen record)
FUSED = ["yolov3-tiny.yaml", "yolov5n.yaml", "yolov6n.yaml", "yolov8n-seg.yaml", "yolov9t.yaml", "yolov10n.yaml",
         "yolo11n-pose.yaml", "yolo12n-obb.yaml", "yolo26n.yaml", "yolo26n-pose.yaml", "yolov8n-cls.yaml"]


@pytest.mark.parametrize(("name", "fused"), [(m, False) for m in MODELS] + [(m, True) for m in FUSED])
def test_equals_ultralytics_model(name, fused):
    ok, text, _ = compare(name, fused)
    assert ok, text


def test_every_family_and_task_is_compared():
    assert len(MODELS) >= 45 and set(FUSED) <= set(MODELS)
    for name in ("yolov3-tiny.yaml", "yolov5n.yaml", "yolov6n.yaml", "yolov8n-seg.yaml", "yolov8n-pose.yaml",
                 "yolov8n-obb.yaml", "yolov8n-cls.yaml", "yolov9t.yaml", "yolov10n.yaml", "yolo11n.yaml",
                 "yolo12n-seg.yaml", "yolo26n.yaml", "yolo26n-pose.yaml"):
        assert name in MODELS


@pytest.mark.parametrize("name", ["yolo11n.yaml", "yolo12n.yaml"])
def test_attention_on_a_map_that_is_not_square(name):
    # 480 x 640 (a letterboxed landscape frame): the attention blocks' tokens go back onto a
    # 15 x 20 map, their scores are 300 x 300 per head
    ok, text, _ = compare(name, False, (480, 640))
    assert ok, text
