"""Capacity control: is the dense net just the wrong size?

The site's standard nets (:data:`equidocs.experiments.common.MODEL`) have one size of each model
kind: conv and locally-connected nets with 8 channels, a dense net with one hidden layer of 256
units. A sceptic can answer that the dense net needs more examples only because that size is
wrong for it. This experiment sweeps capacity and measures, for every size, the training examples
needed to reach the target test accuracy, at two canvases:

- dense: hidden units (one hidden layer) and depth (hidden layers of 256 units);
- conv and locally connected: channels.

Every (kind, capacity, canvas) is a condition measured with the search protocol
(:mod:`equidocs.experiments.search`: pilot, learning rate tuned on validation data, a sqrt(2)-spaced
ladder bracketing the crossing, censoring at the cap); the standard size is one of the sweep. (The
mechanism study, :mod:`equidocs.experiments.resolution_scaling`, tunes width and weight decay per
condition as well.) From the needs and
their bootstrap draws (:func:`equidocs.stats.need`) it computes how far capacity moves each kind's
need, whether the best dense size still needs more than the worst conv size, and each size's growth
exponent between the two canvases; every conclusion is read off 95% intervals, and says
"inconclusive" where they overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

from equidocs import stats
from equidocs.experiments.common import MODEL
from equidocs.experiments.formatting import fmt_int, fmt_pct
from equidocs.experiments.search import Condition, bracket, deciding_stops, pilot, tune
from equidocs.experiments import wording
from equidocs.experiments.wording import need_words
from equidocs.plotting import KIND_COLORS

TITLE = "Is the dense net just the wrong size? Examples needed across model capacities"
KIND_WORDS = {"conv": "conv", "local": "locally connected", "dense": "dense"}
SWEPT = {"hidden": "hidden units", "depth": "hidden layers", "width": "channels"}


@dataclass(frozen=True)
class Config:
    task: dict = field(default_factory=lambda: {"dataset": "patterns", "deform": 0.5, "noise": 0.1,
                                                "n_val": 500, "n_test": 1000})  # the glyph task
    canvases: tuple = (6, 8)                      # exactly two canvas sides (the growth exponent's ends)
    dense_hidden: tuple = (64, 256, 1024, 4096)   # width sweep of the dense net, at model["depth"]
    dense_depth: tuple = (2, 3)                   # depth sweep of the dense net, at model["hidden"]
    conv_width: tuple = (4, 8, 32)                # channels
    local_width: tuple = (4, 8, 32)
    seeds: tuple = tuple(range(10))
    target: float = 0.9
    # The search's settings (search.py reads these off the config):
    floor: int = 4
    cap: dict = field(default_factory=lambda: {"conv": 4096, "local": 2048, "dense": 16384})
    pilot_lr: float = 3e-3
    lr_grid: tuple = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple = (0, 1, 2)
    tune_cap: int = 1024
    extend: int = 2
    epochs: int = 60
    min_steps: int = 1500
    fit_loss: float = 0.05
    patience: int = 200
    model: dict = field(default_factory=lambda: dict(MODEL))  # the baseline size
    margin: int = 1                               # rungs measured on each side of the bracket (for the bootstrap)
    boot: int = 1000                              # bootstrap draws per need

    @classmethod
    def profile(cls, name: str) -> "Config":
        if name == "quick":  # the same design, tiny, with quick search settings
            return cls(canvases=(6, 7), dense_hidden=(64, 256), dense_depth=(2,), conv_width=(4, 8),
                       local_width=(8,), seeds=(0, 1), cap={"conv": 128, "local": 256, "dense": 1024},
                       tune_cap=128, lr_grid=(3e-3, 1e-2), tune_seeds=(0,), extend=1, epochs=30,
                       min_steps=600, boot=200)
        return cls()


@dataclass(frozen=True)
class Arm:
    """One model capacity: a kind and the one option it changes from ``cfg.model``."""

    kind: str
    option: str     # "hidden", "depth" or "width"
    value: int
    sweeps: tuple   # ("width",), ("depth",), or both for the baseline that lies on both sweeps

    @property
    def id(self) -> str:
        """The key of this capacity in ``numbers``.

        >>> Arm("dense", "hidden", 64, ("width",)).id
        'dense.hidden64'
        """
        return f"{self.kind}.{self.option}{self.value}"

    @property
    def label(self) -> str:
        """The capacity in words.

        >>> Arm("dense", "depth", 2, ("depth",)).label, Arm("conv", "width", 32, ("width",)).label
        ('2 hidden layers', '32 channels')
        """
        return f"{fmt_int(self.value)} {SWEPT[self.option]}"


def design(cfg: Config) -> list[Arm]:
    """Every capacity of the sweep once, in the order dense, conv, locally connected: a model that
    lies on two sweeps (the dense baseline: ``model["hidden"]`` units, ``model["depth"]`` layer) is
    one arm belonging to both.

    >>> [(a.id, a.sweeps) for a in design(Config(dense_hidden=(64, 256), dense_depth=(1, 2),
    ...                                          conv_width=(8,), local_width=()))]
    [('dense.hidden64', ('width',)), ('dense.hidden256', ('width', 'depth')), ('dense.depth2', ('depth',)), ('conv.width8', ('width',))]
    """
    if len(cfg.canvases) != 2:
        raise ValueError(f"canvases={cfg.canvases!r}: expected exactly two canvas sides")
    candidates = ([("dense", "hidden", h, "width") for h in cfg.dense_hidden]
                  + [("dense", "depth", d, "depth") for d in cfg.dense_depth]
                  + [("conv", "width", w, "width") for w in cfg.conv_width]
                  + [("local", "width", w, "width") for w in cfg.local_width])
    arms: dict[tuple, Arm] = {}
    for kind, option, value, sweep in candidates:
        key = (kind, tuple(sorted(model(cfg, Arm(kind, option, value, ())).items())))
        old = arms.get(key)
        arms[key] = Arm(kind, option, value, (sweep,)) if old is None else \
            Arm(old.kind, old.option, old.value, tuple(dict.fromkeys(old.sweeps + (sweep,))))
    # the depth sweep includes the baseline depth: mark the baseline as on it when the sweep is run
    base = ("dense", tuple(sorted(cfg.model.items())))
    if cfg.dense_depth and base in arms and "depth" not in arms[base].sweeps:
        a = arms[base]
        arms[base] = Arm(a.kind, a.option, a.value, a.sweeps + ("depth",))
    return list(arms.values())


def model(cfg: Config, arm: Arm) -> dict:
    """The model options of an arm: ``cfg.model`` with one option replaced (its key order kept, so
    the baseline's options are ``cfg.model`` itself and its jobs are the standard nets')."""
    return {**cfg.model, arm.option: arm.value}


def is_baseline(cfg: Config, arm: Arm) -> bool:
    """Whether an arm is the site's standard size (common.MODEL)."""
    return model(cfg, arm) == cfg.model


def conditions(cfg: Config) -> dict[tuple[str, int], Condition]:
    """(arm id, canvas) -> its search condition, at every canvas."""
    return {(arm.id, c): Condition(arm.kind, c, {**cfg.task, "canvas": c}, model(cfg, arm))
            for c in cfg.canvases for arm in design(cfg)}


# ---- statistics of needs ------------------------------------------------------------------------

def ratio(worse: stats.Need, better: stats.Need, level: float = 0.95) -> dict:
    """``worse / better`` as :func:`equidocs.stats.need_ratio` computes it, as plain data.

    ``bound`` says what the point is: "" a measurement, "lower" only a lower bound (``worse`` never
    reached the target, or ``better`` did at its first rung), "none" undetermined (value None). An
    interval end is None where too many draws are censored to give it (a low end of 0).

    >>> a = stats.Need(100.0, "", 80.0, 120.0, (90.0, 100.0, 110.0), ("", "", ""))
    >>> b = stats.Need(16.0, "above", 16.0, 16.0, (16.0, 16.0, 16.0), ("above",) * 3)
    >>> ratio(a, a)["bound"], ratio(b, a)["bound"], ratio(a, b)["bound"], ratio(a, b)["low"]
    ('', 'lower', 'none', None)
    """
    r = stats.need_ratio(worse, better, level)
    return {"value": r.value, "low": r.low if r.low > 0 else None, "high": r.high,
            "bound": "none" if r.value is None else "lower" if r.lower_bound_only else ""}



def exponent(small: stats.Need, big: stats.Need, pixels: tuple[int, int]) -> dict:
    """The growth exponent b in N ∝ pixels^b between two canvases: log(N_big / N_small) over
    log(pixels ratio), with the 95% interval of :func:`ratio` (draws paired by index) carried
    through the same map; a censored end makes the point a lower bound (the larger canvas never
    reached the target, or the smaller one did at its first rung) or None, never a value.

    >>> n6 = stats.Need(100.0, "", 90.0, 110.0, (90.0, 100.0, 110.0), ("", "", ""))
    >>> n8 = stats.Need(177.78, "", 160.0, 200.0, (160.0, 177.78, 200.0), ("", "", ""))
    >>> round(exponent(n6, n8, (36, 64))["value"], 3), exponent(n6, n8, (36, 64))["bound"]
    (1.0, '')
    """
    r, scale = ratio(big, small), math.log(pixels[1] / pixels[0])
    return {k: (None if r[k] is None else math.log(r[k]) / scale) for k in ("value", "low", "high")} | \
        {"bound": r["bound"]}



# ---- words --------------------------------------------------------------------------------------

def times(x: float) -> str:
    """A ratio for the page.

    >>> times(0.625), times(3.14), times(1234.5)
    ('0.62×', '3.1×', '1,234×')
    """
    return f"{wording.times(x)}×"


def fmt_ratio(r: dict) -> str:
    """A :func:`ratio` in words: "X (95% interval A to B)", bounds said as such.

    >>> fmt_ratio({"value": 3.0, "low": 2.0, "high": 4.5, "bound": ""})
    '3.0× (95% interval 2.0× to 4.5×)'
    >>> fmt_ratio({"value": 12.0, "low": 5.0, "high": None, "bound": "lower"})
    'at least 12× (95% interval from 5.0×, no upper end: too many draws censored)'
    """
    if r["value"] is None:
        return "n/a (censoring leaves it undetermined)"
    lead = ("at least " if r["bound"] == "lower" else "") + times(r["value"])
    return lead + _interval(r, times)


def _interval(r: dict, fmt) -> str:
    if r["low"] is None and r["high"] is None:
        return " (no interval: too many draws censored)"
    if r["high"] is None:
        return f" (95% interval from {fmt(r['low'])}, no upper end: too many draws censored)"
    if r["low"] is None:
        return f" (95% interval up to {fmt(r['high'])}, no lower end: too many draws censored)"
    return f" (95% interval {fmt(r['low'])} to {fmt(r['high'])})"


def fmt_exponent(e: dict, ends: str) -> str:
    """A growth exponent in words; ``ends`` names the canvases (for a censored end).

    >>> fmt_exponent({"value": 1.02, "low": 0.8, "high": 1.3, "bound": ""}, "6×6 to 8×8")
    '1.02 (95% interval 0.80 to 1.30)'
    >>> fmt_exponent({"value": 2.5, "low": 1.9, "high": None, "bound": "lower"}, "6×6 to 8×8")
    'at least 2.50 (a need censored, 6×6 to 8×8; 95% interval from 1.90, no upper end: too many draws censored)'
    """
    two = "{:.2f}".format
    if e["value"] is None:
        return f"n/a (censoring leaves it undetermined, {ends})"
    if not e["bound"]:
        return two(e["value"]) + _interval(e, two)
    inside = _interval(e, two).strip()[1:]  # the interval's words without their opening bracket
    return f"at least {two(e['value'])} (a need censored, {ends}; {inside}"


def fmt_need(p: dict) -> str:
    """A need with its interval, censoring in words (see :func:`equidocs.experiments.wording.need_words`).

    >>> fmt_need({"needed": 120.4, "censored": "", "ci": [100.0, 150.0], "open": [False, True]})
    '120 (95% interval 100 to more than 150)'
    """
    if p["censored"]:
        return need_words(p["needed"], p["censored"])
    lo = fmt_int(p["ci"][0]) + (" or fewer" if p["open"][0] else "")
    hi = ("more than " if p["open"][1] else "") + fmt_int(p["ci"][1])
    return f"{fmt_int(p['needed'])} (95% interval {lo} to {hi})"


def _join(words: list[str]) -> str:
    """Words in a list for prose.

    >>> _join(["a"]), _join(["a", "b"]), _join(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdict(outcomes: list[tuple[str, str]], a: str = "dense", b: str = "conv") -> str:
    """One sentence from :func:`equidocs.stats.separation`'s outcomes per canvas, [(canvas words, outcome)].

    >>> verdict([("6×6", "above"), ("8×8", "above")])
    "At 6×6 and 8×8, every dense capacity's 95% interval lies above every conv capacity's: no dense size tried closes the gap."
    >>> verdict([("6×6", "above"), ("8×8", "inconclusive")])
    "At 6×6, every dense capacity's 95% interval lies above every conv capacity's; at 8×8, inconclusive: some dense and conv capacities' intervals overlap (or have no end)."
    """
    a, b = KIND_WORDS[a], KIND_WORDS[b]
    if all(o == "above" for _, o in outcomes):
        return (f"At {_join([c for c, _ in outcomes])}, every {a} capacity's 95% interval lies above "
                f"every {b} capacity's: no {a} size tried closes the gap.")
    clause = {"above": f"every {a} capacity's 95% interval lies above every {b} capacity's",
              "below": f"every {b} capacity's 95% interval lies above every {a} capacity's",
              stats.INCONCLUSIVE: f"inconclusive: some {a} and {b} capacities' intervals overlap (or have no end)"}
    text = "; ".join(f"at {c}, {clause[o]}" for c, o in outcomes)
    return text[0].upper() + text[1:] + "."


def capacity_verdict(moved: dict[str, list[str]]) -> str:
    """One sentence: for which kinds capacity moves the need beyond noise, {kind: [canvases where
    the largest-to-smallest need ratio's 95% interval lies above 1]} (an interval with no low end
    reaches 1).

    >>> capacity_verdict({"dense": ["6×6"], "conv": [], "local": []})
    "Capacity moves the need beyond its 95% interval for dense (at 6×6); for conv and locally connected, inconclusive: the largest-to-smallest ratio's interval does not lie above 1 at any canvas."
    >>> capacity_verdict({"conv": [], "dense": []})
    "Inconclusive for every kind: at every canvas, the largest-to-smallest need ratio's 95% interval reaches 1."
    """
    yes = [f"{KIND_WORDS[k]} (at {_join(c)})" for k, c in moved.items() if c]
    no = [KIND_WORDS[k] for k, c in moved.items() if not c]
    if not yes:
        return ("Inconclusive for every kind: at every canvas, the largest-to-smallest need ratio's 95% "
                "interval reaches 1.")
    text = f"Capacity moves the need beyond its 95% interval for {_join(yes)}"
    if no:
        text += (f"; for {_join(no)}, inconclusive: the largest-to-smallest ratio's interval does not lie "
                 f"above 1 at any canvas")
    return text + "."


# ---- the experiment -----------------------------------------------------------------------------

def measure(cfg: Config, ctx) -> tuple[dict, dict, dict]:
    """Pilot, tune and bracket every condition in one batch per step: (conditions, tuned, curves)."""
    conds = conditions(cfg)
    todo = list(conds.values())
    start = pilot(todo, cfg, ctx)
    tuned = tune(todo, {c: min(start[c], cfg.tune_cap) for c in todo}, cfg, ctx)
    curves = bracket(todo, start, {c: tuned[c]["lr"] for c in todo}, cfg.seeds, cfg, ctx, margin=cfg.margin)
    return conds, tuned, curves


def _point(rows: list[dict], tuned: dict, canvas: int, cfg: Config, seed: int) -> tuple[dict, stats.Need]:
    ns = [r["n"] for r in rows]
    per_seed = np.array([r["acc"] for r in rows], float).T  # (seeds, rungs)
    n = stats.need(ns, per_seed, cfg.target, n_test=cfg.task["n_test"], draws=cfg.boot, seed=seed)
    lo, hi = stats.valid_interval(n)
    stops = deciding_stops(rows, cfg.target)
    return {"canvas": canvas, "pixels": canvas * canvas, "params": int(rows[0]["params"]),
            "lr": float(tuned["lr"]), "lr_edge": bool(tuned["edge"]), "lr_table": tuned["table"],
            "needed": n.value, "censored": n.censored, "ci": [n.low, n.high],
            "open": [lo == 0.0, hi == math.inf], "stops": stops, "runs_deciding": len(stops),
            "budget_hits": stops.count("budget"),
            "train_acc_min": float(min(min(r["train_acc"]) for r in rows)),
            "ns": ns, "acc": per_seed.tolist()}, n


def analyse(cfg: Config, conds: dict, tuned: dict, curves: dict) -> dict:
    """Needs, exponents, capacity ranges, dense-against-conv gaps and the verdicts (JSON-ready)."""
    arms = design(cfg)
    pixels = tuple(c * c for c in cfg.canvases)
    needs: dict[tuple[str, int], stats.Need] = {}
    out = []
    for i, arm in enumerate(arms):
        points = []
        for j, canvas in enumerate(cfg.canvases):
            c = conds[arm.id, canvas]
            p, needs[arm.id, canvas] = _point(curves[c], tuned[c], canvas, cfg, seed=1000 * j + i)
            points.append(p)
        out.append({"id": arm.id, "kind": arm.kind, "option": arm.option, "value": arm.value,
                    "label": arm.label, "sweeps": list(arm.sweeps), "baseline": is_baseline(cfg, arm),
                    "model": model(cfg, arm), "points": points,
                    "exponent": exponent(needs[arm.id, cfg.canvases[0]], needs[arm.id, cfg.canvases[-1]], pixels)})
    kinds = list(dict.fromkeys(a.kind for a in arms))
    ranges, gaps, sep = {}, {}, {}
    for canvas in cfg.canvases:
        by_kind = {k: [(a, needs[a.id, canvas]) for a in arms if a.kind == k] for k in kinds}
        for kind, got in by_kind.items():
            if len(got) < 2:
                continue
            (hi_arm, hi), (lo_arm, lo) = _extremes(got)
            ranges[f"{canvas}.{kind}"] = {"canvas": canvas, "kind": kind, "largest": hi_arm.id,
                                          "smallest": lo_arm.id, **ratio(hi, lo)}
        for other in ("dense", "local"):
            if other in by_kind and "conv" in by_kind:
                best_arm, best = min(by_kind[other], key=_order)
                worst_arm, worst = max(by_kind["conv"], key=_order)
                gaps[f"{canvas}.{other}_vs_conv"] = {"canvas": canvas, "kind": other, "best": best_arm.id,
                                                     "worst_conv": worst_arm.id, **ratio(best, worst)}
                sep[f"{canvas}.{other}_vs_conv"] = stats.separation([n for _, n in by_kind[other]],
                                                              [n for _, n in by_kind["conv"]])
    return {"canvases": list(cfg.canvases), "pixels": list(pixels), "target": cfg.target,
            "seeds": len(cfg.seeds), "kinds": kinds, "conditions": out, "ranges": ranges, "gaps": gaps,
            "separation": sep}


def _extremes(got: list[tuple]) -> tuple[tuple, tuple]:
    """The (arm, need) with the largest need and, among the others, the one with the smallest (a
    bound above counts as larger than a measurement of the same value, a bound below as smaller;
    ties go to the earlier arm).

    Chosen by their point estimates, so a max / min ratio's interval ignores the choice: it is, if
    anything, too ready to call a capacity effect, and a best-against-worst gap too ready to call
    none (the choice favours the sceptic).

    >>> n = lambda v: stats.Need(v, "", v, v, (v,), ("",))
    >>> [(a, x.value) for a, x in _extremes([("a", n(5.0)), ("b", n(5.0)), ("c", n(9.0))])]
    [('c', 9.0), ('a', 5.0)]
    >>> [a for a, _ in _extremes([("a", n(5.0)), ("b", n(5.0))])]
    ['a', 'b']
    """
    top = max(got, key=_order)
    return top, min((t for t in got if t is not top), key=_order)


def _order(item: tuple) -> tuple[float, int]:
    """Sort key of an (arm, need): its value, then its censoring (below < measured < above)."""
    return item[1].value, {stats.BELOW: -1, "": 0, stats.ABOVE: 1}[item[1].censored]


def numbers_for(result: dict, cfg: Config) -> dict[str, str]:
    """Display strings: the design, per capacity a table row, per kind its range, the gaps, verdicts.

    Per-capacity keys exist for every arm of the full design (``"not run"`` where this profile
    leaves one out), and canvases are ``first`` / ``last``, so one page serves every profile."""
    canvases, (c0, c1) = result["canvases"], result["canvases"]
    words = {c: f"{c}×{c}" for c in canvases}
    ends = {c0: "first", c1: "last"}
    conds = result["conditions"]
    out = {"seeds": str(len(cfg.seeds)), "target": fmt_pct(cfg.target), "floor": fmt_int(cfg.floor),
           **{f"cap.{k}": fmt_int(v) for k, v in cfg.cap.items()},
           "lr_grid": ", ".join(f"{lr:g}" for lr in cfg.lr_grid), "tune_seeds": str(len(cfg.tune_seeds)),
           "epochs": str(cfg.epochs), "min_steps": fmt_int(cfg.min_steps), "n_test": fmt_int(cfg.task["n_test"]),
           "canvas_first": words[c0], "canvas_last": words[c1],
           "pixels_first": fmt_int(c0 * c0), "pixels_last": fmt_int(c1 * c1),
           "dense_hidden": _join([fmt_int(v) for v in cfg.dense_hidden]),
           "dense_depth": _join([fmt_int(v) for v in cfg.dense_depth]),
           "conv_width": _join([fmt_int(v) for v in cfg.conv_width]),
           "local_width": _join([fmt_int(v) for v in cfg.local_width]),
           "base_width": fmt_int(cfg.model["width"]), "base_hidden": fmt_int(cfg.model["hidden"]),
           "base_depth": fmt_int(cfg.model["depth"]), "n_conditions": fmt_int(len(conds) * len(canvases)),
           "lr_edges": fmt_int(sum(p["lr_edge"] for c in conds for p in c["points"])),
           "train_acc_min": fmt_pct(min(p["train_acc_min"] for c in conds for p in c["points"])),
           "budget_hits": fmt_int(sum(p["budget_hits"] for c in conds for p in c["points"])),
           "runs_deciding": fmt_int(sum(p["runs_deciding"] for c in conds for p in c["points"]))}
    flags = [f"{KIND_WORDS[c['kind']]}, {c['label']}, at {words[p['canvas']]}: {p['budget_hits']} of "
             f"{p['runs_deciding']} runs" + (" (censored at the cap)" if p["censored"] == stats.ABOVE else "")
             for c in conds for p in c["points"] if p["budget_hits"]]
    out["budget_flags"] = "; ".join(flags) or "none"
    ran = {c["id"] for c in conds}
    for arm in design(Config()):  # the full design's rows, blank where this profile has none
        if arm.id not in ran:
            out.update({f"{arm.id}.{k}": "not run" for k in ROW_KEYS} | {f"{arm.id}.label": arm.label})
    for c in conds:
        key, (p0, p1) = c["id"], c["points"]
        out[f"{key}.label"] = c["label"]
        out[f"{key}.needed_first"], out[f"{key}.needed_last"] = fmt_need(p0), fmt_need(p1)
        out[f"{key}.params"] = f"{fmt_int(p0['params'])} → {fmt_int(p1['params'])}"
        out[f"{key}.lr"] = " → ".join(f"{p['lr']:.2g}" + (" (grid edge)" if p["lr_edge"] else "") for p in (p0, p1))
        out[f"{key}.budget"] = " → ".join(f"{p['budget_hits']} of {p['runs_deciding']}" for p in (p0, p1))
        out[f"{key}.train_acc_min"] = fmt_pct(min(p0["train_acc_min"], p1["train_acc_min"]))
        out[f"{key}.exponent"] = fmt_exponent(c["exponent"], f"{words[c0]} to {words[c1]}")
    labels = {c["id"]: c["label"] for c in conds}
    named = {c["id"]: f"{KIND_WORDS[c['kind']]}, {c['label']}" for c in conds}
    moved = {}
    for kind in ("dense", "conv", "local"):  # a kind with one size in this profile has no range
        for where in ends.values():
            out[f"{where}.{kind}.range"] = out[f"{where}.{kind}.range_pair"] = "not run (one size)"
    for name, r in result["ranges"].items():
        where = ends[r["canvas"]]
        out[f"{where}.{r['kind']}.range"] = fmt_ratio(r)
        out[f"{where}.{r['kind']}.range_pair"] = f"{labels[r['largest']]} against {labels[r['smallest']]}"
        if r["low"] is not None and r["low"] > 1:
            moved.setdefault(r["kind"], []).append(words[r["canvas"]])
        moved.setdefault(r["kind"], [])
    for name, g in result["gaps"].items():
        where, pair = ends[g["canvas"]], f"{g['kind']}_vs_conv"
        out[f"{where}.{pair}"] = fmt_ratio(g)
        out[f"{where}.{pair}.pair"] = f"{named[g['best']]} against {named[g['worst_conv']]}"
        out[f"{where}.{pair}.separation"] = {"above": "apart", "below": "apart, reversed"}.get(
            result["separation"][name], stats.INCONCLUSIVE)
    for other in ("dense", "local"):
        outcomes = [(words[c], result["separation"][f"{c}.{other}_vs_conv"]) for c in canvases
                    if f"{c}.{other}_vs_conv" in result["separation"]]
        if outcomes:
            out["verdict" if other == "dense" else f"verdict_{other}"] = verdict(outcomes, other, "conv")
    out["capacity_verdict"] = capacity_verdict(moved)
    return out


ROW_KEYS = ("needed_first", "needed_last", "params", "lr", "budget", "train_acc_min", "exponent")


def run(cfg: Config, ctx) -> dict:
    result = analyse(cfg, *measure(cfg, ctx))
    result["numbers"] = numbers_for(result, cfg)
    c0, c1 = cfg.canvases
    result["caption"] = (
        f"Training examples needed to reach {cfg.target:.0%} test accuracy (mean over {len(cfg.seeds)} "
        f"seeds, interpolated in log N; bars: 95% bootstrap interval over seeds and test examples) "
        f"against trainable parameters, log-log, at a {c0}×{c0} (left) and a {c1}×{c1} canvas (right). "
        f"Each model size has its own tuned learning rate. Solid lines, kind markers: width (channels; "
        f"dense: hidden units); dashed line, diamonds: dense depth (hidden layers of "
        f"{cfg.model['hidden']:,}). Ringed: the site's standard size. Open markers with arrows: "
        f"censored, the mean never reached the target by the largest training set tried (conv "
        f"{cfg.cap['conv']:,}, locally connected {cfg.cap['local']:,}, dense {cfg.cap['dense']:,}). A caret "
        f"at a bar's end: that end is only a bound (too many bootstrap draws did not cross inside the "
        f"rungs tried).")
    return result


DEPTH_MARKER = "D"


def figure(result: dict) -> plt.Figure:
    from matplotlib.lines import Line2D

    from equidocs.plotting import (KIND_NAMES, arm_style, censored_handle, censored_point, figsize, figure_legend,
                                   muted_color, plain_log_axis)

    def arm(kind: str, sweeps) -> str:  # the dense depth sweep is an arm of its own (plotting.ARM_STYLES)
        return kind if "width" in sweeps or kind != "dense" else "dense+depth"

    fig, axs = plt.subplots(1, 2, figsize=figsize(4.0), sharey=True, layout="constrained")
    conds = result["conditions"]
    for j, (ax, canvas) in enumerate(zip(axs, result["canvases"])):
        for kind in result["kinds"]:
            color = KIND_COLORS[kind]
            mine = [c for c in conds if c["kind"] == kind]
            for sweep, style in (("width", "-"), ("depth", "--")):
                line = sorted((c for c in mine if sweep in c["sweeps"]), key=lambda c: c["points"][j]["params"])
                if len(line) > 1:
                    ax.plot([c["points"][j]["params"] for c in line], [c["points"][j]["needed"] for c in line],
                            style, color=color, lw=1.0, alpha=0.8, zorder=2)
            for c in mine:
                p = c["points"][j]
                marker = arm_style(arm(kind, c["sweeps"]))["marker"]
                x, y = p["params"], p["needed"]
                if p["censored"]:  # the arm's own marker, hollow, with an arrow
                    censored_point(ax, x, y, arm(kind, c["sweeps"]), p["censored"])
                else:
                    err = np.abs(np.array(p["ci"], float)[:, None] - y)
                    ax.errorbar([x], [y], yerr=err, fmt=marker, color=color, capsize=3, markersize=6, zorder=3)
                    for end, caret, is_open in zip(p["ci"], (r"$\vee$", r"$\wedge$"), p["open"]):
                        if is_open:  # too many draws censored: the bar's end is only a bound (a caret)
                            ax.plot([x], [end], ls="", marker=caret, color=color, markersize=6, zorder=3)
                if c["baseline"]:
                    ax.plot([x], [y], "o", mfc="none", mec=muted_color(), mew=1.0, markersize=13, zorder=4)
        ax.set(xscale="log", yscale="log", xlabel="trainable parameters (log)",
               title=f"({'ab'[j]}) {canvas}×{canvas} canvas ({canvas * canvas} pixels)")
        plain_log_axis(ax.xaxis)
    top = max(p["needed"] for c in conds for p in c["points"])
    bottom = min(min(p["ci"][0], p["needed"]) for c in conds for p in c["points"])
    axs[0].set_ylim(bottom / 2, top * 4)  # room for the arrows of censored points
    axs[0].set_ylabel(f"examples needed for\n{result['target']:.0%} test accuracy")
    plain_log_axis(axs[0].yaxis)
    swept = {"dense": "hidden units"}
    handles = [Line2D([], [], color=KIND_COLORS[k], marker=arm_style(k)["marker"],
                      label=f"{KIND_NAMES[k]}, {swept.get(k, 'channels')}") for k in result["kinds"]]
    if any("depth" in c["sweeps"] for c in conds):
        handles.append(Line2D([], [], color=KIND_COLORS["dense"], marker=arm_style("dense+depth")["marker"], ls="--",
                              label="dense, hidden layers"))
    handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec=muted_color(), markersize=11,
                          label="standard size"))
    labels = [h.get_label() for h in handles]
    if any(p["censored"] for c in conds for p in c["points"]):
        handles.append(censored_handle())
        labels.append("censored (hollow, arrow)")
    figure_legend(fig, handles, labels, ncol=3)
    return fig
