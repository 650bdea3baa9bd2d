"""Dataset specs: a small JSON-able dict that names a dataset, so jobs can travel to worker
processes and into cache keys, and be rebuilt there bit-identically.

A spec is ``{"dataset": "patterns" | "digits", ...options}``; ``make_splits(spec, n_train, seed)``
returns the training set (drawn with ``seed``) and validation/test sets that do not depend on the
seed, so every run of an experiment is scored on the same held-out examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from equidocs.data import Dataset, digits_canvas, pattern_canvas, pixel_permutation, upsample

PERMUTATION_SEED = 1234  # the one fixed pixel shuffle used by every permuted arm
VAL_SEED, TEST_SEED = 1_000_001, 1_000_002  # held-out sets are the same for every training seed

_COMMON = {"dataset", "canvas", "train_where", "test_where", "noise", "permute", "n_val", "n_test",
           "upsample"}
_ONLY = {"patterns": {"num_classes", "pattern_size", "deform"}, "digits": set()}
DEFAULTS = {"canvas": 16, "train_where": "anywhere", "test_where": "anywhere", "permute": False,
            "n_val": 500, "n_test": 1000}


@dataclass(frozen=True)
class Splits:
    train: Dataset
    val: Dataset
    test: Dataset
    num_classes: int


def _where(value):
    return tuple(value) if isinstance(value, list) else value


def make_splits(spec: dict, n_train: int, seed: int) -> Splits:
    """Build the splits (see :func:`_splits`), then upsample every image by ``spec["upsample"]``.

    >>> s = make_splits({"dataset": "patterns", "canvas": 8, "upsample": 2, "n_val": 4, "n_test": 4}, 4, 0)
    >>> tuple(s.test.x.shape)
    (4, 1, 16, 16)
    """
    splits = _splits(spec, n_train, seed)
    factor = spec.get("upsample", 1) if isinstance(spec, dict) else 1
    if factor == 1:
        return splits
    return Splits(*(upsample(d, factor) for d in (splits.train, splits.val, splits.test)),
                  num_classes=splits.num_classes)


def _splits(spec: dict, n_train: int, seed: int) -> Splits:
    """Build train/validation/test sets from a spec; the same arguments give identical tensors.

    >>> s = make_splits({"dataset": "patterns", "canvas": 12, "n_val": 8, "n_test": 8}, 16, seed=0)
    >>> tuple(s.train.x.shape), s.num_classes
    ((16, 1, 12, 12), 4)
    """
    if not isinstance(spec, dict) or spec.get("dataset") not in _ONLY:
        got = spec.get("dataset") if isinstance(spec, dict) else spec
        raise ValueError(f"dataset={got!r}: expected one of {sorted(_ONLY)}")
    unknown = set(spec) - _COMMON - _ONLY[spec["dataset"]]
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)} for dataset {spec['dataset']!r}: "
                        f"expected some of {sorted(_COMMON | _ONLY[spec['dataset']])}")
    s = {**DEFAULTS, **spec}
    canvas = s["canvas"]
    perm = pixel_permutation(canvas, seed=PERMUTATION_SEED) if s["permute"] else None
    if s["dataset"] == "patterns":
        opts = {k: s[k] for k in ("num_classes", "pattern_size", "deform") if k in s}
        opts["noise"] = s.get("noise", 0.1)

        def draw(n: int, where, seed_: int) -> Dataset:
            return pattern_canvas(n, canvas, where=_where(where), seed=seed_, permutation=perm, **opts)

        classes = s.get("num_classes", 4)
        return Splits(draw(n_train, s["train_where"], seed),
                      draw(s["n_val"], s["train_where"], VAL_SEED),
                      draw(s["n_test"], s["test_where"], TEST_SEED), num_classes=classes)
    noise = s.get("noise", 0.0)

    def digits(n, split, where, seed_):
        return digits_canvas(n, canvas, split=split, where=_where(where), noise=noise, seed=seed_,
                             permutation=perm)

    return Splits(digits(n_train, "train", s["train_where"], seed),
                  digits(s["n_val"], "val", s["train_where"], VAL_SEED),
                  digits(s["n_test"], "test", s["test_where"], TEST_SEED), num_classes=10)


