"""Run experiments through the cache and export their results and figures for the site."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from equidocs import cache, experiments, runstore, smoke
from equidocs.figure_data import write_csv
from equidocs.experiments import PROFILES, RunContext
from equidocs.plotting import theme
from equidocs.train import single_thread


# what ``run_experiment`` accepts: the experiments' own profiles, and ``smoke`` (tiny; equidocs.smoke)
RUN_PROFILES = (*PROFILES, "smoke")
DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
COMPANION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.json$")  # a plain file name, JSON only


def check_device(device: object, source: str = "device") -> str:
    """``device`` if this machine can train on it, else ValueError naming ``source`` and the choices.

    >>> try:
    ...     check_device("bogus", "EQUIDOCS_DEVICE")
    ... except ValueError as error:
    ...     print(error)
    EQUIDOCS_DEVICE='bogus': expected cpu, cuda or cuda:N
    """
    if not isinstance(device, str) or not DEVICE.match(device):
        raise ValueError(f"{source}={device!r}: expected cpu, cuda or cuda:N")
    if device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise ValueError(f"{source}={device!r}: CUDA is not available here")
        index, count = int(device.partition(":")[2] or 0), torch.cuda.device_count()
        if index >= count:
            raise ValueError(f"{source}={device!r}: expected cuda:0 to cuda:{count - 1} (this machine's "
                             f"{count} CUDA device(s))")
    return device


def check_companions(record: dict[str, Any]) -> dict[str, Any]:
    """A result's companion files ``{filename: JSON data}``, each name a plain ``*.json`` file name.

    >>> list(check_companions({"experiment": "x", "result": {"companions": {"x.weights.json": {}}}}))
    ['x.weights.json']
    """
    companions = record["result"].get("companions", {})
    if not isinstance(companions, dict):
        raise ValueError(f"{record['experiment']}: companions: expected an object of file name -> data")
    for filename in companions:
        if not COMPANION.match(filename) or ".." in filename:
            raise ValueError(f"{record['experiment']}: companion file name {filename!r}: expected a plain "
                             f"file name ending in .json (letters, digits, '_', '-', '.')")
    return companions


def log(message: str) -> None:
    """One timestamped line on stderr (the long runs' log file)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Outcome:
    name: str
    record: dict[str, Any]
    cached: bool
    seconds: float


def json_safe(value: Any) -> Any:
    """The same structure with NaN and infinities replaced by None (JSON has no NaN).

    >>> json_safe({"a": [1.0, float("nan")]})
    {'a': [1.0, None]}
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def run_experiment(name: str, profile: str = "quick", *, force: bool = False, device: str = "cpu",
                   workers: int | None = None) -> Outcome:
    """Return the experiment's record from the cache, running it first when stale or forced.

    ``force=True`` recomputes it and re-trains every run (stored runs are not reused).
    """
    check_device(device)
    if profile not in RUN_PROFILES:
        raise ValueError(f"profile {profile!r}: expected one of {', '.join(RUN_PROFILES)}")
    module = experiments.get(name)
    start = time.perf_counter()
    cfg = smoke.config(name) if profile == "smoke" else module.Config.profile(profile)
    config = asdict(cfg)
    key = cache.cache_key(name, {"profile": profile, "config": config}, device, module.__name__)
    sources = cache.module_hashes(module.__name__)  # now, not after the run: the code that ran
    record = None if force else cache.load(name, key)
    if record is not None:
        return Outcome(name, record, True, time.perf_counter() - start)
    with cache.lock(name, key):  # another build computing the same result: wait, then reuse it
        record = None if force else cache.load(name, key)
        if record is not None:
            return Outcome(name, record, True, time.perf_counter() - start)
        store = runstore.default_store(device, reuse=not force)
        log(f"{name}: running the {profile} profile on {device}")
        try:
            with single_thread(device == "cpu"), runstore.recording(store):
                # the main process only coordinates and probes
                result = module.run(cfg, RunContext(device=device, workers=workers))
        except Exception as error:
            raise RuntimeError(f"experiment {name!r} (profile {profile}) failed: {error}") from error
        wall = time.perf_counter() - start
        trained = sum(r.wall_s for _, r in store.log)
        log(f"{name}: done in {wall:.0f} s ({len(store.log)} runs, {store.hits} from the run store)")
        record = {
            "experiment": name, "title": module.TITLE, "profile": profile, "key": key,
            "config": config, "source_hash": cache.source_hash(module.__name__),
            "sources": sources, "versions": cache.versions(device),
            "wall_s": round(wall, 2), "train_s": round(trained, 2),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "result": json_safe(result), "runs": runstore.compact(store.log),
        }
        cache.save(name, key, record)
        # Return what a cache hit would return (JSON types: lists, not tuples).
        return Outcome(name, cache.load(name, key), False, time.perf_counter() - start)


def export(record: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``results/NAME.json``, ``figures/NAME.svg`` / ``NAME-dark.svg`` and the plotted
    numbers ``figures/NAME.csv`` under out_dir; returns the paths written (or found up to date).

    A result's ``companions`` (``{filename: JSON data}``, e.g. exported weights) are written beside
    it as ``results/FILENAME``; a name that is not a plain ``*.json`` file name is refused.

    Files whose recorded key (result key + figure code) already matches, and whose JSON files hold
    exactly what the record says, are left alone: a warm rebuild writes nothing, a change to figure
    code alone redraws without retraining, and a damaged copy is written again.
    """
    name = record["experiment"]
    companions = check_companions(record)
    # The frozen copy of a result carries a checksum: it is exported again, not taken for the run's.
    # Drawing code (plotting, figure_data) is not a dependency of any result, but it is of the figures.
    drawing = "-".join(cache.source_hash(m, figures=True) for m in ("equidocs.plotting", "equidocs.figure_data"))
    key = (f"{record['key']}-{record.get('checksum', '')[:12]}-"
           f"{cache.source_hash(experiments.get(name).__name__, figures=True)}-{drawing}")
    result_path = out_dir / "results" / f"{name}.json"
    companion_paths = [out_dir / "results" / filename for filename in companions]
    paths = [result_path] + [out_dir / "figures" / f"{name}{suffix}.svg" for suffix in ("", "-dark")]
    paths.append(out_dir / "figures" / f"{name}.csv")  # the plotted numbers, read back from the figure
    stamp = out_dir / "figures" / f".{name}.key"
    if stamp.exists() and stamp.read_text() == key and all(p.exists() for p in paths) and \
            _intact(result_path, record) and all(_intact(p, companions[p.name]) for p in companion_paths):
        return paths + companion_paths
    cache.write_json_atomic(result_path, record)
    for path in companion_paths:  # e.g. exported weights for the explorer, served beside the result
        cache.write_json_atomic(path, companions[path.name])
    module = experiments.get(name)
    for scheme, path in zip(("light", "dark"), paths[1:3]):
        with theme(scheme):
            fig = module.figure(record["result"])
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
            if scheme == "light":
                write_csv(fig, paths[3])
            plt.close(fig)
    stamp.write_text(key)
    return paths + companion_paths


def _intact(path: Path, data: Any) -> bool:
    """Whether ``path`` holds exactly ``data`` as JSON (a truncated or edited copy does not)."""
    try:
        return json.loads(path.read_text()) == data
    except (OSError, ValueError):
        return False


def prune(out_dir: Path, keep: list[Path]) -> list[Path]:
    """Remove every file under ``out_dir``'s results/ and figures/ that is not in ``keep`` (left
    over from an earlier build or put there by hand); returns what was removed."""
    keep_set = {p.resolve() for p in keep}
    removed = []
    for sub in ("results", "figures"):
        for path in sorted((out_dir / sub).rglob("*")) if (out_dir / sub).exists() else []:
            if path.is_file() and not path.name.startswith(".") and path.resolve() not in keep_set:
                path.unlink()
                removed.append(path)
    return removed


def run_all(names: list[str] | None = None, profile: str = "quick", *, force: bool = False,
            device: str = "cpu", workers: int | None = None,
            out_dir: Path | None = None) -> list[Outcome]:
    """Run (or load) each experiment in order and export it when ``out_dir`` is given."""
    outcomes = []
    for name in names or list(experiments.NAMES):
        outcome = run_experiment(name, profile, force=force, device=device, workers=workers)
        if out_dir is not None:
            export(outcome.record, out_dir)
        outcomes.append(outcome)
    return outcomes
