"""The mechanism study's design and its planner: which runs come next, as a pure function of the runs
already logged, so a resumed study reaches exactly the decisions an uninterrupted one would.

Per condition (arm, canvas size), in order:

1. **Pilot** (seed 0, the arm's default settings): the training set doubles from ``floor`` until the
   validation accuracy reaches the target, or the cap. Its size is the condition's crossing N.
2. **Tune** at that N, on validation accuracy only (mean over ``tune_seeds``), coordinate-wise: the
   learning rate over ``lr_grid`` (the other settings at their defaults), then the weight decay over
   ``wd_grid`` at the chosen rate, then the width (``width`` for filter nets, ``hidden`` for dense)
   at the chosen rate and decay. Settings within ``TIE`` of the best mean count as tied; among them
   the one that stopped in the fewest mean steps wins, then the earlier in its grid.
   The memoriser has nothing to tune.
3. **Ladder**: sqrt(2)-spaced training sets from ``floor`` to the cap, all seeds per rung, from the
   rung nearest the pilot's N, down while the seed-mean test accuracy reaches the target, up while
   it does not, until two neighbouring rungs bracket it (or the floor / cap: censored); then one
   rung further down (up) while the lowest (highest) rung tried is within ``bracket_z`` standard
   errors of the target (:func:`side`), so the need's bootstrap interval has two closed ends.

Caps come from compute: the largest rung whose estimated run time (``expected_epochs`` passes at
the widest tuned setting, FLOPs counted by torch at an assumed ``gflops`` one-thread rate, and at
least ``min_steps`` steps) fits ``run_budget_s``, and at most ``max_cap``. On the ``large_sizes``
canvases, where the dense net's need passes 2^17, the budget per run is ``large_run_budget_s`` and
the cap at most ``large_max_cap``, runs flush subnormal floats to zero and use Adam's fused
update, and the pooled nets' max passes its gradient to the arg-max window alone, computed sparsely
for unshared filters (:func:`base_job`). The memoriser has no training cost; its cap is the size's largest
(at most ``memoriser_max_cap``: its distance table grows with the training set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

from equidocs.fit import Job, Result
from equidocs.nets import ARMS, POOLED, make_net

TIE = 0.005  # mean validation accuracies this close count as tied
MAIN_ARMS = ("conv", "local", "dense")  # the arms with the most seeds


@dataclass(frozen=True)
class Config:
    sizes: tuple = (6, 7, 8, 10, 12, 16, 20, 24)  # canvas sides: (S-4)^2 = 4 .. 400 positions
    arms: tuple = ARMS
    target: float = 0.9             # test accuracy whose crossing N is measured
    floor: int = 4                  # smallest training set (one example per class)
    max_cap: int = 131072           # largest training set of any arm (2^17) ...
    run_budget_s: float = 600.0     # cap: the largest rung whose estimated run fits this
    large_sizes: tuple = (20, 24)   # ... except on these canvases:
    large_max_cap: int = 1048576    # 2^20
    large_run_budget_s: float = 3600.0
    memoriser_max_cap: int = 524288  # 2^19: memory (training pixels plus a 1,024-row distance table)
    expected_epochs: int = 40       # passes a run is assumed to take (early stopping), for the caps
    gflops: float = 25.0            # assumed one-thread training rate, for the caps
    seeds_main: int = 10            # ladder seeds of conv, local, dense
    seeds_other: int = 5            # ladder seeds of the other arms
    pilot_seed: int = 0
    tune_seeds: tuple = (0, 1)
    lr_grid: tuple = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    wd_grid: tuple = (0.0, 1e-4, 1e-3)   # first = the default while the rate is tuned
    width_grid: tuple = (32, 8)          # filters; first = the default while rate and decay are tuned
    hidden_grid: tuple = (256, 1024)     # dense hidden units; first = the default
    pilot_lr: float = 3e-3
    wave: int = 2                   # sizes planned at once (smallest unfinished first)
    bracket_z: float = 2.0          # a ladder's end rungs must miss / pass the target by this many SEs
    job: dict = field(default_factory=lambda: dict(      # Job settings shared by every run
        epochs=100, min_steps=1000, min_evals=50, patience=10, fit_loss=1e-3, batch_size=128,
        deform=0.5, noise=0.1, n_val=1000, n_test=2000))

    @classmethod
    def profile(cls, name: str) -> "Config":
        """``full``: the published design; ``quick``: the same design, tiny (about a minute)."""
        if name == "full":
            return cls()
        if name == "quick":
            return cls(sizes=(6, 8), max_cap=512, large_sizes=(), seeds_main=3, seeds_other=2, tune_seeds=(0,),
                       lr_grid=(3e-3, 1e-2), wd_grid=(0.0, 1e-3), width_grid=(16, 8),
                       hidden_grid=(256, 64), wave=2,
                       job=dict(epochs=20, min_steps=150, min_evals=10, patience=4, fit_loss=1e-3,
                                batch_size=128, deform=0.5, noise=0.1, n_val=200, n_test=300))
        raise ValueError(f"profile={name!r}: expected 'quick' or 'full'")

    def seeds(self, arm: str) -> tuple[int, ...]:
        return tuple(range(self.seeds_main if arm in MAIN_ARMS else self.seeds_other))


def ladder(floor: int, cap: int) -> list[int]:
    """sqrt(2)-spaced training-set sizes from ``floor`` to ``cap`` (rounded, distinct).

    >>> ladder(4, 32)
    [4, 6, 8, 11, 16, 23, 32]
    """
    steps = round(2 * math.log2(cap / floor))
    return sorted({round(floor * 2 ** (j / 2)) for j in range(steps + 1)})


@lru_cache(maxsize=None)
def train_flops_per_example(arm: str, canvas: int, width: int, hidden: int) -> int:
    """Forward + backward FLOPs per example, as torch's FlopCounterMode counts them."""
    from equidocs.compute import training_flops  # imported, never edited

    net = make_net(arm, canvas, 4, width=width, hidden=hidden)
    x, y = torch.zeros(2, 1, canvas, canvas), torch.zeros(2, dtype=torch.long)
    return training_flops(net, x, y) // 2


def cap(cfg: Config, arm: str, canvas: int) -> int:
    """The largest ladder rung (<= the size's max cap) whose estimated run time fits the size's
    budget per run; see the module's docstring."""
    large = canvas in cfg.large_sizes
    top, budget = ((cfg.large_max_cap, cfg.large_run_budget_s) if large
                   else (cfg.max_cap, cfg.run_budget_s))
    if arm == "memoriser":
        return ladder(cfg.floor, min(top, cfg.memoriser_max_cap))[-1]
    rungs = ladder(cfg.floor, top)
    per = train_flops_per_example(arm, canvas, max(cfg.width_grid), max(cfg.hidden_grid))
    batch = cfg.job["batch_size"]

    def seconds(n: int) -> float:
        examples = max(cfg.expected_epochs * n, cfg.job["min_steps"] * min(batch, n))
        return examples * per / (cfg.gflops * 1e9)

    fits = [n for n in rungs if seconds(n) <= budget]
    return fits[-1] if fits else rungs[0]


def estimated_seconds(cfg: Config, job: Job) -> float:
    """A job's estimated one-thread run time (as for the caps; the memoriser counts as free), used to
    start the longest runs of a batch first."""
    if job.arm == "memoriser":
        return 0.0
    per = train_flops_per_example(job.arm, job.canvas, job.width, job.hidden)
    examples = max(cfg.expected_epochs * job.n_train, job.min_steps * min(job.batch_size, job.n_train))
    return examples * per / (cfg.gflops * 1e9)


def base_job(cfg: Config, arm: str, canvas: int) -> Job:
    """The condition's pilot job. On the large sizes three speed-ups that change only rounding are
    part of every job: subnormals flushed to zero and Adam's fused update (see
    :func:`equidocs.fit.fit`), and the pooled nets' max sending its gradient to the arg-max window
    alone (``sparse_max``; for unshared filters computed sparsely, :class:`equidocs.nets.WindowMax`).
    They were introduced after the smaller sizes were done, so those runs use none; the large sizes'
    runs made before all three were run again."""
    large = canvas in cfg.large_sizes
    return Job(arm, canvas, cfg.floor, cfg.pilot_seed, lr=cfg.pilot_lr, weight_decay=cfg.wd_grid[0],
               width=cfg.width_grid[0], hidden=cfg.hidden_grid[0], **cfg.job,
               flush_denormal=large, sparse_max=large and arm in POOLED, fused_adam=large)


def _pick(table: dict, grid: tuple) -> object:
    """The setting with the best mean validation accuracy; ties (``TIE``) go to the fewest mean steps,
    then the earlier in ``grid``. ``table``: setting -> (mean val_acc, mean steps).

    >>> _pick({1e-3: (0.90, 400.0), 1e-2: (0.903, 200.0), 1e-1: (0.5, 50.0)}, (1e-3, 1e-2, 1e-1))
    0.01
    """
    top = max(acc for acc, _ in table.values())
    return min((v for v, (acc, _) in table.items() if acc >= top - TIE),
               key=lambda v: (table[v][1], grid.index(v)))


Lookup = Callable[[Job], "Result | None"]


def plan_condition(cfg: Config, arm: str, canvas: int, have: Lookup) -> tuple[list[Job], dict]:
    """The runs this condition needs next (empty when done) and its decisions so far."""
    c = cap(cfg, arm, canvas)
    state: dict = {"arm": arm, "size": canvas, "cap": c, "phase": "pilot", "pilot": []}
    job, n = base_job(cfg, arm, canvas), cfg.floor
    while True:  # 1. pilot
        r = have(replace(job, n_train=n))
        if r is None:
            return [replace(job, n_train=n)], state
        state["pilot"].append([n, r.val_acc])
        if r.val_acc >= cfg.target or n >= c:
            break
        n = min(2 * n, c)
    state["pilot_n"] = job_n = n
    job = replace(job, n_train=job_n)
    if arm != "memoriser":  # 2. tune, coordinate-wise
        width_name = "hidden" if arm == "dense" else "width"
        state["tune"] = {}
        for name, grid in (("lr", cfg.lr_grid), ("weight_decay", cfg.wd_grid),
                           (width_name, cfg.hidden_grid if arm == "dense" else cfg.width_grid)):
            state["phase"] = f"tune {name}"
            runs = {v: [replace(job, **{name: v}, seed=s) for s in cfg.tune_seeds] for v in grid}
            missing = [j for js in runs.values() for j in js if have(j) is None]
            if missing:
                return missing, state
            table = {v: (float(np.mean([have(j).val_acc for j in js])),
                         float(np.mean([have(j).steps for j in js]))) for v, js in runs.items()}
            job = replace(job, **{name: _pick(table, grid)})
            state["tune"][name] = {"chosen": getattr(job, name),
                                   "table": [[v, *table[v]] for v in grid]}
    state["settings"] = ({} if arm == "memoriser" else
                         {k: getattr(job, k) for k in ("lr", "weight_decay", "width", "hidden")})
    state["phase"] = "ladder"  # 3. bracket the target on the test accuracy's seed mean
    rungs, seeds = ladder(cfg.floor, c), cfg.seeds(arm)
    cur = min(rungs, key=lambda m: (abs(math.log(m / job_n)), m))
    tried: dict[int, list[float]] = {}
    while True:
        jobs = [replace(job, n_train=cur, seed=s) for s in seeds]
        missing = [j for j in jobs if have(j) is None]
        if missing:
            state["ladder"] = _rows(tried)
            return missing, state
        tried[cur] = [have(j).test_acc for j in jobs]
        mean = {m: float(np.mean(a)) for m, a in tried.items()}
        up = [m for m in mean if mean[m] >= cfg.target]
        if up:
            i = rungs.index(min(up))
            if i > 0 and rungs[i - 1] not in tried:
                cur = rungs[i - 1]
                continue
            low, high = min(tried), max(tried)  # bracketed: are the ends clear of the target?
            if low != rungs[0] and side(tried[low], cfg.target, cfg.job["n_test"], cfg.bracket_z) != "below":
                cur = rungs[rungs.index(low) - 1]
            elif high != rungs[-1] and side(tried[high], cfg.target, cfg.job["n_test"], cfg.bracket_z) != "above":
                cur = rungs[rungs.index(high) + 1]
            else:
                break
        else:
            j = rungs.index(max(mean))
            if j == len(rungs) - 1:
                break
            cur = rungs[j + 1]
    state["ladder"], state["phase"] = _rows(tried), "done"
    return [], state


def side(accs: list[float], target: float, n_test: int, z: float) -> str:
    """Where a rung's seed-mean test accuracy lies from ``target``: "below" or "above" when at least
    ``z`` standard errors away, else "close". The standard error counts the seeds' spread (as the
    bootstrap of :func:`equidocs.stats.need` redraws them) and the binomial noise of the ``n_test``
    shared test examples.

    >>> side([0.85, 0.86, 0.84], 0.9, 2000, 2.0), side([0.88, 0.92, 0.89], 0.9, 2000, 2.0)
    ('below', 'close')
    """
    a = np.asarray(accs, float)
    p = float(np.clip(a.mean(), 0.0, 1.0))
    se = math.sqrt(a.var() / len(a) + p * (1 - p) / n_test)
    if p + z * se < target:
        return "below"
    return "above" if p - z * se >= target else "close"


def _rows(tried: dict[int, list[float]]) -> list[dict]:
    return [{"n": n, "test_acc": accs} for n, accs in sorted(tried.items())]


def plan(cfg: Config, have: Lookup) -> tuple[list[Job], list[dict]]:
    """The next runs of the study (smallest unfinished sizes first, ``wave`` sizes at a time, each
    condition's next step) and every condition's state. Empty list: the study is complete."""
    pending, states, active = [], [], []
    for size in cfg.sizes:
        jobs_here = []
        for arm in cfg.arms:
            jobs, state = plan_condition(cfg, arm, size, have)
            states.append(state)
            jobs_here += jobs
        if jobs_here and len(active) < cfg.wave:
            active.append(size)
            pending += jobs_here
    return list(dict.fromkeys(pending)), states
