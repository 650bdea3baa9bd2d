"""Resolution scaling: training examples needed to reach a target accuracy vs canvas size.

The glyph keeps its size while the canvas grows, so the task gets no harder for a translation-
equivariant net, while a dense net sees ever more unrelated positions. For each size and model kind
the training set doubles until the seed-mean test accuracy reaches the target; the crossing is
interpolated in log N, with a bootstrap interval over seeds. Two growth laws are fitted to the same
points: a power law in the number of pixels d (N = a d^b) and an exponential in the side length S
(N = a e^(c S)). The better one is named by AIC, and by how well each, fitted without the largest
canvas, predicts it.
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
        if name == "quick":
            return cls()
        return cls(canvases=(7, 8, 10, 12, 14, 16, 20, 24), seeds=tuple(range(10)),
                   ladder=tuple(2 ** k for k in range(2, 16)), tune_canvas=14, target=0.9,
                   train=FULL_TRAIN)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least squares y = a + b x; returns (a, b, residual sum of squares)."""
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b), float(((a + b * x - y) ** 2).sum())


def growth_laws(sides: list[int], needed: list[float]) -> dict:
    """Fit log N against log d (power law) and against S (exponential); compare on the same points.

    >>> g = growth_laws([8, 10, 12, 14], [64 * 1.0 * s ** 2 for s in (8, 10, 12, 14)])
    >>> g["better"], round(g["power"]["exponent"], 2)
    ('power law', 1.0)
    """
    s = np.asarray(sides, float)
    logn = np.log(np.asarray(needed, float))
    fits = {}
    for law, x in (("power", 2 * np.log(s)), ("exponential", s)):
        a, b, rss = _fit(x, logn)
        held_a, held_b, _ = _fit(x[:-1], logn[:-1]) if len(s) > 3 else (a, b, rss)
        fits[law] = {"exponent": b, "intercept": a, "rss": rss,
                     "aic": len(s) * math.log(max(rss, 1e-12) / len(s)) + 4,
                     "held_out_log_error": float(abs(held_a + held_b * x[-1] - logn[-1]))}
    better = "power law" if fits["power"]["aic"] <= fits["exponential"]["aic"] else "exponential"
    return {**fits, "better": better}


def verdict(kinds: dict) -> str:
    """One sentence, computed from the fits: which growth law the data favour for each kind.

    >>> verdict({"dense": {"laws": {"better": "power law", "power": {"exponent": 1.2}}}})
    'dense: a power law, N ∝ d^1.20, fits better than an exponential in side length.'
    """
    parts = []
    for kind, data in kinds.items():
        laws = data.get("laws")
        if not laws:
            parts.append(f"{kind}: too few sizes reached the target to fit a law.")
        elif laws["better"] == "power law":
            parts.append(f"{kind}: a power law, N ∝ d^{laws['power']['exponent']:.2f}, fits better "
                         f"than an exponential in side length.")
        else:
            parts.append(f"{kind}: an exponential in side length fits better than a power law.")
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
        rows, boot = [], []
        for side in cfg.canvases:
            rungs = ladders[(kind, side)]
            ns = [r["n"] for r in rungs]
            per_seed = np.array([r["acc"] for r in rungs]).T  # (seeds, rungs)
            point, lo, hi = bootstrap_crossing(ns, per_seed, cfg.target, draws=cfg.boot)
            rows.append({"side": side, "pixels": side * side, "positions": (side - 4) ** 2,
                         "ns": ns, "acc": per_seed.tolist(), "needed": point, "ci": [lo, hi],
                         "censored": "below" if point == ns[0] else ("above" if math.isnan(point) else None),
                         "hit_budget": sum(r["hit_budget"] for r in rungs), "params": rungs[0]["params"]})
            boot.append(per_seed)
        finite = [r for r in rows if np.isfinite(r["needed"])]
        laws = growth_laws([r["side"] for r in finite], [r["needed"] for r in finite]) if len(finite) >= 3 else None
        if laws:  # bootstrap over seeds: refit the laws on resampled crossings
            draws = {"power": [], "exponential": []}
            for _ in range(cfg.boot):
                pick = rng.integers(0, len(cfg.seeds), len(cfg.seeds))
                needed = [crossing(r["ns"], np.array(r["acc"])[pick].mean(0), cfg.target) for r in finite]
                if all(np.isfinite(needed)):
                    g = growth_laws([r["side"] for r in finite], needed)
                    draws["power"].append(g["power"]["exponent"])
                    draws["exponential"].append(g["exponential"]["exponent"])
            for law in draws:
                laws[law]["ci"] = [float(v) for v in np.percentile(draws[law], [2.5, 97.5])]
            numbers[f"{kind}.power_exponent"] = f"{laws['power']['exponent']:.2f}"
            numbers[f"{kind}.power_ci"] = "{:.2f} to {:.2f}".format(*laws["power"]["ci"])
            numbers[f"{kind}.exp_rate"] = f"{laws['exponential']['exponent']:.2f}"
            numbers[f"{kind}.better"] = laws["better"]
            numbers[f"{kind}.aic_gap"] = f"{abs(laws['power']['aic'] - laws['exponential']['aic']):.1f}"
        for label, r in (("first", rows[0]), ("last", rows[-1])):
            numbers[f"{kind}.needed_{label}"] = (
                fmt_int(r["needed"]) if np.isfinite(r["needed"]) else f"more than {fmt_int(cfg.ladder[-1])}")
        numbers[f"{kind}.lr"] = f"{lrs[kind]:g}"
        kinds[kind] = {"rows": rows, "laws": laws, "lr": lrs[kind], "lr_table": tuned[kind]["table"],
                       "theory": THEORY[kind]}
    first, last = cfg.canvases[0], cfg.canvases[-1]
    for kind in ("local", "dense"):
        a, b = kinds[kind]["rows"][-1]["needed"], kinds["conv"]["rows"][-1]["needed"]
        numbers[f"{kind}.over_conv_largest"] = fmt_int(a / b) if np.isfinite(a) else "n/a"
    numbers["verdict"] = verdict(kinds)
    numbers.update({"first": str(first), "last": str(last), "pixels_first": str(first * first),
                    "pixels_last": str(last * last)})
    return {"kinds": kinds, "target": cfg.target, "numbers": numbers, "caption": (
        f"Training examples needed to reach {cfg.target:.0%} test accuracy vs canvas size (5×5 glyph, "
        f"4 classes). Points: crossing of the {len(cfg.seeds)}-seed mean curve, interpolated in log N; "
        f"bars: 95% bootstrap interval over seeds. Left: against pixels d (log-log), with the fitted "
        f"power law and the theory slopes d and d² for reference; right: against side length "
        f"(semi-log), where an exponential would be a straight line.")}


def figure(result: dict) -> plt.Figure:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    for kind, data in result["kinds"].items():
        rows = [r for r in data["rows"] if np.isfinite(r["needed"])]
        side = np.array([r["side"] for r in rows], float)
        needed = np.array([r["needed"] for r in rows])
        err = np.abs(np.array([r["ci"] for r in rows]).T - needed)
        color = KIND_COLORS[kind]
        for ax, x in ((ax1, side ** 2), (ax2, side)):
            ax.errorbar(x, needed, yerr=err, fmt="o", color=color, capsize=3, label=KIND_LABELS[kind])
        laws = data["laws"]
        if laws:
            grid = np.linspace(side.min(), side.max(), 50)
            p, e = laws["power"], laws["exponential"]
            ax1.plot(grid ** 2, np.exp(p["intercept"] + p["exponent"] * 2 * np.log(grid)), "-", color=color,
                     lw=1, label=f"fit: N ∝ d^{p['exponent']:.2f} ({laws['better']} wins)")
            ax2.plot(grid, np.exp(e["intercept"] + e["exponent"] * grid), "-", color=color, lw=1)
    anchor = result["kinds"]["dense"]["rows"][0]
    d0, n0 = anchor["side"] ** 2, anchor["needed"]
    d = np.array([d0, max(r["side"] for r in result["kinds"]["dense"]["rows"]) ** 2], float)
    if np.isfinite(n0):
        for slope, style in ((1, ":"), (2, "-.")):
            ax1.plot(d, n0 * (d / d0) ** slope, style, color="gray", lw=1, label=f"theory slope d^{slope}")
    ax1.set(xscale="log", yscale="log", xlabel="pixels d = S²", ylabel=f"examples to reach {result['target']:.0%}")
    ax2.set(yscale="log", xlabel="canvas side S (pixels)", ylabel=f"examples to reach {result['target']:.0%}")
    ax1.legend(fontsize=7, loc="upper left")
    ax1.set_title("power law? (straight here)")
    ax2.set_title("exponential? (straight here)")
    fig.tight_layout()
    return fig
