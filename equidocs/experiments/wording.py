"""Needs and ratios of needs in words, as the pages print them (censoring said as such).

Kept apart from :mod:`equidocs.experiments.formatting`, which the probe experiments import: a
change here cannot make their recorded runs stale.
"""

from __future__ import annotations

from equidocs import stats
from equidocs.experiments.formatting import fmt_int


def need_words(value: float, censored: str, ci: tuple[float, float] | list[float] | None = None) -> str:
    """Examples needed: "more than N" (never reached), "at most N" (reached at the first rung),
    else the value, with its 95% interval when ``ci`` is given. A leading ">" would start a
    Markdown quote, hence the words.

    >>> need_words(16384.0, "above"), need_words(21.1, ""), need_words(43.2, "", (30.1, 61.0))
    ('more than 16,384', '21', '43 (95% interval 30 to 61)')
    """
    if censored == stats.ABOVE:
        return f"more than {fmt_int(value)}"
    if censored == stats.BELOW:
        return f"at most {fmt_int(value)}"
    if ci is None:
        return fmt_int(value)
    return f"{fmt_int(value)} (95% interval {fmt_int(ci[0])} to {fmt_int(ci[1])})"


def times(value: float) -> str:
    """A ratio's number: two decimals below 1, one below 10, none above.

    >>> times(0.625), times(1.04), times(64.9)
    ('0.62', '1.0', '65')
    """
    return f"{value:.2f}" if value < 1 else f"{value:.1f}" if value < 10 else f"{value:,.0f}"


def ratio_words(value: float | None, low: float, high: float | None, lower_bound_only: bool) -> str:
    """A ratio of needs (:class:`equidocs.stats.Ratio`'s fields): "85× (95% interval 60 to 120)",
    "more than 12×" when only its lower end is known, or why it is undetermined.

    >>> ratio_words(85.2, 60.1, 120.4, False), ratio_words(3.14, 0.8, None, True)
    ('85× (95% interval 60 to 120)', 'more than 0.80×')
    >>> ratio_words(None, 0.0, None, False), ratio_words(1.04, 0.0, None, False)
    ('not determined (the better net never reached the target)', '1.0× (no interval: too many bootstrap draws never reached the target)')
    """
    if value is None:
        return "not determined (the better net never reached the target)"
    if low <= 0 and high is None:
        return f"{times(value)}× (no interval: too many bootstrap draws never reached the target)"
    if lower_bound_only or high is None:
        return f"more than {times(low)}×"
    return f"{times(value)}× (95% interval {times(low)} to {times(high)})"
