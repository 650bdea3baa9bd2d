"""The sample-efficiency protocol: climbing each net's ladder until it reaches the target (one rung
past it, and at least to the shared sizes), on a fake trainer whose needs are known."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from equidocs import stats
from equidocs.experiments import sample_efficiency as se, search
from equidocs.experiments.common import RunContext
from equidocs.train import RunResult

NEEDS = {("conv", False, 1): 40.0, ("conv", False, 2): 160.0, ("local", False, 1): 1500.0,
         ("dense", False, 1): 3000.0, ("conv", True, 1): 1e9, ("dense", True, 1): 3000.0}


def _fake(jobs, **_):
    """Accuracy rises 8 points per doubling through 0.9 at the arm's need (seed noise +-0.5 point)."""
    out = []
    for j in jobs:
        need = NEEDS[(j.kind, bool(j.data.get("permute")), j.model["depth"])]
        acc = float(np.clip(0.9 + 0.08 * math.log2(j.n_train / need) + 0.005 * (j.seed % 3 - 1), 0, 1))
        out.append(RunResult(j.kind, j.n_train, j.seed, j.train.lr, 100, 50, "fit", False, 1.0, acc, acc, 0.0,
                             [], 0.0))
    return out


@pytest.fixture
def result(monkeypatch):
    monkeypatch.setattr(search, "train_many", _fake)
    cfg = se.Config(tasks={"patterns": se.Config().tasks["patterns"]}, seeds=(0, 1, 2), boot=300)
    return se.run(cfg, RunContext(workers=1))


def test_climb_stops_one_rung_past_the_target_and_never_before_the_shared_sizes(monkeypatch):
    monkeypatch.setattr(search, "train_many", _fake)
    cfg = SimpleNamespace(target=0.9, epochs=1, min_steps=10, fit_loss=0.05, patience=10, pilot_lr=1e-3)
    fast, slow, never = (search.Condition(k, 0, {"permute": p}, {"depth": 1}) for k, p in
                         (("conv", False), ("dense", False), ("conv", True)))
    ladder = [16 * 2 ** j for j in range(10)]  # 16 .. 8192
    rows = search.climb([fast, slow, never], {c: ladder for c in (fast, slow, never)},
                        {c: 1e-3 for c in (fast, slow, never)}, (0, 1, 2), 256, cfg, RunContext(workers=1))
    assert [r["n"] for r in rows[fast]][-1] == 256        # reached at 64: climbs on to the shared 256
    assert [r["n"] for r in rows[slow]][-2:] == [4096, 8192]  # reached at 4096 (3000 needed), one rung past
    assert [r["n"] for r in rows[never]][-1] == 8192        # never reached: the whole ladder, censored


def test_known_needs_and_ratios_are_recovered_with_intervals(result):
    arms = result["tasks"]["patterns"]["arms"]
    for arm, need in (("conv", 40.0), ("local", 1500.0), ("dense", 3000.0)):
        low, high = arms[arm]["need"]["ci"]
        assert arms[arm]["need"]["censored"] == "" and low * 0.9 <= need <= high * 1.1, arm
    ratios = result["tasks"]["patterns"]["ratios"]
    assert ratios["dense/conv"]["low"] > 1 and ratios["dense/conv"]["low"] <= 75 <= ratios["dense/conv"]["high"]
    assert ratios["dense+perm/dense"]["low"] < 1 < ratios["dense+perm/dense"]["high"]  # a sanity check
    assert arms["conv+perm"]["need"]["censored"] == stats.ABOVE                           # never reached
    assert result["numbers"]["patterns.conv_perm.n_target"].startswith("more than ")
    json.dumps(result, allow_nan=False)


def test_the_shared_sizes_compare_every_arm_at_the_same_training_sets(result):
    task = result["tasks"]["patterns"]
    assert task["ns"] == se.rungs(se.Config().floor, se.Config().n_common)
    for arm in task["arms"].values():
        assert np.array(arm["test_acc"]).shape == (3, len(task["ns"]))
        assert arm["curve"]["ns"][:len(task["ns"])] == task["ns"]
