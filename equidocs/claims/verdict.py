"""What a check returns and the three kinds of check a page uses: a sentence, a guard, a value.

A *sentence* claim prints its computed sentence; a *guard* (named ``guard.…``) prints nothing and
fails the build when the hand-written sentence before it stops being true; a *value* prints a
computed number phrase and always holds (the sentence around it needs its own guard).

>>> check = guard("guard.example", lambda records: (records["x"] > 1, f"x = {records['x']}"), "x above 1")
>>> check.check({"x": 0.5})
Verdict(holds=False, sentence='', evidence='x above 1: x = 0.5')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from equidocs.stats import Interval

KINDS = ("sentence", "guard", "value")


@dataclass(frozen=True)
class Verdict:
    """Whether a check holds on the records, what the page shows, and the numbers behind it."""
    holds: bool
    sentence: str     # what the page shows when the claim holds ("" for a guard)
    evidence: str     # the numbers behind it (shown in the build error when it does not)


@dataclass(frozen=True)
class Claim:
    """A named check of ``{experiment: record}``: ``kind`` is "sentence", "guard" or "value"."""
    name: str
    check: Callable[[dict], Verdict]   # {experiment: record} -> verdict
    kind: str = "sentence"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.name!r}: kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if (self.kind == "guard") != self.name.startswith("guard."):
            raise ValueError(f"claim {self.name!r}: a guard's name, and only a guard's, starts with 'guard.'")


def guard(name: str, test: Callable[[dict], tuple[bool, str]], doc: str = "") -> Claim:
    """A check that prints nothing: ``test(records)`` returns (holds, evidence); ``doc``, when
    given, says what it checks and prefixes the evidence."""

    def check(records: dict) -> Verdict:
        holds, evidence = test(records)
        return Verdict(bool(holds), "", f"{doc}: {evidence}" if doc else evidence)

    return Claim(name, check, "guard")


def value(name: str, doc: str, phrase: Callable[[dict], str]) -> Claim:
    """A computed number phrase for a sentence written by hand (``"8 of the 10"``): it holds
    whenever it can be computed, so it is a number, never a claim; guard the sentence separately."""
    return Claim(name, lambda records: Verdict(True, phrase(records), doc), "value")


def silent(claim: Claim) -> Claim:
    """The guard ``guard.NAME`` of a sentence claim NAME: it holds when NAME holds, prints nothing.

    >>> loud = Claim("x.big", lambda records: Verdict(records["x"] > 1, "x is big", "x"))
    >>> silent(loud).name, silent(loud).check({"x": 2})
    ('guard.x.big', Verdict(holds=True, sentence='', evidence='x'))
    """
    if claim.kind != "sentence":
        raise ValueError(f"claim {claim.name!r}: only a sentence claim has a guard, not a {claim.kind}")

    def check(records: dict) -> Verdict:
        verdict = claim.check(records)
        return Verdict(verdict.holds, "", verdict.evidence)

    return Claim(f"guard.{claim.name}", check, "guard")


def includes_one(r: dict) -> bool:
    """A recorded ratio of needs whose 95% interval, with both ends, includes 1.

    >>> includes_one({"value": 1.2, "low": 0.8, "high": 1.9}), includes_one({"value": 1.2, "low": 1.1, "high": 1.9})
    (True, False)
    """
    return r["value"] is not None and r["high"] is not None and r["low"] <= 1 <= r["high"]


def per_size(ns: list[int], diffs: list[Interval]) -> str:
    """Paired differences by training-set size, as the build error prints them.

    >>> per_size([16], [Interval(0.25, 0.125, 0.375)])
    'n=16: +25.0% [+12.5%, +37.5%]'
    """
    return "; ".join(f"n={n}: {d.mean:+.1%} [{d.low:+.1%}, {d.high:+.1%}]" for n, d in zip(ns, diffs))
