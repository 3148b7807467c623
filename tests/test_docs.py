"""The documentation's examples run: every YAML example in docs/spec.md parses and analyses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import analyse_text

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCKS = re.findall(r"```yaml\n(.*?)```", (DOCS / "spec.md").read_text(), flags=re.S)


def as_spec(block: str) -> str:
    """Complete a documentation fragment into a whole spec (input 64x56x56, a few args)."""
    if block.lstrip().startswith("- "):
        block = "layers:\n" + "".join("  " + line + "\n" for line in block.splitlines())
    if "input:" not in block:
        block = "input: [64, 56, 56]\n" + block
    if not block.startswith("args:") and "\nargs:" not in block:
        block = "args: {classes: 10, width: 16, c: 8}\n" + block  # the $names the fragments use
    return block


@pytest.mark.parametrize("block", [b for b in BLOCKS if "..." not in b and "args: {classes" not in b])
def test_spec_md_examples_analyse(block):
    analysis = analyse_text(as_spec(block), overrides=None)
    assert analysis.rows


OPS_BLOCKS = re.findall(r"```yaml\n(.*?)```", (DOCS / "ops.md").read_text(), flags=re.S)


@pytest.mark.parametrize("block", OPS_BLOCKS)
def test_ops_md_examples_analyse(block):
    analysis = analyse_text(as_spec(block), overrides=None)
    assert analysis.rows


def test_spec_md_has_examples():
    assert len(BLOCKS) >= 6


def test_every_op_is_documented():
    from cnncalc.ops import REGISTRY

    page = (DOCS / "ops.md").read_text()
    for name, cls in REGISTRY.items():
        assert cls.doc_row is not None, f"op '{name}' has no doc_row (its docs/ops.md row)"
        assert f"`{name}`" in page, f"docs/ops.md does not describe the op '{name}'"


def test_ops_tables_are_generated_from_the_registry():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_ops_doc", DOCS.parent / "scripts" / "make_ops_doc.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    page = (DOCS / "ops.md").read_text()
    assert page.count("<!-- ops table: ") == 3
    assert script.render(page) == page, "docs/ops.md is stale: run python scripts/make_ops_doc.py"


def test_every_key_of_an_op_is_in_its_docs_row():
    # the keys column is written by hand: it must name every YAML key the op class declares
    # ("as maxpool, plus ..." names those of the op it refers to)
    from cnncalc.ops import REGISTRY

    for name, cls in REGISTRY.items():
        keys = cls.doc_row.keys
        referred = re.match(r"as `?(\w+)`?", keys)
        if referred:
            keys += REGISTRY[referred.group(1)].doc_row.keys
        missing = [k for k in cls.fields if f"`{k}`" not in keys and k != "name"]
        assert not missing, f"docs/ops.md's row for '{name}' does not name its keys {missing}"


def test_every_doc_page_is_linked_from_the_readme():
    readme = (DOCS.parent / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        assert f"docs/{page.name}" in readme, f"README does not link docs/{page.name}"


def test_spec_md_attention_from_primitives_equals_the_attention_op():
    # the page writes self-attention out from linear/chunk/reshape/permute/matmul/softmax and says
    # the single `attention` op is the same arithmetic: params, multiply-adds and torch's FLOPs
    (block,) = [b for b in BLOCKS if "patches" in b]
    spelled = analyse_text(block)
    one = analyse_text("input: [197, 768]\nlayers:\n  - layernorm: {eps: 1.0e-6}\n  - attention: {heads: 12}\n")
    rows = [r for r in spelled.rows if r.name.startswith("attn.")]
    torch_flops = spelled.counted("torch")
    assert sum(r.params for r in rows) == one.totals.params == 4 * 768 * 768 + 4 * 768 + 2 * 768
    assert sum(r.macs for r in rows) == one.totals.macs == 4 * 197 * 768**2 + 2 * 197**2 * 768
    assert sum(torch_flops[r.index - 1] for r in rows) == one.total_counted("torch")
