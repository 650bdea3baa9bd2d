"""A store of finished training runs, one small file per job, so long studies resume and replay.

Every run that :func:`equidocs.train.train_many` finishes while a store is active is written at
once to ``<cache>/runs/<key>.json``, keyed by the job spec, the source of the training code (and of
the probe's module), the versions and the device. A killed study therefore continues from its
finished runs, and two experiments that train the same job share it. Everything trained inside
:func:`recording` is also logged as ``(job, result)`` pairs: that log becomes the ``runs`` list of a
frozen result, from which ``python -m equidocs audit`` replays jobs.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import logging
import os
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from equidocs import cache, processes  # noqa: F401 (processes: forked workers die with their parent)
from equidocs.codehash import code_text

log = logging.getLogger(__name__)


class JobSpecError(ValueError):
    """A job spec (from a results file or the run store) that this project could not have written."""


def is_fit_job(job) -> bool:
    """Whether ``job`` is a mechanism-study run (:class:`equidocs.fit.Job`) rather than a
    :class:`equidocs.train.Job`. Both kinds are stored, recorded and replayed alike."""
    from equidocs.fit import Job as FitJob

    return isinstance(job, FitJob)


def job_to_dict(job) -> dict[str, Any]:
    """A job as plain JSON data (what a frozen result records, and what :func:`job_from_dict` reads);
    a mechanism-study job is ``{"fit": {...}}``."""
    if is_fit_job(job):
        return {"fit": job.to_dict()}
    return json.loads(json.dumps(asdict(job), default=list))


def job_from_dict(data: Any):
    """Rebuild a :class:`~equidocs.train.Job` from :func:`job_to_dict`'s output, validated first.

    A spec read from a file is checked against the project's own model kinds, options, datasets and
    probes (:func:`check_job_spec`) before anything is built or imported.

    >>> from equidocs.train import Job
    >>> job = Job("conv", {"dataset": "patterns", "canvas": 8}, 16, seed=3)
    >>> job_from_dict(job_to_dict(job)) == job
    True
    """
    from equidocs.train import Job, TrainConfig

    if isinstance(data, dict) and set(data) == {"fit"}:
        return _fit_job_from_dict(data["fit"])
    check_job_spec(data)
    fields = dict(data)
    try:
        fields["train"] = TrainConfig(**fields.get("train", {}))
    except (TypeError, ValueError) as error:
        raise JobSpecError(f"job spec train={fields.get('train')!r}: {error}") from None
    return Job(**fields)


def _fit_job_from_dict(data: Any):
    """A mechanism-study job (:class:`equidocs.fit.Job`) from its ``to_dict()``, validated.

    >>> _fit_job_from_dict({"arm": "conv", "canvas": 8, "n_train": 16, "seed": 0}).arm
    'conv'
    """
    from equidocs.fit import Job as FitJob

    if not isinstance(data, dict):
        raise JobSpecError(f"job spec fit={data!r}: expected an object of equidocs.fit.Job fields")
    try:
        return FitJob.from_dict(data)
    except (TypeError, ValueError) as error:
        raise JobSpecError(f"job spec fit={data!r}: {error}") from None


def _top_level_functions(module: str) -> set[str]:
    """Names of the functions defined at the top level of an equidocs module (read, not imported)."""
    tree = ast.parse(cache._module_path(module).read_text())
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}


def check_probe(probe: Any) -> None:
    """A probe must be ``"equidocs.<module>:<function>"`` naming a function the project defines.

    Nothing is imported to check it, so a spec from a file can never import an arbitrary name.

    >>> try:
    ...     check_probe("this:s")
    ... except JobSpecError as error:
    ...     print(error)
    job spec probe='this:s': expected 'equidocs.<module>:<function>', a function defined in an equidocs module
    """
    expected = "expected 'equidocs.<module>:<function>', a function defined in an equidocs module"
    if probe is None:
        return
    if not isinstance(probe, str) or probe.count(":") != 1:
        raise JobSpecError(f"job spec probe={probe!r}: {expected}")
    module, name = probe.split(":")
    parts = module.split(".")
    if (parts[0] != "equidocs" or not all(p.isidentifier() for p in parts) or not name.isidentifier()
            or not cache._module_path(module).is_file() or name not in _top_level_functions(module)):
        raise JobSpecError(f"job spec probe={probe!r}: {expected}")


def check_job_spec(data: Any) -> None:
    """Raise :class:`JobSpecError` unless ``data`` is a job spec this project could have written:
    known fields, a known model kind and options, a known dataset and options, a known probe."""
    from equidocs.data_specs import _COMMON, _ONLY
    from equidocs.models import KINDS, NetOptions
    from equidocs.train import Job

    names = [f.name for f in dataclasses.fields(Job)]
    if not isinstance(data, dict):
        raise JobSpecError(f"job spec: expected an object with fields {names}, got {type(data).__name__}")
    unknown, missing = sorted(set(data) - set(names)), [n for n in names[:4] if n not in data]
    if unknown or missing:
        raise JobSpecError(f"job spec: unknown field(s) {unknown} / missing field(s) {missing}; "
                           f"expected fields {names}")
    if data["kind"] not in KINDS:
        raise JobSpecError(f"job spec kind={data['kind']!r}: expected one of {list(KINDS)}")
    spec = data["data"]
    if not isinstance(spec, dict) or spec.get("dataset") not in _ONLY:
        raise JobSpecError(f"job spec data={spec!r}: expected a dataset spec naming one of {sorted(_ONLY)}")
    extra = sorted(set(spec) - _COMMON - _ONLY[spec["dataset"]])
    if extra:
        raise JobSpecError(f"job spec data: unknown option(s) {extra} for dataset {spec['dataset']!r}")
    for name in ("n_train", "seed"):
        if not isinstance(data[name], int) or isinstance(data[name], bool) or data[name] < 0:
            raise JobSpecError(f"job spec {name}={data[name]!r}: expected a whole number >= 0")
    if not isinstance(data.get("model", {}), dict) or not isinstance(data.get("probe_args", {}), dict):
        raise JobSpecError("job spec model / probe_args: expected objects")
    try:
        NetOptions.from_dict(data.get("model", {}))
    except (TypeError, ValueError) as error:
        raise JobSpecError(f"job spec model={data.get('model')!r}: {error}") from None
    if not isinstance(data.get("train", {}), dict):
        raise JobSpecError(f"job spec train={data.get('train')!r}: expected an object")
    check_probe(data.get("probe"))


def result_digest(result: dict[str, Any]) -> str:
    """SHA-256 (16 hex digits) of a run's result without its clocks: equal runs, equal digests.

    >>> result_digest({"test_acc": 0.5, "wall_s": 1.0}) == result_digest({"test_acc": 0.5, "wall_s": 9.0})
    True
    """
    payload = finite({k: v for k, v in result.items() if k not in CLOCKS})  # NaN as stored: null
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def spec_key(job) -> str:
    """Key of a job's spec alone (what a frozen result's run list is indexed by)."""
    return hashlib.sha256(json.dumps(job_to_dict(job), sort_keys=True).encode()).hexdigest()[:24]


def job_key(job, device: str) -> str:
    """Key of a job's result: its spec, the training code (and probe module) and the versions."""
    if is_fit_job(job):
        modules = ["equidocs.fit"]
    else:
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
    reuse: bool = True                           # False: train every job again (stored runs ignored)
    hits: int = 0
    used: set = field(default_factory=set)       # spec keys of the preset runs that were read

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, job):
        """The stored result of ``job`` (a RunResult), or None."""
        key = spec_key(job)
        data = self.preset.get(key)
        if data is None and self.strict:
            raise KeyError(f"replay: job {job_to_dict(job)} is not among the recorded runs")
        if data is not None:
            self.used.add(key)
        elif not self.reuse:
            return None
        else:
            data = self._read(self._path(job_key(job, self.device)), is_fit_job(job))
            if data is None:
                return None
        self.hits += 1
        result = _result(data, is_fit_job(job))
        self.log.append((job, result))
        return result

    def note(self, job, result) -> None:
        """Log a run found elsewhere (the mechanism study's committed log) as one of this session's."""
        self.log.append((job, result))

    def _read(self, path: Path, fit: bool = False) -> dict | None:
        """A stored run's numbers; a truncated, garbled or wrong-shape file is named, removed and
        trained again."""
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            _result(data, fit)
            return data
        except (ValueError, UnicodeDecodeError, TypeError) as error:
            log.warning("run store: %s is not a stored run (%s); it is removed and the run trained again",
                        path, error)
            path.unlink(missing_ok=True)
            return None

    def put(self, job, result) -> None:
        """Save a finished run (atomically) and log it."""
        if not self.strict:
            cache.write_json_atomic(self._path(job_key(job, self.device)), finite(result.to_dict()))
        self.log.append((job, result))


def _result(data: Any, fit: bool = False):
    """A RunResult (``fit``: an :class:`equidocs.fit.Result`) from stored data; TypeError naming the
    fields when the shape is wrong."""
    if fit:
        from equidocs.fit import Result as cls
    else:
        from equidocs.train import RunResult as cls

    names = [f.name for f in dataclasses.fields(cls)]
    required = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING]
    if not isinstance(data, dict) or set(data) - set(names) or set(required) - set(data):
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise TypeError(f"expected a run result with fields {names}, got {got}")
    return cls(**data)


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


def default_store(device: str, reuse: bool = True) -> RunStore:
    """A store in ``<cache>/runs`` for ``device``; ``reuse=False`` trains every job again (and
    stores the new runs)."""
    return RunStore(cache.cache_dir() / "runs", device, reuse=reuse)


RECORDED = ("kind", "n_train", "seed", "lr", "params", "steps", "stop", "hit_budget", "train_acc",
            "val_acc", "test_acc", "train_loss", "probe")  # what a frozen result keeps of each run
FIT_RECORDED = ("stop", "steps", "epochs", "best_epoch", "evals", "train_acc", "val_acc", "test_acc",
                "val_loss", "params", "cpu_s")  # ... of each mechanism-study run (its cost: cpu_s)
CLOCKS = ("wall_s", "cpu_s")  # differ from run to run: left out of digests and replay comparisons


def finite(numbers: dict[str, Any]) -> dict[str, Any]:
    """A run's numbers with NaN / infinities as None (JSON has no NaN; the memoriser has no loss).

    >>> finite({"val_loss": float("nan"), "steps": 3})
    {'val_loss': None, 'steps': 3}
    """
    return {k: None if isinstance(v, float) and v != v or v in (float("inf"), float("-inf")) else v
            for k, v in numbers.items()}


def recorded_fields(job) -> tuple[str, ...]:
    """What a frozen result keeps of a run of ``job``'s kind."""
    return FIT_RECORDED if is_fit_job(job) else RECORDED


def compact(log: list) -> list[dict[str, Any]]:
    """The run log as a frozen result records it: one entry per distinct job, in a stable order.

    Each entry holds the job spec, the run's numbers and probe output, and the digest of its whole
    result (loss curve included), which a replay on the same device must reproduce exactly.
    """
    entries = {}
    for job, result in log:
        full = result.to_dict()
        entries[spec_key(job)] = {"job": job_to_dict(job), **finite({k: full[k] for k in recorded_fields(job)}),
                                  "digest": result_digest(full)}
    return [entries[k] for k in sorted(entries)]


def replay_store(runs: list[dict[str, Any]], device: str) -> RunStore:
    """A strict in-memory store holding the recorded runs: re-running the experiment's analysis
    inside it trains nothing, and fails on any job that was not recorded. Entries are validated
    (:func:`check_job_spec`); two entries for one job raise :class:`JobSpecError`."""
    preset = {}
    for i, entry in enumerate(runs):
        if not isinstance(entry, dict) or "job" not in entry:
            raise JobSpecError(f"runs[{i}]: expected a recorded run with 'job' and {list(RECORDED)}")
        try:
            job = job_from_dict(entry["job"])
        except JobSpecError as error:
            raise JobSpecError(f"runs[{i}]: {error}") from None
        fields = recorded_fields(job)
        if set(fields) - set(entry):
            raise JobSpecError(f"runs[{i}]: expected a recorded run with 'job' and {list(fields)}")
        key = spec_key(job)
        if key in preset:
            raise JobSpecError(f"runs[{i}]: a second entry for the job of an earlier run")
        clocks = {"wall_s": 0.0} if is_fit_job(job) else {"loss_curve": [], "wall_s": 0.0}
        preset[key] = {**{k: entry[k] for k in fields}, **clocks}
    return RunStore(Path("/nonexistent"), device, preset=preset, strict=True)


# --- The mechanism study's log (issue 27): one JSON line per finished run, committed with the project.

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "studies" / "mechanism"
CODE_FILES = ("nets.py", "fit.py", "data.py", "data_specs.py")  # what can change a run's numbers

# Runs that stay current across a code change: {current code hash: {earlier hash: (arms, changed,
# why)}}. Either the change touched only the functions ``changed`` ("module:Qualified.name"), which
# the listed arms never call, or (``changed`` empty) it leaves every number bit for bit as it was, as
# a test named in ``why`` shows. tests/test_mechanism.py checks that no listed arm calls ``changed``
# and that a logged run of each listed arm gives its logged numbers again.
# Keyed by the current hash: any later change to CODE_FILES makes every run stale again unless a new
# entry carries it over too.
CARRIED_OVER: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...], str]]] = {
    "5c0b7e14e44a59a7": {
        "03bb06e936c9d648": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: the code hash reads the syntax tree, the same under every Python (ast.unparse's "
            "text was not); fit turns TF32 off on a GPU and ties spawned workers to their parent; on the "
            "CPU every tensor and operation is as before (the replays below). Then as below."),
        "74abe6d13b609f80": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: fit(job, device) trains on a GPU when asked, and the sparse max's backward makes "
            "its tensors on its inputs' device; on the CPU every tensor and operation is as before (the "
            "replays below, tests/test_fit.py). Then as below."),
        "eda7e8660056283f": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: Job.fused_adam (Adam's fused update on the large canvases); a job without it "
            "runs the same arithmetic as before (tests/test_fit.py, the replays below). Then as below."),
        "75d25a11102c619d": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: Job.sparse_max (the pooled nets' max on the large canvases); a job without it "
            "runs the same arithmetic as before (tests/test_nets.py, the replays below). Then as below."),
        "721941f6ecf8e957": (
            ("conv", "local", "conv_flatten", "dense", "cnn_fc", "memoriser"),
            ("equidocs.nets:WindowNet.flatten_position_major",),
            "2026-12-03: the unshared-flatten readout permutes its small weight instead of its large "
            "features, twice as fast; only local_flatten calls it. Then as below."),
        "044a203c5c4c06e3": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: Adam's foreach update, bit for bit the default loop's arithmetic "
            "(tests/test_fit.py), 1.4x faster for dense. Then as below."),
        "1ff0476e1a139899": (
            ("conv", "local", "conv_flatten", "local_flatten", "dense", "cnn_fc", "memoriser"),
            (),
            "2026-12-03: Job.flush_denormal; a job without it runs the same arithmetic as before"),
    },
}


def code_source(path: Path) -> str:
    """A module's code without comments and docstrings (they never change a number), the same under
    every Python version (:func:`equidocs.codehash.code_text`; checked against Python 3.10-3.13 by
    tests/test_codehash.py).

    >>> code_source(Path(__file__).parent / "nets.py").startswith("Module(body=[ImportFrom(module='__future__'")
    True
    """
    return code_text(path.read_text(encoding="utf-8"))


def code_hash() -> str:
    """sha256 (16 hex digits) of the code (docstrings and comments left out) of the modules that
    decide a run's numbers, :data:`CODE_FILES`."""
    h = hashlib.sha256()
    for name in CODE_FILES:
        h.update(name.encode() + b"\0" + code_source(Path(__file__).parent / name).encode())
    return h.hexdigest()[:16]


def append_line(path: Path, record: dict) -> None:
    """Append ``record`` to the JSON-lines file ``path`` as one line, in one write, flushed to disk:
    a kill never leaves half a record behind (the run logs of the study and of ``curves``)."""
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def carried_over(record: dict, code: str) -> bool:
    """Whether a run logged under earlier code is current under ``code`` (:data:`CARRIED_OVER`).

    >>> carried_over({"code": "721941f6ecf8e957", "job": {"arm": "dense"}}, next(iter(CARRIED_OVER)))
    True
    >>> carried_over({"code": "721941f6ecf8e957", "job": {"arm": "local_flatten"}}, next(iter(CARRIED_OVER)))
    False
    """
    arms, _, _ = CARRIED_OVER.get(code, {}).get(record["code"], ((), (), ""))
    return record["job"]["arm"] in arms


def study_key(job) -> str:
    """A study job's key in a :class:`RunLog`: its fields as sorted JSON."""
    return json.dumps(job.to_dict(), sort_keys=True)


class RunLog:
    """The append-only log of finished runs: ``load()`` it, ``append()`` one run at a time."""

    def __init__(self, path: Path) -> None:
        self.path, self.code = Path(path), code_hash()
        self.runs: dict = {}  # study_key -> equidocs.fit.Result
        self.stale = 0      # runs logged under other code
        self.carried = 0    # runs logged under earlier code that CARRIED_OVER keeps current
        self.cpu_s = 0.0    # CPU time of the current runs trained on a CPU (one thread each)
        self.elsewhere: dict[str, str] = {}  # study_key -> device (e.g. "cuda (NVIDIA H200)"), runs not on a CPU

    def records(self):
        """The log's records (dicts), in order; a malformed line raises a ValueError naming it."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    if not isinstance(rec, dict) or not {"job", "result", "code"} <= set(rec):
                        raise ValueError("not a run record")
                except Exception as err:  # noqa: BLE001 (any malformed line is reported the same way)
                    raise ValueError(f"{self.path}:{lineno}: expected one JSON run record "
                                     f"{{job, result, code, ...}}; given {line[:80]!r} ({err}). "
                                     f"Delete or fix that line to resume.") from None
                yield lineno, rec

    def load(self) -> "RunLog":
        for lineno, rec in self.records():
            if rec["code"] != self.code:  # other code: its fields may differ too
                if not carried_over(rec, self.code):
                    self.stale += 1
                    continue
                self.carried += 1
            try:
                self._add(rec)
            except Exception as err:  # noqa: BLE001 (any malformed line is reported the same way)
                raise ValueError(f"{self.path}:{lineno}: expected one JSON run record "
                                 f"{{job, result, code, ...}}; given {json.dumps(rec)[:80]!r} ({err}). "
                                 f"Delete or fix that line to resume.") from None
        return self

    def _add(self, rec: dict) -> None:
        """Count a current record in (the first one of a job wins)."""
        from equidocs.fit import Job as FitJob, Result as FitResult

        job, result = FitJob.from_dict(rec["job"]), FitResult(**rec["result"])
        key, device = study_key(job), rec.get("device", "cpu")
        if key not in self.runs:
            self.runs[key] = result
            if device == "cpu":
                self.cpu_s += result.cpu_s
            else:  # its process time is a GPU's host thread, not the one-core cost of a CPU run
                self.elsewhere[key] = device

    @property
    def devices(self) -> dict[str, int]:
        """How many current runs trained on each device ("cpu", or e.g. "cuda (NVIDIA H200)")."""
        cpu = len(self.runs) - len(self.elsewhere)
        return {**({"cpu": cpu} if cpu else {}), **Counter(self.elsewhere.values())}

    def cpu_runs(self) -> dict:
        """The current runs trained on a CPU (study_key -> result): what CPU-time estimates use."""
        return {k: r for k, r in self.runs.items() if k not in self.elsewhere}

    def get(self, job):
        return self.runs.get(study_key(job))

    def append(self, job, result, device: str = "cpu") -> None:
        """Log one finished run, trained on ``device`` (recorded when it is not the CPU)."""
        import torch

        rec = {"job": job.to_dict(), "result": result.to_dict(), "code": self.code,
               "torch": torch.__version__, "cpu": cache.cpu_capability()}
        if device != "cpu":
            rec["device"] = f"{device} ({torch.cuda.get_device_name(device)})" if device.startswith("cuda") else device
        self.append_record(rec)

    def append_record(self, rec: dict) -> None:
        """Log one current run record as it stands (:meth:`append`'s, or another machine's: ``merge``)."""
        self._add(rec)
        append_line(self.path, rec)


def log_path(profile: str, folder: Path | str | None = None) -> Path:
    return Path(folder or DEFAULT_DIR) / f"runs-{profile}.jsonl"
