"""Intervals for comparisons between model kinds: over seeds and over test examples.

A difference of test accuracies has two sources of noise: which seed (initialisation, training
sample, batch order) and which test examples. :func:`paired_difference` bootstraps both: it
resamples seeds with replacement (keeping the two arms paired by seed, since they share the
training sample) and, for each drawn seed, redraws each arm's accuracy from a binomial over its
``n_test`` test examples.
"""

from __future__ import annotations

import math
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
    """One bootstrap draw of the seed-mean accuracy curve: seeds drawn with replacement, then the
    mean redrawn from one binomial over the ``n_test`` test examples. Every seed is scored on the
    same test set, so its sampling noise does not average out over seeds.

    ``per_seed`` is (seeds, rungs).

    >>> resampled_mean_curve(np.array([[0.5, 1.0]]), 100, np.random.default_rng(0)).tolist()[1]
    1.0
    """
    per_seed = np.asarray(per_seed, float)
    pick = per_seed[rng.integers(0, len(per_seed), len(per_seed))]
    return rng.binomial(n_test, np.clip(pick.mean(0), 0, 1)) / n_test


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


# ---- intervals when every seed is scored on the same test examples -------------------------------

def _resampled_means(per_seed: np.ndarray, n_test: np.ndarray, rng: np.random.Generator,
                     pick: np.ndarray) -> np.ndarray:
    """Seed means of ``per_seed`` (seeds, columns) for each row of seed indices ``pick`` (draws,
    seeds), each redrawn from one binomial over the column's ``n_test`` test examples."""
    means = per_seed[pick].mean(1)  # (draws, columns)
    return rng.binomial(n_test, np.clip(means, 0, 1)) / n_test


def shared_test_intervals(per_seed: np.ndarray, n_test: Sequence[int] | int, *, draws: int = 2000,
                          seed: int = 0, level: float = 0.95) -> list[Interval]:
    """Per column, the seed mean with a bootstrap interval over seeds and test examples, when every
    seed is scored on the *same* ``n_test`` test examples (as :func:`equidocs.experiments.amnesia.probe`
    does).

    Seeds are resampled with replacement and each resampled mean is redrawn from one binomial over
    the test examples (as :func:`resampled_mean_curve` does): the noise a shared test set carries
    does not shrink with the number of seeds; the binomial is an upper bound on it, so the interval is, if
    anything, wide.

    >>> iv = shared_test_intervals(np.array([[0.5], [0.5]]), 10_000, draws=500)[0]
    >>> iv.mean, 0.48 < iv.low < 0.5 < iv.high < 0.52
    (0.5, True)
    """
    per_seed = np.asarray(per_seed, float)
    if per_seed.ndim != 2 or len(per_seed) == 0:
        raise ValueError(f"shared_test_intervals: expected per_seed of shape (seeds, columns), got "
                         f"{per_seed.shape}")
    n = np.broadcast_to(np.asarray(n_test, int), per_seed.shape[1:])
    rng = np.random.default_rng(seed)
    boots = _resampled_means(per_seed, n, rng, rng.integers(0, len(per_seed), (draws, len(per_seed))))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(boots, [tail, 100 - tail], axis=0)
    return [Interval(float(m), float(lo), float(hi))
            for m, lo, hi in zip(per_seed.mean(0), low, high)]


def shared_test_difference(a: Sequence[float], b: Sequence[float], n_a: int, n_b: int, *, paired: bool,
                           draws: int = 2000, seed: int = 0, level: float = 0.95) -> Interval:
    """Mean of ``a`` minus mean of ``b`` (per-seed accuracies) with a bootstrap interval: seeds
    resampled (the same indices for both arms when ``paired``), each arm's resampled mean redrawn
    from one binomial over its ``n_a`` / ``n_b`` shared test examples.

    >>> d = shared_test_difference([0.9, 0.92, 0.91], [0.5, 0.52, 0.5], 2000, 2000, paired=False)
    >>> round(d.mean, 2), d.excludes(0.0)
    (0.4, True)
    """
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[:, None]
    if paired and len(a) != len(b):
        raise ValueError(f"shared_test_difference: paired arms need equal lengths, got {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    pick_a = rng.integers(0, len(a), (draws, len(a)))
    pick_b = pick_a if paired else rng.integers(0, len(b), (draws, len(b)))
    diff = (_resampled_means(a, np.array([n_a]), rng, pick_a)
            - _resampled_means(b, np.array([n_b]), rng, pick_b))[:, 0]
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(diff, [tail, 100 - tail])
    return Interval(float(a.mean() - b.mean()), float(low), float(high))


# ---- examples needed to reach a target, and ratios of needs --------------------------------------

def extended_crossing(ns: Sequence[float], accs: Sequence[float], target: float) -> Crossing:
    """:func:`censored_crossing`, but a curve that misses the target at its first or last rung is
    extended along its end segment (linear in log N) by at most one rung spacing; further, or on a
    flat or falling segment, it stays censored.

    >>> c = extended_crossing([10, 100], [0.6, 0.8], 0.9)
    >>> round(c.value), c.censored
    (316, '')
    >>> extended_crossing([10, 100], [0.6, 0.62], 0.9).censored
    'above'
    """
    c = censored_crossing(ns, accs, target)
    if not c.censored or len(ns) < 2:
        return c
    i, j = (-2, -1) if c.censored == ABOVE else (0, 1)
    slope = (accs[j] - accs[i]) / (np.log(ns[j]) - np.log(ns[i]))
    if slope <= 0:
        return c
    end = -1 if c.censored == ABOVE else 0
    step = np.log(ns[end]) + (target - accs[end]) / slope
    if abs(step - np.log(ns[end])) > abs(np.log(ns[j]) - np.log(ns[i])):
        return c
    return Crossing(float(np.exp(step)), "")


@dataclass(frozen=True)
class Need:
    value: float          # examples needed (interpolated in log N), or the bound when censored
    censored: str         # "", "below" or "above", as in :class:`Crossing`
    low: float            # 95% bootstrap interval (seeds and test examples) ...
    high: float           # ... the upper end is only a bound when draws were censored above
    draws: tuple          # the bootstrap draws' values (for ratios), in draw order
    draws_censored: tuple  # each draw's censoring


def need(ns: Sequence[float], per_seed: np.ndarray, target: float, *, n_test: int, draws: int = 1000,
         seed: int = 0, level: float = 0.95) -> Need:
    """Examples needed to reach ``target``: the crossing of the seed-mean curve, and a bootstrap
    interval that redraws seeds and test examples (:func:`resampled_mean_curve`). When the point is
    measured, a draw that misses the target at the rungs tried is read off by
    :func:`extended_crossing` (the rungs bracket the point's crossing, so draws scatter past them).

    ``per_seed`` is (seeds, rungs) test accuracy on the sorted training-set sizes ``ns``.

    >>> n = need([10, 100, 1000], np.array([[0.5, 0.8, 0.95], [0.6, 0.85, 0.97]]), 0.9, n_test=1000, draws=200)
    >>> 100 < n.value < 1000, n.censored, n.low <= n.value <= n.high
    (True, '', True)
    """
    point, got = _bootstrap_crossings(ns, per_seed, target, n_test, draws, seed)
    return _need(point, [g for g, _ in got], level)


def _bootstrap_crossings(ns: Sequence[float], per_seed: np.ndarray, target: float, n_test: int, draws: int,
                         seed: int) -> tuple[Crossing, list[tuple[Crossing, np.ndarray]]]:
    """The seed-mean curve's crossing, and each bootstrap draw's crossing with its seed picks (the
    draws of :func:`resampled_mean_curve`, in the same order of random numbers)."""
    per_seed = np.asarray(per_seed, float)
    if per_seed.ndim != 2 or per_seed.shape[1] != len(ns) or len(ns) == 0:
        raise ValueError(f"need: expected per_seed of shape (seeds, {len(ns)}), got {per_seed.shape}")
    point = censored_crossing(ns, per_seed.mean(0), target)
    rng = np.random.default_rng(seed)
    cross = censored_crossing if point.censored else extended_crossing
    got = []
    for _ in range(draws):
        pick = rng.integers(0, len(per_seed), len(per_seed))
        curve = rng.binomial(n_test, np.clip(per_seed[pick].mean(0), 0, 1)) / n_test
        got.append((cross(ns, curve, target), pick))
    return point, got


def _need(point: Crossing, got: list[Crossing], level: float) -> Need:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile([g.value for g in got], [tail, 100 - tail])
    return Need(point.value, point.censored, float(low), float(high),
                tuple(g.value for g in got), tuple(g.censored for g in got))


def need_and_cost(ns: Sequence[float], per_seed: np.ndarray, cost: np.ndarray, target: float, *, n_test: int,
                  draws: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[Need, Need]:
    """:func:`need`, and from the same bootstrap draws the cost of one run at the need.

    ``cost`` is (seeds, rungs), positive (e.g. each run's training FLOPs). The point reads the
    seed-mean cost curve at the need (:func:`loglog_at`); each draw reads the mean cost of *its*
    resampled seeds at *its* crossing, so the interval covers both the need's uncertainty and the
    seeds' spread in cost. Censoring carries over: a need that is only a bound gives a bound on the
    cost only where the cost grows with the training-set size (the caller checks).

    >>> acc = np.array([[0.5, 0.8, 0.95], [0.6, 0.85, 0.97]])
    >>> n, c = need_and_cost([10, 100, 1000], acc, np.array([[1.0, 10.0, 100.0]] * 2), 0.9, n_test=1000, draws=200)
    >>> round(c.value / n.value, 6), c.censored == n.censored, len(c.draws) == 200
    (0.1, True, True)
    """
    cost = np.asarray(cost, float)
    if cost.shape != np.shape(per_seed):
        raise ValueError(f"need_and_cost: expected cost of shape {np.shape(per_seed)} (seeds, rungs), "
                         f"got {cost.shape}")
    point, got = _bootstrap_crossings(ns, per_seed, target, n_test, draws, seed)
    need_ = _need(point, [g for g, _ in got], level)
    costs = [Crossing(loglog_at(ns, cost[pick].mean(0), g.value), g.censored) for g, pick in got]
    return need_, _need(Crossing(loglog_at(ns, cost.mean(0), point.value), point.censored), costs, level)


@dataclass(frozen=True)
class Ratio:
    value: float | None    # worse.value / better.value; None when the censoring leaves it undetermined
    low: float             # lower end of the 95% interval (always a valid lower bound)
    high: float | None     # upper end; None when too many draws were censored to bound it
    lower_bound_only: bool  # the point itself is only a bound (the worse arm never reached the
    #                         target, or the better one reached it at its first rung)


def need_ratio(worse: Need, better: Need, level: float = 0.95) -> Ratio:
    """How many times more examples ``worse`` needs than ``better``, with a bootstrap interval.

    The two arms' draws are independent (paired by draw index only). A draw where ``worse`` never
    reached the target, or ``better`` reached it at its first rung, gives a ratio that is only a
    lower bound; a draw where ``better`` never reached it (or ``worse`` did at its first rung) says
    nothing and counts as 0 for the low end. The low end is therefore always a valid lower bound;
    the high end is reported only when at most ``(1 - level) / 2`` of the draws are bounds.

    >>> a = Need(100.0, "", 80.0, 120.0, (90.0, 100.0, 110.0), ("", "", ""))
    >>> b = Need(10.0, "", 8.0, 12.0, (9.0, 10.0, 11.0), ("", "", ""))
    >>> r = need_ratio(a, b)
    >>> r.value, r.high is not None, r.lower_bound_only
    (10.0, True, False)
    >>> need_ratio(b, Need(64.0, "above", 64.0, 64.0, (64.0,) * 3, ("above",) * 3)).value is None
    True
    """
    if len(worse.draws) != len(better.draws) or not worse.draws:
        raise ValueError(f"need_ratio: expected the same number of draws, got {len(worse.draws)} "
                         f"and {len(better.draws)}")
    w_cens, b_cens = np.array(worse.draws_censored), np.array(better.draws_censored)
    blind = (b_cens == ABOVE) | (w_cens == BELOW)            # no information about the ratio
    bound = ~blind & ((w_cens == ABOVE) | (b_cens == BELOW))  # the ratio is at least this
    ratios = np.where(blind, 0.0, np.array(worse.draws) / np.array(better.draws))
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    undetermined = better.censored == ABOVE or worse.censored == BELOW
    return Ratio(None if undetermined else worse.value / better.value, float(low),
                 None if (blind | bound).mean() > tail / 100 else float(high),
                 not undetermined and (worse.censored == ABOVE or better.censored == BELOW))


def loglog_at(ns: Sequence[float], values: Sequence[float], n: float) -> float:
    """``values`` (positive, measured at the sorted sizes ``ns``) read at ``n``: linear interpolation
    in log-log, extended along the end segments past the first and last size.

    >>> round(loglog_at([10, 100], [5.0, 500.0], 1000), 6)  # values ~ n^2 / 20
    50000.0
    """
    ns_, values_ = np.asarray(ns, float), np.asarray(values, float)
    if (len(ns_) != len(values_) or len(ns_) == 0 or not np.all(ns_ > 0) or not np.all(values_ > 0)
            or not np.all(np.isfinite(values_)) or np.any(np.diff(ns_) <= 0)):
        raise ValueError(f"loglog_at: expected positive values at increasing sizes, got ns={list(ns)}, "
                         f"values={list(values)}")
    x, y = np.log(ns_), np.log(values_)
    if len(x) == 1:
        return float(values[0])
    t = math.log(n)
    i = 0 if t <= x[0] else len(x) - 2 if t >= x[-1] else int(np.searchsorted(x, t)) - 1
    slope = (y[i + 1] - y[i]) / (x[i + 1] - x[i])
    return float(math.exp(y[i] + slope * (t - x[i])))


def _share(labels: tuple, which: str) -> float:
    return float(np.mean(np.asarray(labels) == which)) if labels else 0.0


def valid_interval(n: Need, level: float = 0.95) -> tuple[float, float]:
    """A need's 95% interval with its ends widened to 0 / infinity where more than ``(1 - level) / 2``
    of the draws were censored below / above (the percentile is then only a bound).

    >>> valid_interval(Need(50.0, "", 40.0, 64.0, (40.0, 64.0), ("", "above")))
    (40.0, inf)
    """
    tail = (1 - level) / 2
    return (0.0 if _share(n.draws_censored, BELOW) > tail else n.low,
            math.inf if _share(n.draws_censored, ABOVE) > tail else n.high)


def separation(above: list[Need], below: list[Need]) -> str:
    """"above" when every need of the first group has its interval above every one of the second's,
    "below" for the reverse, else "inconclusive" (some intervals overlap).

    >>> n = lambda v: Need(v, "", v * 0.8, v * 1.2, (v,), ("",))
    >>> separation([n(100), n(200)], [n(10), n(20)]), separation([n(100)], [n(90)])
    ('above', 'inconclusive')
    """
    a, b = [valid_interval(n) for n in above], [valid_interval(n) for n in below]
    if min(lo for lo, _ in a) > max(hi for _, hi in b):
        return "above"
    if min(lo for lo, _ in b) > max(hi for _, hi in a):
        return "below"
    return INCONCLUSIVE
