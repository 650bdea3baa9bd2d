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
        if name == "quick":
            return cls()
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
    kinds, ns, reg = result["kinds"], result["ns"], result["region"]
    fig, axes = plt.subplots(len(ns), len(kinds), figsize=(2.6 * len(kinds) + 0.8, 2.5 * len(ns)),
                             squeeze=False)
    for i, n in enumerate(ns):
        for j, kind in enumerate(kinds):
            ax = axes[i][j]
            data = result["models"][kind]["by_n"][str(n)]
            im = ax.imshow(np.array(data["acc_map"]), vmin=0, vmax=1, cmap="viridis")
            ax.add_patch(Rectangle((reg["left"] - 0.5, reg["top"] - 0.5), reg["width"], reg["height"],
                                   fill=False, ec="white", lw=1.8, ls="--"))
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            ax.set_title(f"{kind}, n={n}\ninside {data['inside'][0]:.0%} · outside {data['outside'][0]:.0%}",
                         fontsize=9, color=KIND_COLORS[kind])
    fig.colorbar(im, ax=axes, shrink=0.8, label="test accuracy")
    return fig
