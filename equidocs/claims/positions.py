"""Guards on what a net does at positions it was not trained on, and on shift consistency:
``results/amnesia.json`` (trained in one quadrant, tested outside it),
``results/amnesia_distance.json`` (accuracy by distance from the training quadrant) and
``results/equivariance_error.json`` (trained nets under random shifts).

Values are (mean, sd) over seeds; "apart" means mean - sd of one above mean + sd of the other.

>>> trained = {"conv, circular padding": {"consistency": [1.0, 0.0]},
...            "conv, zero padding": {"consistency": [0.9, 0.02]}}
>>> zero_padding_least_consistent().check({"equivariance_error": {"result": {"trained": trained}}}).holds
True
"""

from __future__ import annotations

from equidocs.claims.verdict import Claim, guard, value

NEAR_CHANCE = 0.05  # "near chance": within 5 percentage points of it


def amnesia_transfer() -> Claim:
    """Trained in one quadrant, at the largest size: the conv net is accurate outside the quadrant
    (apart above the dense net), the dense net stays near chance outside it although it learned the
    inside (inside apart above its outside)."""

    def test(records: dict) -> tuple[bool, str]:
        result = records["amnesia"]["result"]
        n, chance = max(result["ns"]), 1 / len(result["classes"])
        conv, dense = (result["models"][k]["by_n"][str(n)] for k in ("conv", "dense"))
        (c, c_sd), (d, d_sd), (d_in, d_in_sd) = conv["outside"], dense["outside"], dense["inside"]
        holds = c - c_sd > d + d_sd and d - chance < NEAR_CHANCE and d_in - d_in_sd > d + d_sd
        return holds, (f"n={n}: conv outside {c:.1%} ± {c_sd:.1%}; dense outside {d:.1%} ± {d_sd:.1%}, "
                       f"inside {d_in:.1%} ± {d_in_sd:.1%}; chance {chance:.1%}")

    return guard("guard.amnesia.conv_transfers_dense_does_not", test)


def blind_far_away(arm: str = "dense") -> Claim:
    """Trained in one quadrant, the ``arm`` net ("dense" or "local") stays at chance where no training
    glyph ever covered a pixel, at the smallest and the largest training set (both verdicts
    "inconclusive")."""

    def test(records: dict) -> tuple[bool, str]:
        n = records["amnesia_distance"]["result"]["numbers"]
        holds = all(n[f"{arm}.{key}"].startswith("inconclusive") for key in ("vs_chance", "change_verdict"))
        return holds, f"{arm} no-overlap: {n[f'{arm}.no_overlap_by_n']}; vs chance: {n[f'{arm}.vs_chance']}"

    return guard(f"guard.{arm}_blind_far_away", test,
                 f"the {arm} net stays at chance far from its training quadrant")


def local_changes_inside() -> Claim:
    """Trained in one quadrant, at every training-set size the locally-connected layer's weight change
    falls at least 90% inside the trained area (mean - sd over seeds): it moves almost only there."""

    def test(records: dict) -> tuple[bool, str]:
        by_n = records["weights"]["result"]["by_n"]
        shares = {n: v["local"]["share_inside"] for n, v in by_n.items()}
        return all(m - sd >= 0.9 for m, sd in shares.values()), f"local share inside (mean, sd): {shares}"

    return guard("guard.local_changes_inside", test,
                 "the locally-connected layer's weights move almost only inside the trained area")


def zero_padding_least_consistent() -> Claim:
    """After training, zero padding leaves a conv design the least shift-consistent of the conv
    designs: its mean + sd lies below every other conv design's mean - sd."""

    def test(records: dict) -> tuple[bool, str]:
        trained = records["equivariance_error"]["result"]["trained"]
        convs = {k: v["consistency"] for k, v in trained.items() if k.startswith("conv")}
        zero, others = convs["conv, zero padding"], [v for k, v in convs.items() if k != "conv, zero padding"]
        return zero[0] + zero[1] < min(m - sd for m, sd in others), str(convs)

    return guard("guard.zero_padding_least_consistent", test, "zero padding costs the most shift consistency")


def unshared_nets_less_consistent() -> Claim:
    """Compared where every design has learned (each at or above the study's ``min_acc`` test
    accuracy), the locally-connected and dense nets keep their prediction under a shift less often
    than every conv design: each one's 95% interval of consistency lies wholly below every conv
    design's."""

    def test(records: dict) -> tuple[bool, str]:
        result = records["equivariance_error"]["result"]
        trained = result["trained"]
        learned = all(v["learned"] and v["test_acc"][0] >= result["min_acc"] for v in trained.values())
        unshared = [trained[k]["consistency_ci"] for k in ("locally connected", "dense")]
        convs = [v["consistency_ci"] for k, v in trained.items() if k.startswith("conv")]
        holds = learned and max(high for _, high in unshared) < min(low for low, _ in convs)
        return holds, (f"all learned: {learned}; unshared intervals {unshared}; conv intervals {convs}")

    return guard("guard.unshared_nets_less_consistent_at_matched_accuracy", test,
                 "at matched accuracy, the nets without sharing are less shift-consistent than every conv design")


def unshared_gap_mostly_cut_glyphs() -> Claim:
    """For the locally-connected and dense nets, the consistency lost against the circular conv net
    on glyphs kept whole is smaller than on shifts that can cut the glyph, interval against
    interval: most of their gap comes from cut glyphs."""

    def test(records: dict) -> tuple[bool, str]:
        comp = records["equivariance_error"]["result"].get("comparisons") or {}
        pairs = {k: ((comp.get(k) or {}).get("consistency"), (comp.get(k) or {}).get("consistency_whole"))
                 for k in ("locally connected", "dense")}
        holds = all(cut and whole and whole["low"] > cut["high"] and whole["mean"] > cut["mean"] / 2
                    for cut, whole in pairs.values())
        return holds, "; ".join(f"{k}: cut {c and round(c['mean'], 3)}, whole {w and round(w['mean'], 3)}"
                                for k, (c, w) in pairs.items())

    return guard("guard.unshared_gap_mostly_cut_glyphs", test,
                 "most of the unshared nets' lost consistency comes from shifts that cut the glyph")


def circular_conv_fully_consistent() -> Claim:
    """The circular-padded conv net keeps every test prediction under every shift tried, on both
    shift sets (a sanity check: it is exactly invariant to circular shifts)."""

    def test(records: dict) -> tuple[bool, str]:
        conv = records["equivariance_error"]["result"]["trained"].get("conv, circular padding") or {}
        means = [(conv.get(m) or [None])[0] for m in ("consistency", "consistency_whole")]
        return all(m == 1.0 for m in means), f"circular conv consistency (cut, whole): {means}"

    return guard("guard.circular_conv_fully_consistent", test,
                 "the circular-padded conv net never changes its prediction under a shift")


def explorer_accuracy(kind: str) -> Claim:
    """The explorer model ``kind``'s test accuracy at its largest training set, every seed shown
    (the explorer exports two seeds, too few for an interval): ``"51% (seeds: 49% and 52%)"``."""

    def phrase(records: dict) -> str:
        result = records["explorer_models"]["result"]
        accs = sorted(result["by_kind"][kind]["test_acc"][str(max(result["ns"]))])
        seeds = ", ".join(f"{a:.0%}" for a in accs[:-1]) + f" and {accs[-1]:.0%}"
        return f"{sum(accs) / len(accs):.0%} (seeds: {seeds})"

    return value(f"explorer.{kind}.test_acc", f"explorer {kind} test accuracy, every seed", phrase)


CLAIMS: list[Claim] = [explorer_accuracy("conv"), explorer_accuracy("conv_flatten"), amnesia_transfer(),
                       blind_far_away("dense"), blind_far_away("local"), local_changes_inside(),
                       zero_padding_least_consistent(),
                       unshared_nets_less_consistent(), unshared_gap_mostly_cut_glyphs(),
                       circular_conv_fully_consistent()]
