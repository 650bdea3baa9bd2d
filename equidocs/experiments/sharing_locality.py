"""Sharing and locality with the readout held fixed: a 2 x 2 design plus the dense net.

The conv and locally-connected nets end in a global max-pool and an 8-wide linear readout; the dense
net has neither. So "conv vs dense" mixes sharing, locality *and* the readout. Here the window is
made as large as the canvas (an odd side, circular padding), which removes locality and keeps
everything else:

==========================  =====================  ==========================
                            5x5 windows (local)    whole-canvas windows
==========================  =====================  ==========================
shared weights              conv                   conv, global kernel
separate weights per place  locally connected      locally connected, global
==========================  =====================  ==========================

All four have the same pooled 8-wide readout. The locally-connected net with whole-canvas windows is
a dense layer (8 units per position, each reading every pixel) followed by the conv net's pooled
readout, so comparing it with the dense net isolates the readout. Each net gets the growth-law
study's per-condition protocol (:mod:`equidocs.experiments.search`), and the examples it needs to
reach the target come with 95% intervals; each gain is a ratio of two needs, with its interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs import stats
from equidocs.experiments.common import MODEL
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, bracket, deciding_stops, pilot, tune
from equidocs.experiments.wording import need_words, ratio_words

TITLE = "Sharing and locality with the readout held fixed"
ARMS = ("conv", "conv+global", "local", "local+global", "dense")
ARM_NAMES = {"conv": "conv (5×5, shared)", "conv+global": "conv, whole-canvas kernel (shared)",
             "local": "locally connected (5×5)", "local+global": "locally connected, whole-canvas windows",
             "dense": "dense (256 hidden, no pooling)"}
# gain name -> (worse, better, what the ratio isolates)
GAINS = {
    "sharing_with_locality": ("local", "conv", "sharing, with 5×5 windows"),
    "sharing_without_locality": ("local+global", "conv+global", "sharing, with whole-canvas windows"),
    "locality_with_sharing": ("conv+global", "conv", "locality, with shared weights"),
    "locality_without_sharing": ("local+global", "local", "locality, without sharing"),
    "readout": ("dense", "local+global", "the pooled readout vs a dense net's"),
}


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "deform": 0.5, "noise": 0.1,
                                                "canvas": 9, "n_val": 500, "n_test": 1000})
    arms: tuple = ARMS
    seeds: tuple = tuple(range(10))
    target: float = 0.9
    floor: int = 4
    cap: dict = field(default_factory=lambda: {"conv": 4096, "local": 16384, "dense": 16384})
    pilot_lr: float = 3e-3
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    tune_cap: int = 1024
    extend: int = 2
    margin: int = 1                       # rungs measured on each side of the bracket (for the bootstrap)
    epochs: int = 150                     # budget: 150 epochs and at least 3,000 steps (the locally-
    min_steps: int = 3000                 # connected nets need more than the growth study's 60 / 1,500)
    fit_loss: float = 0.05
    patience: int = 200
    boot: int = 1000
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # the same design, small: a 7x7 canvas, two seeds
            return cls(task={"dataset": "patterns", "deform": 0.5, "noise": 0.1, "canvas": 7,
                             "n_val": 200, "n_test": 300},
                       seeds=(0, 1), cap={"conv": 64, "local": 128, "dense": 128}, lr_grid=(3e-3, 1e-2),
                       tune_seeds=(0,), tune_cap=64, extend=1, epochs=10, min_steps=150, boot=200)
        return cls()


def condition(cfg: Config, arm: str) -> Condition:
    """The arm's model kind and options: "+global" sets the window to the whole (odd) canvas."""
    kind, _, scope = arm.partition("+")
    canvas = cfg.task["canvas"]
    if scope == "global" and canvas % 2 == 0:
        raise ValueError(f"canvas={canvas}: expected an odd side, so a centred window covers it")
    model = {**cfg.model, "kernel_size": canvas} if scope == "global" else dict(cfg.model)
    return Condition(kind, canvas, dict(cfg.task), model)


def verdict(r: dict) -> str:
    """"saves data", "costs data" or "inconclusive", from where the ratio's interval lies.

    >>> verdict({"value": 5.0, "low": 2.0, "high": 9.0}), verdict({"value": 1.1, "low": 0.7, "high": 1.6})
    ('saves data', 'inconclusive')
    """
    if r["value"] is not None and r["low"] > 1:
        return "saves data"
    if r["value"] is not None and r["high"] is not None and r["high"] < 1:
        return "costs data"
    return "inconclusive"


def run(cfg: Config, ctx) -> dict:
    conds = {arm: condition(cfg, arm) for arm in cfg.arms}
    found = pilot(list(conds.values()), cfg, ctx)
    tuned = tune(list(conds.values()), {c: min(found[c], cfg.tune_cap) for c in conds.values()}, cfg, ctx)
    rows = bracket(list(conds.values()), found, {c: tuned[c]["lr"] for c in conds.values()}, cfg.seeds, cfg, ctx,
                   margin=cfg.margin)
    n_test = cfg.task["n_test"]
    needs, arms = {}, {}
    for j, (arm, c) in enumerate(conds.items()):
        ns = [r["n"] for r in rows[c]]
        acc = np.array([r["acc"] for r in rows[c]]).T  # (seeds, rungs)
        needs[arm] = nd = stats.need(ns, acc, cfg.target, n_test=n_test, draws=cfg.boot, seed=100 * j)
        stops = deciding_stops(rows[c], cfg.target)
        arms[arm] = {"kind": c.kind, "model": c.model, "params": rows[c][0]["params"], "lr": tuned[c]["lr"],
                     "lr_edge": tuned[c]["edge"], "lr_table": tuned[c]["table"], "rows": rows[c],
                     "need": {"value": nd.value, "censored": nd.censored, "ci": [nd.low, nd.high]},
                     "deciding_stops": stops,
                     "train_acc_min": float(min(min(r["train_acc"]) for r in rows[c]))}
    gains = {name: {"worse": w, "better": b, "isolates": what, **asdict(stats.need_ratio(needs[w], needs[b]))}
             for name, (w, b, what) in GAINS.items() if w in needs and b in needs}
    for g in gains.values():
        g["verdict"] = verdict(g)
    numbers = {"canvas": str(cfg.task["canvas"]), "target": fmt_pct(cfg.target), "seeds": str(len(cfg.seeds)),
               "kernel": str(cfg.model["kernel_size"]), "width": str(cfg.model["width"])}
    for arm, a in arms.items():
        key = arm.replace("+", "_")
        n = a["need"]
        numbers[f"{key}.need"] = need_words(n["value"], n["censored"], n["ci"])
        numbers[f"{key}.params"] = fmt_int(a["params"])
        numbers[f"{key}.lr"] = f"{a['lr']:g}"
        numbers[f"{key}.budget"] = f"{a['deciding_stops'].count('budget')} of {len(a['deciding_stops'])}"
    for name, g in gains.items():
        numbers[f"gain.{name}"] = ratio_words(g["value"], g["low"], g["high"], g["lower_bound_only"])
        numbers[f"gain.{name}.verdict"] = g["verdict"]
    flags = [f"{ARM_NAMES[arm]}: {a['deciding_stops'].count('budget')} of {len(a['deciding_stops'])}"
             for arm, a in arms.items() if "budget" in a["deciding_stops"]]
    numbers["budget_flags"] = "; ".join(flags) or "none"
    return {"task": cfg.task, "target": cfg.target, "arms": arms, "gains": gains, "numbers": numbers,
            "caption": (f"Examples each net needs to reach {cfg.target:.0%} test accuracy on a "
                        f"{cfg.task['canvas']}×{cfg.task['canvas']} canvas of deformed glyphs, with 95% "
                        f"intervals over {len(cfg.seeds)} seeds and {n_test:,} test examples (log scale; an "
                        f"arrow: not reached on the largest set tried). The four nets on the left share the "
                        f"pooled {cfg.model['width']}-wide readout and differ only in sharing and window size; "
                        f"each has its own learning rate, tuned at its crossing on validation data.")}


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import SMALL_FONT, arm_style, censored_point, figsize, short_number

    arms = result["arms"]
    fig, ax = plt.subplots(figsize=figsize(3.4), layout="constrained")
    names = list(arms)
    for i, arm in enumerate(names):
        a = arms[arm]
        n, style = a["need"], arm_style(arm)  # one colour and marker per arm (plotting.ARM_STYLES)
        if n["censored"] == stats.ABOVE:  # its own marker, hollow, and an arrow up
            censored_point(ax, i, n["value"], arm, "above", size=8)
        else:
            lo, hi = n["ci"]
            ax.errorbar([i], [n["value"]], yerr=[[n["value"] - lo], [hi - n["value"]]], fmt=style["marker"],
                        color=style["color"], markersize=8, capsize=5, lw=2)
        above = n["censored"] == stats.ABOVE
        ax.text(i, n["value"] * (2.6 if above else 1.45), ("> " if above else "") + short_number(n["value"]),
                ha="center", va="bottom", fontsize=SMALL_FONT)
    labels = [ARM_NAMES[a].replace(", ", ",\n").replace(" (", "\n(") for a in names]
    ax.set_xticks(range(len(names)), labels, fontsize=SMALL_FONT)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: short_number(v)))
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_ylabel(f"examples to reach {result['target']:.0%}")
    values = [a["need"]["value"] for a in arms.values()]
    ax.set_ylim(min(values) / 2.5, max(values) * 8)
    if "dense" in names:
        ax.axvline(names.index("dense") - 0.5, color="0.5", lw=1, ls=":")
    ax.set_title(f"{result['task']['canvas']}×{result['task']['canvas']} canvas: same pooled readout "
                 f"on the left, a dense net on the right", fontsize=SMALL_FONT * 1.1)
    return fig
