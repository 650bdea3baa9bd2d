"""The built site in a real browser (Debian's Chromium driven by Playwright, fully offline).

Every nav page, in the light and the dark scheme: HTTP 200, no console error, no failed request,
every image loaded, math typeset by MathJax, no raw TeX left in the text, and a full-page
screenshot in build/screenshots/. Plus: code blocks get copy buttons, search finds
"equivariance", and the palette toggle switches between light and dark.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
SCHEMES = {"light": "default", "dark": "slate"}  # prefers-color-scheme -> Material's scheme
RAW_TEX = re.compile(r"\$[^$\n]{0,200}?\\[A-Za-z]+[^$\n]{0,200}?\$|\\\(.+?\\\)|\\\[.+?\\\]", re.S)
TIMEOUT_MS = 20_000
MATH_TYPESET = ("() => [...document.querySelectorAll('.arithmatex')]"
                ".every(e => e.querySelector('mjx-container'))")
COPY_BUTTON = "button.md-clipboard, button.md-code__button[data-md-type=copy]"  # Material < 9.7 / >= 9.7
# Material's repository widget asks the GitHub API for stars/forks/release: answered locally here
# (offline it would be a failed request); any other request off the test server is a failure.
GITHUB_API = {"/releases/latest": {"tag_name": "v0.1.0"}, "": {"stargazers_count": 0, "forks_count": 0}}


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/test.sh` (it apt-installs Debian's "
                    "chromium); `playwright install` cannot download browsers here.", pytrace=False)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, scheme: str = "light", width: int = 1280,
              public: tuple[str, str] | None = None):
    """(page, problems): ``url`` in a fresh context in ``scheme``; problems collects console errors,
    uncaught exceptions, failed requests, HTTP errors and requests that leave the site.

    With ``public=(site_url of mkdocs.yml, local server URL)`` the browser sees the deployed address
    while the local server answers (Material's instant navigation only works at site_url)."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900},
                                  service_workers="block")
    context.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    server = urlsplit(public[1] if public else url).netloc

    def off_server(route):
        target = route.request.url
        if public and target.startswith(public[0]):
            return route.fulfill(response=route.fetch(url=public[1] + target[len(public[0]):]))
        parts = urlsplit(target)
        if parts.hostname == "api.github.com":
            return route.fulfill(json=next(v for k, v in GITHUB_API.items() if parts.path.endswith(k)))
        problems.append(f"request off the site (a CDN? the site must work offline): {target}")
        return route.abort("blockedbyclient")

    context.route(lambda u: urlsplit(u).netloc != server and not u.startswith(("data:", "blob:")), off_server)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error"
            and problems.append(f"console error: {m.text} ({m.location['url']})"))
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
    page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=SCHEMES[scheme])
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

        page.evaluate("() => window.scrollTo(0, 0)")
        name = nav_page.removesuffix("index.html").strip("/").replace("/", "-") or "index"
        shot = screenshot_dir / f"{name}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        assert not failures, "\n".join(failures)
    finally:
        page.context.close()


def wait_for(page, failures: list[str], message: str, expression: str, arg=None) -> None:
    try:
        page.wait_for_function(expression, arg=arg)
    except PlaywrightTimeout:
        failures.append(f"{message} after {TIMEOUT_MS / 1000:.0f} s")


def test_code_blocks_have_copy_buttons(browser, site_url, built_site, nav_pages):
    with_code = [p for p in nav_pages.values() if "<pre" in (built_site / p).read_text(encoding="utf-8")]
    assert with_code, "no page of the nav has a code block"
    for path in with_code:
        page, problems = open_page(browser, site_url + path.removesuffix("index.html"))
        try:
            blocks = page.locator("pre > code").count()
            if not blocks:
                continue
            page.wait_for_function("s => [...document.querySelectorAll('pre > code')]"
                                   ".every(c => c.parentElement.querySelector(s))", arg=COPY_BUTTON)
            assert page.locator(COPY_BUTTON).count() >= blocks
            assert not problems, "\n".join(problems)
        finally:
            page.context.close()


def test_search_finds_equivariance(browser, site_url):
    page, problems = open_page(browser, site_url, width=700)  # narrow: search sits behind its label
    try:
        page.locator("label.md-header__button[for=__search]").click()
        page.locator("input.md-search__input").press_sequentially("equivariance", delay=20)
        page.wait_for_selector(".md-search-result__item")
        assert page.locator(".md-search-result__item").count() >= 1
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_palette_toggle_switches_light_and_dark(browser, site_url):
    page, problems = open_page(browser, site_url, "light")
    try:
        for expected in ("slate", "default"):
            page.locator("form[data-md-component=palette] label:visible").click()
            page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=expected)
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


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
        page.context.close()
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
        page.context.close()
