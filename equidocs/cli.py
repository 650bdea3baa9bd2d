"""Command line: ``python -m equidocs list`` and ``python -m equidocs run [NAME ...]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from equidocs import experiments
from equidocs.runner import run_all

DEFAULT_OUT = Path("build/generated")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m equidocs", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run experiments (cached) and export results and figures")
    run.add_argument("names", nargs="*", metavar="NAME", help="experiments to run (default: all)")
    run.add_argument("--profile", choices=experiments.PROFILES, default="quick")
    run.add_argument("--force", action="store_true", help="rerun even when a cached result exists")
    run.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    run.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"export folder ({DEFAULT_OUT})")
    return parser


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
    unknown = [n for n in args.names if n not in experiments.NAMES]
    if unknown:
        print(f"error: unknown experiment(s) {', '.join(unknown)}: expected some of "
              f"{', '.join(experiments.NAMES)}", file=sys.stderr)
        return 2
    if args.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            print(f"error: --device {args.device}: CUDA is not available here", file=sys.stderr)
            return 2
    outcomes = run_all(args.names or None, args.profile, force=args.force, device=args.device,
                       workers=args.workers, out_dir=args.out)
    print(f"\n{'experiment':<20} {'cache':<6} {'seconds':>8}  {'run took (s)':>12}")
    for o in outcomes:
        print(f"{o.name:<20} {'hit' if o.cached else 'miss':<6} {o.seconds:8.2f}  "
              f"{o.record['wall_s']:12.2f}")
    print(f"results and figures in {args.out.resolve()}")
    return 0
