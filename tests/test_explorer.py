"""The security-guard page's explorer, in a real browser (Debian's Chromium, offline).

The explorer (docs/assets/javascripts/explorer.js) runs the trained models in the page: its
``window.equidocs.predict`` must give the class probabilities that torch gives with the same
weights (the built site's results/explorer_models.weights.json, read here with
equidocs.explorer.load_models), on random inputs and on a glyph drawn with the mouse. Dragging the
glyph and drawing must change what the models say (except the conv net's verdict on a moved glyph,
which its weight sharing keeps exactly), the view must survive a reload through its link, the
per-position accuracy maps come from results/amnesia.json and the weights slider from
results/weights.json. The readout control swaps the conv and local nets for their flatten-readout
twins (the exported kinds "conv_flatten", "local_flatten"). One update is timed. No console error
may appear. Screenshots of the explorer in both schemes go to build/screenshots/.

The home page's compact explorer (the same script, class "compact") is tested here too: on the
first screen at 1280x800 and on a 390 px phone, in the figures' net colours, the conv net holding
and the dense net failing when the stop sign leaves the trained corner.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from browsing import SCHEMES, close, open_page, wait_for_scheme

from equidocs.explorer import load_models
from equidocs.plotting import KIND_COLORS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = "security-guard/"
ROOT = ".equidocs-explorer"
WEIGHTS_FILE = "explorer_models.weights.json"
HOME_FILE = "explorer_models.home.weights.json"   # the home page's compact explorer: its two models
NUMBER = re.compile(r"^[01]\.\d{3}$")
TOLERANCE = 1e-5          # max |browser - torch| of a class probability
CONTROLLER = "window.equidocs.explorers[0]"
PANELS = ("conv", "local", "dense")   # the full explorer's panels; a readout picks conv / conv_flatten

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


@pytest.fixture(scope="module")
def bank(built_site) -> dict:
    path = built_site / "results" / WEIGHTS_FILE
    assert path.is_file(), f"{path} is missing from the built site (is explorer_models registered?)"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def torch_models(built_site) -> dict:
    return load_models(built_site / "results" / WEIGHTS_FILE)


def torch_probs(model, pixels) -> np.ndarray:
    x = torch.tensor(np.asarray(pixels, dtype=np.float32)).reshape(-1, *model.in_shape)
    with torch.no_grad():
        return torch.softmax(model(x), dim=1).double().numpy()


def open_explorer(browser, site_url: str, scheme: str = "light", query: str = ""):
    page, problems = open_page(browser, site_url + PAGE + query, scheme)
    wait_for_scheme(page, scheme)
    wait_ready(page, problems)
    return page, problems


def wait_ready(page, problems, root: str = ROOT) -> None:
    """Wait until the explorer ``root`` (a selector) has loaded its data, and check it succeeded."""
    try:
        page.wait_for_function(f"() => {{ const r = document.querySelector('{root}');"
                               " return r && r.dataset.ready; }")
    except Exception:
        raise AssertionError(f"the explorer never became ready; problems: {problems}") from None
    state = page.eval_on_selector(root, "r => r.dataset.ready")
    assert state == "true", f"the explorer failed to load its data ({state}): {problems}"


def state(page) -> dict:
    return page.evaluate(f"() => {CONTROLLER}.state()")


def live_probs(page) -> dict[str, list[float]]:
    return page.evaluate(f"() => {CONTROLLER}.probs()")


def displayed(page) -> dict[tuple[str, int], str]:
    rows = page.eval_on_selector_all(f"{ROOT} .prob", "els => els.map(e => [e.dataset.kind, +e.dataset.class,"
                                                      " e.textContent.trim()])")
    return {(kind, k): text for kind, k, text in rows}


def assert_display_is_live(page) -> dict[str, list[float]]:
    """The numbers on the page are the live outputs, with 3 decimals."""
    probs, shown = live_probs(page), displayed(page)
    assert set(shown) == {(kind, k) for kind, p in probs.items() for k in range(len(p))}
    for (kind, k), text in shown.items():
        assert NUMBER.match(text), f"{kind}, class {k}: {text!r} is not a probability with 3 decimals"
        assert abs(float(text) - probs[kind][k]) <= 0.0005 + 1e-9, (kind, k, text, probs[kind][k])
    return probs


def assert_matches_torch(page, torch_models, s: dict) -> None:
    """The page's current input, run by torch, gives the probabilities the page computed."""
    pixels = page.evaluate(f"() => {CONTROLLER}.input()")
    probs = live_probs(page)
    for kind, p in probs.items():
        want = torch_probs(torch_models[(kind, int(s["n"]), int(s["seed"]))], pixels)[0]
        diff = np.abs(np.array(p) - want).max()
        assert diff <= TOLERANCE, f"{kind} n={s['n']} seed={s['seed']}: browser vs torch differ by {diff:.2e}"


def board_point(page, canvas: int, row: float, col: float) -> dict:
    """Page coordinates of the centre of canvas cell (row, col)."""
    box = page.locator(f"{ROOT} .eqx-board").bounding_box()
    cell = box["width"] / canvas
    return {"x": box["x"] + (col + 0.5) * cell, "y": box["y"] + (row + 0.5) * cell}


def drag(page, canvas: int, cells: list[tuple[int, int]]) -> None:
    page.locator(f"{ROOT} .eqx-board").scroll_into_view_if_needed()   # the mouse acts in the viewport
    start = board_point(page, canvas, *cells[0])
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    for cell in cells[1:]:
        p = board_point(page, canvas, *cell)
        page.mouse.move(p["x"], p["y"], steps=3)
    page.mouse.up()


def changed(a: dict, b: dict, kind: str) -> float:
    return float(np.abs(np.array(a[kind]) - np.array(b[kind])).max())


# --- tests ---------------------------------------------------------------------------------------

def test_page_markup_and_static_fallback(browser, site_url, built_site):
    """The built page has the explorer div with its three data URLs; without JavaScript its
    fallback text stays."""
    html = (built_site / PAGE / "index.html").read_text(encoding="utf-8")
    div = re.search(r'<div class="equidocs-explorer"[^>]*>', html)
    assert div, "no <div class=\"equidocs-explorer\"> on the security-guard page"
    for attr in ('data-models="../results/explorer_models.weights.json"',
                 'data-results="../results/amnesia.json"', 'data-weights="../results/weights.json"'):
        assert attr in div.group(0), f"the explorer div lacks {attr}: {div.group(0)}"
    page, problems = open_page(browser, site_url + PAGE, java_script_enabled=False)
    try:
        text = page.locator(ROOT).inner_text()
        assert "needs JavaScript" in text, f"static fallback missing without scripts: {text!r}"
        assert page.locator(f"{ROOT} canvas").count() == 0
    finally:
        close(page)


def test_predict_equals_torch_on_random_inputs(browser, site_url, bank, torch_models):
    """window.equidocs.predict == softmax(torch model) for every exported model, on noise, on
    glyphs at random positions and on a blank canvas."""
    rng = np.random.default_rng(0)
    c = bank["canvas"]
    inputs = [rng.uniform(0, 1, (c, c)), rng.normal(0, 1, (c, c)), np.zeros((c, c))]
    for g in range(len(bank["glyphs"])):
        x = rng.normal(0, bank["noise"], (c, c))
        r, col = rng.integers(0, c - bank["pattern"] + 1, 2)
        x[r:r + bank["pattern"], col:col + bank["pattern"]] += np.array(bank["glyphs"][g])
        inputs.append(x)
    flat = [x.astype(np.float32).ravel().tolist() for x in inputs]
    page, problems = open_explorer(browser, site_url)
    try:
        got = page.evaluate("""([inputs, keys]) => keys.map(([kind, n, seed]) =>
            inputs.map((x) => window.equidocs.predict(kind, x, {n, seed})))""",
                            [flat, [list(k) for k in torch_models]])
        worst = 0.0
        for (key, model), probs in zip(torch_models.items(), got):
            diff = np.abs(np.array(probs) - torch_probs(model, flat)).max()
            assert diff <= TOLERANCE, f"{key}: browser vs torch differ by {diff:.2e}"
            worst = max(worst, diff)
        print(f"\n[explorer] predict vs torch: max |diff| {worst:.2e} over {len(torch_models)} models "
              f"x {len(flat)} inputs")
        assert len(torch_models) == len(bank["kinds"]) * len(bank["ns"]) * len(bank["seeds"])
        with pytest.raises(Exception, match=r"options\.n is 3 \(a number\): expected one of"):
            page.evaluate("() => window.equidocs.predict('conv', new Array(144).fill(0), {n: 3})")
        assert not problems, "\n".join(problems)
    finally:
        close(page)


# predict's arguments: (label, JS expression of [kind, pixels, options], the error it must raise).
# z() is 144 zeros, rows() 12 rows of 12 zeros, set(x, path, v) sets x[path...] = v and returns x.
BAD_CALLS = [
    ("NaN flat", "['conv', set(z(), [7], NaN)]", r"equidocs\.predict: pixels\[7\] is NaN: expected a finite number"),
    ("NaN nested", "['conv', set(rows(), [3, 5], NaN)]", r"pixels\[3\]\[5\] is NaN: expected a finite number"),
    ("Infinity", "['local', set(rows(), [0, 0], Infinity)]", r"pixels\[0\]\[0\] is Infinity: expected a finite"),
    ("-Infinity", "['dense', set(z(), [143], -Infinity)]", r"pixels\[143\] is -Infinity: expected a finite"),
    ("NaN in a Float32Array", "['conv', set(new Float32Array(144), [10], NaN)]", r"pixels\[10\] is NaN"),
    ("string", "['conv', set(rows(), [3, 5], 'abc')]",
     r'pixels\[3\]\[5\] is "abc" \(a string\): expected a number'),
    ("numeric string", "['conv', set(z(), [0], '0.5')]", r'pixels\[0\] is "0\.5" \(a string\): expected a number'),
    ("null", "['conv', set(z(), [3], null)]", r"pixels\[3\] is null: expected a number"),
    ("hole", "['conv', (() => { const x = z(); delete x[2]; return x; })()]", r"pixels\[2\] is undefined"),
    ("boolean", "['conv', set(rows(), [1, 1], true)]", r"pixels\[1\]\[1\] is true \(a boolean\): expected a number"),
    ("object", "['conv', set(z(), [4], {v: 1})]", r"pixels\[4\] is an object: expected a number"),
    ("ragged", "['conv', set(rows(), [2], new Array(11).fill(0))]",
     r"equidocs\.predict: pixels: expected an array of 12 rows of 12 numbers \(or a flat array of 144\), "
     r"got a row of length 11 at pixels\[2\]"),
    ("number for a row", "['conv', set(rows(), [2], 0)]", r"pixels: expected .*, got 0 \(a number\) at pixels\[2\]"),
    ("too deep", "['conv', [[rows()]]]", r"pixels: expected .*, got arrays nested 4 deep"),
    ("a pixel is an array", "['conv', set(rows(), [5, 6], [0])]",
     r"pixels\[5\]\[6\] is an array of length 1: expected a number"),
    ("one row of 144", "['conv', [z()]]", r"pixels: expected .*, got an array of length 144 at pixels\[0\]"),
    ("too short", "['conv', new Array(143).fill(0)]",
     r"pixels: expected an array of 12 rows of 12 numbers \(or a flat array of 144\), got an array of length 143$"),
    ("too long typed", "['conv', new Float32Array(145)]", r"pixels: expected .*, got a Float32Array of length 145"),
    ("6 rows of 24", "['conv', Array.from({length: 6}, () => new Array(24).fill(0))]",
     r"got an array of length 6$"),
    ("pixels a string", "['conv', 'abc']", r'equidocs\.predict: pixels is "abc" \(a string\): expected an array of 12'),
    ("pixels missing", "['conv']", r"pixels is undefined: expected an array of 12 rows"),
    ("pixels array-like", "['conv', {length: 144}]", r"pixels is an object: expected an array"),
    ("kind unknown", "['cnn', z()]", r'kind is "cnn" \(a string\): expected one of "conv", "local", "dense"'),
    ("kind missing", "[undefined, z()]", r"kind is undefined: expected one of"),
    ("kind dense_flatten", "['dense_flatten', z()]",
     r'kind is "dense_flatten" \(a string\): expected one of "conv", "local", "dense", "conv_flatten", "local_flatten"$'),
    ("options a number", "['conv', z(), 64]", r"options is 64 \(a number\): expected an object \{n, seed\}"),
    ("options unknown key", "['conv', z(), {N: 64}]", r'options has an unknown key "N": expected \{n, seed\}'),
    ("n not exported", "['conv', z(), {n: 3}]", r"options\.n is 3 \(a number\): expected one of \d+(, \d+)*$"),
    ("n not a number", "['conv', z(), {n: 'abc'}]", r'options\.n is "abc" \(a string\): expected one of'),
    ("seed NaN", "['conv', z(), {seed: NaN}]", r"options\.seed is NaN: expected one of \d+(, \d+)*$"),
]
# Valid shapes of one input, all the same pixels: each must give predict(flat array)'s numbers.
GOOD_SHAPES = {
    "nested rows": "rows12(x)", "one channel": "[rows12(x)]", "Float32Array": "Float32Array.from(x)",
    "Float64Array": "Float64Array.from(x)", "typed rows": "rows12(x).map((r) => Float64Array.from(r))",
    "n and seed as strings": "x", "options null": "x",
}
GOOD_OPTIONS = {"n and seed as strings": "{n: String(n), seed: String(seed)}", "options null": "null"}


@pytest.fixture(scope="module")
def predict_calls(browser, site_url, bank):
    """{label: error message or null} for BAD_CALLS, and {shape: max |probs - flat probs| (or the
    error message)} for GOOD_SHAPES, from one page load."""
    page, problems = open_explorer(browser, site_url)
    try:
        bad = page.evaluate("""(calls) => {
            const z = () => new Array(144).fill(0);
            const rows = () => Array.from({length: 12}, () => new Array(12).fill(0));
            const set = (x, path, v) => { path.slice(0, -1).reduce((a, i) => a[i], x)[path.at(-1)] = v; return x; };
            return Object.fromEntries(calls.map(([label, args]) => {
                try { window.equidocs.predict(...eval(args)); return [label, null]; }
                catch (error) { return [label, String(error.message)]; }
            }));
        }""", [[label, args] for label, args, _ in BAD_CALLS])
        good = page.evaluate("""([shapes, options, [n, seed]]) => {
            const x = Array.from({length: 144}, (_, i) => Math.fround(Math.sin(i) / 2));
            const rows12 = (x) => Array.from({length: 12}, (_, r) => x.slice(12 * r, 12 * r + 12));
            const want = window.equidocs.predict('local', x, {n, seed});
            return Object.fromEntries(Object.entries(shapes).map(([label, expr]) => {
                try {
                    const got = window.equidocs.predict('local', eval(expr), eval(`(${options[label] || '{n, seed}'})`));
                    return [label, Math.max(...got.map((p, k) => Math.abs(p - want[k])))];
                } catch (error) { return [label, String(error.message)]; }
            }));
        }""", [GOOD_SHAPES, GOOD_OPTIONS, [bank["ns"][0], bank["seeds"][0]]])
        assert not problems, "\n".join(problems)
        return bad, good
    finally:
        close(page)


@pytest.mark.parametrize(("label", "pattern"), [(label, pattern) for label, _, pattern in BAD_CALLS],
                         ids=[label for label, _, _ in BAD_CALLS])
def test_predict_rejects_bad_input(predict_calls, label, pattern):
    """predict throws an error naming the argument, what it expects and what it was given, instead
    of returning probabilities for NaN, strings, null, objects or a wrongly nested or sized input."""
    message = predict_calls[0][label]
    assert message is not None, f"{label}: predict returned probabilities instead of throwing"
    assert re.search(pattern, message), f"{label}: {message!r} does not match {pattern!r}"


def test_predict_accepts_every_valid_shape(predict_calls):
    """A flat array, 12 rows, one channel of 12 rows, typed arrays (flat or as rows), n and seed as
    strings and null options all give the flat array's probabilities."""
    assert predict_calls[1] == {label: 0 for label in GOOD_SHAPES}


def test_dragging_moves_the_glyph(browser, site_url, bank, amnesia, torch_models):
    """Dragging the stop sign out of the trained corner changes the local and dense nets' outputs;
    the conv net's feature map moves with it, and its output stays (circular padding and a global
    pool make it exactly shift-invariant). Arrow keys and Home/End move it too."""
    page, problems = open_explorer(browser, site_url)
    try:
        c, p, reg = bank["canvas"], bank["pattern"], bank["region"]
        s = state(page)
        assert s["glyph"] == 0 and s["mode"] == "move"
        assert reg["top"] <= s["row"] < reg["top"] + reg["height"]
        before, features = assert_display_is_live(page), page.evaluate(
            "() => [...document.querySelectorAll('.eqx-feature')].map(c => c.toDataURL())")
        assert_matches_torch(page, torch_models, s)
        # Drag from the glyph's centre to the bottom-right corner.
        centre = (s["row"] + p // 2, s["col"] + p // 2)
        drag(page, c, [centre, (c - 3, c - 3), (c - 1, c - 1)])
        s = state(page)
        assert (s["row"], s["col"]) == (c - p, c - p), s
        after = assert_display_is_live(page)
        assert_matches_torch(page, torch_models, s)
        for kind in ("local", "dense"):
            assert changed(before, after, kind) > 1e-4, f"dragging did not change the {kind} net's output"
        assert changed(before, after, "conv") <= 1e-9, "the conv net's output changed with a shift"
        moved = page.evaluate("() => [...document.querySelectorAll('.eqx-feature')].map(c => c.toDataURL())")
        assert moved[0] != features[0], "the conv net's feature map did not move"
        assert "outside the trained area" in page.locator(f"{ROOT} [aria-live]").inner_text()
        # Keyboard: the drag focused the canvas.
        board = page.locator(f"{ROOT} .eqx-board")
        assert page.evaluate("() => document.activeElement.classList.contains('eqx-board')")
        board.press("ArrowLeft")
        assert (state(page)["row"], state(page)["col"]) == (c - p, c - p - 1)
        board.press("ArrowDown")                                       # already on the last row
        assert state(page)["row"] == c - p
        board.press("Home")
        assert (state(page)["row"], state(page)["col"]) == (0, 0)
        assert_display_is_live(page)
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_drawing_changes_every_model_and_matches_torch(browser, site_url, bank, torch_models):
    """Draw mode: a stroke with the mouse adds pixels to the glyph; all three models' outputs change
    and still equal torch's on the drawn input. Space toggles a pixel from the keyboard; Clear
    empties the canvas."""
    page, problems = open_explorer(browser, site_url)
    try:
        c = bank["canvas"]
        before = live_probs(page)
        page.locator(f"{ROOT} button.eqx-mode[data-mode=draw]").click()
        assert state(page)["mode"] == "draw"
        assert page.locator(f"{ROOT} button.eqx-mode[data-mode=draw]").get_attribute("aria-pressed") == "true"
        drag(page, c, [(c - 2, 1), (c - 2, 4), (c - 5, 4)])            # an L far from the glyph
        s = state(page)
        assert s["glyph"] == "drawn" and sum(s["mask"]["cells"]) >= 25, s
        after = assert_display_is_live(page)
        assert_matches_torch(page, torch_models, s)
        assert set(before) == set(PANELS)
        for kind in before:
            assert changed(before, after, kind) > 1e-4, f"drawing did not change the {kind} net's output"
        pixels = np.array(page.evaluate(f"() => {CONTROLLER}.input()"))
        assert abs(pixels.sum() - bank["ink"]) < 1e-9, "a drawn glyph is scaled to the glyphs' ink"
        # Keyboard drawing: Space toggles the pixel under the cursor.
        board = page.locator(f"{ROOT} .eqx-board")
        cells = sum(state(page)["mask"]["cells"])
        board.press("ArrowUp")
        board.press("Space")
        assert sum(state(page)["mask"]["cells"]) != cells
        assert_matches_torch(page, torch_models, state(page))
        # Clear: nothing left, the models still answer.
        page.locator(f"{ROOT} button.eqx-clear").click()
        assert not any(page.evaluate(f"() => {CONTROLLER}.input()"))
        assert_display_is_live(page)
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_controls_and_shared_link(browser, site_url, bank, amnesia, weights, torch_models):
    """N and seed switch the live models (and the accuracy maps and, where its sizes match, the
    weights slider); picking a glyph replaces it; the link restores glyph, position, N and seed,
    a drawn glyph included."""
    page, problems = open_explorer(browser, site_url)
    try:
        ns, seeds = [str(n) for n in bank["ns"]], [str(s) for s in bank["seeds"]]
        assert page.eval_on_selector_all(f"{ROOT} select.eqx-n option", "os => os.map(o => o.value)") == ns
        assert page.eval_on_selector_all(f"{ROOT} select.eqx-seed option", "os => os.map(o => o.value)") == seeds
        maps = "() => [...document.querySelectorAll('.eqx-acc')].map(c => c.toDataURL())"
        assert state(page)["n"] == ns[-1], "the explorer opens on the largest training set"
        first = page.evaluate(maps)
        page.select_option(f"{ROOT} select.eqx-n", ns[0])
        page.select_option(f"{ROOT} select.eqx-seed", seeds[-1])
        s = state(page)
        assert (s["n"], s["seed"]) == (ns[0], seeds[-1])
        assert_display_is_live(page)
        assert_matches_torch(page, torch_models, s)
        if all(n in amnesia["ns"] for n in bank["ns"]):
            assert page.evaluate(maps) != first, "the accuracy maps did not follow N"
        if int(ns[0]) in weights["ns"]:
            assert page.eval_on_selector(ROOT, "r => r.dataset.weightsN") == ns[0], "weights slider not linked"
        page.select_option(f"{ROOT} select.eqx-readout", "flatten")
        page.select_option(f"{ROOT} select.eqx-glyph", "2")
        assert state(page)["glyph"] == 2
        page.locator(f"{ROOT} .eqx-board").press("End")
        page.locator(f"{ROOT} button.eqx-mode[data-mode=draw]").click()
        drag(page, bank["canvas"], [(0, 0), (0, 2)])
        want, probs = state(page), live_probs(page)
        assert want["glyph"] == "drawn"
        page.wait_for_function("h => location.search === h.split('#')[0]",   # Material may add a #section
                               arg=page.eval_on_selector(f"{ROOT} a.eqx-link", "a => a.getAttribute('href')"))
        query = page.evaluate("() => location.search")
        page.close()
        page, more = open_explorer(browser, site_url, query=query)
        problems += more
        got = state(page)
        for key in ("glyph", "row", "col", "n", "seed", "readout", "mask"):
            assert got[key] == want[key], f"{key}: the link restored {got[key]}, expected {want[key]}"
        assert live_probs(page) == probs
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_accuracy_maps_are_amnesias(browser, site_url, amnesia, bank):
    """Each model's map is drawn from amnesia.json's acc_map (mean over seeds) at the selected N:
    the best position is brighter than the worst (viridis), and the glyph's position is marked."""
    page, problems = open_explorer(browser, site_url)
    try:
        n, side = state(page)["n"], amnesia["side"]
        for kind in PANELS:
            acc = amnesia["models"][kind]["by_n"][n]["acc_map"]
            flat = [(v, r, c) for r, line in enumerate(acc) for c, v in enumerate(line)]
            (hi, r_hi, c_hi), (lo, r_lo, c_lo) = max(flat), min(flat)
            if hi - lo < 0.2:
                continue
            luma = page.evaluate("""([kind, cells, points]) => {
                const c = document.querySelector(`.eqx-acc[data-kind=${kind}]`);
                const s = c.width / cells, ctx = c.getContext('2d');
                return points.map(([r, col]) => { const d = ctx.getImageData((col + 0.5) * s, (r + 0.2) * s, 1, 1).data;
                    return 0.2126 * d[0] + 0.7152 * d[1] + 0.0722 * d[2]; }); }""",
                                 [kind, side, [[r_hi, c_hi], [r_lo, c_lo]]])
            assert luma[0] > luma[1] + 10, f"{kind}: accuracy map not drawn from amnesia.json ({luma})"
        s = state(page)
        text = page.locator(f"{ROOT} .eqx-model[data-kind=dense] .eqx-acc-text").inner_text()
        here = round(100 * amnesia["models"]["dense"]["by_n"][n]["acc_map"][s["row"]][s["col"]])
        assert f"{here}% here" in text, text
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def clean_glyph_map(model, bank) -> np.ndarray:
    """Torch's accuracy of one model on the noise-free glyphs at every position (what the page
    draws beside a flatten-readout twin)."""
    c, p, glyphs = bank["canvas"], bank["pattern"], np.array(bank["glyphs"], dtype=np.float32)
    side = c - p + 1
    x = np.zeros((side, side, len(glyphs), c, c), np.float32)
    for r in range(side):
        for col in range(side):
            x[r, col, :, r:r + p, col:col + p] = glyphs
    with torch.no_grad():
        logits = model(torch.from_numpy(x.reshape(-1, 1, c, c))).reshape(side, side, len(glyphs), -1)
    return (logits.argmax(-1) == torch.arange(len(glyphs))).double().mean(-1).numpy()


def test_readout_switches_to_the_flatten_twins(browser, site_url, bank, torch_models):
    """Readout "flatten" runs the exported conv_flatten and local_flatten models (the dense net
    stays), equal to torch's; beside them, each model's accuracy on the noise-free glyphs at every
    position, equal to torch's too; "pooled" brings the pooled nets back."""
    page, problems = open_explorer(browser, site_url)
    try:
        options = page.eval_on_selector_all(f"{ROOT} select.eqx-readout option", "os => os.map(o => o.value)")
        assert options == ["pooled", "flatten"]
        page.select_option(f"{ROOT} select.eqx-readout", "flatten")
        s = state(page)
        assert s["readout"] == "flatten" and page.eval_on_selector(ROOT, "r => r.dataset.readout") == "flatten"
        assert set(assert_display_is_live(page)) == {"conv_flatten", "local_flatten", "dense"}
        assert_matches_torch(page, torch_models, s)
        maps = page.evaluate(f"() => {CONTROLLER}.maps()")
        reg = bank["region"]
        for kind in ("conv_flatten", "local_flatten"):
            want = clean_glyph_map(torch_models[(kind, int(s["n"]), int(s["seed"]))], bank)
            assert np.array_equal(np.array(maps[kind]), want), f"{kind}: the live map is not torch's"
            assert page.eval_on_selector(f"{ROOT} .eqx-acc[data-kind={kind.split('_')[0]}]",
                                         "c => c.dataset.source") == "live"
        # The conv net's flatten twin: right where its readout was trained, not beyond.
        conv = np.array(maps["conv_flatten"])
        inside = np.zeros(conv.shape, bool)
        inside[reg["top"]:reg["top"] + reg["height"], reg["left"]:reg["left"] + reg["width"]] = True
        assert conv[inside].mean() > conv[~inside].mean() + 0.3, conv
        assert "flatten readout" in page.locator(f"{ROOT} .eqx-model[data-kind=conv]").inner_text()
        page.locator(f"{ROOT} .eqx-board").press("End")
        assert_matches_torch(page, torch_models, state(page))
        page.select_option(f"{ROOT} select.eqx-readout", "pooled")
        assert set(assert_display_is_live(page)) == set(PANELS)
        assert_matches_torch(page, torch_models, state(page))
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_update_time(browser, site_url):
    """One update (three forward passes, then every panel redrawn), timed in headless Chromium. The
    target is one frame (16 ms); the assertion is generous so that a busy machine does not fail it."""
    page, problems = open_explorer(browser, site_url)
    try:
        page.evaluate(f"() => {CONTROLLER}.time(5)")                 # warm up the JIT
        t = page.evaluate(f"() => {CONTROLLER}.time(100)")
        print(f"\n[explorer] three models: {t['models_ms']:.3f} ms; whole update: {t['update_ms']:.3f} ms "
              f"(target <= 16 ms)")
        assert t["update_ms"] < 250, f"one update took {t['update_ms']:.1f} ms"
        assert not problems, "\n".join(problems)
    finally:
        close(page)


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
        close(page)


def test_instant_navigation_initialises_once(browser, site_url, mkdocs_yml, bank):
    """Arriving through Material's instant navigation (no page load) still builds the explorer,
    once, and going back and forth does not build it twice. Served at the deployed address, since
    Material only navigates instantly within site_url."""
    public = mkdocs_yml["site_url"].rstrip("/") + "/"
    page, problems = open_page(browser, public, public=(public, site_url))
    try:
        page.evaluate("() => { window.__noReload = true; }")  # survives an instant navigation only
        page.locator(f"a[href$='{PAGE}']:visible").first.click()
        page.wait_for_url(f"**/{PAGE}*")
        wait_ready(page, problems, f"{ROOT}:not(.compact)")  # not the home page's, still being swapped out
        assert page.evaluate("() => window.__noReload"), "the page was reloaded: instant navigation is off"
        assert page.locator(f"{ROOT} .eqx-board").count() == 1
        page.go_back()                            # the home page: its compact explorer only
        page.wait_for_function("() => !document.querySelector('.equidocs-explorer:not(.compact)')")
        page.wait_for_function("() => document.querySelector('.equidocs-explorer.compact')?.dataset.ready")
        page.go_forward()
        page.wait_for_function("() => document.querySelector('.equidocs-explorer:not(.compact)')")
        wait_ready(page, problems, f"{ROOT}:not(.compact)")
        assert page.evaluate("() => window.__noReload"), "the page was reloaded: instant navigation is off"
        assert page.locator(f"{ROOT} .eqx-board").count() == 1, "the explorer was built twice"
        assert page.locator(f"{ROOT} .eqx-model").count() == len(PANELS)
        # The home page's small weights file and the full one, merged: predict serves every model.
        loaded = page.evaluate("() => window.equidocs.models()")
        assert (loaded["kinds"], loaded["ns"], loaded["seeds"]) == (bank["kinds"], bank["ns"], bank["seeds"])
        page.select_option(f"{ROOT} select.eqx-readout", "flatten")
        assert page.evaluate("() => window.equidocs.explorers.length") == 1
        page.locator(f"{ROOT} .eqx-board").press("End")
        assert_display_is_live(page)
        assert not problems, "\n".join(problems)
    finally:
        close(page)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_and_scheme_colours(browser, site_url, screenshot_dir, bank, scheme):
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
        side = bank["canvas"] - bank["pattern"] + 1
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
        close(page)


# --- the home page's compact explorer ------------------------------------------------------------

SCREENS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("screen", SCREENS)
def test_home_page_first_screen(browser, site_url, bank, torch_models, screenshot_dir, screen, scheme):
    """The home page's compact explorer is on the first screen (no scrolling) at 1280x800 and on a
    390 px phone, shows the conv and dense nets with bars in the figures' colours, and dragging the
    stop sign out of the trained corner keeps the conv net right and makes the dense net wrong, with
    torch's numbers. It does not write the home page's address; its link opens the full explorer
    on the same view."""
    width, height = SCREENS[screen]
    page, problems = open_page(browser, site_url, scheme, width=width, device_scale_factor=2)
    try:
        page.set_viewport_size({"width": width, "height": height})
        wait_for_scheme(page, scheme)
        wait_ready(page, problems)
        root = page.locator(ROOT)
        assert root.count() == 1 and "compact" in root.get_attribute("class")
        assert page.evaluate("() => window.scrollY") == 0
        box, board = root.bounding_box(), page.locator(f"{ROOT} .eqx-board").bounding_box()
        assert 0 <= box["y"] and box["y"] + box["height"] <= height, f"{screen}: explorer at {box}, below the fold"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{screen}: explorer at {box}, off the side"
        assert board["width"] >= 100, f"{screen}: the canvas is {board['width']} px wide"
        panels = page.eval_on_selector_all(f"{ROOT} .eqx-model", "els => els.map(e => e.dataset.kind)")
        assert panels == ["conv", "dense"]
        for kind in panels:                       # bars and swatch in the figures' net colour
            colors = page.eval_on_selector_all(
                f"{ROOT} .eqx-model[data-kind={kind}] :is(.eqx-fill, .eqx-swatch)",
                "els => els.map(e => getComputedStyle(e).backgroundColor)")
            rgb = "rgb({}, {}, {})".format(*(int(KIND_COLORS[kind][i:i + 2], 16) for i in (1, 3, 5)))
            assert set(colors) == {rgb}, f"{kind}: bars {set(colors)}, the figures use {rgb}"
        assert page.locator(f"{ROOT} .eqx-mechanism, {ROOT} .eqx-weights, {ROOT} select").count() == 0
        loaded = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                               ".filter(u => u.includes('/results/'))")
        assert [u.rsplit("/", 1)[1] for u in loaded] == [HOME_FILE], "the home page loads only its models"
        s = state(page)
        assert s["glyph"] == 0 and s["n"] == str(max(bank["ns"])), s
        before = assert_display_is_live(page)
        assert_matches_torch(page, torch_models, s)
        verdicts = f"() => [...document.querySelectorAll('{ROOT} .eqx-verdict')].map(v => v.className)"
        assert all("right" in v for v in page.evaluate(verdicts)), "both nets are right in the corner"
        page.screenshot(path=str(screenshot_dir / f"home-{screen}-{scheme}.png"))
        c, p = bank["canvas"], bank["pattern"]
        drag(page, c, [(s["row"] + p // 2, s["col"] + p // 2), (c - 3, c - 3), (c - 1, c - 1)])
        s = state(page)
        assert (s["row"], s["col"]) == (c - p, c - p), s
        after = assert_display_is_live(page)
        assert_matches_torch(page, torch_models, s)
        assert changed(before, after, "conv") <= 1e-9, "the conv net's output changed with a shift"
        conv, dense = page.evaluate(verdicts)
        assert "right" in conv and "wrong" in dense, f"conv {conv}, dense {dense}: no contrast"
        page.screenshot(path=str(screenshot_dir / f"home-{screen}-{scheme}-moved.png"))
        assert page.evaluate("() => location.search") == "", "the compact explorer wrote the address"
        more = page.eval_on_selector(f"{ROOT} a.eqx-more", "a => a.getAttribute('href')")
        assert more.startswith("security-guard/?") and f"row={c - p}" in more and "n=" in more, more
        if (screen, scheme) == ("desktop", "light"):
            page.evaluate(f"() => {CONTROLLER}.time(5)")
            t = page.evaluate(f"() => {CONTROLLER}.time(100)")
            print(f"\n[explorer] compact: two models {t['models_ms']:.3f} ms; whole update {t['update_ms']:.3f} ms")
            assert t["update_ms"] < 250
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_home_weights_file_is_a_subset_of_the_full_one(built_site, bank):
    """The home page's small file holds exactly the full file's conv and dense models at the largest
    size and first seed (the same bytes), under the same canvas, glyphs and region."""
    home = json.loads((built_site / "results" / HOME_FILE).read_text(encoding="utf-8"))
    want = [m for m in bank["models"] if m["kind"] in ("conv", "dense")
            and (m["n"], m["seed"]) == (max(bank["ns"]), bank["seeds"][0])]
    assert home["models"] == want and len(want) == 2
    for key in ("format", "canvas", "pattern", "noise", "classes", "glyphs", "ink", "region"):
        assert home[key] == bank[key], key
    size = (built_site / "results" / HOME_FILE).stat().st_size
    print(f"\n[explorer] weights: full file {(built_site / 'results' / WEIGHTS_FILE).stat().st_size / 1e6:.2f} MB, "
          f"home page's {size / 1e3:.0f} kB")
    assert size < 400_000
