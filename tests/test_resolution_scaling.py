"""The mechanism study experiment (equidocs.experiments.resolution_scaling), on the quick profile.

The quick study (about 190 small runs) is trained once per session into an isolated cache
(``EQUIDOCS_CACHE``: its log ``<cache>/mechanism/runs-quick.jsonl`` and its run store) and shared:
the summary has the shape issue 27 asks for, censoring follows the ladders, a strict replay of the
recorded runs and a second run from the filled log train nothing and give the same result, the
page tokens and tables cover every arm and size, and the figure draws.
"""

from __future__ import annotations

import dataclasses
import json

import matplotlib
import numpy as np
import pytest

from equidocs import runstore
from equidocs.experiments import RunContext
from equidocs.experiments import resolution_scaling as rs
from equidocs.runner import json_safe

matplotlib.use("Agg")

KINDS = ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser")
KIND_KEYS = {"needed", "censored", "needed_ci", "exponent", "exponent_ci", "local_slopes", "best_law",
             "law_win_frequency"}


def as_json(result: dict) -> str:
    """A result as the frozen file would hold it (NaN -> null), keys sorted."""
    return json.dumps(json_safe(result), sort_keys=True, allow_nan=False)


def assert_same_result(again: dict, first: dict) -> None:
    """The same JSON result, every number exactly (the total ``cpu_s`` too: see
    test_the_total_cpu_time_does_not_depend_on_the_order_runs_come_in)."""
    assert as_json(again) == as_json(first)


@pytest.fixture
def quick(quick_mechanism_study):
    """The quick study, trained once per session (conftest.py); tests must not add to its cache."""
    return quick_mechanism_study


@pytest.fixture
def in_quick_cache(quick, monkeypatch):
    """``EQUIDOCS_CACHE`` pointing at the quick study's cache (its log and run store) for one test."""
    monkeypatch.setenv("EQUIDOCS_CACHE", str(quick.cache))
    return quick


@pytest.mark.slow
def test_the_summary_has_the_shape_the_issue_asks(quick):
    """Axis, sizes, positions (S-4)^2, pixels S^2, seeds, target and every arm's need and law fields."""
    summary, study = quick.result["summary"], quick.cfg.study
    sizes = list(study.sizes)
    assert summary["axis"] == "positions"
    assert summary["sizes"] == sizes == [6, 8]
    assert summary["positions"] == [(s - 4) ** 2 for s in sizes]
    assert summary["pixels"] == [s * s for s in sizes]
    assert summary["seeds"] == study.seeds_main and summary["target"] == study.target
    assert tuple(summary["kinds"]) == KINDS
    for kind, k in summary["kinds"].items():
        assert KIND_KEYS <= set(k), f"{kind} lacks {KIND_KEYS - set(k)}"
        assert len(k["needed"]) == len(k["censored"]) == len(k["needed_ci"]) == len(sizes)
        for v, c, ci in zip(k["needed"], k["censored"], k["needed_ci"]):
            assert v is not None and v > 0, f"{kind}: every condition of the quick study finishes"
            assert c in (None, "above", "below")
            assert len(ci) == 2 and (ci[1] is None or ci[0] <= ci[1])
        if k["exponent"] is None:  # two sizes: too few for a growth law (three are needed)
            assert k["exponent_ci"] is None and k["best_law"] == "inconclusive"
        else:
            assert k["exponent_ci"][0] <= k["exponent"] <= k["exponent_ci"][1]
            assert sum(k["law_win_frequency"].values()) == pytest.approx(1.0)
    assert quick.result["runs_used"] == len(runstore.compact(quick.store.log))


@pytest.mark.slow
def test_censoring_follows_each_ladder(quick):
    """A need is censored above exactly when no rung's seed mean reaches the target, below when the
    floor already does; an uncensored need lies between the two rungs that bracket it."""
    study, summary = quick.cfg.study, quick.result["summary"]
    assert len(quick.result["conditions"]) == len(KINDS) * len(study.sizes)
    for cond in quick.result["conditions"]:
        k, i = summary["kinds"][cond["arm"]], summary["sizes"].index(cond["size"])
        ns = [r["n"] for r in cond["ladder"]]
        means = [float(np.mean(r["test_acc"])) for r in cond["ladder"]]
        up = [n for n, m in zip(ns, means) if m >= study.target]
        where = f"{cond['arm']} {cond['size']}x{cond['size']}: ladder {dict(zip(ns, means))}"
        if not up:
            assert k["censored"][i] == "above" and ns[-1] == cond["cap"], where
        elif up[0] == ns[0] == study.floor:
            assert k["censored"][i] == "below", where
        else:
            assert k["censored"][i] is None, where
            below = ns[ns.index(up[0]) - 1]
            assert below <= k["needed"][i] <= up[0], where


@pytest.mark.slow
def test_stops_count_every_ladder_run(quick):
    """``stops`` counts each ladder run once by how it stopped; the memoriser never trains."""
    study, states, table = quick.cfg.study, quick.result["conditions"], dict(quick.store.log)
    for arm in KINDS:
        runs = sum(len(rs.ladder_jobs(study, s)) for s in states if s["arm"] == arm)
        stops = quick.result["stops"][arm]
        assert sum(stops.values()) == runs > 0
        assert stops == rs.stops_of(study, [{**s, "phase": "done"} for s in states], table, arm)
        if arm == "memoriser":
            assert stops["none"] == runs
        else:
            assert stops["none"] == 0


@pytest.mark.slow
def test_every_trained_run_is_in_the_study_log(in_quick_cache):
    """The quick log lives in the cache, holds one line per run the result used, and nothing is stale."""
    quick = in_quick_cache
    path = quick.cache / "mechanism" / "runs-quick.jsonl"
    log = rs.study_log(quick.cfg)
    assert log.path == path
    assert log.stale == 0 and len(path.read_text().splitlines()) == len(log.runs) == quick.result["runs_used"]
    assert quick.result["cpu_s"] == pytest.approx(log.cpu_s)


@pytest.mark.slow
def test_a_strict_replay_of_the_recorded_runs_gives_the_same_result(quick):
    """Re-run in a strict replay store of the compacted runs (as a frozen file records them): nothing is
    trained, every recorded run is read, and the result is identical."""
    entries = json.loads(json.dumps(runstore.compact(quick.store.log), allow_nan=False))
    replay = runstore.replay_store(entries, "cpu")
    with runstore.recording(replay):
        again = rs.run(quick.cfg, RunContext(workers=1))
    assert len(replay.used) == len(entries)  # no recorded run goes unused
    assert_same_result(again, quick.result)


@pytest.mark.slow
def test_a_replay_missing_one_recorded_run_raises_key_error(quick):
    """A strict replay never falls back to the study log or to training: a missing run is a KeyError."""
    entries = runstore.compact(quick.store.log)
    replay = runstore.replay_store(entries[1:], "cpu")
    with runstore.recording(replay), pytest.raises(KeyError, match="not among the recorded runs"):
        rs.run(quick.cfg, RunContext(workers=1))


@pytest.mark.slow
def test_a_second_run_from_the_filled_log_trains_nothing(in_quick_cache, monkeypatch, tmp_path):
    """With the study log filled, ``run`` reads every run from it (noting each in the active store)
    and trains nothing; the result is the same."""
    def no_training(*args, **kwargs):
        raise AssertionError("fit_many called: the study log should hold every run")

    monkeypatch.setattr(rs, "fit_many", no_training)
    assert runstore.active() is None
    again = rs.run(in_quick_cache.cfg, RunContext(workers=1))
    assert_same_result(again, in_quick_cache.result)
    store = runstore.RunStore(tmp_path / "empty-store", "cpu")
    with runstore.recording(store):
        noted = rs.run(in_quick_cache.cfg, RunContext(workers=1))
    assert as_json(noted) == as_json(again)  # read in the same order: identical to the last bit
    assert store.hits == 0 and len(runstore.compact(store.log)) == noted["runs_used"]


@pytest.mark.slow
def test_the_total_cpu_time_does_not_depend_on_the_order_runs_come_in(quick, monkeypatch, tmp_path):
    """A fresh run (runs in training order) and a replay of its runs (plan order) report the same total
    cpu_s, also where the order changes a float sum: one run's cpu_s is 2**53, every other's 1."""
    trained = [job for job, _ in quick.store.log]
    replay = runstore.replay_store(runstore.compact(quick.store.log), "cpu")
    with runstore.recording(replay):
        rs.run(quick.cfg, RunContext(workers=1))
    planned = [job for job, _ in replay.log]
    big = max(trained, key=lambda j: abs(trained.index(j) - planned.index(j)))
    results = {job: dataclasses.replace(r, cpu_s=2.0 ** 53 if job == big else 1.0)
               for job, r in quick.store.log}

    def serve(jobs, *, workers, on_result):
        """fit_many without training: the recorded results, in the order given."""
        for i, job in enumerate(jobs):
            on_result(i, job, results[job])
        return [results[job] for job in jobs]

    monkeypatch.setenv("EQUIDOCS_CACHE", str(tmp_path))  # an empty study log
    monkeypatch.setattr(rs, "fit_many", serve)
    store = runstore.RunStore(tmp_path / "runs", "cpu")
    with runstore.recording(store):
        fresh = rs.run(quick.cfg, RunContext(workers=1))
    with runstore.recording(runstore.replay_store(runstore.compact(store.log), "cpu")):
        again = rs.run(quick.cfg, RunContext(workers=1))
    assert again["cpu_s"] == fresh["cpu_s"]
    assert as_json(again) == as_json(fresh)


@pytest.mark.slow
def test_the_result_is_json_and_its_tokens_cover_every_arm_and_size(quick):
    """Every arm has a need token per size and an exponent token; the needs table has one row per arm,
    the settings table one per trained net; every token is a non-empty string."""
    result, sizes = quick.result, quick.result["summary"]["sizes"]
    assert {"summary", "conditions", "ratios", "dense_vs_memoriser", "stops", "extrapolation", "cpu_s",
            "runs_used", "numbers", "caption"} <= set(result)
    as_json(result)  # serialisable as a frozen result (no NaN left, no numpy integers)
    numbers = result["numbers"]
    assert all(isinstance(v, str) and v for v in numbers.values())
    for arm in KINDS:
        for i, s in enumerate(sizes):
            assert numbers[f"{arm}.needed.{s}"] == rs._need_cell(result["summary"]["kinds"][arm], i)
        assert numbers[f"{arm}.exponent"]
    for name in rs.RATIOS:
        assert all(f"ratio.{name}.{s}" in numbers for s in sizes)
    table = numbers["needs_table"].splitlines()
    assert len(table) == 2 + len(KINDS)
    assert [row.split("|")[1].strip() for row in table[2:]] == [rs.ARM_WORDS[a] for a in KINDS]
    assert all(row.count("|") == len(sizes) + 2 for row in table)
    settings = numbers["settings_table"].splitlines()
    assert len(settings) == 2 + len(KINDS) - 1  # the memoriser has nothing to tune
    assert "—" not in numbers["settings_table"]  # every net was tuned at every size
    assert numbers["positions"] == "4, 16" and numbers["sizes"] == "6×6, 8×8"


@pytest.mark.parametrize("k, cell", [
    ({"needed": [5674.0], "censored": [None], "needed_ci": [[5081.0, 6568.0]]}, "5,670 (5,080–6,570)"),
    ({"needed": [9030.0], "censored": [None], "needed_ci": [[0.0, 11244.0]]}, "9,030 (≤ 11,300)"),
    ({"needed": [9030.0], "censored": [None], "needed_ci": [[None, 11244.0]]}, "9,030 (≤ 11,300)"),
    ({"needed": [300.0], "censored": [None], "needed_ci": [[200.0, None]]}, "300 (≥ 200)"),
    ({"needed": [300.0], "censored": [None], "needed_ci": [[0.0, None]]}, "300 (interval unbounded)"),
    ({"needed": [131072.0], "censored": ["above"], "needed_ci": [[131072.0, None]]}, "more than 131,072"),
    ({"needed": [4.0], "censored": ["below"], "needed_ci": [[0.0, 4.0]]}, "at most 4"),
    ({"needed": [None], "censored": [None], "needed_ci": [None]}, "not run"),
], ids=["measured", "low-end-open", "low-end-null", "high-end-open", "both-open", "censored-above",
        "censored-below", "missing"])
def test_need_cells_name_censoring_and_open_interval_ends(k, cell):
    """``_need_cell`` words: an interval, an open end as a bound, censoring as "more than" / "at most"."""
    assert rs._need_cell(k, 0) == cell


def test_profiles_are_checked():
    """``quick`` is the tiny design with its log in the cache; an unknown profile names the choices."""
    quick = rs.Config.profile("quick")
    assert quick.log == "quick" and quick.study.sizes == (6, 8)
    assert rs.Config.profile("full").study.sizes == rs.PUBLISHED
    with pytest.raises(ValueError, match=r"profile='huge': expected 'quick' or 'full'"):
        rs.Config.profile("huge")


@pytest.mark.slow
def test_the_figure_draws_for_the_quick_result(quick):
    """``figure`` returns one matplotlib Figure with one Axes, a point per arm and size, log-log."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = rs.figure(quick.result)
    try:
        assert isinstance(fig, Figure) and len(fig.axes) == 1
        ax = fig.axes[0]
        assert ax.get_xscale() == ax.get_yscale() == "log"
        assert len(ax.get_lines()) >= len(KINDS)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "16"]
        assert fig.legends, "the arms are named in a legend"
    finally:
        plt.close(fig)
