"""Claims on how the need grows with the number of positions (``results/resolution_scaling.json``,
its ``summary``: the mechanism study): whose exponent is steeper, which arm's need does not grow,
which growth law wins, and how the dense net fares against a 1-NN lookup.

An exponent is b in N ∝ positions^b at the largest canvas fitted, averaged over the growth laws
with Akaike weights; its 95% interval covers seeds, test examples and the choice of law. "Apart"
means two such intervals do not overlap.

>>> law = lambda b, low, high: {"exponent": b, "exponent_ci": [low, high]}
>>> summary = {"kinds": {"dense": law(2.0, 1.6, 2.4), "conv": law(0.0, -0.1, 0.1)}}
>>> v = grows_faster("dense", "conv").check({"resolution_scaling": {"result": {"summary": summary}}})
>>> v.holds, v.evidence.split(": ", 1)[1]
(True, 'dense: positions^2.00 (1.60 to 2.40); conv: positions^0.00 (-0.10 to 0.10)')
"""

from __future__ import annotations

from typing import Callable

from equidocs.claims.verdict import Claim
from equidocs.claims.verdict import guard as _guard

POSITIONS, PIXELS, EXPONENTIAL = "power law in positions", "power law in pixels", "exponential in side length"


def guard(name: str, test: Callable[[dict], tuple[bool, str]], doc: str = "") -> Claim:
    """:func:`equidocs.claims.verdict.guard`, failing (never crashing) where a number it reads was not
    computed, e.g. no exponent on a quick profile's two canvases.

    >>> guard("guard.g", lambda records: (records["x"][0] > 1, "")).check({"x": None}).holds
    False
    """

    def safe(records: dict) -> tuple[bool, str]:
        try:
            return test(records)
        except (TypeError, KeyError, IndexError) as error:
            return False, f"not computed ({type(error).__name__}: {error})"

    return _guard(name, safe, doc)


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


def _conv_no_growth(records: dict) -> tuple[bool, str]:
    """The conv net's exponent interval reaches down to 0 or below: no growth with positions is
    detected (a need that falls counts as not growing)."""
    c = _summary(records)["kinds"]["conv"]
    ci = c.get("exponent_ci")
    return ci is not None and ci[0] <= 0, f"conv: {_law(c) if ci else 'not fitted'}"


def _conv_falls_at_large_end(records: dict) -> tuple[bool, str]:
    """The conv net's exponent interval lies wholly below 0: at the largest canvas its need falls
    (a little) as positions are added."""
    c = _summary(records)["kinds"]["conv"]
    ci = c.get("exponent_ci")
    return ci is not None and ci[1] < 0, f"conv: {_law(c) if ci else 'not fitted'}"


def _halves_inconclusive(records: dict) -> tuple[bool, str]:
    """Shared filters alone (flatten readout) and pooling alone (unshared filters) cut the growth by
    amounts the data cannot order: their exponent intervals overlap."""
    k = _summary(records)["kinds"]
    a, b = k["conv_flatten"], k["local"]
    overlap = a["exponent_ci"][0] <= b["exponent_ci"][1] and b["exponent_ci"][0] <= a["exponent_ci"][1]
    return overlap, f"conv_flatten: {_law(a)}; local: {_law(b)}"


def _halves_a_little_over_linear(records: dict) -> tuple[bool, str]:
    """Shared filters alone and pooling alone each leave a need that grows a little faster than the
    positions: both exponents' intervals lie above 1, and both exponents are at most 1.5."""
    k = _summary(records)["kinds"]
    pair = [k["conv_flatten"], k["local"]]
    ok = all(e["exponent_ci"] is not None and e["exponent_ci"][0] > 1 and e["exponent"] <= 1.5 for e in pair)
    return ok, f"conv_flatten: {_law(pair[0]) if pair[0]['exponent_ci'] else 'no fit'}; " \
               f"local: {_law(pair[1]) if pair[1]['exponent_ci'] else 'no fit'}"


def _unshared_superlinear(records: dict) -> tuple[bool, str]:
    """Both unshared nets (pooled and flatten) need more than one more example per new position:
    their exponents' intervals lie above 1."""
    k = _summary(records)["kinds"]
    pair = [k["local"], k["local_flatten"]]
    ok = all(e["exponent_ci"] is not None and e["exponent_ci"][0] > 1 for e in pair)
    return ok, f"local: {pair[0].get('exponent_ci')}; local_flatten: {pair[1].get('exponent_ci')}"


def _dense_widest_everywhere(records: dict) -> tuple[bool, str]:
    """At every canvas the dense net's tuning chose the widest hidden layer offered."""
    record = records["resolution_scaling"]
    widest = max(record["config"]["study"]["hidden_grid"])
    chosen = [(c["size"], (c["settings"] or {}).get("hidden")) for c in record["result"]["conditions"]
              if c["arm"] == "dense" and c["size"] in _summary(records)["sizes"]]
    return bool(chosen) and all(h == widest for _, h in chosen), f"widest {widest}; chosen {chosen}"


def needs_more_at(worse: str, better: str, where: str = "largest") -> Claim:
    """At the ``largest`` (or ``second``, or ``dense_last``: the largest where the dense net is
    measured) canvas, ``worse`` needs more examples than ``better``: ``worse``'s 95% interval (or its
    bound, when censored above) lies wholly above ``better``'s."""
    if where not in ("largest", "second", "dense_last"):
        raise ValueError(f"needs_more_at: where={where!r}: expected 'largest', 'second' or 'dense_last'")

    def test(records: dict) -> tuple[bool, str]:
        from equidocs.experiments.resolution_scaling import dense_last_index, interval_ratio

        s = _summary(records)
        k = s["kinds"]
        index = {"largest": -1, "second": 1}.get(where, None)
        index = dense_last_index(s) if index is None else index
        low, high = interval_ratio(k[worse], k[better], index)
        return low is not None and low > 1, f"{worse}/{better} at the {where} canvas: {low} to {high}"

    return guard(f"guard.growth.{worse}_needs_more_than_{better}_at_{where}", test,
                 f"at the {where} canvas the {worse} arm needs more examples than the {better} arm")


def _conv_peak_above_largest(records: dict) -> tuple[bool, str]:
    """The conv net's need where it is highest lies wholly above its need at the largest canvas
    (95% intervals apart)."""
    from equidocs.experiments.resolution_scaling import interval_ratio, peak_index

    s = _summary(records)
    c = s["kinds"]["conv"]
    i = peak_index(c)
    at = lambda j: {key: [c[key][j]] for key in ("needed", "censored", "needed_ci")}  # noqa: E731
    low, high = interval_ratio(at(i), at(-1), 0)
    return low is not None and low > 1, f"conv at {s['sizes'][i]} / at {s['sizes'][-1]}: {low} to {high}"


def _dense_steeper_than_pixels_squared(records: dict) -> tuple[bool, str]:
    """The dense net's exponent under the power law in pixels has its 95% interval above 2."""
    law = _summary(records)["kinds"]["dense"]["laws"][PIXELS]
    return law["slope_ci"][0] > 2, f"dense, power law in pixels: {law['slope']} {law['slope_ci']}"


def _conv_most_budget_hits(records: dict) -> tuple[bool, str]:
    """The conv net's ladder runs reach the epoch budget in a larger share than any other net's."""
    stops = records["resolution_scaling"]["result"]["stops"]
    share = {arm: st["budget"] / sum(st.values()) for arm, st in stops.items() if sum(st.values())}
    return max(share, key=share.get) == "conv", f"share at the budget: {share}"


def _needs_intervals_closed(records: dict) -> tuple[bool, str]:
    """Every need that is measured (not censored) has a 95% interval with both ends bounded: above
    zero and finite."""
    from equidocs.experiments.resolution_scaling import open_ends

    found = open_ends(_summary(records))
    return not found, f"open interval ends at: {found}" if found else "every measured need's interval is closed"


def _range_just_enough(records: dict) -> tuple[bool, str]:
    """The canvases published span at least the rule of thumb's 16-fold range of pixels and 7 sizes
    (the project's science guide), but less than twice that range: just enough to tell growth laws
    apart."""
    s = _summary(records)
    fold, n = s["pixels"][-1] / s["pixels"][0], len(s["sizes"])
    return 16 <= fold < 32 and n >= 7, f"pixels {s['pixels'][0]} to {s['pixels'][-1]} ({fold:.3g}-fold), {n} sizes"


def _dense_bounded_at_largest_only(records: dict) -> tuple[bool, str]:
    """The dense net's need is only a bound (it never reaches the target within its cap) at the
    largest canvas, and measured at every other."""
    c = _summary(records)["kinds"]["dense"]["censored"]
    return c[-1] == "above" and not any(c[:-1]), f"dense censoring by canvas: {c}"


def _sharing_dwarfs_locality(records: dict) -> tuple[bool, str]:
    """At the largest canvas where the dense net is measured, what sharing saves a pooled net
    (unshared-pooled / conv) is larger than what locality alone saves against the dense net
    (dense / unshared-flatten, both read out by position), whole interval against whole interval."""
    from equidocs.experiments.resolution_scaling import dense_last_index, interval_ratio

    s = _summary(records)
    k, i = s["kinds"], dense_last_index(s)
    sharing = interval_ratio(k["local"], k["conv"], i)
    locality = interval_ratio(k["dense"], k["local_flatten"], i)
    holds = sharing[0] is not None and locality[1] is not None and sharing[0] > locality[1]
    return holds, (f"at {s['sizes'][i]}: sharing (local/conv) {sharing}; "
                   f"locality alone (dense/local_flatten) {locality}")


def _sharing_saving_exceeds_positions(records: dict) -> tuple[bool, str]:
    """At the largest canvas, adding sharing to a pooled net (unshared pooled -> conv) saves more
    than a factor equal to the number of positions: the ratio's 95% interval lies above it."""
    result, summary = records["resolution_scaling"]["result"], _summary(records)
    r = result["ratios"]["local_conv"][-1]
    return r is not None and r["low"] > summary["positions"][-1], f"{r}; positions {summary['positions'][-1]}"


def _cnn_fc_below_local_everywhere(records: dict) -> tuple[bool, str]:
    """The CNN with a dense head needs fewer examples than the unshared pooled net at every canvas
    (intervals apart, both measured)."""
    k, sizes = _summary(records)["kinds"], _summary(records)["sizes"]
    c, loc = k["cnn_fc"], k["local"]
    below = [c["censored"][i] != "above" and not loc["censored"][i] and c["needed_ci"][i][1] is not None
             and c["needed_ci"][i][1] < loc["needed_ci"][i][0] for i in range(len(sizes))]
    return all(below), f"cnn_fc below local at {[s for s, b in zip(sizes, below) if b]} of {sizes}"


LAW_EXPECTED = {"local": POSITIONS, "conv_flatten": POSITIONS, "local_flatten": POSITIONS, "cnn_fc": POSITIONS,
                "dense": PIXELS, "memoriser": EXPONENTIAL}


def _held_out_agrees(records: dict) -> tuple[bool, str]:
    """Leaving one canvas out, the law that misses least (root-mean-square) is the positions law for
    the filter nets and the CNN, the pixels law for the dense net, the exponential for the lookup."""
    k = _summary(records)["kinds"]
    best = {}
    for arm in LAW_EXPECTED:
        rms = {law: (h or {}).get("rms_log_miss") for law, h in (k[arm].get("held_out") or {}).items()}
        rms = {law: v for law, v in rms.items() if v is not None}
        best[arm] = min(rms, key=rms.get) if rms else None
    return best == LAW_EXPECTED, f"{best}"


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
    """The exponential law comes within delta-AIC 2 of the best law for ``arm`` (let alone wins) in
    fewer than one bootstrap draw in ten."""

    def test(records: dict) -> tuple[bool, str]:
        law = ((_summary(records)["kinds"][arm].get("laws") or {}).get(EXPONENTIAL) or {})
        share = law.get("not_rejected_frequency")
        return share is not None and share < 0.1, f"{arm}: exponential within delta-AIC 2 in {share}"

    return guard(f"guard.growth.{arm}_exponential_rare", test,
                 f"the exponential law seldom even comes close for the {arm} arm")


def _main_arms_measured(records: dict) -> tuple[bool, str]:
    """conv, local and dense cross the target (a need, not a bound) at every canvas published up to
    ``MEASURED_THROUGH`` (16×16, 144 positions), and each is only bounded (censored above) at one
    larger canvas at most; no need is missing or bounded below."""
    from equidocs.experiments.resolution_scaling import MAIN, MEASURED_THROUGH

    s = _summary(records)
    bad, bounded = [], {arm: [] for arm in MAIN}
    for arm in MAIN:
        for size, c, v in zip(s["sizes"], s["kinds"][arm]["censored"], s["kinds"][arm]["needed"]):
            if v is None or c == "below" or (c and size <= MEASURED_THROUGH):
                bad.append((arm, size))
            elif c:
                bounded[arm].append(size)
    bad += [(arm, sizes) for arm, sizes in bounded.items() if len(sizes) > 1]
    return not bad, (f"censored or missing: {bad}" if bad else
                     f"measured at {s['sizes']}, bounded beyond {MEASURED_THROUGH}: {bounded}")


def _dense_beats_lookup_only_at_dense_last(records: dict) -> tuple[bool, str]:
    """The dense net needs fewer examples than the 1-NN lookup (intervals apart) at the largest canvas
    where the dense net is measured, where the lookup does not reach the target within its cap, and
    at no other canvas; on one smaller canvas at least the lookup needs fewer (intervals apart); on
    any larger canvas neither reaches the target within its cap."""
    from equidocs.experiments.resolution_scaling import dense_last_index

    versus = records["resolution_scaling"]["result"]["dense_vs_memoriser"]
    s = _summary(records)
    i, k = dense_last_index(s), s["kinds"]
    lookup_fails = k["memoriser"]["censored"][i] == "above"
    beyond = all(k[arm]["censored"][j] == "above" for arm in ("dense", "memoriser") for j in range(i + 1, len(versus)))
    holds = (versus[i] == "above" and lookup_fails and beyond and "above" not in versus[:i] + versus[i + 1:]
             and "below" in versus[:i])
    return holds, (", ".join(f"{size}: {v}" for size, v in zip(s["sizes"], versus))
                   + f"; dense measured up to {s['sizes'][i]}, lookup censored there: {lookup_fails}; "
                   f"both censored beyond: {beyond}")


CLAIMS: list[Claim] = [
    grows_faster("dense", "conv"),
    grows_faster("local", "conv"),
    grows_faster("conv_flatten", "conv"),
    grows_faster("local_flatten", "conv"),
    grows_faster("cnn_fc", "conv"),
    grows_faster("dense", "local"),
    grows_faster("dense", "cnn_fc"),
    grows_faster("local_flatten", "local"),
    grows_faster("local", "cnn_fc"),
    grows_faster("dense", "local_flatten"),
    grows_faster("memoriser", "dense"),
    guard("guard.growth.conv_no_growth", _conv_no_growth, "no growth of the conv net's need with positions is detected"),
    guard("guard.growth.conv_falls_at_large_end", _conv_falls_at_large_end,
          "at the largest canvas the conv net's need falls a little as positions are added"),
    guard("guard.growth.halves_a_little_over_linear", _halves_a_little_over_linear,
          "sharing alone and pooling alone each leave a need growing a little faster than the positions"),
    guard("guard.growth.unshared_superlinear", _unshared_superlinear,
          "the unshared nets need more than one more example per new position"),
    guard("guard.growth.dense_widest_everywhere", _dense_widest_everywhere,
          "the dense net's tuning chose the widest hidden layer at every canvas"),
    needs_more_at("dense", "local", "second"),
    needs_more_at("dense", "conv_flatten", "second"),
    needs_more_at("conv_flatten", "conv"),
    needs_more_at("local_flatten", "local", "dense_last"),
    needs_more_at("local_flatten", "conv_flatten", "dense_last"),
    needs_more_at("conv_flatten", "conv", "dense_last"),
    needs_more_at("dense", "conv_flatten", "dense_last"),
    needs_more_at("dense", "local", "dense_last"),
    needs_more_at("dense", "local_flatten", "dense_last"),
    guard("guard.growth.conv_peak_above_largest", _conv_peak_above_largest,
          "the conv net's need is detectably higher at some smaller canvas than at the largest"),
    guard("guard.growth.dense_steeper_than_pixels_squared", _dense_steeper_than_pixels_squared,
          "the dense net's need grows faster than the square of the pixels"),
    guard("guard.growth.conv_most_budget_hits", _conv_most_budget_hits,
          "the conv net's runs reach the budget most often"),
    guard("guard.growth.needs_intervals_closed", _needs_intervals_closed,
          "every measured need's 95% interval is closed at both ends"),
    guard("guard.growth.range_just_enough", _range_just_enough,
          "the published canvases span just the range a rule of thumb asks to tell growth laws apart"),
    guard("guard.growth.dense_bounded_at_largest_only", _dense_bounded_at_largest_only,
          "the dense net's need is only a bound at the largest canvas, and measured at every other"),
    guard("guard.growth.sharing_dwarfs_locality", _sharing_dwarfs_locality,
          "at the largest canvas sharing saves more than locality does"),
    guard("guard.growth.sharing_saving_exceeds_positions", _sharing_saving_exceeds_positions,
          "sharing saves more than a factor of the number of positions"),
    guard("guard.growth.cnn_fc_below_local_everywhere", _cnn_fc_below_local_everywhere,
          "the CNN with a dense head needs fewer examples than the unshared pooled net at every canvas"),
    guard("guard.growth.held_out_agrees", _held_out_agrees,
          "leaving one canvas out, each net's named law predicts best"),
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
    guard("guard.growth.dense_beats_lookup_only_at_dense_last", _dense_beats_lookup_only_at_dense_last,
          "the dense net needs fewer examples than the 1-NN lookup only at the largest canvas where the dense "
          "net is measured, where the lookup fails"),
]
