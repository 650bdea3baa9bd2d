"""Frozen results: the full-profile results the site is published from, committed in ``results/``.

Like Quarto's ``_freeze/`` or DVC's lock file: each experiment's result is computed once per change
of the code it depends on, written to ``results/NAME.json`` with its provenance (config, seeds, a
hash of every source file it depends on, versions, device, wall time, every training run as a job
spec) and a checksum, and checked at every build. Nothing in ``results/`` is edited by hand:

- :func:`read` refuses a file that is not valid JSON, holds merge-conflict markers, or whose
  checksum no longer matches its content, naming the file and the command that regenerates it;
- :func:`staleness` names what changed since the result was frozen (a source file, the config,
  a version), and ``python -m equidocs status`` exits non-zero while anything is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from equidocs import cache, experiments

PROFILE = "full"          # the profile that is frozen and published
VERSION_KEYS = ("equidocs", "torch")  # a change of these makes a frozen result stale
# What every frozen record holds (a record without one of them is damaged, and named as such).
FIELDS = {"experiment": str, "title": str, "profile": str, "key": str, "config": dict, "sources": dict,
          "versions": dict, "wall_s": (int, float), "created": str, "result": dict, "runs": list}


class FrozenError(RuntimeError):
    """A frozen result that is missing, unreadable, tampered with or stale."""


def results_dir() -> Path:
    """``$EQUIDOCS_RESULTS`` or ``results`` under the working directory.

    >>> results_dir().name in ("results", os.environ.get("EQUIDOCS_RESULTS", "results").rsplit("/", 1)[-1])
    True
    """
    return Path(os.environ.get("EQUIDOCS_RESULTS", "results")).resolve()


def restore_command(name: str) -> str:
    """The command that restores the committed copy of one frozen result.

    >>> restore_command("amnesia")
    'git checkout -- results/amnesia.json'
    """
    return f"git checkout -- results/{name}.json"


def refresh_command(name: str) -> str:
    """The command that recomputes and freezes one experiment.

    >>> refresh_command("amnesia")
    'python -m equidocs run --profile full --freeze amnesia'
    """
    return f"python -m equidocs run --profile {PROFILE} --freeze {name}"


def checksum(record: dict[str, Any]) -> str:
    """SHA-256 of the record's canonical JSON, without its own ``checksum`` field.

    >>> checksum({"a": 1}) == checksum({"a": 1, "checksum": "x"}) != checksum({"a": 2})
    True
    """
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False).encode()).hexdigest()


def path(name: str, folder: Path | None = None) -> Path:
    return (folder or results_dir()) / f"{name}.json"


def write(record: dict[str, Any], folder: Path | None = None) -> Path:
    """Freeze a record (a full-profile result from the runner) with its checksum; returns its path."""
    if record.get("profile") != PROFILE:
        raise ValueError(f"profile {record.get('profile')!r}: only the {PROFILE!r} profile is frozen")
    target = path(record["experiment"], folder)
    cache.write_json_atomic(target, {**record, "checksum": checksum(record)})
    return target


def read(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The frozen record of ``name``, verified against its checksum.

    Raises :class:`FrozenError` naming the file and the command that regenerates it when the file
    is missing, holds merge-conflict markers, is not valid JSON, or was edited by hand.
    """
    file = path(name, folder)
    fix = (f"restore the committed copy with `{restore_command(name)}`, or recompute it with "
           f"`{refresh_command(name)}` (hours)")
    if not file.exists():
        raise FrozenError(f"{file}: missing; {fix}")
    text = file.read_text(encoding="utf-8", errors="replace")
    if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "=======" for line in text.splitlines()):
        raise FrozenError(f"{file}: holds merge-conflict markers; do not merge results by hand, {fix}")
    try:
        record = json.loads(text)
    except ValueError as error:
        raise FrozenError(f"{file}: not valid JSON ({error}); {fix}") from None
    if not isinstance(record, dict) or "checksum" not in record:
        raise FrozenError(f"{file}: not a frozen result (no checksum); {fix}")
    if record["checksum"] != checksum(record):
        raise FrozenError(f"{file}: its content no longer matches its checksum (edited by hand?); {fix}")
    for field, kind in FIELDS.items():
        if not isinstance(record.get(field), kind):
            state = "missing" if field not in record else f"a {type(record[field]).__name__}"
            raise FrozenError(f"{file}: field {field!r} is {state}, expected "
                              f"{getattr(kind, '__name__', 'a number')}; {fix}")
    if not isinstance(record["versions"].get("device"), str):
        raise FrozenError(f"{file}: field 'versions.device' is missing; {fix}")
    if record.get("experiment") != name:
        raise FrozenError(f"{file}: holds experiment {record.get('experiment')!r}, expected {name!r}; {fix}")
    return record


def current_config(name: str) -> dict[str, Any]:
    """The full-profile config of ``name`` as the code defines it now (JSON types)."""
    config = asdict(experiments.get(name).Config.profile(PROFILE))
    return json.loads(json.dumps(config, default=str))


def _release(version: object) -> str:
    """A version without its local build tag: the same release from PyPI, a CPU wheel or macOS.

    >>> _release("2.13.0+cpu"), _release("2.13.0")
    ('2.13.0', '2.13.0')
    """
    return str(version).split("+", 1)[0]


def staleness(name: str, folder: Path | None = None, record: dict[str, Any] | None = None) -> list[str]:
    """What changed since ``name`` was frozen; an empty list means fresh.

    Reasons name a source file (``equidocs/train.py changed``), config fields, or a version.
    An unreadable file raises :class:`FrozenError`.
    """
    record = read(name, folder) if record is None else record
    module = experiments.get(name).__name__
    reasons = []
    now, then = cache.module_hashes(module), record.get("sources", {})
    for mod in sorted(set(now) | set(then)):
        file = mod.replace(".", "/") + ".py"
        if mod not in then:
            reasons.append(f"{file} is a new dependency")
        elif mod not in now:
            reasons.append(f"{file} is no longer a dependency")
        elif now[mod] != then[mod]:
            reasons.append(f"{file} changed")
    config = current_config(name)
    changed = sorted(k for k in set(config) | set(record["config"]) if config.get(k) != record["config"].get(k))
    if changed:
        reasons.append(f"config changed: {', '.join(changed)}")
    versions = cache.versions(record["versions"]["device"])
    for key in VERSION_KEYS:  # a local build tag (torch's "+cpu") names the wheel, not the code
        if _release(versions[key]) != _release(record["versions"].get(key)):
            reasons.append(f"{key} {record['versions'].get(key)} -> {versions[key]}")
    return reasons


def status(names: list[str] | None = None, folder: Path | None = None) -> dict[str, list[str]]:
    """``{name: reasons}`` for every experiment (unreadable files count as stale, with the reason)."""
    out = {}
    for name in names or list(experiments.NAMES):
        try:
            out[name] = staleness(name, folder)
        except FrozenError as error:
            out[name] = [str(error)]
    return out


def load_fresh(name: str, folder: Path | None = None) -> dict[str, Any]:
    """The frozen record of ``name``; raises :class:`FrozenError` if it is unreadable or stale."""
    record = read(name, folder)
    reasons = staleness(name, folder, record)
    if reasons:
        raise FrozenError(f"{path(name, folder)} is stale ({'; '.join(reasons)}): refresh it with "
                          f"`{refresh_command(name)}`, or build from a fresh quick run with "
                          f"EQUIDOCS_PROFILE=quick")
    return record
