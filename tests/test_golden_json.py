"""Golden files of every JSON document: table, memory, sweep, compare and verify for alexnet,
resnet50-tv and vit_b_16, byte for byte, so that a change to a schema (a key renamed, moved or
dropped) is a reviewed diff (`pytest --update-golden` rewrites them, as torchinfo's
--overwrite does). Their numbers are checked elsewhere against the slides, the papers and torch;
here a few published totals are asserted on the documents themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden" / "json"
SPECS = ("alexnet", "resnet50-tv", "vit_b_16")
COMMANDS = {
    "table": lambda spec: ["table", spec, "--format", "json"],
    "memory": lambda spec: ["memory", spec, "--batch", "8", "--amp", "bfloat16", "--checkpoint", "2",
                            "--gpu-memory", "24GB", "--max-batch", "--format", "json"],
    "sweep": lambda spec: ["sweep", spec, "--batch", "1,8,64", "--format", "json"],
    "verify": lambda spec: ["verify", spec, "--device", "meta", "--format", "json"],
}
CASES = [(command, spec) for command in COMMANDS for spec in SPECS] + [("compare", "all")]
TORCH = re.compile(r'"torch_version": "[^"]*"')


def document(command: str, spec: str) -> str:
    if command == "verify":
        pytest.importorskip("torch")
    args = ["compare", *SPECS, "--format", "json"] if command == "compare" else COMMANDS[command](spec)
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    # the one value that depends on the machine, not on cnncalc
    return TORCH.sub('"torch_version": "*"', result.stdout)


@pytest.mark.parametrize(("command", "spec"), CASES)
def test_json_golden(command, spec, update_golden):
    path = GOLDEN / f"{command}-{spec}.json"
    text = document(command, spec)
    if update_golden:
        path.write_text(text)
    assert text == path.read_text()


def test_golden_documents_hold_the_published_totals():
    def load(name: str):
        return json.loads((GOLDEN / name).read_text())

    # torchvision's resnet50: 25,557,032 parameters and 8,178,368,512 FLOPs by FlopCounterMode (both
    # in torchvision's weights metadata: 4.09 GFLOPS of multiply-adds); vit_b_16: 86,567,656 parameters
    assert load("table-resnet50-tv.json")["total"]["params"] == 25_557_032
    assert load("table-resnet50-tv.json")["total"]["flops"] == 8_178_368_512
    assert load("table-vit_b_16.json")["total"]["params"] == 86_567_656
    assert [m["params"] for m in load("compare-all.json")][1:] == [25_557_032, 86_567_656]
    memory = load("memory-resnet50-tv.json")
    assert memory["peak"]["training"] == sum(memory["parts"].values())
    assert all(layer["ok"] for layer in load("verify-vit_b_16.json")["layers"])
