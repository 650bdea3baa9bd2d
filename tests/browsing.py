"""What the browser tests share: Debian's Chromium, offline, and a page opener that records every
console error, uncaught exception, failed request and request that leaves the site."""

from __future__ import annotations

from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
SCHEMES = {"light": "default", "dark": "slate"}  # prefers-color-scheme -> Material's scheme
TIMEOUT_MS = 20_000
# Material's repository widget asks the GitHub API for stars/forks/release: answered locally here
# (offline it would be a failed request); any other request off the test server is a problem.
GITHUB_API = {"/releases/latest": {"tag_name": "v0.1.0"}, "": {"stargazers_count": 0, "forks_count": 0}}


def open_page(browser, url: str, scheme: str = "light", width: int = 1280,
              public: tuple[str, str] | None = None, **context_args):
    """(page, problems): ``url`` in a fresh context in ``scheme``; problems collects console errors,
    uncaught exceptions, failed requests, HTTP errors and requests that leave the site.

    With ``public=(site_url of mkdocs.yml, local server URL)`` the browser sees the deployed address
    while the local server answers (Material's instant navigation only works within site_url)."""
    context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 900},
                                  service_workers="block", **context_args)
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
    return page, problems


def close(page) -> None:
    """Close the page's context without failing on a request a route is still answering (a large
    file, e.g. the explorer's weights, may be in flight when a short test ends)."""
    page.context.unroute_all(behavior="ignoreErrors")
    page.context.close()


def wait_until_still(locator, frames: int = 6) -> None:
    """Wait until the element's box has stayed the same for ``frames`` animation frames (e.g. a
    lightbox done opening, a zoom settled) and no CSS animation runs on it or its ancestors."""
    locator.evaluate("""(e, frames) => new Promise(done => {
        let last = '', same = 0;
        const busy = () => document.getAnimations().some(a => a.playState === 'running' && a.effect
            && a.effect.target instanceof Element && a.effect.target.contains(e));
        const step = () => {
            const r = e.getBoundingClientRect(), key = [r.x, r.y, r.width, r.height].join();
            same = key === last && !busy() ? same + 1 : 0;
            last = key;
            same >= frames ? done() : requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
    })""", frames)


def wait_for_scheme(page, scheme: str) -> None:
    """Wait until Material has applied the colour scheme of ``scheme`` ("light" or "dark")."""
    page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=SCHEMES[scheme])


# Elements wider than the text column must sit in a scroll container that fits in it (a code block,
# Material's table wrapper): nothing clipped (overflow hidden), nothing sticking out, no sideways page.
WIDE_CONTENT = """() => {
  const column = document.querySelector('.md-content'), right = column.getBoundingClientRect().right;
  const name = e => e.tagName.toLowerCase() + (typeof e.className === 'string' && e.className.trim()
    ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const fits = a => ['auto', 'scroll'].includes(getComputedStyle(a).overflowX)
    && a.getBoundingClientRect().right <= right + 1;
  const problems = [], out = new Set(), hidden = new Set();
  for (const e of column.querySelectorAll('*')) {
    const r = e.getBoundingClientRect(), style = getComputedStyle(e);
    if (hidden.has(e.parentElement) || style.clip !== 'auto' || r.width <= 1 || r.height <= 1) {
      hidden.add(e);  // for screen readers only (clipped to nothing): checked by the page's width
      continue;
    }
    if (!e.checkVisibility()) continue;
    if (['hidden', 'clip'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1)
      problems.push(`${name(e)} clips ${e.scrollWidth - e.clientWidth}px of its content`);
    if (r.right > right + 1) {
      let a = e.parentElement;
      while (a && a !== column && !fits(a)) a = a.parentElement;
      if (a && a !== column) continue;
      out.add(e);
      if (!out.has(e.parentElement))
        problems.push(`${name(e)} sticks out of the column by ${Math.round(r.right - right)}px: `
                      + (e.textContent || '').trim().slice(0, 40));
    }
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1)
    problems.push(`the page scrolls sideways by ${page.scrollWidth - page.clientWidth}px`);
  return problems;
}"""
