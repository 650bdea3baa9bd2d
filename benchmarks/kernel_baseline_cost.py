"""What a kernel baseline would cost: scikit-learn's RBF support-vector classifier on the mechanism
study's own data (the same glyph canvases, deformation, noise and validation split), timed on this
machine, and its fit time extrapolated to the training sets the study's position-blind learners need.

    .venv/bin/python benchmarks/kernel_baseline_cost.py          # ~15 minutes on an idle core
    .venv/bin/python benchmarks/kernel_baseline_cost.py --quick  # ~10 s

Issue 27 asks for a kernel baseline "if cheap". For each canvas and training-set size this fits
``SVC(C, gamma="scale")`` for every C in ``C_GRID`` (libsvm: one thread), records the CPU seconds
and the validation accuracy (the test split is never read), then fits log(seconds) against
log(examples) per canvas (numpy's least squares, C = 10) and extrapolates one fit's time to the
examples the dense net and the 1-NN lookup need in ``results/resolution_scaling.json``. A study-like
measurement needs at least ``len(C_GRID) x SEEDS`` fits at that size (one ladder rung; a bracket
needs two or three), so that product is printed too. An extrapolation, labelled as one: libsvm's
time grows faster than this fit where its kernel cache no longer holds the training set.

Prints a table and saves build/benchmarks/kernel_baseline_cost.json (machine, load, every fit).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from equidocs.cache import cpu_capability
from equidocs.data_specs import make_splits
from equidocs.fit import Job
from equidocs.mechanism_plan import Config

ROOT = Path(__file__).resolve().parents[1]
C_GRID = (1.0, 10.0, 100.0)
SEEDS = 5  # the study's seeds for arms outside conv, local and dense
CACHE_MB = 2000


def fit_once(canvas: int, n: int, c: float) -> dict:
    """One SVC fit on the study's training set of ``n`` examples (seed 0); CPU seconds, validation accuracy."""
    splits = make_splits(Job("memoriser", canvas, n, 0, **Config().job).spec(), n, 0)
    x, y = splits.train.x.flatten(1).numpy(), splits.train.y.numpy()
    start = time.process_time()
    model = SVC(C=c, gamma="scale", cache_size=CACHE_MB).fit(x, y)
    seconds = time.process_time() - start
    val = float((model.predict(splits.val.x.flatten(1).numpy()) == splits.val.y.numpy()).mean())
    return {"canvas": canvas, "n": n, "C": c, "cpu_s": seconds, "val_acc": val,
            "support_vectors": int(model.n_support_.sum())}


def extrapolate(rows: list[dict], needs: dict) -> list[dict]:
    """Per canvas: the log-log slope of fit time in examples (C = 10) and the time at each need
    (``needs``: canvas -> {who: (examples, censored)}; a censored need is a cap, so its time is a
    lower bound; a missing one is skipped)."""
    out = []
    for canvas in sorted({r["canvas"] for r in rows}):
        mine = [r for r in rows if r["canvas"] == canvas and r["C"] == 10.0]
        slope, icept = np.polyfit(np.log([r["n"] for r in mine]), np.log([r["cpu_s"] for r in mine]), 1)
        row = {"canvas": canvas, "slope": float(slope)}
        for who, (n, censored) in needs.get(canvas, {}).items():
            if n is None:
                continue
            one = float(np.exp(icept + slope * np.log(n)))
            row[who] = {"n": n, "censored": censored, "one_fit_s": one,
                        "one_rung_cpu_h": one * len(C_GRID) * SEEDS / 3600}
        out.append(row)
    return out


def duration(seconds: float) -> str:
    """Seconds, minutes or hours, whichever reads best.

    >>> duration(42.0), duration(600.0), duration(9000.0)
    ('42 s', '10.0 min', '2.5 h')
    """
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def study_needs(path: Path) -> dict:
    """canvas -> {"dense": (need, censored), "memoriser": ...} from the frozen summary (a censored
    need is the cap it was not reached by)."""
    s = json.loads(path.read_text())["result"]["summary"]
    return {size: {arm: (s["kinds"][arm]["needed"][i], s["kinds"][arm]["censored"][i])
                   for arm in ("dense", "memoriser")} for i, size in enumerate(s["sizes"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "build" / "benchmarks" / "kernel_baseline_cost.json")
    a = p.parse_args()
    plan = {10: (1024, 2048, 4096)} if a.quick else {10: (2048, 4096, 8192), 12: (2048, 4096, 8192),
                                                       16: (4096, 8192, 16384), 20: (4096, 8192, 16384)}
    load = [round(v, 2) for v in os.getloadavg()]
    rows = []
    print(f"{'S':>3} {'n':>6} {'C':>5} {'CPU s':>8} {'val acc':>8} {'SVs':>6}")
    for canvas, ns in plan.items():
        for n in ns:
            for c in C_GRID:
                r = fit_once(canvas, n, c)
                rows.append(r)
                print(f"{canvas:>3} {n:>6} {c:>5g} {r['cpu_s']:>8.1f} {r['val_acc']:>8.3f} "
                      f"{r['support_vectors']:>6}", flush=True)
    needs = study_needs(ROOT / "results" / "resolution_scaling.json")
    ext = extrapolate(rows, needs)
    print(f"\nExtrapolated (not measured): one fit at the need, and {len(C_GRID)} C x {SEEDS} seeds at one rung")
    for e in ext:
        parts = [f"{who} need {'more than ' if v['censored'] else ''}{v['n']:,.0f}: "
                 f"{'at least ' if v['censored'] else ''}{duration(v['one_fit_s'])}/fit, "
                 f"{v['one_rung_cpu_h']:,.2f} CPU-h/rung" for who, v in e.items() if isinstance(v, dict)]
        print(f"{e['canvas']:>3}x{e['canvas']}: time ~ n^{e['slope']:.2f}; " + "; ".join(parts))
    out = {"cpu_capability": cpu_capability(), "load_before": load, "load_after": [round(v, 2) for v in os.getloadavg()], "c_grid": C_GRID,
           "seeds": SEEDS, "cache_mb": CACHE_MB, "rows": rows, "extrapolated": ext}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1))
    print(f"saved {a.out}")


if __name__ == "__main__":
    main()
