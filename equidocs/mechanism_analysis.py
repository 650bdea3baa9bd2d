"""The mechanism study's analysis (issue 27): per arm, the examples needed to reach the target
against the positions a 5x5 glyph can take, its growth law and exponent, with their uncertainty.

* **Which runs**: the planner (:func:`equidocs.mechanism_plan.plan`, a pure function of the log)
  re-derives every condition's ladder; only conditions whose ladder is done enter. Sizes not yet
  done are reported as missing (``status`` "missing", ``needed`` null) and left out of every fit.
* **Needs**: :func:`equidocs.stats.need` on the ladder's per-seed test accuracies, bootstrapping
  seeds and each job's ``n_test`` test examples; a ladder that never reached the target is censored
  "above" its cap (kept, never dropped), one that reached it at the floor "below"; interval ends are
  :func:`~equidocs.stats.valid_interval`'s, null where unbounded.
* **Laws and exponent**: :mod:`equidocs.mechanism_laws` (censored maximum likelihood, the whole
  pipeline bootstrapped, the exponent interval model-averaged over laws with Akaike weights).

>>> s = analyse([], Config(sizes=(6, 8)), draws=10)
>>> s["conditions_complete"], s["kinds"]["dense"]["status"], s["kinds"]["dense"]["best_law"]
(0, ['missing', 'missing'], 'inconclusive')
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

import numpy as np

from equidocs import stats
from equidocs.fit import Job, Result
from equidocs.mechanism_laws import LAWS, local_slopes, law_summary
from equidocs.mechanism_plan import Config, base_job, plan
from equidocs.nets import positions

MIN_FIT = 3  # finished sizes (two of them measured) needed for an exponent


@dataclass(frozen=True)
class Ladder:
    """One finished condition's ladder: sorted training-set sizes and per-seed test accuracies."""

    ns: tuple[int, ...]
    per_seed: np.ndarray  # (seeds, rungs)
    n_test: int

    def __post_init__(self) -> None:
        a = np.asarray(self.per_seed, float)
        if a.ndim != 2 or a.shape[1] != len(self.ns) or not len(a) or list(self.ns) != sorted(set(self.ns)):
            raise ValueError(f"Ladder: expected increasing ns and per_seed of shape (seeds, {len(self.ns)}); "
                             f"given ns={list(self.ns)}, per_seed shape {a.shape}")
        if not isinstance(self.n_test, int) or self.n_test < 1:
            raise ValueError(f"Ladder n_test={self.n_test!r}: expected a positive integer")


def _record(rec: object, i: int) -> tuple[Job, Result]:
    """One log record, a JSON line's dict {job, result, ...} or a (Job, Result) pair, checked."""
    if isinstance(rec, (tuple, list)) and len(rec) == 2 and isinstance(rec[0], Job) and isinstance(rec[1], Result):
        job, res = rec
    elif isinstance(rec, Mapping):
        for name in ("job", "result"):
            if not isinstance(rec.get(name), Mapping):
                raise ValueError(f"log_runs[{i}][{name!r}]: expected a dict, given {rec.get(name)!r}")
        try:
            job, res = Job.from_dict(dict(rec["job"])), Result(**rec["result"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"log_runs[{i}]: expected a valid job and result; {err}") from None
    else:
        raise ValueError(f"log_runs[{i}]: expected a {{job, result}} dict or a (Job, Result) pair, "
                         f"given {type(rec).__name__}")
    for name in ("test_acc", "val_acc"):
        v = getattr(res, name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
            raise ValueError(f"log_runs[{i}]['result'][{name!r}]: expected a number in [0, 1], given {v!r}")
    return job, res


def ladders(log_runs: Iterable, cfg: Config) -> dict[tuple[str, int], Ladder]:
    """The finished ladders, (arm, canvas) -> :class:`Ladder`, as the planner derives them from the
    runs (the first record of a job wins, as in :class:`equidocs.runstore.RunLog`). ``log_runs``:
    a loaded ``RunLog`` (current code only), or records: JSON-line dicts or (Job, Result) pairs, taken
    as given (filtering runs logged under other code is the caller's job; ``RunLog`` does it)."""
    if not isinstance(cfg, Config):
        raise ValueError(f"cfg: expected an equidocs.mechanism_plan.Config, given {type(cfg).__name__}")
    if isinstance(getattr(log_runs, "runs", None), Mapping):  # a RunLog: key = the job as JSON
        log_runs = [(Job.from_dict(json.loads(k)), r) for k, r in log_runs.runs.items()]
    table: dict[Job, Result] = {}
    for i, rec in enumerate(log_runs):
        job, res = _record(rec, i)
        table.setdefault(job, res)
    out = {}
    for s in plan(cfg, table.get)[1]:
        if s["phase"] == "done":
            rows = s["ladder"]
            n_test = replace(base_job(cfg, s["arm"], s["size"]), **s["settings"]).n_test
            out[s["arm"], s["size"]] = Ladder(tuple(r["n"] for r in rows),
                                              np.array([r["test_acc"] for r in rows], float).T, n_test)
    return out


def analyse(log_runs: Iterable, cfg: Config, *, draws: int = 400, seed: int = 0) -> dict:
    """The machine-readable summary of issue 27 from the logged runs (see the module docstrings).

    Top level: axis, sizes, positions, pixels, seeds (of the main arms), target, laws, draws,
    conditions, conditions_complete, exponent_method, kinds. Per arm in ``kinds``, one entry per
    size: status ("measured", "censored", "missing"), needed, censored, needed_ci (null = unbounded);
    and complete, seeds, exponent, exponent_ci, exponent_positions_law(_ci), local_slopes (with
    local_slope_sizes, local_slopes_censored), best_law, reason, law_win_frequency, laws (per law:
    slope, aic, centred level, their intervals, not_rejected_frequency), held_out, draws_used.
    ``draws`` bootstrap draws (each refits three laws: about 0.1 s per arm and draw).
    """
    return analyse_ladders(ladders(log_runs, cfg), cfg, draws=draws, seed=seed)


def analyse_ladders(found: Mapping[tuple[str, int], Ladder], cfg: Config, *, draws: int = 400,
                    seed: int = 0) -> dict:
    """:func:`analyse` on ladders already found: every arm of ``cfg`` at every size of ``cfg``."""
    if not isinstance(cfg, Config):
        raise ValueError(f"cfg: expected an equidocs.mechanism_plan.Config, given {type(cfg).__name__}")
    if not isinstance(draws, int) or draws < 10:
        raise ValueError(f"draws={draws!r}: expected an integer >= 10")
    sizes = list(cfg.sizes)
    kinds = {arm: _kind([found.get((arm, s)) for s in sizes], sizes, cfg.target, draws, seed + 7919 * j)
             for j, arm in enumerate(cfg.arms)}
    done = sum((a, s) in found for a in cfg.arms for s in sizes)
    return {"axis": "positions", "sizes": sizes, "positions": [positions(s) for s in sizes],
            "pixels": [s * s for s in sizes], "seeds": cfg.seeds_main, "target": cfg.target,
            "laws": list(LAWS), "draws": draws, "conditions": len(cfg.arms) * len(sizes),
            "conditions_complete": done,
            "exponent_method": "Akaike-weighted mixture over bootstrap draws and laws of each law's "
                               "d log N / d log positions at the largest size fitted (mechanism_laws)",
            "kinds": kinds}


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _kind(ladders_: list[Ladder | None], sizes: list[int], target: float, draws: int, seed: int) -> dict:
    needs = [None if lad is None else stats.need(lad.ns, lad.per_seed, target, n_test=lad.n_test,
                                                 draws=draws, seed=seed + s)
             for lad, s in zip(ladders_, sizes)]
    out: dict = {
        "status": ["missing" if n is None else "censored" if n.censored else "measured" for n in needs],
        "needed": [None if n is None else n.value for n in needs],
        "censored": [None if n is None else n.censored or None for n in needs],
        "needed_ci": [None if n is None else [_finite(v) for v in stats.valid_interval(n)] for n in needs],
        "complete": sum(n is not None for n in needs),
        "seeds": max((len(lad.per_seed) for lad in ladders_ if lad is not None), default=0)}
    done = [n for n in needs if n is not None]
    fit_sizes = [s for s, n in zip(sizes, needs) if n is not None]
    values, cens = [n.value for n in done], [n.censored for n in done]
    out.update(local_slopes(fit_sizes, values, cens))
    measured = cens.count("")
    if len(done) < MIN_FIT or measured < 2:
        return out | {"exponent": None, "exponent_ci": None, "exponent_positions_law": None,
                      "exponent_positions_law_ci": None, "best_law": stats.INCONCLUSIVE,
                      "reason": (f"{len(done)} size(s) done, {measured} measured inside the ladder: "
                                 f"an exponent needs >= {MIN_FIT} sizes with >= 2 measured"),
                      "law_win_frequency": None, "draws_used": 0, "laws": None, "held_out": None}
    boot = [([n.draws[d] for n in done], [n.draws_censored[d] for n in done]) for d in range(draws)]
    return out | law_summary(fit_sizes, values, cens, boot)


def _fmt(v: float | None, c: str | None = None) -> str:
    return "inf" if v is None else f"{'>' if c == 'above' else '<=' if c == 'below' else ''}{v:.0f}"


def _pm(v: float | None, ci: list | None) -> str:
    return "-" if v is None else f"{v:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else f"{v:.2f}"


def report(path: str, *, profile: str = "full", draws: int = 200, stream=sys.stdout) -> dict:
    """Load a run log (current code only, :class:`equidocs.runstore.RunLog`), analyse it and print
    the needs per arm and size (sizes with a finished condition), then each arm's exponent, law,
    local slopes and leave-one-size-out miss. Returns the summary."""
    from equidocs.runstore import RunLog

    cfg, log = Config.profile(profile), RunLog(path).load()
    summary = analyse(log, cfg, draws=draws)
    kinds = summary["kinds"]
    cols = [i for i in range(len(cfg.sizes)) if any(k["needed"][i] is not None for k in kinds.values())]
    say = lambda text="": print(text, file=stream)  # noqa: E731
    say(f"{path}: {len(log.runs)} runs ({log.stale} stale); {summary['conditions_complete']} of "
        f"{summary['conditions']} conditions complete; {draws} bootstrap draws")
    say(f"examples needed for {cfg.target:g} test accuracy [95% interval, seeds and test examples]")
    heads = [f"{cfg.sizes[i]}x{cfg.sizes[i]} ({summary['positions'][i]} pos)" for i in cols]
    say(f"{'arm':14}" + "".join(f"{h:>22}" for h in heads))
    for arm, k in kinds.items():
        cells = ["-" if k["needed"][i] is None else
                 f"{_fmt(k['needed'][i], k['censored'][i])} [{_fmt(k['needed_ci'][i][0])}, "
                 f"{_fmt(k['needed_ci'][i][1])}]" for i in cols]
        say(f"{arm:14}" + "".join(f"{c:>22}" for c in cells))
    say()
    say(f"{'arm':14} {'exponent in positions':>25} {'positions law b':>25}  local slopes; best law")
    for arm, k in kinds.items():
        slopes = ", ".join("?" if v is None else f"{v:.2f}" + {"lower bound": "+", "upper bound": "-"}.get(c, "")
                           for v, c in zip(k["local_slopes"], k["local_slopes_censored"]))
        say(f"{arm:14} {_pm(k['exponent'], k['exponent_ci']):>25} "
            f"{_pm(k['exponent_positions_law'], k['exponent_positions_law_ci']):>25}  [{slopes}]; "
            f"{k['best_law']} ({k['reason']})")
    return summary
