"""The built site in a real browser (Debian's Chromium driven by Playwright, fully offline).

Every nav page, in the light and the dark scheme, opened once: HTTP 200, no console error, no
failed request, every image loaded, math typeset by MathJax, no raw TeX left in the text, every
code block with a copy button, wide content (code, tables) scrolling inside the text column at
phone and desktop widths (light scheme), and a full-page screenshot in build/screenshots/. Plus:
search finds "equivariance", the palette toggle switches between light and dark, and math is
typeset again after an instant navigation.
"""

from __future__ import annotations

import re

import browsing
import pytest
from browsing import SCHEMES, TIMEOUT_MS, WIDE_CONTENT, close, wait_for_scheme
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RAW_TEX = re.compile(r"\$[^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
MATH_TYPESET = ("() => [...document.querySelectorAll('.arithmatex')]"
                ".every(e => e.querySelector('mjx-container'))")
COPY_BUTTON = "button.md-clipboard, button.md-code__button[data-md-type=copy]"  # Material < 9.7 / >= 9.7
def open_page(browser, url: str, scheme: str = "light", **options):
    """browsing.open_page, then wait for Material to apply the scheme."""
    page, problems = browsing.open_page(browser, url, scheme, **options)
    wait_for_scheme(page, scheme)
    return page, problems


@pytest.mark.parametrize("scheme", SCHEMES)
def test_page(browser, site_url, screenshot_dir, nav_page, scheme):
    page, failures = open_page(browser, site_url + nav_page.removesuffix("index.html"), scheme)
    try:
        # Images: scroll every visible one into view (figures are loading=lazy), then load the
        # hidden ones too (the other scheme's variant), and require all of them to have pixels.
        images = page.locator("img")
        for i in range(images.count()):
            if images.nth(i).is_visible():
                images.nth(i).scroll_into_view_if_needed()
        page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                      ".forEach(i => i.loading = 'eager')")
        wait_for(page, failures, "images still loading", "() => [...document.images].every(i => i.complete)")
        broken = page.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0))"
                               ".map(i => i.src)")
        failures += [f"image not loaded: {src}" for src in broken]
        other = "dark" if scheme == "light" else "light"
        wrong = page.evaluate("s => [...document.images]"
                              ".filter(i => i.src.endsWith(s) && i.checkVisibility()).map(i => i.src)",
                              f"#only-{other}")
        failures += [f"{other}-scheme figure shown in the {scheme} scheme: {src}" for src in wrong]

        # Math: every .arithmatex element typeset into an mjx-container, no TeX errors, no raw TeX.
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")  # typeset done
        if page.locator(".arithmatex").count():
            wait_for(page, failures, "math (.arithmatex) not typeset by MathJax", MATH_TYPESET)
            if page.locator("mjx-container [data-mml-node=merror]").count():
                failures.append("TeX errors (mjx-container with an merror node)")
        text = page.evaluate("""() => { const c = document.querySelector('.md-content').cloneNode(true);
            c.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
            return c.textContent; }""")
        failures += [f"math left untypeset: {tex}" for tex in RAW_TEX.findall(text)[:5]]

        # Code: every block gets Material's copy button.
        blocks = page.locator("pre > code").count()
        if blocks:
            wait_for(page, failures, "code blocks without a copy button",
                     "s => [...document.querySelectorAll('pre > code')]"
                     ".every(c => c.parentElement.querySelector(s))", COPY_BUTTON)

        # Wide content: scrolls inside the text column on a phone and on a desktop with both sidebars.
        if scheme == "light":
            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 900})
                failures += [f"at {width}px: {p}" for p in page.evaluate(WIDE_CONTENT)][:10]

        page.evaluate("() => window.scrollTo(0, 0)")
        name = nav_page.removesuffix("index.html").strip("/").replace("/", "-") or "index"
        shot = screenshot_dir / f"{name}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        assert not failures, "\n".join(failures)
    finally:
        close(page)


def wait_for(page, failures: list[str], message: str, expression: str, arg=None) -> None:
    try:
        page.wait_for_function(expression, arg=arg)
    except PlaywrightTimeout:
        failures.append(f"{message} after {TIMEOUT_MS / 1000:.0f} s")


def test_search_finds_equivariance(browser, site_url):
    page, problems = open_page(browser, site_url, width=700)  # narrow: search sits behind its label
    try:
        page.locator("label.md-header__button[for=__search]").click()
        page.locator("input.md-search__input").press_sequentially("equivariance", delay=20)
        page.wait_for_selector(".md-search-result__item")
        assert page.locator(".md-search-result__item").count() >= 1
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_palette_toggle_switches_light_and_dark(browser, site_url):
    page, problems = open_page(browser, site_url, "light")
    try:
        for expected in ("slate", "default"):
            page.locator("form[data-md-component=palette] label:visible").click()
            page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=expected)
        assert not problems, "\n".join(problems)
    finally:
        close(page)


def test_math_after_instant_navigation(browser, site_url, built_site, nav_pages, mkdocs_yml):
    """navigation.instant swaps pages without a reload: math must be typeset again (document$).
    Served at the deployed address, since Material only navigates instantly within site_url."""
    with_math = [p for p in nav_pages.values()
                 if 'class="arithmatex"' in (built_site / p).read_text(encoding="utf-8")]
    assert with_math, "no page of the nav has math"
    public = mkdocs_yml["site_url"].rstrip("/") + "/"
    for start in nav_pages.values():  # the first page with a visible link to another page with math
        targets = [public + p.removesuffix("index.html") for p in with_math if p != start]
        page, problems = open_page(browser, public + start.removesuffix("index.html"),
                                   public=(public, site_url))
        url = page.evaluate("""urls => {
            const a = [...document.querySelectorAll('.md-container a[href]')]
                .find(a => urls.includes(a.href.split('#')[0]) && a.checkVisibility());
            if (!a) return null;
            a.setAttribute('data-test-target', '');
            window.__noReload = true;  // survives an instant navigation, not a reload
            return a.href.split('#')[0]; }""", targets)
        if url:
            break
        close(page)
    else:
        pytest.fail(f"no page has a visible link to a page with math ({with_math})")
    try:
        page.locator("a[data-test-target]").click()
        page.wait_for_url(url + "*")
        assert page.evaluate("() => window.__noReload"), "the page was reloaded: instant navigation is off"
        page.wait_for_selector(".arithmatex")
        page.wait_for_function(MATH_TYPESET, timeout=10_000)
        assert not problems, "\n".join(problems)
    finally:
        close(page)
