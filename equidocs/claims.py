"""Claims about results, checked when the site is built.

A page states a qualitative result in one of two ways: a named claim, ``[[claim:NAME]]``, whose
computed sentence (numbers and intervals filled in) replaces the token; or a sentence written by
hand, its numbers from tokens, followed by a silent guard, ``[[claim:guard.NAME]]``, which prints
nothing. Every claim NAME also has a guard ``guard.NAME``. The build evaluates each on the result
records it publishes and fails, naming the page, the claim and the numbers, when the data do not
support it. A comparison holds only when its 95%
interval excludes equality: "conv is more accurate than dense" needs the whole interval of the
paired difference above zero (over seeds and test examples, :mod:`equidocs.stats`).

>>> records = {"sample_efficiency": {"result": {"tasks": {"patterns": {"ns": [16, 64], "arms": {
...     "conv": {"test_acc": [[0.9, 1.0], [0.8, 1.0], [0.9, 0.9]]},
...     "dense": {"test_acc": [[0.3, 0.6], [0.2, 0.5], [0.3, 0.6]]}}}}}}}
>>> evaluate("patterns.conv_beats_dense", records).holds
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from equidocs.experiments.wording import need_words, times
from equidocs.stats import paired_difference

KIND_NAMES = {"conv": "conv net", "local": "locally-connected net", "dense": "dense net",
              "conv+perm": "conv net on shuffled pixels", "dense+perm": "dense net on shuffled pixels",
              "conv+zeros": "conv net with zero padding and max-pooling"}
TASK_NAMES = {"patterns": "glyphs", "digits": "digits"}


@dataclass(frozen=True)
class Verdict:
    holds: bool
    sentence: str     # what the page shows when the claim holds
    evidence: str     # the numbers behind it (shown in the build error when it does not)


@dataclass(frozen=True)
class Claim:
    name: str
    check: Callable[[dict], Verdict]   # {experiment: record} -> verdict


def _arms(records: dict, task: str) -> tuple[list, dict, int | None]:
    data = records["sample_efficiency"]["result"]["tasks"][task]
    return data["ns"], data["arms"], data.get("spec", {}).get("n_test")


def more_accurate_everywhere(task: str, better: str, worse: str) -> Claim:
    """``better`` beats ``worse`` on ``task`` at every training-set size (paired by seed)."""

    def check(records: dict) -> Verdict:
        ns, arms, n_test = _arms(records, task)
        a, b = np.array(arms[better]["test_acc"]), np.array(arms[worse]["test_acc"])  # (seeds, ns)
        diffs = [paired_difference(a[:, i], b[:, i], n_test=n_test) for i in range(len(ns))]
        evidence = "; ".join(f"n={n}: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]" for n, d in zip(ns, diffs))
        lo = min(d.low for d in diffs)
        sentence = (f"On the {TASK_NAMES[task]}, the {KIND_NAMES[better]} is more accurate than the "
                    f"{KIND_NAMES[worse]} at every training-set size tried ({len(ns)} sizes, "
                    f"{a.shape[0]} seeds; the smallest gain is {min(d.mean for d in diffs):+.0%} points, "
                    f"every 95% interval above zero)")
        return Verdict(lo > 0, sentence, f"{better} minus {worse} test accuracy: {evidence}")

    return Claim(f"{task}.{better.replace('+', '_')}_beats_{worse.replace('+', '_')}", check)


def _need(arm: dict) -> str:
    """How many examples an arm needs, from its recorded need.

    >>> _need({"need": {"value": 43.2, "censored": "", "ci": [30.1, 61.0]}})
    '43 examples (95% interval 30 to 61)'
    >>> _need({"need": {"value": 16384.0, "censored": "above", "ci": [16384.0, 16384.0]}})
    'more than 16,384 examples (it did not reach the target on the largest training set tried)'
    """
    need = arm["need"]
    if need["censored"] == "above":
        return f"more than {need['value']:,.0f} examples (it did not reach the target on the largest training set tried)"
    if need["censored"] == "below":
        return f"at most {need['value']:,.0f} examples (the smallest training set tried)"
    low, high = need["ci"]
    return f"{need['value']:,.0f} examples (95% interval {low:,.0f} to {high:,.0f})"


def _ratio_phrase(r: dict, unit: str = "times the examples") -> str:
    """A recorded ratio of needs in words: "85 times the examples (95% interval 60 to 120)", "more
    than 30 ..." when only its low end is known, or no interval when too many draws never crossed.

    >>> _ratio_phrase({"value": 85.2, "low": 60.1, "high": 120.4, "lower_bound_only": False}, "times as many")
    '85 times as many (95% interval 60 to 120)'
    >>> _ratio_phrase({"value": 0.74, "low": 0.0, "high": None, "lower_bound_only": False})
    '0.74 times the examples (no interval: too many bootstrap draws never reached the target)'
    """
    if r["low"] <= 0 and r["high"] is None:
        at_least = "at least " if r["lower_bound_only"] else ""
        return f"{at_least}{times(r['value'])} {unit} (no interval: too many bootstrap draws never reached the target)"
    if r["lower_bound_only"] or r["high"] is None:
        return f"more than {times(r['low'])} {unit} (the low end of the 95% interval)"
    return f"{times(r['value'])} {unit} (95% interval {times(r['low'])} to {times(r['high'])})"


def fewer_examples(task: str, better: str, worse: str) -> Claim:
    """``better`` reaches the task's target with fewer examples than ``worse``: the 95% interval of
    the ratio of their needs (bootstrap over seeds and test examples) lies above 1."""

    def check(records: dict) -> Verdict:
        data = records["sample_efficiency"]["result"]["tasks"][task]
        arms, target = data["arms"], f"{data['target']:.0%}"
        ratio = data["ratios"].get(f"{worse}/{better}")
        if ratio is None or ratio["value"] is None:
            return Verdict(False, "", f"no ratio of {worse} to {better}: the {better} never reached {target}")
        canvas = data["spec"]["canvas"]
        sentence = (f"On the {TASK_NAMES[task]} ({canvas}×{canvas} canvas), the {KIND_NAMES[better]} reaches "
                    f"{target} test accuracy with {_need(arms[better])}; the {KIND_NAMES[worse]} needs "
                    f"{_need(arms[worse])}: {_ratio_phrase(ratio, 'times as many')}")
        evidence = (f"{worse}/{better} need ratio {ratio['value']} [{ratio['low']}, {ratio['high']}]; "
                    f"{better}: {arms[better]['need']}; {worse}: {arms[worse]['need']}")
        # the ratio must be the one of these two needs (a record whose arms were swapped is not)
        consistent = math.isclose(ratio["value"], arms[worse]["need"]["value"] / arms[better]["need"]["value"],
                                  rel_tol=1e-9)
        return Verdict(consistent and ratio["low"] > 1, sentence, evidence)

    return Claim(f"{task}.{better.replace('+', '_')}_fewer_examples_than_{worse.replace('+', '_')}", check)


def need_comparison(task: str, first: str, second: str) -> Claim:
    """A computed sentence (always true): how many times the examples of ``second`` ``first`` needs,
    and whether the 95% interval separates the two ("inconclusive" when it includes 1)."""

    def check(records: dict) -> Verdict:
        data = records["sample_efficiency"]["result"]["tasks"][task]
        r, target = data["ratios"][f"{first}/{second}"], f"{data['target']:.0%}"
        head = f"On the {TASK_NAMES[task]}, to reach {target} the {KIND_NAMES[first]} needs"
        if r["value"] is None:
            return Verdict(True, f"On the {TASK_NAMES[task]}, the {KIND_NAMES[first]} and the "
                           f"{KIND_NAMES[second]} cannot be compared at {target}: the "
                           f"{KIND_NAMES[second]} never reached it", str(r))
        size = _ratio_phrase(r).replace("the examples", f"the examples of the {KIND_NAMES[second]}", 1)
        separated = r["low"] > 1 or (r["high"] is not None and r["high"] < 1)
        tail = "" if separated else "; the interval includes 1, so the data do not separate them (inconclusive)"
        return Verdict(True, f"{head} {size}{tail}", str(r))

    return Claim(f"{task}.{first.replace('+', '_')}_vs_{second.replace('+', '_')}_examples", check)


def comparison(task: str, first: str, second: str) -> Claim:
    """A computed sentence (always true): at how many sizes ``first`` beats, loses to or ties ``second``."""

    def check(records: dict) -> Verdict:
        ns, arms, n_test = _arms(records, task)
        a, b = np.array(arms[first]["test_acc"]), np.array(arms[second]["test_acc"])
        diffs = [paired_difference(a[:, i], b[:, i], n_test=n_test) for i in range(len(ns))]
        wins = [n for n, d in zip(ns, diffs) if d.low > 0]
        losses = [n for n, d in zip(ns, diffs) if d.high < 0]
        ties = [n for n, d in zip(ns, diffs) if not d.excludes(0.0)]
        parts = [f"more accurate at {_sizes(wins)}" if wins else "",
                 f"less accurate at {_sizes(losses)}" if losses else "",
                 f"indistinguishable (95% interval includes zero) at {_sizes(ties)}" if ties else ""]
        sentence = (f"On the {TASK_NAMES[task]}, compared with the {KIND_NAMES[second]}, the "
                    f"{KIND_NAMES[first]} is " + "; ".join(p for p in parts if p)
                    if wins or losses else
                    f"On the {TASK_NAMES[task]}, the {KIND_NAMES[first]} and the {KIND_NAMES[second]} "
                    f"are indistinguishable at every size tried")
        evidence = "; ".join(f"n={n}: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]" for n, d in zip(ns, diffs))
        return Verdict(True, sentence, evidence)

    return Claim(f"{task}.{first}_vs_{second}", check)


def sharing_beats_locality(task: str) -> Claim:
    """Averaged over sizes, sharing's gain (conv - local) exceeds locality's (local - dense)."""

    def check(records: dict) -> Verdict:
        ns, arms, n_test = _arms(records, task)
        conv, local, dense = (np.array(arms[k]["test_acc"]).mean(1) for k in ("conv", "local", "dense"))
        d = paired_difference(conv - local, local - dense)  # per seed, averaged over the sizes
        sentence = (f"On the {TASK_NAMES[task]}, sharing adds more accuracy than locality does: averaged "
                    f"over the training-set sizes, conv minus locally connected exceeds locally "
                    f"connected minus dense by {100 * d.mean:.0f} points of accuracy (95% interval "
                    f"{100 * d.low:.0f} to {100 * d.high:.0f})")
        return Verdict(d.low > 0, sentence, f"sharing gain minus locality gain: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]")

    return Claim(f"{task}.sharing_beats_locality", check)


NEAR_CHANCE = 0.05  # "near chance": within 5 percentage points of it


def amnesia_transfer() -> Claim:
    """Trained in one quadrant, at the largest size: the conv net is accurate outside the quadrant
    (mean - sd above the dense net's mean + sd), the dense net stays near chance outside it although
    it learned the inside (inside mean - sd above its outside mean + sd)."""

    def check(records: dict) -> Verdict:
        record = records["amnesia"]
        result, n_seeds = record["result"], len(record.get("config", {}).get("seeds", []))
        n, chance = max(result["ns"]), 1 / len(result["classes"])
        conv, dense = (result["models"][k]["by_n"][str(n)] for k in ("conv", "dense"))
        (c, c_sd), (d, d_sd), (d_in, d_in_sd) = conv["outside"], dense["outside"], dense["inside"]
        sentence = (f"Trained on {n:,} examples with every glyph inside the top-left quadrant, the conv "
                    f"net scores {c:.0%} with the glyph outside it, the dense net {d:.0%}, near chance "
                    f"({chance:.0%}), although it scores {d_in:.0%} inside the quadrant"
                    + (f" (means over {n_seeds} seeds)" if n_seeds else ""))
        holds = c - c_sd > d + d_sd and d - chance < NEAR_CHANCE and d_in - d_in_sd > d + d_sd
        evidence = (f"n={n}: conv outside {c:.1%} ± {c_sd:.1%}; dense outside {d:.1%} ± {d_sd:.1%}, "
                    f"inside {d_in:.1%} ± {d_in_sd:.1%}; chance {chance:.1%}")
        return Verdict(holds, sentence, evidence)

    return Claim("amnesia.conv_transfers_dense_does_not", check)


def conv_designs_most_consistent() -> Claim:
    """After training, the least shift-consistent conv design still beats the most consistent of
    the locally-connected and dense nets (mean - sd above mean + sd)."""

    def check(records: dict) -> Verdict:
        trained = records["equivariance_error"]["result"]["trained"]
        convs = {name: v["consistency"] for name, v in trained.items() if name.startswith("conv")}
        worst = min(convs, key=lambda name: convs[name][0])
        (w, w_sd), (loc, loc_sd), (den, den_sd) = (convs[worst], trained["locally connected"]["consistency"],
                                                   trained["dense"]["consistency"])
        sentence = (f"After training, every conv design keeps its predicted class under random shifts "
                    f"for at least {w:.0%} of test images (the lowest: {worst}), the locally-connected net for "
                    f"{loc:.0%} and the dense net for {den:.0%}")
        holds = w - w_sd > max(loc + loc_sd, den + den_sd)
        evidence = (f"least consistent conv design {worst}: {w:.1%} ± {w_sd:.1%}; locally connected "
                    f"{loc:.1%} ± {loc_sd:.1%}; dense {den:.1%} ± {den_sd:.1%}")
        return Verdict(holds, sentence, evidence)

    return Claim("equivariance.conv_designs_most_consistent", check)


def _exponents_apart(name: str, pick: Callable[[dict], tuple], words: str) -> Claim:
    """A claim that one fitted growth exponent's 95% interval lies wholly above another's.

    ``pick(summary)`` returns ``((label, entry), (label, entry))`` from the growth-law summary;
    ``words`` is the sentence, with ``{a}`` and ``{b}`` for the two fitted laws."""

    def check(records: dict) -> Verdict:
        (la, a), (lb, b) = pick(records["resolution_scaling"]["result"]["summary"])
        missing = [label for label, e in ((la, a), (lb, b)) if e["exponent_d_ci"] is None]
        if missing:
            return Verdict(False, "", f"no fitted exponent for {missing[0]}")
        law = {label: f"d^{e['exponent_d']:.2f} ({e['exponent_d_ci'][0]:.2f} to {e['exponent_d_ci'][1]:.2f})"
               for label, e in ((la, a), (lb, b))}
        evidence = f"{la}: N ∝ {law[la]}; {lb}: N ∝ {law[lb]}"
        return Verdict(a["exponent_d_ci"][0] > b["exponent_d_ci"][1],
                       words.format(a=law[la], b=law[lb]), evidence)

    return Claim(name, check)


def grows_faster(steeper: str, flatter: str) -> Claim:
    """As the canvas grows, ``steeper``'s need grows faster than ``flatter``'s: the 95% bootstrap
    intervals of their exponents in pixels (N ∝ d^b, censored fits) do not overlap."""
    return _exponents_apart(
        f"growth.{steeper}_faster_than_{flatter}",
        lambda s: ((steeper, s["kinds"][steeper]), (flatter, s["kinds"][flatter])),
        f"As the canvas grows, the {KIND_NAMES[steeper]}'s need grows faster than the "
        f"{KIND_NAMES[flatter]}'s: N ∝ {{a}} against {{b}}, 95% intervals apart")


def positions_not_pixels(kind: str) -> Claim:
    """For ``kind``, more positions (canvas grows) cost more data than more pixels per object (the
    same image upsampled): the exponents' 95% intervals in pixels do not overlap."""
    return _exponents_apart(
        f"growth.{kind}_positions_not_pixels",
        lambda s: (("canvas grows", s["kinds"][kind]), ("upsampled", s["pixels_per_object"]["kinds"][kind])),
        f"For the {KIND_NAMES[kind]}, more positions cost far more data than more pixels: N ∝ {{a}} "
        f"when the canvas grows, against {{b}} when the same image is upsampled, 95% intervals apart")


def _gain(record: dict, name: str) -> tuple[dict, str]:
    """One gain of the readout-controlled ablation, and its ratio in words."""
    g = record["result"]["gains"][name]
    words = ("cannot be read: the better net never reached the target" if g["value"] is None
             else _ratio_phrase(g))
    return g, words


ARM_WORDS = {"conv": "conv net", "conv+global": "conv net with a whole-canvas kernel",
             "local": "locally-connected net", "local+global": "locally-connected net with whole-canvas windows",
             "dense": "dense net"}


def gain_saves_data(name: str) -> Claim:
    """In the readout-controlled ablation, the gain ``name`` saves data: the 95% interval of the
    ratio of needs (worse / better) lies above 1."""

    def check(records: dict) -> Verdict:
        g, words = _gain(records["sharing_locality"], name)
        what, _, condition = g["isolates"].partition(",")
        sentence = (f"With the readout held fixed, {what} saves data" + (f" ({condition.strip()})" if condition else "")
                    + f": the {ARM_WORDS[g['worse']]} needs {words} of the {ARM_WORDS[g['better']]}")
        return Verdict(g["value"] is not None and g["low"] > 1, sentence, str(g))

    return Claim(f"readout.{name}_saves_data", check)


def gain_sentence(name: str) -> Claim:
    """A computed sentence (always true): a gain of the readout-controlled ablation, with its
    interval and its verdict ("inconclusive" when the interval includes 1)."""

    def check(records: dict) -> Verdict:
        g, words = _gain(records["sharing_locality"], name)
        verdict = {"saves data": "fewer examples", "costs data": "more examples"}.get(g["verdict"], "inconclusive, the interval includes 1")
        sentence = (f"{g['isolates'][0].upper()}{g['isolates'][1:]}: the {ARM_WORDS[g['worse']]} needs {words} "
                    f"of the {ARM_WORDS[g['better']]}, so the {ARM_WORDS[g['better']]} needs {verdict}"
                    if g["verdict"] != "inconclusive" else
                    f"{g['isolates'][0].upper()}{g['isolates'][1:]}: the {ARM_WORDS[g['worse']]} needs {words} "
                    f"of the {ARM_WORDS[g['better']]}: inconclusive"
                    + (", the interval includes 1" if g["high"] is not None and g["low"] > 0 else ""))
        return Verdict(True, sentence, str(g))

    return Claim(f"readout.{name}", check)


def gap_survives_capacity() -> Claim:
    """At the largest canvas of the capacity sweep, every dense size's need lies above every conv
    size's (95% intervals apart): no width or depth tried closes the gap there. The sentence also
    says, computed, how the smaller canvases came out."""

    def times(g: dict) -> str:
        if g["value"] is None:
            return "an undetermined number of times"
        if g["bound"] or g["low"] is None or g["high"] is None:
            return f"more than {g['low'] or g['value']:,.1f} times"
        return f"{g['value']:,.1f} times (95% interval {g['low']:,.1f} to {g['high']:,.1f})"

    def check(records: dict) -> Verdict:
        result = records["capacity"]["result"]
        canvases, sep, gaps = result["canvases"], result["separation"], result["gaps"]
        outcome = {c: sep.get(f"{c}.dense_vs_conv", "missing") for c in canvases}
        big = max(canvases)
        others = [f"at {c}×{c} they are " + ("apart too" if outcome[c] == "above" else
                                             "not apart (inconclusive: some intervals overlap)")
                  for c in canvases if c != big]
        sentence = (f"At the capacity sweep's largest canvas, {big}×{big}, every dense net at every width and depth tried "
                    f"needs more examples than every conv net, 95% intervals apart: the best dense size "
                    f"needs {times(gaps[f'{big}.dense_vs_conv'])} the examples of the worst conv size"
                    + (f"; {'; '.join(others)}" if others else ""))
        return Verdict(outcome[big] == "above", sentence, f"separation: {outcome}; gaps: {gaps}")

    return Claim("capacity.gap_survives_capacity", check)


CONTROL_WORDS = {"conv": "conv net (pooled head)", "conv+flatten": "conv net with a flatten head",
                 "dense": "dense net", "dense+shift": "dense net trained with shift augmentation"}


def _control(records: dict, name: str) -> dict:
    """One ratio of the readout / augmentation controls."""
    return records["heads_augmentation"]["result"]["ratios"][name]


def _verdict(r: dict, what: str) -> str:
    """Whether a ratio (first / second) of ``what`` separates the two nets: "so more ..." / "so less
    ..." when its 95% interval excludes 1, else "inconclusive".

    >>> _verdict({"value": 3.0, "low": 1.5, "high": 6.0}, "examples")
    'so more examples'
    >>> _verdict({"value": 1.2, "low": 0.9, "high": 1.6}, "compute"), _verdict({"value": 1.2, "low": 0.0, "high": None}, "compute")
    ('an interval that includes 1: inconclusive', 'inconclusive')
    """
    if r["value"] is not None and r["low"] > 1:
        return f"so more {what}"
    if r["value"] is not None and r["high"] is not None and r["high"] < 1:
        return f"so {'fewer' if what == 'examples' else 'less'} {what}"
    return ("an interval that includes 1: " if r["high"] is not None else "") + "inconclusive"


def _undetermined(arms: dict, r: dict) -> str:
    """Why a ratio of two needs has no value: which net's censoring leaves it open."""
    better, worse = CONTROL_WORDS[r["better"]], CONTROL_WORDS[r["worse"]]
    if arms[r["better"]]["need"]["censored"] == "above":
        return f"the {better} never reached the target"
    return f"the {worse} reached the target on its smallest training set"


def control_sentence(name: str) -> Claim:
    """A computed sentence (always true): one ratio of the readout / augmentation controls, in
    examples and in training compute, each with its interval and its verdict."""

    def check(records: dict) -> Verdict:
        r = _control(records, name)
        arms = records["heads_augmentation"]["result"]["arms"]
        worse, better = CONTROL_WORDS[r["worse"]], CONTROL_WORDS[r["better"]]
        if r["examples"]["value"] is None:
            return Verdict(True, f"The {worse} and the {better} cannot be compared: {_undetermined(arms, r)}",
                           str(r))
        compute = (f"training it at its need takes {_ratio_phrase(r['compute'], 'times the training compute')}, "
                   f"{_verdict(r['compute'], 'compute')}"
                   if r["compute"]["value"] is not None else
                   "their training compute at the need cannot be compared (a need that is only a bound, and "
                   "a compute that does not grow with the training set)")
        sentence = (f"The {worse} needs {_ratio_phrase(r['examples'])} of the {better}, "
                    f"{_verdict(r['examples'], 'examples')}; {compute}")
        return Verdict(True, sentence, str(r))

    return Claim(f"controls.{name}", check)


def control_saves(name: str, unit: str = "examples") -> Claim:
    """In the readout / augmentation controls, the better arm of ratio ``name`` needs less of
    ``unit`` ("examples" or "compute"): the ratio's 95% interval lies above 1."""

    def check(records: dict) -> Verdict:
        r = _control(records, name)
        ratio = r[unit]
        if ratio["value"] is None:
            return Verdict(False, "", f"{unit} ratio undetermined: {r}")
        what = "times the examples" if unit == "examples" else "times the training compute"
        sentence = f"The {CONTROL_WORDS[r['worse']]} needs {_ratio_phrase(ratio, what)} of the {CONTROL_WORDS[r['better']]}"
        return Verdict(ratio["low"] > 1, sentence, str(r))

    return Claim(f"controls.{name}_{unit}", check)


def control_inconclusive(name: str) -> Claim:
    """In the readout / augmentation controls, the examples of ratio ``name`` do not separate the two
    nets: the 95% interval includes 1 (and has both ends)."""

    def check(records: dict) -> Verdict:
        r = _control(records, name)
        ratio = r["examples"]
        if ratio["value"] is None or ratio["high"] is None:
            return Verdict(False, "", f"examples ratio without an interval: {r}")
        sentence = (f"The {CONTROL_WORDS[r['worse']]} needs {_ratio_phrase(ratio)} of the "
                    f"{CONTROL_WORDS[r['better']]}: the interval includes 1, so the data do not separate them")
        return Verdict(ratio["low"] <= 1 <= ratio["high"], sentence, str(r))

    return Claim(f"controls.{name}_inconclusive", check)


# --- Guards: checks behind sentences written by hand ---------------------------------------------
# A guard renders as nothing: ``a sentence a person wrote.[[claim:NAME]]`` shows the sentence as
# written, and the build fails when the data stop supporting it. Each says what it checks.

def guard(name: str, doc: str, test: Callable[[dict], tuple[bool, str]]) -> Claim:
    """A claim that prints nothing: ``test(records)`` returns (holds, evidence)."""

    def check(records: dict) -> Verdict:
        holds, evidence = test(records)
        return Verdict(bool(holds), "", f"{doc}: {evidence}")

    return Claim(name, check)


def _ha(records: dict) -> dict:
    return records["heads_augmentation"]["result"]


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


def _flatten_conv_points(records: dict) -> tuple[list, list]:
    """(ns, paired differences) of the flatten-head conv net's test accuracy minus the dense net's,
    at the sizes both were trained on."""
    arms, n_test = _ha(records)["arms"], _ha(records)["spec"]["n_test"]
    flat, dense = arms["conv+flatten"]["curve"], arms["dense"]["curve"]
    ns = [n for n in flat["ns"] if n in dense["ns"]]
    a = np.array(flat["test_acc"])[:, [flat["ns"].index(n) for n in ns]]   # (seeds, ns)
    b = np.array(dense["test_acc"])[:, [dense["ns"].index(n) for n in ns]]
    return ns, [paired_difference(a[:, i], b[:, i], n_test=n_test) for i in range(len(ns))]


def _flatten_conv_wins(records: dict) -> tuple[list, int]:
    """The sizes at which the flatten-head conv net is more accurate than the dense net (paired
    difference's 95% interval above zero), as (size, difference) pairs, and the sizes compared."""
    ns, diffs = _flatten_conv_points(records)
    return [(n, d) for n, d in zip(ns, diffs) if d.low > 0], len(ns)


def flatten_conv_beats_dense_somewhere() -> Claim:
    """Shared filters under a flatten readout are more accurate than the dense net at some sizes
    (the paired difference's 95% interval above zero at one size at least)."""

    def check(records: dict) -> Verdict:
        ns, diffs = _flatten_conv_points(records)
        evidence = "; ".join(f"n={n}: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]" for n, d in zip(ns, diffs))
        return Verdict(bool(_flatten_conv_wins(records)[0]), "", f"flatten-head conv minus dense: {evidence}")

    return Claim("controls.flatten_conv_beats_dense_somewhere", check)


def value(name: str, doc: str, phrase: Callable[[dict], str]) -> Claim:
    """A computed number phrase for a sentence written by hand (``"8 of the 10"``): it holds
    whenever it can be computed, so it is a number, never a claim; guard the sentence separately."""
    return Claim(name, lambda records: Verdict(True, phrase(records), doc))


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


VALUES = [
    value("controls.flatten_conv_wins", "sizes where the flatten-head conv net beats the dense net",
          _wins_phrase),
    value("controls.flatten_conv_lead", "the flatten-head conv net's largest lead over the dense net",
          _lead_phrase),
]


def _summary(records: dict) -> dict:
    return records["resolution_scaling"]["result"]["summary"]


def _memoriser_beats_dense(records: dict) -> tuple[bool, str]:
    """At every canvas where the 1-NN memoriser reaches the target, its need's interval lies wholly
    below the dense net's (or the dense net never reached the target there)."""
    k = _summary(records)["kinds"]
    m, d, sizes = k["memoriser"], k["dense"], _summary(records)["sizes"]
    rows, ok = [], []
    for i, size in enumerate(sizes):
        if m["censored"][i]:
            continue
        dense_low = d["needed"][i] if d["censored"][i] else d["needed_ci"][i][0]
        ok.append(m["needed_ci"][i][1] < dense_low)
        rows.append(f"{size}: 1-NN {m['needed_ci'][i]} vs dense {d['needed_ci'][i]} {d['censored'][i] or ''}")
    return bool(ok) and all(ok), "; ".join(rows)


def _conv_need_grows(records: dict) -> tuple[bool, str]:
    """The conv net's need grows with the canvas (its need at the largest canvas lies above its
    need at the smallest, intervals apart), yet far more slowly than the dense net's (pixel
    exponents' intervals apart)."""
    k = _summary(records)["kinds"]
    c, d = k["conv"], k["dense"]
    grows = not c["censored"][0] and not c["censored"][-1] and c["needed_ci"][0][1] < c["needed_ci"][-1][0]
    slower = c["exponent_d_ci"] is not None and d["exponent_d_ci"] is not None and \
        c["exponent_d_ci"][1] < d["exponent_d_ci"][0]
    return grows and slower, f"conv first {c['needed_ci'][0]}, last {c['needed_ci'][-1]}; exponents conv " \
                             f"{c['exponent_d_ci']}, dense {d['exponent_d_ci']}"


def _dense_law_inconclusive(records: dict) -> tuple[bool, str]:
    """The site's own fit does not decide between a power law and an exponential for the dense net
    (growing the canvas): no law wins by delta-AIC >= 2."""
    d = _summary(records)["kinds"]["dense"]
    return d["best_law"] == "inconclusive", f"dense best law: {d['best_law']}; {d['law_win_frequency']}"


def _dense_censored_beyond(records: dict) -> tuple[bool, str]:
    """The dense net's need is measured (not a bound) only on the small canvases: it is censored
    from some canvas of at most 12x12 on, so the large canvases give only lower bounds."""
    s = _summary(records)
    cens = [size for size, c in zip(s["sizes"], s["kinds"]["dense"]["censored"]) if c]
    return bool(cens) and min(cens) <= 12, f"dense censored at {cens}"


def _shuffled_conv_cannot_fit(task: str):
    def test(records: dict) -> tuple[bool, str]:
        arm = records["sample_efficiency"]["result"]["tasks"][task]["arms"]["conv+perm"]
        return (arm["train_acc_min"] < 0.9 and arm["need"]["censored"] == "above",
                f"shuffled conv: lowest training accuracy {arm['train_acc_min']:.1%}, need {arm['need']}")
    return test


def _includes_one(r: dict) -> bool:
    return r["value"] is not None and r["high"] is not None and r["low"] <= 1 <= r["high"]


def _dense_indifferent_to_shuffle(task: str):
    def test(records: dict) -> tuple[bool, str]:
        r = records["sample_efficiency"]["result"]["tasks"][task]["ratios"]["dense+perm/dense"]
        return _includes_one(r), str(r)
    return test


def _zero_padded_conv_beats_dense(task: str):
    def test(records: dict) -> tuple[bool, str]:
        arms = records["sample_efficiency"]["result"]["tasks"][task]["arms"]
        z, d = arms["conv+zeros"]["need"], arms["dense"]["need"]
        dense_low = d["value"] if d["censored"] == "above" else d["ci"][0]
        return not z["censored"] and z["ci"][1] < dense_low, f"zero-padded conv {z}; dense {d}"
    return test


def _zero_padding_least_consistent(records: dict) -> tuple[bool, str]:
    """After training, zero padding leaves a conv design the least shift-consistent of the conv
    designs: its mean + sd lies below every other conv design's mean - sd."""
    trained = records["equivariance_error"]["result"]["trained"]
    convs = {k: v["consistency"] for k, v in trained.items() if k.startswith("conv")}
    zero, others = convs["conv, zero padding"], [v for k, v in convs.items() if k != "conv, zero padding"]
    return zero[0] + zero[1] < min(m - sd for m, sd in others), str(convs)


def _locality_alone_not_shown(records: dict) -> tuple[bool, str]:
    """Locality alone shows no detectable saving anywhere: dense / locally connected includes 1 on
    the glyphs, the locally-connected net does not reach the digits' target where the dense net does,
    and both locality gains of the readout-fixed design are inconclusive."""
    tasks = records["sample_efficiency"]["result"]["tasks"]
    glyphs = tasks["patterns"]["ratios"]["dense/local"]
    digits = tasks["digits"]["arms"]
    gains = records["sharing_locality"]["result"]["gains"]
    fixed = [gains[g]["verdict"] for g in ("locality_with_sharing", "locality_without_sharing")]
    holds = (_includes_one(glyphs) and digits["local"]["need"]["censored"] == "above"
             and not digits["dense"]["need"]["censored"] and all(v == "inconclusive" for v in fixed))
    return holds, f"glyphs dense/local {glyphs}; digits local {digits['local']['need']}, dense " \
                  f"{digits['dense']['need']}; readout-fixed locality gains {fixed}"


def _sharing_saves_everywhere(records: dict) -> tuple[bool, str]:
    """Sharing saves data in every comparison: conv vs locally connected on both tasks (need ratio
    above 1) and both sharing gains of the readout-fixed design."""
    tasks = records["sample_efficiency"]["result"]["tasks"]
    lows = {t: tasks[t]["ratios"]["local/conv"]["low"] for t in tasks}
    gains = records["sharing_locality"]["result"]["gains"]
    fixed = {g: gains[g]["low"] for g in ("sharing_with_locality", "sharing_without_locality")}
    return all(v > 1 for v in lows.values()) and all(v is not None and v > 1 for v in fixed.values()), \
        f"local/conv lows {lows}; readout-fixed sharing gain lows {fixed}"


def _dense_blind_far_away(records: dict) -> tuple[bool, str]:
    """Trained in one quadrant, the dense net stays at chance where no training glyph ever covered a
    pixel, at the smallest and the largest training set (4,096 in the published study)."""
    n = records["amnesia_distance"]["result"]["numbers"]
    holds = n["dense.vs_chance"].startswith("inconclusive") and n["dense.change_verdict"].startswith("inconclusive")
    return holds, f"dense no-overlap: {n['dense.no_overlap_by_n']}; vs chance: {n['dense.vs_chance']}"


def dense_over_local_bound(task: str) -> Claim:
    """The dense / locally-connected need ratio as a bound when only the dense net reached the
    target: less than (dense need) / (largest set the locally-connected net was trained on)."""

    def check(records: dict) -> Verdict:
        arms = records["sample_efficiency"]["result"]["tasks"][task]["arms"]
        dense, local = arms["dense"]["need"], arms["local"]["need"]
        holds = local["censored"] == "above" and not dense["censored"]
        sentence = (f"less than {times(dense['value'] / local['value'])}× (the locally-connected net had not "
                    f"reached the target at {local['value']:,.0f} examples, its largest set)") if holds else ""
        return Verdict(holds, sentence, f"dense {dense}; local {local}")

    return Claim(f"{task}.dense_over_local_bound", check)


def need_span(axis: str, kind: str) -> Claim:
    """A computed phrase (always true): a kind's need at the growth study's smallest and largest
    size, each with its 95% interval, or "more than N" where it is censored."""

    def one(entry: dict, i: int) -> str:
        need, ci, censored = entry["needed"][i], entry["needed_ci"][i], entry["censored"][i]
        return need_words(need, censored or "", ci)

    def check(records: dict) -> Verdict:
        summary = _summary(records)
        entry = (summary if axis == "fov" else summary["pixels_per_object"])["kinds"][kind]
        return Verdict(True, f"from {one(entry, 0)} to {one(entry, -1)}", str(entry["needed_ci"]))

    return Claim(f"growth.{axis}.{kind}.needs", check)


GUARDS = [
    guard("guard.pooling_is_the_saving", "pooled readout saves far more than shared filters alone",
          _pooling_is_the_saving),
    guard("guard.flatten_sharing_small", "shared filters under a flatten readout save under 2x",
          _flatten_sharing_small),
    guard("guard.memoriser_beats_dense", "the 1-NN memoriser needs fewer examples than the dense net",
          _memoriser_beats_dense),
    guard("guard.conv_need_grows_slowly", "the conv net's need grows, more slowly than the dense net's",
          _conv_need_grows),
    guard("guard.dense_law_inconclusive", "the dense net's growth law is not decided", _dense_law_inconclusive),
    guard("guard.dense_censored_on_large_canvases", "the dense net is measured only on small canvases",
          _dense_censored_beyond),
    *(guard(f"guard.{t}.shuffled_conv_cannot_fit", "the shuffled conv net cannot fit its training set",
            _shuffled_conv_cannot_fit(t)) for t in TASK_NAMES),
    *(guard(f"guard.{t}.dense_indifferent_to_shuffle", "shuffled dense / dense includes 1",
            _dense_indifferent_to_shuffle(t)) for t in TASK_NAMES),
    *(guard(f"guard.{t}.zero_padded_conv_beats_dense", "the zero-padded, pooled conv net needs fewer "
            "examples than the dense net (intervals apart)", _zero_padded_conv_beats_dense(t)) for t in TASK_NAMES),
    guard("guard.zero_padding_least_consistent", "zero padding costs the most shift consistency",
          _zero_padding_least_consistent),
    guard("guard.unshared_nets_barely_learn_in_equivariance_error", "the locally-connected and dense nets "
          "of the consistency study score below 50% test accuracy", lambda records: (
              all(records["equivariance_error"]["result"]["trained"][k]["test_acc"][0] < 0.5
                  for k in ("locally connected", "dense")),
              {k: records["equivariance_error"]["result"]["trained"][k]["test_acc"]
               for k in ("locally connected", "dense")})),
    guard("guard.capacity_smallest_canvas_not_apart", "at the capacity sweep's smallest canvas, the best "
          "dense and worst conv sizes are not apart", lambda records: (
              records["capacity"]["result"]["separation"].get(
                  f"{min(records['capacity']['result']['canvases'])}.dense_vs_conv") not in (None, "above"),
              records["capacity"]["result"]["separation"])),
    guard("guard.conv_law_inconclusive", "the conv net's growth law is not decided", lambda records: (
        _summary(records)["kinds"]["conv"]["best_law"] == "inconclusive", _summary(records)["kinds"]["conv"]["best_law"])),
    *(guard(f"guard.{t}.zero_padding_costs_data", "the zero-padded, pooled conv net needs more examples "
            "than the exact conv net (ratio interval above 1)", (lambda t: lambda records: (
                records["sample_efficiency"]["result"]["tasks"][t]["ratios"]["conv+zeros/conv"]["low"] > 1,
                records["sample_efficiency"]["result"]["tasks"][t]["ratios"]["conv+zeros/conv"]))(t))
      for t in TASK_NAMES),
    guard("guard.locality_alone_not_shown", "locality alone saves no detectable data",
          _locality_alone_not_shown),
    guard("guard.sharing_saves_everywhere", "sharing saves data in every comparison", _sharing_saves_everywhere),
    guard("guard.dense_blind_far_away", "the dense net stays at chance far from its training quadrant",
          _dense_blind_far_away),
]


def _sizes(ns: list) -> str:
    """``n = 16, 64 and 256`` style list of training-set sizes.

    >>> _sizes([16]), _sizes([16, 64, 256])
    ('n = 16', 'n = 16, 64 and 256')
    """
    text = ", ".join(f"{n:,}" for n in ns[:-1]) + (" and " if len(ns) > 1 else "") + f"{ns[-1]:,}"
    return f"n = {text}"


CLAIMS: dict[str, Claim] = {c.name: c for c in [
    sharing_beats_locality("patterns"),
    sharing_beats_locality("digits"),
    comparison("patterns", "local", "dense"),
    comparison("digits", "local", "dense"),
    more_accurate_everywhere("patterns", "conv", "dense"),
    more_accurate_everywhere("patterns", "conv", "local"),
    more_accurate_everywhere("digits", "conv", "dense"),
    more_accurate_everywhere("digits", "conv", "local"),
    more_accurate_everywhere("patterns", "conv", "conv+perm"),
    more_accurate_everywhere("digits", "conv", "conv+perm"),
    fewer_examples("patterns", "conv", "dense"),
    fewer_examples("digits", "conv", "dense"),
    fewer_examples("patterns", "conv", "local"),
    fewer_examples("digits", "conv", "local"),
    need_comparison("patterns", "conv+zeros", "conv"),
    need_comparison("digits", "conv+zeros", "conv"),
    need_comparison("patterns", "dense+perm", "dense"),
    need_comparison("digits", "dense+perm", "dense"),
    need_comparison("patterns", "dense", "local"),
    need_comparison("digits", "dense", "local"),
    amnesia_transfer(),
    conv_designs_most_consistent(),
    grows_faster("dense", "conv"),
    grows_faster("local", "conv"),
    positions_not_pixels("dense"),
    gap_survives_capacity(),
    gain_saves_data("sharing_with_locality"),
    gain_saves_data("sharing_without_locality"),
    gain_saves_data("readout"),
    *(gain_sentence(name) for name in ("sharing_with_locality", "sharing_without_locality",
                                       "locality_with_sharing", "locality_without_sharing", "readout")),
    *(control_sentence(name) for name in ("pooling", "sharing_flatten", "augmentation", "augmented_vs_conv",
                                          "dense_vs_conv")),
    *(control_saves(name, unit) for name in ("pooling", "sharing_flatten", "augmentation", "augmented_vs_conv",
                                             "dense_vs_conv") for unit in ("examples", "compute")),
    *(control_inconclusive(name) for name in ("pooling", "sharing_flatten", "augmentation", "augmented_vs_conv",
                                              "dense_vs_conv")),
    flatten_conv_beats_dense_somewhere(),
    *(dense_over_local_bound(task) for task in TASK_NAMES),
    *(need_span("fov", kind) for kind in ("conv", "local", "dense", "memoriser")),
    *(need_span("upsampled", kind) for kind in ("conv", "dense", "memoriser")),
    *GUARDS,
    *VALUES,
]}
# Every claim also serves as a silent guard, ``guard.NAME``: it holds when NAME holds and prints
# nothing, for a sentence written by hand whose numbers come from tokens.
CLAIMS.update({f"guard.{name}": Claim(f"guard.{name}", (lambda c: lambda records: Verdict(
    c.check(records).holds, "", c.check(records).evidence))(claim))
    for name, claim in list(CLAIMS.items()) if not name.startswith("guard.")})


class ClaimError(ValueError):
    """A claim that the published data do not support."""


def evaluate(name: str, records: dict) -> Verdict:
    """The verdict of claim ``name`` on ``{experiment: record}``."""
    if name not in CLAIMS:
        raise KeyError(f"claim {name!r}: unknown; expected one of {', '.join(sorted(CLAIMS))}")
    return CLAIMS[name].check(records)


def render(name: str, records: dict, page: str) -> str:
    """The claim's sentence when the data support it; else :class:`ClaimError` naming page and numbers."""
    verdict = evaluate(name, records)
    if not verdict.holds:
        raise ClaimError(f"{page}: claim {name!r} is not supported by the data: {verdict.evidence}")
    return verdict.sentence
