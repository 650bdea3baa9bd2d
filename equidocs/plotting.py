"""Figure style shared by every experiment: sizes, one palette per model kind, light and dark variants.

Every figure is drawn at the width of the site's text column, so the browser shows its SVG at (about)
its own size and never shrinks the text: Material's content column is 688 CSS px wide at a 1280-px
window (measured with Playwright in Chromium, navigation and table of contents shown), an SVG is 96 CSS px per
inch, and text set in points is drawn at 96/72 CSS px per point. :data:`SMALL_FONT` (9 pt) is then
12 CSS px, above the 11 px floor that ``tests/test_figures.py`` checks in the browser.

>>> round(SMALL_FONT * PX_PER_PT, 1), FIG_WIDTH * PX_PER_INCH <= COLUMN_PX
(12.0, True)
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# --- Sizes: the one place that decides how large figures and their text are --------------------
COLUMN_PX = 688          # Material's content column at a 1280-px window (CSS px), measured
PX_PER_INCH = 96         # CSS px per inch: an SVG of W inches is W * 96 px wide at 1:1
PX_PER_PT = 96 / 72      # CSS px per point of text in an SVG shown at 1:1
FIG_WIDTH = 7.0          # inches (672 px): fits the column with a little room for tight bounding boxes
FONT_SIZE = 10.0         # pt: axis labels and body text of figures (13.3 px)
SMALL_FONT = 9.0         # pt: ticks, legends, annotations; the smallest text any figure uses (12 px)
TITLE_SIZE = 11.0        # pt: panel titles
MIN_TEXT_PX = 11.0       # CSS px: the floor the browser test holds every figure's smallest text to

# --- Colours -----------------------------------------------------------------------------------
# The three model kinds, on every figure and in the explorer. Okabe-Ito colours (colour-blind safe)
# chosen so that each has at least 3:1 contrast on both the white and the slate (dark) page, and the
# three stay apart under deuteranopia, protanopia and tritanopia.
KIND_COLORS = {"conv": "#0072B2", "local": "#CC79A7", "dense": "#D55E00"}  # blue, reddish purple, vermillion
KIND_LABELS = {"conv": "conv (local + shared)", "local": "locally connected (local, not shared)",
               "dense": "dense (neither)"}
KIND_NAMES = {"conv": "conv", "local": "locally connected", "dense": "dense"}  # short, for tight legends
KIND_MARKERS = {"conv": "o", "local": "s", "dense": "^"}
# Arms: every model a figure compares, each with one colour, one marker and one line style on every
# figure. A variant of a kind (a conv net with zero padding, a dense net trained with shifts) keeps
# its kind's colour (it stays in the kind's hue family) and is told apart by its marker and line
# style; no two arms of one colour share a marker. Captions frozen into results name some of these
# ("dashed line, diamonds", "grey squares"): change one only with its caption. A censored point (a need that was never
# reached, or already reached at the smallest set) is the arm's own marker drawn hollow, with an
# arrow pointing the way the true value lies: see :func:`censored_point`.
ARM_STYLES = {  # arm -> (kind whose colour it takes, or "" for the muted colour; marker; line style)
    "conv": ("conv", "o", "-"),
    "local": ("local", "s", "-"),
    "dense": ("dense", "^", "-"),
    "conv+zeros": ("conv", "D", "--"),                # zero padding
    "conv+stride2": ("conv", "v", "-."),              # stride-2 downsampling
    "conv+maxpool": ("conv", "P", ":"),               # max-pool downsampling
    "conv+blurpool": ("conv", "X", (0, (6, 1.5, 1, 1.5, 1, 1.5))),  # blur-pool downsampling
    "conv+zeros+maxpool": ("conv", "d", "-."),        # zero padding and max-pool (a deeper net)
    "conv+perm": ("conv", "p", "--"),                 # pixels shuffled (captions: "dashed")
    "dense+perm": ("dense", "<", "--"),               # pixels shuffled
    "conv+flatten": ("conv", "h", ":"),               # flatten readout instead of pooling ("dotted")
    "conv_flatten": ("conv", "h", ":"),               # the mechanism study's names for the same arms
    "local_flatten": ("local", "h", ":"),
    "cnn_fc": ("conv", "8", "-."),                    # conv stages, then a dense head
    "dense+shift": ("dense", ">", "--"),              # trained with shift augmentation ("dashed")
    "conv+global": ("conv", "*", "--"),               # one whole-canvas kernel
    "local+global": ("local", "H", "--"),             # whole-canvas windows
    "dense+depth": ("dense", "D", "--"),              # more hidden layers ("dashed line, diamonds")
    "memoriser": ("", "s", "-"),                      # 1-nearest neighbour on pixels ("grey squares")
}


def arm_style(arm: str) -> dict:
    """Matplotlib keywords (color, marker, linestyle) of an arm of :data:`ARM_STYLES`.

    >>> arm_style("conv+zeros") == {"color": KIND_COLORS["conv"], "marker": "D", "linestyle": "--"}
    True
    """
    kind, marker, style = ARM_STYLES[arm]
    return {"color": KIND_COLORS[kind] if kind else muted_color(), "marker": marker, "linestyle": style}


def censored_point(ax, x: float, y: float, arm: str, direction: str = "above", *, size: float = 6,
                   length: float = 2.2, zorder: float = 3) -> None:
    """A censored need: the arm's own marker, hollow, and an arrow from it towards where the true
    value lies (up for "above": more than the cap; down for "below": fewer than the smallest set).
    ``length`` is the arrow's end as a factor of ``y`` (log axes)."""
    style = arm_style(arm)
    color = style["color"]
    ax.plot([x], [y], ls="", marker=style["marker"], color=color, mfc="none", mec=color, mew=1.4,
            markersize=size, zorder=zorder)
    end = y * (length if direction == "above" else 1 / length)
    ax.annotate("", xy=(x, end), xytext=(x, y), zorder=zorder,
                arrowprops={"arrowstyle": "->", "color": color, "lw": 1.2, "shrinkA": size * 0.6,
                            "shrinkB": 0, "mutation_scale": 8})  # an open head: not a marker


def censored_handle(direction: str = "above") -> tuple:
    """A legend handle for censored points: a hollow marker beside an arrow (muted colour), for
    ``fig.legend(handles=[..., censored_handle()], labels=[...])`` (a tuple draws both)."""
    from matplotlib.lines import Line2D

    arrow = r"$\uparrow$" if direction == "above" else r"$\downarrow$"
    return (Line2D([], [], ls="", marker="o", mfc="none", mec=muted_color(), mew=1.4, markersize=6),
            Line2D([], [], ls="", marker=arrow, color=muted_color(), markersize=8))


def figure_legend(fig, handles: list, labels: list[str] | None = None, ncol: int = 3, **kwargs):
    """The figure's legend, below the panels and inside the figure (constrained layout makes room),
    so an exported SVG is never wider than the figure; a tuple handle (:func:`censored_handle`)
    draws its parts side by side."""
    from matplotlib.legend_handler import HandlerTuple

    if labels is None:
        labels = [h.get_label() for h in handles]
    return fig.legend(handles, labels, loc="outside lower center", ncol=ncol,
                      handler_map={tuple: HandlerTuple(ndivide=None, pad=0.2)}, **kwargs)


# For categories that are not model kinds (e.g. padding and downsampling designs): the remaining
# Okabe-Ito colours, never a kind's colour. Pair them with distinct markers (double encoding).
OTHER_COLORS = ("#009E73", "#E69F00", "#56B4E9", "#999999")  # bluish green, orange, sky blue, grey
OTHER_MARKERS = ("D", "v", "P", "X")
# Colour maps: one per quantity, the same on every figure; each heat map gets a colour bar.
ACCURACY_CMAP = "viridis"    # accuracy, 0 to 1
MAGNITUDE_CMAP = "magma"     # sizes of a change or an error (weight change, equivariance error)
SIGNED_CMAP = "RdBu_r"       # signed weights and weight changes, symmetric around 0

THEMES = {
    "light": {"text": "#1f2328", "grid": "#d0d7de", "muted": "#57606a"},
    "dark": {"text": "#e6edf3", "grid": "#3d444d", "muted": "#9ea7b3"},
}
DATASET_LABELS = {"patterns": "glyphs", "digits": "digits"}  # what readers see for a task's dataset


def figsize(height: float) -> tuple[float, float]:
    """(width, height) in inches of a figure as wide as the text column.

    >>> figsize(3.0)
    (7.0, 3.0)
    """
    return (FIG_WIDTH, height)


def muted_color() -> str:
    """A quieter foreground colour of the current theme (reference lines, secondary notes)."""
    return _muted[-1]


_muted: list[str] = [THEMES["light"]["muted"]]  # a stack: the innermost theme() is last


def short_number(n: float) -> str:
    """A count in at most four characters and a suffix: 1792 -> "1.8k", 150528 -> "151k".

    >>> short_number(950), short_number(1792), short_number(150528), short_number(2.1e7)
    ('950', '1.8k', '151k', '21M')
    """
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            v = n / div
            return f"{v:.1f}{suffix}" if v < 10 else f"{v:.0f}{suffix}"
    return f"{n:.0f}"


_SCALES = ((1e18, "E", "quintillion"), (1e15, "P", "quadrillion"), (1e12, "T", "trillion"),
           (1e9, "B", "billion"), (1e6, "M", "million"), (1e3, "k", "thousand"))


def count_label(x: float, words: bool = False) -> str:
    """A round count as plain text, no exponents (a superscript would be drawn at 70% size).

    >>> count_label(100), count_label(1e4), count_label(1e9), count_label(1e15, words=True)
    ('100', '10k', '1B', '1 quadrillion')
    """
    for div, suffix, word in _SCALES:
        if abs(x) >= div and (words or div <= 1e12):
            return f"{x / div:g} {word}" if words else f"{x / div:g}{suffix}"
    return f"{x:g}"


def plain_log_axis(axis, words: bool = False, every: int = 1) -> None:
    """Label a log axis (``ax.xaxis`` / ``ax.yaxis``) with plain counts at powers of 10 (every
    ``every`` decades), minor ticks unlabelled: no small superscripts."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10.0 ** every, numticks=12))
    axis.set_major_formatter(FuncFormatter(lambda x, _: count_label(x, words)))
    axis.set_minor_formatter(NullFormatter())


def num_classes(spec: dict) -> int:
    """Number of classes of a task spec (glyph tasks: 4 unless set; digits: 10).

    >>> num_classes({"dataset": "patterns"}), num_classes({"dataset": "digits"})
    (4, 10)
    """
    if spec.get("dataset") == "digits":
        return 10
    return int(spec.get("num_classes", 4))


def dataset_label(name: str) -> str:
    """The reader's word for a dataset name: ``"patterns"`` is shown as ``"glyphs"``.

    >>> dataset_label("patterns"), dataset_label("digits")
    ('glyphs', 'digits')
    """
    return DATASET_LABELS.get(name, name)


def chance_line(ax, classes: int, *, label: bool = True, where: str = "right") -> None:
    """A dashed horizontal line at chance accuracy (1 / classes), labelled on the line's end."""
    chance = 1.0 / classes
    color = muted_color()
    ax.axhline(chance, ls=(0, (4, 3)), lw=1.0, color=color, zorder=1)
    if label:
        x, ha = (0.99, "right") if where == "right" else (0.01, "left")
        ax.text(x, chance, f"chance {chance:.0%}", transform=ax.get_yaxis_transform(), ha=ha,
                va="bottom", fontsize=SMALL_FONT, color=color)


def mark_chance_on_colorbar(cbar, classes: int) -> None:
    """A dashed line and a tick labelled "chance" on an accuracy colour bar."""
    chance = 1.0 / classes
    cbar.ax.axhline(chance, color="white", lw=1.2, ls=(0, (3, 2)))
    ticks = sorted({0.0, 0.5, 1.0, chance})
    cbar.set_ticks(ticks, labels=[f"chance {t:.0%}" if t == chance else f"{t:.0%}" for t in ticks])


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
        "legend.frameon": False, "svg.fonttype": "none", "figure.dpi": 100,
        "figure.figsize": figsize(3.6),
        "font.size": FONT_SIZE, "axes.labelsize": FONT_SIZE, "axes.titlesize": TITLE_SIZE,
        "xtick.labelsize": SMALL_FONT, "ytick.labelsize": SMALL_FONT, "legend.fontsize": SMALL_FONT,
        "legend.title_fontsize": SMALL_FONT, "figure.titlesize": TITLE_SIZE,
        "lines.markersize": 5, "lines.linewidth": 1.6,
    }
    _muted.append(colors["muted"])
    try:
        with plt.style.context("default"), plt.rc_context(rc):
            yield
    finally:
        _muted.pop()
