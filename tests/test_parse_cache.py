"""The parse cache on disk (cnncalc/spec/cache.py): a kept tree is the tree a parse makes, and
an entry is never used for any other text, parser, or tighter limits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import LimitError, Limits
from cnncalc.sources import _files, _parse, bundled_text, find, load_spec
from cnncalc.spec import cache
from cnncalc.spec.load import LList, LMap, parse_counted

REPO = Path(__file__).resolve().parent.parent


def same_tree(a, b) -> bool:
    """Equal values, types and spans, all the way down (LMap == dict would ignore the spans)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LMap):
        return (a.span == b.span and list(a) == list(b) and a.key_spans == b.key_spans
                and a.value_spans == b.value_spans and all(same_tree(a[k], b[k]) for k in a))
    if isinstance(a, LList):
        return (a.span == b.span and a.item_spans == b.item_spans and len(a) == len(b)
                and all(same_tree(x, y) for x, y in zip(a, b)))
    return a == b


@pytest.fixture
def folder(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("CNNCALC_CACHE", str(where))
    _parse.cache_clear()
    yield where
    _parse.cache_clear()


@pytest.mark.parametrize("stem", sorted(_files()))
def test_a_kept_tree_is_the_parsed_tree(stem, folder):
    text = bundled_text(stem)
    tree, nodes, depth = parse_counted(text, f"{stem}.yaml")
    cache.keep(text, f"{stem}.yaml", tree, nodes, depth)
    again = cache.load(text, f"{stem}.yaml", f"{stem}.yaml", Limits())
    assert again is not None and same_tree(again, tree)
    # the spans name the file of this run, not the one that was parsed
    other = cache.load(text, f"{stem}.yaml", "elsewhere.yaml", Limits())
    assert other.span.file == "elsewhere.yaml" and other.span[1:] == tree.span[1:]


def test_a_bundled_spec_is_read_from_the_cache_the_second_time(folder):
    first = cnncalc.analyze("resnet50")
    assert len(list(folder.iterdir())) == 1
    _parse.cache_clear()
    second = cnncalc.analyze("resnet50")
    assert second.totals == first.totals and [r.name for r in second.rows] == [r.name for r in first.rows]


def test_an_edited_file_is_never_answered_from_its_old_entry(folder, tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 4, kernel: 3}\n")
    assert cnncalc.analyze(str(spec)).totals.params == 4 * 3 * 9 + 4
    _parse.cache_clear()
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv: {out: 5, kernel: 3}\n")  # same size, same second
    assert cnncalc.analyze(str(spec)).totals.params == 5 * 3 * 9 + 5
    _parse.cache_clear()
    assert cnncalc.analyze(str(spec)).totals.params == 5 * 3 * 9 + 5  # now from the cache


def test_another_parser_is_a_miss(folder, monkeypatch):
    text = bundled_text("alexnet")
    tree, nodes, depth = parse_counted(text, "alexnet.yaml")
    cache.keep(text, "alexnet.yaml", tree, nodes, depth)
    monkeypatch.setattr(cache, "_fingerprint", "another load.py")
    assert cache.load(text, "alexnet.yaml", "alexnet.yaml", Limits()) is None


def test_the_fingerprint_follows_the_parser_and_pyyaml():
    cache._fingerprint = None
    found = cache.fingerprint()
    load = os.stat(REPO / "cnncalc" / "spec" / "load.py")
    assert f"load.py:{load.st_size}:{load.st_mtime_ns}" in found and "yaml" in found
    assert sys.implementation.cache_tag in found


def test_tighter_limits_parse_again_and_say_so(folder, tmp_path):
    spec = tmp_path / "deep.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n" + "  - relu\n" * 40 + "  - conv: {out: 4, kernel: 1}\n")
    cnncalc.analyze(str(spec))  # kept
    _parse.cache_clear()
    with pytest.raises(LimitError, match="too many YAML nodes"):
        load_spec(find(str(spec)), Limits(yaml_nodes=30))
    _parse.cache_clear()
    with pytest.raises(LimitError, match="nests too deeply"):
        load_spec(find(str(spec)), Limits(depth=2))  # the conv's arguments: depth 3 (document 0, layers 1)


def test_a_broken_entry_is_ignored(folder):
    text = bundled_text("lenet5")
    cnncalc.analyze("lenet5")
    (entry,) = folder.iterdir()
    for junk in (b"", b"\x00garbage", entry.read_bytes()[:50]):
        entry.write_bytes(junk)
        assert cache.load(text, "lenet5.yaml", "lenet5.yaml", Limits()) is None
        _parse.cache_clear()
        assert cnncalc.analyze("lenet5").totals.params == 61706


def test_off_keeps_nothing_and_an_unwritable_folder_is_no_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNCALC_CACHE", "off")
    _parse.cache_clear()
    assert cache.folder() is None
    expected = cnncalc.analyze("alexnet").totals
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNNCALC_CACHE", str(blocker / "cache"))
    _parse.cache_clear()
    assert cnncalc.analyze("alexnet").totals == expected
    assert blocker.read_text() == "not a folder"
    _parse.cache_clear()


def test_strings_and_standard_input_are_not_kept(folder):
    cnncalc.analyze("input: [3, 8, 8]\nlayers:\n  - relu\n")
    assert not folder.exists() or not list(folder.iterdir())


def test_a_second_run_imports_no_yaml_parser(tmp_path):
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['table', 'densenet201', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr('yaml' in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNNCALC_CACHE": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout and '"layers"' in runs[0].stdout
    assert runs[0].stderr.strip().endswith("True") and runs[1].stderr.strip().endswith("False")


def test_a_made_text_is_used_only_for_the_same_question_and_code(folder, tmp_path):
    code = tmp_path / "reader.py"
    code.write_text("# version 1\n")
    cache.keep_derived("question", "k", [str(code)], "answer")
    assert cache.derived("question", "k", [str(code)]) == "answer"
    assert cache.derived("question?", "k", [str(code)]) is None  # another question: a miss
    code.write_text("# version 2, longer\n")  # the code changed: a miss
    assert cache.derived("question", "k", [str(code)]) is None


def test_the_variant_index_is_kept_and_follows_the_folder(folder, monkeypatch, tmp_path):
    from cnncalc import sources

    bundle = tmp_path / "architectures"
    bundle.mkdir()
    (bundle / "fam.yaml").write_text("input: [3, 8, 8]\nvariants:\n  fam_a: {}\n  fam_b: {}\nlayers:\n  - relu\n")
    monkeypatch.setattr(sources, "_bundle", lambda: str(bundle))
    sources.variants.cache_clear()
    assert sources.variants() == {"fam_a": "fam", "fam_b": "fam"}
    sources.variants.cache_clear()
    assert sources.variants() == {"fam_a": "fam", "fam_b": "fam"}  # from the cache
    (bundle / "other.yaml").write_text("input: [3, 8, 8]\nvariants:\n  other_x: {}\nlayers:\n  - relu\n")
    sources.variants.cache_clear()
    assert sources.variants() == {"fam_a": "fam", "fam_b": "fam", "other_x": "other"}
    sources.variants.cache_clear()


def test_an_ultralytics_file_read_twice_needs_neither_parser_nor_reader(tmp_path):
    from cnncalc.readers.ultralytics import installed_models

    if installed_models() is None:
        pytest.skip("needs the ultralytics package's YAMLs (`pip install --no-deps ultralytics`: CI has them)")
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['table', 'yolov8n', '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr(sorted(m for m in ('yaml', 'cnncalc.readers.ultralytics.reader')"
            " if m in sys.modules)))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNNCALC_CACHE": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout and '"model.22' in runs[0].stdout
    assert runs[0].stderr.strip().endswith("['cnncalc.readers.ultralytics.reader', 'yaml']")
    assert runs[1].stderr.strip().endswith("[]")


def test_list_is_analysed_once_then_read_back(tmp_path):
    # `cnncalc list` analyses all ~90 bundled specs; a second run reads their totals back (the
    # same files, the same code) and builds no graph at all
    code = ("import sys\nfrom cnncalc.cli import cli\n"
            "try:\n    cli(['list'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(repr('cnncalc.graph' in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CNNCALC_CACHE": str(tmp_path), "COLUMNS": "200"}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**env, "CNNCALC_CACHE": "off"})
    assert runs[0].stdout == runs[1].stdout == off.stdout and "resnet50" in off.stdout
    assert runs[0].stderr.strip().endswith("True") and runs[1].stderr.strip().endswith("False")


def test_the_folder_is_the_users_cache_and_never_a_relative_one(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNCALC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.folder() == str(tmp_path / "cnncalc")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.folder() == str(tmp_path / "home" / ".cache" / "cnncalc")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # a relative one is ignored (the XDG rules)
    assert cache.folder() == str(tmp_path / "home" / ".cache" / "cnncalc")
    monkeypatch.setenv("HOME", "")
    monkeypatch.setattr(os.path, "expanduser", lambda path: path)  # no home at all: nothing kept
    assert cache.folder() is None
