"""The numbers a figure plots, read back from the drawn figure itself, as rows for a CSV file.

Every published figure gets a CSV beside it (``figures/NAME.csv``, linked from its caption), so a
reader can take the data without parsing a multi-megabyte result JSON. The rows are read from the
matplotlib artists after :func:`figure` has drawn them, so they are exactly what is plotted:

- a line or marker series: one row per point (``x``, ``y``);
- error bars: ``y_low`` and ``y_high`` on the point they belong to;
- a shaded band (``fill_between``): ``y_low`` and ``y_high`` at each x of the band;
- bars: one row per bar (its x position or category label and its height);
- a heat map: one row per cell (``row``, ``col``, ``value``), up to ``MAX_CELLS`` cells.

Each row also names its ``panel`` (the axes title, or its position) and ``series`` (the legend
label; else the model kind whose colour the artist is drawn in).

>>> import matplotlib.pyplot as plt
>>> fig, ax = plt.subplots()
>>> _ = ax.errorbar([1, 2], [0.5, 0.8], yerr=[0.1, 0.05], label="conv")
>>> [(r["series"], r["x"], r["y"], round(r["y_low"], 2)) for r in figure_rows(fig)]
[('conv', 1.0, 0.5, 0.4), ('conv', 2.0, 0.8, 0.75)]
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import to_hex
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

COLUMNS = ("panel", "series", "x", "y", "y_low", "y_high", "row", "col", "value")
MAX_CELLS = 20_000  # a larger heat map is left out of the CSV (its numbers are in the result JSON)


def _colour(artist) -> str | None:
    for getter in ("get_color", "get_facecolor", "get_edgecolor"):
        try:
            value = np.asarray(getattr(artist, getter)(), dtype=object)
        except (AttributeError, TypeError, ValueError):
            continue
        try:
            first = value.item() if value.ndim == 0 else (list(value) if value.ndim == 1 else list(value[0]))
            return to_hex(first, keep_alpha=False).lower()
        except (ValueError, IndexError, TypeError):
            continue
    return None


def _label(artist) -> str:
    """The artist's legend label; else the model kind its colour stands for; else ''."""
    from equidocs.plotting import KIND_COLORS, KIND_NAMES

    label = artist.get_label() or ""
    if label and not label.startswith("_"):
        return label
    by_colour = {c.lower(): KIND_NAMES[k] for k, c in KIND_COLORS.items()}
    return by_colour.get(_colour(artist) or "", "")


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _panel_rows(ax, panel: str) -> list[dict]:
    rows: list[dict] = []
    in_errorbars: set = set()
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer):
            line, _, bars = container.lines
            in_errorbars.add(line)
            in_errorbars.update(bars)
            lows, highs = {}, {}
            for segments in bars:
                for (x0, y0), (x1, y1) in segments.get_segments():
                    if x0 == x1:  # vertical error bars only (horizontal ones are not intervals on y)
                        lows[round(float(x0), 9)], highs[round(float(x0), 9)] = min(y0, y1), max(y0, y1)
            # fmt="none": the points themselves are drawn by another artist; keep the intervals
            xs, ys = (line.get_xdata(), line.get_ydata()) if line is not None else (list(lows), [None] * len(lows))
            series = _label(container) or (_label(line) if line is not None else "") or \
                (_label(bars[0]) if bars else "")
            for x, y in zip(xs, ys):
                key = round(float(x), 9)
                rows.append({"panel": panel, "series": series, "x": _number(x), "y": _number(y),
                             "y_low": _number(lows.get(key)), "y_high": _number(highs.get(key))})
        elif isinstance(container, BarContainer):
            ticks = {round(t, 9): lab.get_text() for t, lab in zip(ax.get_xticks(), ax.get_xticklabels())}
            for bar in container.patches:
                x = bar.get_x() + bar.get_width() / 2
                rows.append({"panel": panel, "series": _label(container) or ticks.get(round(x, 9), ""),
                             "x": _number(x), "y": _number(bar.get_height())})
    for line in ax.get_lines():
        if line in in_errorbars or not isinstance(line, Line2D):
            continue
        xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if len(xs) == 2 and (xs[0] == xs[1] or ys[0] == ys[1]) and not _label(line):
            continue  # a reference line (axhline / axvline), not data
        rows += [{"panel": panel, "series": _label(line), "x": _number(x), "y": _number(y)}
                 for x, y in zip(xs, ys)]
    for coll in ax.collections:
        if coll in in_errorbars:
            continue
        if isinstance(coll, PolyCollection) and not isinstance(coll, LineCollection):
            for path in coll.get_paths():  # a fill_between band: its outline, top then bottom
                v = path.vertices
                band: dict[float, list[float]] = {}
                for x, y in v:
                    band.setdefault(round(float(x), 9), []).append(float(y))
                rows += [{"panel": panel, "series": _label(coll), "x": x, "y_low": min(ys), "y_high": max(ys)}
                         for x, ys in sorted(band.items()) if len(ys) >= 2]
        elif hasattr(coll, "get_offsets") and not isinstance(coll, LineCollection):
            offsets = np.asarray(coll.get_offsets(), float)
            if offsets.ndim == 2 and len(offsets) and offsets.shape[1] == 2:
                rows += [{"panel": panel, "series": _label(coll), "x": _number(x), "y": _number(y)}
                         for x, y in offsets]
    for image in ax.get_images():
        if isinstance(image, AxesImage):
            grid = np.asarray(image.get_array(), float)
            if grid.ndim == 2 and grid.size <= MAX_CELLS:
                rows += [{"panel": panel, "series": _label(image), "row": i, "col": j, "value": _number(v)}
                         for (i, j), v in np.ndenumerate(grid)]
            elif grid.ndim == 2:
                rows.append({"panel": panel, "series": f"heat map of {grid.shape[0]}x{grid.shape[1]} cells, "
                                                       f"too large for this file: see the result JSON"})
    return rows


def figure_rows(fig: Figure) -> list[dict]:
    """Every plotted number of ``fig``, one dict per point, bar or cell (columns: :data:`COLUMNS`)."""
    rows = []
    data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    for i, ax in enumerate(data_axes):
        panel = ax.get_title() or ax.get_title(loc="left") or f"panel {i + 1}"
        rows += _panel_rows(ax, panel.replace("\n", " "))
    return rows


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV text, with only the columns some row uses (in :data:`COLUMNS` order)."""
    used = [c for c in COLUMNS if any(r.get(c) is not None and r.get(c) != "" for r in rows)] or ["panel"]
    out = io.StringIO()
    writer = csv.DictWriter(out, used, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({c: ("" if r.get(c) is None else (f"{r[c]:.6g}" if isinstance(r[c], float) else r[c]))
                         for c in used})
    return out.getvalue()


def write_csv(fig: Figure, path: Path) -> Path:
    """Write the figure's plotted numbers to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_csv(figure_rows(fig)), encoding="utf-8")
    return path
