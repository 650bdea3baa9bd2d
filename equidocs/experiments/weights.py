"""What the weights learned: the security-guard picture drawn from real trained weights.

Glyphs appear only in the top-left quadrant during training, on a clean (noise-free) canvas, so a
pixel outside that corner is always zero in training. For the dense net, the change of each
first-layer weight from its initial value is shown as an image: the net only "hired guards" for the
pixels it was shown. For the locally-connected net, the change of each position's filter; for the
conv net, its shared kernels, which apply everywhere. (With pixel noise, Adam's per-weight step
sizes also move the weights of never-lit pixels, by following the noise: see the caption.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from equidocs.data import region
from equidocs.experiments.common import FULL_TRAIN, MODEL, QUICK_TRAIN, mean_std, tuned_lrs
from equidocs.experiments.formatting import fmt_pct
from equidocs.models import LocallyConnected2d, make_model
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, TrainConfig, train_many

TITLE = "What the weights learned: guards only where training looked"
UNITS_SHOWN = 3


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {
        "dataset": "patterns", "canvas": 16, "noise": 0.0, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 400, "n_test": 1000})
    ns: tuple = (16, 128, 512)
    seeds: tuple = (0, 1, 2, 3, 4)
    tune_n: int = 256
    train: TrainConfig = QUICK_TRAIN
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":
            return cls()
        return cls(ns=(16, 128, 512, 2048), seeds=tuple(range(6)), train=FULL_TRAIN)


def _footprint(job: Job) -> np.ndarray:
    """Pixels that some training glyph could cover."""
    canvas = job.data["canvas"]
    area = region(job.data["train_where"], canvas, 5)
    mask = np.zeros((canvas, canvas), bool)
    mask[area.top:area.top + area.height + 4, area.left:area.left + area.width + 4] = True
    return mask


def probe(model: torch.nn.Module, splits, job: Job) -> dict:
    """Weight change from initialisation (rebuilt from the job's seed), per pixel or position."""
    torch.manual_seed(job.seed)
    init = make_model(job.kind, tuple(splits.train.x.shape[1:]), splits.num_classes, **job.model)
    canvas = job.data["canvas"]
    mask = _footprint(job)
    if job.kind == "dense":
        delta = (model.first_layer.weight - init.first_layer.weight).detach().reshape(-1, canvas, canvas)
        energy = delta.square().mean(0).sqrt().numpy()
        top = delta.square().sum((1, 2)).argsort(descending=True)[:UNITS_SHOWN]
        units = delta[top].numpy()
    elif job.kind == "local":
        first, first0 = (next(m for m in net.modules() if isinstance(m, LocallyConnected2d))
                         for net in (model, init))
        delta = (first.weight - first0.weight).detach()  # (L, out, in*k*k)
        energy = delta.square().mean((1, 2)).sqrt().reshape(first.out_size).numpy()
        units = np.zeros((0, canvas, canvas))
    else:
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        return {"kernels": conv.weight.detach()[:, 0].numpy().round(4).tolist()}
    share = float((energy[mask] ** 2).sum() / (energy ** 2).sum())
    return {"energy": energy.round(5).tolist(), "units": units.round(5).tolist(),
            "share_inside": share, "area_share": float(mask.mean())}


def run(cfg: Config, ctx) -> dict:
    lrs = {k: tuned_lrs([k], cfg.task, cfg.tune_n, cfg.train, ctx, cfg.model)[k]["lr"]
           for k in ("conv", "local", "dense")}
    jobs = [Job(kind, cfg.task, n, seed, model=cfg.model, probe="equidocs.experiments.weights:probe",
                train=TrainConfig(**{**cfg.train.__dict__, "lr": lrs[kind]}))
            for kind in ("conv", "local", "dense") for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="weights")
    by = {(r.kind, r.n_train, r.seed): r for r in runs}
    s0 = cfg.seeds[0]
    area = region(cfg.task["train_where"], cfg.task["canvas"], 5)
    result = {"ns": list(cfg.ns), "canvas": cfg.task["canvas"], "lrs": lrs, "by_n": {},
              "footprint": [area.top, area.left, area.height + 4, area.width + 4]}
    numbers = {"seeds": str(len(cfg.seeds))}
    for n in cfg.ns:
        entry = {"conv_kernels": by[("conv", n, s0)].probe["kernels"]}
        for kind in ("dense", "local"):
            shares = [by[(kind, n, s)].probe["share_inside"] for s in cfg.seeds]
            entry[kind] = {"energy": by[(kind, n, s0)].probe["energy"],
                           "units": by[(kind, n, s0)].probe["units"],
                           "share_inside": mean_std(shares)}
            numbers[f"{kind}.n{n}.share_inside"] = fmt_pct(mean_std(shares)[0])
        entry["area_share"] = by[("dense", n, s0)].probe["area_share"]
        result["by_n"][str(n)] = entry
    numbers["area_share"] = fmt_pct(result["by_n"][str(cfg.ns[0])]["area_share"])
    result["numbers"] = numbers
    result["caption"] = (
        f"Top: how much each dense first-layer weight moved from its initial value, root-mean-square "
        f"over the hidden units (one pixel = one weight per unit), and the {UNITS_SHOWN} units that "
        f"moved most, for the seed-{s0} model at each training-set size. Middle column: the same for "
        f"each position of the locally-connected layer. Right: the conv net's {MODEL['width']} shared "
        f"5×5 kernels. Training glyphs appeared only in the top-left quadrant, on a noise-free canvas. "
        f"Shares of the weight change inside the trained area are means over {len(cfg.seeds)} seeds.")
    return result


def figure(result: dict) -> plt.Figure:
    ns = result["ns"]
    cols = 2 + UNITS_SHOWN
    fig, axes = plt.subplots(len(ns), cols + 1, figsize=(2.1 * (cols + 1), 2.3 * len(ns)), squeeze=False)
    for i, n in enumerate(ns):
        entry = result["by_n"][str(n)]
        panels = [("dense Δw (rms)", entry["dense"]["energy"], "dense")]
        panels += [(f"dense unit {j + 1}", u, "dense") for j, u in enumerate(entry["dense"]["units"])]
        panels += [("local Δw per position", entry["local"]["energy"], "local")]
        for ax, (title, img, kind) in zip(axes[i], panels):
            img = np.array(img)
            cmap = "magma" if "rms" in title or "position" in title else "RdBu_r"
            lim = np.abs(img).max() or 1.0
            ax.imshow(img, cmap=cmap, vmin=0 if cmap == "magma" else -lim, vmax=lim)
            top, left, height, width = result["footprint"]
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                                   ec=KIND_COLORS["conv"], lw=1.2, ls="--"))
            ax.set_title(f"{title}\nn={n}", fontsize=10)
        kernels = [np.pad(k, 1, constant_values=np.nan) for k in np.array(entry["conv_kernels"])]
        half = (len(kernels) + 1) // 2
        rows = [np.concatenate(kernels[:half], axis=1), np.concatenate(kernels[half:], axis=1)]
        if rows[1].shape != rows[0].shape:
            rows[1] = np.pad(rows[1], ((0, 0), (0, rows[0].shape[1] - rows[1].shape[1])),
                             constant_values=np.nan)
        montage = np.concatenate(rows, axis=0)
        lim = np.nanmax(np.abs(montage))
        axes[i][-1].imshow(montage, cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[i][-1].set_title(f"conv kernels (shared)\nn={n}", fontsize=10)
        for ax in axes[i]:
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
    fig.tight_layout()
    return fig
