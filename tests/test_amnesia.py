"""Amnesia (equidocs.experiments.amnesia) under the per-condition protocol: a learning rate tuned on
validation data per (kind, training-set size) with at least two seeds, a budget in epochs, every
stop reason counted, and inside / outside accuracies with 95% intervals over seeds and test images."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from equidocs import stats
from equidocs.experiments import RunContext, amnesia, search

TASK = {"dataset": "patterns", "canvas": 10, "noise": 0.1, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 16, "n_test": 16}
RANGE = re.compile(r"^\d+(\.\d)?–\d+(\.\d)?%$")


@pytest.fixture(scope="module")
def tiny():
    """A tiny run, with every job handed to the trainer recorded."""
    cfg = replace(amnesia.Config.profile("quick"), task=TASK, ns=(8, 16), seeds=(0, 1), draws=1,
                  lr_grid=(1e-3, 1e-2), tune_seeds=(0, 1), extend=0, epochs=3, min_steps=20, boot=200)
    jobs, train_many = [], amnesia.train_many

    def recording(batch, **kw):
        jobs.extend(batch)
        return train_many(batch, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(amnesia, "train_many", recording)
        mp.setattr(search, "train_many", recording)   # the pilot's and the tuning's runs
        result = amnesia.run(cfg, RunContext(workers=1))
    return cfg, result, jobs


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_profiles_tune_with_two_seeds_and_count_the_budget_in_epochs(profile):
    cfg = amnesia.Config.profile(profile)
    assert len(cfg.tune_seeds) >= 2 and cfg.epochs > 0 and cfg.extend >= 1
    assert {64, 512} <= set(cfg.ns), "the security-guard page's table reads n=64 and n=512"
    if profile == "full":
        assert len(cfg.seeds) >= 6 and max(cfg.ns) == 2048, "the home page's explorer shows n=2048"


def test_every_kind_and_size_gets_its_own_tuned_rate(tiny):
    cfg, result, _ = tiny
    for kind in cfg.kinds:
        model = result["models"][kind]
        assert set(model["lrs"]) == {str(n) for n in cfg.ns}
        for n in cfg.ns:
            entry = model["by_n"][str(n)]
            assert entry["lr"] == model["lrs"][str(n)]
            assert [row["lr"] for row in entry["lr_table"]] == sorted(cfg.lr_grid)
            assert entry["lr"] in cfg.lr_grid


def test_final_runs_use_the_tuned_rate_and_the_epoch_budget(tiny):
    cfg, result, jobs = tiny
    final = [j for j in jobs if j.probe == "equidocs.experiments.amnesia:probe"]
    assert len(final) == len(cfg.kinds) * len(cfg.ns) * len(cfg.seeds)
    for job in final:
        want = search.budget(cfg, job.n_train)
        assert (job.train.max_steps, job.train.fit_loss, job.train.patience) == \
               (want.max_steps, want.fit_loss, want.patience)
        assert job.train.lr == result["models"][job.kind]["lrs"][str(job.n_train)]
    tuning = [j for j in jobs if j.probe is None]
    assert {j.seed for j in tuning} == set(cfg.tune_seeds)
    assert all(j.data["train_where"] == "top-left" for j in jobs), "tuned on the training quadrant's validation"


def test_inside_and_outside_carry_intervals_over_seeds_and_test_images(tiny):
    cfg, result, _ = tiny
    images = result["test_images"]
    per_position = 4 * cfg.draws
    assert images["inside"] + images["outside"] == result["side"] ** 2 * per_position
    for j, kind in enumerate(cfg.kinds):
        for i, n in enumerate(cfg.ns):
            entry = result["models"][kind]["by_n"][str(n)]
            per_seed = np.array([entry["inside_per_seed"], entry["outside_per_seed"]]).T
            want = stats.shared_test_intervals(per_seed, [images["inside"], images["outside"]], draws=cfg.boot,
                                               seed=100 * j + i)
            for where, iv in zip(("inside", "outside"), want):
                low, high = entry[f"{where}_ci"]
                assert low <= entry[where][0] <= high
                assert (low, high) == (iv.low, iv.high)
                token = result["numbers"][f"{kind}.n{n}.{where}.ci"]
                assert RANGE.match(token), token
                assert result["numbers"][f"{kind}.n{n}.{where}"].endswith("%")


def test_every_stop_reason_is_counted(tiny):
    cfg, result, _ = tiny
    hits = 0
    for kind in cfg.kinds:
        for n in cfg.ns:
            stops = result["models"][kind]["stops"][str(n)]
            assert set(stops) == {"fit", "plateau", "budget"} and sum(stops.values()) == len(cfg.seeds)
            assert result["models"][kind]["by_n"][str(n)]["hit_budget"] == stops["budget"]
            hits += stops["budget"]
    assert len(result["budget_hits"]) == hits and result["numbers"]["budget_runs"] == str(hits)
    assert f"{hits} of {len(cfg.kinds) * len(cfg.ns) * len(cfg.seeds)} runs hit it" in result["caption"]
