"""Claims about results: they hold on the published data, and break when the data contradict them."""
import copy
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


def test_a_supported_claim_renders_its_sentence_with_numbers():
    text = claims.render("patterns.conv_beats_dense", synthetic(), "x.md")
    assert text.startswith("On the glyphs, the conv net is more accurate than the dense net")
    assert "2 sizes" in text and "5 seeds" in text


def test_swapping_two_kinds_breaks_the_claim_naming_page_claim_and_numbers():
    records = synthetic()
    arms = records["sample_efficiency"]["result"]["tasks"]["patterns"]["arms"]
    arms["conv"], arms["dense"] = arms["dense"], arms["conv"]
    with pytest.raises(claims.ClaimError) as info:
        claims.render("patterns.conv_beats_dense", records, "data-efficiency.md")
    message = str(info.value)
    assert "data-efficiency.md" in message and "patterns.conv_beats_dense" in message and "n=16" in message


def test_a_tie_is_not_a_win():
    assert not claims.evaluate("patterns.conv_beats_dense", synthetic(conv=0.6, dense=0.6)).holds


def test_fewer_examples_needs_a_ratio_interval_above_one():
    text = claims.render("patterns.conv_fewer_examples_than_local", synthetic(), "x.md")
    assert "20 examples (95% interval 16 to 25)" in text and "45 times as many (95% interval 30 to 60)" in text
    censored = claims.render("patterns.conv_fewer_examples_than_dense", synthetic(), "x.md")
    assert "more than 4,096 examples" in censored and "more than 150 times as many" in censored
    records = synthetic()
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["local/conv"].update(low=0.8)
    assert not claims.evaluate("patterns.conv_fewer_examples_than_local", records).holds


def test_need_comparison_says_inconclusive_when_the_interval_includes_one():
    records = synthetic()
    ratios = records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]
    ratios["dense+perm/dense"] = {"value": 1.1, "low": 0.8, "high": 1.5, "lower_bound_only": False}
    ratios["dense/local"] = {"value": 0.2, "low": 0.1, "high": 0.3, "lower_bound_only": False}
    assert "inconclusive" in claims.render("patterns.dense_perm_vs_dense_examples", records, "x.md")
    text = claims.render("patterns.dense_vs_local_examples", records, "x.md")
    assert text.endswith("0.20 times the examples of the locally-connected net (95% interval 0.10 to 0.30)")
    assert ": more" not in text and ": fewer" not in text


def test_unknown_claim_is_named():
    with pytest.raises(KeyError, match="claim 'nope': unknown"):
        claims.evaluate("nope", synthetic())


def used_claims() -> set[str]:
    return {m.group(1) for page in (ROOT / "docs").rglob("*.md")
            for m in claims_pattern().finditer(page.read_text(encoding="utf-8"))}


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
    name = "amnesia.conv_transfers_dense_does_not"
    text = claims.render(name, amnesia_record(), "x.md")
    assert "2,048 examples" in text and "conv net scores 99%" in text and "dense net 26%" in text
    assert "3 seeds" in text and "chance (25%)" in text
    assert not claims.evaluate(name, amnesia_record(dense_out=0.6)).holds   # the dense net transferred
    assert not claims.evaluate(name, amnesia_record(conv_out=0.27)).holds   # the conv net did not
    assert not claims.evaluate(name, amnesia_record(dense_in=0.27)).holds   # nothing learned at all


def equivariance_record(worst_conv=0.9, local=0.31, dense=0.28, sd=0.02):
    trained = {"conv, circular padding": {"consistency": [1.0, 0.0]},
               "conv, zero padding": {"consistency": [worst_conv, sd]},
               "locally connected": {"consistency": [local, sd]}, "dense": {"consistency": [dense, sd]}}
    return {"equivariance_error": {"result": {"trained": trained}}}


def test_consistency_claim_names_the_least_consistent_conv_design_and_needs_a_clear_gap():
    name = "equivariance.conv_designs_most_consistent"
    text = claims.render(name, equivariance_record(), "x.md")
    assert "at least 90%" in text and "(the lowest: conv, zero padding)" in text
    assert not claims.evaluate(name, equivariance_record(worst_conv=0.33)).holds


def test_every_claim_on_the_pages_holds_on_the_published_results():
    records = {name: frozen.read(name, ROOT / "results") for name in experiments.NAMES}
    for name in sorted(used_claims()):
        verdict = claims.evaluate(name, records)
        assert verdict.holds, f"{name}: {verdict.evidence}"


def test_swapping_conv_and_dense_in_the_published_results_breaks_their_claims():
    records = {"sample_efficiency": copy.deepcopy(frozen.read("sample_efficiency", ROOT / "results"))}
    for task in records["sample_efficiency"]["result"]["tasks"].values():
        task["arms"]["conv"], task["arms"]["dense"] = task["arms"]["dense"], task["arms"]["conv"]
    on_these_results = ("patterns.", "digits.", "guard.patterns.", "guard.digits.")
    broken = [name for name in sorted(used_claims()) if name.startswith(on_these_results)
              and ("conv_beats_dense" in name or "conv_fewer_examples_than_dense" in name)]
    assert broken, "the pages state no conv-vs-dense claim"
    for name in broken:
        assert not claims.evaluate(name, records).holds, name


def growth_record(dense=(2.0, 1.6, 2.4), conv=(0.4, 0.1, 0.7), dense_upsampled=(0.1, -0.1, 0.3)):
    kind = lambda b, lo, hi: {"exponent_d": b, "exponent_d_ci": [lo, hi]}  # noqa: E731
    return {"resolution_scaling": {"result": {"summary": {"kinds": {
        "dense": kind(*dense), "conv": kind(*conv), "local": {"exponent_d": None, "exponent_d_ci": None}},
        "pixels_per_object": {"kinds": {"dense": kind(*dense_upsampled)}}}}}}


def test_growth_claim_needs_separated_exponent_intervals():
    assert claims.evaluate("growth.dense_faster_than_conv", growth_record()).holds
    overlapping = growth_record(dense=(1.0, 0.6, 1.4))
    verdict = claims.evaluate("growth.dense_faster_than_conv", overlapping)
    assert not verdict.holds and "0.60" in verdict.evidence
    swapped = growth_record(dense=(0.4, 0.1, 0.7), conv=(2.0, 1.6, 2.4))
    assert not claims.evaluate("growth.dense_faster_than_conv", swapped).holds


def test_growth_claim_without_a_fit_does_not_hold():
    verdict = claims.evaluate("growth.local_faster_than_conv", growth_record())
    assert not verdict.holds and "no fitted exponent for local" in verdict.evidence


def test_positions_not_pixels_needs_the_canvas_exponent_clear_of_the_upsampled_one():
    assert claims.evaluate("growth.dense_positions_not_pixels", growth_record()).holds
    close = growth_record(dense_upsampled=(1.5, 1.0, 2.0))
    assert not claims.evaluate("growth.dense_positions_not_pixels", close).holds


def readout_record(value=30.0, low=20.0, high=45.0):
    gain = lambda v, lo, hi, verdict: {"worse": "local", "better": "conv", "isolates": "sharing, with 5×5 windows",  # noqa: E731
                                      "value": v, "low": lo, "high": hi, "lower_bound_only": False, "verdict": verdict}
    verdict = "saves data" if low > 1 else "costs data" if high < 1 else "inconclusive"
    return {"sharing_locality": {"result": {"gains": {"sharing_with_locality": gain(value, low, high, verdict)}}}}


def test_a_gain_saves_data_only_when_its_interval_lies_above_one():
    text = claims.render("readout.sharing_with_locality_saves_data", readout_record(), "x.md")
    assert "30 times the examples (95% interval 20 to 45) of the conv net" in text
    assert not claims.evaluate("readout.sharing_with_locality_saves_data", readout_record(1.2, 0.8, 1.9)).holds
    assert "inconclusive" in claims.render("readout.sharing_with_locality", readout_record(1.2, 0.8, 1.9), "x.md")


def capacity_record(outcome="above", small="inconclusive"):
    gap = {"value": 30.0, "low": 25.0, "high": 36.0, "bound": ""}
    return {"capacity": {"result": {"canvases": [6, 8],
                                    "separation": {"6.dense_vs_conv": small, "8.dense_vs_conv": outcome},
                                    "gaps": {"6.dense_vs_conv": {**gap, "high": None, "bound": "lower"},
                                             "8.dense_vs_conv": gap}}}}


def test_the_capacity_gap_holds_only_when_every_interval_is_apart_at_the_largest_canvas():
    text = claims.render("capacity.gap_survives_capacity", capacity_record(), "x.md")
    assert "At the capacity sweep's largest canvas, 8×8" in text and "30.0 times (95% interval 25.0 to 36.0)" in text
    assert "at 6×6 they are not apart (inconclusive" in text
    assert "at 6×6 they are apart too" in claims.render("capacity.gap_survives_capacity",
                                                         capacity_record(small="above"), "x.md")
    assert not claims.evaluate("capacity.gap_survives_capacity", capacity_record("inconclusive")).holds


def controls_record(examples=(8.0, 5.0, 13.0), compute=(0.5, 0.3, 0.8), censored=("", "")):
    ratio = lambda v, lo, hi: {"value": v, "low": lo, "high": hi, "lower_bound_only": False}  # noqa: E731
    need = lambda v, c: {"need": {"value": v, "censored": c, "ci": [0.8 * v, 1.2 * v]}}  # noqa: E731
    return {"heads_augmentation": {"result": {
        "arms": {"dense+shift": need(480.0, censored[0]), "conv": need(60.0, censored[1])},
        "ratios": {"augmented_vs_conv": {"worse": "dense+shift", "better": "conv", "measures": "",
                                         "examples": ratio(*examples), "compute": ratio(*compute)}}}}}


def test_a_control_sentence_gives_both_ratios_and_a_verdict_for_each():
    text = claims.render("controls.augmented_vs_conv", controls_record(), "x.md")
    assert "needs 8.0 times the examples (95% interval 5.0 to 13) of the conv net (pooled head)" in text
    assert text.endswith("training it at its need takes 0.50 times the training compute (95% interval 0.30 to "
                         "0.80), so less compute")
    close = controls_record(compute=(1.1, 0.7, 1.6))
    assert "training compute (95% interval 0.70 to 1.6), an interval that includes 1: inconclusive" in claims.render(
        "controls.augmented_vs_conv", close, "x.md")


@pytest.mark.parametrize("censored, reason", [
    (("", "above"), "the conv net (pooled head) never reached the target"),
    (("below", ""), "the dense net trained with shift augmentation reached the target on its smallest training set")])
def test_a_control_sentence_says_which_net_leaves_a_ratio_undetermined(censored, reason):
    record = controls_record(examples=(None, 0.0, None), censored=censored)
    assert claims.render("controls.augmented_vs_conv", record, "x.md").endswith(reason)
    assert not claims.evaluate("controls.augmented_vs_conv_examples", record).holds


def test_a_compute_ratio_that_cannot_be_read_is_said_so():
    record = controls_record(compute=(None, 0.0, None))
    assert "training compute at the need cannot be compared" in claims.render("controls.augmented_vs_conv",
                                                                              record, "x.md")
    assert not claims.evaluate("controls.augmented_vs_conv_compute", record).holds


def test_a_control_saves_only_when_its_interval_lies_above_one():
    assert claims.evaluate("controls.augmented_vs_conv_examples", controls_record()).holds
    assert claims.render("controls.augmented_vs_conv_examples", controls_record(), "x.md") == (
        "The dense net trained with shift augmentation needs 8.0 times the examples (95% interval 5.0 to 13) "
        "of the conv net (pooled head)")
    assert not claims.evaluate("controls.augmented_vs_conv_compute", controls_record()).holds
    assert claims.evaluate("controls.augmented_vs_conv_compute", controls_record(compute=(3.0, 2.0, 4.5))).holds
    assert not claims.evaluate("controls.augmented_vs_conv_examples", controls_record((1.3, 0.9, 2.0))).holds


def test_a_control_is_inconclusive_only_when_its_interval_includes_one():
    assert claims.evaluate("controls.augmented_vs_conv_inconclusive", controls_record((1.2, 0.9, 1.8))).holds
    assert "the interval includes 1" in claims.render("controls.augmented_vs_conv_inconclusive",
                                                      controls_record((1.2, 0.9, 1.8)), "x.md")
    assert not claims.evaluate("controls.augmented_vs_conv_inconclusive", controls_record()).holds
    assert not claims.evaluate("controls.augmented_vs_conv_inconclusive", controls_record((1.2, 0.0, None))).holds


# --- guards: silent checks behind sentences written by hand ----------------------------------------

def published() -> dict:
    return {name: copy.deepcopy(frozen.read(name, ROOT / "results")) for name in experiments.NAMES}


def test_a_guard_prints_nothing_and_every_claim_has_one():
    records = published()
    assert claims.render("guard.pooling_is_the_saving", records, "x.md") == ""
    assert claims.render("guard.patterns.conv_fewer_examples_than_dense", records, "x.md") == ""
    plain = [n for n in claims.CLAIMS if not n.startswith("guard.")]
    assert all(f"guard.{n}" in claims.CLAIMS for n in plain)


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
    assert claims.evaluate("controls.flatten_conv_beats_dense_somewhere", records).holds
    wins = claims.render("controls.flatten_conv_wins", records, "x.md")
    assert re.fullmatch(r"[1-9][0-9]* of the [1-9][0-9]*", wins)
    assert re.fullmatch(r"[0-9]+ points \(95% interval -?[0-9]+ to [0-9]+, at [0-9,]+ examples\)",
                        claims.render("controls.flatten_conv_lead", records, "x.md"))
    arms = records["heads_augmentation"]["result"]["arms"]
    arms["conv+flatten"]["curve"] = copy.deepcopy(arms["dense"]["curve"])   # a tie at every size
    assert not claims.evaluate("controls.flatten_conv_beats_dense_somewhere", records).holds
    assert claims.render("controls.flatten_conv_wins", records, "x.md").startswith("0 of the ")


def test_the_memoriser_guard_breaks_when_the_dense_net_needs_less():
    records = published()
    kinds = records["resolution_scaling"]["result"]["summary"]["kinds"]
    kinds["memoriser"], kinds["dense"] = kinds["dense"], kinds["memoriser"]
    assert not claims.evaluate("guard.memoriser_beats_dense", records).holds


def test_the_growth_guards_break_when_the_conv_net_stays_flat_or_a_law_wins():
    records = published()
    summary = records["resolution_scaling"]["result"]["summary"]
    conv = summary["kinds"]["conv"]
    conv["needed_ci"][-1] = list(conv["needed_ci"][0])
    assert not claims.evaluate("guard.conv_need_grows_slowly", records).holds
    summary["kinds"]["dense"]["best_law"] = "power law in pixels"
    assert not claims.evaluate("guard.dense_law_inconclusive", records).holds


def test_the_shuffle_guards_break_when_the_shuffled_conv_net_fits_or_the_dense_net_moves():
    records = published()
    task = records["sample_efficiency"]["result"]["tasks"]["patterns"]
    task["arms"]["conv+perm"]["train_acc_min"] = 1.0
    assert not claims.evaluate("guard.patterns.shuffled_conv_cannot_fit", records).holds
    task["ratios"]["dense+perm/dense"].update(value=3.0, low=2.0, high=4.0)
    assert not claims.evaluate("guard.patterns.dense_indifferent_to_shuffle", records).holds


def test_the_locality_guard_breaks_when_locality_saves_data():
    records = published()
    records["sample_efficiency"]["result"]["tasks"]["patterns"]["ratios"]["dense/local"].update(
        value=5.0, low=3.0, high=8.0)
    assert not claims.evaluate("guard.locality_alone_not_shown", records).holds


def test_the_amnesia_guard_breaks_when_the_dense_net_transfers():
    records = published()
    records["amnesia_distance"]["result"]["numbers"]["dense.vs_chance"] = "above chance"
    assert not claims.evaluate("guard.dense_blind_far_away", records).holds


def test_a_ratio_with_one_censored_need_is_printed_as_its_bound():
    records = published()
    text = claims.render("digits.dense_over_local_bound", records, "x.md")
    assert text.startswith("less than ") and "not determined" not in text
    assert not claims.evaluate("patterns.dense_over_local_bound", records).holds  # both measured: no bound
