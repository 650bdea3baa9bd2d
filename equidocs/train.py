"""A fair, deterministic trainer: one protocol for every model kind, run one job or many in parallel.

Every model kind gets the same loss (cross-entropy), the same optimiser (Adam), the same stopping
rule and budget; only the learning rate differs, and it is picked on a validation split by
:func:`tune_lr`. A run stops when the training set is fit (full training loss below ``fit_loss``)
or the training loss plateaus, and records whether it hit the step budget instead. With
``TrainConfig(augment="shift")`` every training minibatch is randomly, circularly shifted.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_all_start_methods, get_context
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F

from equidocs import runstore
from equidocs.data_specs import DEFAULTS, Splits, make_splits
from equidocs.models import make_model
from equidocs.params import count_parameters
from equidocs.progress import Progress

AUGMENTS = ("none", "shift")
SHIFT_SEED_OFFSET = 104729  # the shift stream's seed is job.seed + this (batch order: + 7919)


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 3e-3          # Adam learning rate (tuned per model kind on the validation split)
    batch_size: int = 128     # minibatch size; the whole training set when it is smaller
    max_steps: int = 1500     # budget; a run that reaches it is flagged hit_budget
    eval_every: int = 20      # steps between convergence checks (running mean of the last epoch)
    fit_loss: float = 0.01    # "training set fit": full training loss below this
    patience: int = 300       # plateau: stop after this many steps without a 1% better loss
    weight_decay: float = 0.0  # Adam weight decay (0: none)
    augment: str = "none"     # "shift": roll each training image by a random circular (dy, dx)

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_steps", "eval_every", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"TrainConfig.{name}={value!r}: expected a positive integer")
        for name, low in (("lr", "positive"), ("fit_loss", "positive"), ("weight_decay", "non-negative")):
            value = getattr(self, name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and (value > 0 or (value == 0 and low != "positive"))):
                raise ValueError(f"TrainConfig.{name}={value!r}: expected a {low} finite number")
        if self.augment not in AUGMENTS:
            raise ValueError(f"TrainConfig.augment={self.augment!r}: expected one of "
                             f"{', '.join(map(repr, AUGMENTS))}")


@dataclass(frozen=True)
class Job:
    """One training run: which model, on which data, with how many examples and which seed."""

    kind: str                 # "conv", "local" or "dense"
    data: dict                # dataset spec, see equidocs.data_specs.make_splits
    n_train: int              # training-set size
    seed: int                 # seeds the model init, the training sample and the batch order
    model: dict = field(default_factory=dict)  # options for equidocs.models.make_model
    train: TrainConfig = TrainConfig()
    probe: str | None = None  # "module:function" called as f(model, splits, job, **probe_args) -> dict
    probe_args: dict = field(default_factory=dict)  # keyword arguments for the probe


@dataclass(frozen=True)
class RunResult:
    kind: str
    n_train: int
    seed: int
    lr: float
    params: int               # trainable parameters
    steps: int                # optimiser steps taken
    stop: str                 # "fit", "plateau" or "budget"
    hit_budget: bool
    train_acc: float
    val_acc: float
    test_acc: float
    train_loss: float
    loss_curve: list          # [[step, mean minibatch loss over the last epoch], ...]
    wall_s: float
    probe: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    """Share of examples whose arg-max logit is the label.

    >>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    >>> 0.0 <= accuracy(model, torch.zeros(3, 1, 2, 2), torch.tensor([0, 1, 0])) <= 1.0
    True
    """
    if len(x) == 0:
        raise ValueError("accuracy: expected at least one example, got 0")
    model.eval()
    with torch.no_grad():
        hits = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
                   for i in range(0, len(x), batch))
    return hits / len(x)


def roll_batch(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor) -> torch.Tensor:
    """Roll each image by its own circular shift: out[i] = torch.roll(x[i], (dy[i], dx[i]), (1, 2)).

    x is (N, C, H, W); dy, dx are (N,) integer tensors (positive: content moves down / right).

    >>> x = torch.arange(6.0).reshape(2, 1, 1, 3)
    >>> roll_batch(x, torch.tensor([0, 0]), torch.tensor([1, -1]))[:, 0, 0]
    tensor([[2., 0., 1.],
            [4., 5., 3.]])
    """
    if x.ndim != 4 or dy.shape != x.shape[:1] or dx.shape != x.shape[:1]:
        raise ValueError(f"roll_batch: expected x (N, C, H, W) and dy, dx (N,), got x "
                         f"{tuple(x.shape)}, dy {tuple(dy.shape)}, dx {tuple(dx.shape)}")
    n, c, h, w = x.shape
    rows = (torch.arange(h, device=x.device) - dy.to(x.device)[:, None]) % h  # (N, H): source rows
    cols = (torch.arange(w, device=x.device) - dx.to(x.device)[:, None]) % w  # (N, W)
    x = x.gather(2, rows[:, None, :, None].expand(n, c, h, w))
    return x.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def _random_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x with each image rolled by (dy, dx) drawn uniformly from all H x W offsets."""
    n, _, h, w = x.shape
    dy = torch.randint(h, (n,), generator=generator)
    dx = torch.randint(w, (n,), generator=generator)
    return roll_batch(x, dy, dx)


def _full_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    model.eval()
    with torch.no_grad():
        total = sum(float(F.cross_entropy(model(x[i:i + batch]), y[i:i + batch], reduction="sum"))
                    for i in range(0, len(x), batch))
    return total / len(x)


def _resolve(path: str):
    module, _, name = path.partition(":")
    if not name:
        raise ValueError(f"probe={path!r}: expected 'module:function'")
    return getattr(importlib.import_module(module), name)


def train(job: Job, device: str = "cpu", splits: Splits | None = None) -> RunResult:
    """Train one model under the fair protocol and evaluate it; same job -> same numbers.

    On a CPU it runs on one thread, so results never depend on the caller's thread count.

    >>> job = Job("dense", {"dataset": "patterns", "canvas": 8, "n_val": 20, "n_test": 20}, 16, seed=0)
    >>> train(job).stop in ("fit", "plateau", "budget")
    True
    """
    with single_thread(device == "cpu"):
        return _train(job, device, splits)


def _train(job: Job, device: str, splits: Splits | None) -> RunResult:
    start = time.perf_counter()
    probe = _resolve(job.probe) if job.probe else None  # a typo fails before training, not after
    splits = splits or make_splits(job.data, job.n_train, job.seed)
    cfg = job.train
    tr = splits.train
    x, y = tr.x.to(device), tr.y.to(device)
    torch.manual_seed(job.seed)
    model = make_model(job.kind, tuple(x.shape[1:]), splits.num_classes, **job.model).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    order = torch.Generator().manual_seed(job.seed + 7919)
    shifts = None  # augment="none" draws nothing more: the run is exactly the unaugmented one
    if cfg.augment == "shift":
        shifts = torch.Generator().manual_seed(job.seed + SHIFT_SEED_OFFSET)
    n = len(x)
    batch = min(cfg.batch_size, n)
    perm, cursor = torch.randperm(n, generator=order), 0
    curve: list = []
    recent: list[float] = []  # minibatch losses of the last epoch: a free estimate of the training loss
    window = max(1, math.ceil(n / batch))
    best, best_step, stop, step = math.inf, 0, "budget", 0
    while step < cfg.max_steps:
        if cursor + batch > n:
            perm, cursor = torch.randperm(n, generator=order), 0
        idx = perm[cursor:cursor + batch].to(device)
        cursor += batch
        model.train()
        xb = x[idx] if shifts is None else _random_shift(x[idx], shifts)  # never val / test
        loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        recent = (recent + [loss.item()])[-window:]
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            running = sum(recent) / len(recent)
            curve.append([step, round(running, 6)])
            if not math.isfinite(running):
                raise FloatingPointError(f"{job.kind} n_train={n} seed={job.seed} lr={cfg.lr}: "
                                         f"training loss became {running} at step {step}")
            if running < cfg.fit_loss and _full_loss(model, x, y) < cfg.fit_loss:
                stop = "fit"
                break
            if running < best * 0.99:
                best, best_step = running, step
            elif step - best_step >= cfg.patience:
                stop = "plateau"
                break
    probed = probe(model, splits, job, **job.probe_args) if probe else None
    return RunResult(
        kind=job.kind, n_train=n, seed=job.seed, lr=cfg.lr, params=count_parameters(model),
        steps=step, stop=stop, hit_budget=stop == "budget",
        train_acc=accuracy(model, x, y),
        val_acc=accuracy(model, splits.val.x.to(device), splits.val.y.to(device)),
        test_acc=accuracy(model, splits.test.x.to(device), splits.test.y.to(device)),
        train_loss=round(_full_loss(model, x, y), 6),
        loss_curve=curve, wall_s=round(time.perf_counter() - start, 4), probe=probed,
    )


@contextmanager
def single_thread(active: bool = True) -> Iterator[None]:
    """Run torch on one CPU thread inside the block: for small models, extra threads only spin.

    >>> with single_thread():
    ...     torch.get_num_threads()
    1
    """
    threads = torch.get_num_threads()
    if active:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _context():
    # fork: workers start at once and scripts need no `if __name__ == "__main__"` guard; each worker
    # runs single-threaded, so the parent's thread pool is never used after the fork.
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


def _worker_init() -> None:
    torch.set_num_threads(1)


_KIND_COST = {"local": 3.0, "conv": 1.0, "dense": 0.1}  # relative time per example-pixel, measured


def _cost(job: Job) -> float:
    canvas = job.data.get("canvas", DEFAULTS["canvas"])
    area = canvas * canvas if isinstance(canvas, int) else canvas[0] * canvas[1]
    return _KIND_COST.get(job.kind, 1.0) * job.n_train * area


def default_workers(device: str = "cpu") -> int:
    """Worker processes used by :func:`train_many`: one per core on a CPU, one on a GPU.

    >>> default_workers("cuda")
    1
    """
    if device != "cpu":
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def train_many(jobs: Sequence[Job], *, workers: int | None = None, device: str = "cpu",
               desc: str = "training") -> list[RunResult]:
    """Train many independent jobs, results in job order; parallel over single-threaded processes.

    On a CPU, ``workers`` processes with one thread each beat one process with many threads for
    these small models (measured in benchmarks/train_throughput.py). Results equal ``train`` run
    one job at a time, since every job seeds itself. Inside :func:`equidocs.runstore.recording`,
    finished jobs are read from the store and new ones saved as each finishes (a killed study
    resumes from its finished runs).

    >>> job = Job("dense", {"dataset": "patterns", "canvas": 8, "n_val": 20, "n_test": 20}, 16, seed=0)
    >>> results = train_many([job, replace(job, seed=1)], workers=1)
    >>> results[0].seed, results[1].seed
    (0, 1)
    """
    jobs = list(jobs)
    workers = default_workers(device) if workers is None else workers
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    store = runstore.active()
    results: list[RunResult | None] = [store.get(job) if store else None for job in jobs]
    todo = [i for i, r in enumerate(results) if r is None]
    progress = Progress(desc, [_cost(jobs[i]) for i in todo], done_before=len(jobs) - len(todo))

    def finish(i: int, result: RunResult) -> None:
        results[i] = result
        if store is not None:
            store.put(jobs[i], result)
        progress.advance(_cost(jobs[i]))

    if workers == 1 or len(todo) <= 1:
        with single_thread(device == "cpu"):
            for i in todo:
                finish(i, train(jobs[i], device))
    else:
        # Longest jobs first keeps both workers busy until the end.
        order = sorted(todo, key=lambda i: -_cost(jobs[i]))
        with ProcessPoolExecutor(workers, mp_context=_context(),
                                 initializer=_worker_init) as pool:
            futures = {pool.submit(train, jobs[i], device): i for i in order}
            for future in as_completed(futures):
                finish(futures[future], future.result())
    progress.close()
    return results  # type: ignore[return-value]


def tune_lr(template: Job, grid: Sequence[float], seeds: Sequence[int] = (0, 1), *, tie: float = 0.005,
            workers: int | None = None, device: str = "cpu") -> dict[str, Any]:
    """Pick the learning rate with the best mean validation accuracy (never the test set).

    Rates within ``tie`` of the best accuracy count as tied; among them the one that converged in
    the fewest steps wins (then the smaller rate). Returns the choice and the whole table.

    >>> job = Job("dense", {"dataset": "patterns", "canvas": 8, "n_val": 20, "n_test": 20}, 16, seed=0)
    >>> tune_lr(job, [1e-3, 1e-2], seeds=[0], workers=1)["lr"] in (1e-3, 1e-2)
    True
    """
    if not grid:
        raise ValueError("grid=[]: expected at least one learning rate")
    jobs = [replace(template, seed=s, train=replace(template.train, lr=lr)) for lr in grid for s in seeds]
    runs = train_many(jobs, workers=workers, device=device, desc=f"tune lr {template.kind}")
    table = []
    for i, lr in enumerate(grid):
        chunk = runs[i * len(seeds):(i + 1) * len(seeds)]
        table.append({"lr": lr, "val_acc": sum(r.val_acc for r in chunk) / len(chunk),
                      "steps": sum(r.steps for r in chunk) / len(chunk)})
    top = max(row["val_acc"] for row in table)
    best = min((row for row in table if row["val_acc"] >= top - tie), key=lambda row: (row["steps"], row["lr"]))
    return {"kind": template.kind, "lr": best["lr"], "n_train": template.n_train, "tie": tie,
            "table": table}
