"""Growth laws of the examples needed against canvas size for the mechanism study (issue 27): which
law, its exponent in positions with law uncertainty, local slopes, a leave-one-size-out check and a
conditional extrapolation. Every fit is :func:`equidocs.stats.compare_laws` /
:func:`~equidocs.stats.censored_law_fit` (censored maximum likelihood); nothing here refits by hand.

* **Laws**: power law in positions, power law in pixels, exponential in side length (the names of
  :mod:`equidocs.experiments.resolution_scaling`).
* **Bootstrap of the whole pipeline**: draw ``d`` takes every size's ``d``-th bootstrap need (seeds and
  test examples resampled, :func:`equidocs.stats.need`) and refits every law. A law is named only
  when it wins by delta-AIC >= 2 in at least :data:`WIN_SHARE` of the draws, else "inconclusive".
  (An own loop over :func:`~equidocs.stats.compare_laws` rather than
  :func:`~equidocs.stats.law_bootstrap`: the exponent needs each draw's Akaike weights.)
* **Exponent with law uncertainty, by model averaging**: each law's fit is read as an exponent in
  positions, d log N / d log positions, *at the largest size fitted* (:func:`law_exponent`; for the
  positions law that is its slope b at every size). ``exponent`` is the Akaike-weighted mean of the
  laws' exponents on the point estimates; ``exponent_ci`` is the weighted percentile interval
  (:func:`weighted_interval`) of every (draw, law) exponent, weighted by that law's Akaike weight in
  that draw: the mixture over draws and laws, so it widens when laws that disagree about the growth
  at the frontier share the weight. ``exponent_positions_law`` and its ``_ci`` are the positions
  law's b alone, for comparison. The pixel and exponential exponents grow with the canvas, so the
  frontier's (not the range's average) is the one that says how the need grows beyond it.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from equidocs import stats
from equidocs.nets import GLYPH, positions

POSITIONS, PIXELS, EXPONENTIAL = "power law in positions", "power law in pixels", "exponential in side length"
LAWS = (POSITIONS, PIXELS, EXPONENTIAL)
WIN_SHARE = 2 / 3    # a law is named when it wins by delta-AIC >= 2 in this share of draws
NOT_REJECTED = 0.1   # extrapolation keeps a law within delta-AIC < 2 of the best in this share
MIN_LAW = 4          # sizes needed to name a law (each law has 3 parameters)


def law_x(law: str, canvas: float) -> float:
    """The regressor of ``law`` at a canvas side: log positions, log pixels or the side.

    >>> round(law_x(POSITIONS, 6), 4), round(law_x(PIXELS, 6), 4), law_x(EXPONENTIAL, 6)
    (1.3863, 3.5835, 6.0)
    """
    return {POSITIONS: lambda s: math.log((s - GLYPH + 1) ** 2), PIXELS: lambda s: math.log(s * s),
            EXPONENTIAL: float}[law](canvas)


def law_exponent(law: str, slope: float, canvas: float) -> float:
    """d log N / d log positions at ``canvas`` under ``law`` with fitted ``slope``.

    >>> law_exponent(POSITIONS, 1.5, 24), law_exponent(PIXELS, 1.5, 24), law_exponent(EXPONENTIAL, 0.2, 24)
    (1.5, 1.25, 2.0)
    """
    s = canvas - GLYPH + 1  # positions = s^2
    return {POSITIONS: slope, PIXELS: slope * s / canvas, EXPONENTIAL: slope * s / 2}[law]


def weighted_interval(values: np.ndarray, weights: np.ndarray, level: float = 0.95) -> list[float]:
    """Percentile interval of ``values`` weighted by ``weights`` (any shapes, flattened together).

    >>> v = np.array([1.0, 2.0])
    >>> weighted_interval(v, np.array([0.5, 0.5]), 0.5), weighted_interval(v, np.array([1.0, 0.0]))
    ([1.0, 2.0], [1.0, 1.0])
    """
    v, w = np.ravel(values).astype(float), np.ravel(weights).astype(float)
    order = np.argsort(v)
    v, cum = v[order], np.cumsum(w[order]) / w.sum()
    tail = (1 - level) / 2
    return [float(v[min(np.searchsorted(cum, q), len(v) - 1)]) for q in (tail, 1 - tail)]


def fit_laws(xs: dict, values: Sequence[float], cens: Sequence[str], frontier: int) -> dict:
    """:func:`stats.compare_laws`, plus Akaike weights, each law's exponent in positions at the
    ``frontier`` canvas, centred levels (log N at the mean x) and the laws within delta-AIC < 2."""
    r = stats.compare_laws(xs, values, cens)
    aic = np.array([r["fits"][law]["aic"] for law in LAWS])
    w = np.exp(-(aic - aic.min()) / 2)
    r["weights"], r["close"] = w / w.sum(), aic - aic.min() < 2
    r["exponents"] = np.array([law_exponent(law, r["fits"][law]["b"], frontier) for law in LAWS])
    r["level"] = {law: r["fits"][law]["a"] + r["fits"][law]["b"] * float(np.mean(xs[law])) for law in LAWS}
    return r


def _ci(samples: list) -> list[float] | None:
    return np.percentile(samples, [2.5, 97.5]).tolist() if samples else None


def law_summary(sizes: list[int], values: list[float], cens: list[str], draws: list[tuple]) -> dict:
    """Exponent, law and held-out check for one arm: ``values`` / ``cens`` are the needs at ``sizes``
    (at least two measured), ``draws`` the bootstrap's (values, censoring) tuples, one per draw."""
    xs = {law: [law_x(law, s) for s in sizes] for law in LAWS}
    point = fit_laws(xs, values, cens, sizes[-1])
    ex, wt, close, slope, level = [], [], [], {k: [] for k in LAWS}, {k: [] for k in LAWS}
    wins = dict.fromkeys((*LAWS, stats.INCONCLUSIVE), 0)
    for v, c in draws:
        if list(c).count("") < 2:  # no fit possible: counts as inconclusive, adds no exponent
            wins[stats.INCONCLUSIVE] += 1
            continue
        f = fit_laws(xs, v, c, sizes[-1])
        wins[f["best"]] += 1
        ex.append(f["exponents"]), wt.append(f["weights"]), close.append(f["close"])
        for law in LAWS:
            slope[law].append(f["fits"][law]["b"]), level[law].append(f["level"][law])
    freq = {k: n / len(draws) for k, n in wins.items()}
    top = max(LAWS, key=freq.get)
    if len(sizes) < MIN_LAW:
        best, reason = stats.INCONCLUSIVE, f"{len(sizes)} sizes done: naming a law needs >= {MIN_LAW}"
    elif freq[top] >= WIN_SHARE:
        best, reason = top, f"wins by delta-AIC >= 2 in {freq[top]:.0%} of draws"
    else:
        best, reason = stats.INCONCLUSIVE, (f"no law wins by delta-AIC >= 2 in >= 2/3 of draws "
                                            f"(most often: {top}, {freq[top]:.0%})")
    return {"exponent": float(np.dot(point["weights"], point["exponents"])),
            "exponent_ci": weighted_interval(np.array(ex), np.array(wt)) if ex else None,
            "exponent_positions_law": point["fits"][POSITIONS]["b"],
            "exponent_positions_law_ci": _ci(slope[POSITIONS]),
            "best_law": best, "reason": reason, "law_win_frequency": freq, "draws_used": len(ex),
            "laws": {law: {"slope": point["fits"][law]["b"], "aic": point["fits"][law]["aic"],
                           "centre_x": float(np.mean(xs[law])), "level": point["level"][law],
                           "slope_ci": _ci(slope[law]), "level_ci": _ci(level[law]),
                           "not_rejected_frequency": sum(bool(c[k]) for c in close) / len(draws)}
                     for k, law in enumerate(LAWS)},
            "held_out": held_out(xs, sizes, values, cens)}


def local_slopes(sizes: list[int], values: list[float], cens: list[str]) -> dict:
    """d log N / d log positions between neighbouring finished sizes; a censored end makes it a
    bound ("lower bound", "upper bound"), two conflicting ends "undetermined" (slope null).

    >>> local_slopes([6, 8], [10.0, 40.0], ["", "above"])["local_slopes_censored"]
    ['lower bound']
    """
    slopes, notes = [], []
    for (s0, v0, c0), (s1, v1, c1) in zip(zip(sizes, values, cens), zip(sizes[1:], values[1:], cens[1:])):
        bounds = {{stats.ABOVE: "upper", stats.BELOW: "lower"}.get(c0),
                  {stats.ABOVE: "lower", stats.BELOW: "upper"}.get(c1)} - {None}
        note = None if not bounds else f"{bounds.pop()} bound" if len(bounds) == 1 else "undetermined"
        slope = math.log(v1 / v0) / math.log(positions(s1) / positions(s0))
        slopes.append(None if note == "undetermined" else slope), notes.append(note)
    return {"local_slopes": slopes, "local_slope_sizes": [list(p) for p in zip(sizes, sizes[1:])],
            "local_slopes_censored": notes}


def held_out(xs: dict, sizes: list[int], values: list[float], cens: list[str]) -> dict:
    """Leave one size out: every law fitted without it predicts it; ``log_miss`` is log(predicted /
    observed), null for a censored size, which reports instead whether the prediction respects its
    bound (``consistent``). Per law also the root-mean-square miss."""
    out: dict = {law: {"rows": [], "rms_log_miss": None} for law in LAWS}
    for i, (size, v, c) in enumerate(zip(sizes, values, cens)):
        keep = [j for j in range(len(sizes)) if j != i]
        if [cens[j] for j in keep].count("") < 2:
            continue
        for law in LAWS:
            f = stats.censored_law_fit([xs[law][j] for j in keep], [values[j] for j in keep],
                                       [cens[j] for j in keep])
            pred = math.exp(f["a"] + f["b"] * xs[law][i])
            out[law]["rows"].append({"size": size, "predicted": pred, "censored": c or None,
                                     "log_miss": math.log(pred / v) if not c else None,
                                     "consistent": None if not c else (pred > v) == (c == stats.ABOVE)})
    for law in LAWS:
        misses = [r["log_miss"] for r in out[law]["rows"] if r["log_miss"] is not None]
        out[law]["rms_log_miss"] = math.sqrt(np.mean(np.square(misses))) if misses else None
    return out


def extrapolate(kind: dict, canvas: int, *, share: float = NOT_REJECTED) -> dict:
    """A conditional range, "not a prediction", for the need at ``canvas``: across every law within
    delta-AIC < 2 of the best in at least ``share`` of the draws, the box of its bootstrap slope and
    centred-level intervals carried to ``canvas`` (log10 ends per law and overall). ``kind`` is one
    entry of a summary's ``kinds``.

    >>> law = {"slope_ci": [1, 1], "level_ci": [0, 0], "centre_x": 0.0}
    >>> k = {"laws": {POSITIONS: {**law, "not_rejected_frequency": 1.0},
    ...               EXPONENTIAL: {**law, "not_rejected_frequency": 0.0}}}
    >>> e = extrapolate(k, 6); e["label"], [round(v, 6) for v in e["range"]], list(e["laws"]) == [POSITIONS]
    ('not a prediction', [4.0, 4.0], True)
    """
    out = {"label": "not a prediction", "canvas": canvas, "positions": positions(canvas), "laws": {},
           "range": None, "log10_range": None,
           "note": "conditional: holds only if one of these laws continues past the largest size measured"}
    for law, f in (kind.get("laws") or {}).items():
        if f["not_rejected_frequency"] >= share and f["slope_ci"] is not None:
            dx = law_x(law, canvas) - f["centre_x"]
            logs = [c + b * dx for c in f["level_ci"] for b in f["slope_ci"]]
            out["laws"][law] = [min(logs) / math.log(10), max(logs) / math.log(10)]
    if out["laws"]:
        lo, hi = min(v[0] for v in out["laws"].values()), max(v[1] for v in out["laws"].values())
        out["log10_range"], out["range"] = [lo, hi], [10.0 ** min(lo, 300), 10.0 ** min(hi, 300)]
    return out
