"""Amnesia: train with glyphs only in the top-left quadrant, then test at every position.

The conv net recognises the glyph wherever it appears; the dense net only where it was shown; the
locally-connected net sits between. The per-position class probabilities for one fixed stop sign
are saved too: the site's interactive explorer shows these real outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from equidocs.data import pattern_canvas, region
from equidocs.experiments.common import FULL_TRAIN, MODEL, QUICK_TRAIN, mean_std, tuned_lrs
from equidocs.experiments.formatting import fmt_pct
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, TrainConfig, train_many

TITLE = "Amnesia: trained in one corner, tested everywhere"
PROBE_SEED = 424242  # the same test images for every model


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {
        "dataset": "patterns", "canvas": 12, "noise": 0.1, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 400, "n_test": 1000})
    kinds: tuple = ("conv", "local", "dense")
    ns: tuple = (64, 512)                 # training-set sizes (the explorer's selector)
    seeds: tuple = (0, 1, 2, 3, 4)
    draws: int = 4                        # noisy test images per class and position
    tune_n: int = 256
    train: TrainConfig = QUICK_TRAIN
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, three seeds, a few minutes
            return cls(seeds=(0, 1, 2))
        return cls(ns=(16, 64, 512, 2048), seeds=tuple(range(6)), draws=8, train=FULL_TRAIN)


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


def run(cfg: Config, ctx) -> dict:
    task = {k: v for k, v in cfg.task.items()}
    canvas = task["canvas"]
    area = region(task["train_where"], canvas, 5)
    lrs = {kind: tuned_lrs([kind], task, cfg.tune_n, cfg.train, ctx, cfg.model)[kind]
           for kind in cfg.kinds}
    jobs = [Job(kind, task, n, seed, model=cfg.model, probe="equidocs.experiments.amnesia:probe",
                probe_args={"draws": cfg.draws},
                train=TrainConfig(**{**cfg.train.__dict__, "lr": lrs[kind]["lr"]}))
            for kind in cfg.kinds for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="amnesia")
    side = _positions(canvas, 5)
    inside = np.zeros((side, side), bool)
    inside[area.top:area.top + area.height, area.left:area.left + area.width] = True
    results, numbers = {}, {"seeds": str(len(cfg.seeds)), "canvas": str(canvas),
                            "positions": str(side * side), "trained_positions": str(int(inside.sum()))}
    for kind in cfg.kinds:
        results[kind] = {"lr": lrs[kind]["lr"], "params": None, "by_n": {}}
        for n in cfg.ns:
            mine = [r for r in runs if r.kind == kind and r.n_train == n]
            maps = np.array([r.probe["acc"] for r in mine])  # (seeds, side, side)
            ins = mean_std(maps[:, inside].mean(1))
            outs = mean_std(maps[:, ~inside].mean(1))
            results[kind]["params"] = mine[0].params
            results[kind]["by_n"][str(n)] = {
                "acc_map": maps.mean(0).round(4).tolist(), "inside": ins, "outside": outs,
                "stop_probs_seed0": mine[0].probe["stop_probs"], "test_acc": mean_std([r.test_acc for r in mine]),
                "hit_budget": sum(r.hit_budget for r in mine)}
            numbers[f"{kind}.n{n}.inside"] = fmt_pct(ins[0])
            numbers[f"{kind}.n{n}.outside"] = fmt_pct(outs[0])
    return {
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "side": side, "canvas": canvas,
        "region": {"top": area.top, "left": area.left, "height": area.height, "width": area.width},
        "classes": ["stop sign", "cross", "square", "triangle"][:4], "models": results,
        "numbers": numbers,
        "caption": (f"Accuracy at every position of the glyph (its top-left corner) on a "
                    f"{canvas}×{canvas} canvas, after training only inside the outlined quadrant. "
                    f"Mean over {len(cfg.seeds)} seeds, {cfg.draws} noisy test images per class and "
                    f"position; chance is 25%. Learning rates tuned per kind on a validation split "
                    f"drawn from the training quadrant."),
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
