"""Resolution scaling: training examples needed to reach a target accuracy as images grow.

Two axes of "high resolution", measured separately. (a) Field of view: the canvas grows around a
glyph of fixed size, so the glyph can take more positions. (b) Pixels per object: the whole image,
glyph and noise together, is upsampled, and the conv net gets one more downsampled block per
doubling so it still sees the whole glyph. The glyphs are redrawn with their own
random shape every time (unlimited variety), so no lookup table of the training set can win; a
1-nearest-neighbour memoriser is measured beside the nets as a calibration line.

Every (kind, size) is a condition with its own learning rate, tuned on validation data near its
crossing. The training set grows along a sqrt(2)-spaced ladder until the seed-mean test accuracy
brackets the target; a condition that never reaches it inside the ladder is censored (more than
the cap), never dropped. Three growth laws are fitted to all sizes by censored maximum likelihood
(:mod:`equidocs.stats`); a law is named only when its AIC beats every other by 2, else the verdict
is "inconclusive"; a bootstrap over seeds and test examples gives each law's win frequency, the
exponents' intervals, and predictions of the two largest sizes from fits without them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch

from equidocs import stats
from equidocs.data_specs import make_splits
from equidocs.experiments.common import MODEL
from equidocs.experiments.search import Condition, bracket, cap, deciding_stops, ladder, pilot, tune
from equidocs.experiments.wording import need_words
from equidocs.experiments.formatting import fmt_int, fmt_pct

TITLE = "Samples needed vs resolution: the growth law, measured"
THEORY = {"conv": "O(polylog d)", "local": "Ω(d)", "dense": "Ω(d) with Adam, Ω(d²) with SGD"}
MEMORISER = "memoriser"  # 1-nearest neighbour on pixels
EXTRAPOLATE = {"224": 224 * 224, "1080p": 1920 * 1080, "4k": 3840 * 2160}  # 224x224, 1080p, 4K: pixels
GLYPH = 5  # side of the glyph box


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "deform": 0.5, "noise": 0.1,
                                                "n_val": 500, "n_test": 1000})
    sides: tuple = (6, 7, 8, 10, 12, 16, 24)    # axis (a): canvas side, glyph fixed at 5x5
    base: int = 6                                # axis (b): the canvas that is upsampled
    factors: tuple = (1, 2, 3, 4)                # axis (b): upsampling factors
    kinds: tuple = ("conv", "local", "dense")
    factor_kinds: tuple = ("conv", "dense")      # axis (b): the locally-connected net is left out (cost)
    seeds: tuple = tuple(range(10))
    factor_seeds: tuple = tuple(range(5))
    target: float = 0.9
    floor: int = 4                               # smallest training set on the ladder
    cap: dict = field(default_factory=lambda: {"conv": 4096, "local": 2048, "dense": 16384})
    # largest training set per kind (what a 2-core CPU affords): not there by then = censored
    pilot_lr: float = 3e-3                       # the pilot ladder (one seed) that locates the crossing
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    tune_cap: int = 1024                         # tune at min(pilot crossing, tune_cap)
    extend: int = 2                              # grid extensions allowed when an edge rate wins
    epochs: int = 60                             # budget: 60 epochs, and at least min_steps steps
    min_steps: int = 1500
    fit_loss: float = 0.05
    patience: int = 200
    model: dict = field(default_factory=lambda: dict(MODEL))
    boot: int = 400                              # bootstrap draws

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # the same design, small: three canvases, two seeds, about a minute
            return cls(sides=(6, 7, 8), factors=(1, 2), seeds=(0, 1), factor_seeds=(0, 1),
                       cap={"conv": 128, "local": 256, "dense": 1024}, tune_cap=128,
                       lr_grid=(3e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=30, min_steps=600,
                       boot=60)
        return cls()


def conditions(cfg: Config, axis: str) -> list[Condition]:
    """Every (kind, size) of an axis, with its data spec and model options.

    On axis (b), the conv net gets one more block per doubling of resolution, each after Zhang's
    anti-aliased 2x downsampling (MaxBlurPool), so its receptive field still covers the upsampled
    glyph (a plain 2x max-pool would shrink an 18x18 map below the 5x5 kernel by the third block).
    """
    out = []
    for kind in (cfg.kinds if axis == "field of view" else cfg.factor_kinds):
        if axis == "field of view":
            out += [Condition(kind, s, {**cfg.task, "canvas": s}, cfg.model) for s in cfg.sides]
        else:
            for f in cfg.factors:
                depth = 1 + math.ceil(math.log2(f))
                model = {**cfg.model, "depth": depth, "downsample": "blurpool" if depth > 1 else "none"}
                out.append(Condition(kind, f, {**cfg.task, "canvas": cfg.base, "upsample": f}, model))
    return out


def memoriser(conds: list[Condition], seeds: tuple, cfg: Config) -> dict[Condition, list[dict]]:
    """1-nearest neighbour on pixels (a lookup table of the training set) along the same ladder,
    per distinct data spec, until its seed-mean test accuracy reaches the target or the cap."""
    out = {}
    for c in conds:
        rows, test = [], make_splits(c.data, 1, 0).test  # the test set does not depend on n or seed
        train_only = {**c.data, "n_val": 1, "n_test": 1}  # the same training sets, nothing else drawn
        for n in ladder(cfg, MEMORISER):
            accs = []
            for s in seeds:
                train = make_splits(train_only, n, s).train
                near = torch.cdist(test.x.flatten(1), train.x.flatten(1)).argmin(1)
                accs.append(float((train.y[near] == test.y).float().mean()))
            rows.append({"n": n, "acc": accs})
            if np.mean(accs) >= cfg.target:
                break
        out[c] = rows
    return out


def _curve(rows: list[dict]) -> tuple[list[int], np.ndarray]:
    return [r["n"] for r in rows], np.array([r["acc"] for r in rows]).T  # (seeds, rungs)


def analyse(sizes: list[int], xs: dict[str, list[float]], curves: dict[int, list[dict]], cfg: Config,
            seed: int) -> dict:
    """Crossings with intervals, the censored law comparison, its bootstrap and the held-out check."""
    n_test = cfg.task["n_test"]
    points = []
    for size in sizes:
        ns, per_seed = _curve(curves[size])
        cross = stats.censored_crossing(ns, per_seed.mean(0), cfg.target)
        rng = np.random.default_rng(seed + size)
        boots = [stats.censored_crossing(ns, stats.resampled_mean_curve(per_seed, n_test, rng), cfg.target)
                 for _ in range(cfg.boot)]
        lo, hi = np.percentile([b.value for b in boots], [2.5, 97.5])
        points.append({"size": size, "needed": cross.value, "censored": cross.censored,
                       "ci": [float(lo), float(hi)], "ns": ns, "acc": per_seed.tolist()})
    values, cens = [p["needed"] for p in points], [p["censored"] for p in points]
    out = {"points": points}
    if sum(c == "" for c in cens) < 2:
        out.update(best_law=stats.INCONCLUSIVE, fit=None, note="fewer than two sizes were measured "
                   "inside the ladder (the rest are censored), so no law can be fitted")
        return out
    fit = stats.compare_laws(xs, values, cens)

    def draw(rng: np.random.Generator) -> tuple[list[float], list[str]]:
        got = [stats.censored_crossing(p["ns"], stats.resampled_mean_curve(np.array(p["acc"]), n_test, rng),
                                       cfg.target) for p in points]
        return [g.value for g in got], [g.censored for g in got]

    boot = stats.law_bootstrap(xs, draw, draws=cfg.boot, seed=seed)
    held = {}
    for law, x in xs.items():
        x = np.asarray(x, float)
        if len(x) >= 4 and sum(c == "" for c in cens[:-2]) >= 2:
            f = stats.censored_law_fit(x[:-2], values[:-2], cens[:-2])
            pred = np.exp(f["a"] + f["b"] * x[-2:])
            interval = boot["laws"][law]["held_out_interval"]
            held[law] = [{"size": p["size"], "predicted": float(q), "observed": p["needed"],
                          "censored": p["censored"],
                          "log_error": (float(math.log(q / p["needed"])) if p["censored"] == "" else None),
                          "consistent": (bool(iv[0] <= p["needed"] <= iv[1]) if p["censored"] == ""
                                         else bool(q > p["needed"]) if p["censored"] == stats.ABOVE
                                         else bool(q <= p["needed"])),
                          "interval": iv}
                         for p, q, iv in zip(points[-2:], pred, interval)]
    out.update(best_law=fit["best"], fit=fit, bootstrap=boot, held_out=held, note="")
    return out


AXES = {  # axis -> (law name -> x values from the sizes), pixel count of a size
    "field of view": (lambda sizes: {"power law in pixels": np.log(np.square(sizes, dtype=float)),
                                     "power law in positions": np.log(np.square(np.subtract(sizes, GLYPH - 1), dtype=float)),
                                     "exponential in side length": np.asarray(sizes, float)},
                      lambda size, cfg: size * size),
    "pixels per object": (lambda sizes: {"power law in pixels": np.log(np.square(sizes, dtype=float)),
                                         "exponential in side length": np.asarray(sizes, float)},
                          lambda size, cfg: (size * cfg.base) ** 2),
}


def measure_axis(axis: str, cfg: Config, ctx) -> dict:
    """Pilot, tune, bracket and analyse every condition of one axis; the memoriser beside them."""
    seeds = cfg.seeds if axis == "field of view" else cfg.factor_seeds
    conds = conditions(cfg, axis)
    start = pilot(conds, cfg, ctx)
    tuned = tune(conds, {c: min(start[c], cfg.tune_cap) for c in conds}, cfg, ctx)
    curves = bracket(conds, start, {c: tuned[c]["lr"] for c in conds}, seeds, cfg, ctx)
    sizes = list(cfg.sides if axis == "field of view" else cfg.factors)
    side = sizes if axis == "field of view" else [f * cfg.base for f in sizes]
    laws, pixels = AXES[axis]
    xs = {k: list(map(float, v)) for k, v in laws(side).items()}
    kinds = {}
    for j, kind in enumerate(dict.fromkeys(c.kind for c in conds)):
        mine = {c.size: c for c in conds if c.kind == kind}
        result = analyse(sizes, xs, {s: curves[mine[s]] for s in sizes}, cfg, seed=1000 * j)
        result.update(lr=[tuned[mine[s]]["lr"] for s in sizes],
                      lr_tables=[tuned[mine[s]] for s in sizes],
                      stops=[deciding_stops(curves[mine[s]], cfg.target) for s in sizes],
                      params=[curves[mine[s]][0]["params"] for s in sizes],
                      train_acc_min=min(min(r["train_acc"]) for s in sizes for r in curves[mine[s]]))
        kinds[kind] = result
    first = [c for c in conds if c.kind == "conv"]
    memo = memoriser(first, seeds, cfg)
    kinds[MEMORISER] = analyse(sizes, xs, {c.size: memo[c] for c in first}, cfg, seed=9000)
    return {"axis": axis, "sizes": sizes, "side": side, "pixels": [pixels(s, cfg) for s in sizes],
            "seeds": len(seeds), "laws": list(xs), "kinds": kinds}


def extrapolate(result: dict) -> dict:
    """The fitted pixel power law carried to real image sizes, with the bootstrap slope interval
    (the intercept refitted through the measured centre). An extrapolation, labelled as such."""
    out = {}
    for kind, data in result["kinds"].items():
        if not data.get("fit"):
            continue
        f = data["fit"]["fits"]["power law in pixels"]
        lo_b, hi_b = data["bootstrap"]["laws"]["power law in pixels"]["slope_ci"]
        centre = float(np.mean(np.log(result["pixels"])))
        y0 = f["a"] + f["b"] * centre
        out[kind] = {name: {"needed": float(math.exp(f["a"] + f["b"] * math.log(d))),
                            "range": sorted(float(math.exp(y0 + b * (math.log(d) - centre))) for b in (lo_b, hi_b))}
                     for name, d in EXTRAPOLATE.items()}
    return out


def summary(result: dict, cfg: Config) -> dict:
    """The machine-readable summary published in ``results/resolution_scaling.json``."""
    kinds = {}
    for kind, data in result["kinds"].items():
        fit, boot = data.get("fit"), data.get("bootstrap")
        pix = "power law in pixels"
        kinds[kind] = {
            "needed": [p["needed"] for p in data["points"]],
            "censored": [p["censored"] or None for p in data["points"]],
            "needed_ci": [p["ci"] for p in data["points"]],
            "exponent_d": fit["fits"][pix]["b"] if fit else None,
            "exponent_d_ci": boot["laws"][pix]["slope_ci"] if boot else None,
            "best_law": data["best_law"],
            "law_win_frequency": boot["win_frequency"] if boot else None,
            "held_out_log_error": ({law: [h["log_error"] for h in rows] for law, rows in data["held_out"].items()}
                                   if boot else None),
        }
    return {"axis": "pixels", "sizes": result["sizes"], "pixels": result["pixels"], "seeds": result["seeds"],
            "target": cfg.target, "kinds": kinds}


KIND_WORDS = {"conv": "conv", "local": "locally connected", "dense": "dense"}


def budget_flags(result: dict) -> str:
    """Which conditions had deciding runs that hit the budget, and whether their point is censored.

    >>> budget_flags({"side": [6, 8], "kinds": {"dense": {"stops": [["fit"], ["budget", "fit"]],
    ...     "points": [{"censored": ""}, {"censored": "above"}]}}})
    'dense at 8×8: 1 of 2 runs (censored at the cap)'
    """
    flags = []
    for kind, data in result["kinds"].items():
        for side, stops, point in zip(result["side"], data.get("stops", []), data["points"]):
            if "budget" in stops:
                flags.append(f"{KIND_WORDS[kind]} at {side}×{side}: {stops.count('budget')} of "
                             f"{len(stops)} runs" + (" (censored at the cap)" if point["censored"] == "above" else ""))
    return "; ".join(flags) or "none"


def numbers_for(result: dict, prefix: str, cfg: Config) -> dict[str, str]:
    """Strings for the page: per kind, the needs at the ends, exponents, verdict and win frequencies."""
    out = {f"{prefix}.budget_flags": budget_flags(result)}
    for kind, data in result["kinds"].items():
        key = f"{prefix}.{kind}"
        out[f"{key}.needed_first"] = need_words(data["points"][0]["needed"], data["points"][0]["censored"])
        out[f"{key}.needed_last"] = need_words(data["points"][-1]["needed"], data["points"][-1]["censored"])
        out[f"{key}.best_law"] = data["best_law"]
        fit, boot = data.get("fit"), data.get("bootstrap")
        for law in result["laws"]:
            short = law.split()[-1] if law.startswith("power") else "side"
            if fit:
                out[f"{key}.{short}_exponent"] = f"{fit['fits'][law]['b']:.2f}"
                out[f"{key}.{short}_ci"] = "{:.2f} to {:.2f}".format(*boot["laws"][law]["slope_ci"])
                out[f"{key}.{short}_wins"] = fmt_pct(boot["win_frequency"][law])
            else:
                out[f"{key}.{short}_exponent"] = out[f"{key}.{short}_ci"] = out[f"{key}.{short}_wins"] = "n/a"
        out[f"{key}.inconclusive_wins"] = fmt_pct(boot["win_frequency"][stats.INCONCLUSIVE]) if boot else "n/a"
        if kind != MEMORISER:
            stops = [s for v in data["stops"] for s in v]
            out[f"{key}.runs_deciding"] = fmt_int(len(stops))
            for reason in ("fit", "plateau", "budget"):
                out[f"{key}.stop_{reason}"] = fmt_int(stops.count(reason))
            out[f"{key}.budget_share"] = fmt_pct(stops.count("budget") / max(1, len(stops)))
        held = data.get("held_out") or {}
        law = "power law in pixels"
        if held.get(law):
            rows = held[law]
            out[f"{key}.held_out"] = "; ".join(
                (f"{result['pixels'][result['sizes'].index(h['size'])]} pixels: predicted "
                 f"{fmt_int(h['predicted'])}, measured {need_words(h['observed'], h['censored'])}"
                 f" ({'consistent' if h['consistent'] else 'outside the interval'})") for h in rows)
        else:
            out[f"{key}.held_out"] = "n/a"
    return out


def verdict(kinds: dict) -> str:
    """One clause per kind, computed from the fits: which law wins (in how many bootstrap draws),
    or "inconclusive"; with the power law in pixels' exponent and its interval for scale.

    >>> fit = {"fits": {"power law in pixels": {"b": 1.5}}}
    >>> boot = {"win_frequency": {"inconclusive": 0.6}, "laws": {"power law in pixels": {"slope_ci": [1.2, 1.8]}}}
    >>> verdict({"dense": {"best_law": "inconclusive", "fit": fit, "bootstrap": boot}})
    'dense: inconclusive, no law beats the others by ΔAIC ≥ 2 (60% of bootstrap draws agree); N ∝ d^1.50 [1.20, 1.80].'
    """
    parts = []
    for kind, data in kinds.items():
        name = KIND_WORDS.get(kind, "1-NN memoriser")
        if not data.get("fit"):
            parts.append(f"{name}: no fit ({data.get('note')}).")
            continue
        law, freq = data["best_law"], data["bootstrap"]["win_frequency"]
        b = data["fit"]["fits"]["power law in pixels"]["b"]
        lo, hi = data["bootstrap"]["laws"]["power law in pixels"]["slope_ci"]
        scale = f"N ∝ d^{b:.2f} [{lo:.2f}, {hi:.2f}]"
        if law == stats.INCONCLUSIVE:
            parts.append(f"{name}: inconclusive, no law beats the others by ΔAIC ≥ 2 "
                         f"({freq[law]:.0%} of bootstrap draws agree); {scale}.")
        else:
            parts.append(f"{name}: {law} wins by ΔAIC ≥ 2 (in {freq[law]:.0%} of bootstrap draws); "
                         f"{scale}.")
    return " ".join(parts)


def run(cfg: Config, ctx) -> dict:
    axes = {"fov": measure_axis("field of view", cfg, ctx), "upsampled": measure_axis("pixels per object", cfg, ctx)}
    fov = axes["fov"]
    numbers = {"seeds": str(len(cfg.seeds)), "factor_seeds": str(len(cfg.factor_seeds)),
               "target": fmt_pct(cfg.target), "floor": fmt_int(cfg.floor),
               **{f"cap.{k}": fmt_int(v) for k, v in cfg.cap.items()},
               "cap_memoriser": fmt_int(cap(cfg, MEMORISER)),
               "sizes": ", ".join(f"{s}×{s}" for s in cfg.sides), "n_sizes": str(len(cfg.sides)),
               "pixels_first": fmt_int(fov["pixels"][0]), "pixels_last": fmt_int(fov["pixels"][-1]),
               "pixel_span": fmt_int(fov["pixels"][-1] / fov["pixels"][0]),
               "factors": ", ".join(f"{f}×" for f in cfg.factors), "base": str(cfg.base),
               "up_pixels_last": fmt_int(axes["upsampled"]["pixels"][-1]),
               "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid), "tune_seeds": str(len(cfg.tune_seeds)),
               "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps),
               "deform": f"{cfg.task['deform']:g}", "noise": f"{cfg.task['noise']:g}",
               "n_test": fmt_int(cfg.task["n_test"])}
    for name, res in axes.items():
        numbers.update(numbers_for(res, name, cfg))
        numbers[f"{name}.verdict"] = verdict(res["kinds"])
        res["extrapolation"] = extrapolate(res) if name == "fov" else {}
    edges = sum(t["edge"] for res in axes.values() for k, data in res["kinds"].items() if k != MEMORISER
                for t in data["lr_tables"])
    numbers["lr_edges"] = fmt_int(edges)
    for kind in fov["kinds"]:
        for where in EXTRAPOLATE:
            v = fov["extrapolation"].get(kind, {}).get(where)
            numbers[f"extrapolate.{kind}.{where}"] = (
                f"{v['needed']:.1e} ({v['range'][0]:.1e} to {v['range'][1]:.1e})" if v
                else "not fitted (fewer than two sizes measured)")
    for name, res in axes.items():
        for kind, data in res["kinds"].items():
            if kind != MEMORISER:
                numbers[f"{name}.{kind}.params_first"] = fmt_int(data["params"][0])
                numbers[f"{name}.{kind}.params_last"] = fmt_int(data["params"][-1])
    return {"axes": axes, "target": cfg.target, "numbers": numbers, "summary": {**summary(fov, cfg), "pixels_per_object": summary(axes["upsampled"], cfg)},
            "caption": (
                f"Training examples needed to reach {cfg.target:.0%} test accuracy (mean over "
                f"{len(cfg.seeds)} seeds, interpolated in log N; bars: 95% bootstrap interval over seeds "
                f"and test examples) against the number of pixels, log-log. Left: the canvas grows around "
                f"a 5×5 glyph (more positions). Right: the whole {cfg.base}×{cfg.base} image is upsampled "
                f"(more pixels per object; {len(cfg.factor_seeds)} seeds). Up-arrows: the mean never "
                f"reached the target by the largest training set tried (censored: conv "
                f"{cfg.cap['conv']:,}, locally connected {cfg.cap['local']:,}, dense {cfg.cap['dense']:,}); "
                f"down-arrows: reached with the "
                f"smallest set tried. Lines: the censored fit of the power law in pixels; dotted and "
                f"dash-dotted grey: slopes 1 and 2 from dense's first point. Grey squares: a 1-nearest-"
                f"neighbour memoriser.")}


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import (KIND_NAMES, arm_style, censored_handle, censored_point, figsize, figure_legend,
                                   muted_color, plain_log_axis)

    fig, axs = plt.subplots(1, 2, figsize=figsize(4.1), sharey=True, layout="constrained")
    handles = []
    names = {**KIND_NAMES, MEMORISER: "1-NN memoriser"}
    directions = set()
    for ax, (name, res) in zip(axs, result["axes"].items()):
        pixels = np.array(res["pixels"], float)
        for i, (kind, data) in enumerate(res["kinds"].items()):
            style = arm_style(kind)  # one colour and marker per arm (plotting.ARM_STYLES)
            color = style["color"]
            alpha = 0.7 if kind == MEMORISER else 1
            dodge = 1 + 0.025 * (i - 1.5)  # side by side, so equal bounds do not hide each other
            for p, d in zip(data["points"], pixels * dodge):
                if p["censored"]:  # the arm's marker, hollow, with an arrow (up: more than the cap)
                    censored_point(ax, d, p["needed"], kind, p["censored"], size=5.5, length=1.9)
                    directions.add(p["censored"])
                    continue
                err = np.abs(np.array(p["ci"], float)[:, None] - p["needed"])
                ax.errorbar([d], [p["needed"]], yerr=err, fmt=style["marker"], color=color, capsize=3,
                            markersize=5, alpha=alpha)
            if data.get("fit"):  # solid over the measured sizes, dashed where only bounds constrain it
                f = data["fit"]["fits"]["power law in pixels"]
                last = max(d for p, d in zip(data["points"], pixels) if not p["censored"])
                for lo, hi, ls in ((pixels[0], last, "-"), (last, pixels[-1], "--")):
                    grid = np.geomspace(lo, hi, 30)
                    ax.plot(grid, np.exp(f["a"] + f["b"] * np.log(grid)), ls, color=color,
                            lw=1.2 if ls == "-" else 0.8)
            if name == "fov":
                slope = f" (d^{data['fit']['fits']['power law in pixels']['b']:.2f})" if data.get("fit") else ""
                handles.append(Line2D([], [], color=color, marker=style["marker"], lw=1.2 if slope else 0,
                                      label=names[kind] + slope))
        dense = res["kinds"].get("dense", {}).get("points", [])
        if dense and not dense[0]["censored"]:
            p = np.array([pixels[0], pixels[-1]])
            for slope, ls in ((1, ":"), (2, "-.")):
                ax.plot(p, dense[0]["needed"] * (p / p[0]) ** slope, ls, color=muted_color(), lw=1)
        ax.set(xscale="log", yscale="log", xlabel="pixels d (log)",
               title="(a) canvas grows: more positions" if name == "fov" else "(b) upsampled: pixels per object")
        ax.set_xticks(pixels, [str(int(v)) for v in pixels], rotation=45)
        ax.minorticks_off()
    top = max(p["needed"] for res in result["axes"].values() for d in res["kinds"].values() for p in d["points"])
    axs[0].set_ylim(top=top * 10)  # room above the censored bounds; fits beyond are cut off
    axs[0].set_ylabel(f"examples needed for\n{result['target']:.0%} test accuracy")
    plain_log_axis(axs[0].yaxis)
    handles += [Line2D([], [], ls=":", color=muted_color(), label="slope 1"),
                Line2D([], [], ls="-.", color=muted_color(), label="slope 2")]
    labels = [h.get_label() for h in handles]
    words = {"above": "censored: more than the cap", "below": "censored: the smallest set"}
    for direction in ("above", "below"):
        if direction in directions:
            handles.append(censored_handle(direction))
            labels.append(words[direction])
    figure_legend(fig, handles, labels, ncol=3)
    return fig
