"""Guards on the data-efficiency runs (``results/sample_efficiency.json``): which net is more
accurate, which needs fewer examples, and what shuffling the pixels or zero padding changes.

Accuracies are compared paired by seed (:func:`equidocs.stats.paired_difference`); needs through
the recorded ratios and their 95% intervals. Names: ``guard.TASK.…`` with TASK "patterns" (the
glyphs) or "digits".

>>> arms = {"conv": {"test_acc": [[0.9, 1.0], [0.8, 1.0], [0.9, 0.9]]}, "dense": {"test_acc": [[0.3, 0.6]] * 3}}
>>> records = {"sample_efficiency": {"result": {"tasks": {"patterns": {"ns": [16, 64], "arms": arms}}}}}
>>> more_accurate_everywhere("patterns", "conv", "dense").check(records).holds
True
"""

from __future__ import annotations

import math

import numpy as np

from equidocs.claims.verdict import Claim, Verdict, guard, includes_one, per_size, value
from equidocs.experiments.wording import times
from equidocs.stats import paired_difference, shared_test_intervals

TASKS = ("patterns", "digits")   # the glyphs and the real digits


def _task(records: dict, task: str) -> dict:
    return records["sample_efficiency"]["result"]["tasks"][task]


def _slug(kind: str) -> str:
    return kind.replace("+", "_")


def more_accurate_everywhere(task: str, better: str, worse: str) -> Claim:
    """``better`` beats ``worse`` on ``task`` at every training-set size (paired by seed, each 95%
    interval above zero)."""

    def test(records: dict) -> tuple[bool, str]:
        data = _task(records, task)
        ns, arms, n_test = data["ns"], data["arms"], data.get("spec", {}).get("n_test")
        a, b = np.array(arms[better]["test_acc"]), np.array(arms[worse]["test_acc"])  # (seeds, ns)
        diffs = [paired_difference(a[:, i], b[:, i], n_test=n_test) for i in range(len(ns))]
        return min(d.low for d in diffs) > 0, f"{better} minus {worse} test accuracy: {per_size(ns, diffs)}"

    return guard(f"guard.{task}.{_slug(better)}_beats_{_slug(worse)}", test)


def fewer_examples(task: str, better: str, worse: str) -> Claim:
    """``better`` reaches the task's target with fewer examples than ``worse``: the 95% interval of
    the recorded ratio of their needs lies above 1, and the ratio is the one of these two needs."""

    def test(records: dict) -> tuple[bool, str]:
        data = _task(records, task)
        arms, ratio = data["arms"], data["ratios"].get(f"{worse}/{better}")
        if ratio is None or ratio["value"] is None:
            return False, f"no ratio of {worse} to {better}: the {better} never reached {data['target']:.0%}"
        evidence = (f"{worse}/{better} need ratio {ratio['value']} [{ratio['low']}, {ratio['high']}]; "
                    f"{better}: {arms[better]['need']}; {worse}: {arms[worse]['need']}")
        # the ratio must be the one of these two needs (a record whose arms were swapped is not)
        consistent = math.isclose(ratio["value"], arms[worse]["need"]["value"] / arms[better]["need"]["value"],
                                  rel_tol=1e-9)
        return consistent and ratio["low"] > 1, evidence

    return guard(f"guard.{task}.{_slug(better)}_fewer_examples_than_{_slug(worse)}", test)


def sharing_beats_locality(task: str) -> Claim:
    """Averaged over sizes, sharing's gain (conv - local) exceeds locality's (local - dense), the
    95% interval of the per-seed difference above zero."""

    def test(records: dict) -> tuple[bool, str]:
        arms = _task(records, task)["arms"]
        conv, local, dense = (np.array(arms[k]["test_acc"]).mean(1) for k in ("conv", "local", "dense"))
        d = paired_difference(conv - local, local - dense)  # per seed, averaged over the sizes
        return d.low > 0, f"sharing gain minus locality gain: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]"

    return guard(f"guard.{task}.sharing_beats_locality", test)


def shuffled_conv_cannot_fit(task: str) -> Claim:
    """On shuffled pixels the conv net does not fit its training set (lowest training accuracy
    below 90%) and never reaches the test target."""

    def test(records: dict) -> tuple[bool, str]:
        arm = _task(records, task)["arms"]["conv+perm"]
        return (arm["train_acc_min"] < 0.9 and arm["need"]["censored"] == "above",
                f"shuffled conv: lowest training accuracy {arm['train_acc_min']:.1%}, need {arm['need']}")

    return guard(f"guard.{task}.shuffled_conv_cannot_fit", test,
                 "the shuffled conv net cannot fit its training set")


def dense_indifferent_to_shuffle(task: str) -> Claim:
    """Shuffling the pixels leaves the dense net's need unchanged: shuffled dense / dense includes 1."""

    def test(records: dict) -> tuple[bool, str]:
        r = _task(records, task)["ratios"]["dense+perm/dense"]
        return includes_one(r), str(r)

    return guard(f"guard.{task}.dense_indifferent_to_shuffle", test, "shuffled dense / dense includes 1")


def zero_padded_conv_beats_dense(task: str) -> Claim:
    """The zero-padded, max-pooled conv net needs fewer examples than the dense net: its interval
    lies wholly below the dense net's (or below the dense net's bound when that is censored)."""

    def test(records: dict) -> tuple[bool, str]:
        arms = _task(records, task)["arms"]
        z, d = arms["conv+zeros"]["need"], arms["dense"]["need"]
        dense_low = d["value"] if d["censored"] == "above" else d["ci"][0]
        return not z["censored"] and z["ci"][1] < dense_low, f"zero-padded conv {z}; dense {d}"

    return guard(f"guard.{task}.zero_padded_conv_beats_dense", test,
                 "the zero-padded, pooled conv net needs fewer examples than the dense net (intervals apart)")


def zero_padding_costs_data(task: str) -> Claim:
    """The zero-padded, pooled conv net needs more examples than the exact (circular) conv net:
    the ratio's 95% interval lies above 1."""

    def test(records: dict) -> tuple[bool, str]:
        r = _task(records, task)["ratios"]["conv+zeros/conv"]
        return r["low"] > 1, str(r)

    return guard(f"guard.{task}.zero_padding_costs_data", test, "the zero-padded, pooled conv net needs more "
                 "examples than the exact conv net (ratio interval above 1)")


def dense_over_local_bound(task: str) -> Claim:
    """A sentence: the dense / locally-connected need ratio as a bound when only the dense net
    reached the target, less than (dense need) / (largest set the locally-connected net was
    trained on)."""

    def check(records: dict) -> Verdict:
        arms = _task(records, task)["arms"]
        dense, local = arms["dense"]["need"], arms["local"]["need"]
        holds = local["censored"] == "above" and not dense["censored"]
        sentence = (f"less than {times(dense['value'] / local['value'])}× (the locally-connected net had not "
                    f"reached the target at {local['value']:,.0f} examples, its largest set)") if holds else ""
        return Verdict(holds, sentence, f"dense {dense}; local {local}")

    return Claim(f"{task}.dense_over_local_bound", check)


TABLE_ARMS = ("conv", "conv+zeros", "local", "dense", "conv+perm", "dense+perm")
TABLE_SIZES = (16, 64, 256, 1024)   # sizes every net's ladder includes


def accuracy(task: str, arm: str, n: int) -> Claim:
    """``arm``'s test accuracy on ``task`` at ``n`` examples, the seed mean with its 95% interval
    over seeds and the shared test examples (:func:`equidocs.stats.shared_test_intervals`), as
    ``"92% (89–94)"``: a number for a table, named ``accuracy.TASK.ARM.N``."""

    def phrase(records: dict) -> str:
        data = _task(records, task)
        if n not in data["ns"]:   # a profile whose ladder skips this size (the quick one)
            return "not run"
        column = np.asarray(data["arms"][arm]["test_acc"], float)[:, [data["ns"].index(n)]]
        iv = shared_test_intervals(column, data["spec"]["n_test"])[0]
        return f"{100 * iv.mean:.0f}% ({100 * iv.low:.0f}–{100 * iv.high:.0f})"

    return value(f"accuracy.{task}.{_slug(arm)}.{n}", f"{arm} test accuracy at n={n} on {task}", phrase)


def _tenfold_canvas_matches_mechanism(records: dict) -> tuple[bool, str]:
    """The home page quotes the mechanism study's ratio at its 10×10 canvas (the token
    ``resolution_scaling.ratio.dense_conv.10``) beside this study's glyph ratio: the glyph canvas
    must be 10×10 too with the same target accuracy, and the mechanism study must publish 10×10."""
    task = _task(records, "patterns")
    summary = records["resolution_scaling"]["result"]["summary"]
    canvas, target, sizes = task["spec"]["canvas"], task.get("target"), summary["sizes"]
    holds = canvas == 10 and 10 in sizes and target == summary["target"]
    return holds, f"glyph canvas {canvas}, target {target}; mechanism canvases {sizes}, target {summary['target']}"


CLAIMS: list[Claim] = [
    *(accuracy(task, arm, n) for task in TASKS for arm in TABLE_ARMS for n in TABLE_SIZES),
    *(more_accurate_everywhere(task, "conv", worse) for task in TASKS for worse in ("dense", "local", "conv+perm")),
    *(fewer_examples(task, "conv", worse) for task in TASKS for worse in ("dense", "local")),
    *(check(task) for task in TASKS for check in (sharing_beats_locality, shuffled_conv_cannot_fit,
                                                  dense_indifferent_to_shuffle, zero_padded_conv_beats_dense,
                                                  zero_padding_costs_data)),
    dense_over_local_bound("digits"),
    guard("guard.tenfold_canvas_matches_mechanism", _tenfold_canvas_matches_mechanism,
          "the glyph study's canvas is the mechanism study's 10×10"),
]
