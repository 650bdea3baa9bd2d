"""Equivariance by design, and where it breaks: stride, pooling, zero padding, no sharing.

Part 1, untrained: the relative equivariance error of each design's feature map under shifts of
1-4 pixels, over random inputs and random initialisations. Part 2: the error map of a zero-padded
conv (exact in the interior, wrong near the border). Part 3, trained (glyphs in the quick profile,
digits in the full one): shift consistency (Zhang 2019), the share of test images whose predicted
class survives two random shifts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch

from equidocs.equivariance import equivariance_error, error_map, shift_consistency
from equidocs.experiments.common import FULL_TRAIN, QUICK_TRAIN, mean_std, tuned_lrs
from equidocs.experiments.formatting import fmt_pct
from equidocs.models import make_model
from equidocs.train import Job, TrainConfig, train_many

TITLE = "Equivariance by design, and where it breaks"
# name -> (kind, options): a two-block net, 8 channels, 3x3 kernels, global average pooling.
DESIGNS = {
    "conv, circular padding": ("conv", {"padding": "circular"}),
    "conv, zero padding": ("conv", {"padding": "zeros"}),
    "conv + stride 2": ("conv", {"downsample": "stride"}),
    "conv + max-pool": ("conv", {"downsample": "maxpool"}),
    "conv + blur-pool": ("conv", {"downsample": "blurpool"}),
    "locally connected": ("local", {}),
    "dense": ("dense", {}),
}
BASE = {"depth": 2, "width": 8, "kernel_size": 3, "head": "avg", "hidden": 256, "padding": "circular"}


@dataclass(frozen=True)
class Config:
    canvas: int = 12
    shifts: tuple = (1, 2, 3, 4)            # diagonal shifts (s, s) for the untrained measurement
    inits: int = 5                          # random initialisations (seeds) per design
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "canvas": 12, "noise": 0.1,
                                                "n_val": 400, "n_test": 1000})
    n_train: int = 256
    seeds: tuple = (0, 1, 2, 3, 4)
    max_shift: int = 3                      # shift-consistency draws shifts in [-3, 3]^2
    train: TrainConfig = QUICK_TRAIN

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design, three seeds, a few minutes
            return cls(seeds=(0, 1, 2))
        return cls(canvas=16, inits=10, task={"dataset": "patterns", "canvas": 16, "noise": 0.1,
                                              "n_val": 500, "n_test": 1000},
                   n_train=512, seeds=tuple(range(6)), max_shift=4, train=FULL_TRAIN)


def untrained_errors(cfg: Config) -> dict:
    """Equivariance error of each untrained design, per shift, over random inits and inputs."""
    out = {}
    for name, (kind, opts) in DESIGNS.items():
        errors = []
        for seed in range(cfg.inits):
            torch.manual_seed(seed)
            model = make_model(kind, (1, cfg.canvas, cfg.canvas), 10, **{**BASE, **opts}).eval()
            x = torch.rand(8, 1, cfg.canvas, cfg.canvas, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                if kind == "dense":  # logits: the invariance error of the whole classifier
                    errors.append([equivariance_error(model, x, s, s, "circular") for s in cfg.shifts])
                else:
                    errors.append([equivariance_error(model.features, x, s, s, "circular")
                                   for s in cfg.shifts])
        arr = np.array(errors)
        out[name] = {"mean": arr.mean(0).tolist(), "std": arr.std(0, ddof=1).tolist()}
    return out


def consistency_probe(model: torch.nn.Module, splits, job: Job, max_shift: int = 3) -> dict:
    return {"consistency": shift_consistency(model, splits.test.x, max_shift, n_pairs=4, seed=job.seed)}


def run(cfg: Config, ctx) -> dict:
    untrained = untrained_errors(cfg)
    torch.manual_seed(0)
    zero_conv = make_model("conv", (1, cfg.canvas, cfg.canvas), 10, **{**BASE, "padding": "zeros"}).eval()
    x = torch.rand(16, 1, cfg.canvas, cfg.canvas, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        emap = error_map(zero_conv.features, x, 1, 1, "zeros").numpy()
    lrs = {k: tuned_lrs([k], cfg.task, cfg.n_train, cfg.train, ctx, BASE)[k]["lr"]
           for k in ("conv", "local", "dense")}
    jobs = [Job(kind, cfg.task, cfg.n_train, seed, model={**BASE, **opts},
                train=TrainConfig(**{**cfg.train.__dict__, "lr": lrs[kind]}),
                probe="equidocs.experiments.equivariance_error:consistency_probe",
                probe_args={"max_shift": cfg.max_shift})
            for kind, opts in DESIGNS.values() for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="shift consistency")
    trained, numbers = {}, {"seeds": str(len(cfg.seeds)), "inits": str(cfg.inits),
                            "max_shift": str(cfg.max_shift), "n_train": str(cfg.n_train),
                            "task": "glyph" if cfg.task["dataset"] == "patterns" else "digit"}
    for i, name in enumerate(DESIGNS):
        chunk = runs[i * len(cfg.seeds):(i + 1) * len(cfg.seeds)]
        trained[name] = {"consistency": mean_std([r.probe["consistency"] for r in chunk]),
                         "test_acc": mean_std([r.test_acc for r in chunk]), "params": chunk[0].params,
                         "hit_budget": sum(r.hit_budget for r in chunk)}
        slug = name.replace(", ", "_").replace(" + ", "_").replace(" ", "_").replace("-", "")
        numbers[f"{slug}.consistency"] = fmt_pct(trained[name]["consistency"][0])
        numbers[f"{slug}.acc"] = fmt_pct(trained[name]["test_acc"][0])
        numbers[f"{slug}.error1"] = f"{untrained[name]['mean'][0]:.2g}"
    interior = emap[3:-3, 3:-3]
    numbers["zero_interior_max"] = f"{interior.max():.1g}"
    numbers["zero_border_max"] = f"{emap.max():.2f}"
    return {"shifts": list(cfg.shifts), "untrained": untrained, "error_map": emap.round(6).tolist(),
            "trained": trained, "lrs": lrs, "numbers": numbers, "caption": (
                f"Left: relative equivariance error ‖f(Sx) − S′f(x)‖/‖f(x)‖ of each untrained "
                f"design's last feature map for diagonal shifts (for the dense net, the invariance "
                f"error of its logits); mean ± sd over {cfg.inits} random initialisations, 8 random "
                f"{cfg.canvas}×{cfg.canvas} inputs each. Middle: where a zero-padded conv errs for a "
                f"one-pixel shift. Right: shift consistency of the designs after training on "
                f"{cfg.n_train} {numbers['task']}s (mean ± sd over {len(cfg.seeds)} seeds; shifts up to "
                f"±{cfg.max_shift} pixels), labelled with test accuracy.")}


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import (ARM_STYLES, MAGNITUDE_CMAP, SMALL_FONT, arm_style, figsize, figure_legend,
                                   muted_color)

    names = list(result["untrained"])
    # Each design is an arm (plotting.ARM_STYLES): the conv variants keep conv's colour and differ
    # in marker and line style, so colour says "which kind" and the marker says "which variant".
    keys = (("locally", "local"), ("dense", "dense"), ("zero pad", "conv+zeros"), ("stride", "conv+stride2"),
            ("max-pool", "conv+maxpool"), ("blur", "conv+blurpool"), ("circular", "conv"))
    spare = iter(a for a, (kind, _, _) in ARM_STYLES.items() if kind == "conv" and a not in dict(keys).values())
    arm = {}
    for i, name in enumerate(names):
        found = next((a for key, a in keys if key in name), None)
        arm[name] = found or ("conv" if i == 0 else next(spare))
    style = {n: arm_style(arm[n]) for n in names}
    short = {n: n.replace("conv, ", "").replace("conv + ", "").replace("locally connected", "local")
             .replace(" padding", " pad") for n in names}

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=figsize(3.9), layout="constrained",
                                        gridspec_kw={"width_ratios": [1.2, 0.8, 1.25]})
    floor = 1e-6  # below float32 round-off: drawn on the "≈0" line (a log axis has no zero)
    for name in names:
        data = result["untrained"][name]
        mean = np.maximum(np.array(data["mean"], float), floor)
        variant = arm[name] not in ("conv", "local", "dense")
        ax1.errorbar(result["shifts"], mean, yerr=data["std"], **style[name], label=name, capsize=2,
                     markersize=5, lw=1.1 if variant else 1.5)
    ax1.set_yscale("log")
    ax1.set_ylim(floor / 2.5, 4)
    ax1.set_yticks([floor, 1e-4, 1e-2, 1], ["≈0", "0.0001", "0.01", "1"])
    ax1.minorticks_off()
    ax1.set(xlabel="shift (pixels, diagonal)", ylabel="relative equivariance error",
            xticks=result["shifts"], title="untrained")

    im = ax2.imshow(np.array(result["error_map"]), cmap=MAGNITUDE_CMAP, vmin=0)
    ax2.set_title("zero padding:\nerror by position")
    ax2.grid(False)
    ax2.set_xticks([]), ax2.set_yticks([])
    fig.colorbar(im, ax=ax2, location="bottom", pad=0.03, label="relative error, 1-px shift")

    cons = [result["trained"][n]["consistency"] for n in names]
    y = np.arange(len(names))
    hatches = iter(("////", "\\\\\\\\", "xxx", "...", "---", "+++"))
    for i, n in enumerate(names):  # variants: outlined and hatched in their kind's colour
        variant = arm[n] not in ("conv", "local", "dense")
        ax3.barh(i, cons[i][0], xerr=cons[i][1], height=0.7, capsize=2,
                 color=style[n]["color"], alpha=None, error_kw={"ecolor": muted_color(), "lw": 1},
                 **({"facecolor": "none", "edgecolor": style[n]["color"], "hatch": next(hatches), "lw": 1.0}
                    if variant else {}))  # (an SVG hatch shows only on a face of another colour: none)
    ax3.set_yticks(y, [short[n] for n in names])
    ax3.invert_yaxis()
    ax3.grid(axis="y", visible=False)
    for i, n in enumerate(names):  # test accuracy, in a column right of the bars
        ax3.text(1.03, i, f"{result['trained'][n]['test_acc'][0]:.0%}", va="center", ha="left",
                 fontsize=SMALL_FONT, transform=ax3.get_yaxis_transform())
    ax3.text(1.03, -0.9, "test\nacc.", va="bottom", ha="left", fontsize=SMALL_FONT,
             transform=ax3.get_yaxis_transform())
    ax3.set(xlim=(0, 1.0), xticks=[0, 0.5, 1], xticklabels=["0", "50%", "100%"],
            xlabel="shift consistency", title="trained")
    handles = [Line2D([], [], **style[n], markersize=5, lw=1.1 if arm[n] not in ("conv", "local", "dense") else 1.5,
                      label=n) for n in names]  # marker and line style only: no error bar over the marker
    figure_legend(fig, handles, ncol=3, handlelength=2.6, columnspacing=1.2)
    return fig
