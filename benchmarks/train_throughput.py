"""Training throughput on this machine: how close each model kind gets to the CPU's matmul peak,
what two worker processes buy over one-at-a-time training, and what early stopping saves.

Run from the repository root (prints a table, saves build/benchmarks/train_throughput.json):

    .venv/bin/python benchmarks/train_throughput.py          # ~3-4 minutes on 2 idle cores
    .venv/bin/python benchmarks/train_throughput.py --quick  # ~1 minute, fewer repeats and jobs

Targets (reported, never enforced): >= 40% of the measured fp32 matmul peak for dense nets,
>= 25% for conv and locally-connected nets, >= 1.5x for train_many(workers=2) on 2 cores.
Timings on a shared machine are noisy: the JSON records the load average around every section,
and step times are the best of several rounds (the median is saved too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from equidocs.compute import training_flops
from equidocs.data_specs import make_splits
from equidocs.experiments.common import MODEL
from equidocs.models import make_model
from equidocs import train as train_mod
from equidocs.train import Job, TrainConfig, train, train_many

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("conv", "local", "dense")
CANVASES = (12, 16)
BATCH = 128
FLOOR_BATCH = 4  # a step this small costs about the fixed overhead only
THREADS = (1, 2)
TARGETS = {"dense": 0.40, "conv": 0.25, "local": 0.25, "parallel": 1.5}
# A plain-glyph task (as in equidocs.experiments.amnesia) at two canvas sizes.
TASK = {"dataset": "patterns", "noise": 0.1, "n_val": 400, "n_test": 1000}
QUICK_TRAIN = TrainConfig(max_steps=1500)  # default lr, early stopping, 1500-step budget
FIXED_BUDGET = replace(QUICK_TRAIN, patience=10**9, fit_loss=1e-12)  # never stops early
PROFILES = {  # repeats and job counts: default vs --quick
    False: {"mm_reps": 5, "rounds": 5, "round_s": 0.4, "parallel_jobs": 10, "stop_ns": (64, 256),
            "stop_seeds": (0, 1, 2)},
    True: {"mm_reps": 3, "rounds": 3, "round_s": 0.15, "parallel_jobs": 6, "stop_ns": (128,),
           "stop_seeds": (0, 1)},
}


def load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


class Others:
    """CPU cores that other processes kept busy (on average) between start() and stop():
    the machine's busy time from /proc/stat minus this process's and its children's CPU time."""

    def _snapshot(self) -> tuple[float, float, float]:
        busy = 0.0
        if Path("/proc/stat").exists():
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
            ticks = [int(v) for v in fields]  # user nice system idle iowait irq softirq steal ...
            busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
        t = os.times()
        return time.perf_counter(), busy, t.user + t.system + t.children_user + t.children_system

    def __enter__(self) -> "Others":
        self.start = self._snapshot()
        return self

    def __exit__(self, *exc) -> None:
        end = self._snapshot()
        wall, busy, own = (b - a for a, b in zip(self.start, end))
        self.cores = round(max(0.0, busy - own) / wall, 2) if wall > 0 else 0.0


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    return {"cpu": model, "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "torch": torch.__version__, "python": platform.python_version(),
            "default_threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(), "load_at_start": load()}


def matmul_peak(threads: int, reps: int, n: int = 2048) -> dict:
    """Best and median GFLOP/s of an n x n fp32 torch.mm (2 n^3 FLOPs) on ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t)
    flops = 2 * n ** 3
    return {"threads": threads, "n": n, "best_gflops": flops / min(times) / 1e9,
            "median_gflops": flops / statistics.median(times) / 1e9}


def step_times(kind: str, canvas: int, threads: int, rounds: int, round_s: float,
               batch: int = BATCH) -> dict:
    """Seconds per real optimiser step (minibatch slice, forward, loss, backward, Adam, loss.item()),
    best and median over ``rounds`` rounds of about ``round_s`` seconds; plus the forward /
    backward / Adam split of the time."""
    torch.set_num_threads(threads)
    data = make_splits({**TASK, "canvas": canvas, "n_val": 8, "n_test": 8}, 1024, seed=0).train
    x, y = data.x, data.y
    torch.manual_seed(0)
    model = make_model(kind, tuple(x.shape[1:]), 4, **MODEL)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    perm, cursor = torch.randperm(len(x)), 0
    split = {"forward": 0.0, "backward": 0.0, "adam": 0.0}

    def step() -> None:
        nonlocal perm, cursor
        if cursor + batch > len(x):
            perm, cursor = torch.randperm(len(x)), 0
        idx = perm[cursor:cursor + batch]
        cursor += batch
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        loss.item()
        t3 = time.perf_counter()
        split["forward"] += t1 - t0
        split["backward"] += t2 - t1
        split["adam"] += t3 - t2

    t = time.perf_counter()
    for _ in range(5):
        step()
    steps = max(3, min(200, round(round_s / ((time.perf_counter() - t) / 5))))
    flops = training_flops(model, x[:batch], y[:batch])
    split = dict.fromkeys(split, 0.0)
    per_round = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps):
            step()
        per_round.append((time.perf_counter() - t) / steps)
    total = sum(split.values())
    return {"kind": kind, "canvas": canvas, "threads": threads, "batch": batch,
            "params": sum(p.numel() for p in model.parameters()), "flops_per_step": flops,
            "steps_per_round": steps, "best_s": min(per_round), "median_s": statistics.median(per_round),
            "split": {k: round(v / total, 3) for k, v in split.items()}}


def numbers(result) -> dict:
    return {k: v for k, v in result.to_dict().items() if k != "wall_s"}


def makespan(costs: list[float], order: list[int], workers: int = 2) -> float:
    """Finish time when jobs start in ``order``, each on the first worker to become free."""
    free = [0.0] * workers
    for i in order:
        free[free.index(min(free))] += costs[i]
    return max(free)


def schedule_bounds(jobs: list[Job], costs: list[float]) -> dict:
    """Best speed-ups two workers could reach on these jobs (measured one-job times, no overheads):
    in train_many's order (its cost estimate, largest first) and in the ideal longest-first order."""
    estimate = getattr(train_mod, "_cost", lambda job: 0.0)
    library = sorted(range(len(jobs)), key=lambda i: -estimate(jobs[i]))
    ideal = sorted(range(len(jobs)), key=lambda i: -costs[i])
    return {"bound_library_order": sum(costs) / makespan(costs, library),
            "bound_ideal_order": sum(costs) / makespan(costs, ideal)}


def parallel_speedup(n_jobs: int) -> dict:
    """Wall time of train_many(workers=2) vs a one-at-a-time loop, from a 1-thread process and
    from a default 2-thread one (train() may pin its own thread count: the result tells)."""
    pool = [(kind, canvas, n) for n in (64, 256) for canvas in CANVASES for kind in KINDS]
    jobs = [Job(kind, {**TASK, "canvas": canvas}, n, seed=i, model=MODEL, train=QUICK_TRAIN)
            for i, (kind, canvas, n) in enumerate(pool[:n_jobs])]
    out = {"jobs": len(jobs), "load_before": load()}
    torch.set_num_threads(1)
    with Others() as others:
        t = time.perf_counter()
        serial = train_many(jobs, workers=1)
        out["serial_1thread_s"] = time.perf_counter() - t
    out["serial_1thread_others_cores"] = others.cores
    with Others() as others:
        t = time.perf_counter()
        parallel = train_many(jobs, workers=2)
        out["parallel_s"] = time.perf_counter() - t
    out["parallel_others_cores"] = others.cores
    assert [numbers(r) for r in parallel] == [numbers(r) for r in serial], \
        "train_many(workers=2) differs from the one-at-a-time loop"
    # The same loop called from a default 2-thread process; stopped once it has taken 3x the
    # 1-thread loop (2-thread torch collapses when another process holds a core): a lower bound.
    torch.set_num_threads(2)
    with Others() as others:
        t, serial2 = time.perf_counter(), []
        for j in jobs:
            serial2.append(train(j))
            if time.perf_counter() - t > 3 * out["serial_1thread_s"]:
                break
        out["serial_2threads_s"] = time.perf_counter() - t
    out["serial_2threads_others_cores"] = others.cores
    out["serial_2threads_jobs_done"] = len(serial2)
    out["serial_2threads_equal"] = [numbers(r) for r in serial2] == [numbers(r) for r in serial[:len(serial2)]]
    out["steps"] = [r.steps for r in serial]
    out["job_wall_s"] = [r.wall_s for r in serial]
    out.update(schedule_bounds(jobs, out["job_wall_s"]))
    out["speedup_vs_1thread"] = out["serial_1thread_s"] / out["parallel_s"]
    out["speedup_vs_2threads"] = out["serial_2threads_s"] / out["parallel_s"]  # a lower bound if cut
    out["load_after"] = load()
    return out


def stopping_vs_budget(ns, seeds) -> dict:
    """Steps and test accuracy with the default early stopping vs a fixed budget, same jobs."""
    jobs = [Job(kind, {**TASK, "canvas": CANVASES[0]}, n, seed=s, model=MODEL, train=QUICK_TRAIN)
            for kind in KINDS for n in ns for s in seeds]
    out = {"max_steps": QUICK_TRAIN.max_steps, "ns": list(ns), "seeds": list(seeds),
           "load_before": load(), "kinds": {}}
    for label, cfg in (("early", QUICK_TRAIN), ("budget", FIXED_BUDGET)):
        with Others() as others:
            t = time.perf_counter()
            runs = train_many([replace(j, train=cfg) for j in jobs], workers=2)
            out[f"{label}_wall_s"] = time.perf_counter() - t
        out[f"{label}_others_cores"] = others.cores
        for kind in KINDS:
            mine = [r for r in runs if r.kind == kind]
            out["kinds"].setdefault(kind, {})[label] = {
                "steps": statistics.mean(r.steps for r in mine),
                "test_acc": statistics.mean(r.test_acc for r in mine),
                "stops": {s: sum(r.stop == s for r in mine) for s in ("fit", "plateau", "budget")}}
    for row in out["kinds"].values():
        row["step_ratio"] = row["early"]["steps"] / row["budget"]["steps"]
    out["load_after"] = load()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and jobs (~1 minute)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks" / "train_throughput.json")
    args = parser.parse_args()
    p = PROFILES[args.quick]
    start = time.perf_counter()
    report = {"profile": "quick" if args.quick else "default", "machine": machine(), "model": MODEL}

    peaks = {}
    for t in THREADS:
        with Others() as others:
            peaks[t] = matmul_peak(t, p["mm_reps"])
        peaks[t]["others_cores"] = others.cores
    report["peak"] = list(peaks.values())
    print(f"machine: {report['machine']['cpu']}, {report['machine']['cpus_usable']} usable cores, "
          f"torch {torch.__version__}, load {report['machine']['load_at_start']}")
    print("fp32 matmul peak (2048^2 torch.mm): " + ", ".join(
        f"{t} thread{'s' * (t > 1)} {peaks[t]['best_gflops']:.1f} GFLOP/s (others "
        f"{peaks[t]['others_cores']:.2f} cores)" for t in THREADS))
    print("'others': cores kept busy by other processes during a measurement (0 = quiet machine)")

    rows = []
    for kind in KINDS:
        for canvas in CANVASES:
            for t in THREADS:
                with Others() as others:
                    row = step_times(kind, canvas, t, p["rounds"], p["round_s"])
                    small = step_times(kind, canvas, t, p["rounds"], p["round_s"] / 2, batch=FLOOR_BATCH)
                row["others_cores"] = others.cores
                row["floor_s"] = small["best_s"]  # ~ the fixed per-step cost (Python, dispatch, Adam)
                row["gflops"] = row["flops_per_step"] / row["best_s"] / 1e9
                row["of_peak"] = row["gflops"] / peaks[t]["best_gflops"]
                row["target"] = TARGETS[kind]
                row["met"] = row["of_peak"] >= TARGETS[kind]
                rows.append(row)
    report["throughput"] = rows
    report["load_after_throughput"] = load()
    print(f"\ntraining step, batch {BATCH}, model {MODEL}")
    print(f"{'kind':<6}{'canvas':>7}{'thr':>4}{'MFLOP/step':>12}{'ms/step':>9}{'GFLOP/s':>9}"
          f"{'of peak':>9}{'target':>8}        {'floor ms':>8}  fwd/bwd/adam %  others")
    for r in rows:
        split = "/".join(f"{100 * r['split'][k]:.0f}" for k in ("forward", "backward", "adam"))
        print(f"{r['kind']:<6}{r['canvas']:>7}{r['threads']:>4}{r['flops_per_step'] / 1e6:>12.1f}"
              f"{1e3 * r['best_s']:>9.2f}{r['gflops']:>9.1f}{100 * r['of_peak']:>8.1f}%"
              f"{'>=' + format(r['target'], '.0%'):>8} {'met' if r['met'] else 'MISSED':<6}"
              f"{1e3 * r['floor_s']:>8.2f}  {split:<14} {r['others_cores']:.2f}")

    par = parallel_speedup(p["parallel_jobs"])
    par["target"], par["met"] = TARGETS["parallel"], par["speedup_vs_1thread"] >= TARGETS["parallel"]
    report["parallel"] = par
    print(f"\ntrain_many on {par['jobs']} jobs (conv/local/dense, canvases {CANVASES}, n 64/256, "
          f"quick-profile stopping), load {par['load_before']} -> {par['load_after']}")
    print(f"  one at a time, caller on 1 thread  : {par['serial_1thread_s']:7.1f} s   others "
          f"{par['serial_1thread_others_cores']:.2f} cores")
    cut = par["serial_2threads_jobs_done"] < par["jobs"]
    note = f" (stopped after {par['serial_2threads_jobs_done']} jobs)" if cut else ""
    print(f"  one at a time, caller on 2 threads : {par['serial_2threads_s']:7.1f} s   others "
          f"{par['serial_2threads_others_cores']:.2f} cores"
          f"{note}; results {'equal' if par['serial_2threads_equal'] else 'NOT bit-equal'}")
    print(f"  workers=2, 1 thread each           : {par['parallel_s']:7.1f} s   others "
          f"{par['parallel_others_cores']:.2f} cores; results equal to the 1-thread loop (asserted)")
    print(f"  speed-up {par['speedup_vs_1thread']:.2f}x vs the 1-thread loop (target >= "
          f"{TARGETS['parallel']}x: {'met' if par['met'] else 'MISSED'}), "
          f"{'>= ' if cut else ''}{par['speedup_vs_2threads']:.2f}x vs the loop from a 2-thread caller")
    print(f"  the most 2 workers could give on these jobs (their 1-thread times, no overheads): "
          f"{par['bound_library_order']:.2f}x in train_many's order, {par['bound_ideal_order']:.2f}x "
          f"longest-first")

    stop = stopping_vs_budget(p["stop_ns"], p["stop_seeds"])
    report["stopping"] = stop
    print(f"\nearly stopping vs fixed budget ({stop['max_steps']} steps), patterns canvas "
          f"{CANVASES[0]}, n {stop['ns']}, seeds {stop['seeds']}, workers=2; wall "
          f"{stop['early_wall_s']:.1f} s vs {stop['budget_wall_s']:.1f} s (others "
          f"{stop['early_others_cores']:.2f} / {stop['budget_others_cores']:.2f} cores)")
    print(f"{'kind':<6}{'steps early':>12}{'steps budget':>13}{'ratio':>7}{'acc early':>10}"
          f"{'acc budget':>11}  stops early (fit/plateau/budget)")
    for kind, row in stop["kinds"].items():
        e, b = row["early"], row["budget"]
        print(f"{kind:<6}{e['steps']:>12.0f}{b['steps']:>13.0f}{row['step_ratio']:>7.2f}"
              f"{e['test_acc']:>10.3f}{b['test_acc']:>11.3f}  "
              f"{'/'.join(str(e['stops'][s]) for s in ('fit', 'plateau', 'budget'))}")

    report["wall_s"] = time.perf_counter() - start
    report["machine"]["load_at_end"] = load()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"\ntotal {report['wall_s']:.0f} s, load at end {report['machine']['load_at_end']}; "
          f"saved {args.out}")


if __name__ == "__main__":
    main()
