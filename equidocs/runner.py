"""Run experiments through the cache and export their results and figures for the site."""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from equidocs import cache, experiments, runstore
from equidocs.experiments import PROFILES, RunContext
from equidocs.plotting import theme
from equidocs.train import single_thread


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
    """Return the experiment's record from the cache, running it first when stale or forced."""
    if profile not in PROFILES:
        raise ValueError(f"profile {profile!r}: expected one of {', '.join(PROFILES)}")
    module = experiments.get(name)
    start = time.perf_counter()
    cfg = module.Config.profile(profile)
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
        store = runstore.default_store(device)
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
    """Write ``results/NAME.json`` and ``figures/NAME.svg`` / ``NAME-dark.svg`` under out_dir.

    A result's ``companions`` (``{filename: JSON data}``, e.g. exported weights) are written beside
    it as ``results/FILENAME``.

    Files whose recorded key (result key + figure code) already matches are left alone, so a warm
    rebuild writes nothing, and a change to figure code alone redraws without retraining.
    """
    name = record["experiment"]
    # The frozen copy of a result carries a checksum: it is exported again, not taken for the run's.
    key = (f"{record['key']}-{record.get('checksum', '')[:12]}-"
           f"{cache.source_hash(experiments.get(name).__name__, figures=True)}")
    result_path = out_dir / "results" / f"{name}.json"
    paths = [result_path] + [out_dir / "figures" / f"{name}{suffix}.svg" for suffix in ("", "-dark")]
    stamp = out_dir / "figures" / f".{name}.key"
    if stamp.exists() and stamp.read_text() == key and all(p.exists() for p in paths):
        return paths
    cache.write_json_atomic(result_path, record)
    for filename, data in record["result"].get("companions", {}).items():
        # e.g. exported weights for the explorer, served beside the result
        cache.write_json_atomic(out_dir / "results" / filename, data)
    module = experiments.get(name)
    for scheme, path in zip(("light", "dark"), paths[1:]):
        with theme(scheme):
            fig = module.figure(record["result"])
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
            plt.close(fig)
    stamp.write_text(key)
    return paths


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
