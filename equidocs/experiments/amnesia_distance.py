"""Amnesia, measured properly: test accuracy against the distance from the trained region.

:mod:`equidocs.experiments.amnesia` shows *that* a dense net trained with every glyph in the top-left
quadrant fails outside it. This experiment asks *how* accuracy falls with distance from that
quadrant, and whether more data cures it. The canvas is wide enough that some positions put the
glyph's 5×5 box on pixels that no training glyph ever covered (the "no-overlap" zone: Chebyshev
distance of at least 5 pixels from every trained top-left position). A net can reach such a glyph
only through what its architecture shares between positions; what it learned from pixels cannot
help, since those pixels were only ever noise in training.

Every (kind, training-set size) gets its own learning rate, tuned on validation data drawn from the
training quadrant (:func:`equidocs.experiments.search.tune`, epochs-based budget with a floor in
steps). Then every (kind, size, seed) is trained once with its rate, and
:func:`equidocs.experiments.amnesia.probe` scores it on fresh test images at every top-left
position. Per distance, the positions at that distance are averaged per seed, then the seeds; the
95% intervals resample seeds and test images.

The conv net (circular padding, global max-pooling) is exactly invariant to circular shifts, and a
glyph with i.i.d. noise around it moved to another position is a circular shift of the image in
distribution: its flat curve is a sanity check of the code, true by construction, not a finding.
The finding is the dense and locally-connected curves.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from equidocs import stats
from equidocs.data import Region, region
from equidocs.experiments.common import MODEL
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, budget, tune
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, RunResult, train_many

TITLE = "Amnesia, measured: accuracy against distance from the trained region"
GLYPH = 5  # side of the glyph's box: positions this far from the trained region share no pixel with it
PROBE = "equidocs.experiments.amnesia:probe"  # accuracy at every top-left position, same images for every model
KIND_WORDS = {"conv": "conv", "local": "locally-connected", "dense": "dense"}
SANITY = ("sanity check, not a finding: the conv net (circular padding, global max-pooling) is exactly "
          "invariant to circular shifts, so its flat curve holds by construction")


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {
        "dataset": "patterns", "canvas": 20, "noise": 0.1, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 400, "n_test": 1000})
    kinds: tuple = ("conv", "local", "dense")
    ns: tuple = (64, 256, 1024, 4096)            # training-set sizes: one curve each
    seeds: tuple = tuple(range(5))
    draws: int = 8                               # noisy test images per class and position
    # Learning-rate tuning and budget (read by equidocs.experiments.search.tune and .budget):
    pilot_lr: float = 3e-3                       # the budget's placeholder rate; every run gets its tuned one
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    extend: int = 2                              # grid extensions allowed when an edge rate wins
    epochs: int = 60                             # budget: 60 epochs, and at least min_steps steps
    min_steps: int = 1500
    fit_loss: float = 0.05
    patience: int = 200
    model: dict = field(default_factory=lambda: dict(MODEL))
    boot: int = 2000                             # bootstrap draws per interval

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # the same design, tiny: a 14×14 canvas still has positions 5 pixels away
            return cls(task={**cls().task, "canvas": 14}, ns=(32, 128), seeds=(0, 1),
                       lr_grid=(3e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=15, min_steps=300,
                       draws=2, boot=400)
        return cls()


# ---- geometry ---------------------------------------------------------------------------------------

def distance(position: tuple[int, int], area: Region) -> int:
    """Chebyshev distance in pixels from a glyph's top-left ``position`` (row, col) to the nearest
    top-left position of ``area``; 0 inside it.

    A glyph of side ``p`` at distance ``>= p`` shares no pixel with a glyph placed anywhere in
    ``area``: two p×p boxes overlap exactly when both their row and column offsets are below p.

    >>> area = Region(0, 0, 8, 8)
    >>> distance((3, 7), area), distance((8, 2), area), distance((9, 12), area)
    (0, 1, 5)
    """
    r, c = position
    dr = max(area.top - r, 0, r - (area.top + area.height - 1))
    dc = max(area.left - c, 0, c - (area.left + area.width - 1))
    return max(dr, dc)


def distance_map(canvas: int, where: str = "top-left", pattern: int = GLYPH) -> np.ndarray:
    """:func:`distance` of every top-left position of a ``pattern`` on a ``canvas`` from region
    ``where``, as a (positions, positions) integer array.

    >>> distance_map(8).tolist()  # 4x4 positions, a 2x2 trained quadrant
    [[0, 0, 1, 2], [0, 0, 1, 2], [1, 1, 1, 2], [2, 2, 2, 2]]
    """
    area = region(where, canvas, pattern)
    side = canvas - pattern + 1
    return np.array([[distance((r, c), area) for c in range(side)] for r in range(side)], dtype=int)


# ---- words for the page ---------------------------------------------------------------------------

def fmt_interval(iv: stats.Interval) -> str:
    """An accuracy with its interval, as the pages print it.

    >>> fmt_interval(stats.Interval(0.5, 0.42, 0.581))
    '50% (95% interval 42% to 58%)'
    """
    return f"{fmt_pct(iv.mean)} (95% interval {fmt_pct(iv.low)} to {fmt_pct(iv.high)})"


def fmt_points(value: float) -> str:
    """A difference of accuracies in signed percentage points (a true minus sign: a leading "-"
    could start a Markdown list).

    >>> fmt_points(0.031), fmt_points(-0.02), fmt_points(-0.004)
    ('+3', '−2', '0')
    """
    r = round(100 * value)
    return "0" if r == 0 else f"+{r}" if r > 0 else f"−{-r}"


def fmt_change(iv: stats.Interval) -> str:
    """A difference with its interval, in percentage points.

    >>> fmt_change(stats.Interval(0.03, -0.01, 0.07)), fmt_change(stats.Interval(0.01, 0.0, 0.02))
    ('+3 points (95% interval −1 to +7 points)', '+1 point (95% interval 0 to +2 points)')
    """
    unit = "point" if abs(round(100 * iv.mean)) == 1 else "points"
    return f"{fmt_points(iv.mean)} {unit} (95% interval {fmt_points(iv.low)} to {fmt_points(iv.high)} points)"


def versus_chance(iv: stats.Interval, chance: float) -> str:
    """Where an accuracy's interval lies relative to chance, in words.

    >>> versus_chance(stats.Interval(0.3, 0.27, 0.33), 0.25), versus_chance(stats.Interval(0.26, 0.23, 0.29), 0.25)
    ('above chance', 'inconclusive (the interval includes chance, 25%)')
    """
    if iv.low > chance:
        return "above chance"
    if iv.high < chance:
        return "below chance"
    return f"inconclusive (the interval includes chance, {fmt_pct(chance)})"


def change_verdict(iv: stats.Interval) -> str:
    """Whether a change's interval excludes zero, in words.

    >>> change_verdict(stats.Interval(0.1, 0.05, 0.15)), change_verdict(stats.Interval(0.0, -0.02, 0.02))
    ('a rise', 'inconclusive (the interval includes zero)')
    """
    if iv.excludes(0.0):
        return "a rise" if iv.mean > 0 else "a fall"
    return "inconclusive (the interval includes zero)"


def invariance_check(iv: stats.Interval) -> str:
    """The conv net's sanity check: no-overlap minus inside accuracy should include zero.

    >>> invariance_check(stats.Interval(0.0, -0.01, 0.01))
    'passes: no-overlap and inside accuracy are indistinguishable, as exact invariance requires'
    """
    if iv.excludes(0.0):
        return ("fails: no-overlap and inside accuracy differ, which exact invariance rules out "
                "(check the model code and the probe)")
    return "passes: no-overlap and inside accuracy are indistinguishable, as exact invariance requires"


# ---- the measurement ---------------------------------------------------------------------------------

def _stops(runs: Sequence[RunResult]) -> dict[str, int]:
    counts = Counter(r.stop for r in runs)
    return {reason: int(counts.get(reason, 0)) for reason in ("fit", "plateau", "budget")}


def _fmt_stops(stops: dict[str, int]) -> str:
    """Stop reasons in words.

    >>> _fmt_stops({"fit": 18, "plateau": 1, "budget": 1})
    '18 fit, 1 plateau, 1 hit the budget'
    """
    return f"{stops['fit']} fit, {stops['plateau']} plateau, {stops['budget']} hit the budget"


def _interval_dict(iv: stats.Interval) -> dict:
    return {"mean": round(iv.mean, 4), "low": round(iv.low, 4), "high": round(iv.high, 4)}


def analyse(runs: Sequence[RunResult], tuned: dict[tuple[str, int], dict], cfg: Config) -> dict:
    """Curves, zone accuracies, intervals, stop reasons and the computed conclusions of a finished
    set of runs (``runs`` holds one per (kind, n, seed), each with the probe's ``acc`` map;
    ``tuned`` is :func:`equidocs.experiments.search.tune`'s answer per (kind, n))."""
    task = cfg.task
    canvas, where = task["canvas"], task["train_where"]
    area = region(where, canvas, GLYPH)
    dmap = distance_map(canvas, where)
    classes = 10 if task.get("dataset") == "digits" else int(task.get("num_classes", 4))
    chance = 1.0 / classes
    per_position = classes * cfg.draws  # test images per position (the probe's)
    distances = list(range(int(dmap.max()) + 1))
    counts = [int((dmap == d).sum()) for d in distances]
    zone = dmap >= GLYPH
    n_zone, n_inside = int(zone.sum()) * per_position, counts[0] * per_position
    models, budget_hits = {}, []
    for j, kind in enumerate(cfg.kinds):
        by_n, zone_acc, inside_acc = {}, {}, {}  # per n: per-seed accuracies, unrounded
        for i, n in enumerate(cfg.ns):
            mine = sorted((r for r in runs if r.kind == kind and r.n_train == n), key=lambda r: r.seed)
            if len(mine) != len(cfg.seeds):
                raise ValueError(f"{kind} with n={n}: expected {len(cfg.seeds)} runs (one per seed), "
                                 f"got {len(mine)}")
            maps = np.array([r.probe["acc"] for r in mine], float)  # (seeds, side, side)
            if maps.shape[1:] != dmap.shape:
                raise ValueError(f"{kind} with n={n}: probe map of shape {maps.shape[1:]}, expected "
                                 f"{dmap.shape} for canvas {canvas}")
            curve_ps = np.stack([maps[:, dmap == d].mean(1) for d in distances], axis=1)  # (seeds, D)
            zone_ps = maps[:, zone].mean(1)
            zone_acc[n], inside_acc[n] = zone_ps, curve_ps[:, 0]
            seed = 1000 * j + 10 * i
            curve = stats.shared_test_intervals(curve_ps, [c * per_position for c in counts], draws=cfg.boot, seed=seed)
            inside = curve[0]  # distance 0 is the trained region
            outside, = stats.shared_test_intervals(zone_ps[:, None], n_zone, draws=cfg.boot, seed=seed + 1)
            hits = [r for r in mine if r.hit_budget]
            budget_hits += [{"kind": kind, "n": n, "seed": r.seed, "steps": r.steps} for r in hits]
            t = tuned[kind, n]
            by_n[str(n)] = {
                "lr": t["lr"], "lr_edge": bool(t["edge"]), "lr_table": t["table"],
                "curve": {k: [round(getattr(iv, k), 4) for iv in curve] for k in ("mean", "low", "high")},
                "curve_per_seed": curve_ps.round(4).tolist(),
                "inside": _interval_dict(inside), "inside_per_seed": curve_ps[:, 0].round(4).tolist(),
                "no_overlap": _interval_dict(outside), "no_overlap_per_seed": zone_ps.round(4).tolist(),
                "acc_map": maps.mean(0).round(4).tolist(),
                "stops": _stops(mine), "budget_seeds": [r.seed for r in hits],
                "train_acc_min": round(min(r.train_acc for r in mine), 4),
                "steps": [r.steps for r in mine], "params": mine[0].params,
            }
        first, last = cfg.ns[0], cfg.ns[-1]
        # Different training sets at the two sizes: resampled independently. The same models in both
        # zones: paired by seed.
        change = stats.shared_test_difference(zone_acc[last], zone_acc[first], n_zone, n_zone, paired=False,
                                        draws=cfg.boot, seed=1000 * j + 500)
        gap = stats.shared_test_difference(zone_acc[last], inside_acc[last], n_zone, n_inside, paired=True,
                                     draws=cfg.boot, seed=1000 * j + 600)
        models[kind] = {"params": by_n[str(first)]["params"], "by_n": by_n,
                        "no_overlap_change": _interval_dict(change),
                        "no_overlap_minus_inside": _interval_dict(gap)}
    result = {
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "seeds": list(cfg.seeds), "canvas": canvas,
        "glyph": GLYPH, "side": int(dmap.shape[0]), "classes": classes, "chance": chance,
        "draws": cfg.draws, "test_images_per_position": per_position,
        "region": {"top": area.top, "left": area.left, "height": area.height, "width": area.width},
        "distances": distances, "positions_at": counts, "no_overlap_from": GLYPH,
        "no_overlap_positions": int(zone.sum()), "distance_map": dmap.tolist(),
        "models": models, "budget_hits": budget_hits,
    }
    result["numbers"] = numbers(result, cfg)
    result["caption"] = caption(result)
    return result


def _iv(d: dict) -> stats.Interval:
    return stats.Interval(d["mean"], d["low"], d["high"])


def budget_flags(result: dict) -> str:
    """Every run that hit its step budget, by kind and training-set size, or "none".

    >>> budget_flags({"budget_hits": [{"kind": "dense", "n": 4096, "seed": 3, "steps": 1920}]})
    'dense with 4,096 examples: seed 3 (1,920 steps)'
    """
    return "; ".join(f"{KIND_WORDS.get(h['kind'], h['kind'])} with {fmt_int(h['n'])} examples: seed "
                     f"{h['seed']} ({fmt_int(h['steps'])} steps)" for h in result["budget_hits"]) or "none"


def takeaway(kind: str, result: dict) -> str:
    """Two computed sentences per kind: its no-overlap accuracy at the largest training set, inside
    accuracy beside it and where it stands against chance; then its change from the smallest set.

    >>> iv = lambda m: {"mean": m, "low": m - 0.03, "high": m + 0.03}
    >>> r = {"ns": [64, 4096], "chance": 0.25, "models": {"dense": {
    ...     "no_overlap_change": {"mean": 0.01, "low": -0.03, "high": 0.05},
    ...     "by_n": {"64": {"inside": iv(0.6), "no_overlap": iv(0.25)},
    ...              "4096": {"inside": iv(0.99), "no_overlap": iv(0.26)}}}}}
    >>> print(takeaway("dense", r))
    With 4,096 training examples, the dense net scores 99% inside the trained quadrant and 26% (95% interval 23% to 29%) where no training glyph ever covered a pixel: inconclusive, not distinguishable from chance (25%). With 64 examples it scored 25% there; the change, +1 point (95% interval −3 to +5 points), includes zero: 64 times the data bought no measurable gain there, at most +5 points.
    """
    ns, data = result["ns"], result["models"][kind]
    last, first = data["by_n"][str(ns[-1])], data["by_n"][str(ns[0])]
    zone, change, chance = _iv(last["no_overlap"]), _iv(data["no_overlap_change"]), result["chance"]
    stands = versus_chance(zone, chance)
    stands = (f"{stands} ({fmt_pct(chance)})" if not stands.startswith("inconclusive") else
              f"inconclusive, not distinguishable from chance ({fmt_pct(chance)})")
    verdict = change_verdict(change)
    moved = (f"includes zero: {fmt_int(ns[-1] // ns[0])} times the data bought no measurable gain there, "
             f"at most {fmt_points(change.high)} points" if verdict.startswith("inconclusive") else
             f"excludes zero: more data {'helps' if verdict == 'a rise' else 'hurts'} there")
    return (f"With {fmt_int(ns[-1])} training examples, the {KIND_WORDS.get(kind, kind)} net scores "
            f"{fmt_pct(last['inside']['mean'])} inside the trained quadrant and {fmt_interval(zone)} where "
            f"no training glyph ever covered a pixel: {stands}. With {fmt_int(ns[0])} examples it scored "
            f"{fmt_pct(first['no_overlap']['mean'])} there; the change, {fmt_change(change)}, {moved}.")


def numbers(result: dict, cfg: Config) -> dict[str, str]:
    """Display strings for the pages: the design, and per kind the zone accuracies, changes and
    verdicts. Keys name sizes by rank (``first`` / ``last``), so a page works with any profile."""
    ns, chance = result["ns"], result["chance"]
    q = result["region"]
    out = {
        "canvas": str(result["canvas"]), "glyph": str(GLYPH), "side": str(result["side"]),
        "positions": fmt_int(result["side"] ** 2), "trained_side": str(q["height"]),
        "trained_positions": fmt_int(q["height"] * q["width"]),
        "no_overlap_positions": fmt_int(result["no_overlap_positions"]),
        "max_distance": str(result["distances"][-1]), "no_overlap_from": str(GLYPH),
        "seeds": str(len(result["seeds"])), "draws": str(result["draws"]),
        "test_images_per_position": fmt_int(result["test_images_per_position"]),
        "ns": ", ".join(fmt_int(n) for n in ns[:-1]) + f" and {fmt_int(ns[-1])}",
        "n_sizes": str(len(ns)), "n_first": fmt_int(ns[0]), "n_last": fmt_int(ns[-1]),
        "chance": fmt_pct(chance), "noise": f"{cfg.task.get('noise', 0.1):g}",
        "n_val": fmt_int(cfg.task.get("n_val", 500)),
        "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid), "tune_seeds": str(len(cfg.tune_seeds)),
        "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps), "fit_loss": f"{cfg.fit_loss:g}",
        "runs": fmt_int(len(result["kinds"]) * len(ns) * len(result["seeds"])),
        "budget_runs": fmt_int(len(result["budget_hits"])), "budget_flags": budget_flags(result),
        "lr_edges": fmt_int(sum(d["lr_edge"] for m in result["models"].values() for d in m["by_n"].values())),
        "conv_note": SANITY,
    }
    for kind, data in result["models"].items():
        by_n = data["by_n"]
        first, last = by_n[str(ns[0])], by_n[str(ns[-1])]
        change = _iv(data["no_overlap_change"])
        stops = {k: sum(d["stops"][k] for d in by_n.values()) for k in ("fit", "plateau", "budget")}
        out |= {
            f"{kind}.params": fmt_int(data["params"]),
            f"{kind}.inside_first": fmt_interval(_iv(first["inside"])),
            f"{kind}.inside_last": fmt_interval(_iv(last["inside"])),
            f"{kind}.no_overlap_first": fmt_interval(_iv(first["no_overlap"])),
            f"{kind}.no_overlap_last": fmt_interval(_iv(last["no_overlap"])),
            f"{kind}.inside_by_n": ", ".join(f"{fmt_int(n)}: {fmt_pct(by_n[str(n)]['inside']['mean'])}" for n in ns),
            f"{kind}.no_overlap_by_n": ", ".join(f"{fmt_int(n)}: {fmt_pct(by_n[str(n)]['no_overlap']['mean'])}"
                                                 for n in ns),
            f"{kind}.change": fmt_change(change),
            f"{kind}.change_verdict": change_verdict(change),
            f"{kind}.vs_chance": versus_chance(_iv(last["no_overlap"]), chance),
            f"{kind}.lr_by_n": ", ".join(f"{fmt_int(n)}: {by_n[str(n)]['lr']:.2g}" for n in ns),
            f"{kind}.stops": _fmt_stops(stops),
            f"{kind}.budget_runs": fmt_int(stops["budget"]),
            f"{kind}.train_acc_min": fmt_pct(min(d["train_acc_min"] for d in by_n.values())),
            f"{kind}.takeaway": takeaway(kind, result),
        }
    if "conv" in result["models"]:
        gap = _iv(result["models"]["conv"]["no_overlap_minus_inside"])
        out["conv.no_overlap_minus_inside"] = fmt_change(gap)
        out["conv.invariance_check"] = invariance_check(gap)
    return out


def caption(result: dict) -> str:
    ns, q = result["ns"], result["region"]
    return (f"Test accuracy against the Chebyshev distance (pixels) of the glyph's top-left position from "
            f"the trained region, after training with every glyph in the top-left {q['height']}×{q['width']} "
            f"positions of a {result['canvas']}×{result['canvas']} canvas; one line per training-set size "
            f"({', '.join(fmt_int(n) for n in ns)} examples). Each point averages the positions at that "
            f"distance per seed, then {len(result['seeds'])} seeds; bands: 95% bootstrap intervals over "
            f"seeds and test images ({result['test_images_per_position']} per position, the same for every "
            f"model). Shaded: distance {GLYPH} or more, where the {GLYPH}×{GLYPH} glyph shares no pixel with "
            f"any training glyph. Learning rate tuned per model and size on validation data from the "
            f"trained quadrant. Conv panel: a {SANITY}; the dense and locally-connected curves are the finding.")


def run(cfg: Config, ctx) -> dict:
    task = dict(cfg.task)
    dmap = distance_map(task["canvas"], task["train_where"])
    if dmap.max() < GLYPH:
        raise ValueError(f"canvas {task['canvas']}: no position lies {GLYPH} pixels from the trained "
                         f"region (at most {dmap.max()}); expected a canvas of at least 13")
    conds = {(kind, n): Condition(kind, n, task, cfg.model) for kind in cfg.kinds for n in cfg.ns}
    found = tune(list(conds.values()), {c: c.size for c in conds.values()}, cfg, ctx)
    tuned = {key: found[c] for key, c in conds.items()}
    jobs = [Job(kind, task, n, seed, model=cfg.model, probe=PROBE, probe_args={"draws": cfg.draws},
                train=replace(budget(cfg, n), lr=tuned[kind, n]["lr"]))
            for kind in cfg.kinds for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="amnesia distance")
    return analyse(runs, tuned, cfg)


# ---- the figure ------------------------------------------------------------------------------------

def ramp(k: int, dark: bool = False) -> list[str]:
    """``k`` colours of a sequential ramp (viridis) for training-set sizes, smallest first: the
    largest set gets the most contrast with the page (dark purple on white, yellow on slate), and
    every colour keeps at least 3:1 contrast on its page.

    >>> ramp(3), ramp(1, dark=True)
    (['#22a884', '#2f6c8e', '#482475'], ['#bddf26'])
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    low, high = (0.4, 0.9) if dark else (0.6, 0.1)
    return [to_hex(colormaps["viridis"](t)) for t in np.linspace(high, low, k)[::-1]]  # one set: the most contrast


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    from equidocs.plotting import (KIND_NAMES, OTHER_MARKERS, SMALL_FONT, THEMES, chance_line, figsize,
                                   muted_color)

    kinds, ns = result["kinds"], result["ns"]
    d = np.array(result["distances"])
    start, colors = result["no_overlap_from"], ramp(len(ns), dark=muted_color() == THEMES["dark"]["muted"])
    fig, axes = plt.subplots(1, len(kinds), figsize=figsize(3.5), sharey=True, squeeze=False,
                             layout="constrained")
    step = 1 if len(d) <= 7 else 2
    for j, (ax, kind) in enumerate(zip(axes[0], kinds)):
        ax.axvspan(start - 0.5, d[-1] + 0.5, color=muted_color(), alpha=0.15, lw=0, zorder=0)
        for i, n in enumerate(ns):
            curve = result["models"][kind]["by_n"][str(n)]["curve"]
            ax.fill_between(d, curve["low"], curve["high"], color=colors[i], alpha=0.2, lw=0)
            ax.plot(d, curve["mean"], color=colors[i], marker=OTHER_MARKERS[i % len(OTHER_MARKERS)],
                    markersize=4)
        chance_line(ax, result["classes"], label=j == 0, where="left")
        if kind == "conv":
            ax.text(0.5, 0.5, "flat by construction:\na sanity check", transform=ax.transAxes,
                    ha="center", va="center", fontsize=SMALL_FONT, color=muted_color())
        ticks = list(d[::step])
        ax.set_xticks(ticks, ["0\ntrained" if t == 0 else str(t) for t in ticks])
        ax.set_xlim(-0.4, d[-1] + 0.5)
        ax.set_title(KIND_NAMES.get(kind, kind))
        for spine in ax.spines.values():
            spine.set(color=KIND_COLORS.get(kind, muted_color()), lw=2)
    axes[0][0].set_ylim(0, 1.03)
    axes[0][0].yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes[0][0].set_ylabel("test accuracy")
    axes[0][len(kinds) // 2].set_xlabel("distance of the glyph from the trained region (pixels)")
    handles = [Line2D([], [], color=c, marker=OTHER_MARKERS[i % len(OTHER_MARKERS)], markersize=4,
                      label=f"{n:,} examples") for i, (n, c) in enumerate(zip(ns, colors))]
    handles.append(Patch(color=muted_color(), alpha=0.3, lw=0,
                         label=f"shaded ({start}+ pixels away): no pixel\nshared with any training glyph"))
    # Filled column by column: the sizes in two rows, the shaded zone's entry in the last column.
    fig.legend(handles=handles, loc="outside lower center", ncol=math.ceil(len(ns) / 2) + 1)
    return fig
