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
BASE_STEPS = {"conv": 100, "conv+flatten": 150, "dense": 200, "dense+shift": 1000}
JOBS: list = []


def _arm(job) -> str:
    if job.kind == "conv":
        return "conv+flatten" if job.model["head"] == "flatten" else "conv"
    return "dense+shift" if job.train.augment == "shift" else "dense"


def steps(arm: str, seed: int) -> int:
    """Steps of a run: the arm's base count, times 1, 2 or 3 by seed (the same at every size)."""
    return BASE_STEPS[arm] * (1 + seed % 3)


def fake(falling: str | None = None):
    """A trainer whose accuracy rises linearly in log n through 0.9 at the arm's known need (seed
    noise +-0.005); ``falling``'s runs take fewer steps the more examples they have."""

    def train_many(jobs, **_):
        JOBS.extend(jobs)
        out = []
        for job in jobs:
            arm = _arm(job)
            acc = float(np.clip(0.9 + 0.12 * np.log(job.n_train / NEEDS[arm]) + 0.005 * (job.seed % 3 - 1), 0, 1))
            n_steps = steps(arm, job.seed) * (10_000 // job.n_train if arm == falling else 1)
            out.append(RunResult(job.kind, job.n_train, job.seed, job.train.lr, 100, n_steps, "fit", False, 1.0,
                                 acc, acc, 0.01, [], 0.0))
        return out

    return train_many


_fake_train_many = fake()  # the figure tests draw from this one


def _run(falling=None, **changes):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(search, "train_many", fake(falling))
        JOBS.clear()
        return ha.run(replace(ha.Config(), boot=200, **changes), RunContext(workers=1))


@pytest.fixture(scope="module")
def result():
    return _run()


def expected_compute(result, arm: str) -> float:
    """Steps x minibatch x FLOPs per example at the need, computed here from the fake's rules: the
    seed-mean steps do not change with n, the minibatch is min(128, n)."""
    a, seeds = result["arms"][arm], range(8)
    per_example = flops_per_example(a["kind"], (1, 10, 10), 4, **a["model"])
    return np.mean([steps(arm, s) for s in seeds]) * min(128, a["need"]["value"]) * per_example


def test_only_the_augmented_arm_trains_on_shifted_copies_and_only_one_conv_arm_flattens(result):
    by_arm = {arm: {(j.train.augment, j.model["head"]) for j in JOBS if _arm(j) == arm} for arm in ha.ARMS}
    assert by_arm["dense+shift"] == {("shift", "max")}
    assert by_arm["dense"] == {("none", "max")}
    assert by_arm["conv+flatten"] == {("none", "flatten")}
    assert by_arm["conv"] == {("none", "max")}


def test_every_arm_gets_the_same_generous_budget():
    _run()
    budgets = {(j.n_train, j.train.max_steps, j.train.patience) for j in JOBS}
    assert all(steps_ == max(12000, 600 * -(-n // 128)) and patience == 1000 for n, steps_, patience in budgets)


def test_known_needs_are_recovered_inside_their_intervals(result):
    for arm, need in NEEDS.items():
        got = result["arms"][arm]["need"]
        assert got["censored"] == "" and got["ci"][0] <= need * 1.1 and got["ci"][1] >= need / 1.1
        assert got["value"] == pytest.approx(need, rel=0.1)


def test_compute_at_the_need_is_steps_times_minibatch_times_flops_per_example(result):
    for arm in NEEDS:
        comp = result["arms"][arm]["compute"]
        assert comp["value"] == pytest.approx(expected_compute(result, arm), rel=1e-6)
        assert comp["ci"][0] < comp["value"] < comp["ci"][1]  # seeds' step counts differ 3x: a real interval


def test_ratios_of_compute_are_the_ratios_of_the_computed_compute(result):
    for name, (worse, better, _) in ha.RATIOS.items():
        r = result["ratios"][name]
        want = expected_compute(result, worse) / expected_compute(result, better)
        assert r["compute"]["value"] == pytest.approx(want, rel=1e-6) and r["compute_bounds_valid"]
    assert result["ratios"]["augmentation"]["examples"]["low"] > 1  # 4,000 vs 500: clearly apart
    assert result["numbers"]["ratio.augmented_vs_conv.compute"].endswith(")")  # an interval, in words


def test_a_net_that_never_reaches_the_target_is_a_bound_in_examples_and_compute():
    res = _run(cap={"conv": 16384, "dense": 1024})  # the plain dense net (needs 4,000) is cut off
    numbers = res["numbers"]
    assert numbers["dense.need"] == "more than 1,024" and numbers["censored"] == "dense"
    assert numbers["dense.compute"].startswith("more than ")
    assert res["ratios"]["dense_vs_conv"]["examples"]["lower_bound_only"]
    assert numbers["ratio.dense_vs_conv.examples"].startswith("more than ")


def test_a_bound_on_the_need_is_no_bound_on_compute_that_falls_with_the_training_set():
    res = _run(falling="dense", cap={"conv": 16384, "dense": 1024})
    assert not res["arms"]["dense"]["compute_grows"]
    assert res["numbers"]["dense.compute"].startswith("not determined")
    assert not res["ratios"]["dense_vs_conv"]["compute_bounds_valid"]
    assert res["numbers"]["ratio.dense_vs_conv.compute"].startswith("not determined")
    assert res["numbers"]["ratio.pooling.compute"][0].isdigit()  # arms that reached the target are unaffected


def test_the_result_is_json_and_every_number_is_a_string(result):
    json.dumps(result)
    assert all(isinstance(v, str) for v in result["numbers"].values())
    assert result["numbers"]["budget_flags"] == "none" and result["numbers"]["censored"] == "none"
    assert result["numbers"]["conv.flops_per_example"] == "80 kFLOP"  # 80,192: see test_compute
