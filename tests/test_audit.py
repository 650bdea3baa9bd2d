"""The audit holds on any CPU and catches any edit.

(The audit command itself, on this CPU and on a narrower one: test_background_checks.py.)

- floats are compared with a stated tolerance, everything else exactly; every difference is counted;
- a replay is bit-identical on the CPU capability that froze the result, within tolerance elsewhere,
  and the report says which;
- a recorded run the analysis does not use, a job spec the project could not have written (an
  unknown kind, a probe naming any importable function) fail the audit before anything is imported.
"""

import json
import shutil
from pathlib import Path

import pytest

from equidocs import audit, cache, frozen, runstore

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


@pytest.mark.parametrize("a, b, same", [
    (835.7543351426135, 835.7543351426136, True),      # float64 analysis, last digit (seen across CPUs)
    (0.5280510187149048, 0.5280519723892212, True),    # float32 probe value, 1.8e-6 relative
    (0.19260511361062527, 0.19260511808097364, True),  # float64 mean of float32 values, 2.3e-8
    (0.27, 0.37, False),                               # a published number changed
    (0.5, 0.5001, False),                              # one test example in 10,000
    (1e-9, 2e-9, False),
])
def test_floats_are_compared_with_the_stated_tolerance(a, b, same):
    assert audit.same_float(a, b) is same
    assert (audit.differences({"x": a}, {"x": b}) == []) is same


def test_integers_strings_and_types_must_match_exactly():
    assert audit.differences({"n": 5, "s": "a", "b": True, "z": None}, {"n": 6, "s": "b", "b": 1, "z": 0}) == [
        "result.b: re-derived true, frozen 1", "result.n: re-derived 5, frozen 6",
        'result.s: re-derived "a", frozen "b"', "result.z: re-derived null, frozen 0"]


def test_every_difference_is_counted_and_the_first_ones_listed():
    a, b = {"x": list(range(40))}, {"x": [i + 1 for i in range(40)]}
    found = audit.differences(a, b)
    assert len(found) == 40
    text = audit.summarise(found)
    assert text.startswith("40 difference(s): result.x[0]") and "and 30 more" in text


@pytest.fixture
def copy(tmp_path):
    """A copy of the committed weights result, for tampering (re-sealed with a valid checksum)."""
    out = tmp_path / "results"
    out.mkdir()
    shutil.copy(RESULTS / "weights.json", out / "weights.json")
    file = out / "weights.json"

    def edit(change) -> Path:
        record = json.loads(file.read_text())
        change(record)
        record["checksum"] = frozen.checksum(record)
        file.write_text(json.dumps(record))
        return out
    return edit


def test_a_run_the_analysis_does_not_use_fails_the_audit(copy):
    def add_run(record):
        extra = json.loads(json.dumps(record["runs"][0]))
        extra["job"]["seed"] = 987
        record["runs"].append(extra)
    report = audit.audit(["weights"], runs=0, folder=copy(add_run))
    assert any("1 recorded run(s) are not used by the analysis" in p for p in report.problems), report.problems


def test_a_duplicated_run_entry_fails_the_audit(copy):
    report = audit.audit(["weights"], runs=0, folder=copy(lambda r: r["runs"].append(r["runs"][0])))
    assert any("a second entry for the job" in p for p in report.problems), report.problems


@pytest.mark.parametrize("field, value, complaint", [
    ("probe", "this:s", "probe='this:s'"),
    ("probe", "equidocs.experiments.weights:os", "probe='equidocs.experiments.weights:os'"),
    ("probe", "equidocs.nope:probe", "probe='equidocs.nope:probe'"),
    ("kind", "transformer", "kind='transformer'"),
    ("data", {"dataset": "mnist"}, "expected a dataset spec"),
    ("model", {"width": 8, "evil": 1}, "unknown option(s) 'evil'"),
    ("train", {"lr": -1}, "TrainConfig.lr=-1"),
    ("n_train", "16", "n_train='16'"),
])
def test_job_specs_from_a_file_are_validated_before_anything_is_imported(copy, field, value, complaint, capsys):
    report = audit.audit(["weights"], runs=0, folder=copy(lambda r: r["runs"][0]["job"].update({field: value})))
    assert any(complaint in p for p in report.problems), report.problems
    assert "Beautiful is better than ugly" not in capsys.readouterr().out  # `import this` never ran


def test_an_unknown_job_field_is_refused():
    with pytest.raises(runstore.JobSpecError, match="unknown field"):
        runstore.job_from_dict({"kind": "conv", "data": {"dataset": "patterns"}, "n_train": 4, "seed": 0,
                                "evil": 1})


def test_a_replay_says_whether_it_was_compared_bit_for_bit():
    record = frozen.read("weights", RESULTS)
    entry = min(record["runs"], key=lambda e: e["n_train"] * (3 if e["kind"] == "local" else 1))
    same = {**record, "versions": {**record["versions"], "cpu_capability": cache.cpu_capability()}}
    other = {**record, "versions": {**record["versions"], "cpu_capability": "SOMETHING_ELSE"}}
    assert audit.comparison(same, "cpu") == (True, f"same CPU capability {cache.cpu_capability()}")
    assert audit.comparison(other, "cpu")[0] is False
    assert audit.comparison({**record, "versions": {"device": "cpu"}}, "cpu") == (
        False, f"CPU capability not recorded, here {cache.cpu_capability()}")
    verdicts: list = []
    altered = {**entry, "test_acc": round(entry["test_acc"] - 0.2, 4)}
    problems = audit.replay([("weights", altered, other)], verdicts=verdicts)
    assert problems and "tolerance: CPU capability SOMETHING_ELSE" in problems[0] and "test_acc" in problems[0]
