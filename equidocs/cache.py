"""A result cache on disk, keyed by what could change a result.

The key hashes the experiment name, its config, the source code of the whole ``equidocs``
package, the torch and equidocs versions and the device, so an unchanged rebuild reuses results
and any code or config change reruns what it affects. Files are written atomically (a temporary
file then ``os.replace``), and only after the run succeeded.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

import equidocs

PACKAGE_DIR = Path(equidocs.__file__).resolve().parent


def cache_dir() -> Path:
    """Folder of cached results: ``$EQUIDOCS_CACHE`` or ``build/cache`` under the working directory.

    >>> cache_dir().name in ("cache", os.environ.get("EQUIDOCS_CACHE", "cache").rsplit("/", 1)[-1])
    True
    """
    return Path(os.environ.get("EQUIDOCS_CACHE", "build/cache")).resolve()


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 (first 16 hex digits) of every ``.py`` file of the package, by relative path.

    >>> len(source_hash())
    16
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def versions(device: str) -> dict[str, str]:
    """What a result depends on besides its config and code."""
    return {"equidocs": equidocs.__version__, "torch": torch.__version__,
            "python": platform.python_version(), "device": device}


def cache_key(name: str, config: dict[str, Any], device: str) -> str:
    """Hex key for (experiment, config, source hash, versions, device).

    >>> cache_key("x", {"a": 1}, "cpu") == cache_key("x", {"a": 1}, "cpu") != cache_key("x", {"a": 2}, "cpu")
    True
    """
    payload = json.dumps({"name": name, "config": config, "source": source_hash(),
                          "versions": versions(device)}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def _path(name: str, key: str) -> Path:
    return cache_dir() / name / f"{key}.json"


def load(name: str, key: str) -> dict[str, Any] | None:
    """The cached record for (name, key), or None when there is none."""
    path = _path(name, key)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=False, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(name: str, key: str, record: dict[str, Any]) -> Path:
    """Store a finished record; returns its path."""
    path = _path(name, key)
    write_json_atomic(path, record)
    return path
