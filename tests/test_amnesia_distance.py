"""Amnesia against distance (equidocs.experiments.amnesia_distance): the distance is the pixel overlap
it claims to be, the analysis recovers known curves from fake probe maps (and flags a run that hit its
budget), the result is strict JSON and the figure draws; one real quick-profile run at the end."""

from __future__ import annotations

import io
import json
import math
from dataclasses import replace
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from matplotlib.text import Text

from equidocs.data import pattern_canvas, region
from equidocs import stats
from equidocs.experiments import RunContext, amnesia, search
from equidocs.experiments import amnesia_distance as ad
from equidocs.experiments.common import MODEL
from equidocs.models import make_model
from equidocs.plotting import FIG_WIDTH, KIND_COLORS, SMALL_FONT, theme
from equidocs.train import Job, RunResult

# --- the distance is pixel overlap ------------------------------------------------------------------

def _footprint(canvas: int, position: tuple[int, int]) -> set[tuple[int, int]]:
    """Pixels any of the four glyphs covers when placed (noise-free) at ``position``."""
    ink = pattern_canvas(4, canvas, where=position, noise=0.0).x.abs().sum(0)[0]
    return {tuple(p) for p in torch.nonzero(ink).tolist()}


@pytest.mark.parametrize("canvas", [14, 20])
def test_no_overlap_exactly_from_distance_five(canvas):
    area = region("top-left", canvas, ad.GLYPH)
    side = canvas - ad.GLYPH + 1
    trained = set()
    for r in range(area.top, area.top + area.height):
        for c in range(area.left, area.left + area.width):
            trained |= _footprint(canvas, (r, c))
    dmap = ad.distance_map(canvas)
    assert dmap.shape == (side, side) and dmap.max() >= ad.GLYPH  # the no-overlap zone exists
    for r in range(side):
        for c in range(side):
            box = _footprint(canvas, (r, c))
            assert len(box) == ad.GLYPH ** 2  # the four glyphs together cover the whole 5x5 box
            assert (dmap[r, c] >= ad.GLYPH) == box.isdisjoint(trained), (r, c, dmap[r, c])
            assert (dmap[r, c] == 0) == bool(area.contains(torch.tensor([[r, c]]))[0])


def test_distance_by_hand():
    dmap = ad.distance_map(14)  # 10x10 positions, rows and columns 0..4 trained
    assert dmap[4, 4] == 0 and dmap[5, 0] == 1 and dmap[9, 0] == 5 and dmap[9, 9] == 5
    assert dmap[7, 9] == 5 and dmap[8, 8] == 4
    assert int((dmap >= 5).sum()) == 10 * 10 - 9 * 9


def test_the_amnesia_probe_covers_every_position_of_a_20_canvas():
    job = Job("conv", {"dataset": "patterns", "canvas": 20, "noise": 0.1}, 4, 0)
    model = make_model("conv", (1, 20, 20), 4, **MODEL)
    acc = np.array(amnesia.probe(model, SimpleNamespace(num_classes=4), job, draws=1)["acc"])
    assert acc.shape == ad.distance_map(20).shape == (16, 16)


def test_the_conv_net_is_exactly_invariant_to_circular_shifts():
    """What the caption calls a sanity check by construction: the conv net's logits do not move."""
    torch.manual_seed(0)
    model = make_model("conv", (1, 20, 20), 4, **MODEL).eval()
    x = torch.randn(3, 1, 20, 20)
    with torch.no_grad():
        assert torch.allclose(model(x), model(torch.roll(x, (7, 11), dims=(2, 3))), atol=1e-5)


# --- the analysis on fake runs with known answers ----------------------------------------------------

CFG = replace(ad.Config.profile("quick"), seeds=(0, 1, 2), boot=300)  # canvas 14: distances 0..5
DMAP = ad.distance_map(CFG.task["canvas"])
BUDGET_RUN = ("dense", 128, 1)  # this run hits its budget


def _known(kind: str, n: int, d: np.ndarray) -> np.ndarray:
    """True accuracy at distance d: conv flat; local falls to 0.4 (n=32) or 0.6 (n=128) from
    distance 5; dense falls to chance outside the quadrant at every n."""
    if kind == "conv":
        return np.full(d.shape, 0.9)
    if kind == "local":
        far = 0.4 if n == 32 else 0.6
        return np.where(d >= 5, far, 1.0 - (1.0 - far) * d / 5)
    return np.where(d == 0, 1.0, 0.25)


def _val(lr: float) -> float:
    return 0.9 - 0.1 * abs(math.log10(lr / 3e-3))  # best at 3e-3


@pytest.fixture
def fake(monkeypatch):
    seen = []

    def train_many(jobs, **_):
        seen.extend(jobs)
        out = []
        for j in jobs:
            hit = (j.kind, j.n_train, j.seed) == BUDGET_RUN and j.probe is not None
            probe = None
            if j.probe:
                known = _known(j.kind, j.n_train, DMAP)
                offset = 0.01 * (j.seed - 1) * (known < 1)  # seeds 0, 1, 2: -1, 0, +1 point: the mean is known
                probe = {"acc": (known + offset).tolist()}
            out.append(RunResult(kind=j.kind, n_train=j.n_train, seed=j.seed, lr=j.train.lr, params=100,
                                 steps=j.train.max_steps if hit else 50, stop="budget" if hit else "fit",
                                 hit_budget=hit, train_acc=0.9 if hit else 1.0, val_acc=_val(j.train.lr),
                                 test_acc=0.5, train_loss=0.0, loss_curve=[], wall_s=0.0, probe=probe))
        return out

    monkeypatch.setattr(search, "train_many", train_many)
    monkeypatch.setattr(ad, "train_many", train_many)
    return seen


@pytest.fixture
def result(fake):
    return ad.run(CFG, RunContext(workers=1))


def test_runs_use_their_tuned_rate_the_epoch_budget_and_the_probe(fake, result):
    trained = [j for j in fake if j.probe]
    assert len(trained) == 3 * 2 * 3
    assert all(j.train.lr == pytest.approx(3e-3) for j in trained)  # the grid's edge won, then lost to 3e-3
    assert all(j.train.max_steps == search.budget(CFG, j.n_train).max_steps for j in trained)
    assert all(j.probe == ad.PROBE and j.probe_args == {"draws": CFG.draws} for j in trained)
    tuned = [j for j in fake if not j.probe]
    assert {j.n_train for j in tuned} == set(CFG.ns)  # tuned per (kind, n), at n itself
    assert all(j.data["train_where"] == "top-left" for j in fake)
    assert result["models"]["dense"]["by_n"]["32"]["lr_table"][0]["lr"] == pytest.approx(3e-3 / math.sqrt(10))


def test_curves_and_zones_recover_the_known_accuracies(result):
    assert result["distances"] == [0, 1, 2, 3, 4, 5]
    assert sum(result["positions_at"]) == 100 and result["positions_at"][0] == 25
    assert result["no_overlap_positions"] == 19
    for kind in CFG.kinds:
        for n in CFG.ns:
            got = result["models"][kind]["by_n"][str(n)]
            want = _known(kind, n, np.arange(6))
            assert got["curve"]["mean"] == pytest.approx(want, abs=1e-4)
            assert all(lo <= m <= hi for lo, m, hi in zip(got["curve"]["low"], got["curve"]["mean"],
                                                          got["curve"]["high"]))
            assert got["inside"]["mean"] == pytest.approx(want[0], abs=1e-4)
            assert got["no_overlap"]["mean"] == pytest.approx(want[5], abs=1e-4)
            assert got["no_overlap"]["low"] < got["no_overlap"]["mean"] < got["no_overlap"]["high"]
    local = result["models"]["local"]
    assert local["no_overlap_change"]["mean"] == pytest.approx(0.2, abs=1e-4)


def test_conclusions_come_from_the_intervals(result):
    num = result["numbers"]
    assert num["dense.vs_chance"].startswith("inconclusive")  # exactly chance: cannot be told apart
    assert num["local.vs_chance"] == "above chance"
    assert num["local.change_verdict"] == "a rise" and num["dense.change_verdict"].startswith("inconclusive")
    assert num["conv.invariance_check"].startswith("passes")
    assert num["local.no_overlap_first"].startswith("40% (95% interval ")
    assert num["local.no_overlap_last"].startswith("60% (95% interval ")
    assert num["local.change"].startswith("+20 points (95% interval +")
    assert "sanity check, not a finding" in num["conv_note"] and "sanity check" in result["caption"]
    assert "inconclusive" in num["dense.takeaway"] and "128 training examples" in num["dense.takeaway"]
    assert num["n_first"] == "32" and num["n_last"] == "128" and num["ns"] == "32 and 128"


def test_a_run_that_hit_its_budget_is_counted_and_flagged(result):
    assert result["budget_hits"] == [{"kind": "dense", "n": 128, "seed": 1, "steps": search.budget(CFG, 128).max_steps}]
    dense = result["models"]["dense"]["by_n"]["128"]
    assert dense["stops"] == {"fit": 2, "plateau": 0, "budget": 1} and dense["budget_seeds"] == [1]
    num = result["numbers"]
    assert num["budget_flags"] == f"dense with 128 examples: seed 1 ({search.budget(CFG, 128).max_steps} steps)"
    assert num["budget_runs"] == "1" and num["dense.budget_runs"] == "1" and num["conv.budget_runs"] == "0"
    assert num["dense.stops"] == "5 fit, 0 plateau, 1 hit the budget"
    assert num["dense.train_acc_min"] == "90%" and num["local.train_acc_min"] == "100%"


def test_the_result_is_strict_json_with_string_numbers(result):
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text)["numbers"] == result["numbers"]
    assert result["numbers"] and all(isinstance(v, str) and v for v in result["numbers"].values())


def test_interval_helpers_widen_with_fewer_test_images():
    per_seed = np.array([[0.8, 0.8], [0.8, 0.8]])
    wide, narrow = stats.shared_test_intervals(per_seed, [50, 5000], draws=500)
    assert wide.high - wide.low > 3 * (narrow.high - narrow.low) > 0
    same = stats.shared_test_difference([0.9, 0.9], [0.9, 0.9], 1000, 1000, paired=True, draws=500)
    assert same.mean == 0 and not same.excludes(0.0)


def test_a_canvas_without_a_no_overlap_zone_is_refused(fake):
    with pytest.raises(ValueError, match="no position lies 5 pixels"):
        ad.run(replace(CFG, task={**CFG.task, "canvas": 12}), RunContext(workers=1))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_figure_draws_from_a_result(result, scheme):
    with theme(scheme):
        fig = ad.figure(json.loads(json.dumps(result)))
    try:
        assert fig.get_figwidth() == pytest.approx(FIG_WIDTH)
        panels = [ax for ax in fig.axes if ax.get_lines()]
        assert len(panels) == len(CFG.kinds)
        spines = [ax.spines["left"].get_edgecolor()[:3] for ax in panels]  # the kinds' colours, in order
        assert all(np.allclose(s, to_rgb(KIND_COLORS[k])) for s, k in zip(spines, CFG.kinds))
        texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
        assert min(t.get_fontsize() for t in texts) >= SMALL_FONT
        fig.savefig(io.BytesIO(), format="svg")
    finally:
        plt.close(fig)

