"""The readout-controlled ablation: its arms are what they claim to be, and its gains are computed
from needs with intervals (a fake trainer with known needs stands in for training)."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from equidocs.experiments import search, sharing_locality as sl
from equidocs.experiments.common import RunContext
from equidocs.models import make_model
from equidocs.train import RunResult

NEEDS = {("conv", 5): 40.0, ("conv", 9): 160.0, ("local", 5): 1200.0, ("local", 9): 5000.0, ("dense", 5): 5000.0}


def _fake_train_many(jobs, **_):
    """Accuracy rises linearly in log n through 0.9 at the arm's known need (seed noise +-0.005)."""
    out = []
    for job in jobs:
        need = NEEDS[(job.kind, job.model["kernel_size"])]
        acc = float(np.clip(0.9 + 0.12 * np.log(job.n_train / need) + 0.005 * (job.seed % 3 - 1), 0, 1))
        out.append(RunResult(job.kind, job.n_train, job.seed, job.train.lr, 100, 50, "fit", False, 1.0,
                             acc, acc, 0.01, [], 0.0))
    return out


@pytest.fixture
def result(monkeypatch):
    monkeypatch.setattr(search, "train_many", _fake_train_many)
    cfg = replace(sl.Config(), cap={"conv": 4096, "local": 16384, "dense": 16384}, boot=200)
    return sl.run(cfg, RunContext(workers=1))


def test_a_whole_canvas_window_reads_every_pixel_and_keeps_the_readout():
    cfg = sl.Config()
    conv, local = sl.condition(cfg, "conv+global"), sl.condition(cfg, "local+global")
    assert conv.model["kernel_size"] == local.model["kernel_size"] == cfg.task["canvas"]
    net = make_model("local", (1, 9, 9), 4, **local.model)
    x = torch.zeros(1, 1, 9, 9, requires_grad=True)
    net.blocks[0][0](x)[0, 0, 0, 0].backward()  # one unit at one position, before the ReLU (which may be off)
    assert bool((x.grad != 0).all()), "a whole-canvas window must read every pixel"
    assert net.classifier.in_features == cfg.model["width"]  # the same pooled 8-wide readout
    with pytest.raises(ValueError, match="expected an odd side"):
        sl.condition(replace(cfg, task={**cfg.task, "canvas": 10}), "conv+global")


def test_known_needs_are_recovered_and_gains_named_from_their_intervals(result):
    arms = result["arms"]
    for arm, (kind, k) in {"conv": ("conv", 5), "conv+global": ("conv", 9), "local": ("local", 5),
                           "local+global": ("local", 9), "dense": ("dense", 5)}.items():
        low, high = arms[arm]["need"]["ci"]
        assert low * 0.9 <= NEEDS[(kind, k)] <= high * 1.1, arm
    gains = result["gains"]
    assert gains["sharing_with_locality"]["verdict"] == "saves data"      # 1200 / 40 = 30
    assert gains["locality_with_sharing"]["verdict"] == "saves data"      # 160 / 40 = 4
    assert gains["readout"]["verdict"] == "inconclusive"                  # 5000 / 5000 = 1
    assert gains["readout"]["low"] < 1 < gains["readout"]["high"]
    json.dumps(result, allow_nan=False)
    assert "inconclusive" == result["numbers"]["gain.readout.verdict"]


def test_the_bracket_measures_one_more_rung_on_each_side(result):
    conv = [r["n"] for r in result["arms"]["conv"]["rows"]]
    ladder = search.ladder(sl.Config(), "conv")
    i = ladder.index(conv[0])
    assert conv == ladder[i:i + len(conv)] and len(conv) >= 4  # contiguous: the bracket's two and a margin each side
    means = [np.mean(r["acc"]) for r in result["arms"]["conv"]["rows"]]
    assert means[1] < 0.9 <= means[2] or means[0] < 0.9 <= means[1] or means[2] < 0.9 <= means[3]
