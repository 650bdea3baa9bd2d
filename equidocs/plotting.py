"""Figure style shared by every experiment: one palette per model kind, light and dark variants."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Mid-tone colours that read on a white and on a near-black page.
KIND_COLORS = {"conv": "#3b82f6", "local": "#f59e0b", "dense": "#ef4444"}
KIND_LABELS = {"conv": "conv (local + shared)", "local": "locally connected (local, not shared)",
               "dense": "dense (neither)"}
THEMES = {
    "light": {"text": "#1f2328", "grid": "#d0d7de"},
    "dark": {"text": "#e6edf3", "grid": "#3d444d"},
}


@contextmanager
def theme(name: str) -> Iterator[None]:
    """Matplotlib settings for the site's light or dark scheme (transparent background).

    >>> with theme("dark"):
    ...     plt.rcParams["text.color"]
    '#e6edf3'
    """
    if name not in THEMES:
        raise ValueError(f"theme {name!r}: expected one of {', '.join(THEMES)}")
    colors = THEMES[name]
    rc = {
        "figure.facecolor": "none", "axes.facecolor": "none", "savefig.facecolor": "none",
        "savefig.transparent": True, "text.color": colors["text"], "axes.labelcolor": colors["text"],
        "axes.edgecolor": colors["text"], "xtick.color": colors["text"], "ytick.color": colors["text"],
        "grid.color": colors["grid"], "axes.grid": True, "grid.linewidth": 0.6,
        "legend.frameon": False, "font.size": 10, "axes.titlesize": 11,
        "svg.fonttype": "none", "figure.dpi": 100,
    }
    with plt.style.context("default"), plt.rc_context(rc):
        yield
