"""MkDocs glue (the only MkDocs-specific code): run stale experiments before the pages render,
register their figures and result JSON as generated files, and fill numbers into the prose.

Tokens in page Markdown:
- ``[[NAME.KEY]]`` -> ``result["numbers"][KEY]`` of experiment NAME (an unknown one fails the build);
- ``[[figure:NAME]]`` -> the figure in light and dark variants, its caption and a link to its JSON.
Generated files live in ``build/generated`` (outside docs/, so ``mkdocs serve`` does not loop);
anything there that the current results did not produce is removed before it can be published.
Every string taken from a result is HTML-escaped where it is inserted (a number may keep a
``<sup>exponent</sup>``), and a page that still holds a ``[[...]]`` token after substitution (a
mistyped one, such as ``[[ amnesia.seeds ]]``) fails the build.
- ``[[claim:NAME]]`` -> the sentence of claim NAME (:mod:`equidocs.claims`), checked against the
  results: a claim the data do not support fails the build, naming the page, claim and numbers;
- ``[[published.version]]`` / ``[[published.date]]`` -> the equidocs version and the date of the
  newest result the pages are built from (for citing).
Environment: ``EQUIDOCS_PROFILE``: ``published`` (default: the frozen results in ``results/``,
nothing is trained; a stale or tampered one fails the build), ``quick``, ``full`` or ``smoke``
(run the profile through the cache; ``smoke`` is tiny, equidocs.smoke); ``EQUIDOCS_DEVICE`` (default cpu); ``EQUIDOCS_RESULTS`` (the folder of
frozen results to publish, default ``results/``, as for ``python -m equidocs status``);
``EQUIDOCS_GENERATED`` (default ``build/generated``).
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

import equidocs
from equidocs import cache, claims, experiments, frozen
from equidocs.runner import RUN_PROFILES, check_device, export, prune, run_all

log = logging.getLogger("mkdocs.hooks.equidocs")
ROOT = Path(__file__).resolve().parent.parent
# EQUIDOCS_GENERATED: another folder, for two builds at once (the tests build two sites side by side)
GENERATED = Path(os.environ.get("EQUIDOCS_GENERATED", ROOT / "build" / "generated")).resolve()
MATHJAX = ROOT / "build" / "vendor" / "node_modules" / "mathjax" / "es5" / "tex-svg-full.js"
TOKEN = re.compile(r"\[\[([a-z_]+)\.([A-Za-z0-9_.\-]+)\]\]")
# [[figure:NAME | what to see]]: the lead, written on the page, opens the caption (it may hold tokens)
FIGURE = re.compile(r"\[\[figure:([a-z_]+)(?:[ \t]*\|[ \t]*([^\n]*?))?\]\][ \t]*$", re.M)
# [[curves-report:FOLDER]]: a committed `python -m equidocs curves` example's report, rendered from its
# report.json (FOLDER relative to docs/), so its numbers come from the result file at build time
CURVES_REPORT = re.compile(r"\[\[curves-report:([A-Za-z0-9_/\-]+)\]\]")
CLAIM = re.compile(r"\[\[claim:([A-Za-z0-9_.]+)\]\]")
LEFTOVER = re.compile(r"\[\[\s*[A-Za-z_]+\s*[.:][^\]\n]*\]\]")  # a token no rule above replaced
SUP = re.compile(r"&lt;sup&gt;([\-−]?[0-9]{1,3})&lt;/sup&gt;")  # the one markup a number may carry
PUBLISHED = "published"  # default profile: the frozen full-profile results committed in results/
_records: dict[str, dict] = {}
_state = {"profile": PUBLISHED}


NOTEBOOK_MODULES = ("equidocs.train", "equidocs.equivariance", "equidocs.experiments.amnesia",
                    "equidocs.params")


def on_config(config):
    # mkdocs-jupyter keys its cache on the notebook's bytes only; key it on the library too.
    jupyter = config.plugins.get("mkdocs-jupyter")
    if jupyter is not None:
        key = "-".join(cache.source_hash(m)[:8] for m in NOTEBOOK_MODULES)
        jupyter.config["cache_dir"] = str(GENERATED.parent / "cache" / "mkdocs-jupyter" / key)  # beside GENERATED
    return config


def escape(value: object) -> str:
    """A string from a result, safe to insert into a page: HTML-escaped, except ``<sup>n</sup>``.

    >>> escape("1.2 × 10<sup>8</sup> <script>x</script>")
    '1.2 × 10<sup>8</sup> &lt;script&gt;x&lt;/script&gt;'
    """
    return SUP.sub(r"<sup>\1</sup>", html.escape(str(value), quote=True))


def on_pre_build(config) -> None:
    profile = os.environ.get("EQUIDOCS_PROFILE", PUBLISHED)
    _state["profile"] = profile
    try:  # checked on every path, the published one included
        device = check_device(os.environ.get("EQUIDOCS_DEVICE", "cpu"), "EQUIDOCS_DEVICE")
    except ValueError as error:
        raise PluginError(f"equidocs: {error}") from None
    if profile == PUBLISHED:
        _load_published()
        return
    if profile not in RUN_PROFILES:
        raise PluginError(f"equidocs: EQUIDOCS_PROFILE={profile!r}: expected {PUBLISHED} (the default: "
                          f"the frozen results in results/) or one of {', '.join(RUN_PROFILES)}")
    try:
        outcomes = run_all(profile=profile, device=device)
        written = [path for o in outcomes for path in export(o.record, GENERATED)]
    except Exception as error:  # a failed experiment fails the build, loudly
        raise PluginError(f"equidocs: {error}") from error
    _prune(written)
    for o in outcomes:
        _records[o.name] = o.record
        log.info("equidocs: %-20s %s %6.1fs", o.name, "cache hit " if o.cached else "ran      ", o.seconds)


def _prune(written: list[Path]) -> None:
    for path in prune(GENERATED, written):
        log.info("equidocs: removed %s (not produced by the current results)", path)


def _load_published() -> None:
    """Publish the frozen results: refuse any that is unreadable, tampered with or stale."""
    folder = Path(os.environ.get("EQUIDOCS_RESULTS", ROOT / "results")).resolve()  # as the CLI reads it
    written = []
    for name in experiments.NAMES:
        try:
            record = frozen.load_fresh(name, folder)
            written += export(record, GENERATED)
        except (frozen.FrozenError, ValueError) as error:
            raise PluginError(f"equidocs: refusing to publish: {error}") from None
        _records[name] = record
        log.info("equidocs: %-20s frozen result of %s", name, record["created"])
    _prune(written)


def on_files(files: Files, config) -> Files:
    if not MATHJAX.exists():
        raise PluginError(f"equidocs: {MATHJAX} is missing: run `bash scripts/setup.sh` first")
    files.append(File.generated(config, "assets/mathjax/tex-svg-full.js", abs_src_path=str(MATHJAX)))
    for path in sorted(GENERATED.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            uri = path.relative_to(GENERATED).as_posix()
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def _published(key: str, page: str) -> str:
    if key == "version":
        return equidocs.__version__
    if key == "date":
        return max(record["created"] for record in _records.values())[:10]
    raise PluginError(f"{page}: [[published.{key}]]: unknown key; expected version or date")


def _number(match: re.Match, page: str) -> str:
    name, key = match.groups()
    if name == "published":
        return _published(key, page)
    if name not in _records:
        raise PluginError(f"{page}: [[{name}.{key}]]: no experiment {name!r} "
                          f"(expected one of {', '.join(experiments.NAMES)})")
    numbers = _records[name]["result"]["numbers"]
    if key not in numbers:
        raise PluginError(f"{page}: [[{name}.{key}]]: unknown key; {name} has {', '.join(sorted(numbers))}")
    return escape(numbers[key])


def _figure(match: re.Match, page: str, prefix: str, url_prefix: str) -> str:
    name = match.group(1)
    if name not in _records:
        raise PluginError(f"{page}: [[figure:{name}]]: no experiment {name!r}")
    record = _records[name]
    caption, alt = escape(record["result"]["caption"]), escape(record["title"])
    lead = match.group(2)
    if not lead:
        raise PluginError(f"{page}: [[figure:{name}]] has no lead: write [[figure:{name} | what the reader "
                          f"should see in it]] (a caption opens with what to look at, then its method)")
    caption = f'<span class="lead">{lead.strip()}</span> {caption}'
    return (
        f'<figure markdown="span" id="fig-{name}">\n'
        f"  ![{alt}]({prefix}figures/{name}.svg#only-light){{ loading=lazy }}\n"
        f"  ![{alt}]({prefix}figures/{name}-dark.svg#only-dark){{ loading=lazy }}\n"
        f"  <figcaption>{caption} Profile <code>{escape(record['profile'])}</code>, computed "
        f"{escape(record['created'][:10])}; {_training_time(record)}. "
        f"<a href=\"{url_prefix}figures/{name}.csv\">Data (CSV)</a> · "
        f"<a href=\"{url_prefix}results/{name}.json\">Result JSON</a></figcaption>\n"
        f"</figure>\n"
    )


def _training_time(record: dict) -> str:
    """The compute behind a result: its runs' summed training time (a resumed or re-frozen run's
    wall time would understate it); their CPU time where the result counts it (the mechanism
    study, whose runs' wall times depend on how loaded each machine was)."""
    runs = len(record.get("runs", []))
    seconds = record["result"].get("cpu_s") or record.get("train_s", record["wall_s"])
    if not runs:
        return "no training (closed-form arithmetic)"
    return f"{runs:,} training runs, {seconds / 60:.0f} min of single-core training in all" if seconds >= 60 \
        else f"{runs:,} training runs, {seconds:.0f} s of training"


def on_page_markdown(markdown: str, page, config, files) -> str:
    src = page.file.src_uri
    prefix = "../" * src.count("/")  # Markdown links: relative to the source file
    url_prefix = "../" * page.url.count("/")  # raw HTML links: relative to the page's URL
    markdown = FIGURE.sub(lambda m: _figure(m, src, prefix, url_prefix), markdown)
    markdown = CURVES_REPORT.sub(lambda m: _curves_report(m.group(1), src), markdown)
    markdown = CLAIM.sub(lambda m: _claim(m.group(1), src), markdown)
    markdown = _numbers(markdown, src)
    _no_leftover_tokens(markdown, src)
    return markdown


def _numbers(markdown: str, page: str) -> str:
    """Every ``[[NAME.KEY]]`` replaced by its value; a value of several lines (a Markdown table)
    has its later lines indented like the token's line, so it can sit inside an admonition."""

    def one(match: re.Match) -> str:
        value = _number(match, page)
        if "\n" in value:
            start = markdown.rfind("\n", 0, match.start()) + 1
            indent = re.match(r"[ \t]*", markdown[start:]).group(0)
            value = value.replace("\n", "\n" + indent)
        return value

    return TOKEN.sub(one, markdown)


def _curves_report(folder: str, page: str) -> str:
    from equidocs import curves_report

    path = ROOT / "docs" / folder / "report.json"
    try:
        return curves_report.body(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as error:
        raise PluginError(f"{page}: [[curves-report:{folder}]]: cannot read {path}: {error}") from None


def _no_leftover_tokens(text: str, page: str) -> None:
    """Fail on a ``[[...]]`` token that no rule replaced (a typo would otherwise be published)."""
    left = LEFTOVER.findall(text)
    if left:
        raise PluginError(f"equidocs: {page}: unknown token(s) {', '.join(sorted(set(left)))}: expected "
                          f"[[NAME.KEY]], [[figure:NAME]], [[claim:NAME]] or [[published.KEY]], no spaces")



def _claim(name: str, page: str) -> str:
    try:
        return escape(claims.render(name, _records, page))
    except KeyError as error:
        raise PluginError(f"equidocs: {page}: {error}") from None
    except claims.ClaimError as error:
        if _state["profile"] not in ("quick", "smoke"):  # the published study must support every claim
            raise PluginError(f"equidocs: {error}") from None
        # The claims are about the published (full) study; a quick development build, whose smaller
        # runs may not support one, says so on the page instead of failing.
        log.info("equidocs: %s", error)
        evidence = claims.evaluate(name, _records).evidence
        return (f"*(claim `{name}` is not supported by this {_state['profile']}-profile build's data: {escape(evidence)}; "
                f"the published site is built from the full study)*")


ABBR = re.compile(r'<abbr title="([^"]*)">(.*?)</abbr>', re.S)


def first_use_only(html: str) -> str:
    """Keep a glossary tooltip (``<abbr>``, from includes/abbreviations.md) on a term's first use on
    the page; later uses are plain text, so a page is not underlined all over.

    >>> first_use_only('<abbr title="t">AIC</abbr> and <abbr title="t">AIC</abbr>')
    '<abbr title="t">AIC</abbr> and AIC'
    """
    seen: set[str] = set()

    def keep_first(match: re.Match) -> str:
        term = match.group(2).lower()
        if term in seen:
            return match.group(2)
        seen.add(term)
        return match.group(0)

    return ABBR.sub(keep_first, html)


def on_page_content(html: str, page, config, files) -> str:
    return first_use_only(html)
