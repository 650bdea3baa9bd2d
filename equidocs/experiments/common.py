"""Pieces every training experiment shares: the model settings, learning-rate tuning, seed statistics
and number formatting for the pages."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from equidocs.train import Job, TrainConfig, tune_lr

@dataclass(frozen=True)
class RunContext:
    device: str = "cpu"        # torch device for training
    workers: int | None = None  # worker processes (None: one per core on a CPU)


# One hidden conv / locally-connected layer (8 channels, 5x5) with a global max-pooling head, and a
# dense net with one hidden layer of 256 units: every kind fits its training set (capacity is not
# what limits it), and all train in a few seconds on a CPU core.
MODEL = {"depth": 1, "width": 8, "kernel_size": 5, "head": "max", "hidden": 256, "padding": "circular"}
LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2)
TUNE_SEEDS = (0,)
# Quick-profile budget: stop at a training loss of 0.05 (every training example fit with margin), at
# a plateau (150 steps without a 1% better loss) or after 600 Adam steps, whichever comes first.
QUICK_TRAIN = TrainConfig(max_steps=600, fit_loss=0.05, patience=150)
# Full-profile budget: a tighter fit (loss 0.02), more patience, and a 2,000-step budget.
FULL_TRAIN = TrainConfig(max_steps=2000, fit_loss=0.02, patience=200)


def tuned_lrs(kinds: Sequence[str], data: dict, n_train: int, train: TrainConfig,
              ctx: RunContext, model: dict | None = None) -> dict[str, dict]:
    """Per kind, the learning rate with the best validation accuracy (never the test set).

    Tuned per (kind, data spec, training-set size, budget, model options) on the validation split.
    Its runs go through the run store like every other, so experiments that tune the same
    condition share them, and a frozen result records them for the audit.
    """
    model = MODEL if model is None else model
    return {kind: tune_lr(Job(kind, data, n_train, seed=0, model=model, train=train), LR_GRID,
                          TUNE_SEEDS, workers=ctx.workers, device=ctx.device)
            for kind in kinds}


def with_lr(job: Job, lr: float) -> Job:
    """The same job with another learning rate."""
    return replace(job, train=replace(job.train, lr=lr))


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for one value).

    >>> mean_std([1.0, 2.0, 3.0])
    (2.0, 1.0)
    """
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0


def crossing(ns: Sequence[float], accs: Sequence[float], target: float) -> float:
    """Training-set size at which accuracy first reaches ``target``, interpolated in log N.

    Returns ``nan`` when the curve never reaches it and ``ns[0]`` when it starts above it.

    >>> round(crossing([10, 100], [0.5, 0.9], 0.7), 1)
    31.6
    """
    for i, acc in enumerate(accs):
        if acc >= target:
            if i == 0:
                return float(ns[0])
            a0, a1 = accs[i - 1], acc
            t = (target - a0) / (a1 - a0)
            return float(math.exp(math.log(ns[i - 1]) + t * (math.log(ns[i]) - math.log(ns[i - 1]))))
    return float("nan")


def bootstrap_crossing(ns: Sequence[float], per_seed: np.ndarray, target: float, *, draws: int = 2000,
                       seed: int = 0) -> tuple[float, float, float]:
    """Crossing of the seed-mean curve and a 95% bootstrap interval (resampling seeds).

    ``per_seed`` is (seeds, len(ns)). Resamples whose mean never reaches the target count as
    reaching it beyond the last size (the interval's upper end is then a lower bound).

    >>> bootstrap_crossing([10, 100], np.array([[0.5, 0.9], [0.6, 1.0]]), 0.7, draws=50)[0] > 10
    True
    """
    rng = np.random.default_rng(seed)
    point = crossing(ns, per_seed.mean(0), target)
    samples = []
    for _ in range(draws):
        pick = per_seed[rng.integers(0, len(per_seed), len(per_seed))].mean(0)
        value = crossing(ns, pick, target)
        samples.append(ns[-1] * 2 if math.isnan(value) else value)
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return point, float(lo), float(hi)
