"""Resolution scaling: training examples needed to reach a target accuracy vs canvas size.

The glyph keeps its size while the canvas grows, so the task gets no harder for a translation-
equivariant net, while a dense net sees ever more unrelated positions. For each size and model kind
the training set doubles until the seed-mean test accuracy reaches the target; the crossing is
interpolated in log N, with a bootstrap interval over seeds. Three growth laws are fitted to the
same points: power laws in the number of positions the glyph can take and in the number of pixels
d (N = a d^b), and an exponential in the side length S (N = a e^(c S)). The best is named by AIC,
and each is scored on predicting the largest canvas when fitted without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs.experiments.common import FULL_TRAIN, MODEL, QUICK_TRAIN, bootstrap_crossing, crossing, tuned_lrs
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.plotting import KIND_COLORS, KIND_LABELS
from equidocs.train import Job, TrainConfig, train_many

TITLE = "Samples needed vs resolution: the growth law, measured"
THEORY = {"conv": "O(polylog d)", "local": "Ω(d)", "dense": "Ω(d) with Adam, Ω(d²) with SGD"}


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "noise": 0.1,
                                                "n_val": 400, "n_test": 1000})
    canvases: tuple = (7, 8, 9, 10, 11)       # side S of the square canvas; the glyph is 5x5
    kinds: tuple = ("conv", "local", "dense")
    ladder: tuple = (4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)  # training-set sizes tried
    seeds: tuple = (0, 1, 2, 3, 4)
    target: float = 0.8
    tune_canvas: int = 9                      # learning rates tuned on this canvas at tune_n
    tune_n: int = 256
    train: TrainConfig = QUICK_TRAIN
    model: dict = field(default_factory=lambda: dict(MODEL))
    boot: int = 1000                          # bootstrap draws for the intervals

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, three seeds, a few minutes
            return cls(seeds=(0, 1, 2))
        return cls(canvases=(7, 8, 10, 12, 14), seeds=tuple(range(6)),
                   ladder=tuple(2 ** k for k in range(2, 14)), tune_canvas=12, train=FULL_TRAIN)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least squares y = a + b x; returns (a, b, residual sum of squares)."""
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b), float(((a + b * x - y) ** 2).sum())


LAWS = {  # name -> (variable, transform of side length S): log N = a + b * x
    "power law in positions": ("positions", lambda s: np.log((s - 4) ** 2)),
    "power law in pixels": ("pixels", lambda s: np.log(s ** 2)),
    "exponential in side length": ("side", lambda s: s),
}


def growth_laws(sides: list[int], needed: list[float]) -> dict:
    """Fit log N against log positions, log pixels (power laws) and S (exponential); compare by AIC.

    Positions are the (S - 4)^2 places a 5x5 glyph fits; pixels are S^2. All three laws have two
    parameters and are fitted to the same points, so AIC ranks them by residual; each is also
    fitted without the largest canvas and scored on predicting it.

    >>> g = growth_laws([8, 10, 12, 14], [3.0 * (s - 4) ** 2 for s in (8, 10, 12, 14)])
    >>> g["better"], round(g["laws"]["power law in positions"]["exponent"], 2)
    ('power law in positions', 1.0)
    """
    s = np.asarray(sides, float)
    logn = np.log(np.asarray(needed, float))
    laws = {}
    for law, (_, transform) in LAWS.items():
        x = transform(s)
        a, b, rss = _fit(x, logn)
        held_a, held_b, _ = _fit(x[:-1], logn[:-1]) if len(s) > 3 else (a, b, rss)
        laws[law] = {"exponent": b, "intercept": a, "rss": rss,
                     "aic": len(s) * math.log(max(rss, 1e-12) / len(s)) + 4,
                     "held_out_log_error": float(abs(held_a + held_b * x[-1] - logn[-1]))}
    better = min(laws, key=lambda law: laws[law]["aic"])
    return {"laws": laws, "better": better}


def verdict(kinds: dict) -> str:
    """One sentence per kind, computed from the fits: does a power law or an exponential win?

    >>> fit = {"better": "power law in positions", "laws": {"power law in positions": {"exponent": 1.2}}}
    >>> verdict({"dense": {"fit": fit}})
    'dense: polynomial (the power law in positions, exponent 1.20, fits best; the exponential does not).'
    """
    parts = []
    for kind, data in kinds.items():
        fit = data.get("fit")
        if not fit:
            parts.append(f"{kind}: {data.get('note', 'too few sizes reached the target to fit a law')}.")
        elif fit["better"].startswith("power"):
            law = fit["laws"][fit["better"]]
            parts.append(f"{kind}: polynomial (the {fit['better']}, exponent {law['exponent']:.2f}, fits "
                         f"best; the exponential does not).")
        else:
            parts.append(f"{kind}: exponential (an exponential in side length fits best).")
    return " ".join(parts)


def _ladder(cfg: Config, ctx, lrs: dict) -> dict:
    """Run the doubling ladder for every (kind, canvas) until its seed-mean accuracy reaches target."""
    acc = {(k, s): [] for k in cfg.kinds for s in cfg.canvases}   # per rung: per-seed accuracies
    active = set(acc)
    for n in cfg.ladder:
        if not active:
            break
        keys = sorted(active)
        jobs = [Job(kind, {**cfg.task, "canvas": side}, n, seed, model=cfg.model,
                    train=TrainConfig(**{**cfg.train.__dict__, "lr": lrs[kind]}))
                for kind, side in keys for seed in cfg.seeds]
        runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc=f"scaling n={n}")
        for i, key in enumerate(keys):
            chunk = runs[i * len(cfg.seeds):(i + 1) * len(cfg.seeds)]
            acc[key].append({"n": n, "acc": [r.test_acc for r in chunk],
                             "hit_budget": sum(r.hit_budget for r in chunk), "params": chunk[0].params})
            if np.mean(acc[key][-1]["acc"]) >= cfg.target:
                active.discard(key)
    return acc


def _fit_with_intervals(rows: list[dict], cfg: Config, rng) -> tuple[dict | None, str]:
    """Fit the laws to the uncensored sizes, with bootstrap intervals (resampling seeds)."""
    usable = [r for r in rows if r["censored"] is None]
    if len(usable) < 3:
        if all(r["censored"] == "below" for r in rows):
            return None, (f"reached the target with the smallest training set tried "
                          f"({rows[0]['ns'][0]} examples) at every size, so there is no growth to fit")
        return None, "too few sizes reached the target inside the ladder to fit a law"
    sides = [r["side"] for r in usable]
    fit = growth_laws(sides, [r["needed"] for r in usable])
    draws = {law: [] for law in LAWS}
    for _ in range(cfg.boot):
        pick = rng.integers(0, len(cfg.seeds), len(cfg.seeds))
        needed = [crossing(r["ns"], np.array(r["acc"])[pick].mean(0), cfg.target) for r in usable]
        if all(np.isfinite(needed)):
            for law, value in growth_laws(sides, needed)["laws"].items():
                draws[law].append(value["exponent"])
    for law in LAWS:
        fit["laws"][law]["ci"] = [float(v) for v in np.percentile(draws[law], [2.5, 97.5])]
    fit["sides"] = sides
    return fit, ""


def run(cfg: Config, ctx) -> dict:
    tune_task = {**cfg.task, "canvas": cfg.tune_canvas}
    tuned = {k: tuned_lrs([k], tune_task, cfg.tune_n, cfg.train, ctx, cfg.model)[k] for k in cfg.kinds}
    lrs = {k: tuned[k]["lr"] for k in cfg.kinds}
    ladders = _ladder(cfg, ctx, lrs)
    rng = np.random.default_rng(0)
    kinds, numbers = {}, {"seeds": str(len(cfg.seeds)), "target": fmt_pct(cfg.target),
                          "sizes": ", ".join(f"{s}×{s}" for s in cfg.canvases),
                          "n_sizes": str(len(cfg.canvases)), "ladder_max": fmt_int(cfg.ladder[-1]),
                          "ladder_min": fmt_int(cfg.ladder[0])}
    for kind in cfg.kinds:
        rows = []
        for side in cfg.canvases:
            rungs = ladders[(kind, side)]
            ns = [r["n"] for r in rungs]
            per_seed = np.array([r["acc"] for r in rungs]).T  # (seeds, rungs)
            point, lo, hi = bootstrap_crossing(ns, per_seed, cfg.target, draws=cfg.boot)
            rows.append({"side": side, "pixels": side * side, "positions": (side - 4) ** 2,
                         "ns": ns, "acc": per_seed.tolist(), "needed": point, "ci": [lo, hi],
                         "censored": "below" if point == ns[0] else ("above" if math.isnan(point) else None),
                         "hit_budget": sum(r["hit_budget"] for r in rungs), "params": rungs[0]["params"]})
        fit, note = _fit_with_intervals(rows, cfg, rng)
        if fit:
            for law, key in (("power law in positions", "positions"), ("power law in pixels", "pixels"),
                             ("exponential in side length", "side")):
                numbers[f"{kind}.{key}_exponent"] = f"{fit['laws'][law]['exponent']:.2f}"
                numbers[f"{kind}.{key}_ci"] = "{:.2f} to {:.2f}".format(*fit["laws"][law]["ci"])
            numbers[f"{kind}.better"] = fit["better"]
        for label, r in (("first", rows[0]), ("last", rows[-1])):
            numbers[f"{kind}.needed_{label}"] = (
                ("at most " if r["censored"] == "below" else "") + fmt_int(r["needed"])
                if np.isfinite(r["needed"]) else f"more than {fmt_int(cfg.ladder[-1])}")
        numbers[f"{kind}.lr"] = f"{lrs[kind]:g}"
        numbers[f"{kind}.summary"] = note or (
            f"needs N ∝ positions^{fit['laws']['power law in positions']['exponent']:.2f} examples")
        kinds[kind] = {"rows": rows, "fit": fit, "note": note, "lr": lrs[kind],
                       "lr_table": tuned[kind]["table"], "theory": THEORY[kind]}
    first, last = cfg.canvases[0], cfg.canvases[-1]
    for kind in ("local", "dense"):
        a, conv = kinds[kind]["rows"][-1]["needed"], kinds["conv"]["rows"][-1]
        at_least = "at least " if conv["censored"] == "below" else ""
        numbers[f"{kind}.over_conv_largest"] = (at_least + fmt_int(a / conv["needed"])
                                                if np.isfinite(a) else "n/a")
    numbers["verdict"] = verdict(kinds)
    numbers.update({"first": str(first), "last": str(last), "pixels_first": str(first * first),
                    "pixels_last": str(last * last)})
    return {"kinds": kinds, "target": cfg.target, "numbers": numbers, "caption": (
        f"Training examples needed to reach {cfg.target:.0%} test accuracy vs canvas size (5×5 glyph, "
        f"4 classes). Points: crossing of the {len(cfg.seeds)}-seed mean curve, interpolated in log N; "
        f"bars: 95% bootstrap interval over seeds; a downward triangle means the smallest training set "
        f"tried already reached the target. Left: against the number of positions the glyph can take "
        f"(log-log), with the fitted power law and reference slopes 1 and 2; right: against side "
        f"length (semi-log), where an exponential would be a straight line.")}


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import KIND_MARKERS, KIND_NAMES, figsize, muted_color, plain_log_axis

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=figsize(4.1), sharey=True, layout="constrained")
    handles, positions, sides = [], set(), set()
    for kind, data in result["kinds"].items():
        rows = [r for r in data["rows"] if r["needed"] is not None and np.isfinite(r["needed"])]
        color = KIND_COLORS[kind]
        for row in rows:
            marker = "v" if row["censored"] == "below" else KIND_MARKERS[kind]
            err = np.abs(np.array(row["ci"], float)[:, None] - row["needed"])
            for ax, x in ((ax1, row["positions"]), (ax2, row["side"])):
                ax.errorbar([x], [row["needed"]], yerr=err, fmt=marker, color=color, capsize=3, markersize=5)
            positions.add(row["positions"]), sides.add(row["side"])
        label = KIND_NAMES[kind]
        fit = data.get("fit")
        if fit:
            grid = np.linspace(min(fit["sides"]), max(fit["sides"]), 50)
            p = fit["laws"]["power law in positions"]
            e = fit["laws"]["exponential in side length"]
            ax1.plot((grid - 4) ** 2, np.exp(p["intercept"] + p["exponent"] * np.log((grid - 4) ** 2)),
                     "-", color=color, lw=1.2)
            ax2.plot(grid, np.exp(e["intercept"] + e["exponent"] * grid), "-", color=color, lw=1.2)
            label += f" (fit: N ∝ positions^{p['exponent']:.2f})"
        handles.append(Line2D([], [], color=color, marker=KIND_MARKERS[kind], lw=1.2 if fit else 0, label=label))
    rows = result["kinds"]["dense"]["rows"] if "dense" in result["kinds"] else []
    if rows and rows[0]["needed"] is not None and np.isfinite(rows[0]["needed"]):
        p0, n0 = rows[0]["positions"], rows[0]["needed"]
        p = np.array([p0, rows[-1]["positions"]], float)
        for slope, style in ((1, ":"), (2, "-.")):
            ax1.plot(p, n0 * (p / p0) ** slope, style, color=muted_color(), lw=1.2)
            handles.append(Line2D([], [], ls=style, color=muted_color(), lw=1.2,
                                  label=f"reference: slope {slope}"))
    if any(r["censored"] == "below" for d in result["kinds"].values() for r in d["rows"]):
        handles.append(Line2D([], [], ls="", marker="v", color=muted_color(),
                              label="reached the target with the smallest set tried"))
    ax1.set(xscale="log", yscale="log", xlabel="positions the glyph can take (log)",
            ylabel=f"training examples needed\nfor {result['target']:.0%} test accuracy",
            title="power law? (straight here)")
    ax2.set(yscale="log", xlabel="canvas side S (pixels)", title="exponential? (straight here)")
    if positions:
        ax1.set_xticks(sorted(positions), [str(int(x)) for x in sorted(positions)])
        ax2.set_xticks(sorted(sides), [str(int(x)) for x in sorted(sides)])
    ax1.minorticks_off(), ax2.minorticks_off()
    plain_log_axis(ax1.yaxis)
    fig.legend(handles=handles, loc="outside lower center", ncol=2)
    return fig
