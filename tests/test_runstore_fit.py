"""The run store, the recorded runs and the audit's replay for mechanism-study runs (equidocs.fit.Job).

A fit job is stored as ``{"fit": {...}}`` and read back validated (a bad spec names its field); its
recorded numbers are plain JSON (the memoriser's NaN loss is null) that a strict replay store serves
back; its digest ignores the clocks; a run on disk reads back; and the audit re-trains a recorded
run, passing it when identical and naming the field that was tampered with.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest

from equidocs import audit, cache, runstore
from equidocs.fit import Job, Result, fit

MEMORISER = Job("memoriser", 6, 8, 0, n_val=10, n_test=10)
CONV = Job("conv", 6, 8, seed=0, n_val=20, n_test=20, epochs=1, min_steps=20)
RECORD = {"versions": {"device": "cpu", "cpu_capability": cache.cpu_capability()}}


def made_up(**changes) -> Result:
    """A conv run's result, without training."""
    base = Result(stop="patience", steps=120, epochs=15.0, best_epoch=10.0, evals=15, train_acc=1.0,
                  val_acc=0.875, test_acc=0.8, val_loss=0.4321, params=964, wall_s=1.25, cpu_s=1.2)
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def trained():
    """Two tiny real runs: a 1-NN lookup (NaN loss) and a 20-step conv net."""
    return [(job, fit(job)) for job in (MEMORISER, CONV)]


@pytest.mark.parametrize("job", [MEMORISER, CONV, Job("dense", 8, 64, 3, lr=1e-2, weight_decay=1e-4, hidden=64)],
                         ids=["memoriser", "conv", "dense"])
def test_a_fit_job_round_trips_through_its_dict(job):
    """``job_from_dict(job_to_dict(job)) == job``, through JSON, as ``{"fit": {...}}``."""
    data = json.loads(json.dumps(runstore.job_to_dict(job)))
    assert set(data) == {"fit"} and data["fit"]["arm"] == job.arm
    assert runstore.is_fit_job(runstore.job_from_dict(data))
    assert runstore.job_from_dict(data) == job


@pytest.mark.parametrize("fields, named", [
    ({"colour": "red"}, "colour"),                 # unknown key
    ({"arm": "mlp"}, "arm='mlp'"),                 # not one of ARMS
    ({"n_train": -3}, "n_train=-3"),               # negative training set
    ({"seed": -1}, "seed=-1"),
    ({"canvas": 4}, "canvas=4"),                   # smaller than the glyph
    ({"lr": float("nan")}, "lr=nan"),
    ({"n_test": True}, "n_test=True"),             # a bool is not a count
], ids=["unknown-key", "arm", "negative-n_train", "negative-seed", "canvas", "nan-lr", "bool-n_test"])
def test_a_bad_fit_spec_raises_job_spec_error_naming_the_field(fields, named):
    """A fit spec this project could not have written is a JobSpecError whose message names the field."""
    data = {"fit": {**MEMORISER.to_dict(), **fields}}
    with pytest.raises(runstore.JobSpecError, match="job spec fit=") as error:
        runstore.job_from_dict(data)
    assert named in str(error.value)


def test_a_fit_spec_that_is_not_an_object_or_lacks_a_field_is_rejected():
    """``{"fit": [...]}`` and a spec without its seed are JobSpecErrors, not TypeErrors."""
    with pytest.raises(runstore.JobSpecError, match="expected an object of equidocs.fit.Job fields"):
        runstore.job_from_dict({"fit": [1, 2]})
    spec = MEMORISER.to_dict()
    del spec["seed"]
    with pytest.raises(runstore.JobSpecError, match="seed"):
        runstore.job_from_dict({"fit": spec})


def test_compact_writes_the_memorisers_nan_loss_as_null_and_replay_serves_it(trained):
    """``compact`` keeps FIT_RECORDED (NaN -> None, JSON without NaN) and a digest; ``replay_store``
    serves the recorded numbers back and, strict, refuses any job it was not given."""
    job, result = trained[0]
    assert math.isnan(result.val_loss)
    [entry] = runstore.compact([(job, result)])
    assert set(entry) == {"job", *runstore.FIT_RECORDED, "digest"}
    assert entry["val_loss"] is None and entry["job"] == {"fit": job.to_dict()}
    assert entry["digest"] == runstore.result_digest(result.to_dict())
    entries = json.loads(json.dumps([entry], allow_nan=False))
    store = runstore.replay_store(entries, "cpu")
    served = store.get(job)
    assert isinstance(served, Result) and served.val_loss is None
    assert {k: getattr(served, k) for k in runstore.FIT_RECORDED} == {
        k: entry[k] for k in runstore.FIT_RECORDED}
    assert store.used == {runstore.spec_key(job)} and store.log == [(job, served)]
    with pytest.raises(KeyError, match="not among the recorded runs"):
        store.get(dataclasses.replace(job, seed=1))


def test_compact_keeps_one_entry_per_job_and_replay_rejects_a_duplicate():
    """A job logged twice is one entry (the last result); two entries for one job are a JobSpecError."""
    job = dataclasses.replace(CONV, n_train=16)
    entries = runstore.compact([(job, made_up(test_acc=0.5)), (job, made_up(test_acc=0.75))])
    assert len(entries) == 1 and entries[0]["test_acc"] == 0.75
    with pytest.raises(runstore.JobSpecError, match=r"runs\[1\]: a second entry"):
        runstore.replay_store(entries * 2, "cpu")
    incomplete = {k: v for k, v in entries[0].items() if k != "best_epoch"}
    with pytest.raises(runstore.JobSpecError, match=r"runs\[0\]: expected a recorded run"):
        runstore.replay_store([incomplete], "cpu")


def test_the_digest_ignores_the_clocks_but_not_the_numbers():
    """``result_digest`` is the same whatever wall_s and cpu_s, and changes with any other number."""
    base = runstore.result_digest(made_up().to_dict())
    assert runstore.result_digest(made_up(wall_s=99.0, cpu_s=98.0).to_dict()) == base
    assert runstore.result_digest(made_up(test_acc=0.85).to_dict()) != base
    assert runstore.result_digest(made_up(steps=121).to_dict()) != base
    assert set(runstore.CLOCKS) == {"wall_s", "cpu_s"}


def test_a_fit_result_put_on_disk_reads_back(tmp_path):
    """``RunStore.put`` then ``get`` (a new store on the same folder) gives the same fit Result; a
    memoriser's NaN loss is stored as null; another seed is not found."""
    job, result = dataclasses.replace(CONV, n_train=16), made_up()
    first = runstore.RunStore(tmp_path / "runs", "cpu")
    first.put(job, result)
    assert first.log == [(job, result)]
    [path] = (tmp_path / "runs").rglob("*.json")
    assert path.stem == runstore.job_key(job, "cpu")
    second = runstore.RunStore(tmp_path / "runs", "cpu")
    assert second.get(job) == result and second.hits == 1
    assert second.get(dataclasses.replace(job, seed=1)) is None
    nan_job, nan_result = MEMORISER, made_up(stop="none", val_loss=float("nan"))
    first.put(nan_job, nan_result)
    got = runstore.RunStore(tmp_path / "runs", "cpu").get(nan_job)
    assert got.val_loss is None and dataclasses.replace(got, val_loss=0.0) == dataclasses.replace(
        nan_result, val_loss=0.0)
    assert runstore.job_key(job, "cpu") != runstore.job_key(job, "cuda")


@pytest.mark.slow
def test_the_audit_replays_a_recorded_fit_run_and_names_a_tampered_accuracy(trained):
    """Re-trained, tiny real runs recorded with ``compact`` agree (clocks ignored); a changed
    ``test_acc`` is one problem naming test_acc and the run."""
    entries = json.loads(json.dumps(runstore.compact(trained), allow_nan=False))
    picks = [("resolution_scaling", entry, RECORD) for entry in entries]
    verdicts = []
    assert audit.replay(picks, verdicts=verdicts) == []
    assert [v for _, _, v in verdicts] == ["identical", "identical"]
    at = next(i for i, e in enumerate(entries) if e["job"]["fit"]["arm"] == "conv")
    entries[at]["test_acc"] = 0.0 if entries[at]["test_acc"] > 0.5 else 1.0
    problems = audit.replay(picks)
    assert len(problems) == 1
    assert "test_acc" in problems[0] and "conv n=8 seed=0 on patterns 6x6" in problems[0]


def test_a_memoriser_run_read_from_disk_keeps_its_digest(trained, tmp_path):
    """The same run has the same recorded digest whether it was trained or read back from the store."""
    job, result = trained[0]
    runstore.RunStore(tmp_path, "cpu").put(job, result)
    store = runstore.RunStore(tmp_path, "cpu")
    store.get(job)
    assert runstore.compact(store.log) == runstore.compact([(job, result)])
