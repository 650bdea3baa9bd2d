"""A result cache on disk, keyed by what could change a result.

The key hashes the experiment name, its config, the source code of the experiment's module and of
every ``equidocs`` module it imports (directly or not), the torch and equidocs versions and the device, so an unchanged rebuild reuses results
and any code or config change reruns what it affects. Files are written atomically (a temporary
file then ``os.replace``), and only after the run succeeded.
"""

from __future__ import annotations

import ast
import fcntl
import hashlib
import json
import logging
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy
import scipy
import torch

import equidocs
from equidocs.codehash import result_text

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(equidocs.__file__).resolve().parent
# Modules that store, report, draw or dispatch results but cannot change a number: left out of
# source hashes, so improving them does not make every frozen result stale (the audit re-derives
# and re-trains, and would catch a number that changed anyway).
INFRASTRUCTURE = frozenset({"equidocs.cache", "equidocs.codehash", "equidocs.runstore", "equidocs.progress",
                            "equidocs.plotting", "equidocs.processes"})
# What a cached record must hold; anything else is a damaged entry (removed and recomputed).
RECORD_FIELDS = ("experiment", "profile", "key", "config", "versions", "result", "runs")


def cache_dir() -> Path:
    """Folder of cached results: ``$EQUIDOCS_CACHE`` or ``build/cache`` under the working directory.

    >>> cache_dir().name in ("cache", os.environ.get("EQUIDOCS_CACHE", "cache").rsplit("/", 1)[-1])
    True
    """
    return Path(os.environ.get("EQUIDOCS_CACHE", "build/cache")).resolve()


def _module_path(module: str) -> Path:
    rel = Path(*module.split(".")[1:])
    package = PACKAGE_DIR / rel / "__init__.py"
    return package if package.exists() else (PACKAGE_DIR / rel).with_suffix(".py")


def _imports(module: str) -> set[str]:
    """equidocs modules that ``module`` imports (statically, from its source)."""
    tree = ast.parse(_module_path(module).read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n.split(".")[0] == "equidocs" and _module_path(n).exists()}
    return found


@lru_cache(maxsize=None)
def dependencies(module: str) -> tuple[str, ...]:
    """``module`` and every equidocs module it imports, directly or not, sorted.

    >>> "equidocs.models" in dependencies("equidocs.train")
    True
    """
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(name) - seen - INFRASTRUCTURE)
    return tuple(sorted(seen))


def _result_source(module: str) -> bytes:
    """The module's code as far as it can change a result (:func:`equidocs.codehash.result_text`:
    no figure code, docstrings or ``Config.profile``), the same under every Python from 3.10."""
    return result_text(_module_path(module).read_text(encoding="utf-8")).encode()


@lru_cache(maxsize=None)
def module_hashes(module: str) -> dict[str, str]:
    """Per file that ``module`` depends on (figure code left out), a short hash of its source.

    A frozen result records these, so ``python -m equidocs status`` can name the file that changed.

    >>> sorted(module_hashes("equidocs.params"))
    ['equidocs.models', 'equidocs.params']
    """
    return {name: hashlib.sha256(_result_source(name)).hexdigest()[:12] for name in dependencies(module)}


@lru_cache(maxsize=None)
def source_hash(module: str = "equidocs", *, figures: bool = False) -> str:
    """SHA-256 (first 16 hex digits) of the source of ``module`` and all it imports from equidocs.

    A change to a file the module does not depend on leaves its hash, and so its cache, alone.
    Experiments' ``figure`` functions count only with ``figures=True`` (figures are redrawn from
    cached results when their code changes; results are not recomputed).

    >>> len(source_hash("equidocs.train"))
    16
    """
    digest = hashlib.sha256()
    for name in dependencies(module):
        digest.update(name.encode())
        digest.update(_module_path(name).read_bytes() if figures else _result_source(name))
    return digest.hexdigest()[:16]


ISA_EXTENSIONS = ("avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16",
                  "amx_int8")  # CPU flags on which oneDNN picks other kernels within one torch capability


@lru_cache(maxsize=None)
def cpu_capability() -> str:
    """The vector instruction sets the CPU kernels use here: torch's capability (e.g. ``AVX2``,
    ``AVX512``), then the extensions oneDNN also dispatches on (VNNI, BF16, AMX: read from
    ``/proc/cpuinfo``) and any ``ONEDNN_MAX_CPU_ISA`` cap. Runs on machines with the same string
    are bit-identical; otherwise only close. (Measured: two AVX512 machines, one with AMX, trained
    the same conv jobs to different last digits, and some to a different early-stopping step.)

    >>> cpu_capability().startswith(str(torch.backends.cpu.get_cpu_capability()))
    True
    """
    try:
        base = str(torch.backends.cpu.get_cpu_capability())
    except Exception:  # an older torch without the query
        return "unknown"
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:  # not Linux: the torch capability alone
        pass
    extras = [f for f in ISA_EXTENSIONS if f in flags]
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if cap:
        extras.append(f"onednn<={cap}")
    return f"{base} ({', '.join(extras)})" if extras else base


def versions(device: str) -> dict[str, str]:
    """What a result depends on besides its config and code (and, for CPU runs, the capability of
    the CPU, which decides whether a replay can be bit-identical)."""
    return {"equidocs": equidocs.__version__, "torch": torch.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "python": platform.python_version(), "device": device, "cpu_capability": cpu_capability()}


def cache_key(name: str, config: dict[str, Any], device: str, module: str = "equidocs") -> str:
    """Hex key for (name, config, source hash of ``module`` and its imports, versions, device).

    >>> cache_key("x", {"a": 1}, "cpu") == cache_key("x", {"a": 1}, "cpu") != cache_key("x", {"a": 2}, "cpu")
    True
    """
    payload = json.dumps({"name": name, "config": config, "source": source_hash(module),
                          "versions": versions(device)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _path(name: str, key: str) -> Path:
    return cache_dir() / name / f"{key}.json"


def load(name: str, key: str) -> dict[str, Any] | None:
    """The cached record for (name, key), or None when there is none.

    A truncated, garbled or wrong-shape entry is named in a warning, removed and recomputed.
    """
    path = _path(name, key)
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        missing = [f for f in RECORD_FIELDS if f not in record] if isinstance(record, dict) else ["all"]
        if missing:
            raise ValueError(f"not a cached result: missing {', '.join(missing)}")
        return record
    except (ValueError, UnicodeDecodeError) as error:  # truncated, garbled or not a record: compute it again
        log.warning("cache: %s is damaged (%s); it is removed and recomputed", path, error)
        path.unlink(missing_ok=True)
        return None


def _lock_path(name: str, key: str) -> Path:
    target = hashlib.sha256(str(_path(name, key)).encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / "equidocs-locks" / f"{target}.lock"


@contextmanager
def lock(name: str, key: str) -> Iterator[None]:
    """Hold an exclusive lock on (name, key) so that concurrent builds compute a result once.

    A POSIX record lock (``lockf``): the kernel releases it when its process ends, however it ends,
    and forked worker processes do not inherit it, so a killed run never leaves it held. The lock
    file names its holder; a run that has to wait says who it waits for. Lock files live in the
    system's temporary folder, so the cache holds results only.
    """
    path = _lock_path(name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            log.warning("%s: waiting for %s, which is computing the same result (lock %s)", name, holder, path)
            fcntl.lockf(handle, fcntl.LOCK_EX)
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} ({' '.join(sys.argv)[:120]}), since {time.strftime('%H:%M:%S')}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            handle.flush()
            fcntl.lockf(handle, fcntl.LOCK_UN)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=False, allow_nan=False)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are served and shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(name: str, key: str, record: dict[str, Any]) -> Path:
    """Store a finished record; returns its path."""
    path = _path(name, key)
    write_json_atomic(path, record)
    return path
