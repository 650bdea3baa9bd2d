"""Where the conv net's advantage lives, and what it costs a dense net to buy it with data.

Two controls on the glyph task of the data-efficiency page, each net an *arm*:

- **the readout**: the conv net with its global max-pool (shift invariant) against the same conv
  layer read by a *flatten* head, a linear classifier over every position's features
  (position-aware, like a dense net's readout). The ratio of their needs is what the invariant
  readout saves; dense against the flatten-head conv is what shared features save when neither net
  has an invariant readout.
- **equivariance bought with data**: the dense net trained with random-shift augmentation (every
  training image of every minibatch rolled by its own random circular offset; the glyph may wrap
  around the edges in training, never in testing). It measures the examples, and the training
  compute, a dense net needs to match the conv net when it is shown the symmetry instead of having
  it built in.

Every arm gets the growth-law study's per-condition protocol (:mod:`equidocs.experiments.search`)
under one budget, generous enough for augmented training (which rarely fits its shifted minibatches
and stops on its own plateau): a pilot locates its crossing, the learning rate is tuned there on
validation data, and every seed climbs a doubling ladder until the seed-mean test accuracy reaches
the target (one rung more, for the bootstrap). Needs and their ratios carry 95% intervals over seeds
and test examples; a run's training compute is its steps x minibatch x forward-and-backward FLOPs
per example (:mod:`equidocs.compute`), read at each arm's need.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs import stats
from equidocs.compute import flops_per_example, run_flops
from equidocs.data import glyphs
from equidocs.data_specs import make_splits
from equidocs.experiments.common import MODEL
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, climb, deciding_rows, deciding_stops, pilot, tune
from equidocs.experiments.wording import flop_words, need_words, ratio_words

TITLE = "The readout, and shift augmentation: what each buys in examples and compute"
# arm -> (model kind, model options on top of MODEL, TrainConfig options)
ARMS = {
    "conv": ("conv", {}, {}),
    "conv+flatten": ("conv", {"head": "flatten"}, {}),
    "dense": ("dense", {}, {}),
    "dense+shift": ("dense", {}, {"augment": "shift"}),
}
ARM_NAMES = {"conv": "conv, pooled head", "conv+flatten": "conv, flatten head",
             "dense": "dense", "dense+shift": "dense, shift augmentation"}
STYLES = {"conv": "-", "conv+flatten": ":", "dense": "-", "dense+shift": "--"}
# ratio name -> (worse, better, what it measures); each is read in examples and in training compute
RATIOS = {
    "pooling": ("conv+flatten", "conv", "the invariant (pooled) readout, the conv layer fixed"),
    "sharing_flatten": ("dense", "conv+flatten", "shared conv features, both readouts position-aware"),
    "augmentation": ("dense", "dense+shift", "shift augmentation, for the dense net"),
    "augmented_vs_conv": ("dense+shift", "conv", "the conv net over the augmented dense net"),
    "dense_vs_conv": ("dense", "conv", "the conv net over the plain dense net"),
}


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "deform": 0.5, "noise": 0.1,
                                                "canvas": 10, "n_val": 500, "n_test": 1000})
    arms: tuple = tuple(ARMS)
    target: float = 0.9
    seeds: tuple = tuple(range(8))
    floor: int = 16                       # first rung of every ladder (rungs double from here)
    n_min: int = 256                      # every arm climbs at least this far (overlapping curves)
    cap: dict = field(default_factory=lambda: {"conv": 16384, "dense": 16384})
    pilot_lr: float = 3e-3
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    tune_cap: int = 1024                  # tune at min(pilot crossing, tune_cap)
    extend: int = 2
    # augmented minibatches are never the same twice, so a run rarely "fits" them and stops on its
    # own plateau: 4x the data-efficiency page's budget and 5x its patience, for every arm
    epochs: int = 600
    min_steps: int = 12000
    fit_loss: float = 0.05
    patience: int = 1000
    boot: int = 1000
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # the same design, small: two seeds, short budgets
            return cls(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 8,
                             "n_val": 200, "n_test": 300},
                       seeds=(0, 1), n_min=32, cap={"conv": 128, "dense": 128}, lr_grid=(3e-3, 1e-2),
                       tune_seeds=(0,), tune_cap=32, extend=1, epochs=10, min_steps=150, patience=100,
                       boot=200)
        return cls()


def rungs(floor: int, cap: int) -> list[int]:
    """The doubling ladder from ``floor`` to ``cap``.

    >>> rungs(16, 128)
    [16, 32, 64, 128]
    """
    return [floor * 2 ** j for j in range(int(math.log2(cap / floor)) + 1)]


def condition(cfg: Config, arm: str) -> Condition:
    kind, model, train = ARMS[arm]
    return Condition(kind, 0, dict(cfg.task), {**cfg.model, **model}, dict(train))


def measure(cfg: Config, ctx, seed: int = 0) -> dict:
    """Pilot, tune and climb every arm; needs, training compute, and their ratios."""
    conds = {arm: condition(cfg, arm) for arm in cfg.arms}
    found = pilot(list(conds.values()), cfg, ctx)
    tuned = tune(list(conds.values()), {c: min(found[c], cfg.tune_cap) for c in conds.values()}, cfg, ctx)
    ladders = {c: rungs(cfg.floor, cfg.cap[c.kind]) for c in conds.values()}
    curves = climb(list(conds.values()), ladders, {c: tuned[c]["lr"] for c in conds.values()},
                   cfg.seeds, cfg.n_min, cfg, ctx)
    probe = make_splits({**cfg.task, "n_val": 1, "n_test": 1}, 1, 0)
    shape, classes = tuple(probe.train.x.shape[1:]), probe.num_classes
    arms, needs, computes = {}, {}, {}
    for j, (arm, c) in enumerate(conds.items()):
        rows = curves[c]
        ns = [r["n"] for r in rows]
        acc = np.array([r["acc"] for r in rows]).T  # (seeds, rungs)
        per_example = flops_per_example(c.kind, shape, classes, **c.model)
        flops = np.array([[run_flops(s, r["n"], per_example) for s in r["steps"]] for r in rows]).T
        nd, cp = stats.need_and_cost(ns, acc, flops, cfg.target, n_test=cfg.task["n_test"], draws=cfg.boot,
                                     seed=seed + j)
        needs[arm], computes[arm] = nd, cp
        stops = [s for r in rows for s in r["stop"]]
        deciding = deciding_rows(rows, cfg.target)
        arms[arm] = {
            "kind": c.kind, "model": c.model, "train": c.train, "lr": tuned[c]["lr"],
            "lr_edge": tuned[c]["edge"], "lr_tuned_at": tuned[c]["n"], "lr_table": tuned[c]["table"],
            "params": rows[0]["params"], "flops_per_example": per_example,
            "curve": {"ns": ns, "test_acc": acc.tolist(), "mean": acc.mean(0).tolist(),
                      "std": acc.std(0, ddof=1).tolist() if len(cfg.seeds) > 1 else [0.0] * len(ns),
                      "train_acc": [r["train_acc"] for r in rows], "stop": [r["stop"] for r in rows],
                      "steps": [r["steps"] for r in rows], "flops": flops.tolist(),
                      "flops_mean": flops.mean(0).tolist()},
            "need": {"value": nd.value, "censored": nd.censored, "ci": [nd.low, nd.high]},
            "compute": {"value": cp.value, "censored": cp.censored, "ci": [cp.low, cp.high]},
            # a need that is only a bound bounds the compute only if compute grows with the size
            "compute_grows": bool(np.all(np.diff(flops.mean(0)) >= 0)),
            "stops": {reason: stops.count(reason) for reason in ("fit", "plateau", "budget")},
            "deciding_stops": deciding_stops(rows, cfg.target),
            "deciding_train_acc_min": float(min(min(r["train_acc"]) for r in deciding)),
            "hit_budget": stops.count("budget"), "runs": len(stops),
            "train_acc_min": float(min(min(r["train_acc"]) for r in rows)),
        }
    ratios = {}
    for name, (worse, better, what) in RATIOS.items():
        if worse in needs and better in needs:
            compute = stats.need_ratio(computes[worse], computes[better])
            # censored draws read as bounds: valid for compute only where compute grows with the size
            bounded = any(c for a in (worse, better) for c in needs[a].draws_censored)
            valid = not bounded or (arms[worse]["compute_grows"] and arms[better]["compute_grows"])
            ratios[name] = {"worse": worse, "better": better, "measures": what,
                            "examples": asdict(stats.need_ratio(needs[worse], needs[better])),
                            "compute": asdict(compute) if valid else asdict(stats.Ratio(None, 0.0, None, False)),
                            "compute_bounds_valid": valid}
    return {"spec": cfg.task, "target": cfg.target, "shifts": shape[1] * shape[2], "arms": arms,
            "ratios": ratios}


def wrapped_share(canvas: int, glyph: int) -> float:
    """Share of uniform circular shifts that split a glyph across the canvas edges: per axis, a
    glyph at any allowed position stays whole under ``canvas - glyph + 1`` of the ``canvas`` offsets.

    >>> wrapped_share(10, 5)  # 1 - (6/10)^2
    0.64
    """
    return round(1 - ((canvas - glyph + 1) / canvas) ** 2, 12)


def numbers_for(data: dict) -> dict[str, str]:
    """Display strings for the page."""
    glyph = data["spec"].get("pattern_size", glyphs().shape[-1])
    out = {"canvas": str(data["spec"]["canvas"]), "target": fmt_pct(data["target"]),
           "glyph": str(glyph), "wrapped": fmt_pct(wrapped_share(data["spec"]["canvas"], glyph)),
           "shifts": fmt_int(data["shifts"]), "n_test": fmt_int(data["spec"]["n_test"])}
    for arm, a in data["arms"].items():
        key = arm.replace("+", "_")
        need, comp = a["need"], a["compute"]
        out[f"{key}.params"] = fmt_int(a["params"])
        out[f"{key}.lr"] = f"{a['lr']:g}"
        out[f"{key}.lr_tuned_at"] = fmt_int(a["lr_tuned_at"])
        out[f"{key}.need"] = need_words(need["value"], need["censored"], need["ci"])
        out[f"{key}.compute"] = (flop_words(comp["value"], comp["censored"], comp["ci"]) if not comp["censored"]
                                 or a["compute_grows"] else "not determined (it never reached the target)")
        out[f"{key}.flops_per_example"] = flop_words(a["flops_per_example"], "")
        out[f"{key}.largest"] = fmt_int(a["curve"]["ns"][-1])
        dec = a["deciding_stops"]
        out[f"{key}.deciding"] = ", ".join(f"{dec.count(r)} {r}" for r in ("fit", "plateau", "budget"))
        out[f"{key}.stops"] = ", ".join(f"{a['stops'][r]} {r}" for r in ("fit", "plateau", "budget"))
        out[f"{key}.train_acc_min"] = fmt_pct(a["deciding_train_acc_min"])
    for name, r in data["ratios"].items():
        out[f"ratio.{name}.examples"] = ratio_words(**r["examples"])
        out[f"ratio.{name}.compute"] = (ratio_words(**r["compute"]) if r["compute_bounds_valid"] else
                                        "not determined (a need that is only a bound does not bound the compute "
                                        "of a net whose compute does not grow with the training set)")
    arms = data["arms"]
    flags = [f"{ARM_NAMES[arm]}: {a['deciding_stops'].count('budget')} of {len(a['deciding_stops'])}"
             for arm, a in arms.items() if "budget" in a["deciding_stops"]]
    out["budget_flags"] = "; ".join(flags) or "none"
    unfit = [f"{ARM_NAMES[arm]} ({fmt_pct(a['deciding_train_acc_min'])} lowest training accuracy)"
             for arm, a in arms.items() if any(s != "fit" for s in a["deciding_stops"])]
    out["unfit"] = "; ".join(unfit) or "none"
    censored = [ARM_NAMES[arm] for arm, a in arms.items() if a["need"]["censored"] == stats.ABOVE]
    out["censored"] = ", ".join(censored) or "none"
    return out


def run(cfg: Config, ctx) -> dict:
    data = measure(cfg, ctx)
    numbers = {"seeds": str(len(cfg.seeds)), "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps),
               "patience": fmt_int(cfg.patience), "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid),
               "tune_seeds": str(len(cfg.tune_seeds)), "n_min": fmt_int(cfg.n_min),
               "tune_cap": fmt_int(cfg.tune_cap),
               **numbers_for(data)}
    caption = (
        f"Left: test accuracy vs training examples (log scale) until each net reaches {cfg.target:.0%} "
        f"(dotted line); mean over {len(cfg.seeds)} seeds, bands ± one standard deviation, the tick on "
        f"the target line the interpolated need. Right: the training compute of one run at each size "
        f"(forward and backward FLOPs, mean over seeds), the tick at the need. Dotted: the conv layer "
        f"read by a flatten head; dashed: the dense net trained on randomly shifted copies. Each net "
        f"has its own learning rate, tuned on validation data; every run trains until its training "
        f"set is fit or its loss plateaus (budget {cfg.epochs} epochs, at least {cfg.min_steps:,} steps).")
    return {**data, "numbers": numbers, "caption": caption}


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import (arm_style, chance_line, figsize, figure_legend, num_classes, plain_log_axis,
                                   short_number)

    fig, (acc_ax, flop_ax) = plt.subplots(1, 2, figsize=figsize(3.9), layout="constrained")
    target = result["target"]
    for arm, data in result["arms"].items():
        look = arm_style(arm)  # one colour, marker and line style per arm (plotting.ARM_STYLES)
        color, style = look["color"], look["linestyle"]
        curve, need, comp = data["curve"], data["need"], data["compute"]
        ns, mean, std = curve["ns"], np.array(curve["mean"]), np.array(curve["std"])
        plain = "+" not in arm
        kw = dict(color=color, marker=look["marker"], markersize=5 if plain else 4, lw=1.6 if plain else 1.3)
        acc_ax.plot(ns, mean, style, label=f"{ARM_NAMES[arm]} ({short_number(data['params'])} parameters)", **kw)
        acc_ax.fill_between(ns, mean - std, mean + std, color=color, alpha=0.12, lw=0)
        flop_ax.plot(ns, curve["flops_mean"], style, **kw)
        if need["censored"] == "":
            acc_ax.plot([need["value"]], [target], marker="|", color=color, markersize=14, mew=2.2)
            flop_ax.plot([need["value"]], [comp["value"]], marker="|", color=color, markersize=14, mew=2.2)
    acc_ax.axhline(target, color="0.5", ls=":", lw=1.2)
    chance_line(acc_ax, num_classes(result["spec"]))
    canvas = result["spec"]["canvas"]
    acc_ax.set(xscale="log", ylim=(0, 1.02), xlabel="training examples", ylabel="test accuracy",
               title=f"Glyphs, {canvas}×{canvas} canvas, target {target:.0%}")
    acc_ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    flop_ax.set(xscale="log", yscale="log", xlabel="training examples",
                ylabel="training compute of one run (FLOPs)", title="Compute to train one net")
    plain_log_axis(flop_ax.yaxis)  # 10M, 1B, ...: no small superscripts
    sizes = sorted({n for data in result["arms"].values() for n in data["curve"]["ns"]})
    for ax in (acc_ax, flop_ax):
        ax.set_xticks(sizes, [short_number(n) if i % 2 == 0 else "" for i, n in enumerate(sizes)])
        ax.xaxis.set_minor_locator(plt.NullLocator())
    handles, labels = acc_ax.get_legend_handles_labels()
    figure_legend(fig, handles, labels, ncol=2)
    return fig
