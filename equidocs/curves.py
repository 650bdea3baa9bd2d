"""``python -m equidocs curves DATA``: the site's sample-efficiency comparison on your own images.

Design (the site's fair comparison, :mod:`equidocs.mechanism_plan`, on a held-out split):

1. **Split** (:func:`equidocs.curves_data.split`): stratified by class with a fixed seed into a
   training pool, a validation set (every choice below) and a test set (read for the curves only).
2. **Pilot** per net (seed 0, default settings): the training set doubles from one example per class
   until the validation accuracy reaches the target, or the pool. Its size is the net's crossing N.
3. **Tune** at that N on validation accuracy (mean over ``tune_seeds``), coordinate-wise: the learning
   rate, then the weight decay (0 included) at that rate, then the width (filters, or dense hidden
   units). Settings within ``tie`` of the best count as tied; the fewest mean steps wins among them,
   then the earlier in the grid. A learning rate or weight decay chosen at the end of its grid
   extends the grid past it (:func:`beyond`). The memoriser (1-nearest neighbour) has nothing to tune.
4. **Ladder**: every net at every sqrt(2)-spaced training-set size from one example per class to the
   pool (the pool itself the last rung when it is over 10% past the last one), with K seeds.

Every finished run is appended at once to ``runs.jsonl`` in the output folder, keyed by its spec, a
hash of the data and a hash of the code that trains it, so an interrupted command resumes where it
stopped and a rerun reuses every run. The plan is a pure function of the stored runs.

>>> ladder(10, 1077)[:4], ladder(10, 1077)[-2:]
([10, 14, 20, 28], [905, 1077])
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from equidocs.curves_data import Dataset, split
from equidocs.curves_train import RunSpec, Tensors, cores, step_seconds, train_many
from equidocs.progress import Progress, fmt_duration
from equidocs.runstore import append_line

HERE = Path(__file__).resolve().parent
TRAIN_CODE = ("curves_train.py", "nets.py", "fit.py")  # what can change a run's numbers (with the data and split)
CURVES_CODE = ("curves.py", "curves_data.py", "curves_train.py", "curves_report.py", "nets.py", "fit.py",
               "stats.py")  # what can change any number or word of the outputs
ARM_NAMES = {"conv": "conv (shared 5x5 filters, global max pool)",
             "local": "locally connected (unshared 5x5 filters, global max pool)",
             "conv_flatten": "conv, flatten readout (shared filters, position-aware)",
             "dense": "dense (one hidden layer)", "memoriser": "1-nearest-neighbour memoriser"}


class CurvesError(ValueError):
    """A run store or option the command cannot use, with a message that names what to change."""


@dataclass(frozen=True)
class Design:
    arms: tuple = ("conv", "local", "conv_flatten", "dense", "memoriser")
    val_fraction: float = 0.2       # of each class, at least one image
    test_fraction: float = 0.2      # of each class, at least one image
    max_val: int = 2000             # caps (large data sets): the fractions shrink to fit
    max_test: int = 5000
    split_seed: int = 0
    pilot_seed: int = 0
    tune_seeds: tuple = (0, 1)
    pilot_lr: float = 3e-3
    lr_grid: tuple = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    wd_grid: tuple = (0.0, 1e-4, 1e-3)   # first = the default while the rate is tuned
    width_grid: tuple = (32, 8)          # filters; first = the default
    hidden_grid: tuple = (256, 1024)     # dense hidden units; first = the default
    extend: int = 2                      # values added past a grid's end while the best lies there (lr, wd)
    tie: float = 0.005                   # mean validation accuracies this close count as tied
    draws: int = 1000                    # bootstrap draws for needs and ratios
    train: dict = field(default_factory=lambda: dict(
        epochs=100, min_steps=500, min_evals=50, patience=10, fit_loss=1e-3, batch_size=128))


DESIGNS = {
    "published": Design(),
    # A check of the whole pipeline in seconds (the tests use it); its numbers measure nothing.
    "smoke": Design(lr_grid=(3e-3, 1e-2), wd_grid=(0.0, 1e-3), width_grid=(8,), hidden_grid=(32,),
                    extend=1, draws=200, train=dict(epochs=10, min_steps=20, min_evals=5, patience=2,
                                          fit_loss=1e-3, batch_size=128)),
}


def ladder(floor: int, cap: int) -> list[int]:
    """sqrt(2)-spaced training-set sizes from ``floor`` up to ``cap``; ``cap`` itself is the last
    rung when it lies more than 10% above the last sqrt(2) step."""
    steps = int(math.floor(2 * math.log2(cap / floor) + 1e-9))
    rungs = sorted({min(cap, round(floor * 2 ** (j / 2))) for j in range(steps + 1)})
    return rungs + [cap] if cap > 1.1 * rungs[-1] else rungs


def code_hash(files: tuple = CURVES_CODE) -> str:
    """sha256 (16 hex digits) of the modules' code, docstrings and comments left out."""
    import hashlib

    from equidocs.runstore import code_source

    h = hashlib.sha256()
    for name in files:
        h.update(name.encode() + b"\0" + code_source(HERE / name).encode())
    return h.hexdigest()[:16]


# ---- the run store ----------------------------------------------------------------------------------

class RunStore:
    """``runs.jsonl``: one JSON line per finished run, written at once; other data or code is ignored."""

    def __init__(self, path: Path, data_hash: str, device: str) -> None:
        self.path, self.data, self.device = Path(path), data_hash, device
        self.code = code_hash(TRAIN_CODE)
        self.runs: dict[str, dict] = {}
        self.other = 0  # lines for other data, code or device

    def key(self, spec: RunSpec) -> str:
        return spec.key(self.data, self.code, self.device)

    def load(self) -> "RunStore":
        if not self.path.exists():
            return self
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                key, result = rec["key"], rec["result"]
                RunSpec(**rec["spec"])
                assert isinstance(result, dict) and "test_acc" in result
            except Exception as err:  # noqa: BLE001 (any malformed line is reported the same way)
                raise CurvesError(f"{self.path}:{lineno}: expected one JSON run record {{key, spec, result}}; "
                                 f"given {line[:80]!r} ({err}). Delete that line (or the file) to go on") from None
            if key == RunSpec(**rec["spec"]).key(self.data, self.code, self.device):
                self.runs[key] = result
            else:
                self.other += 1
        return self

    def get(self, spec: RunSpec) -> dict | None:
        return self.runs.get(self.key(spec))

    def append(self, spec: RunSpec, result: dict) -> None:
        rec = {"key": self.key(spec), "spec": asdict(spec), "result": result, "data": self.data,
               "code": self.code, "device": self.device, "torch": torch.__version__}
        append_line(self.path, rec)
        self.runs[self.key(spec)] = result


# ---- the plan: a pure function of the stored runs ------------------------------------------------------

Lookup = Callable[[RunSpec], "dict | None"]


def pick(table: dict, grid: tuple, tie: float) -> object:
    """The setting with the best mean validation accuracy; ties (within ``tie``) go to the fewest mean
    steps, then the earlier in ``grid``. ``table``: setting -> (mean val_acc, mean steps).

    >>> pick({1e-3: (0.90, 400.0), 1e-2: (0.903, 200.0), 1e-1: (0.5, 50.0)}, (1e-3, 1e-2, 1e-1), 0.005)
    0.01
    """
    top = max(acc for acc, _ in table.values())
    return min((v for v, (acc, _) in table.items() if acc >= top - tie),
               key=lambda v: (table[v][1], grid.index(v)))


def beyond(name: str, grid: list, best: float, extended: int, limit: int) -> float | None:
    """The next learning rate or weight decay past the end of ``grid`` when ``best`` lies at that end
    (the grid's geometric step continued, 3 significant digits), while fewer than ``limit`` values
    were added; else None. A weight decay of 0 is an end that is never passed.

    >>> beyond("lr", [1e-3, 1e-2, 3e-2], 3e-2, 0, 2), beyond("weight_decay", [0.0, 1e-4, 1e-3], 1e-4, 0, 2)
    (0.09, None)
    """
    positive = sorted(v for v in grid if v > 0)
    if name not in ("lr", "weight_decay") or extended >= limit or len(positive) < 2:
        return None
    if best == positive[-1]:
        return float(f"{positive[-1] ** 2 / positive[-2]:.3g}")
    if best == positive[0] and 0.0 not in grid:
        return float(f"{positive[0] ** 2 / positive[1]:.3g}")
    return None


def base_spec(design: Design, arm: str, n: int) -> RunSpec:
    return RunSpec(arm, n, design.pilot_seed, lr=design.pilot_lr, weight_decay=design.wd_grid[0],
                   width=design.width_grid[0], hidden=design.hidden_grid[0], **design.train)


def plan_arm(design: Design, rungs: list[int], seeds: int, target: float, arm: str,
             have: Lookup) -> tuple[list[RunSpec], dict]:
    """The runs this net needs next (empty when done) and its decisions so far."""
    floor, cap = rungs[0], rungs[-1]
    state: dict = {"arm": arm, "phase": "pilot", "pilot": [], "tune": {}, "used": {"pilot": [], "tune": []}}
    spec, n = base_spec(design, arm, floor), floor
    if arm != "memoriser":
        while True:  # 1. pilot
            r = have(replace(spec, n_train=n))
            if r is None:
                return [replace(spec, n_train=n)], state
            state["pilot"].append({"n": n, "val_acc": r["val_acc"], "stop": r["stop"]})
            state["used"]["pilot"].append(replace(spec, n_train=n))
            if r["val_acc"] >= target or n >= cap:
                break
            n = min(2 * n, cap)
        state["pilot_n"] = n
        spec = replace(spec, n_train=n)
        width_name = "hidden" if arm == "dense" else "width"
        for name, base in (("lr", design.lr_grid), ("weight_decay", design.wd_grid),
                           (width_name, design.hidden_grid if arm == "dense" else design.width_grid)):
            state["phase"] = f"tune {name}"
            grid = list(base)
            while True:  # the grid, extended while the best setting lies at its end
                runs = {v: [replace(spec, **{name: v}, seed=s) for s in design.tune_seeds] for v in grid}
                missing = [j for js in runs.values() for j in js if have(j) is None]
                if missing:
                    return list(dict.fromkeys(missing)), state
                table = {v: (float(np.mean([have(j)["val_acc"] for j in js])),
                             float(np.mean([have(j)["steps"] for j in js]))) for v, js in runs.items()}
                best = pick(table, tuple(grid), design.tie)
                further = beyond(name, grid, best, len(grid) - len(base), design.extend)
                if further is None:
                    break
                grid.append(further)
            state["used"]["tune"] += [j for js in runs.values() for j in js]
            spec = replace(spec, **{name: best})
            state["tune"][name] = {"chosen": best, "extended": grid[len(base):],
                                   "table": [{"value": v, "val_acc": table[v][0], "steps": table[v][1]}
                                             for v in grid]}
    state["settings"] = {} if arm == "memoriser" else {
        k: getattr(spec, k) for k in ("lr", "weight_decay", ("hidden" if arm == "dense" else "width"))}
    state["phase"] = "ladder"
    specs = [replace(spec, n_train=m, seed=s) for m in rungs for s in range(seeds)]
    missing = [j for j in specs if have(j) is None]
    if missing:
        return missing, state
    state["phase"], state["specs"] = "done", specs
    return [], state


def plan(design: Design, rungs: list[int], seeds: int, target: float, have: Lookup) -> tuple[list[RunSpec], dict]:
    """Every net's next runs (together, deduplicated) and states."""
    pending, states = [], {}
    for arm in design.arms:
        jobs, states[arm] = plan_arm(design, rungs, seeds, target, arm, have)
        pending += jobs
    return list(dict.fromkeys(pending)), states


# ---- estimates -----------------------------------------------------------------------------------------

def run_seconds(spec: RunSpec, per_step: dict, n_val: int) -> float:
    """A rough time of one run on one thread: 80% of its step budget (early stopping ends most runs
    late: a lower validation loss at an equal accuracy counts as progress), each step at the rate
    measured for its batch size, plus the validation passes."""
    if spec.arm == "memoriser":
        return 1e-7 * spec.n_train * n_val + 0.01
    batch = min(spec.batch_size, spec.n_train)
    per_epoch = spec.n_train // batch
    every = max(per_epoch, spec.min_steps // spec.min_evals)
    steps = 0.8 * max(spec.epochs * per_epoch, spec.min_steps)
    (b0, t0), (b1, t1) = per_step[spec.arm]
    step = t0 + (t1 - t0) * (batch - b0) / max(1, b1 - b0)
    return steps * max(step, 0.5 * t0) + (steps / every) * t1 / 3 * n_val / b1


def slowdown(workers: int, load: float, cores_: int) -> float:
    """How much slower a run is with ``workers`` of ours beside a background ``load`` than the timing
    run was (one of ours): the ratio of the CPU shares.

    >>> slowdown(2, 2.0, 2), slowdown(1, 0.0, 4)
    (1.3333333333333333, 1.0)
    """
    share = lambda ours: min(1.0, cores_ / (load + ours))  # noqa: E731
    return share(1) / share(workers)


def forecast(design: Design, rungs: list[int], seeds: int, states: dict, have: Lookup) -> list[RunSpec]:
    """The runs still to come (a guess where the pilot is unfinished: it ends mid-ladder)."""
    out = []
    mid = rungs[len(rungs) // 2]
    for arm, st in states.items():
        if st["phase"] == "done":
            continue
        spec = base_spec(design, arm, rungs[0])
        if st["phase"] == "pilot" and arm != "memoriser":
            n = st["pilot"][-1]["n"] * 2 if st["pilot"] else rungs[0]
            while n <= mid:
                out.append(replace(spec, n_train=n))
                n *= 2
        if st["phase"] in ("pilot",) or st["phase"].startswith("tune"):
            n_t = st.get("pilot_n", mid)
            grids = (design.lr_grid, design.wd_grid, design.hidden_grid if arm == "dense" else design.width_grid)
            done = sum(len(t["table"]) for t in st["tune"].values())
            out += [replace(spec, n_train=n_t, seed=s) for s in design.tune_seeds
                    for _ in range(max(0, sum(len(g) for g in grids) - 2 - done))] if arm != "memoriser" else []
        out += [replace(spec, n_train=m, seed=s) for m in rungs for s in range(seeds)
                if st["phase"] != "ladder" or have(replace(spec, **st["settings"], n_train=m, seed=s)) is None]
    return out


def data_key(data: Dataset, parts: dict) -> str:
    """What a run's numbers depend on besides its spec and code: the data and the split, hashed."""
    import hashlib

    h = hashlib.sha256(data.digest().encode())
    for name in ("pool", "val", "test"):
        h.update(name.encode() + np.ascontiguousarray(parts[name], np.int64).tobytes())
    return h.hexdigest()[:16]


# ---- the command -----------------------------------------------------------------------------------------

def tensors(data: Dataset, parts: dict, device: str) -> Tensors:
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    return Tensors(t(data.x[parts["pool"]]), t(data.y[parts["pool"]]), t(data.x[parts["val"]]),
                   t(data.y[parts["val"]]), t(data.x[parts["test"]]), t(data.y[parts["test"]]),
                   len(data.classes), device)


def run(data: Dataset, out: Path, *, design: Design, target: float, seeds: int, workers: int,
        device: str = "cpu", max_train: int | None = None, command: str = "",
        say: Callable[[str], None] = print, stream=sys.stderr) -> dict:
    """Run (or resume) the comparison on ``data``, write every output to ``out``; returns the report."""
    from equidocs import curves_report

    start_wall, start_cpu = time.perf_counter(), time.process_time()
    n_all = len(data.y)
    val_f = min(design.val_fraction, design.max_val / n_all)
    test_f = min(design.test_fraction, design.max_test / n_all)
    parts = split(data.y, val_f, test_f, design.split_seed)
    d = tensors(data, parts, device)
    floor = len(data.classes)
    cap = len(parts["pool"]) if max_train is None else min(max_train, len(parts["pool"]))
    if cap < floor:
        raise CurvesError(f"--max-train {max_train}: expected at least {floor} (one example per class)")
    rungs = ladder(floor, cap)
    store = RunStore(out / "runs.jsonl", data_key(data, parts), device).load()
    say(f"data: {data.source} ({data.kind}): {n_all} images, {len(data.classes)} classes, "
        f"{data.side}x{data.side}; " + "; ".join(data.notes))
    say(f"split (stratified, seed {design.split_seed}): training pool {len(parts['pool'])}, validation "
        f"{len(parts['val'])} (every choice), test {len(parts['test'])} (the curves only)")
    say(f"ladder: {len(rungs)} training-set sizes from {rungs[0]} to {rungs[-1]} (sqrt(2) apart), "
        f"{seeds} seeds; nets: {', '.join(design.arms)}; target {target:g} test accuracy")
    say(f"run store: {store.path} ({len(store.runs)} finished runs to reuse"
        + (f", {store.other} for other data or code ignored" if store.other else "") + ")")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0  # the machine's other work
    per_step = {}
    for arm in design.arms:
        if arm != "memoriser":
            small, big = min(8, cap), min(design.train["batch_size"], cap)
            per_step[arm] = ((small, step_seconds(arm, d, small)), (big, step_seconds(arm, d, big)))
    say("timing a few training steps of each net: " + ", ".join(f"{a} {1e3 * v[1][1]:.1f} ms/step" for a, v in per_step.items()))
    workers = max(1, min(workers, cores())) if device == "cpu" else 1
    slower = slowdown(workers, load, cores()) if device == "cpu" else 1.0
    cost = lambda s: run_seconds(s, per_step, len(parts["val"])) * slower / workers  # noqa: E731
    _, states = plan(design, rungs, seeds, target, store.get)
    guess = sum(cost(s) for s in forecast(design, rungs, seeds, states, store.get))
    say(f"estimated time: about {fmt_duration(guess)} on {workers} worker(s) beside a machine load of "
        f"{load:.1f} (rough: where each net's pilot crosses and when early stopping ends each run decide it)")
    trained, batch_no = 0, 0
    while True:
        pending, states = plan(design, rungs, seeds, target, store.get)
        if not pending:
            break
        batch_no += 1
        phases = sorted({states[s.arm]["phase"] for s in pending})
        left = sum(cost(s) for s in forecast(design, rungs, seeds, states, store.get))
        say(f"batch {batch_no} ({', '.join(phases)}): {len(pending)} runs; about "
            f"{fmt_duration(left)} left in all (estimate)")
        progress = Progress(f"curves batch {batch_no}", [cost(s) for s in pending], stream=stream)

        def finished(spec: RunSpec, result: dict) -> None:
            nonlocal trained
            store.append(spec, result)
            trained += 1
            progress.advance(cost(spec))

        try:
            train_many(pending, d, workers=workers, on_result=finished)
        finally:
            progress.close()
    report = curves_report.analyse(data, parts, rungs, states, store, design=design, target=target,
                                   seeds=seeds, device=device, command=command)
    report["compute"].update(trained_now=trained, reused=report["compute"]["runs"] - trained,
                             wall_s_this_invocation=round(time.perf_counter() - start_wall, 1),
                             cpu_s_this_process=round(time.process_time() - start_cpu, 1))
    curves_report.write(report, out)
    return report
