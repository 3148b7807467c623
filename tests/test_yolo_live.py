"""cnncalc's reading of Ultralytics model YAMLs against Ultralytics' own models, live.

Runs where ultralytics imports beside torch (CI's second environment: `pip install --no-deps
ultralytics` and the few packages it imports); skips elsewhere. One model of each family and
task at scale n (and some fused): params, FlopCounterMode's total and every row's params,
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

MODELS = ["yolov3-tiny.yaml", "yolov5n.yaml", "yolov6n.yaml", "yolov8n.yaml", "yolov8n-seg.yaml", "yolov8n-pose.yaml",
          "yolov8n-obb.yaml", "yolov8n-cls.yaml", "yolov8n-ghost.yaml", "yolov9t.yaml", "yolov10n.yaml", "yolo11n.yaml",
          "yolo11n-seg.yaml", "yolo12n.yaml", "yolo26n.yaml", "yolo26n-pose.yaml"]
FUSED = ["yolov5n.yaml", "yolov6n.yaml", "yolov9t.yaml", "yolov10n.yaml", "yolo11n.yaml", "yolo26n-pose.yaml"]


@pytest.mark.parametrize(("name", "fused"), [(m, False) for m in MODELS] + [(m, True) for m in FUSED])
def test_equals_ultralytics_model(name, fused):
    ok, text, _ = compare(name, fused)
    assert ok, text


@pytest.mark.parametrize("name", ["yolo11n.yaml", "yolo12n.yaml"])
def test_attention_on_a_map_that_is_not_square(name):
    # 480 x 640 (a letterboxed landscape frame): the attention blocks' tokens go back onto a
    # 15 x 20 map, their scores are 300 x 300 per head
    ok, text, _ = compare(name, False, (480, 640))
    assert ok, text
