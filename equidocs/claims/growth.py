"""Claims on how the need grows with the number of positions (``results/resolution_scaling.json``,
its ``summary``: the mechanism study): whose exponent is steeper, which arm's need does not grow,
which growth law wins, and how the dense net fares against a 1-NN lookup.

An exponent is b in N ∝ positions^b at the largest canvas fitted, averaged over the growth laws
with Akaike weights; its 95% interval covers seeds, test examples and the choice of law. "Apart"
means two such intervals do not overlap.

>>> law = lambda b, low, high: {"exponent": b, "exponent_ci": [low, high]}
>>> summary = {"kinds": {"dense": law(2.0, 1.6, 2.4), "conv": law(0.0, -0.1, 0.1)}}
>>> grows_faster("dense", "conv").check({"resolution_scaling": {"result": {"summary": summary}}}).evidence
'dense: positions^2.00 (1.60 to 2.40); conv: positions^0.00 (-0.10 to 0.10)'
"""

from __future__ import annotations

from equidocs.claims.verdict import Claim, guard

POSITIONS, PIXELS, EXPONENTIAL = "power law in positions", "power law in pixels", "exponential in side length"
MAIN = ("conv", "local", "dense")  # the arms that must be measured (not bounded) at every size published


def _summary(records: dict) -> dict:
    return records["resolution_scaling"]["result"]["summary"]


def _two(v: float) -> str:
    """Two decimals, without a negative zero.

    >>> _two(-0.001), _two(0.234)
    ('0.00', '0.23')
    """
    text = f"{v:.2f}"
    return "0.00" if text == "-0.00" else text


def _law(e: dict) -> str:
    return f"positions^{_two(e['exponent'])} ({_two(e['exponent_ci'][0])} to {_two(e['exponent_ci'][1])})"


def grows_faster(steeper: str, flatter: str) -> Claim:
    """As positions grow, ``steeper``'s need grows faster than ``flatter``'s: the exponents' 95%
    intervals are apart."""

    def test(records: dict) -> tuple[bool, str]:
        k = _summary(records)["kinds"]
        a, b = k[steeper], k[flatter]
        missing = [arm for arm, e in ((steeper, a), (flatter, b)) if e.get("exponent_ci") is None]
        if missing:
            return False, f"no fitted exponent for {missing[0]}"
        return a["exponent_ci"][0] > b["exponent_ci"][1], f"{steeper}: {_law(a)}; {flatter}: {_law(b)}"

    return guard(f"guard.growth.{steeper}_faster_than_{flatter}", test,
                 f"the {steeper} arm's need grows faster with positions than the {flatter} arm's")


def _conv_flat(records: dict) -> tuple[bool, str]:
    """The conv net's exponent interval contains 0: no growth with positions is detected."""
    c = _summary(records)["kinds"]["conv"]
    ci = c.get("exponent_ci")
    return ci is not None and ci[0] <= 0 <= ci[1], f"conv: {_law(c) if ci else 'not fitted'}"


def _halves_inconclusive(records: dict) -> tuple[bool, str]:
    """Shared filters alone (flatten readout) and pooling alone (unshared filters) cut the growth by
    amounts the data cannot order: their exponent intervals overlap."""
    k = _summary(records)["kinds"]
    a, b = k["conv_flatten"], k["local"]
    overlap = a["exponent_ci"][0] <= b["exponent_ci"][1] and b["exponent_ci"][0] <= a["exponent_ci"][1]
    return overlap, f"conv_flatten: {_law(a)}; local: {_law(b)}"


def _halves_near_linear(records: dict) -> tuple[bool, str]:
    """Shared filters alone and pooling alone each leave a need that grows about as fast as the
    positions: both exponents between 0.75 and 1.5, and both intervals above 0.75."""
    k = _summary(records)["kinds"]
    pair = [k["conv_flatten"], k["local"]]
    ok = all(0.75 <= e["exponent"] <= 1.5 and e["exponent_ci"][0] > 0.75 for e in pair)
    return ok, f"conv_flatten: {_law(pair[0])}; local: {_law(pair[1])}"


def _dense_steeper_at_frontier(records: dict) -> tuple[bool, str]:
    """The dense net's exponent at the largest canvas (model-averaged) lies above the whole 95%
    interval of the positions power law fitted over every canvas: its growth steepens."""
    d = _summary(records)["kinds"]["dense"]
    ci = d.get("exponent_positions_law_ci")
    return (ci is not None and d["exponent"] is not None and d["exponent"] > ci[1],
            f"dense at the frontier {d['exponent']}; positions law over the range {ci}")


def _best_law(arm: str, law: str) -> Claim:
    """``arm``'s growth law is ``law``: it wins by delta-AIC >= 2 in at least two thirds of the
    bootstrap draws (otherwise the study says "inconclusive")."""

    def test(records: dict) -> tuple[bool, str]:
        e = _summary(records)["kinds"][arm]
        return e["best_law"] == law, f"{arm}: {e['best_law']}; wins {e.get('law_win_frequency')}"

    slug = {POSITIONS: "positions_power_law", PIXELS: "pixels_power_law", EXPONENTIAL: "exponential",
            "inconclusive": "law_inconclusive"}[law]
    return guard(f"guard.growth.{arm}_{slug}", test, f"the {arm} arm's growth law: {law}")


def _exponential_rare_for(arm: str) -> Claim:
    """The exponential law wins for ``arm`` in fewer than one bootstrap draw in ten."""

    def test(records: dict) -> tuple[bool, str]:
        wins = _summary(records)["kinds"][arm].get("law_win_frequency") or {}
        share = wins.get(EXPONENTIAL)
        return share is not None and share < 0.1, f"{arm}: exponential wins in {share}"

    return guard(f"guard.growth.{arm}_exponential_rare", test,
                 f"the exponential law almost never wins for the {arm} arm")


def _main_arms_measured(records: dict) -> tuple[bool, str]:
    """conv, local and dense cross the target (a need, not a bound) at every size published."""
    s = _summary(records)
    bad = [(arm, size) for arm in MAIN for size, c, v in
           zip(s["sizes"], s["kinds"][arm]["censored"], s["kinds"][arm]["needed"]) if c or v is None]
    return not bad, f"censored or missing: {bad}" if bad else f"measured at {s['sizes']}"


def _dense_never_beats_lookup(records: dict) -> tuple[bool, str]:
    """At no canvas does the dense net need fewer examples than the 1-NN lookup with intervals
    apart; at one canvas at least the lookup needs fewer, intervals apart."""
    versus = records["resolution_scaling"]["result"]["dense_vs_memoriser"]
    sizes = _summary(records)["sizes"]
    return "above" not in versus and "below" in versus, ", ".join(f"{s}: {v}" for s, v in zip(sizes, versus))


CLAIMS: list[Claim] = [
    grows_faster("dense", "conv"),
    grows_faster("local", "conv"),
    grows_faster("conv_flatten", "conv"),
    grows_faster("local_flatten", "conv"),
    grows_faster("cnn_fc", "conv"),
    grows_faster("dense", "local"),
    grows_faster("dense", "cnn_fc"),
    grows_faster("local_flatten", "local"),
    grows_faster("dense", "local_flatten"),
    guard("guard.growth.conv_flat", _conv_flat, "the conv net's need does not grow with positions"),
    guard("guard.growth.halves_near_linear", _halves_near_linear,
          "sharing alone and pooling alone each leave a need growing about as fast as the positions"),
    guard("guard.growth.halves_inconclusive", _halves_inconclusive,
          "sharing alone and pooling alone slow the growth by amounts the data cannot order"),
    _best_law("dense", PIXELS),
    _best_law("memoriser", EXPONENTIAL),
    _best_law("conv", "inconclusive"),
    _best_law("local", POSITIONS),
    _best_law("conv_flatten", POSITIONS),
    _best_law("local_flatten", POSITIONS),
    guard("guard.growth.dense_steeper_at_frontier", _dense_steeper_at_frontier,
          "the dense net's growth steepens towards the largest canvas"),
    _exponential_rare_for("dense"),
    guard("guard.growth.main_arms_measured", _main_arms_measured,
          "conv, locally-connected and dense nets are measured at every canvas"),
    guard("guard.growth.dense_never_beats_lookup", _dense_never_beats_lookup,
          "no dense configuration beats the 1-NN lookup"),
]
