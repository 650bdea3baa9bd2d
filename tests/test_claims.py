"""Claims about results: they hold on the published data, and break when the data contradict them.

Most are silent guards (``guard.NAME``: the page's hand-written sentence before the token is what
they check); a few print a computed sentence or a number phrase."""
import copy
import functools
import re
import importlib.util
from pathlib import Path

import pytest

from equidocs import claims, experiments, frozen

ROOT = Path(__file__).resolve().parents[1]


def synthetic(conv=0.95, dense=0.5, seeds=5):
    """A sample_efficiency-like record with two shared sizes on the glyphs."""
    acc = lambda v: [[v, min(1.0, v + 0.02)] for _ in range(seeds)]  # noqa: E731
    need = lambda v, c="": {"value": v, "censored": c, "ci": [0.8 * v, 1.25 * v]}  # noqa: E731
    return {"sample_efficiency": {"result": {"numbers": {"target": "90%"}, "tasks": {"patterns": {
        "ns": [16, 64], "spec": {"n_test": 1000, "canvas": 10}, "target": 0.9,
        "arms": {"conv": {"test_acc": acc(conv), "need": need(20.0)},
                 "dense": {"test_acc": acc(dense), "need": need(4096.0, "above")},
                 "local": {"test_acc": acc(dense), "need": need(900.0)}},
        "ratios": {"dense/conv": {"value": 204.8, "low": 150.0, "high": None, "lower_bound_only": True},
                   "local/conv": {"value": 45.0, "low": 30.0, "high": 60.0, "lower_bound_only": False}}}}}}}


def test_a_supported_guard_prints_nothing_and_keeps_its_numbers_as_evidence():
    verdict = claims.evaluate("guard.patterns.conv_beats_dense", synthetic())
    assert verdict.holds and verdict.sentence == ""
    assert verdict.evidence.startswith("conv minus dense test accuracy: n=16: +45.0%")
    assert claims.render("guard.patterns.conv_beats_dense", synthetic(), "x.md") == ""


def test_swapping_two_kinds_breaks_the_claim_naming_page_claim_and_numbers():
    records = synthetic()
    arms = records["sample_efficiency"]["result"]["tasks"]["patterns"]["arms"]
    arms["conv"], arms["dense"] = arms["dense"], arms["conv"]
    with pytest.raises(claims.ClaimError) as info:
        claims.render("guard.patterns.conv_beats_dense", records, "data-efficiency.md")
    message = str(info.value)
    assert "data-efficiency.md" in message and "guard.patterns.conv_beats_dense" in message and "n=16" in message


def test_a_tie_is_not_a_win():
    assert not claims.evaluate("guard.patterns.conv_beats_dense", synthetic(conv=0.6, dense=0.6)).holds


def test_fewer_examples_needs_a_ratio_interval_above_one():
    assert claims.evaluate("guard.patterns.conv_fewer_examples_than_local", synthetic()).holds
    censored = claims.evaluate("guard.patterns.conv_fewer_examples_than_dense", synthetic())  # a lower bound
    assert censored.holds and "dense/conv need ratio 204.8 [150.0, None]" in censored.evidence
    records = synthetic()
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["local/conv"].update(low=0.8)
    assert not claims.evaluate("guard.patterns.conv_fewer_examples_than_local", records).holds


def test_fewer_examples_needs_the_ratio_of_these_two_needs():
    records = synthetic()
    arms = records["sample_efficiency"]["result"]["tasks"]["patterns"]["arms"]
    arms["local"]["need"]["value"] = 90.0   # the recorded ratio (45) is no longer local / conv (4.5)
    assert not claims.evaluate("guard.patterns.conv_fewer_examples_than_local", records).holds
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["local/conv"]["value"] = None
    verdict = claims.evaluate("guard.patterns.conv_fewer_examples_than_local", records)
    assert not verdict.holds and "the conv never reached 90%" in verdict.evidence


def test_unknown_claim_is_named():
    with pytest.raises(KeyError, match="claim 'nope': unknown"):
        claims.evaluate("nope", synthetic())


@functools.cache
def used_claims() -> frozenset[str]:
    """Every claim name in a ``[[claim:...]]`` token on a page (read once per session)."""
    return frozenset(m.group(1) for page in (ROOT / "docs").rglob("*.md")
            for m in claims_pattern().finditer(page.read_text(encoding="utf-8")))


def claims_pattern():
    spec = importlib.util.spec_from_file_location("hooks", ROOT / "tools" / "mkdocs_hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    return hooks.CLAIM


def amnesia_record(conv_out=0.99, dense_out=0.26, dense_in=0.97, sd=0.01):
    by_n = lambda out, inside: {"2048": {"outside": [out, sd], "inside": [inside, sd]}}  # noqa: E731
    return {"amnesia": {"config": {"seeds": [0, 1, 2]}, "result": {
        "ns": [64, 2048], "classes": ["a", "b", "c", "d"],
        "models": {"conv": {"by_n": by_n(conv_out, 1.0)}, "dense": {"by_n": by_n(dense_out, dense_in)}}}}}


def test_amnesia_claim_needs_transfer_for_conv_and_chance_outside_for_a_dense_net_that_learned():
    name = "guard.amnesia.conv_transfers_dense_does_not"
    verdict = claims.evaluate(name, amnesia_record())
    assert verdict.holds and verdict.sentence == ""
    assert verdict.evidence == ("n=2048: conv outside 99.0% ± 1.0%; dense outside 26.0% ± 1.0%, inside 97.0% ± 1.0%; "
                                "chance 25.0%")
    assert not claims.evaluate(name, amnesia_record(dense_out=0.6)).holds   # the dense net transferred
    assert not claims.evaluate(name, amnesia_record(conv_out=0.27)).holds   # the conv net did not
    assert not claims.evaluate(name, amnesia_record(dense_in=0.27)).holds   # nothing learned at all


def equivariance_record(worst_conv=0.9, local=0.31, dense=0.28, sd=0.02):
    trained = {"conv, circular padding": {"consistency": [1.0, 0.0]},
               "conv, zero padding": {"consistency": [worst_conv, sd]},
               "locally connected": {"consistency": [local, sd]}, "dense": {"consistency": [dense, sd]}}
    return {"equivariance_error": {"result": {"trained": trained}}}


def test_zero_padding_is_the_least_consistent_conv_design_only_with_a_clear_gap():
    name = "guard.zero_padding_least_consistent"
    assert claims.evaluate(name, equivariance_record()).holds
    assert not claims.evaluate(name, equivariance_record(worst_conv=0.99)).holds   # within the other's sd
    assert "conv, zero padding" in claims.evaluate(name, equivariance_record(worst_conv=0.99)).evidence


def test_the_matched_accuracy_consistency_guard_needs_every_design_learned_and_intervals_apart():
    name = "guard.unshared_nets_less_consistent_at_matched_accuracy"
    assert claims.evaluate(name, published()).holds
    records = published()
    records["equivariance_error"]["result"]["trained"]["dense"]["test_acc"][0] = 0.5   # not learned
    assert not claims.evaluate(name, records).holds
    records = published()
    stride = records["equivariance_error"]["result"]["trained"]["conv + stride 2"]
    stride["consistency_ci"] = [0.5, 0.7]   # a conv design no more consistent than the dense net
    assert not claims.evaluate(name, records).holds


def test_the_cut_glyph_guard_needs_each_unshared_gap_to_shrink_by_half_intervals_apart():
    name = "guard.unshared_gap_mostly_cut_glyphs"
    gap = lambda mean, low, high: {"mean": mean, "low": low, "high": high}  # noqa: E731

    def record(dense_whole):
        comp = {"locally connected": {"consistency": gap(-0.37, -0.40, -0.34), "consistency_whole": gap(-0.07, -0.09, -0.06)},
                "dense": {"consistency": gap(-0.41, -0.44, -0.38), "consistency_whole": dense_whole}}
        return {"equivariance_error": {"result": {"comparisons": comp}}}

    assert claims.evaluate(name, record(gap(-0.10, -0.12, -0.08))).holds
    assert not claims.evaluate(name, record(gap(-0.30, -0.36, -0.25))).holds   # shrinks, but less than half
    assert not claims.evaluate(name, record(gap(-0.15, -0.39, -0.10))).holds   # intervals overlap
    assert not claims.evaluate(name, record(None)).holds                       # not compared
    rec = record(gap(-0.10, -0.12, -0.08))
    rec["equivariance_error"]["result"]["comparisons"]["locally connected"]["consistency_whole"] = gap(-0.3, -0.38, -0.2)
    assert not claims.evaluate(name, rec).holds                                # the other net's gap stays


def test_the_circular_conv_is_fully_consistent_only_when_no_prediction_changes():
    name = "guard.circular_conv_fully_consistent"
    records = published()
    assert claims.evaluate(name, records).holds
    records["equivariance_error"]["result"]["trained"]["conv, circular padding"]["consistency_whole"][0] = 0.9995
    assert not claims.evaluate(name, records).holds
    records = published()
    records["equivariance_error"]["result"]["trained"]["conv, circular padding"]["consistency"][0] = 0.9995
    assert not claims.evaluate(name, records).holds


def test_the_ten_by_ten_comparison_needs_both_studies_on_that_canvas():
    name = "guard.tenfold_canvas_matches_mechanism"
    records = published()
    assert claims.evaluate(name, records).holds
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["spec"]["canvas"] = 12
    assert not claims.evaluate(name, records).holds
    records = published()
    summary = records["resolution_scaling"]["result"]["summary"]
    summary["sizes"] = [s for s in summary["sizes"] if s != 10]
    assert not claims.evaluate(name, records).holds
    records = published()
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["target"] = 0.8
    assert not claims.evaluate(name, records).holds


def test_size_moves_every_kind_only_when_every_range_interval_lies_above_one():
    name = "guard.capacity.size_moves_every_kind"
    records = published()
    assert claims.evaluate(name, records).holds
    records["capacity"]["result"]["ranges"]["8.conv"]["low"] = 0.9      # reaches one
    assert not claims.evaluate(name, records).holds
    records = published()
    records["capacity"]["result"]["ranges"]["6.local"]["low"] = None    # no low end
    assert not claims.evaluate(name, records).holds
    records = published()
    del records["capacity"]["result"]["ranges"]["6.dense"]              # a kind not measured
    assert not claims.evaluate(name, records).holds


def test_every_claim_on_the_pages_holds_on_the_published_results():
    records = published()
    for name in sorted(used_claims()):
        verdict = claims.evaluate(name, records)
        assert verdict.holds, f"{name}: {verdict.evidence}"


def test_every_claim_token_renders_as_the_build_renders_it():
    """Each ``[[claim:...]]`` on a page renders on the published results: a guard as nothing, a
    sentence or a number phrase as text (what the build puts in its place)."""
    records = published()
    used = used_claims()
    assert used, "no claim token found on the pages"
    for name in sorted(used):
        text = claims.render(name, records, "x.md")
        assert (text == "") == name.startswith("guard."), f"{name} renders {text!r}"


def test_every_claim_is_used_on_a_page():
    """A check no page uses is dead code (a sentence claim's automatic guard may go unused)."""
    unused = {name for name, claim in claims.CLAIMS.items() if name not in used_claims()
              and not (name.startswith("guard.") and name.removeprefix("guard.") in claims.CLAIMS)}
    assert not unused, f"claims no page uses: {sorted(unused)}"


def test_swapping_conv_and_dense_in_the_published_results_breaks_their_claims():
    records = {"sample_efficiency": published()["sample_efficiency"]}
    for task in records["sample_efficiency"]["result"]["tasks"].values():
        task["arms"]["conv"], task["arms"]["dense"] = task["arms"]["dense"], task["arms"]["conv"]
    on_these_results = ("patterns.", "digits.", "guard.patterns.", "guard.digits.")
    broken = [name for name in sorted(used_claims()) if name.startswith(on_these_results)
              and ("conv_beats_dense" in name or "conv_fewer_examples_than_dense" in name)]
    assert broken, "the pages state no conv-vs-dense claim"
    for name in broken:
        assert not claims.evaluate(name, records).holds, name


GROWTH_EXPONENTS = {  # arm -> (exponent b in N ∝ positions^b, its 95% interval): the published ordering
    "conv": (-0.15, -0.3, -0.02), "cnn_fc": (0.95, 0.85, 1.18), "local": (1.25, 1.2, 1.33),
    "conv_flatten": (1.3, 1.15, 1.6), "local_flatten": (1.5, 1.4, 1.7), "dense": (2.5, 2.0, 3.0),
    "memoriser": (4.5, 3.2, 5.3)}
GROWTH_LAWS = {"conv": "inconclusive", "local": "power law in positions", "dense": "power law in pixels",
               "memoriser": "exponential in side length"}
GROWTH_SIZES = [6, 7, 8, 10, 12, 16, 24]   # 16-fold in pixels, seven sizes: the rule of thumb's least


NEED_SCALE = {"conv": 1, "cnn_fc": 2, "local": 20, "conv_flatten": 20, "local_flatten": 40, "dense": 80,
              "memoriser": 60}   # need = scale x positions: the CNN below unshared-pooled everywhere
HELD_OUT_BEST = {"local": "power law in positions", "conv_flatten": "power law in positions",
                 "local_flatten": "power law in positions", "cnn_fc": "power law in positions",
                 "dense": "power law in pixels", "memoriser": "exponential in side length",
                 "conv": "power law in pixels"}
LAW_NAMES = ("power law in positions", "power law in pixels", "exponential in side length")


LOOKUP_VERSUS = ("below", "below", "inconclusive", "inconclusive", "inconclusive", "above", "inconclusive")


def growth_record(versus=LOOKUP_VERSUS, **exponents):
    """A mechanism-study record whose growth guards all hold; ``exponents`` replaces an arm's
    (exponent, low, high) (``None``: no fit)."""
    kinds = {}
    for arm, fit in {**GROWTH_EXPONENTS, **exponents}.items():
        b, low, high = fit or (None, None, None)
        law = GROWTH_LAWS.get(arm, "power law in positions")
        needed = ([20.0, 30.0, 40.0, 25.0, 22.0, 20.0, 18.0] if arm == "conv"  # a bump at 8x8 (as measured)
                  else [NEED_SCALE[arm] * float((s - 4) ** 2) for s in GROWTH_SIZES])
        censored = [None] * len(GROWTH_SIZES)
        if arm == "memoriser":
            censored[-2:] = ["above", "above"]   # the lookup never gets there on the two largest canvases
        if arm == "dense":
            censored[-1] = "above"   # nor the dense net on the largest
        kinds[arm] = {"exponent": b, "exponent_ci": None if fit is None else [low, high], "best_law": law,
                      "exponent_positions_law_ci": None if fit is None else [low - 0.6, low - 0.1],
                      "law_win_frequency": {law: 0.9, "exponential in side length": 0.02},
                      "needed": needed, "censored": censored, "needed_ci": [[0.8 * v, 1.2 * v] for v in needed],
                      "held_out": {lw: {"rows": [], "rms_log_miss": 0.1 if lw == HELD_OUT_BEST[arm] else 0.5}
                                   for lw in LAW_NAMES},
                      "laws": {lw: {"not_rejected_frequency": 0.9 if lw == law else 0.05,
                                    "slope": 2.5, "slope_ci": [2.2, 2.8]} for lw in LAW_NAMES}}
    summary = {"sizes": list(GROWTH_SIZES), "positions": [(s - 4) ** 2 for s in GROWTH_SIZES],
               "pixels": [s * s for s in GROWTH_SIZES], "kinds": kinds}
    conditions = [{"arm": "dense", "size": s, "settings": {"hidden": 1024}} for s in GROWTH_SIZES]
    ratios = {"local_conv": [None] * (len(GROWTH_SIZES) - 1) + [{"value": 1400.0, "low": 1000.0, "high": 1800.0}]}
    return {"resolution_scaling": {"config": {"study": {"hidden_grid": [256, 1024]}},
                                   "result": {"summary": summary, "dense_vs_memoriser": list(versus),
                                              "conditions": conditions, "ratios": ratios,
                                              "stops": {arm: {"patience": 10, "fit": 2,
                                                              "budget": 6 if arm == "conv" else 2}
                                                        for arm in NEED_SCALE if arm != "memoriser"}}}}


def growth_kinds(records: dict) -> dict:
    return records["resolution_scaling"]["result"]["summary"]["kinds"]


FASTER = sorted(n for n in claims.CLAIMS if re.fullmatch(r"guard\.growth\.\w+_faster_than_\w+", n))


def test_every_growth_guard_holds_on_the_synthetic_study():
    growth = [n for n in claims.CLAIMS if n.startswith("guard.growth.")]
    assert len(FASTER) >= 9 and len(growth) >= 19
    for name in growth:
        verdict = claims.evaluate(name, growth_record())
        assert verdict.holds and verdict.sentence == "", f"{name}: {verdict.evidence}"


def test_needs_more_at_names_its_canvases():
    from equidocs.claims.growth import needs_more_at

    with pytest.raises(ValueError, match=r"where='biggest': expected 'largest', 'second' or 'dense_last'"):
        needs_more_at("dense", "conv", "biggest")


def test_needs_more_at_fails_when_the_intervals_overlap_or_a_need_is_censored():
    name = "guard.growth.dense_needs_more_than_local_at_dense_last"   # 16x16 in the synthetic study
    record = growth_record()
    assert claims.evaluate(name, record).holds
    growth_kinds(record)["dense"]["needed_ci"][-2] = [100.0, 1e6]   # reaches below the local net's
    assert not claims.evaluate(name, record).holds
    record = growth_record()
    growth_kinds(record)["local"]["censored"][-2] = "above"         # the local net's need is a bound
    assert not claims.evaluate(name, record).holds


def test_range_just_enough_needs_a_16_to_32_fold_range_of_pixels_and_seven_sizes():
    name = "guard.growth.range_just_enough"
    assert claims.evaluate(name, growth_record()).holds
    for sizes in ((6, 8, 10, 12, 16, 20, 22), (6, 8, 24), (6, 7, 8, 10, 12, 16, 36)):  # short; few; wide
        record = growth_record()
        summary = record["resolution_scaling"]["result"]["summary"]
        summary["sizes"], summary["pixels"] = list(sizes), [s * s for s in sizes]
        assert not claims.evaluate(name, record).holds, sizes


def test_needs_intervals_closed_fails_on_an_open_end_but_ignores_censored_needs():
    name = "guard.growth.needs_intervals_closed"
    assert claims.evaluate(name, growth_record()).holds
    for arm, end, value in (("conv", 0, 0.0), ("local", 1, None)):
        record = growth_record()
        growth_kinds(record)[arm]["needed_ci"][2][end] = value
        verdict = claims.evaluate(name, record)
        assert not verdict.holds and f"('{arm}', 8)" in verdict.evidence
    record = growth_record()
    growth_kinds(record)["dense"]["needed_ci"][-1] = [741455.0, None]   # censored: a bound, not an interval
    assert claims.evaluate(name, record).holds


def test_dense_bounded_at_largest_only_needs_a_bound_there_and_nowhere_else():
    name = "guard.growth.dense_bounded_at_largest_only"
    assert claims.evaluate(name, growth_record()).holds
    record = growth_record()
    growth_kinds(record)["dense"]["censored"][-2] = "above"
    assert not claims.evaluate(name, record).holds
    record = growth_record()
    growth_kinds(record)["dense"]["censored"][-1] = None
    assert not claims.evaluate(name, record).holds


def test_sharing_dwarfs_locality_needs_the_intervals_apart():
    name = "guard.growth.sharing_dwarfs_locality"
    record = growth_record()
    assert claims.evaluate(name, record).holds
    growth_kinds(record)["conv"]["needed_ci"][-2] = [10.0, 2000.0]  # sharing's saving could be tiny (16x16)
    assert not claims.evaluate(name, record).holds


def test_conv_bump_pixel_exponent_and_budget_guards_fail_on_other_data():
    record = growth_record()
    assert claims.evaluate("guard.growth.conv_peak_above_largest", record).holds
    growth_kinds(record)["conv"]["needed"] = [18.0] * len(GROWTH_SIZES)   # flat: no bump
    growth_kinds(record)["conv"]["needed_ci"] = [[14.4, 21.6]] * len(GROWTH_SIZES)
    assert not claims.evaluate("guard.growth.conv_peak_above_largest", record).holds
    record = growth_record()
    growth_kinds(record)["dense"]["laws"]["power law in pixels"]["slope_ci"] = [1.9, 2.8]
    assert not claims.evaluate("guard.growth.dense_steeper_than_pixels_squared", record).holds
    record = growth_record()
    record["resolution_scaling"]["result"]["stops"]["dense"]["budget"] = 50
    assert not claims.evaluate("guard.growth.conv_most_budget_hits", record).holds


def test_grows_faster_prints_both_exponents_with_their_intervals():
    verdict = claims.evaluate("guard.growth.dense_faster_than_conv", growth_record())
    assert verdict.evidence.endswith("dense: positions^2.50 (2.00 to 3.00); conv: positions^-0.15 (-0.30 to -0.02)")


def test_dense_steeper_at_frontier_needs_the_frontier_exponent_above_the_positions_law():
    name = "guard.growth.dense_steeper_at_frontier"
    record = growth_record()
    assert claims.evaluate(name, record).holds
    growth_kinds(record)["dense"]["exponent_positions_law_ci"] = [1.8, 2.6]  # the frontier's 2.5 inside it
    assert not claims.evaluate(name, record).holds
    growth_kinds(record)["dense"]["exponent_positions_law_ci"] = None
    assert not claims.evaluate(name, record).holds


@pytest.mark.parametrize("arm", ["local", "conv_flatten", "local_flatten"])
def test_a_partial_designs_positions_law_guard_fails_on_another_verdict(arm):
    name = f"guard.growth.{arm}_positions_power_law"
    record = growth_record()
    assert claims.evaluate(name, record).holds
    growth_kinds(record)[arm]["best_law"] = "inconclusive"
    assert not claims.evaluate(name, record).holds


@pytest.mark.parametrize("name", FASTER)
def test_grows_faster_fails_when_the_intervals_overlap_or_the_order_flips(name):
    steeper, flatter = re.fullmatch(r"guard\.growth\.(\w+)_faster_than_(\w+)", name).groups()
    b, low, high = GROWTH_EXPONENTS[flatter]
    touching = growth_record(**{steeper: (high + 0.5, high, high + 1.0)})   # low end on the other's high end
    assert not claims.evaluate(name, touching).holds
    overlapping = growth_record(**{steeper: (high + 0.5, high - 0.05, high + 1.0)})
    assert not claims.evaluate(name, overlapping).holds
    flipped = growth_record(**{steeper: GROWTH_EXPONENTS[flatter], flatter: GROWTH_EXPONENTS[steeper]})
    assert not claims.evaluate(name, flipped).holds
    apart = growth_record(**{steeper: (high + 0.5, high + 0.01, high + 1.0)})
    assert claims.evaluate(name, apart).holds


def test_grows_faster_without_a_fitted_exponent_does_not_hold():
    verdict = claims.evaluate("guard.growth.local_faster_than_conv", growth_record(local=None))
    assert not verdict.holds and "no fitted exponent for local" in verdict.evidence
    verdict = claims.evaluate("guard.growth.local_faster_than_conv", growth_record(conv=None))
    assert not verdict.holds and "no fitted exponent for conv" in verdict.evidence


def test_conv_no_growth_needs_the_conv_exponents_interval_to_reach_zero():
    name = "guard.growth.conv_no_growth"
    for fit in ((0.0, 0.0, 0.2), (-0.3, -0.5, -0.1)):   # an end on zero; falling
        assert claims.evaluate(name, growth_record(conv=fit)).holds
    verdict = claims.evaluate(name, growth_record(conv=(0.2, 0.05, 0.35)))   # growing
    assert not verdict.holds and "conv: positions^" in verdict.evidence
    verdict = claims.evaluate(name, growth_record(conv=None))
    assert not verdict.holds and "not fitted" in verdict.evidence


def test_conv_falls_at_large_end_needs_the_whole_interval_below_zero():
    name = "guard.growth.conv_falls_at_large_end"
    assert claims.evaluate(name, growth_record(conv=(-0.3, -0.5, -0.1))).holds
    for fit in ((-0.1, -0.3, 0.0), (0.0, -0.1, 0.1), (0.2, 0.05, 0.35)):   # an end on zero; flat; growing
        verdict = claims.evaluate(name, growth_record(conv=fit))
        assert not verdict.holds and "conv: positions^" in verdict.evidence
    assert not claims.evaluate(name, growth_record(conv=None)).holds


def test_halves_a_little_over_linear_needs_both_intervals_above_one_and_exponents_at_most_1_5():
    name = "guard.growth.halves_a_little_over_linear"
    verdict = claims.evaluate(name, growth_record())
    assert verdict.holds and "conv_flatten: positions^1.30 (1.15 to 1.60); local: positions^1.25 (1.20 to 1.33)" in verdict.evidence
    assert not claims.evaluate(name, growth_record(conv_flatten=(2.0, 1.8, 2.2))).holds   # far faster
    assert not claims.evaluate(name, growth_record(local=(1.0, 0.9, 1.1))).holds           # linear: reaches 0.9
    assert not claims.evaluate(name, growth_record(local=None)).holds                      # no fit


def test_unshared_superlinear_needs_both_unshared_intervals_above_one():
    name = "guard.growth.unshared_superlinear"
    assert claims.evaluate(name, growth_record()).holds
    assert not claims.evaluate(name, growth_record(local_flatten=(1.2, 0.95, 1.5))).holds


def test_dense_widest_everywhere_fails_when_one_canvas_chose_a_narrower_net():
    name = "guard.growth.dense_widest_everywhere"
    record = growth_record()
    assert claims.evaluate(name, record).holds
    record["resolution_scaling"]["result"]["conditions"][1]["settings"]["hidden"] = 256
    assert not claims.evaluate(name, record).holds


def test_sharing_saving_exceeds_positions_reads_the_ratios_low_end():
    name = "guard.growth.sharing_saving_exceeds_positions"
    record = growth_record()
    assert claims.evaluate(name, record).holds
    record["resolution_scaling"]["result"]["ratios"]["local_conv"][-1]["low"] = 100.0   # below 144 positions
    assert not claims.evaluate(name, record).holds


def test_cnn_fc_below_local_everywhere_needs_every_canvas_apart():
    name = "guard.growth.cnn_fc_below_local_everywhere"
    assert claims.evaluate(name, growth_record()).holds
    record = growth_record()
    growth_kinds(record)["cnn_fc"]["needed_ci"][0][1] = 1e6   # overlaps unshared-pooled at one canvas
    assert not claims.evaluate(name, record).holds
    record = growth_record()
    growth_kinds(record)["local"]["censored"][-1] = "above"   # unshared-pooled only bounded there
    assert not claims.evaluate(name, record).holds


def _positions_law_predicts_dense_best(dense: dict) -> None:
    dense["held_out"]["power law in positions"]["rms_log_miss"] = 0.01


@pytest.mark.parametrize("name, perturb", [
    ("guard.growth.held_out_agrees", _positions_law_predicts_dense_best),
])
def test_a_dense_net_guard_holds_until_its_evidence_changes(name, perturb):
    record = growth_record()
    assert claims.evaluate(name, record).holds
    perturb(growth_kinds(record)["dense"])
    assert not claims.evaluate(name, record).holds


def test_halves_inconclusive_needs_the_two_intervals_to_overlap():
    name = "guard.growth.halves_inconclusive"
    assert claims.evaluate(name, growth_record(conv_flatten=(1.4, 1.33, 1.6))).holds   # ends touch
    assert not claims.evaluate(name, growth_record(conv_flatten=(1.6, 1.4, 1.8))).holds   # above local's
    assert not claims.evaluate(name, growth_record(conv_flatten=(0.9, 0.8, 1.1))).holds   # below local's


@pytest.mark.parametrize("name, arm, law", [
    ("guard.growth.dense_pixels_power_law", "dense", "power law in pixels"),
    ("guard.growth.memoriser_exponential", "memoriser", "exponential in side length"),
    ("guard.growth.conv_law_inconclusive", "conv", "inconclusive"),
    ("guard.growth.local_positions_power_law", "local", "power law in positions")])
def test_a_best_law_guard_fails_when_another_law_wins(name, arm, law):
    records = growth_record()
    assert claims.evaluate(name, records).holds
    for other in ("power law in positions", "power law in pixels", "exponential in side length", "inconclusive"):
        if other != law:
            growth_kinds(records)[arm]["best_law"] = other
            verdict = claims.evaluate(name, records)
            assert not verdict.holds and f"{arm}: {other}" in verdict.evidence


def test_the_exponential_law_is_rare_only_when_close_in_under_one_draw_in_ten():
    name = "guard.growth.dense_exponential_rare"
    records = growth_record()
    laws = growth_kinds(records)["dense"]["laws"]
    laws["exponential in side length"]["not_rejected_frequency"] = 0.099
    assert claims.evaluate(name, records).holds
    laws["exponential in side length"]["not_rejected_frequency"] = 0.1
    assert not claims.evaluate(name, records).holds
    laws["exponential in side length"].pop("not_rejected_frequency")   # nothing recorded: nothing shown
    assert not claims.evaluate(name, records).holds
    growth_kinds(records)["dense"]["laws"] = None
    assert not claims.evaluate(name, records).holds


@pytest.mark.parametrize("arm", ["conv", "local", "dense"])
def test_main_arms_measured_fails_when_a_main_arm_is_censored_or_missing_at_some_size(arm):
    name = "guard.growth.main_arms_measured"
    records = growth_record()
    growth_kinds(records)["memoriser"]["censored"][-1] = "above"   # only the main arms count
    assert claims.evaluate(name, records).holds
    growth_kinds(records)[arm]["censored"][-2] = "above"   # at 16x16
    verdict = claims.evaluate(name, records)
    assert not verdict.holds and f"('{arm}', 16)" in verdict.evidence
    records = growth_record()
    growth_kinds(records)[arm]["censored"][0] = "below"
    assert not claims.evaluate(name, records).holds
    records = growth_record()
    growth_kinds(records)[arm]["needed"][2] = None   # not run at 8x8
    verdict = claims.evaluate(name, records)
    assert not verdict.holds and f"('{arm}', 8)" in verdict.evidence


@pytest.mark.parametrize("arm", ["conv", "local", "dense"])
def test_main_arms_measured_allows_each_main_arm_one_bounded_canvas_past_16(arm):
    name = "guard.growth.main_arms_measured"
    records = growth_record()
    summary = records["resolution_scaling"]["result"]["summary"]
    summary["sizes"].insert(-1, 20)
    for k in growth_kinds(records).values():
        k["needed"].insert(-1, k["needed"][-2] * 2)
        k["censored"].insert(-1, None)
        k["needed_ci"].insert(-1, [1.0, 2.0])
    growth_kinds(records)["dense"]["censored"][-1] = None
    assert claims.evaluate(name, records).holds
    growth_kinds(records)[arm]["censored"][-1] = "above"   # bounded at 24x24 only: allowed
    assert claims.evaluate(name, records).holds
    growth_kinds(records)[arm]["censored"][-2] = "above"   # at 20x20 as well: one too many
    verdict = claims.evaluate(name, records)
    assert not verdict.holds and f"('{arm}', [20, 24])" in verdict.evidence


def test_dense_beats_lookup_only_at_dense_last_needs_above_there_alone_below_earlier_and_both_bounded_beyond():
    name = "guard.growth.dense_beats_lookup_only_at_dense_last"
    verdict = claims.evaluate(name, growth_record())
    assert verdict.holds and "16: above, 24: inconclusive; dense measured up to 16" in verdict.evidence
    lead = LOOKUP_VERSUS[:5]
    assert not claims.evaluate(name, growth_record(versus=lead + ("inconclusive", "inconclusive"))).holds  # no lead
    assert not claims.evaluate(name, growth_record(versus=("above",) + lead[1:] + ("above", "inconclusive"))).holds
    assert not claims.evaluate(name, growth_record(versus=("inconclusive",) * 5 + ("above", "inconclusive"))).holds
    assert not claims.evaluate(name, growth_record(versus=lead + ("above", "above"))).holds  # ahead beyond too
    record = growth_record()
    growth_kinds(record)["memoriser"]["censored"][-2] = None   # the lookup does get there
    assert not claims.evaluate(name, record).holds
    record = growth_record()
    growth_kinds(record)["memoriser"]["censored"][-1] = None   # ... or beyond
    assert not claims.evaluate(name, record).holds


def readout_record(value=30.0, low=20.0, high=45.0):
    gain = lambda v, lo, hi, verdict: {"worse": "local", "better": "conv", "isolates": "sharing, with 5×5 windows",  # noqa: E731
                                      "value": v, "low": lo, "high": hi, "lower_bound_only": False, "verdict": verdict}
    verdict = "saves data" if low > 1 else "costs data" if high < 1 else "inconclusive"
    return {"sharing_locality": {"result": {"gains": {"sharing_with_locality": gain(value, low, high, verdict)}}}}


def test_a_gain_saves_data_only_when_its_interval_lies_above_one():
    name = "guard.readout.sharing_with_locality_saves_data"
    assert claims.evaluate(name, readout_record()).holds
    assert not claims.evaluate(name, readout_record(1.2, 0.8, 1.9)).holds
    assert not claims.evaluate(name, readout_record(None, 2.0, None)).holds   # no value: the better net never got there


def capacity_record(outcome="above", small="inconclusive"):
    gap = {"value": 30.0, "low": 25.0, "high": 36.0, "bound": ""}
    return {"capacity": {"result": {"canvases": [6, 8],
                                    "separation": {"6.dense_vs_conv": small, "8.dense_vs_conv": outcome},
                                    "gaps": {"6.dense_vs_conv": {**gap, "high": None, "bound": "lower"},
                                             "8.dense_vs_conv": gap}}}}


def test_the_capacity_gap_holds_only_when_every_interval_is_apart_at_the_largest_canvas():
    verdict = claims.evaluate("guard.capacity.gap_survives_capacity", capacity_record())
    assert verdict.holds and "{6: 'inconclusive', 8: 'above'}" in verdict.evidence
    assert claims.evaluate("guard.capacity.gap_survives_capacity", capacity_record(small="above")).holds
    assert not claims.evaluate("guard.capacity.gap_survives_capacity", capacity_record("inconclusive")).holds


def test_the_smallest_canvas_guard_breaks_when_the_nets_are_apart_there_too():
    assert claims.evaluate("guard.capacity_smallest_canvas_not_apart", capacity_record()).holds
    assert not claims.evaluate("guard.capacity_smallest_canvas_not_apart", capacity_record(small="above")).holds


def controls_record(examples=(8.0, 5.0, 13.0), compute=(0.5, 0.3, 0.8), censored=("", ""), name="augmented_vs_conv"):
    ratio = lambda v, lo, hi: {"value": v, "low": lo, "high": hi, "lower_bound_only": False}  # noqa: E731
    need = lambda v, c: {"need": {"value": v, "censored": c, "ci": [0.8 * v, 1.2 * v]}}  # noqa: E731
    return {"heads_augmentation": {"result": {
        "arms": {"dense+shift": need(480.0, censored[0]), "conv": need(60.0, censored[1])},
        "ratios": {name: {"worse": "dense+shift", "better": "conv", "measures": "",
                                         "examples": ratio(*examples), "compute": ratio(*compute)}}}}}


def test_a_control_ratio_without_a_value_saves_nothing():
    record = controls_record(examples=(None, 0.0, None), censored=("", "above"))
    verdict = claims.evaluate("guard.controls.augmented_vs_conv_examples", record)
    assert not verdict.holds and verdict.evidence.startswith("examples ratio undetermined")
    record = controls_record(compute=(None, 0.0, None))
    assert not claims.evaluate("guard.controls.augmented_vs_conv_compute", record).holds


def test_a_control_saves_only_when_its_interval_lies_above_one():
    assert claims.evaluate("guard.controls.augmented_vs_conv_examples", controls_record()).holds
    assert claims.render("guard.controls.augmented_vs_conv_examples", controls_record(), "x.md") == ""
    assert not claims.evaluate("guard.controls.augmented_vs_conv_compute", controls_record()).holds
    assert claims.evaluate("guard.controls.augmented_vs_conv_compute", controls_record(compute=(3.0, 2.0, 4.5))).holds
    assert not claims.evaluate("guard.controls.augmented_vs_conv_examples", controls_record((1.3, 0.9, 2.0))).holds


def test_a_control_is_inconclusive_only_when_its_interval_includes_one():
    name, record = "guard.controls.sharing_flatten_inconclusive", lambda r: controls_record(r, name="sharing_flatten")
    assert claims.evaluate(name, record((1.2, 0.9, 1.8))).holds
    assert not claims.evaluate(name, record((8.0, 5.0, 13.0))).holds
    verdict = claims.evaluate(name, record((1.2, 0.0, None)))
    assert not verdict.holds and verdict.evidence.startswith("examples ratio without an interval")


# --- guards: silent checks behind sentences written by hand ----------------------------------------

@functools.cache
def _frozen_records() -> dict:
    return {name: frozen.read(name, ROOT / "results") for name in experiments.NAMES}


class _Copies(dict):
    """The frozen results by experiment name; each copied on first use (a test may change its copy)."""

    def __missing__(self, name: str) -> dict:
        self[name] = copy.deepcopy(_frozen_records()[name])
        return self[name]


def published() -> dict:
    """The frozen results (read and checked once per session), as copies a test may change."""
    return _Copies()


def test_a_guard_prints_nothing_and_every_sentence_claim_has_one():
    records = published()
    assert claims.render("guard.pooling_is_the_saving", records, "x.md") == ""
    assert claims.render("guard.patterns.conv_fewer_examples_than_dense", records, "x.md") == ""
    assert all(claims.evaluate(n, records).sentence == "" for n in claims.CLAIMS if n.startswith("guard."))
    sentences = [n for n, c in claims.CLAIMS.items() if c.kind == "sentence"]
    assert sentences and all(f"guard.{n}" in claims.CLAIMS for n in sentences)
    assert claims.render("guard.digits.dense_over_local_bound", records, "x.md") == ""


def test_a_growth_guard_fails_the_build_naming_its_numbers_on_swapped_data():
    records = published()
    kinds = records["resolution_scaling"]["result"]["summary"]["kinds"]
    kinds["conv"], kinds["dense"] = kinds["dense"], kinds["conv"]
    with pytest.raises(claims.ClaimError, match=r"dense: positions\^-?[0-9.]+ \(.*\); conv: positions\^"):
        claims.render("guard.growth.dense_faster_than_conv", records, "x.md")


def test_a_silent_guard_breaks_with_its_claim():
    records = published()
    for task in records["sample_efficiency"]["result"]["tasks"].values():
        task["arms"]["conv"], task["arms"]["dense"] = task["arms"]["dense"], task["arms"]["conv"]
    verdict = claims.evaluate("guard.patterns.conv_fewer_examples_than_dense", records)
    assert not verdict.holds and "dense/conv" in verdict.evidence


def test_the_pooling_guard_needs_the_pooled_saving_clear_of_the_flatten_one():
    records = published()
    ratios = records["heads_augmentation"]["result"]["ratios"]
    ratios["sharing_flatten"]["examples"].update(value=40.0, low=20.0, high=80.0)   # filters alone save as much
    assert not claims.evaluate("guard.pooling_is_the_saving", records).holds
    assert not claims.evaluate("guard.flatten_sharing_small", records).holds


def test_the_flatten_accuracy_guard_and_its_numbers_follow_the_paired_differences():
    records = published()
    assert claims.evaluate("guard.controls.flatten_conv_beats_dense_somewhere", records).holds
    wins = claims.render("controls.flatten_conv_wins", records, "x.md")
    assert re.fullmatch(r"[1-9][0-9]* of the [1-9][0-9]*", wins)
    assert re.fullmatch(r"[0-9]+ points \(95% interval -?[0-9]+ to [0-9]+, at [0-9,]+ examples\)",
                        claims.render("controls.flatten_conv_lead", records, "x.md"))
    arms = records["heads_augmentation"]["result"]["arms"]
    arms["conv+flatten"]["curve"] = copy.deepcopy(arms["dense"]["curve"])   # a tie at every size
    assert not claims.evaluate("guard.controls.flatten_conv_beats_dense_somewhere", records).holds
    assert claims.render("controls.flatten_conv_wins", records, "x.md").startswith("0 of the ")


def test_the_lookup_guard_breaks_when_the_dense_net_needs_less_at_a_smaller_canvas():
    records = published()
    versus = records["resolution_scaling"]["result"]["dense_vs_memoriser"]
    assert "below" in versus
    versus[0] = "above"
    assert not claims.evaluate("guard.growth.dense_beats_lookup_only_at_dense_last", records).holds


def test_the_growth_guards_break_on_the_published_study_when_the_conv_net_grows_or_a_law_changes():
    records = published()
    kinds = records["resolution_scaling"]["result"]["summary"]["kinds"]
    kinds["conv"]["exponent_ci"] = [0.2, 0.6]
    assert not claims.evaluate("guard.growth.conv_no_growth", records).holds
    assert not claims.evaluate("guard.growth.conv_falls_at_large_end", records).holds
    kinds["conv"]["best_law"] = "power law in positions"
    assert not claims.evaluate("guard.growth.conv_law_inconclusive", records).holds
    kinds["dense"]["best_law"] = "inconclusive"
    assert not claims.evaluate("guard.growth.dense_pixels_power_law", records).holds
    sizes = records["resolution_scaling"]["result"]["summary"]["sizes"]
    kinds["dense"]["censored"][sizes.index(16)] = "above"   # bounded within 16x16: not allowed
    assert not claims.evaluate("guard.growth.main_arms_measured", records).holds


def test_the_shuffle_guards_break_when_the_shuffled_conv_net_fits_or_the_dense_net_moves():
    records = published()
    task = records["sample_efficiency"]["result"]["tasks"]["patterns"]
    task["arms"]["conv+perm"]["train_acc_min"] = 1.0
    assert not claims.evaluate("guard.patterns.shuffled_conv_cannot_fit", records).holds
    task["ratios"]["dense+perm/dense"].update(value=3.0, low=2.0, high=4.0)
    assert not claims.evaluate("guard.patterns.dense_indifferent_to_shuffle", records).holds


def test_the_readout_alone_guard_breaks_when_the_readout_alone_saves_as_much():
    records = published()
    assert claims.evaluate("guard.readout_alone_small", records).holds
    records["sharing_locality"]["result"]["gains"]["readout"].update(value=40.0, low=30.0, high=60.0)
    assert not claims.evaluate("guard.readout_alone_small", records).holds


def test_the_locality_guard_breaks_when_locality_saves_data():
    records = published()
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["dense/local"].update(
        value=5.0, low=3.0, high=8.0)
    assert not claims.evaluate("guard.locality_alone_not_shown", records).holds


@pytest.mark.parametrize("arm", ["dense", "local"])
def test_the_amnesia_guard_breaks_when_the_net_transfers(arm):
    records = published()
    assert claims.evaluate(f"guard.{arm}_blind_far_away", records).holds
    records["amnesia_distance"]["result"]["numbers"][f"{arm}.vs_chance"] = "above chance"
    assert not claims.evaluate(f"guard.{arm}_blind_far_away", records).holds


def test_the_local_weights_guard_breaks_when_the_change_spreads():
    records = published()
    assert claims.evaluate("guard.local_changes_inside", records).holds
    records["weights"]["result"]["by_n"]["512"]["local"]["share_inside"] = [0.85, 0.02]
    assert not claims.evaluate("guard.local_changes_inside", records).holds


def test_a_ratio_with_one_censored_need_is_printed_as_its_bound():
    records = published()
    text = claims.render("digits.dense_over_local_bound", records, "x.md")
    assert re.fullmatch(r"less than [0-9.,]+× \(the locally-connected net had not reached the target at "
                        r"[0-9,]+ examples, its largest set\)", text)
    arms = records["sample_efficiency"]["result"]["tasks"]["digits"]["arms"]
    arms["local"]["need"]["censored"] = ""   # both measured: no bound to print
    assert not claims.evaluate("digits.dense_over_local_bound", records).holds


def test_a_table_accuracy_is_the_seed_mean_with_an_interval_around_it():
    records = published()
    arms = records["sample_efficiency"]["result"]["tasks"]["digits"]["arms"]
    text = claims.render("accuracy.digits.conv.64", records, "x.md")
    mean, low, high = map(int, re.fullmatch(r"(\d+)% \((\d+)–(\d+)\)", text).groups())
    column = [row[records["sample_efficiency"]["result"]["tasks"]["digits"]["ns"].index(64)]
              for row in arms["conv"]["test_acc"]]
    assert mean == round(100 * sum(column) / len(column)) and low <= mean <= high and low < high


def test_an_explorer_accuracy_shows_every_seed_and_their_mean():
    records = published()
    accs = records["explorer_models"]["result"]["by_kind"]["conv_flatten"]["test_acc"]
    accs[max(accs, key=int)] = [0.25, 0.75]
    assert claims.render("explorer.conv_flatten.test_acc", records, "x.md") == "50% (seeds: 25% and 75%)"
