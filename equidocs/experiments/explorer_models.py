"""The explorer's models: the security-guard page's nets, trained here, run in the reader's browser.

The same task, model options, budget and learning-rate tuning as :mod:`amnesia` (glyphs only in
the top-left quadrant of a 12x12 canvas; conv, locally connected and dense), at a few training-set
sizes and seeds. A probe exports each trained model's weights; they are served as the companion
file ``results/explorer_models.weights.json``, on which docs/assets/javascripts/explorer.js runs the
three forward passes as the reader moves, picks or draws a glyph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs import explorer
from equidocs.data import glyphs, region
from equidocs.experiments import amnesia
from equidocs.experiments.common import tuned_lrs
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, TrainConfig, train_many

TITLE = "The explorer's models: trained in one corner, run in your browser"
WEIGHTS_FILE = "explorer_models.weights.json"  # companion file, served at results/WEIGHTS_FILE
PATTERN = 5                                    # side of the glyphs (equidocs.data.glyphs)
CLASSES = ("stop sign", "cross", "square", "triangle")


def _amnesia(name: str) -> amnesia.Config:
    return amnesia.Config.profile(name)


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: dict(_amnesia("quick").task))  # amnesia's task
    kinds: tuple = ("conv", "local", "dense")
    ns: tuple = (64, 512)         # training-set sizes: a subset of amnesia's (its accuracy maps)
    seeds: tuple = (0, 1)         # one exported model per kind, size and seed
    tune_n: int = 256             # learning rates tuned as amnesia tunes them
    train: TrainConfig = field(default_factory=lambda: _amnesia("quick").train)
    model: dict = field(default_factory=lambda: dict(_amnesia("quick").model))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name not in ("quick", "full"):
            raise ValueError(f"profile {name!r}: expected 'quick' or 'full'")
        a = _amnesia(name)
        return cls(task=dict(a.task), kinds=tuple(a.kinds), ns=(64, 512),  # among amnesia's ns
                   seeds=(0, 1) if name == "quick" else (0, 1, 2), tune_n=a.tune_n,
                   train=a.train, model=dict(a.model))


def probe(model, splits, job: Job) -> dict:
    """The trained model's weights and constructor options (equidocs.explorer.export_model)."""
    return explorer.export_model(model)


def weights_bytes(data: dict) -> int:
    """Size of the companion file as the exporter writes it (equidocs.cache.write_json_atomic)."""
    return len(json.dumps(data, indent=1, sort_keys=False, allow_nan=False).encode("utf-8"))


def run(cfg: Config, ctx) -> dict:
    task = dict(cfg.task)
    canvas = task["canvas"]
    area = region(task["train_where"], canvas, PATTERN)
    lrs = {kind: tuned_lrs([kind], task, cfg.tune_n, cfg.train, ctx, cfg.model)[kind]
           for kind in cfg.kinds}   # exactly amnesia's tuning (shared through the run store)
    jobs = [Job(kind, task, n, seed, model=cfg.model,
                probe="equidocs.experiments.explorer_models:probe",
                train=TrainConfig(**{**cfg.train.__dict__, "lr": lrs[kind]["lr"]}))
            for kind in cfg.kinds for n in cfg.ns for seed in cfg.seeds]
    runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc="explorer models")
    bank = glyphs(len(CLASSES), PATTERN)
    models = [{"n": r.n_train, "seed": r.seed, "lr": r.lr, "test_acc": round(r.test_acc, 4),
               "stop": r.stop, **r.probe} for r in runs]
    weights = {
        "format": explorer.FORMAT, "canvas": canvas, "pattern": PATTERN,
        "noise": task.get("noise", 0.0), "classes": list(CLASSES),
        "glyphs": bank.numpy().round(6).tolist(),   # what the models saw, before the noise
        "ink": PATTERN,                              # every glyph's pixel sum (a drawn one too)
        "region": {"top": area.top, "left": area.left, "height": area.height, "width": area.width},
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "seeds": list(cfg.seeds), "models": models,
    }
    size = weights_bytes(weights)
    by_kind = {}
    numbers = {"weights_kb": fmt_int(round(size / 1024)), "models": str(len(models)),
               "seeds": str(len(cfg.seeds)), "ns": " and ".join(map(str, cfg.ns))}
    for kind in cfg.kinds:
        mine = [m for m in models if m["kind"] == kind]
        params = sum(int(np.prod(t["shape"])) for t in mine[0]["tensors"].values())
        by_kind[kind] = {"params": params, "kb_per_model": round(4 * params / 1024, 1),
                         "test_acc": {str(n): [m["test_acc"] for m in mine if m["n"] == n]
                                      for n in cfg.ns}}
        numbers[f"{kind}.params"] = fmt_int(params)
        for n in cfg.ns:
            numbers[f"{kind}.n{n}.test_acc"] = fmt_pct(float(np.mean(by_kind[kind]["test_acc"][str(n)])))
    return {
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "seeds": list(cfg.seeds),
        "lrs": {k: v["lr"] for k, v in lrs.items()}, "weights_bytes": size, "by_kind": by_kind,
        "numbers": numbers, "companions": {WEIGHTS_FILE: weights},
        "caption": (f"The first-layer weights of the seed-{cfg.seeds[0]} explorer models trained on "
                    f"{max(cfg.ns)} examples, drawn as matrices: one column per pixel of the "
                    f"{canvas}×{canvas} canvas, one row per hidden unit (conv and locally connected: "
                    f"the first of their {cfg.model['width']} channels at each of the {canvas * canvas} "
                    f"positions; dense: the first {min(canvas * canvas, cfg.model['hidden'])} of its "
                    f"{cfg.model['hidden']} units). Conv repeats one {cfg.model['kernel_size']}×"
                    f"{cfg.model['kernel_size']} kernel along the diagonals; locally connected has a "
                    f"band of {cfg.model['kernel_size'] ** 2} weights per row, different in every row; "
                    f"dense fills the matrix. Each panel is divided by its largest absolute weight. Test "
                    f"accuracy with the glyph anywhere: " + ", ".join(
                        f"{kind} {fmt_pct(m['test_acc'])}" for kind in cfg.kinds for m in models
                        if (m["kind"], m["n"], m["seed"]) == (kind, max(cfg.ns), cfg.seeds[0]))
                    + f". They are {len(cfg.kinds)} of the {len(models)} models ({len(cfg.kinds)} kinds "
                    f"× {len(cfg.ns)} training-set sizes × {len(cfg.seeds)} seeds, "
                    f"{fmt_int(round(size / 1024))} KB of float32 weights) that the explorer runs."),
    }


def figure(result: dict) -> plt.Figure:
    """The guards as matrices: each kind's first layer, one row per hidden unit, one column per pixel.

    Drawn from the exported seed-``seeds[0]`` models trained on ``max(ns)`` examples (the caption
    names them). Each matrix is read off the torch module itself: column p is the first layer's
    response to the image with only pixel p lit (bias removed), so nothing here assumes a layout.
    """
    import torch
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import FuncNorm

    from equidocs.models import LocallyConnected2d
    from equidocs.plotting import KIND_NAMES, SIGNED_CMAP, figsize

    weights = result["companions"][WEIGHTS_FILE]
    n, seed = max(result["ns"]), result["seeds"][0]
    pixels = weights["canvas"] ** 2
    subtitles = {"conv": "one kernel, repeated", "local": "a band, every row its own",
                 "dense": "every weight free"}
    kinds = result["kinds"]
    # A signed square-root colour scale: the small untrained weights stay visible beside the few
    # large trained ones (the colour bar shows the scale).
    norm = FuncNorm((lambda v: np.sign(v) * np.sqrt(np.abs(v)), lambda v: np.sign(v) * v ** 2), -1, 1)
    fig, axes = plt.subplots(1, len(kinds), figsize=figsize(3.3), layout="constrained", squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        entry = next(m for m in weights["models"] if (m["kind"], m["n"], m["seed"]) == (kind, n, seed))
        model = explorer.import_model(entry)
        layer = next(m for m in model.modules()
                     if isinstance(m, (torch.nn.Conv2d, LocallyConnected2d, torch.nn.Linear)))
        basis = torch.eye(pixels)  # (P, P): image p has only pixel p lit
        if not isinstance(layer, torch.nn.Linear):
            basis = basis.reshape(pixels, *entry["in_shape"])  # (P, 1, H, W)
        with torch.no_grad():
            response = layer(basis) - layer(torch.zeros_like(basis[:1]))
        matrix = response.reshape(pixels, -1).T[:pixels].numpy()  # (units, P): channel 1 / first units
        lim = float(np.abs(matrix).max()) or 1.0
        ax.imshow(matrix / lim, cmap=SIGNED_CMAP, norm=norm, interpolation="none")
        ax.set_title(f"{KIND_NAMES[kind]}\n{subtitles.get(kind, '')}")
        ax.set_xticks([0, pixels - 1], ["1", str(pixels)])
        ax.set_yticks([0, pixels - 1], ["1", str(pixels)])
        ax.set_xlabel("input pixel", labelpad=-8)
        ax.grid(False)
        for spine in ax.spines.values():  # framed in the model kind's colour, as everywhere
            spine.set(color=KIND_COLORS[kind], lw=2)
    axes[0][0].set_ylabel("hidden unit", labelpad=-14)
    fig.colorbar(ScalarMappable(norm, SIGNED_CMAP), ax=axes, location="bottom", shrink=0.6, aspect=35,
                 ticks=[-1, -0.25, 0, 0.25, 1], format=lambda v, _: f"{v:g}",
                 label="weight ÷ the panel's largest |weight| (square-root scale)")
    return fig
