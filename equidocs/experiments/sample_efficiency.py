"""Sample efficiency: test accuracy vs training-set size, until every net reaches the target.

Two tasks: deformed glyphs anywhere on a canvas (the growth-law study's task), and scikit-learn's
real handwritten digits anywhere on a larger canvas (split by source image). Each net is one *arm*:

- the conv net (circular padding, one block, global max-pool), and a "realistic" conv net with zero
  padding and two blocks with a 2x max-pool between them;
- the locally-connected net (the conv net's windows without sharing) and the dense net;
- two pixel-shuffled arms: one fixed shuffle of pixel positions applied to every image. The dense
  net on shuffled pixels is the same learning problem as on the original pixels (a sanity check
  that holds by construction); the conv net loses the spatial structure its prior relies on.

Every arm gets the growth-law study's per-condition protocol (:mod:`equidocs.experiments.search`):
a one-seed pilot locates its crossing, the learning rate is tuned there on validation data, and the
budget is counted in epochs. Then each arm climbs a doubling ladder of training-set sizes with every
seed until its seed-mean test accuracy reaches the target (and at least to ``n_common``, where all
arms are compared size by size), or its ladder's cap (censored: the need is a lower bound).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np

from equidocs import stats
from equidocs.data import digit_split_sizes
from equidocs.experiments.common import MODEL
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, climb, deciding_stops, pilot, tune
from equidocs.experiments.wording import need_words, ratio_words
from equidocs.plotting import KIND_COLORS, KIND_LABELS

TITLE = "Test accuracy vs training-set size, until every net reaches the target"
# arm -> (model kind, data options, model options on top of MODEL)
ARMS = {
    "conv": ("conv", {}, {}),
    "conv+zeros": ("conv", {}, {"padding": "zeros", "depth": 2, "downsample": "maxpool"}),
    "local": ("local", {}, {}),
    "dense": ("dense", {}, {}),
    "conv+perm": ("conv", {"permute": True}, {}),
    "dense+perm": ("dense", {"permute": True}, {}),
}
ARM_NAMES = {"conv": "conv", "conv+zeros": "conv, zero padding + max-pool", "local": "locally connected",
             "dense": "dense", "conv+perm": "conv, pixels shuffled", "dense+perm": "dense, pixels shuffled"}
RATIOS = (("dense", "conv"), ("local", "conv"), ("dense", "local"), ("conv+zeros", "conv"),
          ("conv+perm", "conv"), ("dense+perm", "dense"))  # (worse, better): worse needs x times more


@dataclass(frozen=True)
class Config:
    tasks: dict = field(default_factory=lambda: {
        "patterns": {"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 10,
                     "n_val": 500, "n_test": 1000},
        "digits": {"dataset": "digits", "canvas": 12, "n_val": 359, "n_test": 359},
    })
    # the digits pool has 1,079 training images, so their ladder stops at 1,024; at 90% it would
    # censor every net but the conv nets, so the digits are read at 75%
    targets: dict = field(default_factory=lambda: {"patterns": 0.9, "digits": 0.75})
    caps: dict = field(default_factory=lambda: {
        "patterns": {"conv": 8192, "local": 8192, "dense": 16384},
        "digits": {"conv": 1024, "local": 1024, "dense": 1024}})
    arms: tuple = tuple(ARMS)
    floor: int = 16                       # first rung of every ladder (rungs double from here)
    n_common: int = 1024                  # every arm climbs at least this far: the shared sizes
    seeds: tuple = tuple(range(8))
    pilot_lr: float = 3e-3
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    tune_cap: int = 1024                  # tune at min(pilot crossing, tune_cap)
    extend: int = 2                       # grid extensions allowed when an edge rate wins
    epochs: int = 150                     # budget: 150 epochs, and at least min_steps steps
    min_steps: int = 3000
    fit_loss: float = 0.05
    patience: int = 200
    boot: int = 1000                      # bootstrap draws for needs and ratios
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, small canvases, two seeds
            return cls(tasks={
                "patterns": {"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 10,
                             "n_val": 200, "n_test": 300},
                "digits": {"dataset": "digits", "canvas": 10, "n_val": 200, "n_test": 200}},
                caps={"patterns": {"conv": 64, "local": 64, "dense": 128},
                      "digits": {"conv": 128, "local": 128, "dense": 128}},
                n_common=32, seeds=(0, 1), lr_grid=(3e-3, 1e-2), tune_seeds=(0,), tune_cap=32,
                extend=1, epochs=10, min_steps=100, boot=200)
        return cls()


def protocol(cfg: Config, task: str) -> SimpleNamespace:
    """The search settings of one task (:mod:`equidocs.experiments.search` reads them)."""
    return SimpleNamespace(floor=cfg.floor, cap=dict(cfg.caps[task]), target=cfg.targets[task],
                           pilot_lr=cfg.pilot_lr, lr_grid=cfg.lr_grid, tune_seeds=cfg.tune_seeds,
                           extend=cfg.extend, epochs=cfg.epochs, min_steps=cfg.min_steps,
                           fit_loss=cfg.fit_loss, patience=cfg.patience)


def rungs(floor: int, cap: int) -> list[int]:
    """The doubling ladder from ``floor`` to ``cap``.

    >>> rungs(16, 128)
    [16, 32, 64, 128]
    """
    return [floor * 2 ** j for j in range(int(math.log2(cap / floor)) + 1)]


def condition(cfg: Config, task: str, arm: str) -> Condition:
    kind, data, model = ARMS[arm]
    return Condition(kind, 0, {**cfg.tasks[task], **data}, {**cfg.model, **model})


def measure_task(cfg: Config, task: str, ctx, seed: int) -> dict:
    """Pilot, tune and climb every arm of one task; needs, ratios and the common-size curves."""
    proto = protocol(cfg, task)
    conds = {arm: condition(cfg, task, arm) for arm in cfg.arms}
    found = pilot(list(conds.values()), proto, ctx)
    tuned = tune(list(conds.values()), {c: min(found[c], cfg.tune_cap) for c in conds.values()}, proto, ctx)
    ladders = {c: rungs(cfg.floor, proto.cap[c.kind]) for c in conds.values()}
    curves = climb(list(conds.values()), ladders, {c: tuned[c]["lr"] for c in conds.values()},
                   cfg.seeds, cfg.n_common, proto, ctx)
    n_test = cfg.tasks[task]["n_test"]
    arms, needs = {}, {}
    for j, (arm, c) in enumerate(conds.items()):
        rows = curves[c]
        ns = [r["n"] for r in rows]
        acc = np.array([r["acc"] for r in rows]).T  # (seeds, rungs)
        needs[arm] = stats.need(ns, acc, proto.target, n_test=n_test, draws=cfg.boot, seed=seed + j)
        nd = needs[arm]
        common = [i for i, n in enumerate(ns) if n <= cfg.n_common]
        stops = [s for r in rows for s in r["stop"]]
        arms[arm] = {
            "kind": c.kind, "model": c.model, "permute": bool(c.data.get("permute", False)),
            "lr": tuned[c]["lr"], "lr_edge": tuned[c]["edge"], "lr_tuned_at": tuned[c]["n"],
            "lr_table": tuned[c]["table"], "params": rows[0]["params"],
            "curve": {"ns": ns, "test_acc": acc.tolist(), "mean": acc.mean(0).tolist(),
                      "std": acc.std(0, ddof=1).tolist() if len(cfg.seeds) > 1 else [0.0] * len(ns),
                      "train_acc": [r["train_acc"] for r in rows], "stop": [r["stop"] for r in rows]},
            "test_acc": acc[:, common].tolist(),  # the shared sizes, for size-by-size comparisons
            "mean": acc[:, common].mean(0).tolist(),
            "need": {"value": nd.value, "censored": nd.censored, "ci": [nd.low, nd.high]},
            "stops": {reason: stops.count(reason) for reason in ("fit", "plateau", "budget")},
            "deciding_stops": deciding_stops(rows, proto.target),
            "hit_budget": stops.count("budget"), "runs": len(stops),
            "train_acc_min": float(min(min(r["train_acc"]) for r in rows)),
        }
    ratios = {f"{worse}/{better}": asdict(stats.need_ratio(needs[worse], needs[better]))
              for worse, better in RATIOS if worse in needs and better in needs}
    return {"spec": cfg.tasks[task], "target": proto.target,
            "ns": rungs(cfg.floor, cfg.n_common), "arms": arms, "ratios": ratios}


def numbers_for(task: str, data: dict) -> dict[str, str]:
    """Display strings for one task's pages."""
    out = {f"{task}.canvas": str(data["spec"]["canvas"]), f"{task}.target": fmt_pct(data["target"])}
    for arm, a in data["arms"].items():
        key = f"{task}.{arm.replace('+', '_')}"
        for n in rungs(Config.floor, Config.n_common):  # the full design's shared sizes: one table for both profiles
            out[f"{key}.acc{n}"] = "not run"
        for n, m in zip(data["ns"], a["mean"]):
            out[f"{key}.acc{n}"] = fmt_pct(m)
        out[f"{key}.params"] = fmt_int(a["params"])
        out[f"{key}.lr"] = f"{a['lr']:g}"
        out[f"{key}.n_target"] = need_words(a["need"]["value"], a["need"]["censored"], a["need"]["ci"])
        out[f"{key}.largest"] = fmt_int(a["curve"]["ns"][-1])
        out[f"{key}.hit_budget"] = f"{a['hit_budget']} of {a['runs']}"
        dec = a["deciding_stops"]
        out[f"{key}.deciding_budget"] = f"{dec.count('budget')} of {len(dec)}"
        out[f"{key}.deciding"] = ", ".join(f"{dec.count(r)} {r}" for r in ("fit", "plateau", "budget"))
        out[f"{key}.train_acc_min"] = fmt_pct(a["train_acc_min"])
    for name, r in data["ratios"].items():
        out[f"{task}.ratio.{name.replace('+', '_').replace('/', '_over_')}"] = ratio_words(
            r["value"], r["low"], r["high"], r["lower_bound_only"])
    arms = data["arms"]
    if {"conv", "local", "dense"} <= set(arms):  # points of accuracy, averaged over the shared sizes
        mean = {arm: np.mean(arms[arm]["mean"]) for arm in ("conv", "local", "dense")}
        out[f"{task}.sharing_gain"] = f"{100 * (mean['conv'] - mean['local']):+.0f}"
        out[f"{task}.locality_gain"] = f"{100 * (mean['local'] - mean['dense']):+.0f}"
    flags = [f"{ARM_NAMES[arm]}: {a['deciding_stops'].count('budget')} of {len(a['deciding_stops'])}"
             for arm, a in arms.items() if "budget" in a["deciding_stops"]]
    out[f"{task}.budget_flags"] = "; ".join(flags) or "none"
    unfit = [f"{ARM_NAMES[arm]} ({fmt_pct(a['train_acc_min'])} lowest training accuracy)"
             for arm, a in arms.items() if any(s != "fit" for s in a["deciding_stops"])]
    out[f"{task}.unfit"] = "; ".join(unfit) or "none"
    censored = [ARM_NAMES[arm] for arm, a in arms.items() if a["need"]["censored"] == stats.ABOVE]
    out[f"{task}.censored"] = ", ".join(censored) or "none"
    return out


def run(cfg: Config, ctx) -> dict:
    out: dict = {"tasks": {}}
    numbers: dict = {"seeds": str(len(cfg.seeds)), "n_common": fmt_int(cfg.n_common),
                     "n_min": fmt_int(cfg.floor), "target": fmt_pct(cfg.targets["patterns"]),
                     "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps),
                     "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid),
                     "tune_seeds": str(len(cfg.tune_seeds)),
                     "digits_pool": fmt_int(digit_split_sizes()["train"])}
    for i, task in enumerate(cfg.tasks):
        out["tasks"][task] = data = measure_task(cfg, task, ctx, seed=1000 * i)
        numbers.update(numbers_for(task, data))
        numbers[f"{task}.cap"] = fmt_int(max(cfg.caps[task].values()))
    out["numbers"] = numbers
    out["caption"] = (
        f"Test accuracy vs number of training examples (log scale), until every net reaches its "
        f"task's target (dotted line) or its ladder's cap. Mean over {len(cfg.seeds)} seeds; bands are "
        f"± one standard deviation across seeds; the marker on each curve's target line is the "
        f"interpolated need. Each net has its own learning rate, tuned on validation data at its "
        f"crossing; every run trains until its training set is fit or its loss plateaus (budget "
        f"{cfg.epochs} epochs, at least {cfg.min_steps:,} steps). Dashed: the same data after one "
        f"fixed random shuffle of pixel positions.")
    return out


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import (SMALL_FONT, arm_style, chance_line, dataset_label, figsize, figure_legend,
                                   num_classes, short_number)

    tasks = result["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=figsize(4.1), squeeze=False, sharey=True,
                             layout="constrained")
    registry = {"conv+zeros": "conv+zeros+maxpool"}  # this arm is zero padding and max-pool together
    for ax, (name, task) in zip(axes[0], tasks.items()):
        for arm, data in task["arms"].items():
            kind = data["kind"]
            style = arm_style(registry.get(arm, arm))  # one colour, marker and line style per arm
            ns, mean, std = data["curve"]["ns"], np.array(data["curve"]["mean"]), np.array(data["curve"]["std"])
            plain = arm in KIND_LABELS and "+" not in arm
            ax.plot(ns, mean, **style, label=ARM_NAMES[arm], markersize=5 if plain else 4,
                    lw=1.6 if plain else 1.2)
            ax.fill_between(ns, mean - std, mean + std, color=style["color"], alpha=0.12, lw=0)
            need = data["need"]
            if need["censored"] == "" and plain:
                ax.plot([need["value"]], [task["target"]], marker="|", color=KIND_COLORS[kind],
                        markersize=14, mew=2.2)
        ax.axhline(task["target"], color="0.5", ls=":", lw=1.2)
        chance_line(ax, num_classes(task["spec"]))
        canvas = task["spec"]["canvas"]
        params = " · ".join(f"{arm} {short_number(d['params'])}" for arm, d in task["arms"].items()
                            if "+" not in arm)
        ax.set_title(f"{dataset_label(task['spec'].get('dataset', name))}, {canvas}×{canvas} canvas, "
                     f"target {task['target']:.0%}", pad=SMALL_FONT * 2)
        ax.text(0.5, 1.01, f"parameters: {params}", transform=ax.transAxes, ha="center", va="bottom",
                fontsize=SMALL_FONT)  # just under the title, above the data
        longest = max((d["curve"]["ns"] for d in task["arms"].values()), key=len)
        ax.set(xscale="log", ylim=(0, 1.02), xlabel="training examples")
        ax.set_xticks(longest, [short_number(n) if i % 2 == 0 else "" for i, n in enumerate(longest)])
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[0][0].set_ylabel("test accuracy")
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure_legend(fig, handles, labels, ncol=3)
    return fig
