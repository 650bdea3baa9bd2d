"""The explorer's models: the security-guard page's nets, trained here, run in the reader's browser.

The same task, model options, budget and learning-rate tuning as :mod:`amnesia` (glyphs only in
the top-left quadrant of a 12x12 canvas; conv, locally connected and dense; a learning rate per
kind and training-set size, tuned on validation data by :func:`equidocs.experiments.search.tune`,
a budget in epochs), at amnesia's training-set sizes and a few seeds; and the conv and local nets once more with the flatten readout
(``head="flatten"``: a linear map of every position's features), exported as the kinds
"conv_flatten" and "local_flatten" (:func:`equidocs.explorer.net_of`). A probe exports each
trained model's weights; they are served as the companion file
``results/explorer_models.weights.json``, on which docs/assets/javascripts/explorer.js runs the
forward passes as the reader moves, picks or draws a glyph. The home page's compact explorer loads
a second, small file with only the models it shows (``HOME_FILE``), so the landing page does not
download every model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np

from equidocs import explorer
from equidocs.data import glyphs, region
from equidocs.experiments import amnesia
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, budget, tune
from equidocs.plotting import KIND_COLORS
from equidocs.train import Job, train_many

TITLE = "The explorer's models: trained in one corner, run in your browser"
WEIGHTS_FILE = "explorer_models.weights.json"  # companion file, served at results/WEIGHTS_FILE
HOME_FILE = "explorer_models.home.weights.json"  # the home page's subset: HOME_KINDS, max(ns), seeds[0]
HOME_KINDS = ("conv", "dense")                 # the nets the home page's compact explorer shows
PATTERN = 5                                    # side of the glyphs (equidocs.data.glyphs)
CLASSES = ("stop sign", "cross", "square", "triangle")


def _amnesia(name: str) -> amnesia.Config:
    return amnesia.Config.profile(name)


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: dict(_amnesia("quick").task))  # amnesia's task
    kinds: tuple = ("conv", "local", "dense", "conv_flatten", "local_flatten")  # exported kinds
    ns: tuple = (64, 512)         # training-set sizes: amnesia's (its accuracy maps)
    seeds: tuple = (0, 1)         # one exported model per kind, size and seed (2: the file's size)
    # amnesia's tuning and budget (amnesia.PROTOCOL; read by equidocs.experiments.search): a flatten
    # head is tuned as its own condition, per training-set size
    pilot_lr: float = field(default_factory=lambda: _amnesia("quick").pilot_lr)
    lr_grid: tuple = field(default_factory=lambda: _amnesia("quick").lr_grid)
    tune_seeds: tuple = field(default_factory=lambda: _amnesia("quick").tune_seeds)
    extend: int = field(default_factory=lambda: _amnesia("quick").extend)
    epochs: int = field(default_factory=lambda: _amnesia("quick").epochs)
    min_steps: int = field(default_factory=lambda: _amnesia("quick").min_steps)
    fit_loss: float = field(default_factory=lambda: _amnesia("quick").fit_loss)
    patience: int = field(default_factory=lambda: _amnesia("quick").patience)
    model: dict = field(default_factory=lambda: dict(_amnesia("quick").model))

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name not in ("quick", "full"):
            raise ValueError(f"profile {name!r}: expected 'quick' or 'full'")
        a = _amnesia(name)
        kinds = tuple(a.kinds) + tuple(k + explorer.FLATTEN for k in a.kinds if k != "dense")
        # Every size of amnesia's, so each explorer model has its accuracy map; two seeds keep the
        # weights file under 5 MB (a local or dense net is ~160-200 KB of base64 float32).
        return cls(task=dict(a.task), kinds=kinds, ns=tuple(a.ns), seeds=(0, 1), model=dict(a.model),
                   **{name_: getattr(a, name_) for name_ in amnesia.PROTOCOL})


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
    nets = {kind: explorer.net_of(kind) for kind in cfg.kinds}   # exported kind -> (net, options)
    models_of = {kind: {**cfg.model, **fixed} for kind, (net, fixed) in nets.items()}
    # amnesia's conditions (the pooled nets' tuning runs are amnesia's own), a flatten head tuned as its own
    conds = {(kind, n): Condition(nets[kind][0], n, task, models_of[kind]) for kind in cfg.kinds for n in cfg.ns}
    found = tune(list(conds.values()), {c: c.size for c in conds.values()}, cfg, ctx)
    tuned = {key: found[c] for key, c in conds.items()}
    jobs = [Job(nets[kind][0], task, n, seed, model=models_of[kind],
                probe="equidocs.experiments.explorer_models:probe",
                train=replace(budget(cfg, n), lr=tuned[kind, n]["lr"]))
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
    home = {**weights, "kinds": [k for k in HOME_KINDS if k in cfg.kinds], "ns": [max(cfg.ns)],
            "seeds": [cfg.seeds[0]],
            "models": [m for m in models if m["kind"] in HOME_KINDS and m["n"] == max(cfg.ns)
                       and m["seed"] == cfg.seeds[0]]}
    by_kind = {}
    sizes = [fmt_int(n) for n in cfg.ns]
    numbers = {"weights_kb": fmt_int(round(size / 1024)), "models": str(len(models)),
               "home_kb": fmt_int(round(weights_bytes(home) / 1024)),
               "seeds": str(len(cfg.seeds)), "kinds": str(len(cfg.kinds)),
               "ns": ", ".join(sizes[:-1]) + " and " + sizes[-1] if len(sizes) > 1 else sizes[0]}
    for kind in cfg.kinds:
        mine = [m for m in models if m["kind"] == kind]
        params = sum(int(np.prod(t["shape"])) for t in mine[0]["tensors"].values())
        by_kind[kind] = {"params": params, "kb_per_model": round(4 * params / 1024, 1),
                         "test_acc": {str(n): [m["test_acc"] for m in mine if m["n"] == n]
                                      for n in cfg.ns},
                         "lrs": {str(n): tuned[kind, n]["lr"] for n in cfg.ns},
                         "lr_edge": {str(n): bool(tuned[kind, n]["edge"]) for n in cfg.ns},
                         "stops": {str(n): amnesia.stop_counts([r for m, r in zip(models, runs)
                                                                if m["kind"] == kind and m["n"] == n])
                                   for n in cfg.ns}}
        numbers[f"{kind}.params"] = fmt_int(params)
        for n in cfg.ns:
            numbers[f"{kind}.n{n}.test_acc"] = fmt_pct(float(np.mean(by_kind[kind]["test_acc"][str(n)])))
            numbers[f"{kind}.n{n}.lr"] = f"{tuned[kind, n]['lr']:.2g}"
        numbers[f"{kind}.last.test_acc"] = numbers[f"{kind}.n{max(cfg.ns)}.test_acc"]   # any profile's largest
    numbers["n_last"] = fmt_int(max(cfg.ns))
    budget_hits = [{"kind": m["kind"], "n": m["n"], "seed": m["seed"], "steps": r.steps}
                   for m, r in zip(models, runs) if r.hit_budget]
    numbers["budget_runs"] = fmt_int(len(budget_hits))
    numbers["stops"] = amnesia.fmt_stops(amnesia.stop_counts(runs))
    drawn = _drawn(cfg.kinds)
    return {
        "kinds": list(cfg.kinds), "ns": list(cfg.ns), "seeds": list(cfg.seeds),
        "lrs": {kind: by_kind[kind]["lrs"] for kind in cfg.kinds}, "budget_hits": budget_hits,
        "weights_bytes": size, "by_kind": by_kind,
        "numbers": numbers, "companions": {WEIGHTS_FILE: weights, HOME_FILE: home},
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
                        f"{kind} {fmt_pct(m['test_acc'])}" for kind in drawn for m in models
                        if (m["kind"], m["n"], m["seed"]) == (kind, max(cfg.ns), cfg.seeds[0]))
                    + f". They are {len(drawn)} of the {len(models)} models that the explorer runs "
                    f"({len(cfg.kinds)} kinds × {len(cfg.ns)} training-set sizes × {len(cfg.seeds)} "
                    f"seeds, {fmt_int(round(size / 1024))} KB of float32 weights); "
                    f"{len(cfg.kinds) - len(drawn)} of the kinds are the pooled nets again with a "
                    f"flatten readout, whose first layer is drawn the same way. Each kind has its own "
                    f"learning rate per training-set size, tuned on validation data from the training "
                    f"quadrant; every run trains until its training set is fit or its loss plateaus "
                    f"(budget {cfg.epochs} epochs, at least {cfg.min_steps:,} steps; {len(budget_hits)} of "
                    f"{len(runs)} runs hit it)."),
    }


def _drawn(kinds) -> list[str]:
    """The kinds the figure draws: the pooled nets (a flatten variant has the same first layer)."""
    return [kind for kind in kinds if not kind.endswith("_flatten")]


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
    kinds = _drawn(result["kinds"])
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
