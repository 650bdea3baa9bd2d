"""Claims about results, checked when the site is built.

A page states a result through a named claim, ``[[claim:NAME]]``, never as hand-typed prose. The
build evaluates the claim on the result records it publishes: the claim's sentence (with its
numbers and intervals filled in) replaces the token when the data support it, and the build fails,
naming the page, the claim and the numbers, when they do not. A comparison holds only when its 95%
interval excludes equality: "conv is more accurate than dense" needs the whole interval of the
paired difference above zero (over seeds and test examples, :mod:`equidocs.stats`).

>>> records = {"sample_efficiency": {"result": {"tasks": {"patterns": {"ns": [16, 64], "arms": {
...     "conv": {"test_acc": [[0.9, 1.0], [0.8, 1.0], [0.9, 0.9]]},
...     "dense": {"test_acc": [[0.3, 0.6], [0.2, 0.5], [0.3, 0.6]]}}}}}}}
>>> evaluate("patterns.conv_beats_dense", records).holds
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from equidocs.stats import paired_difference

KIND_NAMES = {"conv": "conv net", "local": "locally-connected net", "dense": "dense net",
              "conv+perm": "conv net on shuffled pixels", "dense+perm": "dense net on shuffled pixels"}
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


def fewer_examples(task: str, better: str, worse: str) -> Claim:
    """``better`` reaches the target with fewer examples than ``worse`` (intervals apart)."""

    def check(records: dict) -> Verdict:
        ns, arms, _ = _arms(records, task)
        target = records["sample_efficiency"]["result"]["numbers"]["target"]
        a, b = arms[better], arms[worse]
        if a["n_target"] is None:  # the better one never reached the target: nothing to claim
            return Verdict(False, "", f"{better} does not reach {target} with {ns[-1]:,} examples")
        a_hi = a["n_target_ci"][1]
        b_lo = b["n_target_ci"][0] if b["n_target"] is not None else float(ns[-1])
        reached = b["n_target"] is not None
        floor = a["n_target"] is not None and a["n_target"] <= ns[0]
        at = f"at most {ns[0]:,} examples" if floor else f"{a['n_target']:,.0f} examples (95% interval {a['n_target_ci'][0]:,.0f} to {a['n_target_ci'][1]:,.0f})"
        if reached:
            versus = f"the {KIND_NAMES[worse]} needs {b['n_target']:,.0f} (95% interval {b['n_target_ci'][0]:,.0f} to {b['n_target_ci'][1]:,.0f})"
        else:
            versus = (f"the {KIND_NAMES[worse]} does not reach it with {ns[-1]:,}, the most tried: it needs "
                      f"more than {ns[-1] / a['n_target']:,.0f} times as many")
        sentence = (f"On the {TASK_NAMES[task]}, the {KIND_NAMES[better]} reaches {target} test accuracy with "
                    f"{at}; {versus}")
        evidence = (f"{better}: {a['n_target']} [{a['n_target_ci'][0]}, {a_hi}]; {worse}: "
                    f"{b['n_target']} [{b['n_target_ci'][0] if reached else '>' + str(ns[-1])}, "
                    f"{b['n_target_ci'][1] if reached else ''}]")
        holds = a["n_target"] is not None and a_hi is not None and b_lo is not None and a_hi < b_lo
        return Verdict(holds, sentence, evidence)

    return Claim(f"{task}.{better}_fewer_examples_than_{worse}", check)


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
                    f"connected minus dense by {d.mean:.0%} points (95% interval {d.low:.0%} to {d.high:.0%})")
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
    amnesia_transfer(),
    conv_designs_most_consistent(),
    grows_faster("dense", "conv"),
    grows_faster("local", "conv"),
    positions_not_pixels("dense"),
]}


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
