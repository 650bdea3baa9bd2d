"""Oracle tests for the comparison intervals: known differences, coverage, inconclusive ties."""
import numpy as np
import pytest

from equidocs.stats import Interval, compare, paired_difference


def test_a_known_difference_lies_inside_its_interval():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.4, 0.6, 10)
    d = paired_difference(b + 0.2, b, n_test=2000)
    assert d.low < 0.2 < d.high and d.excludes(0.0) and d.mean == pytest.approx(0.2)


def test_equal_arms_are_rarely_called_different():
    """With no true difference, a 95% interval should exclude zero in about 5% of experiments."""
    rng = np.random.default_rng(2)
    calls = 0
    for trial in range(200):
        truth = rng.uniform(0.5, 0.9, 8)  # per-seed accuracy; both arms share it, tests differ
        a, b = (rng.binomial(1000, truth) / 1000 for _ in range(2))
        calls += paired_difference(a, b, n_test=1000, draws=1000, seed=trial).excludes(0.0)
    assert calls / 200 <= 0.12


def test_test_examples_widen_the_interval():
    a, b = [0.80, 0.80, 0.80], [0.78, 0.78, 0.78]
    seeds_only = paired_difference(a, b)
    both = paired_difference(a, b, n_test=200)
    assert seeds_only.low == seeds_only.high == pytest.approx(0.02)  # no seed-to-seed spread
    assert both.low < 0 < both.high  # 200 test examples cannot separate 80% from 78%


def test_compare_names_a_winner_only_when_separated():
    assert compare([0.9] * 5, [0.5] * 5, n_test=1000, names=("conv", "dense")) == "conv"
    assert compare([0.5] * 5, [0.9] * 5, n_test=1000, names=("conv", "dense")) == "dense"
    assert compare([0.80] * 5, [0.79] * 5, n_test=100, names=("conv", "dense")) == "inconclusive"


@pytest.mark.parametrize("a, b, message", [([1, 2], [1], "equal-length"), ([], [], "equal-length")])
def test_bad_input_is_named(a, b, message):
    with pytest.raises(ValueError, match=message):
        paired_difference(a, b)


def test_interval_excludes():
    assert Interval(1, 0.5, 2).excludes(0) and not Interval(0, -1, 1).excludes(0)
