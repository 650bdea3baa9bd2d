"""How numbers appear in the pages' prose (every one comes from a result file)."""

from __future__ import annotations

import math


def fmt_int(value: float) -> str:
    """A count with thousands separators.

    >>> fmt_int(1234567)
    '1,234,567'
    """
    return f"{int(round(value)):,}"


def fmt_pct(value: float) -> str:
    """A share as a percentage with no decimals.

    >>> fmt_pct(0.914)
    '91%'
    """
    return f"{100 * value:.0f}%"


def fmt_sci(value: float) -> str:
    """A large count as a short power of ten in HTML, e.g. ``6.2 × 10<sup>14</sup>``.

    >>> fmt_sci(619173667123200)
    '6.2 × 10<sup>14</sup>'
    """
    exponent = int(math.floor(math.log10(value)))
    return f"{value / 10 ** exponent:.1f} × 10<sup>{exponent}</sup>"
