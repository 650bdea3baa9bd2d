"""The built site: strict build, every nav page, figures and result JSON, internal links and
anchors, and nothing loaded from a CDN (the site must work offline)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest


pytestmark = pytest.mark.slow

# External links may only point at these hosts (and the site's own); anything else, e.g. a CDN, fails.
ALLOWED_HOSTS = {
    "github.com", "arxiv.org", "doi.org", "pytorch.org", "docs.pytorch.org", "docs.python.org",
    "numpy.org", "matplotlib.org", "scikit-learn.org", "en.wikipedia.org", "squidfunk.github.io",
    "www.mkdocs.org", "jupyter.org", "d2l.ai", "cs231n.github.io", "distill.pub", "openreview.net",
    "proceedings.neurips.cc", "papers.nips.cc", "proceedings.mlr.press", "www.deeplearningbook.org",
}
URL_ATTRS = {"a": "href", "area": "href", "link": "href", "img": "src", "script": "src",
             "iframe": "src", "source": "src", "video": "src", "audio": "src", "embed": "src"}


class Page(HTMLParser):
    """One parse of an HTML file: ids, (tag, attrs, url) links, and per <figure> its images and
    the links in its caption."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, dict, str]] = []
        self.figures: list[dict] = []
        self._open: list[str] = []  # figure / figcaption nesting
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        self.ids.update(attrs[k] for k in ("id", "name") if k in attrs and (k == "id" or tag == "a"))
        if tag == "figure":
            self.figures.append({"id": attrs.get("id", ""), "images": [], "caption_links": []})
        if tag in ("figure", "figcaption"):
            self._open.append(tag)
        url = attrs.get(URL_ATTRS.get(tag, ""))
        if url:
            self.links.append((tag, attrs, url))
            if "figure" in self._open and tag == "img":
                self.figures[-1]["images"].append(url)
            if "figcaption" in self._open and tag == "a":
                self.figures[-1]["caption_links"].append(url)

    def handle_endtag(self, tag):
        if tag in ("figure", "figcaption") and tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag):]


@pytest.fixture(scope="module")
def resolve(built_site, mkdocs_yml):
    """resolve(page, url) -> (local file or None, fragment, external host or None).

    Root-relative URLs (the 404 page uses them) carry the path of site_url, which is stripped."""
    site = urlsplit(mkdocs_yml.get("site_url") or "http://localhost/")
    prefix = site.path.rstrip("/") + "/"

    def resolve(page: str, url: str) -> tuple[Path | None, str, str | None]:
        parts = urlsplit(urljoin(f"http://{site.netloc}{prefix}{page}", url))
        if parts.netloc != site.netloc or parts.scheme not in ("http", "https"):
            return None, parts.fragment, parts.netloc or parts.scheme
        path = unquote(parts.path)
        assert path.startswith(prefix), f"{page}: {url!r} points outside the site ({prefix})"
        target = built_site / path[len(prefix):]
        if path.endswith("/") or target.is_dir():
            target = target / "index.html"
        return target, parts.fragment, None

    return resolve


@pytest.fixture(scope="module")
def pages(built_site) -> dict[str, Page]:
    return {p.relative_to(built_site).as_posix(): Page(p.read_text(encoding="utf-8"))
            for p in sorted(built_site.rglob("*.html"))}


def is_external(url: str) -> bool:
    return url.startswith("//") or urlsplit(url).scheme in ("http", "https", "ftp")


def test_strict_build_and_expected_pages(built_site, nav_pages):
    assert (built_site / "index.html").is_file()
    missing = [src for src, built in nav_pages.items() if not (built_site / built).is_file()]
    assert not missing, f"nav pages not built: {missing}"
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    unindexed = [src for src, built in nav_pages.items() if built.removesuffix("index.html") not in locations]
    assert not unindexed, f"pages missing from the search index: {unindexed}"


def test_images_exist_and_result_json_parses(built_site, pages, resolve):
    problems = []
    for name, page in pages.items():
        for tag, attrs, url in page.links:
            if tag == "img" and not url.startswith("data:"):
                target, _, host = resolve(name, url)
                if host is not None:
                    problems.append(f"{name}: external image {url}")
                elif not target.is_file() or target.stat().st_size == 0:
                    problems.append(f"{name}: image {url} missing or empty")
        for figure in page.figures:  # a generated figure links its result JSON from the caption
            if not any("figures/" in url for url in figure["images"]):
                continue
            json_links = [u for u in figure["caption_links"] if urlsplit(u).path.endswith(".json")]
            if not json_links:
                problems.append(f"{name}: figure #{figure['id']} has no caption link to its result JSON "
                                "(is the Markdown link inside <figcaption> rendered?)")
            for url in json_links:
                target, _, host = resolve(name, url)
                try:
                    assert host is None, "external"
                    assert "result" in json.loads(target.read_text(encoding="utf-8")), "no 'result' key"
                except (OSError, ValueError, AssertionError) as error:
                    problems.append(f"{name}: figure #{figure['id']}: caption link {url}: {error!r}")
    assert not problems, "\n".join(problems)


def test_internal_links_and_anchors_resolve(built_site, pages, resolve):
    problems = []
    for name, page in pages.items():
        for tag, attrs, url in page.links:
            if url.startswith(("mailto:", "javascript:", "data:", "tel:")):
                continue
            target, fragment, host = resolve(name, url)
            if host is not None:
                if host not in ALLOWED_HOSTS:
                    problems.append(f"{name}: <{tag}> {url}: host {host} not in the allowlist")
            elif not target.is_file():
                problems.append(f"{name}: <{tag}> {url}: {target.relative_to(built_site)} does not exist")
            elif fragment and target.suffix == ".html" and tag == "a":
                ids = pages[target.relative_to(built_site).as_posix()].ids
                if unquote(fragment) not in ids:
                    problems.append(f"{name}: {url}: no id {fragment!r} in the target page")
    assert not problems, "\n".join(problems)


def test_no_cdn_scripts_styles_or_fonts(built_site, pages):
    problems = []
    for name, page in pages.items():
        for tag, attrs, url in page.links:
            rel = attrs.get("rel", "").split()
            loads = tag in ("script", "img", "iframe", "source") or (
                tag == "link" and {"stylesheet", "preload", "preconnect", "modulepreload", "icon"} & set(rel))
            if loads and is_external(url):
                problems.append(f"{name}: <{tag}> loads {url}")
    for path in [*built_site.rglob("*.html"), *built_site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in ("fonts.googleapis", "fonts.gstatic", "@import url(http", "@import url(//"):
            if needle in text:
                problems.append(f"{path.relative_to(built_site)}: contains {needle!r}")
    assert not problems, "\n".join(problems)


# --- profiles: the published site (frozen results) and a cold quick run -------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_published_site_is_built_from_the_frozen_results(built_site):
    """The default build publishes results/ as they are: each served result JSON is the frozen one."""
    import os

    if os.environ.get("EQUIDOCS_PROFILE", "published") != "published":
        pytest.skip("built_site was built from EQUIDOCS_PROFILE="
                    f"{os.environ['EQUIDOCS_PROFILE']} in this session")
    folder = Path(os.environ.get("EQUIDOCS_RESULTS", ROOT / "results"))  # what the build publishes
    for frozen_file in sorted(folder.glob("*.json")):
        served = json.loads((built_site / "results" / frozen_file.name).read_text())
        assert served == json.loads(frozen_file.read_text()), frozen_file.name


def test_a_stale_frozen_result_fails_the_build_naming_the_fix(tmp_path):
    """Publishing refuses a tampered (or stale) result, with the command that refreshes it."""
    import os
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "repo"
    # The refusal comes before anything is built, so the code, pages and results are all it needs.
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "build", "site", "*.egg-info"))
    record = json.loads((copy / "results" / "amnesia.json").read_text())
    record["result"]["numbers"]["canvas"] = "99"  # a hand edit: the checksum no longer matches
    (copy / "results" / "amnesia.json").write_text(json.dumps(record))
    env = {**{k: v for k, v in os.environ.items() if k != "EQUIDOCS_RESULTS"},  # the copy's results/
           "NO_MKDOCS_2_WARNING": "1", "EQUIDOCS_PROFILE": "published", "PYTHONPATH": str(copy)}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "s")],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "refusing to publish" in done.stderr and "amnesia.json" in done.stderr
    assert "python -m equidocs run --profile full --freeze amnesia" in done.stderr


def test_the_walkthrough_notebook_can_be_downloaded_from_its_page(built_site):
    page = (built_site / "notebooks" / "walkthrough" / "index.html").read_text(encoding="utf-8")
    assert 'href="walkthrough.ipynb"' in page
    notebook = json.loads((built_site / "notebooks" / "walkthrough" / "walkthrough.ipynb").read_text())
    assert notebook["cells"] and "pip install equidocs`" not in json.dumps(notebook)
