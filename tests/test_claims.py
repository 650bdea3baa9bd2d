"""Claims about results: they hold on the published data, and break when the data contradict them.

Most are silent guards (``guard.NAME``: the page's hand-written sentence before the token is what
they check); a few print a computed sentence or a number phrase."""
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


def test_every_claim_on_the_pages_holds_on_the_published_results():
    records = {name: frozen.read(name, ROOT / "results") for name in experiments.NAMES}
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


def test_growth_guard_needs_separated_exponent_intervals():
    name = "guard.growth.dense_faster_than_conv"
    verdict = claims.evaluate(name, growth_record())
    assert verdict.holds and verdict.sentence == ""
    assert "dense: N ∝ d^2.00 (1.60 to 2.40); conv: N ∝ d^0.40 (0.10 to 0.70)" in verdict.evidence
    overlapping = growth_record(dense=(1.0, 0.6, 1.4))
    verdict = claims.evaluate(name, overlapping)
    assert not verdict.holds and "0.60" in verdict.evidence
    swapped = growth_record(dense=(0.4, 0.1, 0.7), conv=(2.0, 1.6, 2.4))
    assert not claims.evaluate(name, swapped).holds


def test_growth_guard_without_a_fit_does_not_hold():
    verdict = claims.evaluate("guard.growth.local_faster_than_conv", growth_record())
    assert not verdict.holds and "no fitted exponent for local" in verdict.evidence


def test_positions_not_pixels_needs_the_canvas_exponent_clear_of_the_upsampled_one():
    assert claims.evaluate("guard.growth.dense_positions_not_pixels", growth_record()).holds
    close = growth_record(dense_upsampled=(1.5, 1.0, 2.0))
    assert not claims.evaluate("guard.growth.dense_positions_not_pixels", close).holds


def test_an_exponent_reads_with_its_interval_or_says_why_it_has_none():
    assert claims.render("growth.exponent.fov.dense", growth_record(), "x.md") == "2.00 (95% interval 1.60 to 2.40)"
    assert claims.render("growth.exponent.upsampled.dense", growth_record(), "x.md") == \
        "0.10 (95% interval -0.10 to 0.30)"
    local = growth_record()
    assert claims.render("growth.exponent.fov.local", local, "x.md") == "not fitted (too few measured sizes)"
    local["resolution_scaling"]["result"]["summary"]["kinds"]["local"]["exponent_d"] = 4.0
    assert "no interval" in claims.render("growth.exponent.fov.local", local, "x.md")


def test_a_need_span_reads_the_first_and_last_size_and_says_censored_as_more_than():
    records = published()
    assert re.fullmatch(r"from [0-9,]+ \(95% interval [0-9,]+ to [0-9,]+\) to more than [0-9,]+",
                        claims.render("growth.fov.dense.needs", records, "x.md"))
    dense = records["resolution_scaling"]["result"]["summary"]["kinds"]["dense"]
    dense.update(needed=[10.0, 20.0], censored=["", ""], needed_ci=[[8.0, 12.0], [15.0, 25.0]])
    assert claims.render("growth.fov.dense.needs", records, "x.md") == (
        "from 10 (95% interval 8 to 12) to 20 (95% interval 15 to 25)")


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

def published() -> dict:
    return {name: copy.deepcopy(frozen.read(name, ROOT / "results")) for name in experiments.NAMES}


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
    with pytest.raises(claims.ClaimError, match="dense: N ∝ d"):
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


def test_a_held_out_prediction_prints_its_interval_beside_the_measured_need():
    records = published()
    text = claims.render("growth.held_out.conv", records, "x.md")
    assert text.count("predicted") == 2 and text.count("(95% interval") >= 2
    rows = records["resolution_scaling"]["result"]["axes"]["fov"]["kinds"]["conv"]["held_out"]
    rows["power law in pixels"][0]["consistent"] = False
    assert "outside the interval" in claims.render("growth.held_out.conv", records, "x.md")
    rows.pop("power law in pixels")
    assert claims.render("growth.held_out.conv", records, "x.md").startswith("not computed")
