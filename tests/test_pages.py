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
    assert "[[figure:explorer_models" in first_section
    assert first_section.index("conv net** hires one guard") < first_section.index("[[figure:explorer_models")


FIGURE_TOKEN = re.compile(r"\[\[figure:([a-z_]+)(?:[ \t]*\|[ \t]*([^\n]*?))?\]\][ \t]*$", re.M)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_every_figure_caption_opens_with_what_to_see(page):
    """A figure token carries a lead written on the page (what to look at); the build refuses one
    without, and a lead is at most two sentences."""
    text = (DOCS / page).read_text(encoding="utf-8")
    assert text.count("[[figure:") == len(FIGURE_TOKEN.findall(text)), f"{page}: a figure token the hook cannot read"
    for name, lead in FIGURE_TOKEN.findall(text):
        words = re.sub(r"\[\[[^\]]*\]\]", "", lead)
        assert len(words.split()) >= 8, f"{page}: [[figure:{name}]] has no lead (what the reader should see)"
        assert len(re.findall(r"[.!?](?:\s|$)", words)) <= 2, f"{page}: the lead of {name} runs past two sentences"


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


# --- prose people wrote: no sentence said twice, takeaways short, every fixed sentence stays fixed --

PAGES = sorted(p.name for p in DOCS.glob("*.md"))
FENCE = re.compile(r"^(\s*)(```|~~~).*?^\1\2\s*$", re.S | re.M)
SKIP_LINE = re.compile(r"^\s*(#|\||!!!|\?\?\?|<|---|-8<-|\*\[)")
SENTENCE_END = re.compile(r"(?<=[.!?])[)*_\"”’]*\s+(?=[A-Z\[(*\"“0-9])")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+")
MIN_WORDS = 6  # shorter sentences ("See Methods.") may recur


@pytest.fixture(scope="module")
def records():
    from equidocs import experiments, frozen
    return {name: frozen.read(name, DOCS.parent / "results") for name in experiments.NAMES}


def rendered(text: str, records: dict) -> str:
    """A page's Markdown with its tokens filled in as the build fills them (claims, numbers)."""
    from equidocs import claims
    text = FIGURE_TOKEN.sub(lambda m: m.group(2) or "", text)
    text = re.sub(r"\[\[claim:([A-Za-z0-9_.]+)\]\]", lambda m: claims.evaluate(m.group(1), records).sentence, text)

    def number(m):
        name, key = m.groups()
        if name == "published":
            return "x"
        return str(records[name]["result"]["numbers"][key])
    return re.sub(r"\[\[([a-z_]+)\.([A-Za-z0-9_.\-]+)\]\]", number, text)


def sentences(markdown: str) -> list[str]:
    """The prose sentences of a page: code, headings, tables, admonition titles and HTML left out;
    whitespace and emphasis normalised."""
    text = FENCE.sub("", markdown)
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    units, current = [], []  # paragraphs and list items: a sentence never runs across two
    for line in text.splitlines() + [""]:
        item = LIST_ITEM.match(line)
        if not line.strip() or SKIP_LINE.match(line) or item:
            units.append(" ".join(current))
            current = [line[item.end():]] if item else []
        else:
            current.append(line)
    said = []
    for unit in units:
        prose = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", unit)  # links -> their text
        prose = re.sub(r"\s+", " ", re.sub(r"[*_`]", "", prose)).strip()
        said += [s.strip() for s in SENTENCE_END.split(prose) if s.strip()]
    return said


def test_sentences_splits_prose_and_ignores_code_headings_and_tables():
    page = "# Title\n\nOne two three four five six. Seven eight nine ten eleven twelve!\n\n" \
           "| a | b |\n\n```python\nx = 1. Y = 2.\n```\n"
    assert sentences(page) == ["One two three four five six.", "Seven eight nine ten eleven twelve!"]


@pytest.mark.parametrize("page", PAGES)
def test_no_page_says_a_sentence_twice(page, records):
    said = [s for s in sentences(rendered((DOCS / page).read_text(encoding="utf-8"), records))
            if len(s.split()) >= MIN_WORDS]
    repeated = sorted({s for s in said if said.count(s) > 1})
    assert not repeated, f"{page} repeats: {repeated}"


@pytest.mark.parametrize("page", RESULTS_PAGES)
def test_a_takeaway_is_at_most_two_sentences(page, records):
    body = "\n".join(line.strip() for line in takeaway(page).splitlines()[1:])
    said = sentences(rendered(body, records))
    assert len(said) <= 2, f"{page}: a takeaway of {len(said)} sentences: {said}"


def first_paragraph(page: str) -> str:
    return next(b for b in blocks(page) if b.startswith("**The answer, in one paragraph.**"))


def test_the_home_page_answer_credits_sharing_and_the_pooled_readout():
    answer = first_paragraph("index.md")
    words_only = re.sub(r"\s+", " ", re.sub(r"[*_]", "", TOKEN.sub("", answer)))
    for words in ("shared", "pools", "invariant", "equivariant", "whether", "not where"):
        assert words in words_only, f"the answer does not say {words!r}"
    assert "[[heads_augmentation.ratio.pooling.examples]]" in answer
    assert "[[heads_augmentation.ratio.sharing_flatten.examples]]" in answer
    assert "[[claim:guard.pooling_is_the_saving]]" in answer
    assert "[[resolution_scaling.pending_note]]" in (DOCS / "exponential.md").read_text(encoding="utf-8")


def test_the_interview_answer_credits_the_pooled_readout_too():
    answer = blocks("interview.md")[2]
    assert "pooled readout" in answer and "whether" in answer and "(invariance)" in answer


# Each sentence the data contradicted (issue 25, items 1-12), and what stands in its place.
FIXED = [
    ("exponential.md", "lookup table of the training set cannot", "[[claim:guard.growth.dense_beats_lookup_only_at_dense_last]]"),
    ("interview.md", "don't grow with the number of positions", None),
    ("interview.md", "Capacity alone does not explain it", "[[claim:guard.patterns.shuffled_conv_cannot_fit]]"),
    ("data-efficiency.md", "takes the conv net's advantage away, so it came from",
     "[[claim:guard.patterns.shuffled_conv_cannot_fit]]"),
    ("data-efficiency.md", "sharing and locality save data", "[[claim:guard.locality_alone_not_shown]]"),
    ("parameters.md", "top-left corner and no others", None),
    ("exponential.md", "its interval says how weakly", None),
    ("controls.md", "no saving these data can detect", "[[claim:guard.controls.flatten_conv_beats_dense_somewhere]]"),
    ("security-guard.md", "whatever the amount of data", "[[claim:guard.dense_blind_far_away]]"),
    ("interview.md", "No, not for trained nets", "[[claim:guard.growth.dense_pixels_power_law]]"),
]


@pytest.mark.parametrize("page, gone, guard", FIXED)
def test_a_contradicted_sentence_stays_gone_and_its_replacement_is_guarded(page, gone, guard):
    text = (DOCS / page).read_text(encoding="utf-8")
    assert gone.lower() not in text.lower(), f"{page} still says {gone!r}"
    if guard:
        assert guard in text, f"{page}: the rewritten sentence lost its guard {guard}"


def test_a_bound_is_printed_as_a_bound_never_as_not_determined():
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert "[[sample_efficiency.digits.ratio.dense_over_local]]" not in text, page


def test_one_quantity_one_number_site_wide():
    """The dense / conv need ratio and the conv and dense nets' needs on the glyphs come from the
    data-efficiency runs everywhere; the controls' own bootstrap of the same runs is not printed."""
    for page in PAGES:
        text = (DOCS / page).read_text(encoding="utf-8")
        for token in ("heads_augmentation.ratio.dense_vs_conv.examples", "heads_augmentation.conv.need]]",
                      "heads_augmentation.dense.need]]", "claim:controls.dense_vs_conv]]"):
            assert token not in text, f"{page} prints {token}, a second number for a quantity"


@pytest.mark.parametrize("page, near", [
    ("exponential.md", "a shared filter with a max over windows"),
    ("controls.md", "no training glyph ever reached"), ("security-guard.md", "conv net outside the corner"),
    ("data-efficiency.md", "shuffled dense net"), ("locality-vs-sharing.md", "nothing learned at one window")])
def test_results_true_by_construction_are_labelled_sanity_checks(page, near):
    text = re.sub(r"\s+", " ", (DOCS / page).read_text(encoding="utf-8"))
    at = text.index(near)
    assert "sanity check" in text[max(0, at - 600): at + 600].lower(), f"{page}: {near!r} not labelled"


def test_the_glossary_defines_each_term_and_gives_it_a_tooltip():
    glossary = (DOCS / "glossary.md").read_text(encoding="utf-8")
    tooltips = (DOCS.parent / "includes" / "abbreviations.md").read_text(encoding="utf-8")
    for term in ("Readout", "Censored", "Crossing", "Tobit", "AIC"):
        assert f"**{term}.**" in glossary
        assert f"*[{term if term in ('Tobit', 'AIC') else term.lower()}]:" in tooltips
    extensions = [e if isinstance(e, str) else next(iter(e)) for e in mkdocs_config()["markdown_extensions"]]
    assert "abbr" in extensions


@pytest.mark.parametrize("page", PAGES)
def test_a_guard_follows_the_sentence_it_guards(page):
    """``[[claim:guard.NAME]]`` prints nothing: it sits right after the end of a sentence (or after
    another guard), so the sentence it guards is the one just before it."""
    text = (DOCS / page).read_text(encoding="utf-8")
    for match in re.finditer(r"\[\[claim:guard\.[A-Za-z0-9_.]+\]\]", text):
        before = text[:match.start()].rstrip("*)")
        assert before.endswith((".", "!", "?", "]]")), f"{page}: {match.group(0)} follows {before[-40:]!r}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_a_glossary_tooltip_marks_only_a_terms_first_use(built_site, page):
    html = (built_site / page_path(page)).read_text(encoding="utf-8")
    terms = [t.lower() for t in re.findall(r'<abbr title="[^"]*">(.*?)</abbr>', html, re.S)]
    assert len(terms) == len(set(terms)), f"{page}: a term underlined twice: {sorted(terms)}"
