"""What the weights learned: the security-guard picture drawn from real trained weights.

Glyphs appear only in the top-left quadrant during training, on a clean (noise-free) canvas, so a
pixel outside that corner is always zero in training. For the dense net, the change of each
first-layer weight from its initial value is shown as an image: the net only "hired guards" for the
pixels it was shown. For the locally-connected net, the change of each position's filter; for the
conv net, its shared kernels, which apply everywhere. (With pixel noise, Adam's per-weight step
sizes also move the weights of never-lit pixels, by following the noise: see the caption.)

Every (kind, training-set size) gets its own learning rate, tuned on validation data drawn from the
training quadrant (:func:`equidocs.experiments.search.tune`), under a budget counted in epochs with a
floor in steps (:func:`equidocs.experiments.search.budget`); every run's stop reason is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from equidocs.data import region
from equidocs.experiments.common import MODEL, mean_std
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, budget, tune
from equidocs.models import LocallyConnected2d, make_model
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, train_many

TITLE = "What the weights learned: guards only where training looked"
UNITS_SHOWN = 3
KINDS = ("conv", "local", "dense")
STOPS = ("fit", "plateau", "budget")  # equidocs.train's stop reasons


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {
        "dataset": "patterns", "canvas": 16, "noise": 0.0, "train_where": "top-left",
        "test_where": "anywhere", "n_val": 400, "n_test": 1000})
    ns: tuple = (16, 128, 512, 2048)
    seeds: tuple = tuple(range(6))
    pilot_lr: float = 3e-3                # the budget's placeholder rate; every run gets its tuned one
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)         # seeds per rate when tuning (mean validation accuracy)
    extend: int = 2                       # grid extensions allowed when an edge rate wins
    epochs: int = 60                      # budget: 60 epochs, and at least min_steps steps
    min_steps: int = 1500
    fit_loss: float = 0.05                # stop when the full training loss is below this ...
    patience: int = 200                   # ... or after this many steps without a 1% better loss
    model: dict = field(default_factory=lambda: dict(MODEL))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, three sizes, three seeds, short budgets
            return cls(ns=(16, 128, 512), seeds=(0, 1, 2), lr_grid=(3e-3, 1e-2, 3e-2), tune_seeds=(0, 1),
                       extend=1, epochs=30, min_steps=600)
        return cls()


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
    task = dict(cfg.task)
    conds = {(kind, n): Condition(kind, n, task, dict(cfg.model)) for kind in KINDS for n in cfg.ns}
    found = tune(list(conds.values()), {c: c.size for c in conds.values()}, cfg, ctx)
    tuned = {key: found[c] for key, c in conds.items()}
    jobs = [Job(kind, task, n, seed, model=cfg.model, probe="equidocs.experiments.weights:probe",
                train=replace(budget(cfg, n), lr=tuned[kind, n]["lr"]))
            for kind in KINDS for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="weights")
    by = {(r.kind, r.n_train, r.seed): r for r in runs}
    s0 = cfg.seeds[0]
    area = region(cfg.task["train_where"], cfg.task["canvas"], 5)
    stops = {kind: {str(n): {reason: sum(by[(kind, n, s)].stop == reason for s in cfg.seeds) for reason in STOPS}
                    for n in cfg.ns} for kind in KINDS}
    budget_runs = sum(st["budget"] for per_n in stops.values() for st in per_n.values())
    result = {"ns": list(cfg.ns), "canvas": cfg.task["canvas"],
              "lrs": {kind: {str(n): tuned[kind, n]["lr"] for n in cfg.ns} for kind in KINDS},
              "lr_tables": {kind: {str(n): {"table": tuned[kind, n]["table"], "edge": bool(tuned[kind, n]["edge"])}
                                   for n in cfg.ns} for kind in KINDS},
              "stops": stops, "by_n": {},
              "train_acc_min": {kind: {str(n): round(min(by[(kind, n, s)].train_acc for s in cfg.seeds), 4)
                                       for n in cfg.ns} for kind in KINDS},
              "footprint": [area.top, area.left, area.height + 4, area.width + 4]}
    numbers = {"seeds": str(len(cfg.seeds)), "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid),
               "tune_seeds": str(len(cfg.tune_seeds)), "epochs": str(cfg.epochs),
               "min_steps": fmt_int(cfg.min_steps), "runs": fmt_int(len(runs)), "budget_runs": fmt_int(budget_runs)}
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
        for kind in KINDS:
            st = stops[kind][str(n)]
            numbers[f"{kind}.n{n}.lr"] = f"{tuned[kind, n]['lr']:.2g}"
            numbers[f"{kind}.n{n}.stops"] = f"{st['fit']} fit, {st['plateau']} plateau, {st['budget']} hit the budget"
    numbers["area_share"] = fmt_pct(result["by_n"][str(cfg.ns[0])]["area_share"])
    result["numbers"] = numbers
    result["caption"] = (
        f"One row per training-set size, each the seed-{s0} model. First column: how much each dense "
        f"first-layer weight moved from its initial value, root-mean-square over the hidden units (one "
        f"pixel = one weight per unit); next {UNITS_SHOWN} columns: the dense units that moved most; "
        f"then the same root-mean-square for each position of the locally-connected layer; last "
        f"column: the conv net's {cfg.model['width']} shared {cfg.model['kernel_size']}×{cfg.model['kernel_size']} "
        f"kernels. Each panel is scaled to its own largest value. The outlined square marks the pixels "
        f"a training glyph could cover: training glyphs appeared only in the top-left quadrant, on a "
        f"noise-free canvas. Shares of the weight change inside the trained area are means over "
        f"{len(cfg.seeds)} seeds. Each net has its own learning rate per training-set size, tuned on "
        f"validation data from the training quadrant; every run trains until its training set is fit or "
        f"its loss plateaus (budget {cfg.epochs} epochs, at least {cfg.min_steps:,} steps; {budget_runs} of "
        f"{len(runs)} runs hit it).")
    return result


def figure(result: dict) -> plt.Figure:
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from equidocs.plotting import MAGNITUDE_CMAP, SIGNED_CMAP, SMALL_FONT, figsize

    ns = result["ns"]
    units = len(result["by_n"][str(ns[0])]["dense"]["units"])
    columns = (["dense Δw\n(rms)"] + [f"dense\nunit {j + 1} Δw" for j in range(units)]
               + ["local Δw\n(rms)", "conv kernels\n(shared)"])
    cell = 6.6 / len(columns)
    fig, axes = plt.subplots(len(ns), len(columns), figsize=figsize(cell * len(ns) + 1.6), squeeze=False,
                             layout="constrained")
    top, left, height, width = result["footprint"]
    for i, n in enumerate(ns):
        entry = result["by_n"][str(n)]
        panels = [(entry["dense"]["energy"], False)] + [(u, True) for u in entry["dense"]["units"]]
        panels += [(entry["local"]["energy"], False)]
        kernels = [np.pad(k, 1, constant_values=np.nan) for k in np.array(entry["conv_kernels"], float)]
        per_row = int(np.ceil(np.sqrt(len(kernels))))  # a square montage, gaps left blank
        kernels += [np.full_like(kernels[0], np.nan)] * (-len(kernels) % per_row)
        rows = [np.concatenate(kernels[r:r + per_row], axis=1) for r in range(0, len(kernels), per_row)]
        panels += [(np.concatenate(rows, axis=0), True)]
        for j, (ax, (img, signed)) in enumerate(zip(axes[i], panels)):
            img = np.array(img, float)
            lim = np.nanmax(np.abs(img)) or 1.0  # each panel scaled to its own largest value
            ax.imshow(img / lim, cmap=SIGNED_CMAP if signed else MAGNITUDE_CMAP, vmin=-1 if signed else 0, vmax=1)
            if j < len(columns) - 1:  # the pixels a training glyph could cover
                for ec, lw, ls in (("black", 2.2, "-"), ("white", 1.1, (0, (3, 2)))):
                    ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, ec=ec, lw=lw, ls=ls))
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            kind = "dense" if j <= units else "local" if j == units + 1 else "conv"
            for spine in ax.spines.values():  # framed in the model kind's colour, as everywhere
                spine.set(color=KIND_COLORS[kind], lw=2)
            if i == 0:
                ax.set_title(columns[j], fontsize=SMALL_FONT)
        axes[i][0].set_ylabel(f"{n} examples")
    for cmap, norm, ticks, label in (
            (SIGNED_CMAP, Normalize(-1, 1), [-1, 0, 1], "signed weight or weight change, ÷ panel maximum"),
            (MAGNITUDE_CMAP, Normalize(0, 1), [0, 0.5, 1], "weight change (rms), ÷ panel maximum")):
        fig.colorbar(ScalarMappable(norm, cmap), ax=axes, location="bottom", shrink=0.6, aspect=45,
                     pad=0.015, ticks=ticks, label=label)
    return fig
