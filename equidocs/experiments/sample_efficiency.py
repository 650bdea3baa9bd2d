"""Sample efficiency: test accuracy vs training-set size for conv, locally-connected and dense nets.

Two tasks: synthetic glyphs anywhere on a canvas, and scikit-learn's real handwritten digits placed
anywhere on a larger canvas (split by source image). Each also has a pixel-permuted arm: one fixed
shuffle of pixel positions applied to every image. A dense net cannot tell the difference; a conv
net loses the spatial structure its prior relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs.experiments.common import FULL_TRAIN, MODEL, QUICK_TRAIN, bootstrap_crossing, mean_std, tuned_lrs
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.plotting import KIND_COLORS, KIND_LABELS
from equidocs.train import Job, TrainConfig, train_many

TITLE = "Test accuracy vs training-set size, conv vs locally connected vs dense"
ARMS = ("conv", "local", "dense", "conv+perm", "local+perm", "dense+perm")


@dataclass(frozen=True)
class Config:
    tasks: dict = field(default_factory=lambda: {
        "patterns": {"dataset": "patterns", "canvas": 12, "noise": 0.1, "n_val": 400, "n_test": 1000},
        "digits": {"dataset": "digits", "canvas": 16, "n_val": 359, "n_test": 359},
    })
    ns: tuple = (16, 64, 256, 1024)       # training-set sizes (log-spaced)
    seeds: tuple = (0, 1, 2, 3, 4)        # independent runs per point
    arms: tuple = ("conv", "local", "dense", "conv+perm", "dense+perm")
    tune_n: int = 256                     # learning rates are tuned at this size, per arm and task
    target: float = 0.9                   # accuracy whose sample cost is read off the curves
    train: TrainConfig = QUICK_TRAIN
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, three seeds, a few minutes
            return cls(seeds=(0, 1, 2))
        return cls(tasks={
            "patterns": {"dataset": "patterns", "canvas": 16, "noise": 0.1, "n_val": 500, "n_test": 1000},
            "digits": {"dataset": "digits", "canvas": 20, "n_val": 359, "n_test": 359},
        }, ns=(16, 64, 256, 1024), seeds=tuple(range(5)), train=FULL_TRAIN)  # digits: 1,079 sources


def _spec(task: dict, arm: str) -> tuple[str, dict]:
    kind, _, perm = arm.partition("+")
    return kind, {**task, "permute": bool(perm)}


def run(cfg: Config, ctx) -> dict:
    out: dict = {"tasks": {}}
    numbers: dict = {"seeds": str(len(cfg.seeds)), "target": fmt_pct(cfg.target),
                     "n_max": fmt_int(max(cfg.ns)), "n_min": fmt_int(min(cfg.ns))}
    for task_name, task in cfg.tasks.items():
        lrs, jobs = {}, []
        for arm in cfg.arms:
            kind, spec = _spec(task, arm)
            lrs[arm] = tuned_lrs([kind], spec, cfg.tune_n, cfg.train, ctx, cfg.model)[kind]
            for n in cfg.ns:
                for seed in cfg.seeds:
                    train = TrainConfig(**{**cfg.train.__dict__, "lr": lrs[arm]["lr"]})
                    jobs.append((arm, Job(kind, spec, n, seed, model=cfg.model, train=train)))
        runs = train_many([j for _, j in jobs], workers=ctx.workers, device=ctx.device,
                          desc=f"sample efficiency: {task_name}")
        arms = {}
        for arm in cfg.arms:
            mine = [r for (a, _), r in zip(jobs, runs) if a == arm]
            acc = np.array([[r.test_acc for r in mine if r.n_train == n] for n in cfg.ns]).T  # (seeds, ns)
            point, lo, hi = bootstrap_crossing(list(cfg.ns), acc, cfg.target)
            arms[arm] = {
                "lr": lrs[arm]["lr"], "lr_table": lrs[arm]["table"], "params": mine[0].params,
                "test_acc": acc.tolist(), "mean": acc.mean(0).tolist(),
                "std": acc.std(0, ddof=1).tolist(),
                "steps": [mean_std([r.steps for r in mine if r.n_train == n])[0] for n in cfg.ns],
                "hit_budget": sum(r.hit_budget for r in mine), "runs": len(mine),
                "n_target": point, "n_target_ci": [lo, hi],
            }
            slug = arm.replace("+", "_")
            for n, m in zip(cfg.ns, arms[arm]["mean"]):
                numbers[f"{task_name}.{slug}.acc{n}"] = fmt_pct(m)
            numbers[f"{task_name}.{slug}.params"] = fmt_int(arms[arm]["params"])
            numbers[f"{task_name}.{slug}.lr"] = f"{arms[arm]['lr']:g}"
            numbers[f"{task_name}.{slug}.n_target"] = (
                fmt_int(point) if np.isfinite(point) else f"more than {fmt_int(max(cfg.ns))}")
            numbers[f"{task_name}.{slug}.hit_budget"] = f"{arms[arm]['hit_budget']} of {len(mine)}"
            numbers[f"{task_name}.{slug}.train_acc_min"] = fmt_pct(min(r.train_acc for r in mine))
        numbers[f"{task_name}.canvas"] = str(task["canvas"])
        if {"conv", "local", "dense"} <= set(arms):  # points of accuracy, averaged over the sizes
            mean = {arm: np.mean(arms[arm]["mean"]) for arm in ("conv", "local", "dense")}
            numbers[f"{task_name}.sharing_gain"] = f"{100 * (mean['conv'] - mean['local']):+.0f}"
            numbers[f"{task_name}.locality_gain"] = f"{100 * (mean['local'] - mean['dense']):+.0f}"
        out["tasks"][task_name] = {"spec": task, "ns": list(cfg.ns), "arms": arms}
    out["numbers"] = numbers
    out["caption"] = (
        f"Test accuracy vs number of training examples (log scale). Mean over {len(cfg.seeds)} "
        f"seeds; bands are ± one standard deviation across seeds. Each arm uses its own learning "
        f"rate, picked on a validation split at n = {cfg.tune_n}; every run trains until its "
        f"training set is fit or its loss plateaus (budget {cfg.train.max_steps} steps). Dashed: "
        f"the same data after one fixed random shuffle of pixel positions.")
    return out


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import (KIND_MARKERS, SMALL_FONT, chance_line, dataset_label, figsize,
                                   num_classes, short_number)

    tasks = result["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=figsize(3.9), squeeze=False, sharey=True,
                             layout="constrained")
    for ax, (name, task) in zip(axes[0], tasks.items()):
        ns = task["ns"]
        for arm, data in task["arms"].items():
            kind, _, perm = arm.partition("+")
            mean, std = np.array(data["mean"]), np.array(data["std"])
            label = KIND_LABELS[kind] if not perm else f"{kind}, pixels shuffled"
            ax.plot(ns, mean, "-" if not perm else "--", marker=KIND_MARKERS[kind], color=KIND_COLORS[kind],
                    label=label, markersize=5 if not perm else 4, mfc=None if not perm else "none",
                    lw=1.6 if not perm else 1.2)
            ax.fill_between(ns, mean - std, mean + std, color=KIND_COLORS[kind], alpha=0.15, lw=0)
        chance_line(ax, num_classes(task["spec"]))
        canvas = task["spec"]["canvas"]
        params = " · ".join(f"{arm} {short_number(data['params'])}" for arm, data in task["arms"].items()
                            if "+" not in arm)
        ax.set_title(f"{dataset_label(task['spec'].get('dataset', name))}, {canvas}×{canvas} canvas",
                     pad=SMALL_FONT * 2)
        ax.text(0.5, 1.01, f"parameters: {params}", transform=ax.transAxes, ha="center", va="bottom",
                fontsize=SMALL_FONT)  # just under the title, above the data
        ax.set(xscale="log", ylim=(0, 1.02), xlabel="training examples")
        ax.set_xticks(ns, [str(n) if len(ns) <= 6 or i % 2 == 0 else "" for i, n in enumerate(ns)])
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[0][0].set_ylabel("test accuracy")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2)
    return fig
