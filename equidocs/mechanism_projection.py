"""A rough projection of the CPU time the mechanism study still needs, to plan sessions (the status
table's ``left`` column and the driver's ETA). Nothing published depends on it.

Calibrated on the log: each arm's cost per counted training FLOP (:func:`~equidocs.mechanism_plan.
train_flops_per_example`) is the median over its runs of at least ``min_steps`` steps on its two largest
logged canvases (throughput changes with the canvas), and its epochs per run the median over its
runs on at least 4,096 examples; separately for the large canvases, whose runs use faster settings
(:func:`~equidocs.mechanism_plan.base_job`), with the smaller canvases' calibration until they have
their own. A condition's remaining runs are counted from its phase: the pilot
doubles up to an expected crossing (the previous size's crossing times the growth between the two
sizes before, within the cap), the tuning grid is counted run by run, and a ladder is taken to need
three rungs of all seeds (one more at least while it is unfinished).
"""

from __future__ import annotations

import json
import math
from statistics import median

from equidocs.fit import Job, Result
from equidocs.mechanism_plan import Config, train_flops_per_example

# (arm, on a large canvas) -> (CPU seconds per training FLOP, epochs per run)
Calibration = dict[tuple[str, bool], tuple[float, float]]


def _examples(job: Job, epochs: float, cfg: Config) -> float:
    batch = min(job.batch_size, job.n_train)
    return max(epochs * job.n_train, cfg.job["min_steps"] * batch)


def calibrate(cfg: Config, runs: dict[str, Result]) -> Calibration:
    """Per arm and kind of canvas (large or not): (median CPU seconds per training FLOP, median
    epochs) from the logged runs made with the settings the study now uses there."""
    by_arm: dict[tuple[str, bool], list[tuple[Job, Result]]] = {}
    for key, result in runs.items():
        job = Job.from_dict(json.loads(key))
        large = job.canvas in cfg.large_sizes
        if job.arm != "memoriser" and job.fused_adam == large:  # not the large sizes' superseded runs
            by_arm.setdefault((job.arm, large), []).append((job, result))
    out = {}
    for (arm, large), pairs in by_arm.items():
        canvases = sorted({j.canvas for j, _ in pairs})[-2:]
        rates = [r.cpu_s / (r.steps * min(j.batch_size, j.n_train)
                            * train_flops_per_example(arm, j.canvas, j.width, j.hidden))
                 for j, r in pairs if j.canvas in canvases and r.steps >= cfg.job["min_steps"] and r.cpu_s > 0]
        epochs = [r.epochs for j, r in pairs if j.n_train >= 4096] or [r.epochs for _, r in pairs]
        if rates:
            out[arm, large] = (median(rates), median(epochs))
    return out


def run_seconds(cfg: Config, calib: Calibration, arm: str, canvas: int, n: int, *,
                width: int | None = None, hidden: int | None = None) -> float:
    """Projected CPU seconds of one run (0 for the memoriser or an arm with no calibration): the
    calibrated epochs (at least ``min_steps`` steps) x training FLOPs per example x seconds per FLOP.

    >>> calib = {("dense", False): (1e-9, 30.0)}  # 1 ns per FLOP, 30 epochs
    >>> round(run_seconds(Config(), calib, "dense", 6, 8192), 2)  # 30 x 8,192 x 43,008 FLOPs x 1 ns
    10.57
    """
    rate = calib.get((arm, canvas in cfg.large_sizes)) or calib.get((arm, False))
    if arm == "memoriser" or rate is None:
        return 0.0
    per_flop, epochs = rate
    job = Job(arm, canvas, n, 0, width=width or cfg.width_grid[0], hidden=hidden or cfg.hidden_grid[0],
              **cfg.job)
    return _examples(job, epochs, cfg) * train_flops_per_example(arm, canvas, job.width, job.hidden) * per_flop


def expected_crossing(cfg: Config, state: dict, states: list[dict]) -> int:
    """The training-set size a condition is expected to cross at (see the module docstring)."""
    if state.get("pilot_n"):
        return state["pilot_n"]
    tried = max([n for n, _ in state.get("pilot", [])], default=cfg.floor)
    earlier = [s.get("pilot_n") for s in states
               if s["arm"] == state["arm"] and s["size"] < state["size"] and s.get("pilot_n")]
    guess = earlier[-1] * (earlier[-1] / earlier[-2]) if len(earlier) >= 2 else tried
    return int(min(state["cap"], max(2 * tried, 2 ** round(math.log2(max(guess, 1))))))


def projected_seconds(cfg: Config, calib: Calibration, state: dict, states: list[dict]) -> float:
    """Projected CPU seconds a condition still needs (0 when done)."""
    phase, arm, size = state["phase"], state["arm"], state["size"]
    if phase == "done":
        return 0.0
    n = expected_crossing(cfg, state, states)
    total = 0.0

    def runs(count: int, at: int, **widths) -> float:
        return count * run_seconds(cfg, calib, arm, size, at, **widths)

    if phase == "pilot":
        m = 2 * max([k for k, _ in state.get("pilot", [])], default=cfg.floor // 2)
        while m <= n:
            total, m = total + runs(1, m), 2 * m
    if arm != "memoriser":
        width_name = "hidden" if arm == "dense" else "width"
        grids = (("lr", cfg.lr_grid), ("weight_decay", cfg.wd_grid),
                 (width_name, cfg.hidden_grid if arm == "dense" else cfg.width_grid))
        done = state.get("tune", {}) if phase != "pilot" else {}
        for name, grid in grids:
            if name in done:
                continue
            if name == width_name:  # a wider net costs more per run
                total += sum(runs(len(cfg.tune_seeds), n, **{width_name: w}) for w in grid)
            else:
                total += runs(len(cfg.tune_seeds) * len(grid), n)
    settings = state.get("settings") or {}
    width = {k: settings[k] for k in ("width", "hidden") if k in settings}
    tried = sum(len(r["test_acc"]) for r in state.get("ladder", []))
    seeds = len(cfg.seeds(arm))
    return total + runs(max(seeds, 3 * seeds - tried), n, **width)  # an unfinished ladder: a rung at least
