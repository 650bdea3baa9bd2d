"""The security-guard page's interactive explorer, in a real browser (Debian's Chromium, offline).

The explorer (docs/assets/javascripts/explorer.js) must show the real outputs of the trained
models: every number it displays is compared with the result JSON exported into the built site
(results/amnesia.json, results/weights.json), read here with Python. The stop sign is moved by
clicking on the canvas, by dragging and with the arrow keys; the training-set size is switched with
the selector; the weights slider must redraw the dense net's weight-change images. No console error
may appear. Screenshots of the explorer in both schemes go to build/screenshots/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browsing import SCHEMES, open_page, wait_for_scheme

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = "security-guard/"
ROOT = ".equidocs-explorer"
GLYPH = 5
NUMBER = re.compile(r"^[01]\.\d{3}$")
# --- fixtures and helpers ------------------------------------------------------------------------

def _record(built_site: Path, name: str) -> dict:
    path = built_site / "results" / f"{name}.json"
    assert path.is_file(), f"{path} is missing from the built site"
    return json.loads(path.read_text(encoding="utf-8"))["result"]


@pytest.fixture(scope="module")
def amnesia(built_site) -> dict:
    return _record(built_site, "amnesia")


@pytest.fixture(scope="module")
def weights(built_site) -> dict:
    return _record(built_site, "weights")


def open_explorer(browser, site_url: str, scheme: str = "light"):
    page, problems = open_page(browser, site_url + PAGE, scheme)
    wait_for_scheme(page, scheme)
    wait_ready(page, problems)
    return page, problems


def wait_ready(page, problems) -> None:
    try:
        page.wait_for_function(f"() => {{ const r = document.querySelector('{ROOT}');"
                               " return r && r.dataset.ready; }")
    except Exception:
        raise AssertionError(f"the explorer never became ready; problems: {problems}") from None
    state = page.eval_on_selector(ROOT, "r => r.dataset.ready")
    assert state == "true", f"the explorer failed to load its data ({state}): {problems}"


def state(page) -> dict:
    return page.eval_on_selector(ROOT, "r => ({row: +r.dataset.row, col: +r.dataset.col, n: r.dataset.n,"
                                       " weightsN: r.dataset.weightsN})")


def displayed(page) -> dict[tuple[str, int], str]:
    rows = page.eval_on_selector_all(f"{ROOT} .prob", "els => els.map(e => [e.dataset.kind, +e.dataset.class,"
                                                      " e.textContent.trim()])")
    return {(kind, k): text for kind, k, text in rows}


def expected(amnesia: dict, n, row: int, col: int) -> dict[tuple[str, int], float]:
    return {(kind, k): p
            for kind in amnesia["kinds"]
            for k, p in enumerate(amnesia["models"][kind]["by_n"][str(n)]["stop_probs_seed0"][row][col])}


def assert_shows(page, amnesia: dict, n, row: int, col: int) -> dict[tuple[str, int], float]:
    """The explorer is at (row, col) with N=n and shows exactly that JSON's probabilities (3 decimals)."""
    s = state(page)
    assert (s["row"], s["col"], s["n"]) == (row, col, str(n)), f"explorer state {s}, expected {(row, col, n)}"
    shown, want = displayed(page), expected(amnesia, n, row, col)
    assert set(shown) == set(want), f"displayed (kind, class) pairs {sorted(shown)} != {sorted(want)}"
    for key, value in want.items():
        assert NUMBER.match(shown[key]), f"{key}: {shown[key]!r} is not a probability with 3 decimals"
        # toFixed(3) rounds exact ties (e.g. 0.0625) up, Python's format to even: allow half a unit.
        assert abs(float(shown[key]) - value) <= 0.0005 + 1e-9, \
            f"at {(row, col)}, N={n}: {key} shows {shown[key]}, the JSON says {value}"
    return {key: float(text) for key, text in shown.items()}


def cell_point(page, canvas: int, row: int, col: int) -> dict:
    """Where to click on the board so that the stop sign's top-left corner lands at (row, col):
    a click centres the 5x5 sign on the clicked pixel."""
    box = page.locator(f"{ROOT} .eqx-board").bounding_box()
    cell = box["width"] / canvas
    return {"x": (col + GLYPH // 2 + 0.5) * cell, "y": (row + GLYPH // 2 + 0.5) * cell}


def trained_position(amnesia: dict) -> tuple[int, int]:
    reg = amnesia["region"]
    return reg["top"] + reg["height"] // 2 - 1, reg["left"] + reg["width"] // 2 - 1


def is_inside(amnesia: dict, row: int, col: int) -> bool:
    reg = amnesia["region"]
    return reg["top"] <= row < reg["top"] + reg["height"] and reg["left"] <= col < reg["left"] + reg["width"]


# --- tests ---------------------------------------------------------------------------------------

def test_page_markup_and_static_fallback(browser, site_url, built_site):
    """The built page has the explorer div with both data URLs; without JavaScript its fallback
    text stays."""
    html = (built_site / PAGE / "index.html").read_text(encoding="utf-8")
    div = re.search(r'<div class="equidocs-explorer"[^>]*>', html)
    assert div, "no <div class=\"equidocs-explorer\"> on the security-guard page"
    assert 'data-results="../results/amnesia.json"' in div.group(0), div.group(0)
    assert 'data-weights="../results/weights.json"' in div.group(0), \
        f"the explorer div lacks data-weights=\"../results/weights.json\": {div.group(0)}"
    page, problems = open_page(browser, site_url + PAGE, java_script_enabled=False)
    try:
        text = page.locator(ROOT).inner_text()
        assert "needs JavaScript" in text, f"static fallback missing without scripts: {text!r}"
        assert page.locator(f"{ROOT} canvas").count() == 0
    finally:
        page.context.close()


def test_stop_sign_probabilities_are_the_exported_ones(browser, site_url, amnesia):
    page, problems = open_explorer(browser, site_url)
    try:
        canvas, side = amnesia["canvas"], amnesia["side"]
        n0 = amnesia["ns"][0]
        assert page.locator(f"{ROOT} .eqx-board").count() == 1, "the explorer initialised twice"
        board = page.locator(f"{ROOT} .eqx-board")
        assert board.get_attribute("tabindex") == "0" and board.get_attribute("role")
        assert board.get_attribute("aria-label")
        live = page.locator(f"{ROOT} [aria-live]")
        assert live.count() == 1
        s = state(page)
        assert_shows(page, amnesia, n0, s["row"], s["col"])

        # Trained position: click on the canvas.
        row, col = trained_position(amnesia)
        assert is_inside(amnesia, row, col)
        board.click(position=cell_point(page, canvas, row, col))
        assert_shows(page, amnesia, n0, row, col)
        assert f"row {row}, column {col}" in live.inner_text() and "inside the trained area" in live.inner_text()
        # ...and one step with the keyboard (the click focused the canvas).
        assert page.evaluate("() => document.activeElement.classList.contains('eqx-board')")
        page.keyboard.press("ArrowRight")
        assert_shows(page, amnesia, n0, row, col + 1)

        # Untrained position, far outside: the bottom-right corner, by clicking on its pixel.
        far = (side - 1, side - 1)
        assert not is_inside(amnesia, *far)
        board.click(position=cell_point(page, canvas, *far))
        shown = assert_shows(page, amnesia, n0, *far)
        assert "outside the trained area" in live.inner_text()
        # Where the experiment says conv and dense differ, the display must say it the same way.
        for n in amnesia["ns"]:
            if str(n) != state(page)["n"]:
                page.select_option(f"{ROOT} select.eqx-n", str(n))
            shown = assert_shows(page, amnesia, n, *far)
            want = expected(amnesia, n, *far)
            diff = want[("conv", 0)] - want[("dense", 0)]
            shown_diff = shown[("conv", 0)] - shown[("dense", 0)]
            if round(want[("conv", 0)], 3) != round(want[("dense", 0)], 3):
                assert shown_diff * diff > 0, (
                    f"N={n}, {far}: the JSON gives conv {want[('conv', 0)]} and dense {want[('dense', 0)]} "
                    f"for the stop sign, the explorer shows {shown[('conv', 0)]} and {shown[('dense', 0)]}")
        page.select_option(f"{ROOT} select.eqx-n", str(n0))
        assert_shows(page, amnesia, n0, *far)
        # Keyboard: arrows move, the edges clamp.
        board.press("ArrowLeft")
        assert_shows(page, amnesia, n0, side - 1, side - 2)
        board.press("ArrowDown")                                   # already on the last row
        assert_shows(page, amnesia, n0, side - 1, side - 2)
        board.press("Home")
        assert_shows(page, amnesia, n0, 0, 0)

        # Dragging: press at one pixel, release at another.
        start, end = cell_point(page, canvas, 0, 0), cell_point(page, canvas, side - 2, 1)
        box = board.bounding_box()
        page.mouse.move(box["x"] + start["x"], box["y"] + start["y"])
        page.mouse.down()
        page.mouse.move(box["x"] + end["x"], box["y"] + end["y"], steps=6)
        page.mouse.up()
        assert_shows(page, amnesia, n0, side - 2, 1)
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_switching_n_shows_that_ns_values(browser, site_url, amnesia):
    page, problems = open_explorer(browser, site_url)
    try:
        assert len(amnesia["ns"]) >= 2, "the amnesia experiment has a single N: nothing to switch"
        options = page.eval_on_selector_all(f"{ROOT} select.eqx-n option", "os => os.map(o => o.value)")
        assert options == [str(n) for n in amnesia["ns"]]
        side = amnesia["side"]
        page.locator(f"{ROOT} .eqx-board").press("End")
        before = assert_shows(page, amnesia, amnesia["ns"][0], side - 1, side - 1)
        for n in amnesia["ns"][1:]:
            page.select_option(f"{ROOT} select.eqx-n", str(n))
            after = assert_shows(page, amnesia, n, side - 1, side - 1)
            if expected(amnesia, n, side - 1, side - 1) != expected(amnesia, amnesia["ns"][0], side - 1, side - 1):
                assert after != before, f"switching to N={n} did not change the numbers"
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_weights_slider_redraws(browser, site_url, weights):
    page, problems = open_explorer(browser, site_url)
    try:
        ns = [str(n) for n in weights["ns"]]
        slider = page.locator(f"{ROOT} input.eqx-slider[type=range]")
        assert slider.count() == 1, "no weights slider (does the div have data-weights?)"
        tiles = page.locator(f"{ROOT} canvas.eqx-tile-canvas")
        units = len(weights["by_n"][ns[-1]]["dense"]["units"])
        assert tiles.count() == 1 + units
        pixels = "() => [...document.querySelectorAll('.eqx-tile-canvas')].map(c => c.toDataURL())"
        seen = {}
        for key, n in (("Home", ns[0]), ("End", ns[-1])):
            slider.press(key)
            page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.weightsN === '{n}'")
            assert tiles.evaluate_all("cs => cs.map(c => c.dataset.n)") == [n] * (1 + units)
            assert page.locator(f"{ROOT} .eqx-slider-value").inner_text().strip() == n
            seen[n] = page.evaluate(pixels)
            assert all(url.startswith("data:image/png") and len(url) > 200 for url in seen[n])
        if weights["by_n"][ns[0]]["dense"]["energy"] != weights["by_n"][ns[-1]]["dense"]["energy"]:
            assert seen[ns[0]][0] != seen[ns[-1]][0], "the energy image did not change with N"
        # One step back with the arrow key.
        slider.press("ArrowLeft")
        n = ns[-2]
        page.wait_for_function(f"() => document.querySelector('{ROOT}').dataset.weightsN === '{n}'")
        # The energy image is drawn from the JSON: with viridis (sequential, brighter = larger), the
        # JSON's largest weight change is the brightest pixel and its smallest the darkest.
        energy = weights["by_n"][n]["dense"]["energy"]
        flat = [(v, r, c) for r, line in enumerate(energy) for c, v in enumerate(line)]
        (_, r_hi, c_hi), (_, r_lo, c_lo) = max(flat), min(flat)
        luma = page.evaluate("""([cells, points]) => {
            const c = document.querySelector('.eqx-tile-canvas[data-panel=energy]');
            const s = c.width / cells, ctx = c.getContext('2d');
            return points.map(([r, col]) => { const d = ctx.getImageData((col + 0.5) * s, (r + 0.5) * s, 1, 1).data;
                return 0.2126 * d[0] + 0.7152 * d[1] + 0.0722 * d[2]; }); }""",
                             [weights["canvas"], [[r_hi, c_hi], [r_lo, c_lo]]])
        assert luma[0] > luma[1] + 10, f"N={n}: energy image not drawn from the JSON (luma {luma})"
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_instant_navigation_initialises_once(browser, site_url, mkdocs_yml, amnesia):
    """Arriving through Material's instant navigation (no page load) still builds the explorer,
    once, and going back and forth does not build it twice. Served at the deployed address, since
    Material only navigates instantly within site_url."""
    public = mkdocs_yml["site_url"].rstrip("/") + "/"
    page, problems = open_page(browser, public, public=(public, site_url))
    try:
        page.evaluate("() => { window.__noReload = true; }")  # survives an instant navigation only
        page.locator(f"a[href$='{PAGE}']:visible").first.click()
        page.wait_for_url(f"**/{PAGE}")
        wait_ready(page, problems)
        assert page.evaluate("() => window.__noReload"), "the page was reloaded: instant navigation is off"
        assert page.locator(f"{ROOT} .eqx-board").count() == 1
        page.go_back()
        page.wait_for_function("() => !document.querySelector('.equidocs-explorer')")
        page.go_forward()
        page.wait_for_function("() => document.querySelector('.equidocs-explorer')")
        wait_ready(page, problems)
        assert page.evaluate("() => window.__noReload"), "the page was reloaded: instant navigation is off"
        assert page.locator(f"{ROOT} .eqx-board").count() == 1, "the explorer was built twice"
        assert page.locator(f"{ROOT} .eqx-model").count() == len(amnesia["kinds"])
        side = amnesia["side"]
        page.locator(f"{ROOT} .eqx-board").press("End")
        assert_shows(page, amnesia, amnesia["ns"][0], side - 1, side - 1)
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_and_scheme_colours(browser, site_url, screenshot_dir, amnesia, scheme):
    """The canvas is drawn in the scheme's colours (its background is the page's), redrawn when the
    reader toggles the scheme; a screenshot of the explorer goes to build/screenshots/."""
    page, problems = open_explorer(browser, site_url, scheme)
    try:
        corner = "() => { const c = document.querySelector('.eqx-board');" \
                 " return [...c.getContext('2d').getImageData(1, 1, 1, 1).data]; }"
        page_bg = ("() => { const p = document.createElement('canvas').getContext('2d');"
                   " p.fillStyle = getComputedStyle(document.querySelector('.equidocs-explorer'))"
                   ".getPropertyValue('--md-default-bg-color').trim(); p.fillRect(0, 0, 1, 1);"
                   " return [...p.getImageData(0, 0, 1, 1).data]; }")
        # Pixel (1, 1) lies in the trained area's tint when the area starts at the corner: compare
        # an untinted pixel instead, the bottom-left corner of the board.
        corner = corner.replace("getImageData(1, 1, 1, 1)", "getImageData(1, c.height - 2, 1, 1)")
        assert page.evaluate(corner)[:3] == page.evaluate(page_bg)[:3], "board background != page background"
        side = amnesia["side"]
        page.locator(f"{ROOT} .eqx-board").press("End")
        page.locator(f"{ROOT} .eqx-board").press("ArrowLeft")
        assert state(page)["col"] == side - 2
        page.locator(ROOT).scroll_into_view_if_needed()
        shot = screenshot_dir / f"explorer-{scheme}.png"
        # Material's sticky header would cover the element's top in an element screenshot.
        style = page.add_style_tag(content=".md-header, .md-tabs { visibility: hidden !important; }")
        page.locator(ROOT).screenshot(path=str(shot))
        style.evaluate("s => s.remove()")
        print(f"screenshot: {shot}")
        # Toggle the scheme with Material's palette switch: the canvas follows.
        before = page.evaluate(corner)
        other = "slate" if scheme == "light" else "default"
        page.locator("form[data-md-component=palette] label:visible").first.click()
        page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=other)
        page.wait_for_function(f"b => {{ const d = ({corner})(); return d.some((v, i) => v !== b[i]); }}", arg=before)
        assert page.evaluate(corner)[:3] == page.evaluate(page_bg)[:3], "board not redrawn after the toggle"
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()
