"""Audit the frozen results: re-derive every number from the recorded runs, re-train a random few.

Three checks, each of which a tampered ``results/`` file fails:

1. integrity: the file reads, its checksum matches and it is fresh (:mod:`equidocs.frozen`);
2. derivation: the experiment's analysis re-run on its recorded runs (nothing is trained; a job
   that was not recorded is an error) gives exactly the frozen result;
3. replay: ``runs`` jobs picked at random are trained again. On the device type that produced them
   every recorded number must be identical (training is deterministic); on another device type
   accuracies must agree within ``CROSS_DEVICE_TOLERANCE``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from equidocs import experiments, frozen, runstore
from equidocs.experiments import RunContext
from equidocs.runner import json_safe
from equidocs.train import single_thread, train_many

CROSS_DEVICE_TOLERANCE = 0.05   # absolute accuracy difference allowed between device types
ACCURACIES = ("train_acc", "val_acc", "test_acc")


@dataclass
class AuditReport:
    checked: list = field(default_factory=list)    # experiments whose files and derivations were checked
    replayed: list = field(default_factory=list)   # [(experiment, job summary, verdict)]
    problems: list = field(default_factory=list)   # human-readable failures

    @property
    def ok(self) -> bool:
        return not self.problems


def _diff(a: Any, b: Any, where: str = "result") -> list[str]:
    """Paths at which two JSON values differ (at most a few)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'frozen' if key in b else 're-derived'}")
            else:
                out += _diff(a[key], b[key], f"{where}.{key}")
        return out[:5]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{where}[{i}]")][:5]
    return [] if a == b else [f"{where}: re-derived {json.dumps(a)[:60]}, frozen {json.dumps(b)[:60]}"]


def rederive(record: dict[str, Any]) -> dict[str, Any]:
    """The experiment's result computed again from the record's runs alone (nothing is trained)."""
    module = experiments.get(record["experiment"])
    cfg = module.Config.profile(record["profile"])
    store = runstore.replay_store(record["runs"], record["versions"]["device"])
    with single_thread(), runstore.recording(store):
        result = module.run(cfg, RunContext(device="cpu", workers=1))
    return json.loads(json.dumps(json_safe(result)))


def _device_type(device: str) -> str:
    return device.split(":")[0]


def _compare_run(entry: dict, result, same_device: bool) -> str | None:
    """None when the replayed run agrees with the recorded one, else what differs."""
    fresh = result.to_dict()
    if same_device:
        bad = [k for k in runstore.RECORDED if fresh[k] != entry[k]]
        if runstore.result_digest(fresh) != entry["digest"]:
            bad.append("digest")
        return None if not bad else "; ".join(f"{k}: recorded {entry.get(k)!r:.40}, replayed {fresh.get(k)!r:.40}"
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
        records[name] = record
        try:
            derived = rederive(record)
        except KeyError as error:
            report.problems.append(f"{name}: the analysis needs a run that was not recorded: {error}")
            continue
        differences = _diff(derived, record["result"])
        if differences:
            report.problems.append(f"{name}: the frozen result does not follow from its recorded runs: "
                                   + "; ".join(differences))
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
    results = train_many(jobs, workers=workers, device=device, desc="audit replay")
    problems = []
    for (name, entry, record), job, result in zip(picks, jobs, results):
        same = _device_type(record["versions"]["device"]) == _device_type(device)
        problem = _compare_run(entry, result, same)
        summary = (f"{job.kind} n={job.n_train} seed={job.seed} on {job.data.get('dataset')} "
                   f"{job.data.get('canvas')}x{job.data.get('canvas')}")
        if verdicts is not None:
            verdicts.append((name, summary, "MISMATCH" if problem else
                             ("identical" if same else "within tolerance")))
        if problem:
            problems.append(f"{name}: replayed run {summary} does not match: {problem}")
    return problems
