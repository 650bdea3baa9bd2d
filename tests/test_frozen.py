"""Frozen results: checksums, freshness (naming what changed), bad files, and the audit.

The unit tests freeze the cheap ``parameter_counts`` experiment into a temporary folder. The
audit tests use the committed ``results/`` (what the site publishes): they re-derive results from
the recorded runs, re-train a few runs, and check that tampering with a number turns them red.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from equidocs import audit, experiments, frozen, runstore
from equidocs.runner import run_experiment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A results folder holding a freshly frozen parameter_counts."""
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results"
    frozen.write(run_experiment("parameter_counts", "full").record, out)
    return out


def rewrite(file: Path, edit, *, checksum: bool = True) -> None:
    """Apply ``edit`` to a frozen file's record; re-seal it with a valid checksum unless told not to."""
    record = json.loads(file.read_text())
    edit(record)
    if checksum:
        record["checksum"] = frozen.checksum(record)
    file.write_text(json.dumps(record))


def test_a_fresh_result_reads_back_and_has_provenance(folder):
    record = frozen.read("parameter_counts", folder)
    assert frozen.staleness("parameter_counts", folder) == []
    assert record["profile"] == "full" and record["config"] == frozen.current_config("parameter_counts")
    assert set(record["sources"]) >= {"equidocs.params", "equidocs.experiments.parameter_counts"}
    assert {"torch", "equidocs", "python", "device"} <= set(record["versions"])
    assert record["wall_s"] >= 0 and record["created"] and "runs" in record


@pytest.mark.parametrize("text, complaint", [
    ("{not json", "not valid JSON"),
    ('<<<<<<< HEAD\n{"a": 1}\n=======\n{"a": 2}\n>>>>>>> other\n', "merge-conflict markers"),
    ('{"experiment": "parameter_counts"}', "no checksum"),
])
def test_unreadable_files_name_the_file_and_the_fix(folder, text, complaint):
    file = folder / "parameter_counts.json"
    file.write_text(text)
    with pytest.raises(frozen.FrozenError) as info:
        frozen.read("parameter_counts", folder)
    message = str(info.value)
    assert complaint in message and str(file) in message
    assert "python -m equidocs run --profile full --freeze parameter_counts" in message


def test_a_hand_edited_number_breaks_the_checksum(folder):
    rewrite(folder / "parameter_counts.json",
            lambda r: r["result"]["numbers"].update({"4k.dense": "12"}), checksum=False)
    with pytest.raises(frozen.FrozenError, match="no longer matches its checksum"):
        frozen.read("parameter_counts", folder)


@pytest.mark.parametrize("edit, reason", [
    (lambda r: r["sources"].update({"equidocs.params": "0" * 12}), "equidocs/params.py changed"),
    (lambda r: r["sources"].update({"equidocs.gone": "0" * 12}), "equidocs/gone.py is no longer a dependency"),
    (lambda r: r["config"].update({"resolutions": ["MNIST 28x28"]}), "config changed: resolutions"),
    (lambda r: r["versions"].update({"torch": "0.0.1"}), "torch 0.0.1 -> "),
])
def test_staleness_names_what_changed(folder, edit, reason):
    rewrite(folder / "parameter_counts.json", edit)
    reasons = frozen.staleness("parameter_counts", folder)
    assert any(reason in r for r in reasons), reasons
    with pytest.raises(frozen.FrozenError, match="stale .*--freeze parameter_counts"):
        frozen.load_fresh("parameter_counts", folder)


def test_a_record_sealed_under_another_python_is_still_fresh(folder):
    """Source hashes read the code in a form every Python from 3.10 writes alike
    (tests/test_codehash.py), so the Python that sealed a record does not make it stale."""
    rewrite(folder / "parameter_counts.json", lambda r: r["versions"].update({"python": "3.13.0"}))
    assert frozen.staleness("parameter_counts", folder) == []


def test_a_torch_build_tag_alone_does_not_make_a_record_stale(folder):
    """torch 2.13.0 from PyPI or on macOS reports "2.13.0", the CPU wheel "2.13.0+cpu": one release."""
    from equidocs import cache
    torch = cache.versions("cpu")["torch"]
    other = torch.split("+")[0] if "+" in torch else torch + "+cpu"
    rewrite(folder / "parameter_counts.json", lambda r: r["versions"].update({"torch": other}))
    assert frozen.staleness("parameter_counts", folder) == []


def test_only_the_full_profile_is_frozen(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="only the 'full' profile"):
        frozen.write(run_experiment("parameter_counts", "quick").record, tmp_path)


def test_status_and_freeze_from_the_command_line(tmp_path):
    env = {**os.environ, "EQUIDOCS_CACHE": str(tmp_path / "cache"), "EQUIDOCS_RESULTS": str(tmp_path / "r")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "equidocs", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    missing = cli("status", "parameter_counts")
    assert missing.returncode == 1 and "missing" in missing.stdout and "--freeze parameter_counts" in missing.stderr
    assert cli("run", "parameter_counts", "--freeze").returncode == 2  # --freeze needs --profile full
    done = cli("run", "parameter_counts", "--profile", "full", "--freeze", "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    fresh = cli("status", "parameter_counts")
    assert fresh.returncode == 0 and "fresh" in fresh.stdout


def test_the_committed_results_are_all_fresh():
    """CI's freshness check: the published results match the code, configs and versions."""
    stale = {name: reasons for name, reasons in frozen.status(folder=RESULTS).items() if reasons}
    assert not stale, f"stale frozen results (run `python -m equidocs run --profile full --freeze --stale`): {stale}"


def test_every_training_experiment_records_its_runs():
    for name in experiments.NAMES:
        record = frozen.read(name, RESULTS)
        if name != "parameter_counts":
            assert record["runs"], name
            for entry in record["runs"][:3]:
                job = runstore.job_from_dict(entry["job"])
                assert runstore.job_to_dict(job) == entry["job"]


# --- the audit --------------------------------------------------------------------------------

def cheapest(record: dict) -> dict:
    """The cheapest recorded run of a record (to keep replay tests short)."""
    def cost(entry):
        canvas = entry["job"]["data"].get("canvas", 16)
        return entry["n_train"] * canvas * canvas * {"local": 3, "conv": 1}.get(entry["kind"], 0.2)
    return min(record["runs"], key=cost)


@pytest.fixture
def tampered(tmp_path):
    """A copy of the committed weights result, for tampering."""
    out = tmp_path / "results"
    out.mkdir()
    shutil.copy(RESULTS / "weights.json", out / "weights.json")
    return out / "weights.json"


def test_audit_fails_when_a_recorded_accuracy_is_altered(tampered):
    record = json.loads(tampered.read_text())
    target = cheapest(record)

    def edit(r):
        for entry in r["runs"]:
            if entry["job"] == target["job"]:
                entry["test_acc"] = round(1.0 - entry["test_acc"], 4) or 0.5
    rewrite(tampered, edit)  # re-sealed: the checksum alone cannot catch it
    record = frozen.read("weights", tampered.parent)
    entry = next(e for e in record["runs"] if e["job"] == target["job"])
    problems = audit.replay([("weights", entry, record)], device="cpu")
    assert problems and "test_acc" in problems[0]


def test_audit_fails_when_a_derived_number_is_altered(tampered):
    rewrite(tampered, lambda r: r["result"]["numbers"].update({"area_share": "99%"}))
    report = audit.audit(["weights"], runs=0, folder=tampered.parent)
    assert not report.ok and any("does not follow from its recorded runs" in p for p in report.problems)
    assert any("area_share" in p for p in report.problems)


def test_audit_fails_on_a_broken_checksum(tampered):
    rewrite(tampered, lambda r: r["result"]["numbers"].update({"area_share": "99%"}), checksum=False)
    report = audit.audit(["weights"], runs=0, folder=tampered.parent)
    assert not report.ok and "checksum" in report.problems[0]


def test_untampered_copy_passes_the_derivation(tampered):
    report = audit.audit(["weights"], runs=0, folder=tampered.parent)
    assert report.ok, report.problems
    record = frozen.read("weights", tampered.parent)
    assert audit.replay([("weights", cheapest(record), record)], device="cpu") == []
