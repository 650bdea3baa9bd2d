"""Experiment machinery: the growth-law fit, crossings, configs, and each experiment end to end at
a tiny size (run -> JSON-serialisable result with numbers and caption -> figure)."""

import json
import math
from dataclasses import asdict

import matplotlib.pyplot as plt
import numpy as np
import pytest

from equidocs import experiments, smoke
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


@pytest.mark.parametrize("name", experiments.NAMES)
def test_experiment_runs_end_to_end_at_a_tiny_size(name, tmp_path, monkeypatch):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    module = experiments.get(name)
    cfg = smoke.config(name)
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


def test_every_experiment_has_a_smoke_profile_and_an_unknown_one_is_named():
    assert set(smoke.SMOKE) == set(experiments.NAMES)
    with pytest.raises(ValueError, match="experiment 'nope': expected one of"):
        smoke.config("nope")
