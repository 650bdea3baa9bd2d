"""Resolution scaling, the mechanism study (issue 27): what saves the data, and how each part of the
saving grows with the number of positions a glyph can take.

Seven arms (:data:`equidocs.nets.ARMS`) on canvases whose side grows around a 5x5 glyph: the
factorial {shared, unshared filters} x {pooled, position-aware flatten readout} (``conv``,
``local``, ``conv_flatten``, ``local_flatten``), the ``dense`` net, a hierarchical CNN with a fully
connected head (``cnn_fc``) and a 1-nearest-neighbour lookup on pixels (``memoriser``). The design
per condition (pilot, coordinate-wise tuning on validation data at the pilot's crossing, a sqrt(2)
ladder bracketing the target): :mod:`equidocs.mechanism_plan`. The analysis (needs with intervals
over seeds and test examples, censored growth-law fits, model-averaged exponents, local slopes,
leave-one-size-out): :mod:`equidocs.mechanism_analysis` and :mod:`equidocs.mechanism_laws`.

The runs are those of the study's log (``studies/mechanism/runs-full.jsonl``, grown by
``python -m equidocs.mechanism run --profile full`` over several sessions); a run the log lacks is
trained here and appended to it. ``sizes`` lists the canvases published so far: the study runs on
to larger ones, which join when every arm there is done.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np

from equidocs import cache, runstore, stats
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.fit import Job, Result, fit_many
from equidocs.mechanism_analysis import analyse_ladders, ladders
from equidocs.mechanism_laws import EXPONENTIAL, PIXELS, extrapolate
from equidocs.mechanism_plan import Config as StudyConfig, base_job, plan
from equidocs.nets import ARMS

TITLE = "What saves the data, and how each part grows with positions"
FACTORIAL = ("conv", "local", "conv_flatten", "local_flatten")
ARM_WORDS = {"conv": "conv (shared, pooled)", "local": "unshared-pooled", "conv_flatten": "shared-flatten",
             "local_flatten": "unshared-flatten", "dense": "dense", "cnn_fc": "CNN with a dense head",
             "memoriser": "1-NN lookup"}  # the page's names: filters shared or not, readout pooled or flatten
PUBLISHED = (6, 7, 8, 10, 12, 16, 20, 24)  # the canvases whose every arm is done (4 to 400 positions)
RATIOS = {  # name -> (arm that needs more, arm that needs fewer): the factorial's contrasts
    "dense_conv": ("dense", "conv"), "dense_local": ("dense", "local"),
    "dense_conv_flatten": ("dense", "conv_flatten"), "dense_local_flatten": ("dense", "local_flatten"),
    "local_conv": ("local", "conv"),
    "conv_flatten_conv": ("conv_flatten", "conv"), "local_flatten_local": ("local_flatten", "local"),
    "local_flatten_conv_flatten": ("local_flatten", "conv_flatten"), "dense_cnn_fc": ("dense", "cnn_fc"),
    "cnn_fc_conv": ("cnn_fc", "conv")}
MAIN = ("conv", "local", "dense")  # measured, not bounded, through MEASURED_THROUGH ...
MEASURED_THROUGH = 16  # ... (144 positions), and bounded at one larger canvas at most (issue 27)
EXTRAPOLATE = (32, 224)  # canvases of the conditional range ("not a prediction")


@dataclass(frozen=True)
class Config:
    study: StudyConfig = field(default_factory=lambda: replace(StudyConfig.profile("full"), sizes=PUBLISHED))
    log: str = "full"   # the run log: studies/mechanism/runs-<log>.jsonl ("quick": in the cache)
    draws: int = 400    # bootstrap draws of the analysis

    @classmethod
    def profile(cls, name: str) -> "Config":
        """``full``: the published study; ``quick``: the same design, tiny (about a minute)."""
        if name == "quick":
            return cls(study=StudyConfig.profile("quick"), log="quick", draws=40)
        if name == "full":
            return cls()
        raise ValueError(f"profile={name!r}: expected 'quick' or 'full'")


def study_log(cfg: Config) -> runstore.RunLog:
    """The committed log for ``full``; the quick profile's lives in the cache (never committed)."""
    folder = None if cfg.log == "full" else cache.cache_dir() / "mechanism"
    return runstore.RunLog(runstore.log_path(cfg.log, folder)).load()


def collect(cfg: Config, ctx) -> tuple[list[dict], list[tuple[Job, Result]]]:
    """Every condition's final state and the runs its decisions read, training what is missing.

    Runs come from the active run store first (a replay's recorded runs, else finished runs on
    disk), then from the study's log; new runs go to both."""
    store, log = runstore.active(), None
    seen: dict[Job, Result] = {}

    def have(job: Job) -> Result | None:
        nonlocal log
        if job in seen:
            return seen[job]
        result = store.get(job) if store is not None else None
        if result is None and (store is None or not store.strict):
            log = log or study_log(cfg)
            result = log.get(job)
            if result is not None and store is not None:
                store.note(job, result)
        if result is not None:
            seen[job] = result
        return result

    while True:
        pending, states = plan(cfg.study, have)
        if not pending:
            return states, list(seen.items())
        log = log or study_log(cfg)

        def finished(i: int, job: Job, result: Result) -> None:
            log.append(job, result)
            if store is not None:
                store.put(job, result)
            seen[job] = result

        fit_many(pending, workers=ctx.workers or os.cpu_count() or 1, on_result=finished)


def times(v: float, down: bool = False) -> str:
    """A ratio in words: two significant figures from 100 up, else three; ``down`` rounds towards
    zero, for a lower bound ("more than ...") that must not grow in the rounding.

    >>> times(5092.4), times(226.3), times(38.14), times(1.234), times(39520.0, down=True)
    ('5,100×', '230×', '38.1×', '1.23×', '39,000×')
    """
    if down and v > 0:
        v = _round(v, 2 if v >= 100 else 3, "down")
    return f"{fmt_int(float(f'{v:.2g}'))}×" if v >= 100 else f"{v:.3g}×"


def _ratio_words(r: stats.Ratio) -> str:
    """A ratio with its 95% interval; where only its lower end is known (the worse net's need is a
    bound, or too many draws never reach the target), that end alone, as "more than".

    >>> _ratio_words(stats.Ratio(53.2, 30.4, 115.0, False)), _ratio_words(stats.Ratio(480.0, 401.0, None, True))
    ('53.2× (95% interval 30.4× to 120×)', 'more than 400×')
    """
    if r.value is None:
        return "undetermined (censored)"
    if r.low <= 0:  # too many draws say nothing (a need at its first rung or censored): no interval
        lead = "at least " if r.lower_bound_only else ""
        return f"{lead}{times(r.value)} (too many censored draws for a 95% interval)"
    if r.lower_bound_only or r.high is None:
        return f"more than {times(r.low, down=True)}"
    return f"{times(r.value)} (95% interval {times(r.low)} to {times(r.high)})"


def _round(value: float, digits: int, way: str = "nearest") -> float:
    """``value`` (positive) at ``digits`` significant figures, rounded ``way``: "nearest", "up", "down".

    >>> _round(131122, 3, "up"), _round(39520.0, 2, "down")
    (132000.0, 39000.0)
    """
    unit = 10.0 ** (int(math.floor(math.log10(value))) - digits + 1)
    return {"nearest": round, "up": math.ceil, "down": math.floor}[way](value / unit) * unit


def _sig(value: float, way: str = "nearest") -> str:
    """A count rounded to three significant figures, with thousands separators; ``way`` "up" or
    "down" rounds outwards, for an interval's ends (they never move inwards).

    >>> _sig(365351.2), _sig(9030.4), _sig(18.14), _sig(131122, "up"), _sig(80842, "down")
    ('365,000', '9,030', '18', '132,000', '80,800')
    """
    return fmt_int(_round(value, 3, way) if value >= 1000 else value)


def _need_cell(k: dict, i: int) -> str:
    """One need with its 95% interval for a table: "5,670 (5,080–6,570)", "more than 131,072"; an
    interval end that only a bound (too many draws censored there) is left open: "9,030 (≤ 11,300)".
    Needs are rounded to three significant figures (:func:`_sig`; the interval is far wider), the
    interval's ends outwards; bounds (caps and floors of the design) are exact.

    >>> k = {"needed": [9030.0], "censored": [None], "needed_ci": [[0.0, 11244.0]]}
    >>> _need_cell(k, 0)
    '9,030 (≤ 11,300)'
    """
    v, c, ci = k["needed"][i], k["censored"][i], k["needed_ci"][i]
    if v is None:
        return "not run"
    if c == "above":
        return f"more than {fmt_int(v)}"  # a cap or floor of the design: exact
    if c == "below":
        return f"at most {fmt_int(v)}"
    if not ci[0] and ci[1] is None:
        return f"{_sig(v)} (interval unbounded)"
    if not ci[0]:
        return f"{_sig(v)} (≤ {_sig(ci[1], 'up')})"
    if ci[1] is None:
        return f"{_sig(v)} (≥ {_sig(ci[0], 'down')})"
    return f"{_sig(v)} ({_sig(ci[0], 'down')}–{_sig(ci[1], 'up')})"


def interval_ratio(worse: dict, better: dict, i: int) -> tuple[float | None, float | None]:
    """Bounds on how many times more examples ``worse`` needs than ``better`` at size ``i`` (two
    ``summary["kinds"]`` entries) that hold whenever both needs lie in their 95% intervals: the low
    end of ``worse``'s interval (its bound, when censored above) over the high end of ``better``'s,
    and the high end of ``worse``'s over the low end of ``better``'s; None where an end is open.

    >>> interval_ratio({"needed": [500.0], "censored": [None], "needed_ci": [[400.0, 600.0]]},
    ...                {"needed": [10.0], "censored": [None], "needed_ci": [[8.0, 12.0]]}, 0)
    (33.333333333333336, 75.0)
    >>> interval_ratio({"needed": [64.0], "censored": ["above"], "needed_ci": [[64.0, None]]},
    ...                {"needed": [10.0], "censored": [None], "needed_ci": [[0.0, 16.0]]}, 0)
    (4.0, None)
    """
    (w, wc, (w_lo, w_hi)), (b, bc, (b_lo, b_hi)) = (
        (k["needed"][i], k["censored"][i], k["needed_ci"][i]) for k in (worse, better))
    w_lo = w if wc == "above" else None if wc else w_lo
    w_hi = None if wc else w_hi
    b_lo = b if bc == "above" else None if bc else b_lo
    b_hi = None if bc else b_hi
    low = w_lo / b_hi if w_lo and b_hi else None
    high = w_hi / b_lo if w_hi and b_lo else None
    return low, high


def dense_last_index(summary: dict) -> int:
    """The index of the largest canvas where the dense net's need is measured (not only a bound);
    the last canvas when it is measured nowhere.

    >>> dense_last_index({"sizes": [6, 8, 10], "kinds": {"dense": {"censored": [None, None, "above"]}}})
    1
    """
    return max((i for i, c in enumerate(summary["kinds"]["dense"]["censored"]) if not c),
               default=len(summary["sizes"]) - 1)


def open_ends(summary: dict) -> list[tuple[str, int]]:
    """(arm, canvas) of every measured need whose 95% interval has an open end (a low end of 0 or
    no high end: too many bootstrap draws fell outside the rungs tried).

    >>> open_ends({"sizes": [6, 8], "kinds": {"conv": {"needed": [18.0, 40.0], "censored": [None, None],
    ...                                                "needed_ci": [[15.0, 23.0], [0.0, 48.0]]}}})
    [('conv', 8)]
    """
    return [(arm, size) for arm, k in summary["kinds"].items()
            for size, v, c, ci in zip(summary["sizes"], k["needed"], k["censored"], k["needed_ci"])
            if v is not None and not c and (not ci or not ci[0] or ci[1] is None)]


def peak_index(kind: dict) -> int:
    """The index of the canvas where a ``summary["kinds"]`` entry's need is highest.

    >>> peak_index({"needed": [18.0, 40.0, None, 21.0]})
    1
    """
    return max(range(len(kind["needed"])), key=lambda i: kind["needed"][i] or 0.0)


def _power_range(log10_range: list | None) -> str:
    """A conditional range as whole powers of ten, widened outwards, never below one example.

    >>> _power_range([6.8, 7.2]), _power_range([-4.4, 2.7]), _power_range(None)
    ('10<sup>6</sup> to 10<sup>8</sup>', '1 to 10<sup>3</sup>', 'no law fitted')
    """
    if not log10_range:
        return "no law fitted"
    lo, hi = max(0, math.floor(log10_range[0])), max(0, math.ceil(log10_range[1]))
    return ("1" if lo == 0 else f"10<sup>{lo}</sup>") + f" to 10<sup>{hi}</sup>"


def _two(v: float) -> str:
    return f"{v:.2f}".replace("-0.00", "0.00")


def _exponent_words(v: float | None, ci: list | None) -> str:
    if v is None:
        return "not fitted"
    return f"{_two(v)} (95% interval {_two(ci[0])} to {_two(ci[1])})" if ci else _two(v)


def ladder_jobs(study: StudyConfig, state: dict) -> list[Job]:
    """The runs a finished condition's ladder is made of (every rung, every seed)."""
    job = replace(base_job(study, state["arm"], state["size"]), **(state.get("settings") or {}))
    return [replace(job, n_train=r["n"], seed=s) for r in state["ladder"] for s in study.seeds(state["arm"])]


def stops_of(study: StudyConfig, states: list[dict], runs: dict[Job, Result], arm: str) -> dict[str, int]:
    """How the ladder runs of ``arm`` stopped: patience, fit or budget (the memoriser: none)."""
    counts = {"patience": 0, "fit": 0, "budget": 0, "none": 0}
    for s in states:
        if s["arm"] == arm and s["phase"] == "done":
            for job in ladder_jobs(study, s):
                counts[runs[job].stop] += 1
    return counts


def run(cfg: Config, ctx) -> dict:
    states, runs = collect(cfg, ctx)
    study = cfg.study
    found = ladders(runs, study)
    summary = analyse_ladders(found, study, draws=cfg.draws)
    table = dict(runs)
    sizes, kinds = summary["sizes"], summary["kinds"]
    needs = {(arm, s): stats.need(lad.ns, lad.per_seed, study.target, n_test=lad.n_test, draws=cfg.draws,
                                  seed=17 * i + s)
             for i, ((arm, s), lad) in enumerate(sorted(found.items()))}
    ratios = {name: [_ratio(needs, worse, better, s) for s in sizes] for name, (worse, better) in RATIOS.items()}
    # dense vs the 1-NN lookup, size by size: a winner only when the intervals separate them
    versus = [stats.separation([needs["memoriser", s]], [needs["dense", s]])
              if ("memoriser", s) in needs and ("dense", s) in needs else None for s in sizes]
    stops = {arm: stops_of(study, states, table, arm) for arm in ARMS}
    extra = {arm: {str(c): extrapolate(kinds[arm], c) for c in EXTRAPOLATE} for arm in ARMS}
    settings = [{"arm": s["arm"], "size": s["size"], "cap": s["cap"], "pilot_n": s.get("pilot_n"),
                 "settings": s.get("settings"), "tune": s.get("tune"), "ladder": s.get("ladder")}
                for s in states]
    cpu_s = math.fsum(r.cpu_s for r in table.values())  # exactly rounded: the same in any order
    numbers = _numbers(cfg, summary, ratios, versus, stops, extra, cpu_s, len(table), states)
    return {"summary": summary, "conditions": settings, "ratios": ratios, "dense_vs_memoriser": versus,
            "stops": stops, "extrapolation": extra, "cpu_s": cpu_s, "runs_used": len(table),
            "numbers": numbers, "caption": _caption(cfg, summary)}


def _ratio(needs: dict, worse: str, better: str, size: int) -> dict | None:
    if (worse, size) not in needs or (better, size) not in needs:
        return None
    r = stats.need_ratio(needs[worse, size], needs[better, size])
    return {"value": r.value, "low": r.low, "high": r.high, "lower_bound_only": r.lower_bound_only,
            "words": _ratio_words(r)}


def _numbers(cfg: Config, summary: dict, ratios: dict, versus: list, stops: dict, extra: dict,
             cpu_s: float, n_runs: int, states: list[dict]) -> dict[str, str]:
    """The display strings the pages' tokens read (``[[resolution_scaling.KEY]]``)."""
    study, sizes, kinds = cfg.study, summary["sizes"], summary["kinds"]
    pos = summary["positions"]
    out = {"target": fmt_pct(study.target), "sizes": ", ".join(f"{s}×{s}" for s in sizes),
           "n_sizes": str(len(sizes)), "positions": ", ".join(map(str, pos)),
           "positions_first": fmt_int(pos[0]), "positions_last": fmt_int(pos[-1]),
           "pixels_first": fmt_int(summary["pixels"][0]), "pixels_last": fmt_int(summary["pixels"][-1]),
           "size_last": f"{sizes[-1]}×{sizes[-1]}", "seeds_main": str(study.seeds_main),
           "size_second": "{0}×{0}".format(sizes[min(1, len(sizes) - 1)]),
           "seeds_other": str(study.seeds_other), "tune_seeds": str(len(study.tune_seeds)),
           "lr_grid": ", ".join(f"{v:g}" for v in study.lr_grid),
           "wd_grid": ", ".join(f"{v:g}" for v in study.wd_grid),
           "width_grid": " and ".join(str(v) for v in sorted(study.width_grid)),
           "hidden_grid": " and ".join(fmt_int(v) for v in sorted(study.hidden_grid)),
           "floor": fmt_int(study.floor), "bracket_z": f"{study.bracket_z:g}", "max_cap": fmt_int(study.max_cap),
           "run_budget_min": f"{study.run_budget_s / 60:g}", "gflops": f"{study.gflops:g}",
           "epochs": str(study.job["epochs"]), "min_steps": fmt_int(study.job["min_steps"]),
           "patience": str(study.job["patience"]), "n_val": fmt_int(study.job["n_val"]),
           "n_test": fmt_int(study.job["n_test"]), "deform": f"{study.job['deform']:g}",
           "noise": f"{study.job['noise']:g}", "runs": fmt_int(n_runs), "cpu_hours": f"{cpu_s / 3600:.1f}",
           "draws": fmt_int(summary["draws"]), "conditions": str(summary["conditions_complete"])}
    planned = [c for c in StudyConfig.profile(cfg.log).sizes if c not in sizes]  # still running
    bounded = [f"{ARM_WORDS[arm]} at {size}×{size} ({_need_cell(kinds[arm], i)})" for arm in MAIN
               for i, size in enumerate(sizes) if size > MEASURED_THROUGH and kinds[arm]["censored"][i]]
    out["pixels_fold"] = f"{summary['pixels'][-1] / summary['pixels'][0]:.3g}"
    out["positions_fold"] = f"{pos[-1] / pos[0]:.3g}"
    out["measured_through"] = f"{MEASURED_THROUGH}×{MEASURED_THROUGH}"
    lead = "The conv, unshared-pooled and dense nets are measured, not bounded, at every canvas"
    out["main_measured_note"] = (f"{lead} through {out['measured_through']}; beyond it, a need is only a "
                                 f"bound for: {'; '.join(bounded)}." if bounded else f"{lead} published.")
    out["large_sizes"] = " and ".join(f"{c}×{c}" for c in study.large_sizes) or "none"
    out["large_max_cap"] = fmt_int(study.large_max_cap)
    out["memoriser_max_cap"] = fmt_int(study.memoriser_max_cap)
    out["large_run_budget_min"] = f"{study.large_run_budget_s / 60:g}"
    peak = peak_index(kinds["conv"])
    out["conv.peak_size"], out["conv.needed_peak"] = f"{sizes[peak]}×{sizes[peak]}", _need_cell(kinds["conv"], peak)
    out["width_choices"] = " or ".join(str(v) for v in sorted(study.width_grid))  # "8 or 32": tuned
    out["hidden_choices"] = " or ".join(fmt_int(v) for v in sorted(study.hidden_grid))
    out["cnn_fc_hidden"] = fmt_int(study.hidden_grid[0])  # the CNN's dense head: not tuned
    pending = " and ".join(f"{c}×{c}" for c in planned)
    out["pending_note"] = (f"The study's {pending} canvases are still running and will be published when "
                           "every net there is done." if planned
                           else "These are all the canvases of the study's design.")
    for arm, k in kinds.items():
        for i, s in enumerate(sizes):
            out[f"{arm}.needed.{s}"] = _need_cell(k, i)
        out[f"{arm}.needed_first"], out[f"{arm}.needed_last"] = _need_cell(k, 0), _need_cell(k, len(sizes) - 1)
        measured = [v for v, c in zip(k["needed"], k["censored"]) if v is not None and not c]
        out[f"{arm}.needed_range"] = (f"between {fmt_int(min(measured))} and {fmt_int(max(measured))}"
                                      if len(measured) == len(sizes) else "not measured at every canvas")
        out[f"{arm}.exponent"] = _exponent_words(k.get("exponent"), k.get("exponent_ci"))
        out[f"{arm}.exponent_positions_law"] = _exponent_words(k.get("exponent_positions_law"),
                                                               k.get("exponent_positions_law_ci"))
        out[f"{arm}.best_law"] = k["best_law"]
        close = ((k.get("laws") or {}).get(EXPONENTIAL) or {}).get("not_rejected_frequency")
        hits = None if close is None else round(close * summary["draws"])  # a share of every draw
        out[f"{arm}.exponential_close"] = ("not fitted" if hits is None else
                                           f"{'none' if hits == 0 else hits} of the {summary['draws']}")
        wins = k.get("law_win_frequency") or {}
        out[f"{arm}.law_wins"] = fmt_pct(wins.get(k["best_law"], 0.0)) if wins else "n/a"
        out[f"{arm}.local_slopes"] = ", ".join(
            "?" if v is None else _two(v) + {"lower bound": "+", "upper bound": "−"}.get(c or "", "")
            for v, c in zip(k.get("local_slopes") or [], k.get("local_slopes_censored") or []))
        if arm != "memoriser":
            st = stops[arm]
            total = sum(st.values())
            out[f"{arm}.stops"] = (f"{st['patience']} early-stopped, {st['fit']} fitted, "
                                   f"{st['budget']} at the budget (of {total})")
            out[f"{arm}.budget_share"] = fmt_pct(st["budget"] / total) if total else "n/a"
        for c, e in extra[arm].items():
            out[f"{arm}.range.{c}"] = _power_range(e["log10_range"])
        laws = (k.get("laws") or {}).get(PIXELS)
        out[f"{arm}.pixels_law_exponent"] = (_exponent_words(laws["slope"], laws["slope_ci"]) if laws
                                             else "not fitted")
    di = dense_last_index(summary)
    out["size_dense_last"] = f"{sizes[di]}×{sizes[di]}"
    out["positions_dense_last"] = fmt_int(pos[di])
    for arm, k in kinds.items():
        out[f"{arm}.needed_dense_last"] = _need_cell(k, di)
    dense_state = next(c for c in states if c["arm"] == "dense" and c["size"] == sizes[-1])
    out["dense.cap_last"] = fmt_int(dense_state["cap"])
    for name, row in ratios.items():
        out[f"ratio.{name}.dense_last"] = "not run" if row[di] is None else row[di]["words"]
        for s, r in zip(sizes, row):
            out[f"ratio.{name}.{s}"] = "not run" if r is None else r["words"]
        for s in StudyConfig.profile("full").sizes:  # a page may quote a canvas this profile lacks
            out.setdefault(f"ratio.{name}.{s}", "not published")
        out[f"ratio.{name}.first"] = out[f"ratio.{name}.{sizes[0]}"]
        out[f"ratio.{name}.second"] = out[f"ratio.{name}.{sizes[min(1, len(sizes) - 1)]}"]
        out[f"ratio.{name}.last"] = out[f"ratio.{name}.{sizes[-1]}"]
    words = {"above": "the dense net needs fewer", "below": "the lookup needs fewer",
             stats.INCONCLUSIVE: "inconclusive"}
    out["dense_vs_memoriser"] = "; ".join(f"{s}×{s}: {words[v]}" for s, v in zip(sizes, versus) if v)
    budget = sum(stops[a]["budget"] for a in ARMS if a != "memoriser")
    out["budget_hits"] = fmt_int(budget)
    out["ladder_runs"] = fmt_int(sum(sum(stops[a].values()) for a in ARMS if a != "memoriser"))
    out["needs_table"] = _needs_table(summary)
    out["held_out_table"] = _held_out_table(summary)
    out["settings_table"] = _settings_table(states, sizes)
    out["edge_choices"] = _edge_choices(states, sizes, study)
    return out


def _needs_table(summary: dict) -> str:
    """Markdown: examples needed per arm (rows) and canvas (columns), with 95% intervals."""
    sizes, pos = summary["sizes"], summary["positions"]
    head = "| net | " + " | ".join(f"{s}×{s} ({p} positions)" for s, p in zip(sizes, pos)) + " |"
    rows = [head, "|---|" + "---:|" * len(sizes)]
    for arm, k in summary["kinds"].items():
        rows.append(f"| {ARM_WORDS[arm]} | " + " | ".join(_need_cell(k, i) for i in range(len(sizes))) + " |")
    return "\n".join(rows)


def _held_out_table(summary: dict) -> str:
    """Markdown: leave one canvas out, per arm (rows) and law (columns), the root-mean-square factor
    by which the law fitted without a canvas misses that canvas's need, and its worst miss."""
    laws = summary["laws"]
    rows = ["| net | " + " | ".join(laws) + " |", "|---|" + "---:|" * len(laws)]
    for arm, k in summary["kinds"].items():
        cells = []
        for law in laws:
            h = (k.get("held_out") or {}).get(law) or {}
            misses = [abs(r["log_miss"]) for r in h.get("rows", []) if r["log_miss"] is not None]
            cells.append("—" if not misses else
                         f"×{math.exp(h['rms_log_miss']):.2f} (worst ×{math.exp(max(misses)):.2f})")
        rows.append(f"| {ARM_WORDS[arm]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _settings_table(states: list[dict], sizes: list[int]) -> str:
    """Markdown: the tuned rate, weight decay and width of every net and canvas (rate / decay / width)."""
    rows = ["| net | " + " | ".join(f"{s}×{s}" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for arm in ARMS:
        if arm == "memoriser":
            continue
        cells = []
        for s in sizes:
            st = next(x for x in states if (x["arm"], x["size"]) == (arm, s)).get("settings") or {}
            width = st.get("hidden" if arm == "dense" else "width")
            cells.append(f"{st['lr']:g} / {st['weight_decay']:g} / {width}" if st else "—")
        rows.append(f"| {ARM_WORDS[arm]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _edge_choices(states: list[dict], sizes: list[int], study: StudyConfig) -> str:
    """Where tuning chose a setting at the edge of what was offered (a wider grid might do better
    there): the learning rate at either end of its grid, the largest weight decay, the widest net;
    per setting, each net with how many of the published canvases.

    >>> st = [{"arm": "dense", "size": 6, "settings": {"lr": 0.03, "weight_decay": 0.0, "width": 32, "hidden": 1024}}]
    >>> _edge_choices(st, [6], StudyConfig(lr_grid=(0.01, 0.03), wd_grid=(0.0, 1e-3), hidden_grid=(256, 1024)))
    'learning rate at an end of its grid: dense 1 of 1; widest offered: dense 1 of 1'
    """
    tests = {"learning rate at an end of its grid": lambda a, st: st["lr"] in (min(study.lr_grid), max(study.lr_grid)),
             "largest weight decay offered": lambda a, st: st["weight_decay"] == max(study.wd_grid),
             "widest offered": lambda a, st: (st["hidden"] == max(study.hidden_grid) if a == "dense"
                                              else st["width"] == max(study.width_grid))}
    done = {(x["arm"], x["size"]): x["settings"] for x in states if x.get("settings") and x["size"] in sizes}
    parts = []
    for what, hit in tests.items():
        counts = []
        for arm in ARMS:
            mine = [st for (a, _), st in done.items() if a == arm]
            n = sum(hit(arm, st) for st in mine)
            if n:
                counts.append(f"{ARM_WORDS[arm]} {n} of {len(mine)}")
        if counts:
            parts.append(f"{what}: " + ", ".join(counts))
    return "; ".join(parts) or "none"


def _caption(cfg: Config, summary: dict) -> str:
    study = cfg.study
    caret = (", a caret marking an end that is only a bound (too many draws fell outside the rungs tried)"
             if open_ends(summary) else "")
    return (f"Training examples needed to reach {study.target:.0%} test accuracy against the number of "
            f"positions a 5×5 glyph can take on the canvas (log-log; canvases "
            f"{summary['sizes'][0]}×{summary['sizes'][0]} to {summary['sizes'][-1]}×{summary['sizes'][-1]}). "
            f"Points: the crossing of the seed-mean test accuracy ({study.seeds_main} seeds for the conv, "
            f"unshared-pooled and dense nets, {study.seeds_other} for the others), each net's learning "
            f"rate, weight decay and width tuned on validation data for that canvas; bars: 95% bootstrap "
            f"intervals over seeds and test examples{caret}. Hollow markers with arrows: never reached by the "
            f"largest training set tried (censored). Grey: a 1-nearest-neighbour lookup on pixels.")


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import (arm_style, censored_handle, censored_point, figsize, figure_legend,
                                   plain_log_axis)

    summary = result["summary"]
    pos = np.array(summary["positions"], float)
    fig, ax = plt.subplots(figsize=figsize(4.2), layout="constrained")
    order = ("dense", "local_flatten", "conv_flatten", "local", "cnn_fc", "conv", "memoriser")
    handles, directions = [], set()
    for i, arm in enumerate(order):
        k, style = summary["kinds"][arm], arm_style(arm)
        dodge = 1 + 0.02 * (i - 3)  # side by side, so equal points do not hide each other
        xs, ys = [], []
        for x, v, c, ci in zip(pos * dodge, k["needed"], k["censored"], k["needed_ci"]):
            if v is None:
                continue
            xs.append(x)
            ys.append(v)
            if c:
                censored_point(ax, x, v, arm, c, size=5.5, length=1.9)
                directions.add(c)
                continue
            lo = v / 1.6 if not ci[0] else ci[0]  # an open end: drawn short, with a caret
            hi = v * 1.6 if ci[1] is None else ci[1]  # (a percentile interval may leave out its point:
            #                                           a bar then stops at the point, never below it)
            alpha = 0.75 if arm == "memoriser" else 1
            ax.errorbar([x], [v], yerr=[[max(v - lo, 0.0)], [max(hi - v, 0.0)]], fmt=style["marker"], color=style["color"],
                        capsize=2.5, markersize=5, alpha=alpha, zorder=3, label=ARM_WORDS[arm])
            for end, open_end, caret in ((lo, not ci[0], r"$\vee$"), (hi, ci[1] is None, r"$\wedge$")):
                if open_end:  # only a bound: a caret, as on the capacity figure
                    ax.plot([x], [end], ls="", marker=caret, color=style["color"], markersize=6, alpha=alpha,
                            zorder=3)
        ax.plot(xs, ys, linestyle=style["linestyle"], color=style["color"], lw=1.2,
                alpha=0.75 if arm == "memoriser" else 1, label=ARM_WORDS[arm])
        handles.append(Line2D([], [], color=style["color"], marker=style["marker"],
                              linestyle=style["linestyle"], label=ARM_WORDS[arm]))
    ax.set(xscale="log", yscale="log", xlabel="positions the glyph can take (log)")
    ax.set_xticks(pos, [f"{int(p)}" for p in pos])
    ax.minorticks_off()
    ax.set_ylabel(f"examples needed for\n{summary['target']:.0%} test accuracy")
    plain_log_axis(ax.yaxis)
    labels = [h.get_label() for h in handles]
    words = {"above": "censored: more than the largest set tried", "below": "censored: the smallest set"}
    for direction in ("above", "below"):
        if direction in directions:
            handles.append(censored_handle(direction))
            labels.append(words[direction])
    figure_legend(fig, handles, labels, ncol=2)
    return fig
