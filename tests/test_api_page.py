"""The built site's code as a reader copies it: every example on the API page and every ```python
block on every page runs, taken from the rendered HTML (not from the sources).

- API page: docstring ``>>>`` examples are ``pycon`` code blocks (never ``>>>`` read as Markdown
  block quotes); each passes as a doctest exactly as displayed, in a fresh namespace (so the
  imports it needs must be on the page), and the text its copy button copies (``data-copy``: the
  code without prompts and outputs) runs as a script. Every docstring example of the documented
  modules is on the page, and in a real browser the copy button copies that text.
- Every page: each ``python`` block, as copied, runs in order in one fresh namespace per page
  (a block Sybil skips, ``<!-- skip: next -->`` or between ``start`` and ``end``, is left out). Hidden setup
  (``invisible-code-block``) is not on the page, so a block that needs it fails here.
- CITATION.cff names the package's version.
"""

from __future__ import annotations

import doctest
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
API_PAGE = "api/index.html"
MIN_API_EXAMPLES = 35  # 43 when written; a floor, so that losing many at once fails too
PYTHON_FENCE = re.compile(r"^```python\s*$")
SKIP = re.compile(r"<!--\s*skip:\s*(next|start|end)\b")  # Sybil's SkipParser


@dataclass
class CodeBlock:
    language: str
    text: str  # as displayed
    copy: str | None  # data-copy: what Material's copy button copies instead of the text
    section: str  # id of the closest h2 above it (the module on the API page)
    signature: bool  # mkdocstrings' rendering of a signature, not an example


class PageScan(HTMLParser):
    """Code blocks (Pygments' ``div.language-X.highlight``), text outside code and in block quotes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[CodeBlock] = []
        self.prose: list[str] = []  # text outside <pre>/<code>
        self.quotes: list[str] = []  # text inside <blockquote>
        self.headings: list[str] = []  # ids of the h2 headings
        self._section, self._block, self._block_div, self._in_code = "", None, 0, False
        self._div_depth = self._code_depth = self._quote_depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "div":
            self._div_depth += 1
            language = next((c[len("language-"):] for c in classes if c.startswith("language-")), None)
            if language and "highlight" in classes and self._block is None:
                self._block = CodeBlock(language, "", a.get("data-copy"), self._section,
                                        "doc-signature" in classes)
                self._block_div = self._div_depth
        elif tag == "h2" and a.get("id"):
            self._section = a["id"]
            self.headings.append(a["id"])
        elif tag in ("pre", "code"):
            self._code_depth += 1
            self._in_code = self._in_code or (tag == "code" and self._block is not None)
        elif tag == "blockquote":
            self._quote_depth += 1

    def handle_endtag(self, tag):
        if tag == "div":
            if self._block is not None and self._div_depth == self._block_div:
                self.blocks.append(self._block)
                self._block = None
            self._div_depth -= 1
        elif tag in ("pre", "code"):
            self._code_depth -= 1
            self._in_code = self._in_code and tag != "code"
        elif tag == "blockquote":
            self._quote_depth -= 1

    def handle_data(self, data):
        if self._block is not None and self._in_code:
            self._block.text += data
        elif not self._code_depth:
            self.prose.append(data)
        if self._quote_depth:
            self.quotes.append(data)


def scan(path: Path) -> PageScan:
    parser = PageScan()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def doctest_code(text: str) -> str:
    """The code of a doctest block: the sources of its examples, prompts and outputs left out."""
    return "".join(e.source for e in doctest.DocTestParser().get_examples(text)).rstrip("\n")


def run_doctest(text: str, name: str) -> str:
    """Run ``text`` as a doctest in a fresh namespace; the report of its failures ('' if none)."""
    test = doctest.DocTestParser().get_doctest(text, {"__name__": "__main__"}, name, None, 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(verbose=False)
    runner.run(test, out=report.append, clear_globs=True)
    return "".join(report)


def run_script(code: str, name: str, namespace: dict | None = None) -> None:
    exec(compile(code, name, "exec"), {"__name__": "__main__"} if namespace is None else namespace)


def documented_modules() -> list[str]:
    return re.findall(r"^::: (\S+)", (ROOT / "docs" / "api.md").read_text(encoding="utf-8"), re.M)


def docstring_example_counts(modules: list[str]) -> dict[str, int]:
    """Per module, the ``>>>`` blocks in the docstrings mkdocstrings renders (public objects)."""
    import griffe

    def blocks(text: str) -> int:
        count, inside = 0, False
        for line in text.splitlines():
            starts = line.lstrip().startswith(">>>")
            count += starts and not inside
            inside = bool(line.strip()) and (inside or starts)
        return count

    def walk(obj):
        yield obj
        for name, member in obj.members.items():
            if not member.is_alias and not re.match(r"_[^_]", name):
                yield from walk(member)

    package = griffe.load("equidocs", search_paths=[str(ROOT)], docstring_parser="google")
    return {path: sum(blocks(o.docstring.value) for o in walk(package[path.removeprefix("equidocs.")])
                      if o.docstring)
            for path in modules}


# --- The API page ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api_page(built_site) -> PageScan:
    return scan(built_site / API_PAGE)


def test_no_doctest_rendered_as_a_block_quote(api_page):
    quoted = [q for q in api_page.quotes if ">>>" in q]
    assert not quoted, f"`>>>` read as Markdown block quotes: {quoted[:3]}"
    stray = [p.strip() for p in api_page.prose if ">>>" in p]
    assert not stray, f"`>>>` outside code blocks: {stray[:3]}"
    untyped = [b.text[:80] for b in api_page.blocks if b.text.startswith(">>>") and b.language != "pycon"]
    assert not untyped, f"doctest blocks not highlighted as pycon: {untyped[:3]}"


def test_one_section_per_module(api_page):
    modules = documented_modules()
    assert len(modules) >= 8
    assert api_page.headings == modules, "one h2 section per module of api.md, in its order"
    assert {block.section for block in api_page.blocks} <= set(modules)


def test_every_docstring_example_is_on_the_page(api_page):
    pycon = [b for b in api_page.blocks if b.language == "pycon"]
    assert len(pycon) >= MIN_API_EXAMPLES, f"only {len(pycon)} examples on the API page"
    expected = docstring_example_counts(documented_modules())
    found = {module: sum(b.section == module for b in pycon) for module in expected}
    assert found == expected, "examples per module: on the page vs in the docstrings"


def test_api_examples_run_as_displayed_and_as_copied(api_page):
    pycon = [b for b in api_page.blocks if b.language == "pycon"]
    failures = []
    for i, block in enumerate(pycon):
        name = f"{block.section} example {i + 1}"
        report = run_doctest(block.text, name)
        if report:
            failures.append(f"{name}: fails as a doctest:\n{block.text}\n{report}")
            continue
        if block.copy != doctest_code(block.text):
            failures.append(f"{name}: the copy button copies\n{block.copy!r}\ninstead of the code\n"
                            f"{doctest_code(block.text)!r}")
            continue
        try:
            run_script(block.copy, name)
        except Exception as error:  # noqa: BLE001 (report every failing example at once)
            failures.append(f"{name}: fails when copied: {type(error).__name__}: {error}\n{block.copy}")
    assert not failures, "\n\n".join(failures)
    other = [b for b in api_page.blocks if b.language in ("python", "py") and not b.signature]
    for i, block in enumerate(other):
        run_script(block.text, f"API page python block {i + 1}")


@pytest.mark.browser
def test_copy_button_copies_the_code_without_prompts(browser, site_url, api_page):
    from browsing import close, open_page

    expected = next(b.copy for b in api_page.blocks if b.language == "pycon")
    page, problems = open_page(browser, site_url + API_PAGE.removesuffix("index.html"),
                               permissions=["clipboard-read", "clipboard-write"])
    try:
        block = page.locator("div.language-pycon").first
        block.hover()
        block.locator("button.md-clipboard, button.md-code__button[data-md-type=copy]").first.click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert copied == expected
        assert not problems, "\n".join(problems)
    finally:
        close(page)


# --- Every page's python blocks ----------------------------------------------------------------------


def python_pages() -> list[tuple[str, list[bool]]]:
    """(source page, per ```python fence whether it is skipped), for the pages that have any."""
    pages = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        skips, skip_next, skipping = [], False, False
        for line in path.read_text(encoding="utf-8").splitlines():
            if skip := SKIP.search(line):
                skip_next = skip_next or skip.group(1) == "next"
                skipping = {"start": True, "end": False}.get(skip.group(1), skipping)
            elif PYTHON_FENCE.match(line.strip()):
                skips.append(skip_next or skipping)
                skip_next = False
        if skips:
            pages.append((path.relative_to(ROOT / "docs").as_posix(), skips))
    return pages


def page_path(source: str) -> str:
    """The built file of a source page (``use_directory_urls``): a/b.md -> a/b/index.html."""
    stem = source.removesuffix(".md")
    return "index.html" if stem == "index" else stem.removesuffix("/index") + "/index.html"


def test_python_blocks_are_found():
    assert sum(len(skips) for _, skips in python_pages()) >= 5


@pytest.mark.parametrize("source, skips", [pytest.param(*page, id=page[0]) for page in python_pages()])
def test_python_blocks_run_as_copied(built_site, source, skips):
    blocks = [b for b in scan(built_site / page_path(source)).blocks if b.language == "python"]
    assert len(blocks) == len(skips), f"{source}: {len(skips)} python fences, {len(blocks)} on the page"
    namespace = {"__name__": "__main__"}  # one reader, one session: the page's blocks in order
    for i, (block, skipped) in enumerate(zip(blocks, skips)):
        if skipped:
            continue
        code = block.copy if block.copy is not None else block.text
        try:
            run_script(code, f"{source} python block {i + 1}", namespace)
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"{source}: python block {i + 1} fails when copied from the page: "
                        f"{type(error).__name__}: {error}\n{code}", pytrace=False)


# --- Citation -------------------------------------------------------------------------------------------


def test_citation_file_matches_the_package():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == version.group(1)
    assert cff["authors"] == [{"name": "equidocs contributors"}]
    for key in ("title", "date-released", "repository-code", "url", "license", "abstract", "message"):
        assert cff.get(key), key
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert "[[published.version]]" in index and "[[published.date]]" in index
