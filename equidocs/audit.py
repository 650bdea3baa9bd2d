"""Audit the frozen results: re-derive every number from the recorded runs, re-train a random few.

Three checks, each of which a tampered ``results/`` file fails:

1. integrity: the file reads, its checksum matches and it is fresh (:mod:`equidocs.frozen`);
2. derivation: the experiment's analysis re-run on its recorded runs (nothing is trained; a job
   that was not recorded, or a recorded run the analysis does not use, is an error) gives the
   frozen result: integers, strings, booleans and nulls exactly, floats within :func:`same_float`'s
   tolerance (CPUs with other vector units round the last digits differently);
3. replay: ``runs`` jobs picked at random are trained again. On the device and CPU capability that
   produced them (``versions.cpu_capability``: torch's, e.g. AVX2 or AVX512, with the extensions
   oneDNN dispatches on) every recorded number must be identical (training is deterministic); on
   another one, accuracies must agree within ``CROSS_DEVICE_TOLERANCE``, and the report says which
   comparison was made. The mechanism study's runs (``resolution_scaling``) accumulate across
   machines whose capability the study log did not always record in full, so they are compared
   within the tolerance (and reported "identical" when they are).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from equidocs import cache, experiments, frozen, runstore
from equidocs.experiments import RunContext
from equidocs.runner import json_safe
from equidocs.fit import fit_many
from equidocs.train import single_thread, train_many

CROSS_DEVICE_TOLERANCE = 0.05   # absolute accuracy difference allowed between devices / CPU capabilities
ACCURACIES = ("train_acc", "val_acc", "test_acc")
FLOAT32_REL = 1e-5   # values computed in float32 (exactly representable there): relative tolerance
FLOAT64_REL = 1e-5   # every other float (float64 statistics, often of float32 inputs): relative tolerance
LISTED = 10          # differences listed in a report (all are counted)


@dataclass
class AuditReport:
    checked: list = field(default_factory=list)    # experiments whose files and derivations were checked
    replayed: list = field(default_factory=list)   # [(experiment, job summary, verdict)]
    problems: list = field(default_factory=list)   # human-readable failures

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_float32(x: float) -> bool:
    return math.isfinite(x) and float(np.float32(x)) == x


def same_float(a: float, b: float) -> bool:
    """Whether two derived floats agree within the audit's tolerance.

    Relative ``FLOAT32_REL`` (1e-5) when both are float32 values (computed by torch in float32),
    else ``FLOAT64_REL`` (1e-5). Measured between an AVX-512 and an AVX2 CPU: float32 values differ
    by up to 3e-6, float64 means of float32 values by up to 2e-7, the float64 fits by 1e-10; between
    two AVX-512 CPUs, one with AMX, the standard deviation of untrained nets' float32 equivariance
    errors by up to 1.8e-6 (cancellation). A changed accuracy (a step of at least 1/n_test, 1e-4
    here, about 1e-4 relative) never passes.

    >>> same_float(835.7543351426135, 835.7543351426136), same_float(0.27, 0.37)
    (True, False)
    """
    if a == b:
        return True
    rel = FLOAT32_REL if _is_float32(a) and _is_float32(b) else FLOAT64_REL
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def differences(a: Any, b: Any, where: str = "result") -> list[str]:
    """Every path at which a re-derived JSON value ``a`` and the frozen ``b`` differ.

    >>> differences({"x": [1, 0.5], "s": "27%"}, {"x": [1, 0.5000000000001], "s": "37%"})
    ['result.s: re-derived "27%", frozen "37%"']
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'frozen' if key in b else 're-derived'}")
            else:
                out += differences(a[key], b[key], f"{where}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{where}[{i}]")]
    if _number(a) and _number(b) and (isinstance(a, float) or isinstance(b, float)):
        if same_float(float(a), float(b)):
            return []
    elif type(a) is type(b) and a == b:
        return []
    return [f"{where}: re-derived {json.dumps(a)[:60]}, frozen {json.dumps(b)[:60]}"]


def summarise(found: list[str]) -> str:
    """``N difference(s): first; second; ...`` with at most ``LISTED`` listed."""
    more = f"; ... and {len(found) - LISTED} more" if len(found) > LISTED else ""
    return f"{len(found)} difference(s): " + "; ".join(found[:LISTED]) + more


def rederive(record: dict[str, Any], unused: list | None = None) -> dict[str, Any]:
    """The experiment's result computed again from the record's runs alone (nothing is trained).

    ``unused``, when given, receives the recorded runs the analysis did not read.
    """
    module = experiments.get(record["experiment"])
    cfg = module.Config.profile(record["profile"])
    store = runstore.replay_store(record["runs"], record["versions"]["device"])
    with single_thread(), runstore.recording(store):
        result = module.run(cfg, RunContext(device="cpu", workers=1))
    if unused is not None:
        unused += [entry for entry in record["runs"]
                   if runstore.spec_key(runstore.job_from_dict(entry["job"])) not in store.used]
    return json.loads(json.dumps(json_safe(result)))


def _device_type(device: str) -> str:
    return device.split(":")[0]


def comparison(record: dict[str, Any], device: str) -> tuple[bool, str]:
    """(exact?, why): a replay must be bit-identical on the device type and CPU capability that
    produced the record, and close elsewhere (or when the record does not say which CPU it was)."""
    versions = record["versions"]
    if _device_type(versions["device"]) != _device_type(device):
        return False, f"device {versions['device']} -> {device}"
    if _device_type(device) != "cpu":
        return True, "same device type"
    then, now = versions.get("cpu_capability"), cache.cpu_capability()
    if then is None:
        return False, f"CPU capability not recorded, here {now}"
    return (True, f"same CPU capability {now}") if then == now else (False, f"CPU capability {then} -> {now}")


def _compare_run(entry: dict, result, exact: bool, fields: tuple = runstore.RECORDED) -> str | None:
    """None when the replayed run agrees with the recorded one (``fields``: what the record keeps
    of it), else what differs."""
    fresh = result.to_dict()
    fresh["digest"] = runstore.result_digest(fresh)
    fresh = runstore.finite(fresh)  # as recorded: NaN (the memoriser's loss) is null
    if exact:
        bad = [k for k in (*fields, "digest") if k not in runstore.CLOCKS and fresh[k] != entry[k]]
        return None if not bad else "; ".join(f"{k}: recorded {entry.get(k)!r:.40}, replayed {fresh[k]!r:.40}"
                                              for k in bad)
    bad = [k for k in ACCURACIES if abs(fresh[k] - entry[k]) > CROSS_DEVICE_TOLERANCE]
    return None if not bad else "; ".join(f"{k}: recorded {entry[k]}, replayed {fresh[k]}" for k in bad)


def audit(names: list[str] | None = None, runs: int = 3, seed: int = 0, device: str = "cpu",
          folder: Path | None = None, workers: int | None = None) -> AuditReport:
    """Check the frozen results of ``names`` (default: all) and replay ``runs`` random runs."""
    report = AuditReport()
    records = {}
    for name in names or list(experiments.NAMES):
        try:
            record = frozen.load_fresh(name, folder)
        except frozen.FrozenError as error:
            report.problems.append(str(error))
            continue
        unused: list = []
        try:
            derived = rederive(record, unused)
        except KeyError as error:
            report.problems.append(f"{name}: the analysis needs a run that was not recorded: {error}")
            continue
        except runstore.JobSpecError as error:
            report.problems.append(f"{name}: {error}")
            continue
        found = differences(derived, record["result"])
        if found:
            report.problems.append(f"{name}: the frozen result does not follow from its recorded runs: "
                                   + summarise(found))
        if unused:
            report.problems.append(f"{name}: {len(unused)} recorded run(s) are not used by the analysis, "
                                   f"e.g. {json.dumps(unused[0]['job'])[:120]}")
        records[name] = record
        report.checked.append(name)
    pool = [(name, entry, record) for name, record in records.items() for entry in record["runs"]]
    picks = random.Random(seed).sample(pool, min(runs, len(pool)))
    report.problems += replay(picks, device=device, workers=workers, verdicts=report.replayed)
    return report


def replay(picks: list, device: str = "cpu", workers: int | None = None,
           verdicts: list | None = None) -> list[str]:
    """Re-train recorded runs ``[(experiment, run entry, record), ...]``; returns the mismatches."""
    if not picks:
        return []
    jobs = [runstore.job_from_dict(entry["job"]) for _, entry, _ in picks]
    fit_at = [i for i, job in enumerate(jobs) if runstore.is_fit_job(job)]  # mechanism-study runs
    train_at = [i for i in range(len(jobs)) if i not in fit_at]
    results: list = [None] * len(jobs)
    if train_at:
        for i, r in zip(train_at, train_many([jobs[i] for i in train_at], workers=workers, device=device,
                                             desc="audit replay")):
            results[i] = r
    if fit_at:  # the study's trainer runs on one CPU thread per run, whatever the device
        for i, r in zip(fit_at, fit_many([jobs[i] for i in fit_at], workers=workers or 1)):
            results[i] = r
    problems = []
    for (name, entry, record), job, result in zip(picks, jobs, results):
        exact, why = comparison(record, device)
        if runstore.is_fit_job(job):  # the study's runs come from several machines
            exact, why = False, "a mechanism-study run, accumulated across machines"
        fields = runstore.recorded_fields(job)
        identical = _compare_run(entry, result, True, fields) is None
        problem = None if identical else _compare_run(entry, result, exact, fields)
        summary = (f"{job.arm} n={job.n_train} seed={job.seed} on patterns {job.canvas}x{job.canvas}"
                   if runstore.is_fit_job(job) else
                   f"{job.kind} n={job.n_train} seed={job.seed} on {job.data.get('dataset')} "
                   f"{job.data.get('canvas')}x{job.data.get('canvas')}")
        if verdicts is not None:
            verdict = ("MISMATCH" if problem else "identical" if identical
                       else f"within tolerance ({why}: accuracies within {CROSS_DEVICE_TOLERANCE})")
            verdicts.append((name, summary, verdict))
        if problem:
            problems.append(f"{name}: replayed run {summary} does not match "
                            f"({'bit-identical expected' if exact else 'tolerance'}: {why}): {problem}")
    return problems
