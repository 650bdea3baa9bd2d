"""The registry of experiments: each is one config, one run function, one figure.

A module in this package defines ``Config`` (a frozen dataclass whose ``profile(name)`` returns the
``quick`` or ``full`` settings), ``run(cfg, ctx) -> dict`` (JSON-serialisable: it carries the
measurements, a ``numbers`` dict of display strings used by the pages, and a ``caption``) and
``figure(result) -> matplotlib Figure`` (reads only the result).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from equidocs.experiments.common import RunContext  # noqa: F401  (re-exported for the runner)

NAMES = (
    "parameter_counts",
    "equivariance_error",
    "sample_efficiency",
    "amnesia",
    "weights",
    "explorer_models",
    "resolution_scaling",
    "sharing_locality",
    "amnesia_distance",
    "capacity",
    "heads_augmentation",
)
PROFILES = ("quick", "full")


def get(name: str) -> ModuleType:
    """The experiment module called ``name``.

    >>> get("parameter_counts").__name__
    'equidocs.experiments.parameter_counts'
    """
    if name not in NAMES:
        raise ValueError(f"experiment {name!r}: expected one of {', '.join(NAMES)}")
    return importlib.import_module(f"equidocs.experiments.{name}")
