"""The mechanism study's analysis on synthetic ladders with a known growth law: per-seed accuracy
curves from a logistic in log N whose N50 follows the law, scored on a binomial test set."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from equidocs import stats
from equidocs.fit import Job, Result
from equidocs.mechanism import RunLog
from equidocs.mechanism_analysis import Ladder, analyse, analyse_ladders
from equidocs.mechanism_laws import (EXPONENTIAL, LAWS, PIXELS, POSITIONS, extrapolate, law_exponent, law_x,
                                     weighted_interval)
from equidocs.mechanism_plan import Config, ladder, plan
from equidocs.nets import positions

SIZES = (6, 7, 8, 10, 12, 16, 20, 24)
CFG = Config(sizes=SIZES, arms=("conv",))
WIDTH = 0.6                                      # logistic width in log N
Z90 = math.log((0.9 - 0.25) / 0.75 / (1 - (0.9 - 0.25) / 0.75))  # log N90 - log N50, in widths


def _acc(n: float, n50: float, shift: float = 0.0) -> float:
    """Four classes: chance 0.25, rising logistically in log N through 0.625 at ``n50``."""
    return 0.25 + 0.75 / (1 + math.exp(-(math.log(n) - math.log(n50) - shift) / WIDTH))


def synthetic(n50: dict[int, float], *, cap: int = 131072, seeds: int = 10, n_test: int = 2000,
              seed_sd: float = 0.1, rng_seed: int = 0) -> dict:
    """A ladder per size as the planner leaves it: the sqrt(2) rungs around the crossing (or the
    last ones below the cap), every seed's accuracy curve shifted in log N, binomial test noise."""
    rng = np.random.default_rng(rng_seed)
    out = {}
    for size, m in n50.items():
        rungs, n90 = ladder(4, cap), m * math.exp(Z90 * WIDTH)
        i = next((j for j, r in enumerate(rungs) if r >= n90), len(rungs) - 1)
        ns = rungs[max(0, i - 2):i + 2]
        shifts = rng.normal(0, seed_sd, seeds)
        p = np.array([[_acc(n, m, s) for n in ns] for s in shifts])
        out["conv", size] = Ladder(tuple(ns), rng.binomial(n_test, p) / n_test, n_test)
    return out


def test_a_power_law_in_positions_is_recovered_and_named():
    b = 1.2
    s = analyse_ladders(synthetic({S: 3 * positions(S) ** b for S in SIZES}), CFG, draws=30)
    k = s["kinds"]["conv"]
    json.dumps(s, allow_nan=False)  # machine-readable as it stands
    assert s["axis"] == "positions" and s["positions"] == [positions(S) for S in SIZES]
    assert s["conditions_complete"] == len(SIZES) and k["status"] == ["measured"] * len(SIZES)
    assert k["exponent_ci"][0] <= b <= k["exponent_ci"][1]
    assert k["exponent_positions_law_ci"][0] <= b <= k["exponent_positions_law_ci"][1]
    assert k["best_law"] == POSITIONS and k["law_win_frequency"][POSITIONS] >= 2 / 3
    assert all(lo <= v <= hi for v, (lo, hi) in zip(k["needed"], k["needed_ci"]))
    assert all(abs(v - b) < 0.5 for v in k["local_slopes"]) and len(k["local_slopes"]) == len(SIZES) - 1
    assert all(abs(r["log_miss"]) < 0.5 for r in k["held_out"][POSITIONS]["rows"])
    e = extrapolate(k, 64)
    assert e["label"] == "not a prediction" and POSITIONS in e["laws"] and e["range"][0] < e["range"][1]


def test_an_exponential_in_side_is_never_named_a_power_law_with_confidence():
    s = analyse_ladders(synthetic({S: 2 * math.exp(0.3 * S) for S in SIZES}), CFG, draws=30)
    k = s["kinds"]["conv"]
    assert k["best_law"] in (EXPONENTIAL, stats.INCONCLUSIVE)
    assert k["law_win_frequency"][POSITIONS] < 2 / 3
    # law uncertainty enters the exponent interval: the exponential law's exponent at 24x24
    # (0.3 * 20 / 2 = 3) is far above the positions law's b, and the interval reaches it
    assert k["exponent_ci"][1] > k["exponent_positions_law_ci"][1]
    assert k["exponent_ci"][0] <= k["exponent"] <= k["exponent_ci"][1]
    assert EXPONENTIAL in extrapolate(k, 224)["laws"]


def test_censored_conditions_enter_as_censored_and_raise_the_exponent():
    # the largest measured sizes fluctuated down (so they stayed under the cap); the true need at
    # 20x20 lies just above the cap, where its bound still tells the fit something
    resid = dict(zip(SIZES, (0.1, -0.1, 0.05, -0.05, -0.2, -0.3, 0.0, 0.1)))
    found = synthetic({S: 0.42 * positions(S) ** 1.5 * math.exp(resid[S]) for S in SIZES}, cap=4096,
                      seed_sd=0.02, n_test=20000)
    k = analyse_ladders(found, CFG, draws=30)["kinds"]["conv"]
    assert k["censored"][-2:] == ["above", "above"] and k["status"][-2:] == ["censored"] * 2
    assert k["needed"][-1] == 4096 and k["needed_ci"][-1][1] is None   # unbounded above
    assert k["local_slopes_censored"][-2:] == ["lower bound", "undetermined"]
    keep = [i for i, c in enumerate(k["censored"]) if c is None]
    dropped = stats.censored_law_fit([law_x(POSITIONS, SIZES[i]) for i in keep],
                                     [k["needed"][i] for i in keep], [""] * len(keep))
    assert k["exponent_positions_law"] > dropped["b"] + 0.01


def test_too_few_sizes_is_inconclusive_with_a_reason():
    found = synthetic({S: 3 * positions(S) for S in (6, 7)})
    k = analyse_ladders(found, CFG, draws=20)["kinds"]["conv"]
    assert k["best_law"] == stats.INCONCLUSIVE and "needs >= 3 sizes" in k["reason"]
    assert k["exponent"] is None and k["status"][2:] == ["missing"] * (len(SIZES) - 2)
    assert k["needed"][2:] == [None] * (len(SIZES) - 2) and k["complete"] == 2
    assert extrapolate(k, 224)["range"] is None
    k3 = analyse_ladders(synthetic({S: 3 * positions(S) for S in (6, 7, 8)}), CFG, draws=20)["kinds"]["conv"]
    assert k3["exponent"] is not None and k3["best_law"] == stats.INCONCLUSIVE and "needs >= 4" in k3["reason"]


def _fake_result(job: Job) -> Result:
    acc = _acc(job.n_train, 2 * positions(job.canvas), 0.05 * job.seed)
    return Result("fit", 10, 1.0, 1.0, 1, 1.0, acc, acc, 0.1, 1, 0.0, 0.0)


def test_runs_from_the_planner_end_to_end_with_a_missing_size(tmp_path):
    cfg = Config(sizes=(6, 8, 12, 16), arms=("conv",), seeds_main=3, tune_seeds=(0,), lr_grid=(3e-3,),
                 wd_grid=(0.0,), width_grid=(32,), max_cap=4096, wave=4)
    runs: dict[Job, Result] = {}
    while pending := plan(cfg, runs.get)[0]:
        runs.update({j: _fake_result(j) for j in pending})
    records = [{"job": j.to_dict(), "result": r.to_dict(), "code": "x"} for j, r in runs.items()]
    log = RunLog(tmp_path / "runs.jsonl")
    for j, r in runs.items():
        log.append(j, r)
    summary = analyse(records, cfg, draws=10)
    assert analyse(RunLog(log.path).load(), cfg, draws=10) == summary
    k = summary["kinds"]["conv"]
    true = [2 * positions(S) * math.exp(Z90 * WIDTH) for S in cfg.sizes]
    assert k["complete"] == 4 and all(abs(math.log(v / t)) < 0.2 for v, t in zip(k["needed"], true))
    partial = [r for r in records if not (r["job"]["canvas"] == 16 and r["job"]["seed"] == 2)]
    s = analyse(partial, cfg, draws=10)
    assert s["conditions_complete"] == 3 and s["kinds"]["conv"]["status"][-1] == "missing"


def test_malformed_input_raises_value_error_naming_the_field():
    good = {"job": Job("conv", 6, 4, 0).to_dict(), "result": _fake_result(Job("conv", 6, 4, 0)).to_dict()}
    with pytest.raises(ValueError, match="result"):
        analyse([{"job": good["job"]}], CFG)
    with pytest.raises(ValueError, match="test_acc"):
        analyse([{**good, "result": {**good["result"], "test_acc": 1.7}}], CFG)
    with pytest.raises(ValueError, match="arm"):
        analyse([{**good, "job": {**good["job"], "arm": "mlp"}}], CFG)
    with pytest.raises(ValueError, match="cfg"):
        analyse([good], {"target": 0.9})
    with pytest.raises(ValueError, match="per_seed"):
        Ladder((4, 6), np.zeros((3, 3)), 100)
    with pytest.raises(ValueError, match="draws"):
        analyse_ladders({}, CFG, draws=2)


def test_every_arm_and_law_is_reported_even_with_no_finished_condition():
    s = analyse_ladders({}, Config(sizes=(6, 8)), draws=10)
    assert list(s["kinds"]) == list(Config().arms) and s["conditions_complete"] == 0
    assert all(k["needed"] == [None, None] and k["best_law"] == stats.INCONCLUSIVE for k in s["kinds"].values())
    assert s["laws"] == list(LAWS)


def test_the_exponent_interval_mixes_laws_by_their_akaike_weights():
    # 200 draws, three laws whose exponents at the frontier are 1, 1.5 and 3
    ex = np.tile([1.0, 1.5, 3.0], (200, 1)) + np.random.default_rng(0).normal(0, 0.01, (200, 3))
    alone = weighted_interval(ex, np.tile([1.0, 0.0, 0.0], (200, 1)))
    mixed = weighted_interval(ex, np.tile([0.4, 0.3, 0.3], (200, 1)))
    assert 0.95 < alone[0] < alone[1] < 1.05 and mixed[0] < 1.0 and mixed[1] > 2.9
    # each law's fitted curve read as d log N / d log positions at the largest canvas
    assert law_exponent(POSITIONS, 1.2, 24) == 1.2
    assert law_exponent(PIXELS, 2.0, 24) == pytest.approx(2.0 * 20 / 24)
    assert law_exponent(EXPONENTIAL, 0.3, 24) == pytest.approx(3.0)
