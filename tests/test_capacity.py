"""The capacity control (equidocs.experiments.capacity) on a fake trainer whose accuracy is a known
function of (kind, model size, canvas, training-set size): the protocol must be the one the
published result was measured with, the baseline sizes must be the site's standard nets, the needs
and exponents must come out as set, and the verdicts must follow the intervals (inconclusive when
capacity and kind make no difference, naming what does otherwise)."""

import io
import json
import math
import re
import time
from dataclasses import fields, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.text import Text

from equidocs import frozen
from equidocs.experiments import RunContext
from equidocs.experiments import capacity as cap
from equidocs.experiments import search
from equidocs.experiments.common import MODEL
from equidocs.plotting import FIG_WIDTH, KIND_COLORS, SMALL_FONT, theme
from equidocs.train import RunResult

CTX = RunContext(workers=1)
# The full design with fewer seeds and draws, and so many test examples that the bootstrap's
# binomial noise never takes a rung just above the target below it (see the last statistics test).
CFG = replace(cap.Config(), seeds=(0, 1, 2), boot=200, task={**cap.Config().task, "n_test": 100_000})


def _params(job) -> int:
    m, side = job.model, job.data["canvas"]
    if job.kind == "dense":
        return side * side * m["hidden"] + (m["depth"] - 1) * m["hidden"] ** 2 + 4 * m["hidden"]
    return (side * side if job.kind == "local" else 1) * m["width"] * 25 + 4 * m["width"]


def fake(need, stop=lambda job: "fit", slope=lambda job: 0.1):
    """A train_many whose test (and validation) accuracy rises ``slope(job)`` (10 points) per
    doubling of the training set and is 0.9 exactly at ``need(job)``: the crossing is known to the
    last digit."""
    def train_many(jobs, **_):
        out = []
        for j in jobs:
            acc = float(np.clip(0.9 + slope(j) * math.log2(j.n_train / need(j)), 0, 1))
            out.append(RunResult(kind=j.kind, n_train=j.n_train, seed=j.seed, lr=j.train.lr, params=_params(j),
                                 steps=10, stop=stop(j), hit_budget=stop(j) == "budget", train_acc=1.0,
                                 val_acc=acc, test_acc=acc, train_loss=0.0, loss_curve=[], wall_s=0.0))
        return out
    return train_many


def pixels(job) -> float:
    return job.data["canvas"] ** 2 / 36


GROWTH = {"conv": 0.5, "local": 1.0, "dense": 1.5}  # exponent b in N ∝ pixels^b


def known_need(job) -> float:
    """Kinds apart, capacity irrelevant, each kind growing with its own exponent."""
    return {"conv": 20.0, "local": 100.0, "dense": 600.0}[job.kind] * pixels(job) ** GROWTH[job.kind]


def run_with(monkeypatch, train_many, cfg=CFG) -> dict:
    monkeypatch.setattr(search, "train_many", train_many)
    return cap.run(cfg, CTX)


def by_id(result: dict) -> dict:
    return {c["id"]: c for c in result["conditions"]}


# ---- design and protocol --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SEARCH = ("task", "target", "floor", "cap", "pilot_lr", "lr_grid", "tune_seeds", "tune_cap", "extend", "epochs",
          "min_steps", "fit_loss", "patience", "model")  # the search protocol (search.py reads these)


def test_the_protocol_is_the_one_the_published_result_was_measured_with():
    """The protocol lives in capacity's own Config (it no longer borrows the growth study's): every
    field of the full profile equals what results/capacity.json recorded, so the frozen runs stay
    this experiment's runs."""
    recorded = frozen.read("capacity", ROOT / "results")["config"]
    current = frozen.current_config("capacity")
    assert set(current) == set(recorded)
    for f in current:
        assert current[f] == recorded[f], f
    assert cap.Config().model == MODEL and cap.Config().target == 0.9
    assert {f.name for f in fields(cap.Config)} >= {"floor", "cap", "pilot_lr", "lr_grid", "tune_seeds",
                                                      "extend", "epochs", "min_steps", "fit_loss", "patience"}


def test_the_quick_profile_keeps_the_task_target_and_model_and_shrinks_the_search():
    quick, full = cap.Config.profile("quick"), cap.Config.profile("full")
    for f in ("task", "target", "floor", "pilot_lr", "fit_loss", "patience", "model", "margin"):
        assert getattr(quick, f) == getattr(full, f), f
    assert set(quick.canvases) != set(full.canvases) and len(quick.canvases) == 2
    assert len(quick.seeds) < len(full.seeds) and quick.tune_cap < full.tune_cap
    assert all(quick.cap[k] < full.cap[k] for k in full.cap) and set(quick.lr_grid) <= set(full.lr_grid)
    assert set(quick.dense_hidden) <= set(full.dense_hidden) and set(quick.conv_width) <= set(full.conv_width)


def test_the_design_sweeps_each_capacity_once_with_the_baseline_on_both_dense_sweeps():
    arms = {a.id: a for a in cap.design(cap.Config())}
    assert list(arms) == ["dense.hidden64", "dense.hidden256", "dense.hidden1024", "dense.hidden4096",
                          "dense.depth2", "dense.depth3", "conv.width4", "conv.width8", "conv.width32",
                          "local.width4", "local.width8", "local.width32"]
    assert arms["dense.hidden256"].sweeps == ("width", "depth")
    base = [a.id for a in arms.values() if cap.is_baseline(cap.Config(), a)]
    assert base == ["dense.hidden256", "conv.width8", "local.width8"]
    for a in arms.values():  # MODEL's keys in MODEL's order, one option changed
        m = cap.model(cap.Config(), a)
        assert list(m) == list(cap.Config().model)
        assert {k for k in m if m[k] != cap.Config().model[k]} <= {a.option}


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_baseline_conditions_train_the_standard_nets_with_the_configs_protocol(profile, monkeypatch):
    """Every (kind, canvas) has a baseline condition on the site's standard net (common.MODEL, so
    its runs are the standard nets' runs in the run store), and every job of the search is trained
    on the config's task and with the config's budget."""
    jobs = []

    def recording(batch, **kw):
        jobs.extend(batch)
        return fake(known_need)(batch, **kw)

    monkeypatch.setattr(search, "train_many", recording)
    cfg = cap.Config.profile(profile)
    cap.measure(cfg, CTX)
    baseline = {(j.kind, j.data["canvas"]) for j in jobs if j.model == MODEL}
    assert baseline == {(k, c) for k in ("conv", "local", "dense") for c in cfg.canvases}
    for j in jobs:
        assert j.data == {**cfg.task, "canvas": j.data["canvas"]} and j.data["canvas"] in cfg.canvases
        assert j.train == replace(search.budget(cfg, j.n_train), lr=j.train.lr), j
        assert set(j.model) == set(MODEL) and sum(j.model[k] != MODEL[k] for k in MODEL) <= 1
        assert cfg.floor <= j.n_train <= cfg.cap[j.kind]


# ---- the statistics, on known needs -----------------------------------------------------------------

def test_known_needs_and_exponents_come_out_as_set(monkeypatch):
    result = run_with(monkeypatch, fake(known_need))
    json.dumps(result, allow_nan=False)
    assert result["pixels"] == [36, 64]
    for c in result["conditions"]:
        for p in c["points"]:
            want = {"conv": 20.0, "local": 100.0, "dense": 600.0}[c["kind"]] * (p["pixels"] / 36) ** GROWTH[c["kind"]]
            assert p["needed"] == pytest.approx(want, rel=1e-9) and p["censored"] == ""
            assert p["ci"][0] <= p["needed"] <= p["ci"][1]
            assert p["runs_deciding"] == 2 * len(CFG.seeds) and p["budget_hits"] == 0
        e = c["exponent"]
        assert e["value"] == pytest.approx(GROWTH[c["kind"]], abs=1e-9) and e["bound"] == ""
        assert e["low"] <= e["value"] <= e["high"]
    rows = by_id(result)
    assert rows["dense.hidden4096"]["points"][1]["params"] > rows["dense.hidden64"]["points"][1]["params"]
    numbers = result["numbers"]
    assert numbers["conv.width8.exponent"].startswith("0.50 (95% interval ")
    assert numbers["dense.hidden64.needed_first"].startswith("600 (95% interval ")
    assert numbers["canvas_first"] == "6×6" and numbers["canvas_last"] == "8×8"


def test_when_neither_capacity_nor_kind_matters_every_verdict_is_inconclusive(monkeypatch):
    result = run_with(monkeypatch, fake(lambda j: 100.0 * pixels(j)))
    for r in result["ranges"].values():
        assert r["value"] == pytest.approx(1.0) and r["low"] <= 1.0 <= r["high"]
    for g in result["gaps"].values():
        assert g["low"] <= 1.0 <= g["high"]
    assert set(result["separation"].values()) == {"inconclusive"}
    numbers = result["numbers"]
    assert "inconclusive" in numbers["verdict"] and "inconclusive" in numbers["verdict_local"]
    assert "lies above" not in numbers["verdict"]
    assert numbers["capacity_verdict"].startswith("Inconclusive for every kind")
    assert numbers["first.dense.range"].startswith("1.0× (95% interval ")
    assert numbers["first.dense_vs_conv.separation"] == "inconclusive"


def test_a_capacity_that_matters_and_a_gap_that_survives_it_are_named(monkeypatch):
    def need(j):  # the dense net's need falls with width (8x from 64 to 4,096 units); conv, local fixed
        base = {"conv": 20.0, "local": 100.0, "dense": 2000.0 * (256 / j.model["hidden"]) ** 0.5}[j.kind]
        return base * pixels(j)

    result = run_with(monkeypatch, fake(need))
    dense = result["ranges"]["6.dense"]
    assert (dense["largest"], dense["smallest"]) == ("dense.hidden64", "dense.hidden4096")
    assert dense["value"] == pytest.approx(8.0, rel=1e-6) and dense["low"] > 1
    assert result["ranges"]["6.conv"]["value"] == pytest.approx(1.0)
    gap = result["gaps"]["8.dense_vs_conv"]
    assert gap["best"] == "dense.hidden4096" and gap["value"] == pytest.approx(500 / 20, rel=1e-6)
    assert result["separation"] == {f"{c}.{k}_vs_conv": "above" for c in (6, 8) for k in ("dense", "local")}
    numbers = result["numbers"]
    assert numbers["verdict"].startswith("At 6×6 and 8×8, every dense capacity's 95% interval lies above "
                                         "every conv capacity's")
    assert numbers["capacity_verdict"].startswith("Capacity moves the need beyond its 95% interval for "
                                                  "dense (at 6×6 and 8×8); for conv and locally connected, "
                                                  "inconclusive")
    assert numbers["first.dense.range"].startswith("8.0× (95% interval ")
    assert numbers["first.dense.range_pair"] == "64 hidden units against 4,096 hidden units"


def test_censored_needs_give_bounds_never_values(monkeypatch):
    def need(j):  # the dense net never gets there at 8x8 (more than the 16,384 cap), and hits the budget
        return 1e6 if j.kind == "dense" and j.data["canvas"] == 8 else known_need(j)

    stop = lambda j: "budget" if j.kind == "dense" and j.data["canvas"] == 8 else "fit"  # noqa: E731
    result = run_with(monkeypatch, fake(need, stop))
    json.dumps(result, allow_nan=False)
    row = by_id(result)["dense.hidden256"]
    assert row["points"][1]["censored"] == "above" and row["points"][1]["needed"] == CFG.cap["dense"]
    assert row["exponent"]["bound"] == "lower"
    assert row["exponent"]["value"] == pytest.approx(math.log(CFG.cap["dense"] / 600) / math.log(64 / 36))
    assert row["points"][1]["budget_hits"] == row["points"][1]["runs_deciding"] > 0
    numbers = result["numbers"]
    assert numbers["dense.hidden256.needed_last"] == "more than 16,384"
    assert numbers["dense.hidden256.exponent"].startswith("at least ")
    assert "dense, 256 hidden units, at 8×8: " in numbers["budget_flags"]
    assert "(censored at the cap)" in numbers["budget_flags"]
    assert result["gaps"]["8.dense_vs_conv"]["bound"] == "lower"
    assert numbers["last.dense_vs_conv"].startswith("at least ")
    assert result["separation"]["8.dense_vs_conv"] == "above"  # a bound above the cap still lies above


def test_a_rung_barely_above_the_target_leaves_the_interval_open_and_the_verdict_inconclusive(monkeypatch):
    """The ladder stops at the first rung whose mean reaches the target. When that rung is only just
    above it and the curve is shallow, many bootstrap draws miss the target even past the rungs
    tried (censored above): the need's interval has no upper end, and a ratio to it no lower end
    (stats.need_ratio), so no gap to it is called, however large it looks."""
    def need(j):  # conv: 90.02% at its 32-example rung (6x6), 1 point per doubling; dense far above
        return {"conv": 31.5, "local": 100.0, "dense": 600.0}[j.kind] * pixels(j)

    cfg = replace(CFG, task={**CFG.task, "n_test": 1000})
    result = run_with(monkeypatch, fake(need, slope=lambda j: 0.01 if j.kind == "conv" else 0.1), cfg)
    conv = by_id(result)["conv.width8"]["points"][0]
    assert conv["censored"] == "" and conv["open"][1]
    gap = result["gaps"]["6.dense_vs_conv"]
    assert gap["value"] == pytest.approx(600 / 31.5) and gap["low"] is None
    assert result["separation"]["6.dense_vs_conv"] == "inconclusive"
    numbers = result["numbers"]
    gap_words = numbers["first.dense_vs_conv"]
    assert gap_words.startswith("19× (") and "too many draws censored" in gap_words
    assert "more than" in numbers["conv.width8.needed_first"]
    assert numbers["verdict"].startswith("At 6×6, inconclusive")


def test_every_number_is_a_string_and_every_full_design_row_has_its_keys(monkeypatch):
    quick = replace(cap.Config.profile("quick"), boot=50)
    result = run_with(monkeypatch, fake(known_need), quick)
    json.dumps(result, allow_nan=False)
    numbers = result["numbers"]
    assert all(isinstance(v, str) for v in numbers.values()) and result["caption"]
    for arm in cap.design(cap.Config()):
        for key in (*cap.ROW_KEYS, "label"):
            assert f"{arm.id}.{key}" in numbers
    assert numbers["dense.hidden4096.needed_last"] == "not run"  # not in the quick design
    assert numbers["canvas_last"] == "7×7"
    for key in ("verdict", "verdict_local", "capacity_verdict", "first.dense.range", "last.conv.range",
                "first.dense_vs_conv", "last.local_vs_conv.pair", "budget_flags", "lr_edges"):
        assert numbers[key], key


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_capacity_token_in_the_docs_is_a_number(profile, monkeypatch):
    """[[capacity.KEY]] in any page (or the draft fragment) names a key of ``numbers``, in both profiles."""
    root = Path(__file__).resolve().parent.parent / "docs"
    tokens = {m for page in root.rglob("*.md") for m in re.findall(r"\[\[capacity\.([A-Za-z0-9_.\-]+)\]\]",
                                                                    page.read_text(encoding="utf-8"))}
    assert len(tokens) > 50
    cfg = replace(cap.Config.profile(profile), boot=20, task={**cap.Config().task, "n_test": 100_000})
    numbers = run_with(monkeypatch, fake(known_need), cfg)["numbers"]
    assert sorted(tokens - set(numbers)) == []


def test_more_than_two_canvases_is_refused():
    with pytest.raises(ValueError, match="exactly two canvas sides"):
        cap.design(cap.Config(canvases=(6, 7, 8)))


# ---- the figure -------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_figure_draws_from_a_result_legibly(scheme, monkeypatch):
    def need(j):  # some dense sizes censored above at 8x8, to draw arrows
        return 1e6 if j.kind == "dense" and j.data["canvas"] == 8 and j.model["hidden"] < 256 else known_need(j)

    result = json.loads(json.dumps(run_with(monkeypatch, fake(need))))  # only what the JSON keeps
    with theme(scheme):
        fig = cap.figure(result)
        fig.savefig(io.StringIO(), format="svg", bbox_inches="tight")
    try:
        assert fig.get_figwidth() == pytest.approx(FIG_WIDTH) and len(fig.axes) == 2
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
        assert sizes and min(sizes) >= SMALL_FONT
        colours = {to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()}
        assert {to_hex(c) for c in KIND_COLORS.values()} <= colours
        assert fig.legends and len(fig.legends[0].get_texts()) == 6
        assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in fig.axes)
    finally:
        plt.close(fig)


# ---- real training, tiny --------------------------------------------------------------------------

def test_runs_end_to_end_with_real_training_at_a_tiny_size(tmp_path, monkeypatch):
    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))
    cfg = replace(cap.Config.profile("quick"), cap={"conv": 16, "local": 16, "dense": 16}, tune_cap=8,
                  lr_grid=(1e-3, 1e-2), extend=1, epochs=2, min_steps=20, boot=20, target=0.3,
                  task={**cap.Config().task, "n_val": 16, "n_test": 16})
    start = time.perf_counter()
    result = cap.run(cfg, CTX)
    assert time.perf_counter() - start < 60
    json.dumps(result, allow_nan=False)
    rows = by_id(result)
    assert rows["dense.hidden256"]["points"][0]["params"] < rows["dense.depth2"]["points"][0]["params"]
    assert rows["conv.width4"]["points"][0]["params"] < rows["conv.width8"]["points"][0]["params"]
    with theme("light"):
        plt.close(cap.figure(result))
