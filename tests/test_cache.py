"""Tests for equidocs.cache and equidocs.runner: keys, atomic writes, cache hits, export, failures."""
import json
import math
import os

import pytest

from equidocs import cache, runner
from equidocs.experiments import parameter_counts

NAME = "parameter_counts"  # the cheap experiment: closed-form arithmetic, nothing trained


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("EQUIDOCS_CACHE", str(folder))
    return folder


def files_under(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ---- cache_key and source_hash -----------------------------------------------------------------

def test_cache_key_changes_with_name_config_device_and_source(monkeypatch):
    base = cache.cache_key("x", {"a": 1, "b": [1, 2]}, "cpu")
    assert cache.cache_key("x", {"b": [1, 2], "a": 1}, "cpu") == base  # key order is irrelevant
    others = [cache.cache_key("y", {"a": 1, "b": [1, 2]}, "cpu"),
              cache.cache_key("x", {"a": 2, "b": [1, 2]}, "cpu"),
              cache.cache_key("x", {"a": 1, "b": [1, 3]}, "cpu"),
              cache.cache_key("x", {"a": 1, "b": [1, 2]}, "cuda")]
    monkeypatch.setattr(cache, "source_hash", lambda module="equidocs": "0123456789abcdef")
    others.append(cache.cache_key("x", {"a": 1, "b": [1, 2]}, "cpu"))
    assert len({base, *others}) == 1 + len(others)


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package dir whose module a imports b (which imports c); d stands alone. No lru_cache."""
    monkeypatch.setattr(cache, "PACKAGE_DIR", tmp_path)
    monkeypatch.setattr(cache, "dependencies", cache.dependencies.__wrapped__)
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from equidocs.b import f\n")
    (tmp_path / "b.py").write_text("def f():\n    import equidocs.c\n")
    (tmp_path / "c.py").write_text("x = 1\n")
    (tmp_path / "d.py").write_text("y = 1\n")
    return tmp_path


def test_source_hash_follows_what_the_module_imports(fake_package):
    raw = cache.source_hash.__wrapped__  # bypass the per-process lru_cache
    assert cache.dependencies("equidocs.a") == ("equidocs.a", "equidocs.b", "equidocs.c")
    first = raw("equidocs.a")
    (fake_package / "d.py").write_text("y = 2\n")  # not imported by a: same hash
    (fake_package / "notes.txt").write_text("not python")
    assert raw("equidocs.a") == first
    (fake_package / "c.py").write_text("x = 2\n")  # imported indirectly: new hash
    second = raw("equidocs.a")
    assert len({first, second}) == 2 and len(first) == 16


# ---- write_json_atomic -------------------------------------------------------------------------

def test_write_json_atomic_leaves_only_the_file(tmp_path):
    path = tmp_path / "sub" / "r.json"
    cache.write_json_atomic(path, {"a": [1, 2.5]})
    cache.write_json_atomic(path, {"a": [3]})
    assert json.loads(path.read_text()) == {"a": [3]}
    assert files_under(tmp_path) == ["sub/r.json"]


@pytest.mark.parametrize("bad", [object(), math.nan], ids=["unserialisable", "nan"])
def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path, bad):
    path = tmp_path / "r.json"
    cache.write_json_atomic(path, {"ok": True})
    before = path.read_bytes()
    # A big valid head so json has already streamed part of the document when it hits `bad`.
    with pytest.raises((TypeError, ValueError)):
        cache.write_json_atomic(path, {"head": list(range(50_000)), "bad": bad})
    assert path.read_bytes() == before
    assert files_under(tmp_path) == ["r.json"]


# ---- run_experiment ----------------------------------------------------------------------------

def test_second_run_is_a_cache_hit_and_force_reruns(cache_dir):
    first = runner.run_experiment(NAME)
    assert not first.cached and first.record["experiment"] == NAME
    assert files_under(cache_dir) == [f"{NAME}/{first.record['key']}.json"]
    second = runner.run_experiment(NAME)
    assert second.cached and second.record == first.record
    forced = runner.run_experiment(NAME, force=True)
    assert not forced.cached and forced.record["result"] == first.record["result"]
    assert forced.record["key"] == first.record["key"]


def test_hit_and_miss_return_the_same_record(cache_dir):
    miss, hit = runner.run_experiment(NAME), runner.run_experiment(NAME)
    assert (miss.cached, hit.cached) == (False, True) and miss.record == hit.record


def test_failing_experiment_names_itself_and_caches_nothing(cache_dir, monkeypatch):
    def boom(cfg, ctx):
        raise ArithmeticError("deliberate")

    monkeypatch.setattr(parameter_counts, "run", boom)
    with pytest.raises(RuntimeError, match=rf"{NAME}.*deliberate") as info:
        runner.run_experiment(NAME, force=True)
    assert isinstance(info.value.__cause__, ArithmeticError)
    assert not cache_dir.exists() or files_under(cache_dir) == []


def test_run_experiment_rejects_unknown_profile_and_name(cache_dir):
    with pytest.raises(ValueError, match="profile 'huge'"):
        runner.run_experiment(NAME, "huge")
    with pytest.raises(ValueError, match="'nope'"):
        runner.run_experiment("nope")


# ---- export ------------------------------------------------------------------------------------

def test_export_writes_result_and_both_figures_then_skips(cache_dir, tmp_path):
    out = tmp_path / "out"
    record = runner.run_experiment(NAME).record
    paths = runner.export(record, out)
    assert [p.relative_to(out).as_posix() for p in paths] == [
        f"results/{NAME}.json", f"figures/{NAME}.svg", f"figures/{NAME}-dark.svg", f"figures/{NAME}.csv"]
    assert json.loads(paths[0].read_text()) == record
    light, dark = (p.read_text() for p in paths[1:3])
    assert paths[3].read_text().startswith("panel,")
    assert light.lstrip().startswith("<?xml") and "<svg" in light and light != dark

    past = 1_000_000_000  # push mtimes to 2001 so any rewrite would show even on a coarse clock
    for p in paths:
        os.utime(p, ns=(past, past))
    assert runner.export(record, out) == paths
    assert all(p.stat().st_mtime_ns == past for p in paths)

    changed = {**record, "key": "another-key"}  # a stale export is rewritten
    runner.export(changed, out)
    assert all(p.stat().st_mtime_ns != past for p in paths)
    assert json.loads(paths[0].read_text())["key"] == "another-key"


# ---- what a source hash ignores, corrupt files, the run store --------------------------------

def test_docstrings_comments_and_figure_code_do_not_change_the_hash(fake_package):
    raw = cache.source_hash.__wrapped__
    (fake_package / "c.py").write_text('"""Doc."""\nx = 1\n\ndef figure(r):\n    return 1\n')
    first = raw("equidocs.a")
    (fake_package / "c.py").write_text('"""Other doc."""\nx = 1  # note\n\ndef figure(r):\n    """D."""\n    return 2\n')
    assert raw("equidocs.a") == first
    (fake_package / "c.py").write_text('"""Other doc."""\nx = 3\n')
    assert raw("equidocs.a") != first


def test_infrastructure_modules_are_not_dependencies():
    deps = cache.dependencies("equidocs.experiments.weights")
    assert "equidocs.train" in deps and "equidocs.models" in deps
    assert not set(deps) & cache.INFRASTRUCTURE


def test_a_corrupt_cache_entry_is_recomputed_not_a_traceback(cache_dir):
    first = runner.run_experiment(NAME)
    path = cache_dir / NAME / f"{first.record['key']}.json"
    path.write_text(path.read_text()[:100])  # truncated, as by a killed write without atomicity
    again = runner.run_experiment(NAME)
    assert not again.cached and again.record["result"] == first.record["result"]
    assert json.loads(path.read_text())["result"] == first.record["result"]


TINY = {"dataset": "patterns", "canvas": 8, "n_val": 20, "n_test": 20}


def test_the_run_store_resumes_a_killed_study_and_heals_corrupt_runs(tmp_path):
    from dataclasses import replace

    from equidocs import runstore
    from equidocs.train import Job, train_many

    jobs = [Job("dense", TINY, 16, seed=s) for s in range(3)]
    first = runstore.RunStore(tmp_path / "runs")
    with runstore.recording(first):
        done = train_many(jobs[:2], workers=1)  # "killed" after two of the three runs
    files = sorted((tmp_path / "runs").rglob("*.json"))
    assert len(files) == 2 and first.hits == 0
    files[0].write_text("{trunc")  # one of them corrupt
    second = runstore.RunStore(tmp_path / "runs")
    with runstore.recording(second):
        resumed = train_many(jobs, workers=1)
    assert second.hits == 1  # the intact one was reused; the corrupt one and the third retrained
    assert [r.test_acc for r in resumed[:2]] == [r.test_acc for r in done]
    assert len(second.log) == 3 and len(runstore.compact(second.log)) == 3
    replay = runstore.replay_store(runstore.compact(second.log), "cpu")
    with runstore.recording(replay):
        assert [r.test_acc for r in train_many(jobs, workers=1)] == [r.test_acc for r in resumed]
        with pytest.raises(KeyError, match="not among the recorded runs"):
            train_many([replace(jobs[0], seed=9)], workers=1)


def test_drawing_names_are_used_only_by_figure_functions():
    """Source hashes skip drawing imports and ``figure``: sound only if no result code draws."""
    import ast

    from equidocs import codehash, experiments

    for name in experiments.NAMES:
        tree = ast.parse(cache._module_path(experiments.get(name).__name__).read_text())
        drawing = {alias.asname or alias.name.split(".")[0] for node in tree.body if codehash.drawing_import(node)
                   for alias in node.names}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Assign)) and getattr(node, "name", "") != "figure":
                used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & drawing
                assert not used, f"{name}: {getattr(node, 'name', 'a module constant')} uses {used}"
