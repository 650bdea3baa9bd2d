"""Amnesia: train with glyphs only in the top-left quadrant, then test at every position.

The conv net recognises the glyph wherever it appears; the dense net only where it was shown; the
locally-connected net sits between. The per-position class probabilities for one fixed stop sign
are saved too: the site's interactive explorer shows these real outputs.

Every (kind, training-set size) is a condition with its own learning rate, tuned on validation data
drawn from the training quadrant (:func:`equidocs.experiments.search.tune`: ``tune_seeds`` seeds
per rate, the grid extended past an edge that wins), under a budget counted in epochs with a floor
in steps (:func:`equidocs.experiments.search.budget`); a run stops when its training set is fit or
its training loss plateaus, and every stop reason is counted. Then every (kind, size, seed) is
trained once with its rate and :func:`probe` scores it at every position on the same test images.
Inside and outside accuracies carry 95% intervals over seeds and test images
(:func:`equidocs.stats.shared_test_intervals`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from equidocs import stats
from equidocs.data import pattern_canvas, region
from equidocs.experiments.common import MODEL, mean_std
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, budget, tune
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, RunResult, train_many

TITLE = "Amnesia: trained in one corner, tested everywhere"
PROBE_SEED = 424242  # the same test images for every model
STOPS = ("fit", "plateau", "budget")  # equidocs.train's stop reasons
# The tuning and budget fields (read by equidocs.experiments.search.tune and .budget); the explorer's
# models (equidocs.experiments.explorer_models) copy them, so they are trained exactly as these are.
PROTOCOL = ("pilot_lr", "lr_grid", "tune_seeds", "extend", "epochs", "min_steps", "fit_loss", "patience")


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {
        "dataset": "patterns", "canvas": 12, "noise": 0.1, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 400, "n_test": 1000})
    kinds: tuple = ("conv", "local", "dense")
    ns: tuple = (16, 64, 512, 2048)       # training-set sizes (the explorer's selector)
    seeds: tuple = tuple(range(6))
    draws: int = 8                        # noisy test images per class and position
    pilot_lr: float = 3e-3                # the budget's placeholder rate; every run gets its tuned one
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)         # seeds per rate when tuning (mean validation accuracy)
    extend: int = 2                       # grid extensions allowed when an edge rate wins
    epochs: int = 60                      # budget: 60 epochs, and at least min_steps steps
    min_steps: int = 1500
    fit_loss: float = 0.05                # stop when the full training loss is below this ...
    patience: int = 200                   # ... or after this many steps without a 1% better loss
    model: dict = field(default_factory=lambda: dict(MODEL))
    boot: int = 2000                      # bootstrap draws per interval

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, two sizes, three seeds, short budgets
            return cls(ns=(64, 512), seeds=(0, 1, 2), draws=4, lr_grid=(3e-3, 1e-2, 3e-2), tune_seeds=(0, 1),
                       extend=1, epochs=30, min_steps=600, boot=400)
        return cls()


def _positions(canvas: int, pattern: int) -> int:
    return canvas - pattern + 1


def probe(model: torch.nn.Module, splits, job: Job, draws: int = 4) -> dict:
    """Accuracy at every top-left position, and the class probabilities of one fixed stop sign."""
    canvas, noise = job.data["canvas"], job.data.get("noise", 0.1)
    side = _positions(canvas, 5)
    k = splits.num_classes
    acc = np.zeros((side, side))
    stop_probs = np.zeros((side, side, k))
    model.eval()
    with torch.no_grad():
        for r in range(side):
            xs = [pattern_canvas(k * draws, canvas, where=(r, c), noise=noise,
                                 seed=PROBE_SEED + r * side + c) for c in range(side)]
            x = torch.cat([d.x for d in xs])
            y = torch.cat([d.y for d in xs])
            probs = torch.softmax(model(x), dim=1).reshape(side, k * draws, k)
            hits = (probs.argmax(2) == y.reshape(side, k * draws)).float().mean(1)
            acc[r] = hits.numpy()
            labels = y.reshape(side, k * draws)
            first_stop = (labels == 0).float().argmax(1)  # the first stop sign drawn at each position
            stop_probs[r] = probs[torch.arange(side), first_stop].numpy()
    return {"acc": acc.round(4).tolist(), "stop_probs": stop_probs.round(4).tolist()}


def stop_counts(runs: Sequence[RunResult]) -> dict[str, int]:
    """How many runs stopped for each reason.

    >>> from types import SimpleNamespace
    >>> stop_counts([SimpleNamespace(stop="fit"), SimpleNamespace(stop="fit"), SimpleNamespace(stop="budget")])
    {'fit': 2, 'plateau': 0, 'budget': 1}
    """
    return {reason: sum(r.stop == reason for r in runs) for reason in STOPS}


def fmt_stops(stops: dict[str, int]) -> str:
    """Stop reasons in words.

    >>> fmt_stops({"fit": 5, "plateau": 1, "budget": 0})
    '5 fit, 1 plateau, 0 hit the budget'
    """
    return f"{stops['fit']} fit, {stops['plateau']} plateau, {stops['budget']} hit the budget"


def fmt_range(low: float, high: float) -> str:
    """A 95% interval of a share, as the pages print it (an en dash, one percent sign); with one
    decimal when both ends round to the same whole percent.

    >>> fmt_range(0.612, 0.698), fmt_range(0.996, 1.0)
    ('61–70%', '99.6–100.0%')
    """
    if round(100 * low) == round(100 * high):
        return f"{100 * low:.1f}–{100 * high:.1f}%"
    return f"{100 * low:.0f}–{100 * high:.0f}%"


def conditions(cfg) -> dict[tuple[str, int], Condition]:
    """One condition per (kind, training-set size), each tuned at its own size."""
    return {(kind, n): Condition(kind, n, dict(cfg.task), dict(cfg.model)) for kind in cfg.kinds for n in cfg.ns}


def run(cfg: Config, ctx) -> dict:
    task = dict(cfg.task)
    canvas = task["canvas"]
    area = region(task["train_where"], canvas, 5)
    conds = conditions(cfg)
    found = tune(list(conds.values()), {c: c.size for c in conds.values()}, cfg, ctx)
    tuned = {key: found[c] for key, c in conds.items()}
    jobs = [Job(kind, task, n, seed, model=cfg.model, probe="equidocs.experiments.amnesia:probe",
                probe_args={"draws": cfg.draws}, train=replace(budget(cfg, n), lr=tuned[kind, n]["lr"]))
            for kind in cfg.kinds for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="amnesia")
    side = _positions(canvas, 5)
    inside = np.zeros((side, side), bool)
    inside[area.top:area.top + area.height, area.left:area.left + area.width] = True
    per_position = 4 * cfg.draws  # the probe's test images per position: draws per class, 4 classes
    images = [int(inside.sum()) * per_position, int((~inside).sum()) * per_position]  # inside, outside
    results, budget_hits = {}, []
    numbers = {"seeds": str(len(cfg.seeds)), "canvas": str(canvas), "positions": str(side * side),
               "trained_positions": str(int(inside.sum())), "draws": str(cfg.draws),
               "test_images_inside": fmt_int(images[0]), "test_images_outside": fmt_int(images[1]),
               "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid), "tune_seeds": str(len(cfg.tune_seeds)),
               "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps), "fit_loss": f"{cfg.fit_loss:g}",
               "runs": fmt_int(len(runs))}
    for j, kind in enumerate(cfg.kinds):
        results[kind] = {"params": None, "lrs": {}, "by_n": {}, "stops": {}}
        for i, n in enumerate(cfg.ns):
            mine = sorted((r for r in runs if r.kind == kind and r.n_train == n), key=lambda r: r.seed)
            maps = np.array([r.probe["acc"] for r in mine])  # (seeds, side, side)
            per_seed = np.stack([maps[:, inside].mean(1), maps[:, ~inside].mean(1)], axis=1)  # (seeds, 2)
            ins, outs = stats.shared_test_intervals(per_seed, images, draws=cfg.boot, seed=100 * j + i)
            stops = stop_counts(mine)
            t = tuned[kind, n]
            budget_hits += [{"kind": kind, "n": n, "seed": r.seed, "steps": r.steps} for r in mine if r.hit_budget]
            results[kind]["params"] = mine[0].params
            results[kind]["lrs"][str(n)] = t["lr"]
            results[kind]["stops"][str(n)] = stops
            results[kind]["by_n"][str(n)] = {
                "acc_map": maps.mean(0).round(4).tolist(),
                "inside": mean_std(per_seed[:, 0]), "outside": mean_std(per_seed[:, 1]),  # (mean, sd over seeds)
                "inside_ci": [ins.low, ins.high], "outside_ci": [outs.low, outs.high],  # 95%: seeds and test images
                "inside_per_seed": per_seed[:, 0].tolist(),
                "outside_per_seed": per_seed[:, 1].tolist(),
                "stop_probs_seed0": mine[0].probe["stop_probs"], "test_acc": mean_std([r.test_acc for r in mine]),
                "lr": t["lr"], "lr_edge": bool(t["edge"]), "lr_table": t["table"],
                "stops": stops, "hit_budget": stops["budget"], "steps": [r.steps for r in mine],
                "train_acc_min": round(min(r.train_acc for r in mine), 4)}
            for where, iv in (("inside", ins), ("outside", outs)):
                numbers[f"{kind}.n{n}.{where}"] = fmt_pct(iv.mean)
                numbers[f"{kind}.n{n}.{where}.ci"] = fmt_range(iv.low, iv.high)
            numbers[f"{kind}.n{n}.lr"] = f"{t['lr']:.2g}"
            numbers[f"{kind}.n{n}.stops"] = fmt_stops(stops)
        total = {reason: sum(s[reason] for s in results[kind]["stops"].values()) for reason in STOPS}
        numbers[f"{kind}.stops"] = fmt_stops(total)
    numbers["budget_runs"] = fmt_int(len(budget_hits))
    numbers["lr_edges"] = fmt_int(sum(d["lr_edge"] for m in results.values() for d in m["by_n"].values()))
    return {
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "side": side, "canvas": canvas,
        "region": {"top": area.top, "left": area.left, "height": area.height, "width": area.width},
        "classes": ["stop sign", "cross", "square", "triangle"][:4], "models": results,
        "test_images": {"inside": images[0], "outside": images[1]}, "budget_hits": budget_hits,
        "numbers": numbers,
        "caption": (f"Accuracy at every position of the glyph (its top-left corner) on a "
                    f"{canvas}×{canvas} canvas, after training only inside the outlined quadrant. "
                    f"Mean over {len(cfg.seeds)} seeds, {cfg.draws} noisy test images per class and "
                    f"position (the same images for every model); chance is 25%. Each net has its own "
                    f"learning rate per training-set size, tuned on validation data drawn from the "
                    f"training quadrant; every run trains until its training set is fit or its loss "
                    f"plateaus (budget {cfg.epochs} epochs, at least {cfg.min_steps:,} steps; "
                    f"{len(budget_hits)} of {len(runs)} runs hit it)."),
    }


def figure(result: dict) -> plt.Figure:
    from equidocs.plotting import ACCURACY_CMAP, KIND_NAMES, SMALL_FONT, figsize, mark_chance_on_colorbar

    kinds, ns, reg = result["kinds"], result["ns"], result["region"]
    by_rows = len(ns) >= len(kinds)  # the longer list runs across: rows are kinds when there are more sizes
    nrows, ncols = (len(kinds), len(ns)) if by_rows else (len(ns), len(kinds))
    cell = min(1.9, 5.6 / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize(cell * nrows + 0.9), squeeze=False,
                             layout="constrained")
    for i, n in enumerate(ns):
        for j, kind in enumerate(kinds):
            ax = axes[j][i] if by_rows else axes[i][j]
            data = result["models"][kind]["by_n"][str(n)]
            im = ax.imshow(np.array(data["acc_map"]), vmin=0, vmax=1, cmap=ACCURACY_CMAP)
            for ec, lw, ls in (("black", 2.6, "-"), ("white", 1.4, (0, (3, 2)))):  # reads on any colour
                ax.add_patch(Rectangle((reg["left"] - 0.5, reg["top"] - 0.5), reg["width"], reg["height"],
                                       fill=False, ec=ec, lw=lw, ls=ls))
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            for spine in ax.spines.values():
                spine.set(color=KIND_COLORS[kind], lw=2.5)
            sep = " · " if cell >= 1.8 else "\n"  # one line where it fits
            ax.set_xlabel(f"inside {data['inside'][0]:.0%}{sep}outside {data['outside'][0]:.0%}",
                          fontsize=SMALL_FONT, labelpad=3)
            if ax in axes[:, 0]:
                ax.set_ylabel(KIND_NAMES[kind] if by_rows else f"{n} examples")
            if ax in axes[0]:
                ax.set_title(f"{n} examples" if by_rows else KIND_NAMES[kind])
    cbar = fig.colorbar(im, ax=axes, shrink=0.85, label="test accuracy at each position")
    mark_chance_on_colorbar(cbar, len(result["classes"]))
    return fig
