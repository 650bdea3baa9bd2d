"""Claims about results: they hold on the published data, and break when the data contradict them."""
import copy
import importlib.util
from pathlib import Path

import pytest

from equidocs import claims, experiments, frozen

ROOT = Path(__file__).resolve().parents[1]


def synthetic(conv=0.95, dense=0.5, seeds=5):
    """A sample_efficiency-like record with two sizes on the glyphs."""
    acc = lambda v: [[v, min(1.0, v + 0.02)] for _ in range(seeds)]  # noqa: E731
    arm = lambda v: {"test_acc": acc(v), "n_target": 20.0, "n_target_ci": [16.0, 25.0]}  # noqa: E731
    return {"sample_efficiency": {"result": {"numbers": {"target": "90%"}, "tasks": {"patterns": {
        "ns": [16, 64], "spec": {"n_test": 1000},
        "arms": {"conv": arm(conv), "dense": {**arm(dense), "n_target": None, "n_target_ci": [None, None]},
                 "local": arm(dense)}}}}}}


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


def test_fewer_examples_needs_separated_intervals():
    assert claims.evaluate("patterns.conv_fewer_examples_than_dense", synthetic()).holds
    records = synthetic()
    arms = records["sample_efficiency"]["result"]["tasks"]["patterns"]["arms"]
    arms["dense"].update({"n_target": 22.0, "n_target_ci": [18.0, 30.0]})  # overlaps conv's [16, 25]
    assert not claims.evaluate("patterns.conv_fewer_examples_than_dense", records).holds


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
    broken = [name for name in sorted(used_claims()) if "conv_beats_dense" in name or "conv_fewer" in name]
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
