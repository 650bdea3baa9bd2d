"""Oracle tests for the growth-law statistics: synthetic needs drawn from a known law."""

import math

import numpy as np
import pytest

from equidocs import stats

SIDES = np.array([6, 8, 10, 12, 16, 20, 24], float)
LAWS = {"power law in pixels": np.log(SIDES ** 2), "exponential in side length": SIDES}


def _draws(truth: np.ndarray, sigma: float, cap: float = math.inf):
    """A bootstrap source: each draw perturbs the true needs by log-normal noise and censors at cap."""
    def draw(rng):
        values = truth * np.exp(rng.normal(0, sigma, len(truth)))
        cens = np.where(values > cap, stats.ABOVE, "")
        return np.minimum(values, cap).tolist(), cens.tolist()
    return draw


def test_a_known_power_law_is_recovered_inside_its_interval_and_named():
    truth = 0.5 * (SIDES ** 2) ** 1.5
    observed, cens = _draws(truth, 0.1)(np.random.default_rng(1))
    fit = stats.compare_laws(LAWS, observed, cens)
    boot = stats.law_bootstrap(LAWS, _draws(np.array(observed), 0.1), draws=120, seed=2)
    low, high = boot["laws"]["power law in pixels"]["slope_ci"]
    assert fit["best"] == "power law in pixels"
    assert low <= 1.5 <= high and high - low < 0.5
    assert boot["win_frequency"]["power law in pixels"] > 0.8


def test_a_known_exponential_is_named_exponential():
    truth = 2.0 * np.exp(0.35 * SIDES)
    observed, cens = _draws(truth, 0.1)(np.random.default_rng(3))
    fit = stats.compare_laws(LAWS, observed, cens)
    assert fit["best"] == "exponential in side length"
    assert fit["fits"]["exponential in side length"]["b"] == pytest.approx(0.35, abs=0.05)


def test_laws_too_close_to_separate_are_inconclusive():
    sides = np.array([20, 21, 22, 23.0])  # a narrow range: log d and S are nearly collinear
    laws = {"power law in pixels": np.log(sides ** 2), "exponential in side length": sides}
    observed, cens = _draws(3.0 * (sides ** 2) ** 1.2, 0.2)(np.random.default_rng(4))
    assert stats.compare_laws(laws, observed, cens)["best"] == stats.INCONCLUSIVE
    boot = stats.law_bootstrap(laws, _draws(np.array(observed), 0.2), draws=60, seed=5)
    assert boot["win_frequency"][stats.INCONCLUSIVE] > 0.5


def test_censored_points_are_fitted_as_censored_not_dropped():
    truth = 0.5 * (SIDES ** 2) ** 1.5  # 108 ... 6,912: the three largest sizes pass a cap of 1,500
    cap = 1_500.0
    values, cens = _draws(truth, 0.05, cap)(np.random.default_rng(6))
    assert cens.count(stats.ABOVE) >= 2
    x = LAWS["power law in pixels"]
    with_censoring = stats.censored_law_fit(x, values, cens)
    as_if_measured = stats.censored_law_fit(x, values, [""] * len(values))
    assert with_censoring["b"] == pytest.approx(1.5, abs=0.1)
    assert as_if_measured["b"] < with_censoring["b"] - 0.1  # treating the cap as the need flattens it


def test_a_censored_point_pulls_the_fit_only_past_its_bound():
    x, y = [1.0, 2.0, 3.0], [math.exp(1.0), math.exp(2.0), math.exp(10.0)]
    fit = stats.censored_law_fit(x, y, ["", "", stats.ABOVE])
    assert fit["a"] + fit["b"] * 3 >= 10 - 3 * fit["sigma"]


@pytest.mark.parametrize("ns, accs, expected", [
    ([4, 8, 16], [0.2, 0.5, 0.95], ""), ([4, 8], [0.95, 0.99], stats.BELOW), ([4, 8], [0.1, 0.2], stats.ABOVE)])
def test_censored_crossing_labels(ns, accs, expected):
    c = stats.censored_crossing(ns, accs, 0.9)
    assert c.censored == expected
    assert ns[0] <= c.value <= ns[-1]


def test_resampling_keeps_a_perfect_curve_perfect_and_varies_a_noisy_one():
    rng = np.random.default_rng(0)
    assert stats.resampled_mean_curve(np.ones((5, 3)), 100, rng).tolist() == [1.0, 1.0, 1.0]
    noisy = np.array([[0.5, 0.8], [0.6, 0.9], [0.4, 0.7]])
    draws = {tuple(stats.resampled_mean_curve(noisy, 200, rng)) for _ in range(20)}
    assert len(draws) > 10


@pytest.mark.parametrize("x, values, censored, message", [
    ([1, 2], [1.0, 2.0], ["", "sideways"], "censored in"),
    ([1, 2, 3], [1.0, 2.0, 3.0], ["", stats.ABOVE, stats.ABOVE], "at least 2 measured"),
    ([1, 2], [1.0], ["", ""], "equal-length"),
])
def test_bad_fit_input_names_the_problem(x, values, censored, message):
    with pytest.raises(ValueError, match=message):
        stats.censored_law_fit(x, values, censored)


# ---- examples needed and ratios of needs -------------------------------------------------------

def _curves(crossing: float, ns: list[float], seeds: int = 8, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """Per-seed accuracy curves that rise linearly in log N through 0.9 at ``crossing``."""
    rng = np.random.default_rng(seed)
    base = 0.9 + 0.15 * (np.log(ns) - math.log(crossing))
    return np.clip(base + rng.normal(0, noise, (seeds, len(ns))), 0, 1)


def test_need_recovers_a_known_crossing_inside_its_interval():
    ns = [16, 32, 64, 128, 256]
    n = stats.need(ns, _curves(90.0, ns), 0.9, n_test=10_000, draws=400)
    assert n.censored == "" and n.low <= 90.0 <= n.high and abs(math.log(n.value / 90.0)) < 0.1


def test_a_curve_that_never_reaches_the_target_is_censored_not_dropped():
    ns = [16, 32]
    n = stats.need(ns, _curves(5000.0, ns), 0.9, n_test=1000, draws=50)
    assert n.censored == stats.ABOVE and n.value == 32


def test_extended_crossing_follows_the_end_segment_one_rung_at_most():
    assert stats.extended_crossing([10, 100], [0.7, 0.85], 0.9).value == pytest.approx(10 ** (2 + 1 / 3))
    assert stats.extended_crossing([10, 100], [0.3, 0.4], 0.9).censored == stats.ABOVE  # five rungs away
    assert stats.extended_crossing([10, 100], [0.92, 0.98], 0.9).value == pytest.approx(10 ** (2 / 3))


def test_need_ratio_recovers_a_known_ratio_and_names_bounds():
    ns = [16, 32, 64, 128, 256, 512, 1024, 2048]
    better = stats.need(ns, _curves(40.0, ns, seed=1), 0.9, n_test=10_000, draws=400, seed=1)
    worse = stats.need(ns, _curves(800.0, ns, seed=2), 0.9, n_test=10_000, draws=400, seed=2)
    r = stats.need_ratio(worse, better)
    assert r.low <= 20.0 <= r.high and r.low > 1 and not r.lower_bound_only
    short = stats.need(ns[:4], _curves(800.0, ns[:4], seed=2), 0.9, n_test=10_000, draws=400, seed=2)
    bound = stats.need_ratio(short, better)
    assert bound.lower_bound_only and bound.high is None and bound.low < 128 / 40
    assert stats.need_ratio(better, short).value is None  # the better one never reached it


ACC = np.array([[0.50, 0.80, 0.93, 0.97], [0.55, 0.84, 0.95, 0.98], [0.45, 0.78, 0.91, 0.96]])
NS = [10, 100, 1000, 10000]


def test_the_need_of_need_and_cost_is_need_itself():
    n, _ = stats.need_and_cost(NS, ACC, np.ones_like(ACC), 0.9, n_test=1000, draws=300, seed=4)
    assert n == stats.need(NS, ACC, 0.9, n_test=1000, draws=300, seed=4)


def test_a_cost_that_follows_a_power_law_is_that_law_at_the_need_and_at_every_draw():
    law = lambda n: 3 * np.asarray(n, float) ** 1.5  # noqa: E731
    n, c = stats.need_and_cost(NS, ACC, np.tile(law(NS), (3, 1)), 0.9, n_test=1000, draws=300)
    assert c.value == pytest.approx(law(n.value))
    assert c.draws == pytest.approx(tuple(law(n.draws)))
    assert (c.low, c.high) == pytest.approx((law(n.low), law(n.high)), rel=1e-3)  # percentiles interpolate


def test_the_seeds_spread_in_cost_widens_the_cost_interval():
    spread = np.array([[1.0] * 4, [4.0] * 4, [0.25] * 4]) * np.array(NS, float)  # same mean shape, seeds apart
    steady = np.tile(spread.mean(0), (3, 1))
    _, wide = stats.need_and_cost(NS, ACC, spread, 0.9, n_test=1000, draws=500)
    _, narrow = stats.need_and_cost(NS, ACC, steady, 0.9, n_test=1000, draws=500)
    assert wide.value == pytest.approx(narrow.value)
    assert wide.high / wide.low > 1.5 * narrow.high / narrow.low


def test_a_need_that_is_only_a_bound_gives_a_cost_that_is_a_bound():
    never = ACC * 0.8  # never reaches 0.9
    n, c = stats.need_and_cost(NS, never, np.tile(NS, (3, 1)).astype(float), 0.9, n_test=1000, draws=100)
    assert n.censored == c.censored == "above" and c.value == pytest.approx(10000)
    assert set(c.draws_censored) == {"above"}


def test_need_and_cost_rejects_a_cost_of_another_shape():
    with pytest.raises(ValueError, match="cost of shape"):
        stats.need_and_cost(NS, ACC, np.ones((2, 4)), 0.9, n_test=1000)


@pytest.mark.parametrize("ns, values", [([10, 10], [1.0, 2.0]), ([10, 20], [1.0, 0.0]), ([], [])])
def test_loglog_reading_rejects_sizes_or_values_it_cannot_use(ns, values):
    with pytest.raises(ValueError, match="loglog_at"):
        stats.loglog_at(ns, values, 15)
