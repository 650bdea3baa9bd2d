"""Claims about results, checked when the site is built.

A page writes its sentences by hand, its numbers from tokens, and follows each qualitative
sentence with a silent guard, ``[[claim:guard.NAME]]``: it prints nothing, and the build fails,
naming the page, the guard and the numbers, when the published results stop supporting the
sentence. A few claims print a computed sentence (``[[claim:NAME]]``; each also has its guard
``guard.NAME``) and a few a computed number phrase (a *value*, which always holds). A comparison
holds only when its 95% interval excludes equality: "conv is more accurate than dense" needs the
whole interval of the paired difference above zero (over seeds and test examples,
:mod:`equidocs.stats`).

The checks live beside the results they read: :mod:`~equidocs.claims.sample_efficiency`,
:mod:`~equidocs.claims.controls`, :mod:`~equidocs.claims.growth` and
:mod:`~equidocs.claims.positions`; :mod:`~equidocs.claims.verdict` holds what they return.

>>> records = {"sample_efficiency": {"result": {"tasks": {"patterns": {"ns": [16, 64], "arms": {
...     "conv": {"test_acc": [[0.9, 1.0], [0.8, 1.0], [0.9, 0.9]]},
...     "dense": {"test_acc": [[0.3, 0.6], [0.2, 0.5], [0.3, 0.6]]}}}}}}}
>>> evaluate("guard.patterns.conv_beats_dense", records).holds
True
"""

from __future__ import annotations

from equidocs.claims import controls, growth, positions, sample_efficiency
from equidocs.claims.verdict import Claim, Verdict, silent


def _registry(checks: list[Claim]) -> dict[str, Claim]:
    """Claims by name, each sentence claim NAME joined by its guard ``guard.NAME``; a name given
    twice is an error."""
    every = [*checks, *(silent(c) for c in checks if c.kind == "sentence")]
    registry: dict[str, Claim] = {}
    for claim in every:
        if claim.name in registry:
            raise ValueError(f"claim {claim.name!r}: defined twice")
        registry[claim.name] = claim
    return registry


CLAIMS: dict[str, Claim] = _registry([*sample_efficiency.CLAIMS, *controls.CLAIMS, *growth.CLAIMS,
                                      *positions.CLAIMS])


class ClaimError(ValueError):
    """A claim that the published data do not support."""


def evaluate(name: str, records: dict) -> Verdict:
    """The verdict of claim ``name`` on ``{experiment: record}``."""
    if name not in CLAIMS:
        raise KeyError(f"claim {name!r}: unknown; expected one of {', '.join(sorted(CLAIMS))}")
    return CLAIMS[name].check(records)


def render(name: str, records: dict, page: str) -> str:
    """The claim's sentence ("" for a guard) when the data support it; else :class:`ClaimError`
    naming page, claim and numbers."""
    verdict = evaluate(name, records)
    if not verdict.holds:
        raise ClaimError(f"{page}: claim {name!r} is not supported by the data: {verdict.evidence}")
    return verdict.sentence
