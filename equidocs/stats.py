"""Intervals for comparisons between model kinds: over seeds and over test examples.

A difference of test accuracies has two sources of noise: which seed (initialisation, training
sample, batch order) and which test examples. :func:`paired_difference` bootstraps both: it
resamples seeds with replacement (keeping the two arms paired by seed, since they share the
training sample) and, for each drawn seed, redraws each arm's accuracy from a binomial over its
``n_test`` test examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

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
