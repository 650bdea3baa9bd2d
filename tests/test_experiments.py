"""Experiment machinery: the growth-law fit, crossings, configs, and each experiment end to end at
a tiny size (run -> JSON-serialisable result with numbers and caption -> figure)."""

import json
import math
from dataclasses import asdict, replace

import matplotlib.pyplot as plt
import numpy as np
import pytest

from equidocs import experiments, mechanism_plan
from equidocs.experiments import RunContext
from equidocs.experiments.common import bootstrap_crossing, crossing
from equidocs.plotting import theme


def test_crossing_interpolates_in_log_n_and_reports_never():
    assert crossing([10, 1000], [0.0, 1.0], 0.5) == pytest.approx(100.0)
    assert crossing([10, 100], [0.95, 0.99], 0.9) == 10
    assert math.isnan(crossing([10, 100], [0.1, 0.2], 0.9))


def test_bootstrap_interval_contains_the_point_estimate():
    rng = np.random.default_rng(0)
    acc = np.clip(np.array([[0.3, 0.6, 0.9, 0.97]]) + rng.normal(0, 0.03, (6, 4)), 0, 1)
    point, lo, hi = bootstrap_crossing([8, 32, 128, 512], acc, 0.8, draws=200)
    assert lo <= point <= hi


@pytest.mark.parametrize("name", experiments.NAMES)
def test_profiles_are_json_configs(name):
    module = experiments.get(name)
    for profile in experiments.PROFILES:
        json.dumps(asdict(module.Config.profile(profile)))
    assert module.TITLE


def test_unknown_experiment_is_named():
    with pytest.raises(ValueError, match="experiment 'nope': expected one of"):
        experiments.get("nope")


TINY = {
    "sample_efficiency": dict(tasks={"patterns": {"dataset": "patterns", "canvas": 10, "n_val": 16,
                                                  "n_test": 16}},
                              targets={"patterns": 0.3}, caps={"patterns": {"conv": 16, "local": 16, "dense": 32}},
                              floor=8, n_common=16, seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_cap=8,
                              epochs=2, min_steps=20, boot=20),
    "amnesia": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                          "test_where": "anywhere", "n_val": 16, "n_test": 16},
                    ns=(8,), seeds=(0, 1), draws=1, lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                    epochs=2, min_steps=20, boot=20),
    "weights": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                          "test_where": "anywhere", "n_val": 16, "n_test": 16},
                    ns=(8,), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=2,
                    min_steps=20),
    "resolution_scaling": dict(study=replace(mechanism_plan.Config.profile("quick"), sizes=(6, 7), max_cap=16,
                                             seeds_main=2, seeds_other=2, tune_seeds=(0,), lr_grid=(1e-2,),
                                             wd_grid=(0.0,), width_grid=(8,), hidden_grid=(32,), target=0.3,
                                             job=dict(epochs=2, min_steps=20, min_evals=5, patience=2,
                                                      fit_loss=1e-3, batch_size=128, deform=0.5, noise=0.1,
                                                      n_val=16, n_test=16)),
                               log="quick", draws=10),
    "equivariance_error": dict(canvas=8, shifts=(1, 2), inits=2, seeds=(0, 1),
                               task={"dataset": "digits", "canvas": 10, "n_val": 16, "n_test": 16},
                               floor=8, cap={"conv": 16, "local": 16, "dense": 16}, target=0.3,
                               lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=2, min_steps=20,
                               boot=20),
    "explorer_models": dict(task={"dataset": "patterns", "canvas": 10, "train_where": "top-left",
                                  "test_where": "anywhere", "n_val": 16, "n_test": 16},
                            ns=(8,), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                            epochs=2, min_steps=20),
    "parameter_counts": {},
    "capacity": dict(cap={"conv": 16, "local": 16, "dense": 16}, tune_cap=8, lr_grid=(1e-3, 1e-2), extend=1,
                     epochs=2, min_steps=20, boot=20, target=0.3,
                     task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "n_val": 16, "n_test": 16}),
    "amnesia_distance": dict(task={"dataset": "patterns", "canvas": 13, "noise": 0.1, "train_where": "top-left",
                                   "test_where": "anywhere", "n_val": 16, "n_test": 16},
                             ns=(8, 16), seeds=(0, 1), lr_grid=(1e-3, 1e-2), tune_seeds=(0,), extend=1,
                             epochs=2, min_steps=20, draws=1, boot=20),
    "heads_augmentation": dict(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 6,
                                     "n_val": 16, "n_test": 16},
                               cap={"conv": 16, "dense": 16}, n_min=8, tune_cap=8, epochs=2, min_steps=20,
                               patience=20, boot=20, target=0.3),
    "sharing_locality": dict(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 7,
                                   "n_val": 16, "n_test": 16},
                             cap={"conv": 16, "local": 16, "dense": 16}, tune_cap=8, epochs=2, min_steps=20,
                             boot=20, target=0.3),
}


@pytest.mark.parametrize("name", experiments.NAMES)
def test_experiment_runs_end_to_end_at_a_tiny_size(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    module = experiments.get(name)
    cfg = replace(module.Config.profile("quick"), **TINY[name])
    result = module.run(cfg, RunContext(workers=1))
    json.dumps(result, allow_nan=True)
    assert result["numbers"] and all(isinstance(v, str) for v in result["numbers"].values())
    assert result["caption"]
    for scheme in ("light", "dark"):
        with theme(scheme):
            plt.close(module.figure(result))
    if name == "resolution_scaling":  # the quick study's log goes to the (isolated) cache, never the repo
        log = tmp_path / "mechanism" / "runs-quick.jsonl"
        assert len(log.read_text().splitlines()) == result["runs_used"] > 0
