"""Command line: ``python -m equidocs list | run | status | audit | curves``.

- ``run [NAME ...]`` runs experiments through the cache (resumable: finished training runs are
  kept) and exports results and figures; with ``--profile full --freeze`` it also writes the
  published results to ``results/``.
- ``status`` lists every frozen result as fresh or stale, naming what changed; exits 1 if any is stale.
- ``audit`` re-derives every frozen result from its recorded runs and re-trains a random few.
- ``curves DATA`` runs the sample-efficiency comparison on your own images (:mod:`equidocs.curves`).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
from pathlib import Path

from equidocs import experiments, processes
from equidocs.runner import DEVICE, RUN_PROFILES

DEFAULT_OUT = Path("build/generated")


def _device(value: str) -> str:
    if not DEVICE.match(value):
        raise argparse.ArgumentTypeError(f"--device {value!r}: expected cpu, cuda or cuda:N")
    return value


def cores() -> int:
    """CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _cap_workers(workers: int | None) -> int | None:
    """``--workers`` capped at the cores (more processes than cores only compete), with a note."""
    if workers is not None and workers > cores():
        print(f"note: --workers {workers} capped at {cores()}, the CPU cores available here", file=sys.stderr)
        return cores()
    return workers


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return number


class UsageError(Exception):
    """A command that cannot run as given: printed as ``error: ...``, exit status 2."""


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m equidocs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run experiments (cached, resumable) and export results and figures")
    run.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all)")
    run.add_argument("--profile", choices=RUN_PROFILES, default="quick",
                     help="quick (default), full (published) or smoke (tiny: checks that everything runs)")
    run.add_argument("--freeze", action="store_true",
                     help="also write the published results/NAME.json (needs --profile full)")
    run.add_argument("--stale", action="store_true",
                     help="with --freeze and no NAME: only the experiments whose frozen result is stale")
    run.add_argument("--force", action="store_true",
                     help="recompute and re-train every run, even when a cached result or stored runs exist")
    run.add_argument("--device", type=_device, default="cpu", help="torch device: cpu, cuda or cuda:N")
    run.add_argument("--workers", type=_positive, default=None,
                     help="worker processes (default and maximum: the CPU cores)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"export folder ({DEFAULT_OUT})")
    status = sub.add_parser("status", help="is every frozen result fresh? (exit 1 if not)")
    status.add_argument("names", nargs="*", metavar="NAME")
    audit = sub.add_parser("audit", help="re-derive the frozen results and re-train random runs")
    audit.add_argument("names", nargs="*", metavar="NAME")
    audit.add_argument("--runs", type=_count, default=3, help="runs to re-train (default 3; 0: none)")
    audit.add_argument("--seed", type=int, default=None, help="picks the runs (default: random, printed)")
    audit.add_argument("--device", type=_device, default="cpu")
    audit.add_argument("--workers", type=_positive, default=None)
    _curves_parser(sub)
    return parser


# ---- curves: the sample-efficiency comparison on the user's own data -------------------------------

def _side(value: str) -> int:
    if not value.isdigit() or int(value) < 5:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 5 (the filters are 5x5), got {value!r}")
    return int(value)


def _fraction(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(f"expected an accuracy strictly between 0 and 1, got {value!r}")
    return number


def _curves_parser(sub) -> None:
    from equidocs.curves import DESIGNS

    curves = sub.add_parser(
        "curves", help="the sample-efficiency comparison (conv, locally connected, dense, ...) on your own images",
        description="Train conv (shared 5x5 filters + global max pool), locally connected, conv with a "
                    "flatten readout and dense nets, and a 1-nearest-neighbour memoriser, on a ladder of "
                    "training-set sizes of your data, each tuned on a validation split; write a figure, a "
                    "CSV, report.json and report.md. Resumable: finished runs are kept in OUT/runs.jsonl.")
    curves.add_argument("data", metavar="DATA",
                        help="a folder of class subfolders of PNG/JPEG images, or an .npz with x (N,H,W) and y (N,)")
    curves.add_argument("--out", type=Path, default=None, help="output folder (default build/curves/<data name>)")
    curves.add_argument("--size", type=_side, default=None,
                        help="resize every image to SIZE x SIZE (needed when sizes differ or are not square)")
    curves.add_argument("--target", type=_fraction, default=0.9,
                        help="test accuracy whose crossing is measured (default 0.9)")
    curves.add_argument("--seeds", type=_positive, default=5, help="seeds per training-set size (default 5)")
    curves.add_argument("--workers", type=_positive, default=None,
                        help="worker processes (default and maximum: the CPU cores)")
    curves.add_argument("--device", type=_device, default="cpu", help="torch device: cpu, cuda or cuda:N")
    curves.add_argument("--max-train", type=_positive, default=None,
                        help="largest training set (default: the whole training pool)")
    curves.add_argument("--design", choices=sorted(DESIGNS), default="published",
                        help="published (default); smoke: a pipeline check in seconds whose numbers mean nothing")


def _curves(args) -> int:
    import shlex

    from equidocs import curves, curves_data

    _check_device(args.device)
    try:
        data = curves_data.load(args.data, args.size)
    except curves_data.DataError as error:
        raise UsageError(f"error: {error}") from None
    path = Path(args.data)
    out = args.out or Path("build/curves") / (path.stem if path.is_file() else path.resolve().name)
    workers = _cap_workers(args.workers) or cores()
    command = ["python -m equidocs curves", shlex.quote(args.data), "--out", shlex.quote(str(out))]
    for flag, value in (("--size", args.size), ("--max-train", args.max_train)):
        if value is not None:
            command += [flag, str(value)]
    command += ["--target", f"{args.target:g}", "--seeds", str(args.seeds)]
    if args.design != "published":
        command += ["--design", args.design]
    if args.device != "cpu":
        command += ["--device", args.device]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "log.txt").open("a", encoding="utf-8") as log:  # every invocation, appended
        def say(text: str) -> None:
            print(text, flush=True)
            print(text, file=log, flush=True)

        if log.tell():
            print("", file=log)
        say(f"$ {' '.join(command)}")
        try:
            report = curves.run(data, out, design=curves.DESIGNS[args.design], target=args.target,
                                seeds=args.seeds, workers=workers, device=args.device,
                                max_train=args.max_train, command=" ".join(command), say=say)
        except curves.CurvesError as error:  # a damaged run store, a --max-train below the floor
            raise UsageError(f"error: {error}") from None
        c = report["compute"]
        say(f"done: {c['trained_now']} runs trained now, {c['reused']} reused from the run store; "
            f"{c['runs']} runs, {c['cpu_s'] / 60:.1f} CPU-min in all")
        say(f"examples needed to reach {args.target:g} test accuracy (95% interval):")
        for arm, a in report["arms"].items():
            ratio = report["ratios_vs_conv"].get(arm)
            say(f"  {arm:<13} {a['need']['text']}" + (f"; x conv: {ratio['text']}; needs fewer: {ratio['winner']}"
                                                       if ratio else ""))
        say(f"outputs in {out}: curves.png, curves.svg, curves.csv, report.json, report.md, runs.jsonl, log.txt (appended)")
    return 0


def _check_names(names: list[str]) -> None:
    unknown = [n for n in names if n not in experiments.NAMES]
    if unknown:
        raise UsageError(f"error: unknown experiment(s) {', '.join(unknown)}: expected some of "
                         f"{', '.join(experiments.NAMES)}")


def _check_device(device: str) -> None:
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise UsageError(f"error: --device {device}: CUDA is not available here")


def _run(args) -> int:
    from equidocs import frozen
    from equidocs.runner import run_all

    if args.freeze and args.profile != frozen.PROFILE:
        raise UsageError(f"error: --freeze: only the {frozen.PROFILE!r} profile is published; "
                         f"add --profile {frozen.PROFILE}")
    if args.stale and not args.freeze:
        raise UsageError("error: --stale goes with --freeze")
    names = args.names or None
    if args.stale and not names:
        names = [n for n, reasons in frozen.status().items() if reasons]
        if not names:
            print("every frozen result is fresh: nothing to run")
            return 0
    args.workers = _cap_workers(args.workers)
    outcomes, frozen_to = [], []
    for name in names or list(experiments.NAMES):  # freeze each as soon as it is done
        outcome = run_all([name], args.profile, force=args.force, device=args.device,
                          workers=args.workers, out_dir=args.out)[0]
        outcomes.append(outcome)
        frozen_to.append(frozen.write(outcome.record) if args.freeze else None)
    print(f"\n{'experiment':<20} {'cache':<6} {'seconds':>8}  {'run took (s)':>12}")
    for o, where in zip(outcomes, frozen_to):
        print(f"{o.name:<20} {'hit' if o.cached else 'miss':<6} {o.seconds:8.2f}  "
              f"{o.record['wall_s']:12.2f}" + (f"  frozen to {where}" if where else ""))
    print(f"results and figures in {args.out.resolve()}")
    return 0


def _status(args) -> int:
    from equidocs import frozen

    report = frozen.status(args.names or None)
    for name, reasons in report.items():
        print(f"{name:<20} {'fresh' if not reasons else 'STALE: ' + '; '.join(reasons)}")
    stale = [n for n, r in report.items() if r]
    if stale:
        print(f"\n{len(stale)} stale: refresh with `python -m equidocs run --profile {frozen.PROFILE} "
              f"--freeze {' '.join(stale)}`", file=sys.stderr)
        return 1
    return 0


def _audit(args) -> int:
    from equidocs.audit import audit

    seed = random.randrange(10**6) if args.seed is None else args.seed
    args.workers = _cap_workers(args.workers)
    print(f"audit: re-deriving every result, re-training {args.runs} run(s) picked with --seed {seed}")
    report = audit(args.names or None, runs=args.runs, seed=seed, device=args.device, workers=args.workers)
    for name in report.checked:
        print(f"  {name:<20} file, checksum, freshness, derivation: ok")
    for name, summary, verdict in report.replayed:
        print(f"  {name:<20} replayed {summary}: {verdict}")
    for problem in report.problems:
        print(f"FAIL {problem}", file=sys.stderr)
    print("audit passed" if report.ok else f"audit FAILED ({len(report.problems)} problem(s))")
    return 0 if report.ok else 1


def _interrupt(signum, frame) -> None:
    """Ctrl-C: stop the worker processes at once (a pool would otherwise run its queued jobs), then
    unwind; :func:`main` prints one line."""
    processes.interrupt_children()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status.

    >>> main(["list"])  # doctest: +ELLIPSIS
    parameter_counts ...
    0
    """
    args = _parser().parse_args(argv)
    if args.command == "list":
        for name in experiments.NAMES:
            print(f"{name:<20} {experiments.get(name).TITLE}")
        return 0
    previous = signal.signal(signal.SIGINT, _interrupt)
    try:
        if args.command == "curves":
            return _curves(args)
        _check_names(args.names)
        if args.command == "status":
            return _status(args)
        _check_device(args.device)
        return _run(args) if args.command == "run" else _audit(args)
    except UsageError as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: {args.command} stopped; finished training runs are kept, so the same command "
              f"resumes from them", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
