"""Damaged or hostile files are named, removed or refused, never a raw traceback and never published:
cache entries and stored runs of the wrong shape, results missing a field, companions with unsafe
names, stray or truncated files in build/generated, HTML in result strings, mistyped page tokens."""

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from equidocs import frozen, runner, runstore
from equidocs.train import Job, train_many

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
TINY = {"dataset": "patterns", "canvas": 8, "n_val": 20, "n_test": 20}


def hooks():
    spec = importlib.util.spec_from_file_location("equidocs_hooks", ROOT / "tools" / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("content", ["{}", "[]", '{"experiment": "parameter_counts"}'])
def test_a_wrong_shape_cache_entry_is_named_removed_and_recomputed(tmp_path, monkeypatch, caplog, content):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    first = runner.run_experiment("parameter_counts")
    path = tmp_path / "parameter_counts" / f"{first.record['key']}.json"
    path.write_text(content)
    with caplog.at_level(logging.WARNING):
        again = runner.run_experiment("parameter_counts")
    assert not again.cached and again.record["result"] == first.record["result"]
    assert str(path) in caplog.text and "removed and recomputed" in caplog.text


@pytest.mark.parametrize("content", ["{}", '{"test_acc": 1.0}', "[1, 2]"])
def test_a_wrong_shape_run_file_is_named_removed_and_trained_again(tmp_path, caplog, content):
    job = Job("dense", TINY, 16, seed=0)
    with runstore.recording(runstore.RunStore(tmp_path)):
        first = train_many([job], workers=1)[0]
    (path,) = tmp_path.rglob("*.json")
    path.write_text(content)
    store = runstore.RunStore(tmp_path)
    with caplog.at_level(logging.WARNING), runstore.recording(store):
        again = train_many([job], workers=1)[0]
    assert store.hits == 0 and again.test_acc == first.test_acc
    assert str(path) in caplog.text and "trained again" in caplog.text


@pytest.fixture
def results_copy(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(RESULTS, out)
    return out


def reseal(file: Path, change) -> None:
    record = json.loads(file.read_text())
    change(record)
    record["checksum"] = frozen.checksum(record)
    file.write_text(json.dumps(record))


def test_a_result_missing_a_field_is_named_and_status_reports_the_others(results_copy):
    reseal(results_copy / "weights.json", lambda r: r.pop("versions"))
    with pytest.raises(frozen.FrozenError, match="field 'versions' is missing"):
        frozen.read("weights", results_copy)
    done = subprocess.run([sys.executable, "-m", "equidocs", "status"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "EQUIDOCS_RESULTS": str(results_copy)}, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "weights" in done.stdout and "field 'versions' is missing" in done.stdout
    assert "amnesia              fresh" in done.stdout


def test_damage_advice_names_git_checkout_first(results_copy):
    (results_copy / "amnesia.json").write_text("{")
    with pytest.raises(frozen.FrozenError) as info:
        frozen.read("amnesia", results_copy)
    message = str(info.value)
    assert "git checkout -- results/amnesia.json" in message
    assert message.index("git checkout") < message.index("--freeze amnesia")


def test_results_files_are_never_merged_as_text():
    rules = (ROOT / ".gitattributes").read_text()
    assert "results/*.json merge=binary" in rules
    check = subprocess.run(["git", "check-attr", "merge", "results/amnesia.json"], cwd=ROOT,
                           capture_output=True, text=True)
    assert check.stdout.strip().endswith("merge: binary")


@pytest.mark.parametrize("name", ["../../../../tmp/x.json", "evil.html", "a/b.json", ".hidden.json", ""])
def test_a_companion_with_an_unsafe_name_is_refused(tmp_path, name):
    record = json.loads((RESULTS / "weights.json").read_text())
    record["result"]["companions"] = {name: {"x": 1}}
    with pytest.raises(ValueError, match="companion file name"):
        runner.export(record, tmp_path)
    assert not list(tmp_path.rglob("*x*")) and not (Path("/tmp") / "x.json").exists()


def test_a_truncated_companion_is_written_again_and_stray_files_are_removed(tmp_path):
    record = frozen.read("explorer_models", RESULTS)
    written = runner.export(record, tmp_path)
    companion = next(p for p in written if p.name in record["result"]["companions"])
    companion.write_text(companion.read_text()[:100])  # truncated
    stray = tmp_path / "results" / "evil.html"
    stray.write_text("<script>alert(1)</script>")
    written = runner.export(record, tmp_path)
    assert json.loads(companion.read_text()) == record["result"]["companions"][companion.name]
    assert runner.prune(tmp_path, written) == [stray] and not stray.exists()


def test_strings_from_a_result_are_escaped_except_an_exponent():
    escape = hooks().escape
    assert escape("1.2 × 10<sup>8</sup>") == "1.2 × 10<sup>8</sup>"
    assert escape('27%<img src=x onerror="alert(1)">') == "27%&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
    assert escape("<sup><script>x</script></sup>") == "&lt;sup&gt;&lt;script&gt;x&lt;/script&gt;&lt;/sup&gt;"


@pytest.mark.parametrize("token", ["[[ amnesia.seeds ]]", "[[figure: amnesia]]", "[[Amnesia.seeds]]",
                                   "[[claim: x.y]]"])
def test_a_mistyped_token_fails_the_build(token):
    module = hooks()
    with pytest.raises(Exception, match="unknown token"):
        module._no_leftover_tokens(f"Some text {token} more text", "page.md")
    module._no_leftover_tokens("code: x = [[1, 2], [3, 4]]; y = a[[0]]", "page.md")  # not a token
