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


def wait_for_scheme(page, scheme: str) -> None:
    """Wait until Material has applied the colour scheme of ``scheme`` ("light" or "dark")."""
    page.wait_for_function("s => document.body.dataset.mdColorScheme === s", arg=SCHEMES[scheme])
