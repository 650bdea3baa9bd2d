"""The mechanism study's trainer: one job -> one result, deterministic on one thread; many in parallel.

Protocol: Adam (learning rate, L2 weight decay), cross-entropy, minibatch 128 (the whole set when
smaller), a budget of ``epochs`` passes over the training set and at least ``min_steps`` steps.
Validation accuracy is evaluated every epoch, or every ``min_steps // min_evals`` steps when an
epoch is shorter (tiny sets still get ``min_evals`` evaluations); the best evaluation (highest
validation accuracy, ties to the lower validation loss) is checkpointed and the train / validation
/ test accuracies are read there. A run stops after ``patience`` evaluations without a better one
("patience"), when the training loss falls below ``fit_loss`` ("fit"), or at the budget ("budget").
The data are drawn once per run (:func:`equidocs.data_specs.make_splits`). The memoriser is a
1-nearest-neighbour lookup on pixels (no training; stop "none").

>>> r = fit(Job("conv", 6, 8, seed=0, n_val=20, n_test=20, epochs=1, min_steps=20))
>>> r.stop in ("patience", "fit", "budget"), r.steps <= 20
(True, True)
"""

from __future__ import annotations

import copy
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields, replace
from functools import partial
from multiprocessing import get_context
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from equidocs import processes  # also active: forked workers die with their parent
from equidocs.data_specs import Splits, make_splits
from equidocs.nets import ARMS, POOLED, count_params, make_net

ORDER_SEED_OFFSET = 7919  # the batch-order generator's seed is job.seed + this
OPTIONAL_FLAGS = ("flush_denormal", "sparse_max", "fused_adam")  # Job fields added later, kept out of older keys


@dataclass(frozen=True)
class Job:
    """One run of the study: which arm, canvas, training-set size and seed, and its settings."""

    arm: str                   # one of equidocs.nets.ARMS
    canvas: int                # side S of the S x S canvas (the glyph is 5 x 5)
    n_train: int               # training-set size
    seed: int                  # seeds the training sample, the init and the batch order
    lr: float = 3e-3           # Adam learning rate
    weight_decay: float = 0.0  # Adam's L2 weight decay
    width: int = 32            # filters of the conv / local layers (cnn_fc: first stage)
    hidden: int = 256          # hidden units of dense and of cnn_fc's head
    epochs: int = 100          # budget: passes over the training set ...
    min_steps: int = 1000      # ... and at least this many steps
    min_evals: int = 50        # evaluations within min_steps at least (tiny sets)
    patience: int = 10         # evaluations without a better validation score before stopping
    fit_loss: float = 1e-3     # "fit": training loss (running, then full) below this
    batch_size: int = 128      # minibatch (the whole set when smaller)
    deform: float = 0.5        # glyph deformation strength (unlimited variety)
    noise: float = 0.1         # pixel noise s.d.
    n_val: int = 1000          # validation examples (the same for every seed)
    n_test: int = 2000         # test examples (the same for every seed)
    flush_denormal: bool = False  # flush subnormal floats to zero (see fit)
    sparse_max: bool = False   # conv, local: the max's gradient to the arg-max window (nets.WindowNet)
    fused_adam: bool = False   # Adam's fused update: one pass per tensor, rounded differently (see fit)

    def __post_init__(self) -> None:
        for name in OPTIONAL_FLAGS:
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"Job {name}={getattr(self, name)!r}: expected True or False")
        if self.arm not in ARMS:
            raise ValueError(f"Job arm={self.arm!r}: expected one of {ARMS}")
        if self.sparse_max and self.arm not in POOLED:
            raise ValueError(f"Job sparse_max=True for arm={self.arm!r}: expected an arm with a max over "
                             f"windows {POOLED}")
        for name in ("canvas", "n_train", "width", "hidden", "epochs", "min_steps", "min_evals",
                     "patience", "batch_size", "n_val", "n_test"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Job {name}={v!r}: expected a positive integer")
        if self.canvas < 5:
            raise ValueError(f"Job canvas={self.canvas!r}: expected an integer >= 5 (the glyph side)")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"Job seed={self.seed!r}: expected an integer >= 0")
        for name, least in (("lr", "positive"), ("fit_loss", "positive"),
                            ("weight_decay", "non-negative"), ("noise", "non-negative"),
                            ("deform", "non-negative")):
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not (ok and (v > 0 or (v == 0 and least == "non-negative"))):
                raise ValueError(f"Job {name}={v!r}: expected a {least} finite number")

    def spec(self) -> dict:
        """The data spec :func:`equidocs.data_specs.make_splits` reads."""
        return {"dataset": "patterns", "canvas": self.canvas, "deform": self.deform,
                "noise": self.noise, "n_val": self.n_val, "n_test": self.n_test}

    def to_dict(self) -> dict:
        """The job's fields, the :data:`OPTIONAL_FLAGS` only when set: jobs from before they existed keep
        their keys (in the study's log and in frozen results).

        >>> "flush_denormal" in Job("dense", 8, 64, 1).to_dict(), Job("dense", 8, 64, 1, flush_denormal=True).to_dict()["flush_denormal"]
        (False, True)
        """
        data = asdict(self)
        for name in OPTIONAL_FLAGS:
            if not data[name]:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Job":
        """The inverse of :meth:`to_dict`; unknown keys raise a TypeError naming them.

        >>> j = Job("dense", 8, 64, 1); Job.from_dict(j.to_dict()) == j
        True
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TypeError(f"Job.from_dict: unknown key(s) {unknown}; expected some of {sorted(known)}")
        return cls(**data)


@dataclass(frozen=True)
class Result:
    stop: str          # "patience", "fit", "budget" (memoriser: "none")
    steps: int         # optimiser steps taken
    epochs: float      # steps x batch / n_train
    best_epoch: float  # epoch of the checkpoint the accuracies are read at
    evals: int         # validation evaluations made
    train_acc: float
    val_acc: float
    test_acc: float
    val_loss: float
    params: int        # trainable parameters (memoriser: stored pixels)
    wall_s: float      # wall-clock seconds
    cpu_s: float       # CPU seconds of the (one-thread) run: its cost on a loaded machine too

    def to_dict(self) -> dict:
        return asdict(self)


def _accuracy_loss(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                   batch: int = 2048) -> tuple[float, float]:
    net.eval()
    hits, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = net(x[i:i + batch])
            hits += int((out.argmax(1) == y[i:i + batch]).sum())
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
    return hits / len(x), loss / len(x)


def nearest_neighbour(train_x: torch.Tensor, train_y: torch.Tensor, x: torch.Tensor,
                      chunk: int = 1024) -> torch.Tensor:
    """Label of each row of x's nearest training example (Euclidean on pixels), in chunks.

    >>> nearest_neighbour(torch.tensor([[0.0], [1.0]]), torch.tensor([3, 4]), torch.tensor([[0.9]]))
    tensor([4])
    """
    a, out = train_x.flatten(1), []
    for i in range(0, len(x), chunk):
        out.append(train_y[torch.cdist(x[i:i + chunk].flatten(1), a).argmin(1)])
    return torch.cat(out)


def _memorise(job: Job, s: Splits, start: tuple[float, float]) -> Result:
    tr = s.train
    accs = [int((nearest_neighbour(tr.x, tr.y, d.x) == d.y).sum()) / len(d) for d in (s.val, s.test)]
    return Result("none", 0, 0.0, 0.0, 0, 1.0, accs[0], accs[1], float("nan"), tr.x[0].numel() * len(tr),
                  *_clocks(start))


def _clocks(start: tuple[float, float]) -> tuple[float, float]:
    """Wall and CPU seconds since ``start`` = (perf_counter, process_time)."""
    return round(time.perf_counter() - start[0], 4), round(time.process_time() - start[1], 4)


def fit(job: Job, device: str = "cpu") -> Result:
    """Train (or, for the memoriser, look up) one job on one thread; the same job -> the same result.

    ``device`` "cuda" (or "cuda:N") trains on that GPU instead: the data are drawn on the CPU as
    always, then moved, and matrix products and convolutions keep full fp32 precision (no TF32). A
    GPU rounds differently, so a run's trajectory can drift from the CPU's as with any change of
    rounding, and some of its kernels add in a varying order, so a GPU run is not bit-repeatable
    (the audit compares study runs within a tolerance in any case).

    With ``job.flush_denormal`` the CPU flushes subnormal floats (below 1.2e-38) to zero. Weights that
    weight decay drives toward zero become subnormal, and arithmetic on them is many times slower (up to
    8x per step measured for local_flatten). Flushing changes those values only, but a run's trajectory can
    then differ as with any change of rounding, so it is part of the job. So is ``job.fused_adam``:
    torch's fused Adam kernel makes one pass over each tensor where the default makes several (dense
    24x24 with 1,024 hidden units: 1.35x faster per step), and rounds differently."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.set_flush_denormal(job.flush_denormal)
    if device != "cpu":  # fp32 as on the CPU: TF32 would keep 10 of a float's 23 mantissa bits
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        return _fit(job, device)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)  # torch's default


def _on(device: str, s: Splits) -> Splits:
    """The splits on ``device`` (on the CPU: the same tensors, untouched)."""
    if device == "cpu":
        return s
    move = lambda d: replace(d, x=d.x.to(device), y=d.y.to(device))  # noqa: E731
    return replace(s, train=move(s.train), val=move(s.val), test=move(s.test))


def _fit(job: Job, device: str = "cpu") -> Result:
    start = time.perf_counter(), time.process_time()
    s = _on(device, make_splits(job.spec(), job.n_train, job.seed))  # drawn once per run, on the CPU
    if job.arm == "memoriser":
        return _memorise(job, s, start)
    x, y, n = s.train.x, s.train.y, job.n_train
    torch.manual_seed(job.seed)
    net = make_net(job.arm, job.canvas, s.num_classes, width=job.width, hidden=job.hidden,
                   sparse_max=job.sparse_max)
    if device != "cpu":  # initialised on the CPU from the seed, as there, then moved
        net.to(device)
    # foreach: Adam's multi-tensor update, the same arithmetic in the same order as the per-parameter
    # loop torch uses on CPU by default (bit for bit: tests/test_fit.py), in fewer, larger kernels;
    # fused: one kernel per tensor, the same update rounded differently, faster still
    kind = {"fused": True} if job.fused_adam else {"foreach": True}
    opt = torch.optim.Adam(net.parameters(), lr=job.lr, weight_decay=job.weight_decay, **kind)
    order = torch.Generator().manual_seed(job.seed + ORDER_SEED_OFFSET)
    batch = min(job.batch_size, n)
    per_epoch = n // batch  # full minibatches per pass; the remainder joins the next pass
    max_steps = max(job.epochs * per_epoch, job.min_steps)
    every = max(per_epoch, job.min_steps // job.min_evals)
    perm, cursor = torch.randperm(n, generator=order), 0
    best, best_step, best_state, since, evals, stop, step = (-1.0, math.inf), 0, None, 0, 0, "budget", 0
    recent: list[float] = []
    while step < max_steps:
        if cursor + batch > n:
            perm, cursor = torch.randperm(n, generator=order), 0
        idx = perm[cursor:cursor + batch] if device == "cpu" else perm[cursor:cursor + batch].to(device)
        cursor += batch
        net.train()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        recent = (recent + [loss.item()])[-max(1, per_epoch):]
        if step % every and step != max_steps:
            continue
        if not math.isfinite(recent[-1]):
            raise FloatingPointError(f"{job}: training loss became {recent[-1]} at step {step}")
        evals += 1
        acc, vloss = _accuracy_loss(net, s.val.x, s.val.y)
        if acc > best[0] or (acc == best[0] and vloss < best[1]):
            best, best_step, best_state, since = (acc, vloss), step, copy.deepcopy(net.state_dict()), 0
        else:
            since += 1
        if sum(recent) / len(recent) < job.fit_loss and _accuracy_loss(net, x, y)[1] < job.fit_loss:
            stop = "fit"
            break
        if since >= job.patience:
            stop = "patience"
            break
    net.load_state_dict(best_state)
    train_acc, test_acc = (_accuracy_loss(net, d.x, d.y)[0] for d in (s.train, s.test))
    return Result(stop, step, round(step * batch / n, 4), round(best_step * batch / n, 4), evals,
                  train_acc, best[0], test_acc, round(best[1], 6), count_params(net), *_clocks(start))


def _init_worker() -> None:
    torch.set_num_threads(1)


def pool_context(device: str = "cpu"):
    """The worker processes' start method: fork on the CPU (fast, shares the loaded modules); spawn
    on a GPU, since a forked child cannot use CUDA."""
    return get_context("fork" if device == "cpu" else "spawn")


def worker_pool(workers: int, device: str = "cpu") -> ProcessPoolExecutor:
    """``workers`` one-thread processes for :func:`fit` on ``device`` (see :func:`pool_context`),
    each tied to this process: it dies when this one does."""
    if pool_context(device).get_start_method() == "fork":  # the fork hook ties them (processes)
        return ProcessPoolExecutor(workers, mp_context=pool_context(device), initializer=_init_worker)
    return ProcessPoolExecutor(workers, mp_context=pool_context(device), initializer=processes.spawned_worker,
                               initargs=(os.getpid(),))


def fit_many(jobs: Sequence[Job], *, workers: int = 1,
             on_result: Callable[[int, Job, Result], None] | None = None,
             device: str = "cpu") -> list[Result]:
    """Fit every job on ``device``, results in job order; ``on_result(i, job, result)`` runs in this
    process as each finishes (e.g. to log it). Parallel over min(cores, jobs, workers) one-thread workers.

    >>> jobs = [Job("memoriser", 6, 8, s, n_val=10, n_test=10) for s in (0, 1)]
    >>> [r.stop for r in fit_many(jobs, workers=2)]
    ['none', 'none']
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    jobs = list(jobs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(cores, len(jobs), workers)
    results: list[Result | None] = [None] * len(jobs)

    def done(i: int, r: Result) -> None:
        results[i] = r
        if on_result is not None:
            on_result(i, jobs[i], r)

    if workers <= 1:
        for i, job in enumerate(jobs):
            done(i, fit(job, device))
        return results  # type: ignore[return-value]
    pool = worker_pool(workers, device)
    try:
        futures = {pool.submit(partial(fit, device=device), job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            done(futures[future], future.result())
    except BaseException:
        processes.interrupt_children()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results  # type: ignore[return-value]
