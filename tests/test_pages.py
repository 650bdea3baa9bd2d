"""Pages lead with the answer: every results page opens with a computed takeaway, keeps its long
tables collapsed, says how it was measured next to the results, and the security-guard page shows
the concept figure (the guards as matrices) beside the metaphor.

Source checks (no build) run always; the checks of the built HTML use the session's ``built_site``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import mkdocs_config, page_path

DOCS = Path(__file__).resolve().parents[1] / "docs"
RESULTS_PAGES = ("security-guard.md", "equivariance.md", "parameters.md", "data-efficiency.md",
                 "locality-vs-sharing.md", "when-it-breaks.md", "exponential.md", "controls.md")
TOKEN = re.compile(r"\[\[[a-z0-9_:.]+\]\]")
LABELS = re.compile(r"\b4K\b")  # names that contain a digit but state no result


def blocks(page: str) -> list[str]:
    """The page's Markdown as blocks: runs of lines separated by blank lines (admonition bodies
    stay with their header when the body is indented and not separated by a blank line)."""
    return [b for b in re.split(r"\n\s*\n", (DOCS / page).read_text(encoding="utf-8")) if b.strip()]


def takeaway(page: str) -> str:
    first = blocks(page)
    assert first[0].startswith("# "), f"{page}: expected the title first"
    return first[1]


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_results_page_opens_with_a_computed_takeaway(page):
    block = takeaway(page)
    assert block.startswith('!!! abstract "Takeaway"\n'), f"{page}: the first block after the title is {block[:60]!r}"
    body = block.split("\n", 1)[1]
    assert all(line.startswith("    ") for line in body.splitlines()), f"{page}: takeaway body not indented"
    assert re.search(r"\*\*[^*]+\*\*", body), f"{page}: no bold lead sentence"
    assert TOKEN.search(body), f"{page}: the takeaway states no computed number or claim"
    typed = re.findall(r"\d", LABELS.sub("", TOKEN.sub("", body)))
    assert not typed, f"{page}: a number typed by hand in the takeaway: {body!r}"


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_results_page_says_how_it_was_measured_linking_methods(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    match = re.search(r'^\?\?\? info "How this was measured"\n((?:    .*\n|\n)+)', text, re.M)
    assert match, f"{page}: no collapsed 'How this was measured' block"
    assert "](methods.md" in match.group(1), f"{page}: 'How this was measured' does not link the methods page"


def test_collapsible_blocks_are_enabled():
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in mkdocs_config()["markdown_extensions"]]
    assert "pymdownx.details" in extensions and "admonition" in extensions


@pytest.mark.parametrize("page", ["data-efficiency.md", "security-guard.md", "parameters.md", "exponential.md"])
def test_long_tables_are_collapsed_and_a_callout_gives_the_ratio_or_gist(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    table_rows = [line for line in text.splitlines() if line.lstrip().startswith("| ")]
    results_rows = [line for line in table_rows if TOKEN.search(line)]
    assert results_rows and all(line.startswith("    |") for line in results_rows), \
        f"{page}: a results table outside a collapsed block"
    assert re.search(r'^\?\?\? note ".*\(table\)"$', text, re.M), f"{page}: no collapsed table block"
    assert re.search(r'^!!! success ".+"$', text, re.M), f"{page}: no callout with the gist"


def test_interview_leads_with_the_answer_and_its_evidence():
    parts = blocks("interview.md")
    assert parts[1].startswith("**Q:") and parts[2].startswith("> "), "the question, then the answer"
    assert parts[3].startswith('!!! abstract "Measured on this site"') and "[[claim:" in parts[3]


def test_the_concept_figure_sits_beside_the_security_guard_metaphor():
    text = (DOCS / "security-guard.md").read_text(encoding="utf-8")
    first_section = text.split("\n## ", 1)[0]
    assert "[[figure:explorer_models]]" in first_section
    assert first_section.index("conv net** hires one guard") < first_section.index("[[figure:explorer_models]]")


# --- the built site ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_built_page_shows_the_takeaway_right_under_the_title(built_site, page):
    html = (built_site / page_path(page)).read_text(encoding="utf-8")
    article = html[html.index("<h1"):]
    after_title = article[article.index("</h1>") + len("</h1>"):].lstrip()
    assert after_title.startswith('<div class="admonition abstract">'), after_title[:200]
    box = after_title[:after_title.index("</div>")]
    assert "[[" not in box and re.search(r"\d", box), "the takeaway's numbers are filled in"
    assert re.search(r'<details class="info">\s*<summary>How this was measured</summary>', html)


@pytest.mark.slow
def test_built_concept_figure_has_three_matrix_panels(built_site):
    html = (built_site / page_path("security-guard.md")).read_text(encoding="utf-8")
    figure = re.search(r'<figure[^>]*id="fig-explorer_models".*?</figure>', html, re.S)
    assert figure, "the concept figure is not on the security-guard page"
    assert html.index('id="fig-explorer_models"') < html.index("<h2"), "it sits before the first section"
    images = re.findall(r'<img[^>]*src="([^"]+)"', figure.group(0))
    assert [Path(src.split("#")[0]).name for src in images] == ["explorer_models.svg", "explorer_models-dark.svg"]
    for name in ("explorer_models.svg", "explorer_models-dark.svg"):
        svg = (built_site / "figures" / name).read_text(encoding="utf-8")
        assert svg.count("<image") == 3 + 1, f"{name}: expected one raster matrix per kind and a colour bar"
