"""Equivariance by design, and where it breaks: stride, pooling, zero padding, no sharing.

Part 1, untrained: the relative equivariance error of each design's feature map under shifts of
1-4 pixels, over random inputs and random initialisations. Part 2: the error map of a zero-padded
conv (exact in the interior, wrong near the border). Part 3, trained on glyphs anywhere on the
canvas: shift consistency (Zhang 2019), the share of test images whose predicted class survives two
random circular shifts of up to ``max_shift`` pixels. Measured twice: on the test set, where a shift
can split the glyph across the canvas edge (a placement no training image shows: the circular-padded
conv is invariant to it by construction, every other design must generalise to it), and on as many
test glyphs placed where every such shift keeps them whole (Zhang's setting: each shifted image is
another draw from the training distribution).

Consistency says something about a design only when the classifier has learned the task: a net
that guesses is inconsistent whatever its architecture. So every design is trained where it has
learned, at matched accuracy: a one-seed pilot doubles the training set from ``floor`` until the
validation accuracy reaches ``target`` (:func:`equidocs.experiments.search.pilot`; at most the
kind's ``cap``), the learning rate is tuned at that size on validation data
(:func:`equidocs.experiments.search.tune`), and every seed is trained there under a budget
counted in epochs. Consistency and test accuracy carry 95% intervals over seeds and test images
(:func:`equidocs.stats.shared_test_intervals`); designs compare only when both reached ``min_acc``
test accuracy (:func:`equidocs.stats.shared_test_difference` against the circular-padding conv).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np
import torch

from equidocs import stats
from equidocs.data import Region, pattern_canvas
from equidocs.equivariance import equivariance_error, error_map, shift_consistency
from equidocs.experiments.common import mean_std
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, budget, pilot, tune
from equidocs.models import make_model
from equidocs.train import Job, train_many

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
REFERENCE = "conv, circular padding"  # exactly equivariant: every other design is compared with it
STOPS = ("fit", "plateau", "budget")  # equidocs.train's stop reasons
GLYPH = 5  # side of the glyphs (equidocs.data.glyphs)
WHOLE_SEED = 515151  # the whole-glyph consistency images: the same for every model


@dataclass(frozen=True)
class Config:
    canvas: int = 16                        # the untrained measurement's canvas
    shifts: tuple = (1, 2, 3, 4)            # diagonal shifts (s, s) for the untrained measurement
    inits: int = 10                         # random initialisations (seeds) per design
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "canvas": 12, "noise": 0.1,
                                                "n_val": 500, "n_test": 1000})
    seeds: tuple = tuple(range(6))
    max_shift: int = 3                      # shift-consistency draws shifts in [-3, 3]^2
    target: float = 0.9                     # the pilot's validation accuracy: where a design is trained
    min_acc: float = 0.8                    # designs compare only at this seed-mean test accuracy or above
    floor: int = 32                         # the pilot's first training set (it doubles from here)
    cap: dict = field(default_factory=lambda: {"conv": 4096, "local": 4096, "dense": 16384})
    pilot_lr: float = 3e-3                  # the pilot's rate (and the budget's placeholder)
    lr_grid: tuple = (1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)           # seeds per rate when tuning (mean validation accuracy)
    extend: int = 2                         # grid extensions allowed when an edge rate wins
    epochs: int = 150                       # budget: 150 epochs, and at least min_steps steps
    min_steps: int = 3000
    fit_loss: float = 0.05                  # stop when the full training loss is below this ...
    patience: int = 200                     # ... or after this many steps without a 1% better loss
    boot: int = 2000                        # bootstrap draws per interval

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # development and CI: the same design on an 8x8 canvas, three seeds
            return cls(canvas=12, inits=5, task={"dataset": "patterns", "canvas": 8, "noise": 0.1,
                                                 "n_val": 200, "n_test": 300},
                       seeds=(0, 1, 2), max_shift=1, cap={"conv": 1024, "local": 1024, "dense": 2048},
                       lr_grid=(3e-3, 1e-2), tune_seeds=(0, 1), extend=1, epochs=30, min_steps=600, boot=400)
        return cls()


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


def whole_region(canvas: int, max_shift: int, glyph: int = GLYPH) -> Region | None:
    """Top-left glyph positions from which every shift of up to ``max_shift`` pixels (either way,
    both axes) keeps the glyph whole on the canvas; ``None`` when there is none.

    >>> whole_region(12, 3), whole_region(12, 4)
    (Region(top=3, left=3, height=2, width=2), None)
    """
    side = canvas - glyph + 1 - 2 * max_shift
    return Region(max_shift, max_shift, side, side) if side > 0 else None


def consistency_probe(model: torch.nn.Module, splits, job: Job, max_shift: int = 3) -> dict:
    """Shift consistency on the test set (a circular shift may split a glyph across the canvas
    edge), and, for glyphs, on as many fresh test glyphs placed where every shift keeps them whole."""
    out = {"consistency": shift_consistency(model, splits.test.x, max_shift, n_pairs=4, seed=job.seed)}
    where = whole_region(job.data["canvas"], max_shift)
    if job.data["dataset"] == "patterns" and where is not None:
        x = pattern_canvas(len(splits.test.x), job.data["canvas"], where=where, noise=job.data.get("noise", 0.1),
                           deform=job.data.get("deform", 0.0), seed=WHOLE_SEED).x
        out["consistency_whole"] = shift_consistency(model, x, max_shift, n_pairs=4, seed=job.seed)
    return out


def slug(name: str) -> str:
    """A design's name as a page-token key.

    >>> slug("conv, zero padding"), slug("conv + blur-pool")
    ('conv_zero_padding', 'conv_blurpool')
    """
    return name.replace(", ", "_").replace(" + ", "_").replace(" ", "_").replace("-", "")


def fmt_points(iv: stats.Interval) -> str:
    """A difference of shares in percentage points with its 95% interval (a true minus sign).

    >>> fmt_points(stats.Interval(-0.081, -0.102, -0.06))
    '−8 points (95% interval −10 to −6)'
    """
    def signed(v: float) -> str:
        r = round(100 * v)
        return "0" if r == 0 else f"+{r}" if r > 0 else f"−{-r}"
    return f"{signed(iv.mean)} points (95% interval {signed(iv.low)} to {signed(iv.high)})"


def _interval(iv: stats.Interval) -> dict:
    return {"mean": iv.mean, "low": iv.low, "high": iv.high}


def run(cfg: Config, ctx) -> dict:
    untrained = untrained_errors(cfg)
    torch.manual_seed(0)
    zero_conv = make_model("conv", (1, cfg.canvas, cfg.canvas), 10, **{**BASE, "padding": "zeros"}).eval()
    x = torch.rand(16, 1, cfg.canvas, cfg.canvas, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        emap = error_map(zero_conv.features, x, 1, 1, "zeros").numpy()
    task = dict(cfg.task)
    conds = {name: Condition(kind, 0, task, {**BASE, **opts}) for name, (kind, opts) in DESIGNS.items()}
    at = pilot(list(conds.values()), cfg, ctx)  # per design: the training-set size where it has learned
    tuned = tune(list(conds.values()), at, cfg, ctx)
    jobs = [Job(c.kind, task, at[c], seed, model=c.model, train=replace(budget(cfg, at[c]), lr=tuned[c]["lr"]),
                probe="equidocs.experiments.equivariance_error:consistency_probe",
                probe_args={"max_shift": cfg.max_shift})
            for c in conds.values() for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="shift consistency")
    n_test = task["n_test"]
    trained, per_seed, budget_hits = {}, {}, []
    numbers = {"seeds": str(len(cfg.seeds)), "inits": str(cfg.inits), "max_shift": str(cfg.max_shift),
               "task": "glyph" if task["dataset"] == "patterns" else "digit",
               "canvas_trained": str(task["canvas"]), "target": fmt_pct(cfg.target), "min_acc": fmt_pct(cfg.min_acc),
               "floor": fmt_int(cfg.floor), "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid),
               "tune_seeds": str(len(cfg.tune_seeds)), "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps)}
    whole = all("consistency_whole" in r.probe for r in runs)
    metrics = ("consistency", "consistency_whole") if whole else ("consistency",)
    for i, (name, c) in enumerate(conds.items()):
        chunk = runs[i * len(cfg.seeds):(i + 1) * len(cfg.seeds)]
        values = {m: [r.probe[m] for r in chunk] for m in metrics}
        accs = [r.test_acc for r in chunk]
        per_seed[name] = values
        ivs = stats.shared_test_intervals(np.array([*values.values(), accs]).T, n_test, draws=cfg.boot, seed=10 * i)
        acc_iv = ivs[-1]
        stops = {reason: sum(r.stop == reason for r in chunk) for reason in STOPS}
        budget_hits += [{"design": name, "n": at[c], "seed": r.seed, "steps": r.steps} for r in chunk if r.hit_budget]
        trained[name] = {"test_acc": mean_std(accs), "test_acc_ci": [acc_iv.low, acc_iv.high],
                         "learned": bool(acc_iv.mean >= cfg.min_acc), "n_train": at[c],
                         "at_cap": at[c] == cfg.cap.get(c.kind, max(cfg.cap.values())),
                         "lr": tuned[c]["lr"], "lr_edge": bool(tuned[c]["edge"]), "lr_table": tuned[c]["table"],
                         "params": chunk[0].params, "stops": stops, "hit_budget": stops["budget"],
                         "steps": [r.steps for r in chunk], "train_acc_min": round(min(r.train_acc for r in chunk), 4),
                         "test_acc_per_seed": accs}
        key = slug(name)
        for m, iv in zip(metrics, ivs):
            trained[name] |= {m: mean_std(values[m]), f"{m}_ci": [iv.low, iv.high], f"{m}_per_seed": values[m]}
            numbers[f"{key}.{m}"] = fmt_pct(iv.mean)
            numbers[f"{key}.{m}.ci"] = f"{100 * iv.low:.0f}–{100 * iv.high:.0f}%"
        numbers[f"{key}.acc"] = fmt_pct(acc_iv.mean)
        numbers[f"{key}.acc.ci"] = f"{100 * acc_iv.low:.0f}–{100 * acc_iv.high:.0f}%"
        numbers[f"{key}.n_train"] = fmt_int(at[c])
        numbers[f"{key}.lr"] = f"{tuned[c]['lr']:.2g}"
        numbers[f"{key}.stops"] = f"{stops['fit']} fit, {stops['plateau']} plateau, {stops['budget']} hit the budget"
        numbers[f"{key}.error1"] = f"{untrained[name]['mean'][0]:.2g}"
    # Consistency against the exactly equivariant conv net, only where both have learned; different
    # training sets (sizes differ), the same test images: seeds resampled apart, one binomial per arm.
    comparisons = {}
    for j, name in enumerate(DESIGNS):
        if name == REFERENCE:
            continue
        both = trained[name]["learned"] and trained[REFERENCE]["learned"]
        comparisons[name] = {"learned": both}
        for k, m in enumerate(metrics):
            d = stats.shared_test_difference(per_seed[name][m], per_seed[REFERENCE][m], n_test, n_test, paired=False,
                                             draws=cfg.boot, seed=1000 + 10 * j + k) if both else None
            comparisons[name][m] = _interval(d) if d else None
            numbers[f"{slug(name)}.vs_circular{m.removeprefix('consistency')}"] = (
                fmt_points(d) if d else f"not compared (below {fmt_pct(cfg.min_acc)} test accuracy)")
    sizes = sorted({at[c] for c in conds.values()})
    numbers["n_train"] = fmt_int(sizes[0]) if len(sizes) == 1 else f"{fmt_int(sizes[0])} to {fmt_int(sizes[-1])}"
    numbers["learned"] = ", ".join(n for n in DESIGNS if trained[n]["learned"]) or "none"
    numbers["not_learned"] = ", ".join(n for n in DESIGNS if not trained[n]["learned"]) or "none"
    numbers["budget_runs"] = fmt_int(len(budget_hits))
    numbers["runs"] = fmt_int(len(runs))
    interior = emap[3:-3, 3:-3]
    numbers["zero_interior_max"] = f"{interior.max():.1g}"
    numbers["zero_border_max"] = f"{emap.max():.2f}"
    canvas = task["canvas"]
    return {"shifts": list(cfg.shifts), "untrained": untrained, "error_map": emap.round(6).tolist(),
            "trained": trained, "lrs": {name: tuned[c]["lr"] for name, c in conds.items()},
            "comparisons": comparisons, "reference": REFERENCE, "target": cfg.target, "min_acc": cfg.min_acc,
            "budget_hits": budget_hits, "numbers": numbers, "caption": (
                f"Left: relative equivariance error ‖f(Sx) − S′f(x)‖/‖f(x)‖ of each untrained "
                f"design's last feature map for diagonal shifts (for the dense net, the invariance "
                f"error of its logits); mean ± sd over {cfg.inits} random initialisations, 8 random "
                f"{cfg.canvas}×{cfg.canvas} inputs each. Middle: where a zero-padded conv errs for a "
                f"one-pixel shift. Right: shift consistency of the designs after training on "
                f"{numbers['task']}s anywhere on a {canvas}×{canvas} canvas (mean ± sd over "
                f"{len(cfg.seeds)} seeds; two random circular shifts of up to ±{cfg.max_shift} pixels per "
                f"image; bars: the test set, where a shift can split the glyph across the edge; "
                + ("diamonds: glyphs placed so that every shift keeps them whole; " if whole else "")
                + f"labelled with test accuracy and training-set size). Each design is compared where it "
                f"has learned: it is trained on the smallest doubling of the training set (from "
                f"{cfg.floor}) on which one pilot run reached {cfg.target:.0%} validation accuracy, with "
                f"its own learning rate tuned there on validation data; every run trains until its "
                f"training set is fit or its loss plateaus (budget {cfg.epochs} epochs, at least "
                f"{cfg.min_steps:,} steps; {len(budget_hits)} of {len(runs)} runs hit it). Designs below "
                f"{cfg.min_acc:.0%} test "
                f"accuracy (marked †) are not compared.")}


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import (ARM_STYLES, MAGNITUDE_CMAP, SMALL_FONT, arm_style, figsize, figure_legend,
                                   muted_color, short_number)

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
        whole = result["trained"][n].get("consistency_whole")
        if whole:  # glyphs that every shift keeps whole (Zhang's setting)
            ax3.errorbar(whole[0], i, xerr=whole[1], fmt="D", color=muted_color(), mfc="white", markersize=4.5,
                         capsize=2, lw=1, zorder=3, clip_on=False)
    ax3.set_yticks(y, [short[n] for n in names])
    ax3.invert_yaxis()
    ax3.grid(axis="y", visible=False)
    for i, n in enumerate(names):  # test accuracy and training-set size, in a column right of the bars
        t = result["trained"][n]
        mark = "" if t.get("learned", True) else "†"  # below min_acc: not compared
        size = f" · {short_number(t['n_train'])}" if "n_train" in t else ""
        ax3.text(1.03, i, f"{t['test_acc'][0]:.0%}{mark}{size}", va="center", ha="left",
                 fontsize=SMALL_FONT, transform=ax3.get_yaxis_transform())
    ax3.text(1.03, -0.9, "test acc.\n· examples" if "n_train" in result["trained"][names[0]] else "test\nacc.",
             va="bottom", ha="left", fontsize=SMALL_FONT, transform=ax3.get_yaxis_transform())
    ax3.set(xlim=(0, 1.0), xticks=[0, 0.5, 1], xticklabels=["0", "50%", "100%"],
            xlabel="shift consistency" + ("\n(bars: any glyph; ◇: glyph kept whole)" if any(
                "consistency_whole" in result["trained"][n] for n in names) else ""), title="trained")
    handles = [Line2D([], [], **style[n], markersize=5, lw=1.1 if arm[n] not in ("conv", "local", "dense") else 1.5,
                      label=n) for n in names]  # marker and line style only: no error bar over the marker
    figure_legend(fig, handles, ncol=3, handlelength=2.6, columnspacing=1.2)
    return fig
