"""The growth-law experiment's search logic (equidocs.experiments.search), on a fake trainer whose accuracy is a known function
of (condition, training-set size, learning rate): the ladder must bracket the target, censor what
never reaches it, tune on validation only and extend the rate grid past a winning edge."""

import math

import numpy as np
import pytest

from equidocs.experiments import RunContext
from equidocs.experiments import resolution_scaling as rs
from equidocs.experiments import search
from equidocs.train import RunResult

CFG = rs.Config(sides=(6, 8, 12), factors=(1, 2), seeds=(0, 1, 2), factor_seeds=(0, 1),
                cap={"conv": 1024, "local": 1024, "dense": 1024},
                tune_cap=256, lr_grid=(1e-3, 3e-3, 1e-2), tune_seeds=(0,), extend=2, boot=30)
NEED = {"conv": 20.0, "local": 300.0, "dense": 5000.0}  # examples to reach 90%, per kind


def _acc(job) -> float:
    """Accuracy rising by 10 points per doubling, reaching 0.9 at NEED (more for bigger canvases)."""
    need = NEED[job.kind] * (job.data["canvas"] * job.data.get("upsample", 1) / 6) ** 2
    return float(np.clip(0.9 + 0.1 * math.log2(job.n_train / need) - 0.05 * abs(math.log10(job.train.lr / 0.03)), 0, 1))


def fake_train_many(jobs, **_):
    return [RunResult(kind=j.kind, n_train=j.n_train, seed=j.seed, lr=j.train.lr, params=1, steps=10,
                      stop="fit", hit_budget=False, train_acc=1.0, val_acc=_acc(j),
                      test_acc=_acc(j) + 0.001 * j.seed, train_loss=0.0, loss_curve=[], wall_s=0.0)
            for j in jobs]


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(search, "train_many", fake_train_many)


def test_the_ladder_is_sqrt2_spaced_from_floor_to_cap():
    rungs = search.ladder(CFG, "dense")
    assert rungs[0] == CFG.floor and rungs[-1] == CFG.cap["dense"]
    assert all(1.3 < b / a < 1.6 for a, b in zip(rungs, rungs[1:]))


def test_budget_is_in_epochs_with_a_floor_in_steps():
    assert search.budget(CFG, 128 * 100).max_steps == CFG.epochs * 100
    assert search.budget(CFG, 10).max_steps == CFG.min_steps


def test_upsampled_nets_get_a_pooled_block_per_doubling():
    conds = {(c.kind, c.size): c for c in rs.conditions(rs.Config(factors=(1, 2, 4)), "pixels per object")}
    assert [conds["conv", f].model["depth"] for f in (1, 2, 4)] == [1, 2, 3]
    assert conds["conv", 4].model["downsample"] == "blurpool" and conds["conv", 4].data["upsample"] == 4


def test_tuning_extends_the_grid_past_a_winning_edge(fake):
    conds = rs.conditions(CFG, "field of view")[:1]  # conv: below 90% at 16, best rate 0.03
    tuned = search.tune(conds, {conds[0]: 16}, CFG, RunContext(workers=1))[conds[0]]
    rates = [row["lr"] for row in tuned["table"]]
    assert rates == pytest.approx([1e-3, 3e-3, 1e-2, 10 ** -1.5, 10 ** -1])  # 1e-2, then 0.032 won at the edge
    assert tuned["lr"] == pytest.approx(10 ** -1.5) and not tuned["edge"]


def test_a_tie_at_the_edge_does_not_extend_the_grid(fake):
    conds = rs.conditions(CFG, "field of view")[:1]
    tuned = search.tune(conds, {conds[0]: 512}, CFG, RunContext(workers=1))[conds[0]]  # every rate: 100%
    assert [row["lr"] for row in tuned["table"]] == list(CFG.lr_grid) and not tuned["edge"]


def test_bracket_finds_the_crossing_and_censors_above_the_cap(fake):
    conds = [c for c in rs.conditions(CFG, "field of view") if c.size == 6]
    curves = search.bracket(conds, {c: 64 for c in conds}, {c: 0.03 for c in conds}, CFG.seeds, CFG,
                        RunContext(workers=1))
    by_kind = {c.kind: curves[c] for c in conds}
    for kind in ("conv", "local"):
        ns = [r["n"] for r in by_kind[kind]]
        means = [np.mean(r["acc"]) for r in by_kind[kind]]
        cross = next(i for i, m in enumerate(means) if m >= CFG.target)
        assert cross > 0 and means[cross - 1] < CFG.target  # bracketed by adjacent rungs
        assert search.ladder(CFG, kind).index(ns[cross]) == search.ladder(CFG, kind).index(ns[cross - 1]) + 1
        assert ns[cross - 1] < NEED[kind] <= ns[cross] * 1.01
    dense = by_kind["dense"]
    assert dense[-1]["n"] == CFG.cap["dense"] and np.mean(dense[-1]["acc"]) < CFG.target  # censored above


def test_end_to_end_on_the_fake_trainer_names_censoring_and_fills_the_summary(fake):
    result = rs.run(CFG, RunContext(workers=1))
    summary = result["summary"]
    assert summary["axis"] == "pixels" and summary["pixels"] == [36, 64, 144]
    assert set(summary["kinds"]) == {"conv", "local", "dense", rs.MEMORISER}
    dense = summary["kinds"]["dense"]
    assert dense["censored"] == ["above", "above", "above"] and dense["best_law"] == "inconclusive"
    conv = summary["kinds"]["conv"]
    assert conv["censored"] == [None, None, None]
    assert conv["exponent_d_ci"][0] <= conv["exponent_d"] <= conv["exponent_d_ci"][1]
    assert conv["exponent_d"] == pytest.approx(1.0, abs=0.15)  # the fake need grows like pixels^1
    assert sum(conv["law_win_frequency"].values()) == pytest.approx(1.0)
    assert "inconclusive" in result["numbers"]["fov.verdict"]
