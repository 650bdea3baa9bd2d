"""Shift consistency at matched accuracy (equidocs.experiments.equivariance_error): every design is
trained at the training-set size where its pilot reached the target on validation data, with its own
tuned rate and an epoch budget; designs compare only when both have learned."""

from __future__ import annotations

import re
from dataclasses import replace

import matplotlib.pyplot as plt
import pytest

from equidocs.experiments import RunContext, search
from equidocs.experiments import equivariance_error as ee

TASK = {"dataset": "patterns", "canvas": 8, "noise": 0.1, "n_val": 32, "n_test": 32}
PAGE_KEYS = ("conv_circular_padding", "conv_zero_padding", "conv_stride_2", "conv_maxpool", "conv_blurpool",
             "locally_connected", "dense")  # the keys docs/when-it-breaks.md reads


@pytest.fixture(scope="module")
def tiny():
    """A tiny run, with the pilot's answers and every job handed to the trainer recorded."""
    cfg = replace(ee.Config.profile("quick"), canvas=8, shifts=(1, 2), inits=2, task=TASK, seeds=(0, 1),
                  floor=8, cap={"conv": 16, "local": 32, "dense": 32}, target=0.5, lr_grid=(3e-3, 1e-2),
                  tune_seeds=(0, 1), extend=0, epochs=3, min_steps=20, boot=200)
    jobs, found, train_many, pilot = [], {}, ee.train_many, ee.pilot

    def recording(batch, **kw):
        jobs.extend(batch)
        return train_many(batch, **kw)

    def recording_pilot(conds, cfg_, ctx):
        found.update(pilot(conds, cfg_, ctx))
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ee, "train_many", recording)
        mp.setattr(search, "train_many", recording)   # the pilot's and the tuning's runs
        mp.setattr(ee, "pilot", recording_pilot)
        result = ee.run(cfg, RunContext(workers=1))
    return cfg, result, jobs, found


def test_page_keys_are_kept():
    assert tuple(ee.slug(name) for name in ee.DESIGNS) == PAGE_KEYS


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_profiles(profile):
    cfg = ee.Config.profile(profile)
    assert len(cfg.tune_seeds) >= 2 and cfg.min_acc <= cfg.target
    assert cfg.max_shift < cfg.task["canvas"]
    assert all(search.cap(cfg, kind) >= cfg.floor for kind in ("conv", "local", "dense"))


def test_each_design_is_trained_where_its_pilot_reached_the_target(tiny):
    cfg, result, jobs, found = tiny
    at = {(c.kind, tuple(sorted(c.model.items()))): n for c, n in found.items()}
    final = [j for j in jobs if j.probe]
    assert len(final) == len(ee.DESIGNS) * len(cfg.seeds)
    for name, (kind, opts) in ee.DESIGNS.items():
        model = tuple(sorted({**ee.BASE, **opts}.items()))
        entry = result["trained"][name]
        assert entry["n_train"] == at[kind, model]
        mine = [j for j in final if j.kind == kind and tuple(sorted(j.model.items())) == model]
        assert {j.n_train for j in mine} == {entry["n_train"]} and {j.seed for j in mine} == set(cfg.seeds)
        want = search.budget(cfg, entry["n_train"])
        assert all(j.train.max_steps == want.max_steps and j.train.lr == entry["lr"] for j in mine)
        for metric in ("consistency", "consistency_whole"):
            assert entry[f"{metric}_ci"][0] <= entry[metric][0] <= entry[f"{metric}_ci"][1]
        assert entry["test_acc_ci"][0] <= entry["test_acc"][0] <= entry["test_acc_ci"][1]
        assert sum(entry["stops"].values()) == len(cfg.seeds)
        assert re.match(r"^\d+–\d+%$", result["numbers"][f"{ee.slug(name)}.consistency.ci"])
    pilots = [j for j in jobs if not j.probe and j.seed == 0 and j.train.lr == cfg.pilot_lr]
    assert pilots, "the pilot ran at the pilot rate"


def test_only_designs_that_learned_are_compared(tiny):
    cfg, result, _, _ = tiny
    for name, comparison in result["comparisons"].items():
        both = result["trained"][name]["learned"] and result["trained"][ee.REFERENCE]["learned"]
        assert comparison["learned"] == both
        for metric, suffix in (("consistency", ""), ("consistency_whole", "_whole")):
            assert (comparison[metric] is not None) == both
            words = result["numbers"][f"{ee.slug(name)}.vs_circular{suffix}"]
            assert words.startswith("not compared") != both
    for name, entry in result["trained"].items():
        assert entry["learned"] == (sum(entry["test_acc_per_seed"]) / len(cfg.seeds) >= cfg.min_acc)


def test_nothing_learned_means_nothing_compared_and_a_marked_figure(tiny):
    cfg, result, _, _ = tiny
    strict = {**result, "trained": {k: {**v, "learned": False} for k, v in result["trained"].items()}}
    fig = ee.figure(strict)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert sum("†" in t for t in texts) == len(ee.DESIGNS)
    plt.close(fig)


@pytest.mark.parametrize("canvas,max_shift", [(8, 1), (12, 3), (12, 2), (16, 5)])
def test_whole_region_keeps_every_shifted_glyph_whole(canvas, max_shift):
    area, side = ee.whole_region(canvas, max_shift), canvas - ee.GLYPH + 1
    assert area is not None
    for top in range(area.top, area.top + area.height):
        for d in range(-max_shift, max_shift + 1):
            assert 0 <= top + d <= side - 1, (top, d)   # still a position where the glyph fits
    assert area.top == max_shift and area.top + area.height - 1 + max_shift == side - 1  # and the widest such
    assert ee.whole_region(canvas, (side + 1) // 2) is None
