"""One training run of ``python -m equidocs curves`` on given tensors, deterministic for a seed on one
thread, and many runs in parallel over forked one-thread workers.

The protocol is :mod:`equidocs.fit`'s (which draws its own glyph data, so it cannot train on yours):
Adam with L2 weight decay, cross-entropy, minibatch ``batch_size`` (the whole set when smaller), a
budget of ``epochs`` passes and at least ``min_steps`` steps; validation accuracy every epoch, or every
``min_steps // min_evals`` steps when an epoch is shorter; the best evaluation (highest validation
accuracy, ties to the lower validation loss) is kept and the test accuracy is read there. A run stops
after ``patience`` evaluations without a better one ("patience"), when the training loss falls below
``fit_loss`` ("fit"), or at the budget ("budget"). The training set of size n for a seed is the first
n of :func:`balanced_order` of the pool; the seed also fixes the initialisation
and the batch order. The memoriser is a 1-nearest-neighbour lookup on pixels (stop "none").

>>> RunSpec("conv", 12, 0, width=4).key("abc", "def") == RunSpec("conv", 12, 0, width=4).key("abc", "def")
True
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from equidocs import processes
from equidocs.fit import ORDER_SEED_OFFSET, nearest_neighbour
from equidocs.nets import count_params, make_net


def balanced_order(y: np.ndarray, seed: int) -> np.ndarray:
    """A seeded order of the pool whose every prefix is as class-balanced as the pool allows: each
    class shuffled, then dealt round-robin (a random class order within each round). A training set
    of n examples is the first n, so a seed's sets are nested.

    >>> y = np.array([0, 0, 0, 1, 1, 2])
    >>> sorted(y[balanced_order(y, 3)[:3]].tolist())
    [0, 1, 2]
    """
    rng = np.random.default_rng(seed)
    rank = np.empty(len(y), float)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rank[rng.permutation(idx)] = np.arange(len(idx))
    return np.lexsort((rng.random(len(y)), rank)).astype(np.int64)


@dataclass(frozen=True)
class RunSpec:
    """One run: which net, training-set size and seed, and its settings."""

    arm: str                   # conv, local, conv_flatten, dense or memoriser
    n_train: int               # training-set size (the first n of the seed's balanced order)
    seed: int                  # the training set, the initialisation and the batch order
    lr: float = 3e-3           # Adam learning rate
    weight_decay: float = 0.0  # Adam's L2 weight decay
    width: int = 32            # 5x5 filters (conv, local, conv_flatten)
    hidden: int = 256          # hidden units (dense)
    epochs: int = 100          # budget: passes over the training set ...
    min_steps: int = 500       # ... and at least this many steps
    min_evals: int = 50        # evaluations within min_steps at least (tiny sets)
    patience: int = 10         # evaluations without a better validation score before stopping
    fit_loss: float = 1e-3     # "fit": training loss (running, then full) below this
    batch_size: int = 128      # minibatch (the whole set when smaller)

    def key(self, data_hash: str, code_hash: str, device: str = "cpu") -> str:
        """The run's identity in the run store: this spec, the data, the training code, the device."""
        text = json.dumps([asdict(self), data_hash, code_hash, device], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class Tensors:
    """The split as tensors: the pool (training sets are drawn from it), validation and test."""

    pool_x: torch.Tensor
    pool_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    device: str = "cpu"

    @property
    def side(self) -> int:
        return int(self.pool_x.shape[-1])


def _accuracy_loss(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 2048) -> tuple[float, float]:
    net.eval()
    hits, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = net(x[i:i + batch])
            hits += int((out.argmax(1) == y[i:i + batch]).sum())
            loss += float(F.cross_entropy(out, y[i:i + batch], reduction="sum"))
    return hits / len(x), loss / len(x)


def train(spec: RunSpec, d: Tensors) -> dict:
    """Train (or, for the memoriser, look up) one run on one thread; the same spec -> the same result."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(spec, d)
    finally:
        torch.set_num_threads(threads)


def _train(spec: RunSpec, d: Tensors) -> dict:
    start = time.perf_counter(), time.process_time()
    pick = torch.from_numpy(balanced_order(d.pool_y.cpu().numpy(), spec.seed)[:spec.n_train]).to(d.device)
    x, y, n = d.pool_x[pick], d.pool_y[pick], spec.n_train
    if spec.arm == "memoriser":
        accs = [int((nearest_neighbour(x, y, vx) == vy).sum()) / len(vy) for vx, vy in
                ((d.val_x, d.val_y), (d.test_x, d.test_y))]
        return _result("none", 0, 0.0, 0.0, 0, 1.0, accs[0], accs[1], None, x[0].numel() * n, start)
    torch.manual_seed(spec.seed)
    net = make_net(spec.arm, d.side, d.num_classes, width=spec.width, hidden=spec.hidden).to(d.device)
    opt = torch.optim.Adam(net.parameters(), lr=spec.lr, weight_decay=spec.weight_decay)
    order = torch.Generator().manual_seed(spec.seed + ORDER_SEED_OFFSET)
    batch = min(spec.batch_size, n)
    per_epoch = n // batch  # full minibatches per pass; the remainder joins the next pass
    max_steps = max(spec.epochs * per_epoch, spec.min_steps)
    every = max(per_epoch, spec.min_steps // spec.min_evals)
    perm, cursor = torch.randperm(n, generator=order), 0
    best, best_step, best_state, since, evals, stop, step = (-1.0, math.inf), 0, None, 0, 0, "budget", 0
    recent: list[float] = []
    while step < max_steps:
        if cursor + batch > n:
            perm, cursor = torch.randperm(n, generator=order), 0
        idx = perm[cursor:cursor + batch].to(d.device)
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
            raise FloatingPointError(f"{spec}: training loss became {recent[-1]} at step {step}")
        evals += 1
        acc, vloss = _accuracy_loss(net, d.val_x, d.val_y)
        if acc > best[0] or (acc == best[0] and vloss < best[1]):
            best, best_step, best_state, since = (acc, vloss), step, copy.deepcopy(net.state_dict()), 0
        else:
            since += 1
        if sum(recent) / len(recent) < spec.fit_loss and _accuracy_loss(net, x, y)[1] < spec.fit_loss:
            stop = "fit"
            break
        if since >= spec.patience:
            stop = "patience"
            break
    net.load_state_dict(best_state)
    train_acc, test_acc = (_accuracy_loss(net, a, b)[0] for a, b in ((x, y), (d.test_x, d.test_y)))
    return _result(stop, step, round(step * batch / n, 4), round(best_step * batch / n, 4), evals,
                   train_acc, best[0], test_acc, round(best[1], 6), count_params(net), start)


def _result(stop, steps, epochs, best_epoch, evals, train_acc, val_acc, test_acc, val_loss, params,
            start) -> dict:
    return {"stop": stop, "steps": steps, "epochs": epochs, "best_epoch": best_epoch, "evals": evals,
            "train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc, "val_loss": val_loss,
            "params": params, "wall_s": round(time.perf_counter() - start[0], 4),
            "cpu_s": round(time.process_time() - start[1], 4)}


def step_seconds(arm: str, d: Tensors, batch: int, steps: int = 8, width: int = 32, hidden: int = 256) -> float:
    """Seconds (wall clock: the machine's load counts) of one training step of ``arm`` at this batch
    size, on one thread, for the time estimate."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        net = make_net(arm, d.side, d.num_classes, width=width, hidden=hidden).to(d.device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        x, y = d.pool_x[:batch], d.pool_y[:batch]
        for i in range(steps + 2):
            if i == 2:
                t = time.perf_counter()
            loss = F.cross_entropy(net(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return (time.perf_counter() - t) / steps
    finally:
        torch.set_num_threads(threads)


_SHARED: dict = {}  # the tensors, set before forking: workers read them copy-on-write


def _work(spec: RunSpec) -> dict:
    return train(spec, _SHARED["d"])


def _init_worker() -> None:
    torch.set_num_threads(1)


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def train_many(specs: Sequence[RunSpec], d: Tensors, *, workers: int = 1,
               on_result: Callable[[RunSpec, dict], None] | None = None) -> None:
    """Train every spec; ``on_result(spec, result)`` runs in this process as each finishes (it stores
    the run at once). Parallel over min(cores, specs, workers) forked one-thread workers on CPU."""
    specs = list(specs)
    workers = 1 if d.device != "cpu" else min(cores(), len(specs), workers)
    if workers <= 1:
        for spec in specs:
            r = train(spec, d)
            if on_result:
                on_result(spec, r)
        return
    _SHARED["d"] = d
    pool = ProcessPoolExecutor(workers, mp_context=get_context("fork"), initializer=_init_worker)
    try:
        futures = {pool.submit(_work, spec): spec for spec in specs}
        for future in as_completed(futures):
            if on_result:
                on_result(futures[future], future.result())
    except BaseException:
        processes.interrupt_children()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        _SHARED.pop("d", None)
    pool.shutdown()
