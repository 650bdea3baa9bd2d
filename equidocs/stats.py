"""Intervals for comparisons between model kinds: over seeds and over test examples.

A difference of test accuracies has two sources of noise: which seed (initialisation, training
sample, batch order) and which test examples. :func:`paired_difference` bootstraps both: it
resamples seeds with replacement (keeping the two arms paired by seed, since they share the
training sample) and, for each drawn seed, redraws each arm's accuracy from a binomial over its
``n_test`` test examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np


@dataclass(frozen=True)
class Interval:
    mean: float   # point estimate
    low: float    # lower end of the interval
    high: float   # upper end

    def excludes(self, value: float = 0.0) -> bool:
        """True when ``value`` lies outside the interval.

        >>> Interval(0.3, 0.1, 0.5).excludes(0.0), Interval(0.1, -0.1, 0.3).excludes(0.0)
        (True, False)
        """
        return not self.low <= value <= self.high


def paired_difference(a: Sequence[float], b: Sequence[float], *, n_test: int | None = None,
                      level: float = 0.95, draws: int = 4000, seed: int = 0) -> Interval:
    """Mean of ``a - b`` over seeds with a bootstrap interval over seeds (and test examples).

    ``a`` and ``b`` are per-seed accuracies of two arms, paired by seed. With ``n_test``, each
    resampled accuracy is also redrawn from a binomial over the test examples.

    >>> d = paired_difference([0.9, 0.95, 0.92], [0.5, 0.55, 0.6], n_test=1000)
    >>> round(d.mean, 2), d.excludes(0.0)
    (0.37, True)
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired_difference: expected two equal-length 1-D sequences, got shapes "
                         f"{a.shape} and {b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: expected a number between 0 and 1")
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(a), size=(draws, len(a)))
    ra, rb = a[pick], b[pick]
    if n_test:
        ra = rng.binomial(n_test, np.clip(ra, 0, 1)) / n_test
        rb = rng.binomial(n_test, np.clip(rb, 0, 1)) / n_test
    means = (ra - rb).mean(1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(float((a - b).mean()), float(low), float(high))


def compare(a: Sequence[float], b: Sequence[float], *, n_test: int | None = None,
            names: tuple[str, str] = ("a", "b")) -> str:
    """Which arm is more accurate, or ``"inconclusive"`` when the interval includes equality.

    >>> compare([0.9, 0.91, 0.9], [0.5, 0.52, 0.5], names=("conv", "dense"))
    'conv'
    >>> compare([0.9, 0.5, 0.7], [0.8, 0.6, 0.7], names=("conv", "dense"))
    'inconclusive'
    """
    d = paired_difference(a, b, n_test=n_test)
    if not d.excludes(0.0):
        return "inconclusive"
    return names[0] if d.mean > 0 else names[1]


# ---- growth laws: samples needed vs size, with censoring ------------------------------------------

BELOW, ABOVE = "below", "above"  # censoring: needed <= value (floor reached) / needed > value (cap)
SIGMA_FLOOR = 0.05  # smallest residual s.d. in log N: a crossing is never known better than ~5%


@dataclass(frozen=True)
class Crossing:
    value: float     # training-set size at the crossing (interpolated in log N), or the bound
    censored: str    # "": measured; "below": at most ``value``; "above": more than ``value``


def censored_crossing(ns: Sequence[float], accs: Sequence[float], target: float) -> Crossing:
    """Where an accuracy curve (sorted by N) first reaches ``target``, interpolated in log N.

    A curve that starts at or above the target is censored below (the need is at most ``ns[0]``);
    one that never reaches it is censored above (more than ``ns[-1]``).

    >>> c = censored_crossing([10, 100], [0.5, 0.9], 0.7)
    >>> round(c.value, 1), c.censored
    (31.6, '')
    >>> censored_crossing([10, 100], [0.5, 0.6], 0.7).censored, censored_crossing([10], [0.8], 0.7).censored
    ('above', 'below')
    """
    accs = np.asarray(accs, float)
    hit = np.flatnonzero(accs >= target)
    if len(hit) == 0:
        return Crossing(float(ns[-1]), ABOVE)
    i = int(hit[0])
    if i == 0:
        return Crossing(float(ns[0]), BELOW)
    t = (target - accs[i - 1]) / (accs[i] - accs[i - 1])
    lo, hi = np.log(ns[i - 1]), np.log(ns[i])
    return Crossing(float(np.exp(lo + t * (hi - lo))), "")


def resampled_mean_curve(per_seed: np.ndarray, n_test: int, rng: np.random.Generator) -> np.ndarray:
    """One bootstrap draw of the seed-mean accuracy curve: seeds drawn with replacement, and each
    drawn run's accuracy redrawn from a binomial over its ``n_test`` test examples.

    ``per_seed`` is (seeds, rungs).

    >>> resampled_mean_curve(np.array([[0.5, 1.0]]), 100, np.random.default_rng(0)).tolist()[1]
    1.0
    """
    per_seed = np.asarray(per_seed, float)
    pick = per_seed[rng.integers(0, len(per_seed), len(per_seed))]
    return (rng.binomial(n_test, np.clip(pick, 0, 1)) / n_test).mean(0)


def censored_law_fit(x: Sequence[float], value: Sequence[float], censored: Sequence[str]) -> dict:
    """Fit ``log N = a + b x`` with normal residuals by maximum likelihood, censoring included.

    A measured point adds its normal log-density; a point censored above (need > value) adds the
    log-probability of lying above, one censored below the log-probability of lying below (a Tobit
    model). The residual s.d. is kept above ``SIGMA_FLOOR``. Returns a, b, sigma, the
    log-likelihood and AIC (3 parameters). Fitted with ``scipy.optimize.minimize``.

    >>> f = censored_law_fit([1, 2, 3, 4], [np.exp(1 + 2 * v) for v in (1, 2, 3, 4)], [""] * 4)
    >>> round(f["b"], 3), round(f["a"], 3)
    (2.0, 1.0)
    """
    from scipy import optimize, special

    x, y = np.asarray(x, float), np.log(np.asarray(value, float))
    cen = np.asarray(censored)
    bad = set(cen.tolist()) - {"", BELOW, ABOVE}
    if len(x) != len(y) or len(x) != len(cen) or bad:
        raise ValueError(f"censored_law_fit: expected equal-length x, value, censored with censored "
                         f"in ('', {BELOW!r}, {ABOVE!r}); given lengths {len(x)}, {len(y)}, "
                         f"{len(cen)} and labels {sorted(bad)}")
    meas, above, below = cen == "", cen == ABOVE, cen == BELOW
    if meas.sum() < 2:
        raise ValueError(f"censored_law_fit: expected at least 2 measured (uncensored) points, "
                         f"given {int(meas.sum())}")

    def nll(p: np.ndarray) -> tuple[float, np.ndarray]:  # and its gradient in (a, b, log s)
        s = np.exp(p[2])
        z = (y - p[0] - p[1] * x) / s
        up, low = special.log_ndtr(-z[above]), special.log_ndtr(z[below])
        loglik = np.sum(-0.5 * z[meas] ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)) + up.sum() + low.sum()
        log_phi = -0.5 * z ** 2 - 0.5 * np.log(2 * np.pi)
        d_mu, d_s = np.zeros_like(z), np.zeros_like(z)  # d loglik / d mu_i and / d s
        d_mu[meas], d_s[meas] = z[meas] / s, (z[meas] ** 2 - 1) / s
        r = np.exp(log_phi[above] - up)  # inverse Mills ratios
        d_mu[above], d_s[above] = r / s, r * z[above] / s
        q = np.exp(log_phi[below] - low)
        d_mu[below], d_s[below] = -q / s, -q * z[below] / s
        grad = np.array([d_mu.sum(), (d_mu * x).sum(), d_s.sum() * s])
        return -float(loglik), -grad

    # One start is enough: the Tobit log-likelihood has a single maximum (Olsen, 1978), and the
    # least-squares line through the measured points starts next to it.
    b0, a0 = np.polyfit(x[meas], y[meas], 1)
    best = optimize.minimize(nll, [a0, b0, np.log(0.3)], jac=True, method="L-BFGS-B",
                             bounds=[(None, None), (None, None), (np.log(SIGMA_FLOOR), np.log(100.0))])
    a, b, log_s = best.x
    loglik = -float(best.fun)
    return {"a": float(a), "b": float(b), "sigma": float(np.exp(log_s)),
            "loglik": loglik, "aic": 6 - 2 * loglik}


INCONCLUSIVE = "inconclusive"


def best_law(fits: dict[str, dict], margin: float = 2.0) -> str:
    """The law whose AIC is lower than every other's by at least ``margin``, else "inconclusive".

    >>> best_law({"p": {"aic": 1.0}, "e": {"aic": 4.5}}), best_law({"p": {"aic": 1.0}, "e": {"aic": 2.0}})
    ('p', 'inconclusive')
    """
    order = sorted(fits, key=lambda law: fits[law]["aic"])
    if len(order) == 1 or fits[order[1]]["aic"] - fits[order[0]]["aic"] >= margin:
        return order[0]
    return INCONCLUSIVE


def compare_laws(xs: dict[str, Sequence[float]], value: Sequence[float], censored: Sequence[str],
                 margin: float = 2.0) -> dict:
    """Fit every law (law name -> its x values) to the same points; name the winner by AIC.

    >>> s = np.array([6, 8, 10, 12, 16, 20, 24.0])
    >>> r = compare_laws({"power": np.log(s * s), "exponential": s}, (s * s) ** 1.5, [""] * 7)
    >>> r["best"], round(r["fits"]["power"]["b"], 2)
    ('power', 1.5)
    """
    fits = {law: censored_law_fit(x, value, censored) for law, x in xs.items()}
    return {"fits": fits, "best": best_law(fits, margin)}


def law_bootstrap(xs: dict[str, Sequence[float]], draw: Callable[[np.random.Generator], tuple],
                  *, draws: int = 400, seed: int = 0, held_out: int = 2, level: float = 0.95,
                  margin: float = 2.0) -> dict:
    """Bootstrap the law comparison: ``draw(rng)`` returns one resampled (values, censored).

    Per law: the slope's percentile interval, how often the law wins by ``margin`` (and how often
    no law does), and the interval of its prediction for the last ``held_out`` sizes when fitted
    without them. A draw with fewer than 2 measured points (or fewer than 2 left when holding out)
    counts as "inconclusive" and adds no slope.
    """
    rng = np.random.default_rng(seed)
    laws = list(xs)
    slopes = {law: [] for law in laws}
    predicted = {law: [] for law in laws}
    wins = {law: 0 for law in laws} | {INCONCLUSIVE: 0}
    for _ in range(draws):
        values, cens = draw(rng)
        cens = np.asarray(cens)
        if (cens == "").sum() < 2:
            wins[INCONCLUSIVE] += 1
            continue
        result = compare_laws(xs, values, cens, margin)
        wins[result["best"]] += 1
        for law in laws:
            slopes[law].append(result["fits"][law]["b"])
        if held_out and (cens[:-held_out] == "").sum() >= 2:
            for law in laws:
                x = np.asarray(xs[law], float)
                f = censored_law_fit(x[:-held_out], np.asarray(values)[:-held_out], cens[:-held_out])
                predicted[law].append(np.exp(f["a"] + f["b"] * x[-held_out:]))
    tail = 100 * (1 - level) / 2
    out = {"draws": draws, "win_frequency": {k: v / draws for k, v in wins.items()}, "laws": {}}
    for law in laws:
        ci = np.percentile(slopes[law], [tail, 100 - tail]).tolist() if slopes[law] else [np.nan] * 2
        pred = (np.percentile(np.array(predicted[law]), [tail, 100 - tail], axis=0).T.tolist()
                if predicted[law] else [[np.nan, np.nan]] * held_out)
        out["laws"][law] = {"slope_ci": [float(v) for v in ci], "held_out_interval": pred}
    return out
