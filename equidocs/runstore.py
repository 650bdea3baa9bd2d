"""A store of finished training runs, one small file per job, so long studies resume and replay.

Every run that :func:`equidocs.train.train_many` finishes while a store is active is written at
once to ``<cache>/runs/<key>.json``, keyed by the job spec, the source of the training code (and of
the probe's module), the versions and the device. A killed study therefore continues from its
finished runs, and two experiments that train the same job share it. Everything trained inside
:func:`recording` is also logged as ``(job, result)`` pairs: that log becomes the ``runs`` list of a
frozen result, from which ``python -m equidocs audit`` replays jobs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from equidocs import cache

log = logging.getLogger(__name__)


def job_to_dict(job) -> dict[str, Any]:
    """A job as plain JSON data (what a frozen result records, and what :func:`job_from_dict` reads)."""
    return json.loads(json.dumps(asdict(job), default=list))


def job_from_dict(data: dict[str, Any]):
    """Rebuild a :class:`~equidocs.train.Job` from :func:`job_to_dict`'s output.

    >>> from equidocs.train import Job
    >>> job = Job("conv", {"dataset": "patterns", "canvas": 8}, 16, seed=3)
    >>> job_from_dict(job_to_dict(job)) == job
    True
    """
    from equidocs.train import Job, TrainConfig

    fields = dict(data)
    fields["train"] = TrainConfig(**fields.get("train", {}))
    return Job(**fields)


def result_digest(result: dict[str, Any]) -> str:
    """SHA-256 (16 hex digits) of a run's result without its wall time: equal runs, equal digests.

    >>> result_digest({"test_acc": 0.5, "wall_s": 1.0}) == result_digest({"test_acc": 0.5, "wall_s": 9.0})
    True
    """
    payload = {k: v for k, v in result.items() if k != "wall_s"}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def spec_key(job) -> str:
    """Key of a job's spec alone (what a frozen result's run list is indexed by)."""
    return hashlib.sha256(json.dumps(job_to_dict(job), sort_keys=True).encode()).hexdigest()[:24]


def job_key(job, device: str) -> str:
    """Key of a job's result: its spec, the training code (and probe module) and the versions."""
    modules = ["equidocs.train"] + ([job.probe.partition(":")[0]] if job.probe else [])
    payload = {"job": job_to_dict(job), "source": [cache.source_hash(m) for m in modules],
               "versions": cache.versions(device)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class RunStore:
    """Finished runs on disk (``folder``), plus an in-memory log of the runs of this session."""

    folder: Path
    device: str = "cpu"
    log: list = field(default_factory=list)      # [(job, RunResult), ...] in completion order
    preset: dict = field(default_factory=dict)   # spec_key -> result dict, consulted before the disk
    strict: bool = False                         # replay mode: a job that is not preset is an error
    hits: int = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, job):
        """The stored result of ``job`` (a RunResult), or None."""
        from equidocs.train import RunResult

        data = self.preset.get(spec_key(job))
        if data is None and self.strict:
            raise KeyError(f"replay: job {job_to_dict(job)} is not among the recorded runs")
        if data is None:
            path = self._path(job_key(job, self.device))
            if not path.exists():
                return None
            try:
                data = json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError) as error:  # a truncated file: train again
                log.warning("run store: %s is corrupt (%s); the run is trained again", path, error)
                path.unlink(missing_ok=True)
                return None
        self.hits += 1
        result = RunResult(**data)
        self.log.append((job, result))
        return result

    def put(self, job, result) -> None:
        """Save a finished run (atomically) and log it."""
        if not self.strict:
            cache.write_json_atomic(self._path(job_key(job, self.device)), result.to_dict())
        self.log.append((job, result))


_ACTIVE: ContextVar[RunStore | None] = ContextVar("equidocs_run_store", default=None)


def active() -> RunStore | None:
    """The store that :func:`recording` made active in this context, if any."""
    return _ACTIVE.get()


@contextmanager
def recording(store: RunStore) -> Iterator[RunStore]:
    """Make ``store`` the one every ``train_many`` call inside the block reads and writes."""
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def default_store(device: str) -> RunStore:
    """A store in ``<cache>/runs`` for ``device``."""
    return RunStore(cache.cache_dir() / "runs", device)


RECORDED = ("kind", "n_train", "seed", "lr", "params", "steps", "stop", "hit_budget", "train_acc",
            "val_acc", "test_acc", "train_loss", "probe")  # what a frozen result keeps of each run


def compact(log: list) -> list[dict[str, Any]]:
    """The run log as a frozen result records it: one entry per distinct job, in a stable order.

    Each entry holds the job spec, the run's numbers and probe output, and the digest of its whole
    result (loss curve included), which a replay on the same device must reproduce exactly.
    """
    entries = {}
    for job, result in log:
        full = result.to_dict()
        entries[spec_key(job)] = {"job": job_to_dict(job), **{k: full[k] for k in RECORDED},
                                  "digest": result_digest(full)}
    return [entries[k] for k in sorted(entries)]


def replay_store(runs: list[dict[str, Any]], device: str) -> RunStore:
    """A strict in-memory store holding the recorded runs: re-running the experiment's analysis
    inside it trains nothing, and fails on any job that was not recorded."""
    preset = {}
    for entry in runs:
        job = job_from_dict(entry["job"])
        preset[spec_key(job)] = {**{k: entry[k] for k in RECORDED}, "loss_curve": [], "wall_s": 0.0}
    return RunStore(Path("/nonexistent"), device, preset=preset, strict=True)
