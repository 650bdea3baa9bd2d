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
    >>> ratio_words(1.3, 0.0, None, True)  # the worse net never got there: the point is a bound
    'at least 1.3× (no interval: too many bootstrap draws never reached the target)'
    >>> ratio_words(None, 0.0, None, False), ratio_words(1.04, 0.0, None, False)
    ('not determined (the better net never reached the target, or the worse one reached it on its smallest training set)', '1.0× (no interval: too many bootstrap draws never reached the target)')
    """
    if value is None:
        return ("not determined (the better net never reached the target, or the worse one reached it on "
                "its smallest training set)")
    if low <= 0 and high is None:
        at_least = "at least " if lower_bound_only else ""
        return f"{at_least}{times(value)}× (no interval: too many bootstrap draws never reached the target)"
    if lower_bound_only or high is None:
        return f"more than {times(low)}×"
    return f"{times(value)}× (95% interval {times(low)} to {times(high)})"


def _flop_unit(value: float) -> tuple[float, str]:
    """The SI unit a FLOP count is printed in: the largest whose rounded number is at least 1."""
    units = ((1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP"), (1e3, "kFLOP"))
    return next(((scale, name) for scale, name in units if value >= 0.9995 * scale), (1.0, "FLOP"))


def _flops(value: float, scale: float) -> str:
    number = value / scale
    return f"{number:.2g}" if round(number, 1) < 10 else f"{number:,.0f}"


def flop_words(value: float, censored: str = "", ci: tuple[float, float] | list[float] | None = None) -> str:
    """A count of floating-point operations with an SI prefix, its 95% interval in the same unit
    when ``ci`` is given, and censoring said as in :func:`need_words`.

    >>> flop_words(2.345e9), flop_words(2.3e9, "", (1.5e9, 3.1e9)), flop_words(8.1e12, "above")
    ('2.3 GFLOP', '2.3 GFLOP (95% interval 1.5 to 3.1)', 'more than 8.1 TFLOP')
    >>> flop_words(999.7e6), flop_words(45.2e3)
    ('1 GFLOP', '45 kFLOP')
    """
    scale, unit = _flop_unit(value)
    words = f"{_flops(value, scale)} {unit}"
    if censored == stats.ABOVE:
        return f"more than {words}"
    if censored == stats.BELOW:
        return f"at most {words}"
    if ci is None:
        return words
    return f"{words} (95% interval {_flops(ci[0], scale)} to {_flops(ci[1], scale)})"
