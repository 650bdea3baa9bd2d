"""The readout / augmentation controls: their arms are what they claim to be, and needs, training
compute and ratios come out right for a fake trainer with known needs and step counts."""

import json
from dataclasses import replace

import numpy as np
import pytest

from equidocs.compute import flops_per_example
from equidocs.experiments import heads_augmentation as ha, search
from equidocs.experiments.common import RunContext
from equidocs.train import RunResult

NEEDS = {"conv": 60.0, "conv+flatten": 600.0, "dense": 4000.0, "dense+shift": 500.0}
STEPS = {"conv": 100, "conv+flatten": 100, "dense": 100, "dense+shift": 1000}
JOBS: list = []


def _arm(job) -> str:
    if job.kind == "conv":
        return "conv+flatten" if job.model["head"] == "flatten" else "conv"
    return "dense+shift" if job.train.augment == "shift" else "dense"


def _fake_train_many(jobs, **_):
    """Accuracy rises linearly in log n through 0.9 at the arm's known need (seed noise +-0.005);
    every run takes its arm's fixed number of steps."""
    JOBS.extend(jobs)
    out = []
    for job in jobs:
        arm = _arm(job)
        acc = float(np.clip(0.9 + 0.12 * np.log(job.n_train / NEEDS[arm]) + 0.005 * (job.seed % 3 - 1), 0, 1))
        out.append(RunResult(job.kind, job.n_train, job.seed, job.train.lr, 100, STEPS[arm], "fit", False, 1.0,
                             acc, acc, 0.01, [], 0.0))
    return out


@pytest.fixture(scope="module")
def result():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(search, "train_many", _fake_train_many)
        JOBS.clear()
        return ha.run(replace(ha.Config(), boot=200), RunContext(workers=1))


def test_only_the_augmented_arm_trains_on_shifted_copies_and_only_one_conv_arm_flattens(result):
    by_arm = {arm: {(j.train.augment, j.model["head"]) for j in JOBS if _arm(j) == arm} for arm in ha.ARMS}
    assert by_arm["dense+shift"] == {("shift", "max")}
    assert by_arm["dense"] == {("none", "max")}
    assert by_arm["conv+flatten"] == {("none", "flatten")}
    assert by_arm["conv"] == {("none", "max")}
    budgets = {(j.n_train, j.train.max_steps, j.train.patience) for j in JOBS}
    assert all(steps == max(12000, 600 * -(-n // 128)) and patience == 1000 for n, steps, patience in budgets)


def test_known_needs_are_recovered_inside_their_intervals(result):
    for arm, need in NEEDS.items():
        got = result["arms"][arm]["need"]
        assert got["censored"] == "" and got["ci"][0] <= need * 1.1 and got["ci"][1] >= need / 1.1
        assert got["value"] == pytest.approx(need, rel=0.1)


def test_compute_at_the_need_is_steps_times_minibatch_times_flops_per_example(result):
    shape, classes = (1, 10, 10), 4
    for arm, need in NEEDS.items():
        a = result["arms"][arm]
        per_example = flops_per_example(a["kind"], shape, classes, **a["model"])
        assert a["flops_per_example"] == per_example
        expected = STEPS[arm] * min(128, a["need"]["value"]) * per_example  # fixed steps: compute ~ batch
        assert a["compute"]["value"] == pytest.approx(expected, rel=0.02)


def test_ratios_are_the_ratios_of_the_needs_and_of_the_compute(result):
    arms = result["arms"]
    for name, (worse, better, _) in ha.RATIOS.items():
        r = result["ratios"][name]
        assert r["examples"]["value"] == pytest.approx(arms[worse]["need"]["value"] / arms[better]["need"]["value"])
        assert r["compute"]["value"] == pytest.approx(arms[worse]["compute"]["value"] / arms[better]["compute"]["value"])
    assert result["ratios"]["augmentation"]["examples"]["low"] > 1  # 4,000 vs 500: clearly apart


def test_the_result_is_json_and_every_number_is_a_string(result):
    json.dumps(result)
    assert all(isinstance(v, str) for v in result["numbers"].values())
    assert result["numbers"]["budget_flags"] == "none" and result["numbers"]["censored"] == "none"
