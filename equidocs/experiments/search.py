"""Per-condition tuning and the search for a crossing: the protocol the growth-law study uses.

A *condition* is one (model kind, size) with its own data spec and model options. For each, the
search (1) locates the crossing with a one-seed pilot on a doubling training set, (2) tunes the
learning rate there on validation data, extending the grid past an edge that wins, and (3) walks a
sqrt(2)-spaced ladder with every seed until the seed-mean test accuracy is below the target at one
rung and reaches it at the next, or the ladder's floor or cap is reached (censored). Every function
batches the runs of all conditions into one :func:`equidocs.train.train_many` call per step.

``cfg`` is the experiment's config: it provides ``floor``, ``cap`` (per kind), ``target``,
``pilot_lr``, ``lr_grid``, ``tune_seeds``, ``extend``, ``epochs``, ``min_steps``, ``fit_loss`` and
``patience``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from equidocs.train import Job, TrainConfig, train_many


def cap(cfg, kind: str) -> int:
    """The largest training set tried for ``kind`` (the memoriser: the largest of all)."""
    return cfg.cap.get(kind, max(cfg.cap.values()))


def ladder(cfg, kind: str) -> list[int]:
    """Training-set sizes tried for ``kind``: sqrt(2)-spaced from ``floor`` to its cap (rounded).

    >>> from types import SimpleNamespace
    >>> ladder(SimpleNamespace(floor=4, cap={"conv": 16}), "conv")
    [4, 6, 8, 11, 16]
    """
    steps = round(2 * math.log2(cap(cfg, kind) / cfg.floor))
    return sorted({round(cfg.floor * 2 ** (j / 2)) for j in range(steps + 1)})


def budget(cfg, n: int) -> TrainConfig:
    """The run's training budget: ``epochs`` passes over the data, and at least ``min_steps``.

    >>> from types import SimpleNamespace
    >>> cfg = SimpleNamespace(epochs=60, min_steps=1500, fit_loss=0.05, patience=200, pilot_lr=3e-3)
    >>> budget(cfg, 4096).max_steps, budget(cfg, 64).max_steps
    (1920, 1500)
    """
    steps_per_epoch = math.ceil(n / min(128, n))
    return TrainConfig(max_steps=max(cfg.min_steps, cfg.epochs * steps_per_epoch),
                       fit_loss=cfg.fit_loss, patience=cfg.patience, lr=cfg.pilot_lr)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per condition
class Condition:
    kind: str
    size: int      # axis (a): canvas side; axis (b): upsampling factor
    data: dict
    model: dict
    train: dict = field(default_factory=dict)  # TrainConfig fields on top of the budget, e.g. augment


def _job(c: Condition, n: int, seed: int, lr: float, cfg) -> Job:
    return Job(c.kind, c.data, n, seed, model=c.model, train=replace(budget(cfg, n), lr=lr, **c.train))


def pilot(conds: list[Condition], cfg, ctx) -> dict[Condition, int]:
    """Per condition, the first doubling of the training set whose validation accuracy (one seed,
    ``pilot_lr``) reaches the target; ``cap`` when none does."""
    found, n = {}, cfg.floor
    while len(found) < len(conds):
        todo = [c for c in conds if c not in found]
        runs = train_many([_job(c, min(n, cap(cfg, c.kind)), 0, cfg.pilot_lr, cfg) for c in todo],
                          workers=ctx.workers,
                          device=ctx.device, desc=f"growth pilot n={n}")
        for c, r in zip(todo, runs):
            if r.val_acc >= cfg.target or n >= cap(cfg, c.kind):
                found[c] = min(n, cap(cfg, c.kind))
        n *= 2
    return found


TIE = 0.005  # validation accuracies this close count as tied


def _means(table: dict[float, list]) -> dict[float, tuple[float, float]]:
    """Per rate, the mean validation accuracy and mean steps over its seeds' (val_acc, steps)."""
    return {lr: tuple(float(v) for v in np.mean(runs, axis=0)) for lr, runs in table.items()}


def _pick(means: dict[float, tuple[float, float]]) -> float:
    """The rate with the best mean validation accuracy; among rates within ``TIE`` of it, the one
    that converged in the fewest steps, then the smaller (the rule of :func:`equidocs.train.tune_lr`).

    >>> _pick({1e-3: (0.900, 400.0), 1e-2: (0.903, 200.0), 1e-1: (0.5, 50.0)})
    0.01
    """
    top = max(acc for acc, _ in means.values())
    return min((lr for lr, (acc, _) in means.items() if acc >= top - TIE), key=lambda lr: (means[lr][1], lr))


def _edge_wins(means: dict[float, tuple[float, float]]) -> bool:
    """The winner is the smallest or largest rate tried, and no rate inside the grid ties with it."""
    rates, best = sorted(means), _pick(means)
    return best in (rates[0], rates[-1]) and all(means[lr][0] < means[best][0] - TIE for lr in rates[1:-1])


def tune(conds: list[Condition], at: dict[Condition, int], cfg, ctx) -> dict[Condition, dict]:
    """Per condition, the rate with the best mean validation accuracy over ``tune_seeds`` at its
    tuning size; when an edge of the grid wins outright, the next rate past it (x sqrt(10)) is
    tried, up to ``extend`` times."""
    table = {c: {} for c in conds}  # rate -> [(val_acc, steps) per seed]
    todo = {c: list(cfg.lr_grid) for c in conds}
    for round_ in range(cfg.extend + 1):
        owners = [(c, lr) for c in conds for lr in todo[c] for _ in cfg.tune_seeds]
        if not owners:
            break
        jobs = [_job(c, at[c], s, lr, cfg) for c in conds for lr in todo[c] for s in cfg.tune_seeds]
        runs = train_many(jobs, workers=ctx.workers, device=ctx.device, desc=f"growth tune lr ({round_})")
        for (c, lr), r in zip(owners, runs):
            table[c].setdefault(lr, []).append((r.val_acc, r.steps))
        todo = {c: [] for c in conds}
        for c in conds:
            means = _means(table[c])
            if _edge_wins(means) and round_ < cfg.extend:
                best, rates = _pick(means), sorted(means)
                todo[c] = [round(best / math.sqrt(10) if best == rates[0] else best * math.sqrt(10), 10)]
    out = {}
    for c in conds:
        means = _means(table[c])
        out[c] = {"lr": _pick(means), "n": at[c], "edge": _edge_wins(means),
                  "table": [{"lr": lr, "val_acc": means[lr][0], "steps": means[lr][1]} for lr in sorted(means)]}
    return out


def _rows(tried: dict[int, list]) -> list[dict]:
    """Per rung tried (training-set size -> its seeds' runs), in size order: the test and training
    accuracies, stop reasons, optimiser steps and parameter count, as :func:`bracket` and
    :func:`climb` return them."""
    return [{"n": n, "acc": [r.test_acc for r in runs], "stop": [r.stop for r in runs],
             "train_acc": [r.train_acc for r in runs], "steps": [r.steps for r in runs],
             "params": runs[0].params}
            for n, runs in sorted(tried.items())]


def bracket(conds: list[Condition], start: dict[Condition, int], lrs: dict[Condition, float],
            seeds: tuple, cfg, ctx, margin: int = 0) -> dict[Condition, list[dict]]:
    """Walk each condition along the ladder (all seeds per rung) until the seed-mean test accuracy
    is below the target at one rung and at or above it at the next, or the floor / cap is reached.
    Then ``margin`` more rungs on each side of the bracket (within the ladder), so that the
    bootstrap's resampled curves, which scatter around the target, still cross inside the rungs."""
    rungs = {c: ladder(cfg, c.kind) for c in conds}
    tried = {c: {} for c in conds}
    nxt = {c: min(rungs[c], key=lambda n: abs(math.log(n / start[c]))) for c in conds}
    while nxt:
        todo = list(nxt)
        jobs = [_job(c, nxt[c], s, lrs[c], cfg) for c in todo for s in seeds]
        runs = train_many(jobs, workers=ctx.workers, device=ctx.device,
                          desc=f"growth ladder ({len(todo)} conditions)")
        for i, c in enumerate(todo):
            chunk = runs[i * len(seeds):(i + 1) * len(seeds)]
            tried[c][nxt[c]] = chunk
            mean = {n: np.mean([r.test_acc for r in runs_]) for n, runs_ in tried[c].items()}
            up = [n for n in mean if mean[n] >= cfg.target]
            if up:  # the lowest rung that reaches the target: done once the rung below it is known
                i = rungs[c].index(min(up))
                if i == 0 or rungs[c][i - 1] in tried[c]:
                    del nxt[c]
                else:
                    nxt[c] = rungs[c][i - 1]
            else:  # climb until a rung reaches it, or the cap
                j = rungs[c].index(max(mean))
                if j == len(rungs[c]) - 1:
                    del nxt[c]
                else:
                    nxt[c] = rungs[c][j + 1]
    if margin:  # the rungs tried are contiguous: add ``margin`` on each side
        todo = []
        for c in conds:
            lo, hi = rungs[c].index(min(tried[c])), rungs[c].index(max(tried[c]))
            todo += [(c, n) for n in rungs[c][max(0, lo - margin):lo] + rungs[c][hi + 1:hi + 1 + margin]]
        runs = train_many([_job(c, n, s, lrs[c], cfg) for c, n in todo for s in seeds], workers=ctx.workers,
                          device=ctx.device, desc=f"growth ladder margin ({len(todo)} rungs)")
        for i, (c, n) in enumerate(todo):
            tried[c][n] = runs[i * len(seeds):(i + 1) * len(seeds)]
    return {c: _rows(tried[c]) for c in conds}


def climb(conds: list[Condition], rungs: dict[Condition, list[int]], lrs: dict[Condition, float],
          seeds: tuple, n_min: int, cfg, ctx, past: int = 1) -> dict[Condition, list[dict]]:
    """Walk each condition up its own ``rungs`` (all seeds per rung) from the first, until the
    seed-mean test accuracy has reached ``cfg.target`` and ``past`` more rungs are measured (so the
    bootstrap's resampled curves cross inside the rungs too), and at least ``n_min`` is reached; or
    until the rungs run out (censored when never reached). Rows as :func:`bracket` returns them."""
    tried = {c: {} for c in conds}
    nxt = {c: 0 for c in conds}  # index of the next rung to train
    hit: dict[Condition, int] = {}  # index of the first rung that reached the target
    while nxt:
        todo = list(nxt)
        jobs = [_job(c, rungs[c][nxt[c]], s, lrs[c], cfg) for c in todo for s in seeds]
        runs = train_many(jobs, workers=ctx.workers, device=ctx.device,
                          desc=f"climb ({len(todo)} conditions)")
        for i, c in enumerate(todo):
            n = rungs[c][nxt[c]]
            tried[c][n] = runs[i * len(seeds):(i + 1) * len(seeds)]
            if c not in hit and np.mean([r.test_acc for r in tried[c][n]]) >= cfg.target:
                hit[c] = nxt[c]
            if nxt[c] == len(rungs[c]) - 1 or (c in hit and n >= n_min and nxt[c] >= hit[c] + past):
                del nxt[c]
            else:
                nxt[c] += 1
    return {c: _rows(tried[c]) for c in conds}


def deciding_rows(rows: list[dict], target: float) -> list[dict]:
    """The rungs that decide a need: the two either side of the crossing of the seed-mean curve
    (the first rung when it already reaches ``target``, the last when none does).

    >>> rows = [{"n": 8, "acc": [0.5]}, {"n": 16, "acc": [0.95]}, {"n": 32, "acc": [0.99]}]
    >>> [r["n"] for r in deciding_rows(rows, 0.9)], [r["n"] for r in deciding_rows(rows, 0.999)]
    ([8, 16], [32])
    """
    mean = [np.mean(r["acc"]) for r in rows]
    hit = [i for i, m in enumerate(mean) if m >= target]
    idx = [len(rows) - 1] if not hit else [0] if hit[0] == 0 else [hit[0] - 1, hit[0]]
    return [rows[i] for i in idx]


def deciding_stops(rows: list[dict], target: float) -> list[str]:
    """Stop reasons of the runs that decide a need (:func:`deciding_rows`).

    >>> rows = [{"n": 8, "acc": [0.5], "stop": ["fit"]}, {"n": 16, "acc": [0.95], "stop": ["budget"]},
    ...         {"n": 32, "acc": [0.99], "stop": ["fit"]}]
    >>> deciding_stops(rows, 0.9), deciding_stops(rows, 0.999)
    (['fit', 'budget'], ['fit'])
    """
    return [s for r in deciding_rows(rows, target) for s in r.get("stop", [])]
