"""Every figure legible: drawn at the text column's width, text >= 11 CSS px, one palette for the kinds.

Unit tests (cheap, no build): each experiment's ``figure`` draws from a small synthetic result shaped
like its ``run`` output, in the light and the dark theme; the model kinds are drawn in
``KIND_COLORS``; the figure is as wide as the text column and its smallest text, shown at that
width, is >= ``MIN_TEXT_PX``.

Arms (``plotting.ARM_STYLES``): every model a figure compares is drawn in one colour and marker on
every figure (a conv variant in conv's colour, told apart by marker and line style; no colour of
another category); a censored need is the arm's own marker, hollow, with an arrow; every legend
lies inside the figure's canvas (so the exported SVG is not widened and shrunk).

Browser test (builds the site once, with the session's ``built_site``): at a 1280 x 900 window, in
light and dark, every figure's ``<img>`` is measured where it is displayed. The smallest text of its
SVG is ``font-size`` (in the SVG's own units) x displayed width / the SVG's ``viewBox`` width, in CSS
px; it must be >= ``MIN_TEXT_PX``. The smallest size per figure is printed. On a 390 x 844 touch
screen, a tap opens each figure in the lightbox (mkdocs-glightbox) on its own light or dark variant,
and a pinch there zooms it until its smallest text is >= ``PHONE_MIN_TEXT_PX`` (9 CSS px).
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D

from equidocs import experiments
from equidocs.plotting import (ARM_STYLES, COLUMN_PX, FIG_WIDTH, KIND_COLORS, MIN_TEXT_PX, OTHER_COLORS,
                               PX_PER_INCH, arm_style, censored_point, theme)

FIGURES = ("parameter_counts", "equivariance_error", "sample_efficiency", "amnesia", "weights",
           "resolution_scaling", "explorer_models", "sharing_locality", "amnesia_distance", "capacity", "heads_augmentation")
KINDS = ("conv", "local", "dense")


# --- small synthetic results, shaped like each experiment's run() output ---------------------------

def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _parameter_counts() -> dict:
    rows = []
    for name, (h, w) in {"MNIST 28x28": (28, 28), "ImageNet 224x224": (224, 224),
                         "12 MP phone photo 4000x3000": (3000, 4000), "4K frame 3840x2160": (2160, 3840)}.items():
        p = h * w
        rows.append({"name": name, "h": h, "w": w, "pixels": p, "dense": p * 3 * p * 64 + p * 64,
                     "local": p * (27 * 64 + 64), "conv": 1792, "dense_unit": 3 * p + 1})
    return {"rows": rows, "numbers": {"c_in": "3", "c_out": "64"}, "caption": ""}


def _equivariance_error() -> dict:
    names = ["conv, circular padding", "conv, zero padding", "conv + stride 2", "conv + max-pool",
             "conv + blur-pool", "locally connected", "dense"]
    rng = _rng()
    untrained = {n: {"mean": [0.0] * 4 if i == 0 else list(rng.uniform(0.1, 1.2, 4)),
                     "std": list(rng.uniform(0, 0.05, 4))} for i, n in enumerate(names)}
    trained = {n: {"consistency": [float(rng.uniform(0.3, 1)), 0.02], "test_acc": [float(rng.uniform(0.4, 1)), 0.02],
                   "params": 1000, "hit_budget": 0} for n in names}
    emap = np.zeros((12, 12))
    emap[:2], emap[-2:], emap[:, :2], emap[:, -2:] = 1.0, 0.5, 0.8, 0.3
    return {"shifts": [1, 2, 3, 4], "untrained": untrained, "error_map": emap.tolist(),
            "trained": trained, "numbers": {}, "caption": ""}


def _sample_efficiency() -> dict:
    tasks = {}
    for task, canvas in (("patterns", 10), ("digits", 12)):
        arms = {}
        for i, arm in enumerate(("conv", "conv+zeros", "local", "dense", "conv+perm", "dense+perm")):
            ns = [16 * 2 ** j for j in range(4 + i)]
            mean = [min(0.98, 0.3 + 0.1 * j + 0.05 * (3 - i % 3)) for j in range(len(ns))]
            arms[arm] = {"kind": arm.split("+")[0], "params": 1000 * (i + 1),
                         "curve": {"ns": ns, "mean": mean, "std": [0.03] * len(ns)},
                         "need": {"value": 100.0 * (i + 1), "censored": "" if i < 4 else "above",
                                  "ci": [80.0 * (i + 1), 120.0 * (i + 1)]}}
        spec = {"dataset": task, "canvas": canvas}
        tasks[task] = {"spec": spec, "target": 0.9 if task == "patterns" else 0.75, "arms": arms}
    return {"tasks": tasks, "numbers": {}, "caption": ""}


def _amnesia() -> dict:
    rng = _rng()
    side = 8
    models = {k: {"by_n": {str(n): {"acc_map": rng.uniform(0.2, 1, (side, side)).tolist(),
                                      "inside": [0.9, 0.01], "outside": [0.5, 0.02]}
                            for n in (64, 512)}} for k in KINDS}
    return {"kinds": list(KINDS), "ns": [64, 512], "side": side, "canvas": 12,
            "region": {"top": 0, "left": 0, "height": 4, "width": 4},
            "classes": ["stop sign", "cross", "square", "triangle"], "models": models,
            "numbers": {}, "caption": ""}


def _weights() -> dict:
    rng = _rng()
    by_n = {}
    for n in (16, 512):
        by_n[str(n)] = {"conv_kernels": rng.normal(size=(8, 5, 5)).tolist(),
                        "dense": {"energy": rng.uniform(0, 1, (16, 16)).tolist(),
                                  "units": rng.normal(size=(3, 16, 16)).tolist(), "share_inside": [0.9, 0.01]},
                        "local": {"energy": rng.uniform(0, 1, (16, 16)).tolist(), "units": [],
                                  "share_inside": [0.8, 0.01]},
                        "area_share": 0.3}
    return {"ns": [16, 512], "canvas": 16, "footprint": [0, 0, 8, 8], "by_n": by_n, "numbers": {},
            "caption": ""}


def _resolution_scaling() -> dict:
    """The mechanism study's summary for its seven arms: needs growing like positions^b per arm, with
    needs censored above (dense and the lookup at the largest canvas) and below (conv at the
    smallest), and interval ends left open (0.0 below, None above)."""
    sizes = [6, 8, 10, 16]
    positions = [(s - 4) ** 2 for s in sizes]
    growth = {"conv": (20.0, 0.0), "local": (60.0, 1.25), "conv_flatten": (70.0, 1.3),
              "local_flatten": (100.0, 1.5), "dense": (100.0, 2.0), "cnn_fc": (30.0, 0.9),
              "memoriser": (55.0, 2.4)}
    kinds = {}
    for arm, (scale, b) in growth.items():
        needed = [scale * p ** b for p in positions]
        kinds[arm] = {"needed": needed, "censored": [None] * len(sizes),
                      "needed_ci": [[0.8 * v, 1.25 * v] for v in needed], "exponent": b,
                      "exponent_ci": [b - 0.2, b + 0.2], "best_law": "power law in positions"}
    for arm in ("dense", "memoriser"):  # never reached by the largest set tried at 16x16
        kinds[arm]["needed"][-1], kinds[arm]["censored"][-1] = 131072.0, "above"
        kinds[arm]["needed_ci"][-1] = [0.0, None]
    conv = kinds["conv"]
    conv["needed"][0], conv["censored"][0], conv["needed_ci"][0] = 4.0, "below", [0.0, None]
    conv["needed_ci"][1][0] = 0.0                   # a low end that is only a bound
    kinds["local_flatten"]["needed_ci"][2][1] = None  # a high end that is only a bound
    kinds["cnn_fc"]["needed"][1] = None               # a condition not run
    summary = {"axis": "positions", "sizes": sizes, "positions": positions, "pixels": [s * s for s in sizes],
               "seeds": {arm: 10 if arm in KINDS else 5 for arm in growth}, "target": 0.9, "kinds": kinds}
    return {"summary": summary, "dense_vs_memoriser": ["inconclusive", "below", "below", None],
            "numbers": {}, "caption": ""}


def _explorer_models() -> dict:
    import torch

    from equidocs.explorer import export_model
    from equidocs.models import make_model

    entries = []
    for kind in KINDS:
        torch.manual_seed(len(kind))
        model = make_model(kind, (1, 12, 12), 4, depth=1, width=8, kernel_size=5, hidden=256)
        entries.append({"n": 512, "seed": 0, **export_model(model)})
    return {"kinds": list(KINDS), "ns": [64, 512], "seeds": [0, 1], "numbers": {}, "caption": "",
            "companions": {"explorer_models.weights.json": {"canvas": 12, "models": entries}}}


def _sharing_locality() -> dict:
    arms = {}
    for i, arm in enumerate(("conv", "conv+global", "local", "local+global", "dense")):
        value = 40.0 * 3 ** i
        arms[arm] = {"kind": arm.split("+")[0], "need": {"value": value, "censored": "above" if i == 4 else "",
                                                          "ci": [0.8 * value, 1.3 * value]}}
    return {"task": {"canvas": 9}, "target": 0.9, "arms": arms, "numbers": {}, "caption": ""}


def _amnesia_distance() -> dict:
    """The experiment's own analysis of fake runs whose accuracy falls with the distance."""
    from equidocs.experiments import amnesia_distance as ad
    from equidocs.train import RunResult

    cfg = ad.Config.profile("quick")
    dmap = ad.distance_map(cfg.task["canvas"])
    runs = [RunResult(kind, n, seed, 3e-3, 100, 50, "fit", False, 1.0, 0.9, 0.5, 0.0, [], 0.0,
                      probe={"acc": (np.ones(dmap.shape) if kind == "conv" else np.clip(1 - 0.15 * dmap, 0.25, 1)).tolist()})
            for kind in cfg.kinds for n in cfg.ns for seed in cfg.seeds]
    tuned = {(kind, n): {"lr": 3e-3, "edge": False, "table": []} for kind in cfg.kinds for n in cfg.ns}
    return ad.analyse(runs, tuned, cfg)


def _capacity() -> dict:
    """The experiment on a fake trainer whose needs are known (as its own tests build it)."""
    from dataclasses import replace

    import test_capacity as t

    from equidocs.experiments import capacity, search
    from equidocs.experiments.common import RunContext

    real, search.train_many = search.train_many, t.fake(t.known_need)
    try:
        return capacity.run(replace(capacity.Config(), seeds=(0, 1, 2), boot=20), RunContext(workers=1))
    finally:
        search.train_many = real


def _heads_augmentation() -> dict:
    """The experiment on a fake trainer whose needs and step counts are known (as its own tests)."""
    from dataclasses import replace

    import test_heads_augmentation as t

    from equidocs.experiments import heads_augmentation as ha, search
    from equidocs.experiments.common import RunContext

    real, search.train_many = search.train_many, t._fake_train_many
    try:
        return ha.run(replace(ha.Config(), seeds=(0, 1, 2), boot=20), RunContext(workers=1))
    finally:
        search.train_many = real


SYNTHETIC = {"heads_augmentation": _heads_augmentation, "capacity": _capacity, "sharing_locality": _sharing_locality, "amnesia_distance": _amnesia_distance, "parameter_counts": _parameter_counts, "equivariance_error": _equivariance_error,
             "sample_efficiency": _sample_efficiency, "amnesia": _amnesia, "weights": _weights,
             "resolution_scaling": _resolution_scaling, "explorer_models": _explorer_models}


# --- SVG measurement ------------------------------------------------------------------------------

_FONT = re.compile(r"font(?:-size)?\s*:\s*(?:(?:italic|oblique|normal|bold|\d00)\s+)*([\d.]+)(px|pt)?")


def svg_text_sizes(svg: str) -> tuple[float, list[float]]:
    """(viewBox width, every font size of a text element) of an SVG written by matplotlib.

    >>> svg_text_sizes('<svg width="10pt" viewBox="0 0 100 50"><text style="font: 9px sans"/></svg>')
    (100.0, [9.0])
    """
    box = re.search(r'<svg\b[^>]*\bviewBox="([-\d.\s]+)"', svg)
    assert box, "no viewBox on the <svg> element"
    width = float(box.group(1).split()[2])
    # only the styles of text elements and their tspans (not the CSS of other elements)
    styles = re.findall(r"<(?:text|tspan)\b[^>]*\bstyle=\"([^\"]*)\"", svg)
    sizes = [float(m.group(1)) for s in styles for m in _FONT.finditer(s)]
    return width, sizes


def smallest_text_px(svg: str, displayed_width_px: float) -> float:
    """The smallest text of an SVG shown ``displayed_width_px`` wide, in CSS px."""
    width, sizes = svg_text_sizes(svg)
    assert sizes, "no text found in the SVG"
    return min(sizes) * displayed_width_px / width


def _draw(name: str, scheme: str) -> tuple[plt.Figure, str]:
    module = experiments.get(name)
    with theme(scheme):
        fig = module.figure(SYNTHETIC[name]())
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return fig, buffer.getvalue()


# --- unit tests -------------------------------------------------------------------------------------

def test_every_experiment_with_a_figure_is_covered():
    assert set(FIGURES) <= set(experiments.NAMES)


def test_kind_colours_are_distinct_and_not_reused():
    colours = [to_hex(KIND_COLORS[k]) for k in KINDS]
    assert len(set(colours)) == 3, KIND_COLORS
    assert not set(colours) & {to_hex(c) for c in OTHER_COLORS}, "a kind's colour reused for another category"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", FIGURES)
def test_figure_is_column_wide_and_legible(name, scheme):
    fig, svg = _draw(name, scheme)
    try:
        assert fig.get_figwidth() == pytest.approx(FIG_WIDTH), "draw figures with plotting.figsize()"
        box = re.search(r'<svg\b[^>]*\bwidth="([\d.]+)pt"', svg)
        intrinsic_px = float(box.group(1)) * PX_PER_INCH / 72
        shown = min(intrinsic_px, COLUMN_PX)  # max-width: 100% of the column
        smallest = smallest_text_px(svg, shown)
        print(f"{name} ({scheme}): {intrinsic_px:.0f} px wide, smallest text {smallest:.1f} px")
        assert intrinsic_px <= COLUMN_PX * 1.05, f"{name}: {intrinsic_px:.0f} px, wider than the column"
        assert smallest >= MIN_TEXT_PX, f"{name}: smallest text {smallest:.1f} px < {MIN_TEXT_PX} px"
    finally:
        plt.close(fig)


def _artist_colours(fig: plt.Figure) -> set[str]:
    found = set()
    for ax in fig.axes:
        for line in ax.get_lines():
            found.add(to_hex(line.get_color()))
            found.add(to_hex(line.get_markerfacecolor()))
        for artist in ax.patches + ax.collections:
            for getter in ("get_facecolor", "get_edgecolor"):
                try:
                    values = np.atleast_2d(getattr(artist, getter)())
                except (AttributeError, TypeError):
                    continue
                found |= {to_hex(v[:3]) for v in values if len(v) >= 3}
        for spine in ax.spines.values():
            found.add(to_hex(spine.get_edgecolor()[:3]))
    return found


@pytest.mark.parametrize("name", FIGURES)
def test_figures_draw_the_kinds_in_kind_colours(name):
    """Each figure that shows the three model kinds draws each in its KIND_COLORS colour."""
    fig, _ = _draw(name, "light")
    try:
        colours = _artist_colours(fig)
        shown = {"heads_augmentation": ("conv", "dense")}.get(name, KINDS)  # its arms are conv and dense nets
        missing = [k for k in shown if to_hex(KIND_COLORS[k]) not in colours]
        assert not missing, f"{name}: no artist in the colour of {missing} ({sorted(colours)})"
    finally:
        plt.close(fig)


def test_heat_maps_have_colour_bars():
    for name in ("equivariance_error", "amnesia", "weights", "explorer_models"):
        fig, _ = _draw(name, "light")
        try:
            images = [im for ax in fig.axes for im in ax.images]
            bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
            assert images and bars, f"{name}: {len(images)} heat maps, {len(bars)} colour bars"
        finally:
            plt.close(fig)


# --- browser test of the built site ---------------------------------------------------------------

_MEASURE = """() => [...document.querySelectorAll('figure[id^="fig-"] img')]
  .filter(img => img.offsetParent !== null && getComputedStyle(img).display !== 'none')
  .map(img => ({src: img.currentSrc || img.src, width: img.getBoundingClientRect().width,
                figure: img.closest('figure').id, column: img.closest('.md-content__inner').clientWidth,
                loaded: img.complete && img.naturalWidth > 0}))"""


def figure_pages(site_dir: Path) -> dict[str, str]:
    """{figure name: the first built page that shows it}, read from the built HTML."""
    pages = {}
    for html in sorted(site_dir.rglob("*.html")):
        for name in re.findall(r'<figure[^>]*\bid="fig-([a-z_]+)"', html.read_text(encoding="utf-8")):
            pages.setdefault(name, html.relative_to(site_dir).as_posix())
    return pages


def measure_figures(browser, base_url: str, site_dir: Path, scheme: str) -> list[dict]:
    """Per figure shown on a page of the site, at a 1280-px window in ``scheme``: the displayed
    width of its visible <img>, the column's width and its smallest text in CSS px."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browsing import close, open_page, wait_for_scheme

    measured = []
    for page_path in sorted(set(figure_pages(site_dir).values())):
        page, _ = open_page(browser, base_url + page_path, scheme, width=1280)
        try:
            wait_for_scheme(page, scheme)
            # Lazy images load once near the viewport: load them all now, whatever the scroll.
            page.evaluate("""() => document.querySelectorAll('figure[id^="fig-"] img')
                .forEach(i => { i.loading = 'eager'; })""")
            page.wait_for_function("""() => [...document.querySelectorAll('figure[id^="fig-"] img')]
                .filter(i => i.offsetParent !== null).every(i => i.complete && i.naturalWidth > 0)""")
            shown = page.evaluate(_MEASURE)
        finally:
            close(page)
        assert shown, f"{page_path}: no visible figure image"
        for img in shown:
            name = img["figure"].removeprefix("fig-")
            suffix = "-dark" if scheme == "dark" else ""
            src = img["src"].split("#")[0]  # the #only-light / #only-dark markers
            assert src.endswith(f"figures/{name}{suffix}.svg"), f"{scheme}: {src} shown for {name}"
            svg = (site_dir / "figures" / f"{name}{suffix}.svg").read_text(encoding="utf-8")
            measured.append({"figure": name, "page": page_path, "scheme": scheme, "width": img["width"],
                             "column": img["column"], "smallest_px": smallest_text_px(svg, img["width"])})
    return measured


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_figure_text_in_the_browser(browser, site_url, built_site, scheme):
    """Every figure of the built site, as displayed at 1280 x 900: smallest text >= MIN_TEXT_PX."""
    measured = measure_figures(browser, site_url, built_site, scheme)
    assert set(FIGURES) <= {m["figure"] for m in measured}, "a figure is on no page"
    sys.__stdout__.write("\n" + "\n".join(
        f"{m['figure']:20s} {scheme:5s} {m['page']:28s} shown {m['width']:.0f} px in a {m['column']} px "
        f"column: smallest text {m['smallest_px']:.1f} px" for m in measured) + "\n")
    small = [m for m in measured if m["smallest_px"] < MIN_TEXT_PX]
    assert not small, "\n".join(f"{m['figure']} on {m['page']} ({scheme}): smallest text "
                                f"{m['smallest_px']:.1f} px < {MIN_TEXT_PX} px" for m in small)


def test_the_explorer_uses_the_figures_palette():
    """One palette for the three kinds on every figure and in the explorer."""
    import re
    from pathlib import Path

    from equidocs.plotting import KIND_COLORS

    css = (Path(__file__).resolve().parents[1] / "docs/assets/stylesheets/explorer.css").read_text()
    found = dict(re.findall(r"--eq-(conv|local|dense):\s*(#[0-9A-Fa-f]{6})", css))
    assert {k: v.upper() for k, v in found.items()} == {k: v.upper() for k, v in KIND_COLORS.items()}


# --- one look per arm, censored points hollow, legends inside the figure -------------------------

ARM_FIGURES = ("parameter_counts", "equivariance_error", "sample_efficiency", "resolution_scaling",
               "sharing_locality", "capacity", "heads_augmentation")  # figures whose data are arms


def _arm_pairs(scheme: str = "light") -> dict[tuple[str, str], str]:
    with theme(scheme):
        return {(to_hex(arm_style(a)["color"]), arm_style(a)["marker"]): a for a in ARM_STYLES}


ALIASES = {"conv_flatten": "conv+flatten"}  # the mechanism study's name -> the same arm's older name


def test_each_arm_has_one_look_and_variants_keep_their_kinds_colour():
    pairs = _arm_pairs()
    for alias, arm in ALIASES.items():
        assert ARM_STYLES[alias] == ARM_STYLES[arm], f"{alias} is {arm} under another name: one look"
    looks: dict[tuple[str, str], list[str]] = {}
    for arm, (kind, marker, _) in ARM_STYLES.items():
        if arm not in ALIASES:
            looks.setdefault((kind, marker), []).append(arm)
    shared = [arms for arms in looks.values() if len(arms) > 1]
    assert not shared and len(pairs) == len(ARM_STYLES) - len(ALIASES), \
        f"two arms of one colour share a marker: {shared}"
    for arm, (kind, marker, style) in ARM_STYLES.items():
        base = arm.split("+")[0]
        if base in KINDS:
            assert kind == base, f"{arm}: drawn in {kind}'s colour, not its kind's ({base})"
        if arm in KINDS:
            assert style == "-" and marker == {"conv": "o", "local": "s", "dense": "^"}[arm]
    with theme("light"):
        assert not {to_hex(arm_style(a)["color"]) for a in ARM_STYLES} & {to_hex(c) for c in OTHER_COLORS}


def _marked_lines(fig: plt.Figure) -> list[Line2D]:
    return [line for ax in fig.axes for line in ax.get_lines()
            if line.get_marker() not in (None, "None", "", " ") and len(np.atleast_1d(line.get_xdata()))]


@pytest.mark.parametrize("name", ARM_FIGURES)
def test_arms_are_drawn_in_their_one_colour_and_marker(name):
    """A marker in a kind's colour is always one of that colour's arms (ARM_STYLES): no conv variant
    in another hue, no censored point in another arm's marker; no colour outside the arms' palette."""
    fig, _ = _draw(name, "light")
    try:
        pairs = _arm_pairs()
        kind_colours = {to_hex(c) for c in KIND_COLORS.values()}
        for line in _marked_lines(fig):
            colour = to_hex(line.get_markeredgecolor()) if line.get_markerfacecolor() == "none" \
                else to_hex(line.get_color())
            marker = line.get_marker()
            if (colour in kind_colours and isinstance(marker, str) and not marker.startswith("$")
                    and marker not in ("|", "_")):  # (not error-bar caps, need ticks or carets)
                assert (colour, marker) in pairs, f"{name}: a {marker!r} marker in {colour} is no arm's look"
        assert not _artist_colours(fig) & {to_hex(c) for c in OTHER_COLORS}, \
            f"{name}: an arm drawn in a colour of another category (OTHER_COLORS)"
    finally:
        plt.close(fig)


def test_a_censored_point_is_its_arms_marker_hollow_with_an_arrow():
    with theme("light"):
        fig, ax = plt.subplots()
        ax.set_yscale("log")
        censored_point(ax, 1, 100, "dense+shift", "above")
        (line,) = ax.get_lines()
        assert line.get_marker() == ">" and line.get_markerfacecolor() == "none"
        assert to_hex(line.get_markeredgecolor()) == to_hex(KIND_COLORS["dense"])
        (arrow,) = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
        assert arrow.xy[1] > 100, "the arrow of a need above the cap points up"
        plt.close(fig)


@pytest.mark.parametrize("name", ["sharing_locality", "resolution_scaling"])  # synthetic data with censored needs
def test_censored_needs_are_drawn_hollow(name):
    """Figures with censored needs draw them hollow in the arm's marker (never filled, never another
    arm's marker), each with an arrow, and name them in the legend or caption."""
    result = SYNTHETIC[name]()
    fig, _ = _draw(name, "light")
    try:
        pairs = _arm_pairs()
        hollow = [line for line in _marked_lines(fig) if line.get_markerfacecolor() == "none"
                  and line.get_markersize() < 10]  # (not capacity's ring around the growth study's size)
        censored = json_censored(result)
        assert censored and hollow, f"{name}: {censored} censored values, {len(hollow)} hollow markers"
        for line in hollow:
            assert (to_hex(line.get_markeredgecolor()), line.get_marker()) in pairs, \
                f"{name}: hollow {line.get_marker()!r} in {to_hex(line.get_markeredgecolor())}: no arm's marker"
        arrows = [t for ax in fig.axes for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
        assert len(arrows) >= len(hollow), f"{name}: {len(hollow)} hollow markers, {len(arrows)} arrows"
        filled = [line for line in _marked_lines(fig) if line.get_markerfacecolor() != "none"
                  and line.get_marker() in ("^", "v") and to_hex(line.get_color()) != to_hex(KIND_COLORS["dense"])]
        assert not filled, f"{name}: a triangle (dense's marker) drawn for another arm"
    finally:
        plt.close(fig)


def json_censored(result) -> int:
    """How many censored needs a result holds: every ``"censored"`` value "above" or "below", alone
    (``{"censored": "above"}``) or in a list, one per size (``{"censored": [None, "above"]}``).

    >>> json_censored({"a": {"censored": "above"}, "b": [{"censored": [None, "below", "above"]}], "c": ""})
    3
    """
    if isinstance(result, list):
        return sum(json_censored(v) for v in result)
    if not isinstance(result, dict):
        return 0
    count = 0
    for key, value in result.items():
        if key == "censored":
            values = value if isinstance(value, list) else [value]
            count += sum(v in ("above", "below") for v in values)
        else:
            count += json_censored(value)
    return count


@pytest.mark.parametrize("name", FIGURES)
def test_legends_lie_inside_the_figure(name):
    """Every legend is drawn inside the figure's canvas: the exported SVG is not widened (and so
    shrunk in the column) or clipped by a legend that sticks out."""
    fig, _ = _draw(name, "light")
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        page = fig.bbox
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        for legend in legends:
            box = legend.get_window_extent(renderer)
            assert (box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1 and box.y0 >= page.y0 - 1
                    and box.y1 <= page.y1 + 1), f"{name}: legend {box.bounds} outside the figure {page.bounds}"
    finally:
        plt.close(fig)


# --- phones: a tap opens the figure full-screen (mkdocs-glightbox), a pinch makes its text legible ---

PHONE = {"width": 390, "height": 844}
PHONE_MIN_TEXT_PX = 9.0  # CSS px: the smallest figure text a reader on a phone can get by zooming


def _pinch(page, box: dict, spread: float) -> None:
    """A two-finger pinch (through the DevTools protocol) centred on ``box``, fingers moving from 20
    px apart to ``20 * spread`` px apart."""
    cdp = page.context.new_cdp_session(page)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def fingers(d: float) -> list[dict]:
        return [{"x": cx - d / 2, "y": cy, "id": 0}, {"x": cx + d / 2, "y": cy, "id": 1}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": fingers(20)})
    for d in np.linspace(20, 20 * spread, 12)[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": fingers(float(d))})
        page.wait_for_timeout(16)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_figures_on_a_phone_open_full_screen_and_zoom_to_legible_text(browser, site_url, built_site, scheme):
    """At 390 x 844 (a phone, touch), for every figure: tapping it opens the lightbox on its own
    variant (light or dark) on the page's colour, with every request answered by the site (offline);
    a pinch there zooms it until its smallest text is >= PHONE_MIN_TEXT_PX. Sizes are printed: as
    laid out, in the lightbox and zoomed."""
    sys.path.insert(0, str(Path(__file__).parent))
    from browsing import wait_for_scheme, wait_until_still

    suffix = "-dark" if scheme == "dark" else ""
    rows, by_page = [], {}
    for name, page_path in figure_pages(built_site).items():
        by_page.setdefault(page_path, []).append(name)
    for page_path, names in sorted(by_page.items()):
        from browsing import close, open_page

        page, problems = open_page(browser, site_url + page_path, scheme, width=PHONE["width"],
                                   is_mobile=True, has_touch=True, device_scale_factor=2)
        try:
            page.set_viewport_size(PHONE)
            wait_for_scheme(page, scheme)
            for name in names:
                svg = (built_site / "figures" / f"{name}{suffix}.svg").read_text(encoding="utf-8")
                img = page.locator(f"#fig-{name} img:visible").first
                img.scroll_into_view_if_needed()
                page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
                inline = img.bounding_box()["width"]
                img.tap()
                shown = page.locator(".glightbox-container .gslide.current img")
                shown.wait_for(state="visible")
                wait_until_still(shown)  # the opening animation
                src = shown.get_attribute("src")
                assert src.split("#")[0].endswith(f"figures/{name}{suffix}.svg"), f"{scheme}: {src} for {name}"
                background = shown.evaluate("i => getComputedStyle(i).backgroundColor")
                page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
                assert background == page_bg, f"{name} ({scheme}): lightbox background {background}, page {page_bg}"
                opened = shown.bounding_box()
                need = PHONE_MIN_TEXT_PX / smallest_text_px(svg, opened["width"])
                _pinch(page, opened, min(4.0, max(1.5, need * 1.3)))
                wait_until_still(shown)
                zoomed = shown.evaluate("i => i.getBoundingClientRect().width")
                rows.append((name, page_path, smallest_text_px(svg, inline), smallest_text_px(svg, opened["width"]),
                             smallest_text_px(svg, zoomed)))
                page.keyboard.press("Escape")
                page.locator(".glightbox-container").wait_for(state="detached")
            assert not problems, f"{page_path} ({scheme}): " + "; ".join(problems)
        finally:
            close(page)
    sys.__stdout__.write("\n" + "\n".join(
        f"{n:20s} {scheme:5s} {p:28s} at 390 px: smallest text {a:.1f} px laid out, {b:.1f} px in the "
        f"lightbox, {c:.1f} px pinched" for n, p, a, b, c in rows) + "\n")
    assert set(FIGURES) <= {r[0] for r in rows}, "a figure was not checked on a phone"
    small = [r for r in rows if r[4] < PHONE_MIN_TEXT_PX]
    assert not small, "\n".join(f"{n} ({scheme}): pinched, its smallest text is {c:.1f} px" for n, _, _, _, c in small)
