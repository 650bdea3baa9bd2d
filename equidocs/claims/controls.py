"""Guards on the controls, the runs that ask where the conv net's saving comes from:
``results/heads_augmentation.json`` (pooled vs flatten readout, shift augmentation),
``results/sharing_locality.json`` (sharing and locality with the readout held fixed) and
``results/capacity.json`` (dense and conv nets of many widths and depths).

A ratio is (worse net's need) / (better net's need) with its 95% interval; it "saves" when the
interval lies above 1 and is "inconclusive" when it includes 1.

>>> ratio = {"value": 8.0, "low": 5.0, "high": 13.0}
>>> records = {"heads_augmentation": {"result": {"ratios": {"pooling": {"examples": ratio}}}}}
>>> control_saves("pooling", "examples").check(records).holds
True
"""

from __future__ import annotations

import numpy as np

from equidocs.claims.verdict import Claim, guard, includes_one, per_size, value
from equidocs.stats import Interval, paired_difference


def _ha(records: dict) -> dict:
    return records["heads_augmentation"]["result"]


# --- the readout and augmentation controls (heads_augmentation) -----------------------------------

def control_saves(name: str, unit: str = "examples") -> Claim:
    """The better net of ratio ``name`` needs less of ``unit`` ("examples" or "compute"): the
    ratio's 95% interval lies above 1."""

    def test(records: dict) -> tuple[bool, str]:
        r = _ha(records)["ratios"][name]
        if r[unit]["value"] is None:
            return False, f"{unit} ratio undetermined: {r}"
        return r[unit]["low"] > 1, str(r)

    return guard(f"guard.controls.{name}_{unit}", test)


def control_inconclusive(name: str) -> Claim:
    """The examples of ratio ``name`` do not separate the two nets: the 95% interval has both ends
    and includes 1."""

    def test(records: dict) -> tuple[bool, str]:
        r = _ha(records)["ratios"][name]
        if r["examples"]["value"] is None or r["examples"]["high"] is None:
            return False, f"examples ratio without an interval: {r}"
        return includes_one(r["examples"]), str(r)

    return guard(f"guard.controls.{name}_inconclusive", test)


def _pooling_is_the_saving(records: dict) -> tuple[bool, str]:
    """The pooled readout saves data, and its saving lies wholly above what shared filters save
    under a position-aware (flatten) readout; the pooled conv net needs fewer examples than the
    dense net."""
    r = _ha(records)["ratios"]
    pool, flat = r["pooling"]["examples"], r["sharing_flatten"]["examples"]
    dense = records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["dense/conv"]
    holds = (pool["value"] is not None and flat["high"] is not None and pool["low"] > 1
             and pool["low"] > flat["high"] and dense["low"] > 1)
    return holds, f"pooling {pool}; sharing, flatten readout {flat}; dense/conv {dense}"


def _flatten_sharing_small(records: dict) -> tuple[bool, str]:
    """Shared filters under a flatten readout save at most a small factor over the dense net: the
    ratio's interval has both ends and its high end is below 2 (x)."""
    f = _ha(records)["ratios"]["sharing_flatten"]["examples"]
    return f["value"] is not None and f["high"] is not None and f["high"] < 2, str(f)


def _flatten_conv_points(records: dict) -> tuple[list[int], list[Interval]]:
    """(ns, paired differences) of the flatten-head conv net's test accuracy minus the dense net's,
    at the sizes both were trained on."""
    arms, n_test = _ha(records)["arms"], _ha(records)["spec"]["n_test"]
    flat, dense = arms["conv+flatten"]["curve"], arms["dense"]["curve"]
    ns = [n for n in flat["ns"] if n in dense["ns"]]
    a = np.array(flat["test_acc"])[:, [flat["ns"].index(n) for n in ns]]   # (seeds, ns)
    b = np.array(dense["test_acc"])[:, [dense["ns"].index(n) for n in ns]]
    return ns, [paired_difference(a[:, i], b[:, i], n_test=n_test) for i in range(len(ns))]


def _flatten_conv_wins(records: dict) -> tuple[list[tuple[int, Interval]], int]:
    """The sizes at which the flatten-head conv net is more accurate than the dense net (paired
    difference's 95% interval above zero), as (size, difference) pairs, and the sizes compared."""
    ns, diffs = _flatten_conv_points(records)
    return [(n, d) for n, d in zip(ns, diffs) if d.low > 0], len(ns)


def _flatten_conv_beats_dense_somewhere(records: dict) -> tuple[bool, str]:
    """Shared filters under a flatten readout are more accurate than the dense net at one size at
    least (the paired difference's 95% interval above zero)."""
    ns, diffs = _flatten_conv_points(records)
    return any(d.low > 0 for d in diffs), f"flatten-head conv minus dense: {per_size(ns, diffs)}"


def _wins_phrase(records: dict) -> str:
    wins, compared = _flatten_conv_wins(records)
    return f"{len(wins)} of the {compared}"


def _lead_phrase(records: dict) -> str:
    wins, _ = _flatten_conv_wins(records)
    if not wins:
        return "no size (no interval lies above zero)"
    n, best = max(wins, key=lambda w: w[1].mean)
    return (f"{100 * best.mean:.0f} points (95% interval {100 * best.low:.0f} to {100 * best.high:.0f}, "
            f"at {n:,} examples)")


# --- sharing and locality with the readout held fixed (sharing_locality) --------------------------

def gain_saves_data(name: str) -> Claim:
    """With the readout held fixed, the gain ``name`` saves data: the 95% interval of the ratio of
    needs (worse / better) lies above 1."""

    def test(records: dict) -> tuple[bool, str]:
        g = records["sharing_locality"]["result"]["gains"][name]
        return g["value"] is not None and g["low"] > 1, str(g)

    return guard(f"guard.readout.{name}_saves_data", test)


def _locality_alone_not_shown(records: dict) -> tuple[bool, str]:
    """Locality alone shows no detectable saving anywhere: dense / locally connected includes 1 on
    the glyphs, the locally-connected net does not reach the digits' target where the dense net does,
    and both locality gains of the readout-fixed design are inconclusive."""
    tasks = records["sample_efficiency"]["result"]["tasks"]
    glyphs = tasks["patterns"]["ratios"]["dense/local"]
    digits = tasks["digits"]["arms"]
    gains = records["sharing_locality"]["result"]["gains"]
    fixed = [gains[g]["verdict"] for g in ("locality_with_sharing", "locality_without_sharing")]
    holds = (includes_one(glyphs) and digits["local"]["need"]["censored"] == "above"
             and not digits["dense"]["need"]["censored"] and all(v == "inconclusive" for v in fixed))
    return holds, f"glyphs dense/local {glyphs}; digits local {digits['local']['need']}, dense " \
                  f"{digits['dense']['need']}; readout-fixed locality gains {fixed}"


def _readout_alone_small(records: dict) -> tuple[bool, str]:
    """A pooled readout over unshared features (readout-fixed design) saves less than the pair does
    against the flatten readout: the readout gain's 95% interval lies wholly below the pooling
    saving's (heads_augmentation)."""
    gain = records["sharing_locality"]["result"]["gains"]["readout"]
    pool = _ha(records)["ratios"]["pooling"]["examples"]
    holds = gain["high"] is not None and pool["value"] is not None and gain["high"] < pool["low"]
    return holds, f"readout alone {gain['low']}..{gain['high']}; pooling over shared filters {pool}"


def _sharing_saves_everywhere(records: dict) -> tuple[bool, str]:
    """Sharing saves data in every comparison: conv vs locally connected on both tasks (need ratio
    above 1) and both sharing gains of the readout-fixed design."""
    tasks = records["sample_efficiency"]["result"]["tasks"]
    lows = {t: tasks[t]["ratios"]["local/conv"]["low"] for t in tasks}
    gains = records["sharing_locality"]["result"]["gains"]
    fixed = {g: gains[g]["low"] for g in ("sharing_with_locality", "sharing_without_locality")}
    return all(v > 1 for v in lows.values()) and all(v is not None and v > 1 for v in fixed.values()), \
        f"local/conv lows {lows}; readout-fixed sharing gain lows {fixed}"


# --- width and depth (capacity) -------------------------------------------------------------------

def _size_moves_every_kind(records: dict) -> tuple[bool, str]:
    """At every canvas of the capacity sweep, for every kind (dense, conv, locally connected), the
    largest need over the smallest has a 95% interval wholly above one."""
    result = records["capacity"]["result"]
    ranges = result["ranges"]
    want = {(c, k) for c in result["canvases"] for k in ("dense", "conv", "local")}
    have = {(r["canvas"], r["kind"]): r["low"] for r in ranges.values()}
    holds = want <= set(have) and all(have[w] is not None and have[w] > 1 for w in want)
    return holds, "; ".join(f"{c}x{c} {k}: low {have.get((c, k))}" for c, k in sorted(want))


def _gap_survives_capacity(records: dict) -> tuple[bool, str]:
    """At the largest canvas of the capacity sweep, every dense size's need lies above every conv
    size's (95% intervals apart): no width or depth tried closes the gap there."""
    result = records["capacity"]["result"]
    outcome = {c: result["separation"].get(f"{c}.dense_vs_conv", "missing") for c in result["canvases"]}
    return outcome[max(result["canvases"])] == "above", f"separation: {outcome}; gaps: {result['gaps']}"


def _smallest_canvas_not_apart(records: dict) -> tuple[bool, str]:
    """At the capacity sweep's smallest canvas, the best dense and the worst conv sizes are not
    apart (any verdict but "above", which a missing one is not)."""
    result = records["capacity"]["result"]
    verdict = result["separation"].get(f"{min(result['canvases'])}.dense_vs_conv")
    return verdict not in (None, "above"), str(result["separation"])


CLAIMS: list[Claim] = [
    *(control_saves(name, unit) for name, unit in (("pooling", "examples"), ("augmentation", "examples"),
                                                   ("augmented_vs_conv", "examples"),
                                                   ("augmented_vs_conv", "compute"))),
    control_inconclusive("sharing_flatten"),
    guard("guard.pooling_is_the_saving", _pooling_is_the_saving,
          "pooled readout saves far more than shared filters alone"),
    guard("guard.flatten_sharing_small", _flatten_sharing_small,
          "shared filters under a flatten readout save under 2x"),
    guard("guard.controls.flatten_conv_beats_dense_somewhere", _flatten_conv_beats_dense_somewhere),
    value("controls.flatten_conv_wins", "sizes where the flatten-head conv net beats the dense net",
          _wins_phrase),
    value("controls.flatten_conv_lead", "the flatten-head conv net's largest lead over the dense net",
          _lead_phrase),
    *(gain_saves_data(name) for name in ("sharing_with_locality", "sharing_without_locality", "readout")),
    guard("guard.locality_alone_not_shown", _locality_alone_not_shown, "locality alone saves no detectable data"),
    guard("guard.readout_alone_small", _readout_alone_small,
          "a pooled readout over unshared features saves far less than over shared ones"),
    guard("guard.sharing_saves_everywhere", _sharing_saves_everywhere, "sharing saves data in every comparison"),
    guard("guard.capacity.gap_survives_capacity", _gap_survives_capacity),
    guard("guard.capacity.size_moves_every_kind", _size_moves_every_kind,
          "size moves every kind's need beyond its interval at every canvas of the sweep"),
    guard("guard.capacity_smallest_canvas_not_apart", _smallest_canvas_not_apart,
          "at the capacity sweep's smallest canvas, the best dense and worst conv sizes are not apart"),
]
