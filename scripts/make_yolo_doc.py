"""Write docs/yolo.md's table of YOLOv8 and YOLO11 at every scale from the analytic engine.

Run from anywhere, with the ultralytics package installed (only its model YAMLs are read; it is
never imported): python scripts/make_yolo_doc.py (--check: exit 1 when the page is stale).
The table sits between `<!-- yolo table (scripts/make_yolo_doc.py) -->` and
`<!-- end of yolo table -->` and is replaced whole; the prose around it is written by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cnncalc  # noqa: E402

PAGE = ROOT / "docs" / "yolo.md"
START, END = "<!-- yolo table (scripts/make_yolo_doc.py) -->", "<!-- end of yolo table -->"
MSTART, MEND = "<!-- yolo modules (scripts/make_yolo_doc.py) -->", "<!-- end of yolo modules -->"
MODELS = [f"{family}{scale}" for family in ("yolov8", "yolo11") for scale in "nsmlx"]
BATCH, GPU = 16, "16GB"


def row(name: str) -> str:
    a = cnncalc.analyze(name)
    fused = cnncalc.analyze(name, args={"fused": 1})
    info = sum(a.counted("ultralytics")) / 1e9
    info_fused = sum(fused.counted("ultralytics")) / 1e9
    torch = sum(a.counted("torch")) / 1e9
    train = cnncalc.analyze(name, batch=BATCH).memory(optimizer="momentum", amp="float16", device="cuda",
                                                      gpu_memory=GPU, max_batch=True, reserve="1GiB")
    return (f"| `{name}` | {a.totals.params:,} | {info:.3f} / {info_fused:.3f} | {torch:.3f} | "
            f"{train.peak.training / 2**30:.2f} | {_inference(a):.0f} | "
            f"{train.max_batch} |")


def _inference(a) -> float:
    """The inference peak at batch 1, float32, in MiB."""
    return a.memory(device="cuda").peak.inference / 2**20


def table() -> str:
    lines = [START,
             "| model | params | GFLOPs, model.info() (unfused / fused) | GFLOPs, FlopCounterMode | "
             f"training peak at batch {BATCH}, AMP (GiB) | inference peak, batch 1 (MiB) | max batch on {GPU} |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [row(name) for name in MODELS]
    lines.append(END)
    return "\n".join(lines)


def modules() -> str:
    """The module names a model file may use, as the reader registers them."""
    from cnncalc.readers.ultralytics.build import MODULES

    names = sorted(MODULES, key=lambda n: (n.startswith("nn."), n.lower()))
    return f"{MSTART}\n" + ", ".join(f"`{n}`" for n in names) + f" ({len(names)}).\n{MEND}"


def replace(text: str, start_mark: str, end_mark: str, block: str) -> str:
    start, end = text.index(start_mark), text.index(end_mark) + len(end_mark)
    return text[:start] + block + text[end:]


def main() -> int:
    text = PAGE.read_text()
    new = replace(replace(text, START, END, table()), MSTART, MEND, modules())
    if "--check" in sys.argv:
        if new != text:
            print("docs/yolo.md is stale: run python scripts/make_yolo_doc.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
