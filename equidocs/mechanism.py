"""The mechanism study (issue 27): examples needed to reach 90% test accuracy vs the positions a 5x5
glyph can take, for {shared, unshared} filters x {pooled, flatten} readouts, dense, cnn_fc and a
1-NN memoriser. The design and its planner: :mod:`equidocs.mechanism_plan`.

    python -m equidocs.mechanism run [--profile quick|full] [--workers K] [--dir DIR]
                                     [--device cpu|cuda|cuda:N] [--sizes S ...] [--hours H]
    python -m equidocs.mechanism merge FILE [--profile quick|full] [--dir DIR]
    python -m equidocs.mechanism status [--profile quick|full] [--dir DIR]
    python -m equidocs.mechanism report [--profile quick|full] [--dir DIR] [--draws N] [--json FILE]

Every finished run is appended at once (one JSON line, one write, flushed) to
``studies/mechanism/runs-<profile>.jsonl`` with a hash of the code that can change its numbers, the
torch version, the CPU capability (and the device, when not the CPU). Runs logged under other code
are ignored (and counted). A killed study resumes where it stopped, losing only the runs in flight,
and since every decision is re-derived from the log, it reaches the same decisions.

The log accumulates across machines: ``run --device cuda --sizes 24 --hours 0.2`` on a borrowed GPU
runs the largest canvas's next runs for a set time (``scripts/mechanism-device.sh``), and ``merge``
appends the runs of that machine's copy of the log that this one lacks.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import partial
from pathlib import Path

import numpy as np

from equidocs import processes, stats
from equidocs.fit import Job, Result, fit, worker_pool
from equidocs.runstore import (CODE_FILES, DEFAULT_DIR, ROOT, RunLog, carried_over, code_hash,  # noqa: F401
                               code_source, log_path, study_key as key)
from equidocs.mechanism_plan import MAIN_ARMS, Config, estimated_seconds, plan
from equidocs.mechanism_projection import calibrate, projected_seconds
from equidocs.nets import positions
from equidocs.progress import fmt_duration

def run(profile: str = "quick", *, workers: int = 1, folder: Path | str | None = None,
        cfg: Config | None = None, device: str = "cpu", sizes: tuple[int, ...] | None = None,
        hours: float | None = None, stream=sys.stderr) -> list[dict]:
    """Run (or resume) the study until every condition is done; returns every condition's state.

    Runs go to ``workers`` one-thread processes, the smallest canvas first (a size completes, and can
    be published, sooner), the longest run first within it; the plan is re-derived each time a run
    finishes, so no worker waits for another's run while a decision it needs is known.

    ``device``: where the runs train (a GPU: "cuda" or "cuda:N"; the workers then share it).
    ``sizes``: only these canvases' runs start (the others wait for another call). ``hours``: no run
    starts after that much wall time; the runs in flight finish and are logged."""
    from equidocs.runner import check_device

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers={workers!r}: expected a positive integer")
    check_device(device)
    cfg = cfg or Config.profile(profile)
    only = _check_sizes(sizes, cfg)
    if hours is not None and not (isinstance(hours, (int, float)) and not isinstance(hours, bool)
                                  and 0 < hours < float("inf")):
        raise ValueError(f"hours={hours!r}: expected a positive number of hours")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(workers, cores)
    log = RunLog(log_path(profile, folder)).load()
    start, done_here = time.monotonic(), 0
    say = (lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}", file=stream, flush=True)) \
        if stream else (lambda text: None)
    say(f"mechanism {profile}: {len(log.runs)} runs in {log.path} ({log.stale} stale), "
        f"{fmt_duration(log.cpu_s)} CPU so far; on {device}"
        + (f", canvases {', '.join(map(str, only))} only" if sizes else "")
        + (f", starting runs for {hours:g} h" if hours else ""))

    calib = calibrate(cfg, log.cpu_runs())

    def _finished(job: Job, result: Result, pending: list[Job], states: list[dict]) -> None:
        nonlocal done_here, calib
        log.append(job, result, device)
        done_here += 1
        if done_here % 25 == 0:
            calib = calibrate(cfg, log.cpu_runs())
        left = sum(projected_seconds(cfg, calib, s, states) for s in states)
        say(f"{len(log.runs)} runs done: "
            f"{job.arm} {job.canvas}x{job.canvas} n={job.n_train} seed={job.seed} lr={job.lr:g} "
            f"wd={job.weight_decay:g} w={job.width if job.arm != 'dense' else job.hidden} -> "
            f"val {result.val_acc:.3f} test {result.test_acc:.3f} {result.stop} "
            f"{result.steps} steps {result.wall_s:.1f}s | projected ~{left / 3600:.1f} CPU-h left, "
            f"~{fmt_duration(left / workers)} on {workers} worker(s) (rough: mechanism_projection)")

    in_flight: dict[Future, Job] = {}
    pool = worker_pool(workers, device) if workers > 1 else None
    stopped = ""
    try:
        while True:
            pending, states = plan(cfg, log.get)
            busy = set(in_flight.values())
            ready = sorted((j for j in pending if j not in busy and j.canvas in only),  # smallest canvas,
                           key=lambda j: (j.canvas, -estimated_seconds(cfg, j)))  # then longest run
            if hours is not None and time.monotonic() - start >= hours * 3600:
                ready, stopped = [], stopped or f"stopped starting runs after {hours:g} h"
            elif pending and not ready and not in_flight:
                stopped = f"no run of canvases {', '.join(map(str, only))} is ready (the others' are)"
            if not ready and not in_flight:
                break
            if pool is None:  # one worker: run the first ready job here, then plan again
                job = ready[0]
                _finished(job, fit(job, device), pending, states)
                continue
            for job in ready[:workers - len(in_flight)]:  # fill the free workers
                in_flight[pool.submit(partial(fit, device=device), job)] = job
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                _finished(in_flight.pop(future), future.result(), pending, states)
    except BaseException:
        if pool is not None:
            processes.interrupt_children()
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown()
    say(f"mechanism {profile}: {stopped or 'complete'}, {len(log.runs)} runs, {fmt_duration(log.cpu_s)} CPU")
    return states


def _check_sizes(sizes: object, cfg: Config) -> tuple[int, ...]:
    """The canvases whose runs may start: ``sizes`` (each one of the study's), or all of them."""
    if sizes is None:
        return tuple(cfg.sizes)
    if (not isinstance(sizes, (tuple, list)) or not sizes
            or any(not isinstance(v, int) or isinstance(v, bool) or v not in cfg.sizes for v in sizes)):
        raise ValueError(f"sizes={sizes!r}: expected canvases among the study's {list(cfg.sizes)}")
    return tuple(sorted(set(sizes)))


def merge(source: Path | str, profile: str = "quick", *, folder: Path | str | None = None,
          stream=sys.stdout) -> int:
    """Append to this profile's log the runs of ``source`` (another machine's copy of it) that it
    lacks; returns how many. Runs under other code, or already here, are left out (and counted)."""
    log = RunLog(log_path(profile, folder)).load()
    other = RunLog(Path(source))
    if not other.path.is_file():
        raise ValueError(f"merge source={str(source)!r}: expected a run log (JSON lines) file; there is none")
    new, same, stale, keys = [], 0, 0, set()
    for lineno, rec in other.records():  # every record checked before any is added
        try:
            job = Job.from_dict(rec["job"])
            Result(**rec["result"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"merge source {other.path}:{lineno}: expected a run record of the study; "
                             f"given one it cannot read ({err}). Nothing was added.") from None
        if rec["code"] != log.code and not carried_over(rec, log.code):
            stale += 1
        elif log.get(job) is not None or key(job) in keys:
            same += 1
        else:
            new.append(rec)
            keys.add(key(job))
    for rec in new:
        log.append_record(rec)
    added = len(new)
    print(f"{log.path}: {added} run(s) added from {other.path}; {same} already here, "
          f"{stale} under other code (left out)", file=stream)
    return added


def summary(cfg: Config, states: list[dict]) -> list[dict]:
    """Per condition: positions, phase, settings, best seed-mean test accuracy and the crossing."""
    rows = []
    for s in states:
        ladder = s.get("ladder", [])
        ns = [r["n"] for r in ladder]
        means = [float(np.mean(r["test_acc"])) for r in ladder]
        cross = stats.censored_crossing(ns, means, cfg.target) if ladder and s["phase"] == "done" else None
        rows.append({"arm": s["arm"], "size": s["size"], "positions": positions(s["size"]),
                     "phase": s["phase"], "cap": s["cap"], "pilot_n": s.get("pilot_n"),
                     "settings": s.get("settings"), "best_mean_test": max(means) if means else None,
                     "rungs": len(ns),
                     "needed": None if cross is None else round(cross.value, 1),
                     "censored": None if cross is None else (cross.censored or None)})
    return rows


def status(profile: str = "quick", *, folder: Path | str | None = None, cfg: Config | None = None,
           stream=sys.stdout) -> list[dict]:
    """Print the per-(arm, size) table and the totals; returns the summary rows."""
    cfg = cfg or Config.profile(profile)
    log = RunLog(log_path(profile, folder)).load()
    pending, states = plan(cfg, log.get)
    rows = summary(cfg, states)
    calib = calibrate(cfg, log.cpu_runs())
    left = [projected_seconds(cfg, calib, s, states) for s in states]
    carried = f" ({log.carried} carried over from earlier code)" if log.carried else ""
    if set(log.devices) - {"cpu"}:  # where they trained, when not all on this kind of machine
        carried += " [" + ", ".join(f"{n} on {d}" for d, n in sorted(log.devices.items())) + "]"
    print(f"{log.path}: {len(log.runs)} current runs{carried}, {log.stale} stale (other code), "
          f"total CPU time {fmt_duration(log.cpu_s)} ({log.cpu_s / 3600:.2f} h); "
          f"{len(pending)} runs ready to start; projected ~{sum(left) / 3600:.1f} CPU-h left "
          f"(rough: equidocs.mechanism_projection)", file=stream)
    print(f"{'arm':14} {'S':>3} {'pos':>4} {'phase':17} {'cap':>7} {'pilot':>7} {'lr':>7} {'wd':>7} "
          f"{'w':>5} {'best':>6} {'needed':>10} {'left h':>7}", file=stream)
    for r, sec in zip(rows, left):
        r["projected_cpu_s"] = round(sec, 1)
        st = r["settings"] or {}
        w = st.get("hidden" if r["arm"] == "dense" else "width", "")
        need = ("" if r["needed"] is None else
                f"{'>' if r['censored'] == 'above' else '<=' if r['censored'] == 'below' else ''}{r['needed']:g}")
        best = "" if r["best_mean_test"] is None else f"{r['best_mean_test']:.3f}"
        print(f"{r['arm']:14} {r['size']:>3} {r['positions']:>4} {r['phase']:17} {r['cap']:>7} "
              f"{r['pilot_n'] or '':>7} {st.get('lr', ''):>7} {st.get('weight_decay', ''):>7} "
              f"{w if r['arm'] != 'memoriser' else '':>5} {best:>6} {need:>10} "
              f"{f'{sec / 3600:.1f}' if sec else '':>7}", file=stream)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m equidocs.mechanism", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("run", "status", "report", "merge"),
                   help="run: start or resume; status: per-condition progress; report: the analysis so far; "
                        "merge: add another machine's runs")
    p.add_argument("source", nargs="?", help="merge: the other machine's copy of the run log")
    p.add_argument("--profile", choices=("quick", "full"), default="quick")
    p.add_argument("--workers", type=int, default=1, help="worker processes (one thread each)")
    p.add_argument("--dir", default=None, help=f"folder of the run log (default {DEFAULT_DIR})")
    p.add_argument("--device", default="cpu", help="run: torch device, cpu (default), cuda or cuda:N")
    p.add_argument("--sizes", type=int, nargs="+", default=None, metavar="S",
                   help="run: start only these canvases' runs (default: every size)")
    p.add_argument("--hours", type=float, default=None,
                   help="run: start no run after this many hours (those in flight finish)")
    p.add_argument("--draws", type=int, default=200, help="report: bootstrap draws (default 200)")
    p.add_argument("--json", default=None, help="report: also write the summary to this file")
    a = p.parse_args(argv)
    if (a.source is None) == (a.command == "merge"):
        p.error("merge takes one FILE (another copy of the run log); the other commands take none")
    try:
        if a.command == "run":
            # A shell starts a background job (`... &`, scripts/mechanism.sh) with SIGINT ignored, and
            # Python keeps an ignored SIGINT: restore Ctrl-C / `kill -INT` as a clean stop.
            previous = signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                run(a.profile, workers=a.workers, folder=a.dir, device=a.device,
                    sizes=tuple(a.sizes) if a.sizes else None, hours=a.hours)
            except KeyboardInterrupt:
                print("interrupted: finished runs are in the log; run again to resume", file=sys.stderr)
                return 130
            finally:
                signal.signal(signal.SIGINT, previous)
        elif a.command == "status":
            status(a.profile, folder=a.dir)
        elif a.command == "merge":
            merge(a.source, a.profile, folder=a.dir)
        else:
            from equidocs.mechanism_analysis import report

            summary = report(str(log_path(a.profile, a.dir)), profile=a.profile, draws=a.draws)
            if a.json:
                Path(a.json).write_text(json.dumps(summary, indent=1, allow_nan=False))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
